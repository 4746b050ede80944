//! The stay rules: a claim against the same person's other stays (overlapping, identical,
//! readmitted at the same facility or split to another, frequent short stays, amounts kept
//! just under an authority limit) and against the household's stays at the same facility.
//! Each names the other claims and the gap or the count it rests on.
use super::{Against, Hit, RuleCode, Screened, ScreeningRules, Stay};
use rust_decimal::Decimal;
use serde_json::json;

fn overlaps(a: &Stay<'_>, b: &Stay<'_>) -> bool {
    a.admission < b.discharge && b.admission < a.discharge
}

/// The ICD-10 category (letter and two digits): `K35.8` and `K35.2` are related.
pub fn category(diagnosis: &str) -> &str {
    diagnosis.get(..3).unwrap_or(diagnosis)
}

/// Days between the end of one stay and the start of the other, whichever came first; `None`
/// when they overlap.
fn gap_days(a: &Stay<'_>, b: &Stay<'_>) -> Option<(i64, NaiveOrder)> {
    if a.discharge <= b.admission {
        Some(((b.admission - a.discharge).num_days(), NaiveOrder::AFirst))
    } else if b.discharge <= a.admission {
        Some(((a.admission - b.discharge).num_days(), NaiveOrder::BFirst))
    } else {
        None
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NaiveOrder {
    AFirst,
    BFirst,
}

pub fn check(rules: &ScreeningRules, claim: &Screened<'_>, with: &Against<'_>, out: &mut Vec<Hit>) {
    let on = |code| rules.enabled(code);
    let stay = &claim.stay;
    let earlier = with.earlier_stays;
    if stay.inpatient {
        for other in earlier.iter().filter(|o| o.inpatient) {
            let identical = other.facility == stay.facility
                && other.admission == stay.admission
                && other.discharge == stay.discharge;
            if identical && on(RuleCode::IdenticalStay) {
                out.push(Hit {
                    code: RuleCode::IdenticalStay,
                    zh: format!(
                        "与申请 #{} 为同一机构、同一住院时段（{} 至 {}）的再次报销",
                        other.claim_id, stay.admission, stay.discharge
                    ),
                    en: format!(
                        "The same stay at the same facility ({} to {}) as claim #{}, claimed again",
                        stay.admission, stay.discharge, other.claim_id
                    ),
                    evidence: json!({ "other_claim_id": other.claim_id, "facility": stay.facility,
                        "admission": stay.admission, "discharge": stay.discharge, "other_total_fen": other.total_fen }),
                });
                continue;
            }
            // Same-day transfers share a date, which is not an overlap: discharge and
            // admission on one day is the normal hand-over.
            if overlaps(other, stay) && on(RuleCode::OverlappingStay) {
                let from = other.admission.max(stay.admission);
                let to = other.discharge.min(stay.discharge);
                out.push(Hit {
                    code: RuleCode::OverlappingStay,
                    zh: format!("与申请 #{}（{}）住院时间重叠（{from} 至 {to}）", other.claim_id, other.facility),
                    en: format!("Overlaps the stay of claim #{} at {} ({from} to {to})", other.claim_id, other.facility),
                    evidence: json!({ "other_claim_id": other.claim_id, "other_facility": other.facility,
                        "other_admission": other.admission, "other_discharge": other.discharge, "overlap_from": from, "overlap_to": to }),
                });
            }
        }
        readmissions(rules, stay, earlier, out);
        short_stays(rules, stay, earlier, out);
        household(rules, stay, with.household_stays, out);
    }
    structuring(rules, stay, earlier, out);
}

/// Back at a facility soon after a discharge: at the same facility (分解住院, split
/// hospitalisation), or at another with a related diagnosis and no referral (a stay split
/// across facilities). An emergency, or a referral that covers the second stay, explains a
/// transfer.
fn readmissions(rules: &ScreeningRules, stay: &Stay<'_>, earlier: &[Stay<'_>], out: &mut Vec<Hit>) {
    let same_window = i64::from(rules.readmission_days);
    let split = &rules.split_stay;
    for other in earlier.iter().filter(|o| o.inpatient) {
        let Some((gap, order)) = gap_days(other, stay) else {
            continue;
        };
        let (first, second) = match order {
            NaiveOrder::AFirst => (other, stay),
            NaiveOrder::BFirst => (stay, other),
        };
        if other.facility == stay.facility {
            if gap <= same_window && rules.enabled(RuleCode::Readmission) {
                out.push(Hit {
                    code: RuleCode::Readmission,
                    zh: format!("申请 #{} 出院（{}）后 {gap} 天在同一机构再次住院（{} 天内）", other.claim_id, first.discharge, same_window),
                    en: format!("Readmitted to the same facility {gap} days after the discharge of {} (claim #{}; window {} days)", first.discharge, other.claim_id, same_window),
                    evidence: json!({ "other_claim_id": other.claim_id, "discharge": first.discharge, "readmission": second.admission, "gap_days": gap, "within_days": same_window }),
                });
            }
            continue;
        }
        let related = category(first.diagnosis) == category(second.diagnosis);
        let explained = second.referral || second.emergency;
        if gap <= i64::from(split.within_days)
            && related
            && !explained
            && rules.enabled(RuleCode::SplitStayElsewhere)
        {
            out.push(Hit {
                code: RuleCode::SplitStayElsewhere,
                zh: format!(
                    "在 {} 出院（{}）{gap} 天后于 {} 再次住院，诊断同属 {}，无转诊",
                    first.facility,
                    first.discharge,
                    second.facility,
                    category(second.diagnosis)
                ),
                en: format!(
                    "Second stay at {} {gap} days after discharge from {} ({}), same diagnosis group {}, no referral",
                    second.facility,
                    first.facility,
                    first.discharge,
                    category(second.diagnosis)
                ),
                evidence: json!({ "other_claim_id": other.claim_id, "first_facility": first.facility, "second_facility": second.facility,
                    "discharge": first.discharge, "readmission": second.admission, "gap_days": gap, "within_days": split.within_days,
                    "diagnosis_group": category(second.diagnosis) }),
            });
        }
    }
}

/// Many short stays at one facility: each admission a day or two, several in a few weeks.
fn short_stays(rules: &ScreeningRules, stay: &Stay<'_>, earlier: &[Stay<'_>], out: &mut Vec<Hit>) {
    let p = &rules.short_stays;
    if !rules.enabled(RuleCode::FrequentShortStays) || stay.length_days() > i64::from(p.max_days) {
        return;
    }
    let window = i64::from(p.within_days);
    let others: Vec<&Stay<'_>> = earlier
        .iter()
        .filter(|o| {
            o.inpatient && o.facility == stay.facility && o.length_days() <= i64::from(p.max_days)
        })
        .filter(|o| (stay.admission - o.admission).num_days().abs() <= window)
        .collect();
    if others.len() + 1 >= p.min_stays as usize {
        out.push(Hit {
            code: RuleCode::FrequentShortStays,
            zh: format!(
                "{} 天内在 {} 住院 {} 次，每次不超过 {} 天",
                p.within_days,
                stay.facility,
                others.len() + 1,
                p.max_days
            ),
            en: format!(
                "{} stays of at most {} days at {} within {} days",
                others.len() + 1,
                p.max_days,
                stay.facility,
                p.within_days
            ),
            evidence: json!({ "facility": stay.facility, "stays": others.len() + 1, "max_days": p.max_days, "within_days": p.within_days,
                "other_claim_ids": others.iter().map(|o| o.claim_id).collect::<Vec<_>>() }),
        });
    }
}

/// Members of one household admitted to the same facility within days of each other (组团
/// 住院): the claim that makes the group reach its size, and each after it.
fn household(rules: &ScreeningRules, stay: &Stay<'_>, others: &[Stay<'_>], out: &mut Vec<Hit>) {
    let p = &rules.household;
    if !rules.enabled(RuleCode::HouseholdCluster) {
        return;
    }
    let window = i64::from(p.within_days);
    let mut members: Vec<&Stay<'_>> = others
        .iter()
        .filter(|o| o.inpatient && o.facility == stay.facility && o.person_id != stay.person_id)
        .filter(|o| (stay.admission - o.admission).num_days().abs() <= window)
        .collect();
    members.sort_by_key(|o| o.person_id);
    members.dedup_by_key(|o| o.person_id);
    if members.len() + 1 >= p.min_members as usize {
        out.push(Hit {
            code: RuleCode::HouseholdCluster,
            zh: format!(
                "同户 {} 人在 {} 天内先后于 {} 住院",
                members.len() + 1,
                p.within_days,
                stay.facility
            ),
            en: format!(
                "{} members of one household admitted to {} within {} days",
                members.len() + 1,
                stay.facility,
                p.within_days
            ),
            evidence: json!({ "facility": stay.facility, "members": members.len() + 1, "within_days": p.within_days,
                "other_claim_ids": members.iter().map(|o| o.claim_id).collect::<Vec<_>>() }),
        });
    }
}

/// Amounts kept just under an authority limit, again and again (拆分规避审批): several claims
/// of one person within a period, each in the band just below a limit.
fn structuring(rules: &ScreeningRules, stay: &Stay<'_>, earlier: &[Stay<'_>], out: &mut Vec<Hit>) {
    let p = &rules.structuring;
    if !rules.enabled(RuleCode::Structuring) {
        return;
    }
    let in_band = |amount: i64| {
        p.limits_fen.iter().copied().find(|limit| {
            let floor = Decimal::from(*limit) * (Decimal::ONE_HUNDRED - p.band_percent)
                / Decimal::ONE_HUNDRED;
            Decimal::from(amount) >= floor && amount < *limit
        })
    };
    let Some(limit) = in_band(stay.total_fen) else {
        return;
    };
    let window = i64::from(p.within_days);
    let others: Vec<&Stay<'_>> = earlier
        .iter()
        .filter(|o| in_band(o.total_fen) == Some(limit))
        .filter(|o| (stay.admission - o.admission).num_days().abs() <= window)
        .collect();
    if others.len() + 1 >= p.min_claims as usize {
        let limit_text = crate::domain::money::Fen(limit);
        out.push(Hit {
            code: RuleCode::Structuring,
            zh: format!(
                "{} 天内 {} 笔申请金额均略低于 {limit_text} 元的审批限额（差距不超过 {}%）",
                p.within_days,
                others.len() + 1,
                p.band_percent
            ),
            en: format!(
                "{} claims within {} days, each just under the {limit_text} yuan authority limit (within {}%)",
                others.len() + 1,
                p.within_days,
                p.band_percent
            ),
            evidence: json!({ "limit_fen": limit, "band_percent": p.band_percent, "claims": others.len() + 1,
                "other_claim_ids": others.iter().map(|o| o.claim_id).collect::<Vec<_>>(), "amount_fen": stay.total_fen }),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::screening::fixtures::*;

    fn p() -> PersonFacts<'static> {
        person("M", "1970-05-05")
    }

    #[test]
    fn overlapping_stays_but_not_a_same_day_transfer() {
        let h = designated();
        let earlier = [stay(1, "F2", "2019-03-01", "2019-03-10")];
        let c = claim(stay(2, "F1", "2019-03-08", "2019-03-12"));
        assert_eq!(
            codes(&c, &against(&h, &earlier, p())),
            vec![RuleCode::OverlappingStay]
        );
        let transfer = claim(Stay {
            referral: true,
            ..stay(2, "F1", "2019-03-10", "2019-03-12")
        });
        assert!(codes(&transfer, &against(&h, &earlier, p())).is_empty());
        // Without a referral the same-day hand-over is no overlap, but it is a split stay.
        let unreferred = claim(stay(2, "F1", "2019-03-10", "2019-03-12"));
        assert_eq!(
            codes(&unreferred, &against(&h, &earlier, p())),
            vec![RuleCode::SplitStayElsewhere]
        );
        let outpatient = Screened {
            stay: Stay {
                inpatient: false,
                ..c.stay
            },
            ..c
        };
        assert!(codes(&outpatient, &against(&h, &earlier, p())).is_empty());
    }

    #[test]
    fn the_same_stay_claimed_twice_under_another_invoice() {
        let h = designated();
        let earlier = [stay(1, "F1", "2019-03-01", "2019-03-10")];
        let again = claim(stay(2, "F1", "2019-03-01", "2019-03-10"));
        assert_eq!(
            codes(&again, &against(&h, &earlier, p())),
            vec![RuleCode::IdenticalStay]
        );
        // Near miss: the same dates at another facility is an overlap, not a copy; a day
        // later at the same facility is neither.
        let elsewhere = claim(stay(2, "F2", "2019-03-01", "2019-03-10"));
        assert_eq!(
            codes(&elsewhere, &against(&h, &earlier, p())),
            vec![RuleCode::OverlappingStay]
        );
        let next = claim(stay(2, "F1", "2019-03-11", "2019-03-13"));
        assert_eq!(
            codes(&next, &against(&h, &earlier, p())),
            vec![RuleCode::Readmission]
        );
    }

    #[test]
    fn readmission_within_the_window_at_the_same_facility_only() {
        let h = designated();
        let earlier = [stay(1, "F1", "2019-03-01", "2019-03-10")];
        let back = claim(stay(2, "F1", "2019-03-20", "2019-03-25"));
        assert_eq!(
            codes(&back, &against(&h, &earlier, p())),
            vec![RuleCode::Readmission]
        );
        let late = claim(stay(2, "F1", "2019-03-26", "2019-03-28"));
        assert!(
            codes(&late, &against(&h, &earlier, p())).is_empty(),
            "16 days is outside 15"
        );
        // Filed second but earlier in time: still the pair.
        let before = claim(stay(2, "F1", "2019-02-20", "2019-02-25"));
        assert_eq!(
            codes(&before, &against(&h, &earlier, p())),
            vec![RuleCode::Readmission]
        );
    }

    #[test]
    fn a_stay_split_to_another_facility_without_referral() {
        let h = designated();
        let earlier = [stay(1, "F1", "2019-03-01", "2019-03-10")];
        let elsewhere = claim(stay(2, "F2", "2019-03-11", "2019-03-18"));
        let hits = {
            let mut v = Vec::new();
            screen(&rules(), &elsewhere, &against(&h, &earlier, p()), &mut v);
            v
        };
        assert_eq!(
            hits.iter().map(|h| h.code).collect::<Vec<_>>(),
            vec![RuleCode::SplitStayElsewhere]
        );
        assert!(
            hits[0].en.contains("same diagnosis group K35")
                && hits[0].en.contains("1 days after discharge from F1"),
            "{}",
            hits[0].en
        );
        // Near misses: a transfer with referral, an emergency, an unrelated diagnosis, a
        // readmission elsewhere just outside the window.
        let referred = Screened {
            stay: Stay {
                referral: true,
                ..elsewhere.stay
            },
            ..elsewhere
        };
        assert!(codes(&referred, &against(&h, &earlier, p())).is_empty());
        let emergency = Screened {
            stay: Stay {
                emergency: true,
                ..elsewhere.stay
            },
            ..elsewhere
        };
        assert!(codes(&emergency, &against(&h, &earlier, p())).is_empty());
        let unrelated = Screened {
            stay: Stay {
                diagnosis: "S72.0",
                ..elsewhere.stay
            },
            ..elsewhere
        };
        assert!(codes(&unrelated, &against(&h, &earlier, p())).is_empty());
        let later = claim(stay(2, "F2", "2019-03-26", "2019-03-30"));
        assert!(
            codes(&later, &against(&h, &earlier, p())).is_empty(),
            "16 days after"
        );
    }

    #[test]
    fn frequent_short_stays_at_one_facility() {
        let h = designated();
        let earlier = [
            stay(1, "F1", "2019-03-01", "2019-03-02"),
            stay(2, "F1", "2019-04-01", "2019-04-03"),
        ];
        let third = claim(stay(3, "F1", "2019-05-10", "2019-05-11"));
        assert!(codes(&third, &against(&h, &earlier, p())).contains(&RuleCode::FrequentShortStays));
        // Near misses: the third stay is long, or at another facility, or months later.
        let long = claim(stay(3, "F1", "2019-05-10", "2019-05-20"));
        assert!(!codes(&long, &against(&h, &earlier, p())).contains(&RuleCode::FrequentShortStays));
        let other = claim(stay(3, "F2", "2019-05-10", "2019-05-11"));
        assert!(!codes(&other, &against(&h, &earlier, p())).contains(&RuleCode::FrequentShortStays));
        let months = claim(stay(3, "F1", "2019-08-10", "2019-08-11"));
        assert!(
            !codes(&months, &against(&h, &earlier, p())).contains(&RuleCode::FrequentShortStays)
        );
    }

    #[test]
    fn a_household_admitted_together_but_not_weeks_apart() {
        let h = designated();
        let member = |id, person, from: &str, to: &str| Stay {
            person_id: Some(person),
            ..stay(id, "F1", from, to)
        };
        let household = [
            member(11, 2, "2019-03-01", "2019-03-06"),
            member(12, 3, "2019-03-03", "2019-03-08"),
        ];
        let c = claim(stay(13, "F1", "2019-03-04", "2019-03-09"));
        let with = Against {
            household_stays: &household,
            ..against(&h, &[], p())
        };
        let mut hits = Vec::new();
        screen(&rules(), &c, &with, &mut hits);
        assert_eq!(
            hits.iter().map(|h| h.code).collect::<Vec<_>>(),
            vec![RuleCode::HouseholdCluster]
        );
        assert!(hits[0].zh.contains("同户 3 人"), "{}", hits[0].zh);
        // Near misses: the members weeks apart, or at another facility.
        let apart = [
            member(11, 2, "2019-01-05", "2019-01-08"),
            member(12, 3, "2019-02-01", "2019-02-04"),
        ];
        assert!(codes(
            &c,
            &Against {
                household_stays: &apart,
                ..with
            }
        )
        .is_empty());
        let elsewhere = claim(stay(13, "F2", "2019-03-04", "2019-03-09"));
        assert!(codes(&elsewhere, &with).is_empty());
    }

    #[test]
    fn amounts_kept_just_under_a_limit() {
        let h = designated();
        let under = |id, from: &str, to: &str, fen| Stay {
            total_fen: fen,
            ..stay(id, "F1", from, to)
        };
        // 20,000 yuan is a limit; 19,500, 19,700 and 19,800 are within 5 % under it: the
        // third claim in the band within 180 days is charged.
        let earlier = [
            under(1, "2019-01-05", "2019-01-09", 1_950_000),
            under(3, "2019-02-25", "2019-03-01", 1_970_000),
        ];
        let c = claim(under(2, "2019-04-05", "2019-04-09", 1_980_000));
        assert_eq!(
            codes(&c, &against(&h, &earlier, p())),
            vec![RuleCode::Structuring]
        );
        // Near misses: one or two claims just under are honest; so are three half a year
        // apart; one over the limit is not under it; far below the band is not structuring.
        assert!(codes(&c, &against(&h, &[], p())).is_empty());
        assert!(codes(&c, &against(&h, &earlier[..1], p())).is_empty());
        let apart = [
            under(1, "2018-09-05", "2018-09-09", 1_950_000),
            under(3, "2019-11-25", "2019-11-29", 1_970_000),
        ];
        assert!(codes(&c, &against(&h, &apart, p())).is_empty());
        let over = claim(under(2, "2019-04-05", "2019-04-09", 2_003_456));
        assert!(codes(&over, &against(&h, &earlier, p())).is_empty());
        let low = claim(under(2, "2019-04-05", "2019-04-09", 1_703_456));
        assert!(codes(&low, &against(&h, &earlier, p())).is_empty());
    }
}
