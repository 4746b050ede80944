//! What the facility reads: its list of tasks, and one case as the facility may see it. A
//! claim shows what was filed at the facility and, for an appeal, the rules that fired in
//! words (never the evidence, which may name other facilities' claims); a violation shows
//! the finding, the evidence staff disclosed, the article's range, the deadlines, what was
//! decided and what is owed. Staff names and their internal comments are left out.
use super::case;
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::case::Subject;
use crate::domain::person::IdNumber;
use crate::domain::screening::RuleCode;
use crate::domain::supervision::SanctionRange;
use crate::domain::workflow::Title;
use crate::error::AppResult;
use crate::service::cases::AvailableAction;
use crate::store::facility_side::{self as store, TaskRow, Tasks};
use crate::store::supervision::{EvidenceRow, RecoveryRow};
use crate::store::DbConn;
use serde::Serialize;

/// One line of the facility's list: a task, its case and its deadline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskItem {
    pub case_id: i64,
    pub facility_code: String,
    /// `claim` or `violation`, and its number.
    pub subject_kind: String,
    pub subject_id: i64,
    pub stage: String,
    pub stage_title: Title,
    pub opened_at: i64,
    /// While open: when the case moves on without the facility.
    pub due_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// How it closed: the facility's own action, staff's, or the deadline's.
    pub closed_title: Option<Title>,
}

/// The tasks of the caller's facilities, open ones first, newest first.
pub fn list(conn: &mut DbConn, defs: &Definitions, p: &Principal) -> AppResult<Vec<TaskItem>> {
    super::require_facility(p)?;
    let lines = store::task_lines(conn, Tasks::Of(&p.facilities, 500))?;
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let wf = defs.latest(&line.workflow);
        let stage = wf.as_ref().and_then(|w| w.stage(&line.task.stage));
        let closed_title = line.task.closed_action.as_deref().map(|a| {
            stage
                .and_then(|s| s.actions.iter().find(|x| x.name == a))
                .map_or_else(
                    || Title {
                        zh: a.into(),
                        en: a.into(),
                    },
                    |x| x.title.clone(),
                )
        });
        out.push(TaskItem {
            case_id: line.task.case_id,
            facility_code: line.task.facility_code.clone(),
            subject_kind: line.subject_kind,
            subject_id: line.subject_id,
            stage_title: stage.map(|s| s.title.clone()).unwrap_or_default(),
            stage: line.task.stage.clone(),
            opened_at: line.task.opened_at,
            due_at: line
                .task
                .closed_at
                .is_none()
                .then_some(line.due_at)
                .flatten(),
            closed_at: line.task.closed_at,
            closed_title,
        });
    }
    Ok(out)
}

/// A claim as the facility sees it: what was filed against it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FacilityClaim {
    pub claim_id: i64,
    pub patient_name: String,
    /// Masked: the facility knows its patient, the page need not print the whole number.
    pub patient_id_number: String,
    pub family: String,
    pub encounter_kind: String,
    pub admission_date: String,
    pub discharge_date: String,
    pub diagnosis_code: String,
    pub invoice_numbers: Vec<String>,
    pub total_fen: i64,
    pub policy_scope_fen: i64,
    pub self_paid_fen: i64,
    /// For an appeal: each screening rule that fired, in words.
    pub rules: Vec<Title>,
}

/// A violation as the facility sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FacilityViolation {
    pub violation_id: i64,
    pub type_title: Title,
    pub article: String,
    pub article_title: Option<Title>,
    pub description: String,
    pub department: String,
    pub amount_fen: i64,
    /// What the article allows for this amount.
    pub allowed: SanctionRange,
    /// Staff evidence they disclosed, and the facility's own files.
    pub evidence: Vec<EvidenceRow>,
    pub fine_fen: Option<i64>,
    pub suspension_months: Option<i32>,
    pub suspended_from: Option<String>,
    pub suspended_until: Option<String>,
    pub terminated: Option<bool>,
    pub rectification_due: Option<String>,
    pub recoveries: Vec<RecoveryRow>,
    pub outstanding_fen: i64,
}

/// One step of the case as the facility reads it: what happened, in which role, and the
/// facility's own words; staff are not named and their comments stay internal.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FacilityStep {
    pub at_ms: i64,
    pub role: String,
    pub action: String,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    /// The facility's own comment (its statement, appeal or report); empty for staff.
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FacilityCaseView {
    pub case_id: i64,
    pub version: i64,
    pub facility_code: String,
    pub workflow: String,
    pub workflow_title: Title,
    pub stage: Option<String>,
    pub stage_title: Option<Title>,
    pub outcome_title: Option<Title>,
    /// The facility's turn, while it lasts: the stage it acts in and the deadline.
    pub open_stage: Option<String>,
    pub due_at: Option<i64>,
    pub tasks: Vec<TaskRow>,
    /// What the facility may do now (its own actions of the stage, none after the deadline).
    pub actions: Vec<AvailableAction>,
    /// The facility's files on this case (its statement's, its appeal's, its rectification).
    pub files: Vec<EvidenceRow>,
    pub claim: Option<FacilityClaim>,
    pub violation: Option<FacilityViolation>,
    pub steps: Vec<FacilityStep>,
}

/// One case as the facility may see it.
pub fn case_view(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    case_id: i64,
    now_ms: i64,
) -> AppResult<FacilityCaseView> {
    let (case, tasks) = case(conn, p, case_id)?;
    let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
    let open = tasks
        .iter()
        .rev()
        .find(|t| t.closed_at.is_none() && case.stage.as_deref() == Some(t.stage.as_str()));
    let in_time = case.due_at.is_none_or(|due| due > now_ms);
    let actions = match open {
        Some(_) if in_time => crate::service::cases::available_actions(conn, defs, p, &case)?
            .into_iter()
            .filter(|a| a.name != super::CORRECT_INVOICE)
            .collect(),
        _ => Vec::new(),
    };
    let all_files =
        crate::store::supervision::evidence_of(conn, case.subject_kind.as_str(), case.subject_id)?;
    let (own, staff): (Vec<EvidenceRow>, Vec<EvidenceRow>) =
        all_files.into_iter().partition(|e| e.purpose != "evidence");
    let facility_code = tasks[0].facility_code.clone();
    let claim = match case.subject() {
        Subject::Claim(id) => Some(claim_part(conn, defs, id, case.id)?),
        _ => None,
    };
    let violation = match case.subject() {
        Subject::Violation(id) => {
            let v = crate::service::supervision::view_of(conn, defs, case.clone(), id)?;
            let article_title = defs
                .sanctions()
                .article(&v.violation.article)
                .map(|a| Title {
                    zh: a.title.zh.clone(),
                    en: a.title.en.clone(),
                });
            let disclosed: Vec<EvidenceRow> =
                staff.iter().filter(|e| e.disclosed).cloned().collect();
            Some(FacilityViolation {
                violation_id: id,
                type_title: Title {
                    zh: v.type_zh,
                    en: v.type_en,
                },
                article: v.violation.article.clone(),
                article_title,
                description: v.violation.description,
                department: v.violation.department,
                amount_fen: v.violation.amount_fen,
                allowed: v.allowed,
                evidence: disclosed,
                fine_fen: v.violation.fine_fen,
                suspension_months: v.violation.suspension_months,
                suspended_from: v.violation.suspended_from,
                suspended_until: v.violation.suspended_until,
                terminated: v.violation.terminated,
                rectification_due: v.violation.rectification_due,
                recoveries: v.recoveries,
                outstanding_fen: v.outstanding_fen,
            })
        }
        _ => None,
    };
    let by_facility = |role: &str| {
        role.parse::<crate::domain::roles::Role>()
            .is_ok_and(|r| r.is_facility())
    };
    let steps = crate::store::audit::for_case(conn, case.id)?
        .iter()
        // Moves of the case and the facility's own steps; staff's internal notes stay theirs.
        .filter(|e| e.to_stage.is_some() || e.public || by_facility(&e.role) || e.role == "system")
        .map(|e| FacilityStep {
            at_ms: e.at_ms,
            comment: if by_facility(&e.role) {
                e.comment.to_string()
            } else {
                String::new()
            },
            role: e.role.to_string(),
            action: e.action.to_string(),
            from_stage: e.from_stage.as_ref().map(|s| s.to_string()),
            to_stage: e.to_stage.as_ref().map(|s| s.to_string()),
        })
        .collect();
    let stage_title = case
        .stage
        .as_deref()
        .and_then(|s| wf.stage(s))
        .map(|s| s.title.clone());
    let outcome_title = case
        .outcome
        .as_deref()
        .and_then(|o| wf.title_of_outcome(o))
        .cloned();
    Ok(FacilityCaseView {
        case_id: case.id,
        version: case.version,
        facility_code,
        workflow: case.workflow.clone(),
        workflow_title: wf.title.clone(),
        open_stage: open.map(|t| t.stage.clone()),
        due_at: open.and(case.due_at),
        stage: case.stage.clone(),
        stage_title,
        outcome_title,
        tasks,
        actions,
        files: own,
        claim,
        violation,
        steps,
    })
}

fn claim_part(
    conn: &mut DbConn,
    defs: &Definitions,
    claim_id: i64,
    case_id: i64,
) -> AppResult<FacilityClaim> {
    let record = crate::store::claims::get(conn, claim_id)?
        .ok_or_else(|| crate::error::AppError::NotFound(format!("claim {claim_id}")))?;
    let person = match record.person_id {
        Some(id) => crate::store::persons::get(conn, id)?,
        None => None,
    };
    let rules_file = defs.screening();
    let mut rules: Vec<Title> = crate::store::findings::for_case(conn, case_id)?
        .iter()
        .filter_map(|f| RuleCode::parse(&f.code))
        .filter_map(|code| rules_file.info(code))
        .map(|r| Title {
            zh: r.zh.clone(),
            en: r.en.clone(),
        })
        .collect();
    rules.dedup();
    let c = record.claim;
    Ok(FacilityClaim {
        claim_id,
        patient_name: person.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
        patient_id_number: person
            .as_ref()
            .and_then(|p| IdNumber::parse(&p.id_number).ok())
            .map(|n| n.masked())
            .unwrap_or_default(),
        family: c.family.as_str().to_string(),
        encounter_kind: c.encounter_kind.as_str().to_string(),
        admission_date: c.admission_date.to_string(),
        discharge_date: c.discharge_date.to_string(),
        diagnosis_code: c.diagnosis_code.clone(),
        invoice_numbers: c.invoice_numbers.clone(),
        total_fen: c.total_fen.0,
        policy_scope_fen: c.policy_scope_fen.0,
        self_paid_fen: c.self_paid_fen.0,
        rules,
    })
}
