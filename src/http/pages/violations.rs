//! The inspector's facility page and forms: inspections, violations with evidence, and the
//! supervisor's sanction, offered within the range the article allows.
use super::ctx::{see_other, Ctx, PageError};
use super::{yuan, yuan_to_fen};
use crate::domain::facility::status_on;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::service::supervision::{self as svc, InspectionInput, SanctionInput, ViolationInput};
use crate::store::facilities;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::evidence::SUPERVISION_ROLES;
const INSPECTION_KINDS: [&str; 4] = ["planned", "unannounced", "random_recheck", "follow_up"];

/// The form field a service field belongs to: `lines[2].amount_fen` is the form's `lines`.
fn field_errors(ctx: &Ctx, fields: Vec<crate::error::FieldError>) -> Map<String, Value> {
    ctx.field_messages(fields, |f| {
        f.split(['[', '.'])
            .next()
            .unwrap_or_default()
            .trim_end_matches("_fen")
            .to_string()
    })
}

#[get("/facilities/{code}")]
pub async fn facility_page(ctx: Ctx, code: web::Path<String>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(SUPERVISION_ROLES)?;
    let code = code.into_inner();
    let today = chrono::Utc::now().date_naive();
    let file = ctx
        .db(move |conn, _| svc::facility_file(conn, &user, &code))
        .await?;
    let (facility, history, inspections, violations) = (
        file.facility,
        file.history,
        file.inspections,
        file.violations,
    );
    let status = status_on(&facilities::to_changes(&history), today)
        .unwrap_or("none")
        .to_string();
    let history: Vec<Value> = history
        .iter()
        .map(|h| json!({"status": ctx.t(&format!("facilities.status_{}", h.status)), "from": h.effective_from, "reason": h.reason}))
        .collect();
    let inspections: Vec<Value> = inspections
        .iter()
        .map(|i| {
            let findings = violations.iter().filter(|(v, _, _)| v.inspection_id == Some(i.id)).count();
            json!({"id": i.id, "on": i.inspected_on, "kind": ctx.t(&format!("inspection.kind_{}", i.kind)), "team": i.team, "scope": i.scope, "findings": findings})
        })
        .collect();
    let violations: Vec<Value> = violations
        .iter()
        .map(|(v, stage, due)| {
            json!({
                "id": v.id,
                "type": v.type_code,
                "amount": yuan(v.amount_fen),
                "sanctioned": v.sanctioned_at.is_some(),
                "open": stage.is_some(),
                "rectifying": matches!(stage.as_deref(), Some("rectification" | "follow_up")),
                "due": due.map(|d| ctx.due(d)),
            })
        })
        .collect();
    let view = json!({
        "code": facility.code,
        "name": facility.name,
        "level": ctx.t(&format!("facilities.level_{}", facility.level)),
        "status": status,
        "status_label": ctx.t(&format!("facilities.status_{status}")),
        "history": history,
        "inspections": inspections,
        "rectifications": violations.iter().filter(|v| v["rectifying"] == true).cloned().collect::<Vec<_>>(),
        "violations": violations,
        "is_inspector": ctx.user.as_ref().is_some_and(|u| u.has(Role::Inspector)),
    });
    ctx.page_titled("facility", facility.name.clone(), view, StatusCode::OK)
}

#[derive(Deserialize, Serialize, Default)]
pub struct InspectionForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    inspected_on: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    scope: String,
    #[serde(default, rename = "_csrf", skip_serializing)]
    csrf: String,
}

fn inspection_page(
    ctx: &Ctx,
    code: &str,
    form: &InspectionForm,
    errors: Map<String, Value>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let kinds: Vec<Value> = INSPECTION_KINDS
        .iter()
        .map(|k| json!({"code": k, "label": ctx.t(&format!("inspection.kind_{k}")), "selected": form.kind == *k}))
        .collect();
    let has_errors = !errors.is_empty();
    let errors = super::field_errors_for(errors, &["kind", "inspected_on", "team", "scope"]);
    let view = json!({"code": code, "kinds": kinds, "form": form, "errors": errors, "has_errors": has_errors});
    ctx.page_titled("inspection_new", ctx.t("inspection.title"), view, status)
}

#[get("/facilities/{code}/inspections/new")]
pub async fn new_inspection(ctx: Ctx, code: web::Path<String>) -> Result<HttpResponse, PageError> {
    ctx.require(&[Role::Inspector])?;
    let form = InspectionForm {
        kind: "unannounced".into(),
        ..Default::default()
    };
    inspection_page(&ctx, &code, &form, Map::new(), StatusCode::OK)
}

#[post("/facilities/{code}/inspections/new")]
pub async fn record_inspection(
    ctx: Ctx,
    code: web::Path<String>,
    form: web::Form<InspectionForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Inspector])?;
    let (code, form) = (code.into_inner(), form.into_inner());
    ctx.check_csrf(&form.csrf)?;
    let input = InspectionInput {
        facility_code: code.clone(),
        kind: form.kind.clone(),
        inspected_on: form.inspected_on.clone(),
        team: form.team.clone(),
        scope: form.scope.clone(),
    };
    let done = crate::http::db(&ctx.state, move |conn, _| {
        svc::record_inspection(conn, &user, &input, crate::store::now_ms())
    })
    .await;
    match done {
        Ok(_) => Ok(see_other(&format!(
            "/facilities/{}#inspections",
            super::ctx::encode_component(&code)
        ))),
        Err(AppError::Validation(fields)) => inspection_page(
            &ctx,
            &code,
            &form,
            field_errors(&ctx, fields),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(ctx.fail(e)),
    }
}

#[derive(Deserialize, Serialize, Default)]
pub struct ViolationForm {
    /// The inspection that found it, if any (empty: none).
    #[serde(default)]
    inspection_id: String,
    #[serde(default)]
    type_code: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    description: String,
    #[serde(default, rename = "_csrf", skip_serializing)]
    csrf: String,
}

async fn violation_form_page(
    ctx: &Ctx,
    code: &str,
    form: &ViolationForm,
    errors: Map<String, Value>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let facility = code.to_string();
    let user = ctx.require(SUPERVISION_ROLES)?;
    let inspections: Vec<Value> = ctx
        .db(move |conn, _| svc::inspections_at(conn, &user, &facility))
        .await?
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "label": format!("{} · {}", i.inspected_on, ctx.t(&format!("inspection.kind_{}", i.kind))),
                "selected": i.id.to_string() == form.inspection_id,
            })
        })
        .collect();
    let types: Vec<Value> = ctx
        .state
        .defs
        .sanctions()
        .violation_types
        .iter()
        .map(|t| json!({"code": t.code, "label": ctx.pick(&t.zh, &t.en), "article": t.article, "selected": t.code == form.type_code}))
        .collect();
    let has_errors = !errors.is_empty();
    let errors = super::field_errors_for(
        errors,
        &[
            "type_code",
            "amount",
            "department",
            "description",
            "inspection_id",
        ],
    );
    let view = json!({"code": code, "types": types, "inspections": inspections, "form": form, "errors": errors, "has_errors": has_errors});
    ctx.page_titled("violation_new", ctx.t("violation.new_title"), view, status)
}

#[get("/facilities/{code}/violations/new")]
pub async fn new_violation(ctx: Ctx, code: web::Path<String>) -> Result<HttpResponse, PageError> {
    ctx.require(&[Role::Inspector])?;
    violation_form_page(
        &ctx,
        &code,
        &ViolationForm::default(),
        Map::new(),
        StatusCode::OK,
    )
    .await
}

#[post("/facilities/{code}/violations/new")]
pub async fn log_violation(
    ctx: Ctx,
    code: web::Path<String>,
    form: web::Form<ViolationForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Inspector])?;
    let (code, form) = (code.into_inner(), form.into_inner());
    ctx.check_csrf(&form.csrf)?;
    let amount_fen = match yuan_to_fen(&form.amount) {
        Ok(fen) => fen,
        Err(key) => {
            let mut errors = Map::new();
            errors.insert("amount".into(), Value::String(ctx.t(key)));
            return violation_form_page(
                &ctx,
                &code,
                &form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let inspection_id = match form.inspection_id.trim() {
        "" => None,
        id => match id.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                let mut errors = Map::new();
                errors.insert(
                    "inspection_id".into(),
                    Value::String(format!("{}`{id}`", ctx.t("errors.field_prefix"))),
                );
                return violation_form_page(
                    &ctx,
                    &code,
                    &form,
                    errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        },
    };
    let input = ViolationInput {
        id_number: None,
        inspection_id,
        facility_code: code.clone(),
        type_code: form.type_code.clone(),
        amount_fen,
        claim_ids: Vec::new(),
        department: form.department.trim().to_string(),
        description: form.description.trim().to_string(),
    };
    let done = crate::http::db(&ctx.state, move |conn, env| {
        svc::add_violation(conn, env.defs, &user, &input, crate::store::now_ms())
    })
    .await;
    match done {
        Ok(v) => Ok(see_other(&format!("/violations/{}", v.violation.id))),
        Err(AppError::Validation(fields)) => {
            violation_form_page(
                &ctx,
                &code,
                &form,
                field_errors(&ctx, fields),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

#[derive(Deserialize, Serialize, Default)]
pub struct SanctionForm {
    #[serde(default)]
    expected_version: i64,
    #[serde(default)]
    fine: String,
    #[serde(default)]
    suspension_months: String,
    #[serde(default)]
    suspended_from: String,
    #[serde(default)]
    terminate: Option<String>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    mitigation: String,
    #[serde(default)]
    rectification_due: String,
    #[serde(default, rename = "_csrf", skip_serializing)]
    csrf: String,
}

/// What the user typed into the page's forms, kept when one of them is refused.
#[derive(Default)]
pub struct Kept<'a> {
    pub sanction: Option<&'a SanctionForm>,
    /// The decision form that came back, and what was wrong with it.
    pub decision: Option<(&'a super::decision::DecisionForm, Map<String, Value>)>,
    pub payment: Option<&'a super::recovery_view::PaymentForm>,
    pub write_off_reason: Option<&'a str>,
}

/// The violation page. `flash` explains what happened to an action taken from it.
pub async fn violation_page(
    ctx: &Ctx,
    id: i64,
    kept: Kept<'_>,
    errors: Map<String, Value>,
    status: StatusCode,
    flash: Option<(&str, String)>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Inspector, Role::Supervisor, Role::Auditor])?;
    let me = user.user_id;
    let (v, actions, events, facility, proposers) = ctx
        .db(move |conn, env| {
            let v = svc::view(conn, env.defs, &user, id)?;
            let case = crate::service::scope::load(conn, v.case_id)?;
            let actions = crate::service::cases::available_actions(conn, env.defs, &user, &case)?;
            let events = crate::service::views::case::events(conn, &user, v.case_id)?;
            let facility = facilities::get(conn, &v.violation.facility_code)?;
            let mut proposers = Vec::new();
            for a in &v.approvals {
                let name = crate::store::users::get(conn, a.proposed_by)?
                    .map_or_else(String::new, |u| u.display_name);
                proposers.push(name);
            }
            Ok((v, actions, events, facility, proposers))
        })
        .await?;
    let form = kept.sanction;
    // The sanction itself is recorded through its own form below, not as a bare action.
    let actions: Vec<_> = actions
        .into_iter()
        .filter(|a| a.name != "impose_sanction")
        .collect();
    let decision = super::decision::decision_of(ctx, &actions, v.version, kept.decision);
    let a = &v.allowed;
    let suspension = if a.suspension_max_months > 0 {
        Some(format!(
            "{}–{} {}",
            a.suspension_min_months,
            a.suspension_max_months,
            ctx.t("violation.months")
        ))
    } else {
        None
    };
    let evidence: Vec<Value> = v
        .evidence
        .iter()
        .map(|e| super::evidence::row(ctx, e))
        .collect();
    // The sanction is decided at the workflow's decision stage, after the facility was heard.
    let can_sanction = v.violation.sanctioned_at.is_none()
        && v.stage.as_deref() == Some("decision")
        && ctx.user.as_ref().is_some_and(|u| u.has(Role::Supervisor));
    let default_form = SanctionForm {
        expected_version: v.version,
        fine: yuan(a.fine_min_fen).replace(',', ""),
        suspension_months: a.suspension_min_months.to_string(),
        ..Default::default()
    };
    let mut form_view = serde_json::to_value(form.unwrap_or(&default_form)).unwrap_or_default();
    form_view["expected_version"] = json!(v.version);
    let supervisor = ctx.user.as_ref().is_some_and(|u| u.has(Role::Supervisor));
    let money = super::recovery_view::money_view(
        ctx,
        &v,
        &proposers,
        me,
        supervisor,
        kept.payment,
        kept.write_off_reason,
    );
    let timeline: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "when": ctx.when(e.at_ms),
                "actor": e.actor_name,
                "role": ctx.role_label(&e.role),
                "action": ctx.action_label(&e.action),
                "to": e.to_stage.as_deref().map(|s| ctx.stage_title_in("facility_violation", s)),
                "comment": e.comment,
            })
        })
        .collect();
    let article_title = ctx
        .state
        .defs
        .sanctions()
        .article(&v.violation.article)
        .map(|art| ctx.pick(&art.title.zh, &art.title.en).to_string());
    let view = json!({
        "id": v.violation.id,
        "facility": v.violation.facility_code,
        "facility_name": facility.map(|f| f.name),
        "type": ctx.pick(&v.type_zh, &v.type_en),
        "type_code": v.violation.type_code,
        "article": a.article,
        "article_title": article_title,
        "money": money,
        "timeline": timeline,
        "amount": yuan(v.violation.amount_fen),
        "description": v.violation.description,
        "department": v.violation.department,
        "recorded": ctx.when(v.violation.created_at),
        "repay": yuan(a.repay_fen),
        "fine_range": format!("{} – {}", yuan(a.fine_min_fen), yuan(a.fine_max_fen)),
        "suspension": suspension,
        "may_terminate": a.may_terminate,
        "sanctioned": v.violation.sanctioned_at.is_some(),
        "fine": v.violation.fine_fen.map(yuan),
        "suspended": v.violation.suspension_months.filter(|m| *m > 0).map(|m| format!("{m} {} ({} – {})", ctx.t("violation.months"),
            v.violation.suspended_from.clone().unwrap_or_default(), v.violation.suspended_until.clone().unwrap_or_default())),
        "evidence": evidence,
        "can_upload": v.stage.is_some() && ctx.user.as_ref().is_some_and(|u| u.has(Role::Inspector) || u.has(Role::Supervisor)),
        "can_sanction": can_sanction,
        "mitigations": ctx.state.defs.sanctions().article(&v.violation.article).map(|art| {
            ctx.state.defs.sanctions().mitigations.iter()
                .filter(|m| art.mitigations.contains(&m.code))
                .map(|m| json!({"code": m.code, "label": ctx.pick(&m.zh, &m.en), "selected": form.is_some_and(|f| f.mitigation == m.code)}))
                .collect::<Vec<_>>()
        }).unwrap_or_default(),
        "form": form_view,
        "case_id": v.case_id,
        "version": v.version,
        "decision": decision,
        "stage": v.stage.as_deref().and_then(|st| {
            let wf = ctx.state.defs.latest("facility_violation")?;
            wf.stage(st).map(|s| ctx.pick(&s.title.zh, &s.title.en).to_string())
        }),
        "flash": flash.map(|(kind, text)| json!({"kind": kind, "text": text})),
        "errors": super::field_errors_for(errors, &["fine", "suspension_months", "suspended_from", "rectification_due", "reason", "terminate", "mitigation", "amount", "recovery", "write_off_reason"]),
    });
    let title = format!("{} #{}", ctx.t("violation.title"), v.violation.id);
    ctx.page_titled("violation", title, view, status)
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: bool,
}

#[get("/violations/{id}")]
pub async fn violation(
    ctx: Ctx,
    id: web::Path<i64>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let flash = q.done.then(|| ("ok", ctx.t("case.done")));
    violation_page(
        &ctx,
        id.into_inner(),
        Kept::default(),
        Map::new(),
        StatusCode::OK,
        flash,
    )
    .await
}

#[post("/violations/{id}/sanction")]
pub async fn sanction(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<SanctionForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Supervisor])?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let violation_id = id.into_inner();
    let mut errors = Map::new();
    let fine_fen = yuan_to_fen(&form.fine).unwrap_or_else(|key| {
        errors.insert("fine".into(), Value::String(ctx.t(key)));
        0
    });
    let suspension_months = match form.suspension_months.trim() {
        "" => 0,
        s => s.parse::<u32>().unwrap_or_else(|_| {
            errors.insert(
                "suspension_months".into(),
                Value::String(ctx.t("violation.whole_months")),
            );
            0
        }),
    };
    if !errors.is_empty() {
        return violation_page(
            &ctx,
            violation_id,
            Kept {
                sanction: Some(&form),
                ..Kept::default()
            },
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        )
        .await;
    }
    let blank = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let input = SanctionInput {
        expected_version: form.expected_version,
        fine_fen,
        suspension_months,
        suspended_from: blank(&form.suspended_from),
        terminate: form.terminate.is_some(),
        mitigation: blank(&form.mitigation),
        reason: form.reason.trim().to_string(),
        rectification_due: form.rectification_due.trim().to_string(),
    };
    let done = crate::http::db(&ctx.state, move |conn, env| {
        svc::impose_sanction(
            conn,
            env,
            &user,
            violation_id,
            &input,
            crate::store::now_ms(),
        )
    })
    .await;
    // A refused value is shown next to its field, whichever layer refused it.
    let errors = match done {
        Ok(_) => return Ok(see_other(&format!("/violations/{violation_id}?done=true"))),
        Err(AppError::Rule(rule)) if !rule.fields.is_empty() => {
            ctx.rule_errors(&rule, |f| f.trim_end_matches("_fen").to_string())
        }
        Err(AppError::Validation(fields)) => field_errors(&ctx, fields),
        Err(AppError::Conflict(_)) => {
            let flash = Some(("warn", ctx.t("errors.stale")));
            let status = StatusCode::CONFLICT;
            return violation_page(
                &ctx,
                violation_id,
                Kept::default(),
                Map::new(),
                status,
                flash,
            )
            .await;
        }
        Err(e) => return Err(ctx.fail(e)),
    };
    violation_page(
        &ctx,
        violation_id,
        Kept {
            sanction: Some(&form),
            ..Kept::default()
        },
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
    )
    .await
}
