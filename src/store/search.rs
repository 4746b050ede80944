//! The auditor's read-only search over cases, newest first, in pages by id.
use super::cases::CaseRow;
use super::schema::cases;
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;

#[derive(Debug, Clone, Default)]
pub struct CaseSearch {
    /// The searcher's region: only cases in its subtree.
    pub region_path: String,
    pub case_id: Option<i64>,
    pub workflow: Option<String>,
    /// `open` or `closed`; none for both.
    pub state: Option<String>,
    /// Opened at or after (ms).
    pub from_ms: Option<i64>,
    /// Opened before (ms).
    pub to_ms: Option<i64>,
    /// Cases with a smaller id than this (the next page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub fn cases(conn: &mut DbConn, s: &CaseSearch) -> QueryResult<Vec<CaseRow>> {
    let subtree = format!("{}/%", s.region_path);
    db_run!(conn, c => {
        let mut q = cases::table
            .filter(cases::region_path.eq(&s.region_path).or(cases::region_path.like(&subtree)))
            .select(CaseRow::as_select())
            .into_boxed();
        if let Some(id) = s.case_id {
            q = q.filter(cases::id.eq(id));
        }
        if let Some(w) = &s.workflow {
            q = q.filter(cases::workflow.eq(w));
        }
        match s.state.as_deref() {
            Some("open") => q = q.filter(cases::stage.is_not_null()),
            Some("closed") => q = q.filter(cases::outcome.is_not_null()),
            _ => {}
        }
        if let Some(from) = s.from_ms {
            q = q.filter(cases::created_at.ge(from));
        }
        if let Some(to) = s.to_ms {
            q = q.filter(cases::created_at.lt(to));
        }
        if let Some(before) = s.before_id {
            q = q.filter(cases::id.lt(before));
        }
        q.order(cases::id.desc()).limit(s.limit).load(c)
    })
}
