//! Claim intake and documents. Validation names every bad field; the claim, its case and the
//! first audit event are written in one transaction.
use super::cases::{self, OpenCase};
use crate::auth::Principal;
use crate::domain::documents::document_kind;
use crate::domain::roles::Role;
use crate::domain::workflow::{CaseFacts, Workflow};
use crate::error::{AppError, AppResult, FieldError};
use crate::registry::WorkflowRegistry;
use crate::store::audit::{self, EventDraft};
use crate::store::claims::{self as claim_store, ClaimRow, DocumentRow, NewClaim, NewDocument};
use crate::store::{cases as case_store, regions, users, DbConn};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const FAMILIES: [&str; 3] = ["out_of_region", "trauma", "unreferred_transfer"];
pub const ENCOUNTER_KINDS: [&str; 4] =
    ["inpatient", "outpatient", "special_outpatient", "maternity"];

/// The family's own facts (handbook §3).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FamilyFacts {
    /// Out-of-region or transfer filing (备案) made before treatment.
    pub filed: bool,
    pub filing_number: Option<String>,
    pub emergency: Option<EmergencyExplanation>,
    /// Trauma: a liable third party exists (traffic accident, assault…).
    pub third_party_liable: bool,
    pub third_party_declaration: Option<String>,
    pub referral: bool,
    pub referral_certificate: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyExplanation {
    pub time: String,
    pub place: String,
    pub cause: String,
    pub witness: String,
    pub witness_contact: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    /// out_of_region, trauma or unreferred_transfer.
    pub family: String,
    /// Required when a clerk files on a resident's behalf; ignored for residents.
    pub resident_id: Option<i64>,
    /// inpatient, outpatient, special_outpatient or maternity.
    pub encounter_kind: String,
    pub facility_code: String,
    /// YYYY-MM-DD
    pub admission_date: String,
    /// YYYY-MM-DD, not before admission.
    pub discharge_date: String,
    /// ICD-10 code such as S72.001.
    pub diagnosis_code: String,
    pub invoice_numbers: Vec<String>,
    /// Total cost in fen (1 yuan = 100 fen).
    pub total_fen: i64,
    pub policy_scope_fen: i64,
    pub self_paid_fen: i64,
    #[serde(default)]
    pub facts: FamilyFacts,
}

fn is_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && (b[2].is_ascii_digit() || b[2].is_ascii_uppercase())
        && match &code[3..] {
            "" => true,
            rest => {
                rest.starts_with('.')
                    && rest.len() > 1
                    && rest[1..].bytes().all(|c| c.is_ascii_alphanumeric())
            }
        }
}

/// Every problem with the input at once, each naming its field.
pub fn validate(input: &ClaimInput) -> Result<(NaiveDate, NaiveDate), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.into(),
            message,
        })
    };
    if !FAMILIES.contains(&input.family.as_str()) {
        bad(
            "family",
            format!("expected one of {FAMILIES:?}, got `{}`", input.family),
        );
    }
    if !ENCOUNTER_KINDS.contains(&input.encounter_kind.as_str()) {
        bad(
            "encounter_kind",
            format!(
                "expected one of {ENCOUNTER_KINDS:?}, got `{}`",
                input.encounter_kind
            ),
        );
    }
    if input.facility_code.trim().is_empty() {
        bad("facility_code", "must not be empty".into());
    }
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let admission = date(&input.admission_date);
    let discharge = date(&input.discharge_date);
    if admission.is_none() {
        bad(
            "admission_date",
            format!("expected a date YYYY-MM-DD, got `{}`", input.admission_date),
        );
    }
    if discharge.is_none() {
        bad(
            "discharge_date",
            format!("expected a date YYYY-MM-DD, got `{}`", input.discharge_date),
        );
    }
    if let (Some(a), Some(d)) = (admission, discharge) {
        if d < a {
            bad(
                "discharge_date",
                format!("discharge {d} is before admission {a}"),
            );
        }
    }
    if !is_icd10(&input.diagnosis_code) {
        bad(
            "diagnosis_code",
            format!(
                "expected an ICD-10 code such as S72.001, got `{}`",
                input.diagnosis_code
            ),
        );
    }
    if input.invoice_numbers.is_empty() {
        bad(
            "invoice_numbers",
            "at least one invoice number is required".into(),
        );
    }
    for (i, n) in input.invoice_numbers.iter().enumerate() {
        if n.trim().is_empty() || n.len() > 64 {
            bad(
                &format!("invoice_numbers[{i}]"),
                "must be 1 to 64 characters".into(),
            );
        }
    }
    for (field, value) in [
        ("total_fen", input.total_fen),
        ("policy_scope_fen", input.policy_scope_fen),
        ("self_paid_fen", input.self_paid_fen),
    ] {
        if value < 0 {
            bad(field, format!("must not be negative, got {value}"));
        }
    }
    if input.policy_scope_fen > input.total_fen {
        bad("policy_scope_fen", "cannot exceed total_fen".into());
    }
    if input.self_paid_fen > input.total_fen {
        bad("self_paid_fen", "cannot exceed total_fen".into());
    }
    if let Some(e) = &input.facts.emergency {
        for (field, v) in [
            ("time", &e.time),
            ("place", &e.place),
            ("cause", &e.cause),
            ("witness", &e.witness),
            ("witness_contact", &e.witness_contact),
        ] {
            if v.trim().is_empty() {
                bad(
                    &format!("facts.emergency.{field}"),
                    "the emergency explanation needs time, place, cause, witness and contact"
                        .into(),
                );
            }
        }
    }
    match (admission, discharge) {
        (Some(a), Some(d)) if errors.is_empty() => Ok((a, d)),
        _ => Err(errors),
    }
}

/// The facts a claim's guards read.
pub fn facts(claim: &ClaimRow, docs: &[DocumentRow], workflow: &Workflow) -> CaseFacts {
    let family: FamilyFacts = serde_json::from_str(&claim.family_facts).unwrap_or_default();
    let mut facts = CaseFacts {
        claimed_fen: claim.total_fen,
        policy_scope_fen: claim.policy_scope_fen,
        payable_fen: claim.payable_fen.unwrap_or(0),
        decided_fen: claim.decided_fen.unwrap_or(0),
        documents_complete: false,
        family: claim.family.clone(),
        encounter_kind: claim.encounter_kind.clone(),
        emergency: family.emergency.is_some(),
        filed: family.filed,
        referral: family.referral,
        third_party_liable: family.third_party_liable,
        ..CaseFacts::default()
    };
    facts.documents_complete = checklist(workflow, &facts, docs)
        .iter()
        .all(|i| i.status == "present");
    facts
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    pub kind: String,
    pub title_zh: String,
    pub title_en: String,
    /// present, missing or rejected
    pub status: String,
    pub reason: Option<String>,
    pub document_id: Option<i64>,
}

/// The workflow's document checklist against what was uploaded. The newest upload of a kind
/// decides its status.
pub fn checklist(
    workflow: &Workflow,
    facts: &CaseFacts,
    docs: &[DocumentRow],
) -> Vec<ChecklistItem> {
    workflow
        .required_documents(facts)
        .into_iter()
        .map(|kind| {
            let meta = document_kind(kind);
            let latest = docs.iter().filter(|d| d.kind == kind).max_by_key(|d| d.id);
            ChecklistItem {
                kind: kind.to_string(),
                title_zh: meta.map_or(kind, |m| m.zh).to_string(),
                title_en: meta.map_or(kind, |m| m.en).to_string(),
                status: latest.map_or("missing", |d| d.status.as_str()).to_string(),
                reason: latest.and_then(|d| d.reject_reason.clone()),
                document_id: latest.map(|d| d.id),
            }
        })
        .collect()
}

pub struct Submitted {
    pub claim_id: i64,
    pub case_id: i64,
}

pub fn submit(
    conn: &mut DbConn,
    registry: &WorkflowRegistry,
    p: &Principal,
    input: &ClaimInput,
    now_ms: i64,
) -> AppResult<Submitted> {
    let role = p.require_any(&[Role::Resident, Role::Clerk])?;
    let (_, _) = validate(input).map_err(AppError::Validation)?;
    let workflow = registry.latest(&input.family).ok_or_else(|| {
        AppError::field(
            "family",
            format!("no published workflow for `{}`", input.family),
        )
    })?;
    conn.write_tx(|conn| {
        let resident_id = match role {
            Role::Resident => p.user_id,
            _ => input.resident_id.ok_or_else(|| {
                AppError::field(
                    "resident_id",
                    "a clerk must name the resident the claim is for",
                )
            })?,
        };
        let resident = users::get(conn, resident_id)?
            .ok_or_else(|| AppError::field("resident_id", format!("no user {resident_id}")))?;
        if !users::roles_of(conn, resident.id)?.contains(&Role::Resident) {
            return Err(AppError::field(
                "resident_id",
                format!("user {resident_id} is not a resident"),
            ));
        }
        let region = regions::get(conn, &resident.region_code)?
            .ok_or_else(|| AppError::NotFound(format!("region {}", resident.region_code)))?;
        if role == Role::Clerk && !p.covers_region(&region.path) {
            return Err(AppError::Forbidden(format!(
                "resident {resident_id} lives outside your region"
            )));
        }
        let family_facts = serde_json::to_string(&input.facts).map_err(anyhow::Error::from)?;
        let invoices =
            serde_json::to_string(&input.invoice_numbers).map_err(anyhow::Error::from)?;
        let claim_id = claim_store::insert(
            conn,
            &NewClaim {
                resident_user_id: resident.id,
                submitted_by: p.user_id,
                family: &input.family,
                encounter_kind: &input.encounter_kind,
                facility_code: input.facility_code.trim(),
                admission_date: &input.admission_date,
                discharge_date: &input.discharge_date,
                diagnosis_code: &input.diagnosis_code,
                invoice_numbers: &invoices,
                total_fen: input.total_fen,
                policy_scope_fen: input.policy_scope_fen,
                self_paid_fen: input.self_paid_fen,
                family_facts: &family_facts,
                region_code: &region.code,
                created_at: now_ms,
            },
        )?;
        let claim = claim_store::get(conn, claim_id)?
            .ok_or_else(|| AppError::NotFound(format!("claim {claim_id}")))?;
        let facts = facts(&claim, &[], &workflow);
        let case_id = cases::open(
            conn,
            &OpenCase {
                subject_kind: "claim",
                subject_id: claim_id,
                workflow: &workflow,
                region: &region,
                org: &p.org,
                owner_user_id: Some(resident.id),
                facts: &facts,
                actor: p,
                actor_role: role,
                now_ms,
            },
        )?;
        Ok(Submitted { claim_id, case_id })
    })
}

pub const MAX_FILENAME: usize = 200;

/// The content type, judged by the file's first bytes and never by its name.
pub fn sniff_content_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// Stores bytes under `DATA_DIR/blobs/ab/abcdef…` by their SHA-256; the client never picks a
/// path. Returns the hex digest.
pub fn store_blob(data_dir: &Path, bytes: &[u8]) -> std::io::Result<String> {
    let digest = hex::encode(Sha256::digest(bytes));
    let dir = data_dir.join("blobs").join(&digest[..2]);
    let path = dir.join(&digest);
    if !path.exists() {
        std::fs::create_dir_all(&dir)?;
        // Write then rename, so a crash never leaves a truncated blob under its final name.
        let tmp = dir.join(format!("{digest}.tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(digest)
}

pub fn blob_path(data_dir: &Path, sha256: &str) -> Option<std::path::PathBuf> {
    (sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| data_dir.join("blobs").join(&sha256[..2]).join(sha256))
}

pub struct Upload<'a> {
    pub claim_id: i64,
    pub kind: &'a str,
    pub filename: &'a str,
    pub bytes: &'a [u8],
    pub now_ms: i64,
}

/// Adds a document to a claim: checks kind, type and access, stores the blob, records it
/// with an audit event on the claim's case.
pub fn add_document(
    conn: &mut DbConn,
    data_dir: &Path,
    p: &Principal,
    up: &Upload<'_>,
) -> AppResult<DocumentRow> {
    if document_kind(up.kind).is_none() {
        return Err(AppError::field(
            "kind",
            format!("unknown document kind `{}`", up.kind),
        ));
    }
    let content_type = sniff_content_type(up.bytes).ok_or_else(|| {
        AppError::UnsupportedMedia(
            "the file is not a PDF, JPEG or PNG (checked by its content, not its name)".into(),
        )
    })?;
    let filename: String = up
        .filename
        .chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .take(MAX_FILENAME)
        .collect();
    conn.write_tx(|conn| {
        let case = case_store::for_subject(conn, "claim", up.claim_id)?.ok_or_else(|| AppError::NotFound(format!("claim {}", up.claim_id)))?;
        cases::ensure_can_see(p, &case)?;
        if !(case.owner_user_id == Some(p.user_id) || p.has(Role::Clerk) || p.has(Role::Reviewer) || p.has(Role::SeniorReviewer)) {
            return Err(AppError::Forbidden("only the resident, a clerk or a reviewer may add documents".into()));
        }
        if case.stage.is_none() {
            return Err(AppError::Conflict(format!("case {} is closed", case.id)));
        }
        let sha = store_blob(data_dir, up.bytes).map_err(|e| anyhow::anyhow!("cannot store upload: {e}"))?;
        let doc_id = claim_store::insert_document(
            conn,
            &NewDocument {
                claim_id: up.claim_id,
                kind: up.kind,
                sha256: &sha,
                content_type,
                size_bytes: up.bytes.len() as i64,
                filename: &filename,
                status: "present",
                uploaded_by: p.user_id,
                uploaded_at: up.now_ms,
            },
        )?;
        let new_value = serde_json::json!({ "document_id": doc_id, "kind": up.kind, "sha256": sha, "size": up.bytes.len() }).to_string();
        let role = if case.owner_user_id == Some(p.user_id) { "resident" } else { p.roles.iter().find(|r| r.is_staff()).map_or("resident", |r| r.as_str()) };
        audit::append(
            conn,
            case.id,
            &EventDraft {
                at_ms: up.now_ms,
                actor_id: Some(p.user_id),
                actor_name: &p.username,
                role,
                action: "document_added",
                from_stage: None,
                to_stage: None,
                old_value: "{}",
                new_value: &new_value,
                comment: "",
                public: true,
            },
        )?;
        claim_store::document(conn, up.claim_id, doc_id)?.ok_or_else(|| AppError::NotFound("document".into()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ClaimInput {
        ClaimInput {
            family: "trauma".into(),
            resident_id: None,
            encounter_kind: "inpatient".into(),
            facility_code: "H330326001".into(),
            admission_date: "2026-03-01".into(),
            discharge_date: "2026-03-08".into(),
            diagnosis_code: "S72.001".into(),
            invoice_numbers: vec!["INV-1".into()],
            total_fen: 1_000_000,
            policy_scope_fen: 800_000,
            self_paid_fen: 200_000,
            facts: FamilyFacts::default(),
        }
    }

    #[test]
    fn names_every_bad_field() {
        assert!(validate(&input()).is_ok());
        let bad = ClaimInput {
            total_fen: -1,
            discharge_date: "2026-02-01".into(),
            diagnosis_code: "fracture".into(),
            ..input()
        };
        let fields: Vec<String> = validate(&bad)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert!(fields.contains(&"total_fen".to_string()), "{fields:?}");
        assert!(fields.contains(&"discharge_date".to_string()));
        assert!(fields.contains(&"diagnosis_code".to_string()));
    }

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(sniff_content_type(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(sniff_content_type(b"MZ\x90\x00 windows exe"), None);
        assert!(is_icd10("S72") && is_icd10("S72.001") && !is_icd10("S7") && !is_icd10("S72."));
    }
}
