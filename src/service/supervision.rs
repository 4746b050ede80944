//! Fund supervision use cases: inspections, violations (each a `facility_violation` case),
//! evidence, sanctions within Order 735's ranges, designation suspensions and the money
//! owed until it is paid.
use super::cases::{self, ActionRequest, OpenCase};
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::audit::Event;
use crate::domain::case::Subject;
use crate::domain::dates::parse_iso_date;
use crate::domain::money::Fen;
use crate::domain::roles::Role;
use crate::domain::supervision::{self, SanctionChoice, SanctionRange};
use crate::domain::workflow::CaseFacts;
use crate::error::{AppError, AppResult, FieldError};
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
const INSPECTION_KINDS: [&str; 4] = ["planned", "unannounced", "random_recheck", "follow_up"];

fn required(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    if value.trim().is_empty() {
        errors.push(FieldError {
            field: field.into(),
            message: "required".into(),
        });
    }
}

fn date_field(errors: &mut Vec<FieldError>, field: &str, value: &str) {
    if parse_iso_date(value.trim()).is_none() {
        errors.push(FieldError {
            field: field.into(),
            message: format!("expected a date YYYY-MM-DD, got `{value}`"),
        });
    }
}

fn fail_if_any(errors: Vec<FieldError>) -> AppResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The facility and its region, if this inspector or supervisor covers it.
fn facility_in_reach(
    conn: &mut DbConn,
    p: &Principal,
    code: &str,
) -> AppResult<(Facility, Region)> {
    let facility = facilities::get(conn, code.trim())?
        .ok_or_else(|| AppError::field("facility_code", format!("unknown facility `{code}`")))?;
    let region = regions::get(conn, &facility.region_code)?
        .ok_or_else(|| AppError::NotFound(format!("region {}", facility.region_code)))?;
    if !p.covers_region(&region.path) {
        return Err(AppError::Forbidden(format!(
            "facility {} is outside your region",
            facility.code
        )));
    }
    Ok((facility, region))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionInput {
    pub facility_code: String,
    /// planned, unannounced, random_recheck or follow_up
    pub kind: String,
    /// YYYY-MM-DD
    pub inspected_on: String,
    pub team: String,
    pub scope: String,
}

pub fn record_inspection(
    conn: &mut DbConn,
    p: &Principal,
    input: &InspectionInput,
    now_ms: i64,
) -> AppResult<InspectionRow> {
    p.require_any(&[Role::Inspector])?;
    let mut errors = Vec::new();
    if !INSPECTION_KINDS.contains(&input.kind.as_str()) {
        errors.push(FieldError {
            field: "kind".into(),
            message: format!("expected one of {INSPECTION_KINDS:?}"),
        });
    }
    date_field(&mut errors, "inspected_on", &input.inspected_on);
    required(&mut errors, "team", &input.team);
    required(&mut errors, "scope", &input.scope);
    fail_if_any(errors)?;
    let (facility, region) = facility_in_reach(conn, p, &input.facility_code)?;
    Ok(store::insert_inspection(
        conn,
        &NewInspection {
            facility_code: &facility.code,
            kind: &input.kind,
            inspected_on: input.inspected_on.trim(),
            team: input.team.trim(),
            scope: input.scope.trim(),
            inspector_id: p.user_id,
            region_code: &region.code,
            created_at: now_ms,
        },
    )?)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViolationInput {
    /// The inspection that found it, if any.
    pub inspection_id: Option<i64>,
    pub facility_code: String,
    /// A code from the violation type list (GET /api/supervision/violation-types).
    pub type_code: String,
    /// The amount of fund money involved, in fen.
    pub amount_fen: i64,
    #[serde(default)]
    pub claim_ids: Vec<i64>,
    /// The responsible department, if known.
    #[serde(default)]
    pub department: String,
    pub description: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ViolationView {
    pub violation: ViolationRow,
    pub case_id: i64,
    pub stage: Option<String>,
    pub outcome: Option<String>,
    pub version: i64,
    pub type_zh: String,
    pub type_en: String,
    /// What the article allows for this amount.
    pub allowed: SanctionRange,
    pub evidence: Vec<EvidenceRow>,
    pub recoveries: Vec<RecoveryRow>,
}

/// Logs a violation and opens its `facility_violation` case, in one transaction.
pub fn add_violation(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    input: &ViolationInput,
    now_ms: i64,
) -> AppResult<ViolationView> {
    p.require_any(&[Role::Inspector])?;
    let sanctions = defs.sanctions();
    let mut errors = Vec::new();
    let vtype = sanctions.violation_type(input.type_code.trim());
    if vtype.is_none() {
        let codes: Vec<&str> = sanctions
            .violation_types
            .iter()
            .map(|t| t.code.as_str())
            .collect();
        errors.push(FieldError {
            field: "type_code".into(),
            message: format!(
                "unknown violation type `{}`; expected one of {}",
                input.type_code,
                codes.join(", ")
            ),
        });
    }
    if input.amount_fen < 0 {
        errors.push(FieldError {
            field: "amount_fen".into(),
            message: "must not be negative".into(),
        });
    }
    required(&mut errors, "description", &input.description);
    fail_if_any(errors)?;
    let vtype = vtype.ok_or_else(|| AppError::field("type_code", "unknown"))?;
    let workflow = defs.latest(VIOLATION_WORKFLOW).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "workflow {VIOLATION_WORKFLOW} is not published"
        ))
    })?;
    conn.write_tx(|conn| {
        let (facility, region) = facility_in_reach(conn, p, &input.facility_code)?;
        if let Some(id) = input.inspection_id {
            let inspection = store::inspection(conn, id)?
                .ok_or_else(|| AppError::field("inspection_id", format!("no inspection {id}")))?;
            if inspection.facility_code != facility.code {
                return Err(AppError::field(
                    "inspection_id",
                    format!(
                        "inspection {id} was of facility {}, not {}",
                        inspection.facility_code, facility.code
                    ),
                ));
            }
        }
        let found = store::existing_claims(conn, &input.claim_ids)?;
        if let Some(missing) = input.claim_ids.iter().find(|id| !found.contains(id)) {
            return Err(AppError::field("claim_ids", format!("no claim {missing}")));
        }
        let claim_ids = serde_json::to_string(&input.claim_ids).map_err(anyhow::Error::from)?;
        let v = store::insert_violation(
            conn,
            &NewViolation {
                inspection_id: input.inspection_id,
                facility_code: &facility.code,
                type_code: &vtype.code,
                article: &vtype.article,
                amount_fen: input.amount_fen,
                claim_ids: &claim_ids,
                department: input.department.trim(),
                description: input.description.trim(),
                region_code: &region.code,
                created_by: p.user_id,
                created_at: now_ms,
            },
        )?;
        let facts = CaseFacts {
            violation_fen: v.amount_fen,
            article: v.article.clone(),
            ..CaseFacts::default()
        };
        cases::open(
            conn,
            &OpenCase {
                calendar: defs.calendar_for(&region.path),
                subject: Subject::Violation(v.id),
                workflow: &workflow,
                region: &region,
                org: &p.org,
                owner_user_id: None,
                facts: &facts,
                actor: p,
                actor_role: Role::Inspector,
                now_ms,
            },
        )?;
        view(conn, defs, p, v.id)
    })
}

/// The case of a violation this user may see.
fn violation_case(conn: &mut DbConn, p: &Principal, id: i64) -> AppResult<CaseRow> {
    supervision_case(conn, p, Subject::Violation(id))
}

/// The case of a supervision subject (violation or report) for inspectors, supervisors and
/// auditors in its region. Anyone else gets "not found", so numbers cannot be probed.
pub fn supervision_case(conn: &mut DbConn, p: &Principal, subject: Subject) -> AppResult<CaseRow> {
    let not_found = || AppError::NotFound(format!("{} {}", subject.kind(), subject.id()));
    let case = case_store::for_subject(conn, subject)?.ok_or_else(not_found)?;
    let may_see = [Role::Inspector, Role::Supervisor, Role::Auditor]
        .iter()
        .any(|r| p.has(*r));
    if !may_see || !p.covers_region(&case.region_path) {
        return Err(not_found());
    }
    Ok(case)
}

/// A violation with its case, the sanction range, evidence and recoveries.
pub fn view(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    id: i64,
) -> AppResult<ViolationView> {
    let case = violation_case(conn, p, id)?;
    let v =
        store::violation(conn, id)?.ok_or_else(|| AppError::NotFound(format!("violation {id}")))?;
    let sanctions = defs.sanctions();
    let vtype = sanctions.violation_type(&v.type_code);
    let article = sanctions.article(&v.article).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("article {} is not in the table", v.article))
    })?;
    Ok(ViolationView {
        allowed: article.range(Fen(v.amount_fen)),
        type_zh: vtype.map_or_else(|| v.type_code.clone(), |t| t.zh.clone()),
        type_en: vtype.map_or_else(|| v.type_code.clone(), |t| t.en.clone()),
        evidence: store::evidence_of(conn, "violation", id)?,
        recoveries: store::recoveries_of(conn, id)?,
        case_id: case.id,
        stage: case.stage,
        outcome: case.outcome,
        version: case.version,
        violation: v,
    })
}

/// An evidence file for a violation, as uploaded.
pub struct EvidenceUpload<'a> {
    pub violation_id: i64,
    pub filename: &'a str,
    pub bytes: &'a [u8],
    pub now_ms: i64,
}

/// Adds an evidence file (PDF, JPEG or PNG, judged by content) to a violation.
pub fn add_evidence(
    conn: &mut DbConn,
    data_dir: &Path,
    p: &Principal,
    up: &EvidenceUpload<'_>,
) -> AppResult<EvidenceRow> {
    p.require_any(&[Role::Inspector, Role::Supervisor])?;
    let case = violation_case(conn, p, up.violation_id)?;
    let role = if p.has(Role::Inspector) {
        Role::Inspector
    } else {
        Role::Supervisor
    };
    attach_file(
        conn,
        data_dir,
        &case,
        Attacher {
            user_id: Some(p.user_id),
            name: &p.username,
            role: role.as_str(),
        },
        up.filename,
        up.bytes,
        up.now_ms,
    )
}

/// Who attaches a file: a user, or the public (no id).
pub struct Attacher<'a> {
    pub user_id: Option<i64>,
    pub name: &'a str,
    pub role: &'a str,
}

/// Stores a file for a case's subject (violation or report) after checking its content,
/// with an internal audit event, in one transaction. The caller has checked access.
pub fn attach_file(
    conn: &mut DbConn,
    data_dir: &Path,
    case: &CaseRow,
    by: Attacher<'_>,
    filename: &str,
    bytes: &[u8],
    now_ms: i64,
) -> AppResult<EvidenceRow> {
    let content_type = super::documents::content_type_of(bytes)?;
    let filename = super::documents::safe_filename(filename);
    super::documents::with_stored_blob(conn, data_dir, bytes, |conn, sha256| {
        let row = store::insert_evidence(
            conn,
            &NewEvidence {
                subject_kind: case.subject_kind.as_str(),
                subject_id: case.subject_id,
                sha256,
                content_type,
                filename: &filename,
                size_bytes: bytes.len() as i64,
                uploaded_by: by.user_id,
                uploaded_at: now_ms,
            },
        )?;
        let value =
            json!({ "evidence_id": row.id, "sha256": sha256, "filename": filename }).to_string();
        audit::append(
            conn,
            case.id,
            Event::new(by.user_id, by.name, by.role, "evidence_added", now_ms)
                .values("{}", value.as_str())
                .internal(),
        )?;
        Ok(row)
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SanctionInput {
    /// The case version you saw (optimistic concurrency).
    pub expected_version: i64,
    pub fine_fen: i64,
    /// 0 for no suspension.
    #[serde(default)]
    pub suspension_months: u32,
    /// First day of the suspension (or termination), YYYY-MM-DD.
    #[serde(default)]
    pub suspended_from: Option<String>,
    #[serde(default)]
    pub terminate: bool,
    /// Why; required for any choice outside the article's range.
    #[serde(default)]
    pub reason: String,
    /// When the facility must have rectified, YYYY-MM-DD.
    pub rectification_due: String,
}

/// Records the sanction and moves the case to rectification, in one transaction: the
/// choice is checked against the article's range, repayment and fine are ordered, and a
/// suspension or termination changes the facility's designation from its first day and
/// flags the claims in flight whose stay falls inside it.
pub fn impose_sanction(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    violation_id: i64,
    input: &SanctionInput,
    now_ms: i64,
) -> AppResult<ViolationView> {
    p.require_any(&[Role::Supervisor])?;
    let current = view(conn, env.defs, p, violation_id)?;
    if current.stage.as_deref() != Some("decision") {
        return Err(AppError::Conflict(format!(
            "violation {violation_id} is at stage {}, not decision",
            current.stage.as_deref().unwrap_or("(closed)")
        )));
    }
    let choice = SanctionChoice {
        fine_fen: input.fine_fen,
        suspension_months: input.suspension_months,
        terminate: input.terminate,
        reason: &input.reason,
    };
    let outside = supervision::check_choice(&current.allowed, &choice).map_err(|errs| {
        AppError::Validation(
            errs.into_iter()
                .map(|(field, message)| FieldError {
                    field: field.into(),
                    message,
                })
                .collect(),
        )
    })?;
    let mut errors = Vec::new();
    date_field(&mut errors, "rectification_due", &input.rectification_due);
    let from = input.suspended_from.as_deref().map(str::trim);
    let needs_from = input.suspension_months > 0 || input.terminate;
    match from {
        Some(f) => date_field(&mut errors, "suspended_from", f),
        None if needs_from => errors.push(FieldError {
            field: "suspended_from".into(),
            message: "a suspension or termination needs its first day".into(),
        }),
        None => {}
    }
    fail_if_any(errors)?;
    let from_day = from.and_then(parse_iso_date);
    let until_day = match (from_day, input.suspension_months) {
        (Some(d), m) if m > 0 && !input.terminate => supervision::months_after(d, m),
        _ => None,
    };
    let v = &current.violation;
    conn.write_tx(|conn| {
        let from_text = from_day.map(|d| d.to_string());
        let until_text = until_day.map(|d| d.to_string());
        store::record_sanction(conn, violation_id, &SanctionRecord {
            repay_fen: Some(current.allowed.repay_fen),
            fine_fen: Some(input.fine_fen),
            suspension_months: Some(input.suspension_months as i32),
            suspended_from: if needs_from { from_text.as_deref() } else { None },
            suspended_until: until_text.as_deref(),
            terminated: Some(input.terminate),
            sanction_reason: Some(input.reason.trim()),
            sanctioned_by: Some(p.user_id),
            sanctioned_at: Some(now_ms),
            rectification_due: Some(input.rectification_due.trim()),
        })?;
        store::order_recovery(conn, violation_id, "repay", current.allowed.repay_fen, now_ms)?;
        store::order_recovery(conn, violation_id, "fine", input.fine_fen, now_ms)?;
        let why = format!("violation {violation_id}: {}", current.type_zh);
        let mut flagged = Vec::new();
        if let (true, Some(from)) = (needs_from, from_text.as_deref()) {
            let status = if input.terminate { "terminated" } else { "suspended" };
            facilities::add_status(conn, &v.facility_code, status, from, &why, now_ms)?;
            if let Some(until) = until_text.as_deref() {
                facilities::add_status(conn, &v.facility_code, "designated", until, &format!("{why}: suspension ends"), now_ms)?;
            }
            let until = until_text.as_deref().unwrap_or("9999-12-31");
            for (case_id, claim_id) in store::open_claims_at(conn, &v.facility_code, from, until)? {
                findings_store::insert_all(conn, [(case_id, &NewFinding {
                    code: "facility_suspended",
                    severity: "error",
                    zh: format!("就诊机构 {} 自 {from} 起{}，本申请的住院日期在此期间，请复核", v.facility_code, if input.terminate { "终止协议" } else { "暂停医保服务" }),
                    en: format!("Facility {} is {status} from {from}; this claim's stay falls inside it: review it", v.facility_code),
                    evidence: json!({ "violation_id": violation_id, "facility": v.facility_code, "from": from, "until": until_text, "claim_id": claim_id }),
                })], now_ms)?;
                flagged.push(claim_id);
            }
        }
        let comment = format!(
            "repay {} fen, fine {} fen{}{}{}",
            current.allowed.repay_fen,
            input.fine_fen,
            if input.suspension_months > 0 { format!(", suspended {} months from {}", input.suspension_months, from_text.as_deref().unwrap_or("")) } else { String::new() },
            if input.terminate { ", agreement terminated" } else { "" },
            if outside { format!("; outside the range because: {}", input.reason.trim()) } else if input.reason.trim().is_empty() { String::new() } else { format!("; {}", input.reason.trim()) },
        );
        cases::act(conn, env, p, &ActionRequest::simple(current.case_id, "impose_sanction", &comment, input.expected_version, now_ms))?;
        if !flagged.is_empty() {
            tracing::info!(violation_id, ?flagged, "claims in flight flagged for review");
        }
        view(conn, env.defs, p, violation_id)
    })
}

/// Records a payment towards a repayment or fine; the amount may not exceed what is owed.
pub fn record_payment(
    conn: &mut DbConn,
    p: &Principal,
    recovery_id: i64,
    amount_fen: i64,
    now_ms: i64,
) -> AppResult<RecoveryRow> {
    p.require_any(&[Role::Supervisor])?;
    conn.write_tx(|conn| {
        let r = store::recovery(conn, recovery_id)?
            .ok_or_else(|| AppError::NotFound(format!("recovery {recovery_id}")))?;
        violation_case(conn, p, r.violation_id)?;
        if amount_fen <= 0 {
            return Err(AppError::field("amount_fen", "must be more than 0"));
        }
        if !store::add_payment(conn, recovery_id, amount_fen, now_ms)? {
            return Err(AppError::field(
                "amount_fen",
                format!(
                    "{amount_fen} fen is more than the {} fen still owed",
                    r.amount_fen - r.paid_fen
                ),
            ));
        }
        store::recovery(conn, recovery_id)?
            .ok_or_else(|| AppError::NotFound(format!("recovery {recovery_id}")))
    })
}

/// A count and an amount under a key (type, facility or month).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Tally {
    pub key: String,
    pub count: i64,
    pub amount_fen: i64,
}

/// A rectification past its deadline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Overdue {
    pub violation_id: i64,
    pub facility_code: String,
    pub rectification_due: Option<String>,
    pub due_at: Option<i64>,
}

/// A facility's risk and what it is made of: screening hits per 100 claims, violations (10
/// points each), and the outlier z-scores above 0 (5 points per unit of the larger).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FacilityRisk {
    pub facility_code: String,
    pub name: String,
    pub claims: i64,
    pub rule_hits: i64,
    pub hits_per_100_claims: f64,
    pub violations: i64,
    pub cost_z: Option<f64>,
    pub admission_z: Option<f64>,
    pub risk: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub violations_by_type: Vec<Tally>,
    pub violations_by_facility: Vec<Tally>,
    pub violations_by_month: Vec<Tally>,
    pub repay_ordered_fen: i64,
    pub repay_recovered_fen: i64,
    pub fines_ordered_fen: i64,
    pub fines_paid_fen: i64,
    pub overdue_rectifications: Vec<Overdue>,
    /// Highest risk first, at most 20.
    pub risk_ranking: Vec<FacilityRisk>,
}

fn tallies(map: std::collections::BTreeMap<String, (i64, i64)>) -> Vec<Tally> {
    map.into_iter()
        .map(|(key, (count, amount_fen))| Tally {
            key,
            count,
            amount_fen,
        })
        .collect()
}

/// Supervision figures for the user's region: violations by type, facility and month,
/// money ordered and recovered, rectifications past their deadline, and the facility risk
/// ranking with its components.
pub fn dashboard(
    conn: &mut DbConn,
    p: &Principal,
    today: &str,
    now_ms: i64,
) -> AppResult<Dashboard> {
    p.require_any(&[Role::Inspector, Role::Supervisor, Role::Auditor])?;
    let rows = store::violations_in(conn, &p.region_path)?;
    let (mut by_type, mut by_facility, mut by_month) = Default::default();
    let tally = |m: &mut std::collections::BTreeMap<String, (i64, i64)>, k: String, amount: i64| {
        let e = m.entry(k).or_insert((0, 0));
        e.0 += 1;
        e.1 += amount;
    };
    let mut overdue = Vec::new();
    for (v, stage, due_at) in &rows {
        tally(&mut by_type, v.type_code.clone(), v.amount_fen);
        tally(&mut by_facility, v.facility_code.clone(), v.amount_fen);
        let month = chrono::DateTime::from_timestamp_millis(v.created_at)
            .map(|d| d.format("%Y-%m").to_string())
            .unwrap_or_default();
        tally(&mut by_month, month, v.amount_fen);
        let late = v.rectification_due.as_deref().is_some_and(|d| d < today)
            || due_at.is_some_and(|d| d < now_ms);
        if stage.as_deref() == Some("rectification") && late {
            overdue.push(Overdue {
                violation_id: v.id,
                facility_code: v.facility_code.clone(),
                rectification_due: v.rectification_due.clone(),
                due_at: *due_at,
            });
        }
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.0.id).collect();
    let recoveries = store::recoveries_for(conn, &ids)?;
    let sum = |kind: &str, paid: bool| -> i64 {
        recoveries
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| if paid { r.paid_fen } else { r.amount_fen })
            .sum()
    };
    let risk_ranking = risk_ranking(conn, p, &by_facility)?;
    Ok(Dashboard {
        repay_ordered_fen: sum("repay", false),
        repay_recovered_fen: sum("repay", true),
        fines_ordered_fen: sum("fine", false),
        fines_paid_fen: sum("fine", true),
        violations_by_type: tallies(by_type),
        violations_by_facility: tallies(by_facility),
        violations_by_month: tallies(by_month),
        overdue_rectifications: overdue,
        risk_ranking,
    })
}

fn risk_ranking(
    conn: &mut DbConn,
    p: &Principal,
    violations: &std::collections::BTreeMap<String, (i64, i64)>,
) -> AppResult<Vec<FacilityRisk>> {
    let paths: std::collections::HashMap<String, String> = regions::list(conn)?
        .into_iter()
        .map(|r| (r.code, r.path))
        .collect();
    let codes = crate::domain::screening::RuleCode::ALL.map(|c| c.as_str());
    let (claims, hits) = store::facility_claims_and_hits(conn, &codes)?;
    let claims: std::collections::HashMap<String, i64> = claims.into_iter().collect();
    let hits: std::collections::HashMap<String, i64> = hits.into_iter().collect();
    let scores: std::collections::HashMap<String, crate::domain::screening::OutlierScore> =
        crate::store::screening::all_scores(conn)?
            .into_iter()
            .map(|s| (s.facility.clone(), s))
            .collect();
    let mut ranking: Vec<FacilityRisk> = facilities::list(conn)?
        .into_iter()
        .filter(|f| {
            paths
                .get(&f.region_code)
                .is_some_and(|path| p.covers_region(path))
        })
        .map(|f| {
            let n = claims.get(&f.code).copied().unwrap_or(0);
            let h = hits.get(&f.code).copied().unwrap_or(0);
            let v = violations.get(&f.code).map_or(0, |t| t.0);
            let score = scores.get(&f.code);
            let rate = if n > 0 {
                (h as f64 * 10_000.0 / n as f64).round() / 100.0
            } else {
                0.0
            };
            let z = score.map_or(0.0, |s| s.cost_z.max(s.admission_z).max(0.0));
            FacilityRisk {
                risk: ((rate + 10.0 * v as f64 + 5.0 * z) * 100.0).round() / 100.0,
                facility_code: f.code,
                name: f.name,
                claims: n,
                rule_hits: h,
                hits_per_100_claims: rate,
                violations: v,
                cost_z: score.map(|s| s.cost_z),
                admission_z: score.map(|s| s.admission_z),
            }
        })
        .filter(|r| r.risk > 0.0)
        .collect();
    ranking.sort_by(|a, b| {
        b.risk
            .total_cmp(&a.risk)
            .then(a.facility_code.cmp(&b.facility_code))
    });
    ranking.truncate(20);
    Ok(ranking)
}
