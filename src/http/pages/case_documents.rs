//! The documents of a case page: added or replaced at the counter or by a reviewer, served
//! to the viewer beside the case, and rejected with the reason the resident reads. What the
//! user can fix comes back on the case page beside the checklist.
use super::case_page::{case_view, load_case, render, Shown, DOCUMENT_REVIEWERS};
use super::ctx::{see_other, Ctx, PageError};
use crate::domain::case::Subject;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::http::upload::read_limited;
use actix_multipart::Multipart;
use actix_web::{get, post, web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::Value;

/// The case page again, with what went wrong with a document beside the checklist (a wrong
/// file type or a missing reason is the user's to fix, so no error page).
async fn refused_document(
    ctx: &Ctx,
    case_id: i64,
    err: AppError,
) -> Result<HttpResponse, PageError> {
    match err {
        e @ (AppError::Validation(_)
        | AppError::Rule(_)
        | AppError::UnsupportedMedia(_)
        | AppError::PayloadTooLarge(_)) => {
            let data = load_case(ctx, case_id).await?;
            let mut view = case_view(ctx, &data, Shown::default());
            view["doc_error"] = Value::String(e.text(ctx.lang));
            let status = e.status_code();
            render(ctx, &data, view, status)
        }
        other => Err(ctx.fail(other)),
    }
}

/// A document added at the counter or by a reviewer: a missing one, or a replacement
/// (multipart: `_csrf`, `kind`, `file`, optionally `request_id`).
#[post("/cases/{id}/documents")]
pub async fn add_document(
    ctx: Ctx,
    id: web::Path<i64>,
    req: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Clerk, Role::Reviewer, Role::SeniorReviewer])?;
    let case_id = id.into_inner();
    let limit = ctx.state.config.upload_max_bytes;
    let up = match read_limited(&req, form, limit).await {
        Ok(up) => up,
        Err(e) => return refused_document(&ctx, case_id, e).await,
    };
    ctx.check_csrf(up.csrf.as_deref().unwrap_or_default())?;
    let claim_id = load_case(&ctx, case_id).await?.detail.claim.id;
    match super::resident::add_uploaded(&ctx, user, claim_id, up).await {
        Ok(_) => Ok(see_other(&format!("/cases/{case_id}#docs-h"))),
        Err(e) => refused_document(&ctx, case_id, e).await,
    }
}

/// A document of the case, for the viewer beside it: framed by this site's own pages only
/// (a PDF needs the browser's viewer, so it is not sandboxed; an image is). The same readers
/// as the API's download: staff of the case's region who read documents.
#[get("/cases/{id}/documents/{doc_id}")]
pub async fn document(ctx: Ctx, path: web::Path<(i64, i64)>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&Role::STAFF)?;
    let (case_id, doc_id) = path.into_inner();
    let data_dir = ctx.state.config.data_dir.clone();
    let (doc, bytes) = ctx
        .db(move |conn, _| {
            let case = crate::service::scope::case(conn, &user, case_id)?;
            let claim_id = match case.subject() {
                Subject::Claim(id) => id,
                Subject::Appeal(appeal_id) => {
                    let appeal = crate::store::appeals::get(conn, appeal_id)?
                        .ok_or_else(|| AppError::NotFound(format!("appeal {appeal_id}")))?;
                    crate::service::scope::load(conn, appeal.claim_case_id)?
                        .subject()
                        .claim()
                        .ok_or_else(|| AppError::NotFound(format!("document {doc_id}")))?
                }
                _ => return Err(AppError::NotFound(format!("document {doc_id}"))),
            };
            crate::service::documents::open(conn, &user, &data_dir, claim_id, doc_id)
        })
        .await?;
    let policy = if doc.content_type.starts_with("image/") {
        "sandbox; default-src 'none'; img-src 'self'; frame-ancestors 'self'"
    } else {
        "default-src 'none'; frame-ancestors 'self'"
    };
    Ok(HttpResponse::Ok()
        .content_type(doc.content_type.as_str())
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"document-{}\"", doc.id),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("X-Frame-Options", "SAMEORIGIN"))
        .insert_header(("Content-Security-Policy", policy))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}

#[derive(Deserialize)]
pub struct RejectDocumentForm {
    #[serde(default)]
    reason: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// A document refused, with the reason the resident reads beside the item.
#[post("/cases/{id}/documents/{doc_id}/reject")]
pub async fn reject_document(
    ctx: Ctx,
    path: web::Path<(i64, i64)>,
    form: web::Form<RejectDocumentForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&DOCUMENT_REVIEWERS)?;
    ctx.check_csrf(&form.csrf)?;
    let (case_id, doc_id) = path.into_inner();
    let claim_id = load_case(&ctx, case_id).await?.detail.claim.id;
    let reason = form.into_inner().reason;
    let rejected = crate::http::db(&ctx.state, move |conn, _| {
        crate::service::documents::reject_document(
            conn,
            &user,
            claim_id,
            doc_id,
            &reason,
            crate::store::now_ms(),
        )
    })
    .await;
    match rejected {
        Ok(_) => Ok(see_other(&format!("/cases/{case_id}?doc={doc_id}#viewer"))),
        Err(e) => refused_document(&ctx, case_id, e).await,
    }
}
