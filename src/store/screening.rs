//! Reads for the screening rules: a person's stays near a date (intake), pages of history
//! ordered by person and date (backtest), duplicate invoice groups, facility totals and the
//! stored outlier scores.
use super::schema::{claims, enrolments, facility_scores, persons};
use super::DbConn;
use crate::db_run;
use crate::domain::screening::{FacilityStats, OutlierScore};
use diesel::prelude::*;

/// One claim as the pair rules and the backtest see it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = claims)]
pub struct StayRow {
    pub id: i64,
    pub person_id: Option<i64>,
    pub facility_code: String,
    pub encounter_kind: String,
    pub admission_date: String,
    pub discharge_date: String,
    pub family: String,
    pub diagnosis_code: String,
    pub family_facts: String,
    pub total_fen: i64,
    pub invoice_numbers: String,
}

/// The person's claims whose stay touches `from..=to` (ISO dates): an index range on
/// `claims (person_id, admission_date)`.
pub fn stays_near(
    conn: &mut DbConn,
    person_id: i64,
    from: &str,
    to: &str,
) -> QueryResult<Vec<StayRow>> {
    db_run!(conn, c => claims::table
        .filter(claims::person_id.eq(person_id))
        .filter(claims::admission_date.le(to))
        .filter(claims::discharge_date.ge(from))
        .order(claims::id)
        .select(StayRow::as_select())
        .load(c))
}

/// A page of history for the backtest: claims of persons after `after_person` whose stay
/// touches `from..=to`, ordered by person, date and id, at most `limit` rows.
pub fn history_page(
    conn: &mut DbConn,
    after_person: i64,
    from: &str,
    to: &str,
    limit: i64,
) -> QueryResult<Vec<StayRow>> {
    db_run!(conn, c => claims::table
        .filter(claims::person_id.gt(after_person))
        .filter(claims::admission_date.le(to))
        .filter(claims::discharge_date.ge(from))
        .order((claims::person_id, claims::admission_date, claims::id))
        .limit(limit)
        .select(StayRow::as_select())
        .load(c))
}

/// (id, id_number, sex, birth_date, death_date) of persons with ids in `lo..=hi`.
pub type PersonRow = (i64, String, String, String, Option<String>);

pub fn persons_between(conn: &mut DbConn, lo: i64, hi: i64) -> QueryResult<Vec<PersonRow>> {
    db_run!(conn, c => persons::table
        .filter(persons::id.between(lo, hi))
        .order(persons::id)
        .select((persons::id, persons::id_number, persons::sex, persons::birth_date, persons::death_date))
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

/// One use of an invoice number that is used more than once: (invoice, claim, facility,
/// person), ordered by invoice and claim.
pub type InvoiceUseRow = (String, i64, String, Option<i64>);

#[derive(QueryableByName)]
struct InvoiceUseSql {
    #[diesel(sql_type = diesel::sql_types::Text)]
    invoice_number: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    claim_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    facility_code: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    person_id: Option<i64>,
}

pub fn repeated_invoices(conn: &mut DbConn) -> QueryResult<Vec<InvoiceUseRow>> {
    let query = diesel::sql_query(
        "SELECT invoice_number, claim_id, facility_code, person_id FROM claim_invoices \
         WHERE invoice_number IN (SELECT invoice_number FROM claim_invoices \
         GROUP BY invoice_number HAVING COUNT(*) > 1) ORDER BY invoice_number, claim_id",
    );
    let rows: Vec<InvoiceUseSql> = db_run!(conn, c => query.load(c))?;
    Ok(rows
        .into_iter()
        .map(|r| (r.invoice_number, r.claim_id, r.facility_code, r.person_id))
        .collect())
}

/// Stays for the given claim ids (the duplicate-invoice claims the backtest reports).
pub fn stays_by_id(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<StayRow>> {
    db_run!(conn, c => claims::table
        .filter(claims::id.eq_any(ids))
        .order(claims::id)
        .select(StayRow::as_select())
        .load(c))
}

#[derive(QueryableByName)]
struct StatsRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    facility_code: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    level: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    region_code: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    claims: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    stays: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    stay_cost_fen: i64,
}

/// Per facility, the claims admitted in `from..=to`: how many, how many inpatient stays, and
/// what the stays cost. One aggregate over `claims (facility_code, admission_date)`, grouped by
/// the facilities' primary key alone so that rows arrive grouped from the index and no sort
/// (memory growing with history) is needed.
pub fn facility_stats(conn: &mut DbConn, from: &str, to: &str) -> QueryResult<Vec<FacilityStats>> {
    use diesel::sql_types::Text;
    let sql = "SELECT f.code AS facility_code, f.level AS level, f.region_code AS region_code, \
               CAST(COUNT(*) AS BIGINT) AS claims, \
               CAST(SUM(CASE WHEN c.encounter_kind = 'inpatient' THEN 1 ELSE 0 END) AS BIGINT) AS stays, \
               CAST(SUM(CASE WHEN c.encounter_kind = 'inpatient' THEN c.total_fen ELSE 0 END) AS BIGINT) AS stay_cost_fen \
               FROM claims c JOIN facilities f ON f.code = c.facility_code \
               WHERE c.admission_date >= $1 AND c.admission_date <= $2 \
               GROUP BY f.code ORDER BY f.code";
    let rows: Vec<StatsRow> = match conn {
        DbConn::Sqlite(c, _) => diesel::sql_query(sql.replace("$1", "?").replace("$2", "?"))
            .bind::<Text, _>(from)
            .bind::<Text, _>(to)
            .load(c)?,
        DbConn::Pg(c) => diesel::sql_query(sql)
            .bind::<Text, _>(from)
            .bind::<Text, _>(to)
            .load(c)?,
    };
    Ok(rows
        .into_iter()
        .map(|r| FacilityStats {
            facility: r.facility_code,
            level: r.level,
            region_code: r.region_code,
            stays: r.stays.max(0) as u64,
            stay_cost_fen: r.stay_cost_fen,
            claims: r.claims.max(0) as u64,
        })
        .collect())
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
