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
