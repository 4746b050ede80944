//! What every list page shares: reading its filter fields (blank means "any", a bad value
//! names its field), carrying the filters to the next page and to the CSV export, and
//! writing the CSV.
use super::ctx::{encode_component, Ctx, PageError};
use crate::error::AppError;
use crate::error::Msg;
use actix_web::http::header;
use actix_web::HttpResponse;

/// The most rows one CSV export carries.
pub const CSV_MAX: i64 = 100_000;

/// A typed-in filter value: trimmed, and none when blank.
pub fn blank(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A whole number, or the field and what it holds instead.
pub fn number(field: &str, s: &str) -> Result<Option<i64>, AppError> {
    blank(s)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| AppError::field(field, Msg::new("field-number").text("value", v)))
        })
        .transpose()
}

/// Local midnight of a YYYY-MM-DD day, in ms; the zone is `offset_ms` east of UTC.
fn day_start_ms(day: &str, offset_ms: i64) -> Option<i64> {
    let date = crate::domain::dates::parse_iso_date(day)?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() - offset_ms)
}

/// The start of a typed-in day in the agency's zone (`offset_ms` east of UTC), or the field
/// and what it holds instead.
pub fn day_start(field: &str, s: &str, offset_ms: i64) -> Result<Option<i64>, AppError> {
    blank(s)
        .map(|v| {
            day_start_ms(&v, offset_ms)
                .ok_or_else(|| AppError::field(field, Msg::new("field-date").text("value", v)))
        })
        .transpose()
}

/// The end of a typed-in day (the next midnight), so that a "to" day is included.
pub fn day_end(field: &str, s: &str, offset_ms: i64) -> Result<Option<i64>, AppError> {
    Ok(day_start(field, s, offset_ms)?.map(|ms| ms + 86_400_000))
}

/// One of the values a field allows, or the field and what it allows.
pub fn one_of(field: &str, s: &str, allowed: &[&str]) -> Result<Option<String>, AppError> {
    match blank(s) {
        Some(v) if !allowed.contains(&v.as_str()) => Err(AppError::field(
            field,
            Msg::new("field-one-of")
                .text("allowed", allowed.join(", "))
                .text("value", v),
        )),
        v => Ok(v),
    }
}

/// Reads every filter field before giving up, so that each wrong field gets its message at
/// once rather than one per submission.
#[derive(Default)]
pub struct Checked(Vec<crate::error::FieldError>);

impl Checked {
    /// The value, or its default with the field's errors kept for [`Checked::finish`].
    pub fn keep<T: Default>(&mut self, read: Result<T, AppError>) -> T {
        match read {
            Ok(v) => v,
            Err(AppError::Validation(fields)) => {
                self.0.extend(fields);
                T::default()
            }
            Err(other) => {
                self.0.push(crate::error::FieldError::new(
                    "",
                    Msg::new("detail").both("text", other.text("zh-CN"), other.text("en")),
                ));
                T::default()
            }
        }
    }

    pub fn finish<T>(self, value: T) -> Result<T, AppError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// A list page's filters: read, or their messages to show next to the fields (any other
/// failure is an error page).
pub fn filters<S>(
    ctx: &Ctx,
    parsed: Result<S, AppError>,
) -> Result<Result<S, serde_json::Map<String, serde_json::Value>>, PageError> {
    match parsed {
        Ok(s) => Ok(Ok(s)),
        Err(e) => ctx.form_errors(e, str::to_string).map(Err),
    }
}

/// The filled-in filters as `&name=value…`, to carry to the next page and to the export.
pub fn query_string(fields: &[(&str, &str)]) -> String {
    let mut q = String::new();
    for (name, value) in fields {
        let value = value.trim();
        if !value.is_empty() {
            q.push('&');
            q.push_str(name);
            q.push('=');
            q.push_str(&encode_component(value));
        }
    }
    q
}

/// Rows as CSV with a UTF-8 byte-order mark (so that spreadsheet programs read the Chinese
/// text correctly), sent as a download that is not cached.
pub fn csv_download<const N: usize>(
    ctx: &Ctx,
    name: &str,
    header: [&str; N],
    rows: impl Iterator<Item = [String; N]>,
) -> Result<HttpResponse, PageError> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let fail = |e: csv::Error| ctx.fail(AppError::internal(e));
    w.write_record(header).map_err(fail)?;
    for row in rows {
        // A resident's text is never a live formula in the auditor's spreadsheet.
        w.write_record(crate::domain::export::safe_record(&row))
            .map_err(fail)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| ctx.fail(AppError::internal(anyhow::anyhow!("csv: {e}"))))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// An optional amount of fen as a CSV cell: blank when there is none.
pub fn fen_cell(fen: Option<i64>) -> String {
    fen.map(|f| f.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEIJING: i64 = 8 * 3_600_000;

    #[test]
    fn filter_fields_are_checked_and_named() {
        assert_eq!(number("case_id", " 12 ").unwrap(), Some(12));
        assert_eq!(number("case_id", "  ").unwrap(), None);
        let err = number("case_id", "12x").unwrap_err().to_string();
        assert!(err.contains("case_id") && err.contains("12x"), "{err}");
        assert!(day_start("to", "2026-13-01", BEIJING)
            .unwrap_err()
            .to_string()
            .contains("to"));
        // Midnight in Beijing is 16:00 UTC the day before; the end of a day is the next midnight.
        let start = day_start("from", "2026-11-30", BEIJING).unwrap().unwrap();
        assert_eq!(start, 1_795_968_000_000);
        assert_eq!(
            day_end("to", "2026-11-30", BEIJING).unwrap().unwrap() - start,
            86_400_000
        );
        assert!(one_of("state", "gone", &["open", "closed"]).is_err());
        assert_eq!(
            one_of("state", "open", &["open", "closed"]).unwrap(),
            Some("open".into())
        );
        assert_eq!(one_of("state", "", &["open"]).unwrap(), None);
    }

    #[test]
    fn every_wrong_field_is_reported_at_once() {
        let mut c = Checked::default();
        let id = c.keep(number("case_id", "x"));
        let from = c.keep(day_start("from", "2026-02-30", BEIJING));
        let ok = c.keep(number("before", "7"));
        assert_eq!((id, from, ok), (None, None, Some(7)));
        match c.finish(()) {
            Err(AppError::Validation(fields)) => {
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(names, ["case_id", "from"]);
            }
            other => panic!("expected both fields, got {other:?}"),
        }
        assert!(Checked::default().finish(1).is_ok());
    }

    #[test]
    fn filters_are_carried_encoded_and_blank_ones_dropped() {
        assert_eq!(
            query_string(&[("resident", "张 伟"), ("facility", " "), ("min", "1&2")]),
            "&resident=%E5%BC%A0%20%E4%BC%9F&min=1%262"
        );
    }
}
