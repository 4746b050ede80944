//! Fund supervision over HTTP: inspections, violations with evidence and sanctions, and the
//! repayments and fines tracked until paid.
use crate::domain::supervision::ViolationType;
use crate::error::AppResult;
use crate::http::auth::AuthUser;
use crate::http::upload::{read_upload, refuse_declared_oversize};
use crate::http::{db, State};
use crate::service::supervision::{
    self as svc, InspectionInput, SanctionInput, SanctionOutcome, ViolationInput, ViolationView,
};
use crate::store::now_ms;
use crate::store::supervision::{DualApproval, EvidenceRow, InspectionRow, RecoveryRow};
use actix_multipart::Multipart;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// The coded violation types (Order 735 Art. 38-41) with their article.
#[utoipa::path(get, path = "/api/supervision/violation-types", tag = "supervision", security(("bearer" = [])),
    responses((status = 200, body = [ViolationType])))]
#[get("/api/supervision/violation-types")]
pub async fn violation_types(state: State, _user: AuthUser) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(&state.defs.sanctions().violation_types))
}

/// An inspector records an inspection of a facility in their region.
#[utoipa::path(post, path = "/api/inspections", tag = "supervision", security(("bearer" = [])), request_body = InspectionInput,
    responses((status = 201, body = InspectionRow), (status = 403, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/inspections")]
pub async fn record_inspection(
    state: State,
    user: AuthUser,
    body: web::Json<InspectionInput>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let row = db(&state, move |conn, _| {
        svc::record_inspection(conn, &user.0, &input, now_ms())
    })
    .await?;
    Ok(HttpResponse::Created().json(row))
}

/// An inspector logs a violation; it opens a `facility_violation` case.
#[utoipa::path(post, path = "/api/violations", tag = "supervision", security(("bearer" = [])), request_body = ViolationInput,
    responses((status = 201, body = ViolationView), (status = 403, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/violations")]
pub async fn add_violation(
    state: State,
    user: AuthUser,
    body: web::Json<ViolationInput>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let v = db(&state, move |conn, env| {
        svc::add_violation(conn, env.defs, &user.0, &input, now_ms())
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

/// A violation with its case, the sanction range its article allows, evidence and recoveries.
#[utoipa::path(get, path = "/api/violations/{id}", tag = "supervision", security(("bearer" = [])),
    params(("id" = i64, Path, description = "violation id")),
    responses((status = 200, body = ViolationView), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/violations/{id}")]
pub async fn get_violation(
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

/// Uploads one evidence file (multipart field `file`): PDF, JPEG or PNG by content, size-limited.
#[utoipa::path(post, path = "/api/violations/{id}/evidence", tag = "supervision", security(("bearer" = [])),
    params(("id" = i64, Path, description = "violation id")),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = EvidenceRow), (status = 404, body = crate::http::errors::ErrorBody), (status = 413, body = crate::http::errors::ErrorBody),
        (status = 415, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/violations/{id}/evidence")]
pub async fn upload_evidence(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    req: HttpRequest,
    form: Multipart,
) -> AppResult<HttpResponse> {
    let limit = state.config.upload_max_bytes;
    refuse_declared_oversize(&req, limit)?;
    let crate::http::upload::UploadForm {
        filename, bytes, ..
    } = read_upload(form, limit).await?;
    let data_dir = state.config.data_dir.clone();
    let id = id.into_inner();
    let row = db(&state, move |conn, _| {
        svc::add_evidence(
            conn,
            &data_dir,
            &user.0,
            &svc::EvidenceUpload {
                violation_id: id,
                filename: &filename,
                bytes: &bytes,
                now_ms: now_ms(),
            },
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(row))
}

/// A supervisor records the sanction. Within the article's range it is applied and the case
/// moves to rectification (a suspension changes the facility's designation, or an Art. 41
/// person's direct settlement); below the minimum, with a mitigating circumstance, it is
/// proposed for a second supervisor (`pending_approval`); above the maximum it is refused.
#[utoipa::path(post, path = "/api/violations/{id}/sanction", tag = "supervision", security(("bearer" = [])),
    params(("id" = i64, Path, description = "violation id")), request_body = SanctionInput,
    responses((status = 200, body = SanctionOutcome), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody),
        (status = 409, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/violations/{id}/sanction")]
pub async fn impose_sanction(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<SanctionInput>,
) -> AppResult<HttpResponse> {
    let (id, input) = (id.into_inner(), body.into_inner());
    let v = db(&state, move |conn, env| {
        svc::impose_sanction(conn, env, &user.0, id, &input, now_ms())
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalBody {
    /// true approves the proposal, false refuses it.
    pub approve: bool,
    #[serde(default)]
    pub comment: String,
}

/// A second supervisor decides a proposal: a sanction below the minimum (applied when
/// approved) or a write-off (what is owed is settled when approved). The proposer may not.
#[utoipa::path(post, path = "/api/violations/{id}/approvals/{approval_id}", tag = "supervision", security(("bearer" = [])),
    params(("id" = i64, Path, description = "violation id"), ("approval_id" = i64, Path, description = "proposal id")), request_body = ApprovalBody,
    responses((status = 200, body = SanctionOutcome), (status = 403, description = "not a supervisor, or the proposer", body = crate::http::errors::ErrorBody),
        (status = 404, body = crate::http::errors::ErrorBody), (status = 409, description = "already decided, or outdated", body = crate::http::errors::ErrorBody)))]
#[post("/api/violations/{id}/approvals/{approval_id}")]
pub async fn decide_approval(
    state: State,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<ApprovalBody>,
) -> AppResult<HttpResponse> {
    let (violation_id, approval_id) = path.into_inner();
    let body = body.into_inner();
    let v = db(&state, move |conn, env| {
        let d = svc::ApprovalDecision {
            violation_id,
            approval_id,
            approve: body.approve,
            comment: &body.comment,
            now_ms: now_ms(),
        };
        svc::decide_approval(conn, env, &user.0, &d)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteOffBody {
    pub reason: String,
}

/// A supervisor proposes writing off everything still owed on a violation; a second
/// supervisor decides it. Until then, or while anything is owed, the case cannot close.
#[utoipa::path(post, path = "/api/violations/{id}/write-off", tag = "supervision", security(("bearer" = [])),
    params(("id" = i64, Path, description = "violation id")), request_body = WriteOffBody,
    responses((status = 201, body = DualApproval), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody),
        (status = 409, description = "nothing is owed", body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/violations/{id}/write-off")]
pub async fn propose_write_off(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<WriteOffBody>,
) -> AppResult<HttpResponse> {
    let (id, reason) = (id.into_inner(), body.into_inner().reason);
    let row = db(&state, move |conn, _| {
        svc::propose_write_off(conn, &user.0, id, &reason, now_ms())
    })
    .await?;
    Ok(HttpResponse::Created().json(row))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// More than 0 and not more than what is owed.
    #[schema(minimum = 1, maximum = 9_000_000_000_i64)]
    pub amount_fen: i64,
}

/// Records a payment towards a repayment or fine.
#[utoipa::path(post, path = "/api/recoveries/{id}/payments", tag = "supervision", security(("bearer" = [])),
    params(("id" = i64, Path, description = "recovery id")), request_body = PaymentBody,
    responses((status = 200, body = RecoveryRow), (status = 404, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/recoveries/{id}/payments")]
pub async fn record_payment(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<PaymentBody>,
) -> AppResult<HttpResponse> {
    let (id, amount) = (id.into_inner(), body.amount_fen);
    let r = db(&state, move |conn, _| {
        svc::record_payment(conn, &user.0, id, amount, now_ms())
    })
    .await?;
    Ok(HttpResponse::Ok().json(r))
}
