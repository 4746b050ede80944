//! Signing in and the sessions behind tokens: a password checked against its argon2id hash,
//! a server-side session per sign-in, and the principal each request reads afresh from the
//! database (current roles, region, enabled state), so that ending a session, disabling a
//! user or changing their roles, region or password takes effect at once on every instance.
use crate::auth::{hash_password, verify_password, Principal};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::store::users;
use crate::store::{sessions, DbConn};
use std::sync::OnceLock;

/// The shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks a password; on success builds the principal the token will carry. A disabled user
/// is refused like a wrong password.
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
        (Some(u), true) if u.disabled_at.is_none() => u,
        _ => {
            return Err(AppError::Unauthorized(
                "invalid username or password".into(),
            ))
        }
    };
    crate::service::principal(conn, user)
}

/// Opens a server-side session for a principal that just signed in, lasting `ttl_ms`.
pub fn open_session(
    conn: &mut DbConn,
    p: &mut Principal,
    now_ms: i64,
    ttl_ms: i64,
) -> AppResult<()> {
    let id = hex::encode(rand::random::<[u8; 32]>());
    sessions::insert(conn, &id, p.user_id, now_ms, now_ms + ttl_ms)?;
    p.session_id = id;
    Ok(())
}

fn ended() -> AppError {
    AppError::Unauthorized("your session has ended: sign in again".into())
}

/// The principal of a request whose token `claimed` verified: its session must be live and
/// its user enabled; roles and region are read now, not trusted from the token.
pub fn current(conn: &mut DbConn, claimed: &Principal, now_ms: i64) -> AppResult<Principal> {
    if claimed.session_id.is_empty() {
        return Err(ended());
    }
    let user_id = sessions::live_user(conn, &claimed.session_id, now_ms)?.ok_or_else(ended)?;
    if user_id != claimed.user_id {
        return Err(ended());
    }
    let user = users::get(conn, user_id)?.ok_or_else(ended)?;
    let mut p = crate::service::principal(conn, user)?;
    p.session_id.clone_from(&claimed.session_id);
    Ok(p)
}

/// Signing out: the session ends at once, on every instance.
pub fn end_session(conn: &mut DbConn, p: &Principal, now_ms: i64) -> AppResult<()> {
    sessions::revoke(conn, &p.session_id, now_ms, "signed out")?;
    Ok(())
}

/// What an administrator changes about an account; each change ends the account's sessions.
pub enum AccountChange<'a> {
    Disable,
    RolesAndRegion {
        roles: &'a [Role],
        region_code: &'a str,
    },
    Password(&'a str),
}

/// Applies an administrator's change to an account and ends all its sessions, in one
/// transaction. Returns how many sessions ended.
pub fn change_account(
    conn: &mut DbConn,
    admin: &Principal,
    user_id: i64,
    change: &AccountChange<'_>,
    now_ms: i64,
) -> AppResult<usize> {
    admin.require_any(&[Role::Admin])?;
    conn.write_tx(|conn| {
        let user = users::get(conn, user_id)?
            .ok_or_else(|| AppError::NotFound(format!("user {user_id}")))?;
        // An admin manages the accounts of their own region subtree only, and moves none out
        // of it; one outside reads like an unknown one.
        let within = |conn: &mut DbConn, code: &str| -> AppResult<bool> {
            Ok(crate::store::regions::get(conn, code)?
                .is_some_and(|r| admin.covers_region(&r.path)))
        };
        if !within(conn, &user.region_code)? {
            return Err(AppError::NotFound(format!("user {user_id}")));
        }
        let reason = match change {
            AccountChange::Disable => {
                users::disable(conn, user_id, now_ms)?;
                "user disabled"
            }
            AccountChange::RolesAndRegion { roles, region_code } => {
                if !within(conn, region_code)? {
                    return Err(AppError::field(
                        "region_code",
                        format!("`{region_code}` is not a region within yours"),
                    ));
                }
                users::set_roles_and_region(conn, user_id, roles, region_code)?;
                "roles or region changed"
            }
            AccountChange::Password(password) => {
                if password.chars().count() < MIN_PASSWORD_CHARS {
                    return Err(AppError::field(
                        "password",
                        format!("the password must be at least {MIN_PASSWORD_CHARS} characters"),
                    ));
                }
                users::set_password_hash(conn, user_id, &hash_password(password)?)?;
                "password reset"
            }
        };
        Ok(sessions::revoke_all(conn, user_id, now_ms, reason)?)
    })
}
