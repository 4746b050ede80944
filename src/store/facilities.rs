use super::schema::{facilities, facility_status};
use super::DbConn;
use crate::db_run;
use crate::domain::facility::StatusChange;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize, utoipa::ToSchema,
)]
#[diesel(table_name = facilities)]
pub struct Facility {
    pub code: String,
    pub name: String,
    /// township (镇乡卫生院/社区), county, or city (city level or above).
    pub level: String,
    pub region_code: String,
    /// public or private
    pub ownership: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = facility_status)]
pub struct StatusRow {
    pub id: i64,
    pub facility_code: String,
    pub status: String,
    pub effective_from: String,
    pub reason: String,
    pub recorded_at: i64,
}

pub const LEVELS: [&str; 3] = ["township", "county", "city"];
pub const STATUSES: [&str; 3] = ["designated", "suspended", "terminated"];

pub fn insert(conn: &mut DbConn, f: &Facility) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(facilities::table).values(f).execute(c))
}

pub fn get(conn: &mut DbConn, code: &str) -> QueryResult<Option<Facility>> {
    db_run!(conn, c => facilities::table.find(code).select(Facility::as_select()).load(c).map(super::at_most_one))
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<Facility>> {
    db_run!(conn, c => facilities::table.order(facilities::code).select(Facility::as_select()).load(c))
}

pub fn add_status(
    conn: &mut DbConn,
    code: &str,
    status: &str,
    effective_from: &str,
    reason: &str,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(facility_status::table)
        .values((
            facility_status::facility_code.eq(code),
            facility_status::status.eq(status),
            facility_status::effective_from.eq(effective_from),
            facility_status::reason.eq(reason),
            facility_status::recorded_at.eq(now_ms),
        ))
        .execute(c))
}

pub fn history(conn: &mut DbConn, code: &str) -> QueryResult<Vec<StatusRow>> {
    db_run!(conn, c => facility_status::table
        .filter(facility_status::facility_code.eq(code))
        .order((facility_status::effective_from, facility_status::id))
        .select(StatusRow::as_select())
        .load(c))
}

pub fn to_changes(rows: &[StatusRow]) -> Vec<StatusChange> {
    rows.iter()
        .filter_map(|r| {
            Some(StatusChange {
                status: r.status.clone(),
                effective_from: crate::domain::dates::parse_iso_date(&r.effective_from)?,
            })
        })
        .collect()
}

/// Every facility's designation history, ordered by facility and date.
pub fn all_history(conn: &mut DbConn) -> QueryResult<Vec<StatusRow>> {
    db_run!(conn, c => facility_status::table
        .order((facility_status::facility_code, facility_status::effective_from, facility_status::id))
        .select(StatusRow::as_select())
        .load(c))
}

/// Every facility's designation status on `date`, from `all_history`'s rows (ordered by
/// facility); facilities never designated are absent.
pub fn statuses_on(
    rows: &[StatusRow],
    date: chrono::NaiveDate,
) -> std::collections::HashMap<String, String> {
    rows.chunk_by(|a, b| a.facility_code == b.facility_code)
        .filter_map(|group| {
            let changes = to_changes(group);
            let status = crate::domain::facility::status_on(&changes, date)?.to_string();
            Some((group[0].facility_code.clone(), status))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(code: &str, status: &str, from: &str) -> StatusRow {
        StatusRow {
            id: 0,
            facility_code: code.into(),
            status: status.into(),
            effective_from: from.into(),
            reason: String::new(),
            recorded_at: 0,
        }
    }

    #[test]
    fn each_facility_gets_the_status_in_force_on_the_day() {
        let rows = [
            row("A", "designated", "2019-01-01"),
            row("A", "suspended", "2026-06-01"),
            row("B", "designated", "2030-01-01"),
        ];
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let statuses = statuses_on(&rows, day);
        assert_eq!(statuses.get("A").map(String::as_str), Some("suspended"));
        assert_eq!(statuses.get("B"), None, "not designated yet");
    }
}
