//! The case as its reader sees it: where it stands, its SLA, and what they may do now.
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::case::{Subject, SubjectKind};
use crate::domain::claim::ChecklistItem;
use crate::domain::workflow::{CaseFacts, Title, Workflow};
use crate::error::AppResult;
use crate::service::cases::{self, AvailableAction};
use crate::store::cases::CaseRow;
use crate::store::DbConn;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: i64,
    pub subject_kind: SubjectKind,
    pub subject_id: i64,
    pub workflow: String,
    pub workflow_version: i32,
    pub workflow_title: Title,
    /// Current stage; absent once the case has an outcome.
    pub stage: Option<String>,
    pub stage_title: Option<Title>,
    pub outcome: Option<String>,
    pub outcome_title: Option<Title>,
    pub assignee_id: Option<i64>,
    /// The role a breached case was handed to (they may act in the stage).
    pub escalated_to: Option<String>,
    /// When the SLA breach was escalated or flagged.
    pub escalated_at: Option<i64>,
    pub region_code: String,
    /// SLA due time, ms since the epoch; absent while waiting on the resident.
    pub due_at: Option<i64>,
    /// on_track, at_risk, breached, or paused (waiting for documents); absent without an SLA.
    pub sla: Option<String>,
    /// Working time left on the SLA (negative once breached; the kept remainder while paused).
    pub working_ms_left: Option<i64>,
    /// Send this back as `expected_version` when acting.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub facts: CaseFacts,
    /// The actions you may take now.
    pub actions: Vec<AvailableAction>,
    pub checklist: Vec<ChecklistItem>,
    /// The weights of the screening rules the claim hit (0-100): staff only.
    pub risk_score: Option<i64>,
}

pub fn case_view(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    case: CaseRow,
) -> AppResult<CaseView> {
    let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
    let facts = crate::service::subjects::facts(conn, defs, &case, &wf)?;
    let actions = cases::available_actions(conn, defs, p, &case)?;
    let checklist = match case.subject() {
        Subject::Claim(id) => crate::service::subjects::checklist(conn, defs, id, &wf, &facts)?,
        _ => Vec::new(),
    };
    let (sla, working_ms_left) = sla_state(defs, &case, crate::store::now_ms());
    let stage_title = case
        .stage
        .as_deref()
        .and_then(|s| wf.stage(s))
        .map(|s| s.title.clone());
    let outcome_title = case
        .outcome
        .as_deref()
        .and_then(|o| wf.title_of_outcome(o).cloned());
    let risk_score = p.is_staff().then_some(case.risk_score);
    let view = CaseView {
        id: case.id,
        subject_kind: case.subject_kind,
        subject_id: case.subject_id,
        workflow: case.workflow,
        workflow_version: case.workflow_version,
        workflow_title: wf.title.clone(),
        stage: case.stage,
        stage_title,
        outcome: case.outcome,
        outcome_title,
        assignee_id: case.assignee_id,
        escalated_to: case.escalated_to.clone(),
        escalated_at: case.escalated_at,
        region_code: case.region_code,
        due_at: case.due_at,
        sla,
        working_ms_left,
        version: case.version,
        created_at: case.created_at,
        updated_at: case.updated_at,
        facts,
        actions,
        checklist,
        risk_score,
    };
    // An investigation is never revealed to the resident.
    let family = defs.latest(&view.facts.family);
    Ok(match family {
        Some(family) if wf.confidential && !p.is_staff() => view.for_resident(&family),
        _ => view,
    })
}

impl CaseView {
    /// The case as its resident may see it while it is on a confidential workflow (an
    /// investigation): the family's workflow and outcome titles, "under review" for every
    /// stage but one that waits on them, and none of the screening's facts or handlers.
    fn for_resident(mut self, family: &Workflow) -> CaseView {
        let waiting = self
            .stage
            .as_deref()
            .and_then(|s| family.stage(s))
            .filter(|s| s.waiting);
        match waiting {
            Some(stage) => self.stage_title = Some(stage.title.clone()),
            None if self.stage.is_some() => {
                self.stage = Some("under_review".into());
                self.stage_title = Some(Title::under_review());
            }
            None => {}
        }
        self.outcome_title = self
            .outcome
            .as_deref()
            .and_then(|o| family.title_of_outcome(o).cloned());
        self.workflow = family.name.clone();
        self.workflow_version = family.version as i32;
        self.workflow_title = family.title.clone();
        self.facts.screening_hits = 0;
        self.facts.blocking_findings = 0;
        self.assignee_id = None;
        self.escalated_to = None;
        self.escalated_at = None;
        self
    }
}

/// SLA status and working time left, from the calendar.
fn sla_state(defs: &Definitions, case: &CaseRow, now_ms: i64) -> (Option<String>, Option<i64>) {
    let calendar = defs.calendar_for(&case.region_path);
    match (case.due_at, case.sla_remaining_ms) {
        (Some(due), _) if due >= now_ms => {
            let left = calendar.working_ms_between(now_ms, due);
            let status = if due < now_ms + crate::service::queue::AT_RISK_MS {
                "at_risk"
            } else {
                "on_track"
            };
            (Some(status.into()), Some(left))
        }
        (Some(due), _) => (
            Some("breached".into()),
            Some(-calendar.working_ms_between(due, now_ms)),
        ),
        (None, Some(kept)) if case.stage.is_some() => (Some("paused".into()), Some(kept)),
        _ => (None, None),
    }
}

/// A case's whole audit trail, for staff who may see the case.
pub fn events(
    conn: &mut DbConn,
    p: &Principal,
    case_id: i64,
) -> AppResult<Vec<crate::domain::audit::StoredEvent>> {
    p.require_any(&crate::domain::roles::Role::STAFF)?;
    crate::service::scope::case(conn, p, case_id)?;
    Ok(crate::store::audit::for_case(conn, case_id)?)
}
