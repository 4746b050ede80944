//! Payee accounts, payments, batches and their items.
use super::schema::{claims, payee_accounts, payment_batches, payment_items, payments, persons};
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = payee_accounts)]
pub struct AccountRow {
    pub person_id: i64,
    pub bank: String,
    pub holder: String,
    pub number_cipher: String,
    pub last4: String,
    pub updated_by: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = payments)]
pub struct PaymentRow {
    pub id: i64,
    pub claim_id: i64,
    pub seq: i64,
    pub person_id: i64,
    pub region_path: String,
    pub amount_fen: i64,
    /// payable, batched, sent, paid, failed or returned
    pub status: String,
    pub attempt: i64,
    pub batch_id: Option<i64>,
    pub payable_at: i64,
    pub paid_on: Option<String>,
    pub account_last4: Option<String>,
    pub reason: Option<String>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = payments)]
pub struct NewPayment<'a> {
    pub claim_id: i64,
    pub seq: i64,
    pub person_id: i64,
    pub region_path: &'a str,
    pub amount_fen: i64,
    pub status: &'a str,
    pub payable_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = payment_batches)]
pub struct BatchRow {
    pub id: i64,
    pub region_code: String,
    pub region_path: String,
    pub cutoff_ms: i64,
    /// open or exported
    pub status: String,
    pub item_count: i64,
    pub total_fen: i64,
    pub created_by: i64,
    pub created_at: i64,
    pub exported_by: Option<i64>,
    pub exported_at: Option<i64>,
    pub file_sha256: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = payment_batches)]
pub struct NewBatch<'a> {
    pub region_code: &'a str,
    pub region_path: &'a str,
    pub cutoff_ms: i64,
    pub status: &'a str,
    pub item_count: i64,
    pub total_fen: i64,
    pub created_by: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = payment_items)]
pub struct ItemRow {
    pub batch_id: i64,
    pub payment_id: i64,
    pub claim_id: i64,
    pub reference: String,
    pub amount_fen: i64,
    pub bank: String,
    pub holder: String,
    /// The account number sealed as it stood at export; never shown.
    #[serde(skip)]
    pub number_cipher: String,
    pub account_last4: String,
    /// pending, paid, failed or returned
    pub result: String,
    pub result_on: Option<String>,
    pub reason: Option<String>,
}

pub fn account(conn: &mut DbConn, person_id: i64) -> QueryResult<Option<AccountRow>> {
    db_run!(conn, c => payee_accounts::table.find(person_id).select(AccountRow::as_select()).load(c).map(super::at_most_one))
}

pub fn accounts_of(conn: &mut DbConn, person_ids: &[i64]) -> QueryResult<Vec<AccountRow>> {
    db_run!(conn, c => payee_accounts::table.filter(payee_accounts::person_id.eq_any(person_ids)).select(AccountRow::as_select()).load(c))
}

pub fn set_account(conn: &mut DbConn, row: &AccountRow) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(payee_accounts::table)
        .values(row)
        .on_conflict(payee_accounts::person_id)
        .do_update()
        .set(row)
        .execute(c))
}

pub fn insert_payment(conn: &mut DbConn, p: &NewPayment<'_>) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(payments::table).values(p).returning(payments::id).get_result(c))
}

/// A claim's payments: the decision's, then an appeal's increase.
pub fn payments_of_claim(conn: &mut DbConn, claim_id: i64) -> QueryResult<Vec<PaymentRow>> {
    db_run!(conn, c => payments::table.filter(payments::claim_id.eq(claim_id)).order(payments::seq).select(PaymentRow::as_select()).load(c))
}

/// Changes the amount of a payment that is not with the bank.
pub fn set_unsent_amount(
    conn: &mut DbConn,
    id: i64,
    amount_fen: i64,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(payments::table.filter(payments::id.eq(id)).filter(payments::status.eq_any(["payable", "failed", "returned"])))
        .set((payments::amount_fen.eq(amount_fen), payments::updated_at.eq(now_ms)))
        .execute(c))
}

pub fn payments_by_id(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<PaymentRow>> {
    db_run!(conn, c => payments::table.filter(payments::id.eq_any(ids)).order(payments::id).select(PaymentRow::as_select()).load(c))
}

/// Payable payments in a region's subtree that became payable by the cut-off, oldest first.
pub fn payable_in(
    conn: &mut DbConn,
    region_path: &str,
    cutoff_ms: i64,
) -> QueryResult<Vec<PaymentRow>> {
    let pattern = format!("{region_path}/%");
    db_run!(conn, c => payments::table
        .filter(payments::status.eq("payable"))
        .filter(payments::region_path.eq(region_path).or(payments::region_path.like(&pattern)))
        .filter(payments::payable_at.le(cutoff_ms))
        .order(payments::id)
        .select(PaymentRow::as_select())
        .load(c))
}

/// Moves payments on, only from the status expected: the count moved tells a caller whether
/// another transaction got there first.
pub fn move_payments(
    conn: &mut DbConn,
    ids: &[i64],
    from: &str,
    to: &str,
    batch_id: Option<i64>,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(payments::table.filter(payments::id.eq_any(ids)).filter(payments::status.eq(from)))
        .set((payments::status.eq(to), payments::batch_id.eq(batch_id), payments::updated_at.eq(now_ms)))
        .execute(c))
}

/// Records the bank's result on a payment that was sent.
pub fn settle_payment(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    paid_on: Option<&str>,
    last4: &str,
    reason: Option<&str>,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(payments::table.filter(payments::id.eq(id)).filter(payments::status.eq("sent")))
        .set((
            payments::status.eq(status),
            payments::paid_on.eq(paid_on),
            payments::account_last4.eq(last4),
            payments::reason.eq(reason),
            payments::updated_at.eq(now_ms),
        ))
        .execute(c))
}

/// Failed and returned payments of a person go back to payable, as a new attempt.
pub fn requeue_for_person(conn: &mut DbConn, person_id: i64, now_ms: i64) -> QueryResult<Vec<i64>> {
    let ids: Vec<i64> = db_run!(conn, c => payments::table
        .filter(payments::person_id.eq(person_id))
        .filter(payments::status.eq_any(["failed", "returned"]))
        .select(payments::id)
        .load(c))?;
    db_run!(conn, c => diesel::update(payments::table.filter(payments::id.eq_any(&ids)))
        .set((
            payments::status.eq("payable"),
            payments::attempt.eq(payments::attempt + 1),
            payments::batch_id.eq(None::<i64>),
            payments::payable_at.eq(now_ms),
            payments::updated_at.eq(now_ms),
        ))
        .execute(c))?;
    Ok(ids)
}

pub fn batched_ids(conn: &mut DbConn, batch_id: i64) -> QueryResult<Vec<i64>> {
    db_run!(conn, c => payments::table.filter(payments::batch_id.eq(batch_id)).filter(payments::status.eq("batched")).order(payments::id).select(payments::id).load(c))
}

/// A person's payments not yet paid, in claim order.
pub fn unpaid_of_person(conn: &mut DbConn, person_id: i64) -> QueryResult<Vec<PaymentRow>> {
    db_run!(conn, c => payments::table.filter(payments::person_id.eq(person_id)).filter(payments::status.ne("paid")).order((payments::claim_id, payments::seq)).select(PaymentRow::as_select()).load(c))
}

pub fn insert_batch(conn: &mut DbConn, b: &NewBatch<'_>) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(payment_batches::table).values(b).returning(payment_batches::id).get_result(c))
}

pub fn batch(conn: &mut DbConn, id: i64) -> QueryResult<Option<BatchRow>> {
    db_run!(conn, c => payment_batches::table.find(id).select(BatchRow::as_select()).load(c).map(super::at_most_one))
}

/// Batches in a region's subtree, newest first.
pub fn batches_in(conn: &mut DbConn, region_path: &str) -> QueryResult<Vec<BatchRow>> {
    let pattern = format!("{region_path}/%");
    db_run!(conn, c => payment_batches::table
        .filter(payment_batches::region_path.eq(region_path).or(payment_batches::region_path.like(&pattern)))
        .order(payment_batches::id.desc())
        .limit(200)
        .select(BatchRow::as_select())
        .load(c))
}

/// Locks an open batch as exported, by a user or (`None`) the command line; 0 when it was
/// not open.
pub fn lock_batch(
    conn: &mut DbConn,
    id: i64,
    by: Option<i64>,
    now_ms: i64,
    sha256: &str,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(payment_batches::table.filter(payment_batches::id.eq(id)).filter(payment_batches::status.eq("open")))
        .set((
            payment_batches::status.eq("exported"),
            payment_batches::exported_by.eq(by),
            payment_batches::exported_at.eq(now_ms),
            payment_batches::file_sha256.eq(sha256),
        ))
        .execute(c))
}

pub fn insert_items(conn: &mut DbConn, items: &[ItemRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in items.chunks(500) {
        n +=
            db_run!(conn, c => diesel::insert_into(payment_items::table).values(chunk).execute(c))?;
    }
    Ok(n)
}

pub fn items_of(conn: &mut DbConn, batch_id: i64) -> QueryResult<Vec<ItemRow>> {
    db_run!(conn, c => payment_items::table.filter(payment_items::batch_id.eq(batch_id)).order(payment_items::payment_id).select(ItemRow::as_select()).load(c))
}

pub fn items_by_reference(conn: &mut DbConn, refs: &[String]) -> QueryResult<Vec<ItemRow>> {
    let mut out = Vec::with_capacity(refs.len());
    for chunk in refs.chunks(500) {
        out.extend(db_run!(conn, c => payment_items::table.filter(payment_items::reference.eq_any(chunk)).select(ItemRow::as_select()).load::<ItemRow>(c))?);
    }
    Ok(out)
}

pub fn set_item_result(
    conn: &mut DbConn,
    reference: &str,
    result: &str,
    on: Option<&str>,
    reason: Option<&str>,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(payment_items::table.filter(payment_items::reference.eq(reference)).filter(payment_items::result.eq("pending")))
        .set((payment_items::result.eq(result), payment_items::result_on.eq(on), payment_items::reason.eq(reason)))
        .execute(c))
}

/// Payee names and what each payment's claim carries, for the bank file.
pub fn person_names(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    db_run!(conn, c => persons::table.filter(persons::id.eq_any(ids)).select((persons::id, persons::name)).load(c))
}

/// A claim and what its decision granted in each layer.
type LayerAmounts = (i64, Option<i64>, Option<i64>, Option<i64>);

/// Claims in a region's subtree whose reimbursement was last set in `[from_ms, to_ms)`, with
/// what they reimburse (decided + catastrophic + assistance), when that is more than nothing:
/// set by the decision (the case closing) or, once an appeal changed it, by the appeal's
/// decision, so that each claim counts in one period and a rejection changed on appeal
/// counts at all. Read from the claims and their cases, not from the payments, so that an
/// approved claim without a payment shows as a difference.
pub fn approved_claims(
    conn: &mut DbConn,
    region_path: &str,
    from_ms: i64,
    to_ms: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    use super::schema::{appeals, cases};
    let pattern = format!("{region_path}/%");
    let in_period = |at: i64| at >= from_ms && at < to_ms;
    // Claims whose amount an appeal changed, and whether it did so in the period.
    let changed: Vec<(i64, Option<i64>)> = db_run!(conn, c => appeals::table
        .inner_join(cases::table.on(cases::id.eq(appeals::claim_case_id)))
        .filter(appeals::outcome.eq("changed"))
        .filter(cases::region_path.eq(region_path).or(cases::region_path.like(&pattern)))
        .select((appeals::claim_id, appeals::decided_at))
        .load(c))?;
    let changed: std::collections::HashMap<i64, bool> = changed
        .into_iter()
        .map(|(id, at)| (id, at.is_some_and(in_period)))
        .collect();
    let claim_of_case = claims::id
        .eq(cases::subject_id)
        .and(cases::subject_kind.eq("claim"));
    let decided: Vec<LayerAmounts> = db_run!(conn, c => cases::table
        .inner_join(claims::table.on(claim_of_case))
        .filter(cases::outcome.is_not_null())
        .filter(cases::region_path.eq(region_path).or(cases::region_path.like(&pattern)))
        .filter(cases::stage_entered_at.ge(from_ms).and(cases::stage_entered_at.lt(to_ms)))
        .select((claims::id, claims::decided_fen, claims::catastrophic_fen, claims::assistance_fen))
        .load(c))?;
    let mut rows: Vec<LayerAmounts> = decided
        .into_iter()
        .filter(|r| !changed.contains_key(&r.0))
        .collect();
    let appealed: Vec<i64> = changed
        .iter()
        .filter_map(|(id, now)| now.then_some(*id))
        .collect();
    for chunk in appealed.chunks(500) {
        rows.extend(db_run!(conn, c => claims::table
            .filter(claims::id.eq_any(chunk))
            .select((claims::id, claims::decided_fen, claims::catastrophic_fen, claims::assistance_fen))
            .load::<LayerAmounts>(c))?);
    }
    rows.sort_unstable_by_key(|r| r.0);
    Ok(rows
        .into_iter()
        .map(|(id, d, c, a)| (id, d.unwrap_or(0) + c.unwrap_or(0) + a.unwrap_or(0)))
        .filter(|(_, amount)| *amount > 0)
        .collect())
}

/// Payments of these claims, and payments in the subtree made payable in the period whose
/// claim is not among them: (claim id, amount, status), in claim order.
pub fn payments_for_reconciliation(
    conn: &mut DbConn,
    region_path: &str,
    claim_ids: &[i64],
    from_ms: i64,
    to_ms: i64,
) -> QueryResult<Vec<(i64, i64, String)>> {
    let pattern = format!("{region_path}/%");
    let mut rows: Vec<(i64, i64, String)> = Vec::new();
    for chunk in claim_ids.chunks(500) {
        rows.extend(db_run!(conn, c => payments::table
            .filter(payments::claim_id.eq_any(chunk))
            .select((payments::claim_id, payments::amount_fen, payments::status))
            .load::<(i64, i64, String)>(c))?);
    }
    let strays: Vec<(i64, i64, String)> = db_run!(conn, c => payments::table
        .filter(payments::region_path.eq(region_path).or(payments::region_path.like(&pattern)))
        .filter(payments::payable_at.ge(from_ms).and(payments::payable_at.lt(to_ms)))
        .select((payments::claim_id, payments::amount_fen, payments::status))
        .load(c))?;
    let known: std::collections::HashSet<i64> = claim_ids.iter().copied().collect();
    rows.extend(strays.into_iter().filter(|(c, _, _)| !known.contains(c)));
    rows.sort_unstable_by_key(|r| r.0);
    Ok(rows)
}
