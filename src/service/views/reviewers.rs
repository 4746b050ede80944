//! Reviewer and team figures from the audit trail, for the team board and the report API.
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::review_metrics::{self, Figures, TrailEvent};
use crate::error::AppResult;
use crate::store::DbConn;
use crate::store::{self, users};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewerFigures {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub team: String,
    pub figures: Figures,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamFigures {
    pub team: String,
    pub figures: Figures,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewerMetrics {
    pub from: i64,
    pub to: i64,
    pub reviewers: Vec<ReviewerFigures>,
    pub teams: Vec<TeamFigures>,
}

/// Reviewer and team figures over the cases opened in [from, to) in `p`'s region.
pub fn reviewer_report(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    from: i64,
    to: i64,
) -> AppResult<ReviewerMetrics> {
    let rows = store::audit::trails_of_cases_opened(
        conn,
        crate::service::scope::staff_region(p)?,
        from,
        to,
    )?;
    let events: Vec<TrailEvent<'_>> = rows
        .iter()
        .map(|r| TrailEvent {
            case_id: r.0,
            workflow: &r.1,
            at_ms: r.2,
            actor_id: r.3,
            action: &r.4,
            from_stage: r.5.as_deref(),
            to_stage: r.6.as_deref(),
        })
        .collect();
    let workflows = defs.latest_all();
    let sla: HashMap<(&str, &str), u32> = workflows
        .iter()
        .flat_map(|wf| {
            wf.stages
                .iter()
                .filter_map(|s| Some(((wf.name.as_str(), s.id.as_str()), s.sla_hours?)))
        })
        .collect();
    let per_actor = review_metrics::per_actor(&events, &sla, defs.calendar_for(&p.region_path));
    let mut reviewers = Vec::new();
    let mut teams_of = HashMap::new();
    for (&id, figures) in &per_actor {
        let Some(u) = users::get(conn, id)? else {
            continue;
        };
        if !users::roles_of(conn, id)?.iter().any(|r| r.is_staff()) {
            continue;
        }
        teams_of.insert(id, u.org.clone());
        reviewers.push(ReviewerFigures {
            user_id: id,
            username: u.username,
            display_name: u.display_name,
            team: u.org,
            figures: figures.clone(),
        });
    }
    let teams = review_metrics::per_team(&per_actor, |id| teams_of.get(&id).cloned())
        .into_iter()
        .map(|(team, figures)| TeamFigures { team, figures })
        .collect();
    Ok(ReviewerMetrics {
        from,
        to,
        reviewers,
        teams,
    })
}
