//! Sign-in attempts: the failure counters login throttling reads (shared by every instance),
//! and the log of attempts with their addresses.
use super::schema::{login_events, login_failures};
use super::DbConn;
use crate::db_run;
use crate::domain::throttle::Failures;
use crate::domain::trail::SignIn;
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

/// Appends an attempt to the sign-in chain. The chain's end is read and extended in one
/// write transaction, with appends serialised (SQLite's single writer; on PostgreSQL a
/// self-conflicting table lock), so that two instances never fork it.
pub fn record(conn: &mut DbConn, attempt: &SignIn<'_>) -> QueryResult<usize> {
    conn.write_tx(|conn| {
        if let DbConn::Pg(c) = conn {
            diesel::sql_query("LOCK TABLE login_events IN SHARE ROW EXCLUSIVE MODE").execute(c)?;
        }
        let (_, prev_hash) = head(conn)?;
        let hash = attempt.hash(&prev_hash);
        db_run!(conn, c => diesel::insert_into(login_events::table)
            .values((login_events::at_ms.eq(attempt.at_ms), login_events::username.eq(attempt.username),
                     login_events::user_id.eq(attempt.user_id), login_events::address.eq(attempt.address),
                     login_events::outcome.eq(attempt.outcome), login_events::prev_hash.eq(&prev_hash),
                     login_events::hash.eq(&hash)))
            .execute(c))
    })
}

/// The chain's end: the last attempt's id and hash, `(0, "")` before the first.
pub fn head(conn: &mut DbConn) -> QueryResult<(i64, String)> {
    let last: Option<(i64, String)> = db_run!(conn, c => login_events::table
        .order(login_events::id.desc())
        .select((login_events::id, login_events::hash))
        .first(c)
        .optional())?;
    Ok(last.unwrap_or_default())
}

/// The hash recorded for attempt `id`, if it is still there.
pub fn hash_of(conn: &mut DbConn, id: i64) -> QueryResult<Option<String>> {
    db_run!(conn, c => login_events::table
        .find(id)
        .select(login_events::hash)
        .first(c)
        .optional())
}

/// Recomputes the whole sign-in chain; returns how many attempts it holds and a line for
/// each that does not follow from its predecessor.
pub fn verify_chain(conn: &mut DbConn) -> QueryResult<(usize, Vec<String>)> {
    type Row = (
        i64,
        i64,
        String,
        Option<i64>,
        String,
        String,
        String,
        String,
    );
    let (mut after, mut count, mut prev) = (0i64, 0usize, String::new());
    let mut problems = Vec::new();
    loop {
        let page: Vec<Row> = db_run!(conn, c => login_events::table
            .filter(login_events::id.gt(after))
            .order(login_events::id)
            .limit(5_000)
            .select((login_events::id, login_events::at_ms, login_events::username, login_events::user_id,
                     login_events::address, login_events::outcome, login_events::prev_hash, login_events::hash))
            .load(c))?;
        let Some(last) = page.last() else { break };
        after = last.0;
        for (id, at_ms, username, user_id, address, outcome, prev_hash, hash) in &page {
            count += 1;
            // Attempts recorded before the chain existed carry no hash; the chain starts
            // after them.
            if hash.is_empty() && prev.is_empty() {
                continue;
            }
            let attempt = SignIn {
                at_ms: *at_ms,
                username,
                user_id: *user_id,
                address,
                outcome,
            };
            if *prev_hash != prev || attempt.hash(prev_hash) != *hash {
                problems.push(format!(
                    "sign-in record {id} ({username}, {outcome}) does not follow from the one before it: removed, inserted or rewritten outside the application"
                ));
            }
            prev.clone_from(hash);
        }
    }
    Ok((count, problems))
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
