//! The what-if replay's shell: one thread reads pages of priced claims (whole persons, in
//! service order) and turns them into replay items; the other prices them with the pure
//! replayer ([`crate::domain::whatif::Replayer`]). Nothing is written to claims, cases or
//! the audit trail. Memory is a page or two of claims plus one number per resident.
use crate::definitions::Definitions;
use crate::domain::eligibility::enrolment_on;
use crate::domain::facility;
use crate::domain::policy::Policy;
use crate::domain::whatif::{Changed, Outcome, ReplayItem, Replayer};
use crate::service::pricing::request_of;
use crate::store::claims::{self as claim_store, ClaimRecord};
use crate::store::facilities::{self, Facility};
use crate::store::persons;
use crate::store::regions::{self, Region};
use crate::store::{DbConn, Pool};
use chrono::{Datelike, NaiveDate};
use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::sync_channel;

/// Rows per page.
pub const PAGE: i64 = 20_000;

/// Persons (by id) per block of the two readers' alternation.
const READ_BLOCK: i64 = 4_000;

/// What to replay.
pub struct ReplayPlan {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Only residents of this region (a county, or a prefecture and its counties).
    pub region: Option<String>,
    /// Every claim under this policy; `None`: under the policy it was priced with.
    pub baseline: Option<Policy>,
    /// The draft, or a sweep's drafts: each replayed against the same baseline.
    pub drafts: Vec<Policy>,
}

#[derive(Debug)]
pub enum WhatifError {
    EmptyPeriod { from: NaiveDate, to: NaiveDate },
    UnknownRegion(String),
    RegionOutsideDraft { draft: String, chosen: String },
    NothingToReplay { from: NaiveDate, to: NaiveDate },
    Store(String),
}

impl WhatifError {
    /// The message in Chinese and in English.
    pub fn texts(&self) -> (String, String) {
        match self {
            WhatifError::EmptyPeriod { from, to } => (
                format!("期间为空：起始日 {from} 晚于截止日 {to}"),
                format!("empty period: the first day {from} is after the last day {to}"),
            ),
            WhatifError::UnknownRegion(code) => {
                (format!("未知地区 `{code}`"), format!("unknown region `{code}`"))
            }
            WhatifError::RegionOutsideDraft { draft, chosen } => (
                format!("草案适用地区 {draft} 不包含所选地区 {chosen}"),
                format!("the draft is for region {draft}, which does not include region {chosen}"),
            ),
            WhatifError::NothingToReplay { from, to } => (
                format!("{from} 至 {to} 期间该地区没有已计算的案件，无可重放"),
                format!("no priced claims of the region's residents between {from} and {to}: nothing to replay"),
            ),
            WhatifError::Store(e) => (format!("读取案件出错：{e}"), format!("reading claims: {e}")),
        }
    }
}

impl std::fmt::Display for WhatifError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (zh, en) = self.texts();
        write!(f, "{zh} / {en}")
    }
}

impl std::error::Error for WhatifError {}

impl From<diesel::result::Error> for WhatifError {
    fn from(e: diesel::result::Error) -> Self {
        WhatifError::Store(e.to_string())
    }
}

/// What the replay found.
pub struct ReplayReport {
    /// One per draft, in order.
    pub outcomes: Vec<Outcome>,
    /// Claims a calculator refused, by message (none, for claims priced before).
    pub refused: BTreeMap<String, u64>,
    /// Claims in the period that were replayed.
    pub claims: u64,
    /// Claims skipped because the policy they were priced with is no longer loaded.
    pub unknown_baseline: BTreeMap<String, u64>,
    /// The baseline policies the claims were priced with, and how many claims each.
    pub baselines_used: BTreeMap<String, u64>,
}

/// The regions a resident must live in: the draft's, narrowed to `--region` when given.
fn scope_region(
    regions: &HashMap<String, Region>,
    plan: &ReplayPlan,
) -> Result<String, WhatifError> {
    let draft_region = plan
        .drafts
        .first()
        .map(|d| d.region.clone())
        .unwrap_or_default();
    let Some(chosen) = &plan.region else {
        return Ok(draft_region);
    };
    let region = regions
        .get(chosen)
        .ok_or_else(|| WhatifError::UnknownRegion(chosen.clone()))?;
    if !region.path.split('/').any(|c| c == draft_region) {
        return Err(WhatifError::RegionOutsideDraft {
            draft: draft_region,
            chosen: chosen.clone(),
        });
    }
    Ok(chosen.clone())
}

/// The checks that need no replay: a non-empty period and a region the draft covers.
pub fn check_plan(conn: &mut DbConn, plan: &ReplayPlan) -> Result<(), WhatifError> {
    if plan.from > plan.to {
        return Err(WhatifError::EmptyPeriod {
            from: plan.from,
            to: plan.to,
        });
    }
    let regions: HashMap<String, Region> = regions::list(conn)?
        .into_iter()
        .map(|r| (r.code.clone(), r))
        .collect();
    scope_region(&regions, plan).map(|_| ())
}

/// Replays the plan. `progress` is told how far through the persons the reader is (0-1000);
/// `on_changed` gets each counted claim the first draft changes.
pub fn replay(
    pool: &Pool,
    defs: &Definitions,
    plan: &ReplayPlan,
    progress: &(dyn Fn(u64) + Sync),
    on_changed: &mut dyn FnMut(&Changed) -> std::io::Result<()>,
) -> Result<ReplayReport, WhatifError> {
    if plan.from > plan.to {
        return Err(WhatifError::EmptyPeriod {
            from: plan.from,
            to: plan.to,
        });
    }
    let mut conn = pool.get().map_err(|e| WhatifError::Store(e.to_string()))?;
    let regions: HashMap<String, Region> = regions::list(&mut conn)?
        .into_iter()
        .map(|r| (r.code.clone(), r))
        .collect();
    let scope = scope_region(&regions, plan)?;
    let baselines: Vec<Policy> = match &plan.baseline {
        Some(p) => vec![p.clone()],
        None => defs.policies().to_vec(),
    };
    let facilities: HashMap<String, Facility> = facilities::list(&mut conn)?
        .into_iter()
        .map(|f| (f.code.clone(), f))
        .collect();
    let max_person = persons::max_id(&mut conn)?.max(1);
    let reader = Reader {
        plan,
        scope: &scope,
        regions: &regions,
        facilities: &facilities,
        baselines: &baselines,
        by_name: baselines
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect(),
    };
    let mut replayer = Replayer::new(&baselines, &plan.drafts);
    let mut claims = 0u64;
    let mut unknown_baseline = BTreeMap::new();
    let mut baselines_used = BTreeMap::new();
    let mut second = pool.get().map_err(|e| WhatifError::Store(e.to_string()))?;
    std::thread::scope(|s| -> Result<(), WhatifError> {
        // Reading is most of the work: two readers, each with its own connection, take
        // alternate blocks of persons; this thread prices the blocks in person order, taking
        // them alternately from the two, so the outcome is exactly a single reader's.
        let blocks = (max_person + READ_BLOCK - 1) / READ_BLOCK;
        let mut inboxes = Vec::new();
        for (first, conn) in [(0i64, &mut conn), (1, &mut second)] {
            let (tx, rx) = sync_channel::<Result<Option<Page>, WhatifError>>(2);
            inboxes.push(rx);
            let reader = &reader;
            s.spawn(move || {
                for block in (first..blocks).step_by(2) {
                    let (after, upto) = (block * READ_BLOCK, (block + 1) * READ_BLOCK);
                    let read = reader.pages(conn, after, upto, &|page| {
                        progress(
                            page.last_person.unsigned_abs() * 1000 / max_person.unsigned_abs(),
                        );
                        tx.send(Ok(Some(page))).is_ok()
                    });
                    let end = match read {
                        Ok(()) => Ok(None),
                        Err(e) => Err(e),
                    };
                    let failed = end.is_err();
                    if tx.send(end).is_err() || failed {
                        return;
                    }
                }
            });
        }
        let pages = (0..blocks).flat_map(|block| {
            let inbox = &inboxes[(block % 2) as usize];
            // A block's pages, up to its end mark (None); a closed inbox ends it too.
            std::iter::from_fn(move || inbox.recv().ok().and_then(Result::transpose))
        });
        for page in pages {
            let page = page?;
            for (name, n) in page.unknown_baseline {
                *unknown_baseline.entry(name).or_insert(0) += n;
            }
            for item in &page.items {
                if item.counted {
                    claims += 1;
                    *baselines_used
                        .entry(baselines[item.baseline].name.clone())
                        .or_insert(0u64) += 1;
                }
                if let Some(changed) = replayer.feed(item) {
                    on_changed(&changed).map_err(|e| WhatifError::Store(e.to_string()))?;
                }
            }
        }
        Ok(())
    })?;
    if claims == 0 {
        return Err(WhatifError::NothingToReplay {
            from: plan.from,
            to: plan.to,
        });
    }
    let (outcomes, refused) = replayer.finish();
    Ok(ReplayReport {
        outcomes,
        refused,
        claims,
        unknown_baseline,
        baselines_used,
    })
}

struct Page {
    items: Vec<ReplayItem>,
    last_person: i64,
    unknown_baseline: BTreeMap<String, u64>,
}

struct Reader<'a> {
    plan: &'a ReplayPlan,
    scope: &'a str,
    regions: &'a HashMap<String, Region>,
    facilities: &'a HashMap<String, Facility>,
    baselines: &'a [Policy],
    by_name: HashMap<&'a str, usize>,
}

impl Reader<'_> {
    /// Reads pages of whole persons in `after..=upto` until the end or until `send` says stop.
    fn pages(
        &self,
        conn: &mut DbConn,
        mut after: i64,
        upto: i64,
        send: &dyn Fn(Page) -> bool,
    ) -> Result<(), WhatifError> {
        // From the start of the first year: earlier claims of that year fill the year's
        // totals as they were, and are not counted.
        let warm_from =
            NaiveDate::from_ymd_opt(self.plan.from.year(), 1, 1).unwrap_or(self.plan.from);
        let (from, to) = (warm_from.to_string(), self.plan.to.to_string());
        loop {
            let mut rows = claim_store::priced_page(conn, after, upto, &from, &to, PAGE)?;
            if rows.is_empty() {
                return Ok(());
            }
            let full = rows.len() as i64 == PAGE;
            let last = rows.last().and_then(|r| r.person_id).unwrap_or(after);
            if full {
                let first = rows.first().and_then(|r| r.person_id).unwrap_or(after);
                if first == last {
                    // One person with more claims than a page: cannot happen with real
                    // data (a page is 20,000 claims); refuse rather than split the year.
                    return Err(WhatifError::Store(format!(
                        "person {last} has more than {PAGE} claims in the period"
                    )));
                }
                rows.retain(|r| r.person_id != Some(last));
            }
            let page_last = rows.last().and_then(|r| r.person_id).unwrap_or(last);
            let page = self.page(conn, &rows, after + 1, page_last)?;
            after = page_last;
            if !send(page) {
                return Ok(());
            }
        }
    }

    fn page(
        &self,
        conn: &mut DbConn,
        rows: &[ClaimRecord],
        lo: i64,
        hi: i64,
    ) -> Result<Page, WhatifError> {
        let births: HashMap<i64, String> = persons::birth_dates_between(conn, lo, hi)?
            .into_iter()
            .collect();
        let mut enrolments: HashMap<i64, Vec<crate::domain::eligibility::Enrolment>> =
            HashMap::new();
        for row in persons::enrolments_between(conn, lo, hi)? {
            if let Some(e) = row.to_domain() {
                enrolments.entry(row.person_id).or_default().push(e);
            }
        }
        let (id_lo, id_hi) = rows
            .iter()
            .fold((i64::MAX, i64::MIN), |(a, b), r| (a.min(r.id), b.max(r.id)));
        let approved: std::collections::HashSet<i64> =
            claim_store::with_trauma_approval(conn, id_lo, id_hi)?
                .into_iter()
                .collect();
        let mut items = Vec::with_capacity(rows.len());
        let mut unknown_baseline = BTreeMap::new();
        for r in rows {
            let Some(person_id) = r.person_id else {
                continue;
            };
            let Some(person_region) = self.regions.get(&r.region_code) else {
                continue;
            };
            if !person_region.path.split('/').any(|c| c == self.scope) {
                continue;
            }
            let baseline = match &self.plan.baseline {
                Some(_) => 0,
                None => {
                    let name = r.policy_name.as_deref().unwrap_or_default();
                    match self.by_name.get(name) {
                        Some(i) => *i,
                        None => {
                            *unknown_baseline.entry(name.to_string()).or_insert(0) += 1;
                            continue;
                        }
                    }
                }
            };
            let claim = &r.claim;
            let (level, category) = match self.facilities.get(&claim.facility_code) {
                Some(f) => {
                    let f_path = self
                        .regions
                        .get(&f.region_code)
                        .map_or("", |g| g.path.as_str());
                    (
                        f.level.clone(),
                        facility::category(&f.level, f_path, &person_region.path),
                    )
                }
                None => continue,
            };
            let policy = &self.baselines[baseline];
            let counted_on = policy.counting_date(claim.admission_date, claim.service_end());
            let mine = enrolments.get(&person_id).map_or(&[][..], Vec::as_slice);
            let enrolment =
                enrolment_on(mine, counted_on).or_else(|| enrolment_on(mine, claim.admission_date));
            let groups = enrolment.map(|e| e.benefit_groups()).unwrap_or_default();
            let birth = births.get(&person_id).map_or("", String::as_str);
            items.push(ReplayItem {
                claim_id: r.id,
                person_id,
                counted: claim.admission_date >= self.plan.from,
                year: enrolment.map_or(counted_on.year(), |e| e.coverage_year),
                month: counted_on.format("%Y-%m").to_string(),
                facility_level: level,
                group: groups.first().cloned().unwrap_or_else(|| "-".into()),
                baseline,
                request: request_of(
                    claim,
                    category,
                    birth,
                    approved.contains(&r.id),
                    enrolment.map_or(1, |e| e.tier),
                    groups,
                ),
            });
        }
        Ok(Page {
            items,
            last_person: hi,
            unknown_baseline,
        })
    }
}

/// The policy file a loaded policy came from, as a TOML document (for the diff by key).
pub fn policy_doc(policies_dir: &std::path::Path, name: &str) -> Option<toml::Value> {
    let entries = std::fs::read_dir(policies_dir).ok()?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|t| toml::from_str::<toml::Value>(&t).ok())
        .find(|v| v.get("name").and_then(toml::Value::as_str) == Some(name))
}

/// The baseline policy most claims were priced with.
pub fn main_baseline(report: &ReplayReport) -> Option<&str> {
    report
        .baselines_used
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(name, _)| name.as_str())
}

/// One side's totals, in fen, as a stored run keeps them.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LayerFen {
    pub claims: u64,
    pub basic: i64,
    pub catastrophic: i64,
    pub assistance: i64,
    pub fund_cost: i64,
    pub self_pay: i64,
    /// Basis points (1/100 %).
    pub ratio_bp: Option<i64>,
}

impl From<&crate::domain::whatif::Layers> for LayerFen {
    fn from(l: &crate::domain::whatif::Layers) -> Self {
        let fen = |x: i128| crate::domain::money::Fen::saturating(x).0;
        LayerFen {
            claims: l.claims,
            basic: fen(l.basic),
            catastrophic: fen(l.catastrophic),
            assistance: fen(l.assistance),
            fund_cost: fen(l.fund_cost()),
            self_pay: fen(l.self_pay),
            ratio_bp: l.ratio_bp().map(fen),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GroupRow {
    pub dimension: String,
    pub value: String,
    pub baseline: LayerFen,
    pub draft: LayerFen,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TopRow {
    pub claim_id: i64,
    pub month: String,
    pub baseline_self_pay: i64,
    pub draft_self_pay: i64,
    pub change: i64,
    pub step: String,
    pub key: String,
}

/// What a stored run shows: the first draft's outcome, in fen.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunResult {
    pub claims: u64,
    pub changed: u64,
    pub baseline: LayerFen,
    pub draft: LayerFen,
    pub groups: Vec<GroupRow>,
    pub more: usize,
    pub less: usize,
    pub same: usize,
    pub deciles: Vec<i64>,
    pub top: Vec<TopRow>,
    /// (key, baseline, draft).
    pub changes: Vec<(String, Option<String>, Option<String>)>,
    pub baselines_used: BTreeMap<String, u64>,
}

impl RunResult {
    pub fn of(
        report: &ReplayReport,
        changes: &[crate::domain::whatif::KeyChange],
    ) -> Option<RunResult> {
        let o = report.outcomes.first()?;
        let (more, less, same) = o.more_less_same();
        Some(RunResult {
            claims: report.claims,
            changed: o.changed_claims,
            baseline: (&o.total.baseline).into(),
            draft: (&o.total.draft).into(),
            groups: o
                .by
                .iter()
                .map(|((d, v), p)| GroupRow {
                    dimension: d.as_str().into(),
                    value: v.clone(),
                    baseline: (&p.baseline).into(),
                    draft: (&p.draft).into(),
                })
                .collect(),
            more,
            less,
            same,
            deciles: o.deciles(),
            top: o
                .top
                .iter()
                .map(|c| TopRow {
                    claim_id: c.claim_id,
                    month: c.month.clone(),
                    baseline_self_pay: c.baseline.self_pay_fen,
                    draft_self_pay: c.draft.self_pay_fen,
                    change: c.self_pay_change(),
                    step: c.step_code.clone(),
                    key: c.step_key.clone(),
                })
                .collect(),
            changes: changes
                .iter()
                .map(|c| (c.key.clone(), c.before.clone(), c.after.clone()))
                .collect(),
            baselines_used: report.baselines_used.clone(),
        })
    }
}

/// Runs a stored run's replay on its own thread (a page started it): progress, then the
/// outcome or the error, written to the run's row (on the primary, `pool`). The replay reads
/// through `reads` (the read replica while it keeps up). The draft is replayed only; it
/// prices no claim.
pub fn launch(
    pool: Pool,
    reads: crate::store::replica::ReadRoute,
    defs: std::sync::Arc<Definitions>,
    policies_dir: std::path::PathBuf,
    run_id: i64,
    plan: ReplayPlan,
    draft_doc: toml::Value,
) {
    std::thread::spawn(move || {
        let outcome = run_stored(
            (&pool, reads.pool()),
            &defs,
            &policies_dir,
            run_id,
            &plan,
            &draft_doc,
        );
        let now = crate::store::now_ms();
        let Ok(mut conn) = pool.get() else {
            tracing::error!(run_id, "what-if: no connection to record the outcome");
            return;
        };
        let written = match outcome {
            Ok(result) => {
                let json = serde_json::to_string(&result).unwrap_or_default();
                crate::store::whatif::finish(&mut conn, run_id, &json, now)
            }
            Err(e) => {
                let (zh, en) = e.texts();
                crate::store::whatif::fail(&mut conn, run_id, &zh, &en, now)
            }
        };
        if let Err(e) = written {
            tracing::error!(run_id, error = %e, "what-if: recording the outcome");
        }
    });
}

/// `pools`: the primary (the run's progress) and the pool the replay reads.
fn run_stored(
    (pool, reads): (&Pool, &Pool),
    defs: &Definitions,
    policies_dir: &std::path::Path,
    run_id: i64,
    plan: &ReplayPlan,
    draft_doc: &toml::Value,
) -> Result<RunResult, WhatifError> {
    let progress_conn =
        std::sync::Mutex::new(pool.get().map_err(|e| WhatifError::Store(e.to_string()))?);
    let last = std::sync::atomic::AtomicU64::new(0);
    let progress = |at: u64| {
        // Every 2 % is enough for a progress bar, and spares the database.
        if at >= last.load(std::sync::atomic::Ordering::Relaxed) + 20 {
            last.store(at, std::sync::atomic::Ordering::Relaxed);
            if let Ok(mut conn) = progress_conn.lock() {
                let _ = crate::store::whatif::set_progress(&mut conn, run_id, at.min(1000) as i64);
            }
        }
    };
    let report = replay(reads, defs, plan, &progress, &mut |_| Ok(()))?;
    let baseline = main_baseline(&report).and_then(|name| policy_doc(policies_dir, name));
    let changes = baseline
        .map(|b| crate::domain::whatif::diff_keys(&b, draft_doc))
        .unwrap_or_default();
    RunResult::of(&report, &changes).ok_or_else(|| WhatifError::Store("no outcome".into()))
}

/// Whether region `code` lies inside the staff member's region: a what-if reads every claim
/// of its region, so a draft (and a run) outside one's own region is not one's to replay.
pub fn region_in_scope(
    conn: &mut DbConn,
    p: &crate::auth::Principal,
    code: &str,
) -> crate::error::AppResult<bool> {
    let scope = crate::service::scope::staff_region(p)?;
    Ok(regions::get(conn, code)?.is_some_and(|r| regions::path_within(&r.path, scope)))
}
