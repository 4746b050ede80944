//! `claimflow screen`: every screening rule over history, as a report (hits.csv and
//! summary.md), optionally scored against a ground truth (`planted.csv` from `gen`).
//!
//! It streams: history is read in pages of whole persons, ordered by person and date, so
//! memory holds one page, the designation histories, the facility totals and the repeated
//! invoices, never the history itself.
use crate::definitions::Definitions;
use crate::domain::export::safe_record;
use crate::domain::facility::StatusChange;
use crate::domain::money::Fen;
use crate::domain::screening::{self, Against, Hit, InvoiceUse, PersonFacts, RuleCode, Screened};
use crate::service::screening::stay_of;
use crate::store::screening::{self as store, InvoiceUseRow, StayRow};
use crate::store::{facilities, DbConn, Pool};
use chrono::{Days, NaiveDate};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

/// Rows per page of history.
pub const PAGE: i64 = 20_000;

/// The facts of `family_facts` the rules read; the rest is skipped unparsed.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RuleFacts {
    third_party_liable: bool,
    discharge_medicine_days: Option<u32>,
    chronic_condition: bool,
}

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
}

/// Precision and recall of one rule against the ground truth.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub true_positives: u64,
    pub false_positives: u64,
    pub false_negatives: u64,
}

impl Score {
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        1.0
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

/// What one hit is matched on: (rule, id number, first invoice, facility).
type HitKey = (RuleCode, String, String, String);

/// Runs the backtest for claims admitted in `from..=to`, writing `hits.csv` and
/// `summary.md` into `out`. The facility scores intake reads are refreshed on the way.
pub fn run(
    pool: &Pool,
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

    // The facility rule: one row per outlier facility, its stays' cost as the amount.
    let scores =
        crate::service::screening::refresh_scores(conn, defs, from, to, crate::store::now_ms())?;
    let stats = store::facility_stats(conn, &from.to_string(), &to.to_string())?;
    for score in scores.iter().filter(|s| s.outlier) {
        let amount = stats
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
            String::new(),
            String::new(),
            score.facility.clone(),
        ));
    }

    let histories = designation_histories(conn)?;
    // Earlier uses of each repeated invoice, by the claim that reuses it.
    let repeated = store::repeated_invoices(conn)?;
    let mut earlier_uses: HashMap<i64, Vec<InvoiceUseRow>> = HashMap::new();
    for group in repeated.chunk_by(|a, b| a.0 == b.0) {
        for (i, row) in group.iter().enumerate().skip(1) {
            earlier_uses
                .entry(row.1)
                .or_default()
                .extend(group[..i].iter().cloned());
        }
    }

    let window = Days::new(u64::from(rules.readmission_days));
    let (lo, hi) = ((from - window).to_string(), (to + window).to_string());
    let max_person = crate::store::persons::max_id(conn)?.max(1);
    let bar = if progress {
        ProgressBar::new(max_person as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} persons {pos}/{len} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut after = 0i64;
    let mut hits: Vec<Hit> = Vec::new();
    loop {
        let Some(Persons {
            page,
            first,
            upto,
            full,
        }) = whole_persons(conn, after, &lo, &hi)?
        else {
            break;
        };
        let persons: HashMap<i64, (String, String, String, Option<String>)> =
            store::persons_between(conn, first, upto)?
                .into_iter()
                .map(|(id, number, sex, birth, death)| (id, (number, sex, birth, death)))
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
            let facts = person.and_then(|(_, sex, birth, death)| {
                Some(PersonFacts {
                    sex,
                    birth: date(birth)?,
                    death: death.as_deref().and_then(date),
                    coverage: cover,
                })
            });
            let id_number = person.map_or("", |p| p.0.as_str());
            for claim in person_claims {
                let Some(stay) = stay_of(claim) else { continue };
                if stay.admission < from || stay.admission > to {
                    continue;
                }
                summary.claims_screened += 1;
                let earlier: Vec<_> = person_claims
                    .iter()
                    .filter(|o| o.id < claim.id)
                    .filter_map(stay_of)
                    .collect();
                let uses: Vec<InvoiceUse<'_>> = earlier_uses
                    .get(&claim.id)
                    .map(|rows| {
                        rows.iter()
                            .map(|(invoice, claim_id, facility, person)| InvoiceUse {
                                invoice,
                                claim_id: *claim_id,
                                facility,
                                person_id: *person,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let rf: RuleFacts = serde_json::from_str(&claim.family_facts).unwrap_or_default();
                let screened = Screened {
                    stay,
                    family: &claim.family,
                    diagnosis: &claim.diagnosis_code,
                    third_party_liable: rf.third_party_liable,
                    discharge_medicine_days: rf.discharge_medicine_days,
                    chronic: rf.chronic_condition,
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
                        person: facts,
                        earlier_stays: &earlier,
                        facility_history: history,
                        invoice_uses: &uses,
                        // Scored per facility above, not once per claim.
                        facility_outlier: None,
                    },
                    &mut hits,
                );
                for hit in &hits {
                    write_hit(&mut csv, hit, claim, id_number)?;
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
                    found.insert((
                        hit.code,
                        id_number.to_string(),
                        first_invoice(claim),
                        String::new(),
                    ));
                }
            }
        }
        after = upto;
        bar.set_position(after.max(0) as u64);
        if !full {
            break;
        }
    }
    bar.finish_and_clear();
    csv.flush()?;
    if let Some(truth) = truth {
        summary.scores = Some(score(&truth, &found));
    }
    let mut md = std::fs::File::create(out.join("summary.md"))?;
    md.write_all(render(&summary, from, to).as_bytes())?;
    Ok(summary)
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

fn write_hit(
    csv: &mut csv::Writer<std::fs::File>,
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

/// Reads `planted.csv`: rule, id_number, invoice_number, facility_code.
fn read_truth(path: &Path) -> anyhow::Result<HashSet<HitKey>> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut out = HashSet::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let line = i + 2;
        let field = |n: usize| row.get(n).unwrap_or("").to_string();
        let code = RuleCode::parse(&field(0)).ok_or_else(|| {
            anyhow::anyhow!("{}:{line}: unknown rule `{}`", path.display(), field(0))
        })?;
        let key = if code == RuleCode::FacilityOutlier {
            (code, String::new(), String::new(), field(3))
        } else {
            (code, field(1), field(2), String::new())
        };
        out.insert(key);
    }
    Ok(out)
}

fn score(truth: &HashSet<HitKey>, found: &HashSet<HitKey>) -> BTreeMap<RuleCode, Score> {
    let mut scores: BTreeMap<RuleCode, Score> = RuleCode::ALL
        .iter()
        .map(|c| (*c, Score::default()))
        .collect();
    for key in found {
        let s = scores.entry(key.0).or_default();
        if truth.contains(key) {
            s.true_positives += 1;
        } else {
            s.false_positives += 1;
        }
    }
    for key in truth.difference(found) {
        scores.entry(key.0).or_default().false_negatives += 1;
    }
    scores
}

/// The summary as Markdown: hits and amounts per rule, the top facilities, and precision
/// and recall when a ground truth was given.
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
        s.push_str("\n## Against the ground truth\n\n| rule | true positives | false positives | missed | precision | recall |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for (code, sc) in scores {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {:.3} | {:.3} |\n",
                code.as_str(),
                sc.true_positives,
                sc.false_positives,
                sc.false_negatives,
                sc.precision(),
                sc.recall()
            ));
        }
    }
    s
}
