use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::auth::AuthUser;
use crate::http::{db, State};
use crate::service::auth::check_login;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    /// Seconds since the epoch.
    pub expires_at: i64,
    pub user: Principal,
}

/// Exchanges a username and password for a signed token.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::http::errors::ErrorBody)))]
#[post("/api/auth/login")]
pub async fn login(state: State, body: web::Json<LoginRequest>) -> AppResult<HttpResponse> {
    let LoginRequest { username, password } = body.into_inner();
    let principal = db(&state, move |conn, _| {
        check_login(conn, &username, &password)
    })
    .await?;
    let now = chrono::Utc::now().timestamp();
    let token = state.keys.issue(&principal, now)?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        token,
        expires_at: now + state.keys.ttl_seconds(),
        user: principal,
    }))
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Principal), (status = 401, body = crate::http::errors::ErrorBody)))]
#[get("/api/me")]
pub async fn me(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(user.0)
}
