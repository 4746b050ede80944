//! Payment batches: made from the payable claims of a region, and the bank file, written
//! once and locked, then the same bytes on every later export.
use super::*;
use crate::error::Msg;

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
    let unknown =
        || AppError::rule_on_msg("region", "unknown_region", Msg::new("rule-unknown-region"));
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
            return Err(AppError::rule_msg(
                RuleKind::Invalid,
                "nothing_payable",
                Msg::new("rule-nothing-payable")
                    .both("region", region.name_zh.as_str(), region.name_en.as_str())
                    .count("waiting", waiting.len() as i64),
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
            return Err(AppError::Conflict(Msg::new("conflict-batch-claims")));
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
                    AppError::rule_msg(RuleKind::Conflict, "account_missing", Msg::new("rule-account-missing").text("claim_id", pay.claim_id.to_string()))
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
                return Err(AppError::Conflict(Msg::new("conflict-batch-changed")));
            }
            items
        } else {
            store::items_of(conn, batch_id)?
        };
        let csv = bank_file(env, &items)?;
        let sha = hex::encode(Sha256::digest(&csv));
        if first {
            if store::lock_batch(conn, batch_id, actor.user_id, now_ms, &sha)? != 1 {
                return Err(AppError::Conflict(
                    Msg::new("conflict-batch-exported").count("id", batch_id),
                ));
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
            &Fen(item.amount_fen).to_yuan().to_string(),
        ]))
        .map_err(io)?;
    }
    w.write_record([
        "TOTAL",
        &items.len().to_string(),
        "",
        "",
        "",
        &Fen(total).to_yuan().to_string(),
    ])
    .map_err(io)?;
    w.into_inner()
        .map_err(|e| AppError::internal(anyhow::anyhow!("writing the bank file: {e}")))
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
