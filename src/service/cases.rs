use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::calendar::WorkCalendar;
use crate::domain::policy::YearToDate;
use crate::domain::roles::Role;
use crate::domain::workflow::{Actor, CaseFacts, Next, OutcomeKind, Workflow};
use crate::error::{AppError, AppResult};
use crate::service::claims;
use crate::service::notify::Letter;
use crate::service::Env;
use crate::store::audit::{self, EventDraft};
use crate::store::cases::{self as case_store, CaseRow, CaseState, NewCase};
use crate::store::regions::Region;
use crate::store::{claims as claim_store, DbConn, IdTable};
use serde::Serialize;
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;

/// When a stage's SLA runs out, counted from `now`. Waiting stages have no clock.
/// When a stage's SLA runs out, counted in working time from `now` (or from the time a
/// returned case still had left). Waiting stages have no clock.
pub fn due_at(
    calendar: &WorkCalendar,
    workflow: &Workflow,
    stage: &str,
    now_ms: i64,
    remaining_ms: Option<i64>,
) -> Option<i64> {
    let stage = workflow.stage(stage)?;
    if stage.waiting {
        return None;
    }
    let work = remaining_ms.or(stage.sla_hours.map(|h| i64::from(h) * HOUR_MS))?;
    Some(calendar.add_working_ms(now_ms, work))
}

pub struct OpenCase<'a> {
    pub calendar: &'a WorkCalendar,
    pub subject_kind: &'a str,
    pub subject_id: i64,
    pub workflow: &'a Workflow,
    pub region: &'a Region,
    pub org: &'a str,
    pub owner_user_id: Option<i64>,
    pub facts: &'a CaseFacts,
    pub actor: &'a Principal,
    pub actor_role: Role,
    pub now_ms: i64,
}

/// Opens a case at the workflow's initial stage with its first audit event. Call inside the
/// transaction that created the subject.
pub fn open(conn: &mut DbConn, o: &OpenCase<'_>) -> AppResult<i64> {
    let id = crate::store::reserve_ids(conn, IdTable::Cases, 1)?[0];
    open_all(conn, &[(id, o)])?;
    Ok(id)
}

/// Opens many cases at once, each under the id reserved for it: multi-row writes of the
/// cases and of their first events.
pub fn open_all(conn: &mut DbConn, opens: &[(i64, &OpenCase<'_>)]) -> AppResult<()> {
    let mut facts = Vec::with_capacity(opens.len());
    let mut opened = Vec::with_capacity(opens.len());
    for (_, o) in opens {
        facts.push(serde_json::to_string(o.facts).map_err(anyhow::Error::from)?);
        let stage = o.workflow.initial_stage().id.as_str();
        opened.push(json!({ "stage": stage, "workflow": o.workflow.name, "workflow_version": o.workflow.version }).to_string());
    }
    let rows: Vec<NewCase<'_>> = opens
        .iter()
        .zip(&facts)
        .map(|((id, o), facts)| {
            let stage = o.workflow.initial_stage().id.as_str();
            NewCase {
                id: *id,
                subject_kind: o.subject_kind,
                subject_id: o.subject_id,
                workflow: &o.workflow.name,
                workflow_version: o.workflow.version as i32,
                stage: Some(stage),
                region_code: &o.region.code,
                region_path: &o.region.path,
                org: o.org,
                owner_user_id: o.owner_user_id,
                due_at: due_at(o.calendar, o.workflow, stage, o.now_ms, None),
                stage_entered_at: o.now_ms,
                facts,
                version: 1,
                created_at: o.now_ms,
                updated_at: o.now_ms,
            }
        })
        .collect();
    case_store::insert_all(conn, &rows)?;
    let events: Vec<(i64, EventDraft<'_>)> = opens
        .iter()
        .zip(&opened)
        .map(|((id, o), new_value)| {
            let draft = EventDraft {
                at_ms: o.now_ms,
                // Public submissions (whistleblower reports) have no user.
                actor_id: (o.actor.user_id > 0).then_some(o.actor.user_id),
                actor_name: &o.actor.username,
                role: o.actor_role.as_str(),
                action: "opened",
                from_stage: None,
                to_stage: Some(o.workflow.initial_stage().id.as_str()),
                old_value: "{}",
                new_value,
                comment: "",
                public: true,
            };
            (*id, draft)
        })
        .collect();
    audit::append_firsts(conn, &events)?;
    Ok(())
}

/// Read access: staff inside the case's region, or the resident who owns it. Anything else
/// is "not found", so that case numbers cannot be probed.
pub fn ensure_can_see(p: &Principal, case: &CaseRow) -> AppResult<()> {
    let staff_ok = p.is_staff() && p.covers_region(&case.region_path);
    let owner_ok = p.has(Role::Resident) && case.owner_user_id == Some(p.user_id);
    if staff_ok || owner_ok {
        Ok(())
    } else if p.is_staff() {
        Err(AppError::Forbidden(format!(
            "case {} is outside your region",
            case.id
        )))
    } else {
        Err(AppError::NotFound(format!("case {}", case.id)))
    }
}

/// The facts guards read, computed fresh from the case's subject.
pub fn current_facts(
    conn: &mut DbConn,
    case: &CaseRow,
    workflow: &Workflow,
) -> AppResult<CaseFacts> {
    match case.subject_kind.as_str() {
        "claim" => {
            let claim = claim_store::get(conn, case.subject_id)?
                .ok_or_else(|| AppError::NotFound(format!("claim {}", case.subject_id)))?;
            let docs = claim_store::documents(conn, claim.id)?;
            let codes = crate::domain::screening::RuleCode::ALL.map(|c| c.as_str());
            Ok(CaseFacts {
                screening_hits: crate::store::findings::count_codes(conn, case.id, &codes)?,
                ..super::claims::facts(&claim, &docs, workflow)
            })
        }
        _ => Ok(serde_json::from_str(&case.facts).unwrap_or_default()),
    }
}

/// The role a breached case was escalated to, when this user holds it.
pub fn stand_in(p: &Principal, case: &CaseRow) -> Option<Role> {
    let role: Role = case.escalated_to.as_deref()?.parse().ok()?;
    (p.has(role) && p.covers_region(&case.region_path)).then_some(role)
}

pub fn load(conn: &mut DbConn, case_id: i64) -> AppResult<CaseRow> {
    case_store::get(conn, case_id)?.ok_or_else(|| AppError::NotFound(format!("case {case_id}")))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AvailableAction {
    pub name: String,
    pub title_zh: String,
    pub title_en: String,
    pub comment_required: bool,
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
    let facts = current_facts(conn, case, &wf)?;
    let history = case_store::stage_actors(conn, case.id)?;
    let actor = Actor {
        id: p.user_id,
        roles: &p.roles,
        stand_in: stand_in(p, case),
    };
    Ok(wf
        .available_actions(stage, actor, &facts, &history)
        .into_iter()
        .map(|a| AvailableAction {
            name: a.name.clone(),
            title_zh: a.title.zh.clone(),
            title_en: a.title.en.clone(),
            comment_required: a.comment_required,
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
    /// Required when rejecting a claim: one of [`REJECT_REASONS`].
    pub reason_code: Option<&'a str>,
    /// What a return for documents asks for; default: whatever the checklist lacks.
    pub missing_documents: &'a [String],
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
            judged_emergency: None,
        }
    }
}

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

/// Records a claim decision: recomputes the benefit against the person's year-to-date
/// totals, locked for the rest of the transaction, checks the decided amount, and adds it
/// to the totals. Returns the decision record for the audit event.
fn decide_claim(
    conn: &mut DbConn,
    defs: &Definitions,
    case: &CaseRow,
    outcome: OutcomeKind,
    req: &ActionRequest<'_>,
) -> AppResult<serde_json::Value> {
    let claim = claim_store::get(conn, case.subject_id)?
        .ok_or_else(|| AppError::NotFound(format!("claim {}", case.subject_id)))?;
    if outcome == OutcomeKind::Rejected {
        let code = req
            .reason_code
            .ok_or_else(|| AppError::field("reason_code", "a rejection needs a reason code"))?;
        let (_, zh, en) = REJECT_REASONS
            .iter()
            .find(|(c, _, _)| *c == code)
            .ok_or_else(|| {
                let codes: Vec<&str> = REJECT_REASONS.iter().map(|r| r.0).collect();
                AppError::field(
                    "reason_code",
                    format!(
                        "unknown reason `{code}`; expected one of {}",
                        codes.join(", ")
                    ),
                )
            })?;
        let decision = json!({ "outcome": "rejected", "decided_fen": 0, "reason_code": code, "reason_zh": zh, "reason_en": en });
        claim_store::set_decision(
            conn,
            claim.id,
            0,
            claim.breakdown.as_deref().unwrap_or("null"),
            &decision.to_string(),
        )?;
        return Ok(decision);
    }
    let ctx = claims::context(conn, &claim)?;
    let docs = claim_store::documents(conn, claim.id)?;
    let priced = match &ctx {
        Some(ctx) => claims::price(
            conn,
            defs,
            &mut claims::Lookups::default(),
            &claim,
            ctx,
            &docs,
            true,
        )?,
        None => None,
    };
    let computed = priced.as_ref().map_or(0, |(_, b)| b.payable_fen);
    let decided = match (outcome, req.amount_fen) {
        (OutcomeKind::PartiallyApproved, None) => {
            return Err(AppError::field(
                "amount_fen",
                "a partial approval needs the amount granted",
            ))
        }
        (OutcomeKind::PartiallyApproved, Some(a)) if a >= computed => {
            return Err(AppError::field(
                "amount_fen",
                format!("a partial approval must grant less than the computed {computed} fen"),
            ))
        }
        (_, Some(a)) if a < 0 => return Err(AppError::field("amount_fen", "must not be negative")),
        (_, Some(a)) if a > computed => {
            return Err(AppError::field(
                "amount_fen",
                format!("{a} fen exceeds what the policy allows now ({computed} fen)"),
            ))
        }
        (_, Some(a)) if a != computed && req.comment.trim().is_empty() => {
            return Err(AppError::field(
                "comment",
                "overriding the computed amount needs a reason",
            ))
        }
        (_, Some(a)) => a,
        (_, None) => computed,
    };
    let mut decision = json!({ "outcome": outcome.as_str(), "computed_fen": computed, "decided_fen": decided, "override": decided != computed, "reason": req.comment });
    let breakdown_text = match (&priced, &ctx) {
        (Some((pricing, b)), Some(ctx)) => {
            let before = claim_store::ytd_read(conn, ctx.person.id, &pricing.policy, pricing.year)?;
            let after = YearToDate {
                scope_fen: b.ytd_after.scope_fen,
                over_limit_paid_fen: b
                    .ytd_after
                    .over_limit_paid_fen
                    .min(before.over_limit_paid_fen + decided),
                outpatient_paid_fen: b
                    .ytd_after
                    .outpatient_paid_fen
                    .min(before.outpatient_paid_fen + decided),
                paid_fen: before.paid_fen + decided,
            };
            claim_store::ytd_write(conn, ctx.person.id, &pricing.policy, pricing.year, &after)?;
            decision["policy"] = json!(pricing.policy);
            decision["year"] = json!(pricing.year);
            serde_json::to_string(b).map_err(anyhow::Error::from)?
        }
        _ => "null".to_string(),
    };
    claim_store::set_decision(
        conn,
        claim.id,
        decided,
        &breakdown_text,
        &decision.to_string(),
    )?;
    Ok(decision)
}

/// The documents a return asks for: the ones named, each a known kind, or else whatever
/// the checklist lacks.
fn missing_for_return(
    conn: &mut DbConn,
    wf: &Workflow,
    case: &CaseRow,
    facts: &CaseFacts,
    named: &[String],
) -> AppResult<Vec<String>> {
    if let Some(bad) = named
        .iter()
        .find(|k| crate::domain::documents::document_kind(k).is_none())
    {
        return Err(AppError::field(
            "missing_documents",
            format!("unknown document kind `{bad}`"),
        ));
    }
    if !named.is_empty() {
        return Ok(named.to_vec());
    }
    if case.subject_kind != "claim" {
        return Ok(Vec::new());
    }
    let docs = claim_store::documents(conn, case.subject_id)?;
    Ok(claims::checklist(wf, facts, &docs)
        .into_iter()
        .filter(|i| i.status != "present")
        .map(|i| i.kind)
        .collect())
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
        let case = load(conn, req.case_id)?;
        ensure_can_see(p, &case)?;
        if case.version != req.expected_version {
            return Err(AppError::Conflict(format!(
                "case {} is at version {}, not {}: someone changed it; reload and try again",
                case.id, case.version, req.expected_version
            )));
        }
        if let (Some(holder), Some(until)) = (case.assignee_id, case.lease_expires_at) {
            if holder != p.user_id && until > req.now_ms {
                return Err(AppError::Conflict(format!("case {} is leased by user {holder} until {until}; ask them to release it or a supervisor to reassign it", case.id)));
            }
        }
        let wf = env.defs.get(conn, &case.workflow, case.workflow_version)?;
        let facts = current_facts(conn, &case, &wf)?;
        let history = case_store::stage_actors(conn, case.id)?;
        // A resident acts only on their own case and only as a resident.
        let roles: Vec<Role> = if case.owner_user_id == Some(p.user_id) {
            p.roles.clone()
        } else {
            p.roles.iter().copied().filter(|r| r.is_staff()).collect()
        };
        let actor = Actor { id: p.user_id, roles: &roles, stand_in: stand_in(p, &case) };
        let mut t = wf.decide(case.stage.as_deref(), case.returned_from.as_deref(), req.action, actor, req.comment, &facts, &history)?;
        let mut details = serde_json::Map::new();
        // Authority limits: a decision above the actor's limit waits for sign-off instead.
        if let (Next::Outcome(OutcomeKind::Approved | OutcomeKind::PartiallyApproved), Some(limit), Some(stage)) =
            (&t.to, env.defs.authority_limit(t.role), wf.authority_stage.map(|i| &wf.stages[i]))
        {
            let amount = req.amount_fen.unwrap_or(facts.payable_fen);
            if case.subject_kind == "claim" && amount > limit && stage.id != t.from {
                details.insert(
                    "pending_approval".into(),
                    json!({ "amount_fen": amount, "limit_fen": limit, "role": t.role.as_str(), "requested": match t.to { Next::Outcome(o) => o.as_str(), _ => "" },
                            "reason": format!("{amount} fen is above the {} authority limit of {limit} fen", t.role.as_str()) }),
                );
                t.to = Next::Stage(stage.id.clone());
            }
        }
        let (stage, outcome) = match &t.to {
            Next::Stage(s) => (Some(s.as_str()), None),
            Next::Outcome(o) => (None, Some(o.as_str())),
        };
        if case.subject_kind == "violation" && t.action == "impose_sanction" {
            super::supervision::ensure_sanction_recorded(conn, case.subject_id)?;
        }
        if let Some(judged) = req.judged_emergency {
            if case.subject_kind != "claim" || !matches!(t.role, Role::Reviewer | Role::SeniorReviewer | Role::Supervisor) {
                return Err(AppError::field("judged_emergency", "only reviewers judge whether a claim was an emergency"));
            }
            claims::judge_emergency(conn, env.defs, case.subject_id, judged)?;
            details.insert("judged_emergency".into(), json!(judged));
        }
        if case.subject_kind == "claim" {
            if let Next::Outcome(o @ (OutcomeKind::Approved | OutcomeKind::PartiallyApproved | OutcomeKind::Rejected)) = &t.to {
                details.insert("decision".into(), decide_claim(conn, env.defs, &case, *o, req)?);
            }
        }
        let is_return = matches!(t.to, Next::Stage(_)) && t.returned_from.as_deref() == Some(t.from.as_str());
        if is_return {
            details.insert("missing".into(), json!(missing_for_return(conn, &wf, &case, &facts, req.missing_documents)?));
        }
        // The SLA clock pauses while the case waits for documents: a return keeps the working
        // time left, and coming back resumes from it.
        let calendar = env.defs.calendar_for(&case.region_path);
        let coming_back = wf.stage(&t.from).is_some_and(|s| s.waiting) && case.sla_remaining_ms.is_some();
        let sla_remaining_ms = is_return.then(|| calendar.working_ms_between(req.now_ms, case.due_at.unwrap_or(req.now_ms)));
        let resume = if coming_back { case.sla_remaining_ms } else { None };
        let facts_json = serde_json::to_string(&facts).map_err(anyhow::Error::from)?;
        let state = CaseState {
            stage,
            outcome,
            assignee_id: None,
            returned_from: t.returned_from.as_deref(),
            due_at: stage.and_then(|s| due_at(calendar, &wf, s, req.now_ms, resume)),
            stage_entered_at: req.now_ms,
            facts: &facts_json,
            version: case.version + 1,
            updated_at: req.now_ms,
            lease_expires_at: None,
            sla_remaining_ms,
            escalated_to: None,
            escalated_at: None,
        };
        if !case_store::update_state(conn, case.id, case.version, &state)? {
            return Err(AppError::Conflict(format!("case {} changed while you acted; reload and try again", case.id)));
        }
        let old_value = json!({ "stage": case.stage, "outcome": case.outcome, "version": case.version, "assignee_id": case.assignee_id }).to_string();
        let mut new_value = json!({ "stage": stage, "outcome": outcome, "version": case.version + 1, "returned_from": t.returned_from });
        if let Some(map) = new_value.as_object_mut() {
            map.extend(details);
        }
        let new_value = new_value.to_string();
        audit::append(
            conn,
            case.id,
            &EventDraft {
                at_ms: req.now_ms,
                actor_id: Some(p.user_id),
                actor_name: &p.username,
                role: t.role.as_str(),
                action: &t.action,
                from_stage: Some(&t.from),
                to_stage: stage,
                old_value: &old_value,
                new_value: &new_value,
                comment: req.comment,
                public: true,
            },
        )?;
        let moved = load(conn, case.id)?;
        tell_resident(conn, env, &moved, &new_value, req.now_ms)?;
        if stage.is_some() && crate::service::assignment::auto_assign(conn, env, case.id, req.now_ms)?.is_some() {
            return load(conn, case.id);
        }
        Ok(moved)
    })
}

/// The letters a transition owes the resident: what is missing after a return, the amount
/// after a decision. `details` is the transition's audit value.
fn tell_resident(
    conn: &mut DbConn,
    env: Env<'_>,
    case: &CaseRow,
    details: &str,
    now_ms: i64,
) -> AppResult<()> {
    let details: serde_json::Value = serde_json::from_str(details).unwrap_or_default();
    let version = case.version.to_string();
    if let Some(missing) = details.get("missing").and_then(|m| m.as_array()) {
        let kinds: Vec<String> = missing
            .iter()
            .filter_map(|k| k.as_str().map(String::from))
            .collect();
        let extra = json!({ "missing": super::notify::document_list(&kinds) });
        super::notify::to_resident(
            conn,
            env,
            case,
            Letter {
                template: "returned_for_documents",
                dedupe: &version,
                extra,
            },
            now_ms,
        )?;
    }
    if let (Some(outcome), Some(decision)) = (case.outcome.as_deref(), details.get("decision")) {
        let wf = env.defs.get(conn, &case.workflow, case.workflow_version)?;
        let title = wf.title_of_outcome(outcome);
        let extra = json!({
            "outcome": outcome,
            "outcome_zh": title.map_or(outcome, |t| t.zh.as_str()),
            "outcome_en": title.map_or(outcome, |t| t.en.as_str()),
            "decided_yuan": super::notify::yuan(decision.get("decided_fen").and_then(|v| v.as_i64()).unwrap_or(0)),
            "approved": outcome != "rejected",
            "reason_zh": decision.get("reason_zh").and_then(|v| v.as_str()).unwrap_or(""),
            "reason_en": decision.get("reason_en").and_then(|v| v.as_str()).unwrap_or(""),
        });
        super::notify::to_resident(
            conn,
            env,
            case,
            Letter {
                template: "claim_decided",
                dedupe: &version,
                extra,
            },
            now_ms,
        )?;
    }
    Ok(())
}
