//! Benefit schedules: `policies/*.toml`, checked at load like workflows, and a pure
//! calculator that explains every step of a payout.
mod calc;
mod load;

pub use calc::{calculate, Breakdown, CalcError, CalcRequest, Step, YearToDate};
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

#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
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
}
