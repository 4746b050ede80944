//! The reviewer's queue: its filters and SLA badges, its CSV export, and "next case".
use super::ctx::{see_other, Ctx, PageError};
use super::listing::{self, blank, csv_download, fen_cell};
use super::{yuan, yuan_to_fen};
use crate::domain::claim::Family;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::error::Msg;
use crate::service::queue;
use crate::service::queue::QueueQuery;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub const QUEUE_ROLES: &[Role] = &[
    Role::Clerk,
    Role::Reviewer,
    Role::SeniorReviewer,
    Role::Supervisor,
];

#[derive(Deserialize, Default)]
pub struct QueueForm {
    #[serde(default)]
    family: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    facility: String,
    #[serde(default)]
    min: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    sla: String,
    /// Due by the end of this day (YYYY-MM-DD).
    #[serde(default)]
    due_before: String,
    #[serde(default)]
    mine: Option<String>,
    #[serde(default)]
    unassigned: Option<String>,
    /// Supervisors: the cases one person holds.
    #[serde(default)]
    holder: String,
    /// A claim or case number, an invoice number, an ID number or part of a name.
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    empty: Option<String>,
    /// How many cases a reassignment just moved.
    #[serde(default)]
    moved: Option<u32>,
}

/// The queue's sortable columns, each named by its sort key.
const SORTABLE: [&str; 5] = ["case", "amount", "due", "opened", "risk"];

const SLAS: [&str; 3] = ["on_track", "at_risk", "breached"];

impl QueueForm {
    /// The queue API's query for this form; amounts typed in yuan become fen, or the fields
    /// that could not be read.
    fn query(&self, offset_ms: i64) -> Result<QueueQuery, AppError> {
        let amount = |field: &str, text: &str| match blank(text) {
            None => Ok(None),
            Some(t) => yuan_to_fen(&t)
                .map(Some)
                .map_err(|_| AppError::field(field, Msg::new("field-yuan").text("value", t))),
        };
        let mut c = listing::Checked::default();
        let query = QueueQuery {
            family: blank(&self.family),
            stage: blank(&self.stage),
            facility: blank(&self.facility),
            min_fen: c.keep(amount("min", &self.min)),
            max_fen: c.keep(amount("max", &self.max)),
            sla: c.keep(listing::one_of("sla", &self.sla, &SLAS)),
            due_before: c.keep(listing::day_end("due_before", &self.due_before, offset_ms)),
            mine: self.mine.is_some(),
            unassigned: self.unassigned.is_some(),
            holder: c.keep(listing::number("holder", &self.holder)),
            team: false,
            q: blank(&self.q),
            sort: blank(&self.sort),
            after: blank(&self.after),
            limit: Some(50),
        };
        c.finish(query)
    }

    /// The filters as a query string, to carry to the next page and to the export.
    fn query_string(&self) -> String {
        let mut out = self.filters_string();
        out.push_str(&listing::query_string(&[("sort", &self.sort)]));
        out
    }

    /// The column headers: a link that sorts by the column (reversing it when it already
    /// sorts the list), and the current direction for screen readers.
    fn columns(&self) -> Value {
        let filters = self.filters_string();
        let mut out = serde_json::Map::new();
        for key in SORTABLE {
            let current = match self.sort.as_str() {
                "" if key == "due" => Some(false),
                s if s == key => Some(false),
                s if s.strip_prefix('-') == Some(key) => Some(true),
                _ => None,
            };
            let next = if current == Some(false) {
                format!("-{key}")
            } else {
                key.to_string()
            };
            out.insert(
                key.to_string(),
                json!({
                    "href": format!("/queue?sort={next}{filters}"),
                    "aria": match current { Some(false) => "ascending", Some(true) => "descending", None => "none" },
                    "arrow": match current { Some(false) => " ▲", Some(true) => " ▼", None => "" },
                }),
            );
        }
        Value::Object(out)
    }

    /// The filters without the order.
    fn filters_string(&self) -> String {
        let mut out = listing::query_string(&[
            ("family", &self.family),
            ("stage", &self.stage),
            ("facility", &self.facility),
            ("min", &self.min),
            ("max", &self.max),
            ("sla", &self.sla),
            ("due_before", &self.due_before),
            ("holder", &self.holder),
            ("q", &self.q),
        ]);
        for (k, on) in [
            ("mine", self.mine.is_some()),
            ("unassigned", self.unassigned.is_some()),
        ] {
            if on {
                out.push_str(&format!("&{k}=on"));
            }
        }
        out
    }
}

const QUEUE_FIELDS: [&str; 11] = [
    "holder",
    "q",
    "sort",
    "family",
    "stage",
    "facility",
    "min",
    "max",
    "sla",
    "due_before",
    "after",
];

#[get("/queue")]
pub async fn queue_page(ctx: Ctx, q: web::Query<QueueForm>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(QUEUE_ROLES)?;
    let q = q.into_inner();
    let supervisor = user.has(Role::Supervisor);
    // The filter offers the stages of claim and appeal workflows only: a supervisor also
    // decides violations and reports, which are worked on their own pages.
    let stage_ids = queue::my_stages_in(&ctx.state.defs, &user, |wf| {
        wf.pays_claims() || wf.subject == "appeal"
    });
    // A supervisor's queue is the whole team's: every open claim case of the region.
    let filter = listing::filters(
        &ctx,
        q.query(ctx.utc_offset_ms()).and_then(|mut query| {
            query.team = supervisor;
            query.filter(&ctx.state.defs, &user)
        }),
    )?;
    let region = user.region_path.clone();
    let now = crate::store::now_ms();
    let (page, reviewers, holders, errors) = ctx
        .db_read(move |conn, _| {
            let (page, errors) = match filter {
                Ok(filter) => (queue::list(conn, &filter)?, serde_json::Map::new()),
                Err(errors) => (
                    queue::QueuePage {
                        items: Vec::new(),
                        next: None,
                    },
                    errors,
                ),
            };
            // Supervisors may hand the selected cases to a reviewer of their region.
            let reviewers = if supervisor {
                crate::service::views::team::reviewers_near(conn, &region)?
            } else {
                Vec::new()
            };
            // Who holds each listed case now (a lease that ran out holds nothing).
            let held: Vec<i64> = page
                .items
                .iter()
                .filter_map(|i| holder_now(i, now))
                .collect();
            let holders = crate::store::users::display_names(conn, &held)?;
            Ok((page, reviewers, holders, errors))
        })
        .await?;
    let defs = &ctx.state.defs;
    let stage_title = |id: &str| ctx.stage_title(id);
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|i| {
            let wf = defs.latest(&i.workflow);
            json!({
                "case_id": i.case_id,
                "resident": i.resident_name,
                "id_masked": i.id_number_masked,
                "family": wf.as_ref().map(|wf| ctx.pick(&wf.title.zh, &wf.title.en).to_string()),
                "stage": i.stage.as_deref().map(|s| ctx.stage_title_in(&i.workflow, s)),
                "amount": yuan(i.total_fen),
                "facility": i.facility_code,
                "sla": i.sla,
                "sla_label": ctx.t(&format!("queue.{}", i.sla)),
                "due": i.due_at.map(|d| ctx.due(d)),
                "opened": ctx.when(i.opened_at),
                "risk": i.risk_score,
                "holder": holder_now(i, now).map(|id| holders.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))),
                "mine": i.assignee_id == Some(user.user_id),
                "flags": i.flags,
            })
        })
        .collect();
    let families: Vec<Value> = Family::ALL
        .iter()
        .filter_map(|f| defs.latest(f.as_str()))
        .map(|wf| json!({"code": wf.name, "label": ctx.pick(&wf.title.zh, &wf.title.en), "selected": wf.name == q.family}))
        .collect();
    let mut stages: Vec<Value> = Vec::new();
    for id in &stage_ids {
        let label = if q.family.is_empty() {
            stage_title(id)
        } else {
            ctx.stage_title_in(&q.family, id)
        };
        // Several workflows share stage names; one option per name.
        if !stages.iter().any(|s| s["code"] == id.as_str()) {
            stages.push(json!({"code": id, "label": label, "selected": *id == q.stage}));
        }
    }
    let slas: Vec<Value> = SLAS
        .iter()
        .map(|s| json!({"code": s, "label": ctx.t(&format!("queue.{s}")), "selected": *s == q.sla}))
        .collect();
    let holder_options: Vec<Value> = reviewers
        .iter()
        .map(|s| json!({"id": s.id, "name": s.display_name, "selected": s.id.to_string() == q.holder}))
        .collect();
    let view = json!({
        "items": items,
        "next": page.next,
        "families": families,
        "stages": stages,
        "slas": slas,
        "form": {"facility": q.facility, "min": q.min, "max": q.max, "due_before": q.due_before, "q": q.q},
        "sort": q.sort,
        "columns": q.columns(),
        "moved": super::team::moved_notice(&ctx, q.moved),
        "mine": q.mine.is_some(),
        "unassigned": q.unassigned.is_some(),
        "query": q.query_string(),
        "nothing_next": q.empty.is_some(),
        "bulk": supervisor,
        "holders": holder_options,
        "errors": super::field_errors_for(errors.clone(), &QUEUE_FIELDS),
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_titled("queue", ctx.t("queue.title"), view, status)
}

/// The case's holder now: an unexpired lease or a standing assignment.
fn holder_now(item: &queue::QueueItem, now: i64) -> Option<i64> {
    item.assignee_id
        .filter(|_| item.lease_expires_at.is_none_or(|until| until > now))
}

/// The most cases one queue export carries: a region's whole open workload.
const QUEUE_CSV_MAX: i64 = 10_000;

/// The queue with the page's filters, every matching case (not one page), as CSV.
#[get("/queue.csv")]
pub async fn queue_csv(ctx: Ctx, q: web::Query<QueueForm>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(QUEUE_ROLES)?;
    let mut q = q.into_inner();
    q.after.clear();
    let mut filter = q
        .query(ctx.utc_offset_ms())
        .and_then(|mut query| {
            query.team = user.has(Role::Supervisor);
            query.filter(&ctx.state.defs, &user)
        })
        .map_err(|e| ctx.fail(e))?;
    filter.limit = QUEUE_CSV_MAX;
    let page = ctx
        .db_read(move |conn, _| queue::list(conn, &filter))
        .await?;
    csv_download(
        &ctx,
        "queue.csv",
        [
            "case_id",
            "claim_id",
            "family",
            "stage",
            "resident",
            "id_number_masked",
            "facility",
            "total_fen",
            "payable_fen",
            "age_hours",
            "due",
            "sla",
            "assignee_id",
            "escalated_to",
            "flags",
        ],
        page.items.iter().map(|i| {
            [
                i.case_id.to_string(),
                i.claim_id.to_string(),
                i.family.clone(),
                i.stage.clone().unwrap_or_default(),
                i.resident_name.clone().unwrap_or_default(),
                i.id_number_masked.clone().unwrap_or_default(),
                i.facility_code.clone(),
                i.total_fen.to_string(),
                fen_cell(i.payable_fen),
                i.age_hours.to_string(),
                i.due_at.map(|d| ctx.due(d)).unwrap_or_default(),
                i.sla.clone(),
                i.assignee_id.map(|a| a.to_string()).unwrap_or_default(),
                i.escalated_to.clone().unwrap_or_default(),
                i.flags.join(" "),
            ]
        }),
    )
}

#[post("/queue/next")]
pub async fn next_case(
    ctx: Ctx,
    form: web::Form<super::signin::CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(QUEUE_ROLES)?;
    ctx.check_csrf(&form.csrf)?;
    let ttl = ctx.state.config.lease_ttl_minutes * 60_000;
    let case = ctx
        .db(move |conn, env| queue::next(conn, env.defs, &user, ttl, crate::store::now_ms()))
        .await?;
    Ok(match case {
        Some(case) => see_other(&format!("/cases/{}", case.id)),
        None => see_other("/queue?empty=1"),
    })
}
