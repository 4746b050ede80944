//! The audit trail across the region's cases: who did what, in which role, when, newest
//! first. The actor is a username, or part of a person's name.
use super::super::listing::{self, blank, csv_download, number, Checked};
use super::{export_rows, list_page, page_rows, AuditList, Span};
use crate::domain::audit::StoredEvent;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::http::pages::ctx::{Ctx, PageError};
use crate::store::search::EventSearch;
use crate::store::DbConn;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// Roles that act without a person behind them: the scheduler and the public report form.
const MACHINE_ROLES: [&str; 2] = ["system", "public"];

#[derive(Deserialize, Default)]
pub struct EventForm {
    #[serde(default)]
    case_id: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    action: String,
    #[serde(flatten)]
    span: Span,
}

const FIELDS: [&str; 7] = ["case_id", "actor", "role", "action", "from", "to", "before"];

fn role_codes() -> Vec<&'static str> {
    Role::ALL
        .iter()
        .map(|r| r.as_str())
        .chain(MACHINE_ROLES)
        .collect()
}

impl AuditList for EventForm {
    type Search = EventSearch;
    type Row = StoredEvent;

    fn span(&mut self) -> &mut Span {
        &mut self.span
    }

    fn search(
        &self,
        region_path: &str,
        limit: i64,
        offset_ms: i64,
    ) -> Result<EventSearch, AppError> {
        let mut c = Checked::default();
        let (from_ms, to_ms, before_id) = self.span.read(&mut c, offset_ms);
        let found = EventSearch {
            region_path: region_path.to_string(),
            case_id: c.keep(number("case_id", &self.case_id)),
            actor: blank(&self.actor),
            role: c.keep(listing::one_of("role", &self.role, &role_codes())),
            action: blank(&self.action),
            from_ms,
            to_ms,
            before_id,
            limit,
        };
        c.finish(found)
    }

    fn load(conn: &mut DbConn, s: &EventSearch) -> AppResult<Vec<StoredEvent>> {
        crate::service::views::audit::events(conn, s)
    }

    fn row_id(e: &Self::Row) -> i64 {
        e.id
    }
}

impl EventForm {
    fn query_string(&self) -> String {
        listing::query_string(&[
            ("case_id", &self.case_id),
            ("actor", &self.actor),
            ("role", &self.role),
            ("action", &self.action),
            ("from", &self.span.from),
            ("to", &self.span.to),
        ])
    }
}

/// What the services record besides workflow actions (leases, assignment, SLA jobs,
/// documents and evidence); each has a name under `actions.` in the locales.
pub const SYSTEM_ACTIONS: [&str; 21] = [
    "opened",
    "leased",
    "released",
    "lease_expired",
    "reassigned",
    "auto_assigned",
    "escalated",
    "sla_breach_flagged",
    "auto_closed",
    "document_added",
    "document_rejected",
    "evidence_added",
    "sanction_proposed",
    "write_off_proposed",
    "written_off",
    "proposal_approved",
    "proposal_refused",
    "recovery_paid",
    "invoice_corrected",
    "evidence_disclosed",
    "evidence_withheld",
];

/// Every action the published workflows define and every system action, once each, named.
fn action_options(ctx: &Ctx) -> Vec<Value> {
    let mut codes: Vec<&str> = Vec::new();
    let defs = ctx.state.defs.latest_all();
    for wf in defs.iter() {
        for action in wf.stages.iter().flat_map(|s| &s.actions) {
            if !codes.contains(&action.name.as_str()) {
                codes.push(&action.name);
            }
        }
    }
    codes.extend(SYSTEM_ACTIONS);
    codes
        .into_iter()
        .map(|code| json!({"code": code, "label": ctx.action_label(code)}))
        .collect()
}

#[get("/audit/events")]
pub async fn events_page(ctx: Ctx, q: web::Query<EventForm>) -> Result<HttpResponse, PageError> {
    let form = q.into_inner();
    let (found, next) = page_rows(&ctx, &form).await?;
    let rows = found.map(|events| {
        events
            .iter()
            .map(|e| {
                json!({
                    "when": ctx.when(e.at_ms),
                    "case_id": e.case_id,
                    "seq": e.seq,
                    "actor": e.actor_name,
                    "role": ctx.role_label(&e.role),
                    "action": e.action,
                    "action_label": ctx.action_label(&e.action),
                    "from": e.from_stage.as_deref().map(|s| ctx.stage_title(s)),
                    "to": e.to_stage.as_deref().map(|s| ctx.stage_title(s)),
                    "comment": e.comment,
                })
            })
            .collect()
    });
    let roles: Vec<Value> = role_codes()
        .into_iter()
        .map(|code| json!({"code": code, "label": ctx.role_label(code), "selected": code == form.role}))
        .collect();
    let view = json!({
        "tab": "events",
        "roles": roles,
        "actions": action_options(&ctx),
        "form": {"case_id": form.case_id, "actor": form.actor, "action": form.action,
                 "from": form.span.from, "to": form.span.to},
        "query": form.query_string(),
        "next": next,
    });
    list_page(&ctx, "audit_events", "audit.events", rows, view, &FIELDS)
}

/// The matching events with everything the chain rests on, hashes included, so that an
/// export can be checked against the database later.
#[get("/audit/events.csv")]
pub async fn events_csv(ctx: Ctx, q: web::Query<EventForm>) -> Result<HttpResponse, PageError> {
    let found = export_rows(&ctx, q.into_inner()).await?;
    csv_download(
        &ctx,
        "audit-trail.csv",
        [
            "event_id",
            "case_id",
            "seq",
            "at",
            "actor_id",
            "actor",
            "role",
            "action",
            "from_stage",
            "to_stage",
            "old_value",
            "new_value",
            "comment",
            "public",
            "prev_hash",
            "hash",
        ],
        found.iter().map(|e| {
            [
                e.id.to_string(),
                e.case_id.to_string(),
                e.seq.to_string(),
                ctx.when(e.at_ms),
                e.actor_id.map(|id| id.to_string()).unwrap_or_default(),
                e.actor_name.to_string(),
                e.role.to_string(),
                e.action.to_string(),
                e.from_stage.as_deref().unwrap_or_default().to_string(),
                e.to_stage.as_deref().unwrap_or_default().to_string(),
                e.old_value.to_string(),
                e.new_value.to_string(),
                e.comment.to_string(),
                e.public.to_string(),
                e.prev_hash.clone(),
                e.hash.clone(),
            ]
        }),
    )
}
