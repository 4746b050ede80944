//! Published workflow versions. The source text is stored so that a case keeps the exact
//! definition it started under, even on an instance whose `workflows/` directory is newer.
use super::schema::workflow_versions;
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workflow_versions)]
pub struct WorkflowVersion {
    pub name: String,
    pub version: i32,
    pub sha256: String,
    pub source: String,
    pub published_at: i64,
}

pub fn get(conn: &mut DbConn, name: &str, version: i32) -> QueryResult<Option<WorkflowVersion>> {
    db_run!(conn, c => workflow_versions::table.find((name, version)).select(WorkflowVersion::as_select()).load(c).map(super::at_most_one))
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<WorkflowVersion>> {
    db_run!(conn, c => workflow_versions::table
        .order((workflow_versions::name, workflow_versions::version))
        .select(WorkflowVersion::as_select())
        .load(c))
}

pub fn insert(conn: &mut DbConn, row: &WorkflowVersion) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(workflow_versions::table).values(row).execute(c))
}
