use super::cases::{case_view, CaseView};
use crate::domain::policy::Breakdown;
use crate::error::{AppError, AppResult};
use crate::http::auth::AuthUser;
use crate::http::{db, State};
use crate::service::cases;
use crate::service::claims::{self as claim_service, ClaimInput, Upload};
use crate::service::timeline::{timeline, TimelineItem};
use crate::store::cases as case_store;
use crate::store::claims::{self as claim_store, ClaimRow, DocumentRow};
use crate::store::findings::Finding;
use actix_multipart::Multipart;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SubmittedClaim {
    pub claim_id: i64,
    pub case_id: i64,
}

/// Submits a manual claim, by the resident or by a clerk on their behalf. Send an
/// `Idempotency-Key` header to make retries safe: the same key and body return the first
/// result (200), the same key with another body is 409.
#[utoipa::path(post, path = "/api/claims", tag = "claims", security(("bearer" = [])), request_body = ClaimInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "retry-safe submission key")),
    responses((status = 201, body = SubmittedClaim), (status = 200, description = "replay of an earlier request with the same key", body = SubmittedClaim),
        (status = 409, description = "key reused with a different body", body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 422, description = "field errors", body = crate::error::ErrorBody)))]
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
                .map_err(|_| AppError::field("Idempotency-Key", "must be visible ASCII"))?
                .to_string(),
        ),
        None => None,
    };
    let done = db(&state, move |conn, env| {
        claim_service::submit(
            conn,
            env,
            &user.0,
            &input,
            key.as_deref(),
            crate::store::now_ms(),
        )
    })
    .await?;
    let body = SubmittedClaim {
        claim_id: done.claim_id,
        case_id: done.case_id,
    };
    Ok(if done.replayed {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Created().json(body)
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClaimDetail {
    pub claim: ClaimRow,
    pub case: CaseView,
    pub documents: Vec<DocumentRow>,
    /// The benefit calculation, step by step (recomputed at decision).
    pub breakdown: Option<Breakdown>,
    /// The decision record: computed and decided amounts, override reason or reason code.
    pub decision: Option<serde_json::Value>,
    /// Plain-language history for the resident (no internal comments).
    pub timeline: Vec<TimelineItem>,
    /// Intake findings (staff only; empty for residents).
    pub findings: Vec<Finding>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyClaim {
    pub claim_id: i64,
    pub case_id: i64,
    pub family: String,
    pub family_zh: String,
    pub family_en: String,
    pub submitted_at: i64,
    pub admission_date: String,
    pub total_fen: i64,
    pub payable_fen: Option<i64>,
    pub decided_fen: Option<i64>,
    pub stage: Option<String>,
    pub outcome: Option<String>,
    /// Where the claim stands, in plain language.
    pub status_zh: String,
    pub status_en: String,
}

pub fn claim_detail(
    conn: &mut crate::store::DbConn,
    defs: &crate::definitions::Definitions,
    p: &crate::auth::Principal,
    case: crate::store::cases::CaseRow,
) -> AppResult<ClaimDetail> {
    let id = case.subject_id;
    let claim =
        claim_store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("claim {id}")))?;
    let documents = claim_store::documents(conn, id)?;
    let events = crate::store::audit::for_case(conn, case.id)?;
    let findings = if p.is_staff() {
        crate::store::findings::for_case(conn, case.id)?
    } else {
        Vec::new()
    };
    let breakdown = claim
        .breakdown
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok());
    let decision = claim
        .decision
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    Ok(ClaimDetail {
        claim,
        case: case_view(conn, defs, p, case)?,
        documents,
        breakdown,
        decision,
        timeline: timeline(&events),
        findings,
    })
}

/// The signed-in resident's own claims, newest first, with plain-language status.
#[utoipa::path(get, path = "/api/me/claims", tag = "claims", security(("bearer" = [])),
    responses((status = 200, body = Vec<MyClaim>), (status = 401, body = crate::error::ErrorBody)))]
#[get("/api/me/claims")]
pub async fn my_claims(state: State, user: AuthUser) -> AppResult<HttpResponse> {
    let list = db(&state, move |conn, env| {
        my_claim_list(conn, env.defs, &user.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// A resident's own claims, newest first, each with where it stands in plain language.
pub fn my_claim_list(
    conn: &mut crate::store::DbConn,
    defs: &crate::definitions::Definitions,
    p: &crate::auth::Principal,
) -> AppResult<Vec<MyClaim>> {
    let claims = claim_store::for_resident(conn, p.user_id)?;
    let mut out = Vec::with_capacity(claims.len());
    for claim in claims {
        let Some(case) = case_store::for_subject(conn, "claim", claim.id)? else {
            continue;
        };
        let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
        let events = crate::store::audit::for_case(conn, case.id)?;
        let last = timeline(&events).pop();
        out.push(MyClaim {
            claim_id: claim.id,
            case_id: case.id,
            family_zh: wf.title.zh.clone(),
            family_en: wf.title.en.clone(),
            family: claim.family,
            submitted_at: claim.created_at,
            admission_date: claim.admission_date,
            total_fen: claim.total_fen,
            payable_fen: claim.payable_fen,
            decided_fen: claim.decided_fen,
            stage: case.stage,
            outcome: case.outcome,
            status_zh: last.as_ref().map_or_else(String::new, |l| l.zh.clone()),
            status_en: last.map_or_else(String::new, |l| l.en),
        });
    }
    Ok(out)
}

/// A claim with its case. Residents see only their own claims: any other id is 404.
#[utoipa::path(get, path = "/api/claims/{id}", tag = "claims", security(("bearer" = [])),
    params(("id" = i64, Path, description = "claim id")),
    responses((status = 200, body = ClaimDetail), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
#[get("/api/claims/{id}")]
pub async fn get_claim(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let detail = db(&state, move |conn, env| {
        let case = case_store::for_subject(conn, "claim", id)?
            .ok_or_else(|| AppError::NotFound(format!("claim {id}")))?;
        cases::ensure_can_see(&user.0, &case)?;
        claim_detail(conn, env.defs, &user.0, case)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Reads a multipart body with a `kind` text field and a `file` field, enforcing the size
/// limit while streaming.
/// Refuses an oversized body before reading it; the streaming check covers chunked bodies.
pub(crate) fn refuse_declared_oversize(req: &HttpRequest, limit: usize) -> AppResult<()> {
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit + 16 * 1024) {
        return Err(AppError::PayloadTooLarge(format!(
            "the upload is larger than the {limit}-byte limit"
        )));
    }
    Ok(())
}

/// A multipart upload as read: the optional `kind` and `_csrf` text fields (the API sends
/// no `_csrf`; browser forms must) and the file.
pub struct UploadForm {
    pub kind: Option<String>,
    pub csrf: Option<String>,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// Reads a multipart upload: optional `kind` and `_csrf` text fields and the `file`, which
/// must not be empty nor larger than `limit`.
pub(crate) async fn read_upload(mut form: Multipart, limit: usize) -> AppResult<UploadForm> {
    let (mut kind, mut csrf, mut file) = (None, None, None);
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| AppError::BadRequest(format!("malformed multipart body: {e}")))?;
        let name = field.name().unwrap_or_default().to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or("upload")
            .to_string();
        let cap = if name == "file" { limit } else { 256 };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| AppError::BadRequest(format!("upload interrupted: {e}")))?;
            if bytes.len() + chunk.len() > cap {
                return Err(if name == "file" {
                    AppError::PayloadTooLarge(format!(
                        "the file is larger than the {limit}-byte limit"
                    ))
                } else {
                    AppError::field(&name, "field too long")
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes).map_err(|_| AppError::field(&name, "must be UTF-8 text"))
        };
        match name.as_str() {
            "kind" => kind = Some(text(bytes)?),
            "_csrf" => csrf = Some(text(bytes)?),
            "file" => file = Some((filename, bytes)),
            other => {
                return Err(AppError::field(
                    other,
                    "unexpected field; send `kind` and `file`",
                ))
            }
        }
    }
    let (filename, bytes) =
        file.ok_or_else(|| AppError::field("file", "missing: attach the file"))?;
    if bytes.is_empty() {
        return Err(AppError::field("file", "the file is empty"));
    }
    Ok(UploadForm {
        kind,
        csrf,
        filename,
        bytes,
    })
}

/// Uploads one document for a claim (multipart: `kind`, `file`). PDF, JPEG or PNG, checked
/// by content; size-limited.
#[utoipa::path(post, path = "/api/claims/{id}/documents", tag = "claims", security(("bearer" = [])),
    params(("id" = i64, Path, description = "claim id")),
    request_body(content_type = "multipart/form-data", description = "fields `kind` (document kind) and `file`"),
    responses((status = 201, body = DocumentRow), (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
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
        ..
    } = read_upload(form, limit).await?;
    let kind = kind.ok_or_else(|| AppError::field("kind", "missing: name the document kind"))?;
    let data_dir = state.config.data_dir.clone();
    let claim_id = id.into_inner();
    let doc = db(&state, move |conn, _| {
        claim_service::add_document(
            conn,
            &data_dir,
            &user.0,
            &Upload {
                claim_id,
                kind: &kind,
                filename: &filename,
                bytes: &bytes,
                now_ms: crate::store::now_ms(),
            },
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(doc))
}

/// Downloads a document of a claim you may see.
#[utoipa::path(get, path = "/api/claims/{id}/documents/{doc_id}", tag = "claims", security(("bearer" = [])),
    params(("id" = i64, Path, description = "claim id"), ("doc_id" = i64, Path, description = "document id")),
    responses((status = 200, description = "the file"), (status = 404, body = crate::error::ErrorBody)))]
#[get("/api/claims/{id}/documents/{doc_id}")]
pub async fn download_document(
    state: State,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (claim_id, doc_id) = path.into_inner();
    let doc = db(&state, move |conn, _| {
        let case = case_store::for_subject(conn, "claim", claim_id)?
            .ok_or_else(|| AppError::NotFound(format!("claim {claim_id}")))?;
        cases::ensure_can_see(&user.0, &case)?;
        claim_store::document(conn, claim_id, doc_id)?
            .ok_or_else(|| AppError::NotFound(format!("document {doc_id}")))
    })
    .await?;
    let path = claim_service::blob_path(&state.config.data_dir, &doc.sha256)
        .ok_or_else(|| AppError::NotFound("document file".into()))?;
    let bytes = web::block(move || std::fs::read(path))
        .await?
        .map_err(|e| anyhow::anyhow!("cannot read stored document: {e}"))?;
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
    responses((status = 200, body = DocumentRow), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
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
        claim_service::reject_document(
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
