//! One claim against what it is checked with: the person's other stays, the household's
//! stays at the same facility, the facility's designation history, the other uses of its
//! invoices, its facility's and doctor's standing and its peers' statistics. `screen` runs
//! every enabled rule; each family of rules lives in its own module.
use super::{
    claim_checks, invoice, peers, stays, DoctorScore, Hit, InvoiceUse, OutlierScore, PeerStats,
    RuleCode, ScreeningRules, WeekendScore,
};
use crate::domain::facility::{self, StatusChange};
use chrono::{Datelike, NaiveDate};
use serde_json::json;

/// One stay (or visit) of a person, as the stay rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay<'a> {
    pub claim_id: i64,
    pub person_id: Option<i64>,
    pub facility: &'a str,
    pub inpatient: bool,
    pub admission: NaiveDate,
    pub discharge: NaiveDate,
    /// ICD-10 code of the main diagnosis.
    pub diagnosis: &'a str,
    /// It began with a documented transfer: a referral covered it, or the claim was filed
    /// as a transfer without referral (未办理转诊转院), which is priced and reviewed as one.
    pub referral: bool,
    /// Declared or judged an emergency.
    pub emergency: bool,
    pub total_fen: i64,
}

impl Stay<'_> {
    /// Nights in hospital (0 for a visit or a same-day stay).
    pub fn length_days(&self) -> i64 {
        (self.discharge - self.admission).num_days().max(0)
    }
}

/// The claim being screened.
#[derive(Debug, Clone, Copy)]
pub struct Screened<'a> {
    pub stay: Stay<'a>,
    pub family: &'a str,
    /// `inpatient`, `outpatient`, `special_outpatient` or `maternity`.
    pub encounter: &'a str,
    /// The facility's level (`township`, `county`, `city`): peers are of the same level.
    pub facility_level: &'a str,
    pub third_party_liable: bool,
    pub discharge_medicine_days: Option<u32>,
    pub chronic: bool,
    /// A listed special outpatient disease the claim is paid under.
    pub special_disease: Option<&'a str>,
    /// The attending doctor's code, when the claim names one.
    pub doctor: Option<&'a str>,
    /// Admitted on a day off (a weekend or public holiday of the agency's calendar).
    pub rest_day: bool,
}

/// The insured person: sex `M`/`F`, birth, death, and enrolment periods (inclusive).
#[derive(Debug, Clone, Copy)]
pub struct PersonFacts<'a> {
    pub sex: &'a str,
    pub birth: NaiveDate,
    pub death: Option<NaiveDate>,
    pub coverage: &'a [(NaiveDate, NaiveDate)],
}

/// What the claim is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Against<'a> {
    pub person_id: Option<i64>,
    /// The claimant as a reviewer may read it: name and masked ID number.
    pub claimant: &'a str,
    pub person: Option<PersonFacts<'a>>,
    /// The same person's other claims that arrived before this one (smaller ids), within
    /// the widest window a stay rule looks (`ScreeningRules::person_window_days`).
    pub earlier_stays: &'a [Stay<'a>],
    /// Other members of the person's household admitted at the same facility within the
    /// household rule's window, whose claims arrived before this one.
    pub household_stays: &'a [Stay<'a>],
    pub facility_history: &'a [StatusChange],
    pub invoice_uses: &'a [InvoiceUse<'a>],
    /// The facility's latest outlier score, if it is one.
    pub facility_outlier: Option<&'a OutlierScore>,
    /// The facility's weekend-admission score, if it has one.
    pub weekend: Option<&'a WeekendScore>,
    /// The attending doctor's score, if the claim names a scored doctor.
    pub doctor: Option<&'a DoctorScore>,
    /// Cost and length of stay of the peers: the same diagnosis group at the same level.
    pub peers: Option<&'a PeerStats>,
}

/// Whole years of age on a date.
pub fn age_on(birth: NaiveDate, date: NaiveDate) -> u32 {
    let mut years = date.year() - birth.year();
    if (date.month(), date.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// Runs every enabled rule on one claim, appending hits to `out`.
pub fn screen(
    rules: &ScreeningRules,
    claim: &Screened<'_>,
    with: &Against<'_>,
    out: &mut Vec<Hit>,
) {
    invoice::check(rules, with, out);
    stays::check(rules, claim, with, out);
    claim_checks::check(rules, claim, with, out);
    peers::check(rules, claim, with, out);
    let on = |code| rules.enabled(code);
    let stay = &claim.stay;
    if on(RuleCode::FacilityNotDesignated) {
        if let Some((day, status)) =
            facility::first_undesignated_day(with.facility_history, stay.admission, stay.discharge)
        {
            out.push(Hit {
                code: RuleCode::FacilityNotDesignated,
                zh: format!("机构 {} 在 {day} 的定点状态为「{status}」", stay.facility),
                en: format!("Facility {} was `{status}` on {day}", stay.facility),
                evidence: json!({ "facility": stay.facility, "date": day, "status": status }),
            });
        }
    }
    if on(RuleCode::FacilityOutlier) {
        if let Some(score) = with.facility_outlier.filter(|s| s.outlier) {
            out.push(Hit {
                code: RuleCode::FacilityOutlier,
                zh: format!(
                    "机构 {} 的次均住院费用（{} 元，同级中位数 {} 元）或住院率（{}，中位数 {}）显著高于 {} 家同级机构",
                    score.facility,
                    crate::domain::money::Fen(score.avg_stay_cost_fen),
                    crate::domain::money::Fen(score.median_avg_stay_cost_fen),
                    score.admission_rate,
                    score.median_admission_rate,
                    score.peers
                ),
                en: format!(
                    "Facility {}: cost per stay {} yuan (peer median {}) or admission rate {} (median {}) stands out among {} peers",
                    score.facility,
                    crate::domain::money::Fen(score.avg_stay_cost_fen),
                    crate::domain::money::Fen(score.median_avg_stay_cost_fen),
                    score.admission_rate,
                    score.median_admission_rate,
                    score.peers
                ),
                evidence: serde_json::to_value(score).unwrap_or_default(),
            });
        }
    }
    if on(RuleCode::WeekendAdmissionSpike) && claim.rest_day {
        if let Some(score) = with.weekend.filter(|s| s.outlier) {
            out.push(Hit {
                code: RuleCode::WeekendAdmissionSpike,
                zh: format!(
                    "机构 {} 周末及节假日入院占 {:.0}%（同级中位数 {:.0}%，{} 家机构），本次在休息日入院",
                    score.facility,
                    score.rest_day_share * 100.0,
                    score.median_share * 100.0,
                    score.peers
                ),
                en: format!(
                    "Facility {} admits {:.0}% of its patients on weekends and holidays (peer median {:.0}% of {} facilities); this stay began on one",
                    score.facility,
                    score.rest_day_share * 100.0,
                    score.median_share * 100.0,
                    score.peers
                ),
                evidence: serde_json::to_value(score).unwrap_or_default(),
            });
        }
    }
}
