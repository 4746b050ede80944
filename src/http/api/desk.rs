//! Supervisor tools for the review desk: reassignment (one case or many), absences,
//! reviewer metrics, and the mail outbox.
use crate::domain::roles::Role;
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::http::auth::AuthUser;
use crate::http::{db, State};
use crate::service::assignment;
use crate::service::views::reviewers::reviewer_report;
use crate::service::views::reviewers::ReviewerMetrics;
use crate::store;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignBody {
    /// The cases to move; all move or none does.
    pub case_ids: Vec<i64>,
    /// The new assignee; absent or null returns the cases to the pool.
    pub to_user_id: Option<i64>,
    pub reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignOneBody {
    pub to_user_id: Option<i64>,
    pub reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Reassigned {
    pub case_id: i64,
    pub assignee_id: Option<i64>,
    pub version: i64,
}

async fn reassign_cases(
    state: &State,
    user: AuthUser,
    case_ids: Vec<i64>,
    to_user_id: Option<i64>,
    reason: String,
) -> AppResult<HttpResponse> {
    let moved = db(state, move |conn, env| {
        assignment::reassign(
            conn,
            env,
            &user.0,
            &case_ids,
            to_user_id,
            &reason,
            store::now_ms(),
        )
    })
    .await?;
    let out: Vec<Reassigned> = moved
        .into_iter()
        .map(|c| Reassigned {
            case_id: c.id,
            assignee_id: c.assignee_id,
            version: c.version,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Bulk reassignment by a supervisor, with a reason; all or nothing.
#[utoipa::path(post, path = "/api/cases/reassign", tag = "queue", security(("bearer" = [])), request_body = ReassignBody,
    responses((status = 200, body = [Reassigned]), (status = 403, body = crate::http::errors::ErrorBody),
        (status = 404, description = "a selected case does not exist or is outside the caller's region", body = crate::http::errors::ErrorBody),
        (status = 409, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/cases/reassign")]
pub async fn reassign_many(
    state: State,
    user: AuthUser,
    body: web::Json<ReassignBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    reassign_cases(&state, user, b.case_ids, b.to_user_id, b.reason).await
}

/// Reassigns one case, with a reason.
#[utoipa::path(post, path = "/api/cases/{id}/reassign", tag = "queue", security(("bearer" = [])), params(("id" = i64, Path, description = "case id")), request_body = ReassignOneBody,
    responses((status = 200, body = [Reassigned]), (status = 403, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/cases/{id}/reassign")]
pub async fn reassign_one(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<ReassignOneBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    reassign_cases(&state, user, vec![id.into_inner()], b.to_user_id, b.reason).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceBody {
    /// First day away, YYYY-MM-DD.
    #[schema(format = Date)]
    pub from: String,
    /// Last day away, YYYY-MM-DD.
    #[schema(format = Date)]
    pub to: String,
    pub reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Absence {
    pub id: i64,
    pub from: String,
    pub to: String,
    pub reason: String,
}

fn parse_day(field: &str, s: &str) -> AppResult<chrono::NaiveDate> {
    crate::domain::dates::parse_iso_date(s)
        .ok_or_else(|| AppError::field(field, Msg::new("field-date").text("value", s)))
}

/// Marks a user absent for dates: auto-assignment and reassignment skip them. A user may
/// record their own absence; a supervisor or admin anyone's in their region.
#[utoipa::path(post, path = "/api/users/{id}/absences", tag = "queue", security(("bearer" = [])), params(("id" = i64, Path, description = "user id")), request_body = AbsenceBody,
    responses((status = 201, body = Absence), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/users/{id}/absences")]
pub async fn add_absence(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<AbsenceBody>,
) -> AppResult<HttpResponse> {
    let target = id.into_inner();
    let b = body.into_inner();
    let (from, to) = (parse_day("from", &b.from)?, parse_day("to", &b.to)?);
    if to < from {
        return Err(AppError::field("to", Msg::new("field-to-before-from")));
    }
    if b.reason.trim().is_empty() {
        return Err(AppError::field("reason", Msg::new("field-absence-reason")));
    }
    let created = db(&state, move |conn, _| {
        let (from, to) = (from.to_string(), to.to_string());
        let id = crate::service::assignment::add_absence(
            conn,
            &user.0,
            target,
            (&from, &to),
            b.reason.trim(),
            store::now_ms(),
        )?;
        Ok(Absence {
            id,
            from: from.to_string(),
            to: to.to_string(),
            reason: b.reason.trim().to_string(),
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// Cases opened at or after this time (ms since the epoch).
    pub from: i64,
    /// Cases opened before this time (ms since the epoch).
    pub to: i64,
}

/// Reviewer and team performance over the cases opened in a period, in your region: cases
/// closed, median working time per stage, SLA compliance, and how often a recommendation
/// was overturned at the next stage. Staff only; teams are organisations.
#[utoipa::path(get, path = "/api/reports/reviewers", tag = "reports", security(("bearer" = [])), params(MetricsQuery),
    responses((status = 200, body = ReviewerMetrics), (status = 403, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[get("/api/reports/reviewers")]
pub async fn reviewer_metrics(
    state: State,
    user: AuthUser,
    q: web::Query<MetricsQuery>,
) -> AppResult<HttpResponse> {
    user.0
        .require_any(&[Role::Supervisor, Role::Auditor, Role::Admin])?;
    let MetricsQuery { from, to } = q.into_inner();
    if to <= from {
        return Err(AppError::field("to", Msg::new("field-to-after-from")));
    }
    let report = crate::http::db_read(&state, move |conn, env| {
        reviewer_report(conn, env.defs, &user.0, from, to)
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    pub case_id: Option<i64>,
    /// 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxItem {
    pub id: i64,
    pub template: String,
    pub lang: String,
    pub to: String,
    pub subject: String,
    pub case_id: Option<i64>,
    /// pending, sent or failed
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// The mail outbox, newest first: what was sent, what waits, what failed and why. Admins
/// and auditors only, and only the letters about cases in their region subtree.
#[utoipa::path(get, path = "/api/admin/outbox", tag = "admin", security(("bearer" = [])), params(OutboxQuery),
    responses((status = 200, body = [OutboxItem]), (status = 403, body = crate::http::errors::ErrorBody)))]
#[get("/api/admin/outbox")]
pub async fn list_outbox(
    state: State,
    user: AuthUser,
    q: web::Query<OutboxQuery>,
) -> AppResult<HttpResponse> {
    user.0.require_any(&[Role::Admin, Role::Auditor])?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::field(
            "limit",
            Msg::new("field-between").count("min", 1).count("max", 500),
        ));
    }
    let case_id = q.case_id;
    let rows = db(&state, move |conn, _| {
        crate::service::views::audit::outbox(conn, &user.0, case_id, limit)
    })
    .await?;
    let items: Vec<OutboxItem> = rows
        .into_iter()
        .map(|r| OutboxItem {
            id: r.id,
            template: r.template,
            lang: r.lang,
            to: r.to_addr,
            subject: r.subject,
            case_id: r.case_id,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            created_at: r.created_at,
            sent_at: r.sent_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(items))
}
