//! The region's violations, newest first, and their CSV export.
use super::super::listing::{csv_download, fen_cell};
use super::super::yuan;
use super::AUDIT_ROLES;
use crate::http::pages::ctx::{Ctx, PageError};
use crate::store::supervision;
use actix_web::{get, HttpResponse};
use serde_json::{json, Value};

async fn violations(ctx: &Ctx) -> Result<Vec<supervision::ViolationAndStage>, PageError> {
    let user = ctx.require(AUDIT_ROLES)?;
    ctx.db_read(move |conn, _| crate::service::supervision::violations_in_region(conn, &user))
        .await
}

#[get("/audit/violations")]
pub async fn violations_page(ctx: Ctx) -> Result<HttpResponse, PageError> {
    let rows: Vec<Value> = violations(&ctx)
        .await?
        .iter()
        .map(|(v, stage, _)| {
            json!({
                "id": v.id,
                "facility": v.facility_code,
                "type": v.type_code,
                "article": v.article,
                "amount": yuan(v.amount_fen),
                "repay": v.repay_fen.map(yuan),
                "fine": v.fine_fen.map(yuan),
                "stage": stage,
                "recorded": ctx.when(v.created_at),
            })
        })
        .collect();
    ctx.page(
        "audit_violations",
        "audit.violations",
        json!({"rows": rows, "tab": "violations"}),
    )
}

#[get("/audit/violations.csv")]
pub async fn violations_csv(ctx: Ctx) -> Result<HttpResponse, PageError> {
    let found = violations(&ctx).await?;
    csv_download(
        &ctx,
        "violations.csv",
        [
            "violation_id",
            "facility",
            "type",
            "article",
            "amount_fen",
            "repay_fen",
            "fine_fen",
            "suspension_months",
            "stage",
            "recorded",
        ],
        found.iter().map(|(v, stage, _)| {
            [
                v.id.to_string(),
                v.facility_code.clone(),
                v.type_code.clone(),
                v.article.clone(),
                v.amount_fen.to_string(),
                fen_cell(v.repay_fen),
                fen_cell(v.fine_fen),
                v.suspension_months
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
                stage.clone().unwrap_or_default(),
                ctx.when(v.created_at),
            ]
        }),
    )
}
