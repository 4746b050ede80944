//! The case engine's hooks into what a case is about. The engine (`service::cases`) knows
//! workflows; this module knows subjects: the facts a claim's guards read, what a decision
//! writes on a claim, what a return asks the resident for, and what a violation needs before
//! a sanction. Each hook dispatches on [`Subject`].
use super::lookups::Direct;
use super::pricing::{self, Totals};
use crate::definitions::Definitions;
use crate::domain::case::Subject;
use crate::domain::claim::{self as claim_domain, ChecklistItem, Claim, Decision};
use crate::domain::policy::YearToDate;
use crate::domain::workflow::{CaseFacts, OutcomeKind, Workflow};
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::store::cases::CaseRow;
use crate::store::{claims as claim_store, findings, DbConn};
use std::sync::Arc;

/// Coded rejection reasons (README "Decisions").
pub const REJECT_REASONS: [(&str, &str, &str); 9] = [
    (
        "not_eligible",
        "就诊时不符合参保待遇条件",
        "Not covered on the service date",
    ),
    (
        "facility_not_designated",
        "就诊机构非定点或已暂停",
        "The facility was not designated",
    ),
    ("duplicate_claim", "重复报销", "Already claimed"),
    (
        "third_party_liable",
        "存在第三方责任",
        "A liable third party exists",
    ),
    (
        "outside_policy_scope",
        "费用不在政策范围内",
        "Costs outside the policy scope",
    ),
    (
        "documents_insufficient",
        "材料不足或不实",
        "Documents insufficient or untrue",
    ),
    ("fraud_suspected", "涉嫌欺诈骗保", "Suspected fraud"),
    ("late_submission", "超过申报期限", "Submitted too late"),
    ("other", "其他原因（见说明）", "Other (see the explanation)"),
];

fn claim_not_found(id: i64) -> AppError {
    AppError::NotFound(format!("claim {id}"))
}

/// The workflow whose document checklist a claim answers to: its family's, whichever
/// workflow its case runs on (an investigation keeps the family's documents).
fn family_workflow(defs: &Definitions, claim: &Claim, workflow: &Workflow) -> Arc<Workflow> {
    match defs.latest(claim.family.as_str()) {
        Some(family) => family,
        None => Arc::new(workflow.clone()),
    }
}

/// The claim's document checklist, against its family's requirements.
pub fn checklist(
    conn: &mut DbConn,
    defs: &Definitions,
    claim_id: i64,
    workflow: &Workflow,
    facts: &CaseFacts,
) -> AppResult<Vec<ChecklistItem>> {
    let record = claim_store::get(conn, claim_id)?.ok_or_else(|| claim_not_found(claim_id))?;
    let family = family_workflow(defs, &record.claim, workflow);
    let docs = claim_store::documents(conn, claim_id)?;
    let requests = claim_store::latest_requests(conn, claim_id)?;
    Ok(claim_domain::checklist(&family, facts, &docs, &requests))
}

/// The facts a case's guards read, computed fresh from its subject. Cases about other
/// subjects keep the facts they were opened with.
pub fn facts(
    conn: &mut DbConn,
    defs: &Definitions,
    case: &CaseRow,
    workflow: &Workflow,
) -> AppResult<CaseFacts> {
    match case.subject() {
        Subject::Claim(id) => {
            let record = claim_store::get(conn, id)?.ok_or_else(|| claim_not_found(id))?;
            let docs = claim_store::documents(conn, id)?;
            let requests = claim_store::latest_requests(conn, id)?;
            let codes = crate::domain::screening::RuleCode::ALL.map(|c| c.as_str());
            let family = family_workflow(defs, &record.claim, workflow);
            Ok(CaseFacts {
                screening_hits: findings::count_codes(conn, case.id, &codes)?,
                blocking_findings: findings::blocking(conn, case.id)?,
                ..claim_domain::facts(&record.claim, record.amounts(), &docs, &requests, &family)
            })
        }
        Subject::Violation(id) => {
            let stored: CaseFacts = serde_json::from_str(&case.facts).unwrap_or_default();
            let owed = crate::store::supervision::recoveries_of(conn, id)?;
            Ok(CaseFacts {
                outstanding_fen: owed.iter().map(|r| r.outstanding_fen()).sum(),
                ..stored
            })
        }
        Subject::Report(_) | Subject::Appeal(_) => {
            Ok(serde_json::from_str(&case.facts).unwrap_or_default())
        }
    }
}

/// What a decision asks of the subject beyond the workflow.
pub struct DecisionRequest<'a> {
    pub outcome: OutcomeKind,
    /// A granted amount other than the computed one (an override, a partial approval).
    pub amount_fen: Option<i64>,
    pub reason_code: Option<&'a str>,
    pub comment: &'a str,
}

/// Records a decision on the case's subject; for a claim, recomputes the benefit against the
/// person's year-to-date totals (locked for the rest of the transaction), checks the granted
/// amount and adds it to the totals. `None` for subjects a decision writes nothing on.
pub fn decide(
    conn: &mut DbConn,
    defs: &Definitions,
    case: &CaseRow,
    req: &DecisionRequest<'_>,
) -> AppResult<Option<Decision>> {
    match case.subject() {
        Subject::Claim(id) => decide_claim(conn, defs, id, req).map(Some),
        Subject::Violation(_) | Subject::Report(_) | Subject::Appeal(_) => Ok(None),
    }
}

fn rejection(code: Option<&str>) -> AppResult<Decision> {
    let code =
        code.ok_or_else(|| AppError::field("reason_code", Msg::new("field-reject-reason")))?;
    let (_, zh, en) = REJECT_REASONS
        .iter()
        .find(|(c, _, _)| *c == code)
        .ok_or_else(|| {
            let codes: Vec<&str> = REJECT_REASONS.iter().map(|r| r.0).collect();
            AppError::field(
                "reason_code",
                Msg::new("field-one-of")
                    .text("allowed", codes.join(", "))
                    .text("value", code),
            )
        })?;
    Ok(Decision {
        outcome: OutcomeKind::Rejected.as_str().into(),
        computed_fen: None,
        decided_fen: 0,
        catastrophic_fen: 0,
        assistance_fen: 0,
        r#override: false,
        reason: String::new(),
        reason_code: Some(code.into()),
        reason_zh: Some((*zh).into()),
        reason_en: Some((*en).into()),
        policy: None,
        year: None,
        ytd_added: None,
    })
}

/// The amount a decision grants, checked against what the policy allows now.
fn granted(req: &DecisionRequest<'_>, computed: i64) -> AppResult<i64> {
    match (req.outcome, req.amount_fen) {
        (OutcomeKind::PartiallyApproved, None) => Err(AppError::field(
            "amount_fen",
            Msg::new("field-partial-needs-amount"),
        )),
        (OutcomeKind::PartiallyApproved, Some(a)) if a >= computed => Err(AppError::field(
            "amount_fen",
            Msg::new("field-partial-below").fen("computed", computed),
        )),
        (_, Some(a)) if a < 0 => Err(AppError::field("amount_fen", Msg::new("field-negative"))),
        (_, Some(a)) if a > computed => Err(AppError::field(
            "amount_fen",
            Msg::new("field-above-policy")
                .fen("amount", a)
                .fen("computed", computed),
        )),
        (_, Some(a)) if a != computed && req.comment.trim().is_empty() => Err(AppError::field(
            "comment",
            Msg::new("field-override-reason"),
        )),
        (_, Some(a)) => Ok(a),
        (_, None) => Ok(computed),
    }
}

fn decide_claim(
    conn: &mut DbConn,
    defs: &Definitions,
    claim_id: i64,
    req: &DecisionRequest<'_>,
) -> AppResult<Decision> {
    let record = claim_store::get(conn, claim_id)?.ok_or_else(|| claim_not_found(claim_id))?;
    if req.outcome == OutcomeKind::Rejected {
        let decision = rejection(req.reason_code)?;
        claim_store::set_decision(conn, claim_id, None, &decision)?;
        return Ok(decision);
    }
    let ctx = pricing::context_of(conn, &record)?;
    let docs = claim_store::documents(conn, claim_id)?;
    let priced = match &ctx {
        Some(ctx) => pricing::price(
            conn,
            defs,
            &mut Direct,
            &record.claim,
            ctx,
            &docs,
            Totals::Lock,
        )?,
        None => None,
    };
    let computed = priced.as_ref().map_or(0, |(_, b)| b.payable_fen);
    let decided = granted(req, computed)?;
    // A decided basic amount other than the computed one: the later layers work on it.
    let priced = match (priced, &ctx) {
        (Some((pricing, _)), Some(ctx)) if decided != computed => {
            let ytd = claim_store::ytd_read(conn, ctx.person.id, &pricing.schedule, pricing.year)?;
            Some(pricing::price_decided(
                defs,
                &record.claim,
                ctx,
                &docs,
                pricing,
                ytd,
                decided,
            )?)
        }
        (priced, _) => priced,
    };
    let bill = priced
        .as_ref()
        .map(|(_, b)| b.bill.clone())
        .unwrap_or_default();
    let mut decision = Decision {
        outcome: req.outcome.as_str().into(),
        computed_fen: Some(computed),
        decided_fen: decided,
        catastrophic_fen: bill.catastrophic_fen,
        assistance_fen: bill.assistance_fen,
        r#override: decided != computed,
        reason: req.comment.into(),
        reason_code: None,
        reason_zh: None,
        reason_en: None,
        policy: None,
        year: None,
        ytd_added: None,
    };
    if let (Some((pricing, b)), Some(ctx)) = (&priced, &ctx) {
        let before = claim_store::ytd_read(conn, ctx.person.id, &pricing.schedule, pricing.year)?;
        let after = YearToDate::after_decision(before, b.ytd_after, decided);
        claim_store::ytd_write(conn, ctx.person.id, &pricing.schedule, pricing.year, &after)?;
        decision.policy = Some(pricing.policy.clone());
        decision.year = Some(pricing.year);
        decision.ytd_added = Some(after.minus(before));
    }
    claim_store::set_decision(conn, claim_id, priced.as_ref().map(|(_, b)| b), &decision)?;
    // What all three layers reimburse becomes payable in the same transaction.
    if let Some(person_id) = record.person_id {
        super::payments::make_payable(
            conn,
            claim_id,
            person_id,
            &record.region_code,
            decision.reimbursed_fen(),
            crate::store::now_ms(),
        )?;
    }
    Ok(decision)
}

/// What a return asks for, as the reviewer named it: checklist kinds, and extra documents
/// by their description.
pub struct ReturnAsks<'a> {
    pub kinds: &'a [String],
    pub extras: &'a [String],
}

/// The items a return asks for, as (kind, description): the kinds named, each one the
/// catalogue knows, and the extra documents (`other`) with their description; with
/// neither, whatever the checklist lacks. A return must ask for at least one, so that the
/// resident always knows what to send.
pub fn requests_for_return(
    conn: &mut DbConn,
    defs: &Definitions,
    workflow: &Workflow,
    case: &CaseRow,
    facts: &CaseFacts,
    asks: &ReturnAsks<'_>,
) -> AppResult<Vec<(String, String)>> {
    if let Some(bad) = asks
        .kinds
        .iter()
        .find(|k| crate::domain::documents::document_kind(k).is_none() || k.as_str() == "other")
    {
        return Err(AppError::rule_on_msg(
            "missing_documents",
            "unknown_document_kind",
            Msg::new("rule-unknown-document-kind").text("bad", bad.to_string()),
        ));
    }
    if let Some(bad) = asks
        .extras
        .iter()
        .find(|d| d.trim().is_empty() || d.len() > 500)
    {
        let _ = bad;
        return Err(AppError::rule_on_msg(
            "extra_documents",
            "extra_document_needs_description",
            Msg::new("rule-extra-document-needs-description"),
        ));
    }
    let mut asked: Vec<(String, String)> = asks
        .kinds
        .iter()
        .map(|k| (k.clone(), String::new()))
        .collect();
    asked.extend(
        asks.extras
            .iter()
            .map(|d| ("other".to_string(), d.trim().to_string())),
    );
    if asked.is_empty() {
        if let Subject::Claim(id) = case.subject() {
            asked = checklist(conn, defs, id, workflow, facts)?
                .into_iter()
                .filter(|i| !i.is_present())
                .map(|i| (i.kind, i.description.unwrap_or_default()))
                .collect();
        }
    }
    if asked.is_empty() {
        return Err(AppError::rule_on_msg(
            "missing_documents",
            "return_needs_items",
            Msg::new("rule-return-needs-items"),
        ));
    }
    Ok(asked)
}

/// What the resident still owes on the claim's checklist, by kind (for reminders).
pub fn still_missing(
    conn: &mut DbConn,
    defs: &Definitions,
    workflow: &Workflow,
    case: &CaseRow,
    facts: &CaseFacts,
) -> AppResult<Vec<ChecklistItem>> {
    let Subject::Claim(id) = case.subject() else {
        return Ok(Vec::new());
    };
    Ok(checklist(conn, defs, id, workflow, facts)?
        .into_iter()
        .filter(|i| !i.is_present())
        .collect())
}

/// A reviewer's judgement that a claim's care was (or was not) an emergency: recorded on
/// the claim, which is priced again. Only claims have one.
pub fn judge_emergency(
    conn: &mut DbConn,
    defs: &Definitions,
    case: &CaseRow,
    judged: bool,
) -> AppResult<()> {
    match case.subject() {
        Subject::Claim(id) => pricing::judge_emergency(conn, defs, id, judged),
        _ => Err(AppError::field(
            "judged_emergency",
            Msg::new("field-emergency-claims-only"),
        )),
    }
}

/// What an action needs on its subject before the engine takes it.
pub fn before_action(conn: &mut DbConn, case: &CaseRow, action: &str) -> AppResult<()> {
    match case.subject() {
        // The sanction's range and amounts are checked and recorded by its own call, which
        // then takes this action; the bare action would skip those checks.
        Subject::Violation(id) if action == "impose_sanction" => {
            let v = crate::store::supervision::violation(conn, id)?
                .ok_or_else(|| AppError::NotFound(format!("violation {id}")))?;
            if v.sanctioned_at.is_none() {
                return Err(AppError::field(
                    "action",
                    Msg::new("field-sanction-via-form").count("id", id),
                ));
            }
            Ok(())
        }
        // A hospital's correction records the corrected amounts first, in the same
        // transaction (`service::facility::correct_invoice`); the bare action would not.
        Subject::Claim(_) if action == crate::service::facility_tasks::CORRECT_INVOICE => {
            if crate::store::audit::last_action(conn, case.id)?.as_deref()
                != Some("invoice_corrected")
            {
                return Err(AppError::field(
                    "action",
                    Msg::new("field-correction-via-form").count("case", case.id),
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
