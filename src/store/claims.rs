use super::schema::{
    claim_documents, claim_invoices, claims, document_requests, idempotency_keys, persons,
    ytd_totals,
};
use super::screening::{NewStay, StayCorrection};
use super::DbConn;
use crate::db_run;
use crate::domain::claim::{
    Amounts, Claim, Decision, DocumentRequest, EncounterKind, Family, FamilyFacts, Uploaded,
};
use crate::domain::dates::parse_iso_date;
use crate::domain::money::Fen;
use crate::domain::policy::{Breakdown, YearToDate};
use crate::domain::screening::RuleFacts;
use diesel::prelude::*;
use serde::Serialize;

/// A claims row as stored: the filed claim's JSON parts (invoices, family facts, itemised
/// lines) and the breakdown and decision as text. Only this module reads it; everything
/// else gets a [`ClaimRecord`].
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = claims)]
struct ClaimRow {
    id: i64,
    resident_user_id: Option<i64>,
    submitted_by: i64,
    family: String,
    encounter_kind: String,
    facility_code: String,
    admission_date: String,
    discharge_date: String,
    diagnosis_code: String,
    invoice_numbers: String,
    total_fen: i64,
    policy_scope_fen: i64,
    self_paid_fen: i64,
    family_facts: String,
    region_code: String,
    payable_fen: Option<i64>,
    decided_fen: Option<i64>,
    created_at: i64,
    person_id: Option<i64>,
    policy_name: Option<String>,
    breakdown: Option<String>,
    decision: Option<String>,
    itemised_lines: String,
    attending_doctor: Option<String>,
}

/// A stored claim: who filed it for whom, the claim itself, and where its assessment and
/// decision stand.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimRecord {
    pub id: i64,
    pub resident_user_id: Option<i64>,
    pub submitted_by: i64,
    pub person_id: Option<i64>,
    /// The insured person's region.
    pub region_code: String,
    pub created_at: i64,
    #[serde(flatten)]
    pub claim: Claim,
    pub policy_name: Option<String>,
    /// What the calculator proposed at intake (recomputed at decision).
    pub payable_fen: Option<i64>,
    /// The benefit calculation, step by step (the claim's view shows it beside the claim).
    #[serde(skip)]
    pub breakdown: Option<Breakdown>,
    pub decided_fen: Option<i64>,
    #[serde(skip)]
    pub decision: Option<Decision>,
}

impl ClaimRecord {
    /// The amounts the guards read: proposed and decided so far.
    pub fn amounts(&self) -> Amounts {
        Amounts {
            payable_fen: self.payable_fen.unwrap_or(0),
            decided_fen: self.decided_fen.unwrap_or(0),
        }
    }
}

fn corrupt(what: &str, id: i64, e: impl std::fmt::Display) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("claim {id}: stored {what}: {e}").into())
}

fn from_json<T: serde::de::DeserializeOwned>(id: i64, what: &str, text: &str) -> QueryResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(what, id, e))
}

fn json_text<T: Serialize>(value: &T) -> String {
    // Plain data of strings, numbers and booleans always serialises.
    serde_json::to_string(value).unwrap_or_default()
}

impl TryFrom<ClaimRow> for ClaimRecord {
    type Error = diesel::result::Error;

    fn try_from(r: ClaimRow) -> QueryResult<ClaimRecord> {
        let id = r.id;
        let date = |what: &str, text: &str| {
            parse_iso_date(text).ok_or_else(|| corrupt(what, id, format!("`{text}` is not a date")))
        };
        let claim = Claim {
            family: Family::parse(&r.family).ok_or_else(|| corrupt("family", id, &r.family))?,
            encounter_kind: EncounterKind::parse(&r.encounter_kind)
                .ok_or_else(|| corrupt("encounter kind", id, &r.encounter_kind))?,
            facility_code: r.facility_code,
            admission_date: date("admission date", &r.admission_date)?,
            discharge_date: date("discharge date", &r.discharge_date)?,
            diagnosis_code: r.diagnosis_code,
            invoice_numbers: from_json(id, "invoice numbers", &r.invoice_numbers)?,
            total_fen: Fen(r.total_fen),
            policy_scope_fen: Fen(r.policy_scope_fen),
            self_paid_fen: Fen(r.self_paid_fen),
            facts: from_json(id, "family facts", &r.family_facts)?,
            itemised_lines: from_json(id, "itemised lines", &r.itemised_lines)?,
            attending_doctor: r.attending_doctor,
        };
        Ok(ClaimRecord {
            id,
            resident_user_id: r.resident_user_id,
            submitted_by: r.submitted_by,
            person_id: r.person_id,
            region_code: r.region_code,
            created_at: r.created_at,
            claim,
            policy_name: r.policy_name,
            payable_fen: r.payable_fen,
            breakdown: r
                .breakdown
                .as_deref()
                .map(|b| from_json(id, "breakdown", b))
                .transpose()?,
            decided_fen: r.decided_fen,
            decision: r
                .decision
                .as_deref()
                .map(|d| from_json(id, "decision", d))
                .transpose()?,
        })
    }
}

fn records(rows: Vec<ClaimRow>) -> QueryResult<Vec<ClaimRecord>> {
    rows.into_iter().map(ClaimRecord::try_from).collect()
}

/// A new claim to write, under the id reserved for it.
pub struct NewClaimRecord<'a> {
    pub id: i64,
    pub resident_user_id: Option<i64>,
    pub submitted_by: i64,
    pub person_id: Option<i64>,
    pub region_code: &'a str,
    pub created_at: i64,
    pub claim: &'a Claim,
    pub policy_name: Option<&'a str>,
    pub payable_fen: Option<i64>,
    pub breakdown: Option<&'a Breakdown>,
}

/// `None` is NULL, not DEFAULT, so that SQLite takes many rows in one statement.
#[derive(Insertable)]
#[diesel(table_name = claims, treat_none_as_default_value = false)]
struct NewClaim<'a> {
    /// Chosen up front ([`crate::store::reserve_ids`]) so invoices and cases can refer to it.
    id: i64,
    resident_user_id: Option<i64>,
    submitted_by: i64,
    family: &'a str,
    encounter_kind: &'a str,
    facility_code: &'a str,
    admission_date: String,
    discharge_date: String,
    diagnosis_code: &'a str,
    invoice_numbers: String,
    total_fen: i64,
    policy_scope_fen: i64,
    self_paid_fen: i64,
    family_facts: String,
    region_code: &'a str,
    created_at: i64,
    person_id: Option<i64>,
    policy_name: Option<&'a str>,
    payable_fen: Option<i64>,
    breakdown: Option<String>,
    itemised_lines: String,
    attending_doctor: Option<&'a str>,
}

impl<'a> From<&NewClaimRecord<'a>> for NewClaim<'a> {
    fn from(r: &NewClaimRecord<'a>) -> Self {
        let c = r.claim;
        NewClaim {
            id: r.id,
            resident_user_id: r.resident_user_id,
            submitted_by: r.submitted_by,
            family: c.family.as_str(),
            encounter_kind: c.encounter_kind.as_str(),
            facility_code: &c.facility_code,
            admission_date: c.admission_date.to_string(),
            discharge_date: c.discharge_date.to_string(),
            diagnosis_code: &c.diagnosis_code,
            invoice_numbers: json_text(&c.invoice_numbers),
            total_fen: c.total_fen.0,
            policy_scope_fen: c.policy_scope_fen.0,
            self_paid_fen: c.self_paid_fen.0,
            family_facts: json_text(&c.facts),
            region_code: r.region_code,
            created_at: r.created_at,
            person_id: r.person_id,
            policy_name: r.policy_name,
            payable_fen: r.payable_fen,
            breakdown: r.breakdown.map(json_text),
            itemised_lines: json_text(&c.itemised_lines),
            attending_doctor: c.attending_doctor.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = claim_documents)]
pub struct DocumentRow {
    pub id: i64,
    pub claim_id: i64,
    pub kind: String,
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub filename: String,
    pub status: String,
    pub reject_reason: Option<String>,
    pub uploaded_by: i64,
    pub uploaded_at: i64,
}

impl Uploaded for DocumentRow {
    fn id(&self) -> i64 {
        self.id
    }

    fn kind(&self) -> &str {
        &self.kind
    }

    fn status(&self) -> &str {
        &self.status
    }

    fn reject_reason(&self) -> Option<&str> {
        self.reject_reason.as_deref()
    }
}

#[derive(Insertable)]
#[diesel(table_name = claim_documents)]
pub struct NewDocument<'a> {
    pub claim_id: i64,
    pub kind: &'a str,
    pub sha256: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub filename: &'a str,
    pub status: &'a str,
    pub uploaded_by: i64,
    pub uploaded_at: i64,
    /// The request of a return this upload answers, if any.
    pub request_id: Option<i64>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = document_requests)]
struct RequestRow {
    id: i64,
    kind: String,
    description: String,
    comment: String,
    requested_at: i64,
    document_id: Option<i64>,
}

impl From<RequestRow> for DocumentRequest {
    fn from(r: RequestRow) -> Self {
        DocumentRequest {
            id: r.id,
            kind: r.kind,
            description: r.description,
            comment: r.comment,
            requested_at: r.requested_at,
            document_id: r.document_id,
        }
    }
}

/// One item a return asks for.
#[derive(Insertable)]
#[diesel(table_name = document_requests)]
pub struct NewRequest<'a> {
    pub claim_id: i64,
    pub case_id: i64,
    pub kind: &'a str,
    pub description: &'a str,
    pub comment: &'a str,
    pub requested_by: i64,
    pub requested_at: i64,
}

pub fn insert_requests(conn: &mut DbConn, rows: &[NewRequest<'_>]) -> QueryResult<usize> {
    Ok(crate::insert_chunked!(conn, document_requests::table, rows))
}

/// What the claim's latest return asked for, answered or not.
pub fn latest_requests(conn: &mut DbConn, claim_id: i64) -> QueryResult<Vec<DocumentRequest>> {
    let latest: Option<i64> = db_run!(conn, c => document_requests::table
        .filter(document_requests::claim_id.eq(claim_id))
        .select(diesel::dsl::max(document_requests::requested_at))
        .first(c))?;
    let Some(latest) = latest else {
        return Ok(Vec::new());
    };
    let rows: Vec<RequestRow> = db_run!(conn, c => document_requests::table
        .filter(document_requests::claim_id.eq(claim_id))
        .filter(document_requests::requested_at.eq(latest))
        .order(document_requests::id)
        .select(RequestRow::as_select())
        .load(c))?;
    Ok(rows.into_iter().map(DocumentRequest::from).collect())
}

/// Marks a request answered by an upload; false when it was answered already.
pub fn answer_request(
    conn: &mut DbConn,
    request_id: i64,
    document_id: i64,
    at_ms: i64,
) -> QueryResult<bool> {
    let n = db_run!(conn, c => diesel::update(document_requests::table.filter(document_requests::id.eq(request_id).and(document_requests::document_id.is_null())))
        .set((document_requests::document_id.eq(document_id), document_requests::answered_at.eq(at_ms)))
        .execute(c))?;
    Ok(n == 1)
}

/// Writes the claims and, for each with a person, its row of `claim_stays` (the screening
/// rules' copy). Call inside a transaction.
pub fn insert_all(conn: &mut DbConn, records: &[NewClaimRecord<'_>]) -> QueryResult<usize> {
    let rows: Vec<NewClaim<'_>> = records.iter().map(NewClaim::from).collect();
    let written = crate::insert_chunked!(conn, claims::table, rows);
    let stays: Vec<NewStay<'_>> = records
        .iter()
        .zip(&rows)
        .filter_map(|(r, row)| {
            let c = r.claim;
            Some(NewStay {
                person_id: r.person_id?,
                admission_date: row.admission_date.clone(),
                claim_id: r.id,
                discharge_date: row.discharge_date.clone(),
                facility_code: &c.facility_code,
                encounter_kind: c.encounter_kind.as_str(),
                family: c.family.as_str(),
                diagnosis_code: &c.diagnosis_code,
                rule_facts: RuleFacts::stored(&c.facts),
                total_fen: c.total_fen.0,
                invoice_numbers: row.invoice_numbers.clone(),
                attending_doctor: c.attending_doctor.as_deref(),
            })
        })
        .collect();
    super::screening::insert_stays(conn, &stays)?;
    Ok(written)
}

pub fn get(conn: &mut DbConn, id: i64) -> QueryResult<Option<ClaimRecord>> {
    let row = db_run!(conn, c => claims::table.find(id).select(ClaimRow::as_select()).load(c).map(super::at_most_one))?;
    row.map(ClaimRecord::try_from).transpose()
}

pub fn insert_document(conn: &mut DbConn, doc: &NewDocument<'_>) -> QueryResult<i64> {
    db_run!(conn, c => diesel::insert_into(claim_documents::table).values(doc).returning(claim_documents::id).get_result(c))
}

pub fn documents(conn: &mut DbConn, claim_id: i64) -> QueryResult<Vec<DocumentRow>> {
    db_run!(conn, c => claim_documents::table
        .filter(claim_documents::claim_id.eq(claim_id))
        .order(claim_documents::id)
        .select(DocumentRow::as_select())
        .load(c))
}

pub fn document(conn: &mut DbConn, claim_id: i64, doc_id: i64) -> QueryResult<Option<DocumentRow>> {
    db_run!(conn, c => claim_documents::table
        .filter(claim_documents::claim_id.eq(claim_id).and(claim_documents::id.eq(doc_id)))
        .select(DocumentRow::as_select())
        .first(c)
        .optional())
}

/// Claims (other than `except`) that carry this invoice number, at any facility or person.
/// Another claim carrying an invoice of the same normal form, with its claimant.
#[derive(Debug, Clone, Queryable)]
pub struct InvoiceUseRow {
    pub claim_id: i64,
    pub facility_code: String,
    pub person_id: Option<i64>,
    /// The number as that claim carries it.
    pub invoice_number: String,
    pub person_name: Option<String>,
    pub id_number: Option<String>,
}

/// The claims (other than `except`) carrying an invoice whose normal form is `key`: an
/// index range on `claim_invoices (invoice_key)`.
pub fn claims_with_invoice_key(
    conn: &mut DbConn,
    key: &str,
    except: i64,
) -> QueryResult<Vec<InvoiceUseRow>> {
    db_run!(conn, c => claim_invoices::table
        .left_join(persons::table.on(persons::id.nullable().eq(claim_invoices::person_id)))
        .filter(claim_invoices::invoice_key.eq(key).and(claim_invoices::claim_id.ne(except)))
        .order(claim_invoices::claim_id)
        .select((
            claim_invoices::claim_id,
            claim_invoices::facility_code,
            claim_invoices::person_id,
            claim_invoices::invoice_number,
            persons::name.nullable(),
            persons::id_number.nullable(),
        ))
        .load(c))
}

/// Fills the normal form of invoice rows written before it was kept (the migration adds
/// the column empty). Returns how many rows it filled.
pub fn fill_invoice_keys(conn: &mut DbConn) -> QueryResult<usize> {
    let mut filled = 0;
    loop {
        let numbers: Vec<String> = db_run!(conn, c => claim_invoices::table
            .filter(claim_invoices::invoice_key.eq(""))
            .select(claim_invoices::invoice_number)
            .distinct()
            .limit(5_000)
            .load(c))?;
        if numbers.is_empty() {
            return Ok(filled);
        }
        for number in &numbers {
            let key = crate::domain::screening::invoice_key(number);
            filled += db_run!(conn, c => diesel::update(claim_invoices::table
                .filter(claim_invoices::invoice_number.eq(number))
                .filter(claim_invoices::invoice_key.eq("")))
                .set(claim_invoices::invoice_key.eq(&key))
                .execute(c))?;
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = claim_invoices, treat_none_as_default_value = false)]
pub struct NewInvoice<'a> {
    pub invoice_number: &'a str,
    /// Its normal form ([`crate::domain::screening::invoice_key`]).
    pub invoice_key: String,
    pub facility_code: &'a str,
    pub claim_id: i64,
    pub person_id: Option<i64>,
}

pub fn insert_invoices(conn: &mut DbConn, rows: &[NewInvoice<'_>]) -> QueryResult<usize> {
    Ok(crate::insert_chunked!(conn, claim_invoices::table, rows))
}

/// A new price for the claim: the policy, the proposed amount and its breakdown.
pub fn set_assessment(
    conn: &mut DbConn,
    claim_id: i64,
    policy: &str,
    breakdown: &Breakdown,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(claims::table.find(claim_id))
        .set((claims::policy_name.eq(policy), claims::payable_fen.eq(breakdown.payable_fen), claims::breakdown.eq(json_text(breakdown))))
        .execute(c))
}

/// The decision: the amount granted, the breakdown it rests on (kept when there is none),
/// and its record.
pub fn set_decision(
    conn: &mut DbConn,
    claim_id: i64,
    breakdown: Option<&Breakdown>,
    decision: &Decision,
) -> QueryResult<usize> {
    let text = json_text(decision);
    db_run!(conn, c => match breakdown {
        Some(b) => diesel::update(claims::table.find(claim_id))
            .set((claims::decided_fen.eq(decision.decided_fen), claims::catastrophic_fen.eq(decision.catastrophic_fen), claims::assistance_fen.eq(decision.assistance_fen), claims::breakdown.eq(json_text(b)), claims::decision.eq(&text)))
            .execute(c),
        None => diesel::update(claims::table.find(claim_id))
            .set((claims::decided_fen.eq(decision.decided_fen), claims::catastrophic_fen.eq(decision.catastrophic_fen), claims::assistance_fen.eq(decision.assistance_fen), claims::decision.eq(&text)))
            .execute(c),
    })
}

pub fn for_resident(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<ClaimRecord>> {
    records(
        db_run!(conn, c => claims::table.filter(claims::resident_user_id.eq(user_id)).order(claims::id.desc()).select(ClaimRow::as_select()).load(c))?,
    )
}

/// A page of priced claims for the what-if replay: persons after `after_person` up to
/// `upto_person`, admitted
/// in `from..=to`, ordered by person, admission and id (the `claims (person_id,
/// admission_date)` index), at most `limit` rows. The caller drops the page's last person
/// when the page is full, so that a person is never split across pages.
pub fn priced_page(
    conn: &mut DbConn,
    after_person: i64,
    upto_person: i64,
    from: &str,
    to: &str,
    limit: i64,
) -> QueryResult<Vec<ClaimRecord>> {
    // The breakdown and decision are not read (NULL in their place): a replay prices the
    // claim again, and parsing the stored breakdown was a third of its reading time.
    use diesel::dsl::sql;
    use diesel::sql_types::{Nullable, Text};
    records(db_run!(conn, c => claims::table
        .filter(claims::person_id.gt(after_person))
        .filter(claims::person_id.le(upto_person))
        .filter(claims::admission_date.between(from, to))
        .filter(claims::policy_name.is_not_null())
        .order((claims::person_id, claims::admission_date, claims::id))
        .limit(limit)
        .select((
            claims::id, claims::resident_user_id, claims::submitted_by, claims::family,
            claims::encounter_kind, claims::facility_code, claims::admission_date,
            claims::discharge_date, claims::diagnosis_code, claims::invoice_numbers,
            claims::total_fen, claims::policy_scope_fen, claims::self_paid_fen,
            claims::family_facts, claims::region_code, claims::payable_fen, claims::decided_fen,
            claims::created_at, claims::person_id, claims::policy_name,
            sql::<Nullable<Text>>("NULL"), sql::<Nullable<Text>>("NULL"),
            claims::itemised_lines, claims::attending_doctor,
        ))
        .load::<ClaimRow>(c))?)
}

/// Claims in `lo..=hi` with an accident-injury approval form on file (the trauma cap
/// depends on it).
pub fn with_trauma_approval(conn: &mut DbConn, lo: i64, hi: i64) -> QueryResult<Vec<i64>> {
    db_run!(conn, c => claim_documents::table
        .filter(claim_documents::claim_id.between(lo, hi))
        .filter(claim_documents::kind.eq("accident_injury_approval"))
        .filter(claim_documents::status.eq("present"))
        .select(claim_documents::claim_id)
        .distinct()
        .load(c))
}

/// The year-to-date columns of a row, read into the calculator's totals.
#[derive(Queryable, Selectable)]
#[diesel(table_name = ytd_totals)]
struct YtdRow {
    scope_fen: i64,
    over_limit_paid_fen: i64,
    outpatient_paid_fen: i64,
    paid_fen: i64,
    catastrophic_base_fen: i64,
    catastrophic_paid_fen: i64,
    assistance_paid_fen: i64,
}

fn ytd_of(r: YtdRow) -> YearToDate {
    YearToDate {
        scope_fen: r.scope_fen,
        over_limit_paid_fen: r.over_limit_paid_fen,
        outpatient_paid_fen: r.outpatient_paid_fen,
        paid_fen: r.paid_fen,
        catastrophic_base_fen: r.catastrophic_base_fen,
        catastrophic_paid_fen: r.catastrophic_paid_fen,
        assistance_paid_fen: r.assistance_paid_fen,
    }
}

/// Reads a person's year-to-date totals in one schedule's coverage year for update: on
/// PostgreSQL the row is locked until the transaction ends (SQLite's write transaction
/// already excludes other writers), so two concurrent decisions cannot both spend the same
/// room under a cap.
pub fn ytd_for_update(
    conn: &mut DbConn,
    person_id: i64,
    schedule: &str,
    year: i32,
) -> QueryResult<YearToDate> {
    let blank = (
        ytd_totals::person_id.eq(person_id),
        ytd_totals::schedule.eq(schedule),
        ytd_totals::year.eq(year),
        ytd_totals::scope_fen.eq(0i64),
        ytd_totals::over_limit_paid_fen.eq(0i64),
        ytd_totals::outpatient_paid_fen.eq(0i64),
        ytd_totals::paid_fen.eq(0i64),
    );
    let key = ytd_totals::table.find((person_id, schedule, year));
    let row: YtdRow = match conn {
        DbConn::Sqlite(c, _) => {
            diesel::insert_or_ignore_into(ytd_totals::table)
                .values(blank)
                .execute(c)?;
            key.select(YtdRow::as_select()).first(c)?
        }
        DbConn::Pg(c) => {
            diesel::insert_into(ytd_totals::table)
                .values(blank)
                .on_conflict_do_nothing()
                .execute(c)?;
            key.select(YtdRow::as_select()).for_update().first(c)?
        }
    };
    Ok(ytd_of(row))
}

pub fn ytd_read(
    conn: &mut DbConn,
    person_id: i64,
    schedule: &str,
    year: i32,
) -> QueryResult<YearToDate> {
    let row: Option<YtdRow> = db_run!(conn, c => ytd_totals::table
        .find((person_id, schedule, year))
        .select(YtdRow::as_select())
        .load(c)
        .map(super::at_most_one))?;
    Ok(row.map_or_else(YearToDate::default, ytd_of))
}

pub fn ytd_write(
    conn: &mut DbConn,
    person_id: i64,
    schedule: &str,
    year: i32,
    y: &YearToDate,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(ytd_totals::table.find((person_id, schedule, year)))
        .set((
            ytd_totals::scope_fen.eq(y.scope_fen),
            ytd_totals::over_limit_paid_fen.eq(y.over_limit_paid_fen),
            ytd_totals::outpatient_paid_fen.eq(y.outpatient_paid_fen),
            ytd_totals::paid_fen.eq(y.paid_fen),
            ytd_totals::catastrophic_base_fen.eq(y.catastrophic_base_fen),
            ytd_totals::catastrophic_paid_fen.eq(y.catastrophic_paid_fen),
            ytd_totals::assistance_paid_fen.eq(y.assistance_paid_fen),
        ))
        .execute(c))
}

/// A stored idempotency key: the request hash, what it created, and when.
pub fn idempotent(
    conn: &mut DbConn,
    user_id: i64,
    key: &str,
) -> QueryResult<Option<(String, i64, i64, i64)>> {
    db_run!(conn, c => idempotency_keys::table
        .find((user_id, key))
        .select((idempotency_keys::request_hash, idempotency_keys::claim_id, idempotency_keys::case_id, idempotency_keys::created_at))
        .first(c)
        .optional())
}

pub fn remember_idempotent(
    conn: &mut DbConn,
    user_id: i64,
    key: &str,
    hash: &str,
    claim_id: i64,
    case_id: i64,
    now_ms: i64,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::claim_id.eq(claim_id),
            idempotency_keys::case_id.eq(case_id),
            idempotency_keys::created_at.eq(now_ms),
        ))
        // An honest-retry key whose window had passed now names the newer claim.
        .on_conflict((idempotency_keys::user_id, idempotency_keys::key))
        .do_update()
        .set((
            idempotency_keys::claim_id.eq(claim_id),
            idempotency_keys::case_id.eq(case_id),
            idempotency_keys::created_at.eq(now_ms),
        ))
        .execute(c))
}

pub fn reject_document(
    conn: &mut DbConn,
    claim_id: i64,
    doc_id: i64,
    reason: &str,
) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(claim_documents::table.filter(claim_documents::id.eq(doc_id).and(claim_documents::claim_id.eq(claim_id))))
        .set((claim_documents::status.eq("rejected"), claim_documents::reject_reason.eq(reason)))
        .execute(c))
}

/// The invoice amounts as a hospital's first review corrected them.
pub fn set_amounts(
    conn: &mut DbConn,
    claim_id: i64,
    a: crate::domain::claim::InvoiceAmounts,
) -> QueryResult<usize> {
    super::screening::correct_stay(conn, claim_id, StayCorrection::Total(a.total_fen))?;
    db_run!(conn, c => diesel::update(claims::table.find(claim_id))
        .set((claims::total_fen.eq(a.total_fen), claims::policy_scope_fen.eq(a.policy_scope_fen), claims::self_paid_fen.eq(a.self_paid_fen)))
        .execute(c))
}

pub fn set_family_facts(
    conn: &mut DbConn,
    claim_id: i64,
    facts: &FamilyFacts,
) -> QueryResult<usize> {
    let stored = RuleFacts::stored(facts);
    super::screening::correct_stay(conn, claim_id, StayCorrection::Facts(&stored))?;
    db_run!(conn, c => diesel::update(claims::table.find(claim_id)).set(claims::family_facts.eq(json_text(facts))).execute(c))
}
