//! Accounts for admins: disabling a user, changing their roles and region, resetting their
//! password. Each ends the user's sessions at once, on every instance.
use crate::error::AppResult;
use crate::http::auth::AuthUser;
use crate::http::{db, State};
use crate::service::auth::{change_account, parse_roles, AccountChange};
use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    /// How many live sessions of the user ended.
    pub sessions_ended: usize,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    /// The user's roles from now on (at least one).
    pub roles: Vec<String>,
    /// The user's region from now on.
    pub region_code: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// At least 8 characters.
    pub password: String,
}

async fn apply(
    state: State,
    user: AuthUser,
    id: i64,
    change: impl FnOnce() -> AppResult<AccountChange> + Send + 'static,
) -> AppResult<HttpResponse> {
    let ended = db(&state, move |conn, _| {
        let owned = change()?;
        change_account(conn, &user.0, id, &owned, crate::store::now_ms())
    })
    .await?;
    Ok(HttpResponse::Ok().json(SessionsEnded {
        sessions_ended: ended,
    }))
}

/// Disables a user: they sign in no more, and their sessions end.
#[utoipa::path(post, path = "/api/admin/users/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = SessionsEnded), (status = 401, body = crate::http::errors::ErrorBody), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[post("/api/admin/users/{id}/disable")]
pub async fn disable_user(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    apply(state, user, id.into_inner(), || Ok(AccountChange::Disable)).await
}

/// Replaces a user's roles and region; their sessions end, so the next sign-in carries them.
#[utoipa::path(put, path = "/api/admin/users/{id}/roles", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "user id")), request_body = RolesBody,
    responses((status = 200, body = SessionsEnded), (status = 401, body = crate::http::errors::ErrorBody), (status = 403, body = crate::http::errors::ErrorBody),
        (status = 404, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[put("/api/admin/users/{id}/roles")]
pub async fn set_roles(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<RolesBody>,
) -> AppResult<HttpResponse> {
    let RolesBody { roles, region_code } = body.into_inner();
    apply(state, user, id.into_inner(), move || {
        Ok(AccountChange::RolesAndRegion {
            roles: parse_roles(&roles)?,
            region_code: region_code.trim().to_string(),
        })
    })
    .await
}

/// Enables a disabled user: they may sign in again.
#[utoipa::path(post, path = "/api/admin/users/{id}/enable", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = SessionsEnded), (status = 401, body = crate::http::errors::ErrorBody), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[post("/api/admin/users/{id}/enable")]
pub async fn enable_user(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    apply(state, user, id.into_inner(), || Ok(AccountChange::Enable)).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonLinkBody {
    /// The insured person's ID number, in the admin's region.
    pub id_number: String,
}

/// Links a resident account to the insured person with this ID number: the resident then
/// files and sees that person's claims. A person belongs to one account.
#[utoipa::path(put, path = "/api/admin/users/{id}/person", tag = "admin", security(("bearer" = [])), request_body = PersonLinkBody,
    params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = SessionsEnded), (status = 401, body = crate::http::errors::ErrorBody), (status = 403, body = crate::http::errors::ErrorBody),
        (status = 404, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[put("/api/admin/users/{id}/person")]
pub async fn link_person(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<PersonLinkBody>,
) -> AppResult<HttpResponse> {
    let id_number = body.into_inner().id_number;
    apply(state, user, id.into_inner(), move || {
        Ok(AccountChange::LinkPerson(id_number))
    })
    .await
}

/// An account as its administrator sees it: state, roles, linked person and history.
#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = crate::service::auth::AccountView), (status = 401, body = crate::http::errors::ErrorBody), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/admin/users/{id}")]
pub async fn account(state: State, user: AuthUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (id, policy) = (id.into_inner(), state.config.login);
    let view = db(&state, move |conn, _| {
        crate::service::auth::account_view(conn, &user.0, id, &policy, crate::store::now_ms())
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnPasswordBody {
    pub current_password: String,
    /// At least 8 characters, other than the current one.
    pub password: String,
}

/// Changes the caller's own password; their other sessions end. After an administrator's
/// reset this is the one call the session may make.
#[utoipa::path(post, path = "/api/me/password", tag = "auth", security(("bearer" = [])), request_body = OwnPasswordBody,
    responses((status = 204, description = "changed"), (status = 401, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody),
        (status = 429, description = "too many wrong current passwords; see Retry-After", body = crate::http::errors::ErrorBody)))]
#[post("/api/me/password")]
pub async fn change_own_password(
    state: State,
    user: crate::http::auth::PasswordChanger,
    body: web::Json<OwnPasswordBody>,
) -> AppResult<HttpResponse> {
    let OwnPasswordBody {
        current_password,
        password,
    } = body.into_inner();
    let policy = state.config.login;
    db(&state, move |conn, _| {
        crate::service::auth::change_own_password(
            conn,
            &policy,
            &user.0,
            &current_password,
            &password,
            crate::store::now_ms(),
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Resets a user's password; their sessions end.
#[utoipa::path(post, path = "/api/admin/users/{id}/password", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "user id")), request_body = PasswordBody,
    responses((status = 200, body = SessionsEnded), (status = 401, body = crate::http::errors::ErrorBody), (status = 403, body = crate::http::errors::ErrorBody),
        (status = 404, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/admin/users/{id}/password")]
pub async fn reset_password(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<PasswordBody>,
) -> AppResult<HttpResponse> {
    let password = body.into_inner().password;
    apply(state, user, id.into_inner(), move || {
        Ok(AccountChange::Password(password))
    })
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Lifted {
    /// Whether the account had failures to forget.
    pub lifted: bool,
}

/// Lifts an account's sign-in lockout and back-off, and those of the addresses it failed
/// from lately.
#[utoipa::path(delete, path = "/api/admin/lockouts/{username}", tag = "admin", security(("bearer" = [])),
    params(("username" = String, Path, description = "the account")),
    responses((status = 200, body = Lifted), (status = 401, body = crate::http::errors::ErrorBody), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[delete("/api/admin/lockouts/{username}")]
pub async fn lift_lockout(
    state: State,
    user: AuthUser,
    username: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (username, policy) = (username.into_inner(), state.config.login);
    let lifted = db(&state, move |conn, _| {
        let now = crate::store::now_ms();
        crate::service::auth::lift_lockout(conn, &user.0, &username, &policy, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Lifted { lifted }))
}
