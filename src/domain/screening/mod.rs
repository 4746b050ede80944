//! Screening rules (智能审核, handbook §7): pure checks that flag a claim as suspect. The
//! parameters and texts are data (`policies/screening/rules.toml`, read by `rules_file`);
//! the shells supply what each claim is checked against: at intake from indexed lookups, in
//! the backtest from a stream ordered by person and date (`rules`). The facility rule
//! compares facilities with their peers (`outliers`). A pair rule (overlap, readmission,
//! duplicate invoice) is charged to the claim that arrived second, so that intake and
//! backtest agree.
mod outliers;
mod rules;
mod rules_file;

pub use outliers::{outliers, FacilityStats, OutlierScore};
pub use rules::{age_on, screen, Against, InvoiceUse, PersonFacts, Screened, Stay};
pub use rules_file::{OutlierParams, Restriction, ScreeningRules};
use serde::{Deserialize, Serialize};

/// Every rule the engine knows. The file must describe each exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleCode {
    DuplicateInvoice,
    OverlappingStay,
    Readmission,
    FacilityNotDesignated,
    OutsideCoverage,
    DischargeMedicine,
    RestrictedDiagnosis,
    TraumaLiableParty,
    FacilityOutlier,
}

impl RuleCode {
    pub const ALL: [RuleCode; 9] = [
        RuleCode::DuplicateInvoice,
        RuleCode::OverlappingStay,
        RuleCode::Readmission,
        RuleCode::FacilityNotDesignated,
        RuleCode::OutsideCoverage,
        RuleCode::DischargeMedicine,
        RuleCode::RestrictedDiagnosis,
        RuleCode::TraumaLiableParty,
        RuleCode::FacilityOutlier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleCode::DuplicateInvoice => "duplicate_invoice",
            RuleCode::OverlappingStay => "overlapping_stay",
            RuleCode::Readmission => "readmission",
            RuleCode::FacilityNotDesignated => "facility_not_designated",
            RuleCode::OutsideCoverage => "outside_coverage",
            RuleCode::DischargeMedicine => "discharge_medicine",
            RuleCode::RestrictedDiagnosis => "restricted_diagnosis",
            RuleCode::TraumaLiableParty => "trauma_liable_party",
            RuleCode::FacilityOutlier => "facility_outlier",
        }
    }

    pub fn parse(s: &str) -> Option<RuleCode> {
        RuleCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What a hit does to the claim's case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HitAction {
    /// The case opens in the fraud investigation workflow.
    Investigate,
    /// A warning on the normal review.
    Flag,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub code: RuleCode,
    pub zh: String,
    pub en: String,
    pub action: HitAction,
    pub enabled: bool,
}

/// A rule that matched, with what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub code: RuleCode,
    pub zh: String,
    pub en: String,
    pub evidence: serde_json::Value,
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
            facility,
            inpatient: true,
            admission: d(from),
            discharge: d(to),
        }
    }

    pub fn claim<'a>(s: Stay<'a>) -> Screened<'a> {
        Screened {
            stay: s,
            family: "out_of_region",
            diagnosis: "K35.8",
            third_party_liable: false,
            discharge_medicine_days: None,
            chronic: false,
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
            person: Some(p),
            earlier_stays: earlier,
            facility_history: history,
            invoice_uses: &[],
            facility_outlier: None,
        }
    }
}
