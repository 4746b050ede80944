//! Pricing a claim: who and where (the insured person, the facility and its designation
//! history, both regions), coverage on the service date, and the benefit breakdown against
//! the person's year-to-date totals under the policy of their region and year.
use super::lookups::{Direct, RegistryReads};
use crate::definitions::Definitions;
use crate::domain::claim::Claim;
use crate::domain::eligibility::{self, Eligibility, Enrolment};
use crate::domain::facility::{self, StatusChange};
use crate::domain::policy::{calculate_decided, stay_terms, Breakdown, CalcRequest, YearToDate};
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::store::claims::{self as claim_store, ClaimRecord, DocumentRow};
use crate::store::facilities::Facility;
use crate::store::persons::{self, Person};
use crate::store::DbConn;
use chrono::NaiveDate;

/// Everything intake and decisions need to price and check a claim.
pub struct ClaimContext {
    pub person: Person,
    pub person_region_path: String,
    pub facility: Facility,
    pub facility_region_path: String,
    /// The facility's designation history.
    pub history: Vec<StatusChange>,
}

/// The context of a claim for this person at this facility.
pub fn context(
    conn: &mut DbConn,
    reads: &mut dyn RegistryReads,
    person: Person,
    facility_code: &str,
) -> AppResult<ClaimContext> {
    let (facility, history) = reads.facility(conn, facility_code)?.ok_or_else(|| {
        AppError::field(
            "facility_code",
            Msg::new("field-unknown-facility").text("code", facility_code),
        )
    })?;
    let person_region_path = reads.region(conn, &person.region_code)?.path;
    let facility_region_path = reads.region(conn, &facility.region_code)?.path;
    Ok(ClaimContext {
        person,
        person_region_path,
        facility,
        facility_region_path,
        history,
    })
}

/// The context of a stored claim; `None` when it names no insured person.
pub fn context_of(conn: &mut DbConn, record: &ClaimRecord) -> AppResult<Option<ClaimContext>> {
    let Some(person_id) = record.person_id else {
        return Ok(None);
    };
    let person = persons::get(conn, person_id)?
        .ok_or_else(|| AppError::NotFound(format!("person {person_id}")))?;
    context(conn, &mut Direct, person, &record.claim.facility_code).map(Some)
}

fn date(s: &str) -> Option<NaiveDate> {
    crate::domain::dates::parse_iso_date(s)
}

/// The calculator's request for a claim, given what was paid this year.
pub fn calc_request(
    claim: &Claim,
    ctx: &ClaimContext,
    docs: &[DocumentRow],
    tier: u8,
    ytd: YearToDate,
    groups: Vec<String>,
) -> CalcRequest {
    let category = facility::category(
        &ctx.facility.level,
        &ctx.facility_region_path,
        &ctx.person_region_path,
    );
    let approval = docs
        .iter()
        .any(|d| d.kind == "accident_injury_approval" && d.status == "present");
    let mut req = request_of(
        claim,
        category,
        &ctx.person.birth_date,
        approval,
        tier,
        groups,
    );
    req.ytd = ytd;
    req
}

/// The calculator's request for a claim from its parts (the what-if replay builds it from
/// pages of claims, without a context per claim), with zero year-to-date totals.
pub fn request_of(
    claim: &Claim,
    facility_category: &str,
    birth_date: &str,
    trauma_approval_form: bool,
    tier: u8,
    groups: Vec<String>,
) -> CalcRequest {
    let facts = &claim.facts;
    CalcRequest {
        family: Some(claim.family.as_str().to_string()),
        encounter_kind: claim.encounter_kind.as_str().to_string(),
        facility_category: facility_category.into(),
        facility_code: Some(claim.facility_code.clone()),
        tier,
        total_fen: claim.total_fen.0,
        policy_scope_fen: claim.policy_scope_fen.0,
        filed: facts.filed,
        referral: facts.referral,
        emergency: facts.is_emergency(),
        special_disease: facts.special_disease.clone(),
        maternity_high_risk: facts.maternity_high_risk,
        settled_in_real_time: facts.settled_in_real_time,
        primary_referral: facts.primary_referral,
        trauma_approval_form,
        item: None,
        units: 1,
        age: date(birth_date).and_then(|b| claim.admission_date.years_since(b)),
        ytd: YearToDate::default(),
        groups,
    }
}

/// How a claim is priced: which policy, the schedule and coverage year its totals count in,
/// the person's eligibility and benefit groups.
pub struct Pricing {
    pub policy: String,
    pub schedule: String,
    pub year: i32,
    pub eligibility: Eligibility,
    pub groups: Vec<String>,
}

/// Coverage on the claim's service date (its admission date); `None` when the person's
/// birth date is not on record.
pub fn eligibility_of(
    conn: &mut DbConn,
    reads: &mut dyn RegistryReads,
    claim: &Claim,
    ctx: &ClaimContext,
) -> AppResult<Option<Eligibility>> {
    Ok(enrolled(conn, reads, claim, ctx)?.map(|(e, _)| e))
}

/// Coverage on the service date, and the person's enrolments.
fn enrolled(
    conn: &mut DbConn,
    reads: &mut dyn RegistryReads,
    claim: &Claim,
    ctx: &ClaimContext,
) -> AppResult<Option<(Eligibility, Vec<Enrolment>)>> {
    let Some(birth) = date(&ctx.person.birth_date) else {
        return Ok(None);
    };
    let enrolments = reads.enrolments(conn, ctx.person.id)?;
    let eligibility = eligibility::check(
        &enrolments,
        birth,
        ctx.person.death_date.as_deref().and_then(date),
        claim.admission_date,
    );
    Ok(Some((eligibility, enrolments)))
}

/// Whether the year-to-date totals are read, or locked for a decision that will spend them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Totals {
    Read,
    Lock,
    /// These totals (an appeal re-pricing a claim without its own earlier decision).
    Given(YearToDate),
}

/// Prices a claim against the person's year-to-date totals; `None` when no policy applies
/// or coverage cannot be judged.
pub fn price(
    conn: &mut DbConn,
    defs: &Definitions,
    reads: &mut dyn RegistryReads,
    claim: &Claim,
    ctx: &ClaimContext,
    docs: &[DocumentRow],
    totals: Totals,
) -> AppResult<Option<(Pricing, Breakdown)>> {
    let Some((eligibility, enrolments)) = enrolled(conn, reads, claim, ctx)? else {
        return Ok(None);
    };
    let Some(terms) = stay_terms(
        defs.policies(),
        &ctx.person_region_path,
        &enrolments,
        eligibility.enrolment_id,
        claim.admission_date,
        claim.service_end(),
    ) else {
        return Ok(None);
    };
    let policy = terms.policy;
    let pricing = Pricing {
        policy: policy.name.clone(),
        schedule: policy.schedule.clone(),
        year: terms.coverage_year,
        groups: terms.groups,
        eligibility,
    };
    let ytd = match totals {
        Totals::Lock => {
            claim_store::ytd_for_update(conn, ctx.person.id, &pricing.schedule, pricing.year)?
        }
        Totals::Read => {
            claim_store::ytd_read(conn, ctx.person.id, &pricing.schedule, pricing.year)?
        }
        Totals::Given(ytd) => ytd,
    };
    let breakdown = breakdown_of(policy, claim, ctx, docs, &pricing, ytd, None)?;
    Ok(Some((pricing, breakdown)))
}

/// The breakdown of a claim on these terms and totals, with the decided basic amount if the
/// reviewers set one.
fn breakdown_of(
    policy: &crate::domain::policy::Policy,
    claim: &Claim,
    ctx: &ClaimContext,
    docs: &[DocumentRow],
    pricing: &Pricing,
    ytd: YearToDate,
    decided: Option<i64>,
) -> AppResult<Breakdown> {
    let req = calc_request(
        claim,
        ctx,
        docs,
        pricing.eligibility.tier,
        ytd,
        pricing.groups.clone(),
    );
    calculate_decided(policy, &req, decided)
        .map_err(|e| AppError::internal(anyhow::anyhow!("pricing a claim: {e}")))
}

/// Prices a claim again with the basic amount the reviewers decided, against `ytd` (the
/// totals locked for the decision): the later layers work on the decided amount.
pub fn price_decided(
    defs: &Definitions,
    claim: &Claim,
    ctx: &ClaimContext,
    docs: &[DocumentRow],
    pricing: Pricing,
    ytd: YearToDate,
    decided: i64,
) -> AppResult<(Pricing, Breakdown)> {
    let policy = defs
        .policies()
        .iter()
        .find(|p| p.name == pricing.policy)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("policy {} vanished", pricing.policy)))?;
    let breakdown = breakdown_of(policy, claim, ctx, docs, &pricing, ytd, Some(decided))?;
    Ok((pricing, breakdown))
}

/// Records a reviewer's emergency judgement on a claim and prices it again.
pub fn judge_emergency(
    conn: &mut DbConn,
    defs: &Definitions,
    claim_id: i64,
    emergency: bool,
) -> AppResult<()> {
    let mut record = claim_store::get(conn, claim_id)?
        .ok_or_else(|| AppError::NotFound(format!("claim {claim_id}")))?;
    record.claim.facts.judged_emergency = Some(emergency);
    claim_store::set_family_facts(conn, claim_id, &record.claim.facts)?;
    reprice(conn, defs, claim_id)
}

/// Prices the claim again as it now stands (its facts or amounts changed before a decision),
/// on the year's totals as they are, and records the new proposal.
pub fn reprice(conn: &mut DbConn, defs: &Definitions, claim_id: i64) -> AppResult<()> {
    let record = claim_store::get(conn, claim_id)?
        .ok_or_else(|| AppError::NotFound(format!("claim {claim_id}")))?;
    if let Some(ctx) = context_of(conn, &record)? {
        let docs = claim_store::documents(conn, claim_id)?;
        let priced = price(
            conn,
            defs,
            &mut Direct,
            &record.claim,
            &ctx,
            &docs,
            Totals::Read,
        )?;
        if let Some((pricing, breakdown)) = priced {
            claim_store::set_assessment(conn, claim_id, &pricing.policy, &breakdown)?;
        }
    }
    Ok(())
}
