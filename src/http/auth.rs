//! The authentication extractor: a Bearer token (API) or the session cookie (browser), both
//! carrying the same JWT. No token or a bad one is 401; role and region checks follow in
//! the handler or service and are 403.
use super::State;
use crate::auth::Principal;
use crate::error::AppError;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use std::future::{ready, Ready};

pub const SESSION_COOKIE: &str = "claimflow_session";

pub struct AuthUser(pub Principal);

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Ready<Result<AuthUser, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(AuthUser))
    }
}

pub fn authenticate(req: &HttpRequest) -> Result<Principal, AppError> {
    let state = req
        .app_data::<State>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state missing")))?;
    let header = req.headers().get(actix_web::http::header::AUTHORIZATION);
    let token = match header {
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| AppError::Unauthorized("malformed Authorization header".into()))?;
            value
                .strip_prefix("Bearer ")
                .ok_or_else(|| {
                    AppError::Unauthorized("expected `Authorization: Bearer <token>`".into())
                })?
                .to_string()
        }
        None => req
            .cookie(SESSION_COOKIE)
            .map(|c| c.value().to_string())
            .ok_or_else(|| AppError::Unauthorized("sign in first: no token was sent".into()))?,
    };
    state.keys.verify(&token)
}
