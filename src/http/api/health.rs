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
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        calendar_missing_years: Vec::new(),
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
    Ok(HttpResponse::Ok().json(Health {
        status: "ready",
        calendar_missing_years,
    }))
}
