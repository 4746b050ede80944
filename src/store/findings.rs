use super::schema::case_findings;
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = case_findings)]
pub struct Finding {
    pub id: i64,
    pub case_id: i64,
    pub code: String,
    /// info, warning or error
    pub severity: String,
    pub message_zh: String,
    pub message_en: String,
    /// JSON: what the finding rests on (the other claim, the dates, …).
    pub evidence: String,
    pub created_at: i64,
}

/// A finding before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinding {
    pub code: &'static str,
    pub severity: &'static str,
    pub zh: String,
    pub en: String,
    pub evidence: serde_json::Value,
}

pub fn insert_all(
    conn: &mut DbConn,
    case_id: i64,
    findings: &[NewFinding],
    now_ms: i64,
) -> QueryResult<usize> {
    // One cached single-row statement per finding: a multi-row insert would be prepared
    // afresh for every distinct row count.
    let mut n = 0;
    for f in findings {
        let evidence = f.evidence.to_string();
        n += db_run!(conn, c => diesel::insert_into(case_findings::table)
            .values((
                case_findings::case_id.eq(case_id),
                case_findings::code.eq(f.code),
                case_findings::severity.eq(f.severity),
                case_findings::message_zh.eq(&f.zh),
                case_findings::message_en.eq(&f.en),
                case_findings::evidence.eq(&evidence),
                case_findings::created_at.eq(now_ms),
            ))
            .execute(c))?;
    }
    Ok(n)
}

pub fn for_case(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<Finding>> {
    db_run!(conn, c => case_findings::table.filter(case_findings::case_id.eq(case_id)).order(case_findings::id).select(Finding::as_select()).load(c))
}
