//! The inspectors' desk for whistleblower reports (`whistleblower_report` cases): the triage
//! list, a report with its attachments and its workflow actions, linking the violations it
//! led to, and the reward paid from what was recovered. Evidence files (a report's
//! attachments, a violation's evidence) open inline for staff of the region.
use super::ctx::{see_other, Ctx, PageError};
use super::{yuan, yuan_to_fen};
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::error::Msg;
use crate::service::reports::{self as svc, REPORT_WORKFLOW};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const DESK_ROLES: &[Role] = &[Role::Inspector, Role::Supervisor, Role::Auditor];

/// Where a report's case stands, in the reader's language: its stage, else its outcome.
fn status_label(ctx: &Ctx, stage: Option<&str>, outcome: Option<&str>) -> String {
    let wf = ctx.state.defs.latest(REPORT_WORKFLOW);
    let wf = wf.as_deref();
    let title = match (stage, outcome) {
        (Some(s), _) => wf.and_then(|wf| wf.stage(s)).map(|s| &s.title),
        (None, Some(o)) => wf.and_then(|wf| wf.title_of_outcome(o)),
        (None, None) => None,
    };
    title.map_or_else(
        || stage.or(outcome).unwrap_or_default().to_string(),
        |t| ctx.pick(&t.zh, &t.en).to_string(),
    )
}

/// The first characters of a report, for the list.
fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(60).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    all: bool,
}

#[get("/reports")]
pub async fn triage(ctx: Ctx, q: web::Query<ListQuery>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(DESK_ROLES)?;
    let all = q.all;
    let rows = ctx
        .db(move |conn, _| svc::triage_list(conn, &user, all))
        .await?;
    let reports: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "received": ctx.when(r.created_at),
                "facility": r.facility_code,
                "excerpt": excerpt(&r.description),
                "status": status_label(&ctx, r.stage.as_deref(), r.outcome.as_deref()),
                "open": r.outcome.is_none(),
                "triage": r.stage.as_deref() == Some("triage"),
                "due": r.due_at.map(|t| ctx.due(t)),
            })
        })
        .collect();
    let waiting = rows
        .iter()
        .filter(|r| r.stage.as_deref() == Some("triage"))
        .count();
    let view = json!({"reports": reports, "all": all, "waiting": waiting});
    ctx.page("reports", "reports.title", view)
}

#[derive(Deserialize, Default)]
pub struct LinkForm {
    #[serde(default)]
    violation_id: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

#[derive(Deserialize, Default)]
pub struct RewardForm {
    #[serde(default)]
    amount: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// The report page. `errors` and the kept `amount` belong to the forms below it.
pub async fn report_page(
    ctx: &Ctx,
    id: i64,
    errors: Map<String, Value>,
    amount: &str,
    decision: Option<(&super::decision::DecisionForm, Map<String, Value>)>,
    status: StatusCode,
    flash: Option<(&str, String)>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(DESK_ROLES)?;
    let (supervisor, inspector) = (user.has(Role::Supervisor), user.has(Role::Inspector));
    let (r, actions, facility, linked, candidates) = ctx
        .db(move |conn, env| {
            let r = svc::view(conn, env.defs, &user, id)?;
            let case = crate::service::scope::load(conn, r.case_id)?;
            let actions = crate::service::cases::available_actions(conn, env.defs, &user, &case)?;
            let facility = match &r.report.facility_code {
                Some(code) => crate::store::facilities::get(conn, code)?,
                None => None,
            };
            let in_region = crate::service::supervision::violations_in_region(conn, &user)?;
            let (linked, mut candidates): (Vec<_>, Vec<_>) = in_region
                .into_iter()
                .map(|(v, _, _)| v)
                .partition(|v| r.violation_ids.contains(&v.id));
            // The reported facility's violations first, then the newest.
            let reported = r.report.facility_code.clone();
            candidates.sort_by_key(|v| (Some(&v.facility_code) != reported.as_ref(), -v.id));
            candidates.truncate(50);
            Ok((r, actions, facility, linked, candidates))
        })
        .await?;
    let type_label = |code: &str| {
        ctx.state
            .defs
            .sanctions()
            .violation_type(code)
            .map_or_else(|| code.to_string(), |t| ctx.pick(&t.zh, &t.en).to_string())
    };
    let violation_line = |v: &crate::store::supervision::ViolationRow| json!({"id": v.id, "type": type_label(&v.type_code), "facility": v.facility_code, "amount": yuan(v.amount_fen)});
    let attachments: Vec<Value> = r
        .attachments
        .iter()
        .map(|e| json!({"id": e.id, "name": e.filename, "kind": e.content_type, "image": e.content_type.starts_with("image/"),
            "size_kb": (e.size_bytes + 1023) / 1024, "when": ctx.when(e.uploaded_at)}))
        .collect();
    let decision = super::decision::decision_of(ctx, &actions, r.version, decision);
    let confirmed = r.outcome.as_deref() == Some("closed");
    let reward = r.report.reward_fen.unwrap_or(r.reward_due_fen);
    let left = reward - r.report.reward_paid_fen;
    let view = json!({
        "id": r.report.id,
        "case_id": r.case_id,
        "version": r.version,
        "received": ctx.when(r.report.created_at),
        "status": status_label(ctx, r.stage.as_deref(), r.outcome.as_deref()),
        "open": r.outcome.is_none(),
        "description": r.report.description,
        "facility": r.report.facility_code,
        "facility_name": facility.map(|f| f.name),
        "person": r.report.person_id_number,
        "claim": r.report.claim_id,
        "contact": r.report.contact,
        "attachments": attachments,
        "decision": decision,
        "linked": linked.iter().map(violation_line).collect::<Vec<_>>(),
        "candidates": candidates.iter().map(violation_line).collect::<Vec<_>>(),
        "can_link": (inspector || supervisor) && !candidates.is_empty(),
        "confirmed": confirmed,
        "recovered": yuan(r.recovered_fen),
        "reward": yuan(reward),
        "reward_paid": yuan(r.report.reward_paid_fen),
        "reward_left": yuan(left),
        "reward_settled": r.report.reward_paid_at.map(|t| ctx.when(t)),
        "can_pay": supervisor && confirmed && left > 0,
        "amount": amount,
        "flash": flash.map(|(kind, text)| json!({"kind": kind, "text": text})),
        "errors": super::field_errors_for(errors, &["violation_id", "amount"]),
    });
    let title = format!("{} #{}", ctx.t("reports.report"), r.report.id);
    ctx.page_titled("report_case", title, view, status)
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: bool,
}

#[get("/reports/{id}")]
pub async fn report(
    ctx: Ctx,
    id: web::Path<i64>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let flash = q.done.then(|| ("ok", ctx.t("case.done")));
    report_page(
        &ctx,
        id.into_inner(),
        Map::new(),
        "",
        None,
        StatusCode::OK,
        flash,
    )
    .await
}

/// A refusal the user can fix, beside its field; anything else as an error page.
async fn refused_in_place(
    ctx: &Ctx,
    id: i64,
    err: AppError,
    amount: &str,
) -> Result<HttpResponse, PageError> {
    let errors = ctx.form_errors(err, |f| f.trim_end_matches("_fen").to_string())?;
    report_page(
        ctx,
        id,
        errors,
        amount,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
    )
    .await
}

#[post("/reports/{id}/violations")]
pub async fn link(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Inspector, Role::Supervisor])?;
    ctx.check_csrf(&form.csrf)?;
    let id = id.into_inner();
    let Ok(violation_id) = form.violation_id.trim().parse::<i64>() else {
        let err = AppError::rule_on_msg(
            "violation_id",
            "choose_violation",
            Msg::new("rule-choose-violation"),
        );
        return refused_in_place(&ctx, id, err, "").await;
    };
    let done = crate::http::db(&ctx.state, move |conn, env| {
        svc::link_violation(conn, env.defs, &user, id, violation_id)
    })
    .await;
    match done {
        Ok(_) => Ok(see_other(&format!("/reports/{id}?done=true#violations"))),
        Err(e) => refused_in_place(&ctx, id, e, "").await,
    }
}

#[post("/reports/{id}/reward")]
pub async fn pay_reward(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<RewardForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Supervisor])?;
    ctx.check_csrf(&form.csrf)?;
    let id = id.into_inner();
    let amount_fen = match yuan_to_fen(&form.amount) {
        Ok(fen) => fen,
        Err(key) => {
            // The form's own words for what is wrong with the amount, in both languages.
            let (zh, en) = (ctx.ui.text("zh-CN", key), ctx.ui.text("en", key));
            let msg = Msg::new("detail").both("text", zh, en);
            let err = AppError::rule_on_msg("amount_fen", "amount", msg);
            return refused_in_place(&ctx, id, err, &form.amount).await;
        }
    };
    let now = crate::store::now_ms();
    let done = crate::http::db(&ctx.state, move |conn, env| {
        svc::pay_reward(conn, env.defs, &user, id, amount_fen, now)
    })
    .await;
    match done {
        Ok(_) => Ok(see_other(&format!("/reports/{id}?done=true#reward"))),
        Err(AppError::Rule(rule)) if matches!(rule.kind, crate::error::RuleKind::Conflict) => {
            let flash = Some(("error", ctx.pick(&rule.zh, &rule.en).to_string()));
            report_page(
                &ctx,
                id,
                Map::new(),
                &form.amount,
                None,
                StatusCode::CONFLICT,
                flash,
            )
            .await
        }
        Err(e) => refused_in_place(&ctx, id, e, &form.amount).await,
    }
}

/// An evidence file or a report's attachment, inline, for staff who may see its case.
#[get("/evidence/{id}")]
pub async fn evidence(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(DESK_ROLES)?;
    let id = id.into_inner();
    let data_dir = ctx.state.config.data_dir.clone();
    let (file, bytes) = ctx
        .db(move |conn, _| crate::service::supervision::open_evidence(conn, &user, &data_dir, id))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(file.content_type.as_str())
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"evidence-{}\"", file.id),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        // The file is shown, never run: no script, no form, no plugin.
        .insert_header((
            "Content-Security-Policy",
            "sandbox; default-src 'none'; img-src 'self'; object-src 'self'",
        ))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}
