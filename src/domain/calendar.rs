//! Working time for SLAs: working hours on working days, minus holidays, plus make-up
//! working days (调休). Times are ms since the epoch; the calendar's offset gives local time
//! (China Standard Time, UTC+8, for the shipped calendar). Pure.
use crate::domain::checked_file::{CheckError, FileChecker};
use chrono::{
    Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday,
};
use serde::Deserialize;
use std::collections::BTreeSet;
use toml::Spanned;

#[derive(Debug, Clone)]
pub struct WorkCalendar {
    pub offset: FixedOffset,
    pub day_start: NaiveTime,
    pub day_end: NaiveTime,
    pub holidays: BTreeSet<NaiveDate>,
    pub makeup_workdays: BTreeSet<NaiveDate>,
}

/// The calendar file: `policies/calendars/*.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarFile {
    pub utc_offset_hours: Spanned<i32>,
    pub day_start: Spanned<String>,
    pub day_end: Spanned<String>,
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
    #[serde(default)]
    pub makeup_workdays: Vec<Spanned<String>>,
}

/// A region's holiday file (`policies/calendars/regions/<code>.toml`): local holidays and
/// make-up days added to the national calendar, and optionally its own office hours.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionCalendarFile {
    pub day_start: Option<Spanned<String>>,
    pub day_end: Option<Spanned<String>>,
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
    #[serde(default)]
    pub makeup_workdays: Vec<Spanned<String>>,
}

const HINT: &str = "times are HH:MM in local time, dates YYYY-MM-DD";

fn parse_time(check: &mut FileChecker<'_>, s: &Spanned<String>) -> Option<NaiveTime> {
    let t = NaiveTime::parse_from_str(s.get_ref(), "%H:%M").ok();
    if t.is_none() {
        check.error(
            s.span(),
            format!("`{}` is not a time HH:MM", s.get_ref()),
            HINT,
        );
    }
    t
}

fn parse_dates(check: &mut FileChecker<'_>, list: &[Spanned<String>]) -> BTreeSet<NaiveDate> {
    list.iter()
        .filter_map(|d| {
            let date = crate::domain::dates::parse_iso_date(d.get_ref());
            if date.is_none() {
                check.error(
                    d.span(),
                    format!("`{}` is not a date YYYY-MM-DD", d.get_ref()),
                    HINT,
                );
            }
            date
        })
        .collect()
}

fn check_hours(check: &mut FileChecker<'_>, cal: &WorkCalendar, end: Option<&Spanned<String>>) {
    if cal.day_end <= cal.day_start {
        check.error(
            end.map_or(0..0, Spanned::span),
            "day_end must be after day_start",
            HINT,
        );
    }
}

impl WorkCalendar {
    /// The national calendar with a region's file laid over it.
    pub fn with_region_file(
        &self,
        name: &str,
        source: &str,
    ) -> Result<WorkCalendar, Vec<CheckError>> {
        let mut check = FileChecker::new(name, source);
        let Some(f) = check.parse::<RegionCalendarFile>(HINT) else {
            return check.finish(None);
        };
        let mut cal = self.clone();
        if let Some(t) = f.day_start.as_ref().and_then(|s| parse_time(&mut check, s)) {
            cal.day_start = t;
        }
        if let Some(t) = f.day_end.as_ref().and_then(|s| parse_time(&mut check, s)) {
            cal.day_end = t;
        }
        check_hours(&mut check, &cal, f.day_end.as_ref());
        cal.holidays.extend(parse_dates(&mut check, &f.holidays));
        cal.makeup_workdays
            .extend(parse_dates(&mut check, &f.makeup_workdays));
        check.finish(Some(cal))
    }

    pub fn from_file(name: &str, source: &str) -> Result<WorkCalendar, Vec<CheckError>> {
        let mut check = FileChecker::new(name, source);
        let Some(f) = check.parse::<CalendarFile>(HINT) else {
            return check.finish(None);
        };
        let offset = FixedOffset::east_opt(f.utc_offset_hours.get_ref().saturating_mul(3600));
        if offset.is_none() {
            check.error(
                f.utc_offset_hours.span(),
                "utc_offset_hours must be between -23 and 23",
                HINT,
            );
        }
        let day_start = parse_time(&mut check, &f.day_start);
        let day_end = parse_time(&mut check, &f.day_end);
        let holidays = parse_dates(&mut check, &f.holidays);
        let makeup_workdays = parse_dates(&mut check, &f.makeup_workdays);
        let cal = match (offset, day_start, day_end) {
            (Some(offset), Some(day_start), Some(day_end)) => Some(WorkCalendar {
                offset,
                day_start,
                day_end,
                holidays,
                makeup_workdays,
            }),
            _ => None,
        };
        if let Some(cal) = &cal {
            check_hours(&mut check, cal, Some(&f.day_end));
        }
        check.finish(cal)
    }

    /// Whether this instant falls inside working hours on a working day.
    pub fn is_working_time(&self, ms: i64) -> bool {
        let at = self.local(ms);
        self.is_working_day(at.date()) && at.time() >= self.day_start && at.time() < self.day_end
    }

    /// The local calendar date of an instant.
    pub fn local_date(&self, ms: i64) -> NaiveDate {
        self.local(ms).date()
    }

    /// The instant the local day after `ms` begins.
    pub fn end_of_local_day(&self, ms: i64) -> i64 {
        self.epoch_ms((self.local(ms).date() + Duration::days(1)).and_time(NaiveTime::MIN))
    }

    /// The last millisecond of a local calendar day: a deadline given as a date holds
    /// through that whole day, wherever the server runs.
    pub fn end_of_date(&self, day: NaiveDate) -> i64 {
        self.epoch_ms((day + Duration::days(1)).and_time(NaiveTime::MIN)) - 1
    }

    /// Whether an instant is the last millisecond of its local day: a deadline that was
    /// given as a date, and reads as that date.
    pub fn is_end_of_date(&self, ms: i64) -> bool {
        self.end_of_date(self.local_date(ms)) == ms
    }

    /// An instant for people: local time, to the minute.
    pub fn minute_text(&self, ms: i64) -> String {
        self.local(ms).format("%Y-%m-%d %H:%M").to_string()
    }

    /// A deadline for people: the date when it was given as one, else the local minute.
    pub fn deadline_text(&self, ms: i64) -> String {
        if self.is_end_of_date(ms) {
            self.local_date(ms).to_string()
        } else {
            self.minute_text(ms)
        }
    }

    /// The years among `years` with no public holiday listed: their clocks still run, on
    /// plain Monday-to-Friday working days, but the State Council's notice is missing.
    pub fn years_without_data(&self, years: impl IntoIterator<Item = i32>) -> Vec<i32> {
        years
            .into_iter()
            .filter(|&y| !self.holidays.iter().any(|d| d.year() == y))
            .collect()
    }

    /// The local calendar year of an instant.
    pub fn year_of(&self, ms: i64) -> i32 {
        self.local(ms).date().year()
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.makeup_workdays.contains(&d) {
            return true;
        }
        !self.holidays.contains(&d) && !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    fn local(&self, ms: i64) -> NaiveDateTime {
        self.offset
            .timestamp_millis_opt(ms)
            .single()
            .map(|t| t.naive_local())
            .unwrap_or_default()
    }

    fn epoch_ms(&self, local: NaiveDateTime) -> i64 {
        self.offset
            .from_local_datetime(&local)
            .single()
            .map_or(0, |t| t.timestamp_millis())
    }

    /// Working milliseconds between two instants (0 when `to` is not after `from`).
    pub fn working_ms_between(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        let (from, to) = (self.local(from_ms), self.local(to_ms));
        let mut total = 0;
        let mut day = from.date();
        while day <= to.date() {
            if self.is_working_day(day) {
                let open = day.and_time(self.day_start).max(from);
                let close = day.and_time(self.day_end).min(to);
                if close > open {
                    total += (close - open).num_milliseconds();
                }
            }
            day += Duration::days(1);
        }
        total
    }

    /// The instant at which `work_ms` of working time has passed since `start_ms`.
    pub fn add_working_ms(&self, start_ms: i64, work_ms: i64) -> i64 {
        let mut left = work_ms.max(0);
        let mut at = self.local(start_ms);
        // Bounded: a year of calendar days is far beyond any SLA.
        for _ in 0..400 {
            let day = at.date();
            if self.is_working_day(day) {
                let open = day.and_time(self.day_start).max(at);
                let close = day.and_time(self.day_end);
                if open < close {
                    let available = (close - open).num_milliseconds();
                    if left <= available {
                        return self.epoch_ms(open + Duration::milliseconds(left));
                    }
                    left -= available;
                }
            }
            at = (day + Duration::days(1)).and_time(NaiveTime::MIN);
        }
        self.epoch_ms(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> WorkCalendar {
        WorkCalendar::from_file(
            "t",
            r#"
utc_offset_hours = 8
day_start = "08:30"
day_end = "17:30"
holidays = ["2019-10-01", "2019-10-02", "2019-10-03", "2019-10-04", "2019-10-07"]
makeup_workdays = ["2019-10-12"]
"#,
        )
        .unwrap()
    }

    /// Local time (UTC+8) to ms.
    fn t(s: &str) -> i64 {
        let c = cal();
        c.epoch_ms(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
    }

    fn show(ms: i64) -> String {
        cal().local(ms).format("%Y-%m-%d %H:%M").to_string()
    }

    const H: i64 = 3_600_000;

    /// (case, start, working hours, due)
    #[test]
    fn the_shipped_calendar_covers_2019_to_2026_and_a_bare_year_is_plain_working_days() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/policies/calendars/cn.toml"
        ))
        .unwrap();
        let cal = WorkCalendar::from_file("cn.toml", &text).unwrap();
        assert_eq!(cal.years_without_data(2019..=2028), vec![2027, 2028]);
        // 2024-02-18 was a make-up Sunday; 2025-10-08 a Wednesday off; 2026-02-23 a Monday off.
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(cal.is_working_day(day("2024-02-18")));
        assert!(!cal.is_working_day(day("2025-10-08")));
        assert!(!cal.is_working_day(day("2026-02-23")));
        // A year without data: Monday to Friday work, weekends do not.
        assert!(cal.is_working_day(day("2027-01-01")));
        assert!(!cal.is_working_day(day("2027-01-02")));
    }

    #[test]
    fn due_times_skip_nights_weekends_and_holidays() {
        for (case, start, hours, due) in [
            ("same day", "2019-09-24 09:00", 4, "2019-09-24 13:00"),
            ("overnight", "2019-09-24 16:30", 2, "2019-09-25 09:30"),
            (
                "started before opening",
                "2019-09-24 06:00",
                1,
                "2019-09-24 09:30",
            ),
            ("over a weekend", "2019-09-27 17:00", 1, "2019-09-30 09:00"),
            (
                "submitted on a Saturday",
                "2019-09-28 10:00",
                9,
                "2019-09-30 17:30",
            ),
            (
                "over the National Day holidays",
                "2019-09-30 17:00",
                1,
                "2019-10-08 09:00",
            ),
            (
                "make-up Saturday counts",
                "2019-10-11 17:00",
                2,
                "2019-10-12 10:00",
            ),
            (
                "five working days",
                "2019-09-23 08:30",
                45,
                "2019-09-27 17:30",
            ),
        ] {
            assert_eq!(
                show(cal().add_working_ms(t(start), hours * H)),
                due,
                "{case}"
            );
        }
    }

    /// The clock pauses while the case waits for documents: at the return the remaining
    /// working time is kept; on resubmission the due time is the remainder from then.
    #[test]
    fn waiting_for_documents_pauses_the_clock() {
        let c = cal();
        for (case, entered, sla_h, returned, resubmitted, due) in [
            (
                "returned after 2 h, back next morning",
                "2019-09-24 09:00",
                8,
                "2019-09-24 11:00",
                "2019-09-25 08:30",
                "2019-09-25 14:30",
            ),
            (
                "away over a holiday week: 1.5 h left on Sep 30 + 4.5 h on Oct 8",
                "2019-09-30 14:00",
                8,
                "2019-09-30 16:00",
                "2019-10-08 10:00",
                "2019-10-08 16:00",
            ),
            (
                "returned after the SLA ran out",
                "2019-09-24 09:00",
                2,
                "2019-09-24 15:00",
                "2019-09-25 09:00",
                "2019-09-25 09:00",
            ),
        ] {
            let first_due = c.add_working_ms(t(entered), sla_h * H);
            let remaining = c.working_ms_between(t(returned), first_due);
            assert_eq!(
                show(c.add_working_ms(t(resubmitted), remaining)),
                due,
                "{case}"
            );
        }
        assert_eq!(
            c.working_ms_between(t("2019-09-27 16:00"), t("2019-09-30 10:00")),
            3 * H,
            "weekend excluded"
        );
        assert_eq!(
            c.working_ms_between(t("2019-10-01 09:00"), t("2019-10-07 17:00")),
            0,
            "holidays excluded"
        );
    }

    #[test]
    fn a_region_file_adds_local_holidays_to_the_national_calendar() {
        let national = cal();
        let local = national
            .with_region_file("330326", "holidays = [\"2019-10-09\"]\nday_end = \"17:00\"")
            .unwrap();
        // A Wednesday: a working day nationally, a holiday in the region.
        assert_eq!(
            national.working_ms_between(t("2019-10-09 08:30"), t("2019-10-09 17:30")),
            9 * H
        );
        assert_eq!(
            local.working_ms_between(t("2019-10-09 08:30"), t("2019-10-09 17:30")),
            0
        );
        // The national holidays still apply, and the region's shorter day.
        assert!(!local.is_working_time(t("2019-10-02 10:00")));
        assert!(local.is_working_time(t("2019-10-10 16:59")));
        assert!(!local.is_working_time(t("2019-10-10 17:00")));
        assert!(local.is_working_time(t("2019-10-12 10:00")), "make-up day");
        assert!(national
            .with_region_file("x", "holidays = [\"2019-13-01\"]")
            .unwrap_err()[0]
            .to_string()
            .starts_with("x:1:13: error: `2019-13-01` is not a date YYYY-MM-DD"));
        assert!(national.with_region_file("x", "bogus = 1").unwrap_err()[0]
            .to_string()
            .contains("bogus"));
    }

    #[test]
    fn dates_and_deadlines_read_in_the_calendars_own_zone() {
        let beijing = cal();
        // 2026-11-30T16:30:00Z is half past midnight on 1 December in Beijing.
        assert_eq!(beijing.minute_text(1_796_056_200_000), "2026-12-01 00:30");
        let day = NaiveDate::from_ymd_opt(2027, 1, 10).unwrap();
        let end = beijing.end_of_date(day);
        assert_eq!(beijing.local_date(end), day);
        assert_eq!(
            beijing.deadline_text(end),
            "2027-01-10",
            "a date reads as entered"
        );
        assert_eq!(beijing.local_date(end + 1).to_string(), "2027-01-11");
        assert!(beijing.is_end_of_date(end) && !beijing.is_end_of_date(end - 60_000));
        assert_eq!(beijing.deadline_text(end - 60_000), "2027-01-10 23:58");
        // Configured five hours behind UTC, the same date is another instant and still
        // reads as the date that was entered.
        let west = WorkCalendar::from_file(
            "w",
            "utc_offset_hours = -5\nday_start = \"09:00\"\nday_end = \"17:00\"",
        )
        .unwrap();
        let west_end = west.end_of_date(day);
        assert_eq!(west_end - end, 13 * 3_600_000);
        assert_eq!(west.deadline_text(west_end), "2027-01-10");
        assert_eq!(west.minute_text(1_796_056_200_000), "2026-11-30 11:30");
        assert!(
            !west.is_end_of_date(end),
            "Beijing's end of day is mid-afternoon there"
        );
    }

    #[test]
    fn rejects_bad_files() {
        assert!(WorkCalendar::from_file(
            "c",
            "utc_offset_hours = 8\nday_start = \"9\"\nday_end = \"17:00\""
        )
        .unwrap_err()[0]
            .to_string()
            .starts_with("c:2:13: error: `9` is not a time HH:MM"));
        assert!(WorkCalendar::from_file(
            "c",
            "utc_offset_hours = 8\nday_start = \"17:00\"\nday_end = \"09:00\""
        )
        .unwrap_err()[0]
            .to_string()
            .starts_with("c:3:11: error: day_end must be after day_start"));
    }
}
