//! The supervisor's team board as data: reviewer figures, workload per reviewer, the cases
//! that need attention, cases opened and closed, approved amounts, and the reviewers a
//! supervisor may hand work to. All of the supervisor's region subtree.
use super::reviewers::{reviewer_report, ReviewerMetrics};
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::roles::Role;
use crate::error::AppResult;
use crate::service::{queue, scope};
use crate::store::cases::CaseRow;
use crate::store::regions::path_within;
use crate::store::users::{self, Staff};
use crate::store::{team, DbConn};

const DAY_MS: i64 = 86_400_000;

pub struct TeamBoard {
    pub metrics: ReviewerMetrics,
    /// (reviewer's name, cases they hold), most first.
    pub workload: Vec<(String, i64)>,
    pub attention: Vec<CaseRow>,
    /// (created at, outcome, updated at) of the cases touched in the last `days`.
    pub opened_closed: Vec<(i64, Option<String>, i64)>,
    /// (policy-scope cost, amount granted) of the claims approved in the last 90 days.
    pub approved: Vec<(i64, Option<i64>)>,
    pub reviewers: Vec<Staff>,
    /// The open claim cases by stage and holder.
    pub by_stage: Vec<StageLoad>,
}

/// How many open cases of one workflow stage one holder (or nobody) has.
pub struct StageLoad {
    pub workflow: String,
    pub stage: String,
    pub holder: Option<(i64, String)>,
    pub cases: i64,
}

/// The region's open claim cases by workflow, stage and holder (the pool last), each stage's
/// holders most loaded first.
pub fn by_stage_and_holder(conn: &mut DbConn, region: &str) -> AppResult<Vec<StageLoad>> {
    let rows = team::open_by_stage_and_holder(conn, region)?;
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.2).collect();
    let names = users::display_names(conn, &ids)?;
    let mut out: Vec<StageLoad> = rows
        .into_iter()
        .filter_map(|(workflow, stage, holder, cases)| {
            Some(StageLoad {
                workflow,
                stage: stage?,
                holder: holder.map(|id| {
                    let name = names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
                    (id, name)
                }),
                cases,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (
            &a.workflow,
            &a.stage,
            a.holder.is_none(),
            std::cmp::Reverse(a.cases),
        )
            .cmp(&(
                &b.workflow,
                &b.stage,
                b.holder.is_none(),
                std::cmp::Reverse(b.cases),
            ))
    });
    Ok(out)
}

/// Everything the board shows; `attention_limit` caps the cases listed as breached, at risk
/// or escalated.
pub fn team_board(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    (now, days, attention_limit): (i64, i64, i64),
) -> AppResult<TeamBoard> {
    p.require_any(&[Role::Supervisor])?;
    let metrics = reviewer_report(conn, defs, p, now - 30 * DAY_MS, now + 1)?;
    let region = scope::staff_region(p)?;
    let mut workload = Vec::new();
    for (id, n) in team::workload(conn, region)? {
        let Some(id) = id else { continue };
        let name = users::get(conn, id)?.map_or_else(|| format!("#{id}"), |u| u.display_name);
        workload.push((name, n));
    }
    workload.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(TeamBoard {
        metrics,
        workload,
        attention: team::needing_attention(conn, region, now + queue::AT_RISK_MS, attention_limit)?,
        opened_closed: team::opened_and_closed(conn, region, now - days * DAY_MS)?,
        approved: team::approved_amounts(conn, region, now - 90 * DAY_MS)?,
        reviewers: reviewers_near(conn, region)?,
        by_stage: by_stage_and_holder(conn, region)?,
    })
}

/// The reviewers a supervisor of `region` may hand cases to: those of the region, above or
/// below it.
pub fn reviewers_near(conn: &mut DbConn, region: &str) -> AppResult<Vec<Staff>> {
    Ok(
        users::staff_with_roles(conn, &[Role::Reviewer, Role::SeniorReviewer])?
            .into_iter()
            .filter(|s| path_within(&s.region_path, region) || path_within(region, &s.region_path))
            .collect(),
    )
}
