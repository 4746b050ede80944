//! The bank's result file: checked whole, applied whole or not at all, a repeat changing
//! nothing; the resident's letters.
use super::*;
use crate::error::Msg;

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
            let err = |field: &str, msg: Msg| row_error(row.line, field, msg);
            let Some(item) = items.iter().find(|i| i.reference == row.reference) else {
                errors.push(err(
                    "reference",
                    Msg::new("bank-row-reference-unknown").text("reference", row.reference.as_str()),
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
                    Msg::new("bank-row-reference-unknown").text("reference", row.reference.as_str()),
                ));
                continue;
            }
            if row.amount.0 != item.amount_fen {
                errors.push(err(
                    "amount_yuan",
                    Msg::new("bank-row-amount-differs")
                        .fen("amount", row.amount.0)
                        .fen("sent", item.amount_fen)
                        .count("batch", item.batch_id),
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
                        Msg::new("bank-row-already")
                            .text("reference", row.reference.as_str())
                            .text("recorded", item.result.as_str())
                            .text("status", status),
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
                return Err(AppError::Conflict(
                    Msg::new("conflict-payment-not-waiting").text("reference", item.reference.as_str()),
                ));
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
    crate::service::notify::to_resident(
        conn,
        env,
        &case,
        crate::service::notify::Letter {
            template,
            dedupe: &item.reference,
            extra: json!({
                "amount_yuan": Fen(item.amount_fen).yuan_text(),
                "paid_on": on,
                "reason": reason,
                "account": masked(&item.account_last4),
            }),
        },
        now_ms,
    )?;
    Ok(())
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
