use crate::domain::audit::StoredEvent;
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::http::auth::AuthUser;
use crate::http::{db, State};
use crate::service::cases::{self, ActionRequest};
use crate::service::findings;
use crate::service::views::case::case_view;
use crate::service::views::case::CaseView;
use crate::store::findings::Finding;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;

/// One case with what you may do on it now.
#[utoipa::path(get, path = "/api/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "case id")),
    responses((status = 200, body = CaseView), (status = 401, body = crate::http::errors::ErrorBody), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/cases/{id}")]
pub async fn get_case(state: State, user: AuthUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let view = db(&state, move |conn, env| {
        let case = crate::service::scope::load(conn, id)?;
        crate::service::scope::ensure_can_see(&user.0, &case)?;
        case_view(conn, env.defs, &user.0, case)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    pub action: String,
    #[serde(default)]
    pub comment: String,
    /// The case version you looked at; a newer one means someone else acted first (409).
    pub expected_version: i64,
    /// Decisions on claims: the granted amount when it differs from the computed one
    /// (needs a comment), or for a partial approval.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9_000_000_000_i64)]
    pub amount_fen: Option<i64>,
    /// Rejections of claims: a code from the documented list.
    #[serde(default)]
    pub reason_code: Option<String>,
    /// Returns for documents: the kinds asked for (default: whatever is missing).
    #[serde(default)]
    pub missing_documents: Vec<String>,
    /// Returns for documents: other documents asked for, each by its description.
    #[serde(default)]
    pub extra_documents: Vec<String>,
    /// Reviewers: judge whether the care was an emergency (re-prices the claim).
    #[serde(default)]
    pub judged_emergency: Option<bool>,
}

/// Takes a workflow action on a case.
#[utoipa::path(post, path = "/api/cases/{id}/actions", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "case id")), request_body = ActionBody,
    responses((status = 200, body = CaseView), (status = 401, body = crate::http::errors::ErrorBody),
        (status = 403, description = "wrong role, wrong region or four-eyes", body = crate::http::errors::ErrorBody),
        (status = 404, body = crate::http::errors::ErrorBody), (status = 409, description = "stale expected_version or closed case", body = crate::http::errors::ErrorBody),
        (status = 422, description = "unknown action, guard not met or comment missing", body = crate::http::errors::ErrorBody)))]
#[post("/api/cases/{id}/actions")]
pub async fn take_action(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<ActionBody>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let body = body.into_inner();
    if body.comment.len() > 4000 {
        return Err(AppError::field(
            "comment",
            Msg::new("field-too-long").count("max", 4000),
        ));
    }
    let view = db(&state, move |conn, env| {
        let req = ActionRequest {
            case_id: id,
            action: &body.action,
            comment: &body.comment,
            expected_version: body.expected_version,
            now_ms: crate::store::now_ms(),
            amount_fen: body.amount_fen,
            reason_code: body.reason_code.as_deref(),
            missing_documents: &body.missing_documents,
            extra_documents: &body.extra_documents,
            judged_emergency: body.judged_emergency,
        };
        let case = cases::act(conn, env, &user.0, &req)?;
        case_view(conn, env.defs, &user.0, case)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The full audit trail of a case (staff only).
#[utoipa::path(get, path = "/api/cases/{id}/events", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "case id")),
    responses((status = 200, body = Vec<StoredEvent>), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/cases/{id}/events")]
pub async fn case_events(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let events = db(&state, move |conn, _| {
        crate::service::views::case::events(conn, &user.0, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(events))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    /// One of the override reasons of `policies/controls/controls.toml` that applies to the
    /// finding.
    pub reason_code: String,
    /// Why, in the supervisor's words (1 to 4000 bytes).
    pub comment: String,
}

/// Overrides an error finding at sign-off, so that the claim may be paid: a supervisor who
/// took no part in the review, with a coded reason and a comment. Audited, naming the finding.
#[utoipa::path(post, path = "/api/cases/{id}/findings/{finding_id}/override", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "case id"), ("finding_id" = i64, Path, description = "finding id")), request_body = OverrideBody,
    responses((status = 200, body = Finding), (status = 401, body = crate::http::errors::ErrorBody),
        (status = 403, description = "not the sign-off's role, outside your region, or you reviewed the case", body = crate::http::errors::ErrorBody),
        (status = 404, body = crate::http::errors::ErrorBody), (status = 409, description = "not at sign-off, or already overridden", body = crate::http::errors::ErrorBody),
        (status = 422, description = "unknown or inapplicable reason, missing comment, not an error finding", body = crate::http::errors::ErrorBody)))]
#[post("/api/cases/{id}/findings/{finding_id}/override")]
pub async fn override_finding(
    state: State,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<OverrideBody>,
) -> AppResult<HttpResponse> {
    let (case_id, finding_id) = path.into_inner();
    let body = body.into_inner();
    let finding = db(&state, move |conn, env| {
        let req = findings::OverrideRequest {
            case_id,
            finding_id,
            reason_code: &body.reason_code,
            comment: &body.comment,
            now_ms: crate::store::now_ms(),
        };
        findings::override_finding(conn, env.defs, &user.0, &req)
    })
    .await?;
    Ok(HttpResponse::Ok().json(finding))
}
