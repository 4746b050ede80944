//! Inspections, violations and their evidence.
use super::*;
use crate::error::Msg;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionInput {
    pub facility_code: String,
    /// planned, unannounced, random_recheck or follow_up
    pub kind: String,
    /// YYYY-MM-DD
    #[schema(format = Date)]
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
        errors.push(FieldError::new(
            "kind",
            Msg::new("field-one-of")
                .text("allowed", INSPECTION_KINDS.join(", "))
                .text("value", input.kind.as_str()),
        ));
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
    #[schema(minimum = 0, maximum = 9_000_000_000_i64)]
    pub amount_fen: i64,
    #[serde(default)]
    pub claim_ids: Vec<i64>,
    /// The responsible department, if known.
    #[serde(default)]
    pub department: String,
    pub description: String,
    /// Order 735 Art. 41 (acts of individuals): the insured person's ID number. Required for
    /// the types of article 41, refused for the others.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{17}[0-9Xx]$")]
    pub id_number: Option<String>,
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
    /// Still owed on its repayment and fine, in fen; the case cannot close while above 0.
    pub outstanding_fen: i64,
    /// Proposals for a second supervisor: sanctions below the minimum, write-offs.
    pub approvals: Vec<crate::store::supervision::DualApproval>,
}

/// The insured person an Art. 41 violation is against: required for that article, refused
/// for the others, and within the inspector's region.
fn person_of(
    conn: &mut DbConn,
    p: &Principal,
    article: &str,
    id_number: Option<&str>,
) -> AppResult<Option<i64>> {
    let id_number = id_number.map(str::trim).filter(|s| !s.is_empty());
    match (article == "41", id_number) {
        (true, None) => Err(AppError::rule_on_msg(
            "id_number",
            "individual_needs_person",
            Msg::new("rule-individual-needs-person"),
        )),
        (false, Some(_)) => Err(AppError::rule_on_msg(
            "id_number",
            "person_only_for_individuals",
            Msg::new("rule-person-only-for-individuals"),
        )),
        (false, None) => Ok(None),
        (true, Some(id)) => {
            let id = crate::domain::person::IdNumber::parse(id)
                .map_err(|e| AppError::field("id_number", e))?;
            let person = crate::store::persons::by_id_number(conn, id.as_str())?;
            let region = match &person {
                Some(person) => regions::get(conn, &person.region_code)?,
                None => None,
            };
            match (person, region) {
                (Some(person), Some(region)) if p.covers_region(&region.path) => {
                    Ok(Some(person.id))
                }
                _ => Err(AppError::rule_on_msg(
                    "id_number",
                    "person_not_found",
                    Msg::new("rule-person-not-found"),
                )),
            }
        }
    }
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
        errors.push(FieldError::new(
            "type_code",
            Msg::new("field-one-of")
                .text("allowed", codes.join(", "))
                .text("value", input.type_code.as_str()),
        ));
    }
    if let Err(message) = crate::domain::money::check_amount(input.amount_fen) {
        errors.push(FieldError::new("amount_fen", message));
    }
    required(&mut errors, "description", &input.description);
    fail_if_any(errors)?;
    let vtype = vtype.ok_or_else(|| {
        AppError::field(
            "type_code",
            Msg::new("field-one-of")
                .text("allowed", "")
                .text("value", input.type_code.as_str()),
        )
    })?;
    let workflow = defs.latest(VIOLATION_WORKFLOW).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "workflow {VIOLATION_WORKFLOW} is not published"
        ))
    })?;
    conn.write_tx(|conn| {
        let (facility, region) = facility_in_reach(conn, p, &input.facility_code)?;
        if let Some(id) = input.inspection_id {
            let inspection = store::inspection(conn, id)?.ok_or_else(|| {
                AppError::field(
                    "inspection_id",
                    Msg::new("field-no-inspection").count("id", id),
                )
            })?;
            if inspection.facility_code != facility.code {
                return Err(AppError::field(
                    "inspection_id",
                    Msg::new("field-inspection-facility")
                        .count("id", id)
                        .text("inspected", inspection.facility_code.as_str())
                        .text("facility", facility.code.as_str()),
                ));
            }
        }
        // A claim outside the inspector's region reads exactly like one that does not
        // exist: the answer reveals nothing of other regions.
        let found = store::claims_in_region(conn, &input.claim_ids, &p.region_path)?;
        if let Some(missing) = input.claim_ids.iter().find(|id| !found.contains(id)) {
            return Err(AppError::rule_on_msg(
                "claim_ids",
                "claim_not_citable",
                Msg::new("rule-claim-not-citable").text("missing", missing.to_string()),
            ));
        }
        let person_id = person_of(conn, p, &vtype.article, input.id_number.as_deref())?;
        let claim_ids = serde_json::to_string(&input.claim_ids).map_err(anyhow::Error::from)?;
        let v = store::insert_violation(
            conn,
            &NewViolation {
                person_id,
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
                risk_score: 0,
            },
        )?;
        view(conn, defs, p, v.id)
    })
}

/// The case of a violation this user may see.
pub(super) fn violation_case(conn: &mut DbConn, p: &Principal, id: i64) -> AppResult<CaseRow> {
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
    view_of(conn, defs, case, id)
}

/// The violation of a case the caller was allowed to reach (staff by region, the facility
/// by its task), whole: the facility side leaves out what is not for it.
pub fn view_of(
    conn: &mut DbConn,
    defs: &Definitions,
    case: CaseRow,
    id: i64,
) -> AppResult<ViolationView> {
    let v =
        store::violation(conn, id)?.ok_or_else(|| AppError::NotFound(format!("violation {id}")))?;
    let sanctions = defs.sanctions();
    let vtype = sanctions.violation_type(&v.type_code);
    let article = sanctions.article(&v.article).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("article {} is not in the table", v.article))
    })?;
    let recoveries = store::recoveries_of(conn, id)?;
    Ok(ViolationView {
        allowed: article.range(Fen(v.amount_fen)),
        type_zh: vtype.map_or_else(|| v.type_code.clone(), |t| t.zh.clone()),
        type_en: vtype.map_or_else(|| v.type_code.clone(), |t| t.en.clone()),
        evidence: store::evidence_of(conn, "violation", id)?,
        outstanding_fen: recoveries.iter().map(|r| r.outstanding_fen()).sum(),
        recoveries,
        approvals: store::approvals_of(conn, id)?,
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

/// An evidence file of a violation or a report, with its bytes, for staff who may see that
/// case. One outside the reader's region reads like one never stored.
pub fn open_evidence(
    conn: &mut DbConn,
    p: &Principal,
    data_dir: &std::path::Path,
    evidence_id: i64,
) -> AppResult<(EvidenceRow, Vec<u8>)> {
    let missing = || AppError::NotFound(format!("evidence {evidence_id}"));
    let file = store::evidence_file(conn, evidence_id)?.ok_or_else(missing)?;
    match file.subject_kind.as_str() {
        "violation" => supervision_case(conn, p, Subject::Violation(file.subject_id)),
        "report" => supervision_case(conn, p, Subject::Report(file.subject_id)),
        // A facility's appeal or review files on a claim: for those who read its documents.
        "claim" if p.roles.iter().any(|r| r.is_staff() && r.reads_documents()) => {
            crate::service::scope::case_of(conn, p, Subject::Claim(file.subject_id))
        }
        _ => Err(missing()),
    }
    .map_err(|_| missing())?;
    let path = crate::store::blobs::path(data_dir, &file.sha256).ok_or_else(missing)?;
    let bytes = std::fs::read(path)
        .map_err(|e| AppError::internal(anyhow::anyhow!("cannot read stored evidence: {e}")))?;
    Ok((file, bytes))
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
            purpose: "evidence",
        },
        up.filename,
        up.bytes,
        up.now_ms,
    )
}

/// Who attaches a file (a user, or the public: no id), and what for.
pub struct Attacher<'a> {
    pub user_id: Option<i64>,
    pub name: &'a str,
    pub role: &'a str,
    /// `evidence` (staff's and the public's: internal until staff disclose it), or the
    /// facility's own `statement`, `rectification` or `appeal` files, which it sees.
    pub purpose: &'a str,
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
    let content_type = crate::service::documents::content_type_of(bytes)?;
    let filename = crate::service::documents::safe_filename(filename);
    crate::service::documents::with_stored_blob(conn, data_dir, bytes, |conn, sha256| {
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
                disclosed: by.purpose != "evidence",
                purpose: by.purpose,
            },
        )?;
        let value = json!({ "evidence_id": row.id, "sha256": sha256, "filename": filename, "purpose": by.purpose })
            .to_string();
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

/// What a facility's supervision page shows: the facility and its designation history, its
/// inspections, and its violations within the caller's region.
pub struct FacilityFile {
    pub facility: crate::store::facilities::Facility,
    pub history: Vec<crate::store::facilities::StatusRow>,
    pub inspections: Vec<store::InspectionRow>,
    pub violations: Vec<store::ViolationAndStage>,
}

pub fn facility_file(conn: &mut DbConn, p: &Principal, code: &str) -> AppResult<FacilityFile> {
    p.require_any(&[Role::Inspector, Role::Supervisor])?;
    let facility = crate::store::facilities::get(conn, code)?
        .ok_or_else(|| AppError::NotFound(format!("facility {code}")))?;
    let violations = store::violations_in(conn, crate::service::scope::staff_region(p)?)?
        .into_iter()
        .filter(|(v, _, _)| v.facility_code == code)
        .collect();
    Ok(FacilityFile {
        history: crate::store::facilities::history(conn, code)?,
        inspections: store::inspections_of(conn, code)?,
        facility,
        violations,
    })
}

/// A facility's inspections, for the inspectors and supervisors who cite them.
pub fn inspections_at(
    conn: &mut DbConn,
    p: &Principal,
    code: &str,
) -> AppResult<Vec<store::InspectionRow>> {
    p.require_any(&[Role::Inspector, Role::Supervisor])?;
    Ok(store::inspections_of(conn, code)?)
}

/// The violations of the caller's region subtree, newest first, with their stage.
pub fn violations_in_region(
    conn: &mut DbConn,
    p: &Principal,
) -> AppResult<Vec<store::ViolationAndStage>> {
    Ok(store::violations_in(
        conn,
        crate::service::scope::staff_region(p)?,
    )?)
}
