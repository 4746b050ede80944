//! Whistleblower reports over HTTP: the public form and tracking (no login), and the staff
//! view, links to violations and reward payments.
use super::supervision::PaymentBody;
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::http::auth::AuthUser;
use crate::http::upload::{read_upload, refuse_declared_oversize};
use crate::http::{db, State};
use crate::service::reports::{self as svc, PublicStatus, ReportInput, ReportView, Submitted};
use crate::service::supervision::{self as supervision, Dashboard};
use crate::store::now_ms;
use crate::store::supervision::EvidenceRow;
use actix_multipart::Multipart;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Files a whistleblower report without login. Returns the tracking code once.
#[utoipa::path(post, path = "/api/public/reports", tag = "reports", request_body = ReportInput,
    responses((status = 201, body = Submitted), (status = 422, body = crate::http::errors::ErrorBody), (status = 429, body = crate::http::errors::ErrorBody)))]
#[post("/api/public/reports")]
pub async fn submit(
    state: State,
    req: HttpRequest,
    body: web::Json<ReportInput>,
) -> AppResult<HttpResponse> {
    let (input, addr) = (body.into_inner(), crate::http::client_addr(&req));
    let limit = state.config.report_limit_per_hour;
    let done = db(&state, move |conn, env| {
        svc::submit(conn, env.defs, &input, &addr, limit, now_ms())
    })
    .await?;
    Ok(HttpResponse::Created().json(done))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackBody {
    /// The code shown once when the report was filed; case, dashes and spaces do not matter.
    #[schema(max_length = 64)]
    pub tracking_code: String,
}

/// Where a report stands, by its tracking code. The code travels in the body, never in an
/// address, so that it stays out of logs, proxies and browser history.
#[utoipa::path(post, path = "/api/public/reports/track", tag = "reports", request_body = TrackBody,
    responses((status = 200, body = PublicStatus), (status = 404, body = crate::http::errors::ErrorBody)))]
#[post("/api/public/reports/track")]
pub async fn track(state: State, body: web::Json<TrackBody>) -> AppResult<HttpResponse> {
    let code = body.into_inner().tracking_code;
    let status = db(&state, move |conn, _| svc::track(conn, &code)).await?;
    Ok(HttpResponse::Ok().json(status))
}

/// Adds a file to an open report, by its tracking code (multipart fields `code` and `file`;
/// PDF, JPEG or PNG by content; size-limited; at most five).
#[utoipa::path(post, path = "/api/public/reports/attachments", tag = "reports",
    request_body(content_type = "multipart/form-data", description = "fields `code` (the tracking code) and `file`"),
    responses((status = 201, body = EvidenceRow), (status = 404, body = crate::http::errors::ErrorBody), (status = 413, body = crate::http::errors::ErrorBody),
        (status = 415, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/public/reports/attachments")]
pub async fn attach(state: State, req: HttpRequest, form: Multipart) -> AppResult<HttpResponse> {
    let limit = state.config.upload_max_bytes;
    refuse_declared_oversize(&req, limit)?;
    let crate::http::upload::UploadForm {
        filename,
        bytes,
        code,
        ..
    } = read_upload(form, limit).await?;
    let code = code.ok_or_else(|| {
        AppError::rule_on_msg(
            "code",
            "tracking_code_required",
            Msg::new("rule-tracking-code-required"),
        )
    })?;
    let data_dir = state.config.data_dir.clone();
    let row = db(&state, move |conn, _| {
        svc::attach(conn, &data_dir, &code, &filename, &bytes, now_ms())
    })
    .await?;
    Ok(HttpResponse::Created().json(row))
}

/// A report with its case, attachments, linked violations, recovered amount and reward.
#[utoipa::path(get, path = "/api/whistleblower-reports/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path, description = "report id")),
    responses((status = 200, body = ReportView), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/whistleblower-reports/{id}")]
pub async fn get_report(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let v = db(&state, move |conn, env| {
        svc::view(conn, env.defs, &user.0, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViolationLinkBody {
    pub violation_id: i64,
}

/// Links a violation the report led to.
#[utoipa::path(post, path = "/api/whistleblower-reports/{id}/violations", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path, description = "report id")), request_body = ViolationLinkBody,
    responses((status = 200, body = ReportView), (status = 404, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/whistleblower-reports/{id}/violations")]
pub async fn link_violation(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<ViolationLinkBody>,
) -> AppResult<HttpResponse> {
    let (id, violation) = (id.into_inner(), body.violation_id);
    let v = db(&state, move |conn, env| {
        svc::link_violation(conn, env.defs, &user.0, id, violation)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Records a payment of the reporter's reward (supervisors).
#[utoipa::path(post, path = "/api/whistleblower-reports/{id}/reward-payments", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path, description = "report id")), request_body = PaymentBody,
    responses((status = 200, body = ReportView), (status = 409, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/whistleblower-reports/{id}/reward-payments")]
pub async fn pay_reward(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<PaymentBody>,
) -> AppResult<HttpResponse> {
    let (id, amount) = (id.into_inner(), body.amount_fen);
    let v = db(&state, move |conn, env| {
        svc::pay_reward(conn, env.defs, &user.0, id, amount, now_ms())
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Supervision figures for dashboards: violations by type, facility and month, money ordered
/// and recovered, overdue rectifications, and the facility risk ranking with its components.
#[utoipa::path(get, path = "/api/supervision/dashboard", tag = "supervision", security(("bearer" = [])),
    responses((status = 200, body = Dashboard), (status = 403, body = crate::http::errors::ErrorBody)))]
#[get("/api/supervision/dashboard")]
pub async fn dashboard(state: State, user: AuthUser) -> AppResult<HttpResponse> {
    let now = now_ms();
    let today = chrono::DateTime::from_timestamp_millis(now)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("clock out of range")))?
        .date_naive()
        .to_string();
    let d = crate::http::db_read(&state, move |conn, _| {
        supervision::dashboard(conn, &user.0, &today, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(d))
}
