//! Screening rules (智能审核, handbook §7): pure checks that flag a claim as suspect. The
//! parameters and texts are data (`policies/screening/rules.toml`); the shells supply what
//! each claim is checked against: at intake from indexed lookups, in the backtest from a
//! stream ordered by person and date. A pair rule (overlap, readmission, duplicate invoice)
//! is charged to the claim that arrived second, so that intake and backtest agree.
use super::checked_file::{CheckError, FileChecker};
use super::facility::{self, StatusChange};
use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use toml::Spanned;

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutlierParams {
    pub threshold: Decimal,
    pub min_peers: usize,
    pub min_claims: u64,
}

/// The checked rule file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScreeningRules {
    pub rules: Vec<RuleInfo>,
    pub readmission_days: u32,
    pub acute_medicine_days: u32,
    pub chronic_medicine_days: u32,
    pub restrictions: Vec<Restriction>,
    pub outlier: OutlierParams,
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
    zh: String,
    en: String,
    action: HitAction,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    params: Option<toml::Value>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadmissionParams {
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
struct RawOutlierParams {
    threshold: Decimal,
    min_peers: usize,
    min_claims: u64,
}

impl ScreeningRules {
    /// Parses and validates the rule file; every error names its line.
    pub fn parse(file: &str, source: &str) -> Result<ScreeningRules, Vec<CheckError>> {
        let mut c = FileChecker::new(file, source);
        let Some(raw) = c.parse::<RawFile>("see policies/screening/rules.toml") else {
            return c.finish(None);
        };
        let mut out = ScreeningRules {
            rules: Vec::new(),
            readmission_days: 0,
            acute_medicine_days: 0,
            chronic_medicine_days: 0,
            restrictions: Vec::new(),
            outlier: OutlierParams {
                threshold: Decimal::ZERO,
                min_peers: 0,
                min_claims: 0,
            },
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
                    "",
                );
            }
            let params = r.params.clone();
            let mut read = |what: &str| -> Option<toml::Value> {
                if params.is_none() {
                    c.error(
                        span.clone(),
                        format!("rule `{}` needs params: {what}", r.code),
                        "",
                    );
                }
                params.clone()
            };
            let problem = match code {
                RuleCode::Readmission => read("within_days").map(|v| {
                    v.try_into::<ReadmissionParams>().map(|p| {
                        out.readmission_days = p.within_days;
                        (p.within_days == 0).then_some("within_days must be at least 1")
                    })
                }),
                RuleCode::DischargeMedicine => read("acute_max_days, chronic_max_days").map(|v| {
                    v.try_into::<MedicineParams>().map(|p| {
                        out.acute_medicine_days = p.acute_max_days;
                        out.chronic_medicine_days = p.chronic_max_days;
                        (p.acute_max_days > p.chronic_max_days)
                            .then_some("acute_max_days must not exceed chronic_max_days")
                    })
                }),
                RuleCode::RestrictedDiagnosis => read("restrictions").map(|v| {
                    v.try_into::<RestrictionParams>().map(|p| {
                        let bad = p.restrictions.iter().find_map(|x| restriction_problem(x));
                        out.restrictions = p.restrictions;
                        bad
                    })
                }),
                RuleCode::FacilityOutlier => read("threshold, min_peers, min_claims").map(|v| {
                    v.try_into::<RawOutlierParams>().map(|p| {
                        let bad = (p.threshold <= Decimal::ZERO || p.min_peers < 3)
                            .then_some("threshold must be positive and min_peers at least 3");
                        out.outlier = OutlierParams {
                            threshold: p.threshold,
                            min_peers: p.min_peers,
                            min_claims: p.min_claims,
                        };
                        bad
                    })
                }),
                _ => r
                    .params
                    .as_ref()
                    .map(|_| Ok(Some("this rule takes no params"))),
            };
            match problem {
                Some(Err(e)) => c.error(
                    span.clone(),
                    format!("rule `{}` params: {}", r.code, e.message().trim()),
                    "",
                ),
                Some(Ok(Some(msg))) => {
                    c.error(span.clone(), format!("rule `{}`: {msg}", r.code), "")
                }
                _ => {}
            }
            out.rules.push(RuleInfo {
                code,
                zh: r.zh.clone(),
                en: r.en.clone(),
                action: r.action,
                enabled: r.enabled,
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

    pub fn info(&self, code: RuleCode) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.code == code)
    }

    pub fn enabled(&self, code: RuleCode) -> bool {
        self.info(code).is_some_and(|r| r.enabled)
    }

    /// Whether any of the hits sends the claim to investigation.
    pub fn investigates(&self, hits: &[Hit]) -> bool {
        hits.iter().any(|h| {
            self.info(h.code)
                .is_some_and(|r| r.action == HitAction::Investigate)
        })
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

/// One stay (or visit) of a person, as the pair rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay<'a> {
    pub claim_id: i64,
    pub facility: &'a str,
    pub inpatient: bool,
    pub admission: NaiveDate,
    pub discharge: NaiveDate,
}

/// The claim being screened.
#[derive(Debug, Clone, Copy)]
pub struct Screened<'a> {
    pub stay: Stay<'a>,
    pub family: &'a str,
    pub diagnosis: &'a str,
    pub third_party_liable: bool,
    pub discharge_medicine_days: Option<u32>,
    pub chronic: bool,
}

/// The insured person: sex `M`/`F`, birth, death, and enrolment periods (inclusive).
#[derive(Debug, Clone, Copy)]
pub struct PersonFacts<'a> {
    pub sex: &'a str,
    pub birth: NaiveDate,
    pub death: Option<NaiveDate>,
    pub coverage: &'a [(NaiveDate, NaiveDate)],
}

/// Another claim carrying one of this claim's invoice numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceUse<'a> {
    pub invoice: &'a str,
    pub claim_id: i64,
    pub facility: &'a str,
    pub person_id: Option<i64>,
}

/// What the claim is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Against<'a> {
    pub person_id: Option<i64>,
    pub person: Option<PersonFacts<'a>>,
    /// The same person's other claims that arrived before this one (smaller ids).
    pub earlier_stays: &'a [Stay<'a>],
    pub facility_history: &'a [StatusChange],
    pub invoice_uses: &'a [InvoiceUse<'a>],
    /// The facility's latest outlier score, if it is one.
    pub facility_outlier: Option<&'a OutlierScore>,
}

/// A rule that matched, with what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub code: RuleCode,
    pub zh: String,
    pub en: String,
    pub evidence: serde_json::Value,
}

fn overlaps(a: &Stay<'_>, b: &Stay<'_>) -> bool {
    a.admission < b.discharge && b.admission < a.discharge
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
    let on = |code| rules.enabled(code);
    let stay = &claim.stay;
    if on(RuleCode::DuplicateInvoice) {
        duplicate_invoice(with, out);
    }
    if on(RuleCode::OverlappingStay) && stay.inpatient {
        // Same-day transfers share a date, which is not an overlap: discharge and admission
        // on one day is the normal hand-over.
        for other in with
            .earlier_stays
            .iter()
            .filter(|o| o.inpatient && overlaps(o, stay))
        {
            let from = other.admission.max(stay.admission);
            let to = other.discharge.min(stay.discharge);
            out.push(Hit {
                code: RuleCode::OverlappingStay,
                zh: format!("与申请 #{} 住院时间重叠（{from} 至 {to}）", other.claim_id),
                en: format!("Overlaps the stay of claim #{} ({from} to {to})", other.claim_id),
                evidence: json!({ "other_claim_id": other.claim_id, "other_facility": other.facility,
                    "other_admission": other.admission, "other_discharge": other.discharge, "overlap_from": from, "overlap_to": to }),
            });
        }
    }
    if on(RuleCode::Readmission) && stay.inpatient {
        readmission(rules.readmission_days, stay, with.earlier_stays, out);
    }
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
    if let Some(person) = &with.person {
        if on(RuleCode::OutsideCoverage) {
            outside_coverage(person, stay, out);
        }
        if on(RuleCode::RestrictedDiagnosis) {
            restricted(rules, person, claim, out);
        }
    }
    if on(RuleCode::DischargeMedicine) {
        if let Some(days) = claim.discharge_medicine_days {
            let (limit, kind_zh, kind_en) = if claim.chronic {
                (rules.chronic_medicine_days, "慢性病", "chronic")
            } else {
                (rules.acute_medicine_days, "急性病", "acute")
            };
            if days > limit {
                out.push(Hit {
                    code: RuleCode::DischargeMedicine,
                    zh: format!("出院带药 {days} 天，超过{kind_zh}上限 {limit} 天"),
                    en: format!(
                        "{days} days of discharge medicine, above the {kind_en} limit of {limit}"
                    ),
                    evidence: json!({ "days": days, "limit": limit, "chronic": claim.chronic }),
                });
            }
        }
    }
    if on(RuleCode::TraumaLiableParty) && claim.family == "trauma" && claim.third_party_liable {
        out.push(Hit {
            code: RuleCode::TraumaLiableParty,
            zh: "外伤申请记录了责任第三方，基金不予支付，应由第三方承担".into(),
            en: "The trauma claim records a liable third party, who pays instead of the fund"
                .into(),
            evidence: json!({ "third_party_liable": true }),
        });
    }
    if on(RuleCode::FacilityOutlier) {
        if let Some(score) = with.facility_outlier.filter(|s| s.outlier) {
            out.push(Hit {
                code: RuleCode::FacilityOutlier,
                zh: format!("机构 {} 的次均费用或住院率显著高于同级机构", score.facility),
                en: format!(
                    "Facility {} is a cost or admission-rate outlier among its peers",
                    score.facility
                ),
                evidence: serde_json::to_value(score).unwrap_or_default(),
            });
        }
    }
}

fn duplicate_invoice(with: &Against<'_>, out: &mut Vec<Hit>) {
    let mut i = 0;
    while i < with.invoice_uses.len() {
        let invoice = with.invoice_uses[i].invoice;
        let group_end = with.invoice_uses[i..]
            .iter()
            .position(|u| u.invoice != invoice)
            .map_or(with.invoice_uses.len(), |n| i + n);
        let group = &with.invoice_uses[i..group_end];
        let other_person = group.iter().any(|u| u.person_id != with.person_id);
        let (zh_tail, en_tail) = if other_person {
            ("（含其他参保人）", " (including under another person)")
        } else {
            ("", "")
        };
        out.push(Hit {
            code: RuleCode::DuplicateInvoice,
            zh: format!("发票号 {invoice} 已在其他申请中使用{zh_tail}"),
            en: format!("Invoice {invoice} is already claimed{en_tail}"),
            evidence: json!({ "invoice": invoice, "other_person": other_person,
                "claims": group.iter().map(|u| json!({ "claim_id": u.claim_id, "facility": u.facility, "person_id": u.person_id })).collect::<Vec<_>>() }),
        });
        i = group_end;
    }
}

fn readmission(within_days: u32, stay: &Stay<'_>, earlier: &[Stay<'_>], out: &mut Vec<Hit>) {
    for other in earlier
        .iter()
        .filter(|o| o.inpatient && o.facility == stay.facility)
    {
        // Either order in time: the stay filed second may be the earlier one.
        let (first, second) = if other.discharge <= stay.admission {
            (other, stay)
        } else if stay.discharge <= other.admission {
            (stay, other)
        } else {
            continue;
        };
        let gap = (second.admission - first.discharge).num_days();
        if gap <= i64::from(within_days) {
            out.push(Hit {
                code: RuleCode::Readmission,
                zh: format!("申请 #{} 出院（{}）后 {gap} 天在同一机构再次住院", other.claim_id, first.discharge),
                en: format!("Readmitted to the same facility {gap} days after the discharge of {} (claim #{})", first.discharge, other.claim_id),
                evidence: json!({ "other_claim_id": other.claim_id, "discharge": first.discharge, "readmission": second.admission, "gap_days": gap, "within_days": within_days }),
            });
        }
    }
}

fn outside_coverage(person: &PersonFacts<'_>, stay: &Stay<'_>, out: &mut Vec<Hit>) {
    if let Some(death) = person.death.filter(|d| stay.admission > *d) {
        out.push(Hit {
            code: RuleCode::OutsideCoverage,
            zh: format!("就诊日期 {} 在参保人死亡（{death}）之后", stay.admission),
            en: format!("Service on {} after the insured person's death on {death}", stay.admission),
            evidence: json!({ "reason": "after_death", "service_date": stay.admission, "death_date": death }),
        });
        return;
    }
    let covered = person
        .coverage
        .iter()
        .any(|(from, to)| *from <= stay.admission && stay.admission <= *to);
    if !covered {
        out.push(Hit {
            code: RuleCode::OutsideCoverage,
            zh: format!("就诊日期 {} 不在任何参保期内", stay.admission),
            en: format!("Service on {} is outside every enrolment period", stay.admission),
            evidence: json!({ "reason": "not_enrolled", "service_date": stay.admission,
                "periods": person.coverage.iter().map(|(f, t)| json!([f, t])).collect::<Vec<_>>() }),
        });
    }
}

fn restricted(
    rules: &ScreeningRules,
    person: &PersonFacts<'_>,
    claim: &Screened<'_>,
    out: &mut Vec<Hit>,
) {
    let age = age_on(person.birth, claim.stay.admission);
    for r in rules
        .restrictions
        .iter()
        .filter(|r| claim.diagnosis.starts_with(r.prefix.as_str()))
    {
        let wrong_sex = r.sex.as_deref().is_some_and(|s| s != person.sex);
        let too_young = r.min_age.is_some_and(|m| age < m);
        let too_old = r.max_age.is_some_and(|m| age > m);
        if wrong_sex || too_young || too_old {
            out.push(Hit {
                code: RuleCode::RestrictedDiagnosis,
                zh: format!("诊断 {}（{}）与参保人（性别 {}，{age} 岁）不符", claim.diagnosis, r.zh, person.sex),
                en: format!("Diagnosis {} ({}) does not fit the insured person (sex {}, age {age})", claim.diagnosis, r.en, person.sex),
                evidence: json!({ "diagnosis": claim.diagnosis, "prefix": r.prefix, "sex": person.sex, "age": age,
                    "allowed_sex": r.sex, "min_age": r.min_age, "max_age": r.max_age }),
            });
        }
    }
}

/// A facility's totals over a period, for the outlier rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacilityStats {
    pub facility: String,
    pub level: String,
    pub region_code: String,
    /// Inpatient stays and their total cost.
    pub stays: u64,
    pub stay_cost_fen: i64,
    /// All claims (inpatient and otherwise).
    pub claims: u64,
}

/// A facility's standing among its peers. The scores are modified z-scores; `outlier` is set
/// when either is above the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutlierScore {
    pub facility: String,
    pub peer_group: String,
    pub peers: usize,
    pub avg_stay_cost_fen: i64,
    pub median_avg_stay_cost_fen: i64,
    pub admission_rate: f64,
    pub median_admission_rate: f64,
    pub cost_z: f64,
    pub admission_z: f64,
    pub outlier: bool,
}

/// The peer group: level and prefecture (the pooling region, the first four digits).
fn peer_group(s: &FacilityStats) -> String {
    format!(
        "{}/{}",
        s.level,
        s.region_code.get(..4).unwrap_or(&s.region_code)
    )
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Modified z-scores of `values` (Iglewicz & Hoaglin): 0.6745·(x − median)/MAD. When more than
/// half the values are equal the MAD is 0; the mean absolute deviation stands in
/// (scaled by 1.2533 so both estimate σ alike), and if that is 0 too nobody stands out.
fn robust_z(values: &[f64]) -> (f64, Vec<f64>) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let med = median(&sorted);
    let mut dev: Vec<f64> = values.iter().map(|v| (v - med).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = median(&dev);
    let scale = if mad > 0.0 {
        mad / 0.6745
    } else {
        1.2533 * dev.iter().sum::<f64>() / dev.len().max(1) as f64
    };
    let z = values
        .iter()
        .map(|v| if scale > 0.0 { (v - med) / scale } else { 0.0 })
        .collect();
    (med, z)
}

/// Scores every facility with at least `min_claims` claims against the others of its peer
/// group (groups smaller than `min_peers` are not scored). High values only: a cheap
/// facility is not a fraud signal.
pub fn outliers(params: &OutlierParams, stats: &[FacilityStats]) -> Vec<OutlierScore> {
    let threshold = params.threshold.to_f64().unwrap_or(f64::MAX);
    let mut eligible: Vec<&FacilityStats> = stats
        .iter()
        .filter(|s| s.claims >= params.min_claims && s.claims > 0)
        .collect();
    eligible.sort_by_key(|s| (peer_group(s), s.facility.clone()));
    let mut out = Vec::new();
    for group in eligible.chunk_by(|a, b| peer_group(a) == peer_group(b)) {
        if group.len() < params.min_peers {
            continue;
        }
        let avg_cost: Vec<i64> = group
            .iter()
            .map(|s| {
                if s.stays == 0 {
                    0
                } else {
                    // Half-up: the average is shown in fen next to the median.
                    (Decimal::from(s.stay_cost_fen) / Decimal::from(s.stays))
                        .round_dp_with_strategy(
                            0,
                            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                        )
                        .to_i64()
                        .unwrap_or(i64::MAX)
                }
            })
            .collect();
        let rates: Vec<f64> = group
            .iter()
            .map(|s| s.stays as f64 / s.claims as f64)
            .collect();
        let (cost_med, cost_z) = robust_z(&avg_cost.iter().map(|&c| c as f64).collect::<Vec<_>>());
        let (rate_med, rate_z) = robust_z(&rates);
        for (i, s) in group.iter().enumerate() {
            let round2 = |v: f64| (v * 100.0).round() / 100.0;
            out.push(OutlierScore {
                facility: s.facility.clone(),
                peer_group: peer_group(s),
                peers: group.len(),
                avg_stay_cost_fen: avg_cost[i],
                median_avg_stay_cost_fen: cost_med.round() as i64,
                admission_rate: (rates[i] * 10_000.0).round() / 10_000.0,
                median_admission_rate: (rate_med * 10_000.0).round() / 10_000.0,
                cost_z: round2(cost_z[i]),
                admission_z: round2(rate_z[i]),
                outlier: cost_z[i] > threshold || rate_z[i] > threshold,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = include_str!("../../policies/screening/rules.toml");

    fn rules() -> ScreeningRules {
        ScreeningRules::parse("rules.toml", RULES).expect("the shipped rules parse")
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn stay<'a>(id: i64, facility: &'a str, from: &str, to: &str) -> Stay<'a> {
        Stay {
            claim_id: id,
            facility,
            inpatient: true,
            admission: d(from),
            discharge: d(to),
        }
    }

    fn claim<'a>(s: Stay<'a>) -> Screened<'a> {
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

    fn designated() -> Vec<StatusChange> {
        vec![StatusChange {
            status: "designated".into(),
            effective_from: d("2010-01-01"),
        }]
    }

    fn person(sex: &'static str, birth: &str) -> PersonFacts<'static> {
        PersonFacts {
            sex,
            birth: d(birth),
            death: None,
            coverage: &COVERED,
        }
    }

    /// Runs the rules and returns the codes that hit.
    fn codes(c: &Screened<'_>, with: &Against<'_>) -> Vec<RuleCode> {
        let mut hits = Vec::new();
        screen(&rules(), c, with, &mut hits);
        hits.iter().map(|h| h.code).collect()
    }

    fn against<'a>(
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

    #[test]
    fn a_clean_claim_hits_nothing() {
        let h = designated();
        let earlier = [stay(1, "F1", "2019-01-02", "2019-01-06")];
        let c = claim(stay(2, "F1", "2019-03-01", "2019-03-05"));
        assert_eq!(
            codes(&c, &against(&h, &earlier, person("M", "1970-05-05"))),
            vec![]
        );
    }

    #[test]
    fn duplicate_invoice_under_the_same_or_another_person() {
        let h = designated();
        let c = claim(stay(2, "F1", "2019-03-01", "2019-03-05"));
        let uses = [InvoiceUse {
            invoice: "INV1",
            claim_id: 1,
            facility: "F2",
            person_id: Some(9),
        }];
        let with = Against {
            invoice_uses: &uses,
            ..against(&h, &[], person("M", "1970-05-05"))
        };
        let mut hits = Vec::new();
        screen(&rules(), &c, &with, &mut hits);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].code, RuleCode::DuplicateInvoice);
        assert_eq!(hits[0].evidence["other_person"], json!(true));
        assert!(hits[0].en.contains("another person"));
        let same = [InvoiceUse {
            person_id: Some(1),
            ..uses[0].clone()
        }];
        let mut hits = Vec::new();
        screen(
            &rules(),
            &c,
            &Against {
                invoice_uses: &same,
                ..with
            },
            &mut hits,
        );
        assert_eq!(hits[0].evidence["other_person"], json!(false));
        // Negative: no other use of the invoice.
        assert!(codes(&c, &against(&h, &[], person("M", "1970-05-05"))).is_empty());
    }

    #[test]
    fn overlapping_stays_but_not_a_same_day_transfer() {
        let h = designated();
        let p = person("M", "1970-05-05");
        let earlier = [stay(1, "F2", "2019-03-01", "2019-03-10")];
        let c = claim(stay(2, "F1", "2019-03-08", "2019-03-12"));
        assert_eq!(
            codes(&c, &against(&h, &earlier, p)),
            vec![RuleCode::OverlappingStay]
        );
        let transfer = claim(stay(2, "F1", "2019-03-10", "2019-03-12"));
        assert!(codes(&transfer, &against(&h, &earlier, p)).is_empty());
        let outpatient = Screened {
            stay: Stay {
                inpatient: false,
                ..c.stay
            },
            ..c
        };
        assert!(codes(&outpatient, &against(&h, &earlier, p)).is_empty());
    }

    #[test]
    fn readmission_within_the_window_at_the_same_facility_only() {
        let h = designated();
        let p = person("M", "1970-05-05");
        let earlier = [stay(1, "F1", "2019-03-01", "2019-03-10")];
        let back = claim(stay(2, "F1", "2019-03-20", "2019-03-25"));
        assert_eq!(
            codes(&back, &against(&h, &earlier, p)),
            vec![RuleCode::Readmission]
        );
        let late = claim(stay(2, "F1", "2019-03-26", "2019-03-28"));
        assert!(
            codes(&late, &against(&h, &earlier, p)).is_empty(),
            "16 days is outside 15"
        );
        let elsewhere = claim(stay(2, "F2", "2019-03-20", "2019-03-25"));
        assert!(codes(&elsewhere, &against(&h, &earlier, p)).is_empty());
        // Filed second but earlier in time: still the pair.
        let before = claim(stay(2, "F1", "2019-02-20", "2019-02-25"));
        assert_eq!(
            codes(&before, &against(&h, &earlier, p)),
            vec![RuleCode::Readmission]
        );
    }

    #[test]
    fn service_at_a_suspended_facility() {
        let mut h = designated();
        h.push(StatusChange {
            status: "suspended".into(),
            effective_from: d("2019-03-03"),
        });
        let p = person("M", "1970-05-05");
        let c = claim(stay(2, "F1", "2019-03-01", "2019-03-05"));
        assert_eq!(
            codes(&c, &against(&h, &[], p)),
            vec![RuleCode::FacilityNotDesignated]
        );
        let before = claim(stay(2, "F1", "2019-02-01", "2019-03-02"));
        assert!(codes(&before, &against(&h, &[], p)).is_empty());
    }

    #[test]
    fn service_after_death_or_outside_enrolment() {
        let h = designated();
        let c = claim(stay(2, "F1", "2019-03-01", "2019-03-05"));
        let dead = PersonFacts {
            death: Some(d("2019-02-01")),
            ..person("M", "1970-05-05")
        };
        assert_eq!(
            codes(&c, &against(&h, &[], dead)),
            vec![RuleCode::OutsideCoverage]
        );
        let alive_then = PersonFacts {
            death: Some(d("2019-04-01")),
            ..dead
        };
        assert!(codes(&c, &against(&h, &[], alive_then)).is_empty());
        let next_year = claim(stay(2, "F1", "2020-03-01", "2020-03-05"));
        let mut hits = Vec::new();
        screen(
            &rules(),
            &next_year,
            &against(&h, &[], person("M", "1970-05-05")),
            &mut hits,
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].evidence["reason"], json!("not_enrolled"));
    }

    #[test]
    fn discharge_medicine_limits_acute_and_chronic() {
        let h = designated();
        let p = person("M", "1970-05-05");
        let base = claim(stay(2, "F1", "2019-03-01", "2019-03-05"));
        let acute = |days| Screened {
            discharge_medicine_days: Some(days),
            ..base
        };
        assert_eq!(
            codes(&acute(4), &against(&h, &[], p)),
            vec![RuleCode::DischargeMedicine]
        );
        assert!(codes(&acute(3), &against(&h, &[], p)).is_empty());
        let chronic = |days| Screened {
            chronic: true,
            ..acute(days)
        };
        assert!(codes(&chronic(7), &against(&h, &[], p)).is_empty());
        assert_eq!(
            codes(&chronic(8), &against(&h, &[], p)),
            vec![RuleCode::DischargeMedicine]
        );
    }

    #[test]
    fn sex_and_age_restricted_diagnoses() {
        let h = designated();
        let delivery = Screened {
            diagnosis: "O80.0",
            ..claim(stay(2, "F1", "2019-03-01", "2019-03-05"))
        };
        assert_eq!(
            codes(&delivery, &against(&h, &[], person("M", "1990-01-01"))),
            vec![RuleCode::RestrictedDiagnosis]
        );
        assert!(codes(&delivery, &against(&h, &[], person("F", "1990-01-01"))).is_empty());
        assert_eq!(
            codes(&delivery, &against(&h, &[], person("F", "2012-01-01"))),
            vec![RuleCode::RestrictedDiagnosis],
            "aged 7"
        );
        let perinatal = Screened {
            diagnosis: "P07.3",
            ..delivery
        };
        assert_eq!(
            codes(&perinatal, &against(&h, &[], person("F", "1990-01-01"))),
            vec![RuleCode::RestrictedDiagnosis]
        );
        assert!(codes(&perinatal, &against(&h, &[], person("F", "2018-12-01"))).is_empty());
        let prostate = Screened {
            diagnosis: "N40",
            ..delivery
        };
        assert_eq!(
            codes(&prostate, &against(&h, &[], person("F", "1950-01-01"))),
            vec![RuleCode::RestrictedDiagnosis]
        );
    }

    #[test]
    fn trauma_with_a_liable_party() {
        let h = designated();
        let p = person("M", "1970-05-05");
        let trauma = Screened {
            family: "trauma",
            third_party_liable: true,
            ..claim(stay(2, "F1", "2019-03-01", "2019-03-05"))
        };
        assert_eq!(
            codes(&trauma, &against(&h, &[], p)),
            vec![RuleCode::TraumaLiableParty]
        );
        assert!(codes(
            &Screened {
                third_party_liable: false,
                ..trauma
            },
            &against(&h, &[], p)
        )
        .is_empty());
    }

    fn stats(code: &str, level: &str, stays: u64, cost_yuan: i64, claims: u64) -> FacilityStats {
        FacilityStats {
            facility: code.into(),
            level: level.into(),
            region_code: "330326".into(),
            stays,
            stay_cost_fen: cost_yuan * 100 * stays as i64,
            claims,
        }
    }

    #[test]
    fn facility_outliers_by_robust_z_within_peer_groups() {
        let r = rules();
        let mut all: Vec<FacilityStats> = (0..8)
            .map(|i| stats(&format!("T{i}"), "township", 40, 2_000 + i * 50, 50))
            .collect();
        all.push(stats("T_HIGH", "township", 40, 6_000, 50));
        // Another level is not a peer: its costs are normal for its level.
        all.extend((0..6).map(|i| stats(&format!("C{i}"), "county", 40, 6_000 + i * 100, 60)));
        // Too few claims to be scored.
        all.push(stats("T_SMALL", "township", 5, 50_000, 5));
        let scores = outliers(&r.outlier, &all);
        let flagged: Vec<&str> = scores
            .iter()
            .filter(|s| s.outlier)
            .map(|s| s.facility.as_str())
            .collect();
        assert_eq!(flagged, vec!["T_HIGH"]);
        assert!(!scores.iter().any(|s| s.facility == "T_SMALL"));
        let high = scores.iter().find(|s| s.facility == "T_HIGH").unwrap();
        assert!(high.cost_z > 3.5, "{high:?}");
        // Admission rate: every stay inpatient where peers send most home.
        let mut rates: Vec<FacilityStats> = (0..8)
            .map(|i| stats(&format!("R{i}"), "county", 20 + i, 6_000, 100))
            .collect();
        rates.push(stats("R_ALL_IN", "county", 100, 6_000, 100));
        let flagged: Vec<String> = outliers(&r.outlier, &rates)
            .into_iter()
            .filter(|s| s.outlier)
            .map(|s| s.facility)
            .collect();
        assert_eq!(flagged, vec!["R_ALL_IN".to_string()]);
        // The hit on a claim carries the score.
        let h = designated();
        let c = claim(stay(2, "T_HIGH", "2019-03-01", "2019-03-05"));
        let with = Against {
            facility_outlier: Some(high),
            ..against(&h, &[], person("M", "1970-05-05"))
        };
        assert_eq!(codes(&c, &with), vec![RuleCode::FacilityOutlier]);
        let normal = scores.iter().find(|s| s.facility == "T1").unwrap();
        assert!(codes(
            &c,
            &Against {
                facility_outlier: Some(normal),
                ..with
            }
        )
        .is_empty());
    }

    #[test]
    fn equal_peers_have_no_outlier_and_a_zero_mad_falls_back() {
        let r = rules();
        let same: Vec<FacilityStats> = (0..6)
            .map(|i| stats(&format!("S{i}"), "township", 40, 2_000, 50))
            .collect();
        assert!(outliers(&r.outlier, &same)
            .iter()
            .all(|s| !s.outlier && s.cost_z == 0.0));
        let mut one_off = same.clone();
        one_off.push(stats("S_HIGH", "township", 40, 9_000, 50));
        let flagged: Vec<String> = outliers(&r.outlier, &one_off)
            .into_iter()
            .filter(|s| s.outlier)
            .map(|s| s.facility)
            .collect();
        assert_eq!(flagged, vec!["S_HIGH".to_string()]);
    }

    #[test]
    fn the_file_is_checked_with_lines() {
        let broken = RULES.replace("within_days = 15", "within_day = 15");
        let errors = ScreeningRules::parse("rules.toml", &broken).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("readmission") && e.message.contains("within_day")),
            "{errors:?}"
        );
        let line = RULES
            .lines()
            .position(|l| l.contains("code = \"readmission\""))
            .unwrap()
            + 1;
        assert!(
            errors
                .iter()
                .any(|e| (line - 1..=line + 6).contains(&e.line)),
            "{errors:?}"
        );
        let missing = RULES.replace("code = \"trauma_liable_party\"", "code = \"trauma_liable\"");
        let errors = ScreeningRules::parse("rules.toml", &missing).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("unknown rule `trauma_liable`")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("rule `trauma_liable_party` is missing")),
            "{errors:?}"
        );
        let bad_sex = RULES.replace("sex = \"M\"", "sex = \"male\"");
        let errors = ScreeningRules::parse("rules.toml", &bad_sex).unwrap_err();
        assert!(
            errors.iter().any(|e| e.message.contains("\"M\" or \"F\"")),
            "{errors:?}"
        );
    }

    #[test]
    fn ages_are_whole_years() {
        assert_eq!(age_on(d("2000-03-10"), d("2019-03-09")), 18);
        assert_eq!(age_on(d("2000-03-10"), d("2019-03-10")), 19);
    }
}
