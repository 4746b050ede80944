//! The screening rules file: every rule described once with its class, texts, action, weight
//! and parameters, each error located at the rule it is about.
use super::{Hit, HitAction, RuleClass, RuleCode, RuleInfo};
use crate::domain::checked_file::{CheckError, FileChecker};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    /// ICD-10 code prefix, e.g. `O` or `N40`.
    pub prefix: String,
    pub zh: String,
    pub en: String,
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default)]
    pub min_age: Option<u32>,
    #[serde(default)]
    pub max_age: Option<u32>,
}

/// Facility outliers (and weekend spikes): the modified z-score above which a facility
/// stands out, the peers a group needs, the claims a facility needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierParams {
    pub threshold: Decimal,
    pub min_peers: usize,
    pub min_claims: u64,
}

/// A comparison with peers: the modified z-score to exceed, the peers (or, for a doctor,
/// the claims) needed, and how many times the median the value must also reach, so that a
/// narrow spread does not make an ordinary value stand out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerParams {
    pub threshold: Decimal,
    pub min_peers: u64,
    pub min_ratio: Decimal,
}

impl PeerParams {
    pub fn threshold_f64(&self) -> f64 {
        self.threshold.to_f64().unwrap_or(f64::MAX)
    }
    pub fn min_ratio_f64(&self) -> f64 {
        self.min_ratio.to_f64().unwrap_or(f64::MAX)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitStayParams {
    pub within_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShortStayParams {
    pub max_days: u32,
    pub within_days: u32,
    pub min_stays: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdParams {
    pub within_days: u32,
    pub min_members: u32,
}

/// Amounts kept under authority limits: the limits, how close under one counts, in how
/// many days how many claims.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct StructuringParams {
    pub limits_fen: Vec<i64>,
    pub band_percent: Decimal,
    pub within_days: u32,
    pub min_claims: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RoundParams {
    pub min_fen: i64,
    pub multiple_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongStayParams {
    pub max_days: u32,
    #[serde(default)]
    pub exempt_prefixes: Vec<String>,
}

/// The checked rule file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScreeningRules {
    pub rules: Vec<RuleInfo>,
    pub readmission_days: u32,
    pub split_stay: SplitStayParams,
    pub short_stays: ShortStayParams,
    pub household: HouseholdParams,
    pub structuring: StructuringParams,
    pub round_total: RoundParams,
    pub long_stay: LongStayParams,
    pub acute_medicine_days: u32,
    pub chronic_medicine_days: u32,
    pub restrictions: Vec<Restriction>,
    pub injury_prefixes: Vec<String>,
    pub maternity_prefixes: Vec<String>,
    pub low_standard_prefixes: Vec<String>,
    /// Special outpatient disease code → the ICD-10 prefixes that are that disease.
    pub special_diseases: BTreeMap<String, Vec<String>>,
    pub cost_outlier: PeerParams,
    pub los_outlier: PeerParams,
    pub doctor_outlier: PeerParams,
    pub outlier: OutlierParams,
    pub weekend: OutlierParams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    code: String,
    class: RuleClass,
    zh: String,
    en: String,
    action: HitAction,
    #[serde(default = "yes")]
    enabled: bool,
    weight: u32,
    #[serde(default)]
    params: Option<toml::Value>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithinDays {
    within_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MedicineParams {
    acute_max_days: u32,
    chronic_max_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestrictionParams {
    restrictions: Vec<Restriction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Prefixes {
    prefixes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecialDiseases {
    diseases: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStructuring {
    limits_yuan: Vec<Decimal>,
    band_percent: Decimal,
    within_days: u32,
    min_claims: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRound {
    min_yuan: Decimal,
    multiple_yuan: Decimal,
}

fn yuan_to_fen(v: Decimal) -> Option<i64> {
    (v * Decimal::ONE_HUNDRED).to_i64().filter(|f| *f > 0)
}

fn bad_prefixes(prefixes: &[String]) -> Option<&'static str> {
    (prefixes.is_empty()
        || prefixes
            .iter()
            .any(|p| !p.starts_with(|c: char| c.is_ascii_uppercase())))
    .then_some("prefixes must be ICD-10 codes starting with a chapter letter")
}

fn bad_peers(p: &PeerParams) -> Option<&'static str> {
    (p.threshold <= Decimal::ZERO || p.min_peers < 3 || p.min_ratio < Decimal::ONE)
        .then_some("threshold must be positive, min_peers at least 3, min_ratio at least 1")
}

impl ScreeningRules {
    /// Parses and validates the rule file; every error names its line.
    pub fn parse(file: &str, source: &str) -> Result<ScreeningRules, Vec<CheckError>> {
        let mut c = FileChecker::new(file, source);
        let Some(raw) = c.parse::<RawFile>("see policies/screening/rules.toml") else {
            return c.finish(None);
        };
        let peer = || PeerParams {
            threshold: Decimal::ZERO,
            min_peers: 0,
            min_ratio: Decimal::ZERO,
        };
        let outlier = || OutlierParams {
            threshold: Decimal::ZERO,
            min_peers: 0,
            min_claims: 0,
        };
        let mut out = ScreeningRules {
            rules: Vec::new(),
            readmission_days: 0,
            split_stay: SplitStayParams::default(),
            short_stays: ShortStayParams::default(),
            household: HouseholdParams::default(),
            structuring: StructuringParams::default(),
            round_total: RoundParams::default(),
            long_stay: LongStayParams::default(),
            acute_medicine_days: 0,
            chronic_medicine_days: 0,
            restrictions: Vec::new(),
            injury_prefixes: Vec::new(),
            maternity_prefixes: Vec::new(),
            low_standard_prefixes: Vec::new(),
            special_diseases: BTreeMap::new(),
            cost_outlier: peer(),
            los_outlier: peer(),
            doctor_outlier: peer(),
            outlier: outlier(),
            weekend: outlier(),
        };
        let known: Vec<&str> = RuleCode::ALL.iter().map(|c| c.as_str()).collect();
        for spanned in &raw.rules {
            let span = spanned.span();
            let r = spanned.get_ref();
            let Some(code) = RuleCode::parse(&r.code) else {
                c.error(
                    span,
                    format!("unknown rule `{}`", r.code),
                    format!("expected one of {}", known.join(", ")),
                );
                continue;
            };
            if out.rules.iter().any(|x| x.code == code) {
                c.error(
                    span.clone(),
                    format!("rule `{}` is listed twice", r.code),
                    "",
                );
            }
            if r.zh.trim().is_empty() || r.en.trim().is_empty() {
                c.error(
                    span.clone(),
                    format!("rule `{}` needs a description in zh and en", r.code),
                    "write zh = \"…\" and en = \"…\"",
                );
            }
            if r.weight > 100 {
                c.error(
                    span.clone(),
                    format!("rule `{}`: weight {} is above 100", r.code, r.weight),
                    "a claim's risk is 0 to 100",
                );
            }
            match out.read_params(code, r.params.clone()) {
                Ok(None) => {}
                Ok(Some(problem)) => {
                    c.error(span.clone(), format!("rule `{}`: {problem}", r.code), "")
                }
                Err(e) => c.error(
                    span.clone(),
                    format!("rule `{}` params: {e}", r.code),
                    "see the comment above the rule for what it takes",
                ),
            }
            out.rules.push(RuleInfo {
                code,
                class: r.class,
                zh: r.zh.clone(),
                en: r.en.clone(),
                action: r.action,
                enabled: r.enabled,
                weight: r.weight,
            });
        }
        for code in RuleCode::ALL {
            if !out.rules.iter().any(|r| r.code == code) {
                c.error(
                    0..0,
                    format!("rule `{}` is missing", code.as_str()),
                    "list every rule; set enabled = false to turn one off",
                );
            }
        }
        c.finish(Some(out))
    }

    /// Reads one rule's parameters into place; `Ok(Some(problem))` for values of the right
    /// shape that do not make sense, `Err` for the wrong shape.
    fn read_params(
        &mut self,
        code: RuleCode,
        params: Option<toml::Value>,
    ) -> Result<Option<&'static str>, String> {
        fn typed<T: serde::de::DeserializeOwned>(
            params: Option<toml::Value>,
            what: &str,
        ) -> Result<T, String> {
            let value = params.ok_or_else(|| format!("needs params: {what}"))?;
            value
                .try_into::<T>()
                .map_err(|e| e.message().trim().to_string())
        }
        Ok(match code {
            RuleCode::Readmission => {
                let p: WithinDays = typed(params, "within_days")?;
                self.readmission_days = p.within_days;
                (p.within_days == 0).then_some("within_days must be at least 1")
            }
            RuleCode::SplitStayElsewhere => {
                let p: WithinDays = typed(params, "within_days")?;
                self.split_stay = SplitStayParams {
                    within_days: p.within_days,
                };
                (p.within_days == 0).then_some("within_days must be at least 1")
            }
            RuleCode::FrequentShortStays => {
                let p: ShortStayParams = typed(params, "max_days, within_days, min_stays")?;
                let bad = (p.within_days == 0 || p.min_stays < 2)
                    .then_some("within_days must be at least 1 and min_stays at least 2");
                self.short_stays = p;
                bad
            }
            RuleCode::HouseholdCluster => {
                let p: HouseholdParams = typed(params, "within_days, min_members")?;
                let bad = (p.min_members < 2).then_some("min_members must be at least 2");
                self.household = p;
                bad
            }
            RuleCode::Structuring => {
                let p: RawStructuring =
                    typed(params, "limits_yuan, band_percent, within_days, min_claims")?;
                let limits: Option<Vec<i64>> =
                    p.limits_yuan.iter().map(|v| yuan_to_fen(*v)).collect();
                let bad = (limits.as_ref().is_none_or(Vec::is_empty)
                    || p.band_percent <= Decimal::ZERO
                    || p.band_percent >= Decimal::from(50)
                    || p.min_claims < 2)
                    .then_some("limits_yuan must be positive amounts, band_percent between 0 and 50, min_claims at least 2");
                self.structuring = StructuringParams {
                    limits_fen: limits.unwrap_or_default(),
                    band_percent: p.band_percent,
                    within_days: p.within_days,
                    min_claims: p.min_claims,
                };
                bad
            }
            RuleCode::RoundTotal => {
                let p: RawRound = typed(params, "min_yuan, multiple_yuan")?;
                let (min, multiple) = (yuan_to_fen(p.min_yuan), yuan_to_fen(p.multiple_yuan));
                self.round_total = RoundParams {
                    min_fen: min.unwrap_or(0),
                    multiple_fen: multiple.unwrap_or(0),
                };
                (min.is_none() || multiple.is_none())
                    .then_some("min_yuan and multiple_yuan must be positive amounts")
            }
            RuleCode::LongStay => {
                let p: LongStayParams = typed(params, "max_days, exempt_prefixes")?;
                let bad = (p.max_days == 0).then_some("max_days must be at least 1");
                self.long_stay = p;
                bad
            }
            RuleCode::DischargeMedicine => {
                let p: MedicineParams = typed(params, "acute_max_days, chronic_max_days")?;
                self.acute_medicine_days = p.acute_max_days;
                self.chronic_medicine_days = p.chronic_max_days;
                (p.acute_max_days > p.chronic_max_days)
                    .then_some("acute_max_days must not exceed chronic_max_days")
            }
            RuleCode::RestrictedDiagnosis => {
                let p: RestrictionParams = typed(params, "restrictions")?;
                let bad = p.restrictions.iter().find_map(restriction_problem);
                self.restrictions = p.restrictions;
                bad
            }
            RuleCode::TraumaDiagnosisMismatch
            | RuleCode::MaternityDiagnosisMismatch
            | RuleCode::LowStandardAdmission => {
                let p: Prefixes = typed(params, "prefixes")?;
                let bad = bad_prefixes(&p.prefixes);
                match code {
                    RuleCode::TraumaDiagnosisMismatch => self.injury_prefixes = p.prefixes,
                    RuleCode::MaternityDiagnosisMismatch => self.maternity_prefixes = p.prefixes,
                    _ => self.low_standard_prefixes = p.prefixes,
                }
                bad
            }
            RuleCode::SpecialDiseaseDiagnosis => {
                let p: SpecialDiseases = typed(params, "diseases")?;
                let bad = p.diseases.values().find_map(|v| bad_prefixes(v));
                self.special_diseases = p.diseases;
                bad
            }
            RuleCode::CostOutlier | RuleCode::LosOutlier | RuleCode::DoctorOutlier => {
                let p: PeerParams = typed(params, "threshold, min_peers, min_ratio")?;
                let bad = bad_peers(&p);
                match code {
                    RuleCode::CostOutlier => self.cost_outlier = p,
                    RuleCode::LosOutlier => self.los_outlier = p,
                    _ => self.doctor_outlier = p,
                }
                bad
            }
            RuleCode::FacilityOutlier | RuleCode::WeekendAdmissionSpike => {
                let p: OutlierParams = typed(params, "threshold, min_peers, min_claims")?;
                let bad = (p.threshold <= Decimal::ZERO || p.min_peers < 3)
                    .then_some("threshold must be positive and min_peers at least 3");
                if code == RuleCode::FacilityOutlier {
                    self.outlier = p;
                } else {
                    self.weekend = p;
                }
                bad
            }
            RuleCode::DuplicateInvoice
            | RuleCode::InvoiceOtherPerson
            | RuleCode::OverlappingStay
            | RuleCode::IdenticalStay
            | RuleCode::FacilityNotDesignated
            | RuleCode::OutsideCoverage
            | RuleCode::TraumaLiableParty => params.map(|_| "this rule takes no params"),
        })
    }

    pub fn info(&self, code: RuleCode) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.code == code)
    }

    pub fn enabled(&self, code: RuleCode) -> bool {
        self.info(code).is_some_and(|r| r.enabled)
    }

    fn acts(&self, hits: &[Hit], action: HitAction) -> bool {
        hits.iter()
            .any(|h| self.info(h.code).is_some_and(|r| r.action == action))
    }

    /// Whether any of the hits sends the claim to investigation.
    pub fn investigates(&self, hits: &[Hit]) -> bool {
        self.acts(hits, HitAction::Investigate)
    }

    /// Whether any of the hits refuses the claim outright.
    pub fn rejects(&self, hits: &[Hit]) -> bool {
        self.acts(hits, HitAction::Reject)
    }

    /// The widest window, in days either side of a stay, that a rule over the same person's
    /// other stays looks: what the shells must read.
    pub fn person_window_days(&self) -> u32 {
        [
            self.readmission_days,
            self.split_stay.within_days,
            self.short_stays.within_days,
            self.structuring.within_days,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

fn restriction_problem(r: &Restriction) -> Option<&'static str> {
    if r.prefix.is_empty() || !r.prefix.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Some("a restriction's prefix must start with an ICD-10 chapter letter");
    }
    if r.sex.as_deref().is_some_and(|s| s != "M" && s != "F") {
        return Some("a restriction's sex must be \"M\" or \"F\"");
    }
    if r.sex.is_none() && r.min_age.is_none() && r.max_age.is_none() {
        return Some("a restriction needs a sex, a min_age or a max_age");
    }
    if let (Some(lo), Some(hi)) = (r.min_age, r.max_age) {
        if lo > hi {
            return Some("a restriction's min_age must not exceed its max_age");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::screening::fixtures::*;

    fn errors(source: &str) -> Vec<CheckError> {
        ScreeningRules::parse("rules.toml", source).unwrap_err()
    }

    #[test]
    fn the_shipped_file_has_every_rule_in_three_classes() {
        let r = rules();
        assert_eq!(r.rules.len(), RuleCode::ALL.len());
        assert!(r.rules.len() >= 25);
        for class in [RuleClass::Policy, RuleClass::Management, RuleClass::Medical] {
            assert!(
                r.rules.iter().filter(|x| x.class == class).count() >= 5,
                "{class:?}"
            );
        }
        assert!(r.person_window_days() >= r.readmission_days);
    }

    #[test]
    fn the_file_is_checked_with_lines() {
        let line_of = |needle: &str| RULES.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let broken = RULES.replace("within_days = 15 }", "within_day = 15 }");
        let e = errors(&broken);
        assert!(
            e.iter()
                .any(|e| e.message.contains("readmission") && e.message.contains("within_day")),
            "{e:?}"
        );
        let line = line_of("code = \"readmission\"");
        assert!(
            e.iter().any(|e| (line - 1..=line + 8).contains(&e.line)),
            "{e:?}"
        );
        // An unknown rule, and so a missing one.
        let missing = RULES.replace("code = \"trauma_liable_party\"", "code = \"trauma_liable\"");
        let e = errors(&missing);
        assert!(
            e.iter()
                .any(|e| e.message.contains("unknown rule `trauma_liable`")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|e| e.message.contains("rule `trauma_liable_party` is missing")),
            "{e:?}"
        );
        // A bad parameter: of the wrong shape, and of the right shape but meaningless.
        let e = errors(&RULES.replace("sex = \"M\"", "sex = \"male\""));
        assert!(
            e.iter().any(|e| e.message.contains("\"M\" or \"F\"")),
            "{e:?}"
        );
        let e = errors(&RULES.replace("min_members = 3", "min_members = \"three\""));
        assert!(
            e.iter()
                .any(|e| e.message.contains("`household_cluster` params")),
            "{e:?}"
        );
        let e = errors(&RULES.replace("band_percent = \"5\"", "band_percent = \"80\""));
        assert!(
            e.iter()
                .any(|e| e.message.contains("structuring") && e.message.contains("band_percent")),
            "{e:?}"
        );
        // A missing text.
        let e = errors(&RULES.replacen(
            "en = \"Two inpatient stays of one person overlap\"",
            "en = \"\"",
            1,
        ));
        assert!(
            e.iter()
                .any(|e| e.message.contains("`overlapping_stay` needs a description")),
            "{e:?}"
        );
        let line = line_of("code = \"overlapping_stay\"");
        assert!(
            e.iter().any(|e| (line - 1..=line + 6).contains(&e.line)),
            "{e:?}"
        );
    }
}
