//! Assignment: a supervisor hands one case or many to a named reviewer, with a reason; a
//! stage that opts in (`auto_assign = true`) gives each arriving case to the eligible user
//! with the fewest open cases. Both honour region, role, four-eyes and absences, and both
//! leave an audit event and tell the assignee.
use crate::auth::Principal;
use crate::domain::audit::Event;
use crate::domain::roles::Role;
use crate::domain::workflow::Workflow;
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::service::notify;
use crate::service::notify::Letter;
use crate::service::scope::load;
use crate::service::Env;
use crate::store::audit;
use crate::store::cases::{self as case_store, CaseRow};
use crate::store::users::{self, Staff};
use crate::store::DbConn;
use serde_json::json;

/// Why a user cannot take this case, in both languages, or `None` when they can. `history`
/// is who acted in which stage of the case (for four-eyes).
fn ineligible(
    wf: &Workflow,
    case: &CaseRow,
    history: &[crate::domain::workflow::StageActor],
    user: &Staff,
    roles: &[Role],
    absent: bool,
) -> Option<AppError> {
    let refuse = |code: &'static str, msg: Msg| Some(AppError::rule_on_msg("case_ids", code, msg));
    let (id, who) = (case.id, user.display_name.as_str());
    let Some(stage) = case.stage.as_deref().and_then(|s| wf.stage(s)) else {
        return refuse(
            "reassign_closed",
            Msg::new("rule-reassign-closed").count("case", id),
        );
    };
    if stage.waiting {
        return refuse(
            "reassign_waiting",
            Msg::new("rule-reassign-waiting").count("case", id),
        );
    }
    let escalated: Option<Role> = case.escalated_to.as_deref().and_then(|r| r.parse().ok());
    if !roles.contains(&stage.role) && !escalated.is_some_and(|r| roles.contains(&r)) {
        return refuse(
            "reassign_role",
            Msg::new("rule-reassign-role")
                .text("who", who)
                .count("case", id)
                .both("stage", stage.title.zh.as_str(), stage.title.en.as_str())
                .both("role", stage.role.title_zh(), stage.role.to_string()),
        );
    }
    if !crate::store::regions::path_within(&case.region_path, &user.region_path) {
        return refuse(
            "reassign_region",
            Msg::new("rule-reassign-region")
                .count("case", id)
                .text("who", who),
        );
    }
    if wf.excludes(&stage.id, user.id, history) {
        return refuse(
            "reassign_four_eyes",
            Msg::new("rule-reassign-four-eyes")
                .count("case", id)
                .text("who", who),
        );
    }
    if absent {
        return refuse(
            "reassign_absent",
            Msg::new("rule-reassign-absent").text("who", who),
        );
    }
    None
}

/// The selected cases and the people who may take every one of them: the region's staff
/// with the stage's role, not absent today, not excluded by four-eyes, not disabled. This is
/// what the reassignment form offers; `reassign` checks the same rules again.
pub fn eligible_for(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    case_ids: &[i64],
    now_ms: i64,
) -> AppResult<(Vec<CaseRow>, Vec<Staff>)> {
    p.require_any(&[Role::Supervisor])?;
    check_selection(case_ids)?;
    let region = crate::service::scope::staff_region(p)?;
    let mut candidates: Vec<(Staff, Vec<Role>)> = Vec::new();
    for s in crate::service::views::team::reviewers_near(conn, region)?
        .into_iter()
        .chain(users::staff_with_roles(conn, &[Role::Supervisor])?)
    {
        if !candidates.iter().any(|(c, _)| c.id == s.id) {
            let roles = users::roles_of(conn, s.id)?;
            candidates.push((s, roles));
        }
    }
    let ids: Vec<i64> = candidates.iter().map(|(s, _)| s.id).collect();
    let today = env.defs.calendar().local_date(now_ms).to_string();
    let absent = users::absent_on(conn, &ids, &today)?;
    let mut cases = Vec::with_capacity(case_ids.len());
    for &id in case_ids {
        let case = load(conn, id)?;
        crate::service::scope::ensure_can_see(p, &case)?;
        let wf = env.defs.get(conn, &case.workflow, case.workflow_version)?;
        let history = case_store::stage_actors(conn, case.id)?;
        candidates.retain(|(s, roles)| {
            ineligible(&wf, &case, &history, s, roles, absent.contains(&s.id)).is_none()
        });
        cases.push(case);
    }
    Ok((cases, candidates.into_iter().map(|(s, _)| s).collect()))
}

fn check_selection(case_ids: &[i64]) -> AppResult<()> {
    if case_ids.is_empty() || case_ids.len() > 500 {
        return Err(AppError::rule_on_msg(
            "case_ids",
            "reassign_selection",
            Msg::new("rule-reassign-selection").count("selected", case_ids.len() as i64),
        ));
    }
    Ok(())
}

fn assigned_event(
    conn: &mut DbConn,
    case: &CaseRow,
    actor: Option<&Principal>,
    action: &str,
    to: Option<&Staff>,
    reason: &str,
    now_ms: i64,
) -> AppResult<()> {
    audit::append(
        conn,
        case.id,
        Event::new(
            actor.map(|p| p.user_id),
            actor.map_or("system", |p| p.username.as_str()),
            if actor.is_some() {
                "supervisor"
            } else {
                "system"
            },
            action,
            now_ms,
        )
        .values(
            json!({ "assignee_id": case.assignee_id }),
            json!({ "assignee_id": to.map(|s| s.id), "assignee": to.map(|s| s.username.as_str()) }),
        )
        .comment(reason)
        .internal(),
    )?;
    Ok(())
}

/// Reassigns cases to `to_user` (or back to the pool when `None`), all or none: the first
/// case that cannot go to that user stops the lot, naming the case and why.
pub fn reassign(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    case_ids: &[i64],
    to_user: Option<i64>,
    reason: &str,
    now_ms: i64,
) -> AppResult<Vec<CaseRow>> {
    p.require_any(&[Role::Supervisor])?;
    if reason.trim().is_empty() {
        return Err(AppError::rule_on_msg(
            "reason",
            "reassign_reason",
            Msg::new("rule-reassign-reason"),
        ));
    }
    check_selection(case_ids)?;
    conn.write_tx(|conn| {
        let target = match to_user {
            Some(id) => {
                let unknown = || {
                    AppError::rule_on_msg(
                        "to_user_id",
                        "reassign_unknown_user",
                        Msg::new("rule-reassign-unknown-user").text("id", id.to_string()),
                    )
                };
                let user = users::get(conn, id)?.ok_or_else(unknown)?;
                if user.disabled_at.is_some() {
                    return Err(unknown());
                }
                let roles = users::roles_of(conn, id)?;
                let region =
                    crate::store::regions::get(conn, &user.region_code)?.ok_or_else(|| {
                        AppError::field("to_user_id", Msg::new("field-user-region-unknown"))
                    })?;
                let today = env.defs.calendar().local_date(now_ms).to_string();
                let absent = !users::absent_on(conn, &[id], &today)?.is_empty();
                Some((
                    Staff {
                        id,
                        username: user.username,
                        display_name: user.display_name,
                        email: user.email,
                        lang: user.lang,
                        region_path: region.path,
                    },
                    roles,
                    absent,
                ))
            }
            None => None,
        };
        let mut done = Vec::with_capacity(case_ids.len());
        for &id in case_ids {
            let case = load(conn, id)?;
            crate::service::scope::ensure_can_see(p, &case)?;
            let wf = env.defs.get(conn, &case.workflow, case.workflow_version)?;
            if let Some((staff, roles, absent)) = &target {
                let history = case_store::stage_actors(conn, case.id)?;
                if let Some(refusal) = ineligible(&wf, &case, &history, staff, roles, *absent) {
                    return Err(refusal);
                }
            }
            if !case_store::set_assignee(conn, id, case.version, to_user, now_ms)? {
                return Err(AppError::rule_msg(
                    crate::error::RuleKind::Conflict,
                    "reassign_changed",
                    Msg::new("rule-reassign-changed").text("id", id.to_string()),
                ));
            }
            let staff = target.as_ref().map(|(s, _, _)| s);
            assigned_event(conn, &case, Some(p), "reassigned", staff, reason, now_ms)?;
            let case = load(conn, id)?;
            if let Some(s) = staff {
                let extra = json!({ "reason": reason, "by": p.display_name });
                notify::to_staff(
                    conn,
                    env,
                    &case,
                    s,
                    Letter {
                        template: "case_assigned",
                        dedupe: &case.version.to_string(),
                        extra,
                    },
                    now_ms,
                )?;
            }
            done.push(case);
        }
        Ok(done)
    })
}

/// The eligible user with the fewest open cases (lowest id on a tie), for a case that just
/// entered a stage with `auto_assign`. Call inside the transaction that moved the case.
pub fn auto_assign(
    conn: &mut DbConn,
    env: Env<'_>,
    case_id: i64,
    now_ms: i64,
) -> AppResult<Option<i64>> {
    let case = load(conn, case_id)?;
    let wf = env.defs.get(conn, &case.workflow, case.workflow_version)?;
    let Some(stage) = case.stage.as_deref().and_then(|s| wf.stage(s)) else {
        return Ok(None);
    };
    if !stage.auto_assign || stage.waiting {
        return Ok(None);
    }
    let candidates = users::staff_covering(conn, stage.role, &case.region_path)?;
    let ids: Vec<i64> = candidates.iter().map(|s| s.id).collect();
    let today = env
        .defs
        .calendar_for(&case.region_path)
        .local_date(now_ms)
        .to_string();
    let absent = users::absent_on(conn, &ids, &today)?;
    let history = case_store::stage_actors(conn, case.id)?;
    let load_of: std::collections::HashMap<i64, i64> = case_store::open_counts(conn, &ids)?
        .into_iter()
        .filter_map(|(u, n)| Some((u?, n)))
        .collect();
    let chosen = candidates
        .iter()
        .filter(|s| !absent.contains(&s.id) && !wf.excludes(&stage.id, s.id, &history))
        .min_by_key(|s| (load_of.get(&s.id).copied().unwrap_or(0), s.id));
    let Some(staff) = chosen else {
        // Nobody free: the case stays in the pool for claim-next.
        return Ok(None);
    };
    if !case_store::set_assignee(conn, case.id, case.version, Some(staff.id), now_ms)? {
        return Ok(None);
    }
    assigned_event(conn, &case, None, "auto_assigned", Some(staff), "", now_ms)?;
    let case = load(conn, case.id)?;
    let extra = json!({ "reason": "", "by": "" });
    notify::to_staff(
        conn,
        env,
        &case,
        staff,
        Letter {
            template: "case_assigned",
            dedupe: &case.version.to_string(),
            extra,
        },
        now_ms,
    )?;
    Ok(Some(staff.id))
}

/// Records a period away for `target`: the user themself, or a supervisor or admin over
/// their region. The role first, then a user outside the region reads like an unknown id.
pub fn add_absence(
    conn: &mut DbConn,
    p: &Principal,
    target: i64,
    (from, to): (&str, &str),
    reason: &str,
    now_ms: i64,
) -> AppResult<i64> {
    if target != p.user_id {
        p.require_any(&[Role::Supervisor, Role::Admin])?;
        let missing = || AppError::NotFound(format!("user {target}"));
        let subject = users::get(conn, target)?.ok_or_else(missing)?;
        let region = crate::store::regions::get(conn, &subject.region_code)?.ok_or_else(missing)?;
        if !p.covers_region(&region.path) {
            return Err(missing());
        }
    }
    Ok(users::add_absence(
        conn, target, from, to, reason, p.user_id, now_ms,
    )?)
}
