//! Planted patterns of what a claim says (diagnoses that do not fit, medicine, lengths and
//! costs against peers, round totals) and of facilities and doctors.
use super::{d, group_of, Planter, Want};
use crate::cli::gen::{cost_around, level_base, GROUPS};
use chrono::Days;
use rand::Rng;

pub(super) fn diagnoses(p: &mut Planter<'_>, k: usize) {
    let facilities = p.facilities;
    let i = p.pick("county", k + 3);
    let fac = &facilities[i];
    let day = p.some_day();
    // Not a trauma group: these stays change their diagnosis, which trauma must not.
    let g = GROUPS[5 + k % 6];

    // Discharge medicine beyond the limit (acute or chronic).
    let a = p.anyone();
    let mut over = p.stay(a, fac, g, day);
    over.chronic = k % 2 == 1;
    over.medicine_days = if over.chronic {
        8 + (k as u32 * 5) % 20
    } else {
        4 + (k as u32 * 3) % 10
    };
    p.fraud("discharge_medicine", over);
    let b = p.anyone();
    let mut within = p.stay(b, fac, g, day);
    within.chronic = k % 2 == 0;
    within.medicine_days = if within.chronic { 7 } else { 3 };
    p.near_miss("discharge_medicine", within);

    // A diagnosis that does not fit the person: sex, or age.
    let (want, dx) = match k % 3 {
        0 => (
            Want {
                sex: Some('M'),
                ..Want::default()
            },
            "O80.0",
        ),
        1 => (
            Want {
                sex: Some('F'),
                ..Want::default()
            },
            "N40",
        ),
        _ => (
            Want {
                ages: Some((5, 30)),
                ..Want::default()
            },
            "H25.9",
        ),
    };
    let c = p.person(&want);
    let mut odd = p.stay(c, fac, g, day);
    odd.diagnosis = dx;
    if dx == "O80.0" {
        odd.encounter = "maternity";
    }
    p.fraud("restricted_diagnosis", odd);
    let (want, dx) = match k % 2 {
        0 => (
            Want {
                sex: Some('F'),
                ages: Some((22, 38)),
                ..Want::default()
            },
            "O80.0",
        ),
        _ => (
            Want {
                sex: Some('M'),
                ages: Some((55, 75)),
                ..Want::default()
            },
            "N40",
        ),
    };
    let e = p.person(&want);
    let mut fits = p.stay(e, fac, g, day);
    fits.diagnosis = dx;
    if dx == "O80.0" {
        fits.encounter = "maternity";
    }
    p.near_miss("restricted_diagnosis", fits);

    // Trauma with a liable third party, and trauma whose diagnosis is no injury.
    let trauma = group_of("S82.201");
    let f = p.anyone();
    let mut liable = p.stay(f, fac, trauma, day);
    liable.third_party_liable = true;
    p.fraud("trauma_liable_party", liable);
    let h = p.anyone();
    let clean = p.stay(h, fac, trauma, day);
    p.near_miss("trauma_liable_party", clean);
    let m = p.anyone();
    let mut not_injury = p.stay(m, fac, trauma, day);
    not_injury.diagnosis = ["J18.9", "K35.8", "I21.9"][k % 3];
    p.fraud("trauma_diagnosis_mismatch", not_injury);
    let n = p.anyone();
    let mut injury = p.stay(n, fac, trauma, day);
    injury.diagnosis = ["T14.0", "S06.001", "S42.201"][k % 3];
    p.near_miss("trauma_diagnosis_mismatch", injury);

    // Maternity with a diagnosis of neither pregnancy nor delivery.
    let mothers = Want {
        sex: Some('F'),
        ages: Some((22, 38)),
        ..Want::default()
    };
    let q = p.person(&mothers);
    let mut birth = p.stay(q, fac, g, day);
    birth.encounter = "maternity";
    birth.diagnosis = ["J18.9", "K35.8", "N20.0"][k % 3];
    p.fraud("maternity_diagnosis_mismatch", birth);
    let r = p.person(&mothers);
    let mut real = p.stay(r, fac, g, day);
    real.encounter = "maternity";
    real.diagnosis = ["O80.0", "Z34.0", "O82.0"][k % 3];
    p.near_miss("maternity_diagnosis_mismatch", real);

    // Paid as a special outpatient disease that is not the diagnosis.
    let s = p.anyone();
    let mut visit = p.stay(s, fac, g, day);
    visit.encounter = "special_outpatient";
    visit.nights(0);
    visit.total_fen /= 4;
    visit.special_disease = Some(["dialysis", "lupus", "haemophilia"][k % 3]);
    visit.diagnosis = ["J06.9", "K29.7", "M54.5"][k % 3];
    p.fraud("special_disease_diagnosis", visit.clone());
    let t = p.anyone();
    visit.person = t;
    visit.invoice = p.invoice("D");
    visit.diagnosis = ["N18.5", "M32.1", "D66"][k % 3];
    p.near_miss("special_disease_diagnosis", visit);

    // Admitted for what outpatients are treated for; the same seen as an outpatient.
    let u = p.anyone();
    let mut low = p.stay(u, fac, g, day);
    low.diagnosis = ["J06.9", "K29.7", "I10"][k % 3];
    low.nights(3 + k as u64 % 3);
    p.fraud("low_standard_admission", low.clone());
    let v = p.anyone();
    low.person = v;
    low.invoice = p.invoice("E");
    low.encounter = "outpatient";
    low.nights(0);
    low.total_fen /= 5;
    p.near_miss("low_standard_admission", low);
}

pub(super) fn lengths_and_costs(p: &mut Planter<'_>, k: usize) {
    let facilities = p.facilities;
    let i = p.pick("county", k + 4);
    let city = p.pick("city", k);
    let township = p.pick("township", k + 3);
    let fac = &facilities[i];
    let day = d(2019, 4, 1) + Days::new(p.rng.random_range(0..60));

    // Very long stays (also far longer than peers); a psychosis needs one.
    let a = p.anyone();
    let mut long = p.stay(a, fac, group_of("J44.1"), day);
    long.nights(61 + (k as u64 * 13) % 60);
    p.fraud("long_stay", long.clone());
    p.note("los_outlier", &long, true);
    let b = p.anyone();
    let mut psychosis = p.stay(b, fac, group_of("J44.1"), day);
    psychosis.diagnosis = "F20.0";
    psychosis.nights(90);
    p.near_miss("long_stay", psychosis);

    // Stays four to six times as long as their peers', under the long-stay limit.
    let g = GROUPS[k % GROUPS.len()];
    let c = p.anyone();
    let mut slow = p.stay(c, fac, g, day);
    slow.nights(((g.days * (4.0 + (k % 3) as f64)).round() as u64).min(58));
    p.fraud("los_outlier", slow);
    let e = p.anyone();
    let mut longer = p.stay(e, fac, g, day);
    longer.nights((g.days * 1.8).round() as u64);
    p.near_miss("los_outlier", longer);

    // Costs four to ten times their peers' at the same level.
    let f = p.anyone();
    let mut dear = p.stay(f, fac, g, day);
    dear.total_fen = cost_around(
        level_base(fac.level) * g.cost * (4.0 + (k % 7) as f64),
        p.rng,
    );
    p.fraud("cost_outlier", dear);
    // Near misses: a cancer stay paid as the special disease, at five times the group's
    // cost; and at a city hospital, what would be four times a township's.
    let h = p.anyone();
    let cancer = group_of("C18.9");
    let mut treated = p.stay(h, fac, cancer, day);
    treated.special_disease = Some("cancer");
    treated.total_fen = cost_around(level_base(fac.level) * cancer.cost * 5.0, p.rng);
    p.near_miss("cost_outlier", treated);
    let m = p.anyone();
    let mut city_stay = p.stay(m, &facilities[city], g, day);
    city_stay.total_fen = cost_around(level_base("township") * g.cost * 4.0, p.rng);
    p.near_miss("cost_outlier", city_stay);

    // Round totals: exact thousands of yuan.
    let n = p.anyone();
    let mut round = p.stay(n, &facilities[township], g, day);
    round.total_fen = (round.total_fen / 100_000).max(5) * 100_000;
    p.fraud("round_total", round);
    let q = p.anyone();
    let mut whole = p.stay(q, fac, g, day);
    whole.total_fen = (whole.total_fen / 100 * 100).max(500_000) + 12_300;
    p.near_miss("round_total", whole);
}

/// The facility and doctor patterns: the outlier facility (clean claims go there, billed at
/// twice its peers), a facility admitting on weekends, an expensive doctor; with a
/// look-alike of each.
pub(super) fn subjects(p: &mut Planter<'_>) {
    let special = p.special;
    let facilities = p.facilities;
    // The outlier facility's doctors bill what it bills: the facility rule's, not theirs.
    p.subject("facility_outlier", &special.outlier, "", true);
    let near = p.reserved(&special.near_outlier);
    for n in 0..25 {
        let a = p.anyone();
        let g = p.random_group();
        let day = p.some_day();
        let mut stay = p.stay(a, &facilities[near], g, day);
        p.mix_outpatients(&mut stay, n);
        p.background(stay);
    }
    p.subject("facility_outlier", &special.near_outlier, "", false);

    // Weekend admissions: three in four, and (the look-alike) a little over a third.
    for (code, share, fraud) in [
        (&special.weekend, 75, true),
        (&special.weekend_near, 36, false),
    ] {
        let i = p.reserved(code);
        for n in 0..40 {
            let a = p.anyone();
            let g = p.random_group();
            // Weekends of June to August 2019 (no make-up working days then), or a
            // Tuesday to Thursday.
            let week = d(2019, 6, 10) + Days::new(7 * (n as u64 % 12));
            let day = if n * 100 < share * 40 {
                week + Days::new(5 + n as u64 % 2)
            } else {
                week + Days::new(1 + n as u64 % 3)
            };
            let mut stay = p.stay(a, &facilities[i], g, day);
            p.mix_outpatients(&mut stay, n);
            p.background(stay);
        }
        p.subject("weekend_admission_spike", code, "", fraud);
    }

    // A doctor whose stays cost twice and more what the same diagnoses cost at that level,
    // and one a third above: at the same county hospital.
    let i = p.pick("county", 5);
    for (doctor, factor, fraud) in [
        (format!("DX{}-1", p.seed), 2.2, true),
        (format!("DN{}-1", p.seed), 1.3, false),
    ] {
        for n in 0..25 {
            let a = p.anyone();
            let g = p.random_group();
            let day = p.some_day();
            let mut stay = p.stay(a, &facilities[i], g, day);
            p.mix_outpatients(&mut stay, n);
            stay.total_fen = cost_around(
                level_base("county") * g.cost * facilities[i].cost_factor * factor,
                p.rng,
            );
            stay.doctor = Some(doctor.clone());
            p.background(stay);
        }
        p.subject("doctor_outlier", "", &doctor, fraud);
    }
}
