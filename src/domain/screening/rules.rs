//! The rules themselves: one claim against the person's other stays, the facility's
//! designation history, the other uses of its invoices and the facility's outlier score.
use super::{Hit, OutlierScore, RuleCode, ScreeningRules};
use crate::domain::facility::{self, StatusChange};
use chrono::{Datelike, NaiveDate};
use serde_json::json;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::screening::fixtures::*;

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

    #[test]
    fn ages_are_whole_years() {
        assert_eq!(age_on(d("2000-03-10"), d("2019-03-09")), 18);
        assert_eq!(age_on(d("2000-03-10"), d("2019-03-10")), 19);
    }
}
