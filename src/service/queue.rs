//! The review desk: the queue a user may work, claim-next with expiring leases, explicit
//! claim and release, and lease expiry. Every lease change is an audit event.
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::audit::Event;
use crate::domain::person::IdNumber;
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::store::audit;
use crate::store::cases as case_store;
use crate::store::queue::{self, QueueFilter, QueueRow, QueueSearch, QueueSort, Sla};
use crate::store::DbConn;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// Stage ids whose working role this user holds, across the workflows in use.
pub fn my_stages(defs: &Definitions, p: &Principal) -> Vec<String> {
    my_stages_in(defs, p, |_| true)
}

/// The stages this user works in, of the workflows `keep` accepts.
pub fn my_stages_in(
    defs: &Definitions,
    p: &Principal,
    keep: impl Fn(&crate::domain::workflow::Workflow) -> bool,
) -> Vec<String> {
    working_stages(defs, keep, |role| p.has(role))
}

/// Every working stage of the claim and appeal workflows: the supervisor's team view.
pub fn team_stages(defs: &Definitions) -> Vec<String> {
    working_stages(
        defs,
        |wf| wf.pays_claims() || wf.subject == "appeal",
        |_| true,
    )
}

/// The ids of the stages that are not waiting for the resident, of the workflows `keep`
/// accepts, whose role `worked_by` accepts; sorted, once each.
fn working_stages(
    defs: &Definitions,
    keep: impl Fn(&crate::domain::workflow::Workflow) -> bool,
    worked_by: impl Fn(crate::domain::roles::Role) -> bool,
) -> Vec<String> {
    let mut stages: Vec<String> = defs
        .latest_all()
        .iter()
        .filter(|wf| keep(wf))
        .flat_map(|wf| {
            wf.stages
                .iter()
                .filter(|s| !s.waiting && worked_by(s.role))
                .map(|s| s.id.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    stages.sort();
    stages.dedup();
    stages
}

/// The roles cases may be escalated to that this user holds.
pub fn my_roles(p: &Principal) -> Vec<String> {
    p.roles
        .iter()
        .filter(|r| r.is_staff())
        .map(|r| r.as_str().to_string())
        .collect()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    pub case_id: i64,
    pub claim_id: i64,
    pub workflow: String,
    pub family: String,
    pub stage: Option<String>,
    pub resident_name: Option<String>,
    /// The ID number with its middle hidden.
    pub id_number_masked: Option<String>,
    pub total_fen: i64,
    pub payable_fen: Option<i64>,
    pub facility_code: String,
    pub age_hours: i64,
    /// When the case was opened (ms since the epoch).
    pub opened_at: i64,
    pub due_at: Option<i64>,
    /// on_track, at_risk or breached
    pub sla: String,
    pub assignee_id: Option<i64>,
    pub lease_expires_at: Option<i64>,
    pub version: i64,
    /// The role the case was escalated to after an SLA breach.
    pub escalated_to: Option<String>,
    /// Codes of open error findings (duplicate invoice, not eligible, …), and
    /// `sla_escalated` once a breach was escalated or flagged.
    pub flags: Vec<String>,
    /// The screening risk score: the weights of the rules the claim hit (0-100).
    pub risk_score: i64,
}

pub struct QueuePage {
    pub items: Vec<QueueItem>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

pub const AT_RISK_MS: i64 = 4 * 3_600_000;

pub fn sla_of(due_at: Option<i64>, now_ms: i64) -> Sla {
    match due_at {
        Some(d) if d < now_ms => Sla::Breached,
        Some(d) if d < now_ms + AT_RISK_MS => Sla::AtRisk,
        _ => Sla::OnTrack,
    }
}

pub fn parse_cursor(s: &str) -> AppResult<(i64, i64)> {
    let bad = || AppError::field("after", Msg::new("field-cursor"));
    let (a, b) = s.rsplit_once('.').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

pub fn list(conn: &mut DbConn, filter: &QueueFilter) -> AppResult<QueuePage> {
    let rows: Vec<QueueRow> = queue::queue(conn, filter)?;
    let next = (rows.len() as i64 == filter.limit)
        .then(|| {
            rows.last()
                .map(|r| format!("{}.{}", filter.sort.key_of(r), r.case_id))
        })
        .flatten();
    let ids: Vec<i64> = rows.iter().map(|r| r.case_id).collect();
    let mut errors: HashMap<i64, Vec<String>> = HashMap::new();
    for (case_id, code) in crate::store::findings::error_codes(conn, &ids)? {
        errors.entry(case_id).or_default().push(code);
    }
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let mut flags = errors.remove(&r.case_id).unwrap_or_default();
        if r.escalated_at.is_some() {
            flags.push("sla_escalated".into());
        }
        items.push(QueueItem {
            case_id: r.case_id,
            claim_id: r.claim_id,
            workflow: r.workflow,
            family: r.family,
            stage: r.stage,
            resident_name: r.person_name,
            id_number_masked: r
                .id_number
                .as_deref()
                .and_then(|n| IdNumber::parse(n).ok())
                .map(|n| n.masked()),
            total_fen: r.total_fen,
            payable_fen: r.payable_fen,
            facility_code: r.facility_code,
            age_hours: (filter.now_ms - r.created_at) / 3_600_000,
            opened_at: r.created_at,
            due_at: r.due_at,
            sla: match sla_of(r.due_at, filter.now_ms) {
                Sla::Breached => "breached",
                Sla::AtRisk => "at_risk",
                Sla::OnTrack => "on_track",
            }
            .into(),
            assignee_id: r.assignee_id,
            lease_expires_at: r.lease_expires_at,
            version: r.version,
            escalated_to: r.escalated_to,
            flags,
            risk_score: r.risk_score,
        });
    }
    Ok(QueuePage { items, next })
}

fn lease_event(
    conn: &mut DbConn,
    case_id: i64,
    p: &Principal,
    action: &str,
    old: serde_json::Value,
    new: serde_json::Value,
    now_ms: i64,
) -> AppResult<()> {
    let role = p
        .roles
        .iter()
        .find(|r| r.is_staff())
        .map_or("system", |r| r.as_str());
    audit::append(
        conn,
        case_id,
        Event::new(Some(p.user_id), &p.username, role, action, now_ms)
            .values(old, new)
            .internal(),
    )?;
    Ok(())
}

/// Whether this user may work the case now: region, the stage's role, four-eyes.
fn may_work(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    case: &case_store::CaseRow,
) -> AppResult<bool> {
    let Some(stage_id) = case.stage.as_deref() else {
        return Ok(false);
    };
    if !p.covers_region(&case.region_path) {
        return Ok(false);
    }
    let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
    let Some(stage) = wf.stage(stage_id) else {
        return Ok(false);
    };
    let stand_in = crate::service::scope::stand_in(p, case).is_some();
    if stage.waiting || !(p.has(stage.role) || stand_in) {
        return Ok(false);
    }
    let history = case_store::stage_actors(conn, case.id)?;
    Ok(!wf.excludes(stage_id, p.user_id, &history))
}

/// Claim-next: the caller's own unexpired lease, else the most urgent free case they may
/// work, leased atomically. `None` when there is nothing to do.
pub fn next(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    ttl_ms: i64,
    now_ms: i64,
) -> AppResult<Option<case_store::CaseRow>> {
    let stages = my_stages(defs, p);
    if stages.is_empty() {
        return Err(AppError::Forbidden(Msg::new("forbidden-no-queue")));
    }
    conn.write_tx(|conn| {
        if let Some(id) = queue::own_lease(conn, p.user_id, now_ms)? {
            return Ok(Some(crate::service::scope::load(conn, id)?));
        }
        let roles = my_roles(p);
        for id in queue::lease_candidates(
            conn,
            &stages,
            &roles,
            crate::service::scope::staff_region(p)?,
            now_ms,
            50,
        )? {
            if !queue::lock_if_free(conn, id, now_ms)? {
                continue;
            }
            let case = crate::service::scope::load(conn, id)?;
            if !may_work(conn, defs, p, &case)? {
                continue;
            }
            if queue::take_lease(conn, id, p.user_id, now_ms + ttl_ms, now_ms)? {
                lease_event(
                    conn,
                    id,
                    p,
                    "leased",
                    json!({ "assignee_id": case.assignee_id }),
                    json!({ "assignee_id": p.user_id, "lease_expires_at": now_ms + ttl_ms }),
                    now_ms,
                )?;
                return Ok(Some(crate::service::scope::load(conn, id)?));
            }
        }
        Ok(None)
    })
}

/// Explicitly takes one case.
pub fn claim(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    case_id: i64,
    ttl_ms: i64,
    now_ms: i64,
) -> AppResult<case_store::CaseRow> {
    conn.write_tx(|conn| {
        let case = crate::service::scope::load(conn, case_id)?;
        crate::service::scope::ensure_can_see(p, &case)?;
        if !may_work(conn, defs, p, &case)? {
            return Err(AppError::Forbidden(
                Msg::new("forbidden-case-stage").count("case", case_id),
            ));
        }
        if !queue::take_lease(conn, case_id, p.user_id, now_ms + ttl_ms, now_ms)? {
            return Err(AppError::Conflict(
                Msg::new("conflict-leased-by-other").count("case", case_id),
            ));
        }
        lease_event(
            conn,
            case_id,
            p,
            "leased",
            json!({ "assignee_id": case.assignee_id }),
            json!({ "assignee_id": p.user_id, "lease_expires_at": now_ms + ttl_ms }),
            now_ms,
        )?;
        crate::service::scope::load(conn, case_id)
    })
}

/// Gives a case back to the pool: its holder, or a supervisor.
pub fn release(
    conn: &mut DbConn,
    p: &Principal,
    case_id: i64,
    now_ms: i64,
) -> AppResult<case_store::CaseRow> {
    conn.write_tx(|conn| {
        let case = crate::service::scope::load(conn, case_id)?;
        crate::service::scope::ensure_can_see(p, &case)?;
        let holder = case.assignee_id.ok_or_else(|| {
            AppError::Conflict(Msg::new("conflict-not-leased").count("case", case_id))
        })?;
        if holder != p.user_id && !p.has(crate::domain::roles::Role::Supervisor) {
            return Err(AppError::Forbidden(Msg::new("forbidden-release")));
        }
        queue::clear_lease(conn, case_id, now_ms)?;
        lease_event(
            conn,
            case_id,
            p,
            "released",
            json!({ "assignee_id": holder }),
            json!({ "assignee_id": null }),
            now_ms,
        )?;
        crate::service::scope::load(conn, case_id)
    })
}

/// The lease-expiry job: expired leases return to the pool, each with an audit event.
pub fn expire_leases(conn: &mut DbConn, now_ms: i64) -> AppResult<usize> {
    conn.write_tx(|conn| {
        let expired = queue::expired_leases(conn, now_ms, 10_000)?;
        for (case_id, holder) in &expired {
            queue::clear_lease(conn, *case_id, now_ms)?;
            audit::append(
                conn,
                *case_id,
                Event::new(None, "system", "system", "lease_expired", now_ms)
                    .values(
                        json!({ "assignee_id": holder }),
                        json!({ "assignee_id": null }),
                    )
                    .internal(),
            )?;
        }
        Ok(expired.len())
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// out_of_region, trauma or unreferred_transfer
    pub family: Option<String>,
    pub stage: Option<String>,
    pub facility: Option<String>,
    /// Claimed amount range, fen.
    pub min_fen: Option<i64>,
    pub max_fen: Option<i64>,
    /// on_track, at_risk or breached
    pub sla: Option<String>,
    /// Due before this time (ms since the epoch).
    pub due_before: Option<i64>,
    /// Only cases leased to you.
    #[serde(default)]
    pub mine: bool,
    /// Only cases nobody holds.
    #[serde(default)]
    pub unassigned: bool,
    /// Supervisors: only the cases this user holds.
    pub holder: Option<i64>,
    /// Supervisors: every open claim and appeal case of the region, whatever its stage, not
    /// only the stages of the caller's own roles.
    #[serde(default)]
    pub team: bool,
    /// A claim or case number, an invoice number, an ID number or part of a resident's name.
    pub q: Option<String>,
    /// due (default), amount, opened, case or risk; a leading `-` sorts descending.
    pub sort: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl QueueQuery {
    /// The store's filter for this user: their stages, roles and region, checked values.
    pub fn filter(self, defs: &Definitions, p: &Principal) -> AppResult<QueueFilter> {
        let supervisor = p.has(crate::domain::roles::Role::Supervisor);
        if (self.team || self.holder.is_some()) && !supervisor {
            return Err(AppError::rule_msg(
                crate::error::RuleKind::Forbidden,
                "team_view_supervisors_only",
                Msg::new("rule-team-view-supervisors-only"),
            ));
        }
        let stages = if self.team {
            team_stages(defs)
        } else {
            my_stages(defs, p)
        };
        if stages.is_empty() {
            return Err(AppError::Forbidden(Msg::new("forbidden-no-queue")));
        }
        let sla = match self.sla.as_deref() {
            None => None,
            Some("on_track") => Some(Sla::OnTrack),
            Some("at_risk") => Some(Sla::AtRisk),
            Some("breached") => Some(Sla::Breached),
            Some(other) => {
                return Err(AppError::field(
                    "sla",
                    Msg::new("field-one-of")
                        .text("allowed", "on_track, at_risk, breached")
                        .text("value", other),
                ))
            }
        };
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(AppError::field(
                "limit",
                Msg::new("field-between").count("min", 1).count("max", 200),
            ));
        }
        let after = self.after.as_deref().map(parse_cursor).transpose()?;
        let sort = match self.sort.as_deref() {
            None | Some("") => QueueSort::default(),
            Some(s) => QueueSort::parse(s).ok_or_else(|| {
                AppError::rule_on_msg(
                    "sort",
                    "queue_sort_unknown",
                    Msg::new("rule-queue-sort-unknown").text("value", s.to_string()),
                )
            })?,
        };
        Ok(QueueFilter {
            stages,
            escalated_roles: my_roles(p),
            region_path: crate::service::scope::staff_region(p)?.to_string(),
            family: self.family,
            stage: self.stage,
            facility: self.facility,
            min_fen: self.min_fen,
            max_fen: self.max_fen,
            sla,
            due_before: self.due_before,
            assignee: if self.mine {
                Some(p.user_id)
            } else {
                self.holder
            },
            unassigned: self.unassigned,
            search: self.q.as_deref().and_then(QueueSearch::parse),
            sort,
            after,
            limit,
            now_ms: crate::store::now_ms(),
            at_risk_ms: AT_RISK_MS,
        })
    }
}
