//! Paying the resident (handbook §8.2): payee account numbers, the bank file (代发) and the
//! bank's result file, and reconciliation. Pure: no I/O, no keys.
use crate::domain::message::Msg;
use crate::domain::money::Fen;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// A problem with one field of a file's row (`line` 1 is the header), as a message code
/// whose words the shell renders in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub field: String,
    pub msg: Msg,
}

pub fn row_error(line: usize, field: &str, msg: Msg) -> RowError {
    RowError {
        line,
        field: field.into(),
        msg,
    }
}

/// The Luhn check (ISO/IEC 7812) that bank card numbers carry in their last digit.
pub fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Card numbers are 16 to 19 digits and carry a Luhn digit; other account numbers (passbooks,
/// 存折) run from 10 to 30 digits with no check digit.
const CARD_LENGTHS: std::ops::RangeInclusive<usize> = 16..=19;
const ACCOUNT_LENGTHS: std::ops::RangeInclusive<usize> = 10..=30;

/// The account number as the bank wants it (digits only; spaces and dashes dropped), or why
/// it cannot be one.
pub fn normalise_account(raw: &str) -> Result<String, Msg> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Msg::new("account-digits"));
    }
    if !ACCOUNT_LENGTHS.contains(&digits.len()) {
        return Err(Msg::new("account-length").count("got", digits.len() as i64));
    }
    if CARD_LENGTHS.contains(&digits.len()) && !luhn_ok(&digits) {
        return Err(Msg::new("account-luhn"));
    }
    Ok(digits)
}

/// How an account is shown everywhere but the bank file.
pub fn masked(last4: &str) -> String {
    format!("****{last4}")
}

/// The last four digits of a normalised account number.
pub fn last4(number: &str) -> &str {
    &number[number.len().saturating_sub(4)..]
}

/// The bank's reference for one attempt of one payment: it never repeats, so a bank that
/// sees the same reference twice pays it once.
pub fn reference(payment_id: i64, attempt: i64) -> String {
    format!("CF{payment_id:08}-{attempt}")
}

/// The bank file's columns, in order (documented in the README). The last row is the control
/// row: `TOTAL`, the count, then the total in yuan.
pub const BANK_FILE_COLUMNS: [&str; 6] = [
    "reference",
    "claim_id",
    "payee_name",
    "bank",
    "account_number",
    "amount_yuan",
];

/// The result file's columns: one row per reference, `status` paid, failed or returned,
/// `date` (YYYY-MM-DD) required for paid, `reason` required for failed and returned.
pub const RESULT_FILE_COLUMNS: [&str; 5] = ["reference", "status", "date", "amount_yuan", "reason"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankOutcome {
    Paid(NaiveDate),
    Failed(String),
    Returned(String),
}

impl BankOutcome {
    pub fn status(&self) -> &'static str {
        match self {
            BankOutcome::Paid(_) => "paid",
            BankOutcome::Failed(_) => "failed",
            BankOutcome::Returned(_) => "returned",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    pub line: usize,
    pub reference: String,
    pub outcome: BankOutcome,
    pub amount: Fen,
}

fn yuan_cell(line: usize, cell: &str) -> Result<Fen, RowError> {
    cell.trim()
        .parse::<Decimal>()
        .ok()
        .filter(|d| *d > Decimal::ZERO && d.scale() <= 2)
        .and_then(Fen::from_yuan_half_up)
        .ok_or_else(|| {
            row_error(
                line,
                "amount_yuan",
                Msg::new("bank-row-amount").text("value", cell),
            )
        })
}

/// Reads the bank's result file: every row checked, all errors reported by line and field;
/// the rows only when there are none.
pub fn parse_result_file(text: &str) -> Result<Vec<ResultRow>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            return Err(vec![row_error(
                1,
                "header",
                Msg::new("bank-row-header-unreadable").text("detail", e.to_string()),
            )])
        }
    };
    if header != RESULT_FILE_COLUMNS {
        return Err(vec![row_error(
            1,
            "header",
            Msg::new("bank-row-header")
                .text("expected", RESULT_FILE_COLUMNS.join(","))
                .text("found", header.join(",")),
        )]);
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(row_error(
                    line,
                    "row",
                    Msg::new("bank-row-unreadable").text("detail", e.to_string()),
                ));
                continue;
            }
        };
        if record.len() != RESULT_FILE_COLUMNS.len() {
            errors.push(row_error(
                line,
                "row",
                Msg::new("bank-row-columns")
                    .count("expected", RESULT_FILE_COLUMNS.len() as i64)
                    .count("found", record.len() as i64),
            ));
            continue;
        }
        let reference = record[0].to_string();
        if reference.is_empty() {
            errors.push(row_error(
                line,
                "reference",
                Msg::new("bank-row-reference-missing"),
            ));
            continue;
        }
        if !seen.insert(reference.clone()) {
            errors.push(row_error(
                line,
                "reference",
                Msg::new("bank-row-reference-twice").text("reference", reference.as_str()),
            ));
        }
        let reason = record[4].to_string();
        let outcome = match &record[1] {
            "paid" => match crate::domain::dates::parse_iso_date(&record[2]) {
                Some(d) => Some(BankOutcome::Paid(d)),
                None => {
                    errors.push(row_error(
                        line,
                        "date",
                        Msg::new("bank-row-paid-date").text("value", &record[2]),
                    ));
                    None
                }
            },
            "failed" | "returned" if reason.is_empty() => {
                errors.push(row_error(
                    line,
                    "reason",
                    Msg::new("bank-row-reason-missing"),
                ));
                None
            }
            "failed" => Some(BankOutcome::Failed(reason)),
            "returned" => Some(BankOutcome::Returned(reason)),
            other => {
                errors.push(row_error(
                    line,
                    "status",
                    Msg::new("bank-row-status").text("value", other),
                ));
                None
            }
        };
        let amount = yuan_cell(line, &record[3]).map_err(|e| errors.push(e)).ok();
        if let (Some(outcome), Some(amount)) = (outcome, amount) {
            rows.push(ResultRow {
                line,
                reference,
                outcome,
                amount,
            });
        }
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(row_error(2, "row", Msg::new("bank-row-none")));
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// What a set of approved claims became, to the fen: every approved yuan is paid, in flight
/// (payable, in a batch, or sent) or failed (failed or returned, waiting for a corrected
/// account); anything else is a difference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reconciliation {
    pub approved_fen: i64,
    pub paid_fen: i64,
    pub in_flight_fen: i64,
    pub failed_fen: i64,
    pub approved_count: i64,
    pub differences: Vec<Difference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Difference {
    pub claim_id: i64,
    pub approved_fen: i64,
    pub payment_fen: i64,
    pub zh: String,
    pub en: String,
}

impl Reconciliation {
    /// approved = paid + in flight + failed, to the fen, with no difference listed.
    pub fn balances(&self) -> bool {
        self.differences.is_empty()
            && self.approved_fen == self.paid_fen + self.in_flight_fen + self.failed_fen
    }
}

/// Reconciles approved claims `(claim_id, reimbursed)` against their payments
/// `(claim_id, amount, status)`, both in claim order.
pub fn reconcile(approved: &[(i64, i64)], payments: &[(i64, i64, String)]) -> Reconciliation {
    let mut r = Reconciliation::default();
    // A claim may have two payments: the decision's, and an appeal's increase.
    let mut by_claim: std::collections::BTreeMap<i64, Vec<(i64, &str)>> = Default::default();
    for (claim, amount, status) in payments {
        by_claim
            .entry(*claim)
            .or_default()
            .push((*amount, status.as_str()));
    }
    for &(claim_id, reimbursed) in approved {
        r.approved_fen += reimbursed;
        r.approved_count += 1;
        let Some(rows) = by_claim.remove(&claim_id) else {
            r.differences.push(Difference {
                claim_id,
                approved_fen: reimbursed,
                payment_fen: 0,
                zh: format!(
                    "理赔 {claim_id} 已核准 {} 元，但没有付款记录",
                    Fen(reimbursed)
                ),
                en: format!(
                    "claim {claim_id} was approved for {} but has no payment",
                    Fen(reimbursed)
                ),
            });
            continue;
        };
        let mut amount = 0;
        for (fen, status) in rows {
            amount += fen;
            match status {
                "paid" => r.paid_fen += fen,
                "failed" | "returned" => r.failed_fen += fen,
                _ => r.in_flight_fen += fen,
            }
        }
        if amount != reimbursed {
            r.differences.push(Difference {
                claim_id,
                approved_fen: reimbursed,
                payment_fen: amount,
                zh: format!(
                    "理赔 {claim_id} 核准 {} 元，付款为 {} 元",
                    Fen(reimbursed),
                    Fen(amount)
                ),
                en: format!(
                    "claim {claim_id} was approved for {} but its payment is {}",
                    Fen(reimbursed),
                    Fen(amount)
                ),
            });
        }
    }
    for (claim_id, rows) in by_claim {
        let amount: i64 = rows.iter().map(|(fen, _)| fen).sum();
        r.differences.push(Difference {
            claim_id,
            approved_fen: 0,
            payment_fen: amount,
            zh: format!(
                "付款 {} 元对应的理赔 {claim_id} 不在本期核准范围内",
                Fen(amount)
            ),
            en: format!(
                "a payment of {} belongs to claim {claim_id}, which was not approved in the period",
                Fen(amount)
            ),
        });
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_are_checked_by_length_and_luhn() {
        // A 16-digit test number with a valid Luhn digit, and the same with it changed.
        assert_eq!(
            normalise_account("6222 0212 3456 7894").unwrap(),
            "6222021234567894"
        );
        assert!(luhn_ok("6222021234567894"));
        assert!(normalise_account("6222021234567895").is_err());
        assert!(normalise_account("12345").is_err());
        assert!(normalise_account("62220212x4567894").is_err());
        // A 12-digit passbook number carries no check digit.
        assert!(normalise_account("123456789012").is_ok());
        assert_eq!(masked(last4("6222021234567894")), "****7894");
    }

    #[test]
    fn result_files_are_read_whole_or_refused_by_line() {
        let good = "reference,status,date,amount_yuan,reason\nCF00000001-1,paid,2026-12-01,120.50,\nCF00000002-1,failed,,80.00,account closed\n";
        let rows = parse_result_file(good).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].amount, Fen(12050));
        assert_eq!(
            rows[0].outcome,
            BankOutcome::Paid(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
        );
        let bad = "reference,status,date,amount_yuan,reason\nCF1-1,paid,yesterday,1.00,\nCF2-1,lost,,1.00,\nCF3-1,failed,,1.005,x\nCF3-1,returned,,2.00,\n";
        let errors = parse_result_file(bad).unwrap_err();
        let got: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            got,
            [
                (2, "date"),
                (3, "status"),
                (4, "amount_yuan"),
                (5, "reference"),
                (5, "reason")
            ]
        );
        assert!(parse_result_file("ref,status\nx,y\n").unwrap_err()[0].field == "header");
    }

    #[test]
    fn reconciliation_balances_to_the_fen_and_lists_differences() {
        let approved = [(1, 100), (2, 250), (3, 75)];
        let payments = [
            (1, 100, "paid".to_string()),
            (2, 250, "sent".to_string()),
            (3, 75, "failed".to_string()),
        ];
        let r = reconcile(&approved, &payments);
        assert!(r.balances(), "{r:?}");
        assert_eq!((r.paid_fen, r.in_flight_fen, r.failed_fen), (100, 250, 75));
        let r = reconcile(&approved, &payments[..2]);
        assert!(!r.balances());
        assert_eq!(r.differences[0].claim_id, 3);
        let r = reconcile(&approved[..2], &payments);
        assert_eq!(r.differences.len(), 1);
        assert_eq!(r.differences[0].payment_fen, 75);
    }
}
