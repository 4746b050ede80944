//! The public whistleblower pages: report without signing in, and follow the report with the
//! tracking code shown once. The form's CSRF token is bound to a nonce cookie, as on the
//! sign-in page, since there is no session (`Ctx::public_page`).
use super::ctx::{Ctx, PageError};
use super::yuan;
use crate::error::AppError;
use crate::service::reports::{self as svc, ReportInput};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Deserialize, Serialize, Default)]
pub struct ReportForm {
    #[serde(default)]
    facility_code: String,
    #[serde(default)]
    person_id_number: String,
    #[serde(default)]
    claim_id: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    contact: String,
    #[serde(default, rename = "_csrf", skip_serializing)]
    csrf: String,
}

fn report_form(
    ctx: &Ctx,
    form: &ReportForm,
    errors: Map<String, Value>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let has_errors = !errors.is_empty();
    let errors = super::field_errors_for(
        errors,
        &[
            "facility_code",
            "person_id_number",
            "claim_id",
            "description",
            "contact",
        ],
    );
    let view = json!({"form": form, "errors": errors, "has_errors": has_errors});
    ctx.public_page("report", ctx.t("report.title"), view, status)
}

#[get("/report")]
pub async fn report_page(ctx: Ctx) -> Result<HttpResponse, PageError> {
    report_form(&ctx, &ReportForm::default(), Map::new(), StatusCode::OK)
}

#[post("/report")]
pub async fn submit_report(
    ctx: Ctx,
    req: HttpRequest,
    form: web::Form<ReportForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    ctx.check_public_csrf(&req, &form.csrf)?;
    let blank = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    // A claim number is digits; anything else is said so beside the field.
    let claim_id = match blank(&form.claim_id).map(|c| c.parse::<i64>()) {
        Some(Ok(id)) if id > 0 => Some(id),
        Some(_) => {
            let mut errors = Map::new();
            errors.insert("claim_id".into(), ctx.t("report.err_claim_id").into());
            return report_form(&ctx, &form, errors, StatusCode::UNPROCESSABLE_ENTITY);
        }
        None => None,
    };
    let input = ReportInput {
        facility_code: blank(&form.facility_code),
        person_id_number: blank(&form.person_id_number),
        claim_id,
        description: form.description.trim().to_string(),
        contact: blank(&form.contact),
    };
    let addr = crate::http::client_addr(&req);
    let limit = ctx.state.config.report_limit_per_hour;
    let done = crate::http::db(&ctx.state, move |conn, env| {
        svc::submit(conn, env.defs, &input, &addr, limit, crate::store::now_ms())
    })
    .await;
    match done {
        Ok(done) => ctx.public_page(
            "report_done",
            ctx.t("report.done_title"),
            json!({"code": done.tracking_code, "report_id": done.report_id}),
            StatusCode::CREATED,
        ),
        Err(AppError::Validation(fields)) => {
            let errors = ctx.field_messages_in(fields, str::to_string, Some("report"));
            report_form(&ctx, &form, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

#[derive(Deserialize)]
pub struct TrackForm {
    #[serde(default)]
    code: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// The tracking form. The code is the reporter's credential, so it is sent by POST and never
/// appears in an address, a log line or the browser's history.
#[get("/report/track")]
pub async fn track(ctx: Ctx) -> Result<HttpResponse, PageError> {
    let view = json!({"code": "", "found": false, "unknown": false});
    ctx.public_page(
        "report_track",
        ctx.t("report.track_title"),
        view,
        StatusCode::OK,
    )
}

/// Follows a report by its code: its status in plain words.
#[post("/report/track")]
pub async fn track_post(
    ctx: Ctx,
    req: HttpRequest,
    form: web::Form<TrackForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    ctx.check_public_csrf(&req, &form.csrf)?;
    track_page(&ctx, form.code.trim().to_string(), None).await
}

/// The report's status by its code, with the attachment form while it is open; `notice` is
/// what the last attachment did (added, or why not), in the page's language.
async fn track_page(
    ctx: &Ctx,
    code: String,
    notice: Option<(&str, String)>,
) -> Result<HttpResponse, PageError> {
    let lookup = code.clone();
    let found = match crate::http::db(&ctx.state, move |conn, _| svc::track(conn, &lookup)).await {
        Ok(s) => Some(s),
        Err(AppError::NotFound(_)) => None,
        Err(e) => return Err(ctx.fail(e)),
    };
    let notice = notice.map(|(kind, text)| json!({"kind": kind, "text": text}));
    let (view, status) = match &found {
        Some(s) => (
            json!({
                "code": code,
                "found": true,
                "unknown": false,
                "submitted": ctx.when(s.submitted_at),
                "status": ctx.pick(&s.status_zh, &s.status_en),
                "attachments": s.attachments,
                "can_attach": s.status == "received" || s.status == "investigating",
                "max_attachments": svc::MAX_ATTACHMENTS,
                "notice": notice,
                "reward": s.reward_fen.map(yuan),
                "reward_paid": yuan(s.reward_paid_fen),
            }),
            StatusCode::OK,
        ),
        None => (
            json!({"code": code, "found": false, "unknown": true}),
            StatusCode::NOT_FOUND,
        ),
    };
    ctx.public_page("report_track", ctx.t("report.track_title"), view, status)
}

/// A reporter's file (PDF, JPEG or PNG, checked by content; at most `MAX_ATTACHMENTS`),
/// sent with the tracking code in the body.
#[post("/report/attachments")]
pub async fn attach(
    ctx: Ctx,
    req: HttpRequest,
    form: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    let limit = ctx.state.config.upload_max_bytes;
    let read = match crate::http::upload::refuse_declared_oversize(&req, limit) {
        Ok(()) => crate::http::upload::read_upload(form, limit).await,
        Err(e) => Err(e),
    };
    let up = match read {
        Ok(up) => up,
        // Too large, or not a file: said on the page, which needs the code, which is gone.
        Err(e) => return Err(ctx.fail(e)),
    };
    ctx.check_public_csrf(&req, up.csrf.as_deref().unwrap_or_default())?;
    let code = up.code.clone().unwrap_or_default().trim().to_string();
    let (lookup, data_dir) = (code.clone(), ctx.state.config.data_dir.clone());
    let done = crate::http::db(&ctx.state, move |conn, _| {
        svc::attach(
            conn,
            &data_dir,
            &lookup,
            &up.filename,
            &up.bytes,
            crate::store::now_ms(),
        )
    })
    .await;
    let notice = match done {
        Ok(_) => ("ok", ctx.t("report.attached")),
        Err(AppError::NotFound(_)) => return track_page(&ctx, code, None).await,
        Err(AppError::UnsupportedMedia(_)) => ("error", ctx.t("report.err_file_type")),
        Err(AppError::Conflict(_)) => ("error", ctx.t("report.err_closed")),
        Err(AppError::Validation(_)) => (
            "error",
            ctx.t("report.err_file_count")
                .replace("{n}", &svc::MAX_ATTACHMENTS.to_string()),
        ),
        Err(e) => return Err(ctx.fail(e)),
    };
    track_page(&ctx, code, Some(notice)).await
}
