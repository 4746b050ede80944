//! A manual claim as the domain sees it. What a resident or clerk files ([`ClaimInput`]) is
//! parsed once into a [`Claim`], with its family and encounter as enums, its dates as dates
//! and its amounts as [`Fen`]; every problem names its field. The document checklist and the
//! facts the workflow guards read are computed from a claim here, without I/O.
pub use crate::domain::checklist::{
    checklist, ChecklistItem, DocumentRequest, NoDocument, Uploaded, NO_DOCUMENTS,
};
use crate::domain::field_error::FieldError;
use crate::domain::message::Msg;
use crate::domain::money::Fen;
use crate::domain::person::IdNumber;
use crate::domain::workflow::{CaseFacts, Workflow};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The largest amount a claim may carry by default: 10,000,000 yuan.
pub const DEFAULT_MAX_CLAIM_FEN: i64 = 1_000_000_000;

/// Longest invoice number accepted.
pub const MAX_INVOICE_LEN: usize = 64;

/// An invoice number: ASCII letters and digits, with `-`, `_`, `/` and `.` between them. It
/// starts with a letter or digit, so it is never read as a formula where it is exported.
pub fn is_invoice_number(n: &str) -> bool {
    n.len() <= MAX_INVOICE_LEN
        && n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c))
}

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const CODES: &'static [&'static str] = &[$($code),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_enum!(
    /// The claim families (handbook §3).
    Family {
        OutOfRegion = "out_of_region",
        Trauma = "trauma",
        UnreferredTransfer = "unreferred_transfer",
    }
);

code_enum!(
    /// What kind of care the claim is for.
    EncounterKind {
        Inpatient = "inpatient",
        Outpatient = "outpatient",
        SpecialOutpatient = "special_outpatient",
        Maternity = "maternity",
    }
);

/// The family's own facts (handbook §3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FamilyFacts {
    /// Out-of-region or transfer filing (备案) made before treatment.
    pub filed: bool,
    pub filing_number: Option<String>,
    pub emergency: Option<EmergencyExplanation>,
    /// Trauma: a liable third party exists (traffic accident, assault…).
    pub third_party_liable: bool,
    pub third_party_declaration: Option<String>,
    pub referral: bool,
    pub referral_certificate: Option<String>,
    /// Special outpatient disease code (e.g. `dialysis`), paid as inpatient where listed.
    pub special_disease: Option<String>,
    pub maternity_high_risk: bool,
    /// Outpatient costs settled in real time at the facility.
    pub settled_in_real_time: bool,
    /// Outpatient at a county hospital on a primary-care referral.
    pub primary_referral: bool,
    /// A reviewer's judgement whether the care was an emergency (restores the ratio when
    /// filing or referral was missing). Unset: the emergency explanation decides.
    pub judged_emergency: Option<bool>,
    /// Days of medicine given on discharge (出院带药), checked against the acute or chronic
    /// limit by the screening rules.
    pub discharge_medicine_days: Option<u32>,
    /// The condition treated is chronic (the longer discharge-medicine limit applies).
    pub chronic_condition: bool,
}

impl FamilyFacts {
    pub fn is_emergency(&self) -> bool {
        self.judged_emergency.unwrap_or(self.emergency.is_some())
    }
}

/// One line of an itemised bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemLine {
    pub code: String,
    pub name: String,
    pub quantity: u32,
    /// Fen, 0 to `max_claim_yuan` × 100 (by default 1,000,000,000).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub total_fen: i64,
    pub in_policy_scope: bool,
}

/// The written explanation of an emergency on a short trip (handbook §3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyExplanation {
    pub time: String,
    pub place: String,
    pub cause: String,
    pub witness: String,
    pub witness_contact: String,
}

/// A claim as filed, before any check.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    /// out_of_region, trauma or unreferred_transfer.
    #[schema(value_type = Family)]
    pub family: String,
    /// The insured person's ID number (GB 11643). Required when a clerk files on a
    /// resident's behalf; residents file for the person linked to their account.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{17}[0-9Xx]$")]
    pub id_number: Option<String>,
    /// inpatient, outpatient, special_outpatient or maternity.
    #[schema(value_type = EncounterKind)]
    pub encounter_kind: String,
    #[schema(min_length = 1)]
    pub facility_code: String,
    /// YYYY-MM-DD
    #[schema(format = Date)]
    pub admission_date: String,
    /// YYYY-MM-DD, not before admission.
    #[schema(format = Date)]
    pub discharge_date: String,
    /// ICD-10 code such as S72.001.
    #[schema(pattern = r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Za-z]+)?$")]
    pub diagnosis_code: String,
    /// 1 to 64 ASCII letters and digits, with - _ / . between them.
    #[schema(min_items = 1)]
    pub invoice_numbers: Vec<String>,
    /// Total cost in fen (1 yuan = 100 fen), 0 to `max_claim_yuan` × 100 (by default
    /// 1,000,000,000).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub total_fen: i64,
    /// Not more than `total_fen`.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub policy_scope_fen: i64,
    /// Not more than `total_fen`.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub self_paid_fen: i64,
    #[serde(default)]
    pub facts: FamilyFacts,
    #[serde(default)]
    pub itemised_lines: Vec<ItemLine>,
    /// The attending doctor's code (医师编码), when the bill names one: 1 to 32 ASCII
    /// letters, digits and dashes. Screening compares doctors with their peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^[A-Za-z0-9-]{1,32}$")]
    pub attending_doctor: Option<String>,
}

/// A checked claim: what intake, pricing, screening and the guards work on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Claim {
    pub family: Family,
    pub encounter_kind: EncounterKind,
    pub facility_code: String,
    #[schema(value_type = String, format = Date)]
    pub admission_date: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub discharge_date: NaiveDate,
    pub diagnosis_code: String,
    pub invoice_numbers: Vec<String>,
    #[schema(value_type = i64)]
    pub total_fen: Fen,
    #[schema(value_type = i64)]
    pub policy_scope_fen: Fen,
    #[schema(value_type = i64)]
    pub self_paid_fen: Fen,
    pub facts: FamilyFacts,
    pub itemised_lines: Vec<ItemLine>,
    pub attending_doctor: Option<String>,
}

/// A doctor's code: 1 to 32 ASCII letters, digits and dashes.
pub fn is_doctor_code(code: &str) -> bool {
    (1..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn is_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && (b[2].is_ascii_digit() || b[2].is_ascii_uppercase())
        && match &code[3..] {
            "" => true,
            rest => {
                rest.starts_with('.')
                    && rest.len() > 1
                    && rest[1..].bytes().all(|c| c.is_ascii_alphanumeric())
            }
        }
}

/// Collects field errors while a claim is parsed.
/// An invoice's three amounts, as a claim carries them and a hospital's review corrects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceAmounts {
    pub total_fen: i64,
    pub policy_scope_fen: i64,
    pub self_paid_fen: i64,
}

/// What is wrong with an invoice's amounts: each within 0 to `max_fen`, and neither the
/// policy-scope part nor the self-paid part above the total.
pub fn amount_problems(a: InvoiceAmounts, max_fen: i64) -> Vec<FieldError> {
    let mut bad = Vec::new();
    for (field, value) in [
        ("total_fen", a.total_fen),
        ("policy_scope_fen", a.policy_scope_fen),
        ("self_paid_fen", a.self_paid_fen),
    ] {
        if value < 0 {
            bad.push(FieldError::new(field, Msg::new("field-negative")));
        } else if value > max_fen {
            bad.push(FieldError::new(
                field,
                Msg::new("field-amount-at-most").fen("max", max_fen),
            ));
        }
    }
    if a.policy_scope_fen > a.total_fen {
        bad.push(FieldError::new(
            "policy_scope_fen",
            Msg::new("field-exceeds-total"),
        ));
    }
    if a.self_paid_fen > a.total_fen {
        bad.push(FieldError::new(
            "self_paid_fen",
            Msg::new("field-exceeds-total"),
        ));
    }
    bad
}

#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: &str, msg: Msg) {
        self.0.push(FieldError::new(field, msg));
    }

    fn date(&mut self, field: &str, value: &str) -> Option<NaiveDate> {
        let date = crate::domain::dates::parse_iso_date(value);
        if date.is_none() {
            self.add(field, Msg::new("field-date").text("value", value));
        }
        date
    }

    fn code<T>(
        &mut self,
        field: &str,
        value: &str,
        parse: fn(&str) -> Option<T>,
        codes: &[&str],
    ) -> Option<T> {
        let parsed = parse(value);
        if parsed.is_none() {
            self.add(
                field,
                Msg::new("field-one-of")
                    .text("allowed", codes.join(", "))
                    .text("value", value),
            );
        }
        parsed
    }
}

impl Claim {
    /// Checks everything that can be checked without the registries; every problem at
    /// once, each naming its field. `max_fen` bounds every amount.
    pub fn parse(input: &ClaimInput, max_fen: i64) -> Result<Claim, Vec<FieldError>> {
        let mut bad = Problems::default();
        let family = bad.code("family", &input.family, Family::parse, Family::CODES);
        let encounter = bad.code(
            "encounter_kind",
            &input.encounter_kind,
            EncounterKind::parse,
            EncounterKind::CODES,
        );
        if input.facility_code.trim().is_empty() {
            bad.add("facility_code", Msg::new("field-required"));
        }
        let admission = bad.date("admission_date", &input.admission_date);
        let discharge = bad.date("discharge_date", &input.discharge_date);
        if let (Some(a), Some(d)) = (admission, discharge) {
            if d < a {
                bad.add(
                    "discharge_date",
                    Msg::new("field-discharge-before-admission")
                        .text("discharge", d.to_string())
                        .text("admission", a.to_string()),
                );
            }
        }
        if !is_icd10(&input.diagnosis_code) {
            bad.add(
                "diagnosis_code",
                Msg::new("field-icd10").text("value", input.diagnosis_code.as_str()),
            );
        }
        if input.invoice_numbers.is_empty() {
            bad.add("invoice_numbers", Msg::new("field-invoice-required"));
        }
        for (i, n) in input.invoice_numbers.iter().enumerate() {
            if !is_invoice_number(n) {
                bad.add(
                    &format!("invoice_numbers[{i}]"),
                    Msg::new("field-invoice-number").count("max", MAX_INVOICE_LEN as i64),
                );
            }
        }
        bad.0.extend(amount_problems(
            InvoiceAmounts {
                total_fen: input.total_fen,
                policy_scope_fen: input.policy_scope_fen,
                self_paid_fen: input.self_paid_fen,
            },
            max_fen,
        ));
        if let Some(id) = &input.id_number {
            if let Err(e) = IdNumber::parse(id) {
                bad.add("id_number", e);
            }
        }
        for (i, line) in input.itemised_lines.iter().enumerate() {
            if !(0..=max_fen).contains(&line.total_fen) {
                bad.add(
                    &format!("itemised_lines[{i}].total_fen"),
                    Msg::new("field-amount-range").fen("max", max_fen),
                );
            }
        }
        if !input.itemised_lines.is_empty() {
            // Widened: however many lines there are, the sum cannot overflow.
            let sum: i128 = input
                .itemised_lines
                .iter()
                .map(|l| i128::from(l.total_fen.clamp(0, max_fen)))
                .sum();
            // An out-of-range total has its own error already.
            let total_in_range = (0..=max_fen).contains(&input.total_fen);
            if total_in_range && sum != i128::from(input.total_fen) {
                bad.add(
                    "itemised_lines",
                    Msg::new("field-lines-sum")
                        .fen("sum", Fen::saturating(sum).0)
                        .fen("total", input.total_fen),
                );
            }
        }
        let doctor = input
            .attending_doctor
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if doctor.is_some_and(|d| !is_doctor_code(d)) {
            bad.add("attending_doctor", Msg::new("field-doctor-code"));
        }
        if let Some(e) = &input.facts.emergency {
            for (field, v) in [
                ("time", &e.time),
                ("place", &e.place),
                ("cause", &e.cause),
                ("witness", &e.witness),
                ("witness_contact", &e.witness_contact),
            ] {
                if v.trim().is_empty() {
                    bad.add(
                        &format!("facts.emergency.{field}"),
                        Msg::new("field-emergency-parts"),
                    );
                }
            }
        }
        match (family, encounter, admission, discharge) {
            (Some(family), Some(encounter_kind), Some(admission_date), Some(discharge_date))
                if bad.0.is_empty() =>
            {
                Ok(Claim {
                    family,
                    encounter_kind,
                    facility_code: input.facility_code.trim().to_string(),
                    admission_date,
                    discharge_date,
                    diagnosis_code: input.diagnosis_code.clone(),
                    invoice_numbers: input.invoice_numbers.clone(),
                    total_fen: Fen(input.total_fen),
                    policy_scope_fen: Fen(input.policy_scope_fen),
                    self_paid_fen: Fen(input.self_paid_fen),
                    facts: input.facts.clone(),
                    itemised_lines: input.itemised_lines.clone(),
                    attending_doctor: doctor.map(str::to_uppercase),
                })
            }
            _ => Err(bad.0),
        }
    }

    /// The day the care ended; it selects the policy year.
    pub fn service_end(&self) -> NaiveDate {
        self.discharge_date
    }
}

/// The record of a decision on a claim: the amount the calculator computed, the amount
/// granted and why, or the coded reason for a rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// approved, partially_approved or rejected
    pub outcome: String,
    /// What the policy allowed at the decision (absent for a rejection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_fen: Option<i64>,
    pub decided_fen: i64,
    /// What catastrophic insurance and medical assistance add on the same bill.
    #[serde(default)]
    pub catastrophic_fen: i64,
    #[serde(default)]
    pub assistance_fen: i64,
    /// The decided amount differs from the computed one.
    #[serde(default)]
    pub r#override: bool,
    /// The reviewer's reason for an override or a partial approval.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_en: Option<String>,
    /// The policy and year the amount was priced under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// What this decision added to the year-to-date totals: an appeal that changes the
    /// amount takes out exactly this and adds its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ytd_added: Option<crate::domain::policy::YearToDate>,
}

impl Decision {
    /// What the resident is reimbursed on this decision: all three layers.
    pub fn reimbursed_fen(&self) -> i64 {
        self.decided_fen + self.catastrophic_fen + self.assistance_fen
    }
}

/// What a decision or an assessment has settled about the amounts so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Amounts {
    /// The benefit the calculator proposes.
    pub payable_fen: i64,
    /// The amount decided.
    pub decided_fen: i64,
}

/// The facts a claim's guards read: the claim's own, its amounts, and whether its checklist
/// is complete.
pub fn facts<D: Uploaded>(
    claim: &Claim,
    amounts: Amounts,
    docs: &[D],
    requests: &[DocumentRequest],
    workflow: &Workflow,
) -> CaseFacts {
    let mut facts = CaseFacts {
        claimed_fen: claim.total_fen.0,
        policy_scope_fen: claim.policy_scope_fen.0,
        payable_fen: amounts.payable_fen,
        decided_fen: amounts.decided_fen,
        documents_complete: false,
        family: claim.family.as_str().to_string(),
        encounter_kind: claim.encounter_kind.as_str().to_string(),
        emergency: claim.facts.is_emergency(),
        filed: claim.facts.filed,
        referral: claim.facts.referral,
        third_party_liable: claim.facts.third_party_liable,
        ..CaseFacts::default()
    };
    facts.documents_complete = checklist(workflow, &facts, docs, requests)
        .iter()
        .all(ChecklistItem::is_present);
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn input() -> ClaimInput {
        ClaimInput {
            family: "trauma".into(),
            id_number: None,
            encounter_kind: "inpatient".into(),
            facility_code: "H330326001".into(),
            admission_date: "2026-03-01".into(),
            discharge_date: "2026-03-08".into(),
            diagnosis_code: "S72.001".into(),
            invoice_numbers: vec!["INV-1".into()],
            total_fen: 1_000_000,
            policy_scope_fen: 800_000,
            self_paid_fen: 200_000,
            facts: FamilyFacts::default(),
            itemised_lines: vec![],
            attending_doctor: None,
        }
    }

    fn fields(input: &ClaimInput) -> Vec<String> {
        Claim::parse(input, DEFAULT_MAX_CLAIM_FEN)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn parses_into_types() {
        let claim = Claim::parse(&input(), DEFAULT_MAX_CLAIM_FEN).unwrap();
        assert_eq!(claim.family, Family::Trauma);
        assert_eq!(claim.encounter_kind, EncounterKind::Inpatient);
        assert_eq!(
            claim.admission_date,
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
        assert_eq!(claim.total_fen, Fen(1_000_000));
    }

    #[test]
    fn names_every_bad_field() {
        let bad = ClaimInput {
            total_fen: -1,
            discharge_date: "2026-02-01".into(),
            diagnosis_code: "fracture".into(),
            family: "dental".into(),
            ..input()
        };
        let fields = fields(&bad);
        for f in ["total_fen", "discharge_date", "diagnosis_code", "family"] {
            assert!(fields.contains(&f.to_string()), "{f} in {fields:?}");
        }
    }

    #[test]
    fn the_attending_doctor_is_optional_and_checked() {
        let named = ClaimInput {
            attending_doctor: Some(" d330-017 ".into()),
            ..input()
        };
        let claim = Claim::parse(&named, DEFAULT_MAX_CLAIM_FEN).unwrap();
        assert_eq!(claim.attending_doctor.as_deref(), Some("D330-017"));
        let blank = ClaimInput {
            attending_doctor: Some("  ".into()),
            ..input()
        };
        let claim = Claim::parse(&blank, DEFAULT_MAX_CLAIM_FEN).unwrap();
        assert_eq!(claim.attending_doctor, None);
        let bad = ClaimInput {
            attending_doctor: Some("Dr. Wang".into()),
            ..input()
        };
        assert_eq!(fields(&bad), vec!["attending_doctor"]);
    }

    #[test]
    fn bounds_every_amount() {
        let huge = ClaimInput {
            total_fen: i64::MAX,
            policy_scope_fen: i64::MAX,
            self_paid_fen: 0,
            ..input()
        };
        assert_eq!(fields(&huge), vec!["total_fen", "policy_scope_fen"]);
        let lines = ClaimInput {
            itemised_lines: vec![
                ItemLine {
                    code: "a".into(),
                    name: "a".into(),
                    quantity: 1,
                    total_fen: i64::MAX,
                    in_policy_scope: true,
                },
                ItemLine {
                    code: "b".into(),
                    name: "b".into(),
                    quantity: 1,
                    total_fen: i64::MAX,
                    in_policy_scope: true,
                },
            ],
            ..input()
        };
        assert!(fields(&lines).contains(&"itemised_lines[0].total_fen".to_string()));
    }

    #[test]
    fn recognises_icd10_codes() {
        assert!(is_icd10("S72") && is_icd10("S72.001") && !is_icd10("S7") && !is_icd10("S72."));
    }
}
