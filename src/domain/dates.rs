//! ISO dates as the platform stores and exchanges them.
use chrono::NaiveDate;

/// A `YYYY-MM-DD` date, strictly: ten characters, zero-padded, a real calendar day.
/// Hand-rolled because chrono's format-string parser re-reads its pattern on every call,
/// which showed up at several percent of a bulk import.
pub fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
}

/// The calendar day (China Standard Time, UTC+8) of a moment in Unix ms, as YYYY-MM-DD.
pub fn local_date(ms: i64) -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&offset).format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The last millisecond of a calendar day in China Standard Time: a deadline given as a
/// date holds through that whole day wherever the server runs.
pub fn end_of_local_day(day: NaiveDate) -> i64 {
    let next = day.succ_opt().unwrap_or(day);
    next.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis() - 8 * 3_600_000 - 1)
}

/// Whether a moment is the last millisecond of its China Standard Time day, i.e. a deadline
/// that was given as a date and reads as that date.
pub fn is_end_of_local_day(ms: i64) -> bool {
    (ms + 8 * 3_600_000 + 1).rem_euclid(86_400_000) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_deadline_ends_with_its_day_in_china() {
        let day = NaiveDate::from_ymd_opt(2027, 1, 10).unwrap();
        let end = end_of_local_day(day);
        assert_eq!(local_date(end), "2027-01-10");
        assert_eq!(local_date(end + 1), "2027-01-11");
        assert!(is_end_of_local_day(end) && !is_end_of_local_day(end - 60_000));
    }

    #[test]
    fn accepts_only_real_zero_padded_days() {
        assert_eq!(
            parse_iso_date("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        for bad in [
            "2023-02-29",
            "2024-2-29",
            "2024-02-9 ",
            "2024/02/09",
            "20240209",
            "2024-13-01",
            "2024-00-10",
            "+202-01-01",
            "２０２４-01-01",
            "",
        ] {
            assert_eq!(parse_iso_date(bad), None, "{bad:?}");
        }
    }
}
