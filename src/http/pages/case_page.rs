//! The case page: everything a decision rests on and exactly the actions allowed now, and
//! the forms that act on the case and override a finding.
use super::ctx::{see_other, Ctx, PageError};
use super::decision::{self, DecisionForm, DecisionView, ReturnItem};
use super::listing::blank;
use super::{yuan, yuan_to_fen};
use crate::domain::case::Subject;
use crate::domain::claim::FamilyFacts;
use crate::domain::documents::document_kind;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::error::Msg;
use crate::service::cases::{self, ActionRequest};
use crate::service::views::claim::{claim_detail, ClaimDetail};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Everything the case page shows, read in one blocking call.
pub(super) struct CaseData {
    pub(super) detail: ClaimDetail,
    events: Vec<crate::domain::audit::StoredEvent>,
    /// The insured person the claim is for.
    claimant: Option<crate::store::persons::Person>,
    /// What the facility filed on the claim (its appeal's documents, its review's).
    facility_files: Vec<crate::store::supervision::EvidenceRow>,
}

pub(super) async fn load_case(ctx: &Ctx, case_id: i64) -> Result<CaseData, PageError> {
    let user = ctx.require(&Role::STAFF)?;
    ctx.db(move |conn, env| {
        let case = crate::service::scope::case(conn, &user, case_id)?;
        let events = crate::service::views::case::events(conn, &user, case_id)?;
        // An appeal's page is the claim appealed against, with the appeal's own actions.
        let detail = if let Subject::Appeal(appeal_id) = case.subject() {
            let appeal = crate::store::appeals::get(conn, appeal_id)?
                .ok_or_else(|| AppError::NotFound(format!("appeal {appeal_id}")))?;
            let claim_case = crate::service::scope::load(conn, appeal.claim_case_id)?;
            let mut detail = claim_detail(conn, env.defs, &user, claim_case)?;
            detail.case = crate::service::views::case::case_view(conn, env.defs, &user, case)?;
            detail
        } else if case.subject().claim().is_some() {
            claim_detail(conn, env.defs, &user, case)?
        } else {
            return Err(AppError::NotFound(format!("claim case {case_id}")));
        };
        let claimant = match detail.claim.person_id {
            Some(id) => crate::store::persons::get(conn, id)?,
            None => None,
        };
        let facility_files =
            crate::store::supervision::evidence_of(conn, "claim", detail.claim.id)?;
        Ok(CaseData {
            detail,
            events,
            claimant,
            facility_files,
        })
    })
    .await
}

/// The family's facts as label/value rows; only what was declared.
fn family_facts(ctx: &Ctx, facts: &FamilyFacts) -> Vec<Value> {
    let Ok(Value::Object(facts)) = serde_json::to_value(facts) else {
        return Vec::new();
    };
    facts
        .into_iter()
        .filter(|(k, v)| {
            !(v.is_null() || *v == Value::Bool(false))
                && ctx.ui.has(ctx.lang, &format!("facts.{k}"))
        })
        .map(|(k, v)| {
            let value = match v {
                Value::Bool(true) => ctx.t("case.yes"),
                Value::String(s) => s,
                Value::Object(o) => o
                    .values()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" / "),
                other => other.to_string(),
            };
            json!({"label": ctx.t(&format!("facts.{k}")), "value": value})
        })
        .collect()
}

/// What the case page shows besides the case: a notice, a decision form that came back
/// (its input and what was wrong), and the document open in the viewer.
#[derive(Default)]
pub(super) struct Shown<'a> {
    flash: Option<(&'a str, String)>,
    kept: Option<&'a DecisionForm>,
    errors: Map<String, Value>,
    doc: Option<i64>,
}

pub(super) fn case_view(ctx: &Ctx, data: &CaseData, shown: Shown<'_>) -> Value {
    let d = &data.detail;
    let c = &d.claim;
    let case = &d.case;
    let checklist = super::resident::checklist_rows(ctx, d, false);
    let open = case.stage.is_some();
    let holds = |roles: &[Role]| {
        ctx.user
            .as_ref()
            .is_some_and(|u| roles.iter().any(|r| u.has(*r)))
    };
    let controls = ctx.state.defs.controls();
    let supervisor = ctx.user.as_ref().is_some_and(|u| u.has(Role::Supervisor));
    let findings: Vec<Value> = d
        .findings
        .iter()
        .map(|f| {
            let reason_label = |code: &str| {
                controls
                    .override_reason(code)
                    .map_or(code.to_string(), |r| ctx.pick(&r.zh, &r.en).to_string())
            };
            let reasons: Vec<Value> = controls
                .override_reasons
                .iter()
                .filter(|r| r.applies_to(&f.code))
                .map(|r| json!({"code": r.code, "label": ctx.pick(&r.zh, &r.en)}))
                .collect();
            json!({
                "id": f.id,
                "code": f.code,
                "severity": f.severity,
                "text": ctx.pick(&f.message_zh, &f.message_en),
                "evidence": f.evidence,
                // An error nobody overrode stops every paying action (the engine's gate).
                "blocks": f.blocks(),
                "overridden": f.overridden_at.map(|t| ctx.when(t)),
                "override_reason": f.override_reason.as_deref().map(reason_label),
                "override_comment": f.override_comment,
                "can_override": supervisor && f.blocks() && case.stage.is_some(),
                "reasons": reasons,
            })
        })
        .collect();
    let steps = super::resident::breakdown_steps(ctx, d);
    let events: Vec<Value> = data
        .events
        .iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "when": ctx.when(e.at_ms),
                "actor": e.actor_name,
                "role": ctx.role_label(&e.role),
                "action": ctx.action_label(&e.action),
                "from": e.from_stage.as_deref().map(|s| ctx.stage_title_in(&d.case.workflow, s)),
                "to": e.to_stage.as_deref().map(|s| ctx.stage_title_in(&d.case.workflow, s)),
                "comment": e.comment,
            })
        })
        .collect();
    let title = |t: &Option<crate::domain::workflow::Title>| {
        t.as_ref().map(|t| ctx.pick(&t.zh, &t.en).to_string())
    };
    let appeal_reason = d
        .appeal
        .as_ref()
        .filter(|_| d.case.subject_kind == crate::domain::case::SubjectKind::Appeal)
        .map(|a| a.reason.clone());
    // A declared emergency is the reviewers' to judge (it decides the out-of-region ratio).
    let judge_emergency = open
        && holds(&[Role::Reviewer, Role::SeniorReviewer, Role::Supervisor])
        && (c.claim.facts.emergency.is_some() || c.claim.facts.judged_emergency.is_some());
    let decision = DecisionView {
        actions: &case.actions,
        version: case.version,
        kept: shown.kept,
        errors: shown.errors,
        documents: d
            .case
            .checklist
            .iter()
            .filter(|i| i.request_id.is_none())
            .map(|i| ReturnItem {
                kind: i.kind.clone(),
                title: ctx.pick(&i.title_zh, &i.title_en).to_string(),
                lacking: !i.is_present(),
            })
            .collect(),
        emergency_now: judge_emergency.then(|| {
            ctx.t(if c.claim.facts.is_emergency() {
                "case.emergency_yes"
            } else {
                "case.emergency_no"
            })
        }),
    }
    .render(ctx);
    let can_reject_documents = open && holds(&DOCUMENT_REVIEWERS);
    let viewer = shown
        .doc
        .and_then(|id| viewer(ctx, d, id, can_reject_documents));
    let checklist: Vec<Value> = checklist
        .into_iter()
        .map(|mut row| {
            if let Some(id) = row["document_id"].as_i64() {
                row["view"] = json!(format!("/cases/{}?doc={id}#viewer", case.id));
                row["viewing"] = json!(shown.doc == Some(id));
            }
            row
        })
        .collect();
    let mut view = json!({
        "appeal_reason": appeal_reason,
        "case_id": case.id,
        "claim_id": c.id,
        "version": case.version,
        "family": ctx.pick(&case.workflow_title.zh, &case.workflow_title.en),
        "stage_title": title(&case.stage_title),
        "outcome_title": title(&case.outcome_title),
        "sla": case.sla,
        "sla_label": case.sla.as_ref().map(|s| ctx.t(&format!("queue.{s}"))),
        "due": case.due_at.map(|d| ctx.due(d)),
        "encounter": ctx.t(&format!("new_claim.encounter_{}", c.claim.encounter_kind)),
        "decided": c.decided_fen.map(yuan),
        "family_facts": family_facts(ctx, &c.claim.facts),
        "checklist": checklist,
        "findings": findings,
        "risk_score": case.risk_score.filter(|r| *r > 0),
        "steps": steps,
        "events": events,
        "decision": decision,
        "viewer": viewer,
        "flash": shown.flash.map(|(kind, text)| json!({"kind": kind, "text": text})),
        "chain_ok": crate::domain::audit::verify_chain(&data.events).is_ok(),
        "upload_action": format!("/cases/{}/documents", case.id),
        "claimant": data.claimant.as_ref().map(|p| json!({
            "name": p.name,
            "id_number": crate::domain::person::IdNumber::parse(&p.id_number).map(|n| n.masked()).unwrap_or_default(),
        })),
        "can_add_documents": open && holds(&[Role::Clerk, Role::Reviewer, Role::SeniorReviewer]),
        "can_reject_documents": can_reject_documents,
        "doc_error": null,
        "facility_files": data.facility_files.iter().map(|f| json!({
            "id": f.id,
            "name": f.filename,
            "stage": ctx.stage_title_in(&d.case.workflow, &f.purpose),
            "when": ctx.when(f.uploaded_at),
        })).collect::<Vec<_>>(),
    });
    super::resident::extend(&mut view, super::resident::claim_fields(c));
    view
}

/// The document open beside the case: an image shown, a PDF framed, the other documents
/// a click away, and its rejection with a reason while the case is open.
fn viewer(ctx: &Ctx, d: &ClaimDetail, doc_id: i64, can_reject: bool) -> Option<Value> {
    let at = d.documents.iter().position(|doc| doc.id == doc_id)?;
    let doc = &d.documents[at];
    let title = document_kind(&doc.kind)
        .map(|k| ctx.pick(k.zh, k.en).to_string())
        .unwrap_or_else(|| doc.kind.clone());
    let href = |i: usize| {
        d.documents
            .get(i)
            .map(|o| format!("/cases/{}?doc={}#viewer", d.case.id, o.id))
    };
    Some(json!({
        "id": doc.id,
        "title": title,
        "filename": doc.filename,
        "src": format!("/cases/{}/documents/{}", d.case.id, doc.id),
        "image": doc.content_type.starts_with("image/"),
        "status": ctx.t(&format!("documents.{}", if doc.status == "rejected" { "rejected" } else { "present" })),
        "rejected": doc.status == "rejected",
        "reason": doc.reject_reason,
        "can_reject": can_reject && doc.status != "rejected",
        "position": format!("{} / {}", at + 1, d.documents.len()),
        "previous": at.checked_sub(1).and_then(href),
        "next": href(at + 1),
        "close": format!("/cases/{}#docs-h", d.case.id),
    }))
}

/// Who may reject a document on a case's page (the service checks the same).
pub(super) const DOCUMENT_REVIEWERS: [Role; 4] = [
    Role::Clerk,
    Role::Reviewer,
    Role::SeniorReviewer,
    Role::Supervisor,
];

pub(super) fn render(
    ctx: &Ctx,
    data: &CaseData,
    view: Value,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let title = format!("{} #{}", ctx.t("case.title"), data.detail.case.id);
    ctx.page_titled("case", title, view, status)
}

#[derive(Deserialize)]
pub struct CaseQuery {
    #[serde(default)]
    done: String,
    /// The document to open in the viewer.
    #[serde(default)]
    doc: Option<i64>,
}

#[get("/cases/{id}")]
pub async fn case_page(
    ctx: Ctx,
    id: web::Path<i64>,
    q: web::Query<CaseQuery>,
) -> Result<HttpResponse, PageError> {
    let data = load_case(&ctx, id.into_inner()).await?;
    let shown = Shown {
        flash: (!q.done.is_empty()).then(|| ("ok", ctx.t("case.done"))),
        doc: q.doc,
        ..Shown::default()
    };
    let view = case_view(&ctx, &data, shown);
    render(&ctx, &data, view, StatusCode::OK)
}

/// The user's decision on a case (the claim case page, a violation, a report): one action
/// from the one form. A destructive action is shown back for confirmation first; "back"
/// from there returns to the form with the input kept. A stale version (someone acted first)
/// reloads the page with the case as it is now and says so; what the user can fix is said
/// beside its field, with the input kept.
#[post("/cases/{id}/act")]
pub async fn act(
    ctx: Ctx,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&Role::STAFF)?;
    let form = DecisionForm::parse(&body).map_err(|e| ctx.fail(e))?;
    ctx.check_csrf(&form.csrf)?;
    let case_id = id.into_inner();
    if form.back {
        return again(&ctx, case_id, &form, Map::new(), None, StatusCode::OK).await;
    }
    let chosen = {
        let (user, name) = (user.clone(), form.action.clone());
        ctx.db(move |conn, env| {
            let case = crate::service::scope::case(conn, &user, case_id)?;
            let actions = cases::available_actions(conn, env.defs, &user, &case)?;
            Ok(actions.into_iter().find(|a| a.name == name))
        })
        .await?
    };
    if form.action.trim().is_empty() {
        let mut errors = Map::new();
        errors.insert(
            "action".into(),
            json!(crate::messages::render(
                &Msg::new("field-choose-action"),
                ctx.lang
            )),
        );
        return again(
            &ctx,
            case_id,
            &form,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // An action the form does not offer goes on to the service, which says why not.
    if let Some(action) = chosen
        .as_ref()
        .filter(|a| a.needs.confirm && !form.confirmed)
    {
        let view = json!({
            "case_id": case_id,
            "confirm": decision::confirmation(&ctx, action, &form),
        });
        let title = format!("{} #{case_id}", ctx.t("case.confirm_title"));
        return ctx.page_titled("case_confirm", title, view, StatusCode::OK);
    }
    let needs = chosen.map(|a| a.needs).unwrap_or_default();
    // A mistyped amount or judgement is the user's to fix: said on the page, not an error page.
    let amount_fen = match blank(&form.amount).filter(|_| needs.amount) {
        Some(text) => yuan_to_fen(&text).map(Some).map_err(|_| {
            AppError::field(
                "amount_fen",
                Msg::new("field-yuan").text("value", text.as_str()),
            )
        }),
        None => Ok(None),
    };
    let judged_emergency = match form.judged_emergency.trim() {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        other => Err(AppError::field(
            "judged_emergency",
            Msg::new("field-one-of")
                .text("allowed", "true, false")
                .text("value", other),
        )),
    };
    let done = match (amount_fen, judged_emergency) {
        (Ok(amount_fen), Ok(judged_emergency)) => {
            let form = form.clone();
            crate::http::db(&ctx.state, move |conn, env| {
                // Only what the chosen action takes travels with it.
                let reason_code = blank(&form.reason_code).filter(|_| needs.reason_code);
                let (missing, extras) = if needs.documents {
                    (form.missing.clone(), form.extras())
                } else {
                    (Vec::new(), Vec::new())
                };
                let req = ActionRequest {
                    case_id,
                    action: &form.action,
                    comment: form.comment.trim(),
                    expected_version: form.expected_version,
                    now_ms: crate::store::now_ms(),
                    amount_fen,
                    reason_code: reason_code.as_deref(),
                    missing_documents: &missing,
                    extra_documents: &extras,
                    judged_emergency,
                };
                cases::act(conn, env, &user, &req)
            })
            .await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let mut errors = Map::new();
    let (status, flash) = match done {
        Ok(case) => {
            return Ok(see_other(&match case.subject() {
                Subject::Violation(id) => format!("/violations/{id}?done=true"),
                Subject::Report(id) => format!("/reports/{id}?done=true"),
                _ => format!("/cases/{case_id}?done=1"),
            }))
        }
        Err(
            e @ (AppError::Conflict(_)
            | AppError::Refused(crate::domain::workflow::Refusal::Closed)),
        ) => {
            tracing::info!(case_id, error = %e, "stale action from a case page");
            // The page as it is now: the input typed for the old version does not carry over.
            let flash = ("warn", ctx.t("errors.stale"));
            return again(
                &ctx,
                case_id,
                &DecisionForm::default(),
                errors,
                Some(flash),
                StatusCode::CONFLICT,
            )
            .await;
        }
        Err(AppError::Rule(rule)) if rule.fields.is_empty() => {
            errors.insert("form".into(), json!(ctx.pick(&rule.zh, &rule.en)));
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                ("error", ctx.t("case.refused")),
            )
        }
        Err(AppError::Refused(refusal)) => {
            errors.insert(
                "form".into(),
                json!(crate::messages::render(&refusal.msg(), ctx.lang)),
            );
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                ("error", ctx.t("case.refused")),
            )
        }
        Err(e) => {
            errors = ctx.form_errors(e, decision::form_field)?;
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                ("error", ctx.t("case.refused")),
            )
        }
    };
    again(&ctx, case_id, &form, errors, Some(flash), status).await
}

/// Back to the page the decision came from, as the case is now, with the form's input and
/// what was wrong with it.
async fn again(
    ctx: &Ctx,
    case_id: i64,
    form: &DecisionForm,
    errors: Map<String, Value>,
    flash: Option<(&str, String)>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let subject = ctx
        .db(move |conn, _| crate::service::scope::load(conn, case_id).map(|c| c.subject()))
        .await?;
    // The supervision pages show a refusal as their notice, the rest beside the fields.
    let notice = errors
        .get("form")
        .and_then(Value::as_str)
        .map(|text| ("error", text.to_string()))
        .or(flash.clone());
    match subject {
        Subject::Report(report_id) => {
            let decision = Some((form, errors));
            super::report_desk::report_page(
                ctx,
                report_id,
                Map::new(),
                "",
                decision,
                status,
                notice,
            )
            .await
        }
        Subject::Violation(violation_id) => {
            let kept = super::violations::Kept {
                decision: Some((form, errors)),
                ..Default::default()
            };
            super::violations::violation_page(ctx, violation_id, kept, Map::new(), status, notice)
                .await
        }
        _ => {
            let data = load_case(ctx, case_id).await?;
            let shown = Shown {
                flash,
                kept: Some(form),
                errors,
                doc: None,
            };
            let view = case_view(ctx, &data, shown);
            render(ctx, &data, view, status)
        }
    }
}

#[derive(Deserialize)]
pub struct OverrideForm {
    #[serde(default)]
    reason_code: String,
    #[serde(default)]
    comment: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// A supervisor at sign-off overrides a blocking finding with a coded reason and a comment
/// (the same use case as the API). A refusal is shown on the case page in the reader's
/// language.
#[post("/cases/{id}/findings/{finding_id}/override")]
pub async fn override_finding(
    ctx: Ctx,
    path: web::Path<(i64, i64)>,
    form: web::Form<OverrideForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Supervisor])?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let (case_id, finding_id) = path.into_inner();
    let done = crate::http::db(&ctx.state, move |conn, env| {
        let req = crate::service::findings::OverrideRequest {
            case_id,
            finding_id,
            reason_code: form.reason_code.trim(),
            comment: &form.comment,
            now_ms: crate::store::now_ms(),
        };
        crate::service::findings::override_finding(conn, env.defs, &user, &req)
    })
    .await;
    let refusal = match done {
        Ok(_) => return Ok(see_other(&format!("/cases/{case_id}?done=1#findings"))),
        Err(AppError::Rule(rule)) => ctx.pick(&rule.zh, &rule.en).to_string(),
        Err(e @ (AppError::Validation(_) | AppError::Forbidden(_) | AppError::Conflict(_))) => {
            format!("{}{}", ctx.t("errors.field_prefix"), e.text(ctx.lang))
        }
        Err(e) => return Err(ctx.fail(e)),
    };
    let data = load_case(&ctx, case_id).await?;
    let shown = Shown {
        flash: Some(("error", refusal)),
        ..Shown::default()
    };
    let view = case_view(&ctx, &data, shown);
    render(&ctx, &data, view, StatusCode::UNPROCESSABLE_ENTITY)
}
