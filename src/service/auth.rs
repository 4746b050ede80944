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

/// One sign-in attempt, from a client address.
pub struct Attempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub address: &'a str,
    pub now_ms: i64,
    /// How long the session it opens lasts.
    pub ttl_ms: i64,
}

fn throttle_keys(a: &Attempt<'_>) -> [String; 2] {
    [
        format!("user:{}", a.username.trim().to_lowercase()),
        format!("addr:{}", a.address),
    ]
}

/// Signs in under the throttle: while the account or the address must wait, even the right
/// password is refused with 429 and the wait; each failure counts against both, a success
/// clears the account's count. Every attempt is logged with its address. The password is
/// checked outside any write transaction, so that argon2 never holds the write lock.
pub fn sign_in(
    conn: &mut DbConn,
    policy: &crate::domain::throttle::LoginPolicy,
    a: &Attempt<'_>,
) -> AppResult<Principal> {
    use crate::store::logins;
    let keys = throttle_keys(a);
    let attempt = |user_id, outcome| crate::domain::trail::SignIn {
        at_ms: a.now_ms,
        username: a.username,
        user_id,
        address: a.address,
        outcome,
    };
    let mut wait_ms = 0;
    for key in &keys {
        wait_ms = wait_ms.max(policy.wait_ms(logins::failures(conn, key)?, a.now_ms));
    }
    if wait_ms > 0 {
        logins::record(conn, &attempt(None, "throttled"))?;
        tracing::warn!(
            username = a.username,
            address = a.address,
            wait_ms,
            "sign-in throttled"
        );
        return Err(AppError::Throttled {
            retry_after_secs: (wait_ms + 999) / 1000,
        });
    }
    match check_login(conn, a.username, a.password) {
        Ok(mut p) => {
            conn.write_tx(|conn| {
                logins::clear(conn, &keys[0])?;
                logins::record(conn, &attempt(Some(p.user_id), "succeeded"))?;
                open_session(conn, &mut p, a.now_ms, a.ttl_ms)
            })?;
            Ok(p)
        }
        Err(AppError::Unauthorized(why)) => {
            conn.write_tx(|conn| -> AppResult<()> {
                for key in &keys {
                    let next = policy.after_failure(logins::failures(conn, key)?, a.now_ms);
                    logins::set_failures(conn, key, next)?;
                }
                logins::record(conn, &attempt(None, "failed"))?;
                Ok(())
            })?;
            tracing::info!(username = a.username, address = a.address, "sign-in failed");
            Err(AppError::Unauthorized(why))
        }
        Err(e) => Err(e),
    }
}

/// An admin lifts an account's sign-in lockout, and that of the addresses it failed from
/// within the window.
pub fn lift_lockout(
    conn: &mut DbConn,
    admin: &Principal,
    username: &str,
    policy: &crate::domain::throttle::LoginPolicy,
    now_ms: i64,
) -> AppResult<bool> {
    admin.require_any(&[Role::Admin])?;
    let user = users::find_by_username(conn, username)?
        .ok_or_else(|| AppError::NotFound(format!("user {username}")))?;
    let path = crate::store::regions::get(conn, &user.region_code)?.map(|r| r.path);
    if !path.is_some_and(|p| admin.covers_region(&p)) {
        return Err(AppError::NotFound(format!("user {username}")));
    }
    conn.write_tx(|conn| {
        let key = format!("user:{}", username.trim().to_lowercase());
        let lifted = crate::store::logins::clear(conn, &key)? == 1;
        // The addresses this account failed from lately are let go too: the user mistyped
        // at their own desk, and the admin vouches for them.
        let since = now_ms - policy.window_minutes * 60_000;
        for address in crate::store::logins::failed_addresses(conn, username, since)? {
            crate::store::logins::clear(conn, &format!("addr:{address}"))?;
        }
        Ok(lifted)
    })
}
