//! Screening rules (智能审核, handbook §7): pure checks that flag a claim as suspect. The
//! parameters, texts, classes, actions and weights are data (`policies/screening/rules.toml`,
//! read by `rules_file`); the shells supply what each claim is checked against: at intake
//! from indexed lookups, in the backtest from streams ordered by person and by facility.
//!
//! The rules come in the national smart-review base's three classes: policy (is this claim
//! payable at all: coverage, designation, invoices, the limits), management (how care was
//! used: overlapping, repeated and split stays, household clusters, facilities and doctors
//! against their peers) and medical (does the care fit the diagnosis: length and cost
//! against peers with the same diagnosis at the same level, diagnoses that do not fit the
//! family, the special disease or an inpatient stay). A pair rule is charged to the claim
//! that arrived second, so that intake and the backtest agree. Every hit carries its
//! evidence in words in both languages; a claim's hits add up to its risk score.
mod claim_checks;
mod invoice;
mod outliers;
mod peers;
mod rule_facts;
mod rules;
mod rules_file;
mod stays;

pub use invoice::{invoice_key, InvoiceUse};
pub use outliers::{
    outliers, weekend_spikes, FacilityStats, OutlierScore, WeekendScore, WeekendStats,
};
pub use peers::{
    doctor_scores, DoctorScore, DoctorTally, LogHistogram, PeerKey, PeerStats, PeerTally,
    StayHistogram,
};
pub use rule_facts::RuleFacts;
pub use rules::{age_on, screen, Against, PersonFacts, Screened, Stay};
pub use rules_file::{OutlierParams, PeerParams, Restriction, ScreeningRules};
use serde::{Deserialize, Serialize};

/// Every rule the engine knows. The file must describe each exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleCode {
    DuplicateInvoice,
    InvoiceOtherPerson,
    OverlappingStay,
    IdenticalStay,
    Readmission,
    SplitStayElsewhere,
    FrequentShortStays,
    HouseholdCluster,
    FacilityNotDesignated,
    OutsideCoverage,
    DischargeMedicine,
    RestrictedDiagnosis,
    TraumaLiableParty,
    TraumaDiagnosisMismatch,
    MaternityDiagnosisMismatch,
    SpecialDiseaseDiagnosis,
    LowStandardAdmission,
    LongStay,
    LosOutlier,
    CostOutlier,
    Structuring,
    RoundTotal,
    FacilityOutlier,
    WeekendAdmissionSpike,
    DoctorOutlier,
}

impl RuleCode {
    pub const ALL: [RuleCode; 25] = [
        RuleCode::DuplicateInvoice,
        RuleCode::InvoiceOtherPerson,
        RuleCode::OverlappingStay,
        RuleCode::IdenticalStay,
        RuleCode::Readmission,
        RuleCode::SplitStayElsewhere,
        RuleCode::FrequentShortStays,
        RuleCode::HouseholdCluster,
        RuleCode::FacilityNotDesignated,
        RuleCode::OutsideCoverage,
        RuleCode::DischargeMedicine,
        RuleCode::RestrictedDiagnosis,
        RuleCode::TraumaLiableParty,
        RuleCode::TraumaDiagnosisMismatch,
        RuleCode::MaternityDiagnosisMismatch,
        RuleCode::SpecialDiseaseDiagnosis,
        RuleCode::LowStandardAdmission,
        RuleCode::LongStay,
        RuleCode::LosOutlier,
        RuleCode::CostOutlier,
        RuleCode::Structuring,
        RuleCode::RoundTotal,
        RuleCode::FacilityOutlier,
        RuleCode::WeekendAdmissionSpike,
        RuleCode::DoctorOutlier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleCode::DuplicateInvoice => "duplicate_invoice",
            RuleCode::InvoiceOtherPerson => "invoice_other_person",
            RuleCode::OverlappingStay => "overlapping_stay",
            RuleCode::IdenticalStay => "identical_stay",
            RuleCode::Readmission => "readmission",
            RuleCode::SplitStayElsewhere => "split_stay_elsewhere",
            RuleCode::FrequentShortStays => "frequent_short_stays",
            RuleCode::HouseholdCluster => "household_cluster",
            RuleCode::FacilityNotDesignated => "facility_not_designated",
            RuleCode::OutsideCoverage => "outside_coverage",
            RuleCode::DischargeMedicine => "discharge_medicine",
            RuleCode::RestrictedDiagnosis => "restricted_diagnosis",
            RuleCode::TraumaLiableParty => "trauma_liable_party",
            RuleCode::TraumaDiagnosisMismatch => "trauma_diagnosis_mismatch",
            RuleCode::MaternityDiagnosisMismatch => "maternity_diagnosis_mismatch",
            RuleCode::SpecialDiseaseDiagnosis => "special_disease_diagnosis",
            RuleCode::LowStandardAdmission => "low_standard_admission",
            RuleCode::LongStay => "long_stay",
            RuleCode::LosOutlier => "los_outlier",
            RuleCode::CostOutlier => "cost_outlier",
            RuleCode::Structuring => "structuring",
            RuleCode::RoundTotal => "round_total",
            RuleCode::FacilityOutlier => "facility_outlier",
            RuleCode::WeekendAdmissionSpike => "weekend_admission_spike",
            RuleCode::DoctorOutlier => "doctor_outlier",
        }
    }

    pub fn parse(s: &str) -> Option<RuleCode> {
        RuleCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What the backtest matches a hit on: a claim (the person and the first invoice), a
    /// facility, or a doctor.
    pub fn keyed_by(self) -> HitSubject {
        match self {
            RuleCode::FacilityOutlier | RuleCode::WeekendAdmissionSpike => HitSubject::Facility,
            RuleCode::DoctorOutlier => HitSubject::Doctor,
            _ => HitSubject::Claim,
        }
    }
}

/// What a hit is about, for scoring a backtest against its truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitSubject {
    Claim,
    Facility,
    Doctor,
}

/// The national rule base's three classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleClass {
    /// 政策类: is the claim payable at all.
    Policy,
    /// 管理类: how care was used, by people, facilities and doctors.
    Management,
    /// 医疗类: does the care fit the diagnosis.
    Medical,
}

impl RuleClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleClass::Policy => "policy",
            RuleClass::Management => "management",
            RuleClass::Medical => "medical",
        }
    }
}

/// What a hit does to the claim's case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HitAction {
    /// The claim is recorded and refused at once (one invoice is paid once).
    Reject,
    /// The case opens in the fraud investigation workflow.
    Investigate,
    /// A warning on the normal review.
    Flag,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub code: RuleCode,
    pub class: RuleClass,
    pub zh: String,
    pub en: String,
    pub action: HitAction,
    pub enabled: bool,
    /// What a hit adds to the claim's risk score (0-100 in all).
    pub weight: u32,
}

/// A rule that matched, with what it rests on: its evidence in words in both languages and
/// as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub code: RuleCode,
    pub zh: String,
    pub en: String,
    pub evidence: serde_json::Value,
}

/// The risk a claim's hits add up to, at most 100: each rule counted once, by its weight.
pub fn risk_score(rules: &ScreeningRules, hits: &[Hit]) -> u32 {
    let mut seen: Vec<RuleCode> = Vec::with_capacity(hits.len());
    let mut total = 0u32;
    for hit in hits {
        if seen.contains(&hit.code) {
            continue;
        }
        seen.push(hit.code);
        total += rules.info(hit.code).map_or(0, |r| r.weight);
    }
    total.min(100)
}

/// What the tests of the rules, the file and the outliers check claims with.
#[cfg(test)]
pub(crate) mod fixtures {
    pub use super::*;
    pub use crate::domain::facility::StatusChange;
    pub use chrono::NaiveDate;

    pub const RULES: &str = include_str!("../../../policies/screening/rules.toml");

    pub fn rules() -> ScreeningRules {
        ScreeningRules::parse("rules.toml", RULES).expect("the shipped rules parse")
    }

    pub fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    pub fn stay<'a>(id: i64, facility: &'a str, from: &str, to: &str) -> Stay<'a> {
        Stay {
            claim_id: id,
            person_id: Some(1),
            facility,
            inpatient: true,
            admission: d(from),
            discharge: d(to),
            diagnosis: "K35.8",
            referral: false,
            emergency: false,
            total_fen: 812_345,
        }
    }

    pub fn claim<'a>(s: Stay<'a>) -> Screened<'a> {
        Screened {
            stay: s,
            family: "out_of_region",
            encounter: "inpatient",
            facility_level: "county",
            third_party_liable: false,
            discharge_medicine_days: None,
            chronic: false,
            special_disease: None,
            doctor: None,
            rest_day: false,
        }
    }

    const COVERED: [(NaiveDate, NaiveDate); 1] = [(
        NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2019, 12, 31).unwrap(),
    )];

    pub fn designated() -> Vec<StatusChange> {
        vec![StatusChange {
            status: "designated".into(),
            effective_from: d("2010-01-01"),
        }]
    }

    pub fn person(sex: &'static str, birth: &str) -> PersonFacts<'static> {
        PersonFacts {
            sex,
            birth: d(birth),
            death: None,
            coverage: &COVERED,
        }
    }

    /// Runs the rules and returns the codes that hit.
    pub fn codes(c: &Screened<'_>, with: &Against<'_>) -> Vec<RuleCode> {
        let mut hits = Vec::new();
        screen(&rules(), c, with, &mut hits);
        hits.iter().map(|h| h.code).collect()
    }

    pub fn against<'a>(
        history: &'a [StatusChange],
        earlier: &'a [Stay<'a>],
        p: PersonFacts<'a>,
    ) -> Against<'a> {
        Against {
            person_id: Some(1),
            claimant: "张三（3303************11）",
            person: Some(p),
            earlier_stays: earlier,
            household_stays: &[],
            facility_history: history,
            invoice_uses: &[],
            facility_outlier: None,
            weekend: None,
            doctor: None,
            peers: None,
        }
    }
}
