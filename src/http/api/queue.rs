use super::cases::{case_view, CaseView};
use crate::error::{AppError, AppResult};
use crate::http::auth::AuthUser;
use crate::http::{db, State};
use crate::service::queue::{self, QueueItem, AT_RISK_MS};
use crate::store::queue::{QueueFilter, Sla};
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// out_of_region, trauma or unreferred_transfer
    pub family: Option<String>,
    pub stage: Option<String>,
    pub facility: Option<String>,
    /// Claimed amount range, fen.
    pub min_fen: Option<i64>,
    pub max_fen: Option<i64>,
    /// on_track, at_risk or breached
    pub sla: Option<String>,
    /// Due before this time (ms since the epoch).
    pub due_before: Option<i64>,
    /// Only cases leased to you.
    #[serde(default)]
    pub mine: bool,
    /// Only cases nobody holds.
    #[serde(default)]
    pub unassigned: bool,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

impl QueueQuery {
    /// The store's filter for this user: their stages, roles and region, checked values.
    pub fn filter(
        self,
        defs: &crate::definitions::Definitions,
        p: &crate::auth::Principal,
    ) -> AppResult<QueueFilter> {
        let stages = queue::my_stages(defs, p);
        if stages.is_empty() {
            return Err(AppError::Forbidden(
                "none of your roles works a queue".into(),
            ));
        }
        let sla = match self.sla.as_deref() {
            None => None,
            Some("on_track") => Some(Sla::OnTrack),
            Some("at_risk") => Some(Sla::AtRisk),
            Some("breached") => Some(Sla::Breached),
            Some(other) => {
                return Err(AppError::field(
                    "sla",
                    format!("expected on_track, at_risk or breached, got `{other}`"),
                ))
            }
        };
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(AppError::field("limit", "between 1 and 200"));
        }
        let after = self.after.as_deref().map(queue::parse_cursor).transpose()?;
        Ok(QueueFilter {
            stages,
            escalated_roles: queue::my_roles(p),
            region_path: p.region_path.clone(),
            family: self.family,
            stage: self.stage,
            facility: self.facility,
            min_fen: self.min_fen,
            max_fen: self.max_fen,
            sla,
            due_before: self.due_before,
            assignee: self.mine.then_some(p.user_id),
            unassigned: self.unassigned,
            after,
            limit,
            now_ms: crate::store::now_ms(),
            at_risk_ms: AT_RISK_MS,
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueResponse {
    pub items: Vec<QueueItem>,
    pub next: Option<String>,
}

/// The cases you may work, by role, region and organisation, most urgent first.
#[utoipa::path(get, path = "/api/queue", tag = "queue", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = QueueResponse), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
#[get("/api/queue")]
pub async fn list(
    state: State,
    user: AuthUser,
    q: web::Query<QueueQuery>,
) -> AppResult<HttpResponse> {
    let filter = q.into_inner().filter(&state.defs, &user.0)?;
    let page = db(&state, move |conn, _| queue::list(conn, &filter)).await?;
    Ok(HttpResponse::Ok().json(QueueResponse {
        items: page.items,
        next: page.next,
    }))
}

/// Claim-next: your unfinished lease, or the most urgent case you may work, leased to you.
/// 204 when the queue is empty for you.
#[utoipa::path(post, path = "/api/queue/next", tag = "queue", security(("bearer" = [])),
    responses((status = 200, body = CaseView), (status = 204, description = "nothing to do"), (status = 403, body = crate::error::ErrorBody)))]
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
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
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
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
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
