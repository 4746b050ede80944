//! A deterministic synthetic world for tests and benchmarks: facilities with their doctors,
//! insured persons in households with enrolments, and claims across the three families,
//! written as CSV that `import` reads. The same seed and size always give the same files.
//!
//! Clean claims are honest by construction, and shaped like real ones: costs and lengths of
//! stay spread log-normally around each diagnosis group's typical values at each facility
//! level, each person's stays two months apart, a household's members admitted at least a
//! week apart, every facility designated, diagnoses that fit the person. Some of them still
//! trip a statistical rule now and then, as honest claims do; the backtest counts those as
//! false positives. On top, `plants` adds fraud of every rule in several disguises and honest
//! look-alikes (near misses) of every rule, on persons, facilities and doctors reserved for
//! them, and lists both in `planted.csv` (the truth `claimflow screen --truth` scores).
mod plants;

use crate::domain::person::IdNumber;
use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Regions of the demo tree that generated people live in.
const COUNTIES: [&str; 2] = ["330326", "330327"];
/// Clean stays per person: January, March, May, July and September.
const SLOTS: usize = 5;

/// A diagnosis group: its family, its cost relative to the level's base, its typical stay.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    pub code: &'static str,
    pub family: &'static str,
    pub cost: f64,
    pub days: f64,
}

const fn group(code: &'static str, family: &'static str, cost: f64, days: f64) -> Group {
    Group {
        code,
        family,
        cost,
        days,
    }
}

/// The diagnosis groups clean claims are drawn from, five or six per family.
pub(super) const GROUPS: [Group; 16] = [
    group("S72.001", "trauma", 1.6, 9.0),
    group("S82.201", "trauma", 1.3, 7.0),
    group("S52.501", "trauma", 0.9, 4.0),
    group("S42.201", "trauma", 1.0, 5.0),
    group("S06.001", "trauma", 1.2, 6.0),
    group("I21.9", "out_of_region", 1.8, 8.0),
    group("I63.9", "out_of_region", 1.4, 10.0),
    group("J18.9", "out_of_region", 0.8, 6.0),
    group("K80.2", "out_of_region", 1.1, 5.0),
    group("N20.0", "out_of_region", 0.7, 3.0),
    group("C18.9", "out_of_region", 2.5, 12.0),
    group("K35.8", "unreferred_transfer", 1.0, 5.0),
    group("K80.1", "unreferred_transfer", 1.1, 5.0),
    group("J44.1", "unreferred_transfer", 0.9, 8.0),
    group("I50.0", "unreferred_transfer", 1.3, 9.0),
    group("E11.9", "unreferred_transfer", 0.8, 7.0),
];

/// The cost of a typical inpatient stay at a level, in yuan.
pub(super) fn level_base(level: &str) -> f64 {
    match level {
        "township" => 2_000.0,
        "county" => 6_000.0,
        _ => 15_000.0,
    }
}

pub struct Sizes {
    /// Claim rows in total, planted ones included.
    pub claims: usize,
    /// Persons for the clean claims (raised to one per five claims); reserved persons for
    /// planted cases come on top.
    pub persons: usize,
    pub facilities: usize,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub claims: usize,
    /// Rows of planted fraud, and of planted honest look-alikes.
    pub planted_claims: usize,
    pub near_miss_claims: usize,
    /// Rules with planted fraud.
    pub rules_planted: usize,
}

/// A standard normal draw (Box–Muller).
pub(super) fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A cost in fen around `yuan`, spread log-normally (σ 0.35), never a round amount.
pub(super) fn cost_around(yuan: f64, rng: &mut StdRng) -> i64 {
    let fen = (yuan * (0.35 * normal(rng)).exp() * 100.0).round() as i64;
    let fen = fen.max(1_000) + rng.random_range(1..100);
    if fen % 100_000 == 0 {
        fen + 37
    } else {
        fen
    }
}

/// A length of stay around `days`, spread log-normally (σ 0.25), at least one night.
pub(super) fn days_around(days: f64, rng: &mut StdRng) -> u64 {
    (days * (0.25 * normal(rng)).exp()).round().clamp(1.0, 40.0) as u64
}

fn fen(v: i64) -> String {
    format!("{}.{:02}", v / 100, v % 100)
}

/// One claim row, in `import::CLAIM_COLUMNS` order.
#[derive(Clone, Debug)]
pub(super) struct Row<'a> {
    pub person: &'a str,
    pub family: &'a str,
    pub encounter: &'a str,
    pub facility: &'a str,
    pub admission: NaiveDate,
    pub discharge: NaiveDate,
    pub diagnosis: &'a str,
    pub invoice: String,
    pub total_fen: i64,
    pub filed: bool,
    pub referral: bool,
    pub third_party_liable: bool,
    pub settled: bool,
    pub special_disease: Option<&'a str>,
    /// The emergency columns are filled when set.
    pub emergency: bool,
    pub medicine_days: u32,
    pub chronic: bool,
    pub doctor: Option<&'a str>,
}

impl Row<'_> {
    pub fn write(&self, w: &mut impl Write, rng: &mut StdRng) -> std::io::Result<()> {
        let scope = self.total_fen * rng.random_range(70..=95) / 100;
        let self_paid = self.total_fen * rng.random_range(0..=10) / 100;
        write!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},",
            self.person,
            self.family,
            self.encounter,
            self.facility,
            self.admission,
            self.discharge,
            self.diagnosis,
            self.invoice,
            fen(self.total_fen),
            fen(scope),
            fen(self_paid),
            self.filed,
            self.referral,
            self.third_party_liable,
            self.settled,
            self.special_disease.unwrap_or(""),
        )?;
        if self.emergency {
            write!(w, "{} 21:00,外地,急症,证人,13800000000,", self.admission)?;
        } else {
            write!(w, ",,,,,")?;
        }
        writeln!(
            w,
            "{},{},{}",
            self.medicine_days,
            self.chronic,
            self.doctor.unwrap_or("")
        )
    }
}

/// A designated facility of the generated world.
pub(super) struct Facility {
    pub code: String,
    pub level: &'static str,
    pub doctors: Vec<String>,
    /// Its costs against its level's (the facility outlier bills 2.5 times its peers).
    pub cost_factor: f64,
}

/// An insured person: ID number, sex, birth date, household and place in it.
pub(super) struct Person {
    pub id: String,
    pub sex: char,
    pub birth: NaiveDate,
    pub household: String,
    pub death: Option<NaiveDate>,
    /// 0, 1 or 2: which third of the month a clean member is admitted in.
    pub member: usize,
}

fn id_number(county: &str, n: usize, birth: NaiveDate) -> String {
    IdNumber::with_check_digit(&format!(
        "{county}{:04}{:02}{:02}{:03}",
        birth.year(),
        birth.month(),
        birth.day(),
        n % 1000
    ))
}

/// A new person born on `birth` in household `household`; `None` if the ID number is taken.
pub(super) fn person(
    n: usize,
    birth: NaiveDate,
    household: String,
    seen: &mut std::collections::HashSet<String>,
) -> Option<Person> {
    let county = COUNTIES[n % 2];
    let id = id_number(county, n, birth);
    if !seen.insert(id.clone()) {
        return None;
    }
    let sex = IdNumber::parse(&id).ok()?.sex();
    Some(Person {
        id,
        sex,
        birth,
        household,
        death: None,
        member: n % 3,
    })
}

pub(super) fn random_birth(rng: &mut StdRng) -> NaiveDate {
    // Born before 2019, so that nobody dies (planted) before being born.
    let year = 1940 + rng.random_range(0..79);
    NaiveDate::from_ymd_opt(year, rng.random_range(1..=12), rng.random_range(1..=28))
        .unwrap_or_default()
}

/// Writes facilities.csv, persons.csv, enrolments.csv, claims.csv and planted.csv into `out`.
pub fn generate(out: &Path, seed: u64, sizes: &Sizes) -> anyhow::Result<Generated> {
    std::fs::create_dir_all(out)?;
    let mut rng = StdRng::seed_from_u64(seed);

    // Facilities: mostly township health centres, fewer county hospitals, a few city
    // hospitals, each with a few doctors; then the facilities reserved for planted cases.
    let mut facilities: Vec<Facility> = Vec::with_capacity(sizes.facilities + 8);
    for i in 0..sizes.facilities.max(10) {
        let (level, region) = match i % 10 {
            0..=5 => ("township", COUNTIES[i % 2]),
            6..=8 => ("county", COUNTIES[i % 2]),
            _ => ("city", "330300"),
        };
        let code = format!("G{region}{i:05}");
        let doctors = (0..2 + i % 4).map(|j| format!("D{i:05}-{j}")).collect();
        // Case mix: facilities of one level differ in what a stay costs.
        let cost_factor = (0.15 * normal(&mut rng)).exp();
        facilities.push(Facility {
            code,
            level,
            doctors,
            cost_factor,
        });
    }
    let clean_facilities = facilities.len();
    let special = plants::Special::new(&mut facilities);
    let mut f = BufWriter::new(std::fs::File::create(out.join("facilities.csv"))?);
    writeln!(f, "code,name,level,region_code,ownership,designated_from")?;
    for (i, fac) in facilities.iter().enumerate() {
        let region = if fac.level == "city" {
            "330300"
        } else {
            &fac.code[1..7]
        };
        let ownership = if i % 7 == 0 { "private" } else { "public" };
        let from = if fac.code == special.late {
            "2019-07-01"
        } else {
            "2010-01-01"
        };
        writeln!(
            f,
            "{},生成机构{i},{},{region},{ownership},{from}",
            fac.code, fac.level
        )?;
    }
    f.flush()?;

    // The planted cases first: they reserve their persons, which persons.csv then lists.
    let plan = plants::plan(seed, sizes.claims, &facilities, &special, &mut rng);
    let clean_claims = sizes.claims.saturating_sub(plan.rows.len());
    let clean_persons = sizes.persons.max(clean_claims.div_ceil(SLOTS)).max(1);
    let mut persons: Vec<Person> = Vec::with_capacity(clean_persons);
    let mut seen: std::collections::HashSet<String> =
        plan.persons.iter().map(|p| p.id.clone()).collect();
    let mut n = plan.next_n;
    while persons.len() < clean_persons {
        n += 1;
        let birth = random_birth(&mut rng);
        let household = format!("C{seed}-{}", n / 3);
        if let Some(p) = person(n, birth, household, &mut seen) {
            persons.push(p);
        }
    }

    let mut p = BufWriter::new(std::fs::File::create(out.join("persons.csv"))?);
    let mut e = BufWriter::new(std::fs::File::create(out.join("enrolments.csv"))?);
    writeln!(
        p,
        "id_number,name,sex,birth_date,household,region_code,email,death_date"
    )?;
    writeln!(e, "id_number,coverage_year,period_start,period_end,tier,enrolled_on,channel,special_groups,disabled_grade")?;
    for (i, person) in persons.iter().chain(&plan.persons).enumerate() {
        writeln!(
            p,
            "{},参保人{i},{},{},{},{},,{}",
            person.id,
            person.sex,
            person.birth,
            person.household,
            &person.id[..6],
            person.death.map(|d| d.to_string()).unwrap_or_default()
        )?;
        let (channel, enrolled, groups) = match rng.random_range(0..100) {
            0..=84 => ("central", "2018-11-20", ""),
            85..=94 => ("mid_year", "2019-03-01", ""),
            _ => ("mid_year", "2019-03-01", "dibao"),
        };
        let tier = if rng.random_range(0..4) == 0 { 2 } else { 1 };
        writeln!(
            e,
            "{},2019,2019-01-01,2019-12-31,{tier},{enrolled},{channel},{groups},",
            person.id
        )?;
    }
    p.flush()?;
    e.flush()?;

    let mut c = BufWriter::new(std::fs::File::create(out.join("claims.csv"))?);
    writeln!(c, "{}", crate::cli::import::CLAIM_COLUMNS.join(","))?;
    // Clean claims: person i mod P, slot i div P (a stay in January, March, …), in the third
    // of the month of the person's place in the household.
    for i in 0..clean_claims {
        let person = &persons[i % clean_persons];
        let slot = (i / clean_persons) % SLOTS;
        let fac = &facilities[rng.random_range(0..clean_facilities + special.clean_extra)];
        let g = GROUPS[rng.random_range(0..GROUPS.len())];
        let outpatient = rng.random_range(0..100) < 12;
        let base = level_base(fac.level) * g.cost * fac.cost_factor;
        let total_fen = cost_around(if outpatient { base / 5.0 } else { base }, &mut rng);
        let month = 1 + 2 * slot as u32;
        let day = 1 + 9 * person.member as u32 + rng.random_range(0..4);
        let admission = NaiveDate::from_ymd_opt(2019, month, day).unwrap_or_default();
        let stay = if outpatient {
            0
        } else {
            days_around(g.days, &mut rng)
        };
        let filed = g.family == "out_of_region" && rng.random_range(0..3) > 0;
        let chronic = rng.random_range(0..10) == 0;
        let doctor = (rng.random_range(0..10) < 8)
            .then(|| fac.doctors[rng.random_range(0..fac.doctors.len())].as_str());
        let row = Row {
            person: &person.id,
            family: g.family,
            encounter: if outpatient {
                "outpatient"
            } else {
                "inpatient"
            },
            facility: &fac.code,
            admission,
            discharge: admission + chrono::Days::new(stay),
            diagnosis: g.code,
            invoice: format!("GEN{seed}-{i:08}"),
            total_fen,
            filed,
            referral: false,
            third_party_liable: false,
            settled: outpatient && rng.random_range(0..2) == 0,
            special_disease: None,
            emergency: g.family != "trauma" && !filed && rng.random_range(0..2) == 0,
            medicine_days: if outpatient {
                0
            } else {
                rng.random_range(0..=if chronic { 7 } else { 3 })
            },
            chronic,
            doctor,
        };
        row.write(&mut c, &mut rng)?;
    }
    for plant in &plan.rows {
        plant.row(&plan.persons).write(&mut c, &mut rng)?;
    }
    c.flush()?;
    let mut truth = BufWriter::new(std::fs::File::create(out.join("planted.csv"))?);
    writeln!(
        truth,
        "rule,id_number,invoice_number,facility_code,doctor,kind"
    )?;
    for t in &plan.truth {
        writeln!(
            truth,
            "{},{},{},{},{},{}",
            t.rule,
            t.person,
            t.invoice,
            t.facility,
            t.doctor,
            if t.fraud { "fraud" } else { "near_miss" }
        )?;
    }
    truth.flush()?;
    Ok(Generated {
        claims: clean_claims + plan.rows.len(),
        planted_claims: plan.planted_rows,
        near_miss_claims: plan.near_miss_rows,
        rules_planted: plan.rules_planted(),
    })
}
