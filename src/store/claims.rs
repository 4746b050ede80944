use super::schema::{claim_documents, claim_invoices, claims, idempotency_keys, ytd_totals};
use super::DbConn;
use crate::db_run;
use crate::domain::policy::YearToDate;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = claims)]
pub struct ClaimRow {
    pub id: i64,
    pub resident_user_id: Option<i64>,
    pub submitted_by: i64,
    pub family: String,
    pub encounter_kind: String,
    pub facility_code: String,
    pub admission_date: String,
    pub discharge_date: String,
    pub diagnosis_code: String,
    pub invoice_numbers: String,
    pub total_fen: i64,
    pub policy_scope_fen: i64,
    pub self_paid_fen: i64,
    pub family_facts: String,
    pub region_code: String,
    pub payable_fen: Option<i64>,
    pub decided_fen: Option<i64>,
    pub created_at: i64,
    pub person_id: Option<i64>,
    pub policy_name: Option<String>,
    /// JSON breakdown of the benefit calculation at intake (recomputed at decision).
    pub breakdown: Option<String>,
    /// JSON decision record: computed and decided amounts, reason, codes.
    pub decision: Option<String>,
    pub itemised_lines: String,
}

/// `None` is NULL, not DEFAULT, so that SQLite takes many rows in one statement.
#[derive(Insertable)]
#[diesel(table_name = claims, treat_none_as_default_value = false)]
pub struct NewClaim<'a> {
    /// Chosen up front ([`crate::store::reserve_ids`]) so invoices and cases can refer to it.
    pub id: i64,
    pub resident_user_id: Option<i64>,
    pub submitted_by: i64,
    pub family: &'a str,
    pub encounter_kind: &'a str,
    pub facility_code: &'a str,
    pub admission_date: &'a str,
    pub discharge_date: &'a str,
    pub diagnosis_code: &'a str,
    pub invoice_numbers: &'a str,
    pub total_fen: i64,
    pub policy_scope_fen: i64,
    pub self_paid_fen: i64,
    pub family_facts: &'a str,
    pub region_code: &'a str,
    pub created_at: i64,
    pub person_id: Option<i64>,
    pub policy_name: Option<&'a str>,
    pub payable_fen: Option<i64>,
    pub breakdown: Option<&'a str>,
    pub itemised_lines: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = claim_documents)]
pub struct DocumentRow {
    pub id: i64,
    pub claim_id: i64,
    pub kind: String,
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub filename: String,
    pub status: String,
    pub reject_reason: Option<String>,
    pub uploaded_by: i64,
    pub uploaded_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = claim_documents)]
pub struct NewDocument<'a> {
    pub claim_id: i64,
    pub kind: &'a str,
    pub sha256: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub filename: &'a str,
    pub status: &'a str,
    pub uploaded_by: i64,
    pub uploaded_at: i64,
}

pub fn insert_all(conn: &mut DbConn, rows: &[NewClaim<'_>]) -> QueryResult<usize> {
    Ok(crate::insert_chunked!(conn, claims::table, rows))
}

pub fn get(conn: &mut DbConn, id: i64) -> QueryResult<Option<ClaimRow>> {
    db_run!(conn, c => claims::table.find(id).select(ClaimRow::as_select()).load(c).map(super::at_most_one))
}

pub fn insert_document(conn: &mut DbConn, doc: &NewDocument<'_>) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(claim_documents::table).values(doc).returning(claim_documents::id).get_result(c))
}

pub fn documents(conn: &mut DbConn, claim_id: i64) -> QueryResult<Vec<DocumentRow>> {
    db_run!(conn, c => claim_documents::table
        .filter(claim_documents::claim_id.eq(claim_id))
        .order(claim_documents::id)
        .select(DocumentRow::as_select())
        .load(c))
}

pub fn document(conn: &mut DbConn, claim_id: i64, doc_id: i64) -> QueryResult<Option<DocumentRow>> {
    db_run!(conn, c => claim_documents::table
        .filter(claim_documents::claim_id.eq(claim_id).and(claim_documents::id.eq(doc_id)))
        .select(DocumentRow::as_select())
        .first(c)
        .optional())
}

/// Claims (other than `except`) that carry this invoice number, at any facility or person.
pub fn claims_with_invoice(
    conn: &mut DbConn,
    invoice: &str,
    except: i64,
) -> QueryResult<Vec<(i64, String, Option<i64>)>> {
    db_run!(conn, c => claim_invoices::table
        .filter(claim_invoices::invoice_number.eq(invoice).and(claim_invoices::claim_id.ne(except)))
        .select((claim_invoices::claim_id, claim_invoices::facility_code, claim_invoices::person_id))
        .load(c))
}

pub fn invoice_exists(conn: &mut DbConn, invoice: &str, facility: &str) -> QueryResult<bool> {
    let n: i64 = db_run!(conn, c => claim_invoices::table
        .filter(claim_invoices::invoice_number.eq(invoice).and(claim_invoices::facility_code.eq(facility)))
        .count()
        .get_result(c))?;
    Ok(n > 0)
}

#[derive(Insertable)]
#[diesel(table_name = claim_invoices, treat_none_as_default_value = false)]
pub struct NewInvoice<'a> {
    pub invoice_number: &'a str,
    pub facility_code: &'a str,
    pub claim_id: i64,
    pub person_id: Option<i64>,
}

pub fn insert_invoices(conn: &mut DbConn, rows: &[NewInvoice<'_>]) -> QueryResult<usize> {
    Ok(crate::insert_chunked!(conn, claim_invoices::table, rows))
}

pub fn set_assessment(
    conn: &mut DbConn,
    claim_id: i64,
    policy: Option<&str>,
    payable: Option<i64>,
    breakdown: Option<&str>,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(claims::table.find(claim_id))
        .set((claims::policy_name.eq(policy), claims::payable_fen.eq(payable), claims::breakdown.eq(breakdown)))
        .execute(c))
}

pub fn set_decision(
    conn: &mut DbConn,
    claim_id: i64,
    decided: i64,
    breakdown: &str,
    decision: &str,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(claims::table.find(claim_id))
        .set((claims::decided_fen.eq(decided), claims::breakdown.eq(breakdown), claims::decision.eq(decision)))
        .execute(c))
}

pub fn for_resident(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<ClaimRow>> {
    db_run!(conn, c => claims::table.filter(claims::resident_user_id.eq(user_id)).order(claims::id.desc()).select(ClaimRow::as_select()).load(c))
}

/// Reads a person's year-to-date totals for update: on PostgreSQL the row is locked until
/// the transaction ends (SQLite's write transaction already excludes other writers), so two
/// concurrent decisions cannot both spend the same room under a cap.
pub fn ytd_for_update(
    conn: &mut DbConn,
    person_id: i64,
    policy: &str,
    year: i32,
) -> QueryResult<YearToDate> {
    let blank = (
        ytd_totals::person_id.eq(person_id),
        ytd_totals::policy_name.eq(policy),
        ytd_totals::year.eq(year),
        ytd_totals::scope_fen.eq(0i64),
        ytd_totals::over_limit_paid_fen.eq(0i64),
        ytd_totals::outpatient_paid_fen.eq(0i64),
        ytd_totals::paid_fen.eq(0i64),
    );
    let key = ytd_totals::table.find((person_id, policy, year));
    let cols = (
        ytd_totals::scope_fen,
        ytd_totals::over_limit_paid_fen,
        ytd_totals::outpatient_paid_fen,
        ytd_totals::paid_fen,
    );
    let row: (i64, i64, i64, i64) = match conn {
        DbConn::Sqlite(c, _) => {
            diesel::insert_or_ignore_into(ytd_totals::table)
                .values(blank)
                .execute(c)?;
            key.select(cols).first(c)?
        }
        DbConn::Pg(c) => {
            diesel::insert_into(ytd_totals::table)
                .values(blank)
                .on_conflict_do_nothing()
                .execute(c)?;
            key.select(cols).for_update().first(c)?
        }
    };
    Ok(YearToDate {
        scope_fen: row.0,
        over_limit_paid_fen: row.1,
        outpatient_paid_fen: row.2,
        paid_fen: row.3,
    })
}

pub fn ytd_read(
    conn: &mut DbConn,
    person_id: i64,
    policy: &str,
    year: i32,
) -> QueryResult<YearToDate> {
    let row: Option<(i64, i64, i64, i64)> = db_run!(conn, c => ytd_totals::table
        .find((person_id, policy, year))
        .select((ytd_totals::scope_fen, ytd_totals::over_limit_paid_fen, ytd_totals::outpatient_paid_fen, ytd_totals::paid_fen))
        .load(c)
        .map(super::at_most_one))?;
    Ok(row.map_or_else(YearToDate::default, |r| YearToDate {
        scope_fen: r.0,
        over_limit_paid_fen: r.1,
        outpatient_paid_fen: r.2,
        paid_fen: r.3,
    }))
}

pub fn ytd_write(
    conn: &mut DbConn,
    person_id: i64,
    policy: &str,
    year: i32,
    y: &YearToDate,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(ytd_totals::table.find((person_id, policy, year)))
        .set((
            ytd_totals::scope_fen.eq(y.scope_fen),
            ytd_totals::over_limit_paid_fen.eq(y.over_limit_paid_fen),
            ytd_totals::outpatient_paid_fen.eq(y.outpatient_paid_fen),
            ytd_totals::paid_fen.eq(y.paid_fen),
        ))
        .execute(c))
}

/// A stored idempotency key: the request hash and what it created.
pub fn idempotent(
    conn: &mut DbConn,
    user_id: i64,
    key: &str,
) -> QueryResult<Option<(String, i64, i64)>> {
    db_run!(conn, c => idempotency_keys::table
        .find((user_id, key))
        .select((idempotency_keys::request_hash, idempotency_keys::claim_id, idempotency_keys::case_id))
        .first(c)
        .optional())
}

pub fn remember_idempotent(
    conn: &mut DbConn,
    user_id: i64,
    key: &str,
    hash: &str,
    claim_id: i64,
    case_id: i64,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::claim_id.eq(claim_id),
            idempotency_keys::case_id.eq(case_id),
            idempotency_keys::created_at.eq(now_ms),
        ))
        .execute(c))
}

pub fn reject_document(
    conn: &mut DbConn,
    claim_id: i64,
    doc_id: i64,
    reason: &str,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(claim_documents::table.filter(claim_documents::id.eq(doc_id).and(claim_documents::claim_id.eq(claim_id))))
        .set((claim_documents::status.eq("rejected"), claim_documents::reject_reason.eq(reason)))
        .execute(c))
}

pub fn set_family_facts(conn: &mut DbConn, claim_id: i64, facts: &str) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(claims::table.find(claim_id)).set(claims::family_facts.eq(facts)).execute(c))
}
