//! The designated facility's own pages: its dashboard (designation, open tasks with their
//! deadlines, screening hits per rule beside its peers, money owed), one case as the facility
//! may see it with the facility's action, its files and (in a hospital's first review) the
//! invoice correction, and the facility administrator's staff page. Everything goes through
//! `service::facility`, which starts from the user's facility codes.
use super::ctx::{see_other, Ctx, PageError};
use super::{svg, yuan, yuan_to_fen};
use crate::domain::roles::Role;
use crate::error::{AppError, Msg};
use crate::http::upload::read_limited;
use crate::service::cases::ActionRequest;
use crate::service::facility::{self as svc, FacilityCaseView, TaskItem};
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const FACILITY_ROLES: &[Role] = &Role::FACILITY;

fn task_row(ctx: &Ctx, t: &TaskItem, now: i64) -> Value {
    json!({
        "case_id": t.case_id,
        "what": ctx.t(&format!("facility.subject_{}", t.subject_kind)),
        "number": t.subject_id,
        "facility": t.facility_code,
        "stage": ctx.pick(&t.stage_title.zh, &t.stage_title.en),
        "opened": ctx.when(t.opened_at),
        "due": t.due_at.map(|d| ctx.due(d)),
        "overdue": t.due_at.is_some_and(|d| d <= now),
        "closed": t.closed_at.map(|c| ctx.when(c)),
        "closed_how": t.closed_title.as_ref().map(|x| ctx.pick(&x.zh, &x.en).to_string()),
    })
}

#[get("/facility")]
pub async fn home(ctx: Ctx) -> Result<HttpResponse, PageError> {
    let user = ctx.require(FACILITY_ROLES)?;
    let admin = user.has(Role::FacilityAdmin);
    let now = crate::store::now_ms();
    let today = ctx.state.defs.calendar().local_date(now);
    let (board, tasks) = ctx
        .db(move |conn, env| {
            let board = svc::dashboard(conn, env.defs, &user, today)?;
            let tasks = svc::list(conn, env.defs, &user)?;
            Ok((board, tasks))
        })
        .await?;
    let rules = ctx.state.defs.screening();
    let facilities: Vec<Value> = board
        .facilities
        .iter()
        .map(|f| {
            let names: Vec<String> = f
                .rates
                .iter()
                .map(|r| {
                    crate::domain::screening::RuleCode::parse(&r.rule)
                        .and_then(|c| rules.info(c))
                        .map_or_else(|| r.rule.clone(), |i| ctx.pick(&i.zh, &i.en).to_string())
                })
                .collect();
            let numbers: Vec<String> = (1..=f.rates.len()).map(|n| n.to_string()).collect();
            let to_f64 = |d: rust_decimal::Decimal| d.to_string().parse::<f64>().unwrap_or(0.0);
            let chart = (!f.rates.is_empty()).then(|| {
                svg::bar_chart(
                    &ctx.t("facility.rates_chart"),
                    &numbers,
                    &[
                        svg::Series { name: &ctx.t("facility.own_rate"), class: "s5" },
                        svg::Series { name: &ctx.t("facility.peer_median"), class: "s2" },
                    ],
                    &[
                        f.rates.iter().map(|r| to_f64(r.per_100)).collect(),
                        f.rates.iter().map(|r| to_f64(r.peer_median_per_100)).collect(),
                    ],
                )
            });
            json!({
                "code": f.facility.code,
                "name": f.facility.name,
                "level": ctx.t(&format!("facility.level_{}", f.facility.level)),
                "status": f.status.as_deref().map(|s| json!({"code": s, "label": ctx.t(&format!("facility.status_{s}"))})),
                "history": f.history.iter().map(|h| json!({
                    "status": ctx.t(&format!("facility.status_{}", h.status)),
                    "from": h.effective_from,
                    "reason": h.reason,
                })).collect::<Vec<_>>(),
                "claims": f.claims,
                "rates": f.rates.iter().zip(&names).enumerate().map(|(i, (r, name))| json!({
                    "n": i + 1,
                    "rule": name,
                    "hits": r.hits,
                    "own": r.per_100.to_string(),
                    "median": r.peer_median_per_100.to_string(),
                    "above": r.per_100 > r.peer_median_per_100,
                    "peers": r.peers,
                })).collect::<Vec<_>>(),
                "chart": chart,
                "owed": yuan(f.owed_fen),
                "paid": yuan(f.paid_fen),
                "owes": f.owed_fen > 0,
            })
        })
        .collect();
    let open: Vec<Value> = board.open.iter().map(|t| task_row(&ctx, t, now)).collect();
    let closed: Vec<Value> = tasks
        .iter()
        .filter(|t| t.closed_at.is_some())
        .take(50)
        .map(|t| task_row(&ctx, t, now))
        .collect();
    let view = json!({
        "facilities": facilities,
        "open": open,
        "closed": closed,
        "since": board.since,
        "is_admin": admin,
    });
    ctx.page("facility_home", "facility.title", view)
}

/// What the case page keeps when a form on it comes back.
#[derive(Default)]
struct Kept {
    comment: String,
    total: String,
    policy_scope: String,
    self_paid: String,
    errors: Map<String, Value>,
    flash: Option<(&'static str, String)>,
}

async fn case_page(
    ctx: &Ctx,
    case_id: i64,
    kept: Kept,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(FACILITY_ROLES)?;
    let now = crate::store::now_ms();
    let view: FacilityCaseView = ctx
        .db(move |conn, env| svc::case_view(conn, env.defs, &user, case_id, now))
        .await?;
    let title = |t: &crate::domain::workflow::Title| ctx.pick(&t.zh, &t.en).to_string();
    let stage_of = |s: &Option<String>| {
        s.as_deref()
            .map(|id| ctx.stage_title_in(&view.workflow, id))
    };
    let file_href = |id: i64| format!("/api/facility/cases/{case_id}/files/{id}");
    let files: Vec<Value> = view
        .files
        .iter()
        .map(|f| json!({"href": file_href(f.id), "name": f.filename, "stage": ctx.stage_title_in(&view.workflow, &f.purpose), "when": ctx.when(f.uploaded_at)}))
        .collect();
    let violation = view.violation.as_ref().map(|v| {
        let a = &v.allowed;
        json!({
            "id": v.violation_id,
            "type": title(&v.type_title),
            "article": v.article,
            "article_title": v.article_title.as_ref().map(title),
            "description": v.description,
            "department": v.department,
            "amount": yuan(v.amount_fen),
            "repay": yuan(a.repay_fen),
            "fine_range": format!("{} – {}", yuan(a.fine_min_fen), yuan(a.fine_max_fen)),
            "suspension": (a.suspension_max_months > 0).then(|| format!("{}–{} {}", a.suspension_min_months, a.suspension_max_months, ctx.t("violation.months"))),
            "may_terminate": a.may_terminate,
            "evidence": v.evidence.iter().map(|e| json!({"href": file_href(e.id), "name": e.filename, "when": ctx.when(e.uploaded_at)})).collect::<Vec<_>>(),
            "sanctioned": v.fine_fen.is_some(),
            "fine": v.fine_fen.map(yuan),
            "suspended": v.suspension_months.filter(|m| *m > 0).map(|m| format!("{m} {} ({} – {})", ctx.t("violation.months"),
                v.suspended_from.clone().unwrap_or_default(), v.suspended_until.clone().unwrap_or_default())),
            "terminated": v.terminated == Some(true),
            "rectification_due": v.rectification_due,
            "money": v.recoveries.iter().map(|r| json!({
                "kind": ctx.t(&format!("recovery.kind_{}", r.kind)),
                "ordered": yuan(r.amount_fen),
                "paid": yuan(r.paid_fen),
                "written_off": yuan(r.written_off_fen),
                "owed": yuan(r.outstanding_fen()),
            })).collect::<Vec<_>>(),
            "outstanding": yuan(v.outstanding_fen),
        })
    });
    let reviewing =
        view.open_stage.is_some() && view.actions.iter().any(|a| a.name == "confirm_invoice");
    let claim = view.claim.as_ref().map(|c| {
        json!({
            "id": c.claim_id,
            "patient": c.patient_name,
            "id_number": c.patient_id_number,
            "family": ctx.state.defs.latest(&c.family).map(|w| title(&w.title)).unwrap_or_else(|| c.family.clone()),
            "encounter": ctx.t(&format!("new_claim.encounter_{}", c.encounter_kind)),
            "admission": c.admission_date,
            "discharge": c.discharge_date,
            "diagnosis": c.diagnosis_code,
            "invoices": c.invoice_numbers.join(", "),
            "total": yuan(c.total_fen),
            "policy_scope": yuan(c.policy_scope_fen),
            "self_paid": yuan(c.self_paid_fen),
            "rules": c.rules.iter().map(title).collect::<Vec<_>>(),
        })
    });
    let plain = |fen: i64| yuan(fen).replace(',', "");
    let (total, scope, paid) = match (&view.claim, reviewing) {
        (Some(c), true) if kept.total.is_empty() => (
            plain(c.total_fen),
            plain(c.policy_scope_fen),
            plain(c.self_paid_fen),
        ),
        _ => (
            kept.total.clone(),
            kept.policy_scope.clone(),
            kept.self_paid.clone(),
        ),
    };
    let steps: Vec<Value> = view
        .steps
        .iter()
        .map(|s| {
            json!({
                "when": ctx.when(s.at_ms),
                "action": ctx.action_label(&s.action),
                "role": ctx.role_label(&s.role),
                "to": stage_of(&s.to_stage),
                "comment": s.comment,
            })
        })
        .collect();
    let actions: Vec<Value> = view
        .actions
        .iter()
        .filter(|a| a.name != "confirm_invoice")
        .map(|a| json!({"name": a.name, "title": ctx.pick(&a.title_zh, &a.title_en), "comment_required": a.comment_required}))
        .collect();
    let page = json!({
        "case_id": view.case_id,
        "version": view.version,
        "facility": view.facility_code,
        "workflow": title(&view.workflow_title),
        "stage": view.stage_title.as_ref().map(title),
        "outcome": view.outcome_title.as_ref().map(title),
        "open": view.open_stage.is_some() && !view.actions.is_empty(),
        "open_stage": stage_of(&view.open_stage),
        "due": view.due_at.map(|d| ctx.due(d)),
        "actions": actions,
        "reviewing": reviewing,
        "files": files,
        "violation": violation,
        "claim": claim,
        "steps": steps,
        "comment": kept.comment,
        "total": total,
        "policy_scope": scope,
        "self_paid": paid,
        "errors": super::field_errors_for(kept.errors, &["comment", "action", "file", "total", "policy_scope", "self_paid", "form"]),
        "flash": kept.flash.map(|(kind, text)| json!({"kind": kind, "text": text})),
    });
    let heading = format!("{} #{}", ctx.t("facility.case"), view.case_id);
    ctx.page_titled("facility_case", heading, page, status)
}

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: bool,
}

#[get("/facility/cases/{id}")]
pub async fn case(
    ctx: Ctx,
    id: web::Path<i64>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let kept = Kept {
        flash: q.done.then(|| ("ok", ctx.t("case.done"))),
        ..Kept::default()
    };
    case_page(&ctx, id.into_inner(), kept, StatusCode::OK).await
}

/// What the user can fix goes beside its field (or above the forms); the rest is an error page.
async fn refused(
    ctx: &Ctx,
    case_id: i64,
    mut kept: Kept,
    err: AppError,
) -> Result<HttpResponse, PageError> {
    let status = actix_web::ResponseError::status_code(&err);
    let errors = match err {
        AppError::Rule(rule) if rule.fields.is_empty() => {
            let mut m = Map::new();
            m.insert("form".into(), json!(ctx.pick(&rule.zh, &rule.en)));
            m
        }
        AppError::Refused(refusal) => {
            let mut m = Map::new();
            m.insert(
                "form".into(),
                json!(crate::messages::render(&refusal.msg(), ctx.lang)),
            );
            m
        }
        e @ (AppError::UnsupportedMedia(_) | AppError::PayloadTooLarge(_)) => {
            let mut m = Map::new();
            m.insert("file".into(), json!(e.text(ctx.lang)));
            m
        }
        AppError::Conflict(_) => {
            kept.flash = Some(("warn", ctx.t("errors.stale")));
            Map::new()
        }
        other => ctx.form_errors(other, |f| match f {
            "total_fen" => "total".into(),
            "policy_scope_fen" => "policy_scope".into(),
            "self_paid_fen" => "self_paid".into(),
            f => f.to_string(),
        })?,
    };
    kept.errors = errors;
    if kept.flash.is_none() {
        kept.flash = Some(("error", ctx.t("case.refused")));
    }
    case_page(ctx, case_id, kept, status).await
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    expected_version: i64,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// The facility's action in its stage (its statement, rectification report, appeal, or its
/// confirmation of a claim's invoice).
#[post("/facility/cases/{id}/act")]
pub async fn act(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<ActForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(FACILITY_ROLES)?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let case_id = id.into_inner();
    let (action, comment, version) = (
        form.action.clone(),
        form.comment.clone(),
        form.expected_version,
    );
    let done = crate::http::db(&ctx.state, move |conn, env| {
        let req = ActionRequest::simple(
            case_id,
            &action,
            comment.trim(),
            version,
            crate::store::now_ms(),
        );
        svc::act(conn, env, &user, &req)
    })
    .await;
    match done {
        Ok(_) => Ok(see_other(&format!("/facility/cases/{case_id}?done=true"))),
        Err(e) => {
            let kept = Kept {
                comment: form.comment,
                ..Kept::default()
            };
            refused(&ctx, case_id, kept, e).await
        }
    }
}

/// A file for the stage the facility stands in.
#[post("/facility/cases/{id}/files")]
pub async fn upload(
    ctx: Ctx,
    id: web::Path<i64>,
    req: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(FACILITY_ROLES)?;
    let case_id = id.into_inner();
    let up = match read_limited(&req, form, ctx.state.config.upload_max_bytes).await {
        Ok(up) => up,
        Err(e) => return refused(&ctx, case_id, Kept::default(), e).await,
    };
    ctx.check_csrf(up.csrf.as_deref().unwrap_or_default())?;
    let data_dir = ctx.state.config.data_dir.clone();
    let done = crate::http::db(&ctx.state, move |conn, _| {
        svc::attach(
            conn,
            &data_dir,
            &user,
            case_id,
            &up.filename,
            &up.bytes,
            crate::store::now_ms(),
        )
    })
    .await;
    match done {
        Ok(_) => Ok(see_other(&format!(
            "/facility/cases/{case_id}?done=true#files"
        ))),
        Err(e) => refused(&ctx, case_id, Kept::default(), e).await,
    }
}

#[derive(Deserialize)]
pub struct InvoiceForm {
    #[serde(default)]
    total: String,
    #[serde(default)]
    policy_scope: String,
    #[serde(default)]
    self_paid: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    expected_version: i64,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// The hospital's correction of a claim's amounts, typed in yuan.
#[post("/facility/cases/{id}/invoice")]
pub async fn correct_invoice(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<InvoiceForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(FACILITY_ROLES)?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let case_id = id.into_inner();
    let mut bad = Vec::new();
    let mut amount = |field: &str, text: &str| {
        yuan_to_fen(text).unwrap_or_else(|_| {
            bad.push(crate::error::FieldError::new(
                field,
                Msg::new("field-yuan").text("value", text.trim()),
            ));
            0
        })
    };
    let amounts = crate::domain::claim::InvoiceAmounts {
        total_fen: amount("total", &form.total),
        policy_scope_fen: amount("policy_scope", &form.policy_scope),
        self_paid_fen: amount("self_paid", &form.self_paid),
    };
    let kept = Kept {
        comment: form.comment.clone(),
        total: form.total.clone(),
        policy_scope: form.policy_scope.clone(),
        self_paid: form.self_paid.clone(),
        ..Kept::default()
    };
    if !bad.is_empty() {
        return refused(&ctx, case_id, kept, AppError::Validation(bad)).await;
    }
    let (comment, version) = (form.comment.clone(), form.expected_version);
    let done = crate::http::db(&ctx.state, move |conn, env| {
        let c = svc::Correction {
            case_id,
            amounts,
            comment: comment.trim(),
            expected_version: version,
        };
        svc::correct_invoice(conn, env, &user, &c, crate::store::now_ms())
    })
    .await;
    match done {
        Ok(_) => Ok(see_other(&format!("/facility/cases/{case_id}?done=true"))),
        Err(e) => refused(&ctx, case_id, kept, e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct StaffForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    email: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

async fn staff_page(
    ctx: &Ctx,
    form: &StaffForm,
    errors: Map<String, Value>,
    status: StatusCode,
    flash: Option<(&str, String)>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::FacilityAdmin])?;
    let members = ctx.db(move |conn, _| svc::staff_of(conn, &user)).await?;
    let members: Vec<Value> = members
        .iter()
        .map(|(u, roles)| json!({
            "username": u.username,
            "name": u.display_name,
            "roles": roles.iter().map(|r| ctx.role_label(r.as_str())).collect::<Vec<_>>().join("、"),
            "state": ctx.t(if u.disabled_at.is_some() { "account.disabled" } else { "account.active" }),
        }))
        .collect();
    let view = json!({
        "members": members,
        "limit": ctx.state.config.facility_staff_limit,
        "form": {"username": form.username, "display_name": form.display_name, "email": form.email},
        "errors": super::field_errors_for(errors, &["username", "display_name", "password", "email", "form"]),
        "flash": flash.map(|(kind, text)| json!({"kind": kind, "text": text})),
    });
    let title = ctx.t("facility.staff");
    ctx.page_titled("facility_staff", title, view, status)
}

#[get("/facility/staff")]
pub async fn staff(ctx: Ctx, q: web::Query<DoneQuery>) -> Result<HttpResponse, PageError> {
    let flash = q.done.then(|| ("ok", ctx.t("facility.staff_added")));
    staff_page(
        &ctx,
        &StaffForm::default(),
        Map::new(),
        StatusCode::OK,
        flash,
    )
    .await
}

#[post("/facility/staff")]
pub async fn add_staff(ctx: Ctx, form: web::Form<StaffForm>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::FacilityAdmin])?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let limit = ctx.state.config.facility_staff_limit;
    let (username, display_name, password, email) = (
        form.username.clone(),
        form.display_name.clone(),
        form.password.clone(),
        form.email.clone(),
    );
    let done = crate::http::db(&ctx.state, move |conn, _| {
        let email = Some(email.trim()).filter(|e| !e.is_empty());
        let member = svc::NewStaff {
            username: &username,
            display_name: &display_name,
            password: &password,
            email,
        };
        svc::add_staff(conn, &user, &member, limit, crate::store::now_ms())
    })
    .await;
    match done {
        Ok(_) => Ok(see_other("/facility/staff?done=true")),
        Err(AppError::Rule(rule)) if rule.fields.is_empty() => {
            let mut errors = Map::new();
            errors.insert("form".into(), json!(ctx.pick(&rule.zh, &rule.en)));
            staff_page(&ctx, &form, errors, StatusCode::CONFLICT, None).await
        }
        Err(e) => {
            let errors = ctx.form_errors(e, str::to_string)?;
            staff_page(&ctx, &form, errors, StatusCode::UNPROCESSABLE_ENTITY, None).await
        }
    }
}
