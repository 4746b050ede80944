//! The screening rules at work: per claim at intake (indexed lookups, no scans), and the
//! statistics the peer rules compare with, computed in one pass over a period's claims in
//! facility order (`claimflow screen` refreshes them; intake reads them).
use super::lookups::{peer_subject, InvoiceUses, RegistryReads};
use super::pricing::ClaimContext;
use crate::definitions::Definitions;
use crate::domain::claim::{Claim, EncounterKind};
use crate::domain::person::IdNumber;
use crate::domain::screening::{
    self, doctor_scores, Against, DoctorScore, DoctorTally, FacilityStats, Hit, InvoiceUse,
    OutlierScore, PeerKey, PeerStats, PeerTally, PersonFacts, RuleFacts, Screened, Stay,
    WeekendScore, WeekendStats,
};
use crate::error::{AppError, AppResult};
use crate::store::screening::{self as store, NewStat, StatKind, StayRow};
use crate::store::DbConn;
use chrono::{Days, NaiveDate};
use std::collections::{HashMap, VecDeque};

/// The workflow a claim with an `investigate` hit opens in.
pub const INVESTIGATION: &str = "fraud_investigation";

/// The family of claims filed as a transfer without referral: a declared transfer.
const UNREFERRED_TRANSFER: &str = "unreferred_transfer";

/// A stored claim as the pair rules see it; `None` if its dates do not parse.
pub fn stay_of<'a>(row: &'a StayRow, facts: &RuleFacts) -> Option<Stay<'a>> {
    Some(Stay {
        claim_id: row.id,
        person_id: row.person_id,
        facility: &row.facility_code,
        inpatient: row.encounter_kind == "inpatient",
        admission: date(&row.admission_date)?,
        discharge: date(&row.discharge_date)?,
        diagnosis: &row.diagnosis_code,
        referral: facts.referral || row.family == UNREFERRED_TRANSFER,
        emergency: facts.emergency(),
        total_fen: row.total_fen,
    })
}

/// [`stay_of`] reading the row's own facts.
pub fn stay_of_row(row: &StayRow) -> Option<Stay<'_>> {
    stay_of(row, &RuleFacts::parse(&row.rule_facts))
}

fn date(s: &str) -> Option<NaiveDate> {
    crate::domain::dates::parse_iso_date(s)
}

/// A claimant as findings name them: name and masked ID number.
pub fn claimant_label(name: Option<&str>, id_number: Option<&str>) -> String {
    IdNumber::label(name.unwrap_or("?"), id_number.unwrap_or(""))
}

/// Admitted on a day off by the national calendar (weekends and public holidays).
pub fn rest_day(defs: &Definitions, day: NaiveDate) -> bool {
    !defs.calendar().is_working_day(day)
}

/// Runs every rule on a claim being planned: the person's stays near its dates come from the
/// `(person_id, admission_date)` index, the household's from `persons (household)` and the
/// same index (each plus the batch's pending ones), the invoice uses from the
/// invoice-key index, the peer, doctor and facility statistics from what `claimflow screen`
/// stored.
pub fn at_intake(
    conn: &mut DbConn,
    defs: &Definitions,
    reads: &mut dyn RegistryReads,
    claim: &Claim,
    ctx: &ClaimContext,
    duplicates: &[InvoiceUses],
) -> AppResult<Vec<Hit>> {
    let rules = defs.screening();
    let person_id = ctx.person.id;
    let window = Days::new(u64::from(rules.person_window_days()));
    let from = (claim.admission_date - window).to_string();
    let to = (claim.discharge_date + window).to_string();
    let mut near = store::stays_near(conn, person_id, &from, &to)?;
    near.extend(
        reads
            .pending_stays(person_id)
            .iter()
            .filter(|s| s.admission_date <= to && s.discharge_date >= from)
            .cloned(),
    );
    let near_facts: Vec<RuleFacts> = near
        .iter()
        .map(|r| RuleFacts::parse(&r.rule_facts))
        .collect();
    let earlier: Vec<Stay<'_>> = near
        .iter()
        .zip(&near_facts)
        .filter_map(|(row, facts)| stay_of(row, facts))
        .collect();
    let household_window = Days::new(u64::from(rules.household.within_days));
    let (h_from, h_to) = (
        (claim.admission_date - household_window).to_string(),
        (claim.admission_date + household_window).to_string(),
    );
    let household = &ctx.person.household;
    let mut members = store::household_stays(
        conn,
        household,
        person_id,
        &claim.facility_code,
        &h_from,
        &h_to,
    )?;
    members.extend(
        reads
            .pending_household(household, &claim.facility_code)
            .iter()
            .filter(|s| s.person_id != Some(person_id))
            .filter(|s| s.admission_date >= h_from && s.admission_date <= h_to)
            .cloned(),
    );
    let household_stays: Vec<Stay<'_>> = members.iter().filter_map(stay_of_row).collect();
    let coverage: Vec<(NaiveDate, NaiveDate)> = reads
        .enrolments(conn, person_id)?
        .iter()
        .map(|e| (e.period_start, e.period_end))
        .collect();
    let person = date(&ctx.person.birth_date).map(|birth| PersonFacts {
        sex: &ctx.person.sex,
        birth,
        death: ctx.person.death_date.as_deref().and_then(date),
        coverage: &coverage,
    });
    let holders: Vec<Vec<String>> = duplicates
        .iter()
        .map(|(_, others)| {
            others
                .iter()
                .map(|u| claimant_label(u.person_name.as_deref(), u.id_number.as_deref()))
                .collect()
        })
        .collect();
    let uses: Vec<InvoiceUse<'_>> = duplicates
        .iter()
        .zip(&holders)
        .flat_map(|((invoice, others), holders)| {
            others
                .iter()
                .zip(holders)
                .map(move |(u, holder)| InvoiceUse {
                    invoice,
                    claim_id: u.claim_id,
                    facility: &u.facility_code,
                    person_id: u.person_id,
                    holder,
                })
        })
        .collect();
    let standing = reads.standing(conn, &claim.facility_code)?;
    let inpatient = claim.encounter_kind == EncounterKind::Inpatient;
    let peers = match inpatient {
        true => reads.peers(
            conn,
            &PeerKey::of(&claim.diagnosis_code, &ctx.facility.level),
        )?,
        false => None,
    };
    let doctor = match claim.attending_doctor.as_deref() {
        Some(code) => reads.doctor(conn, code)?,
        None => None,
    };
    let claimant = claimant_label(Some(&ctx.person.name), Some(&ctx.person.id_number));
    let facts = &claim.facts;
    let screened = Screened {
        stay: Stay {
            // Not written yet: no id, and no earlier stay is this one.
            claim_id: 0,
            person_id: Some(person_id),
            facility: &claim.facility_code,
            inpatient,
            admission: claim.admission_date,
            discharge: claim.discharge_date,
            diagnosis: &claim.diagnosis_code,
            referral: facts.referral || claim.family.as_str() == UNREFERRED_TRANSFER,
            emergency: facts.emergency.is_some(),
            total_fen: claim.total_fen.0,
        },
        family: claim.family.as_str(),
        encounter: claim.encounter_kind.as_str(),
        facility_level: &ctx.facility.level,
        third_party_liable: facts.third_party_liable,
        discharge_medicine_days: facts.discharge_medicine_days,
        chronic: facts.chronic_condition,
        special_disease: facts.special_disease.as_deref(),
        doctor: claim.attending_doctor.as_deref(),
        rest_day: rest_day(defs, claim.admission_date),
    };
    let mut hits = Vec::new();
    screening::screen(
        rules,
        &screened,
        &Against {
            person_id: Some(person_id),
            claimant: &claimant,
            person,
            earlier_stays: &earlier,
            household_stays: &household_stays,
            facility_history: &ctx.history,
            invoice_uses: &uses,
            facility_outlier: standing.outlier.as_ref(),
            weekend: standing.weekend.as_ref(),
            doctor: doctor.as_ref(),
            peers: peers.as_ref(),
        },
        &mut hits,
    );
    Ok(hits)
}

/// Rows per page of the facility-ordered pass.
const FACILITY_PAGE: i64 = 20_000;

/// What one pass over a period's claims, in facility order, yields.
#[derive(Debug, Default)]
pub struct Statistics {
    pub facilities: Vec<OutlierScore>,
    pub weekend: Vec<WeekendScore>,
    pub doctors: Vec<DoctorScore>,
    pub peers: HashMap<PeerKey, PeerStats>,
    /// Per claim, the stays of other household members admitted at the same facility
    /// within the household rule's window whose claims arrived before it (only claims that
    /// have any).
    pub household: HashMap<i64, Vec<StayRow>>,
    /// The facility totals the facility scores rest on.
    pub facility_stats: Vec<FacilityStats>,
}

/// A stay in the household window of its facility.
struct Recent {
    admission: NaiveDate,
    row: StayRow,
}

/// The stays of one facility admitted within the household rule's window, by household, so
/// that a stay meets only its own household's (a large hospital admits hundreds a week).
#[derive(Default)]
struct HouseholdWindow {
    facility: String,
    by_household: HashMap<String, VecDeque<Recent>>,
    /// The households of the stays in arrival (admission) order: the oldest leave first.
    arrivals: VecDeque<String>,
}

impl HouseholdWindow {
    /// Forgets the stays of another facility or admitted more than `within` days before
    /// `admission`.
    fn advance(&mut self, facility: &str, admission: NaiveDate, within: i64) {
        if self.facility != facility {
            self.by_household.clear();
            self.arrivals.clear();
            facility.clone_into(&mut self.facility);
        }
        while let Some(home) = self.arrivals.front() {
            let Some(stays) = self.by_household.get_mut(home) else {
                break;
            };
            if stays
                .front()
                .is_some_and(|r| (admission - r.admission).num_days() <= within)
            {
                break;
            }
            stays.pop_front();
            if stays.is_empty() {
                self.by_household.remove(home);
            }
            self.arrivals.pop_front();
        }
    }

    fn of(&self, household: &str) -> impl Iterator<Item = &Recent> {
        self.by_household.get(household).into_iter().flatten()
    }

    fn push(&mut self, household: String, recent: Recent) {
        self.by_household
            .entry(household.clone())
            .or_default()
            .push_back(recent);
        self.arrivals.push_back(household);
    }
}

/// What the claims of one range of facilities add up to in the facility-ordered pass. Two
/// ranges' passes merge into the whole one's: every tally but the peers' and a doctor's is
/// per facility, and those two are histograms of counts, whose merge is exact.
struct FacilityPass<'a> {
    defs: &'a Definitions,
    levels: &'a HashMap<String, (String, String)>,
    within: i64,
    peers: HashMap<PeerKey, PeerTally>,
    doctors: HashMap<String, (String, String, DoctorTally)>,
    /// Every stay of each facility, named doctor or not: what a doctor is compared with.
    colleagues: HashMap<String, DoctorTally>,
    weekend: HashMap<String, WeekendStats>,
    household: HashMap<i64, Vec<StayRow>>,
    window: HouseholdWindow,
    facility_stats: Vec<FacilityStats>,
}

impl<'a> FacilityPass<'a> {
    fn new(defs: &'a Definitions, levels: &'a HashMap<String, (String, String)>) -> Self {
        FacilityPass {
            defs,
            levels,
            within: i64::from(defs.screening().household.within_days),
            peers: HashMap::new(),
            doctors: HashMap::new(),
            colleagues: HashMap::new(),
            weekend: HashMap::new(),
            household: HashMap::new(),
            window: HouseholdWindow::default(),
            facility_stats: Vec::new(),
        }
    }

    /// Reads the claims of facilities in `facilities` (from, before) admitted in `lo..=hi`
    /// page by page, reporting each page's size to `progress`.
    fn run(
        &mut self,
        conn: &mut DbConn,
        facilities: (&str, Option<&str>),
        (lo, hi): (&str, &str),
        progress: &(dyn Fn(u64) + Sync),
    ) -> AppResult<()> {
        let mut after: Option<(String, String, i64)> = None;
        loop {
            let cursor = match &after {
                Some((f, d, id)) => (f.as_str(), d.as_str(), *id),
                None => (facilities.0, "", 0),
            };
            let page = store::facility_page(conn, cursor, facilities.1, lo, hi, FACILITY_PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some((
                last.stay.facility_code.clone(),
                last.stay.admission_date.clone(),
                last.stay.id,
            ));
            let full = page.len() as i64 == FACILITY_PAGE;
            progress(page.len() as u64);
            for item in page {
                self.take(item);
            }
            if !full {
                break;
            }
        }
        Ok(())
    }

    fn take(&mut self, item: store::FacilityStayRow) {
        let row = item.stay;
        // The facility totals: every claim of a registered facility, in code order.
        if let Some((level, region)) = self.levels.get(&row.facility_code) {
            if self
                .facility_stats
                .last()
                .is_none_or(|f: &FacilityStats| f.facility != row.facility_code)
            {
                self.facility_stats.push(FacilityStats {
                    facility: row.facility_code.clone(),
                    level: level.clone(),
                    region_code: region.clone(),
                    ..FacilityStats::default()
                });
            }
            if let Some(f) = self.facility_stats.last_mut() {
                f.claims += 1;
                if row.encounter_kind == "inpatient" {
                    f.stays += 1;
                    f.stay_cost_fen += row.total_fen;
                }
            }
        }
        let Some(stay) = stay_of_row(&row) else {
            return;
        };
        if !stay.inpatient {
            return;
        }
        let (level, region) = self
            .levels
            .get(&row.facility_code)
            .cloned()
            .unwrap_or_default();
        let key = PeerKey::of(&row.diagnosis_code, &level);
        self.peers
            .entry(key.clone())
            .or_default()
            .add(row.total_fen, stay.length_days());
        self.colleagues
            .entry(row.facility_code.clone())
            .or_default()
            .add(key.clone(), row.total_fen);
        if let Some(doctor) = &row.attending_doctor {
            self.doctors
                .entry(doctor.clone())
                .or_insert_with(|| {
                    (
                        row.facility_code.clone(),
                        level.clone(),
                        DoctorTally::default(),
                    )
                })
                .2
                .add(key, row.total_fen);
        }
        let w = self
            .weekend
            .entry(row.facility_code.clone())
            .or_insert_with(|| WeekendStats {
                facility: row.facility_code.clone(),
                level,
                region_code: region,
                admissions: 0,
                rest_day_admissions: 0,
            });
        w.admissions += 1;
        w.rest_day_admissions += u64::from(rest_day(self.defs, stay.admission));
        // The household window: stays of this facility admitted within `within` days.
        self.window
            .advance(&row.facility_code, stay.admission, self.within);
        if let Some(home) = item.household {
            for r in self
                .window
                .of(&home)
                .filter(|r| r.row.person_id != row.person_id)
            {
                // Each is charged to the one that arrived second.
                let (first, second) = match r.row.id < row.id {
                    true => (&r.row, &row),
                    false => (&row, &r.row),
                };
                self.household
                    .entry(second.id)
                    .or_default()
                    .push(first.clone());
            }
            self.window.push(
                home,
                Recent {
                    admission: stay.admission,
                    row,
                },
            );
        }
    }

    /// Adds the pass over the facilities after this one's. A doctor seen in both keeps the
    /// facility this pass saw first, as one pass over both ranges would have.
    fn merge(&mut self, later: FacilityPass) {
        for (key, tally) in later.peers {
            self.peers.entry(key).or_default().merge(&tally);
        }
        for (doctor, (facility, level, tally)) in later.doctors {
            self.doctors
                .entry(doctor)
                .or_insert_with(|| (facility, level, DoctorTally::default()))
                .2
                .merge(&tally);
        }
        self.colleagues.extend(later.colleagues);
        self.weekend.extend(later.weekend);
        self.household.extend(later.household);
        self.facility_stats.extend(later.facility_stats);
    }

    fn statistics(self) -> Statistics {
        let rules = self.defs.screening();
        let peers: HashMap<PeerKey, PeerStats> = self
            .peers
            .into_iter()
            .map(|(key, tally)| (key.clone(), tally.stats(key)))
            .collect();
        let doctor_rows: Vec<(String, String, String, u64, f64)> = self
            .doctors
            .into_iter()
            .map(|(doctor, (facility, level, tally))| {
                let mates = self.colleagues.get(&facility).cloned().unwrap_or_default();
                let (n, excess) = tally.excess_over(&mates, &peers);
                (doctor, facility, level, n, excess)
            })
            .collect();
        let weekend: Vec<WeekendStats> = self.weekend.into_values().collect();
        Statistics {
            facilities: screening::outliers(&rules.outlier, &self.facility_stats),
            weekend: screening::weekend_spikes(&rules.weekend, &weekend),
            doctors: doctor_scores(&rules.doctor_outlier, &doctor_rows),
            peers,
            household: self.household,
            facility_stats: self.facility_stats,
        }
    }
}

/// The facility code that splits the claims admitted in `lo..=hi` into two halves of about
/// equal size, at a facility boundary; `None` when there is no second facility.
fn facility_split(conn: &mut DbConn, lo: &str, hi: &str) -> AppResult<Option<String>> {
    let counts = store::stays_per_facility(conn, lo, hi)?;
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let mut seen = 0;
    for (code, n) in &counts {
        if seen > 0 && seen * 2 >= total {
            return Ok(Some(code.clone()));
        }
        seen += n;
    }
    Ok(None)
}

/// One pass over the claims admitted in `from..=to` in (facility, date) order: the peer
/// histograms per diagnosis group and level, each doctor's costs against them, each
/// facility's rest-day admissions, and the household groups, with memory bounded by the
/// number of groups, doctors and facilities and by one facility's household window, never
/// by the number of claims. With a `second` connection the facilities are split in two
/// ranges of about equal claims, read and tallied on two threads and merged.
pub fn statistics(
    conn: &mut DbConn,
    second: Option<&mut DbConn>,
    defs: &Definitions,
    from: NaiveDate,
    to: NaiveDate,
    progress: &(dyn Fn(u64) + Sync),
) -> AppResult<Statistics> {
    let levels: HashMap<String, (String, String)> = crate::store::facilities::list(conn)?
        .into_iter()
        .map(|f| (f.code, (f.level, f.region_code)))
        .collect();
    let (lo, hi) = (from.to_string(), to.to_string());
    let period = (lo.as_str(), hi.as_str());
    let mut first = FacilityPass::new(defs, &levels);
    let split = match second {
        Some(_) => facility_split(conn, &lo, &hi)?,
        None => None,
    };
    match (second, split) {
        (Some(other), Some(split)) => {
            let mut later = FacilityPass::new(defs, &levels);
            std::thread::scope(|s| -> AppResult<()> {
                let reader = s.spawn(|| later.run(other, (&split, None), period, progress));
                first.run(conn, ("", Some(&split)), period, progress)?;
                reader.join().map_err(|_| {
                    AppError::internal(anyhow::anyhow!("the facility reader panicked"))
                })?
            })?;
            first.merge(later);
        }
        _ => first.run(conn, ("", None), period, progress)?,
    }
    Ok(first.statistics())
}

/// Stores what intake's screening reads of the statistics (facility, weekend, doctor and
/// peer statistics) in one transaction, replacing the last run's: on the primary, when
/// they were computed on the read replica.
pub fn keep_for_intake(conn: &mut DbConn, stats: &Statistics, now_ms: i64) -> AppResult<()> {
    let weekend = stored(
        stats
            .weekend
            .iter()
            .map(|s| (s.facility.clone(), s.outlier, s)),
    );
    let doctors = stored(
        stats
            .doctors
            .iter()
            .map(|s| (s.doctor.clone(), s.outlier, s)),
    );
    let peers = stored(
        stats
            .peers
            .iter()
            .map(|(key, s)| (peer_subject(key), false, s)),
    );
    conn.write_tx(|conn| -> AppResult<()> {
        store::replace_scores(conn, &stats.facilities, now_ms)?;
        store::replace_stats(conn, StatKind::Weekend, &weekend, now_ms)?;
        store::replace_stats(conn, StatKind::Doctor, &doctors, now_ms)?;
        store::replace_stats(conn, StatKind::Peer, &peers, now_ms)?;
        Ok(())
    })
}

/// Statistics as stored: (subject, whether it stands out, the statistic) each. They are
/// plain data of numbers and strings, which always serialise.
fn stored<'a, T: serde::Serialize + 'a>(
    stats: impl Iterator<Item = (String, bool, &'a T)>,
) -> Vec<NewStat> {
    stats
        .map(|(subject, outlier, s)| NewStat {
            subject,
            outlier,
            body: serde_json::to_string(s).unwrap_or_default(),
        })
        .collect()
}
