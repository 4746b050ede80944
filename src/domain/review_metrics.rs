//! Reviewer performance from the audit trail (handbook §2: the handling organisation is
//! assessed). Pure: events in, figures out.
//!
//! - *Time in stage*: working time from the case entering a stage to this person's action
//!   that moved it on; the median per stage is reported.
//! - *SLA compliance*: the share of those actions taken within the stage's SLA hours.
//! - *Overturned*: a recommendation (an action whose name says approve or reject) that the
//!   next person to act in the stage it led to reversed: sent it back, or decided the
//!   opposite way.
//! - *Closed*: actions that ended the case with an outcome.
use crate::domain::calendar::WorkCalendar;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One audit event, in trail order within its case.
#[derive(Debug, Clone, Copy)]
pub struct TrailEvent<'a> {
    pub case_id: i64,
    pub workflow: &'a str,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub from_stage: Option<&'a str>,
    pub to_stage: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Approve,
    Reject,
    Back,
}

fn direction(action: &str) -> Option<Direction> {
    if action == "send_back" {
        Some(Direction::Back)
    } else if action.contains("reject") {
        Some(Direction::Reject)
    } else if action.contains("approve") {
        Some(Direction::Approve)
    } else {
        None
    }
}

#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Actions that moved a case on.
    pub actions: u32,
    pub closed: u32,
    pub sla_met: u32,
    pub sla_counted: u32,
    /// sla_met / sla_counted, absent when nothing was counted.
    pub sla_compliance: Option<f64>,
    pub recommendations: u32,
    pub overturned: u32,
    pub overturn_rate: Option<f64>,
    /// Median working milliseconds from entering a stage to acting in it.
    pub median_ms_by_stage: BTreeMap<String, i64>,
    #[serde(skip)]
    durations: BTreeMap<String, Vec<i64>>,
}

impl Figures {
    fn merge(&mut self, other: &Figures) {
        self.actions += other.actions;
        self.closed += other.closed;
        self.sla_met += other.sla_met;
        self.sla_counted += other.sla_counted;
        self.recommendations += other.recommendations;
        self.overturned += other.overturned;
        for (stage, list) in &other.durations {
            self.durations
                .entry(stage.clone())
                .or_default()
                .extend(list);
        }
    }

    /// How this actor's (or team's) working times per stage spread over buckets: one count
    /// per upper bound in `bounds_ms` (a time below it and at or above the previous one), and
    /// a last count for the times at or above every bound.
    pub fn distribution(&self, bounds_ms: &[i64]) -> BTreeMap<String, Vec<u32>> {
        self.durations
            .iter()
            .map(|(stage, times)| {
                let mut counts = vec![0u32; bounds_ms.len() + 1];
                for t in times {
                    let bucket = bounds_ms
                        .iter()
                        .position(|b| t < b)
                        .unwrap_or(bounds_ms.len());
                    counts[bucket] += 1;
                }
                (stage.clone(), counts)
            })
            .collect()
    }

    fn finish(&mut self) {
        let ratio = |a: u32, b: u32| (b > 0).then(|| f64::from(a) / f64::from(b));
        self.sla_compliance = ratio(self.sla_met, self.sla_counted);
        self.overturn_rate = ratio(self.overturned, self.recommendations);
        self.median_ms_by_stage = self
            .durations
            .iter_mut()
            .filter(|(_, v)| !v.is_empty())
            .map(|(stage, v)| {
                v.sort_unstable();
                (stage.clone(), v[v.len() / 2])
            })
            .collect();
    }
}

/// Per-actor figures. `sla_hours` gives a stage's SLA by (workflow, stage).
pub fn per_actor(
    events: &[TrailEvent<'_>],
    sla_hours: &HashMap<(&str, &str), u32>,
    calendar: &WorkCalendar,
) -> BTreeMap<i64, Figures> {
    let mut out: BTreeMap<i64, Figures> = BTreeMap::new();
    let mut entered: HashMap<&str, i64> = HashMap::new();
    // The last recommendation: who, which way, and the stage it sent the case to.
    let mut pending: Option<(i64, Direction, &str)> = None;
    let mut case = None;
    for e in events {
        if case != Some(e.case_id) {
            case = Some(e.case_id);
            entered.clear();
            pending = None;
        }
        if let (Some(from), Some(actor)) = (e.from_stage, e.actor_id) {
            let f = out.entry(actor).or_default();
            f.actions += 1;
            if e.to_stage.is_none() {
                f.closed += 1;
            }
            if let Some(&since) = entered.get(from) {
                let worked = calendar.working_ms_between(since, e.at_ms);
                f.durations
                    .entry(from.to_string())
                    .or_default()
                    .push(worked);
                if let Some(&hours) = sla_hours.get(&(e.workflow, from)) {
                    f.sla_counted += 1;
                    f.sla_met += u32::from(worked <= i64::from(hours) * 3_600_000);
                }
            }
            let dir = direction(e.action);
            if let (Some((who, was, stage)), Some(now)) = (pending, dir) {
                if who != actor && stage == from {
                    let reversed = now == Direction::Back || now != was;
                    let earlier = out.entry(who).or_default();
                    earlier.overturned += u32::from(reversed);
                    pending = None;
                }
            }
            if let (Some(d @ (Direction::Approve | Direction::Reject)), Some(to)) =
                (dir, e.to_stage)
            {
                out.entry(actor).or_default().recommendations += 1;
                pending = Some((actor, d, to));
            }
        }
        if let Some(to) = e.to_stage {
            entered.insert(to, e.at_ms);
        }
    }
    for f in out.values_mut() {
        f.finish();
    }
    out
}

/// Sums actors' figures into teams (`team_of` gives an actor's team, `None` to leave out).
pub fn per_team(
    actors: &BTreeMap<i64, Figures>,
    team_of: impl Fn(i64) -> Option<String>,
) -> BTreeMap<String, Figures> {
    let mut out: BTreeMap<String, Figures> = BTreeMap::new();
    for (actor, f) in actors {
        if let Some(team) = team_of(*actor) {
            out.entry(team).or_default().merge(f);
        }
    }
    for f in out.values_mut() {
        f.finish();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_times_spread_over_buckets() {
        let mut f = Figures::default();
        f.durations.insert(
            "initial_review".into(),
            vec![0, 3_599_999, 3_600_000, 7_200_000, 90_000_000],
        );
        let d = f.distribution(&[3_600_000, 7_200_000]);
        assert_eq!(
            d["initial_review"],
            [2, 1, 2],
            "below 1 h, 1-2 h, 2 h and more"
        );
    }

    fn always_open() -> WorkCalendar {
        WorkCalendar::from_file(
            "t",
            "utc_offset_hours = 0\nday_start = \"00:00\"\nday_end = \"23:59\"\nmakeup_workdays = []",
        )
        .unwrap()
    }

    const H: i64 = 3_600_000;

    fn ev<'a>(
        case_id: i64,
        at_h: i64,
        actor: i64,
        action: &'a str,
        from: Option<&'a str>,
        to: Option<&'a str>,
    ) -> TrailEvent<'a> {
        TrailEvent {
            case_id,
            workflow: "trauma",
            // A Monday, so the always-open calendar's weekend rule does not interfere.
            at_ms: 1_569_196_800_000 + at_h * H,
            actor_id: Some(actor),
            action,
            from_stage: from,
            to_stage: to,
        }
    }

    #[test]
    fn times_sla_closures_and_overturns_per_reviewer_and_team() {
        let events = [
            // Case 1: reviewer 10 recommends approval in 2 h; senior 20 sends it back
            // (overturned); 10 recommends rejection in 30 h (SLA 24 h missed); 20 rejects
            // (upheld); supervisor 30 signs off.
            ev(1, 0, 1, "opened", None, Some("initial_review")),
            ev(
                1,
                2,
                10,
                "recommend_approve",
                Some("initial_review"),
                Some("second_review"),
            ),
            ev(
                1,
                3,
                20,
                "send_back",
                Some("second_review"),
                Some("initial_review"),
            ),
            ev(
                1,
                33,
                10,
                "recommend_reject",
                Some("initial_review"),
                Some("second_review"),
            ),
            ev(1, 34, 20, "reject", Some("second_review"), Some("signoff")),
            ev(1, 35, 30, "reject", Some("signoff"), None),
            // Case 2: 11 recommends approval; 20 approves (upheld); 30 rejects at sign-off
            // (20 overturned).
            ev(2, 0, 1, "opened", None, Some("initial_review")),
            ev(
                2,
                4,
                11,
                "recommend_approve",
                Some("initial_review"),
                Some("second_review"),
            ),
            ev(2, 5, 20, "approve", Some("second_review"), Some("signoff")),
            ev(2, 6, 30, "reject", Some("signoff"), None),
        ];
        let sla: HashMap<(&str, &str), u32> = [(("trauma", "initial_review"), 24)].into();
        let m = per_actor(&events, &sla, &always_open());
        let r10 = &m[&10];
        assert_eq!(
            (r10.actions, r10.recommendations, r10.overturned),
            (2, 2, 1)
        );
        assert_eq!((r10.sla_met, r10.sla_counted), (1, 2));
        assert_eq!(r10.sla_compliance, Some(0.5));
        // Durations 2 h and 30 h less the minute the test calendar closes each night: the
        // median of two is the upper one.
        assert_eq!(r10.median_ms_by_stage["initial_review"], 30 * H - 60_000);
        let r11 = &m[&11];
        assert_eq!((r11.recommendations, r11.overturned), (1, 0));
        let s20 = &m[&20];
        assert_eq!(
            (s20.actions, s20.recommendations, s20.overturned),
            (3, 2, 1)
        );
        assert_eq!(
            s20.sla_compliance, None,
            "no SLA configured for second_review"
        );
        assert_eq!(m[&30].closed, 2);
        let teams = per_team(&m, |a| (a < 20).then(|| "初审组".to_string()));
        let t = &teams["初审组"];
        assert_eq!((t.recommendations, t.overturned), (3, 1));
        assert_eq!(t.median_ms_by_stage["initial_review"], 4 * H);
        assert_eq!(teams.len(), 1);
    }
}
