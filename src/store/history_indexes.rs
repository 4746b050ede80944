//! A history load (`import claims --history`) drops the secondary indexes intake never
//! reads and builds them once at the end: `CREATE INDEX` sorts once instead of inserting at
//! random places for every claim (1,000,000 claims on SQLite: 123.5 s → 112.3 s, the
//! rebuild included). Each dropped index's own definition, read from the catalogue, is recorded in
//! `dropped_indexes` in the transaction that drops it, so a failed or killed load leaves
//! nothing lost: the load rebuilds them when it fails, and `Core::open` when it was killed.
use super::{Backend, DbConn};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryResult, RunQueryDsl};

/// Indexes of the tables intake writes that no read of intake uses (each one's query is in
/// the README's index table): the review desk's, the escalation sweep's, a resident's and a
/// facility's lists. The indexes intake reads (a person's claims, invoice keys, stays) and
/// the unique ones stay.
pub const DROPPED_FOR_HISTORY: [&str; 8] = [
    "cases_queue",
    "cases_stage_risk",
    "cases_escalated",
    "cases_assignee",
    "cases_due",
    "cases_next_escalation",
    "claims_resident",
    "claims_facility",
];

#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct DroppedIndex {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub definition: String,
}

/// The definitions of those of `names` that exist now, as the catalogue has them.
pub fn definitions(conn: &mut DbConn, names: &[&str]) -> QueryResult<Vec<DroppedIndex>> {
    let listed = names
        .iter()
        .map(|n| format!("'{}'", n.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = match conn.backend() {
        Backend::Sqlite => format!(
            "SELECT name, sql AS definition FROM sqlite_master \
             WHERE type = 'index' AND name IN ({listed}) ORDER BY name"
        ),
        Backend::Postgres => format!(
            "SELECT indexname::text AS name, indexdef AS definition FROM pg_indexes \
             WHERE schemaname = current_schema() AND indexname IN ({listed}) ORDER BY indexname"
        ),
    };
    crate::db_run!(conn, c => diesel::sql_query(&sql).load(c))
}

/// Records and drops [`DROPPED_FOR_HISTORY`] in one transaction; returns how many.
pub fn drop_for_history(conn: &mut DbConn, now_ms: i64) -> QueryResult<usize> {
    conn.write_tx(|conn| {
        let present = definitions(conn, &DROPPED_FOR_HISTORY)?;
        for index in &present {
            crate::db_run!(conn, c => diesel::sql_query(
                "INSERT INTO dropped_indexes (name, definition, dropped_at) VALUES ($1, $2, $3)",
            )
            .bind::<Text, _>(&index.name)
            .bind::<Text, _>(&index.definition)
            .bind::<BigInt, _>(now_ms)
            .execute(c))?;
            crate::db_run!(conn, c => c.batch_execute(&format!("DROP INDEX {}", index.name)))?;
        }
        Ok(present.len())
    })
}

/// The indexes recorded as dropped and not yet rebuilt.
pub fn dropped(conn: &mut DbConn) -> QueryResult<Vec<DroppedIndex>> {
    crate::db_run!(conn, c => diesel::sql_query(
        "SELECT name, definition FROM dropped_indexes ORDER BY name",
    )
    .load(c))
}

/// Builds every recorded index again, each with the removal of its record in one
/// transaction; `built` is told each one's name as it is done. Returns how many.
pub fn rebuild(conn: &mut DbConn, built: &dyn Fn(&str)) -> QueryResult<usize> {
    let left = dropped(conn)?;
    for index in &left {
        conn.write_tx(|conn| {
            crate::db_run!(conn, c => c.batch_execute(&index.definition))?;
            crate::db_run!(conn, c => diesel::sql_query("DELETE FROM dropped_indexes WHERE name = $1")
                .bind::<Text, _>(&index.name)
                .execute(c))
        })?;
        built(&index.name);
    }
    Ok(left.len())
}
