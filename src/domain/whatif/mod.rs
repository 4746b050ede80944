//! Policy what-if: past claims re-priced under a baseline and one or more drafts, in service
//! order per person so that year-to-date caps and thresholds accumulate as they would have.
//! Pure: requests in, tallies out. The calculator is [`crate::domain::policy::calculate_amounts`];
//! nothing here forks it.
mod keys;
mod svg;

pub use keys::{diff_keys, set_key, KeyChange, Sweep};
pub use svg::{change_chart, sweep_chart};

use crate::domain::policy::{
    calculate_amounts, Bill, Breakdown, CalcError, CalcRequest, Policy, YearToDate,
};
use std::collections::BTreeMap;

/// The ratio the national target names for policy-scope inpatient cost paid by the basic
/// fund (seeds 000, 004: about 75 %).
pub const TARGET_RATIO_PERCENT: u32 = 75;

/// How many of the largest changes the summary lists.
pub const TOP: usize = 10;

/// One past claim, ready to be priced again.
#[derive(Debug, Clone)]
pub struct ReplayItem {
    pub claim_id: i64,
    pub person_id: i64,
    /// Inside the reported period; claims before it (from the start of its year) are
    /// replayed only so that the year's totals are what they were.
    pub counted: bool,
    /// The coverage year the claim's totals count in.
    pub year: i32,
    /// `YYYY-MM` of the counting date.
    pub month: String,
    pub facility_level: String,
    pub group: String,
    /// Index of the baseline policy in the replayer's baselines.
    pub baseline: usize,
    /// The request, with zero year-to-date totals: the replayer sets them.
    pub request: CalcRequest,
}

/// The dimensions a summary is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    Family,
    FacilityLevel,
    EncounterKind,
    Group,
    Month,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Dimension::Family,
        Dimension::FacilityLevel,
        Dimension::EncounterKind,
        Dimension::Group,
        Dimension::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Family => "family",
            Dimension::FacilityLevel => "facility_level",
            Dimension::EncounterKind => "encounter_kind",
            Dimension::Group => "special_group",
            Dimension::Month => "month",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Dimension::Family => "案件类别",
            Dimension::FacilityLevel => "机构级别",
            Dimension::EncounterKind => "就诊类型",
            Dimension::Group => "特殊人群",
            Dimension::Month => "月份",
        }
    }
}

/// Money per layer, summed over claims (widened: no replay overflows it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layers {
    pub claims: u64,
    pub basic: i128,
    pub catastrophic: i128,
    pub assistance: i128,
    pub self_pay: i128,
    /// Policy-scope cost of inpatient stays, and what the basic fund paid of it: the
    /// reimbursement ratio the national target is about.
    pub inpatient_scope: i128,
    pub inpatient_basic: i128,
}

impl Layers {
    fn add(&mut self, bill: &Bill, inpatient: bool) {
        self.claims += 1;
        self.basic += i128::from(bill.fund_fen);
        self.catastrophic += i128::from(bill.catastrophic_fen);
        self.assistance += i128::from(bill.assistance_fen);
        self.self_pay += i128::from(bill.self_pay_fen);
        if inpatient {
            self.inpatient_scope += i128::from(bill.policy_scope_fen);
            self.inpatient_basic += i128::from(bill.fund_fen);
        }
    }

    /// What the three layers paid together: the fund's cost.
    pub fn fund_cost(&self) -> i128 {
        self.basic + self.catastrophic + self.assistance
    }

    /// Basic-fund share of inpatient policy-scope cost, in basis points (1/100 %), rounded
    /// half up; `None` without inpatient cost.
    pub fn ratio_bp(&self) -> Option<i128> {
        (self.inpatient_scope > 0).then(|| {
            (self.inpatient_basic * 20_000 + self.inpatient_scope) / (2 * self.inpatient_scope)
        })
    }
}

/// Baseline against draft.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pair {
    pub baseline: Layers,
    pub draft: Layers,
}

/// A claim whose bill the draft changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub claim_id: i64,
    pub person_id: i64,
    pub month: String,
    pub baseline: Bill,
    pub draft: Bill,
    /// The first step of the calculation that differs: its code and policy key.
    pub step_code: String,
    pub step_key: String,
}

impl Changed {
    /// How much more the resident pays under the draft (negative: less).
    pub fn self_pay_change(&self) -> i64 {
        self.draft.self_pay_fen - self.baseline.self_pay_fen
    }
}

/// What one draft does over the replay.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub total: Pair,
    pub by: BTreeMap<(Dimension, String), Pair>,
    pub changed_claims: u64,
    /// Each resident's change in out-of-pocket over the period, in fen (one per resident
    /// with a counted claim: memory grows with residents, never with claims).
    pub resident_changes: Vec<i64>,
    /// The largest changes in out-of-pocket, largest first.
    pub top: Vec<Changed>,
}

impl Outcome {
    /// Deciles (10 %, 20 %, … 90 %) of the residents' change, nearest rank.
    pub fn deciles(&self) -> Vec<i64> {
        let mut v = self.resident_changes.clone();
        v.sort_unstable();
        if v.is_empty() {
            return Vec::new();
        }
        (1..10)
            .map(|d| v[(v.len() * d).div_ceil(10).saturating_sub(1)])
            .collect()
    }

    /// Residents who pay more, less, the same.
    pub fn more_less_same(&self) -> (usize, usize, usize) {
        let more = self.resident_changes.iter().filter(|c| **c > 0).count();
        let less = self.resident_changes.iter().filter(|c| **c < 0).count();
        (more, less, self.resident_changes.len() - more - less)
    }

    fn keep_top(&mut self, changed: Changed) {
        let size = |c: &Changed| c.self_pay_change().unsigned_abs();
        if self.top.len() == TOP && self.top.last().is_some_and(|l| size(l) >= size(&changed)) {
            return;
        }
        let at = self.top.partition_point(|c| size(c) >= size(&changed));
        self.top.insert(at, changed);
        self.top.truncate(TOP);
    }
}

/// A person's running totals per (schedule, coverage year), baseline and each draft.
#[derive(Default)]
struct Running {
    person: Option<i64>,
    /// (schedule, year) -> totals.
    baseline: Vec<((String, i32), YearToDate)>,
    drafts: Vec<Vec<((String, i32), YearToDate)>>,
    /// This person's change in out-of-pocket per draft, and whether a claim was counted.
    change: Vec<i64>,
    counted: bool,
}

fn totals<'a>(
    v: &'a mut Vec<((String, i32), YearToDate)>,
    schedule: &str,
    year: i32,
) -> &'a mut YearToDate {
    let at = match v.iter().position(|((s, y), _)| s == schedule && *y == year) {
        Some(at) => at,
        None => {
            v.push(((schedule.to_string(), year), YearToDate::default()));
            v.len() - 1
        }
    };
    &mut v[at].1
}

/// Prices claims again, one person at a time, in the order they are fed.
pub struct Replayer<'p> {
    baselines: &'p [Policy],
    drafts: &'p [Policy],
    running: Running,
    outcomes: Vec<Outcome>,
    /// Claims the calculator refused (a stored request the draft cannot price), by message.
    pub refused: BTreeMap<String, u64>,
}

impl<'p> Replayer<'p> {
    pub fn new(baselines: &'p [Policy], drafts: &'p [Policy]) -> Replayer<'p> {
        Replayer {
            baselines,
            drafts,
            running: Running::default(),
            outcomes: vec![Outcome::default(); drafts.len()],
            refused: BTreeMap::new(),
        }
    }

    fn close_person(&mut self) {
        let r = &mut self.running;
        if r.counted {
            for (outcome, change) in self.outcomes.iter_mut().zip(&r.change) {
                outcome.resident_changes.push(*change);
            }
        }
    }

    /// Replays one claim; claims must come grouped by person, in service order. Returns the
    /// first draft's change when it changes a counted claim's bill.
    pub fn feed(&mut self, item: &ReplayItem) -> Option<Changed> {
        if self.running.person != Some(item.person_id) {
            self.close_person();
            self.running = Running {
                person: Some(item.person_id),
                drafts: vec![Vec::new(); self.drafts.len()],
                change: vec![0; self.drafts.len()],
                ..Running::default()
            };
        }
        let baselines = self.baselines;
        let base_policy = &baselines[item.baseline];
        let mut request = item.request.clone();
        request.ytd = *totals(&mut self.running.baseline, &base_policy.schedule, item.year);
        let base = match calculate_amounts(base_policy, &request) {
            Ok(b) => b,
            Err(e) => {
                self.refuse(&e);
                return None;
            }
        };
        *totals(&mut self.running.baseline, &base_policy.schedule, item.year) = base.ytd_after;
        let inpatient = item.request.encounter_kind == "inpatient";
        let mut first_change = None;
        let drafts = self.drafts;
        for (d, draft) in drafts.iter().enumerate() {
            request.ytd = *totals(&mut self.running.drafts[d], &draft.schedule, item.year);
            let priced = match calculate_amounts(draft, &request) {
                Ok(b) => b,
                Err(e) => {
                    self.refuse(&e);
                    continue;
                }
            };
            *totals(&mut self.running.drafts[d], &draft.schedule, item.year) = priced.ytd_after;
            if !item.counted {
                continue;
            }
            let outcome = &mut self.outcomes[d];
            outcome.total.baseline.add(&base.bill, inpatient);
            outcome.total.draft.add(&priced.bill, inpatient);
            for dim in Dimension::ALL {
                let value = match dim {
                    Dimension::Family => request.family.as_deref().unwrap_or("-"),
                    Dimension::FacilityLevel => &item.facility_level,
                    Dimension::EncounterKind => &request.encounter_kind,
                    Dimension::Group => &item.group,
                    Dimension::Month => &item.month,
                };
                let pair = outcome.by.entry((dim, value.to_string())).or_default();
                pair.baseline.add(&base.bill, inpatient);
                pair.draft.add(&priced.bill, inpatient);
            }
            if priced.bill != base.bill {
                outcome.changed_claims += 1;
                let changed = changed(item, &base, &priced);
                self.running.change[d] += changed.self_pay_change();
                outcome.keep_top(changed.clone());
                if d == 0 {
                    first_change = Some(changed);
                }
            }
        }
        self.running.counted |= item.counted;
        first_change
    }

    fn refuse(&mut self, e: &CalcError) {
        *self.refused.entry(e.to_string()).or_default() += 1;
    }

    /// The outcome of each draft, in the order the drafts were given.
    pub fn finish(mut self) -> (Vec<Outcome>, BTreeMap<String, u64>) {
        self.close_person();
        (self.outcomes, self.refused)
    }
}

fn changed(item: &ReplayItem, base: &Breakdown, draft: &Breakdown) -> Changed {
    let step = base
        .steps
        .iter()
        .zip(&draft.steps)
        .find(|(a, b)| a.code != b.code || a.amount_fen != b.amount_fen)
        .map(|(_, b)| b)
        .or_else(|| draft.steps.get(base.steps.len()))
        .or(draft.steps.last());
    Changed {
        claim_id: item.claim_id,
        person_id: item.person_id,
        month: item.month.clone(),
        baseline: base.bill.clone(),
        draft: draft.bill.clone(),
        step_code: step.map(|s| s.code.clone()).unwrap_or_default(),
        step_key: step.map(|s| s.key.clone()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::load_policy;

    fn pingyang() -> Policy {
        let text = std::fs::read_to_string("policies/pingyang-2019.toml").unwrap();
        load_policy("pingyang-2019.toml", &text).unwrap()
    }

    fn stay(claim_id: i64, person_id: i64, total_fen: i64) -> ReplayItem {
        ReplayItem {
            claim_id,
            person_id,
            counted: true,
            year: 2019,
            month: "2019-06".into(),
            facility_level: "county".into(),
            group: "-".into(),
            baseline: 0,
            request: CalcRequest {
                family: Some("out_of_region".into()),
                encounter_kind: "inpatient".into(),
                facility_category: "county".into(),
                facility_code: None,
                tier: 1,
                total_fen,
                policy_scope_fen: total_fen,
                filed: true,
                referral: false,
                emergency: false,
                special_disease: None,
                maternity_high_risk: false,
                settled_in_real_time: false,
                primary_referral: false,
                trauma_approval_form: false,
                item: None,
                units: 1,
                age: Some(40),
                ytd: YearToDate::default(),
                groups: Vec::new(),
            },
        }
    }

    #[test]
    fn the_same_policy_changes_nothing() {
        let base = [pingyang()];
        let drafts = [pingyang()];
        let mut r = Replayer::new(&base, &drafts);
        for (i, total) in [500_000, 12_000_000, 80_000].into_iter().enumerate() {
            assert!(r.feed(&stay(i as i64, 1, total)).is_none());
        }
        let (out, refused) = r.finish();
        assert!(refused.is_empty());
        assert_eq!(out[0].total.baseline, out[0].total.draft);
        assert_eq!(out[0].changed_claims, 0);
        assert_eq!(out[0].resident_changes, vec![0]);
    }

    #[test]
    fn a_raised_deductible_costs_the_resident_the_difference_times_the_ratio() {
        let base = [pingyang()];
        let mut draft = pingyang();
        draft.inpatient.categories[1].deductible = crate::domain::money::Fen(100_000);
        let drafts = [draft];
        let mut r = Replayer::new(&base, &drafts);
        // 5,000 yuan at a county hospital: 70 % above 900 -> 2,870; above 1,000 -> 2,800.
        let changed = r.feed(&stay(7, 1, 500_000)).expect("changed");
        assert_eq!(changed.baseline.fund_fen, 287_000);
        assert_eq!(changed.draft.fund_fen, 280_000);
        assert_eq!(changed.self_pay_change(), 7_000);
        assert!(changed.step_key.contains("deductible"), "{changed:?}");
        let (out, _) = r.finish();
        assert_eq!(out[0].deciles(), vec![7_000; 9]);
        assert_eq!(out[0].more_less_same(), (1, 0, 0));
    }

    #[test]
    fn top_keeps_the_largest_changes_in_order() {
        let mut o = Outcome::default();
        for i in 0..30i64 {
            let mut c = Changed {
                claim_id: i,
                person_id: i,
                month: String::new(),
                baseline: Bill::default(),
                draft: Bill::default(),
                step_code: String::new(),
                step_key: String::new(),
            };
            c.draft.self_pay_fen = (i * 37) % 101 - 50;
            o.keep_top(c);
        }
        let sizes: Vec<u64> = o
            .top
            .iter()
            .map(|c| c.self_pay_change().unsigned_abs())
            .collect();
        assert_eq!(sizes.len(), TOP);
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        assert_eq!(sizes[0], 50);
    }

    #[test]
    fn the_ratio_is_rounded_half_up_in_basis_points() {
        let l = Layers {
            inpatient_scope: 3,
            inpatient_basic: 2,
            ..Layers::default()
        };
        assert_eq!(l.ratio_bp(), Some(6667));
        assert_eq!(Layers::default().ratio_bp(), None);
    }
}
