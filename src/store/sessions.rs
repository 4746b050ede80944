//! Server-side sessions. A token names its session; a session that was revoked or has
//! expired, or whose user was disabled, opens nothing.
use super::schema::{sessions, users};
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;

pub fn insert(
    conn: &mut DbConn,
    id: &str,
    user_id: i64,
    now_ms: i64,
    expires_at: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(sessions::table)
        .values((sessions::id.eq(id), sessions::user_id.eq(user_id), sessions::created_at.eq(now_ms), sessions::expires_at.eq(expires_at)))
        .execute(c))
}

/// The user of a live session: not revoked, not expired, and the user not disabled.
pub fn live_user(conn: &mut DbConn, id: &str, now_ms: i64) -> QueryResult<Option<i64>> {
    db_run!(conn, c => sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(id))
        .filter(sessions::revoked_at.is_null().and(sessions::expires_at.gt(now_ms)))
        .filter(users::disabled_at.is_null())
        .select(sessions::user_id)
        .first(c)
        .optional())
}

/// Ends one session; false when it had already ended.
pub fn revoke(conn: &mut DbConn, id: &str, now_ms: i64, reason: &str) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::update(sessions::table.find(id).filter(sessions::revoked_at.is_null()))
        .set((sessions::revoked_at.eq(now_ms), sessions::revoked_reason.eq(reason)))
        .execute(c))?;
    Ok(n == 1)
}

/// Ends every live session of a user; returns how many.
pub fn revoke_all(
    conn: &mut DbConn,
    user_id: i64,
    now_ms: i64,
    reason: &str,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(sessions::table.filter(sessions::user_id.eq(user_id).and(sessions::revoked_at.is_null())))
        .set((sessions::revoked_at.eq(now_ms), sessions::revoked_reason.eq(reason)))
        .execute(c))
}

/// Ends every live session of a user but `keep` (the one that changed the password).
pub fn revoke_others(
    conn: &mut DbConn,
    user_id: i64,
    keep: &str,
    now_ms: i64,
    reason: &str,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(sessions::table.filter(sessions::user_id.eq(user_id).and(sessions::revoked_at.is_null()).and(sessions::id.ne(keep))))
        .set((sessions::revoked_at.eq(now_ms), sessions::revoked_reason.eq(reason)))
        .execute(c))
}
