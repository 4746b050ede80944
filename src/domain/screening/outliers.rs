//! Facility outliers: each facility's cost per stay and admission rate against the peers of
//! its level, by a robust z-score (median and MAD), so that one extreme facility does not
//! hide itself by moving the mean.
use super::OutlierParams;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A facility's totals over a period, for the outlier rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// A facility's admissions over a period: how many began on a day off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeekendStats {
    pub facility: String,
    pub level: String,
    pub region_code: String,
    pub admissions: u64,
    pub rest_day_admissions: u64,
}

/// A facility's share of admissions on days off, against the facilities of its peer group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeekendScore {
    pub facility: String,
    pub peer_group: String,
    pub peers: usize,
    pub admissions: u64,
    pub rest_day_share: f64,
    pub median_share: f64,
    pub z: f64,
    pub outlier: bool,
}

/// Scores every facility with at least `min_claims` admissions against its peers (level
/// and prefecture); a share well above theirs (admitting for the weekend's idle beds) is
/// the signal, high values only.
pub fn weekend_spikes(params: &OutlierParams, stats: &[WeekendStats]) -> Vec<WeekendScore> {
    let threshold = params.threshold.to_f64().unwrap_or(f64::MAX);
    let group_of = |s: &WeekendStats| {
        format!(
            "{}/{}",
            s.level,
            s.region_code.get(..4).unwrap_or(&s.region_code)
        )
    };
    let mut eligible: Vec<&WeekendStats> = stats
        .iter()
        .filter(|s| s.admissions >= params.min_claims && s.admissions > 0)
        .collect();
    eligible.sort_by_key(|s| (group_of(s), s.facility.clone()));
    let mut out = Vec::new();
    for group in eligible.chunk_by(|a, b| group_of(a) == group_of(b)) {
        if group.len() < params.min_peers {
            continue;
        }
        let shares: Vec<f64> = group
            .iter()
            .map(|s| s.rest_day_admissions as f64 / s.admissions as f64)
            .collect();
        let (median, z) = robust_z(&shares);
        for (i, s) in group.iter().enumerate() {
            let round = |v: f64| (v * 10_000.0).round() / 10_000.0;
            out.push(WeekendScore {
                facility: s.facility.clone(),
                peer_group: group_of(s),
                peers: group.len(),
                admissions: s.admissions,
                rest_day_share: round(shares[i]),
                median_share: round(median),
                z: (z[i] * 100.0).round() / 100.0,
                outlier: z[i] > threshold,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::screening::fixtures::*;

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
}

#[cfg(test)]
mod weekend_tests {
    use super::*;
    use crate::domain::screening::fixtures::*;

    fn week(code: &str, admissions: u64, rest: u64) -> WeekendStats {
        WeekendStats {
            facility: code.into(),
            level: "county".into(),
            region_code: "330326".into(),
            admissions,
            rest_day_admissions: rest,
        }
    }

    #[test]
    fn a_facility_admitting_on_days_off_far_more_than_its_peers() {
        let r = rules();
        // About 2 in 7 days are days off; the peers admit 20-32 % then.
        let mut all: Vec<WeekendStats> = (0..8)
            .map(|i| week(&format!("W{i}"), 100, 20 + i * 2))
            .collect();
        all.push(week("W_SPIKE", 100, 70));
        let scores = weekend_spikes(&r.weekend, &all);
        let flagged: Vec<&str> = scores
            .iter()
            .filter(|s| s.outlier)
            .map(|s| s.facility.as_str())
            .collect();
        assert_eq!(flagged, vec!["W_SPIKE"]);
        let spike = scores.iter().find(|s| s.facility == "W_SPIKE").unwrap();
        let h = designated();
        let weekend = Screened {
            rest_day: true,
            ..claim(stay(2, "W_SPIKE", "2019-03-02", "2019-03-06"))
        };
        let with = Against {
            weekend: Some(spike),
            ..against(&h, &[], person("M", "1970-05-05"))
        };
        assert_eq!(
            codes(&weekend, &with),
            vec![RuleCode::WeekendAdmissionSpike]
        );
        // Near misses: a weekday admission at the same facility; a weekend at an ordinary one.
        let weekday = Screened {
            rest_day: false,
            ..weekend
        };
        assert!(codes(&weekday, &with).is_empty());
        let ordinary = scores.iter().find(|s| s.facility == "W3").unwrap();
        assert!(codes(
            &weekend,
            &Against {
                weekend: Some(ordinary),
                ..with
            }
        )
        .is_empty());
    }
}
