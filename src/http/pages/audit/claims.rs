//! Claims by their own fields: claim number, invoice number, resident (full ID number or part
//! of the name), facility, family and submission date. ID numbers are masked in the list and
//! the export; the full number is only ever a search term.
use super::super::listing::{self, blank, csv_download, fen_cell, number, Checked};
use super::super::yuan;
use super::{
    export_rows, list_page, page_rows, state_title, workflow_options, workflow_title, AuditList,
    Span,
};
use crate::domain::claim::Family;
use crate::domain::person::IdNumber;
use crate::error::{AppError, AppResult};
use crate::http::pages::ctx::{Ctx, PageError};
use crate::store::search::{ClaimHit, ClaimSearch};
use crate::store::DbConn;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, Default)]
pub struct ClaimForm {
    #[serde(default)]
    claim_id: String,
    #[serde(default)]
    invoice: String,
    #[serde(default)]
    resident: String,
    #[serde(default)]
    facility: String,
    #[serde(default)]
    family: String,
    #[serde(flatten)]
    span: Span,
}

const FIELDS: [&str; 8] = [
    "claim_id", "invoice", "resident", "facility", "family", "from", "to", "before",
];

impl AuditList for ClaimForm {
    type Search = ClaimSearch;
    type Row = ClaimHit;

    fn span(&mut self) -> &mut Span {
        &mut self.span
    }

    fn search(
        &self,
        region_path: &str,
        limit: i64,
        offset_ms: i64,
    ) -> Result<ClaimSearch, AppError> {
        let mut c = Checked::default();
        let (from_ms, to_ms, before_id) = self.span.read(&mut c, offset_ms);
        let found = ClaimSearch {
            region_path: region_path.to_string(),
            claim_id: c.keep(number("claim_id", &self.claim_id)),
            invoice: blank(&self.invoice),
            resident: blank(&self.resident),
            facility: blank(&self.facility),
            family: c.keep(listing::one_of("family", &self.family, Family::CODES)),
            from_ms,
            to_ms,
            before_id,
            limit,
        };
        c.finish(found)
    }

    fn load(conn: &mut DbConn, s: &ClaimSearch) -> AppResult<Vec<ClaimHit>> {
        crate::service::views::audit::claims(conn, s)
    }

    fn row_id(h: &Self::Row) -> i64 {
        h.claim_id
    }
}

impl ClaimForm {
    fn query_string(&self) -> String {
        listing::query_string(&[
            ("claim_id", &self.claim_id),
            ("invoice", &self.invoice),
            ("resident", &self.resident),
            ("facility", &self.facility),
            ("family", &self.family),
            ("from", &self.span.from),
            ("to", &self.span.to),
        ])
    }
}

/// The invoice numbers as filed, one line.
fn invoices(raw: &str) -> String {
    serde_json::from_str::<Vec<String>>(raw).map_or_else(|_| raw.to_string(), |v| v.join(", "))
}

fn masked(id_number: Option<&str>) -> String {
    id_number
        .and_then(|n| IdNumber::parse(n).ok())
        .map(|n| n.masked())
        .unwrap_or_default()
}

#[get("/audit/claims")]
pub async fn claims_page(ctx: Ctx, q: web::Query<ClaimForm>) -> Result<HttpResponse, PageError> {
    let form = q.into_inner();
    let (found, next) = page_rows(&ctx, &form).await?;
    let defs = &ctx.state.defs;
    let rows = found.map(|hits| {
        hits.iter()
            .map(|h| {
                let wf = defs.latest(&h.workflow);
                json!({
                    "claim_id": h.claim_id,
                    "case_id": h.case_id,
                    "resident": h.person_name,
                    "id_masked": masked(h.id_number.as_deref()),
                    "family": workflow_title(&ctx, wf.as_deref(), &h.family),
                    "facility": h.facility_code,
                    "stay": format!("{} – {}", h.admission_date, h.discharge_date),
                    "invoices": invoices(&h.invoice_numbers),
                    "total": yuan(h.total_fen),
                    "decided": h.decided_fen.or(h.payable_fen).map(yuan),
                    "state": state_title(&ctx, wf.as_deref(), h.stage.as_deref(), h.outcome.as_deref()),
                    "submitted": ctx.when(h.created_at),
                })
            })
            .collect()
    });
    let view = json!({
        "tab": "claims",
        "families": workflow_options(&ctx, &form.family, Some(Family::CODES)),
        "form": {"claim_id": form.claim_id, "invoice": form.invoice, "resident": form.resident,
                 "facility": form.facility, "from": form.span.from, "to": form.span.to},
        "query": form.query_string(),
        "next": next,
    });
    list_page(&ctx, "audit_claims", "audit.claims", rows, view, &FIELDS)
}

#[get("/audit/claims.csv")]
pub async fn claims_csv(ctx: Ctx, q: web::Query<ClaimForm>) -> Result<HttpResponse, PageError> {
    let found = export_rows(&ctx, q.into_inner()).await?;
    csv_download(
        &ctx,
        "claims.csv",
        [
            "claim_id",
            "case_id",
            "family",
            "resident",
            "id_number_masked",
            "facility",
            "admission",
            "discharge",
            "diagnosis",
            "invoices",
            "total_fen",
            "payable_fen",
            "decided_fen",
            "stage",
            "outcome",
            "submitted",
        ],
        found.iter().map(|h| {
            [
                h.claim_id.to_string(),
                h.case_id.to_string(),
                h.family.clone(),
                h.person_name.clone().unwrap_or_default(),
                masked(h.id_number.as_deref()),
                h.facility_code.clone(),
                h.admission_date.clone(),
                h.discharge_date.clone(),
                h.diagnosis_code.clone(),
                invoices(&h.invoice_numbers),
                h.total_fen.to_string(),
                fen_cell(h.payable_fen),
                fen_cell(h.decided_fen),
                h.stage.clone().unwrap_or_default(),
                h.outcome.clone().unwrap_or_default(),
                ctx.when(h.created_at),
            ]
        }),
    )
}
