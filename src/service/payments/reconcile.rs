//! Reconciliation: a batch's items against its total, and a period's approved claims
//! against their payments.
use super::*;
use crate::error::Msg;

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
        return Err(AppError::rule_on_msg(
            "to",
            "period_empty",
            Msg::new("rule-period-empty"),
        ));
    }
    let approved = store::approved_claims(conn, &p.region_path, from_ms, to_ms)?;
    let ids: Vec<i64> = approved.iter().map(|a| a.0).collect();
    let payments = store::payments_for_reconciliation(conn, &p.region_path, &ids, from_ms, to_ms)?;
    Ok(reconcile(&approved, &payments))
}
