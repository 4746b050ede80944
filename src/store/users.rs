use super::schema::{account_events, persons, user_roles, users};
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
    /// A disabled user signs in no more, and their sessions have ended.
    pub disabled_at: Option<i64>,
    /// Set by an administrator's reset: the user must choose their own password first.
    pub password_reset_at: Option<i64>,
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

/// The display names of these users, by id.
pub fn display_names(
    conn: &mut DbConn,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = db_run!(conn, c => users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load(c))?;
    Ok(rows.into_iter().collect())
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    db_run!(conn, c => users::table.count().get_result(c))
}

/// A staff member as notices and assignment need them.
#[derive(Debug, Clone, Queryable)]
pub struct Staff {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub lang: String,
    pub region_path: String,
}

/// Users holding `role` whose region covers `case_region_path`, by id.
pub fn staff_covering(
    conn: &mut DbConn,
    role: Role,
    case_region_path: &str,
) -> QueryResult<Vec<Staff>> {
    use super::schema::regions;
    let rows: Vec<Staff> = db_run!(conn, c => users::table
        .inner_join(user_roles::table)
        .inner_join(regions::table.on(regions::code.eq(users::region_code)))
        .filter(user_roles::role.eq(role.as_str()))
        .filter(users::disabled_at.is_null())
        .order(users::id)
        .select((users::id, users::username, users::display_name, users::email, users::lang, regions::path))
        .load(c))?;
    Ok(rows
        .into_iter()
        .filter(|s| super::regions::path_within(case_region_path, &s.region_path))
        .collect())
}

/// Every user holding one of `roles`, once each, by id.
pub fn staff_with_roles(conn: &mut DbConn, roles: &[Role]) -> QueryResult<Vec<Staff>> {
    use super::schema::regions;
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let mut rows: Vec<Staff> = db_run!(conn, c => users::table
        .inner_join(user_roles::table)
        .inner_join(regions::table.on(regions::code.eq(users::region_code)))
        .filter(user_roles::role.eq_any(&names))
        .filter(users::disabled_at.is_null())
        .order(users::id)
        .select((users::id, users::username, users::display_name, users::email, users::lang, regions::path))
        .load(c))?;
    rows.dedup_by_key(|s| s.id);
    Ok(rows)
}

/// Records that a user takes no new work from `from` to `to` (inclusive, YYYY-MM-DD).
pub fn add_absence(
    conn: &mut DbConn,
    user_id: i64,
    from: &str,
    to: &str,
    reason: &str,
    created_by: i64,
    now_ms: i64,
) -> QueryResult<i64> {
    use super::schema::user_absences as a;
    db_run!(conn, c => diesel::insert_into(a::table)
        .values((a::user_id.eq(user_id), a::from_date.eq(from), a::to_date.eq(to), a::reason.eq(reason), a::created_by.eq(created_by), a::created_at.eq(now_ms)))
        .returning(a::id)
        .get_result(c))
}

/// Of these users, the ones absent on `date` (YYYY-MM-DD).
pub fn absent_on(conn: &mut DbConn, user_ids: &[i64], date: &str) -> QueryResult<Vec<i64>> {
    use super::schema::user_absences as a;
    db_run!(conn, c => a::table
        .filter(a::user_id.eq_any(user_ids))
        .filter(a::from_date.le(date).and(a::to_date.ge(date)))
        .select(a::user_id)
        .distinct()
        .load(c))
}

/// A user's absences that have not ended before `date`, soonest first.
pub fn absences_from(
    conn: &mut DbConn,
    user_id: i64,
    date: &str,
) -> QueryResult<Vec<(i64, String, String, String)>> {
    use super::schema::user_absences as a;
    db_run!(conn, c => a::table
        .filter(a::user_id.eq(user_id).and(a::to_date.ge(date)))
        .order(a::from_date)
        .select((a::id, a::from_date, a::to_date, a::reason))
        .load(c))
}

/// Every user with their roles, by username (the admin's list).
pub fn all_with_roles(conn: &mut DbConn) -> QueryResult<Vec<(User, Vec<String>)>> {
    let people: Vec<User> =
        db_run!(conn, c => users::table.order(users::username).select(User::as_select()).load(c))?;
    let roles: Vec<(i64, String)> = db_run!(conn, c => user_roles::table
        .order((user_roles::user_id, user_roles::role))
        .select((user_roles::user_id, user_roles::role))
        .load(c))?;
    Ok(people
        .into_iter()
        .map(|u| {
            let mine = roles
                .iter()
                .filter(|(id, _)| *id == u.id)
                .map(|(_, r)| r.clone())
                .collect();
            (u, mine)
        })
        .collect())
}

/// Replaces a user's roles and region.
pub fn set_roles_and_region(
    conn: &mut DbConn,
    user_id: i64,
    roles: &[Role],
    region_code: &str,
) -> QueryResult<()> {
    db_run!(conn, c => diesel::delete(user_roles::table.filter(user_roles::user_id.eq(user_id))).execute(c))?;
    let rows: Vec<_> = roles
        .iter()
        .map(|r| {
            (
                user_roles::user_id.eq(user_id),
                user_roles::role.eq(r.as_str()),
            )
        })
        .collect();
    db_run!(conn, c => diesel::insert_into(user_roles::table).values(&rows).execute(c))?;
    db_run!(conn, c => diesel::update(users::table.find(user_id)).set(users::region_code.eq(region_code)).execute(c))?;
    Ok(())
}

/// Sets the password; `reset_at` marks an administrator's reset (the user must change it),
/// `None` the user's own choice.
pub fn set_password(
    conn: &mut DbConn,
    user_id: i64,
    hash: &str,
    reset_at: Option<i64>,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(users::table.find(user_id))
        .set((users::password_hash.eq(hash), users::password_reset_at.eq(reset_at)))
        .execute(c))
}

/// The user's own new password, replacing `old_hash` only (0 when it changed meanwhile);
/// lifts an administrator's reset.
pub fn set_password_over(
    conn: &mut DbConn,
    user_id: i64,
    old_hash: &str,
    hash: &str,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(users::table.find(user_id).filter(users::password_hash.eq(old_hash)))
        .set((users::password_hash.eq(hash), users::password_reset_at.eq(None::<i64>)))
        .execute(c))
}

pub fn enable(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(users::table.find(user_id).filter(users::disabled_at.is_not_null()))
        .set(users::disabled_at.eq(None::<i64>))
        .execute(c))
}

/// Links a resident account to an insured person, moving the link off any other account;
/// 0 when the person is linked to another account already.
pub fn link_person(conn: &mut DbConn, user_id: i64, person_id: i64) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(persons::table.find(person_id).filter(persons::user_id.is_null().or(persons::user_id.eq(user_id))))
        .set(persons::user_id.eq(user_id))
        .execute(c))
}

/// Removes the account's link to any person but `keep`.
pub fn unlink_others(conn: &mut DbConn, user_id: i64, keep: i64) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(persons::table.filter(persons::user_id.eq(user_id)).filter(persons::id.ne(keep)))
        .set(persons::user_id.eq(None::<i64>))
        .execute(c))
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = account_events)]
pub struct AccountEvent {
    pub id: i64,
    pub at_ms: i64,
    pub admin_user_id: i64,
    pub user_id: i64,
    pub action: String,
    pub detail: String,
}

pub fn record_event(
    conn: &mut DbConn,
    admin_user_id: i64,
    user_id: i64,
    action: &str,
    detail: &str,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(account_events::table)
        .values((account_events::at_ms.eq(now_ms), account_events::admin_user_id.eq(admin_user_id), account_events::user_id.eq(user_id), account_events::action.eq(action), account_events::detail.eq(detail)))
        .execute(c))
}

/// An account's administrative history, newest first.
pub fn events_of(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<AccountEvent>> {
    db_run!(conn, c => account_events::table
        .filter(account_events::user_id.eq(user_id))
        .order(account_events::id.desc())
        .limit(100)
        .select(AccountEvent::as_select())
        .load(c))
}

pub fn disable(conn: &mut DbConn, user_id: i64, now_ms: i64) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(users::table.find(user_id).filter(users::disabled_at.is_null()))
        .set(users::disabled_at.eq(now_ms))
        .execute(c))
}
