//! The authentication extractor: a Bearer token (API) or the session cookie (browser), both
//! carrying the same JWT. The token's signature, algorithm and expiry are checked here; then
//! its server-side session, and the user's current roles and region, in the database
//! (`service::auth::current`). No token, a bad one or an ended session is 401; role and
//! region checks follow in the handler or service and are 403.
use super::State;
use crate::auth::Principal;
use crate::error::AppError;
use crate::error::Msg;
use crate::service::auth::Access;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

pub const SESSION_COOKIE: &str = "claimflow_session";

pub struct AuthUser(pub Principal);

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<AuthUser, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = principal_of(req, Access::Full);
        Box::pin(async move { Ok(AuthUser(principal.await?)) })
    }
}

/// A signed-in user changing their own password: the one thing a session opens while an
/// administrator's reset is pending.
pub struct PasswordChanger(pub Principal);

impl FromRequest for PasswordChanger {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<PasswordChanger, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = principal_of(req, Access::PasswordChange);
        Box::pin(async move { Ok(PasswordChanger(principal.await?)) })
    }
}

/// The request's principal as it stands now, for what its session may open.
fn principal_of(
    req: &HttpRequest,
    access: Access,
) -> LocalBoxFuture<'static, Result<Principal, AppError>> {
    let claimed = state_of(req).and_then(|state| Ok((state, claimed(req)?)));
    Box::pin(async move {
        let (state, claimed) = claimed?;
        live_for(&state, claimed, access).await
    })
}

fn state_of(req: &HttpRequest) -> Result<State, AppError> {
    req.app_data::<State>()
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state missing")))
}

/// The principal the request's token claims, its signature and expiry checked.
fn claimed(req: &HttpRequest) -> Result<Principal, AppError> {
    let state = state_of(req)?;
    let header = req.headers().get(actix_web::http::header::AUTHORIZATION);
    let token = match header {
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| AppError::Unauthorized(Msg::new("auth-header-malformed")))?;
            value
                .strip_prefix("Bearer ")
                .ok_or_else(|| AppError::Unauthorized(Msg::new("auth-bearer-expected")))?
                .to_string()
        }
        None => req
            .cookie(SESSION_COOKIE)
            .map(|c| c.value().to_string())
            .ok_or_else(|| AppError::Unauthorized(Msg::new("auth-no-token")))?,
    };
    state.keys.verify(&token)
}

/// The claimed principal as it stands now: a live session, the user's current roles and
/// region.
pub async fn live(state: &State, claimed: Principal) -> Result<Principal, AppError> {
    live_for(state, claimed, Access::Full).await
}

pub async fn live_for(
    state: &State,
    claimed: Principal,
    access: Access,
) -> Result<Principal, AppError> {
    super::db(state, move |conn, _| {
        crate::service::auth::current(conn, &claimed, crate::store::now_ms(), access)
    })
    .await
}

/// Signs in through the throttle and opens a session: the one way in for the API and the
/// sign-in page alike.
pub async fn sign_in(
    state: &State,
    req: &HttpRequest,
    username: String,
    password: String,
) -> Result<Principal, AppError> {
    let ttl_ms = state.keys.ttl_seconds() * 1000;
    let (address, policy) = (super::client_addr(req), state.config.login);
    super::db(state, move |conn, _| {
        let attempt = crate::service::auth::Attempt {
            username: &username,
            password: &password,
            address: &address,
            now_ms: crate::store::now_ms(),
            ttl_ms,
        };
        crate::service::auth::sign_in(conn, &policy, &attempt)
    })
    .await
}
