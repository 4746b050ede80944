//! What-if runs: the draft as uploaded, the period asked for, progress and the outcome.
use super::schema::whatif_runs;
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = whatif_runs)]
pub struct RunRow {
    pub id: i64,
    pub created_by: i64,
    pub created_at: i64,
    pub draft_name: String,
    pub draft_region: String,
    pub draft_text: String,
    pub from_date: Option<String>,
    pub to_date: Option<String>,
    pub region_code: Option<String>,
    pub status: String,
    pub progress: i64,
    pub result: Option<String>,
    pub error_zh: Option<String>,
    pub error_en: Option<String>,
    pub finished_at: Option<i64>,
}

/// A checked draft, not yet run. Returns its id.
pub fn insert_checked(
    conn: &mut DbConn,
    created_by: i64,
    now_ms: i64,
    draft_name: &str,
    draft_region: &str,
    draft_text: &str,
) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(whatif_runs::table)
        .values((
            whatif_runs::created_by.eq(created_by),
            whatif_runs::created_at.eq(now_ms),
            whatif_runs::draft_name.eq(draft_name),
            whatif_runs::draft_region.eq(draft_region),
            whatif_runs::draft_text.eq(draft_text),
            whatif_runs::status.eq("checked"),
        ))
        .returning(whatif_runs::id)
        .get_result(c))
}

pub fn get(conn: &mut DbConn, id: i64) -> QueryResult<Option<RunRow>> {
    db_run!(conn, c => whatif_runs::table.find(id).select(RunRow::as_select()).first(c).optional())
}

/// The latest runs, newest first.
pub fn latest(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<RunRow>> {
    db_run!(conn, c => whatif_runs::table
        .order(whatif_runs::id.desc())
        .limit(limit)
        .select(RunRow::as_select())
        .load(c))
}

/// Starts a checked run with its period; false when it was not waiting (already started).
pub fn start(
    conn: &mut DbConn,
    id: i64,
    from: &str,
    to: &str,
    region: Option<&str>,
) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::update(whatif_runs::table
        .filter(whatif_runs::id.eq(id))
        .filter(whatif_runs::status.eq_any(["checked", "failed"])))
        .set((
            whatif_runs::status.eq("running"),
            whatif_runs::from_date.eq(from),
            whatif_runs::to_date.eq(to),
            whatif_runs::region_code.eq(region),
            whatif_runs::progress.eq(0i64),
            whatif_runs::error_zh.eq(None::<String>),
            whatif_runs::error_en.eq(None::<String>),
        ))
        .execute(c))?;
    Ok(n == 1)
}

pub fn set_progress(conn: &mut DbConn, id: i64, per_mille: i64) -> QueryResult<()> {
    db_run!(conn, c => diesel::update(whatif_runs::table.find(id))
        .set(whatif_runs::progress.eq(per_mille))
        .execute(c))?;
    Ok(())
}

pub fn finish(conn: &mut DbConn, id: i64, result: &str, now_ms: i64) -> QueryResult<()> {
    db_run!(conn, c => diesel::update(whatif_runs::table.find(id))
        .set((
            whatif_runs::status.eq("done"),
            whatif_runs::progress.eq(1000i64),
            whatif_runs::result.eq(result),
            whatif_runs::finished_at.eq(now_ms),
        ))
        .execute(c))?;
    Ok(())
}

pub fn fail(conn: &mut DbConn, id: i64, zh: &str, en: &str, now_ms: i64) -> QueryResult<()> {
    db_run!(conn, c => diesel::update(whatif_runs::table.find(id))
        .set((
            whatif_runs::status.eq("failed"),
            whatif_runs::error_zh.eq(zh),
            whatif_runs::error_en.eq(en),
            whatif_runs::finished_at.eq(now_ms),
        ))
        .execute(c))?;
    Ok(())
}
