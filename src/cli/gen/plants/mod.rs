//! The planted cases of the generated world: fraud of every rule, each pattern in several
//! disguises (gaps, offsets, amounts and invoice spellings vary from case to case), and
//! honest look-alikes of every rule (a transfer with a referral, a readmission just outside
//! the window, the next invoice of a pad, a high cost explained by a special disease or a
//! higher level, household members weeks apart, …). Each goes on persons reserved for it,
//! so that no two cases meet by accident, and each is listed in `planted.csv`: a claim by
//! its person and invoice, a facility or a doctor by its code, as `fraud` or `near_miss`.
mod checks;
mod claims;

use super::{
    cost_around, days_around, level_base, person, random_birth, Facility, Group, Person, Row,
    GROUPS,
};
use chrono::{Datelike, Days, NaiveDate};
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::HashSet;

/// The facilities reserved for planted cases.
pub(in crate::cli) struct Special {
    /// Bills twice what its peers do; clean claims go there too.
    pub outlier: String,
    /// Designated only from 1 July 2019.
    pub late: String,
    /// Admits three in four of its patients on weekends.
    pub weekend: String,
    /// Admits somewhat more on weekends than its peers, within their spread.
    pub weekend_near: String,
    /// Bills a little more than its peers, within their spread.
    pub near_outlier: String,
    /// How many of the reserved facilities (those first) clean claims also go to.
    pub clean_extra: usize,
}

impl Special {
    pub fn new(facilities: &mut Vec<Facility>) -> Special {
        let county = super::COUNTIES[0];
        let mut add = |suffix: &str, level: &'static str, cost_factor: f64| {
            let code = format!("G{county}{suffix}");
            facilities.push(Facility {
                code: code.clone(),
                level,
                doctors: vec![format!("D{suffix}-0"), format!("D{suffix}-1")],
                cost_factor,
            });
            code
        };
        Special {
            outlier: add("OUTL", "township", 2.0),
            late: add("LATE", "county", 1.0),
            weekend: add("WKND", "county", 1.0),
            weekend_near: add("WKNM", "county", 1.0),
            near_outlier: add("NEAR", "township", 1.3),
            clean_extra: 1,
        }
    }
}

/// One row of `planted.csv`.
pub(super) struct Truth {
    pub rule: &'static str,
    pub person: String,
    pub invoice: String,
    pub facility: String,
    pub doctor: String,
    pub fraud: bool,
}

/// A planted claim, owning what it names (the reserved person by index).
#[derive(Clone)]
pub(super) struct Plant {
    person: usize,
    family: &'static str,
    encounter: &'static str,
    facility: String,
    admission: NaiveDate,
    discharge: NaiveDate,
    diagnosis: &'static str,
    invoice: String,
    total_fen: i64,
    filed: bool,
    referral: bool,
    third_party_liable: bool,
    special_disease: Option<&'static str>,
    emergency: bool,
    medicine_days: u32,
    chronic: bool,
    doctor: Option<String>,
}

impl Plant {
    pub fn row<'a>(&'a self, persons: &'a [Person]) -> Row<'a> {
        Row {
            person: &persons[self.person].id,
            family: self.family,
            encounter: self.encounter,
            facility: &self.facility,
            admission: self.admission,
            discharge: self.discharge,
            diagnosis: self.diagnosis,
            invoice: self.invoice.clone(),
            total_fen: self.total_fen,
            filed: self.filed,
            referral: self.referral,
            third_party_liable: self.third_party_liable,
            settled: false,
            special_disease: self.special_disease,
            emergency: self.emergency,
            medicine_days: self.medicine_days,
            chronic: self.chronic,
            doctor: self.doctor.as_deref(),
        }
    }

    fn nights(&mut self, n: u64) -> &mut Self {
        self.discharge = self.admission + Days::new(n);
        self
    }
}

/// The planted rows, the persons reserved for them, and the truth.
pub(super) struct Plan {
    pub persons: Vec<Person>,
    pub rows: Vec<Plant>,
    pub truth: Vec<Truth>,
    /// The person counter after the reserved persons (clean persons continue from it).
    pub next_n: usize,
    pub planted_rows: usize,
    pub near_miss_rows: usize,
}

impl Plan {
    pub fn rules_planted(&self) -> usize {
        self.truth
            .iter()
            .filter(|t| t.fraud)
            .map(|t| t.rule)
            .collect::<HashSet<_>>()
            .len()
    }
}

/// What a reserved person must be.
#[derive(Default, Clone)]
struct Want {
    sex: Option<char>,
    /// Age on 1 June 2019, inclusive.
    ages: Option<(i32, i32)>,
    household: Option<String>,
    death: Option<NaiveDate>,
}

struct Planter<'a> {
    seed: u64,
    rng: &'a mut StdRng,
    facilities: &'a [Facility],
    special: &'a Special,
    plan: Plan,
    seen: HashSet<String>,
    invoices: usize,
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
}

fn group_of(code: &str) -> Group {
    GROUPS
        .iter()
        .copied()
        .find(|g| g.code == code)
        .unwrap_or(GROUPS[0])
}

/// Another spelling of the same invoice: case, separators, leading zeros.
fn respell(invoice: &str, variant: usize) -> String {
    match variant % 4 {
        0 => invoice.to_lowercase(),
        1 => invoice.replace('-', "/"),
        2 => invoice.replacen('-', "-00", 1),
        _ => invoice.replace('-', ""),
    }
}

/// The next invoice of the pad: the number plus one.
fn neighbour(invoice: &str) -> String {
    let digits = invoice.len()
        - invoice
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .count();
    let (head, tail) = invoice.split_at(digits);
    let next = tail.parse::<u64>().unwrap_or(0) + 1;
    format!("{head}{next:0width$}", width = tail.len())
}

impl Planter<'_> {
    /// Reserves a new person as wanted; each in a household of their own unless told.
    fn person(&mut self, want: &Want) -> usize {
        loop {
            self.plan.next_n += 1;
            let n = self.plan.next_n;
            // The sequence's last digit is odd for men (GB 11643).
            let male = (n % 1000) % 2 == 1;
            if want.sex.is_some_and(|s| (s == 'M') != male) {
                continue;
            }
            let birth = loop {
                let b = random_birth(self.rng);
                let age = 2019 - b.year() - i32::from((b.month(), b.day()) > (6, 1));
                if want.ages.is_none_or(|(lo, hi)| (lo..=hi).contains(&age)) {
                    break b;
                }
            };
            let household = want
                .household
                .clone()
                .unwrap_or_else(|| format!("R{}-{n}", self.seed));
            if let Some(mut p) = person(n, birth, household, &mut self.seen) {
                p.death = want.death;
                self.plan.persons.push(p);
                return self.plan.persons.len() - 1;
            }
        }
    }

    fn anyone(&mut self) -> usize {
        self.person(&Want::default())
    }

    fn invoice(&mut self, tag: &str) -> String {
        self.invoices += 1;
        format!("PL{}{tag}-{:06}", self.seed, self.invoices)
    }

    /// A facility of the clean world at `level`, chosen by `k`: its index.
    fn pick(&self, level: &str, k: usize) -> usize {
        let of_level: Vec<usize> = (0..self.facilities.len())
            .filter(|i| {
                let f = &self.facilities[*i];
                // The reserved facilities' codes are shorter (`G330326WKND`).
                f.level == level && f.code.len() == 12
            })
            .collect();
        of_level[k % of_level.len()]
    }

    /// The index of a reserved facility.
    fn reserved(&self, code: &str) -> usize {
        self.facilities
            .iter()
            .position(|f| f.code == code)
            .unwrap_or(0)
    }

    /// A random admission day between April and August 2019 (a case's later stays, up to
    /// three months on, stay in the year).
    fn some_day(&mut self) -> NaiveDate {
        d(2019, 4, 1) + Days::new(self.rng.random_range(0..150))
    }

    /// A typical stay of `g` at `facility`.
    fn stay(
        &mut self,
        person: usize,
        facility: &Facility,
        g: Group,
        admission: NaiveDate,
    ) -> Plant {
        let total_fen = cost_around(
            level_base(facility.level) * g.cost * facility.cost_factor,
            self.rng,
        );
        let nights = days_around(g.days, self.rng);
        let invoice = self.invoice("A");
        Plant {
            person,
            family: g.family,
            encounter: "inpatient",
            facility: facility.code.clone(),
            admission,
            discharge: admission + Days::new(nights),
            diagnosis: g.code,
            invoice,
            total_fen,
            filed: g.family == "out_of_region",
            referral: false,
            third_party_liable: false,
            special_disease: None,
            emergency: false,
            medicine_days: 2,
            chronic: false,
            doctor: None,
        }
    }

    /// One visit in eight is an outpatient's, as in the clean world (a facility's share of
    /// inpatients is compared with its peers').
    fn mix_outpatients(&self, plant: &mut Plant, n: usize) {
        if n % 8 == 7 {
            plant.encounter = "outpatient";
            plant.nights(0);
            plant.total_fen /= 5;
        }
    }

    fn random_group(&mut self) -> Group {
        GROUPS[self.rng.random_range(0..GROUPS.len())]
    }

    /// A claim that is not itself planted (the first stay of a pair, say).
    fn background(&mut self, p: Plant) {
        self.plan.rows.push(p);
    }

    fn fraud(&mut self, rule: &'static str, p: Plant) {
        self.note(rule, &p, true);
        self.plan.planted_rows += 1;
        self.plan.rows.push(p);
    }

    fn near_miss(&mut self, rule: &'static str, p: Plant) {
        self.note(rule, &p, false);
        self.plan.near_miss_rows += 1;
        self.plan.rows.push(p);
    }

    /// A truth row for a claim already pushed (a case charged to more than one rule).
    fn note(&mut self, rule: &'static str, p: &Plant, fraud: bool) {
        self.plan.truth.push(Truth {
            rule,
            person: self.plan.persons[p.person].id.clone(),
            invoice: p.invoice.clone(),
            facility: String::new(),
            doctor: String::new(),
            fraud,
        });
    }

    fn subject(&mut self, rule: &'static str, facility: &str, doctor: &str, fraud: bool) {
        self.plan.truth.push(Truth {
            rule,
            person: String::new(),
            invoice: String::new(),
            facility: facility.to_string(),
            doctor: doctor.to_string(),
            fraud,
        });
    }
}

/// Plans every planted case for a world of `claims` claims: `max(1, claims / 1000)` of each
/// pattern and of each look-alike; the facility and doctor patterns from 4,000 claims up,
/// where their peers are enough to compare with.
pub(super) fn plan(
    seed: u64,
    claims: usize,
    facilities: &[Facility],
    special: &Special,
    rng: &mut StdRng,
) -> Plan {
    let mut p = Planter {
        seed,
        rng,
        facilities,
        special,
        plan: Plan {
            persons: Vec::new(),
            rows: Vec::new(),
            truth: Vec::new(),
            next_n: 0,
            planted_rows: 0,
            near_miss_rows: 0,
        },
        seen: HashSet::new(),
        invoices: 0,
    };
    let per_rule = (claims / 1000).max(1);
    for k in 0..per_rule {
        claims::invoices(&mut p, k);
        claims::stays(&mut p, k);
        claims::split_and_short(&mut p, k);
        claims::household(&mut p, k);
        claims::structuring(&mut p, k);
        claims::coverage(&mut p, k);
        checks::diagnoses(&mut p, k);
        checks::lengths_and_costs(&mut p, k);
    }
    if claims >= 4_000 {
        checks::subjects(&mut p);
    }
    p.plan
}
