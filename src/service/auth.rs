//! Signing in: a password checked against its argon2id hash, and the principal a session
//! carries.
use crate::auth::{hash_password, verify_password, Principal};
use crate::error::{AppError, AppResult};
use crate::store::users;
use crate::store::DbConn;
use std::sync::OnceLock;

/// Checks a password; on success builds the principal the token will carry.
pub fn check_login(conn: &mut DbConn, username: &str, password: &str) -> AppResult<Principal> {
    // Verify against a fixed hash when the user is unknown, so timing does not reveal names.
    static DUMMY: OnceLock<String> = OnceLock::new();
    let user = users::find_by_username(conn, username)?;
    let hash = match &user {
        Some(u) => u.password_hash.as_str(),
        None => DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default()),
    };
    let ok = verify_password(hash, password);
    let user = match (user, ok) {
        (Some(u), true) => u,
        _ => {
            return Err(AppError::Unauthorized(
                "invalid username or password".into(),
            ))
        }
    };
    crate::service::principal(conn, user)
}
