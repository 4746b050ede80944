//! The case engine: opens cases on their workflow, says what a user may do now, and takes
//! an action. The workflow file decides the move (roles, four-eyes, guards, routes); the pure
//! rules of `domain::case` decide authority limits and the SLA clock; the subject hooks
//! (`service::subjects`) do what the move means for a claim or a violation. Each action and
//! its audit event are one transaction.
use super::notify::Letter;
use super::subjects::{self, DecisionRequest};
use super::{scope, Env};
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::audit::{ChainHead, Event};
use crate::domain::calendar::WorkCalendar;
use crate::domain::case::{self as rules, Clock, Subject};
use crate::domain::roles::Role;
use crate::domain::workflow::{Actor, CaseFacts, Next, OutcomeKind, Refusal, Workflow};
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::store::audit;
use crate::store::cases::{self as case_store, CaseRow, CaseState, NewCase};
use crate::store::claims::{self as claim_store, NewRequest};
use crate::store::regions::Region;
use crate::store::{DbConn, IdTable};
use serde::Serialize;
use serde_json::json;

#[derive(Clone, Copy)]
pub struct OpenCase<'a> {
    pub calendar: &'a WorkCalendar,
    pub subject: Subject,
    pub workflow: &'a Workflow,
    pub region: &'a Region,
    pub org: &'a str,
    pub owner_user_id: Option<i64>,
    pub facts: &'a CaseFacts,
    pub actor: &'a Principal,
    pub actor_role: Role,
    pub now_ms: i64,
    /// The claim's screening risk score (0 for other subjects).
    pub risk_score: i64,
}

/// Opens a case at the workflow's initial stage with its first audit event. Call inside the
/// transaction that created the subject.
pub fn open(conn: &mut DbConn, o: &OpenCase<'_>) -> AppResult<i64> {
    let id = crate::store::reserve_ids(conn, IdTable::Cases, 1)?[0];
    open_all(conn, &[(id, *o)])?;
    Ok(id)
}

/// Opens many cases at once, each under the id reserved for it: multi-row writes of the
/// cases (each with the head of its chain) and of their first events.
pub fn open_all(conn: &mut DbConn, opens: &[(i64, OpenCase<'_>)]) -> AppResult<()> {
    let mut facts = Vec::with_capacity(opens.len());
    let mut opened = Vec::with_capacity(opens.len());
    for (_, o) in opens {
        facts.push(serde_json::to_string(o.facts).map_err(anyhow::Error::from)?);
        let stage = o.workflow.initial_stage().id.as_str();
        opened.push(json!({ "stage": stage, "workflow": o.workflow.name, "workflow_version": o.workflow.version }).to_string());
    }
    let firsts: Vec<(Event<'_>, ChainHead)> = opens
        .iter()
        .zip(&opened)
        .map(|((id, o), new_value)| {
            // Public submissions (whistleblower reports) have no user.
            let actor_id = (o.actor.user_id > 0).then_some(o.actor.user_id);
            let event = Event::new(
                actor_id,
                &o.actor.username,
                o.actor_role.as_str(),
                "opened",
                o.now_ms,
            )
            .stages(None, Some(o.workflow.initial_stage().id.as_str()))
            .values("{}", new_value.as_str());
            audit::first_event(*id, event)
        })
        .collect();
    let rows: Vec<NewCase<'_>> = opens
        .iter()
        .zip(&facts)
        .zip(&firsts)
        .map(|(((id, o), facts), (_, head))| {
            let stage = o.workflow.initial_stage().id.as_str();
            NewCase {
                id: *id,
                subject_kind: o.subject.kind().as_str(),
                subject_id: o.subject.id(),
                workflow: &o.workflow.name,
                workflow_version: o.workflow.version as i32,
                stage: Some(stage),
                region_code: &o.region.code,
                region_path: &o.region.path,
                org: o.org,
                owner_user_id: o.owner_user_id,
                due_at: rules::due_at(o.calendar, o.workflow, stage, o.now_ms, None),
                stage_entered_at: o.now_ms,
                facts,
                version: 1,
                created_at: o.now_ms,
                updated_at: o.now_ms,
                last_seq: head.seq,
                last_hash: &head.hash,
                risk_score: o.risk_score,
            }
        })
        .collect();
    case_store::insert_all(conn, &rows)?;
    audit::insert_firsts(conn, &firsts)?;
    for (id, o) in opens {
        super::facility_tasks::opened(conn, *id, o.subject, o.workflow, o.now_ms)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AvailableAction {
    pub name: String,
    pub title_zh: String,
    pub title_en: String,
    pub comment_required: bool,
    /// What the decision form asks for when this action is chosen.
    pub needs: crate::domain::workflow::FormNeeds,
}

/// What this user may do on the case now.
pub fn available_actions(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    case: &CaseRow,
) -> AppResult<Vec<AvailableAction>> {
    let Some(stage) = case.stage.as_deref() else {
        return Ok(Vec::new());
    };
    if p.has(Role::Resident) && case.owner_user_id != Some(p.user_id) && !p.is_staff() {
        return Ok(Vec::new());
    }
    let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
    let facts = subjects::facts(conn, defs, case, &wf)?;
    let history = case_store::stage_actors(conn, case.id)?;
    if super::appeal_decision::earlier_chain(conn, case)?.contains(&p.user_id) {
        return Ok(Vec::new());
    }
    let actor = Actor {
        id: p.user_id,
        roles: &p.roles,
        stand_in: scope::stand_in(p, case),
    };
    Ok(wf
        .available_actions(stage, actor, &facts, &history)
        .into_iter()
        .map(|a| AvailableAction {
            name: a.name.clone(),
            title_zh: a.title.zh.clone(),
            title_en: a.title.en.clone(),
            comment_required: a.comment_required,
            needs: wf.form_needs(stage, a),
        })
        .collect())
}

pub struct ActionRequest<'a> {
    pub case_id: i64,
    pub action: &'a str,
    pub comment: &'a str,
    pub expected_version: i64,
    pub now_ms: i64,
    /// A decided amount other than the computed one (approve with override, partial).
    pub amount_fen: Option<i64>,
    /// Required when rejecting a claim: one of [`subjects::REJECT_REASONS`].
    pub reason_code: Option<&'a str>,
    /// What a return for documents asks for, by checklist kind; with no kind and no extra
    /// document, whatever the checklist lacks.
    pub missing_documents: &'a [String],
    /// Extra documents a return asks for, each by its description.
    pub extra_documents: &'a [String],
    /// A reviewer's judgement that the care was (or was not) an emergency.
    pub judged_emergency: Option<bool>,
}

impl<'a> ActionRequest<'a> {
    pub fn simple(
        case_id: i64,
        action: &'a str,
        comment: &'a str,
        expected_version: i64,
        now_ms: i64,
    ) -> Self {
        ActionRequest {
            case_id,
            action,
            comment,
            expected_version,
            now_ms,
            amount_fen: None,
            reason_code: None,
            missing_documents: &[],
            extra_documents: &[],
            judged_emergency: None,
        }
    }
}

/// Takes one workflow action: checks access, version, role, four-eyes and guards, then
/// writes the new state and its audit event in one transaction.
pub fn act(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    req: &ActionRequest<'_>,
) -> AppResult<CaseRow> {
    conn.write_tx(|conn| {
        let case = scope::case(conn, p, req.case_id)?;
        // A resident acts only on their own case and only as a resident.
        let roles: Vec<Role> = if case.owner_user_id == Some(p.user_id) {
            p.roles.clone()
        } else {
            p.roles.iter().copied().filter(|r| r.is_staff()).collect()
        };
        take(conn, env, p, &roles, case, req)
    })
}

/// Takes the action on a case the caller may reach, acting only in `roles` (the facility
/// side passes the facility's roles, `act` the staff's or the owner's), inside the caller's
/// transaction.
pub(crate) fn take(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    roles: &[Role],
    case: CaseRow,
    req: &ActionRequest<'_>,
) -> AppResult<CaseRow> {
    let defs = env.defs;
    {
        let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
        let facts = subjects::facts(conn, defs, &case, &wf)?;
        let history = case_store::stage_actors(conn, case.id)?;
        let actor = Actor {
            id: p.user_id,
            roles,
            stand_in: scope::stand_in(p, &case),
        };
        // An appeal is re-reviewed by staff who took no part in the decision appealed against.
        if super::appeal_decision::earlier_chain(conn, &case)?.contains(&p.user_id) {
            return Err(AppError::Refused(Refusal::FourEyes {
                stage: case.stage.clone().unwrap_or_default(),
                earlier: "the decision appealed against (原决定)".into(),
            }));
        }
        let decided = wf.decide(
            case.stage.as_deref(),
            case.returned_from.as_deref(),
            req.action,
            actor,
            req.comment,
            &facts,
            &history,
        );
        // Who may act is answered before whether the caller's page is stale, so that a
        // version or a lease never tells someone without the role that the case moved.
        if let Err(r @ (Refusal::RoleNotAllowed { .. } | Refusal::FourEyes { .. })) = &decided {
            return Err(AppError::Refused(r.clone()));
        }
        if let Some(allowed) = case.stage.as_deref().and_then(|s| wf.outsider_of(s, actor)) {
            return Err(AppError::Refused(Refusal::RoleNotAllowed {
                action: req.action.into(),
                allowed,
            }));
        }
        if case.version != req.expected_version {
            return Err(AppError::Conflict(
                Msg::new("conflict-case-version")
                    .count("case", case.id)
                    .count("version", case.version)
                    .count("expected", req.expected_version),
            ));
        }
        if let (Some(holder), Some(until)) = (case.assignee_id, case.lease_expires_at) {
            if holder != p.user_id && until > req.now_ms {
                return Err(AppError::Conflict(
                    Msg::new("conflict-case-leased")
                        .count("case", case.id)
                        .count("holder", holder)
                        .text("until", until.to_string()),
                ));
            }
        }
        let mut t = decided?;
        let mut details = serde_json::Map::new();
        // Authority limits: a claim approved above the actor's limit waits for sign-off.
        if case.subject().claim().is_some() {
            let amount = req.amount_fen.unwrap_or(facts.payable_fen);
            if let Some(pending) =
                rules::authority_redirect(&wf, &t, amount, defs.authority_limit(t.role))
            {
                details.insert(
                    "pending_approval".into(),
                    json!({ "amount_fen": pending.amount_fen, "limit_fen": pending.limit_fen, "role": pending.role.as_str(), "requested": pending.requested.as_str(),
                            "reason": format!("{} yuan is above the {} authority limit of {} yuan", crate::domain::money::Fen(pending.amount_fen), pending.role.as_str(), crate::domain::money::Fen(pending.limit_fen)) }),
                );
                t.to = Next::Stage(pending.stage);
            }
        }
        subjects::before_action(conn, &case, &t.action)?;
        if let Some(judged) = req.judged_emergency {
            if !matches!(
                t.role,
                Role::Reviewer | Role::SeniorReviewer | Role::Supervisor
            ) {
                return Err(AppError::field(
                    "judged_emergency",
                    Msg::new("field-emergency-reviewers-only"),
                ));
            }
            subjects::judge_emergency(conn, defs, &case, judged)?;
            details.insert("judged_emergency".into(), json!(judged));
        }
        if let (
            Next::Outcome(outcome @ (OutcomeKind::Approved | OutcomeKind::Rejected)),
            Subject::Appeal(_),
        ) = (t.to.clone(), case.subject())
        {
            // Approved: the appeal changes the amount (it needs the new one); rejected: upheld.
            let changed = match (outcome, req.amount_fen) {
                (OutcomeKind::Approved, None) => {
                    return Err(AppError::rule_on_msg(
                        "amount_fen",
                        "appeal_amount",
                        Msg::new("rule-appeal-amount-2"),
                    ))
                }
                (OutcomeKind::Approved, amount) => amount,
                _ => None,
            };
            let d =
                super::appeal_decision::decide(conn, env, &case, changed, req.comment, req.now_ms)?;
            details.insert(
                "decision".into(),
                serde_json::to_value(d).map_err(anyhow::Error::from)?,
            );
        } else if let Next::Outcome(
            outcome @ (OutcomeKind::Approved
            | OutcomeKind::PartiallyApproved
            | OutcomeKind::Rejected),
        ) = t.to
        {
            let decision = DecisionRequest {
                outcome,
                amount_fen: req.amount_fen,
                reason_code: req.reason_code,
                comment: req.comment,
            };
            if let Some(d) = subjects::decide(conn, defs, &case, &decision)? {
                details.insert(
                    "decision".into(),
                    serde_json::to_value(d).map_err(anyhow::Error::from)?,
                );
            }
        }
        if rules::is_return(&t) {
            let asks = subjects::ReturnAsks {
                kinds: req.missing_documents,
                extras: req.extra_documents,
            };
            let asked = subjects::requests_for_return(conn, defs, &wf, &case, &facts, &asks)?;
            if let Some(claim_id) = case.subject().claim() {
                let rows: Vec<NewRequest<'_>> = asked
                    .iter()
                    .map(|(kind, description)| NewRequest {
                        claim_id,
                        case_id: case.id,
                        kind,
                        description,
                        comment: req.comment,
                        requested_by: p.user_id,
                        requested_at: req.now_ms,
                    })
                    .collect();
                claim_store::insert_requests(conn, &rows)?;
            }
            // The comment of a return is written for the resident: it travels with it.
            details.insert(
                "missing".into(),
                json!(asked.iter().map(|(k, _)| k).collect::<Vec<_>>()),
            );
            details.insert(
                "requested".into(),
                json!(asked
                    .iter()
                    .map(|(kind, description)| json!({ "kind": kind, "description": description }))
                    .collect::<Vec<_>>()),
            );
            details.insert("message".into(), json!(req.comment));
        }
        let by = By {
            id: Some(p.user_id),
            name: &p.username,
            role: t.role.as_str(),
        };
        let m = Move {
            case: &case,
            wf: &wf,
            t: &t,
            facts: &facts,
            details,
            by,
            comment: req.comment,
            now_ms: req.now_ms,
        };
        commit(conn, env, m)
    }
}

/// Who a transition's audit event names: a user in the role they acted in, or the system.
#[derive(Clone, Copy)]
pub struct By<'a> {
    pub id: Option<i64>,
    pub name: &'a str,
    pub role: &'a str,
}

impl By<'_> {
    pub const SYSTEM: By<'static> = By {
        id: None,
        name: "system",
        role: "system",
    };
}

/// A decided transition, and what its audit event says.
struct Move<'a> {
    case: &'a CaseRow,
    wf: &'a Workflow,
    t: &'a crate::domain::workflow::Transition,
    facts: &'a CaseFacts,
    details: serde_json::Map<String, serde_json::Value>,
    by: By<'a>,
    comment: &'a str,
    now_ms: i64,
}

/// Writes a decided transition: the case's new state and SLA clock, its audit event with
/// its details, the resident's letters, the facility's tasks and letters, and an automatic
/// assignment at the new stage.
fn commit(conn: &mut DbConn, env: Env<'_>, m: Move<'_>) -> AppResult<CaseRow> {
    let (case, wf, action, by, now_ms) = (m.case, m.wf, m.t.action.as_str(), m.by, m.now_ms);
    let (moved, new_value) = write_move(conn, env.defs, m)?;
    tell_resident(conn, env, &moved, &new_value, now_ms)?;
    let mover = super::facility_tasks::Mover {
        id: by.id,
        role: by.role,
    };
    super::facility_tasks::after_move(conn, env, case, &moved, wf, action, mover, now_ms)?;
    if moved.stage.is_some()
        && crate::service::assignment::auto_assign(conn, env, case.id, now_ms)?.is_some()
    {
        return scope::load(conn, case.id);
    }
    Ok(moved)
}

/// The state and the audit event of a decided transition, and nothing else: returns the
/// moved case and the event's new value (what the letters read).
fn write_move(
    conn: &mut DbConn,
    defs: &Definitions,
    m: Move<'_>,
) -> AppResult<(CaseRow, serde_json::Value)> {
    let Move {
        case,
        wf,
        t,
        facts,
        details,
        by,
        comment,
        now_ms,
    } = m;
    let (stage, outcome) = match &t.to {
        Next::Stage(s) => (Some(s.as_str()), None),
        Next::Outcome(o) => (None, Some(o.as_str())),
    };
    let calendar = defs.calendar_for(&case.region_path);
    let before = Clock {
        due_at: case.due_at,
        remaining_ms: case.sla_remaining_ms,
    };
    let clock = rules::clock_after(calendar, wf, t, before, now_ms);
    let facts_json = serde_json::to_string(facts).map_err(anyhow::Error::from)?;
    let state = CaseState {
        stage,
        outcome,
        assignee_id: None,
        returned_from: t.returned_from.as_deref(),
        due_at: clock.due_at,
        stage_entered_at: now_ms,
        facts: &facts_json,
        version: case.version + 1,
        updated_at: now_ms,
        lease_expires_at: None,
        sla_remaining_ms: clock.remaining_ms,
        escalated_to: None,
        escalated_at: None,
        escalation_step: 0,
        next_escalation_at: None,
    };
    if !case_store::update_state(conn, case.id, case.version, &state)? {
        return Err(AppError::Conflict(
            Msg::new("conflict-case-changed").count("case", case.id),
        ));
    }
    let old_value = json!({ "stage": case.stage, "outcome": case.outcome, "version": case.version, "assignee_id": case.assignee_id });
    let mut new_value = json!({ "stage": stage, "outcome": outcome, "version": case.version + 1, "returned_from": t.returned_from });
    if let Some(map) = new_value.as_object_mut() {
        map.extend(details);
    }
    let event = Event::new(by.id, by.name, by.role, &t.action, now_ms)
        .stages(Some(&t.from), stage)
        .values(old_value, new_value.clone())
        .comment(comment);
    audit::append(conn, case.id, event)?;
    Ok((scope::load(conn, case.id)?, new_value))
}

/// The audit action of a claim refused at intake.
pub const REFUSED_AT_INTAKE: &str = "refused_at_intake";

/// A claim the screening rules refuse outright (an invoice another person was already paid
/// on): its case, just opened, is closed as rejected by the system, for the reason
/// `duplicate_claim`, the findings saying why. The claim stays on record, with its case and
/// audit trail, so that the attempt and who made it are never lost. Returns the closed case
/// and the event's value, which the resident's letter reads.
pub fn refuse_at_intake(
    conn: &mut DbConn,
    defs: &Definitions,
    case_id: i64,
    comment: &str,
    now_ms: i64,
) -> AppResult<(CaseRow, serde_json::Value)> {
    let case = scope::load(conn, case_id)?;
    let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
    let facts = subjects::facts(conn, defs, &case, &wf)?;
    let t = crate::domain::workflow::Transition {
        action: REFUSED_AT_INTAKE.into(),
        // Not persisted: the event names the system (By::SYSTEM) as the actor.
        role: Role::Reviewer,
        from: case.stage.clone().unwrap_or_default(),
        to: Next::Outcome(OutcomeKind::Rejected),
        returned_from: None,
    };
    let decision = DecisionRequest {
        outcome: OutcomeKind::Rejected,
        amount_fen: None,
        reason_code: Some("duplicate_claim"),
        comment,
    };
    let mut details = serde_json::Map::new();
    if let Some(d) = subjects::decide(conn, defs, &case, &decision)? {
        details.insert(
            "decision".into(),
            serde_json::to_value(d).map_err(anyhow::Error::from)?,
        );
    }
    let m = Move {
        case: &case,
        wf: &wf,
        t: &t,
        facts: &facts,
        details,
        by: By::SYSTEM,
        comment,
        now_ms,
    };
    write_move(conn, defs, m)
}

/// The system's move when a stage's deadline passed: the stage's `on_deadline` action,
/// taken for nobody, with its guard and the engine's gates still applying. `None` when the
/// stage has no deadline action or the case is not due yet.
pub fn take_deadline(
    conn: &mut DbConn,
    env: Env<'_>,
    case: &CaseRow,
    now_ms: i64,
) -> AppResult<Option<CaseRow>> {
    let wf = env.defs.get(conn, &case.workflow, case.workflow_version)?;
    let Some(stage) = case.stage.as_deref().and_then(|s| wf.stage(s)) else {
        return Ok(None);
    };
    if stage.deadline_action().is_none() || case.due_at.is_none_or(|due| due > now_ms) {
        return Ok(None);
    }
    let facts = subjects::facts(conn, env.defs, case, &wf)?;
    let t = wf
        .on_deadline(&stage.id, case.returned_from.as_deref(), &facts)
        .map_err(AppError::Refused)?;
    subjects::before_action(conn, case, &t.action)?;
    let mut details = serde_json::Map::new();
    details.insert("deadline".into(), json!(case.due_at));
    let comment = "期限届满，系统自动办理 / the deadline passed: taken by the system";
    let m = Move {
        case,
        wf: &wf,
        t: &t,
        facts: &facts,
        details,
        by: By::SYSTEM,
        comment,
        now_ms,
    };
    commit(conn, env, m).map(Some)
}

/// The letters a transition owes the resident: what is missing after a return, the amount
/// after a decision. `details` is the transition's audit value.
pub fn tell_resident(
    conn: &mut DbConn,
    env: Env<'_>,
    case: &CaseRow,
    details: &serde_json::Value,
    now_ms: i64,
) -> AppResult<()> {
    let version = case.version.to_string();
    if details.get("missing").is_some_and(|m| m.is_array()) {
        let requested = details.get("requested").cloned().unwrap_or_default();
        let extra = json!({
            "missing": super::notify::requested_list(&requested),
            "message": details.get("message").cloned().unwrap_or_default(),
        });
        let letter = Letter {
            template: "returned_for_documents",
            dedupe: &version,
            extra,
        };
        super::notify::to_resident(conn, env, case, letter, now_ms)?;
    }
    if let (Some(outcome), Some(decision)) = (case.outcome.as_deref(), details.get("decision")) {
        let wf = env.defs.get(conn, &case.workflow, case.workflow_version)?;
        let title = wf.title_of_outcome(outcome);
        let extra = json!({
            "outcome": outcome,
            "outcome_zh": title.map_or(outcome, |t| t.zh.as_str()),
            "outcome_en": title.map_or(outcome, |t| t.en.as_str()),
            "decided_yuan": super::notify::yuan(decision.get("decided_fen").and_then(|v| v.as_i64()).unwrap_or(0)),
            "catastrophic_yuan": super::notify::yuan(decision.get("catastrophic_fen").and_then(|v| v.as_i64()).unwrap_or(0)),
            "assistance_yuan": super::notify::yuan(decision.get("assistance_fen").and_then(|v| v.as_i64()).unwrap_or(0)),
            "reimbursed_yuan": super::notify::yuan(["decided_fen", "catastrophic_fen", "assistance_fen"].iter().filter_map(|k| decision.get(*k).and_then(|v| v.as_i64())).sum()),
            "approved": outcome != "rejected",
            "reason_zh": decision.get("reason_zh").and_then(|v| v.as_str()).unwrap_or(""),
            "reason_en": decision.get("reason_en").and_then(|v| v.as_str()).unwrap_or(""),
        });
        let letter = Letter {
            template: "claim_decided",
            dedupe: &version,
            extra,
        };
        super::notify::to_resident(conn, env, case, letter, now_ms)?;
    }
    Ok(())
}
