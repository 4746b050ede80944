//! The rules one claim is checked by on its own (and its person's): coverage on the service
//! date, diagnoses that do not fit the person, the family, the special disease or an
//! inpatient stay, discharge medicine and stay length beyond their limits, a liable third
//! party on a trauma claim, and a suspiciously round total.
use super::{age_on, Against, Hit, PersonFacts, RuleCode, Screened, ScreeningRules, Stay};
use serde_json::json;

fn starts_with_any(diagnosis: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| diagnosis.starts_with(p.as_str()))
}

pub fn check(rules: &ScreeningRules, claim: &Screened<'_>, with: &Against<'_>, out: &mut Vec<Hit>) {
    let on = |code| rules.enabled(code);
    let stay = &claim.stay;
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
    if claim.family == "trauma" {
        if on(RuleCode::TraumaLiableParty) && claim.third_party_liable {
            out.push(Hit {
                code: RuleCode::TraumaLiableParty,
                zh: "外伤申请记录了责任第三方，基金不予支付，应由第三方承担".into(),
                en: "The trauma claim records a liable third party, who pays instead of the fund"
                    .into(),
                evidence: json!({ "third_party_liable": true }),
            });
        }
        let injury = &rules.injury_prefixes;
        if on(RuleCode::TraumaDiagnosisMismatch) && !starts_with_any(stay.diagnosis, injury) {
            out.push(Hit {
                code: RuleCode::TraumaDiagnosisMismatch,
                zh: format!("外伤申请的诊断 {} 不是损伤或外因编码（{}）", stay.diagnosis, injury.join("、")),
                en: format!("A trauma claim with diagnosis {}, which is not an injury or external cause ({})", stay.diagnosis, injury.join(", ")),
                evidence: json!({ "diagnosis": stay.diagnosis, "expected_prefixes": injury }),
            });
        }
    }
    let pregnancy = &rules.maternity_prefixes;
    if claim.encounter == "maternity"
        && on(RuleCode::MaternityDiagnosisMismatch)
        && !starts_with_any(stay.diagnosis, pregnancy)
    {
        out.push(Hit {
            code: RuleCode::MaternityDiagnosisMismatch,
            zh: format!("生育申请的诊断 {} 不是妊娠、分娩编码（{}）", stay.diagnosis, pregnancy.join("、")),
            en: format!("A maternity claim with diagnosis {}, which is not one of pregnancy or delivery ({})", stay.diagnosis, pregnancy.join(", ")),
            evidence: json!({ "diagnosis": stay.diagnosis, "expected_prefixes": pregnancy }),
        });
    }
    if let (Some(disease), true) = (claim.special_disease, on(RuleCode::SpecialDiseaseDiagnosis)) {
        if let Some(prefixes) = rules.special_diseases.get(disease) {
            if !starts_with_any(stay.diagnosis, prefixes) {
                out.push(Hit {
                    code: RuleCode::SpecialDiseaseDiagnosis,
                    zh: format!("按特殊病种“{disease}”报销，但诊断 {} 不属于该病种（{}）", stay.diagnosis, prefixes.join("、")),
                    en: format!("Paid as the special disease `{disease}`, but diagnosis {} is not one of it ({})", stay.diagnosis, prefixes.join(", ")),
                    evidence: json!({ "special_disease": disease, "diagnosis": stay.diagnosis, "expected_prefixes": prefixes }),
                });
            }
        }
    }
    let low = &rules.low_standard_prefixes;
    if stay.inpatient && on(RuleCode::LowStandardAdmission) && starts_with_any(stay.diagnosis, low)
    {
        out.push(Hit {
            code: RuleCode::LowStandardAdmission,
            zh: format!("诊断 {} 一般门诊即可诊治，却住院 {} 天（低标准入院）", stay.diagnosis, stay.length_days()),
            en: format!("Diagnosis {} is normally treated as an outpatient, yet the patient stayed {} days (admission below the standard)", stay.diagnosis, stay.length_days()),
            evidence: json!({ "diagnosis": stay.diagnosis, "days": stay.length_days(), "outpatient_prefixes": low }),
        });
    }
    let long = &rules.long_stay;
    if stay.inpatient
        && on(RuleCode::LongStay)
        && stay.length_days() > i64::from(long.max_days)
        && !starts_with_any(stay.diagnosis, &long.exempt_prefixes)
    {
        out.push(Hit {
            code: RuleCode::LongStay,
            zh: format!("住院 {} 天，超过 {} 天（诊断 {} 不属于需长期住院的病种）", stay.length_days(), long.max_days, stay.diagnosis),
            en: format!("A stay of {} days, beyond {} (diagnosis {} is not one that needs a long stay)", stay.length_days(), long.max_days, stay.diagnosis),
            evidence: json!({ "days": stay.length_days(), "max_days": long.max_days, "diagnosis": stay.diagnosis }),
        });
    }
    let round = &rules.round_total;
    if on(RuleCode::RoundTotal)
        && stay.total_fen >= round.min_fen
        && round.multiple_fen > 0
        && stay.total_fen % round.multiple_fen == 0
    {
        let total = crate::domain::money::Fen(stay.total_fen);
        let multiple = crate::domain::money::Fen(round.multiple_fen);
        out.push(Hit {
            code: RuleCode::RoundTotal,
            zh: format!("发票总额 {total} 元恰为 {multiple} 元的整数倍"),
            en: format!("The invoice total {total} yuan is an exact multiple of {multiple} yuan"),
            evidence: json!({ "total_fen": stay.total_fen, "multiple_fen": round.multiple_fen }),
        });
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
    let diagnosis = claim.stay.diagnosis;
    let age = age_on(person.birth, claim.stay.admission);
    for r in rules
        .restrictions
        .iter()
        .filter(|r| diagnosis.starts_with(r.prefix.as_str()))
    {
        let wrong_sex = r.sex.as_deref().is_some_and(|s| s != person.sex);
        let too_young = r.min_age.is_some_and(|m| age < m);
        let too_old = r.max_age.is_some_and(|m| age > m);
        if wrong_sex || too_young || too_old {
            out.push(Hit {
                code: RuleCode::RestrictedDiagnosis,
                zh: format!("诊断 {diagnosis}（{}）与参保人（性别 {}，{age} 岁）不符", r.zh, person.sex),
                en: format!("Diagnosis {diagnosis} ({}) does not fit the insured person (sex {}, age {age})", r.en, person.sex),
                evidence: json!({ "diagnosis": diagnosis, "prefix": r.prefix, "sex": person.sex, "age": age,
                    "allowed_sex": r.sex, "min_age": r.min_age, "max_age": r.max_age }),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::screening::fixtures::*;

    fn p() -> PersonFacts<'static> {
        person("M", "1970-05-05")
    }

    fn with_diagnosis<'a>(c: Screened<'a>, diagnosis: &'a str) -> Screened<'a> {
        Screened {
            stay: Stay {
                diagnosis,
                ..c.stay
            },
            ..c
        }
    }

    #[test]
    fn service_after_death_or_outside_enrolment() {
        let h = designated();
        let c = claim(stay(2, "F1", "2019-03-01", "2019-03-05"));
        let dead = PersonFacts {
            death: Some(d("2019-02-01")),
            ..p()
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
        screen(&rules(), &next_year, &against(&h, &[], p()), &mut hits);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].evidence["reason"], json!("not_enrolled"));
    }

    #[test]
    fn discharge_medicine_limits_acute_and_chronic() {
        let h = designated();
        let base = claim(stay(2, "F1", "2019-03-01", "2019-03-05"));
        let acute = |days| Screened {
            discharge_medicine_days: Some(days),
            ..base
        };
        assert_eq!(
            codes(&acute(4), &against(&h, &[], p())),
            vec![RuleCode::DischargeMedicine]
        );
        assert!(codes(&acute(3), &against(&h, &[], p())).is_empty());
        let chronic = |days| Screened {
            chronic: true,
            ..acute(days)
        };
        assert!(codes(&chronic(7), &against(&h, &[], p())).is_empty());
        assert_eq!(
            codes(&chronic(8), &against(&h, &[], p())),
            vec![RuleCode::DischargeMedicine]
        );
    }

    #[test]
    fn sex_and_age_restricted_diagnoses() {
        let h = designated();
        let delivery = with_diagnosis(claim(stay(2, "F1", "2019-03-01", "2019-03-05")), "O80.0");
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
        let perinatal = with_diagnosis(delivery, "P07.3");
        assert_eq!(
            codes(&perinatal, &against(&h, &[], person("F", "1990-01-01"))),
            vec![RuleCode::RestrictedDiagnosis]
        );
        assert!(codes(&perinatal, &against(&h, &[], person("F", "2018-12-01"))).is_empty());
        let prostate = with_diagnosis(delivery, "N40");
        assert_eq!(
            codes(&prostate, &against(&h, &[], person("F", "1950-01-01"))),
            vec![RuleCode::RestrictedDiagnosis]
        );
    }

    #[test]
    fn trauma_with_a_liable_party_or_without_an_injury() {
        let h = designated();
        let trauma = Screened {
            family: "trauma",
            third_party_liable: true,
            ..with_diagnosis(claim(stay(2, "F1", "2019-03-01", "2019-03-05")), "S72.001")
        };
        assert_eq!(
            codes(&trauma, &against(&h, &[], p())),
            vec![RuleCode::TraumaLiableParty]
        );
        let honest = Screened {
            third_party_liable: false,
            ..trauma
        };
        assert!(
            codes(&honest, &against(&h, &[], p())).is_empty(),
            "a fall, coded as the fracture"
        );
        let appendix = with_diagnosis(honest, "K35.8");
        assert_eq!(
            codes(&appendix, &against(&h, &[], p())),
            vec![RuleCode::TraumaDiagnosisMismatch]
        );
        let external = with_diagnosis(honest, "W19");
        assert!(
            codes(&external, &against(&h, &[], p())).is_empty(),
            "an external cause code is an injury"
        );
    }

    #[test]
    fn maternity_needs_a_pregnancy_diagnosis() {
        let h = designated();
        let birth = Screened {
            encounter: "maternity",
            ..with_diagnosis(claim(stay(2, "F1", "2019-03-01", "2019-03-04")), "O80.0")
        };
        assert!(codes(&birth, &against(&h, &[], person("F", "1990-01-01"))).is_empty());
        let flu = with_diagnosis(birth, "J10.1");
        assert_eq!(
            codes(&flu, &against(&h, &[], person("F", "1990-01-01"))),
            vec![RuleCode::MaternityDiagnosisMismatch]
        );
    }

    #[test]
    fn a_special_disease_must_be_the_diagnosis() {
        let h = designated();
        let dialysis = Screened {
            encounter: "special_outpatient",
            special_disease: Some("dialysis"),
            ..with_diagnosis(
                claim(Stay {
                    inpatient: false,
                    ..stay(2, "F1", "2019-03-01", "2019-03-01")
                }),
                "N18.5",
            )
        };
        assert!(codes(&dialysis, &against(&h, &[], p())).is_empty());
        let cold = with_diagnosis(dialysis, "J06.9");
        assert_eq!(
            codes(&cold, &against(&h, &[], p())),
            vec![RuleCode::SpecialDiseaseDiagnosis]
        );
    }

    #[test]
    fn an_outpatient_diagnosis_admitted_and_a_stay_too_long() {
        let h = designated();
        let cold = with_diagnosis(claim(stay(2, "F1", "2019-03-01", "2019-03-05")), "J06.9");
        assert_eq!(
            codes(&cold, &against(&h, &[], p())),
            vec![RuleCode::LowStandardAdmission]
        );
        // Near miss: the same diagnosis seen as an outpatient.
        let visit = Screened {
            encounter: "outpatient",
            stay: Stay {
                inpatient: false,
                ..cold.stay
            },
            ..cold
        };
        assert!(codes(&visit, &against(&h, &[], p())).is_empty());
        let long = claim(stay(2, "F1", "2019-03-01", "2019-05-15"));
        assert_eq!(
            codes(&long, &against(&h, &[], p())),
            vec![RuleCode::LongStay]
        );
        // Near misses: schizophrenia stays long, and 60 days is not beyond 60.
        let psychiatric = with_diagnosis(long, "F20.0");
        assert!(codes(&psychiatric, &against(&h, &[], p())).is_empty());
        let sixty = claim(stay(2, "F1", "2019-03-01", "2019-04-30"));
        assert!(codes(&sixty, &against(&h, &[], p())).is_empty());
    }

    #[test]
    fn a_round_total_but_not_a_small_or_uneven_one() {
        let h = designated();
        let round = claim(Stay {
            total_fen: 1_200_000,
            ..stay(2, "F1", "2019-03-01", "2019-03-05")
        });
        assert_eq!(
            codes(&round, &against(&h, &[], p())),
            vec![RuleCode::RoundTotal]
        );
        let small = claim(Stay {
            total_fen: 300_000,
            ..round.stay
        });
        assert!(codes(&small, &against(&h, &[], p())).is_empty());
        let uneven = claim(Stay {
            total_fen: 1_200_050,
            ..round.stay
        });
        assert!(codes(&uneven, &against(&h, &[], p())).is_empty());
    }
}
