//! Designated facilities: designation on a date, and where a facility stands relative to a
//! patient's county (the policy's place-of-treatment category).
use chrono::NaiveDate;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: String,
    pub effective_from: NaiveDate,
}

/// The status in force on `date`: the latest change on or before it. `None` before the
/// first designation.
pub fn status_on(history: &[StatusChange], date: NaiveDate) -> Option<&str> {
    history
        .iter()
        .filter(|c| c.effective_from <= date)
        .max_by_key(|c| c.effective_from)
        .map(|c| c.status.as_str())
}

/// One facility's screening hits of one rule, against its peers at the same level.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct RuleRate {
    pub rule: String,
    pub hits: i64,
    /// Hits per 100 claims at this facility.
    #[schema(value_type = String)]
    pub per_100: rust_decimal::Decimal,
    /// The median of the same rate over the facilities at its level (itself included).
    #[schema(value_type = String)]
    pub peer_median_per_100: rust_decimal::Decimal,
    pub peers: usize,
}

/// Hits per 100 claims, to two decimals, half up; 0 for a facility without claims.
fn per_100(hits: i64, claims: i64) -> rust_decimal::Decimal {
    use rust_decimal::{Decimal, RoundingStrategy};
    if claims <= 0 {
        return Decimal::ZERO;
    }
    (Decimal::from(hits) * Decimal::from(100) / Decimal::from(claims))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The median of a list (the mean of the middle two for an even count); 0 when empty.
pub fn median(mut values: Vec<rust_decimal::Decimal>) -> rust_decimal::Decimal {
    use rust_decimal::{Decimal, RoundingStrategy};
    if values.is_empty() {
        return Decimal::ZERO;
    }
    values.sort();
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        ((values[mid - 1] + values[mid]) / Decimal::from(2))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    }
}

/// Each rule's rate at `facility` beside the median rate of `peers` (facility code → its
/// claim count), from hit counts as (facility, rule, hits). Every rule that fired at the
/// facility or at any peer is listed, in rule order.
pub fn rule_rates(
    facility: &str,
    peers: &std::collections::BTreeMap<String, i64>,
    hits: &[(String, String, i64)],
) -> Vec<RuleRate> {
    let mut rules: Vec<&str> = hits.iter().map(|(_, r, _)| r.as_str()).collect();
    rules.sort_unstable();
    rules.dedup();
    let count = |code: &str, rule: &str| {
        hits.iter()
            .filter(|(f, r, _)| f == code && r == rule)
            .map(|(_, _, n)| *n)
            .sum::<i64>()
    };
    rules
        .into_iter()
        .map(|rule| {
            let own = count(facility, rule);
            let rates: Vec<_> = peers
                .iter()
                .map(|(code, claims)| per_100(count(code, rule), *claims))
                .collect();
            RuleRate {
                rule: rule.to_string(),
                hits: own,
                per_100: per_100(own, peers.get(facility).copied().unwrap_or(0)),
                peer_median_per_100: median(rates),
                peers: peers.len(),
            }
        })
        .collect()
}

/// The first day in `from..=to` on which the facility was not designated, if any.
pub fn first_undesignated_day(
    history: &[StatusChange],
    from: NaiveDate,
    to: NaiveDate,
) -> Option<(NaiveDate, String)> {
    let check = |d: NaiveDate| match status_on(history, d) {
        Some("designated") => None,
        other => Some((d, other.unwrap_or("not designated").to_string())),
    };
    check(from).or_else(|| {
        let mut changes: Vec<&StatusChange> = history
            .iter()
            .filter(|c| c.effective_from > from && c.effective_from <= to)
            .collect();
        changes.sort_by_key(|c| c.effective_from);
        changes.into_iter().find_map(|c| check(c.effective_from))
    })
}

/// township / county / in_city / out_of_city, from the facility's level and region path and
/// the patient's region path (province/prefecture/county).
pub fn category(
    facility_level: &str,
    facility_region_path: &str,
    patient_region_path: &str,
) -> &'static str {
    let prefix = |p: &str, n: usize| p.split('/').take(n).collect::<Vec<_>>().join("/");
    if facility_region_path == patient_region_path {
        if facility_level == "township" {
            "township"
        } else {
            "county"
        }
    } else if prefix(facility_region_path, 2) == prefix(patient_region_path, 2)
        && facility_region_path.split('/').count() >= 2
    {
        "in_city"
    } else {
        "out_of_city"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn designation_over_a_stay() {
        let h = vec![
            StatusChange {
                status: "designated".into(),
                effective_from: d("2015-01-01"),
            },
            StatusChange {
                status: "suspended".into(),
                effective_from: d("2026-03-01"),
            },
            StatusChange {
                status: "designated".into(),
                effective_from: d("2026-09-01"),
            },
        ];
        assert_eq!(status_on(&h, d("2026-02-28")), Some("designated"));
        assert_eq!(
            first_undesignated_day(&h, d("2026-02-20"), d("2026-03-05")),
            Some((d("2026-03-01"), "suspended".into()))
        );
        assert_eq!(
            first_undesignated_day(&h, d("2026-09-01"), d("2026-09-05")),
            None
        );
        assert_eq!(
            first_undesignated_day(&h, d("2014-12-30"), d("2015-01-02"))
                .unwrap()
                .1,
            "not designated"
        );
    }

    #[test]
    fn categories_relative_to_the_patient() {
        let home = "330000/330300/330326";
        assert_eq!(category("township", home, home), "township");
        assert_eq!(category("county", home, home), "county");
        assert_eq!(category("city", "330000/330300", home), "in_city");
        assert_eq!(category("county", "330000/330300/330327", home), "in_city");
        assert_eq!(category("city", "310000/310100", home), "out_of_city");
    }
}

#[cfg(test)]
mod rate_tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_facilitys_rate_stands_beside_its_peers_median() {
        let peers: std::collections::BTreeMap<String, i64> = [
            ("A".to_string(), 200),
            ("B".to_string(), 100),
            ("C".to_string(), 50),
            ("D".to_string(), 0),
        ]
        .into_iter()
        .collect();
        let hits = vec![
            ("A".to_string(), "readmission".to_string(), 8),
            ("B".to_string(), "readmission".to_string(), 1),
            ("C".to_string(), "overlapping_stay".to_string(), 1),
        ];
        let rates = rule_rates("A", &peers, &hits);
        assert_eq!(rates.len(), 2);
        // overlapping_stay: A 0; peers 0, 0, 2.00, 0 → median 0.
        assert_eq!(rates[0].rule, "overlapping_stay");
        assert_eq!(
            (
                rates[0].hits,
                rates[0].per_100,
                rates[0].peer_median_per_100
            ),
            (0, dec!(0), dec!(0))
        );
        // readmission: A 8 of 200 = 4.00; peers 4.00, 1.00, 0, 0 → median (0 + 1) / 2 = 0.50.
        assert_eq!(rates[1].rule, "readmission");
        assert_eq!(
            (
                rates[1].hits,
                rates[1].per_100,
                rates[1].peer_median_per_100
            ),
            (8, dec!(4.00), dec!(0.50))
        );
        assert_eq!(rates[1].peers, 4);
        assert_eq!(median(vec![dec!(3), dec!(1), dec!(2)]), dec!(2));
        assert_eq!(median(Vec::new()), dec!(0));
    }
}
