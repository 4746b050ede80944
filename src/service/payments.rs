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
    self, masked, normalise_account, parse_result_file, reconcile, BankOutcome, Reconciliation,
    RowError, BANK_FILE_COLUMNS,
};
use crate::domain::roles::Role;
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
pub struct AccountView {
    pub person_id: i64,
    pub bank: String,
    pub holder: String,
    /// Always masked: `****1234`.
    pub number_masked: String,
    pub updated_at: i64,
}

fn view(a: &AccountRow) -> AccountView {
    AccountView {
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

pub fn account(conn: &mut DbConn, p: &Principal, person_id: i64) -> AppResult<Option<AccountView>> {
    account_holder(conn, p, person_id)?;
    Ok(store::account(conn, person_id)?.as_ref().map(view))
}

fn text_field(field: &'static str, value: &str, max: usize, zh: &str) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(AppError::rule_on(
            field,
            "account_field",
            format!("{zh}不能为空，且不超过 {max} 个字"),
            format!("{field} must be given, at most {max} characters"),
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
) -> AppResult<AccountView> {
    let bank = text_field("bank", &input.bank, 100, "开户银行")?;
    let holder = text_field("holder", &input.holder, 50, "账户名")?;
    let number = normalise_account(&input.number)
        .map_err(|(zh, en)| AppError::rule_on("number", "account_number", zh, en))?;
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
        let requeued = store::requeue_for_person(conn, person_id, now_ms)?;
        for pay in store::payments_by_id(conn, &requeued)? {
            record(
                conn,
                pay.claim_id,
                Actor::of(p, role),
                "payment_requeued",
                json!({ "payment_id": pay.id, "attempt": pay.attempt, "account": masked(&row.last4) }),
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
        Err(AppError::rule(
            RuleKind::Forbidden,
            "payments_supervisor_only",
            "只有主管可以创建、导出付款批次或导入银行结果",
            "only a supervisor creates and exports payment batches and imports bank results",
        ))
    }
}

fn reader(p: &Principal) -> AppResult<()> {
    if p.has(Role::Supervisor) || p.has(Role::Auditor) || p.has(Role::Director) {
        Ok(())
    } else {
        Err(AppError::rule(
            RuleKind::Forbidden,
            "payments_readers",
            "付款批次与对账仅限主管、负责人和审计人员查看",
            "payment batches and reconciliation are for supervisors, directors and auditors",
        ))
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatchRequest {
    /// The region whose payable claims go in (its whole subtree).
    pub region: String,
    /// Claims that became payable up to this time (Unix ms); default now.
    #[serde(default)]
    pub cutoff_ms: Option<i64>,
}

/// Creates a batch from the payable claims of a region up to the cut-off whose persons have
/// a payee account; the others stay payable and are counted.
pub fn create_batch(
    conn: &mut DbConn,
    p: &Principal,
    req: &NewBatchRequest,
    now_ms: i64,
) -> AppResult<(BatchRow, usize)> {
    supervisor(p)?;
    let unknown = || {
        AppError::rule_on(
            "region",
            "unknown_region",
            "未知地区，或不在您的管辖范围内",
            "unknown region, or one outside your own",
        )
    };
    let region = regions::get(conn, &req.region)?.ok_or_else(unknown)?;
    if !regions::path_within(&region.path, &p.region_path) {
        return Err(unknown());
    }
    let cutoff = req.cutoff_ms.unwrap_or(now_ms).min(now_ms);
    conn.write_tx(|conn| {
        let payable = store::payable_in(conn, &region.path, cutoff)?;
        let person_ids: Vec<i64> = payable.iter().map(|x| x.person_id).collect();
        let with_account: std::collections::HashSet<i64> = store::accounts_of(conn, &person_ids)?
            .into_iter()
            .map(|a| a.person_id)
            .collect();
        let (ready, waiting): (Vec<_>, Vec<_>) = payable
            .into_iter()
            .partition(|x| with_account.contains(&x.person_id));
        if ready.is_empty() {
            return Err(AppError::rule(
                RuleKind::Invalid,
                "nothing_payable",
                format!(
                    "截至该时间 {} 没有可支付且已登记收款账户的理赔（另有 {} 笔缺少账户）",
                    region.name_zh,
                    waiting.len()
                ),
                format!(
                    "{} has no payable claim with a payee account by the cut-off ({} more lack an account)",
                    region.name_en,
                    waiting.len()
                ),
            ));
        }
        let total = crate::domain::money::sum_fen(ready.iter().map(|x| x.amount_fen));
        let id = store::insert_batch(
            conn,
            &NewBatch {
                region_code: &region.code,
                region_path: &region.path,
                cutoff_ms: cutoff,
                status: "open",
                item_count: ready.len() as i64,
                total_fen: total,
                created_by: p.user_id,
                created_at: now_ms,
            },
        )?;
        let ids: Vec<i64> = ready.iter().map(|x| x.id).collect();
        let moved = store::move_payments(conn, &ids, "payable", "batched", Some(id), now_ms)?;
        if moved != ids.len() {
            return Err(AppError::Conflict(
                "payable claims changed while the batch was made; try again".into(),
            ));
        }
        for pay in &ready {
            record(
                conn,
                pay.claim_id,
                Actor::of(p, Role::Supervisor),
                "payment_batched",
                json!({ "payment_id": pay.id, "batch_id": id, "amount_fen": pay.amount_fen }),
                now_ms,
            )?;
        }
        let batch = store::batch(conn, id)?.expect("the batch just written");
        Ok((batch, waiting.len()))
    })
}

/// A batch within the region subtree (`None`: the operator at the command line, everywhere).
fn batch_in_scope(conn: &mut DbConn, region_path: Option<&str>, id: i64) -> AppResult<BatchRow> {
    store::batch(conn, id)?
        .filter(|b| region_path.is_none_or(|r| regions::path_within(&b.region_path, r)))
        .ok_or_else(|| AppError::NotFound(format!("payment batch {id}")))
}

pub fn batches(conn: &mut DbConn, p: &Principal) -> AppResult<Vec<BatchRow>> {
    reader(p)?;
    Ok(store::batches_in(conn, &p.region_path)?)
}

/// The bank file of a batch, and whether this export locked it. The first export writes one
/// item per payment (its reference, amount and the account sealed as it stood) and moves the
/// payments to sent; a later export writes the same file from those items, byte for byte,
/// and changes nothing, so a retried export never pays twice.
pub struct Export {
    pub batch: BatchRow,
    pub csv: Vec<u8>,
    pub first: bool,
}

pub fn export_batch(
    conn: &mut DbConn,
    env: Env<'_>,
    region_path: Option<&str>,
    actor: Actor<'_>,
    batch_id: i64,
    now_ms: i64,
) -> AppResult<Export> {
    conn.write_tx(|conn| {
        let batch = batch_in_scope(conn, region_path, batch_id)?;
        let first = batch.status == "open";
        let items = if first {
            let ids = store::batched_ids(conn, batch_id)?;
            let pays = store::payments_by_id(conn, &ids)?;
            let person_ids: Vec<i64> = pays.iter().map(|x| x.person_id).collect();
            let accounts = store::accounts_of(conn, &person_ids)?;
            let mut items = Vec::with_capacity(pays.len());
            for pay in &pays {
                let account = accounts.iter().find(|a| a.person_id == pay.person_id).ok_or_else(|| {
                    AppError::rule(
                        RuleKind::Conflict,
                        "account_missing",
                        format!("理赔 {} 的收款账户已不存在", pay.claim_id),
                        format!("claim {}'s payee account is gone", pay.claim_id),
                    )
                })?;
                items.push(ItemRow {
                    batch_id,
                    payment_id: pay.id,
                    reference: payment::reference(pay.id, pay.attempt),
                    amount_fen: pay.amount_fen,
                    account_last4: account.last4.clone(),
                    number_cipher: account.number_cipher.clone(),
                    bank: account.bank.clone(),
                    holder: account.holder.clone(),
                    result: "pending".into(),
                    result_on: None,
                    reason: None,
                    claim_id: pay.claim_id,
                });
            }
            store::insert_items(conn, &items)?;
            let ids: Vec<i64> = pays.iter().map(|x| x.id).collect();
            let moved = store::move_payments(conn, &ids, "batched", "sent", Some(batch_id), now_ms)?;
            if moved != ids.len() {
                return Err(AppError::Conflict(
                    "the batch's payments changed while it was exported; try again".into(),
                ));
            }
            items
        } else {
            store::items_of(conn, batch_id)?
        };
        let csv = bank_file(env, &items)?;
        let sha = hex::encode(Sha256::digest(&csv));
        if first {
            if store::lock_batch(conn, batch_id, actor.user_id.unwrap_or(batch.created_by), now_ms, &sha)? != 1 {
                return Err(AppError::Conflict(format!(
                    "payment batch {batch_id} was exported meanwhile"
                )));
            }
            for item in &items {
                record(
                    conn,
                    item.claim_id,
                    actor,
                    "payment_sent",
                    json!({ "payment_id": item.payment_id, "batch_id": batch_id, "reference": item.reference, "amount_fen": item.amount_fen, "account": masked(&item.account_last4) }),
                    now_ms,
                )?;
            }
        } else if batch.file_sha256.as_deref() != Some(sha.as_str()) {
            return Err(AppError::internal(anyhow::anyhow!(
                "payment batch {batch_id}: the file rebuilt from its items does not match the one exported"
            )));
        }
        let batch = store::batch(conn, batch_id)?.expect("the batch read above");
        Ok(Export { batch, csv, first })
    })
}

/// The bank file: the documented columns, one row per item, then the control row.
fn bank_file(env: Env<'_>, items: &[ItemRow]) -> AppResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| AppError::internal(anyhow::anyhow!("writing the bank file: {e}"));
    w.write_record(BANK_FILE_COLUMNS).map_err(io)?;
    let mut total = 0i64;
    for item in items {
        let number = env.accounts.open(&item.number_cipher)?;
        total += item.amount_fen;
        w.write_record(safe_record([
            item.reference.as_str(),
            &item.claim_id.to_string(),
            &item.holder,
            &item.bank,
            &number,
            &Fen(item.amount_fen).to_string(),
        ]))
        .map_err(io)?;
    }
    w.write_record([
        "TOTAL",
        &items.len().to_string(),
        "",
        "",
        "",
        &Fen(total).to_string(),
    ])
    .map_err(io)?;
    w.into_inner()
        .map_err(|e| AppError::internal(anyhow::anyhow!("writing the bank file: {e}")))
}

// ---- the bank's results ----------------------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ResultSummary {
    pub paid: usize,
    pub failed: usize,
    pub returned: usize,
    /// Rows that repeat a result already recorded: nothing changes.
    pub unchanged: usize,
}

/// Applies the bank's result file: every row checked against the batch items first (known
/// reference, the amount sent, no result that contradicts one recorded); any error and
/// nothing is applied. A repeated file changes nothing.
pub fn import_results(
    conn: &mut DbConn,
    env: Env<'_>,
    region_path: Option<&str>,
    actor: Actor<'_>,
    text: &str,
    now_ms: i64,
) -> AppResult<Result<ResultSummary, Vec<RowError>>> {
    let rows = match parse_result_file(text) {
        Ok(rows) => rows,
        Err(errors) => return Ok(Err(errors)),
    };
    conn.write_tx(|conn| {
        let refs: Vec<String> = rows.iter().map(|r| r.reference.clone()).collect();
        let items = store::items_by_reference(conn, &refs)?;
        let mut batches = std::collections::HashMap::new();
        let mut errors = Vec::new();
        let mut summary = ResultSummary::default();
        let mut apply = Vec::new();
        for row in &rows {
            let err = |field: &str, zh: String, en: String| RowError {
                line: row.line,
                field: field.into(),
                zh,
                en,
            };
            let Some(item) = items.iter().find(|i| i.reference == row.reference) else {
                errors.push(err(
                    "reference",
                    format!("参考号 {} 不属于任何已导出的付款批次", row.reference),
                    format!("reference {} belongs to no exported payment batch", row.reference),
                ));
                continue;
            };
            let batch = match batches.get(&item.batch_id) {
                Some(b) => b,
                None => {
                    let b = store::batch(conn, item.batch_id)?;
                    batches.entry(item.batch_id).or_insert(b)
                }
            };
            let in_scope = batch.as_ref().is_some_and(|b| {
                region_path.is_none_or(|r| regions::path_within(&b.region_path, r))
            });
            if !in_scope {
                errors.push(err(
                    "reference",
                    format!("参考号 {} 不属于任何已导出的付款批次", row.reference),
                    format!("reference {} belongs to no exported payment batch", row.reference),
                ));
                continue;
            }
            if row.amount.0 != item.amount_fen {
                errors.push(err(
                    "amount_yuan",
                    format!("金额 {} 元与批次 {} 中的 {} 元不符", row.amount, item.batch_id, Fen(item.amount_fen)),
                    format!("amount {} differs from the {} sent in batch {}", row.amount, Fen(item.amount_fen), item.batch_id),
                ));
                continue;
            }
            let status = row.outcome.status();
            if item.result != "pending" {
                let same_day = match &row.outcome {
                    BankOutcome::Paid(d) => item.result_on.as_deref() == Some(d.to_string().as_str()),
                    _ => true,
                };
                if item.result == status && same_day {
                    summary.unchanged += 1;
                } else {
                    errors.push(err(
                        "status",
                        format!("参考号 {} 已记录为 {}，不能改为 {status}", row.reference, item.result),
                        format!("reference {} is already recorded as {}, not {status}", row.reference, item.result),
                    ));
                }
                continue;
            }
            apply.push((row, item));
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        for (row, item) in apply {
            let status = row.outcome.status();
            let (on, reason) = match &row.outcome {
                BankOutcome::Paid(d) => (Some(d.to_string()), None),
                BankOutcome::Failed(r) | BankOutcome::Returned(r) => (None, Some(r.clone())),
            };
            store::set_item_result(conn, &item.reference, status, on.as_deref(), reason.as_deref())?;
            if store::settle_payment(conn, item.payment_id, status, on.as_deref(), &item.account_last4, reason.as_deref(), now_ms)? != 1 {
                return Err(AppError::Conflict(format!(
                    "payment of reference {} is no longer waiting for the bank",
                    item.reference
                )));
            }
            record(
                conn,
                item.claim_id,
                actor,
                &format!("payment_{status}"),
                json!({ "payment_id": item.payment_id, "reference": item.reference, "amount_fen": item.amount_fen, "paid_on": on, "reason": reason, "account": masked(&item.account_last4) }),
                now_ms,
            )?;
            notify(conn, env, item, status, on.as_deref(), reason.as_deref(), now_ms)?;
            match status {
                "paid" => summary.paid += 1,
                "failed" => summary.failed += 1,
                _ => summary.returned += 1,
            }
        }
        Ok(Ok(summary))
    })
}

/// The resident's letter: paid on a date to the masked account, or what to correct.
fn notify(
    conn: &mut DbConn,
    env: Env<'_>,
    item: &ItemRow,
    status: &str,
    on: Option<&str>,
    reason: Option<&str>,
    now_ms: i64,
) -> AppResult<()> {
    let Some(case) = case_store::for_subject(conn, Subject::Claim(item.claim_id))? else {
        return Ok(());
    };
    let template = if status == "paid" {
        "payment_paid"
    } else {
        "payment_failed"
    };
    super::notify::to_resident(
        conn,
        env,
        &case,
        super::notify::Letter {
            template,
            dedupe: &item.reference,
            extra: json!({
                "amount_yuan": Fen(item.amount_fen).to_string(),
                "paid_on": on,
                "reason": reason,
                "account": masked(&item.account_last4),
            }),
        },
        now_ms,
    )?;
    Ok(())
}

// ---- reconciliation ----------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchReport {
    pub batch: BatchRow,
    pub items: Vec<ItemRow>,
    pub paid_fen: i64,
    pub pending_fen: i64,
    pub failed_fen: i64,
    pub returned_fen: i64,
    /// total = paid + pending + failed + returned, and the items add up to the batch total.
    pub balances: bool,
}

pub fn batch_report(conn: &mut DbConn, p: &Principal, batch_id: i64) -> AppResult<BatchReport> {
    reader(p)?;
    let batch = batch_in_scope(conn, Some(&p.region_path), batch_id)?;
    let items = store::items_of(conn, batch_id)?;
    let sum = |r: &str| {
        items
            .iter()
            .filter(|i| i.result == r)
            .map(|i| i.amount_fen)
            .sum::<i64>()
    };
    let (paid, pending, failed, returned) =
        (sum("paid"), sum("pending"), sum("failed"), sum("returned"));
    let items_total: i64 = items.iter().map(|i| i.amount_fen).sum();
    let balances = if batch.status == "open" {
        items.is_empty()
    } else {
        items_total == batch.total_fen
            && items.len() as i64 == batch.item_count
            && paid + pending + failed + returned == batch.total_fen
    };
    Ok(BatchReport {
        batch,
        items,
        paid_fen: paid,
        pending_fen: pending,
        failed_fen: failed,
        returned_fen: returned,
        balances,
    })
}

/// Reconciles the claims approved in `[from_ms, to_ms)` in the principal's region.
pub fn period_report(
    conn: &mut DbConn,
    p: &Principal,
    from_ms: i64,
    to_ms: i64,
) -> AppResult<Reconciliation> {
    reader(p)?;
    if to_ms <= from_ms {
        return Err(AppError::rule_on(
            "to",
            "period_empty",
            "对账期间的结束须晚于开始",
            "the period's end must be after its start",
        ));
    }
    let approved = store::approved_claims(conn, &p.region_path, from_ms, to_ms)?;
    let ids: Vec<i64> = approved.iter().map(|a| a.0).collect();
    let payments = store::payments_for_reconciliation(conn, &p.region_path, &ids, from_ms, to_ms)?;
    Ok(reconcile(&approved, &payments))
}

/// Export by a signed-in supervisor, within their region.
pub fn export_as(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    batch_id: i64,
    now_ms: i64,
) -> AppResult<Export> {
    supervisor(p)?;
    export_batch(
        conn,
        env,
        Some(&p.region_path),
        Actor::of(p, Role::Supervisor),
        batch_id,
        now_ms,
    )
}

/// Results imported by a signed-in supervisor, for batches within their region.
pub fn import_as(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    text: &str,
    now_ms: i64,
) -> AppResult<Result<ResultSummary, Vec<RowError>>> {
    supervisor(p)?;
    import_results(
        conn,
        env,
        Some(&p.region_path),
        Actor::of(p, Role::Supervisor),
        text,
        now_ms,
    )
}
