//! Fund supervision use cases: inspections and violations (each a `facility_violation`
//! case) with their evidence; sanctions within Order 735's ranges, designation suspensions
//! and the money owed until it is paid; and the supervision dashboard.
mod dashboard;
mod sanctions;
mod violations;

pub use dashboard::{dashboard, Dashboard, FacilityRisk, Overdue, Tally};
pub use sanctions::{
    decide_approval, impose_sanction, propose_write_off, record_payment, ApprovalDecision,
    SanctionInput, SanctionOutcome,
};
pub use violations::{
    add_evidence, add_violation, attach_file, facility_file, inspections_at, open_evidence,
    record_inspection, supervision_case, view, view_of, violations_in_region, Attacher,
    EvidenceUpload, FacilityFile, InspectionInput, ViolationInput, ViolationView,
};

use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::audit::Event;
use crate::domain::case::Subject;
use crate::domain::dates::parse_iso_date;
use crate::domain::money::Fen;
use crate::domain::roles::Role;
use crate::domain::supervision::{self, SanctionChoice, SanctionRange};
use crate::domain::workflow::CaseFacts;
use crate::error::Msg;
use crate::error::{AppError, AppResult, FieldError};
use crate::service::cases::{self, ActionRequest, OpenCase};
use crate::service::Env;
use crate::store::audit;
use crate::store::cases::{self as case_store, CaseRow};
use crate::store::facilities::{self, Facility};
use crate::store::findings::{self as findings_store, NewFinding};
use crate::store::regions::{self, Region};
use crate::store::supervision::{
    self as store, EvidenceRow, InspectionRow, NewEvidence, NewInspection, NewViolation,
    RecoveryRow, SanctionRecord, ViolationRow,
};
use crate::store::DbConn;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

pub const VIOLATION_WORKFLOW: &str = "facility_violation";
pub(super) const INSPECTION_KINDS: [&str; 4] =
    ["planned", "unannounced", "random_recheck", "follow_up"];

pub(super) fn required(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, Msg::new("field-required")));
    }
}

pub(super) fn date_field(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    if parse_iso_date(value.trim()).is_none() {
        errors.push(FieldError::new(
            field,
            Msg::new("field-date").text("value", value),
        ));
    }
}

pub(super) fn fail_if_any(errors: Vec<FieldError>) -> AppResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The facility and its region, if this inspector or supervisor covers it.
pub(super) fn facility_in_reach(
    conn: &mut DbConn,
    p: &Principal,
    code: &str,
) -> AppResult<(Facility, Region)> {
    let facility = facilities::get(conn, code.trim())?.ok_or_else(|| {
        AppError::field(
            "facility_code",
            Msg::new("field-unknown-facility").text("code", code),
        )
    })?;
    let region = regions::get(conn, &facility.region_code)?
        .ok_or_else(|| AppError::NotFound(format!("region {}", facility.region_code)))?;
    if !p.covers_region(&region.path) {
        return Err(AppError::Forbidden(
            Msg::new("forbidden-facility-region").text("code", facility.code.as_str()),
        ));
    }
    Ok((facility, region))
}
