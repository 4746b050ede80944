//! What the facility does besides taking a workflow action: files for the stage it stands
//! in (its statement's attachments, rectification evidence, appeal documents), and the
//! hospital's correction of a claim's invoice amounts; and staff's choice of which evidence
//! the facility may see.
use super::case;
use crate::auth::Principal;
use crate::domain::audit::Event;
use crate::domain::case::Subject;
use crate::domain::claim::{amount_problems, InvoiceAmounts};
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, Msg, RuleKind};
use crate::service::cases::{self, ActionRequest};
use crate::service::supervision::{attach_file, Attacher};
use crate::service::Env;
use crate::store::audit;
use crate::store::cases::CaseRow;
use crate::store::facility_side::{self as store, TaskRow};
use crate::store::supervision::EvidenceRow;
use crate::store::DbConn;
use serde_json::json;
use std::path::Path;

/// Files a facility may add to one stage visit.
pub const MAX_FILES_PER_TASK: usize = 10;

/// The task the case has open for the facility now, before its deadline; otherwise the
/// facility's turn is over and it is told so.
fn open_task(case: &CaseRow, tasks: &[TaskRow], now_ms: i64) -> AppResult<TaskRow> {
    let open = tasks
        .iter()
        .rev()
        .find(|t| t.closed_at.is_none() && case.stage.as_deref() == Some(t.stage.as_str()))
        .cloned()
        .ok_or_else(|| {
            AppError::rule_msg(
                RuleKind::Conflict,
                "facility_turn_over",
                Msg::new("rule-facility-turn-over").count("case", case.id),
            )
        })?;
    if case.due_at.is_some_and(|due| due <= now_ms) {
        return Err(AppError::rule_msg(
            RuleKind::Conflict,
            "facility_deadline_passed",
            Msg::new("rule-facility-deadline-passed").count("case", case.id),
        ));
    }
    Ok(open)
}

/// A file for the stage the facility stands in now (PDF, JPEG or PNG by content), stored
/// with the stage as its purpose, so that staff see it beside the facility's submission and
/// the resident never does.
pub fn attach(
    conn: &mut DbConn,
    data_dir: &Path,
    p: &Principal,
    case_id: i64,
    filename: &str,
    bytes: &[u8],
    now_ms: i64,
) -> AppResult<EvidenceRow> {
    conn.write_tx(|conn| {
        let (case, tasks) = case(conn, p, case_id)?;
        let task = open_task(&case, &tasks, now_ms)?;
        let already = crate::store::supervision::evidence_of(
            conn,
            case.subject_kind.as_str(),
            case.subject_id,
        )?
        .into_iter()
        .filter(|e| e.purpose == task.stage && e.uploaded_at >= task.opened_at)
        .count();
        if already >= MAX_FILES_PER_TASK {
            return Err(AppError::field(
                "file",
                Msg::new("field-facility-files").count("max", MAX_FILES_PER_TASK as i64),
            ));
        }
        let role = if p.has(Role::FacilityAdmin) {
            Role::FacilityAdmin
        } else {
            Role::Facility
        };
        attach_file(
            conn,
            data_dir,
            &case,
            Attacher {
                user_id: Some(p.user_id),
                name: &p.username,
                role: role.as_str(),
                purpose: &task.stage,
            },
            filename,
            bytes,
            now_ms,
        )
    })
}

/// A hospital's correction of a claim's invoice amounts in its first review.
pub struct Correction<'a> {
    pub case_id: i64,
    pub amounts: InvoiceAmounts,
    /// What was wrong, for the agency's reviewers.
    pub comment: &'a str,
    pub expected_version: i64,
}

/// The action a workflow names for a correction: it records the corrected amounts first.
pub const CORRECT_INVOICE: &str = "correct_invoice";

/// Corrects the amounts the claim was filed with, prices it again, records both in the
/// trail, and takes the review stage's `correct_invoice` action: one transaction.
pub fn correct_invoice(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    c: &Correction<'_>,
    now_ms: i64,
) -> AppResult<CaseRow> {
    // Who may correct at all is answered before what was sent.
    super::require_facility(p)?;
    let problems = amount_problems(c.amounts, env.max_claim_fen);
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    conn.write_tx(|conn| {
        let (case, tasks) = case(conn, p, c.case_id)?;
        open_task(&case, &tasks, now_ms)?;
        let Subject::Claim(claim_id) = case.subject() else {
            return Err(AppError::NotFound(format!("claim case {}", c.case_id)));
        };
        if case.version != c.expected_version {
            return Err(AppError::Conflict(
                Msg::new("conflict-case-version")
                    .count("case", case.id)
                    .count("version", case.version)
                    .count("expected", c.expected_version),
            ));
        }
        let record = crate::store::claims::get(conn, claim_id)?
            .ok_or_else(|| AppError::NotFound(format!("claim {claim_id}")))?;
        let before = json!({
            "total_fen": record.claim.total_fen.0,
            "policy_scope_fen": record.claim.policy_scope_fen.0,
            "self_paid_fen": record.claim.self_paid_fen.0,
            "payable_fen": record.payable_fen,
        });
        crate::store::claims::set_amounts(conn, claim_id, c.amounts)?;
        crate::service::pricing::reprice(conn, env.defs, claim_id)?;
        let payable = crate::store::claims::get(conn, claim_id)?.and_then(|r| r.payable_fen);
        let after = json!({
            "total_fen": c.amounts.total_fen,
            "policy_scope_fen": c.amounts.policy_scope_fen,
            "self_paid_fen": c.amounts.self_paid_fen,
            "payable_fen": payable,
        });
        let role = if p.has(Role::FacilityAdmin) {
            Role::FacilityAdmin
        } else {
            Role::Facility
        };
        audit::append(
            conn,
            case.id,
            Event::new(
                Some(p.user_id),
                &p.username,
                role.as_str(),
                "invoice_corrected",
                now_ms,
            )
            .values(before, after)
            .comment(c.comment),
        )?;
        let roles: Vec<Role> = p
            .roles
            .iter()
            .copied()
            .filter(|r| r.is_facility())
            .collect();
        let req = ActionRequest::simple(
            c.case_id,
            CORRECT_INVOICE,
            c.comment,
            c.expected_version,
            now_ms,
        );
        cases::take(conn, env, p, &roles, case, &req)
    })
}

/// Staff disclose one of their evidence files to the facility, or take it back: inspectors
/// and supervisors of the violation's region, for staff evidence only (the facility's own
/// files are its own), audited.
pub fn set_disclosed(
    conn: &mut DbConn,
    p: &Principal,
    evidence_id: i64,
    disclosed: bool,
    now_ms: i64,
) -> AppResult<EvidenceRow> {
    p.require_any(&[Role::Inspector, Role::Supervisor])?;
    conn.write_tx(|conn| {
        let unknown = || AppError::NotFound(format!("evidence {evidence_id}"));
        let file =
            crate::store::supervision::evidence_file(conn, evidence_id)?.ok_or_else(unknown)?;
        if file.subject_kind != "violation" || file.purpose != "evidence" {
            return Err(unknown());
        }
        let case = crate::service::scope::case_of(conn, p, Subject::Violation(file.subject_id))
            .map_err(|_| unknown())?;
        store::set_disclosed(conn, evidence_id, disclosed)?;
        let role = if p.has(Role::Supervisor) {
            Role::Supervisor
        } else {
            Role::Inspector
        };
        audit::append(
            conn,
            case.id,
            Event::new(
                Some(p.user_id),
                &p.username,
                role.as_str(),
                if disclosed {
                    "evidence_disclosed"
                } else {
                    "evidence_withheld"
                },
                now_ms,
            )
            .values(
                json!({ "evidence_id": evidence_id, "disclosed": file.disclosed }),
                json!({ "evidence_id": evidence_id, "disclosed": disclosed }),
            )
            .internal(),
        )?;
        crate::store::supervision::evidence_file(conn, evidence_id)?.ok_or_else(unknown)
    })
}

/// A file of one of the facility's cases: its own, or staff evidence they disclosed. Any
/// other file reads as one never stored.
pub fn open_file(
    conn: &mut DbConn,
    p: &Principal,
    data_dir: &Path,
    case_id: i64,
    file_id: i64,
) -> AppResult<(EvidenceRow, Vec<u8>)> {
    let missing = || AppError::NotFound(format!("file {file_id}"));
    let (case, _) = case(conn, p, case_id)?;
    let file = crate::store::supervision::evidence_file(conn, file_id)?.ok_or_else(missing)?;
    let same_subject =
        file.subject_kind == case.subject_kind.as_str() && file.subject_id == case.subject_id;
    if !same_subject || !(file.disclosed || file.purpose != "evidence") {
        return Err(missing());
    }
    let path = crate::store::blobs::path(data_dir, &file.sha256).ok_or_else(missing)?;
    let bytes = std::fs::read(path)
        .map_err(|e| AppError::internal(anyhow::anyhow!("cannot read a stored file: {e}")))?;
    Ok((file, bytes))
}
