//! The money on the resident's claim page: the one bill with its layers (charted), where the
//! payment stands and whether the account form is offered, and the appeal.
use super::ctx::Ctx;
use super::{svg, yuan};
use crate::service::views::claim::ClaimDetail;
use serde_json::{json, Map, Value};

/// The bill's parts in yuan, with a split bar: what each layer paid and what is left.
pub fn bill_fields(ctx: &Ctx, d: &ClaimDetail) -> Map<String, Value> {
    let mut out = Map::new();
    // A rejection pays nothing: the computation it did not use is not shown as a bill.
    let rejected = d.decision.as_ref().is_some_and(|x| x.outcome == "rejected");
    let Some(b) = d
        .breakdown
        .as_ref()
        .map(|b| &b.bill)
        .filter(|b| b.total_fen > 0 && !rejected)
    else {
        return out;
    };
    let parts = [
        (ctx.t("bill.fund"), b.fund_fen, "s1"),
        (ctx.t("bill.catastrophic"), b.catastrophic_fen, "s2"),
        (ctx.t("bill.assistance"), b.assistance_fen, "s3"),
        (ctx.t("bill.self_pay"), b.self_pay_fen, "s4"),
    ];
    let labelled: Vec<(String, i64, &str)> = parts
        .iter()
        .map(|(label, fen, class)| {
            (
                format!("{label} {} {}", yuan(*fen), ctx.t("claims.yuan")),
                *fen,
                *class,
            )
        })
        .collect();
    out.insert(
        "bill".into(),
        json!({
            "rows": parts.iter().map(|(label, fen, _)| json!({"label": label, "amount": yuan(*fen)})).collect::<Vec<_>>(),
            "total": yuan(b.total_fen),
            "reimbursed": yuan(b.reimbursed_fen()),
            "chart": svg::split_bar(&ctx.t("bill.title"), &labelled),
        }),
    );
    out
}

/// Where the payment stands, and whether the account form is offered: once the claim is
/// approved, until it is paid.
pub fn payment_fields(ctx: &Ctx, d: &ClaimDetail) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(p) = &d.payment {
        out.insert("payment_text".into(), json!(ctx.pick(&p.zh, &p.en)));
        out.insert("payment_status".into(), json!(p.status));
        let open = matches!(p.status.as_str(), "payable" | "failed" | "returned");
        out.insert("account_form".into(), json!(open));
    }
    out
}

/// The appeal: its state once filed; the form while the decision may still be appealed.
pub fn appeal_fields(ctx: &Ctx, d: &ClaimDetail) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(a) = &d.appeal {
        let key = match a.outcome.as_deref() {
            Some("changed") => "appeal.changed",
            Some(_) => "appeal.upheld",
            None => "appeal.pending",
        };
        out.insert("appeal_text".into(), json!(ctx.t(key)));
        out.insert("appeal_reason".into(), json!(a.reason));
        if let Some(fen) = a
            .new_reimbursed_fen
            .filter(|_| a.outcome.as_deref() == Some("changed"))
        {
            out.insert("appeal_amount".into(), json!(yuan(fen)));
        }
        return out;
    }
    if let Some(decided) = d.decided_at {
        let due = crate::service::appeals::deadline(decided, ctx.state.config.appeal_days);
        if crate::store::now_ms() <= due {
            out.insert("appeal_form".into(), json!(true));
            out.insert(
                "appeal_until".into(),
                json!(ctx.state.defs.calendar().local_date(due).to_string()),
            );
        }
    }
    out
}
