//! Eligibility on a service date (handbook §5, seeds 003 and 004). Pure.
use chrono::{Datelike, Days, NaiveDate};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Enrolled in the central enrolment period: covered from the period start.
    Central,
    /// Enrolled mid-year: covered 90 days after payment unless exempt.
    MidYear,
    Newborn,
    /// Joined within 3 months of leaving employee insurance: no waiting period.
    FromEmployee,
}

impl Channel {
    pub fn parse(s: &str) -> Option<Channel> {
        Some(match s {
            "central" => Channel::Central,
            "mid_year" => Channel::MidYear,
            "newborn" => Channel::Newborn,
            "from_employee" => Channel::FromEmployee,
            _ => return None,
        })
    }
}

/// Special groups (五保, 低保, 特困, disabled 1-2, 脱贫/监测, orphans).
pub const SPECIAL_GROUPS: [&str; 6] = ["wubao", "dibao", "tekun", "disabled", "tuopin", "orphan"];
/// Groups exempt from the waiting period: rural low-income people (seed 004).
const WAITING_EXEMPT: [&str; 4] = ["wubao", "dibao", "tekun", "tuopin"];

#[derive(Debug, Clone)]
pub struct Enrolment {
    pub id: i64,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub enrolled_on: NaiveDate,
    pub channel: Channel,
    pub tier: u8,
    pub special_groups: Vec<String>,
    /// The coverage year the period belongs to (its start year: 2026 for Sep 2026–Aug 2027).
    pub coverage_year: i32,
    pub disabled_grade: Option<i32>,
}

impl Enrolment {
    /// The groups whose benefits apply: the special groups, with `disabled` only for a
    /// grade 1-2 disability (a registry that names the group without a grade is believed).
    pub fn benefit_groups(&self) -> Vec<String> {
        self.special_groups
            .iter()
            .filter(|g| g.as_str() != "disabled" || self.disabled_grade.is_none_or(|d| d <= 2))
            .cloned()
            .collect()
    }
}

/// The enrolment whose period holds `date`: its coverage year is the one the date counts in
/// (January to December, or September to August for students).
pub fn enrolment_on(enrolments: &[Enrolment], date: NaiveDate) -> Option<&Enrolment> {
    enrolments
        .iter()
        .find(|e| e.period_start <= date && date <= e.period_end)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eligibility {
    pub covered: bool,
    pub code: &'static str,
    pub zh: String,
    pub en: String,
    pub enrolment_id: Option<i64>,
    pub tier: u8,
    pub covered_from: Option<NaiveDate>,
}

const WAITING_DAYS: u64 = 90;

fn first_of_next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("valid first of month")
}

/// When an enrolment starts to pay, and why.
pub fn coverage_start(e: &Enrolment, birth: NaiveDate) -> (NaiveDate, &'static str) {
    let exempt = e
        .special_groups
        .iter()
        .any(|g| WAITING_EXEMPT.contains(&g.as_str()));
    match e.channel {
        Channel::Central => (e.period_start, "central"),
        Channel::FromEmployee => (e.enrolled_on.max(e.period_start), "from_employee"),
        Channel::Newborn if e.enrolled_on <= birth + Days::new(WAITING_DAYS) => {
            (birth.max(e.period_start), "newborn_in_time")
        }
        Channel::Newborn => (first_of_next_month(e.enrolled_on), "newborn_late"),
        Channel::MidYear if exempt => (e.enrolled_on.max(e.period_start), "waiting_exempt"),
        Channel::MidYear => (e.enrolled_on + Days::new(WAITING_DAYS), "waiting_period"),
    }
}

pub fn check(
    enrolments: &[Enrolment],
    birth: NaiveDate,
    death: Option<NaiveDate>,
    date: NaiveDate,
) -> Eligibility {
    let no = |code, zh: String, en: String| Eligibility {
        covered: false,
        code,
        zh,
        en,
        enrolment_id: None,
        tier: 1,
        covered_from: None,
    };
    if let Some(d) = death {
        if date > d {
            return no(
                "after_death",
                format!("就诊日期 {date} 晚于死亡日期 {d}"),
                format!("Service date {date} is after the date of death {d}"),
            );
        }
    }
    let active: Vec<&Enrolment> = enrolments
        .iter()
        .filter(|e| e.period_start <= date && date <= e.period_end)
        .collect();
    let e = match active.as_slice() {
        [] => {
            return no(
                "not_enrolled",
                format!("{date} 不在任何参保期内"),
                format!("No enrolment covers {date}"),
            )
        }
        [one] => *one,
        [a, b, ..] => {
            return no(
                "double_coverage",
                format!(
                    "同一期间重复参保（登记 {} 与 {}），不得重复享受待遇",
                    a.id, b.id
                ),
                format!(
                    "Enrolments {} and {} cover the same period: no double coverage",
                    a.id, b.id
                ),
            )
        }
    };
    let (from, why) = coverage_start(e, birth);
    let found = |code, zh, en| Eligibility {
        covered: true,
        code,
        zh,
        en,
        enrolment_id: Some(e.id),
        tier: e.tier,
        covered_from: Some(from),
    };
    if date < from {
        let (zh, en) = match why {
            "waiting_period" => (
                format!("年中参保，缴费后90天等待期，{from} 起享受待遇"),
                format!("Mid-year enrolment: 90-day waiting period, covered from {from}"),
            ),
            "newborn_late" => (
                format!("新生儿出生90天后参保，缴费次月 {from} 起享受待遇"),
                format!(
                    "Newborn enrolled after 90 days: covered from the month after payment, {from}"
                ),
            ),
            _ => (format!("{from} 起享受待遇"), format!("Covered from {from}")),
        };
        return Eligibility {
            covered: false,
            ..found(why, zh, en)
        };
    }
    let (zh, en) = match why {
        "central" => (
            "集中参保期参保，自参保年度起享受待遇".to_string(),
            "Central enrolment: covered from the start of the year".to_string(),
        ),
        "newborn_in_time" => (
            "新生儿出生90天内参保，自出生之日起享受待遇".into(),
            "Newborn enrolled within 90 days: covered from birth".into(),
        ),
        "from_employee" => (
            "职工医保转入，无等待期".into(),
            "Joined from employee insurance: no waiting period".into(),
        ),
        "waiting_exempt" => (
            "困难群体免等待期".into(),
            "Low-income group: exempt from the waiting period".into(),
        ),
        _ => (
            format!("等待期已满，{from} 起享受待遇"),
            format!("Waiting period over: covered from {from}"),
        ),
    };
    found(why, zh, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn enrolment(channel: Channel, enrolled: &str, groups: &[&str]) -> Enrolment {
        Enrolment {
            id: 1,
            period_start: d("2026-01-01"),
            period_end: d("2026-12-31"),
            enrolled_on: d(enrolled),
            channel,
            tier: 1,
            special_groups: groups.iter().map(|g| g.to_string()).collect(),
            coverage_year: 2026,
            disabled_grade: None,
        }
    }

    /// (case, enrolments, birth date, death date, service date, covered, code)
    type Row = (
        &'static str,
        Vec<Enrolment>,
        NaiveDate,
        Option<&'static str>,
        &'static str,
        bool,
        &'static str,
    );

    /// Each row: the case from handbook §5, the enrolment, birth date, service date, covered, code.
    #[test]
    fn handbook_table() {
        let birth = d("1980-05-05");
        let rows: Vec<Row> = vec![
            (
                "central period: covered from Jan 1",
                vec![enrolment(Channel::Central, "2025-11-20", &[])],
                birth,
                None,
                "2026-01-02",
                true,
                "central",
            ),
            (
                "mid-year: inside the 90 days",
                vec![enrolment(Channel::MidYear, "2026-03-01", &[])],
                birth,
                None,
                "2026-05-29",
                false,
                "waiting_period",
            ),
            (
                "mid-year: day 90 after payment",
                vec![enrolment(Channel::MidYear, "2026-03-01", &[])],
                birth,
                None,
                "2026-05-30",
                true,
                "waiting_period",
            ),
            (
                "mid-year 低保: no waiting",
                vec![enrolment(Channel::MidYear, "2026-03-01", &["dibao"])],
                birth,
                None,
                "2026-03-02",
                true,
                "waiting_exempt",
            ),
            (
                "mid-year disabled only: waits",
                vec![enrolment(Channel::MidYear, "2026-03-01", &["disabled"])],
                birth,
                None,
                "2026-03-02",
                false,
                "waiting_period",
            ),
            (
                "from employee insurance: no waiting",
                vec![enrolment(Channel::FromEmployee, "2026-04-10", &[])],
                birth,
                None,
                "2026-04-11",
                true,
                "from_employee",
            ),
            (
                "newborn within 90 days: from birth",
                vec![enrolment(Channel::Newborn, "2026-04-20", &[])],
                d("2026-02-01"),
                None,
                "2026-02-01",
                true,
                "newborn_in_time",
            ),
            (
                "newborn after 90 days: month after payment",
                vec![enrolment(Channel::Newborn, "2026-06-15", &[])],
                d("2026-02-01"),
                None,
                "2026-06-30",
                false,
                "newborn_late",
            ),
            (
                "newborn after 90 days: from the 1st",
                vec![enrolment(Channel::Newborn, "2026-06-15", &[])],
                d("2026-02-01"),
                None,
                "2026-07-01",
                true,
                "newborn_late",
            ),
            (
                "outside the coverage year",
                vec![enrolment(Channel::Central, "2025-11-20", &[])],
                birth,
                None,
                "2027-01-01",
                false,
                "not_enrolled",
            ),
            (
                "after death",
                vec![enrolment(Channel::Central, "2025-11-20", &[])],
                birth,
                Some("2026-06-01"),
                "2026-06-02",
                false,
                "after_death",
            ),
            (
                "double coverage",
                vec![
                    enrolment(Channel::Central, "2025-11-20", &[]),
                    Enrolment {
                        id: 2,
                        ..enrolment(Channel::MidYear, "2026-02-01", &[])
                    },
                ],
                birth,
                None,
                "2026-08-01",
                false,
                "double_coverage",
            ),
        ];
        for (case, enrolments, birth, death, date, covered, code) in rows {
            let got = check(&enrolments, birth, death.map(d), d(date));
            assert_eq!((got.covered, got.code), (covered, code), "{case}: {got:?}");
            assert!(!got.zh.is_empty() && !got.en.is_empty());
        }
    }

    #[test]
    fn student_year_runs_september_to_august() {
        let e = Enrolment {
            period_start: d("2026-09-01"),
            period_end: d("2027-08-31"),
            ..enrolment(Channel::Central, "2026-08-15", &[])
        };
        assert!(
            check(
                std::slice::from_ref(&e),
                d("2010-01-01"),
                None,
                d("2027-08-31")
            )
            .covered
        );
        assert!(
            !check(
                std::slice::from_ref(&e),
                d("2010-01-01"),
                None,
                d("2026-08-31")
            )
            .covered
        );
        // A stay counted in June 2027 falls in the year that began in September 2026.
        let earlier = Enrolment {
            id: 7,
            period_start: d("2025-09-01"),
            period_end: d("2026-08-31"),
            coverage_year: 2025,
            ..e.clone()
        };
        let both = [earlier, e];
        assert_eq!(
            enrolment_on(&both, d("2027-06-30")).map(|e| e.coverage_year),
            Some(2026)
        );
        assert_eq!(
            enrolment_on(&both, d("2026-08-31")).map(|e| e.coverage_year),
            Some(2025)
        );
    }

    #[test]
    fn only_grade_one_and_two_disability_is_a_benefit_group() {
        let mut e = enrolment(Channel::Central, "2025-11-20", &["disabled", "dibao"]);
        e.disabled_grade = Some(3);
        assert_eq!(e.benefit_groups(), vec!["dibao".to_string()]);
        e.disabled_grade = Some(2);
        assert_eq!(e.benefit_groups().len(), 2);
    }
}
