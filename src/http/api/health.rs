use crate::error::{AppError, AppResult};
use crate::http::{db, State};
use actix_web::{get, HttpResponse};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    /// Years (this one and the next) for which the working calendar lists no holidays: SLA
    /// clocks still run, on plain working days.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calendar_missing_years: Vec<i32>,
    /// With `database_read_url`: whether listings, reports and the audit search read the
    /// replica now. A lagging or unreachable replica leaves the app ready (the primary
    /// serves those reads), so it is reported, not failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_replica: Option<ReplicaHealth>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReplicaHealth {
    /// `in_use`, `lagging` (reads go to the primary) or `unreachable` (likewise).
    pub state: &'static str,
    /// The last measured lag in ms; -1 when unreachable.
    pub lag_ms: i64,
    pub max_lag_ms: i64,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        calendar_missing_years: Vec::new(),
        read_replica: None,
    })
}

/// Readiness: the database answers and no migration is pending.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = Health), (status = 503, body = crate::http::errors::ErrorBody)))]
#[get("/readyz")]
pub async fn readyz(state: State) -> AppResult<HttpResponse> {
    let pending = db(&state, |conn, _| {
        conn.migrations_pending()
            .map_err(|e| AppError::Unavailable(e.to_string()))
    })
    .await?;
    if pending {
        return Err(AppError::Unavailable(
            "database migrations are pending; run `claimflow migrate`".into(),
        ));
    }
    let calendar_missing_years = state.defs.calendar_missing_years(crate::store::now_ms());
    let read_replica = state.reads.status().map(|r| ReplicaHealth {
        state: r.state.as_str(),
        lag_ms: r.lag_ms,
        max_lag_ms: r.max_lag_ms,
    });
    Ok(HttpResponse::Ok().json(Health {
        status: "ready",
        calendar_missing_years,
        read_replica,
    }))
}
