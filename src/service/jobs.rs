//! What the scheduled jobs do. Each returns a short JSON summary for `job_runs` and the CLI.
//! The scheduler (`crate::jobs`) decides when and makes sure one instance runs each tick.
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::audit::Event;
use crate::domain::escalation;
use crate::domain::roles::Role;
use crate::domain::workflow::BreachPolicy;
use crate::domain::workflow::Workflow;
use crate::error::AppResult;
use crate::service::notify;
use crate::service::notify::Letter;
use crate::service::Env;
use crate::store::audit;
use crate::store::cases::{self as case_store, CaseRow, EscalationMark};
use crate::store::{queue as queue_store, DbConn};
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;
/// Cases handled per job run; the next tick takes the rest.
const BATCH: i64 = 500;

/// An audit event the scheduler writes in its own name.
struct SystemEvent<'a> {
    action: &'a str,
    from_stage: Option<&'a str>,
    old: Value,
    new: Value,
    comment: &'a str,
    public: bool,
}

fn system_event(conn: &mut DbConn, case_id: i64, e: SystemEvent<'_>, now_ms: i64) -> AppResult<()> {
    audit::append(
        conn,
        case_id,
        Event::new(None, "system", "system", e.action, now_ms)
            .stages(e.from_stage, None)
            .values(e.old, e.new)
            .comment(e.comment)
            .public(e.public),
    )?;
    Ok(())
}

/// The escalation scan. A breached case at a stage with a deadline action (the facility's
/// statement or appeal, a hospital's review) moves on by that action, taken by the system.
/// Every other breached case takes the next step of its stage's chain, once per stage visit: handed to the step's role (`on_breach = "escalate"`) or flagged where
/// it is (`"flag"`), with an audit event and a letter to everyone holding the step's role
/// over its region. Supervisor after 1 × the SLA, then director after 2 ×, say. Outside
/// working hours breaches wait, unless `outside_hours` says otherwise.
pub fn escalate_breached(
    conn: &mut DbConn,
    env: Env<'_>,
    now_ms: i64,
    outside_hours: bool,
) -> AppResult<Value> {
    conn.write_tx(|conn| {
        let (mut escalated, mut flagged, mut deferred, mut letters, mut moved_on) = (0, 0, 0, 0, 0);
        for case in case_store::breached_unescalated(conn, now_ms, BATCH)? {
            let calendar = env.defs.calendar_for(&case.region_path);
            if !outside_hours && !calendar.is_working_time(now_ms) {
                deferred += 1;
                continue;
            }
            let wf = env.defs.get(conn, &case.workflow, case.workflow_version)?;
            let (Some(stage), Some(due_at)) = (case.stage.as_deref().and_then(|s| wf.stage(s)), case.due_at) else {
                continue;
            };
            // A stage that waits on another party moves on without it at its deadline.
            if stage.deadline_action().is_some() {
                match conn.write_tx(|conn| super::cases::take_deadline(conn, env, &case, now_ms)) {
                    Ok(Some(_)) => {
                        moved_on += 1;
                        continue;
                    }
                    Ok(None) => continue,
                    // Its guard or a gate holds it: it is escalated like any breach instead.
                    Err(e) => tracing::warn!(case_id = case.id, error = %e, "a deadline action was refused"),
                }
            }
            let Some(due) = escalation::due_step(calendar, stage, due_at, case.escalation_step) else {
                continue;
            };
            let to_role = due
                .step
                .filter(|s| s.on_breach == BreachPolicy::Escalate)
                .map(|s| s.role);
            let mark = EscalationMark {
                expected_version: case.version,
                step: due.number,
                to_role: to_role.map(Role::as_str),
                next_at: due.next_at,
            };
            if !case_store::mark_escalated(conn, case.id, &mark, now_ms)? {
                continue;
            }
            let action = if to_role.is_some() { "escalated" } else { "sla_breach_flagged" };
            let overdue_hours = (now_ms - due_at) / 3_600_000;
            let notify = due.step.map(|s| s.role);
            let mut new = json!({
                "step": due.number, "steps": stage.escalation.len().max(1), "escalated_to": to_role, "notify": notify,
                "on_breach": due.step.map(|s| s.on_breach), "after_sla": due.step.map(|s| s.after),
                "next_escalation_at": due.next_at, "overdue_hours": overdue_hours,
            });
            if to_role.is_some() {
                // Handed over: the holder lets go, as the trail must say.
                new["assignee_id"] = Value::Null;
            }
            let event = SystemEvent {
                action,
                from_stage: Some(&stage.id),
                old: json!({ "due_at": case.due_at, "assignee_id": case.assignee_id, "escalated_to": case.escalated_to, "step": case.escalation_step }),
                new,
                comment: "",
                public: false,
            };
            system_event(conn, case.id, event, now_ms)?;
            if to_role.is_some() {
                escalated += 1;
            } else {
                flagged += 1;
            }
            let Some(role) = notify else {
                continue;
            };
            let case = case_store::get(conn, case.id)?.unwrap_or(case);
            let extra = json!({ "handed_over": to_role.is_some(), "overdue_hours": overdue_hours, "step": due.number, "role": role });
            for staff in notify::role_holders(conn, role, &case)? {
                let dedupe = format!("{now_ms}:{}", due.number);
                if notify::to_staff(conn, env, &case, &staff, Letter { template: "case_escalated", dedupe: &dedupe, extra: extra.clone() }, now_ms)? {
                    letters += 1;
                }
            }
        }
        Ok(json!({ "escalated": escalated, "flagged": flagged, "moved_on_at_deadline": moved_on, "deferred_outside_working_hours": deferred, "letters": letters }))
    })
}

/// A principal for a staff member, to reuse the queue's scope rules in jobs.
fn principal_of(conn: &mut DbConn, s: &crate::store::users::Staff) -> AppResult<Principal> {
    Ok(Principal {
        user_id: s.id,
        username: s.username.clone(),
        display_name: s.display_name.clone(),
        roles: crate::store::users::roles_of(conn, s.id)?,
        region: s
            .region_path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        region_path: s.region_path.clone(),
        org: String::new(),
        lang: s.lang.clone(),
        facilities: Vec::new(),
        session_id: String::new(),
    })
}

/// The morning digest: to every clerk, reviewer and supervisor with an address, the open
/// cases they may work, those due today, those breached, and their own.
pub fn send_digests(conn: &mut DbConn, env: Env<'_>, now_ms: i64) -> AppResult<Value> {
    conn.write_tx(|conn| {
        let staff = crate::store::users::staff_with_roles(
            conn,
            &[Role::Clerk, Role::Reviewer, Role::SeniorReviewer, Role::Supervisor],
        )?;
        let calendar = env.defs.calendar();
        let today = calendar.local_date(now_ms).to_string();
        let end_of_day = calendar.end_of_local_day(now_ms);
        let mut letters = 0;
        for s in staff.iter().filter(|s| s.email.is_some()) {
            let p = principal_of(conn, s)?;
            let stages = crate::service::queue::my_stages(env.defs, &p);
            let roles = crate::service::queue::my_roles(&p);
            let counts = queue_store::scope_counts(conn, &stages, &roles, crate::service::scope::staff_region(&p)?, s.id, now_ms, end_of_day)?;
            let data = json!({
                "date": today,
                "open": counts.open, "due_today": counts.due_today, "breached": counts.breached, "mine": counts.mine,
            });
            let queued = env.notifier.enqueue(
                conn,
                crate::mail::Notice {
                    template: "digest",
                    to: &notify::staff_recipient(s),
                    dedupe_key: format!("digest:{}:{today}", s.id),
                    case_id: None,
                    data,
                },
                now_ms,
            )?;
            letters += usize::from(queued);
        }
        Ok(json!({ "letters": letters }))
    })
}

/// Stage ids in which a case waits on the resident.
fn waiting_stages(defs: &Definitions) -> Vec<String> {
    let mut ids: Vec<String> = defs
        .latest_all()
        .iter()
        .flat_map(|wf| {
            wf.stages
                .iter()
                .filter(|s| s.waiting)
                .map(|s| s.id.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The audit action of a reminder; counting them tells auto-close that the resident was told.
const REMINDED: &str = "documents_reminded";

/// The cases that have waited on the resident since before `before_ms`, each with its
/// workflow: a stage id is checked against the case's own workflow, not merely its name.
fn waiting_cases(
    conn: &mut DbConn,
    defs: &Definitions,
    before_ms: i64,
) -> AppResult<Vec<(CaseRow, std::sync::Arc<Workflow>)>> {
    let stages = waiting_stages(defs);
    let mut waiting = Vec::new();
    for case in case_store::in_stages_since(conn, &stages, before_ms, BATCH)? {
        let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
        if case
            .stage
            .as_deref()
            .and_then(|s| wf.stage(s))
            .is_some_and(|s| s.waiting)
        {
            waiting.push((case, wf));
        }
    }
    Ok(waiting)
}

/// Reminds residents whose claims have waited `after_days` for documents, and again every
/// `after_days`, listing what is still missing and the day the claim will be closed. Each
/// reminder is a public audit event, so the resident's timeline shows it and auto-close can
/// count it even when the resident has no mail address.
pub fn remind_residents(
    conn: &mut DbConn,
    env: Env<'_>,
    now_ms: i64,
    after_days: i64,
    close_after_days: i64,
) -> AppResult<Value> {
    conn.write_tx(|conn| {
        let (mut reminders, mut letters) = (0, 0);
        for (case, wf) in waiting_cases(conn, env.defs, now_ms - after_days * DAY_MS)? {
            let waited_days = (now_ms - case.stage_entered_at) / DAY_MS;
            let due = waited_days / after_days;
            let sent = audit::count_since(conn, case.id, REMINDED, case.stage_entered_at)?;
            if sent >= due {
                continue;
            }
            let facts = crate::service::subjects::facts(conn, env.defs, &case, &wf)?;
            let missing = crate::service::subjects::still_missing(conn, env.defs, &wf, &case, &facts)?;
            let missing: Vec<Value> = missing
                .iter()
                .map(|i| json!({ "code": i.kind, "zh": i.title_zh, "en": i.title_en }))
                .collect();
            let close_at = case.stage_entered_at + close_after_days * DAY_MS;
            let close_on = notify::local_time(env.defs, &case.region_path, close_at);
            let round = sent + 1;
            let comment = format!("第 {round} 次提醒补充材料，{close_on} 前未补充将按撤回处理 / reminder {round}: without the documents the claim is withdrawn on {close_on}");
            let event = SystemEvent {
                action: REMINDED,
                from_stage: case.stage.as_deref(),
                old: json!({}),
                new: json!({ "round": round, "missing": missing, "close_at": close_at }),
                comment: &comment,
                public: true,
            };
            system_event(conn, case.id, event, now_ms)?;
            reminders += 1;
            let extra = json!({ "missing": missing, "waited_days": waited_days, "close_on": close_on });
            let dedupe = format!("{}:{round}", case.stage_entered_at);
            letters += usize::from(notify::to_resident(conn, env, &case, Letter { template: "documents_reminder", dedupe: &dedupe, extra }, now_ms)?);
        }
        Ok(json!({ "reminders": reminders, "letters": letters }))
    })
}

/// Closes as withdrawn the claims that have waited `after_days` on the resident and were
/// reminded at least `reminders` times in this visit (each reminder named the closing
/// day), with a public audit event and a letter. A case waiting on anyone else, or one whose
/// reminders have not all gone out, stays open.
pub fn auto_close_unanswered(
    conn: &mut DbConn,
    env: Env<'_>,
    now_ms: i64,
    after_days: i64,
    reminders: i64,
) -> AppResult<Value> {
    conn.write_tx(|conn| {
        let (mut closed, mut unreminded) = (0, 0);
        for (case, _) in waiting_cases(conn, env.defs, now_ms - after_days * DAY_MS)? {
            if audit::count_since(conn, case.id, REMINDED, case.stage_entered_at)? < reminders {
                unreminded += 1;
                continue;
            }
            if !case_store::close(conn, case.id, case.version, "withdrawn", now_ms)? {
                continue;
            }
            let comment = format!("{after_days} 天未补充材料，按撤回处理 / no documents after {after_days} days: closed as withdrawn");
            let event = SystemEvent {
                action: "auto_closed",
                from_stage: case.stage.as_deref(),
                old: json!({ "stage": case.stage, "outcome": null }),
                new: json!({ "stage": null, "outcome": "withdrawn", "after_days": after_days }),
                comment: &comment,
                public: true,
            };
            system_event(conn, case.id, event, now_ms)?;
            let case = case_store::get(conn, case.id)?.unwrap_or(case);
            notify::to_resident(conn, env, &case, Letter { template: "withdrawn_no_response", dedupe: "", extra: json!({ "after_days": after_days }) }, now_ms)?;
            closed += 1;
        }
        Ok(json!({ "closed": closed, "waiting_for_reminders": unreminded }))
    })
}

/// The audit checkpoint: a keyed MAC over every chain head that moved since the last one
/// (see `store::audit_checkpoints`), also written to the log, so that the MAC lives outside
/// the database twice over.
pub fn audit_checkpoint(conn: &mut DbConn, key: &str, now_ms: i64) -> AppResult<Value> {
    let written =
        conn.write_tx(|conn| crate::store::audit_checkpoints::write(conn, key.as_bytes(), now_ms))?;
    let Some((cp, heads)) = written else {
        return Ok(json!({ "checkpoint": null, "events_since_last": 0 }));
    };
    tracing::info!(
        checkpoint = cp.id,
        max_event_id = cp.max_event_id,
        events = cp.events,
        heads,
        mac = %cp.mac,
        "audit checkpoint"
    );
    Ok(
        json!({ "checkpoint": cp.id, "max_event_id": cp.max_event_id, "events": cp.events, "heads": heads, "mac": cp.mac }),
    )
}
