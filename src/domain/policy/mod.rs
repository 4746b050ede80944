//! Benefit schedules: `policies/*.toml`, checked at load like workflows, and a pure
//! calculator that explains every step of a payout.
mod breakdown;
mod calc;
mod layers;
mod load;

pub use breakdown::{Bill, Breakdown, Step, YearToDate};
pub use calc::{calculate, calculate_amounts, calculate_decided, CalcError, CalcRequest};
pub use load::load_policy;

use crate::domain::money::Fen;
use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title {
    pub zh: String,
    pub en: String,
}

/// Deductible and ratio for one place of treatment, relative to the insured's county:
/// `township`, `county`, `in_city` (outside the county, inside the prefecture), `out_of_city`.
#[derive(Debug, Clone)]
pub struct CategoryRule {
    pub id: String,
    pub deductible: Fen,
    pub ratio: Decimal,
    pub outside_county: bool,
}

#[derive(Debug, Clone)]
pub struct Inpatient {
    pub categories: Vec<CategoryRule>,
    /// Added to the ratio for premium tier 2 and up (重庆: 80 % → 85 %).
    pub tier2_ratio_bonus: Decimal,
    /// Subtracted outside the county without filing or referral, unless an emergency.
    pub unfiled_penalty: Decimal,
    /// A referral from a county facility to one of these facilities pays this ratio.
    pub referral_overrides: Vec<(String, Decimal)>,
    /// Annual limit on policy-scope cost paid under the basic rules.
    pub annual_scope_limit: Option<Fen>,
    /// Above the limit: this ratio, up to this much a year.
    pub over_limit: Option<(Decimal, Fen)>,
    /// Annual cap on everything paid, by premium tier (tier 1, tier 2).
    pub annual_payout_max: Option<(Fen, Fen)>,
    /// Special outpatient diseases paid as inpatient.
    pub special_diseases: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Outpatient {
    pub ratios: Vec<(String, Decimal)>,
    /// Ratios that apply instead when there was no primary-care referral.
    pub no_referral_ratios: Vec<(String, Decimal)>,
    pub annual_max: Fen,
    /// Costs not settled in real time are not paid.
    pub real_time_only: bool,
}

#[derive(Debug, Clone)]
pub struct FixedItem {
    pub code: String,
    pub title: Title,
    /// Per unit (e.g. per eye).
    pub amount: Fen,
    pub fund_ratio: Decimal,
}

#[derive(Debug, Clone)]
pub struct RatioItem {
    pub code: String,
    pub title: Title,
    pub ratio: Decimal,
    pub max_age: Option<u32>,
}

/// One segment of the catastrophic layer: from this much above the threshold, this ratio.
#[derive(Debug, Clone)]
pub struct Segment {
    pub from: Fen,
    pub ratio: Decimal,
}

/// 大病保险: paid on the policy-scope out-of-pocket left after the basic layer, accumulated
/// over the coverage year, above a threshold, in segments.
#[derive(Debug, Clone)]
pub struct Catastrophic {
    pub threshold: Fen,
    pub segments: Vec<Segment>,
    pub annual_cap: Option<Fen>,
}

/// What a group's members get in the catastrophic layer instead of the general rule.
#[derive(Debug, Clone)]
pub struct GroupCatastrophic {
    pub threshold: Fen,
    /// Added to every segment's ratio (5 points for the poor, 2019 national rules).
    pub ratio_bonus: Decimal,
    pub cap: GroupCap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupCap {
    /// The general annual cap applies.
    General,
    /// No annual cap (倾斜支付 for the poor).
    Uncapped,
    Own(Fen),
}

/// 医疗救助 for one group: a ratio of what remains after both insurance layers.
#[derive(Debug, Clone)]
pub struct Assistance {
    pub ratio: Decimal,
    pub annual_cap: Fen,
}

/// A special group (特困, 低保, …) and its treatment in each layer.
#[derive(Debug, Clone)]
pub struct GroupRule {
    pub id: String,
    pub title: Title,
    pub catastrophic: Option<GroupCatastrophic>,
    pub assistance: Option<Assistance>,
}

/// Which coverage year a stay that crosses a year boundary counts in, and under whose policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    Admission,
    Discharge,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// The schedule this file is one year of (`pingyang`): year-to-date totals carry across
    /// the files of one schedule within a coverage year (a student's year spans two).
    pub schedule: String,
    pub title: Title,
    pub region: String,
    pub valid_from: chrono::NaiveDate,
    pub valid_to: chrono::NaiveDate,
    pub inpatient: Inpatient,
    pub outpatient: Option<Outpatient>,
    /// Policy-compliant birth, fixed amount; high-risk births follow inpatient rules.
    pub maternity_fixed: Option<Fen>,
    /// Trauma payout cap without the accident-injury approval form (重庆 2,000).
    pub trauma_cap_without_approval: Option<Fen>,
    pub fixed_items: Vec<FixedItem>,
    pub ratio_items: Vec<RatioItem>,
    pub catastrophic: Option<Catastrophic>,
    pub groups: Vec<GroupRule>,
    pub crossing: Crossing,
}

impl Policy {
    /// The date a stay from `admission` to `discharge` is counted on: its coverage year and,
    /// by this policy's rule, the policy year it is priced in.
    pub fn counting_date(
        &self,
        admission: chrono::NaiveDate,
        discharge: chrono::NaiveDate,
    ) -> chrono::NaiveDate {
        match self.crossing {
            Crossing::Admission => admission,
            Crossing::Discharge => discharge,
        }
    }
}

/// The policy for a patient's region on a date: valid on the date, its region on the
/// patient's region path, the most specific region first.
pub fn policy_on<'p>(
    policies: &'p [Policy],
    region_path: &str,
    date: chrono::NaiveDate,
) -> Option<&'p Policy> {
    policies
        .iter()
        .filter(|p| p.valid_from <= date && date <= p.valid_to)
        .filter(|p| region_path.split('/').any(|code| code == p.region))
        .max_by_key(|p| region_path.split('/').position(|code| code == p.region))
}

/// The policy a stay is priced under: the one in force on the date its coverage year is
/// counted by (discharge, unless the policy at discharge says admission; a stay whose
/// discharge no policy covers falls to one at admission that counts by admission).
pub fn policy_for_stay<'p>(
    policies: &'p [Policy],
    region_path: &str,
    admission: chrono::NaiveDate,
    discharge: chrono::NaiveDate,
) -> Option<&'p Policy> {
    match policy_on(policies, region_path, discharge) {
        Some(p) if p.crossing == Crossing::Admission => policy_on(policies, region_path, admission),
        Some(p) => Some(p),
        None => policy_on(policies, region_path, admission)
            .filter(|p| p.crossing == Crossing::Admission),
    }
}

/// The schedules (with their region) that have no policy in force on `date`: claims for
/// that day in their regions cannot be priced.
pub fn schedules_without_policy(policies: &[Policy], date: chrono::NaiveDate) -> Vec<(&str, &str)> {
    let mut missing: Vec<(&str, &str)> = policies
        .iter()
        .filter(|p| {
            !policies
                .iter()
                .any(|q| q.schedule == p.schedule && q.valid_from <= date && date <= q.valid_to)
        })
        .map(|p| (p.schedule.as_str(), p.region.as_str()))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

/// The terms a stay is priced on: the policy, the coverage year its totals count in, and the
/// person's benefit groups in that year.
#[derive(Debug, Clone)]
pub struct StayTerms<'p> {
    pub policy: &'p Policy,
    pub coverage_year: i32,
    pub groups: Vec<String>,
}

/// The terms of a stay. Totals count in the coverage year of the policy's counting date (a
/// student's runs September to August); a counting date no enrolment holds counts in the year
/// of the enrolment that covered the admission (`admitted_under`).
pub fn stay_terms<'p>(
    policies: &'p [Policy],
    region_path: &str,
    enrolments: &[crate::domain::eligibility::Enrolment],
    admitted_under: Option<i64>,
    admission: chrono::NaiveDate,
    discharge: chrono::NaiveDate,
) -> Option<StayTerms<'p>> {
    use chrono::Datelike;
    let policy = policy_for_stay(policies, region_path, admission, discharge)?;
    let counted_on = policy.counting_date(admission, discharge);
    let enrolment = crate::domain::eligibility::enrolment_on(enrolments, counted_on)
        .or_else(|| enrolments.iter().find(|e| Some(e.id) == admitted_under));
    Some(StayTerms {
        policy,
        coverage_year: enrolment.map_or(counted_on.year(), |e| e.coverage_year),
        groups: enrolment
            .map(crate::domain::eligibility::Enrolment::benefit_groups)
            .unwrap_or_default(),
    })
}
