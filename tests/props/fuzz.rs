//! Fuzzing the parsers of everything a user or an admin hands the service: the shipped
//! workflow, policy, screening, sanctions and controls files mutated byte by byte, CSV rows
//! of arbitrary bytes, and arbitrary ID numbers, dates, amounts and guards. None may panic,
//! and every refusal of a file names a line inside it.
use claimflow::cli::import::{yuan_to_fen, ClaimRow, CLAIM_COLUMNS};
use claimflow::domain::checked_file::CheckError;
use claimflow::domain::claim::{Claim, DEFAULT_MAX_CLAIM_FEN};
use claimflow::domain::controls::Controls;
use claimflow::domain::dates::parse_iso_date;
use claimflow::domain::person::IdNumber;
use claimflow::domain::policy::load_policy;
use claimflow::domain::screening::ScreeningRules;
use claimflow::domain::supervision::Sanctions;
use claimflow::domain::workflow::{load_workflow, Guard};
use proptest::prelude::*;

fn shipped(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Up to eight edits (replace, insert or delete one byte) at arbitrary places.
fn mutations() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), 0u8..3, any::<u8>()), 1..8)
}

fn mutate(source: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = source.as_bytes().to_vec();
    for &(at, op, byte) in edits {
        let at = at % (bytes.len() + 1);
        match op {
            0 if at < bytes.len() => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => bytes.push(byte),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every error points into the file: a line from 1 to one past the last, and a message.
fn located(errors: &[CheckError], source: &str) -> Result<(), TestCaseError> {
    let lines = source.lines().count() + 1;
    prop_assert!(!errors.is_empty());
    for e in errors {
        prop_assert!(
            (1..=lines).contains(&e.line) && e.column >= 1,
            "{e} is outside the {lines}-line file"
        );
        prop_assert!(!e.message.trim().is_empty(), "{e} has no message");
    }
    Ok(())
}

/// The config files: (path, parser).
type Parser = fn(&str, &str) -> Result<(), Vec<CheckError>>;
const FILES: [(&str, Parser); 7] = [
    ("workflows/trauma.toml", |f, s| {
        load_workflow(f, s).map(drop)
    }),
    ("workflows/fraud_investigation.toml", |f, s| {
        load_workflow(f, s).map(drop)
    }),
    ("policies/pingyang-2019.toml", |f, s| {
        load_policy(f, s).map(drop)
    }),
    ("policies/chongqing-level1.toml", |f, s| {
        load_policy(f, s).map(drop)
    }),
    ("policies/screening/rules.toml", |f, s| {
        ScreeningRules::parse(f, s).map(drop)
    }),
    ("policies/supervision/order735.toml", |f, s| {
        Sanctions::parse(f, s).map(drop)
    }),
    ("policies/controls/controls.toml", |f, s| {
        Controls::parse(f, s).map(drop)
    }),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_config_files_are_refused_with_a_line_or_accepted(file in 0..FILES.len(), edits in mutations()) {
        let (path, parse) = FILES[file];
        let source = mutate(&shipped(path), &edits);
        if let Err(errors) = parse(path, &source) {
            located(&errors, &source)?;
        }
    }

    #[test]
    fn arbitrary_text_as_a_config_file_is_refused_with_a_line(file in 0..FILES.len(), text in ".{0,400}") {
        let (path, parse) = FILES[file];
        if let Err(errors) = parse(path, &text) {
            located(&errors, &text)?;
        }
    }

    #[test]
    fn arbitrary_csv_rows_are_refused_by_field(body in prop::collection::vec(any::<u8>(), 0..600),
                                              good_header in any::<bool>()) {
        let mut csv = if good_header { CLAIM_COLUMNS.join(",").into_bytes() } else { Vec::new() };
        csv.push(b'\n');
        csv.extend(body);
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(csv.as_slice());
        for row in reader.deserialize::<ClaimRow>() {
            // A row the CSV layer refuses carries its position; one it reads goes on to the
            // field checks, whose errors each name a field.
            match row {
                Err(e) => prop_assert!(e.position().is_some(), "{e} has no position"),
                Ok(row) => match row.into_input() {
                    Err(fields) => prop_assert!(fields.iter().all(|f| !f.field.is_empty())),
                    Ok(input) => {
                        if let Err(fields) = Claim::parse(&input, DEFAULT_MAX_CLAIM_FEN) {
                            prop_assert!(fields.iter().all(|f| !f.field.is_empty()));
                        }
                    }
                },
            }
        }
    }

    #[test]
    fn arbitrary_id_numbers_dates_amounts_and_guards_never_panic(s in "\\PC{0,40}", digits in "[0-9Xx]{17,19}") {
        let _ = IdNumber::parse(&s);
        if let Ok(id) = IdNumber::parse(&digits) {
            // What is accepted is 18 characters with a valid birth date inside.
            prop_assert_eq!(id.as_str().len(), 18);
        }
        let _ = parse_iso_date(&s);
        if let Ok(fen) = yuan_to_fen(&s) {
            prop_assert!(fen >= 0);
        }
        let _ = Guard::parse(&s);
    }
}
