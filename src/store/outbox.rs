//! The mail outbox. A message is claimed for a few minutes before it is handed to the mail
//! backend, so two instances never send the same row; it is marked sent right after the
//! backend accepts it.
use super::schema::mail_outbox;
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;

#[derive(Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct NewMail<'a> {
    pub dedupe_key: &'a str,
    pub template: &'a str,
    pub lang: &'a str,
    pub to_addr: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub case_id: Option<i64>,
    pub next_attempt_at: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = mail_outbox)]
pub struct MailRow {
    pub id: i64,
    pub dedupe_key: String,
    pub template: String,
    pub lang: String,
    pub to_addr: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub case_id: Option<i64>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// Queues a message; false when one with the same dedupe key is already queued.
pub fn insert(conn: &mut DbConn, mail: &NewMail<'_>) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::insert_into(mail_outbox::table)
        .values(mail)
        .on_conflict(mail_outbox::dedupe_key)
        .do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// Claims up to `limit` due messages until `claim_until`. Call inside a write transaction;
/// on PostgreSQL rows another instance is claiming are skipped, not waited for.
pub fn claim_due(
    conn: &mut DbConn,
    now_ms: i64,
    claim_until: i64,
    limit: i64,
) -> QueryResult<Vec<MailRow>> {
    // Written out per backend: the selected row type is resolved per backend.
    macro_rules! due {
        () => {
            mail_outbox::table
                .filter(mail_outbox::status.eq("pending"))
                .filter(mail_outbox::next_attempt_at.le(now_ms))
                .filter(
                    mail_outbox::claimed_until
                        .is_null()
                        .or(mail_outbox::claimed_until.lt(now_ms)),
                )
                .order(mail_outbox::id)
                .limit(limit)
                .select(MailRow::as_select())
        };
    }
    let rows: Vec<MailRow> = match conn {
        DbConn::Sqlite(c, _) => due!().load(c)?,
        DbConn::Pg(c) => due!().for_update().skip_locked().load(c)?,
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    db_run!(conn, c => diesel::update(mail_outbox::table.filter(mail_outbox::id.eq_any(&ids)))
        .set(mail_outbox::claimed_until.eq(claim_until))
        .execute(c))?;
    Ok(rows)
}

pub fn mark_sent(conn: &mut DbConn, id: i64, now_ms: i64) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::status.eq("sent"),
            mail_outbox::sent_at.eq(now_ms),
            mail_outbox::claimed_until.eq(None::<i64>),
            mail_outbox::attempts.eq(mail_outbox::attempts + 1),
        ))
        .execute(c))
}

/// Records a failed attempt: retry at `retry_at`, or give up when it is `None`.
pub fn mark_failed(
    conn: &mut DbConn,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
) -> QueryResult<usize> {
    let status = if retry_at.is_some() {
        "pending"
    } else {
        "failed"
    };
    db_run!(conn, c => diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::status.eq(status),
            mail_outbox::last_error.eq(error),
            mail_outbox::claimed_until.eq(None::<i64>),
            mail_outbox::attempts.eq(mail_outbox::attempts + 1),
            mail_outbox::next_attempt_at.eq(retry_at.unwrap_or(0)),
        ))
        .execute(c))
}

/// Every message, newest first, optionally for one case (admin view and tests).
pub fn list(conn: &mut DbConn, case_id: Option<i64>, limit: i64) -> QueryResult<Vec<MailRow>> {
    db_run!(conn, c => {
        let mut q = mail_outbox::table.select(MailRow::as_select()).into_boxed();
        if let Some(id) = case_id {
            q = q.filter(mail_outbox::case_id.eq(id));
        }
        q.order(mail_outbox::id.desc()).limit(limit).load(c)
    })
}

/// The letters about cases inside a region subtree, newest first. Letters about no case
/// (staff digests) are not listed: they carry no region to scope them by.
pub fn list_in_region(
    conn: &mut DbConn,
    region_path: &str,
    case_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<MailRow>> {
    use super::schema::cases;
    let pattern = format!("{region_path}/%");
    db_run!(conn, c => {
        let mut q = mail_outbox::table
            .inner_join(cases::table.on(cases::id.nullable().eq(mail_outbox::case_id)))
            .filter(cases::region_path.eq(region_path).or(cases::region_path.like(&pattern)))
            .select(MailRow::as_select())
            .into_boxed();
        if let Some(id) = case_id {
            q = q.filter(mail_outbox::case_id.eq(id));
        }
        q.order(mail_outbox::id.desc()).limit(limit).load(c)
    })
}
