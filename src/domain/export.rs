//! Cells of the CSV files the service writes (web exports, import error reports, the
//! screening output), made safe to open in a spreadsheet: a cell that begins with `=`, `+`,
//! `-`, `@`, a tab or a carriage return is read as a formula there, so it gets a leading `'`
//! (OWASP's rule for CSV injection).
use std::borrow::Cow;

const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as a spreadsheet will read it literally.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A whole record, each cell neutralised.
pub fn safe_record<I, S>(record: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    record
        .into_iter()
        .map(|cell| neutralise(cell.as_ref()).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_prefixed_and_others_kept() {
        for cell in [
            "=HYPERLINK(\"http://x\"&A1,\"x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell:?}");
        }
        for cell in ["PY2026-000123", "张伟", "", "12.50", "a=b"] {
            assert!(matches!(neutralise(cell), Cow::Borrowed(_)), "{cell:?}");
        }
        assert_eq!(safe_record(["=1", "ok"]), ["'=1", "ok"]);
    }
}
