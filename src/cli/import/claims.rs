//! Claims sent in batches by service points: the CSV row, its checks, and the batch import
//! that plans every row of a batch before it writes any, with the registries memoised over
//! the whole file.
use super::{rejected, BatchImport, RowError, RowResult};
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::claim::{Claim, ClaimInput, EmergencyExplanation, FamilyFacts};
use crate::domain::eligibility::Enrolment;
use crate::domain::facility::StatusChange;
use crate::domain::roles::Role;
use crate::domain::screening::{invoice_key, DoctorScore, PeerKey, PeerStats};
use crate::error::Msg;
use crate::error::{AppResult, FieldError};
use crate::service::intake::{self, Filing, IntakePlan};
use crate::service::lookups::{self, InvoiceUse, RegistryReads, Standing};
use crate::store::facilities::Facility;
use crate::store::persons::{self, Person};
use crate::store::regions::Region;
use crate::store::screening::StayRow;
use crate::store::{self, DbConn, IdTable};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::HashMap;

/// One claim row, as service points send it. Money is yuan with at most two decimals.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRow {
    pub id_number: String,
    pub family: String,
    pub encounter_kind: String,
    pub facility_code: String,
    pub admission_date: String,
    pub discharge_date: String,
    pub diagnosis_code: String,
    pub invoice_number: String,
    pub total_yuan: String,
    pub policy_scope_yuan: String,
    pub self_paid_yuan: String,
    #[serde(default)]
    pub filed: Option<bool>,
    #[serde(default)]
    pub referral: Option<bool>,
    #[serde(default)]
    pub third_party_liable: Option<bool>,
    #[serde(default)]
    pub settled_in_real_time: Option<bool>,
    #[serde(default)]
    pub special_disease: Option<String>,
    #[serde(default)]
    pub emergency_time: Option<String>,
    #[serde(default)]
    pub emergency_place: Option<String>,
    #[serde(default)]
    pub emergency_cause: Option<String>,
    #[serde(default)]
    pub emergency_witness: Option<String>,
    #[serde(default)]
    pub emergency_witness_contact: Option<String>,
    #[serde(default)]
    pub discharge_medicine_days: Option<u32>,
    #[serde(default)]
    pub chronic: Option<bool>,
    /// The attending doctor's code; optional.
    #[serde(default)]
    pub attending_doctor: Option<String>,
}

pub const CLAIM_COLUMNS: [&str; 24] = [
    "id_number",
    "family",
    "encounter_kind",
    "facility_code",
    "admission_date",
    "discharge_date",
    "diagnosis_code",
    "invoice_number",
    "total_yuan",
    "policy_scope_yuan",
    "self_paid_yuan",
    "filed",
    "referral",
    "third_party_liable",
    "settled_in_real_time",
    "special_disease",
    "emergency_time",
    "emergency_place",
    "emergency_cause",
    "emergency_witness",
    "emergency_witness_contact",
    "discharge_medicine_days",
    "chronic",
    "attending_doctor",
];

/// Yuan text to fen, exactly: at most two decimals, not negative.
pub fn yuan_to_fen(text: &str) -> Result<i64, Msg> {
    let d: Decimal = text
        .trim()
        .parse()
        .map_err(|_| Msg::new("field-yuan").text("value", text))?;
    if d.scale() > 2 || d.is_sign_negative() {
        return Err(Msg::new("field-yuan-cents").text("value", text));
    }
    crate::domain::money::Fen::from_yuan_half_up(d)
        .map(|f| f.0)
        .ok_or_else(|| Msg::new("field-yuan-too-large").text("value", text))
}

impl ClaimRow {
    pub fn into_input(self) -> Result<ClaimInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut money = |field: &str, text: &str| match yuan_to_fen(text) {
            Ok(v) => v,
            Err(message) => {
                errors.push(FieldError::new(field, message));
                0
            }
        };
        let total_fen = money("total_yuan", &self.total_yuan);
        let policy_scope_fen = money("policy_scope_yuan", &self.policy_scope_yuan);
        let self_paid_fen = money("self_paid_yuan", &self.self_paid_yuan);
        let text = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let parts = [
            self.emergency_time,
            self.emergency_place,
            self.emergency_cause,
            self.emergency_witness,
            self.emergency_witness_contact,
        ]
        .map(text);
        let emergency = parts.iter().any(Option::is_some).then(|| {
            let [time, place, cause, witness, witness_contact] =
                parts.map(Option::unwrap_or_default);
            EmergencyExplanation {
                time,
                place,
                cause,
                witness,
                witness_contact,
            }
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ClaimInput {
            family: self.family,
            id_number: Some(self.id_number),
            encounter_kind: self.encounter_kind,
            facility_code: self.facility_code,
            admission_date: self.admission_date,
            discharge_date: self.discharge_date,
            diagnosis_code: self.diagnosis_code,
            invoice_numbers: vec![self.invoice_number],
            total_fen,
            policy_scope_fen,
            self_paid_fen,
            facts: FamilyFacts {
                filed: self.filed.unwrap_or(false),
                referral: self.referral.unwrap_or(false),
                third_party_liable: self.third_party_liable.unwrap_or(false),
                settled_in_real_time: self.settled_in_real_time.unwrap_or(false),
                special_disease: text(self.special_disease),
                emergency,
                discharge_medicine_days: self.discharge_medicine_days,
                chronic_condition: self.chronic.unwrap_or(false),
                ..FamilyFacts::default()
            },
            itemised_lines: vec![],
            attending_doctor: text(self.attending_doctor),
        })
    }
}

/// Claims: each row is planned (every read and check) as it comes; the batch's accepted
/// plans are written together at its end, as multi-row statements, under ids reserved when
/// the batch began. A rejected row has written nothing, so no savepoints are needed.
pub(super) struct ClaimImport<'a> {
    defs: &'a Definitions,
    principal: &'a Principal,
    lookups: ImportLookups,
    claim_ids: std::vec::IntoIter<i64>,
    case_ids: std::vec::IntoIter<i64>,
    planned: Vec<IntakePlan>,
    now: i64,
    max_claim_fen: i64,
}

impl<'a> ClaimImport<'a> {
    pub(super) fn new(
        defs: &'a Definitions,
        principal: &'a Principal,
        batch: usize,
        now: i64,
        max_claim_fen: i64,
    ) -> Self {
        ClaimImport {
            defs,
            principal,
            lookups: ImportLookups::default(),
            claim_ids: Vec::new().into_iter(),
            case_ids: Vec::new().into_iter(),
            planned: Vec::with_capacity(batch),
            now,
            max_claim_fen,
        }
    }
}

impl BatchImport<ClaimRow> for ClaimImport<'_> {
    const SAVEPOINT_PER_ROW: bool = false;

    fn begin(&mut self, conn: &mut DbConn, rows: usize) -> anyhow::Result<()> {
        self.claim_ids = store::reserve_ids(conn, IdTable::Claims, rows)?.into_iter();
        self.case_ids = store::reserve_ids(conn, IdTable::Cases, rows)?.into_iter();
        Ok(())
    }

    fn row(&mut self, conn: &mut DbConn, row: ClaimRow) -> Result<RowResult, RowError> {
        let input = row.into_input()?;
        let claim = Claim::parse(&input, self.max_claim_fen)?;
        let workflow = self.defs.latest(claim.family.as_str()).ok_or_else(|| {
            vec![FieldError::new(
                "family",
                Msg::new("field-no-workflow").text("family", claim.family.as_str()),
            )]
        })?;
        let filing = Filing {
            p: self.principal,
            role: Role::Clerk,
            claim: &claim,
            id_number: input.id_number.as_deref(),
            workflow: &workflow,
            now_ms: self.now,
        };
        let mut plan =
            intake::plan_intake(conn, self.defs, &mut self.lookups, &filing).map_err(rejected)?;
        // Natural key: the invoice as written, the facility and the person. A file imported
        // twice imports nothing twice, and a row repeated within the file goes in once.
        // Anything else carrying the invoice (retyped, at another facility, by another
        // person) goes in, and the screening rules judge it: never a silent skip.
        let facility = plan.claim.facility_code.as_str();
        let person = Some(plan.person_id);
        if plan.duplicates.iter().any(|(number, uses)| {
            uses.iter().any(|u| {
                u.facility_code == facility && u.person_id == person && &u.invoice_number == number
            })
        }) {
            return Ok(RowResult::Skipped);
        }
        let (Some(claim_id), Some(case_id)) = (self.claim_ids.next(), self.case_ids.next()) else {
            return Err(RowError::Fatal(anyhow::anyhow!(
                "more rows than ids reserved for the batch"
            )));
        };
        plan.assign_ids(claim_id, case_id);
        self.lookups.note_pending(&plan);
        let result = match plan.refusal() {
            Some((zh, en)) => RowResult::Refused("invoice_number", zh, en),
            None => RowResult::Imported,
        };
        self.planned.push(plan);
        Ok(result)
    }

    fn finish(&mut self, conn: &mut DbConn) -> anyhow::Result<()> {
        intake::write_intakes(conn, self.defs, self.principal, &self.planned, self.now)
            .map_err(|e| anyhow::anyhow!("writing the batch: {e}"))?;
        self.planned.clear();
        self.lookups.clear_pending();
        Ok(())
    }
}

/// How many persons (with their enrolments) an import keeps memoised at most.
const PERSON_MEMO_CAP: usize = 50_000;

/// The registry reads of a whole file, memoised: registries do not change while claims are
/// imported. The claims planned in the current batch but not yet written answer the
/// duplicate and pair checks as if they were.
#[derive(Default)]
struct ImportLookups {
    persons: HashMap<String, Option<Person>>,
    enrolments: HashMap<i64, Vec<Enrolment>>,
    facilities: HashMap<String, Option<(Facility, Vec<StatusChange>)>>,
    regions: HashMap<String, Region>,
    standings: HashMap<String, Standing>,
    peers: HashMap<PeerKey, Option<PeerStats>>,
    doctors: HashMap<String, Option<DoctorScore>>,
    /// By invoice key.
    pending_invoices: HashMap<String, Vec<InvoiceUse>>,
    pending_stays: HashMap<i64, Vec<StayRow>>,
    /// By (household, facility).
    pending_households: HashMap<(String, String), Vec<StayRow>>,
}

impl ImportLookups {
    /// Records a planned claim's invoices and stay for the checks of the plans after it.
    fn note_pending(&mut self, plan: &IntakePlan) {
        let c = &plan.claim;
        for invoice in &c.invoice_numbers {
            self.pending_invoices
                .entry(invoice_key(invoice))
                .or_default()
                .push(InvoiceUse {
                    claim_id: plan.claim_id,
                    facility_code: c.facility_code.clone(),
                    person_id: Some(plan.person_id),
                    invoice_number: invoice.clone(),
                    person_name: Some(plan.claimant.name.clone()),
                    id_number: Some(plan.claimant.id_number.clone()),
                });
        }
        let stay = StayRow {
            id: plan.claim_id,
            person_id: Some(plan.person_id),
            facility_code: c.facility_code.clone(),
            encounter_kind: c.encounter_kind.as_str().to_string(),
            admission_date: c.admission_date.to_string(),
            discharge_date: c.discharge_date.to_string(),
            family: c.family.as_str().to_string(),
            diagnosis_code: c.diagnosis_code.clone(),
            rule_facts: crate::domain::screening::RuleFacts::stored(&c.facts),
            total_fen: c.total_fen.0,
            invoice_numbers: String::new(),
            attending_doctor: c.attending_doctor.clone(),
        };
        self.pending_households
            .entry((plan.claimant.household.clone(), c.facility_code.clone()))
            .or_default()
            .push(stay.clone());
        self.pending_stays
            .entry(plan.person_id)
            .or_default()
            .push(stay);
    }

    /// The pending claims are written: the database answers for them from now on.
    fn clear_pending(&mut self) {
        self.pending_invoices.clear();
        self.pending_stays.clear();
        self.pending_households.clear();
    }
}

impl RegistryReads for ImportLookups {
    fn person(&mut self, conn: &mut DbConn, id_number: &str) -> AppResult<Option<Person>> {
        if let Some(p) = self.persons.get(id_number) {
            return Ok(p.clone());
        }
        // Persons are many, and a file names each only a few times: past the cap the memo
        // starts over, so that an import's memory stays flat in the number of persons
        // (1,000,000 claims over 250,000 persons peaked at 357 MB with an unbounded memo).
        if self.persons.len() >= PERSON_MEMO_CAP {
            self.persons.clear();
            self.enrolments.clear();
        }
        let p = persons::by_id_number(conn, id_number)?;
        self.persons.insert(id_number.to_string(), p.clone());
        Ok(p)
    }

    fn enrolments(&mut self, conn: &mut DbConn, person_id: i64) -> AppResult<Vec<Enrolment>> {
        if let Some(e) = self.enrolments.get(&person_id) {
            return Ok(e.clone());
        }
        let e = lookups::enrolments_of(conn, person_id)?;
        self.enrolments.insert(person_id, e.clone());
        Ok(e)
    }

    fn facility(
        &mut self,
        conn: &mut DbConn,
        code: &str,
    ) -> AppResult<Option<(Facility, Vec<StatusChange>)>> {
        if let Some(f) = self.facilities.get(code) {
            return Ok(f.clone());
        }
        let f = lookups::facility_of(conn, code)?;
        self.facilities.insert(code.to_string(), f.clone());
        Ok(f)
    }

    fn region(&mut self, conn: &mut DbConn, code: &str) -> AppResult<Region> {
        if let Some(r) = self.regions.get(code) {
            return Ok(r.clone());
        }
        let r = lookups::region_of(conn, code)?;
        self.regions.insert(code.to_string(), r.clone());
        Ok(r)
    }

    fn standing(&mut self, conn: &mut DbConn, facility: &str) -> AppResult<Standing> {
        if let Some(s) = self.standings.get(facility) {
            return Ok(s.clone());
        }
        let s = lookups::standing_of(conn, facility)?;
        self.standings.insert(facility.to_string(), s.clone());
        Ok(s)
    }

    fn peers(&mut self, conn: &mut DbConn, key: &PeerKey) -> AppResult<Option<PeerStats>> {
        if let Some(p) = self.peers.get(key) {
            return Ok(p.clone());
        }
        let p = lookups::Direct.peers(conn, key)?;
        self.peers.insert(key.clone(), p.clone());
        Ok(p)
    }

    fn doctor(&mut self, conn: &mut DbConn, code: &str) -> AppResult<Option<DoctorScore>> {
        if let Some(d) = self.doctors.get(code) {
            return Ok(d.clone());
        }
        // Doctors are many: past the cap the memo starts over (as for persons).
        if self.doctors.len() >= PERSON_MEMO_CAP {
            self.doctors.clear();
        }
        let d = lookups::Direct.doctor(conn, code)?;
        self.doctors.insert(code.to_string(), d.clone());
        Ok(d)
    }

    fn pending_invoice_uses(&self, key: &str) -> &[InvoiceUse] {
        self.pending_invoices.get(key).map_or(&[], Vec::as_slice)
    }

    fn pending_household(&self, household: &str, facility: &str) -> &[StayRow] {
        self.pending_households
            .get(&(household.to_string(), facility.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    fn pending_stays(&self, person_id: i64) -> &[StayRow] {
        self.pending_stays
            .get(&person_id)
            .map_or(&[], Vec::as_slice)
    }
}
