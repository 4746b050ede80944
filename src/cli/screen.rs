//! `claimflow screen`: every screening rule over history, as a report (hits.csv and
//! summary.md), optionally scored against a ground truth (`planted.csv` from `gen`), with
//! precision, recall and the false-positive rate per rule, and how many of the planted honest
//! look-alikes (near misses) each rule let pass.
//!
//! Two streams, each with bounded memory: the claims in facility order (one pass computes
//! the peer, doctor and weekend statistics, stored for intake, and the household groups),
//! then history in pages of whole persons, ordered by person and date, each claim screened
//! by every rule exactly as intake screens it.
use crate::definitions::Definitions;
use crate::domain::export::safe_record;
use crate::domain::facility::StatusChange;
use crate::domain::money::Fen;
use crate::domain::screening::RuleFacts;
use crate::domain::screening::{
    self, Against, DoctorScore, Hit, HitSubject, InvoiceUse, PeerKey, PersonFacts, RuleCode,
    Screened, WeekendScore,
};
use crate::service::screening::{self as screening_service, claimant_label, stay_of};
use crate::store::screening::{self as store, RepeatedInvoice, StayRow};
use crate::store::{facilities, DbConn, Pool};
use chrono::{Days, NaiveDate};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

/// Rows per page of history.
pub const PAGE: i64 = 20_000;

/// Hits and money per rule or facility.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub hits: u64,
    /// Widened: a backtest over any number of claims cannot overflow it.
    pub amount_fen: i128,
}

impl Tally {
    fn add(&mut self, amount_fen: i64) {
        self.hits += 1;
        self.amount_fen += i128::from(amount_fen);
    }

    fn merge(&mut self, other: Tally) {
        self.hits += other.hits;
        self.amount_fen += other.amount_fen;
    }
}

impl Summary {
    /// Adds another range's claims and tallies (not its scores, which come after).
    fn add(&mut self, other: Summary) {
        self.claims_screened += other.claims_screened;
        for (rule, t) in other.per_rule {
            self.per_rule.entry(rule).or_default().merge(t);
        }
        for (facility, t) in other.per_facility {
            self.per_facility.entry(facility).or_default().merge(t);
        }
    }
}

/// One rule against the ground truth.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub true_positives: u64,
    pub false_positives: u64,
    pub false_negatives: u64,
    /// Subjects (claims, facilities or doctors) screened that are not planted for the rule.
    pub negatives: u64,
    /// Honest look-alikes planted for the rule, and how many of them it flagged.
    pub near_misses: u64,
    pub near_misses_flagged: u64,
}

impl Score {
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
            1.0,
        )
    }
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
            1.0,
        )
    }
    /// False positives over the honest subjects screened.
    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.false_positives, self.negatives, 0.0)
    }
}

fn ratio(a: u64, b: u64, empty: f64) -> f64 {
    if b == 0 {
        empty
    } else {
        a as f64 / b as f64
    }
}

#[derive(Debug, Default)]
pub struct Summary {
    pub claims_screened: u64,
    pub per_rule: BTreeMap<RuleCode, Tally>,
    pub per_facility: HashMap<String, Tally>,
    /// Per rule, when a ground truth was given.
    pub scores: Option<BTreeMap<RuleCode, Score>>,
}

/// What one hit is matched on: the rule and its subject, a claim as (id number, first
/// invoice) or a facility or doctor code (see [`RuleCode::keyed_by`]).
type HitKey = (RuleCode, String, String);

fn subject_key(code: RuleCode, claim: &StayRow, id_number: &str) -> HitKey {
    match code.keyed_by() {
        HitSubject::Claim => (code, id_number.to_string(), first_invoice(claim)),
        HitSubject::Facility => (code, claim.facility_code.clone(), String::new()),
        HitSubject::Doctor => (
            code,
            claim.attending_doctor.clone().unwrap_or_default(),
            String::new(),
        ),
    }
}

/// The planted cases: fraud, and honest look-alikes.
#[derive(Debug, Default)]
pub struct Truth {
    pub fraud: HashSet<HitKey>,
    pub near_misses: HashSet<HitKey>,
}

/// Runs the backtest for claims admitted in `from..=to`, writing `hits.csv` and
/// `summary.md` into `out`. The statistics intake reads are refreshed on the way.
/// The backtest: reads `replica` when one is given (the read replica in use), else
/// `primary`; the statistics intake uses are stored on the primary either way.
#[allow(clippy::too_many_arguments)]
pub fn run(
    primary: &Pool,
    replica: Option<&Pool>,
    defs: &Definitions,
    from: NaiveDate,
    to: NaiveDate,
    out: &Path,
    truth: Option<&Path>,
    progress: bool,
) -> anyhow::Result<Summary> {
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let truth = truth.map(read_truth).transpose()?;
    std::fs::create_dir_all(out)?;
    let pool = replica.unwrap_or(primary);
    let mut conn = pool.get()?;
    let conn: &mut DbConn = &mut conn;
    let rules = defs.screening();
    let mut csv = csv::Writer::from_path(out.join("hits.csv"))?;
    csv.write_record(safe_record([
        "rule",
        "claim_id",
        "id_number",
        "facility_code",
        "admission_date",
        "discharge_date",
        "invoice_numbers",
        "amount_yuan",
        "message_zh",
        "message_en",
        "evidence",
    ]))?;
    let mut summary = Summary::default();
    let mut found: HashSet<HitKey> = HashSet::new();

    // Pass 1, by facility: the statistics (stored for intake) and the household groups.
    let bar = progress_bar(progress, "claims by facility");
    // A second connection, when the pool has one, reads half the facilities on the other core.
    let mut second = pool.try_get();
    let stats = screening_service::statistics(conn, second.as_deref_mut(), defs, from, to, &|n| {
        bar.inc(n)
    })?;
    let now = crate::store::now_ms();
    match replica {
        Some(_) => screening_service::keep_for_intake(&mut *primary.get()?, &stats, now)?,
        None => screening_service::keep_for_intake(conn, &stats, now)?,
    }
    bar.finish_and_clear();
    // The facility rule: one row per outlier facility, its stays' cost as the amount.
    for score in stats.facilities.iter().filter(|s| s.outlier) {
        let amount = stats
            .facility_stats
            .iter()
            .find(|s| s.facility == score.facility)
            .map_or(0, |s| s.stay_cost_fen);
        let evidence = serde_json::to_string(score)?;
        csv.write_record(safe_record([
            RuleCode::FacilityOutlier.as_str(),
            "",
            "",
            &score.facility,
            "",
            "",
            "",
            &Fen(amount).to_yuan().to_string(),
            &format!(
                "机构次均住院费用 z={}，住院率 z={}",
                score.cost_z, score.admission_z
            ),
            &format!(
                "Cost z-score {}, admission-rate z-score {}",
                score.cost_z, score.admission_z
            ),
            &evidence,
        ]))?;
        summary
            .per_rule
            .entry(RuleCode::FacilityOutlier)
            .or_default()
            .add(amount);
        summary
            .per_facility
            .entry(score.facility.clone())
            .or_default()
            .add(amount);
        found.insert((
            RuleCode::FacilityOutlier,
            score.facility.clone(),
            String::new(),
        ));
    }
    let levels: HashMap<String, String> = facilities::list(conn)?
        .into_iter()
        .map(|f| (f.code, f.level))
        .collect();
    let weekend: HashMap<&str, &WeekendScore> = stats
        .weekend
        .iter()
        .map(|s| (s.facility.as_str(), s))
        .collect();
    let doctors: HashMap<&str, &DoctorScore> = stats
        .doctors
        .iter()
        .map(|s| (s.doctor.as_str(), s))
        .collect();

    let histories = designation_histories(conn)?;
    // Earlier uses of each repeated invoice (by its normal form), by the claim that reuses it.
    let repeated = store::repeated_invoices(conn)?;
    let mut earlier_uses: HashMap<i64, Vec<RepeatedInvoice>> = HashMap::new();
    for group in repeated.chunk_by(|a, b| a.invoice_key == b.invoice_key) {
        for (i, row) in group.iter().enumerate().skip(1) {
            earlier_uses
                .entry(row.claim_id)
                .or_default()
                .extend(group[..i].iter().cloned());
        }
    }

    // Pass 2, by person: with a second connection, the persons after the middle id on
    // another thread, whose hits go to a part file appended after the first range's, so
    // that hits.csv is in person order as one thread would write it.
    let window = Days::new(u64::from(rules.person_window_days()));
    let (lo, hi) = ((from - window).to_string(), (to + window).to_string());
    let pass = PersonPass {
        defs,
        from,
        to,
        window,
        lo: &lo,
        hi: &hi,
        stats: &stats,
        levels: &levels,
        weekend: &weekend,
        doctors: &doctors,
        histories: &histories,
        earlier_uses: &earlier_uses,
    };
    let max_person = crate::store::persons::max_id(conn)?.max(1);
    let bar = progress_bar(progress, "persons");
    bar.set_length(max_person as u64);
    let mut mine = Findings {
        csv,
        summary,
        found,
    };
    match second.as_deref_mut() {
        Some(other) if max_person > 1 => {
            let middle = max_person / 2;
            let part_path = out.join("hits.part.csv");
            let mut later = Findings {
                csv: csv::Writer::from_path(&part_path)?,
                summary: Summary::default(),
                found: HashSet::new(),
            };
            std::thread::scope(|s| -> anyhow::Result<()> {
                let reader = s.spawn(|| pass.run(other, middle, None, &mut later, &bar));
                pass.run(conn, 0, Some(middle), &mut mine, &bar)?;
                reader
                    .join()
                    .map_err(|_| anyhow::anyhow!("the person reader panicked"))?
            })?;
            later.csv.flush()?;
            drop(later.csv);
            mine.csv.flush()?;
            let mut part = std::fs::File::open(&part_path)?;
            let mut hits_file = std::fs::OpenOptions::new()
                .append(true)
                .open(out.join("hits.csv"))?;
            std::io::copy(&mut part, &mut hits_file)?;
            std::fs::remove_file(&part_path)?;
            mine.summary.add(later.summary);
            mine.found.extend(later.found);
        }
        _ => pass.run(conn, 0, None, &mut mine, &bar)?,
    }
    let Findings {
        mut csv,
        mut summary,
        found,
    } = mine;
    bar.finish_and_clear();
    csv.flush()?;
    if let Some(truth) = truth {
        let population = Population {
            claims: summary.claims_screened,
            facilities: stats.facility_stats.len() as u64,
            doctors: stats.doctors.len() as u64,
        };
        summary.scores = Some(score(&truth, &found, population));
    }
    let mut md = std::fs::File::create(out.join("summary.md"))?;
    md.write_all(render(&summary, from, to).as_bytes())?;
    Ok(summary)
}

/// What pass 2 reads beside the history, shared by both ranges of persons.
#[derive(Clone, Copy)]
struct PersonPass<'a> {
    defs: &'a Definitions,
    from: NaiveDate,
    to: NaiveDate,
    window: Days,
    lo: &'a str,
    hi: &'a str,
    stats: &'a screening_service::Statistics,
    levels: &'a HashMap<String, String>,
    weekend: &'a HashMap<&'a str, &'a WeekendScore>,
    doctors: &'a HashMap<&'a str, &'a DoctorScore>,
    histories: &'a HashMap<String, Vec<StatusChange>>,
    earlier_uses: &'a HashMap<i64, Vec<RepeatedInvoice>>,
}

/// What one range of persons found: its hits as written, and the tallies.
struct Findings<W: Write> {
    csv: csv::Writer<W>,
    summary: Summary,
    found: HashSet<HitKey>,
}

impl PersonPass<'_> {
    /// Screens the claims of the persons after `after`, up to `last` if given.
    fn run<W: Write>(
        &self,
        conn: &mut DbConn,
        mut after: i64,
        last: Option<i64>,
        findings: &mut Findings<W>,
        bar: &ProgressBar,
    ) -> anyhow::Result<()> {
        let PersonPass {
            defs,
            from,
            to,
            window,
            lo,
            hi,
            stats,
            levels,
            weekend,
            doctors,
            histories,
            earlier_uses,
        } = *self;
        let Findings {
            csv,
            summary,
            found,
        } = findings;
        let rules = defs.screening();
        let mut hits: Vec<Hit> = Vec::new();
        loop {
            let Some(Persons {
                mut page,
                first,
                mut upto,
                mut full,
            }) = whole_persons(conn, after, lo, hi)?
            else {
                break;
            };
            if let Some(last) = last {
                if first > last {
                    break;
                }
                // The page reaches into the other range: this range ends here.
                if upto > last {
                    page.retain(|r| r.person_id.is_some_and(|p| p <= last));
                    (upto, full) = (last, false);
                }
            }
            let persons: HashMap<i64, (String, String, String, String, Option<String>)> =
                store::persons_between(conn, first, upto)?
                    .into_iter()
                    .map(|(id, number, name, sex, birth, death)| {
                        (id, (number, name, sex, birth, death))
                    })
                    .collect();
            let mut coverage: HashMap<i64, Vec<(NaiveDate, NaiveDate)>> = HashMap::new();
            for (person, start, end) in store::enrolment_periods_between(conn, first, upto)? {
                if let (Some(s), Some(e)) = (date(&start), date(&end)) {
                    coverage.entry(person).or_default().push((s, e));
                }
            }
            for person_claims in page.chunk_by(|a, b| a.person_id == b.person_id) {
                let person_id = person_claims[0].person_id.unwrap_or(0);
                let person = persons.get(&person_id);
                let cover = coverage.get(&person_id).map_or(&[][..], Vec::as_slice);
                let facts = person.and_then(|(_, _, sex, birth, death)| {
                    Some(PersonFacts {
                        sex,
                        birth: date(birth)?,
                        death: death.as_deref().and_then(date),
                        coverage: cover,
                    })
                });
                let id_number = person.map_or("", |p| p.0.as_str());
                let claimant = claimant_label(person.map(|p| p.1.as_str()), Some(id_number));
                let all_facts: Vec<RuleFacts> = person_claims
                    .iter()
                    .map(|c| RuleFacts::parse(&c.rule_facts))
                    .collect();
                for (claim, rf) in person_claims.iter().zip(&all_facts) {
                    let Some(stay) = stay_of(claim, rf) else {
                        continue;
                    };
                    if stay.admission < from || stay.admission > to {
                        continue;
                    }
                    summary.claims_screened += 1;
                    // What intake saw: the person's claims that arrived before, near its dates.
                    let earlier: Vec<_> = person_claims
                        .iter()
                        .zip(&all_facts)
                        .filter(|(o, _)| o.id < claim.id)
                        .filter_map(|(o, f)| stay_of(o, f))
                        .filter(|o| {
                            o.admission <= stay.discharge + window
                                && o.discharge + window >= stay.admission
                        })
                        .collect();
                    let uses_rows = earlier_uses.get(&claim.id).map_or(&[][..], Vec::as_slice);
                    // The claim's own numbers, parsed only when another claim shares one.
                    let numbers: Vec<String> = match uses_rows.is_empty() {
                        true => Vec::new(),
                        false => serde_json::from_str(&claim.invoice_numbers).unwrap_or_default(),
                    };
                    let holders: Vec<String> = uses_rows
                        .iter()
                        .map(|r| claimant_label(r.person_name.as_deref(), r.id_number.as_deref()))
                        .collect();
                    let uses: Vec<InvoiceUse<'_>> = uses_rows
                        .iter()
                        .zip(&holders)
                        .map(|(r, holder)| InvoiceUse {
                            invoice: numbers
                                .iter()
                                .find(|n| screening::invoice_key(n) == r.invoice_key)
                                .map_or(r.invoice_key.as_str(), String::as_str),
                            claim_id: r.claim_id,
                            facility: &r.facility_code,
                            person_id: r.person_id,
                            holder,
                        })
                        .collect();
                    let household: Vec<_> = stats
                        .household
                        .get(&claim.id)
                        .map(|rows| {
                            rows.iter()
                                .filter_map(crate::service::screening::stay_of_row)
                                .collect()
                        })
                        .unwrap_or_default();
                    let level = levels.get(&claim.facility_code).map_or("", String::as_str);
                    let peers = stay
                        .inpatient
                        .then(|| stats.peers.get(&PeerKey::of(&claim.diagnosis_code, level)))
                        .flatten();
                    let doctor = claim.attending_doctor.as_deref();
                    let screened = Screened {
                        stay,
                        family: &claim.family,
                        encounter: &claim.encounter_kind,
                        facility_level: level,
                        third_party_liable: rf.third_party_liable,
                        discharge_medicine_days: rf.discharge_medicine_days,
                        chronic: rf.chronic_condition,
                        special_disease: rf.special_disease.as_deref(),
                        doctor,
                        rest_day: screening_service::rest_day(defs, stay.admission),
                    };
                    let history = histories
                        .get(claim.facility_code.as_str())
                        .map_or(&[][..], Vec::as_slice);
                    hits.clear();
                    screening::screen(
                        rules,
                        &screened,
                        &Against {
                            person_id: claim.person_id,
                            claimant: &claimant,
                            person: facts,
                            earlier_stays: &earlier,
                            household_stays: &household,
                            facility_history: history,
                            invoice_uses: &uses,
                            // Scored per facility above, not once per claim.
                            facility_outlier: None,
                            weekend: weekend.get(claim.facility_code.as_str()).copied(),
                            doctor: doctor.and_then(|d| doctors.get(d)).copied(),
                            peers,
                        },
                        &mut hits,
                    );
                    for hit in &hits {
                        write_hit(csv, hit, claim, id_number)?;
                        summary
                            .per_rule
                            .entry(hit.code)
                            .or_default()
                            .add(claim.total_fen);
                        summary
                            .per_facility
                            .entry(claim.facility_code.clone())
                            .or_default()
                            .add(claim.total_fen);
                        found.insert(subject_key(hit.code, claim, id_number));
                    }
                }
            }
            bar.inc(upto.saturating_sub(after).max(0) as u64);
            after = upto;
            if !full {
                break;
            }
        }
        Ok(())
    }
}

pub(crate) fn progress_bar(progress: bool, what: &str) -> ProgressBar {
    let bar = if progress {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    let template = format!("{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {what} {{pos}}/{{len}}");
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// One page of history: the claims of persons `first..=upto`, each person whole.
pub struct Persons {
    pub page: Vec<StayRow>,
    pub first: i64,
    pub upto: i64,
    /// More may follow.
    pub full: bool,
}

/// The next page of claims touching `lo..=hi` after person `after`, ordered by person and
/// date. A full page may end inside a person: that person is left for the next page.
pub fn whole_persons(
    conn: &mut DbConn,
    after: i64,
    lo: &str,
    hi: &str,
) -> diesel::QueryResult<Option<Persons>> {
    let mut page = store::history_page(conn, after, lo, hi, PAGE)?;
    if page.is_empty() {
        return Ok(None);
    }
    let full = page.len() as i64 == PAGE;
    let last = page.last().and_then(|r| r.person_id).unwrap_or(after);
    let first = page.first().and_then(|r| r.person_id).unwrap_or(after);
    if full && first != last {
        page.retain(|r| r.person_id != Some(last));
    }
    let upto = page.last().and_then(|r| r.person_id).unwrap_or(last);
    Ok(Some(Persons {
        page,
        first,
        upto,
        full,
    }))
}

fn date(s: &str) -> Option<NaiveDate> {
    crate::domain::dates::parse_iso_date(s)
}

fn first_invoice(claim: &StayRow) -> String {
    serde_json::from_str::<Vec<String>>(&claim.invoice_numbers)
        .ok()
        .and_then(|v| v.into_iter().next())
        .unwrap_or_default()
}

fn write_hit<W: Write>(
    csv: &mut csv::Writer<W>,
    hit: &Hit,
    claim: &StayRow,
    id_number: &str,
) -> anyhow::Result<()> {
    csv.write_record(safe_record([
        hit.code.as_str(),
        &claim.id.to_string(),
        id_number,
        &claim.facility_code,
        &claim.admission_date,
        &claim.discharge_date,
        &claim.invoice_numbers,
        &Fen(claim.total_fen).to_yuan().to_string(),
        &hit.zh,
        &hit.en,
        &hit.evidence.to_string(),
    ]))?;
    Ok(())
}

fn designation_histories(conn: &mut DbConn) -> anyhow::Result<HashMap<String, Vec<StatusChange>>> {
    let rows = facilities::all_history(conn)?;
    let mut out: HashMap<String, Vec<StatusChange>> = HashMap::new();
    for group in rows.chunk_by(|a, b| a.facility_code == b.facility_code) {
        out.insert(
            group[0].facility_code.clone(),
            facilities::to_changes(group),
        );
    }
    Ok(out)
}

/// Reads `planted.csv`: rule, id_number, invoice_number, facility_code, doctor, kind
/// (`fraud` or `near_miss`). A claim rule's subject is the claim (id number and invoice), a
/// facility rule's the facility, a doctor rule's the doctor.
pub fn read_truth(path: &Path) -> anyhow::Result<Truth> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut out = Truth::default();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let line = i + 2;
        let field = |n: usize| row.get(n).unwrap_or("").to_string();
        let code = RuleCode::parse(&field(0)).ok_or_else(|| {
            anyhow::anyhow!("{}:{line}: unknown rule `{}`", path.display(), field(0))
        })?;
        let key = match code.keyed_by() {
            HitSubject::Claim => (code, field(1), field(2)),
            HitSubject::Facility => (code, field(3), String::new()),
            HitSubject::Doctor => (code, field(4), String::new()),
        };
        match row.get(5).unwrap_or("fraud") {
            "fraud" | "" => out.fraud.insert(key),
            "near_miss" => out.near_misses.insert(key),
            other => anyhow::bail!(
                "{}:{line}: kind `{other}` is neither `fraud` nor `near_miss`",
                path.display()
            ),
        };
    }
    Ok(out)
}

/// How many subjects of each kind the backtest screened.
#[derive(Debug, Clone, Copy)]
struct Population {
    claims: u64,
    facilities: u64,
    doctors: u64,
}

fn score(
    truth: &Truth,
    found: &HashSet<HitKey>,
    population: Population,
) -> BTreeMap<RuleCode, Score> {
    let mut scores: BTreeMap<RuleCode, Score> = RuleCode::ALL
        .iter()
        .map(|c| (*c, Score::default()))
        .collect();
    for key in found {
        let s = scores.entry(key.0).or_default();
        if truth.fraud.contains(key) {
            s.true_positives += 1;
        } else {
            s.false_positives += 1;
        }
        if truth.near_misses.contains(key) {
            s.near_misses_flagged += 1;
        }
    }
    for key in truth.fraud.difference(found) {
        scores.entry(key.0).or_default().false_negatives += 1;
    }
    for key in &truth.near_misses {
        scores.entry(key.0).or_default().near_misses += 1;
    }
    for (code, s) in scores.iter_mut() {
        let subjects = match code.keyed_by() {
            HitSubject::Claim => population.claims,
            HitSubject::Facility => population.facilities,
            HitSubject::Doctor => population.doctors,
        };
        let planted = s.true_positives + s.false_negatives;
        s.negatives = subjects.saturating_sub(planted);
    }
    scores
}

/// The summary as Markdown: hits and amounts per rule, the top facilities, and precision,
/// recall, the false-positive rate and the near misses passed when a ground truth was given.
pub fn render(summary: &Summary, from: NaiveDate, to: NaiveDate) -> String {
    let mut s = format!(
        "# Screening backtest {from} to {to}\n\n{} claims screened.\n\n| rule | hits | amount (yuan) |\n| --- | ---: | ---: |\n",
        summary.claims_screened
    );
    for code in RuleCode::ALL {
        let t = summary.per_rule.get(&code).copied().unwrap_or_default();
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            code.as_str(),
            t.hits,
            Fen::saturating(t.amount_fen)
        ));
    }
    let mut top: Vec<(&String, &Tally)> = summary.per_facility.iter().collect();
    top.sort_by(|a, b| b.1.amount_fen.cmp(&a.1.amount_fen).then(a.0.cmp(b.0)));
    s.push_str("\n## Top facilities by amount in hits\n\n| facility | hits | amount (yuan) |\n| --- | ---: | ---: |\n");
    for (facility, t) in top.into_iter().take(10) {
        s.push_str(&format!(
            "| {facility} | {} | {} |\n",
            t.hits,
            Fen::saturating(t.amount_fen)
        ));
    }
    if let Some(scores) = &summary.scores {
        s.push_str("\n## Against the ground truth\n\n| rule | true positives | false positives | missed | precision | recall | false-positive rate | near misses flagged |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (code, sc) in scores {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {:.3} | {:.3} | {:.5} | {}/{} |\n",
                code.as_str(),
                sc.true_positives,
                sc.false_positives,
                sc.false_negatives,
                sc.precision(),
                sc.recall(),
                sc.false_positive_rate(),
                sc.near_misses_flagged,
                sc.near_misses
            ));
        }
    }
    s
}
