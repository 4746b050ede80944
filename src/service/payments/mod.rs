//! The money path after approval (handbook §8.2): payee accounts, payable claims, batches
//! sent to the bank, the bank's results, and reconciliation. Every change is one transaction
//! and leaves an event in the claim's audit trail.
use super::Env;
use crate::auth::Principal;
use crate::domain::audit::Event;
use crate::domain::case::Subject;
use crate::domain::export::safe_record;
use crate::domain::money::Fen;
use crate::domain::payment::{
    self, masked, normalise_account, parse_result_file, reconcile, row_error, BankOutcome,
    Reconciliation, RowError, BANK_FILE_COLUMNS,
};
use crate::domain::roles::Role;
use crate::error::Msg;
use crate::error::{AppError, AppResult, RuleKind};
use crate::store::payments::{self as store, AccountRow, BatchRow, ItemRow, NewBatch, NewPayment};
use crate::store::{audit, cases as case_store, persons, regions, DbConn};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Who acts: a signed-in user, or the operator at the command line.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub user_id: Option<i64>,
    pub name: &'a str,
    pub role: &'a str,
}

impl<'a> Actor<'a> {
    pub fn of(p: &'a Principal, role: Role) -> Actor<'a> {
        Actor {
            user_id: Some(p.user_id),
            name: &p.username,
            role: role.as_str(),
        }
    }

    pub const CLI: Actor<'static> = Actor {
        user_id: None,
        name: "claimflow payments",
        role: "system",
    };
}

/// Appends a payment event to the trail of the claim's case.
fn record(
    conn: &mut DbConn,
    claim_id: i64,
    actor: Actor<'_>,
    action: &str,
    values: serde_json::Value,
    now_ms: i64,
) -> AppResult<()> {
    if let Some(case) = case_store::for_subject(conn, Subject::Claim(claim_id))? {
        audit::append(
            conn,
            case.id,
            Event::new(actor.user_id, actor.name, actor.role, action, now_ms).values("{}", values),
        )?;
    }
    Ok(())
}

// ---- accounts ------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// The bank (开户行), e.g. 中国农业银行平阳县支行.
    #[schema(max_length = 100)]
    pub bank: String,
    /// The account holder's name as the bank has it.
    #[schema(max_length = 50)]
    pub holder: String,
    /// Digits; spaces and dashes are dropped. Card numbers (16-19 digits) must pass Luhn.
    #[schema(max_length = 40)]
    pub number: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayeeAccountView {
    pub person_id: i64,
    pub bank: String,
    pub holder: String,
    /// Always masked: `****1234`.
    pub number_masked: String,
    pub updated_at: i64,
}

fn view(a: &AccountRow) -> PayeeAccountView {
    PayeeAccountView {
        person_id: a.person_id,
        bank: a.bank.clone(),
        holder: a.holder.clone(),
        number_masked: masked(&a.last4),
        updated_at: a.updated_at,
    }
}

/// The person whose account this principal may read or set: a resident their own, a clerk
/// (or admin) anyone in their region; anything else answers as unknown.
fn account_holder(conn: &mut DbConn, p: &Principal, person_id: i64) -> AppResult<persons::Person> {
    let unknown = || AppError::NotFound(format!("person {person_id}"));
    let person = persons::get(conn, person_id)?.ok_or_else(unknown)?;
    if person.user_id == Some(p.user_id) {
        return Ok(person);
    }
    if !(p.has(Role::Clerk) || p.has(Role::Admin)) {
        return Err(unknown());
    }
    let region = regions::get(conn, &person.region_code)?.ok_or_else(unknown)?;
    if !regions::path_within(&region.path, &p.region_path) {
        return Err(unknown());
    }
    Ok(person)
}

pub fn account(
    conn: &mut DbConn,
    p: &Principal,
    person_id: i64,
) -> AppResult<Option<PayeeAccountView>> {
    account_holder(conn, p, person_id)?;
    Ok(store::account(conn, person_id)?.as_ref().map(view))
}

fn text_field(field: &'static str, value: &str, max: usize, zh: &str) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(AppError::rule_on_msg(
            field,
            "account_field",
            Msg::new("rule-account-field")
                .both("field", zh, field)
                .count("max", max as i64),
        ));
    }
    Ok(v.to_string())
}

/// Sets a person's payee account. Their failed or returned payments go back to payable, as a
/// new attempt to the corrected account; every unpaid claim's trail records the change.
pub fn set_account(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    person_id: i64,
    input: &AccountInput,
    now_ms: i64,
) -> AppResult<PayeeAccountView> {
    let bank = text_field("bank", &input.bank, 100, "开户银行")?;
    let holder = text_field("holder", &input.holder, 50, "账户名")?;
    let number = normalise_account(&input.number)
        .map_err(|msg| AppError::rule_on_msg("number", "account_number", msg))?;
    conn.write_tx(|conn| {
        let person = account_holder(conn, p, person_id)?;
        let role = if person.user_id == Some(p.user_id) {
            Role::Resident
        } else if p.has(Role::Clerk) {
            Role::Clerk
        } else {
            Role::Admin
        };
        let row = AccountRow {
            person_id,
            bank,
            holder,
            number_cipher: env.accounts.seal(&number),
            last4: payment::last4(&number).to_string(),
            updated_by: p.user_id,
            updated_at: now_ms,
        };
        store::set_account(conn, &row)?;
        // Where the money of every unpaid claim now goes is in that claim's trail, with who
        // changed it: a redirected payment is never silent.
        let requeued = store::requeue_for_person(conn, person_id, now_ms)?;
        for pay in store::unpaid_of_person(conn, person_id)? {
            let action = if requeued.contains(&pay.id) { "payment_requeued" } else { "payee_account_set" };
            record(
                conn,
                pay.claim_id,
                Actor::of(p, role),
                action,
                json!({ "payment_id": pay.id, "attempt": pay.attempt, "account": masked(&row.last4), "bank": row.bank }),
                now_ms,
            )?;
        }
        Ok(view(&row))
    })
}

// ---- payable -------------------------------------------------------------------------

/// Makes an approved claim payable: what all three layers reimburse. Called inside the
/// decision's transaction; a claim has one payment, so a second call is refused.
pub fn make_payable(
    conn: &mut DbConn,
    claim_id: i64,
    person_id: i64,
    region_code: &str,
    amount_fen: i64,
    now_ms: i64,
) -> AppResult<()> {
    if amount_fen <= 0 {
        return Ok(());
    }
    let region_path = regions::get(conn, region_code)?
        .map(|r| r.path)
        .ok_or_else(|| AppError::NotFound(format!("region {region_code}")))?;
    store::insert_payment(
        conn,
        &NewPayment {
            claim_id,
            seq: 1,
            person_id,
            region_path: &region_path,
            amount_fen,
            status: "payable",
            payable_at: now_ms,
            updated_at: now_ms,
        },
    )?;
    Ok(())
}

/// A claim's payment as its resident and staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    pub amount_fen: i64,
    pub status: String,
    pub attempt: i64,
    pub batch_id: Option<i64>,
    pub paid_on: Option<String>,
    pub account_masked: Option<String>,
    pub reason: Option<String>,
    pub zh: String,
    pub en: String,
}

/// The claim's latest payment (an appeal's increase after the first), as its resident reads it.
pub fn payment_view(conn: &mut DbConn, claim_id: i64) -> AppResult<Option<PaymentView>> {
    let Some(pay) = store::payments_of_claim(conn, claim_id)?.pop() else {
        return Ok(None);
    };
    let account = pay.account_last4.as_deref().map(masked);
    let amount = Fen(pay.amount_fen);
    let (zh, en) = match pay.status.as_str() {
        "paid" => (
            format!(
                "已于 {} 支付 {amount} 元至账户 {}",
                pay.paid_on.as_deref().unwrap_or("-"),
                account.as_deref().unwrap_or("-")
            ),
            format!(
                "{amount} yuan paid on {} to account {}",
                pay.paid_on.as_deref().unwrap_or("-"),
                account.as_deref().unwrap_or("-")
            ),
        ),
        "failed" | "returned" => (
            format!(
                "银行未能付款（{}），请更正收款账户后重新支付",
                pay.reason.as_deref().unwrap_or("-")
            ),
            format!(
                "The bank could not pay ({}): correct the payee account and it is paid again",
                pay.reason.as_deref().unwrap_or("-")
            ),
        ),
        "sent" => (
            format!("{amount} 元已提交银行，等待到账"),
            format!("{amount} yuan sent to the bank, waiting for the transfer"),
        ),
        _ => (
            format!("{amount} 元待支付"),
            format!("{amount} yuan to be paid"),
        ),
    };
    Ok(Some(PaymentView {
        amount_fen: pay.amount_fen,
        status: pay.status,
        attempt: pay.attempt,
        batch_id: pay.batch_id,
        paid_on: pay.paid_on,
        account_masked: account,
        reason: pay.reason,
        zh,
        en,
    }))
}

// ---- batches -------------------------------------------------------------------------

fn supervisor(p: &Principal) -> AppResult<()> {
    if p.has(Role::Supervisor) {
        Ok(())
    } else {
        Err(AppError::rule_msg(
            RuleKind::Forbidden,
            "payments_supervisor_only",
            Msg::new("rule-payments-supervisor-only"),
        ))
    }
}

fn reader(p: &Principal) -> AppResult<()> {
    if p.has(Role::Supervisor) || p.has(Role::Auditor) || p.has(Role::Director) {
        Ok(())
    } else {
        Err(AppError::rule_msg(
            RuleKind::Forbidden,
            "payments_readers",
            Msg::new("rule-payments-readers"),
        ))
    }
}

fn batch_in_scope(conn: &mut DbConn, region_path: Option<&str>, id: i64) -> AppResult<BatchRow> {
    store::batch(conn, id)?
        .filter(|b| region_path.is_none_or(|r| regions::path_within(&b.region_path, r)))
        .ok_or_else(|| AppError::NotFound(format!("payment batch {id}")))
}

mod batches;
mod reconcile;
mod results;

pub use batches::{batches, create_batch, export_as, export_batch, Export, NewBatchRequest};
pub use reconcile::{batch_report, period_report, BatchReport};
pub use results::{import_as, import_results, ResultSummary};
