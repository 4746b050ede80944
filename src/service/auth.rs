//! Signing in and the sessions behind tokens: a password checked against its argon2id hash,
//! a server-side session per sign-in, and the principal each request reads afresh from the
//! database (current roles, region, enabled state), so that ending a session, disabling a
//! user or changing their roles, region or password takes effect at once on every instance.
use crate::auth::{hash_password, verify_password, Principal};
use crate::domain::roles::Role;
use crate::error::Msg;
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
        _ => return Err(AppError::Unauthorized(Msg::new("auth-bad-login"))),
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
    AppError::Unauthorized(Msg::new("auth-session-ended"))
}

/// What a session opens: everything, or, after an administrator reset the password, only
/// the user's own password change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Full,
    PasswordChange,
}

/// The refusal of a session whose password an administrator reset, until it is changed.
pub fn change_required() -> AppError {
    AppError::rule_msg(
        crate::error::RuleKind::Forbidden,
        "password_change_required",
        Msg::new("rule-password-change-required"),
    )
}

/// The principal of a request whose token `claimed` verified: its session must be live and
/// its user enabled; roles and region are read now, not trusted from the token.
pub fn current(
    conn: &mut DbConn,
    claimed: &Principal,
    now_ms: i64,
    access: Access,
) -> AppResult<Principal> {
    if claimed.session_id.is_empty() {
        return Err(ended());
    }
    let user_id = sessions::live_user(conn, &claimed.session_id, now_ms)?.ok_or_else(ended)?;
    if user_id != claimed.user_id {
        return Err(ended());
    }
    let user = users::get(conn, user_id)?.ok_or_else(ended)?;
    if user.password_reset_at.is_some() && access == Access::Full {
        return Err(change_required());
    }
    let mut p = crate::service::principal(conn, user)?;
    p.session_id.clone_from(&claimed.session_id);
    Ok(p)
}

fn too_short() -> AppError {
    AppError::rule_on_msg(
        "password",
        "password_too_short",
        Msg::new("rule-password-too-short")
            .text("MIN_PASSWORD_CHARS", MIN_PASSWORD_CHARS.to_string()),
    )
}

/// The user's own password change: the current password, then a new one of at least
/// `MIN_PASSWORD_CHARS` that differs from it. Ends the user's other sessions and lifts an
/// administrator's reset. A wrong current password counts against the account's sign-in
/// throttle, so that a borrowed session cannot guess the password faster than the sign-in
/// form; argon2 runs outside the write transaction.
pub fn change_own_password(
    conn: &mut DbConn,
    policy: &crate::domain::throttle::LoginPolicy,
    p: &Principal,
    current_password: &str,
    new_password: &str,
    now_ms: i64,
) -> AppResult<()> {
    use crate::store::logins;
    let key = format!("user:{}", p.username.trim().to_lowercase());
    let wait_ms = policy.wait_ms(logins::failures(conn, &key)?, now_ms);
    if wait_ms > 0 {
        return Err(AppError::Throttled {
            retry_after_secs: (wait_ms + 999) / 1000,
        });
    }
    let user = users::get(conn, p.user_id)?.ok_or_else(ended)?;
    if !verify_password(&user.password_hash, current_password) {
        conn.write_tx(|conn| -> AppResult<()> {
            let next = policy.after_failure(logins::failures(conn, &key)?, now_ms);
            logins::set_failures(conn, &key, next)?;
            Ok(())
        })?;
        return Err(AppError::rule_on_msg(
            "current_password",
            "password_wrong",
            Msg::new("rule-password-wrong"),
        ));
    }
    if new_password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(too_short());
    }
    if new_password == current_password {
        return Err(AppError::rule_on_msg(
            "password",
            "password_unchanged",
            Msg::new("rule-password-unchanged"),
        ));
    }
    let hash = hash_password(new_password)?;
    conn.write_tx(|conn| {
        // Only over the hash that was checked: a concurrent change wins, this one retries.
        if users::set_password_over(conn, p.user_id, &user.password_hash, &hash)? != 1 {
            return Err(AppError::rule_msg(
                crate::error::RuleKind::Conflict,
                "password_changed_meanwhile",
                Msg::new("rule-password-changed-meanwhile"),
            ));
        }
        logins::clear(conn, &key)?;
        sessions::revoke_others(conn, p.user_id, &p.session_id, now_ms, "password changed")?;
        Ok(())
    })
}

/// Signing out: the session ends at once, on every instance.
pub fn end_session(conn: &mut DbConn, p: &Principal, now_ms: i64) -> AppResult<()> {
    sessions::revoke(conn, &p.session_id, now_ms, "signed out")?;
    Ok(())
}

/// What an administrator changes about an account. Each is recorded in the account's
/// history; those that change what a session may do end the account's sessions.
pub enum AccountChange {
    Disable,
    Enable,
    RolesAndRegion {
        roles: Vec<Role>,
        region_code: String,
    },
    /// A password the user must change at their next sign-in.
    Password(String),
    /// Links a resident account to the insured person with this ID number.
    LinkPerson(String),
}

/// Roles by name, at least one; each name one the system knows.
pub fn parse_roles(names: &[String]) -> AppResult<Vec<Role>> {
    let roles = names
        .iter()
        .map(|r| {
            r.parse::<Role>().map_err(|_| {
                AppError::rule_on_msg(
                    "roles",
                    "role_unknown",
                    Msg::new("rule-role-unknown").text("value", r.to_string()),
                )
            })
        })
        .collect::<AppResult<Vec<Role>>>()?;
    if roles.is_empty() {
        return Err(AppError::rule_on_msg(
            "roles",
            "roles_empty",
            Msg::new("rule-roles-empty"),
        ));
    }
    Ok(roles)
}

/// Applies an administrator's change to an account, records it, and ends the sessions it
/// must end, in one transaction. Returns how many sessions ended.
pub fn change_account(
    conn: &mut DbConn,
    admin: &Principal,
    user_id: i64,
    change: &AccountChange,
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
        let (action, detail, end_sessions) = match change {
            AccountChange::Disable => {
                if user_id == admin.user_id {
                    return Err(AppError::rule_msg(
                        crate::error::RuleKind::Conflict,
                        "disable_self",
                        Msg::new("rule-disable-self"),
                    ));
                }
                users::disable(conn, user_id, now_ms)?;
                ("disabled", serde_json::json!({}), true)
            }
            AccountChange::Enable => {
                users::enable(conn, user_id)?;
                ("enabled", serde_json::json!({}), false)
            }
            AccountChange::RolesAndRegion { roles, region_code } => {
                if !within(conn, region_code)? {
                    return Err(AppError::rule_on_msg(
                        "region_code",
                        "region_outside",
                        Msg::new("rule-region-outside")
                            .text("region_code", region_code.to_string()),
                    ));
                }
                users::set_roles_and_region(conn, user_id, roles, region_code)?;
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                (
                    "roles_changed",
                    serde_json::json!({"roles": names, "region_code": region_code}),
                    true,
                )
            }
            AccountChange::Password(password) => {
                if password.chars().count() < MIN_PASSWORD_CHARS {
                    return Err(too_short());
                }
                users::set_password(conn, user_id, &hash_password(password)?, Some(now_ms))?;
                ("password_reset", serde_json::json!({}), true)
            }
            AccountChange::LinkPerson(id_number) => {
                let person = link_person(conn, admin, user_id, id_number)?;
                (
                    "person_linked",
                    serde_json::json!({"person_id": person}),
                    false,
                )
            }
        };
        users::record_event(
            conn,
            admin.user_id,
            user_id,
            action,
            &detail.to_string(),
            now_ms,
        )?;
        if end_sessions {
            Ok(sessions::revoke_all(conn, user_id, now_ms, action)?)
        } else {
            Ok(0)
        }
    })
}

/// Links a resident account to the person with `id_number` in the admin's region, unless
/// another account holds that person; the account's earlier link, if any, is dropped.
fn link_person(
    conn: &mut DbConn,
    admin: &Principal,
    user_id: i64,
    id_number: &str,
) -> AppResult<i64> {
    if !users::roles_of(conn, user_id)?.contains(&Role::Resident) {
        return Err(AppError::rule_on_msg(
            "id_number",
            "link_not_resident",
            Msg::new("rule-link-not-resident"),
        ));
    }
    let id_number = id_number.trim().to_uppercase();
    let unknown = || {
        AppError::rule_on_msg(
            "id_number",
            "person_unknown",
            Msg::new("rule-person-unknown").text("id_number", id_number.to_string()),
        )
    };
    let person = crate::store::persons::by_id_number(conn, &id_number)?.ok_or_else(unknown)?;
    let path = crate::store::regions::get(conn, &person.region_code)?.map(|r| r.path);
    if !path.is_some_and(|p| admin.covers_region(&p)) {
        return Err(unknown());
    }
    if users::link_person(conn, user_id, person.id)? != 1 {
        return Err(AppError::rule_on_msg(
            "id_number",
            "person_linked",
            Msg::new("rule-person-linked"),
        ));
    }
    users::unlink_others(conn, user_id, person.id)?;
    Ok(person.id)
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
        users::record_event(conn, admin.user_id, user.id, "unlocked", "{}", now_ms)?;
        // The addresses this account failed from lately are let go too: the user mistyped
        // at their own desk, and the admin vouches for them.
        let since = now_ms - policy.window_minutes * 60_000;
        for address in crate::store::logins::failed_addresses(conn, username, since)? {
            crate::store::logins::clear(conn, &format!("addr:{address}"))?;
        }
        Ok(lifted)
    })
}

/// An account as its administrator sees it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub region_code: String,
    pub org: String,
    pub roles: Vec<String>,
    pub disabled_at: Option<i64>,
    /// An administrator reset the password and the user has not changed it yet.
    pub password_reset_at: Option<i64>,
    /// Sign-in is refused for this many more milliseconds after failed attempts.
    pub locked_for_ms: i64,
    /// The insured person a resident account is linked to: (person id, name, masked ID).
    pub person: Option<(i64, String, String)>,
    /// What administrators changed, newest first, with who did it.
    pub events: Vec<(users::AccountEvent, String)>,
}

/// An account in the admin's region subtree, with its history; one outside reads as unknown.
pub fn account_view(
    conn: &mut DbConn,
    admin: &Principal,
    user_id: i64,
    policy: &crate::domain::throttle::LoginPolicy,
    now_ms: i64,
) -> AppResult<AccountView> {
    admin.require_any(&[Role::Admin])?;
    let unknown = || AppError::NotFound(format!("user {user_id}"));
    let user = users::get(conn, user_id)?.ok_or_else(unknown)?;
    let path = crate::store::regions::get(conn, &user.region_code)?.map(|r| r.path);
    if !path.is_some_and(|p| admin.covers_region(&p)) {
        return Err(unknown());
    }
    let key = format!("user:{}", user.username.trim().to_lowercase());
    let locked_for_ms = policy.wait_ms(crate::store::logins::failures(conn, &key)?, now_ms);
    let person = crate::store::persons::by_user(conn, user_id)?.map(|p| {
        let masked = crate::domain::person::IdNumber::parse(&p.id_number)
            .map_or_else(|_| String::new(), |n| n.masked());
        (p.id, p.name, masked)
    });
    let mut events = Vec::new();
    for e in users::events_of(conn, user_id)? {
        let by = users::get(conn, e.admin_user_id)?.map_or_else(String::new, |u| u.username);
        events.push((e, by));
    }
    Ok(AccountView {
        id: user.id,
        roles: users::roles_of(conn, user_id)?
            .iter()
            .map(|r| r.as_str().to_string())
            .collect(),
        username: user.username,
        display_name: user.display_name,
        region_code: user.region_code,
        org: user.org,
        disabled_at: user.disabled_at,
        password_reset_at: user.password_reset_at,
        locked_for_ms,
        person,
        events,
    })
}
