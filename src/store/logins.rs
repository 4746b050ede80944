//! Sign-in attempts: the failure counters login throttling reads (shared by every instance),
//! and the log of attempts with their addresses.
use super::schema::{login_events, login_failures};
use super::DbConn;
use crate::db_run;
use crate::domain::throttle::Failures;
use diesel::prelude::*;

pub fn failures(conn: &mut DbConn, key: &str) -> QueryResult<Option<Failures>> {
    let row: Option<(i64, i64)> = db_run!(conn, c => login_failures::table
        .find(key)
        .select((login_failures::failures, login_failures::last_at_ms))
        .first(c)
        .optional())?;
    Ok(row.map(|(count, last_at_ms)| Failures { count, last_at_ms }))
}

pub fn set_failures(conn: &mut DbConn, key: &str, f: Failures) -> QueryResult<usize> {
    let row = (
        login_failures::key.eq(key),
        login_failures::failures.eq(f.count),
        login_failures::last_at_ms.eq(f.last_at_ms),
    );
    let update = (
        login_failures::failures.eq(f.count),
        login_failures::last_at_ms.eq(f.last_at_ms),
    );
    db_run!(conn, c => diesel::insert_into(login_failures::table)
        .values(row)
        .on_conflict(login_failures::key)
        .do_update()
        .set(update)
        .execute(c))
}

/// Forgets a key's failures (a successful sign-in, or an admin lifting a lockout).
pub fn clear(conn: &mut DbConn, key: &str) -> QueryResult<usize> {
    db_run!(conn, c => diesel::delete(login_failures::table.find(key)).execute(c))
}

pub fn record(
    conn: &mut DbConn,
    at_ms: i64,
    username: &str,
    user_id: Option<i64>,
    address: &str,
    outcome: &str,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(login_events::table)
        .values((login_events::at_ms.eq(at_ms), login_events::username.eq(username), login_events::user_id.eq(user_id),
                 login_events::address.eq(address), login_events::outcome.eq(outcome)))
        .execute(c))
}

/// The latest attempts, newest first: (at, username, address, outcome).
pub fn recent(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<(i64, String, String, String)>> {
    db_run!(conn, c => login_events::table
        .order(login_events::id.desc())
        .limit(limit)
        .select((login_events::at_ms, login_events::username, login_events::address, login_events::outcome))
        .load(c))
}

/// The addresses that failed to sign in as `username` since `since_ms`.
pub fn failed_addresses(
    conn: &mut DbConn,
    username: &str,
    since_ms: i64,
) -> QueryResult<Vec<String>> {
    db_run!(conn, c => login_events::table
        .filter(login_events::username.eq(username).and(login_events::outcome.eq("failed")).and(login_events::at_ms.ge(since_ms)))
        .select(login_events::address)
        .distinct()
        .load(c))
}
