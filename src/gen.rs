//! A deterministic synthetic world for tests and benchmarks: facilities, insured persons with
//! enrolments, and claims across the three families, written as CSV that `import` reads.
//! The same seed and size always give the same files.
use crate::domain::person::IdNumber;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::Path;

/// Regions of the demo tree that generated people live in.
const COUNTIES: [&str; 2] = ["330326", "330327"];

pub struct Sizes {
    pub claims: usize,
    pub persons: usize,
    pub facilities: usize,
}

fn id_number(county: &str, n: usize, rng: &mut StdRng) -> String {
    let year = 1940 + rng.random_range(0..80);
    let month = rng.random_range(1..=12);
    let day = rng.random_range(1..=28);
    IdNumber::with_check_digit(&format!("{county}{year}{month:02}{day:02}{:03}", n % 1000))
}

/// Writes facilities.csv, persons.csv, enrolments.csv and claims.csv into `out`.
pub fn generate(out: &Path, seed: u64, sizes: &Sizes) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut f = std::io::BufWriter::new(std::fs::File::create(out.join("facilities.csv"))?);
    writeln!(f, "code,name,level,region_code,ownership,designated_from")?;
    let mut facilities = Vec::with_capacity(sizes.facilities);
    for i in 0..sizes.facilities {
        // Mostly township health centres, fewer county hospitals, a few city hospitals.
        let (level, region) = match i % 10 {
            0..=5 => ("township", COUNTIES[i % 2]),
            6..=8 => ("county", COUNTIES[i % 2]),
            _ => ("city", "330300"),
        };
        let code = format!("G{region}{i:05}");
        writeln!(
            f,
            "{code},生成机构{i},{level},{region},{},2010-01-01",
            if i % 7 == 0 { "private" } else { "public" }
        )?;
        facilities.push((code, level));
    }
    f.flush()?;

    let mut p = std::io::BufWriter::new(std::fs::File::create(out.join("persons.csv"))?);
    let mut e = std::io::BufWriter::new(std::fs::File::create(out.join("enrolments.csv"))?);
    writeln!(
        p,
        "id_number,name,sex,birth_date,household,region_code,email,death_date"
    )?;
    writeln!(e, "id_number,coverage_year,period_start,period_end,tier,enrolled_on,channel,special_groups,disabled_grade")?;
    let mut persons = Vec::with_capacity(sizes.persons);
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    while persons.len() < sizes.persons {
        n += 1;
        let county = COUNTIES[n % 2];
        let id = id_number(county, n, &mut rng);
        if !seen.insert(id.clone()) {
            continue;
        }
        let parsed = IdNumber::parse(&id).map_err(|e| anyhow::anyhow!(e))?;
        writeln!(
            p,
            "{id},参保人{n},{},{},{county}-{},{county},,",
            parsed.sex(),
            parsed.birth_date(),
            n / 3
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
        persons.push(id);
    }
    p.flush()?;
    e.flush()?;

    let mut c = std::io::BufWriter::new(std::fs::File::create(out.join("claims.csv"))?);
    writeln!(c, "{}", crate::import::CLAIM_COLUMNS.join(","))?;
    for i in 0..sizes.claims {
        let person = &persons[rng.random_range(0..persons.len())];
        let (facility, level) = &facilities[rng.random_range(0..facilities.len())];
        let family = ["out_of_region", "trauma", "unreferred_transfer"][rng.random_range(0..3)];
        // Log-normal-ish costs: most stays a few thousand yuan, a long tail to ~200,000.
        let base = match *level {
            "township" => 2_000,
            "county" => 6_000,
            _ => 15_000,
        };
        let tail: f64 = rng.random_range(0.0f64..1.0).powi(6) * 20.0;
        let total_fen =
            (base as f64 * (0.5 + rng.random_range(0.0..1.5) + tail) * 100.0).round() as i64;
        let scope_fen = total_fen * rng.random_range(70..=95) / 100;
        let self_paid = total_fen * rng.random_range(0..=10) / 100;
        let month = rng.random_range(1..=11);
        let day = rng.random_range(1..=20);
        let stay = rng.random_range(1..=8);
        let diagnosis = match family {
            "trauma" => "S72.001",
            "out_of_region" => "I21.9",
            _ => "K35.8",
        };
        let filed = family == "out_of_region" && rng.random_range(0..3) > 0;
        let emergency = family != "trauma" && !filed && rng.random_range(0..2) == 0;
        let fen = |v: i64| format!("{}.{:02}", v / 100, v % 100);
        write!(
            c,
            "{person},{family},inpatient,{facility},2019-{month:02}-{day:02},2019-{month:02}-{:02},{diagnosis},GEN{seed}-{i:08},{},{},{},{filed},false,false,false,",
            day + stay,
            fen(total_fen),
            fen(scope_fen),
            fen(self_paid),
        )?;
        if emergency {
            writeln!(
                c,
                ",2019-{month:02}-{day:02} 21:00,外地,急症,证人{i},1380000{:04}",
                i % 10_000
            )?;
        } else {
            writeln!(c, ",,,,,")?;
        }
    }
    c.flush()?;
    Ok(())
}
