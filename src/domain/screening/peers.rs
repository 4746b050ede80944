//! Peers: stays of the same diagnosis group (ICD-10 category) at facilities of the same level.
//! Their cost and length of stay are summarised in one pass, in fixed histograms (memory does
//! not grow with the number of claims), as a robust centre and spread: the median, and the
//! median absolute deviation scaled to estimate σ (Iglewicz & Hoaglin's modified z-score).
//! Cost is compared on a log scale, where costs of one diagnosis are roughly symmetric. A
//! special disease explains a high cost, and a higher level has its own peers. Doctors are
//! compared by how far their claims' costs lie from their peers' medians.
use super::{Against, Hit, RuleCode, Screened, ScreeningRules};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// Bins of ln(cost in fen), 0.02 wide, from ln 1 to ln 10^12.
const LOG_BINS: usize = 1400;
const LOG_WIDTH: f64 = 0.02;
/// Days of stay, 0 to 365 (longer counts as 365).
const DAY_BINS: usize = 366;

/// The peer group of a stay: its diagnosis category and its facility's level.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PeerKey {
    pub group: String,
    pub level: String,
}

impl PeerKey {
    pub fn of(diagnosis: &str, level: &str) -> PeerKey {
        PeerKey {
            group: super::stays::category(diagnosis).to_string(),
            level: level.to_string(),
        }
    }
}

/// Counts of values in fixed bins.
#[derive(Debug, Clone)]
struct Histogram {
    counts: Vec<u32>,
    width: f64,
}

impl Histogram {
    fn new(bins: usize, width: f64) -> Histogram {
        Histogram {
            counts: vec![0; bins],
            width,
        }
    }

    fn add(&mut self, value: f64) {
        let last = self.counts.len() - 1;
        let bin = ((value / self.width).floor().max(0.0) as usize).min(last);
        self.counts[bin] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    fn n(&self) -> u64 {
        self.counts.iter().map(|c| u64::from(*c)).sum()
    }

    fn centre(&self, bin: usize) -> f64 {
        (bin as f64 + 0.5) * self.width
    }

    /// The median and the scale (MAD / 0.6745; the mean absolute deviation × 1.2533 when
    /// more than half the values share a bin).
    fn centre_and_scale(&self) -> (f64, f64) {
        let n = self.n();
        if n == 0 {
            return (0.0, 0.0);
        }
        let half = n.div_ceil(2);
        let mut seen = 0u64;
        let mut median_bin = 0;
        for (bin, c) in self.counts.iter().enumerate() {
            seen += u64::from(*c);
            if seen >= half {
                median_bin = bin;
                break;
            }
        }
        let median = self.centre(median_bin);
        let mut deviations: Vec<(f64, u32)> = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(bin, c)| ((self.centre(bin) - median).abs(), *c))
            .collect();
        deviations.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut seen = 0u64;
        let mut mad = 0.0;
        for (d, c) in &deviations {
            seen += u64::from(*c);
            if seen >= half {
                mad = *d;
                break;
            }
        }
        let scale = if mad > 0.0 {
            mad / 0.6745
        } else {
            let sum: f64 = deviations.iter().map(|(d, c)| d * f64::from(*c)).sum();
            1.2533 * sum / n as f64
        };
        (median, scale)
    }
}

/// Cost of stays, by ln(fen).
#[derive(Debug, Clone)]
pub struct LogHistogram(Histogram);

/// Length of stays, in days.
#[derive(Debug, Clone)]
pub struct StayHistogram(Histogram);

impl Default for LogHistogram {
    fn default() -> Self {
        LogHistogram(Histogram::new(LOG_BINS, LOG_WIDTH))
    }
}

impl Default for StayHistogram {
    fn default() -> Self {
        StayHistogram(Histogram::new(DAY_BINS, 1.0))
    }
}

/// One peer group's histograms, filled stay by stay.
#[derive(Debug, Clone, Default)]
pub struct PeerTally {
    cost: LogHistogram,
    days: StayHistogram,
}

impl PeerTally {
    pub fn add(&mut self, total_fen: i64, days: i64) {
        self.cost.0.add((total_fen.max(1) as f64).ln());
        self.days.0.add(days.max(0) as f64);
    }

    pub fn merge(&mut self, other: &PeerTally) {
        self.cost.0.merge(&other.cost.0);
        self.days.0.merge(&other.days.0);
    }

    pub fn stats(&self, key: PeerKey) -> PeerStats {
        let (ln_cost_median, ln_cost_scale) = self.cost.0.centre_and_scale();
        let (days_median, days_scale) = self.days.0.centre_and_scale();
        PeerStats {
            key,
            n: self.cost.0.n(),
            ln_cost_median,
            ln_cost_scale,
            days_median: days_median.floor(),
            days_scale,
        }
    }
}

/// A peer group's centre and spread of cost (log scale) and length of stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerStats {
    pub key: PeerKey,
    pub n: u64,
    pub ln_cost_median: f64,
    pub ln_cost_scale: f64,
    pub days_median: f64,
    pub days_scale: f64,
}

impl PeerStats {
    /// The median cost, in fen.
    pub fn median_cost_fen(&self) -> i64 {
        self.ln_cost_median.exp().round() as i64
    }

    fn cost_z(&self, total_fen: i64) -> Option<f64> {
        (self.ln_cost_scale > 0.0)
            .then(|| ((total_fen.max(1) as f64).ln() - self.ln_cost_median) / self.ln_cost_scale)
    }

    fn days_z(&self, days: i64) -> Option<f64> {
        (self.days_scale > 0.0).then(|| (days as f64 - self.days_median) / self.days_scale)
    }
}

/// A doctor's claims: how far, on the log scale, each cost lies from its peers' median.
#[derive(Debug, Clone, Default)]
pub struct DoctorTally {
    /// Per peer group: (claims, Σ ln cost).
    groups: HashMap<PeerKey, (u64, f64)>,
}

impl DoctorTally {
    pub fn add(&mut self, key: PeerKey, total_fen: i64) {
        let entry = self.groups.entry(key).or_insert((0, 0.0));
        entry.0 += 1;
        entry.1 += (total_fen.max(1) as f64).ln();
    }

    pub fn merge(&mut self, other: &DoctorTally) {
        for (key, (n, sum)) in &other.groups {
            let entry = self.groups.entry(key.clone()).or_insert((0, 0.0));
            entry.0 += n;
            entry.1 += sum;
        }
    }

    /// A doctor's excess over the colleagues of the same facility: (claims, the doctor's
    /// mean excess less the facility's). A facility's case mix and prices are its own
    /// (the facility rule judges those); what the doctor adds to them is the doctor's.
    pub fn excess_over(
        &self,
        facility: &DoctorTally,
        peers: &HashMap<PeerKey, PeerStats>,
    ) -> (u64, f64) {
        let (n, mine) = self.excess(peers);
        let (_, theirs) = facility.excess(peers);
        (n, mine - theirs)
    }

    /// (claims, the mean of ln cost − the peer median) against the peers' medians.
    pub fn excess(&self, peers: &HashMap<PeerKey, PeerStats>) -> (u64, f64) {
        let mut n = 0;
        let mut sum = 0.0;
        for (key, (count, ln_sum)) in &self.groups {
            if let Some(p) = peers.get(key) {
                n += count;
                sum += ln_sum - *count as f64 * p.ln_cost_median;
            }
        }
        (n, if n == 0 { 0.0 } else { sum / n as f64 })
    }
}

/// A doctor's standing among the doctors of facilities of the same level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DoctorScore {
    pub doctor: String,
    pub facility: String,
    pub level: String,
    pub claims: u64,
    /// The doctor's claims cost this many times what the facility's claims of the same
    /// diagnoses cost (geometric means against the peers' medians).
    pub cost_ratio: f64,
    pub median_ratio: f64,
    pub peers: usize,
    pub z: f64,
    pub outlier: bool,
}

/// Scores every doctor with at least `min_peers` claims against the other doctors of the
/// facilities of the same level, each by their excess over their own facility
/// ([`DoctorTally::excess_over`]); high values only.
pub fn doctor_scores(
    params: &super::PeerParams,
    doctors: &[(String, String, String, u64, f64)],
) -> Vec<DoctorScore> {
    let threshold = params.threshold_f64();
    let mut eligible: Vec<&(String, String, String, u64, f64)> =
        doctors.iter().filter(|d| d.3 >= params.min_peers).collect();
    eligible.sort_by(|a, b| (&a.2, &a.0, &a.1).cmp(&(&b.2, &b.0, &b.1)));
    let mut out = Vec::new();
    for level in eligible.chunk_by(|a, b| a.2 == b.2) {
        if level.len() < 5 {
            continue;
        }
        let mut values: Vec<f64> = level.iter().map(|d| d.4).collect();
        values.sort_by(f64::total_cmp);
        let median = values[values.len() / 2];
        let mut dev: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
        dev.sort_by(f64::total_cmp);
        let mad = dev[dev.len() / 2];
        let scale = if mad > 0.0 {
            mad / 0.6745
        } else {
            1.2533 * dev.iter().sum::<f64>() / dev.len() as f64
        };
        for d in level {
            let z = if scale > 0.0 {
                (d.4 - median) / scale
            } else {
                0.0
            };
            let ratio = d.4.exp();
            out.push(DoctorScore {
                doctor: d.0.clone(),
                facility: d.1.clone(),
                level: d.2.clone(),
                claims: d.3,
                cost_ratio: (ratio * 100.0).round() / 100.0,
                median_ratio: (median.exp() * 100.0).round() / 100.0,
                peers: level.len(),
                z: (z * 100.0).round() / 100.0,
                outlier: z > threshold && ratio >= params.min_ratio_f64(),
            });
        }
    }
    out
}

pub fn check(rules: &ScreeningRules, claim: &Screened<'_>, with: &Against<'_>, out: &mut Vec<Hit>) {
    let stay = &claim.stay;
    if let (Some(peers), true) = (with.peers, stay.inpatient) {
        let enough = |p: &super::PeerParams| peers.n >= p.min_peers;
        let cost = &rules.cost_outlier;
        if rules.enabled(RuleCode::CostOutlier) && enough(cost) && claim.special_disease.is_none() {
            let median = peers.median_cost_fen().max(1);
            let ratio = stay.total_fen as f64 / median as f64;
            if let Some(z) = peers.cost_z(stay.total_fen) {
                if z > cost.threshold_f64() && ratio >= cost.min_ratio_f64() {
                    out.push(Hit {
                        code: RuleCode::CostOutlier,
                        zh: format!(
                            "费用为 {} 家{}同级机构同类诊断（{}）中位数的 {ratio:.1} 倍（{} 元，中位数 {} 元）",
                            peers.n, level_zh(&peers.key.level), peers.key.group,
                            crate::domain::money::Fen(stay.total_fen), crate::domain::money::Fen(median)
                        ),
                        en: format!(
                            "Cost {ratio:.1} × the median of {} peers (diagnosis group {}, {} level): {} yuan against {} yuan",
                            peers.n, peers.key.group, peers.key.level,
                            crate::domain::money::Fen(stay.total_fen), crate::domain::money::Fen(median)
                        ),
                        evidence: json!({ "group": peers.key.group, "level": peers.key.level, "peers": peers.n,
                            "median_fen": median, "ratio": (ratio * 10.0).round() / 10.0, "z": (z * 100.0).round() / 100.0 }),
                    });
                }
            }
        }
        let los = &rules.los_outlier;
        if rules.enabled(RuleCode::LosOutlier) && enough(los) {
            let days = stay.length_days();
            if let Some(z) = peers.days_z(days) {
                let ratio = days as f64 / peers.days_median.max(1.0);
                if z > los.threshold_f64() && ratio >= los.min_ratio_f64() {
                    out.push(Hit {
                        code: RuleCode::LosOutlier,
                        zh: format!(
                            "住院 {days} 天，同级机构同类诊断（{}）{} 例的中位数为 {} 天",
                            peers.key.group, peers.n, peers.days_median
                        ),
                        en: format!(
                            "A stay of {days} days where {} peers with diagnosis group {} stayed a median of {} days",
                            peers.n, peers.key.group, peers.days_median
                        ),
                        evidence: json!({ "group": peers.key.group, "level": peers.key.level, "peers": peers.n,
                            "days": days, "median_days": peers.days_median, "z": (z * 100.0).round() / 100.0 }),
                    });
                }
            }
        }
    }
    if let (Some(score), true) = (with.doctor, rules.enabled(RuleCode::DoctorOutlier)) {
        if score.outlier && claim.doctor == Some(score.doctor.as_str()) {
            out.push(Hit {
                code: RuleCode::DoctorOutlier,
                zh: format!(
                    "主诊医师 {} 的 {} 份申请费用为本机构同类诊断水平的 {:.1} 倍（{} 名同级医师的中位数为 {:.1} 倍）",
                    score.doctor, score.claims, score.cost_ratio, score.peers, score.median_ratio
                ),
                en: format!(
                    "Attending doctor {}: {} claims costing {:.1} × what the facility's claims of the same diagnoses cost (the median of {} doctors at this level: {:.1} ×)",
                    score.doctor, score.claims, score.cost_ratio, score.peers, score.median_ratio
                ),
                evidence: serde_json::to_value(score).unwrap_or_default(),
            });
        }
    }
}

fn level_zh(level: &str) -> &'static str {
    match level {
        "township" => "乡镇级",
        "county" => "县级",
        _ => "市级",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::screening::fixtures::*;

    /// 200 stays of K35 at county hospitals around 8,000 yuan and 5 days.
    fn peers() -> PeerStats {
        let mut t = PeerTally::default();
        for i in 0..200 {
            t.add(700_000 + (i % 20) * 10_000, 4 + (i % 3));
        }
        t.stats(PeerKey::of("K35.8", "county"))
    }

    #[test]
    fn histograms_give_a_robust_centre_and_spread() {
        let p = peers();
        assert_eq!(p.n, 200);
        let median = p.median_cost_fen();
        assert!((780_000..=810_000).contains(&median), "{median}");
        assert_eq!(p.days_median, 5.0);
        assert!(p.ln_cost_scale > 0.0 && p.days_scale > 0.0);
        // One extreme value does not move the median.
        let mut t = PeerTally::default();
        for i in 0..199 {
            t.add(700_000 + (i % 20) * 10_000, 4 + (i % 3));
        }
        t.add(900_000_000, 300);
        assert!((t.stats(PeerKey::of("K35", "county")).median_cost_fen() - median).abs() < 20_000);
    }

    #[test]
    fn cost_far_above_peers_unless_a_special_disease_explains_it() {
        let h = designated();
        let p = peers();
        let with = Against {
            peers: Some(&p),
            ..against(&h, &[], person("M", "1970-05-05"))
        };
        let costly = claim(Stay {
            total_fen: 6_012_345,
            ..stay(2, "F1", "2019-03-01", "2019-03-06")
        });
        let mut hits = Vec::new();
        screen(&rules(), &costly, &with, &mut hits);
        assert_eq!(
            hits.iter().map(|h| h.code).collect::<Vec<_>>(),
            vec![RuleCode::CostOutlier]
        );
        assert!(
            hits[0].en.contains("× the median of 200 peers"),
            "{}",
            hits[0].en
        );
        // Near misses: a listed special disease, and a cost inside the spread.
        let cancer = Screened {
            special_disease: Some("cancer"),
            stay: Stay {
                diagnosis: "C18.0",
                ..costly.stay
            },
            ..costly
        };
        assert!(!codes(&cancer, &with).contains(&RuleCode::CostOutlier));
        let normal = claim(Stay {
            total_fen: 950_000,
            ..costly.stay
        });
        assert!(codes(&normal, &with).is_empty());
        // Too few peers: not compared.
        let mut few = PeerTally::default();
        few.add(700_000, 5);
        let thin = few.stats(PeerKey::of("K35", "county"));
        assert!(codes(
            &costly,
            &Against {
                peers: Some(&thin),
                ..with
            }
        )
        .is_empty());
    }

    #[test]
    fn a_stay_far_longer_than_its_peers() {
        let h = designated();
        let p = peers();
        let with = Against {
            peers: Some(&p),
            ..against(&h, &[], person("M", "1970-05-05"))
        };
        let long = claim(stay(2, "F1", "2019-03-01", "2019-03-25"));
        assert!(codes(&long, &with).contains(&RuleCode::LosOutlier));
        let usual = claim(stay(2, "F1", "2019-03-01", "2019-03-07"));
        assert!(codes(&usual, &with).is_empty());
    }

    #[test]
    fn a_doctor_whose_claims_cost_more_than_the_peers() {
        let k35 = || PeerKey::of("K35", "county");
        let groups: HashMap<PeerKey, PeerStats> = [(k35(), peers())].into_iter().collect();
        // Eight ordinary doctors at F1; at F2, whose every stay costs twice as much,
        // four doctors billing what their facility bills; and one at F1 billing four times.
        let mut tallies: Vec<(String, &str, DoctorTally)> = Vec::new();
        for d in 0..12i64 {
            let (facility, dearer) = if d < 8 { ("F1", 1.0) } else { ("F2", 2.0) };
            let mut t = DoctorTally::default();
            for i in 0..30 {
                t.add(
                    k35(),
                    ((760_000 + i * 2_000 + d * 3_000) as f64 * dearer) as i64,
                );
            }
            tallies.push((format!("D{d}"), facility, t));
        }
        let mut costly = DoctorTally::default();
        for _ in 0..30 {
            costly.add(k35(), 3_000_000);
        }
        tallies.push(("D_HIGH".into(), "F1", costly));
        let mut facilities: HashMap<&str, DoctorTally> = HashMap::new();
        for (_, facility, t) in &tallies {
            facilities.entry(facility).or_default().merge(t);
        }
        let doctors: Vec<(String, String, String, u64, f64)> = tallies
            .iter()
            .map(|(d, facility, t)| {
                let (n, excess) = t.excess_over(&facilities[facility], &groups);
                (
                    d.clone(),
                    facility.to_string(),
                    "county".to_string(),
                    n,
                    excess,
                )
            })
            .collect();
        let scores = doctor_scores(&rules().doctor_outlier, &doctors);
        let flagged: Vec<&str> = scores
            .iter()
            .filter(|s| s.outlier)
            .map(|s| s.doctor.as_str())
            .collect();
        assert_eq!(
            flagged,
            vec!["D_HIGH"],
            "the dearer facility's doctors bill what it bills: {scores:?}"
        );
        // Compared with the eight alone, they would all have been outliers.
        let alone: Vec<_> = tallies
            .iter()
            .map(|(d, f, t)| {
                let (n, e) = t.excess(&groups);
                (d.clone(), f.to_string(), "county".to_string(), n, e)
            })
            .collect();
        let naive = doctor_scores(&rules().doctor_outlier, &alone);
        assert!(naive.iter().filter(|s| s.outlier).count() > 1, "{naive:?}");
        let high = scores.iter().find(|s| s.doctor == "D_HIGH").unwrap();
        let h = designated();
        let c = Screened {
            doctor: Some("D_HIGH"),
            ..claim(stay(2, "F1", "2019-03-01", "2019-03-05"))
        };
        let with = Against {
            doctor: Some(high),
            ..against(&h, &[], person("M", "1970-05-05"))
        };
        assert_eq!(codes(&c, &with), vec![RuleCode::DoctorOutlier]);
        // Near miss: an ordinary doctor of the same facility.
        let plain = scores.iter().find(|s| s.doctor == "D3").unwrap();
        let c = Screened {
            doctor: Some("D3"),
            ..c
        };
        assert!(codes(
            &c,
            &Against {
                doctor: Some(plain),
                ..with
            }
        )
        .is_empty());
    }
}
