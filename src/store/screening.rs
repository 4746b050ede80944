//! Reads for the screening rules: a person's stays near a date (intake), pages of history
//! ordered by person and date (backtest), duplicate invoice groups, facility totals and the
//! stored outlier scores.
use super::schema::{claim_stays, claims, enrolments, facility_scores, persons, screening_stats};
use super::DbConn;
use crate::db_run;
use crate::domain::screening::OutlierScore;
use diesel::prelude::*;

/// One claim as the pair rules and the backtest see it: a row of `claim_stays`, the rules'
/// narrow copy of the claim.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = claim_stays)]
pub struct StayRow {
    #[diesel(column_name = claim_id)]
    pub id: i64,
    #[diesel(select_expression = claim_stays::person_id.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<claim_stays::person_id>)]
    pub person_id: Option<i64>,
    pub facility_code: String,
    pub encounter_kind: String,
    pub admission_date: String,
    pub discharge_date: String,
    pub family: String,
    pub diagnosis_code: String,
    /// The facts the rules read, as JSON (`service::screening::RuleFacts`).
    pub rule_facts: String,
    pub total_fen: i64,
    pub invoice_numbers: String,
    pub attending_doctor: Option<String>,
}

/// A claim's row of `claim_stays`, written with the claim.
#[derive(Insertable)]
#[diesel(table_name = claim_stays, treat_none_as_default_value = false)]
pub struct NewStay<'a> {
    pub person_id: i64,
    pub admission_date: String,
    pub claim_id: i64,
    pub discharge_date: String,
    pub facility_code: &'a str,
    pub encounter_kind: &'a str,
    pub family: &'a str,
    pub diagnosis_code: &'a str,
    pub rule_facts: String,
    pub total_fen: i64,
    pub invoice_numbers: String,
    pub attending_doctor: Option<&'a str>,
}

pub fn insert_stays(conn: &mut DbConn, rows: &[NewStay<'_>]) -> QueryResult<usize> {
    Ok(crate::insert_chunked!(conn, claim_stays::table, rows))
}

/// The claim's row, found by its claim's person and admission (the table's key).
fn stay_of_claim(
    claim_id: i64,
) -> diesel::dsl::Filter<claim_stays::table, diesel::dsl::Eq<claim_stays::claim_id, i64>> {
    claim_stays::table.filter(claim_stays::claim_id.eq(claim_id))
}

/// A correction of a claim that the rules' copy of it follows.
pub enum StayCorrection<'a> {
    /// A corrected total (the facility's first review).
    Total(i64),
    /// Corrected facts, in their stored form.
    Facts(&'a str),
}

/// Applies `correction` to the claim's `claim_stays` row, found by its key.
pub fn correct_stay(
    conn: &mut DbConn,
    claim_id: i64,
    correction: StayCorrection<'_>,
) -> QueryResult<usize> {
    let Some((person, admission)) = claim_key(conn, claim_id)? else {
        return Ok(0);
    };
    db_run!(conn, c => {
        let row = diesel::update(stay_of_claim(claim_id)
            .filter(claim_stays::person_id.eq(person))
            .filter(claim_stays::admission_date.eq(&admission)));
        match correction {
            StayCorrection::Total(total) => row.set(claim_stays::total_fen.eq(total)).execute(c),
            StayCorrection::Facts(facts) => row.set(claim_stays::rule_facts.eq(facts)).execute(c),
        }
    })
}

/// (person, admission date) of a claim: the key of its `claim_stays` row.
fn claim_key(conn: &mut DbConn, claim_id: i64) -> QueryResult<Option<(i64, String)>> {
    let row: Option<(Option<i64>, String)> = db_run!(conn, c => claims::table
        .find(claim_id)
        .select((claims::person_id, claims::admission_date))
        .first(c)
        .optional())?;
    Ok(row.and_then(|(person, admission)| Some((person?, admission))))
}

/// The person's claims whose stay touches `from..=to` (ISO dates): a key range of
/// `claim_stays`.
pub fn stays_near(
    conn: &mut DbConn,
    person_id: i64,
    from: &str,
    to: &str,
) -> QueryResult<Vec<StayRow>> {
    db_run!(conn, c => claim_stays::table
        .filter(claim_stays::person_id.eq(person_id))
        .filter(claim_stays::admission_date.le(to))
        .filter(claim_stays::discharge_date.ge(from))
        .order(claim_stays::claim_id)
        .select(StayRow::as_select())
        .load(c))
}

/// Claims of other members of `household` admitted at `facility` in `from..=to`: the
/// members from `persons (household)` (a household is a few people), then each one's key
/// range of `claim_stays`; short reads, whatever the facility's or the table's size.
pub fn household_stays(
    conn: &mut DbConn,
    household: &str,
    person_id: i64,
    facility: &str,
    from: &str,
    to: &str,
) -> QueryResult<Vec<StayRow>> {
    // Members first, then a key range each, rather than one join: given the join,
    // PostgreSQL's cached plan from a nearly empty table (early in an import) walked the
    // whole `claim_stays` key for the date range per claim, which made a 200,000-claim
    // import quadratic; SQLite's planner, without statistics, ranged over a hospital's month
    // when the facility was in SQL. A key range per member has one plan on both engines.
    let members: Vec<i64> = db_run!(conn, c => persons::table
        .filter(persons::household.eq(household))
        .filter(persons::id.ne(person_id))
        .select(persons::id)
        .load(c))?;
    let mut stays = Vec::new();
    for member in members {
        let mut theirs: Vec<StayRow> = db_run!(conn, c => claim_stays::table
            .filter(claim_stays::person_id.eq(member))
            .filter(claim_stays::admission_date.between(from, to))
            .select(StayRow::as_select())
            .load(c))?;
        theirs.retain(|s| s.facility_code == facility);
        stays.append(&mut theirs);
    }
    stays.sort_by_key(|s| s.id);
    Ok(stays)
}

/// One claim in the facility-ordered pass of the backtest: a [`StayRow`] with the
/// claimant's household.
#[derive(Debug, Clone, Queryable)]
pub struct FacilityStayRow {
    pub stay: StayRow,
    pub household: Option<String>,
}

/// A page of claims admitted in `from..=to`, in (facility, admission date, id) order after
/// `after` (keyset paging on `claim_stays (facility_code, admission_date, claim_id)`), of
/// facilities before `before` if given.
pub fn facility_page(
    conn: &mut DbConn,
    (f, d, id): (&str, &str, i64),
    before: Option<&str>,
    from: &str,
    to: &str,
    limit: i64,
) -> QueryResult<Vec<FacilityStayRow>> {
    db_run!(conn, c => {
        let mut query = claim_stays::table
            .left_join(persons::table.on(persons::id.eq(claim_stays::person_id)))
            .filter(claim_stays::facility_code.ge(f))
            .filter(
                claim_stays::facility_code.gt(f)
                    .or(claim_stays::admission_date.gt(d))
                    .or(claim_stays::admission_date.eq(d).and(claim_stays::claim_id.gt(id))),
            )
            .filter(claim_stays::admission_date.between(from, to))
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(claim_stays::facility_code.lt(before));
        }
        query
            .order((claim_stays::facility_code, claim_stays::admission_date, claim_stays::claim_id))
            .limit(limit)
            .select((StayRow::as_select(), persons::household.nullable()))
            .load(c)
    })
}

/// (facility code, claims admitted in `from..=to`) in code order: the facility index only.
pub fn stays_per_facility(
    conn: &mut DbConn,
    from: &str,
    to: &str,
) -> QueryResult<Vec<(String, i64)>> {
    db_run!(conn, c => claim_stays::table
        .filter(claim_stays::admission_date.between(from, to))
        .group_by(claim_stays::facility_code)
        .order(claim_stays::facility_code)
        .select((claim_stays::facility_code, diesel::dsl::count_star()))
        .load(c))
}

/// A page of history for the backtest: claims of persons after `after_person` whose stay
/// touches `from..=to`, ordered by person, date and id, at most `limit` rows: one sequential
/// range of `claim_stays`.
pub fn history_page(
    conn: &mut DbConn,
    after_person: i64,
    from: &str,
    to: &str,
    limit: i64,
) -> QueryResult<Vec<StayRow>> {
    db_run!(conn, c => claim_stays::table
        .filter(claim_stays::person_id.gt(after_person))
        .filter(claim_stays::admission_date.le(to))
        .filter(claim_stays::discharge_date.ge(from))
        .order((claim_stays::person_id, claim_stays::admission_date, claim_stays::claim_id))
        .limit(limit)
        .select(StayRow::as_select())
        .load(c))
}

/// (id, id_number, name, sex, birth_date, death_date) of persons with ids in `lo..=hi`.
pub type PersonRow = (i64, String, String, String, String, Option<String>);

pub fn persons_between(conn: &mut DbConn, lo: i64, hi: i64) -> QueryResult<Vec<PersonRow>> {
    db_run!(conn, c => persons::table
        .filter(persons::id.between(lo, hi))
        .order(persons::id)
        .select((persons::id, persons::id_number, persons::name, persons::sex, persons::birth_date, persons::death_date))
        .load(c))
}

/// (person_id, period_start, period_end) of enrolments of persons with ids in `lo..=hi`.
pub fn enrolment_periods_between(
    conn: &mut DbConn,
    lo: i64,
    hi: i64,
) -> QueryResult<Vec<(i64, String, String)>> {
    db_run!(conn, c => enrolments::table
        .filter(enrolments::person_id.between(lo, hi))
        .order(enrolments::person_id)
        .select((enrolments::person_id, enrolments::period_start, enrolments::period_end))
        .load(c))
}

/// One use of an invoice whose normal form is used more than once: (key, number as the
/// claim carries it, claim, facility, person, the person's name and ID number), ordered by
/// key and claim.
#[derive(Debug, Clone, QueryableByName)]
pub struct RepeatedInvoice {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub invoice_key: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub invoice_number: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub claim_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub facility_code: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub person_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub person_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub id_number: Option<String>,
}

pub fn repeated_invoices(conn: &mut DbConn) -> QueryResult<Vec<RepeatedInvoice>> {
    let query = diesel::sql_query(
        "SELECT i.invoice_key, i.invoice_number, i.claim_id, i.facility_code, i.person_id, \
         p.name AS person_name, p.id_number FROM claim_invoices i \
         LEFT JOIN persons p ON p.id = i.person_id \
         WHERE i.invoice_key IN (SELECT invoice_key FROM claim_invoices \
         GROUP BY invoice_key HAVING COUNT(*) > 1) ORDER BY i.invoice_key, i.claim_id",
    );
    db_run!(conn, c => query.load(c))
}

#[derive(Insertable)]
#[diesel(table_name = facility_scores)]
struct NewScore<'a> {
    facility_code: &'a str,
    outlier: bool,
    score: String,
    computed_at: i64,
}

/// Replaces every stored score with these. Call inside a transaction.
pub fn replace_scores(conn: &mut DbConn, scores: &[OutlierScore], now_ms: i64) -> QueryResult<()> {
    db_run!(conn, c => diesel::delete(facility_scores::table).execute(c))?;
    let rows: Vec<NewScore<'_>> = scores
        .iter()
        .map(|s| NewScore {
            facility_code: &s.facility,
            outlier: s.outlier,
            score: serde_json::to_string(s).unwrap_or_default(),
            computed_at: now_ms,
        })
        .collect();
    crate::insert_chunked!(conn, facility_scores::table, rows);
    Ok(())
}

/// The stored score of one facility.
pub fn score_for(conn: &mut DbConn, facility: &str) -> QueryResult<Option<OutlierScore>> {
    let json: Option<String> = db_run!(conn, c => facility_scores::table
        .filter(facility_scores::facility_code.eq(facility))
        .select(facility_scores::score)
        .first(c)
        .optional())?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

/// Every stored score, highest cost z first.
pub fn all_scores(conn: &mut DbConn) -> QueryResult<Vec<OutlierScore>> {
    let rows: Vec<String> = db_run!(conn, c => facility_scores::table
        .select(facility_scores::score)
        .load(c))?;
    let mut scores: Vec<OutlierScore> = rows
        .iter()
        .filter_map(|j| serde_json::from_str(j).ok())
        .collect();
    scores.sort_by(|a, b| b.cost_z.total_cmp(&a.cost_z));
    Ok(scores)
}

/// The statistics `claimflow screen` keeps for intake, one kind at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatKind {
    /// Cost and length of stay of a diagnosis group at a level (`PeerStats`).
    Peer,
    /// A doctor's standing among peers (`DoctorScore`).
    Doctor,
    /// A facility's share of admissions on rest days (`WeekendScore`).
    Weekend,
}

impl StatKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StatKind::Peer => "peer",
            StatKind::Doctor => "doctor",
            StatKind::Weekend => "weekend",
        }
    }
}

/// One statistic to store: its subject, whether it stands out, and its JSON.
pub struct NewStat {
    pub subject: String,
    pub outlier: bool,
    pub body: String,
}

#[derive(Insertable)]
#[diesel(table_name = screening_stats)]
struct StatRow<'a> {
    kind: &'a str,
    subject: &'a str,
    outlier: bool,
    body: &'a str,
    computed_at: i64,
}

/// Replaces every stored statistic of `kind` with these. Call inside a transaction.
pub fn replace_stats(
    conn: &mut DbConn,
    kind: StatKind,
    stats: &[NewStat],
    now_ms: i64,
) -> QueryResult<()> {
    db_run!(conn, c => diesel::delete(screening_stats::table.filter(screening_stats::kind.eq(kind.as_str()))).execute(c))?;
    let rows: Vec<StatRow<'_>> = stats
        .iter()
        .map(|s| StatRow {
            kind: kind.as_str(),
            subject: &s.subject,
            outlier: s.outlier,
            body: &s.body,
            computed_at: now_ms,
        })
        .collect();
    crate::insert_chunked!(conn, screening_stats::table, rows);
    Ok(())
}

/// The stored statistic of one subject, as JSON.
pub fn stat_for(conn: &mut DbConn, kind: StatKind, subject: &str) -> QueryResult<Option<String>> {
    db_run!(conn, c => screening_stats::table
        .filter(screening_stats::kind.eq(kind.as_str()).and(screening_stats::subject.eq(subject)))
        .select(screening_stats::body)
        .first(c)
        .optional())
}

/// Every stored statistic of `kind` that stands out, as JSON.
pub fn outlier_stats(conn: &mut DbConn, kind: StatKind) -> QueryResult<Vec<String>> {
    db_run!(conn, c => screening_stats::table
        .filter(screening_stats::kind.eq(kind.as_str()).and(screening_stats::outlier.eq(true)))
        .order(screening_stats::subject)
        .select(screening_stats::body)
        .load(c))
}
