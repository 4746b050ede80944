use crate::auth::Principal;
use crate::error::AppResult;
use crate::http::auth::AuthUser;
use crate::http::{db, State};
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
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::http::errors::ErrorBody),
        (status = 429, description = "too many attempts for this account or address; see Retry-After", body = crate::http::errors::ErrorBody)))]
#[post("/api/auth/login")]
pub async fn login(
    state: State,
    req: actix_web::HttpRequest,
    body: web::Json<LoginRequest>,
) -> AppResult<HttpResponse> {
    let LoginRequest { username, password } = body.into_inner();
    let principal = crate::http::auth::sign_in(&state, &req, username, password).await?;
    let now = chrono::Utc::now().timestamp();
    let token = state.keys.issue(&principal, now)?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        token,
        expires_at: now + state.keys.ttl_seconds(),
        user: principal,
    }))
}

/// Signs out: the token's session ends at once, on every instance; the token opens nothing
/// afterwards.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "the session has ended"), (status = 401, body = crate::http::errors::ErrorBody)))]
#[post("/api/auth/logout")]
pub async fn logout(
    state: State,
    user: crate::http::auth::PasswordChanger,
) -> AppResult<HttpResponse> {
    db(&state, move |conn, _| {
        crate::service::auth::end_session(conn, &user.0, crate::store::now_ms())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Principal), (status = 401, body = crate::http::errors::ErrorBody)))]
#[get("/api/me")]
pub async fn me(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(user.0)
}
