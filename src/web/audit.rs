//! The auditor's read-only search: cases with a hash-chain verification badge each, and the
//! region's violations, both exportable as CSV with the same filters.
use super::ctx::{Ctx, PageError};
use super::{when, yuan};
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::store::{audit, cases::CaseRow, search, supervision};
use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub const AUDIT_ROLES: &[Role] = &[Role::Auditor];
const PAGE: i64 = 50;
const CSV_MAX: i64 = 100_000;

#[derive(Deserialize, Default)]
pub struct SearchForm {
    #[serde(default)]
    case_id: String,
    #[serde(default)]
    workflow: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
}

/// Midnight (UTC+8) of a YYYY-MM-DD day, in ms.
fn day_start_ms(day: &str) -> Option<i64> {
    let date = crate::domain::dates::parse_iso_date(day)?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() - 8 * 3_600_000)
}

impl SearchForm {
    /// The store's search, or the field that could not be read and why.
    fn search(&self, region_path: &str, limit: i64) -> Result<search::CaseSearch, AppError> {
        let blank = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let number = |field: &str, s: &str| match blank(s) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| AppError::field(field, format!("expected a number, got `{v}`"))),
        };
        let day = |field: &str, s: &str| match blank(s) {
            None => Ok(None),
            Some(v) => day_start_ms(&v).map(Some).ok_or_else(|| {
                AppError::field(field, format!("expected a date YYYY-MM-DD, got `{v}`"))
            }),
        };
        let state = blank(&self.state);
        if let Some(s) = state.as_deref() {
            if s != "open" && s != "closed" {
                return Err(AppError::field(
                    "state",
                    format!("expected open or closed, got `{s}`"),
                ));
            }
        }
        Ok(search::CaseSearch {
            region_path: region_path.to_string(),
            case_id: number("case_id", &self.case_id)?,
            workflow: blank(&self.workflow),
            state,
            from_ms: day("from", &self.from)?,
            // The `to` day is included: search up to the next midnight.
            to_ms: day("to", &self.to)?.map(|ms| ms + 86_400_000),
            before_id: number("before", &self.before)?,
            limit,
        })
    }

    fn query_string(&self) -> String {
        let mut q = String::new();
        for (k, v) in [
            ("case_id", &self.case_id),
            ("workflow", &self.workflow),
            ("state", &self.state),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.trim().is_empty() {
                q.push_str(&format!("&{k}={}", super::ctx::encode_component(v.trim())));
            }
        }
        q
    }
}

/// Cases and, per case, whether its chain verifies ("ok") or where it breaks.
async fn find(
    ctx: &Ctx,
    form: &SearchForm,
    limit: i64,
) -> Result<Vec<(CaseRow, Result<usize, String>)>, PageError> {
    let user = ctx.require(AUDIT_ROLES)?;
    let s = form
        .search(&user.region_path, limit)
        .map_err(|e| ctx.fail(e))?;
    ctx.db(move |conn, _| {
        let rows = search::cases(conn, &s)?;
        let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
        let mut out = Vec::with_capacity(rows.len());
        // Events in chunks of 500 cases, so that no statement carries too many parameters.
        let mut events = Vec::new();
        for chunk in ids.chunks(500) {
            events.extend(audit::for_cases(conn, chunk)?);
        }
        events.sort_by_key(|e| (e.case_id, e.seq));
        for case in rows {
            let start = events.partition_point(|e| e.case_id < case.id);
            let end = events.partition_point(|e| e.case_id <= case.id);
            let verdict = audit::verify_events(&events[start..end])
                .map_err(|b| format!("#{} {}", b.seq, b.reason));
            out.push((case, verdict));
        }
        Ok(out)
    })
    .await
}

/// Where a case stands, as the workflow names it: its stage, or its outcome once closed.
fn state_title(ctx: &Ctx, wf: Option<&crate::domain::workflow::Workflow>, c: &CaseRow) -> String {
    let named = wf.and_then(|wf| match (&c.stage, &c.outcome) {
        (Some(stage), _) => wf.stage(stage).map(|s| &s.title),
        (None, Some(o)) => {
            crate::domain::workflow::OutcomeKind::parse(o).and_then(|k| wf.outcome_title(k))
        }
        _ => None,
    });
    named.map_or_else(
        || {
            c.outcome
                .clone()
                .or_else(|| c.stage.clone())
                .unwrap_or_default()
        },
        |t| ctx.pick(&t.zh, &t.en).to_string(),
    )
}

#[get("/audit")]
pub async fn search_page(ctx: Ctx, q: web::Query<SearchForm>) -> Result<HttpResponse, PageError> {
    let form = q.into_inner();
    let found = find(&ctx, &form, PAGE).await?;
    let registry = &ctx.state.registry;
    let next = (found.len() as i64 == PAGE)
        .then(|| found.last().map(|(c, _)| c.id))
        .flatten();
    let rows: Vec<Value> = found
        .iter()
        .map(|(c, verdict)| {
            let wf = registry.latest(&c.workflow);
            json!({
                "case_id": c.id,
                "workflow": wf.as_ref().map_or_else(|| c.workflow.clone(), |wf| ctx.pick(&wf.title.zh, &wf.title.en).to_string()),
                "state": state_title(&ctx, wf.as_deref(), c),
                "region": c.region_code,
                "opened": when(c.created_at),
                "claim": (c.subject_kind == "claim").then_some(c.subject_id),
                "chain_ok": verdict.is_ok(),
                "chain": match verdict {
                    Ok(n) => format!("{} ({n})", ctx.t("audit.chain_ok")),
                    Err(why) => format!("{}: {why}", ctx.t("audit.chain_broken")),
                },
            })
        })
        .collect();
    let workflows: Vec<Value> = registry
        .latest_all()
        .iter()
        .map(|wf| json!({"code": wf.name, "label": ctx.pick(&wf.title.zh, &wf.title.en), "selected": wf.name == form.workflow}))
        .collect();
    let view = json!({
        "rows": rows,
        "workflows": workflows,
        "form": {"case_id": form.case_id, "from": form.from, "to": form.to,
                 "open": form.state == "open", "closed": form.state == "closed"},
        "query": form.query_string(),
        "next": next,
    });
    ctx.page("audit", "audit.title", view)
}

fn csv_response(name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// Writes rows as CSV with a UTF-8 byte-order mark, so that spreadsheet programs read the
/// Chinese text correctly.
fn to_csv<const N: usize>(
    ctx: &Ctx,
    header: [&str; N],
    rows: impl Iterator<Item = [String; N]>,
) -> Result<Vec<u8>, PageError> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let fail = |e: csv::Error| ctx.fail(AppError::Internal(e.into()));
    w.write_record(header).map_err(fail)?;
    for row in rows {
        w.write_record(&row).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| ctx.fail(AppError::Internal(anyhow::anyhow!("csv: {e}"))))
}

/// The same search as the page, every match (up to 100,000), as CSV.
#[get("/audit/cases.csv")]
pub async fn cases_csv(ctx: Ctx, q: web::Query<SearchForm>) -> Result<HttpResponse, PageError> {
    let mut form = q.into_inner();
    form.before.clear();
    let found = find(&ctx, &form, CSV_MAX).await?;
    let body = to_csv(
        &ctx,
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
                when(c.created_at),
                when(c.updated_at),
                match verdict {
                    Ok(n) => format!("ok ({n} events)"),
                    Err(why) => format!("broken: {why}"),
                },
            ]
        }),
    )?;
    Ok(csv_response("cases.csv", body))
}

async fn violations(ctx: &Ctx) -> Result<Vec<supervision::ViolationAndStage>, PageError> {
    let user = ctx.require(AUDIT_ROLES)?;
    ctx.db(move |conn, _| Ok(supervision::violations_in(conn, &user.region_path)?))
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
                "recorded": when(v.created_at),
            })
        })
        .collect();
    ctx.page(
        "audit_violations",
        "audit.violations",
        json!({"rows": rows}),
    )
}

#[get("/audit/violations.csv")]
pub async fn violations_csv(ctx: Ctx) -> Result<HttpResponse, PageError> {
    let found = violations(&ctx).await?;
    let body = to_csv(
        &ctx,
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
                v.repay_fen.map(|f| f.to_string()).unwrap_or_default(),
                v.fine_fen.map(|f| f.to_string()).unwrap_or_default(),
                v.suspension_months
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
                stage.clone().unwrap_or_default(),
                when(v.created_at),
            ]
        }),
    )?;
    Ok(csv_response("violations.csv", body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_fields_are_checked_and_named() {
        let form = SearchForm {
            case_id: "12x".into(),
            ..Default::default()
        };
        let err = form.search("330000", 50).unwrap_err().to_string();
        assert!(err.contains("case_id"), "{err}");
        let form = SearchForm {
            to: "2026-13-01".into(),
            ..Default::default()
        };
        assert!(form
            .search("330000", 50)
            .unwrap_err()
            .to_string()
            .contains("to"));
        let form = SearchForm {
            state: "gone".into(),
            ..Default::default()
        };
        assert!(form.search("330000", 50).is_err());
        let form = SearchForm {
            from: "2026-11-30".into(),
            to: "2026-11-30".into(),
            ..Default::default()
        };
        let s = form.search("330000", 50).unwrap();
        // Midnight in Beijing is 16:00 UTC the day before; the `to` day is included.
        assert_eq!(s.from_ms, Some(1_795_968_000_000));
        assert_eq!(s.to_ms.unwrap() - s.from_ms.unwrap(), 86_400_000);
    }
}
