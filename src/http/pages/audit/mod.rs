//! The auditor's read-only search, in four lists over the auditor's region: cases (each with
//! its hash-chain verification badge), claims by their own fields (invoice number, resident,
//! facility), the audit trail across cases (by actor, role, action, time) and violations.
//! Every list exports as CSV with the same filters.
mod claims;
mod events;
mod violations;

pub use claims::{claims_csv, claims_page};
pub use events::{events_csv, events_page, SYSTEM_ACTIONS};
pub use violations::{violations_csv, violations_page};

use super::ctx::{Ctx, PageError};
use super::listing::{self, blank, csv_download, day_end, day_start, number, one_of, Checked};
use crate::domain::roles::Role;
use crate::domain::workflow::Workflow;
use crate::error::{AppError, AppResult};
use crate::service::scope::staff_region;
use crate::store::DbConn;
use crate::store::{cases::CaseRow, search};
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const AUDIT_ROLES: &[Role] = &[Role::Auditor];
const PAGE: i64 = 50;

/// A list page: its rows, or the filter fields that could not be read, shown next to them.
fn list_page(
    ctx: &Ctx,
    template: &str,
    title_key: &str,
    found: Result<Value, Map<String, Value>>,
    mut view: Value,
    fields: &[&str],
) -> Result<HttpResponse, PageError> {
    let (status, errors) = match found {
        Ok(rows) => {
            view["rows"] = rows;
            (StatusCode::OK, Map::new())
        }
        Err(errors) => {
            view["rows"] = json!([]);
            (StatusCode::UNPROCESSABLE_ENTITY, errors)
        }
    };
    view["errors"] = super::field_errors_for(errors, fields);
    ctx.page_titled(template, ctx.t(title_key), view, status)
}

/// The filter fields every searchable audit list has: a day range and the page cursor.
#[derive(Deserialize, Default)]
pub struct Span {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
}

impl Span {
    /// From the start of `from` to the end of `to` (ms), and the id to continue below.
    fn read(&self, c: &mut Checked, offset_ms: i64) -> (Option<i64>, Option<i64>, Option<i64>) {
        (
            c.keep(day_start("from", &self.from, offset_ms)),
            c.keep(day_end("to", &self.to, offset_ms)),
            c.keep(number("before", &self.before)),
        )
    }
}

/// A searchable audit list: its form, the store search the form becomes, and its rows.
trait AuditList: Sized {
    type Search: Send + 'static;
    type Row: Send + 'static;
    fn span(&mut self) -> &mut Span;
    /// The store's search within `region_path`, or every field that could not be read; days
    /// are read in the zone `offset_ms` east of UTC.
    fn search(
        &self,
        region_path: &str,
        limit: i64,
        offset_ms: i64,
    ) -> Result<Self::Search, AppError>;
    fn load(conn: &mut DbConn, s: &Self::Search) -> AppResult<Vec<Self::Row>>;
    /// The id the list pages by (newest first).
    fn row_id(row: &Self::Row) -> i64;
}

type Listed<R> = (Result<Vec<R>, Map<String, Value>>, Option<i64>);

/// One page of a list's rows and the id to continue from when the page came back full, or
/// the filter errors to show next to the fields.
async fn page_rows<L: AuditList>(ctx: &Ctx, form: &L) -> Result<Listed<L::Row>, PageError> {
    let user = ctx.require(AUDIT_ROLES)?;
    match listing::filters(
        ctx,
        form.search(
            staff_region(&user).map_err(|e| ctx.fail(e))?,
            PAGE,
            ctx.utc_offset_ms(),
        ),
    )? {
        Ok(s) => {
            let rows = ctx.db_read(move |conn, _| L::load(conn, &s)).await?;
            let next = (rows.len() as i64 == PAGE)
                .then(|| rows.last().map(L::row_id))
                .flatten();
            Ok((Ok(rows), next))
        }
        Err(errors) => Ok((Err(errors), None)),
    }
}

/// Every match (up to the export limit) from the first, for the CSV export; a bad filter is
/// an error page naming the field.
async fn export_rows<L: AuditList>(ctx: &Ctx, mut form: L) -> Result<Vec<L::Row>, PageError> {
    let user = ctx.require(AUDIT_ROLES)?;
    form.span().before.clear();
    let s = form
        .search(
            staff_region(&user).map_err(|e| ctx.fail(e))?,
            listing::CSV_MAX,
            ctx.utc_offset_ms(),
        )
        .map_err(|e| ctx.fail(e))?;
    ctx.db_read(move |conn, _| L::load(conn, &s)).await
}

/// The workflows as select options, the chosen one marked.
fn workflow_options(ctx: &Ctx, chosen: &str, only: Option<&[&str]>) -> Vec<Value> {
    ctx.state
        .defs
        .latest_all()
        .iter()
        .filter(|wf| only.is_none_or(|names| names.contains(&wf.name.as_str())))
        .map(|wf| json!({"code": wf.name, "label": ctx.pick(&wf.title.zh, &wf.title.en), "selected": wf.name == chosen}))
        .collect()
}

/// A case's workflow as people call it.
fn workflow_title(ctx: &Ctx, wf: Option<&Workflow>, name: &str) -> String {
    wf.map_or_else(
        || name.to_string(),
        |wf| ctx.pick(&wf.title.zh, &wf.title.en).to_string(),
    )
}

/// Where a case stands, as the workflow names it: its stage, or its outcome once closed.
fn state_title(
    ctx: &Ctx,
    wf: Option<&Workflow>,
    stage: Option<&str>,
    outcome: Option<&str>,
) -> String {
    let named = wf.and_then(|wf| match (stage, outcome) {
        (Some(stage), _) => wf.stage(stage).map(|s| &s.title),
        (None, Some(o)) => wf.title_of_outcome(o),
        _ => None,
    });
    named.map_or_else(
        || outcome.or(stage).unwrap_or_default().to_string(),
        |t| ctx.pick(&t.zh, &t.en).to_string(),
    )
}

#[derive(Deserialize, Default)]
pub struct CaseForm {
    #[serde(default)]
    case_id: String,
    #[serde(default)]
    workflow: String,
    #[serde(default)]
    state: String,
    #[serde(flatten)]
    span: Span,
}

const CASE_FIELDS: [&str; 6] = ["case_id", "workflow", "state", "from", "to", "before"];

impl AuditList for CaseForm {
    type Search = search::CaseSearch;
    type Row = (CaseRow, Verdict);

    fn span(&mut self) -> &mut Span {
        &mut self.span
    }

    fn search(
        &self,
        region_path: &str,
        limit: i64,
        offset_ms: i64,
    ) -> Result<search::CaseSearch, AppError> {
        let mut c = Checked::default();
        let (from_ms, to_ms, before_id) = self.span.read(&mut c, offset_ms);
        let found = search::CaseSearch {
            region_path: region_path.to_string(),
            case_id: c.keep(number("case_id", &self.case_id)),
            workflow: blank(&self.workflow),
            state: c.keep(one_of("state", &self.state, &["open", "closed"])),
            from_ms,
            to_ms,
            before_id,
            limit,
        };
        c.finish(found)
    }

    fn load(conn: &mut DbConn, s: &search::CaseSearch) -> AppResult<Vec<(CaseRow, Verdict)>> {
        crate::service::views::audit::cases(conn, s)
    }

    fn row_id((c, _): &Self::Row) -> i64 {
        c.id
    }
}

impl CaseForm {
    fn query_string(&self) -> String {
        listing::query_string(&[
            ("case_id", &self.case_id),
            ("workflow", &self.workflow),
            ("state", &self.state),
            ("from", &self.span.from),
            ("to", &self.span.to),
        ])
    }
}

use crate::service::views::audit::Verdict;

#[get("/audit")]
pub async fn search_page(ctx: Ctx, q: web::Query<CaseForm>) -> Result<HttpResponse, PageError> {
    let form = q.into_inner();
    let (found, next) = page_rows(&ctx, &form).await?;
    let defs = &ctx.state.defs;
    let rows = found.map(|found| {
        found
            .iter()
            .map(|(c, verdict)| {
                let wf = defs.latest(&c.workflow);
                json!({
                    "case_id": c.id,
                    "workflow": workflow_title(&ctx, wf.as_deref(), &c.workflow),
                    "state": state_title(&ctx, wf.as_deref(), c.stage.as_deref(), c.outcome.as_deref()),
                    "region": c.region_code,
                    "opened": ctx.when(c.created_at),
                    "chain_ok": verdict.is_ok(),
                    "chain": match verdict {
                        Ok(n) => format!("{} ({n})", ctx.t("audit.chain_ok")),
                        Err(why) => format!("{}: {why}", ctx.t("audit.chain_broken")),
                    },
                })
            })
            .collect()
    });
    let view = json!({
        "tab": "cases",
        "workflows": workflow_options(&ctx, &form.workflow, None),
        "form": {"case_id": form.case_id, "from": form.span.from, "to": form.span.to,
                 "open": form.state == "open", "closed": form.state == "closed"},
        "query": form.query_string(),
        "next": next,
    });
    list_page(&ctx, "audit", "audit.title", rows, view, &CASE_FIELDS)
}

/// The same search as the page, every match (up to the export limit), as CSV.
#[get("/audit/cases.csv")]
pub async fn cases_csv(ctx: Ctx, q: web::Query<CaseForm>) -> Result<HttpResponse, PageError> {
    let found = export_rows(&ctx, q.into_inner()).await?;
    csv_download(
        &ctx,
        "cases.csv",
        [
            "case_id", "workflow", "version", "subject", "stage", "outcome", "region", "opened",
            "updated", "chain",
        ],
        found.iter().map(|(c, verdict)| {
            [
                c.id.to_string(),
                c.workflow.clone(),
                c.workflow_version.to_string(),
                format!("{}:{}", c.subject_kind, c.subject_id),
                c.stage.clone().unwrap_or_default(),
                c.outcome.clone().unwrap_or_default(),
                c.region_code.clone(),
                ctx.when(c.created_at),
                ctx.when(c.updated_at),
                match verdict {
                    Ok(n) => format!("ok ({n} events)"),
                    Err(why) => format!("broken: {why}"),
                },
            ]
        }),
    )
}
