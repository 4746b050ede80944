use super::schema::{enrolments, persons};
use super::DbConn;
use crate::db_run;
use crate::domain::eligibility::{Channel, Enrolment};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = persons)]
pub struct Person {
    pub id: i64,
    pub id_number: String,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub household: String,
    pub region_code: String,
    pub email: Option<String>,
    pub death_date: Option<String>,
    pub user_id: Option<i64>,
}

#[derive(Debug, Clone, Insertable, Deserialize, utoipa::ToSchema)]
#[diesel(table_name = persons)]
pub struct NewPerson {
    pub id_number: String,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub household: String,
    pub region_code: String,
    pub email: Option<String>,
    pub death_date: Option<String>,
    pub user_id: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = enrolments)]
pub struct EnrolmentRow {
    pub id: i64,
    pub person_id: i64,
    pub coverage_year: i32,
    pub period_start: String,
    pub period_end: String,
    pub tier: i32,
    pub enrolled_on: String,
    pub channel: String,
    pub special_groups: String,
    pub disabled_grade: Option<i32>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = enrolments)]
pub struct NewEnrolment {
    pub person_id: i64,
    pub coverage_year: i32,
    pub period_start: String,
    pub period_end: String,
    pub tier: i32,
    pub enrolled_on: String,
    pub channel: String,
    pub special_groups: String,
    pub disabled_grade: Option<i32>,
}

impl EnrolmentRow {
    /// The domain view; rows were validated on the way in.
    pub fn to_domain(&self) -> Option<Enrolment> {
        let date = crate::domain::dates::parse_iso_date;
        Some(Enrolment {
            id: self.id,
            period_start: date(&self.period_start)?,
            period_end: date(&self.period_end)?,
            enrolled_on: date(&self.enrolled_on)?,
            channel: Channel::parse(&self.channel)?,
            tier: self.tier as u8,
            special_groups: serde_json::from_str(&self.special_groups).unwrap_or_default(),
            coverage_year: self.coverage_year,
            disabled_grade: self.disabled_grade,
        })
    }
}

pub fn insert(conn: &mut DbConn, p: &NewPerson) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(persons::table).values(p).returning(persons::id).get_result(c))
}

pub fn get(conn: &mut DbConn, id: i64) -> QueryResult<Option<Person>> {
    db_run!(conn, c => persons::table.find(id).select(Person::as_select()).load(c).map(super::at_most_one))
}

pub fn by_id_number(conn: &mut DbConn, id_number: &str) -> QueryResult<Option<Person>> {
    db_run!(conn, c => persons::table.filter(persons::id_number.eq(id_number)).select(Person::as_select()).load(c).map(super::at_most_one))
}

/// Persons registered in a region subtree whose ID number is `q` or whose name contains it,
/// by name: the service counter's search before it files a claim for someone.
pub fn search_in_region(
    conn: &mut DbConn,
    region_path: &str,
    q: &str,
    limit: i64,
) -> QueryResult<Vec<Person>> {
    use super::schema::regions;
    let subtree = format!("{region_path}/%");
    let escaped: String = q
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let name_like = format!("%{escaped}%");
    let id_number = q.to_ascii_uppercase();
    db_run!(conn, c => persons::table
        .inner_join(regions::table.on(regions::code.eq(persons::region_code)))
        .filter(regions::path.eq(region_path).or(regions::path.like(&subtree)))
        .filter(persons::id_number.eq(&id_number).or(persons::name.like(&name_like).escape('\\')))
        .select(Person::as_select())
        .order((persons::name, persons::id))
        .limit(limit)
        .load(c))
}

pub fn by_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<Person>> {
    db_run!(conn, c => persons::table.filter(persons::user_id.eq(user_id)).select(Person::as_select()).load(c).map(super::at_most_one))
}

pub fn insert_enrolment(conn: &mut DbConn, e: &NewEnrolment) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(enrolments::table).values(e).returning(enrolments::id).get_result(c))
}

pub fn enrolments_of(conn: &mut DbConn, person_id: i64) -> QueryResult<Vec<EnrolmentRow>> {
    db_run!(conn, c => enrolments::table
        .filter(enrolments::person_id.eq(person_id))
        .order(enrolments::period_start)
        .select(EnrolmentRow::as_select())
        .load(c))
}

/// The enrolments of persons with ids in `lo..=hi`, by person and period.
pub fn enrolments_between(conn: &mut DbConn, lo: i64, hi: i64) -> QueryResult<Vec<EnrolmentRow>> {
    db_run!(conn, c => enrolments::table
        .filter(enrolments::person_id.between(lo, hi))
        .order((enrolments::person_id, enrolments::period_start))
        .select(EnrolmentRow::as_select())
        .load(c))
}

/// (id, birth date) of persons with ids in `lo..=hi`.
pub fn birth_dates_between(conn: &mut DbConn, lo: i64, hi: i64) -> QueryResult<Vec<(i64, String)>> {
    db_run!(conn, c => persons::table
        .filter(persons::id.between(lo, hi))
        .select((persons::id, persons::birth_date))
        .load(c))
}

/// The highest person id (0 when there are none): the backtest's progress scale.
pub fn max_id(conn: &mut DbConn) -> QueryResult<i64> {
    let max: Option<i64> =
        db_run!(conn, c => persons::table.select(diesel::dsl::max(persons::id)).first(c))?;
    Ok(max.unwrap_or(0))
}
