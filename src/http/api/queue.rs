use crate::error::AppResult;
use crate::http::auth::AuthUser;
use crate::http::{db, db_read, State};
use crate::service::queue::QueueQuery;
use crate::service::queue::{self, QueueItem};
use crate::service::views::case::{case_view, CaseView};
use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueResponse {
    pub items: Vec<QueueItem>,
    pub next: Option<String>,
}

/// The cases you may work, by role, region and organisation, most urgent first.
#[utoipa::path(get, path = "/api/queue", tag = "queue", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = QueueResponse), (status = 401, body = crate::http::errors::ErrorBody), (status = 403, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[get("/api/queue")]
pub async fn list(
    state: State,
    user: AuthUser,
    q: web::Query<QueueQuery>,
) -> AppResult<HttpResponse> {
    let filter = q.into_inner().filter(&state.defs, &user.0)?;
    let page = db_read(&state, move |conn, _| queue::list(conn, &filter)).await?;
    Ok(HttpResponse::Ok().json(QueueResponse {
        items: page.items,
        next: page.next,
    }))
}

/// Claim-next: your unfinished lease, or the most urgent case you may work, leased to you.
/// 204 when the queue is empty for you.
#[utoipa::path(post, path = "/api/queue/next", tag = "queue", security(("bearer" = [])),
    responses((status = 200, body = CaseView), (status = 204, description = "nothing to do"), (status = 403, body = crate::http::errors::ErrorBody)))]
#[post("/api/queue/next")]
pub async fn next(state: State, user: AuthUser) -> AppResult<HttpResponse> {
    let ttl = state.config.lease_ttl_minutes * 60_000;
    let view = db(&state, move |conn, env| {
        match queue::next(conn, env.defs, &user.0, ttl, crate::store::now_ms())? {
            Some(case) => case_view(conn, env.defs, &user.0, case).map(Some),
            None => Ok(None),
        }
    })
    .await?;
    Ok(match view {
        Some(v) => HttpResponse::Ok().json(v),
        None => HttpResponse::NoContent().finish(),
    })
}

/// Leases one case to you.
#[utoipa::path(post, path = "/api/cases/{id}/claim", tag = "queue", security(("bearer" = [])), params(("id" = i64, Path, description = "case id")),
    responses((status = 200, body = CaseView), (status = 403, body = crate::http::errors::ErrorBody), (status = 409, body = crate::http::errors::ErrorBody)))]
#[post("/api/cases/{id}/claim")]
pub async fn claim(state: State, user: AuthUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let ttl = state.config.lease_ttl_minutes * 60_000;
    let id = id.into_inner();
    let view = db(&state, move |conn, env| {
        let case = queue::claim(conn, env.defs, &user.0, id, ttl, crate::store::now_ms())?;
        case_view(conn, env.defs, &user.0, case)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Gives a leased case back to the pool (its holder or a supervisor).
#[utoipa::path(post, path = "/api/cases/{id}/release", tag = "queue", security(("bearer" = [])), params(("id" = i64, Path, description = "case id")),
    responses((status = 200, body = CaseView), (status = 403, body = crate::http::errors::ErrorBody), (status = 409, body = crate::http::errors::ErrorBody)))]
#[post("/api/cases/{id}/release")]
pub async fn release(state: State, user: AuthUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let view = db(&state, move |conn, env| {
        let case = queue::release(conn, &user.0, id, crate::store::now_ms())?;
        case_view(conn, env.defs, &user.0, case)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
