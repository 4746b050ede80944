//! The forms of the violation page's money section: a payment towards a repayment or fine,
//! a write-off proposed, and a proposal decided by a second supervisor.
use super::ctx::{see_other, Ctx, PageError};
use super::recovery_view::PaymentForm;
use super::violations::{violation_page, Kept};
use super::yuan_to_fen;
use crate::domain::roles::Role;
use crate::error::Msg;
use crate::service::supervision::{self as svc, ApprovalDecision};
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Shows the page again with a refusal beside the field that caused it.
async fn refused(
    ctx: &Ctx,
    violation_id: i64,
    kept: Kept<'_>,
    field: &str,
    text: String,
) -> Result<HttpResponse, PageError> {
    let mut errors = Map::new();
    errors.insert(field.into(), Value::String(text));
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    violation_page(ctx, violation_id, kept, errors, status, None).await
}

fn back(violation_id: i64) -> HttpResponse {
    see_other(&format!("/violations/{violation_id}?done=true#money"))
}

#[post("/violations/{id}/payments")]
pub async fn record_payment(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<PaymentForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Supervisor])?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let violation_id = id.into_inner();
    let kept = || Kept {
        payment: Some(&form),
        ..Kept::default()
    };
    let amount_fen = match yuan_to_fen(&form.amount) {
        Ok(0) => {
            return refused(
                &ctx,
                violation_id,
                kept(),
                "amount",
                ctx.t("recovery.above_zero"),
            )
            .await
        }
        Ok(fen) => fen,
        Err(key) => return refused(&ctx, violation_id, kept(), "amount", ctx.t(key)).await,
    };
    let recovery_id = form.recovery_id;
    let done = crate::http::db(&ctx.state, move |conn, _| {
        // The recovery must be this violation's: a form cannot pay another's fine.
        let owned = crate::store::supervision::recovery(conn, recovery_id)?
            .is_some_and(|r| r.violation_id == violation_id);
        if !owned {
            return Err(crate::error::AppError::rule_on_msg(
                "recovery_id",
                "not_this_violations_recovery",
                Msg::new("rule-not-this-violations-recovery"),
            ));
        }
        svc::record_payment(conn, &user, recovery_id, amount_fen, crate::store::now_ms())
    })
    .await;
    match done {
        Ok(_) => Ok(back(violation_id)),
        Err(e) => {
            let errors = ctx.form_errors(e, |f| match f {
                "recovery_id" => "recovery".to_string(),
                _ => "amount".to_string(),
            })?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            violation_page(&ctx, violation_id, kept(), errors, status, None).await
        }
    }
}

#[derive(Deserialize)]
pub struct WriteOffForm {
    #[serde(default)]
    reason: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

#[post("/violations/{id}/write-off")]
pub async fn propose_write_off(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<WriteOffForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Supervisor])?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let violation_id = id.into_inner();
    let reason = form.reason.clone();
    let done = crate::http::db(&ctx.state, move |conn, _| {
        svc::propose_write_off(conn, &user, violation_id, &reason, crate::store::now_ms())
    })
    .await;
    match done {
        Ok(_) => Ok(back(violation_id)),
        Err(e) => {
            let errors = ctx.form_errors(e, |_| "write_off_reason".to_string())?;
            let kept = Kept {
                write_off_reason: Some(&form.reason),
                ..Kept::default()
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            violation_page(&ctx, violation_id, kept, errors, status, None).await
        }
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    /// approve or refuse
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// A second supervisor approves or refuses a proposal (a write-off, or a sanction below the
/// article's minimum). The service refuses the proposer.
#[post("/violations/{id}/approvals/{approval_id}")]
pub async fn decide(
    ctx: Ctx,
    path: web::Path<(i64, i64)>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Supervisor])?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let (violation_id, approval_id) = path.into_inner();
    let approve = match form.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => {
            let text = ctx.t("recovery.choose_decision");
            return refused(&ctx, violation_id, Kept::default(), "decision", text).await;
        }
    };
    let comment = form.comment;
    let done = crate::http::db(&ctx.state, move |conn, env| {
        let decision = ApprovalDecision {
            violation_id,
            approval_id,
            approve,
            comment: comment.trim(),
            now_ms: crate::store::now_ms(),
        };
        svc::decide_approval(conn, env, &user, &decision)
    })
    .await;
    match done {
        Ok(_) => Ok(back(violation_id)),
        // A refusal the user can read (the proposer's own, already decided, changed
        // meanwhile) is shown on the page; anything else is an error page.
        Err(e) => {
            let crate::error::AppError::Rule(rule) = &e else {
                return Err(ctx.fail(e));
            };
            let text = ctx.pick(&rule.zh, &rule.en).to_string();
            let (kept, status) = (Kept::default(), actix_web::ResponseError::status_code(&e));
            violation_page(
                &ctx,
                violation_id,
                kept,
                Map::new(),
                status,
                Some(("error", text)),
            )
            .await
        }
    }
}
