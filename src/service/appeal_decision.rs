//! An appeal's outcome (申诉/复核; handbook §8.3), the engine's hooks for appeal cases: who
//! may not act on it (everyone who acted on the decision appealed against), and the decision
//! that upholds or changes the amount, re-priced on the year's totals without the earlier
//! decision so that what is payable and the year-to-date totals move exactly once.
use super::Env;
use crate::definitions::Definitions;
use crate::domain::audit::Event;
use crate::domain::case::Subject;
use crate::domain::claim::Decision;
use crate::domain::money::Fen;
use crate::domain::policy::YearToDate;
use crate::domain::workflow::OutcomeKind;
use crate::error::Msg;
use crate::error::{AppError, AppResult, RuleKind};
use crate::service::lookups::Direct;
use crate::service::pricing::{self, Totals};
use crate::store::appeals::{self as store, AppealRow};
use crate::store::cases::CaseRow;
use crate::store::{audit, cases as case_store, claims as claim_store, payments, DbConn};
use serde_json::json;

/// The staff who acted on the decision appealed against: none of them may act on the appeal.
pub fn earlier_chain(conn: &mut DbConn, case: &CaseRow) -> AppResult<Vec<i64>> {
    let Subject::Appeal(id) = case.subject() else {
        return Ok(Vec::new());
    };
    let Some(appeal) = store::get(conn, id)? else {
        return Ok(Vec::new());
    };
    Ok(case_store::stage_actors(conn, appeal.claim_case_id)?
        .into_iter()
        .map(|a| a.actor_id)
        .collect())
}

/// The appeal's outcome: upheld, or changed to a new basic amount with the later layers
/// re-priced on the totals without the earlier decision. Called inside the action's
/// transaction; the appeal is decided once.
pub fn decide(
    conn: &mut DbConn,
    env: Env<'_>,
    case: &CaseRow,
    changed: Option<i64>,
    comment: &str,
    now_ms: i64,
) -> AppResult<Decision> {
    let Subject::Appeal(id) = case.subject() else {
        return Err(AppError::internal(anyhow::anyhow!("not an appeal case")));
    };
    let appeal = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("appeal {id}")))?;
    let record = claim_store::get(conn, appeal.claim_id)?
        .ok_or_else(|| AppError::NotFound(format!("claim {}", appeal.claim_id)))?;
    let original = record.decision.clone().ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("claim {} has no decision", appeal.claim_id))
    })?;
    let decision = match changed {
        None => Decision {
            outcome: "upheld".into(),
            reason: comment.into(),
            ..original.clone()
        },
        Some(amount) => reprice(conn, env.defs, &appeal, &record, &original, amount, comment)?,
    };
    let new_total = decision.reimbursed_fen();
    let outcome = if changed.is_some() {
        "changed"
    } else {
        "upheld"
    };
    if store::decide(conn, id, outcome, new_total, now_ms)? != 1 {
        return Err(AppError::Conflict(
            Msg::new("conflict-appeal-decided").count("id", id),
        ));
    }
    if changed.is_some() {
        adjust_payable(conn, &record, new_total, now_ms)?;
    }
    // The claim's own trail carries the new decision, so that its row and trail agree.
    audit::append(
        conn,
        appeal.claim_case_id,
        Event::new(None, "appeal", "system", "appeal_decided", now_ms).values(
            "{}",
            json!({ "appeal_id": id, "appeal_case_id": case.id, "outcome": outcome, "decision": &decision }),
        ),
    )?;
    if let Some(claim_case) = case_store::get(conn, appeal.claim_case_id)? {
        super::notify::to_resident(
            conn,
            env,
            &claim_case,
            super::notify::Letter {
                template: "appeal_decided",
                dedupe: &id.to_string(),
                extra: json!({
                    "changed": changed.is_some(),
                    "old_yuan": Fen(appeal.old_reimbursed_fen).to_string(),
                    "new_yuan": Fen(new_total).to_string(),
                    "comment": comment,
                }),
            },
            now_ms,
        )?;
    }
    Ok(decision)
}

/// The decision with `amount` of basic insurance: priced on the year's totals without what
/// the earlier decision added, which are then replaced by what this one adds.
fn reprice(
    conn: &mut DbConn,
    defs: &Definitions,
    appeal: &AppealRow,
    record: &claim_store::ClaimRecord,
    original: &Decision,
    amount: i64,
    comment: &str,
) -> AppResult<Decision> {
    let ctx = pricing::context_of(conn, record)?.ok_or_else(|| {
        AppError::rule_msg(
            RuleKind::Conflict,
            "appeal_no_person",
            Msg::new("rule-appeal-no-person"),
        )
    })?;
    let docs = claim_store::documents(conn, appeal.claim_id)?;
    let unpriced = || {
        AppError::rule_msg(
            RuleKind::Conflict,
            "appeal_unpriced",
            Msg::new("rule-appeal-unpriced"),
        )
    };
    let no_policy = || {
        AppError::rule_msg(
            RuleKind::Conflict,
            "appeal_no_policy",
            Msg::new("rule-appeal-no-policy"),
        )
    };
    let price_on = |conn: &mut DbConn, totals| {
        pricing::price(conn, defs, &mut Direct, &record.claim, &ctx, &docs, totals)?
            .ok_or_else(no_policy)
    };
    // The totals the claim is priced on: without what the earlier decision added. A
    // rejection added nothing, so its claim is priced on the year's totals as they stand.
    let (pricing, computed, base) = match (&original.policy, original.year, original.ytd_added) {
        (Some(policy), Some(year), Some(added)) => {
            let schedule = defs
                .policies()
                .iter()
                .find(|p| &p.name == policy)
                .map(|p| p.schedule.clone())
                .ok_or_else(unpriced)?;
            let current = claim_store::ytd_for_update(conn, ctx.person.id, &schedule, year)?;
            let base = current.minus(added);
            let (pricing, computed) = price_on(conn, Totals::Given(base))?;
            (pricing, computed, base)
        }
        _ if original.outcome == OutcomeKind::Rejected.as_str() => {
            let (pricing, computed) = price_on(conn, Totals::Lock)?;
            let base = claim_store::ytd_read(conn, ctx.person.id, &pricing.schedule, pricing.year)?;
            (pricing, computed, base)
        }
        _ => return Err(unpriced()),
    };
    let (schedule, year, policy) = (
        pricing.schedule.clone(),
        pricing.year,
        pricing.policy.clone(),
    );
    if amount < 0 || amount > computed.payable_fen {
        return Err(AppError::rule_on_msg(
            "amount_fen",
            "appeal_amount",
            Msg::new("rule-appeal-amount").fen("payable", computed.payable_fen),
        ));
    }
    let (_, b) = pricing::price_decided(defs, &record.claim, &ctx, &docs, pricing, base, amount)?;
    let after = YearToDate::after_decision(base, b.ytd_after, amount);
    // The totals without the earlier decision, plus what this one adds.
    claim_store::ytd_write(conn, ctx.person.id, &schedule, year, &after)?;
    // A changed decision grants money, so a rejection changed on appeal becomes an approval.
    let outcome = if amount == computed.payable_fen {
        OutcomeKind::Approved
    } else {
        OutcomeKind::PartiallyApproved
    };
    let decision = Decision {
        outcome: outcome.as_str().into(),
        computed_fen: Some(computed.payable_fen),
        decided_fen: amount,
        catastrophic_fen: b.bill.catastrophic_fen,
        assistance_fen: b.bill.assistance_fen,
        r#override: amount != computed.payable_fen,
        reason: comment.into(),
        reason_code: None,
        reason_zh: None,
        reason_en: None,
        policy: Some(policy),
        year: Some(year),
        ytd_added: Some(after.minus(base)),
    };
    claim_store::set_decision(conn, appeal.claim_id, Some(&b), &decision)?;
    Ok(decision)
}

/// Moves what is payable to the new total: an unsent payment takes the new amount; once the
/// first payment is with the bank or paid, an increase becomes a second payment. A decrease
/// of money already sent is refused: it is a recovery from the resident, not a payment.
fn adjust_payable(
    conn: &mut DbConn,
    record: &claim_store::ClaimRecord,
    new_total: i64,
    now_ms: i64,
) -> AppResult<()> {
    let rows = payments::payments_of_claim(conn, record.id)?;
    let so_far: i64 = rows.iter().map(|r| r.amount_fen).sum();
    let diff = new_total - so_far;
    if diff == 0 {
        return Ok(());
    }
    let Some(person_id) = record.person_id else {
        return Ok(());
    };
    match rows.last() {
        None => super::payments::make_payable(
            conn,
            record.id,
            person_id,
            &record.region_code,
            new_total,
            now_ms,
        ),
        Some(last)
            if matches!(last.status.as_str(), "payable" | "failed" | "returned")
                && last.amount_fen + diff > 0 =>
        {
            payments::set_unsent_amount(conn, last.id, last.amount_fen + diff, now_ms)?;
            Ok(())
        }
        Some(last) if diff > 0 && rows.len() == 1 => {
            payments::insert_payment(
                conn,
                &payments::NewPayment {
                    claim_id: record.id,
                    seq: last.seq + 1,
                    person_id,
                    region_path: &last.region_path,
                    amount_fen: diff,
                    status: "payable",
                    payable_at: now_ms,
                    updated_at: now_ms,
                },
            )?;
            Ok(())
        }
        Some(_) => Err(AppError::rule_msg(
            RuleKind::Conflict,
            "appeal_reduces_paid",
            Msg::new("rule-appeal-reduces-paid").fen("new_total", new_total),
        )),
    }
}
