//! Sanctions inside the law, and the money they order until it is paid or written off.
//!
//! A choice above the article's maximum is refused, with no way around it. A choice below
//! its minimum needs one of the article's mitigating circumstances and a second supervisor:
//! it is proposed, and applied only when another supervisor approves it. A sanction against a
//! facility suspends or terminates its designation; one against a person (Art. 41) suspends
//! their direct settlement. Either flags the claims in flight inside the period with an
//! error finding. Money owed is tracked until paid; the only other way out is a write-off,
//! proposed by one supervisor with a reason and approved by another.
use super::violations::violation_case;
use super::*;
use crate::domain::supervision::{Breach, Verdict};
use crate::error::Msg;
use crate::error::{Rule, RuleKind};
use crate::store::supervision::{DualApproval, NewDualApproval};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SanctionInput {
    /// The case version you saw (optimistic concurrency).
    pub expected_version: i64,
    /// Within the article's range for the amount involved.
    #[schema(minimum = 0, maximum = 9_000_000_000_i64)]
    pub fine_fen: i64,
    /// 0 for no suspension.
    #[serde(default)]
    pub suspension_months: u32,
    /// First day of the suspension (or termination), YYYY-MM-DD.
    #[serde(default)]
    #[schema(format = Date)]
    pub suspended_from: Option<String>,
    #[serde(default)]
    pub terminate: bool,
    /// For a choice below the article's minimum: one of the article's mitigating
    /// circumstances (`policies/supervision/order735.toml`). A second supervisor approves it.
    #[serde(default)]
    pub mitigation: Option<String>,
    /// The grounds, in the supervisor's words.
    #[serde(default)]
    pub reason: String,
    /// When the facility must have rectified, YYYY-MM-DD.
    #[schema(format = Date)]
    pub rectification_due: String,
}

/// What a sanction call did: applied at once, or proposed for a second supervisor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SanctionOutcome {
    #[serde(flatten)]
    pub violation: ViolationView,
    /// The proposal waiting for a second supervisor, when the choice was below the minimum.
    pub pending_approval: Option<DualApproval>,
}

fn refused(breaches: Vec<Breach>) -> AppError {
    let fields = breaches.iter().map(|b| b.field).collect();
    let join = |lang, sep| {
        let texts: Vec<String> = breaches
            .iter()
            .map(|b| crate::messages::render(&b.msg, lang))
            .collect();
        texts.join(sep)
    };
    AppError::Rule(Rule {
        kind: RuleKind::Invalid,
        code: breaches[0].code,
        fields,
        zh: join("zh-CN", "；"),
        en: join("en", "; "),
    })
}

/// The violation at its decision stage, for a supervisor.
fn at_decision(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    violation_id: i64,
) -> AppResult<ViolationView> {
    p.require_any(&[Role::Supervisor])?;
    let current = view(conn, defs, p, violation_id)?;
    if current.stage.as_deref() != Some("decision") {
        let at = current.stage.as_deref().unwrap_or("closed");
        return Err(AppError::rule_msg(
            RuleKind::Conflict,
            "not_at_decision",
            Msg::new("rule-not-at-decision")
                .text("violation_id", violation_id.to_string())
                .text("at", at.to_string()),
        ));
    }
    Ok(current)
}

/// Checks the dates of a choice: the rectification deadline, and the first day of any
/// suspension or termination.
fn checked_dates(
    input: &SanctionInput,
) -> AppResult<(Option<chrono::NaiveDate>, Option<chrono::NaiveDate>)> {
    let mut errors = Vec::new();
    date_field(&mut errors, "rectification_due", &input.rectification_due);
    let from = input.suspended_from.as_deref().map(str::trim);
    let needs_from = input.suspension_months > 0 || input.terminate;
    match from {
        Some(f) => date_field(&mut errors, "suspended_from", f),
        None if needs_from => errors.push(FieldError::new(
            "suspended_from",
            Msg::new("field-suspension-from"),
        )),
        None => {}
    }
    fail_if_any(errors)?;
    let from_day = from.and_then(parse_iso_date).filter(|_| needs_from);
    let until_day = match (from_day, input.suspension_months) {
        (Some(d), m) if m > 0 && !input.terminate => supervision::months_after(d, m),
        _ => None,
    };
    Ok((from_day, until_day))
}

/// Checks a choice against the article and returns its verdict.
fn verdict(
    defs: &Definitions,
    current: &ViolationView,
    input: &SanctionInput,
) -> AppResult<Verdict> {
    let sanctions = defs.sanctions();
    let article = sanctions
        .article(&current.violation.article)
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "article {} is not in the table",
                current.violation.article
            ))
        })?;
    let choice = SanctionChoice {
        fine_fen: input.fine_fen,
        suspension_months: input.suspension_months,
        terminate: input.terminate,
        mitigation: input.mitigation.as_deref(),
    };
    supervision::check_choice(article, &current.allowed, &sanctions.mitigations, &choice)
        .map_err(refused)
}

/// Records the sanction, or proposes it when it is below the article's minimum. Inside the
/// range it is applied at once and the case moves to rectification, in one transaction.
pub fn impose_sanction(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    violation_id: i64,
    input: &SanctionInput,
    now_ms: i64,
) -> AppResult<SanctionOutcome> {
    let current = at_decision(conn, env.defs, p, violation_id)?;
    checked_dates(input)?;
    match verdict(env.defs, &current, input)? {
        Verdict::Within => {
            let violation = apply_sanction(conn, env, p, &current, input, None, now_ms)?;
            Ok(SanctionOutcome {
                violation,
                pending_approval: None,
            })
        }
        Verdict::Mitigated { mitigation, below } => {
            let proposal = serde_json::to_string(input).map_err(anyhow::Error::from)?;
            let reason = input.reason.trim();
            let pending = conn.write_tx(|conn| {
                let row = store::insert_approval(conn, &NewDualApproval {
                    violation_id,
                    kind: "mitigated_sanction",
                    proposal: &proposal,
                    reason_code: Some(&mitigation.code),
                    reason,
                    proposed_by: p.user_id,
                    proposed_at: now_ms,
                })?;
                let value = json!({ "approval_id": row.id, "below_minimum": below, "mitigation": mitigation.code, "mitigation_zh": mitigation.zh, "proposal": input });
                audit::append(
                    conn,
                    current.case_id,
                    Event::new(Some(p.user_id), &p.username, Role::Supervisor.as_str(), "sanction_proposed", now_ms)
                        .values("{}", value)
                        .comment(reason)
                        .internal(),
                )?;
                Ok::<_, AppError>(row)
            })?;
            Ok(SanctionOutcome {
                violation: view(conn, env.defs, p, violation_id)?,
                pending_approval: Some(pending),
            })
        }
    }
}

/// Writes the sanction, orders the money, changes the designation or suspends the person,
/// flags the claims in flight, and takes the workflow's `impose_sanction` action, in one
/// transaction. `approval` names the proposal a second supervisor approved.
fn apply_sanction(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    current: &ViolationView,
    input: &SanctionInput,
    approval: Option<&DualApproval>,
    now_ms: i64,
) -> AppResult<ViolationView> {
    let (from_day, until_day) = checked_dates(input)?;
    let v = &current.violation;
    let violation_id = v.id;
    conn.write_tx(|conn| {
        let from_text = from_day.map(|d| d.to_string());
        let until_text = until_day.map(|d| d.to_string());
        store::record_sanction(
            conn,
            violation_id,
            &SanctionRecord {
                repay_fen: Some(current.allowed.repay_fen),
                fine_fen: Some(input.fine_fen),
                suspension_months: Some(input.suspension_months as i32),
                suspended_from: from_text.as_deref(),
                suspended_until: until_text.as_deref(),
                terminated: Some(input.terminate),
                sanction_reason: Some(input.reason.trim()),
                sanctioned_by: Some(p.user_id),
                sanctioned_at: Some(now_ms),
                rectification_due: Some(input.rectification_due.trim()),
            },
        )?;
        store::order_recovery(
            conn,
            violation_id,
            "repay",
            current.allowed.repay_fen,
            now_ms,
        )?;
        store::order_recovery(conn, violation_id, "fine", input.fine_fen, now_ms)?;
        let flagged = match (from_text.as_deref(), v.person_id) {
            (Some(from), Some(person_id)) => suspend_person(
                conn,
                current,
                person_id,
                from,
                until_text.as_deref(),
                now_ms,
            )?,
            (Some(from), None) => suspend_facility(
                conn,
                current,
                input.terminate,
                from,
                until_text.as_deref(),
                now_ms,
            )?,
            (None, _) => Vec::new(),
        };
        let comment = format!(
            "repay {} yuan, fine {} yuan{}{}{}{}",
            Fen(current.allowed.repay_fen).yuan_text(),
            Fen(input.fine_fen).yuan_text(),
            if input.suspension_months > 0 {
                format!(
                    ", suspended {} months from {}",
                    input.suspension_months,
                    from_text.as_deref().unwrap_or("")
                )
            } else {
                String::new()
            },
            if input.terminate {
                ", agreement terminated"
            } else {
                ""
            },
            approval.map_or(String::new(), |a| format!(
                "; below the minimum on `{}`, approved by a second supervisor (proposal {})",
                a.reason_code.as_deref().unwrap_or(""),
                a.id
            )),
            if input.reason.trim().is_empty() {
                String::new()
            } else {
                format!("; {}", input.reason.trim())
            },
        );
        cases::act(
            conn,
            env,
            p,
            &ActionRequest::simple(
                current.case_id,
                "impose_sanction",
                &comment,
                input.expected_version,
                now_ms,
            ),
        )?;
        // The rectification runs to the end of the day the sanction gave (the agency's local
        // day), not to the stage's default timer: that is the deadline the facility was told.
        if let Some(day) = crate::domain::dates::parse_iso_date(input.rectification_due.trim()) {
            crate::store::cases::set_due(
                conn,
                current.case_id,
                env.defs.calendar().end_of_date(day),
            )?;
        }
        if !flagged.is_empty() {
            tracing::info!(
                violation_id,
                ?flagged,
                "claims in flight flagged for review"
            );
        }
        view(conn, env.defs, p, violation_id)
    })
}

/// The facility's designation changes from the first day (and back when a suspension
/// ends); open claims whose stay falls inside get an error finding. Returns their ids.
fn suspend_facility(
    conn: &mut DbConn,
    current: &ViolationView,
    terminate: bool,
    from: &str,
    until: Option<&str>,
    now_ms: i64,
) -> AppResult<Vec<i64>> {
    let v = &current.violation;
    let why = format!("violation {}: {}", v.id, current.type_zh);
    let status = if terminate { "terminated" } else { "suspended" };
    facilities::add_status(conn, &v.facility_code, status, from, &why, now_ms)?;
    if let Some(until) = until {
        facilities::add_status(
            conn,
            &v.facility_code,
            "designated",
            until,
            &format!("{why}: suspension ends"),
            now_ms,
        )?;
    }
    let evidence = json!({ "violation_id": v.id });
    crate::service::findings::gate_claims_at_facility(
        conn,
        &v.facility_code,
        status,
        from,
        until,
        evidence,
        now_ms,
    )
}

/// Art. 41: the person's direct settlement is suspended for the period; their open claims
/// inside it get an error finding. Returns their ids.
fn suspend_person(
    conn: &mut DbConn,
    current: &ViolationView,
    person_id: i64,
    from: &str,
    until: Option<&str>,
    now_ms: i64,
) -> AppResult<Vec<i64>> {
    let v = &current.violation;
    let until = until.unwrap_or("9999-12-31");
    store::add_person_suspension(conn, person_id, v.id, from, until, now_ms)?;
    let mut flagged = Vec::new();
    for (case_id, claim_id) in store::open_claims_of(conn, person_id, from, until)? {
        findings_store::insert_all(conn, [(case_id, &NewFinding {
            code: "person_suspended",
            severity: "error",
            zh: format!("参保人因违规（{}）自 {from} 起暂停医保结算至 {until}，本申请的就诊日期在此期间", current.type_zh),
            en: format!("The insured person's settlement is suspended from {from} to {until} ({}); this claim falls inside it", current.type_en),
            evidence: json!({ "violation_id": v.id, "person_id": person_id, "from": from, "until": until, "claim_id": claim_id }),
        })], now_ms)?;
        flagged.push(claim_id);
    }
    Ok(flagged)
}

/// Proposes writing off everything still owed on a violation, with a reason. A second
/// supervisor decides it (see [`decide_approval`]).
pub fn propose_write_off(
    conn: &mut DbConn,
    p: &Principal,
    violation_id: i64,
    reason: &str,
    now_ms: i64,
) -> AppResult<DualApproval> {
    p.require_any(&[Role::Supervisor])?;
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 4000 {
        return Err(AppError::rule_on_msg(
            "reason",
            "write_off_needs_reason",
            Msg::new("rule-write-off-needs-reason"),
        ));
    }
    conn.write_tx(|conn| {
        let case = violation_case(conn, p, violation_id)?;
        let owed: Vec<_> = store::recoveries_of(conn, violation_id)?.into_iter().filter(|r| r.outstanding_fen() > 0).collect();
        if owed.is_empty() {
            return Err(AppError::rule_msg(RuleKind::Conflict, "nothing_owed", Msg::new("rule-nothing-owed")));
        }
        let proposal = json!(owed.iter().map(|r| json!({ "recovery_id": r.id, "kind": r.kind, "outstanding_fen": r.outstanding_fen() })).collect::<Vec<_>>());
        let row = store::insert_approval(conn, &NewDualApproval {
            violation_id,
            kind: "write_off",
            proposal: &proposal.to_string(),
            reason_code: None,
            reason,
            proposed_by: p.user_id,
            proposed_at: now_ms,
        })?;
        audit::append(
            conn,
            case.id,
            Event::new(Some(p.user_id), &p.username, Role::Supervisor.as_str(), "write_off_proposed", now_ms)
                .values("{}", json!({ "approval_id": row.id, "owed": proposal }))
                .comment(reason)
                .internal(),
        )?;
        Ok(row)
    })
}

/// A second supervisor's answer to a proposal.
pub struct ApprovalDecision<'a> {
    pub violation_id: i64,
    pub approval_id: i64,
    pub approve: bool,
    pub comment: &'a str,
    pub now_ms: i64,
}

/// A second supervisor approves or refuses a proposal: a mitigated sanction is then applied,
/// a write-off settles what was owed. The proposer may not decide their own proposal.
pub fn decide_approval(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    d: &ApprovalDecision<'_>,
) -> AppResult<SanctionOutcome> {
    let ApprovalDecision {
        violation_id,
        approval_id,
        approve,
        comment,
        now_ms,
    } = *d;
    p.require_any(&[Role::Supervisor])?;
    let case = violation_case(conn, p, violation_id)?;
    let approval = store::approvals_of(conn, violation_id)?
        .into_iter()
        .find(|a| a.id == approval_id)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "approval {approval_id} of violation {violation_id}"
            ))
        })?;
    if approval.decision.is_some() {
        return Err(AppError::rule_msg(
            RuleKind::Conflict,
            "already_decided",
            Msg::new("rule-proposal-decided").text("id", approval_id.to_string()),
        ));
    }
    if approval.proposed_by == p.user_id {
        return Err(AppError::rule_msg(
            RuleKind::Forbidden,
            "four_eyes",
            Msg::new("rule-four-eyes-2"),
        ));
    }
    let decision = if approve { "approved" } else { "refused" };
    let note = |conn: &mut DbConn, action: &'static str| -> AppResult<()> {
        if !store::decide_approval(conn, approval_id, p.user_id, decision, now_ms)? {
            return Err(AppError::rule_msg(
                RuleKind::Conflict,
                "already_decided",
                Msg::new("rule-proposal-decided").text("id", approval_id.to_string()),
            ));
        }
        audit::append(
            conn,
            case.id,
            Event::new(
                Some(p.user_id),
                &p.username,
                Role::Supervisor.as_str(),
                action,
                now_ms,
            )
            .values(
                json!({ "approval_id": approval_id, "decision": null }),
                json!({ "approval_id": approval_id, "kind": approval.kind, "decision": decision }),
            )
            .comment(comment)
            .internal(),
        )?;
        Ok(())
    };
    if !approve {
        conn.write_tx(|conn| note(conn, "proposal_refused"))?;
        return Ok(SanctionOutcome {
            violation: view(conn, env.defs, p, violation_id)?,
            pending_approval: None,
        });
    }
    match approval.kind.as_str() {
        "mitigated_sanction" => {
            let mut input: SanctionInput =
                serde_json::from_str(&approval.proposal).map_err(anyhow::Error::from)?;
            let current = at_decision(conn, env.defs, p, violation_id)?;
            // The case has moved on since the proposal (its own event): act on it as it is.
            input.expected_version = current.version;
            if !matches!(
                verdict(env.defs, &current, &input)?,
                Verdict::Mitigated { .. }
            ) {
                return Err(AppError::rule_msg(
                    RuleKind::Conflict,
                    "proposal_outdated",
                    Msg::new("rule-proposal-outdated"),
                ));
            }
            let violation = conn.write_tx(|conn| {
                note(conn, "proposal_approved")?;
                apply_sanction(conn, env, p, &current, &input, Some(&approval), now_ms)
            })?;
            Ok(SanctionOutcome {
                violation,
                pending_approval: None,
            })
        }
        _ => {
            conn.write_tx(|conn| {
                note(conn, "written_off")?;
                for r in store::recoveries_of(conn, violation_id)?
                    .iter()
                    .filter(|r| r.outstanding_fen() > 0)
                {
                    if !store::write_off(conn, r, now_ms)? {
                        return Err(AppError::rule_msg(
                            RuleKind::Conflict,
                            "recovery_changed",
                            Msg::new("rule-recovery-changed"),
                        ));
                    }
                }
                Ok::<_, AppError>(())
            })?;
            Ok(SanctionOutcome {
                violation: view(conn, env.defs, p, violation_id)?,
                pending_approval: None,
            })
        }
    }
}

/// Records a payment towards a repayment or fine; the amount may not exceed what is owed.
pub fn record_payment(
    conn: &mut DbConn,
    p: &Principal,
    recovery_id: i64,
    amount_fen: i64,
    now_ms: i64,
) -> AppResult<RecoveryRow> {
    p.require_any(&[Role::Supervisor])?;
    conn.write_tx(|conn| {
        let missing = || AppError::NotFound(format!("recovery {recovery_id}"));
        let r = store::recovery(conn, recovery_id)?.ok_or_else(missing)?;
        // One outside the region reads like one never recorded.
        let case = violation_case(conn, p, r.violation_id).map_err(|e| match e {
            AppError::NotFound(_) => missing(),
            other => other,
        })?;
        if amount_fen <= 0 {
            return Err(AppError::field("amount_fen", Msg::new("field-positive")));
        }
        if !store::add_payment(conn, recovery_id, amount_fen, now_ms)? {
            let msg = Msg::new("rule-payment-above-owed")
                .fen("amount", amount_fen)
                .fen("outstanding", r.outstanding_fen());
            return Err(AppError::rule_on_msg("amount_fen", "payment_above_owed", msg));
        }
        let after = store::recovery(conn, recovery_id)?.ok_or_else(missing)?;
        // The payment is part of the violation's trail: who recorded how much, and when.
        audit::append(
            conn,
            case.id,
            Event::new(Some(p.user_id), &p.username, Role::Supervisor.as_str(), "recovery_paid", now_ms)
                .values(
                    json!({ "recovery_id": r.id, "kind": r.kind, "paid_fen": r.paid_fen }),
                    json!({ "recovery_id": r.id, "kind": r.kind, "paid_fen": after.paid_fen, "amount_fen": amount_fen, "outstanding_fen": after.outstanding_fen() }),
                )
                .internal(),
        )?;
        Ok(after)
    })
}
