//! The violation page's money section: each repayment and fine with what is still owed, the
//! forms a supervisor may use now, and the proposals waiting for a second supervisor.
use super::ctx::Ctx;
use super::yuan;
use crate::service::supervision::ViolationView;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, Default)]
pub struct PaymentForm {
    #[serde(default)]
    pub recovery_id: i64,
    #[serde(default)]
    pub amount: String,
    #[serde(default, rename = "_csrf")]
    pub csrf: String,
}

/// The page's money section: each recovery with what is still owed, the forms a supervisor
/// may use now, and the proposals waiting for a second supervisor.
pub fn money_view(
    ctx: &Ctx,
    v: &ViolationView,
    proposers: &[String],
    me: i64,
    supervisor: bool,
    kept_payment: Option<&PaymentForm>,
    kept_reason: Option<&str>,
) -> Value {
    let recoveries: Vec<Value> = v
        .recoveries
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "kind": ctx.t(&format!("recovery.kind_{}", r.kind)),
                "ordered": yuan(r.amount_fen),
                "paid": yuan(r.paid_fen),
                "written_off": (r.written_off_fen > 0).then(|| yuan(r.written_off_fen)),
                "outstanding": yuan(r.outstanding_fen()),
                "settled": r.settled_at.map(|t| ctx.when(t)),
                "open": r.outstanding_fen() > 0,
                "selected": kept_payment.is_some_and(|p| p.recovery_id == r.id),
            })
        })
        .collect();
    let pending: Vec<Value> = v
        .approvals
        .iter()
        .zip(proposers)
        .filter(|(a, _)| a.decision.is_none())
        .map(|(a, by)| {
            json!({
                "id": a.id,
                "kind": ctx.t(&format!("recovery.approval_{}", a.kind)),
                "reason": a.reason,
                "by": by,
                "when": ctx.when(a.proposed_at),
                "mine": a.proposed_by == me,
                "can_decide": supervisor && a.proposed_by != me,
            })
        })
        .collect();
    let write_off_pending = v
        .approvals
        .iter()
        .any(|a| a.kind == "write_off" && a.decision.is_none());
    json!({
        "recoveries": recoveries,
        "outstanding": yuan(v.outstanding_fen),
        "owed": v.outstanding_fen > 0,
        "can_pay": supervisor && v.outstanding_fen > 0,
        "can_write_off": supervisor && v.outstanding_fen > 0 && !write_off_pending,
        "pending": pending,
        "amount": kept_payment.map_or("", |p| p.amount.as_str()),
        "write_off_reason": kept_reason.unwrap_or_default(),
    })
}
