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

#[cfg(test)]
mod tests {
    use super::*;

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
