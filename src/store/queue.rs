//! Queue reads and lease writes. Claim-next is concurrency-safe on both backends: on
//! PostgreSQL each candidate is locked `FOR UPDATE SKIP LOCKED` before it is leased, so two
//! callers never take the same case and never wait on each other; on SQLite the whole
//! claim-next runs in one `BEGIN IMMEDIATE` transaction.
use super::schema::{cases, claim_invoices, claims, persons};
use super::DbConn;
use crate::db_run;
use diesel::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sla {
    OnTrack,
    AtRisk,
    Breached,
}

pub struct QueueFilter {
    /// Stages whose role the caller holds.
    pub stages: Vec<String>,
    /// The caller's roles: cases escalated to one of them are theirs to work too.
    pub escalated_roles: Vec<String>,
    pub region_path: String,
    pub family: Option<String>,
    pub stage: Option<String>,
    pub facility: Option<String>,
    pub min_fen: Option<i64>,
    pub max_fen: Option<i64>,
    pub sla: Option<Sla>,
    pub due_before: Option<i64>,
    pub assignee: Option<i64>,
    pub unassigned: bool,
    /// A claim or case number, an invoice number, an ID number or part of a name.
    pub search: Option<QueueSearch>,
    pub sort: QueueSort,
    /// Keyset cursor: the (sort key, id) of the last row seen.
    pub after: Option<(i64, i64)>,
    pub limit: i64,
    pub now_ms: i64,
    /// A case is at risk when its due time is this close.
    pub at_risk_ms: i64,
}

/// What the queue's search box matched against: the text as typed (an invoice number, an ID
/// number, part of a name) and, when it is a number, a claim or case number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSearch {
    pub text: String,
    pub number: Option<i64>,
}

impl QueueSearch {
    /// The search for what a user typed; none for blank input.
    pub fn parse(typed: &str) -> Option<QueueSearch> {
        let text = typed.trim().trim_start_matches('#');
        (!text.is_empty()).then(|| QueueSearch {
            text: text.to_string(),
            number: text.parse().ok().filter(|n: &i64| *n > 0),
        })
    }
}

/// The column the queue is ordered by; the case number breaks ties.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    /// The due time: the most urgent first.
    #[default]
    Due,
    /// The claimed amount.
    Amount,
    /// When the case was opened.
    Opened,
    /// The case number.
    Case,
    /// The screening risk score (the weights of the rules the claim hit).
    Risk,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueSort {
    pub key: SortKey,
    pub descending: bool,
}

impl QueueSort {
    pub const KEYS: [(&'static str, SortKey); 5] = [
        ("due", SortKey::Due),
        ("amount", SortKey::Amount),
        ("opened", SortKey::Opened),
        ("case", SortKey::Case),
        ("risk", SortKey::Risk),
    ];

    /// `due`, `amount`, `opened`, `case` or `risk`, with a leading `-` for descending order.
    pub fn parse(s: &str) -> Option<QueueSort> {
        let (descending, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let key = Self::KEYS.iter().find(|(n, _)| *n == name)?.1;
        Some(QueueSort { key, descending })
    }

    /// The row's value of the sort column, which the cursor carries.
    pub fn key_of(&self, r: &QueueRow) -> i64 {
        match self.key {
            SortKey::Due => r.due_at.unwrap_or(i64::MIN),
            SortKey::Amount => r.total_fen,
            SortKey::Opened => r.created_at,
            SortKey::Case => r.case_id,
            SortKey::Risk => r.risk_score,
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct QueueRow {
    pub case_id: i64,
    pub claim_id: i64,
    pub workflow: String,
    pub stage: Option<String>,
    pub due_at: Option<i64>,
    pub created_at: i64,
    pub assignee_id: Option<i64>,
    pub lease_expires_at: Option<i64>,
    pub version: i64,
    pub family: String,
    pub total_fen: i64,
    pub payable_fen: Option<i64>,
    pub facility_code: String,
    pub person_name: Option<String>,
    pub id_number: Option<String>,
    pub escalated_to: Option<String>,
    pub escalated_at: Option<i64>,
    pub risk_score: i64,
}

/// One index range of the queue: the cases in a stage, or the cases escalated to a role.
/// `cases (stage, due_at)` and `cases (escalated_to, due_at)` return each lane already in
/// queue order, so a page is a few short index walks merged here; one query with
/// `stage IN (…) OR escalated_to IN (…)` would make the database sort every open case first.
#[derive(Debug, Clone, Copy)]
enum Lane<'a> {
    Stage(&'a str),
    EscalatedTo(&'a str),
}

fn lanes<'a>(stages: &'a [String], roles: &'a [String]) -> impl Iterator<Item = Lane<'a>> {
    stages
        .iter()
        .map(|s| Lane::Stage(s))
        .chain(roles.iter().map(|r| Lane::EscalatedTo(r)))
}

/// Merges lanes already in (key, id) order into the first `limit` distinct cases.
fn merge<T>(
    mut rows: Vec<T>,
    key: impl Fn(&T) -> (i64, i64),
    descending: bool,
    limit: i64,
) -> Vec<T> {
    if descending {
        rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
    } else {
        rows.sort_by_key(|r| key(r));
    }
    rows.dedup_by_key(|r| key(r).1);
    rows.truncate(limit.max(0) as usize);
    rows
}

pub fn queue(conn: &mut DbConn, f: &QueueFilter) -> QueryResult<Vec<QueueRow>> {
    // The caller's own cases are few and have an index of their own: one query.
    if f.assignee.is_some() {
        return queue_lane(conn, f, None);
    }
    let mut rows = Vec::new();
    for lane in lanes(&f.stages, &f.escalated_roles) {
        rows.extend(queue_lane(conn, f, Some(lane))?);
    }
    Ok(merge(
        rows,
        |r| (f.sort.key_of(r), r.case_id),
        f.sort.descending,
        f.limit,
    ))
}

fn queue_lane(
    conn: &mut DbConn,
    f: &QueueFilter,
    lane: Option<Lane<'_>>,
) -> QueryResult<Vec<QueueRow>> {
    db_run!(conn, c => {
        let mut q = cases::table
            .inner_join(claims::table.on(claims::id.eq(cases::subject_id).and(cases::subject_kind.eq("claim"))))
            .left_join(persons::table.on(persons::id.nullable().eq(claims::person_id)))
            .filter(cases::region_path.eq(&f.region_path).or(cases::region_path.like(format!("{}/%", f.region_path))))
            .filter(cases::due_at.is_not_null())
            .into_boxed();
        q = match lane {
            Some(Lane::Stage(stage)) => q.filter(cases::stage.eq(stage)),
            Some(Lane::EscalatedTo(role)) => q.filter(cases::escalated_to.eq(role)),
            None => q.filter(cases::stage.eq_any(&f.stages).or(cases::escalated_to.eq_any(&f.escalated_roles))),
        };
        if let Some(family) = &f.family {
            q = q.filter(claims::family.eq(family));
        }
        if let Some(stage) = &f.stage {
            q = q.filter(cases::stage.eq(stage));
        }
        if let Some(facility) = &f.facility {
            q = q.filter(claims::facility_code.eq(facility));
        }
        if let Some(min) = f.min_fen {
            q = q.filter(claims::total_fen.ge(min));
        }
        if let Some(max) = f.max_fen {
            q = q.filter(claims::total_fen.le(max));
        }
        match f.sla {
            Some(Sla::Breached) => q = q.filter(cases::due_at.lt(f.now_ms)),
            Some(Sla::AtRisk) => q = q.filter(cases::due_at.ge(f.now_ms).and(cases::due_at.lt(f.now_ms + f.at_risk_ms))),
            Some(Sla::OnTrack) => q = q.filter(cases::due_at.ge(f.now_ms + f.at_risk_ms)),
            None => {}
        }
        if let Some(before) = f.due_before {
            q = q.filter(cases::due_at.lt(before));
        }
        if let Some(me) = f.assignee {
            q = q.filter(cases::assignee_id.eq(me));
        }
        if f.unassigned {
            q = q.filter(cases::assignee_id.is_null().or(cases::lease_expires_at.lt(f.now_ms)));
        }
        if let Some(s) = &f.search {
            let on_invoice = claim_invoices::table
                .filter(claim_invoices::invoice_number.eq(&s.text))
                .select(claim_invoices::claim_id);
            let number = s.number.unwrap_or(-1);
            q = q.filter(
                persons::name.nullable().like(super::search::contains_pattern(&s.text)).escape('\\')
                    .or(persons::id_number.nullable().eq(s.text.to_uppercase()))
                    .or(claims::id.eq_any(on_invoice))
                    .or(claims::id.eq(number))
                    .or(cases::id.eq(number)),
            );
        }
        // Keyset paging on (sort column, id); the bound on the column first, so that it
        // opens the index range.
        macro_rules! keyset {
            ($col:expr) => {{
                let desc = f.sort.descending;
                if let Some((k, id)) = f.after {
                    q = if desc {
                        q.filter($col.le(k)).filter($col.lt(k).or(cases::id.lt(id)))
                    } else {
                        q.filter($col.ge(k)).filter($col.gt(k).or(cases::id.gt(id)))
                    };
                }
                q = if desc {
                    q.order(($col.desc(), cases::id.desc()))
                } else {
                    q.order(($col.asc(), cases::id.asc()))
                };
            }};
        }
        match f.sort.key {
            SortKey::Due => keyset!(cases::due_at),
            SortKey::Amount => keyset!(claims::total_fen),
            SortKey::Opened => keyset!(cases::created_at),
            SortKey::Case => keyset!(cases::id),
            SortKey::Risk => keyset!(cases::risk_score),
        }
        q.limit(f.limit)
            .select((
                cases::id,
                claims::id,
                cases::workflow,
                cases::stage,
                cases::due_at,
                cases::created_at,
                cases::assignee_id,
                cases::lease_expires_at,
                cases::version,
                claims::family,
                claims::total_fen,
                claims::payable_fen,
                claims::facility_code,
                persons::name.nullable(),
                persons::id_number.nullable(),
                cases::escalated_to,
                cases::escalated_at,
                cases::risk_score,
            ))
            .load(c)
    })
}

/// The caller's own unexpired lease or standing assignment, if any.
pub fn own_lease(conn: &mut DbConn, user_id: i64, now_ms: i64) -> QueryResult<Option<i64>> {
    db_run!(conn, c => cases::table
        .filter(cases::assignee_id.eq(user_id).and(cases::stage.is_not_null()))
        .filter(cases::lease_expires_at.is_null().or(cases::lease_expires_at.gt(now_ms)))
        .order(cases::due_at.asc())
        .select(cases::id)
        .first(c)
        .optional())
}

/// Free cases in the caller's stages and region, the riskiest first (the screening risk
/// score: only claims that hit a rule have one), then the most urgent (not locked).
pub fn lease_candidates(
    conn: &mut DbConn,
    stages: &[String],
    escalated_roles: &[String],
    region_path: &str,
    now_ms: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let pattern = format!("{region_path}/%");
    let mut found: Vec<(i64, Option<i64>, i64)> = Vec::new();
    for lane in lanes(stages, escalated_roles) {
        let free = cases::assignee_id
            .is_null()
            .or(cases::lease_expires_at.lt(now_ms));
        let region = cases::region_path
            .eq(region_path)
            .or(cases::region_path.like(&pattern));
        let q = cases::table
            .filter(region)
            .filter(free)
            .order((
                cases::risk_score.desc(),
                cases::due_at.asc(),
                cases::id.asc(),
            ))
            .limit(limit)
            .select((cases::risk_score, cases::due_at, cases::id));
        let rows: Vec<(i64, Option<i64>, i64)> = match lane {
            Lane::Stage(stage) => db_run!(conn, c => q.filter(cases::stage.eq(stage)).load(c)),
            Lane::EscalatedTo(role) => {
                db_run!(conn, c => q.filter(cases::escalated_to.eq(role)).load(c))
            }
        }?;
        found.extend(rows);
    }
    found.sort_by_key(|(risk, due, id)| (std::cmp::Reverse(*risk), due.unwrap_or(i64::MIN), *id));
    let mut ids: Vec<i64> = Vec::with_capacity(found.len());
    for (_, _, id) in found {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids.truncate(limit.max(0) as usize);
    Ok(ids)
}

/// Locks one candidate for this transaction if it is still free. On PostgreSQL a row that
/// another caller is leasing right now is skipped (`FOR UPDATE SKIP LOCKED`) instead of
/// waited for; SQLite's write transaction already excludes other callers.
pub fn lock_if_free(conn: &mut DbConn, case_id: i64, now_ms: i64) -> QueryResult<bool> {
    let free = cases::assignee_id
        .is_null()
        .or(cases::lease_expires_at.lt(now_ms));
    let q = cases::table
        .filter(cases::id.eq(case_id))
        .filter(free)
        .select(cases::id);
    let found: Option<i64> = match conn {
        DbConn::Sqlite(c, _) => q.first(c).optional()?,
        DbConn::Pg(c) => q.for_update().skip_locked().first(c).optional()?,
    };
    Ok(found.is_some())
}

/// Leases a case if it is still free; false when someone else got it first.
pub fn take_lease(
    conn: &mut DbConn,
    case_id: i64,
    user_id: i64,
    until_ms: i64,
    now_ms: i64,
) -> QueryResult<bool> {
    let free = cases::assignee_id
        .is_null()
        .or(cases::lease_expires_at.lt(now_ms))
        .or(cases::assignee_id.eq(user_id));
    let n = db_run!(conn, c => diesel::update(cases::table.filter(cases::id.eq(case_id)).filter(free))
        .set((cases::assignee_id.eq(user_id), cases::lease_expires_at.eq(until_ms), cases::version.eq(cases::version + 1), cases::updated_at.eq(now_ms)))
        .execute(c))?;
    Ok(n == 1)
}

pub fn clear_lease(conn: &mut DbConn, case_id: i64, now_ms: i64) -> QueryResult<usize> {
    db_run!(conn, c => diesel::update(cases::table.find(case_id))
        .set((cases::assignee_id.eq(None::<i64>), cases::lease_expires_at.eq(None::<i64>), cases::version.eq(cases::version + 1), cases::updated_at.eq(now_ms)))
        .execute(c))
}

/// Open cases whose lease ran out, with their holders.
pub fn expired_leases(
    conn: &mut DbConn,
    now_ms: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, Option<i64>)>> {
    db_run!(conn, c => cases::table
        .filter(cases::lease_expires_at.lt(now_ms))
        .order(cases::id)
        .limit(limit)
        .select((cases::id, cases::assignee_id))
        .load(c))
}

/// What a digest reports for one user.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScopeCounts {
    pub open: i64,
    pub due_today: i64,
    pub breached: i64,
    pub mine: i64,
}

/// Counts over the cases a user may work (their stages or escalated to their roles, in
/// their region), and the open cases they hold.
pub fn scope_counts(
    conn: &mut DbConn,
    stages: &[String],
    roles: &[String],
    region_path: &str,
    user_id: i64,
    now_ms: i64,
    end_of_day_ms: i64,
) -> QueryResult<ScopeCounts> {
    let pattern = format!("{region_path}/%");
    let mut counts = ScopeCounts::default();
    for (slot, due_before) in [
        (&mut counts.open, None),
        (&mut counts.due_today, Some(end_of_day_ms)),
        (&mut counts.breached, Some(now_ms)),
    ] {
        *slot = db_run!(conn, c => {
            let mut q = cases::table
                .filter(cases::stage.eq_any(stages).or(cases::escalated_to.eq_any(roles)))
                .filter(cases::region_path.eq(region_path).or(cases::region_path.like(&pattern)))
                .into_boxed();
            if let Some(before) = due_before {
                q = q.filter(cases::due_at.lt(before));
            }
            q.count().get_result(c)
        })?;
    }
    counts.mine = db_run!(conn, c => cases::table
        .filter(cases::assignee_id.eq(user_id).and(cases::stage.is_not_null()))
        .count()
        .get_result(c))?;
    Ok(counts)
}
