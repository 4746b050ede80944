//! Each user's inbox in the product, beside the mail outbox.
use super::schema::inbox_items;
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = inbox_items)]
pub struct InboxItem {
    pub id: i64,
    pub user_id: i64,
    #[serde(skip)]
    pub dedupe_key: String,
    /// The letter it goes with (`case_assigned`, `claim_decided`, …) or `documents_arrived`.
    pub kind: String,
    pub case_id: Option<i64>,
    /// Where it leads: the case, violation, report or claim page.
    pub href: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = inbox_items)]
pub struct NewInboxItem<'a> {
    pub user_id: i64,
    pub dedupe_key: &'a str,
    pub kind: &'a str,
    pub case_id: Option<i64>,
    pub href: &'a str,
    pub created_at: i64,
}

/// Adds an item once per user and key; `false` when it was there already.
pub fn insert(conn: &mut DbConn, item: &NewInboxItem<'_>) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::insert_into(inbox_items::table)
        .values(item)
        .on_conflict((inbox_items::user_id, inbox_items::dedupe_key))
        .do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

pub fn unread(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    db_run!(conn, c => inbox_items::table
        .filter(inbox_items::user_id.eq(user_id).and(inbox_items::read_at.is_null()))
        .count()
        .get_result(c))
}

/// The newest `limit` items of a user.
pub fn of_user(conn: &mut DbConn, user_id: i64, limit: i64) -> QueryResult<Vec<InboxItem>> {
    db_run!(conn, c => inbox_items::table
        .filter(inbox_items::user_id.eq(user_id))
        .order(inbox_items::id.desc())
        .limit(limit)
        .select(InboxItem::as_select())
        .load(c))
}

/// Marks one of the user's items read; `None` when the user has no such item.
pub fn open(conn: &mut DbConn, user_id: i64, id: i64, now_ms: i64) -> QueryResult<Option<String>> {
    let mine = inbox_items::id.eq(id).and(inbox_items::user_id.eq(user_id));
    let href: Option<String> = db_run!(conn, c => inbox_items::table
        .filter(mine)
        .select(inbox_items::href)
        .first(c)
        .optional())?;
    if href.is_some() {
        db_run!(conn, c => diesel::update(inbox_items::table.filter(mine).filter(inbox_items::read_at.is_null()))
            .set(inbox_items::read_at.eq(now_ms))
            .execute(c))?;
    }
    Ok(href)
}

pub fn read_all(conn: &mut DbConn, user_id: i64, now_ms: i64) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(inbox_items::table
            .filter(inbox_items::user_id.eq(user_id).and(inbox_items::read_at.is_null())))
        .set(inbox_items::read_at.eq(now_ms))
        .execute(c))
}
