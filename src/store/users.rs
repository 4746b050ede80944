use super::schema::{user_roles, users};
use super::DbConn;
use crate::db_run;
use crate::domain::roles::Role;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub region_code: String,
    pub org: String,
    pub email: Option<String>,
    pub lang: String,
    pub created_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub region_code: &'a str,
    pub org: &'a str,
    pub email: Option<&'a str>,
    pub lang: &'a str,
    pub created_at: i64,
}

pub fn insert(conn: &mut DbConn, user: &NewUser<'_>, roles: &[Role]) -> QueryResult<i64> {
    conn.write_tx(|conn| {
        let id: i64 = db_run!(conn, c => diesel::insert_into(users::table).values(user).returning(users::id).get_result(c))?;
        let rows: Vec<_> = roles
            .iter()
            .map(|r| (user_roles::user_id.eq(id), user_roles::role.eq(r.as_str())))
            .collect();
        db_run!(conn, c => diesel::insert_into(user_roles::table).values(&rows).execute(c))?;
        Ok(id)
    })
}

pub fn find_by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<User>> {
    db_run!(conn, c => users::table.filter(users::username.eq(username)).select(User::as_select()).load(c).map(super::at_most_one))
}

pub fn get(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    db_run!(conn, c => users::table.find(id).select(User::as_select()).load(c).map(super::at_most_one))
}

pub fn roles_of(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Role>> {
    let names: Vec<String> = db_run!(conn, c => user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role)
        .load(c))?;
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    db_run!(conn, c => users::table.count().get_result(c))
}
