use crate::domain::case::Subject;
use crate::domain::claim::ClaimInput;
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::http::auth::AuthUser;
use crate::http::upload::read_upload;
use crate::http::upload::refuse_declared_oversize;
use crate::http::upload::UploadForm;
use crate::http::{db, State};
use crate::service::documents::{self, Upload};
use crate::service::intake;
use crate::service::views::claim::claim_detail;
use crate::service::views::claim::my_claim_list;
use crate::service::views::claim::ClaimDetail;
use crate::service::views::claim::MyClaim;
use crate::store::claims::DocumentRow;
use actix_multipart::Multipart;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SubmittedClaim {
    pub claim_id: i64,
    pub case_id: i64,
    /// Recorded and refused at once by a screening rule (an invoice another insured person
    /// was already paid on): the case is closed as rejected, its findings say why.
    pub refused: bool,
}

/// Submits a manual claim, by the resident or by a clerk on their behalf. Send an
/// `Idempotency-Key` header to make retries safe: the same key and body return the first
/// result (200), the same key with another body is 409.
#[utoipa::path(post, path = "/api/claims", tag = "claims", security(("bearer" = [])), request_body = ClaimInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "retry-safe submission key")),
    responses((status = 201, body = SubmittedClaim), (status = 200, description = "replay of an earlier request with the same key", body = SubmittedClaim),
        (status = 409, description = "key reused with a different body", body = crate::http::errors::ErrorBody), (status = 401, body = crate::http::errors::ErrorBody),
        (status = 403, body = crate::http::errors::ErrorBody), (status = 422, description = "field errors", body = crate::http::errors::ErrorBody)))]
#[post("/api/claims")]
pub async fn submit(
    state: State,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<ClaimInput>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let key = match req.headers().get("Idempotency-Key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    AppError::field("Idempotency-Key", Msg::new("field-idempotency-ascii"))
                })?
                .to_string(),
        ),
        None => None,
    };
    let window_ms = state.config.honest_retry_minutes * 60_000;
    let done = db(&state, move |conn, env| {
        let retries = intake::Retries {
            key: key.as_deref(),
            window_ms,
        };
        intake::submit(conn, env, &user.0, &input, retries, crate::store::now_ms())
    })
    .await?;
    let body = SubmittedClaim {
        claim_id: done.claim_id,
        case_id: done.case_id,
        refused: done.refused,
    };
    Ok(if done.replayed {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Created().json(body)
    })
}

/// The signed-in resident's own claims, newest first, with plain-language status.
#[utoipa::path(get, path = "/api/me/claims", tag = "claims", security(("bearer" = [])),
    responses((status = 200, body = Vec<MyClaim>), (status = 401, body = crate::http::errors::ErrorBody)))]
#[get("/api/me/claims")]
pub async fn my_claims(state: State, user: AuthUser) -> AppResult<HttpResponse> {
    let list = db(&state, move |conn, env| {
        my_claim_list(conn, env.defs, &user.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// A claim with its case. Residents see only their own claims: any other id is 404.
#[utoipa::path(get, path = "/api/claims/{id}", tag = "claims", security(("bearer" = [])),
    params(("id" = i64, Path, description = "claim id")),
    responses((status = 200, body = ClaimDetail), (status = 401, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/claims/{id}")]
pub async fn get_claim(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let detail = db(&state, move |conn, env| {
        let case = crate::service::scope::case_of(conn, &user.0, Subject::Claim(id))?;
        claim_detail(conn, env.defs, &user.0, case)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Uploads one document for a claim (multipart: `kind`, `file`). PDF, JPEG or PNG, checked
/// by content; size-limited.
#[utoipa::path(post, path = "/api/claims/{id}/documents", tag = "claims", security(("bearer" = [])),
    params(("id" = i64, Path, description = "claim id")),
    request_body(content_type = "multipart/form-data", description = "fields `kind` (document kind), `file` and optionally `request_id` (the returned item it answers)"),
    responses((status = 201, body = DocumentRow), (status = 404, body = crate::http::errors::ErrorBody), (status = 413, body = crate::http::errors::ErrorBody),
        (status = 415, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/claims/{id}/documents")]
pub async fn upload_document(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    req: HttpRequest,
    form: Multipart,
) -> AppResult<HttpResponse> {
    let limit = state.config.upload_max_bytes;
    refuse_declared_oversize(&req, limit)?;
    let UploadForm {
        kind,
        filename,
        bytes,
        request_id,
        ..
    } = read_upload(form, limit).await?;
    let kind = kind.ok_or_else(|| AppError::field("kind", Msg::new("field-kind-missing")))?;
    let data_dir = state.config.data_dir.clone();
    let claim_id = id.into_inner();
    let doc = db(&state, move |conn, _| {
        documents::add_document(
            conn,
            &data_dir,
            &user.0,
            &Upload {
                claim_id,
                kind: &kind,
                filename: &filename,
                bytes: &bytes,
                now_ms: crate::store::now_ms(),
                request_id,
            },
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(doc))
}

/// Downloads a document of a claim you may see: its resident, or clerks, reviewers,
/// supervisors, the director, inspectors and auditors in its region (not admins).
#[utoipa::path(get, path = "/api/claims/{id}/documents/{doc_id}", tag = "claims", security(("bearer" = [])),
    params(("id" = i64, Path, description = "claim id"), ("doc_id" = i64, Path, description = "document id")),
    responses((status = 200, description = "the file"), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/claims/{id}/documents/{doc_id}")]
pub async fn download_document(
    state: State,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (claim_id, doc_id) = path.into_inner();
    let data_dir = state.config.data_dir.clone();
    let (doc, bytes) = db(&state, move |conn, _| {
        documents::open(conn, &user.0, &data_dir, claim_id, doc_id)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(doc.content_type.as_str())
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"document-{}\"", doc.id),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectDocument {
    /// Why the document cannot be used; shown to the resident.
    pub reason: String,
}

/// Marks a document rejected with a reason (clerks and reviewers).
#[utoipa::path(post, path = "/api/claims/{id}/documents/{doc_id}/reject", tag = "claims", security(("bearer" = [])),
    params(("id" = i64, Path, description = "claim id"), ("doc_id" = i64, Path, description = "document id")), request_body = RejectDocument,
    responses((status = 200, body = DocumentRow), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/claims/{id}/documents/{doc_id}/reject")]
pub async fn reject_document(
    state: State,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<RejectDocument>,
) -> AppResult<HttpResponse> {
    let (claim_id, doc_id) = path.into_inner();
    let reason = body.into_inner().reason;
    let doc = db(&state, move |conn, _| {
        documents::reject_document(
            conn,
            &user.0,
            claim_id,
            doc_id,
            &reason,
            crate::store::now_ms(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(doc))
}
