//! Claim intake and documents. Validation names every bad field; the claim, its case and the
//! first audit event are written in one transaction.
use super::cases::{self, OpenCase};
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::documents::document_kind;
use crate::domain::eligibility::{self, Eligibility, Enrolment};
use crate::domain::facility;
use crate::domain::facility::StatusChange;
use crate::domain::person::IdNumber;
use crate::domain::policy::{calculate, Breakdown, CalcRequest, YearToDate};
use crate::domain::roles::Role;
use crate::domain::screening::{Hit, HitAction, OutlierScore};
use crate::domain::workflow::{CaseFacts, Workflow};
use crate::error::{AppError, AppResult, FieldError};
use crate::service::notify::Letter;
use crate::service::Env;
use crate::store::audit::{self, EventDraft};
use crate::store::claims::{
    self as claim_store, ClaimRow, DocumentRow, NewClaim, NewDocument, NewInvoice,
};
use crate::store::facilities::{self, Facility};
use crate::store::findings::{self as findings_store, NewFinding};
use crate::store::persons::{self, Person};
use crate::store::regions::Region;
use crate::store::screening::StayRow;
use crate::store::{self, cases as case_store, regions, DbConn, IdTable};
use chrono::Datelike;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

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
    /// Special outpatient disease code (e.g. `dialysis`), paid as inpatient where listed.
    pub special_disease: Option<String>,
    pub maternity_high_risk: bool,
    /// Outpatient costs settled in real time at the facility.
    pub settled_in_real_time: bool,
    /// Outpatient at a county hospital on a primary-care referral.
    pub primary_referral: bool,
    /// A reviewer's judgement whether the care was an emergency (restores the ratio when
    /// filing or referral was missing). Unset: the emergency explanation decides.
    pub judged_emergency: Option<bool>,
    /// Days of medicine given on discharge (出院带药), checked against the acute or chronic
    /// limit by the screening rules.
    pub discharge_medicine_days: Option<u32>,
    /// The condition treated is chronic (the longer discharge-medicine limit applies).
    pub chronic_condition: bool,
}

impl FamilyFacts {
    pub fn is_emergency(&self) -> bool {
        self.judged_emergency.unwrap_or(self.emergency.is_some())
    }
}

/// One line of an itemised bill.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemLine {
    pub code: String,
    pub name: String,
    pub quantity: u32,
    pub total_fen: i64,
    pub in_policy_scope: bool,
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
    /// The insured person's ID number (GB 11643). Required when a clerk files on a
    /// resident's behalf; residents file for the person linked to their account.
    #[serde(default)]
    pub id_number: Option<String>,
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
    #[serde(default)]
    pub itemised_lines: Vec<ItemLine>,
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
    let date = crate::domain::dates::parse_iso_date;
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
    if let Some(id) = &input.id_number {
        if let Err(e) = IdNumber::parse(id) {
            bad("id_number", e);
        }
    }
    for (i, line) in input.itemised_lines.iter().enumerate() {
        if line.total_fen < 0 {
            bad(
                &format!("itemised_lines[{i}].total_fen"),
                "must not be negative".into(),
            );
        }
    }
    if !input.itemised_lines.is_empty() {
        let sum: i64 = input.itemised_lines.iter().map(|l| l.total_fen).sum();
        if sum != input.total_fen {
            bad(
                "itemised_lines",
                format!(
                    "lines add up to {sum} fen but total_fen is {}",
                    input.total_fen
                ),
            );
        }
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
        emergency: family.is_emergency(),
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
    /// True when an earlier request with the same Idempotency-Key created it.
    pub replayed: bool,
}

fn request_hash(input: &ClaimInput) -> AppResult<String> {
    let body = serde_json::to_vec(input).map_err(anyhow::Error::from)?;
    Ok(hex::encode(Sha256::digest(&body)))
}

/// Everything intake and decisions need to price and check a claim.
pub struct ClaimContext {
    pub person: Person,
    pub person_region_path: String,
    pub facility: Facility,
    pub facility_region_path: String,
    /// The facility's designation history.
    pub history: Vec<StatusChange>,
}

/// How many persons (with their enrolments) an import keeps memoised at most.
const PERSON_MEMO_CAP: usize = 50_000;

/// Definitions reads an intake needs, memoised. A request uses a fresh one; an import keeps
/// one for the whole file, since registries do not change while claims are imported.
#[derive(Default)]
pub struct Lookups {
    persons: HashMap<String, Option<Person>>,
    enrolments: HashMap<i64, Vec<Enrolment>>,
    facilities: HashMap<String, Option<(Facility, Vec<StatusChange>)>>,
    regions: HashMap<String, Option<Region>>,
    /// Invoices of claims planned in this batch but not yet written, which the duplicate
    /// check must see as if they were.
    pending_invoices: HashMap<String, Vec<(i64, String, Option<i64>)>>,
    /// Stays of claims planned in this batch, by person, for the pair rules.
    pending_stays: HashMap<i64, Vec<StayRow>>,
    /// Stored outlier scores by facility.
    scores: HashMap<String, Option<OutlierScore>>,
}

impl Lookups {
    /// Records a planned claim's invoices for the duplicate checks of the plans after it.
    pub fn note_pending(&mut self, plan: &IntakePlan) {
        for invoice in &plan.invoices {
            self.pending_invoices
                .entry(invoice.clone())
                .or_default()
                .push((
                    plan.claim.id,
                    plan.claim.facility_code.clone(),
                    plan.claim.person_id,
                ));
        }
        if let Some(person_id) = plan.claim.person_id {
            let c = &plan.claim;
            self.pending_stays
                .entry(person_id)
                .or_default()
                .push(StayRow {
                    id: c.id,
                    person_id: c.person_id,
                    facility_code: c.facility_code.clone(),
                    encounter_kind: c.encounter_kind.clone(),
                    admission_date: c.admission_date.clone(),
                    discharge_date: c.discharge_date.clone(),
                    family: c.family.clone(),
                    diagnosis_code: c.diagnosis_code.clone(),
                    family_facts: String::new(),
                    total_fen: c.total_fen,
                    invoice_numbers: String::new(),
                });
        }
    }

    /// Stays of this person's claims planned in the batch and not yet written.
    pub fn pending_stays(&self, person_id: i64) -> &[StayRow] {
        self.pending_stays
            .get(&person_id)
            .map_or(&[], Vec::as_slice)
    }

    /// The facility's stored outlier score.
    pub fn score(&mut self, conn: &mut DbConn, facility: &str) -> AppResult<Option<&OutlierScore>> {
        if !self.scores.contains_key(facility) {
            let score = crate::store::screening::score_for(conn, facility)?;
            self.scores.insert(facility.to_string(), score);
        }
        Ok(self.scores.get(facility).and_then(Option::as_ref))
    }

    /// The pending claims are written: the database answers for them from now on.
    pub fn clear_pending(&mut self) {
        self.pending_invoices.clear();
        self.pending_stays.clear();
    }

    pub fn person(&mut self, conn: &mut DbConn, id_number: &str) -> AppResult<Option<Person>> {
        if let Some(p) = self.persons.get(id_number) {
            return Ok(p.clone());
        }
        // Persons are many, and a file names each only a few times: past the cap the memo
        // starts over, so that an import's memory stays flat in the number of persons
        // (1,000,000 claims over 250,000 persons peaked at 357 MB with an unbounded memo).
        if self.persons.len() >= PERSON_MEMO_CAP {
            self.persons.clear();
            self.enrolments.clear();
        }
        let p = persons::by_id_number(conn, id_number)?;
        self.persons.insert(id_number.to_string(), p.clone());
        Ok(p)
    }

    pub fn enrolments(&mut self, conn: &mut DbConn, person_id: i64) -> AppResult<&[Enrolment]> {
        let rows = match self.enrolments.entry(person_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(
                persons::enrolments_of(conn, person_id)?
                    .iter()
                    .filter_map(|e| e.to_domain())
                    .collect(),
            ),
        };
        Ok(rows.as_slice())
    }

    pub fn facility(
        &mut self,
        conn: &mut DbConn,
        code: &str,
    ) -> AppResult<Option<&(Facility, Vec<StatusChange>)>> {
        if !self.facilities.contains_key(code) {
            let f = match facilities::get(conn, code)? {
                Some(f) => Some((f, facilities::to_changes(&facilities::history(conn, code)?))),
                None => None,
            };
            self.facilities.insert(code.to_string(), f);
        }
        Ok(self.facilities.get(code).and_then(Option::as_ref))
    }

    pub fn region(&mut self, conn: &mut DbConn, code: &str) -> AppResult<Region> {
        if !self.regions.contains_key(code) {
            let r = regions::get(conn, code)?;
            self.regions.insert(code.to_string(), r);
        }
        self.regions
            .get(code)
            .and_then(Clone::clone)
            .ok_or_else(|| AppError::NotFound(format!("region {code}")))
    }
}

pub fn context(conn: &mut DbConn, claim: &ClaimRow) -> AppResult<Option<ClaimContext>> {
    let Some(person_id) = claim.person_id else {
        return Ok(None);
    };
    let person = persons::get(conn, person_id)?
        .ok_or_else(|| AppError::NotFound(format!("person {person_id}")))?;
    context_for(conn, &mut Lookups::default(), person, &claim.facility_code).map(Some)
}

fn context_for(
    conn: &mut DbConn,
    lookups: &mut Lookups,
    person: Person,
    facility_code: &str,
) -> AppResult<ClaimContext> {
    let (facility, history) = lookups
        .facility(conn, facility_code)?
        .cloned()
        .ok_or_else(|| {
            AppError::field(
                "facility_code",
                format!("unknown facility `{facility_code}`"),
            )
        })?;
    let person_region_path = lookups.region(conn, &person.region_code)?.path;
    let facility_region_path = lookups.region(conn, &facility.region_code)?.path;
    Ok(ClaimContext {
        person,
        person_region_path,
        facility,
        facility_region_path,
        history,
    })
}

pub(crate) fn date(s: &str) -> Option<NaiveDate> {
    crate::domain::dates::parse_iso_date(s)
}

/// The calculator's request for a claim, given what was paid this year.
pub fn calc_request(
    claim: &ClaimRow,
    ctx: &ClaimContext,
    docs: &[DocumentRow],
    tier: u8,
    ytd: YearToDate,
) -> CalcRequest {
    let facts: FamilyFacts = serde_json::from_str(&claim.family_facts).unwrap_or_default();
    let admission = date(&claim.admission_date);
    let age = match (admission, date(&ctx.person.birth_date)) {
        (Some(a), Some(b)) => a.years_since(b),
        _ => None,
    };
    CalcRequest {
        family: Some(claim.family.clone()),
        encounter_kind: claim.encounter_kind.clone(),
        facility_category: facility::category(
            &ctx.facility.level,
            &ctx.facility_region_path,
            &ctx.person_region_path,
        )
        .into(),
        facility_code: Some(claim.facility_code.clone()),
        tier,
        total_fen: claim.total_fen,
        policy_scope_fen: claim.policy_scope_fen,
        filed: facts.filed,
        referral: facts.referral,
        emergency: facts.is_emergency(),
        special_disease: facts.special_disease,
        maternity_high_risk: facts.maternity_high_risk,
        settled_in_real_time: facts.settled_in_real_time,
        primary_referral: facts.primary_referral,
        trauma_approval_form: docs
            .iter()
            .any(|d| d.kind == "accident_injury_approval" && d.status == "present"),
        item: None,
        units: 1,
        age,
        ytd,
    }
}

/// How a claim is priced: which policy and year, and the person's eligibility.
pub struct Pricing {
    pub policy: String,
    pub year: i32,
    pub eligibility: Eligibility,
}

/// Coverage on the claim's service date (its admission date).
pub fn eligibility_of(
    conn: &mut DbConn,
    lookups: &mut Lookups,
    claim: &ClaimRow,
    ctx: &ClaimContext,
) -> AppResult<Option<Eligibility>> {
    let (Some(service_date), Some(birth)) =
        (date(&claim.admission_date), date(&ctx.person.birth_date))
    else {
        return Ok(None);
    };
    let enrolments = lookups.enrolments(conn, ctx.person.id)?;
    Ok(Some(eligibility::check(
        enrolments,
        birth,
        ctx.person.death_date.as_deref().and_then(date),
        service_date,
    )))
}

fn service_end(claim: &ClaimRow) -> NaiveDate {
    date(&claim.discharge_date)
        .or_else(|| date(&claim.admission_date))
        .unwrap_or_default()
}

/// An invoice number and the other claims that carry it: (claim, facility, person).
pub type InvoiceUses = (String, Vec<(i64, String, Option<i64>)>);

/// Intake checks (handbook §3-6) and the screening hits, each a finding on the case. Pure:
/// the caller supplies the eligibility and the hits.
pub fn intake_findings(
    defs: &Definitions,
    claim: &ClaimRow,
    ctx: &ClaimContext,
    workflow: &Workflow,
    eligibility: Option<&Eligibility>,
    hits: &[Hit],
) -> Vec<NewFinding> {
    let mut findings = Vec::new();
    if let Some(e) = eligibility.filter(|e| !e.covered) {
        findings.push(NewFinding { code: "not_eligible", severity: "error", zh: e.zh.clone(), en: e.en.clone(), evidence: json!({ "reason": e.code, "service_date": claim.admission_date, "covered_from": e.covered_from }) });
    }
    for hit in hits {
        let investigate = defs
            .screening()
            .info(hit.code)
            .is_some_and(|r| r.action == HitAction::Investigate);
        findings.push(NewFinding {
            code: hit.code.as_str(),
            severity: if investigate { "error" } else { "warning" },
            zh: hit.zh.clone(),
            en: hit.en.clone(),
            evidence: hit.evidence.clone(),
        });
    }
    let facts = facts(claim, &[], workflow);
    let missing: Vec<&str> = workflow.required_documents(&facts);
    if !missing.is_empty() {
        findings.push(NewFinding {
            code: "documents_missing",
            severity: "info",
            zh: format!("受理时缺少材料 {} 项，补齐前不能通过受理", missing.len()),
            en: format!(
                "{} required documents were missing at submission; intake waits for them",
                missing.len()
            ),
            evidence: json!({ "missing": missing }),
        });
    }
    let policy = defs.policy_for(&ctx.person_region_path, service_end(claim));
    let family: FamilyFacts = serde_json::from_str(&claim.family_facts).unwrap_or_default();
    if claim.encounter_kind == "outpatient" && !family.settled_in_real_time {
        if let Some(p) = policy.filter(|p| p.outpatient.as_ref().is_some_and(|o| o.real_time_only))
        {
            findings.push(NewFinding {
                code: "outpatient_not_real_time",
                severity: "warning",
                zh: "未实时结算的门诊费用原则上不予支付".into(),
                en: "Outpatient costs not settled in real time are in principle not paid".into(),
                evidence: json!({ "policy": p.name }),
            });
        }
    }
    if policy.is_none() {
        findings.push(NewFinding {
            code: "no_policy",
            severity: "warning",
            zh: "参保地在就诊日期没有适用的待遇政策".into(),
            en: "No benefit policy applies to the insured's region on the service date".into(),
            evidence: json!({ "region": ctx.person.region_code, "date": claim.discharge_date }),
        });
    }
    findings
}

/// Prices a claim against the person's year-to-date totals (read, or locked for update).
pub fn price(
    conn: &mut DbConn,
    defs: &Definitions,
    lookups: &mut Lookups,
    claim: &ClaimRow,
    ctx: &ClaimContext,
    docs: &[DocumentRow],
    lock: bool,
) -> AppResult<Option<(Pricing, Breakdown)>> {
    let Some(eligibility) = eligibility_of(conn, lookups, claim, ctx)? else {
        return Ok(None);
    };
    let end = service_end(claim);
    let Some(policy) = defs.policy_for(&ctx.person_region_path, end) else {
        return Ok(None);
    };
    let pricing = Pricing {
        policy: policy.name.clone(),
        year: end.year(),
        eligibility,
    };
    let ytd = if lock {
        claim_store::ytd_for_update(conn, ctx.person.id, &pricing.policy, pricing.year)?
    } else {
        claim_store::ytd_read(conn, ctx.person.id, &pricing.policy, pricing.year)?
    };
    let req = calc_request(claim, ctx, docs, pricing.eligibility.tier, ytd);
    let breakdown = calculate(policy, &req)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("pricing claim {}: {e}", claim.id)))?;
    Ok(Some((pricing, breakdown)))
}

pub fn submit(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    input: &ClaimInput,
    idempotency_key: Option<&str>,
    now_ms: i64,
) -> AppResult<Submitted> {
    let role = p.require_any(&[Role::Resident, Role::Clerk])?;
    validate(input).map_err(AppError::Validation)?;
    if let Some(key) = idempotency_key {
        if key.is_empty() || key.len() > 200 {
            return Err(AppError::field(
                "Idempotency-Key",
                "must be 1 to 200 characters",
            ));
        }
    }
    let hash = request_hash(input)?;
    let workflow = env.defs.latest(&input.family).ok_or_else(|| {
        AppError::field(
            "family",
            format!("no published workflow for `{}`", input.family),
        )
    })?;
    conn.write_tx(|conn| {
        if let Some(key) = idempotency_key {
            if let Some((seen_hash, claim_id, case_id)) =
                claim_store::idempotent(conn, p.user_id, key)?
            {
                return if seen_hash == hash {
                    Ok(Submitted {
                        claim_id,
                        case_id,
                        replayed: true,
                    })
                } else {
                    Err(AppError::Conflict(
                        "this Idempotency-Key was used with a different request body".into(),
                    ))
                };
            }
        }
        let done = intake(
            conn,
            env.defs,
            &mut Lookups::default(),
            p,
            role,
            input,
            &workflow,
            now_ms,
        )?;
        // Submissions through the API tell the resident; bulk imports of old paper claims
        // do not (they go through `intake` without this).
        let case = crate::service::cases::load(conn, done.case_id)?;
        crate::service::notify::to_resident(
            conn,
            env,
            &case,
            Letter {
                template: "claim_received",
                dedupe: "",
                extra: serde_json::json!({}),
            },
            now_ms,
        )?;
        crate::service::assignment::auto_assign(conn, env, done.case_id, now_ms)?;
        if let Some(key) = idempotency_key {
            claim_store::remember_idempotent(
                conn,
                p.user_id,
                key,
                &hash,
                done.claim_id,
                done.case_id,
                now_ms,
            )?;
        }
        Ok(done)
    })
}

/// A claim with every read and check done and nothing written yet: what
/// [`write_intake`] stores. Splitting the two lets a bulk import reject a row before it
/// writes anything, so it needs no savepoint per row.
pub struct IntakePlan {
    /// Its id is 0 until [`IntakePlan::assign_ids`].
    pub claim: ClaimRow,
    pub case_id: i64,
    pub invoices: Vec<String>,
    /// Earlier claims carrying each invoice number.
    pub duplicates: Vec<InvoiceUses>,
    region: Region,
    owner_user_id: Option<i64>,
    role: Role,
    workflow: Arc<Workflow>,
    screening_hits: i64,
    findings: Vec<NewFinding>,
}

impl IntakePlan {
    /// Gives the claim and its case the ids they will be written under (reserved with
    /// [`crate::store::reserve_ids`]).
    pub fn assign_ids(&mut self, claim_id: i64, case_id: i64) {
        self.claim.id = claim_id;
        self.case_id = case_id;
    }
}

/// The intake path inside the caller's transaction: person, facility, pricing, the claim
/// and its invoices, the case with its first event, and the intake findings. The input must
/// have passed [`validate`].
#[allow(clippy::too_many_arguments)]
pub fn intake(
    conn: &mut DbConn,
    defs: &Definitions,
    lookups: &mut Lookups,
    p: &Principal,
    role: Role,
    input: &ClaimInput,
    workflow: &Arc<Workflow>,
    now_ms: i64,
) -> AppResult<Submitted> {
    let mut plan = plan_intake(conn, defs, lookups, p, role, input, workflow, now_ms)?;
    let claim_id = store::reserve_ids(conn, IdTable::Claims, 1)?[0];
    let case_id = store::reserve_ids(conn, IdTable::Cases, 1)?[0];
    plan.assign_ids(claim_id, case_id);
    let submitted = Submitted {
        claim_id,
        case_id,
        replayed: false,
    };
    write_intakes(conn, defs, p, &[plan], now_ms)?;
    Ok(submitted)
}

/// The reading half of intake: who, where, eligibility, the price, duplicates, findings.
#[allow(clippy::too_many_arguments)]
pub fn plan_intake(
    conn: &mut DbConn,
    defs: &Definitions,
    lookups: &mut Lookups,
    p: &Principal,
    role: Role,
    input: &ClaimInput,
    workflow: &Arc<Workflow>,
    now_ms: i64,
) -> AppResult<IntakePlan> {
    let person = match role {
        Role::Resident => persons::by_user(conn, p.user_id)?.ok_or_else(|| {
            AppError::field(
                "id_number",
                "your account is not linked to an insured person; ask the service counter",
            )
        })?,
        _ => {
            let id = input.id_number.as_deref().ok_or_else(|| {
                AppError::field(
                    "id_number",
                    "a clerk must give the insured person's ID number",
                )
            })?;
            let id = IdNumber::parse(id).map_err(|e| AppError::field("id_number", e))?;
            lookups.person(conn, id.as_str())?.ok_or_else(|| {
                AppError::field("id_number", "no insured person has this ID number")
            })?
        }
    };
    let region = lookups.region(conn, &person.region_code)?;
    if role == Role::Clerk && !p.covers_region(&region.path) {
        return Err(AppError::Forbidden(
            "the insured person is registered outside your region".into(),
        ));
    }
    let ctx = context_for(conn, lookups, person, input.facility_code.trim())?;
    let mut claim = ClaimRow {
        id: 0,
        resident_user_id: ctx.person.user_id,
        submitted_by: p.user_id,
        family: input.family.clone(),
        encounter_kind: input.encounter_kind.clone(),
        facility_code: ctx.facility.code.clone(),
        admission_date: input.admission_date.clone(),
        discharge_date: input.discharge_date.clone(),
        diagnosis_code: input.diagnosis_code.clone(),
        invoice_numbers: serde_json::to_string(&input.invoice_numbers)
            .map_err(anyhow::Error::from)?,
        total_fen: input.total_fen,
        policy_scope_fen: input.policy_scope_fen,
        self_paid_fen: input.self_paid_fen,
        family_facts: serde_json::to_string(&input.facts).map_err(anyhow::Error::from)?,
        region_code: region.code.clone(),
        payable_fen: None,
        decided_fen: None,
        created_at: now_ms,
        person_id: Some(ctx.person.id),
        policy_name: None,
        breakdown: None,
        decision: None,
        itemised_lines: serde_json::to_string(&input.itemised_lines)
            .map_err(anyhow::Error::from)?,
    };
    let eligibility = eligibility_of(conn, lookups, &claim, &ctx)?;
    if let Some((pricing, breakdown)) = price(conn, defs, lookups, &claim, &ctx, &[], false)? {
        claim.policy_name = Some(pricing.policy);
        claim.payable_fen = Some(breakdown.payable_fen);
        claim.breakdown = Some(serde_json::to_string(&breakdown).map_err(anyhow::Error::from)?);
    }
    let mut duplicates = Vec::with_capacity(input.invoice_numbers.len());
    for invoice in &input.invoice_numbers {
        let mut uses = claim_store::claims_with_invoice(conn, invoice, 0)?;
        if let Some(pending) = lookups.pending_invoices.get(invoice) {
            uses.extend(pending.iter().cloned());
        }
        duplicates.push((invoice.clone(), uses));
    }
    let hits = super::screening::at_intake(conn, defs, lookups, &claim, &ctx, input, &duplicates)?;
    let findings = intake_findings(defs, &claim, &ctx, workflow, eligibility.as_ref(), &hits);
    // A hit that calls for investigation routes the claim there instead of the normal review.
    let workflow = match defs.screening().investigates(&hits) {
        true => defs
            .latest(super::screening::INVESTIGATION)
            .unwrap_or_else(|| {
                tracing::warn!(
                    "workflow `{}` is not published; the suspect claim goes to normal review",
                    super::screening::INVESTIGATION
                );
                workflow.clone()
            }),
        false => workflow.clone(),
    };
    Ok(IntakePlan {
        claim,
        case_id: 0,
        invoices: input.invoice_numbers.clone(),
        duplicates,
        region,
        owner_user_id: ctx.person.user_id,
        role,
        workflow,
        screening_hits: hits.len() as i64,
        findings,
    })
}

/// The writing half of intake for plans with their ids assigned: the claims, their
/// invoices, the cases with their first events and the findings, each as multi-row
/// statements. Fails only if the database does.
pub fn write_intakes(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    plans: &[IntakePlan],
    now_ms: i64,
) -> AppResult<()> {
    let claims: Vec<NewClaim<'_>> = plans
        .iter()
        .map(|plan| {
            let claim = &plan.claim;
            debug_assert!(claim.id > 0 && plan.case_id > 0, "ids not assigned");
            NewClaim {
                id: claim.id,
                resident_user_id: claim.resident_user_id,
                submitted_by: claim.submitted_by,
                family: &claim.family,
                encounter_kind: &claim.encounter_kind,
                facility_code: &claim.facility_code,
                admission_date: &claim.admission_date,
                discharge_date: &claim.discharge_date,
                diagnosis_code: &claim.diagnosis_code,
                invoice_numbers: &claim.invoice_numbers,
                total_fen: claim.total_fen,
                policy_scope_fen: claim.policy_scope_fen,
                self_paid_fen: claim.self_paid_fen,
                family_facts: &claim.family_facts,
                region_code: &claim.region_code,
                created_at: now_ms,
                person_id: claim.person_id,
                policy_name: claim.policy_name.as_deref(),
                payable_fen: claim.payable_fen,
                breakdown: claim.breakdown.as_deref(),
                itemised_lines: &claim.itemised_lines,
            }
        })
        .collect();
    claim_store::insert_all(conn, &claims)?;
    let invoices: Vec<NewInvoice<'_>> = plans
        .iter()
        .flat_map(|plan| {
            plan.invoices.iter().map(|number| NewInvoice {
                invoice_number: number,
                facility_code: &plan.claim.facility_code,
                claim_id: plan.claim.id,
                person_id: plan.claim.person_id,
            })
        })
        .collect();
    claim_store::insert_invoices(conn, &invoices)?;
    let case_facts: Vec<CaseFacts> = plans
        .iter()
        .map(|plan| CaseFacts {
            screening_hits: plan.screening_hits,
            ..facts(&plan.claim, &[], &plan.workflow)
        })
        .collect();
    let opens: Vec<OpenCase<'_>> = plans
        .iter()
        .zip(&case_facts)
        .map(|(plan, case_facts)| OpenCase {
            calendar: defs.calendar_for(&plan.region.path),
            subject_kind: "claim",
            subject_id: plan.claim.id,
            workflow: &plan.workflow,
            region: &plan.region,
            org: &p.org,
            owner_user_id: plan.owner_user_id,
            facts: case_facts,
            actor: p,
            actor_role: plan.role,
            now_ms,
        })
        .collect();
    let with_ids: Vec<(i64, &OpenCase<'_>)> = plans
        .iter()
        .zip(&opens)
        .map(|(plan, open)| (plan.case_id, open))
        .collect();
    crate::service::cases::open_all(conn, &with_ids)?;
    findings_store::insert_all(
        conn,
        plans
            .iter()
            .flat_map(|plan| plan.findings.iter().map(|f| (plan.case_id, f))),
        now_ms,
    )?;
    Ok(())
}

pub const MAX_FILENAME: usize = 200;

/// An uploaded file's name as shown back to people: no control characters or path
/// separators, at most [`MAX_FILENAME`] characters. Storage never uses it as a path.
pub fn safe_filename(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .take(MAX_FILENAME)
        .collect()
}

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
    let filename = safe_filename(up.filename);
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

/// A reviewer or clerk marks a document unusable; the checklist then shows it as rejected
/// with the reason, and the resident sees what to replace.
pub fn reject_document(
    conn: &mut DbConn,
    p: &Principal,
    claim_id: i64,
    doc_id: i64,
    reason: &str,
    now_ms: i64,
) -> AppResult<DocumentRow> {
    p.require_any(&[
        Role::Clerk,
        Role::Reviewer,
        Role::SeniorReviewer,
        Role::Supervisor,
    ])?;
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 500 {
        return Err(AppError::field("reason", "give a reason of 1 to 500 bytes"));
    }
    conn.write_tx(|conn| {
        let case = case_store::for_subject(conn, "claim", claim_id)?.ok_or_else(|| AppError::NotFound(format!("claim {claim_id}")))?;
        cases::ensure_can_see(p, &case)?;
        let doc = claim_store::document(conn, claim_id, doc_id)?.ok_or_else(|| AppError::NotFound(format!("document {doc_id}")))?;
        claim_store::reject_document(conn, claim_id, doc_id, reason)?;
        let role = p.roles.iter().find(|r| r.is_staff()).map_or("clerk", |r| r.as_str());
        let old_value = json!({ "document_id": doc_id, "kind": doc.kind, "status": doc.status }).to_string();
        let new_value = json!({ "document_id": doc_id, "kind": doc.kind, "status": "rejected", "reason": reason }).to_string();
        audit::append(
            conn,
            case.id,
            &EventDraft {
                at_ms: now_ms,
                actor_id: Some(p.user_id),
                actor_name: &p.username,
                role,
                action: "document_rejected",
                from_stage: None,
                to_stage: None,
                old_value: &old_value,
                new_value: &new_value,
                comment: reason,
                public: true,
            },
        )?;
        claim_store::document(conn, claim_id, doc_id)?.ok_or_else(|| AppError::NotFound("document".into()))
    })
}

/// Records a reviewer's emergency judgement on a claim and prices it again.
pub fn judge_emergency(
    conn: &mut DbConn,
    defs: &Definitions,
    claim_id: i64,
    emergency: bool,
) -> AppResult<()> {
    let mut claim = claim_store::get(conn, claim_id)?
        .ok_or_else(|| AppError::NotFound(format!("claim {claim_id}")))?;
    let mut facts: FamilyFacts = serde_json::from_str(&claim.family_facts).unwrap_or_default();
    facts.judged_emergency = Some(emergency);
    claim.family_facts = serde_json::to_string(&facts).map_err(anyhow::Error::from)?;
    claim_store::set_family_facts(conn, claim_id, &claim.family_facts)?;
    if let Some(ctx) = context(conn, &claim)? {
        let docs = claim_store::documents(conn, claim_id)?;
        if let Some((pricing, breakdown)) = price(
            conn,
            defs,
            &mut Lookups::default(),
            &claim,
            &ctx,
            &docs,
            false,
        )? {
            let text = serde_json::to_string(&breakdown).map_err(anyhow::Error::from)?;
            claim_store::set_assessment(
                conn,
                claim_id,
                Some(&pricing.policy),
                Some(breakdown.payable_fen),
                Some(&text),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ClaimInput {
        ClaimInput {
            family: "trauma".into(),
            id_number: None,
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
            itemised_lines: vec![],
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
