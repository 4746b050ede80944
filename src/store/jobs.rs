//! Scheduled-job ticks. The primary key (job, tick) makes "who runs this tick" a single
//! insert: the instance whose insert lands runs it, every other one skips.
use super::schema::job_runs;
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;

/// True when this instance won the tick.
pub fn claim_tick(
    conn: &mut DbConn,
    job: &str,
    tick_ms: i64,
    instance: &str,
    now_ms: i64,
) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::insert_into(job_runs::table)
        .values((
            job_runs::job.eq(job),
            job_runs::tick_ms.eq(tick_ms),
            job_runs::instance.eq(instance),
            job_runs::started_at.eq(now_ms),
        ))
        .on_conflict((job_runs::job, job_runs::tick_ms))
        .do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

pub fn finish(
    conn: &mut DbConn,
    job: &str,
    tick_ms: i64,
    now_ms: i64,
    outcome: &str,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(job_runs::table.find((job, tick_ms)))
        .set((job_runs::finished_at.eq(now_ms), job_runs::outcome.eq(outcome)))
        .execute(c))
}

/// (tick, instance, outcome) of a job's recent runs, newest first.
pub fn recent(
    conn: &mut DbConn,
    job: &str,
    limit: i64,
) -> QueryResult<Vec<(i64, String, Option<String>)>> {
    db_run!(conn, c => job_runs::table
        .filter(job_runs::job.eq(job))
        .order(job_runs::tick_ms.desc())
        .limit(limit)
        .select((job_runs::tick_ms, job_runs::instance, job_runs::outcome))
        .load(c))
}
