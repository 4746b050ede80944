//! A deterministic synthetic world for tests and benchmarks: facilities, insured persons with
//! enrolments, and claims across the three families, written as CSV that `import` reads.
//! The same seed and size always give the same files.
//!
//! Clean claims are laid out so that no screening rule fires on them: each person's stays
//! are two months apart, every facility is designated, diagnoses fit everyone. A known share
//! of fraud of every rule type is then planted, on persons and facilities reserved for it,
//! and listed in `planted.csv` (the ground truth `claimflow screen --truth` scores against).
use crate::domain::person::IdNumber;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Regions of the demo tree that generated people live in.
const COUNTIES: [&str; 2] = ["330326", "330327"];
/// Clean stays per person: January, March, May, July and September.
const SLOTS: usize = 5;
/// Claim rules with planted cases (the facility outlier is planted as a facility).
const PLANTED_RULES: [&str; 8] = [
    "duplicate_invoice",
    "overlapping_stay",
    "readmission",
    "facility_not_designated",
    "outside_coverage",
    "discharge_medicine",
    "restricted_diagnosis",
    "trauma_liable_party",
];

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
    pub planted_claims: usize,
    pub planted_per_rule: usize,
}

fn id_number(county: &str, n: usize, rng: &mut StdRng) -> String {
    // Born before 2019, so that nobody dies (planted) before being born.
    let year = 1940 + rng.random_range(0..79);
    let month = rng.random_range(1..=12);
    let day = rng.random_range(1..=28);
    IdNumber::with_check_digit(&format!("{county}{year}{month:02}{day:02}{:03}", n % 1000))
}

fn fen(v: i64) -> String {
    format!("{}.{:02}", v / 100, v % 100)
}

/// One claim row; the emergency columns stay empty unless `emergency` is set.
#[derive(Clone)]
struct Row<'a> {
    person: &'a str,
    family: &'a str,
    encounter: &'a str,
    facility: &'a str,
    admission: String,
    discharge: String,
    diagnosis: &'a str,
    invoice: String,
    total_fen: i64,
    filed: bool,
    third_party_liable: bool,
    settled: bool,
    emergency: bool,
    medicine_days: u32,
    chronic: bool,
}

impl Row<'_> {
    fn write(&self, w: &mut impl Write, rng: &mut StdRng) -> std::io::Result<()> {
        let scope = self.total_fen * rng.random_range(70..=95) / 100;
        let self_paid = self.total_fen * rng.random_range(0..=10) / 100;
        write!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},false,{},{},,",
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
            self.third_party_liable,
            self.settled,
        )?;
        if self.emergency {
            write!(w, "{} 21:00,外地,急症,证人,13800000000,", self.admission)?;
        } else {
            write!(w, ",,,,,")?;
        }
        writeln!(w, "{},{}", self.medicine_days, self.chronic)
    }
}

struct Person {
    id: String,
    sex: char,
}

/// Writes facilities.csv, persons.csv, enrolments.csv, claims.csv and planted.csv into `out`.
pub fn generate(out: &Path, seed: u64, sizes: &Sizes) -> anyhow::Result<Generated> {
    std::fs::create_dir_all(out)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let per_rule = (sizes.claims / 1000).max(1);
    // Overlap and readmission each need a first stay before the planted one.
    let planted_rows = per_rule * (PLANTED_RULES.len() + 2);
    let clean_claims = sizes.claims.saturating_sub(planted_rows);
    let clean_persons = sizes.persons.max(clean_claims.div_ceil(SLOTS)).max(1);
    let reserved_persons = per_rule * PLANTED_RULES.len();

    // Facilities: mostly township health centres, fewer county hospitals, a few city
    // hospitals; then the outlier (a township centre billing four times its peers) and the
    // facility designated only from July, both reserved for planted cases.
    let mut f = BufWriter::new(std::fs::File::create(out.join("facilities.csv"))?);
    writeln!(f, "code,name,level,region_code,ownership,designated_from")?;
    let mut facilities: Vec<(String, &str)> = Vec::with_capacity(sizes.facilities + 1);
    for i in 0..sizes.facilities.max(2) {
        let (level, region) = match i % 10 {
            0..=5 => ("township", COUNTIES[i % 2]),
            6..=8 => ("county", COUNTIES[i % 2]),
            _ => ("city", "330300"),
        };
        let code = format!("G{region}{i:05}");
        let ownership = if i % 7 == 0 { "private" } else { "public" };
        writeln!(
            f,
            "{code},生成机构{i},{level},{region},{ownership},2010-01-01"
        )?;
        facilities.push((code, level));
    }
    let outlier = format!("G{}OUTL", COUNTIES[0]);
    writeln!(
        f,
        "{outlier},生成机构高费用,township,{},private,2010-01-01",
        COUNTIES[0]
    )?;
    facilities.push((outlier.clone(), "township"));
    let late = format!("G{}LATE", COUNTIES[1]);
    writeln!(
        f,
        "{late},生成机构七月定点,county,{},private,2019-07-01",
        COUNTIES[1]
    )?;
    f.flush()?;

    let mut p = BufWriter::new(std::fs::File::create(out.join("persons.csv"))?);
    let mut e = BufWriter::new(std::fs::File::create(out.join("enrolments.csv"))?);
    writeln!(
        p,
        "id_number,name,sex,birth_date,household,region_code,email,death_date"
    )?;
    writeln!(e, "id_number,coverage_year,period_start,period_end,tier,enrolled_on,channel,special_groups,disabled_grade")?;
    let mut persons: Vec<Person> = Vec::with_capacity(clean_persons + reserved_persons);
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    let dead_from = clean_persons
        + per_rule
            * PLANTED_RULES
                .iter()
                .position(|r| *r == "outside_coverage")
                .unwrap_or(0);
    while persons.len() < clean_persons + reserved_persons {
        n += 1;
        let county = COUNTIES[n % 2];
        let id = id_number(county, n, &mut rng);
        if !seen.insert(id.clone()) {
            continue;
        }
        let parsed = IdNumber::parse(&id).map_err(|e| anyhow::anyhow!(e))?;
        // Half of the reserved persons for `outside_coverage` died in February 2019.
        let index = persons.len();
        let dies =
            index >= dead_from && index < dead_from + per_rule && (index - dead_from) % 2 == 0;
        writeln!(
            p,
            "{id},参保人{n},{},{},{county}-{},{county},,{}",
            parsed.sex(),
            parsed.birth_date(),
            n / 3,
            if dies { "2019-02-01" } else { "" }
        )?;
        let (channel, enrolled, groups) = match rng.random_range(0..100) {
            0..=84 => ("central", "2018-11-20", ""),
            85..=94 => ("mid_year", "2019-03-01", ""),
            _ => ("mid_year", "2019-03-01", "dibao"),
        };
        let tier = if rng.random_range(0..4) == 0 { 2 } else { 1 };
        writeln!(
            e,
            "{id},2019,2019-01-01,2019-12-31,{tier},{enrolled},{channel},{groups},"
        )?;
        persons.push(Person {
            id,
            sex: parsed.sex(),
        });
    }
    p.flush()?;
    e.flush()?;

    let mut c = BufWriter::new(std::fs::File::create(out.join("claims.csv"))?);
    writeln!(c, "{}", crate::cli::import::CLAIM_COLUMNS.join(","))?;
    // Clean claims: person i mod P, slot i div P (a stay in January, March, …).
    let mut firsts: Vec<(String, String, usize)> = Vec::new();
    for i in 0..clean_claims {
        let person = &persons[i % clean_persons];
        let slot = (i / clean_persons) % SLOTS;
        let (facility, level) = &facilities[rng.random_range(0..facilities.len())];
        let family = ["out_of_region", "trauma", "unreferred_transfer"][rng.random_range(0..3)];
        let outpatient = rng.random_range(0..100) < 12;
        // Log-normal-ish costs: most stays a few thousand yuan, a long tail to ~200,000.
        let base = match *level {
            "township" => 2_000,
            "county" => 6_000,
            _ => 15_000,
        } / if outpatient { 5 } else { 1 }
            * if *facility == outlier { 4 } else { 1 };
        let tail: f64 = rng.random_range(0.0f64..1.0).powi(6) * 20.0;
        let total_fen =
            (base as f64 * (0.5 + rng.random_range(0.0..1.5) + tail) * 100.0).round() as i64;
        let month = 1 + 2 * slot;
        let day = rng.random_range(1..=15);
        let stay = if outpatient {
            0
        } else {
            rng.random_range(1..=8)
        };
        let filed = family == "out_of_region" && rng.random_range(0..3) > 0;
        let chronic = rng.random_range(0..10) == 0;
        let row = Row {
            person: &person.id,
            family,
            encounter: if outpatient {
                "outpatient"
            } else {
                "inpatient"
            },
            facility,
            admission: format!("2019-{month:02}-{day:02}"),
            discharge: format!("2019-{month:02}-{:02}", day + stay),
            diagnosis: match family {
                "trauma" => "S72.001",
                "out_of_region" => "I21.9",
                _ => "K35.8",
            },
            invoice: format!("GEN{seed}-{i:08}"),
            total_fen,
            filed,
            third_party_liable: false,
            settled: outpatient && rng.random_range(0..2) == 0,
            emergency: family != "trauma" && !filed && rng.random_range(0..2) == 0,
            medicine_days: if outpatient {
                0
            } else {
                rng.random_range(0..=if chronic { 7 } else { 3 })
            },
            chronic,
        };
        row.write(&mut c, &mut rng)?;
        if i < per_rule {
            firsts.push((row.invoice.clone(), facility.clone(), i));
        }
    }

    // Planted fraud, each case on a reserved person, listed in planted.csv.
    let mut truth = BufWriter::new(std::fs::File::create(out.join("planted.csv"))?);
    writeln!(truth, "rule,id_number,invoice_number,facility_code")?;
    writeln!(truth, "facility_outlier,,,{outlier}")?;
    let normal = &facilities[0].0;
    let other = &facilities[1].0;
    let mut planted = 0;
    for (r, rule) in PLANTED_RULES.iter().enumerate() {
        for k in 0..per_rule {
            let person = &persons[clean_persons + r * per_rule + k];
            let invoice = format!("PLANT{seed}-{rule}-{k:06}");
            let mut row = Row {
                person: &person.id,
                family: "out_of_region",
                encounter: "inpatient",
                facility: normal,
                admission: "2019-06-03".into(),
                discharge: "2019-06-08".into(),
                diagnosis: "I21.9",
                invoice: invoice.clone(),
                total_fen: 600_000 + 1_000 * k as i64,
                filed: true,
                third_party_liable: false,
                settled: false,
                emergency: false,
                medicine_days: 2,
                chronic: false,
            };
            match *rule {
                "duplicate_invoice" => {
                    // Another person, another facility, the invoice of an earlier claim.
                    let (dup, facility, _) = &firsts[k % firsts.len().max(1)];
                    row.invoice = dup.clone();
                    row.facility = if facility == normal { other } else { normal };
                }
                "overlapping_stay" | "readmission" => {
                    // The first stay, then the planted one: overlapping at another facility,
                    // or back at the same facility five days after discharge.
                    let first = Row {
                        invoice: format!("{invoice}-A"),
                        ..row.clone()
                    };
                    first.write(&mut c, &mut rng)?;
                    planted += 1;
                    if *rule == "overlapping_stay" {
                        row.facility = other;
                        row.admission = "2019-06-06".into();
                        row.discharge = "2019-06-10".into();
                    } else {
                        row.admission = "2019-06-13".into();
                        row.discharge = "2019-06-16".into();
                    }
                }
                // Care before the facility's designation: intake refuses it, so the row
                // shows the control at import and never reaches the backtest.
                "facility_not_designated" => row.facility = &late,
                // After death (February) for the even ones (see persons.csv); a 2020 stay,
                // outside the 2019 enrolment, for the odd ones.
                "outside_coverage" if k % 2 == 1 => {
                    row.admission = "2020-03-02".into();
                    row.discharge = "2020-03-06".into();
                }
                "discharge_medicine" => row.medicine_days = 10,
                "restricted_diagnosis" => {
                    row.diagnosis = if person.sex == 'M' { "O80.0" } else { "N40" };
                }
                "trauma_liable_party" => {
                    row.family = "trauma";
                    row.diagnosis = "S72.001";
                    row.third_party_liable = true;
                }
                _ => {}
            }
            row.write(&mut c, &mut rng)?;
            planted += 1;
            writeln!(
                truth,
                "{rule},{},{},{}",
                person.id, row.invoice, row.facility
            )?;
        }
    }
    c.flush()?;
    truth.flush()?;
    Ok(Generated {
        claims: clean_claims + planted,
        planted_claims: planted,
        planted_per_rule: per_rule,
    })
}
