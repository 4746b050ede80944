//! Planted patterns of a person's claims: invoices, stays, transfers, households, amounts
//! kept under a limit, coverage.
use super::{d, group_of, neighbour, respell, Planter, Want};
use chrono::Days;
use rand::Rng;

/// Pairs of diagnoses of one ICD-10 category.
const SIBLINGS: [(&str, &str); 5] = [
    ("S72.001", "S72.101"),
    ("I63.9", "I63.5"),
    ("K35.8", "K35.2"),
    ("J18.9", "J18.0"),
    ("K80.2", "K80.1"),
];

pub(super) fn invoices(p: &mut Planter<'_>, k: usize) {
    let facilities = p.facilities;
    let fac = &facilities[p.pick("county", k)];
    let other = &facilities[p.pick("county", k + 1)];
    // The same person files an invoice again, retyped, for a stay weeks later.
    let a = p.anyone();
    let g = p.random_group();
    let day = p.some_day();
    let first = p.stay(a, fac, g, day);
    let original = first.invoice.clone();
    p.background(first);
    let mut again = p.stay(
        a,
        if k % 2 == 0 { fac } else { other },
        g,
        day + Days::new(40),
    );
    again.invoice = respell(&original, k);
    p.fraud("duplicate_invoice", again);
    // Near miss: the next invoice of the pad, for a real second stay.
    let mut next = p.stay(a, fac, g, day + Days::new(80));
    next.invoice = neighbour(&original);
    p.near_miss("duplicate_invoice", next);

    // Another person files the same invoice (retyped or not).
    let victim = p.anyone();
    let day = p.some_day();
    let first = p.stay(victim, fac, g, day);
    let original = first.invoice.clone();
    p.background(first);
    let thief = p.anyone();
    let when = day + Days::new(p.rng.random_range(0..30));
    let mut copy = p.stay(thief, other, g, when);
    copy.invoice = if k % 3 == 0 {
        original.clone()
    } else {
        respell(&original, k + 1)
    };
    p.fraud("invoice_other_person", copy);
    // Near miss: someone else's claim on the neighbouring invoice.
    let neighbour_person = p.anyone();
    let mut honest = p.stay(neighbour_person, fac, g, day + Days::new(3));
    honest.invoice = neighbour(&original);
    p.near_miss("invoice_other_person", honest);
}

pub(super) fn stays(p: &mut Planter<'_>, k: usize) {
    let (i1, i2) = (p.pick("township", k), p.pick("county", k));
    let facilities = p.facilities;
    // Overlapping stays at two facilities: starting inside, contained, or wrapping.
    let a = p.anyone();
    let g = p.random_group();
    let day = p.some_day();
    let mut first = p.stay(a, &facilities[i1], g, day);
    first.nights(8);
    p.background(first);
    let g2 = p.random_group();
    let mut second = p.stay(a, &facilities[i2], g2, day);
    match k % 3 {
        0 => {
            second.admission = day + Days::new(3);
            second.nights(7);
        }
        1 => {
            second.admission = day + Days::new(2);
            second.nights(3);
        }
        _ => {
            second.admission = day - Days::new(2);
            second.nights(5);
        }
    }
    p.fraud("overlapping_stay", second);
    // Near miss: a same-day transfer with a referral.
    let b = p.anyone();
    let day = p.some_day();
    let first = p.stay(b, &facilities[i1], g, day);
    let handover = first.discharge;
    p.background(first);
    let mut transfer = p.stay(b, &facilities[i2], g, handover);
    transfer.referral = true;
    p.near_miss("overlapping_stay", transfer);

    // The same stay claimed twice at the same facility under another invoice.
    let c = p.anyone();
    let day = p.some_day();
    let first = p.stay(c, &facilities[i2], g, day);
    let mut copy = first.clone();
    p.background(first);
    copy.invoice = p.invoice("B");
    copy.total_fen += p.rng.random_range(-5_000..5_000);
    p.fraud("identical_stay", copy);
    // Near miss: a stay of the same length at the same facility six weeks later.
    let e = p.anyone();
    let day = p.some_day();
    let first = p.stay(e, &facilities[i2], g, day);
    let mut later = first.clone();
    p.background(first);
    let length = later.discharge - later.admission;
    later.admission = day + Days::new(42);
    later.discharge = later.admission + length;
    later.invoice = p.invoice("C");
    p.near_miss("identical_stay", later);

    // Readmission at the same facility within 15 days, the gap varied.
    let r = p.anyone();
    let day = p.some_day();
    let first = p.stay(r, &facilities[i2], g, day);
    let out = first.discharge;
    p.background(first);
    let gap = [1, 4, 8, 11, 14, 0][k % 6];
    let g2 = p.random_group();
    let back = p.stay(r, &facilities[i2], g2, out + Days::new(gap));
    p.fraud("readmission", back);
    // Near miss: back 16 to 30 days after discharge.
    let s = p.anyone();
    let day = p.some_day();
    let first = p.stay(s, &facilities[i2], g, day);
    let out = first.discharge;
    p.background(first);
    let later = p.stay(
        s,
        &facilities[i2],
        g,
        out + Days::new(16 + (k as u64 * 3) % 15),
    );
    p.near_miss("readmission", later);
}

pub(super) fn split_and_short(p: &mut Planter<'_>, k: usize) {
    let facilities = p.facilities;
    let i1 = p.pick("county", k);
    let i2 = p.pick("city", k);
    let i3 = p.pick("township", k + 2);
    let (first_dx, second_dx) = SIBLINGS[k % SIBLINGS.len()];
    // A stay split across two facilities: the same category, no referral, gap varied.
    let a = p.anyone();
    let day = p.some_day();
    let first = p.stay(a, &facilities[i1], group_of(first_dx), day);
    let out = first.discharge;
    p.background(first);
    let gap = [0, 1, 3, 7, 12, 14][k % 6];
    let mut second = p.stay(a, &facilities[i2], group_of(first_dx), out + Days::new(gap));
    second.diagnosis = second_dx;
    // Filed as an ordinary stay: a claim filed as a transfer without referral declares it.
    if second.family == "unreferred_transfer" {
        second.family = "out_of_region";
    }
    p.fraud("split_stay_elsewhere", second);
    // Near misses: a transfer with a referral, an emergency, an unrelated diagnosis, and a
    // second stay just outside the window.
    for variant in 0..4 {
        let b = p.anyone();
        let day = p.some_day();
        let first = p.stay(b, &facilities[i1], group_of(first_dx), day);
        let out = first.discharge;
        p.background(first);
        let variant = (variant + k) % 4;
        // The unrelated diagnosis is a stay of its own group, of its own length.
        let unrelated = group_of(if first_dx.starts_with('S') {
            "J18.9"
        } else {
            "S52.501"
        });
        let g = if variant == 2 {
            unrelated
        } else {
            group_of(first_dx)
        };
        let mut second = p.stay(b, &facilities[i2], g, out + Days::new(1));
        if variant != 2 {
            second.diagnosis = second_dx;
        }
        match variant {
            0 => second.referral = true,
            1 => second.emergency = true,
            2 => {}
            _ => {
                second.admission = out + Days::new(16 + k as u64 % 10);
                second.nights(4);
            }
        }
        if second.family == "unreferred_transfer" {
            second.family = "out_of_region";
        }
        p.near_miss("split_stay_elsewhere", second);
    }

    // Frequent short stays at one facility: three to five of one or two nights, spaced
    // 16 to 25 days (outside the readmission window); each from the third is charged.
    let s = p.anyone();
    let g = p.random_group();
    let mut day = d(2019, 4, 1) + Days::new(p.rng.random_range(0..100));
    for n in 0..3 + k % 3 {
        let mut short = p.stay(s, &facilities[i3], g, day);
        short.nights(1 + (n as u64 + k as u64) % 2);
        short.total_fen /= 2;
        day = short.discharge + Days::new(16 + p.rng.random_range(0..8));
        if n >= 2 {
            p.fraud("frequent_short_stays", short);
        } else {
            p.background(short);
        }
    }
    // Near miss: three short stays spread over more than the window.
    let t = p.anyone();
    let mut day = d(2019, 2, 1) + Days::new(p.rng.random_range(0..20));
    for n in 0..3 {
        let mut short = p.stay(t, &facilities[i3], g, day);
        short.nights(1);
        short.total_fen /= 2;
        day = short.discharge + Days::new(55 + p.rng.random_range(0..10));
        if n == 2 {
            p.near_miss("frequent_short_stays", short);
        } else {
            p.background(short);
        }
    }
}

pub(super) fn household(p: &mut Planter<'_>, k: usize) {
    let facilities = p.facilities;
    let i = p.pick("township", k + 1);
    // Three or four of one household admitted to one facility within a few days; each
    // claim from the third is charged.
    let home = format!("H{}-{k}", p.seed);
    let members = 3 + k % 2;
    let day = p.some_day();
    for m in 0..members {
        let want = Want {
            household: Some(home.clone()),
            ..Want::default()
        };
        let who = p.person(&want);
        let g = p.random_group();
        let stay = p.stay(
            who,
            &facilities[i],
            g,
            day + Days::new(m as u64 * (1 + k as u64 % 2)),
        );
        if m >= 2 {
            p.fraud("household_cluster", stay);
        } else {
            p.background(stay);
        }
    }
    // Near miss: the members two weeks apart.
    let home = format!("N{}-{k}", p.seed);
    let day = p.some_day();
    for m in 0..3 {
        let want = Want {
            household: Some(home.clone()),
            ..Want::default()
        };
        let who = p.person(&want);
        let g = p.random_group();
        let stay = p.stay(who, &facilities[i], g, day + Days::new(m * 14));
        if m == 2 {
            p.near_miss("household_cluster", stay);
        } else {
            p.background(stay);
        }
    }
}

pub(super) fn structuring(p: &mut Planter<'_>, k: usize) {
    let facilities = p.facilities;
    // Against the reviewer's 5,000-yuan limit at county hospitals (a pneumonia costs about
    // that there), or the sign-off's 20,000 at city hospitals.
    let (level, limit, dx) = if k % 2 == 0 {
        ("county", 500_000, "J18.9")
    } else {
        ("city", 2_000_000, "I50.0")
    };
    let picks: Vec<usize> = (0..4).map(|j| p.pick(level, k + j)).collect();
    let under = |p: &mut Planter<'_>| limit - p.rng.random_range(100..limit / 25);
    let a = p.anyone();
    let mut day = d(2019, 3, 1) + Days::new(p.rng.random_range(0..30));
    for n in 0..3 + k % 2 {
        let mut claim = p.stay(a, &facilities[picks[n]], group_of(dx), day);
        claim.total_fen = under(p);
        day = claim.discharge + Days::new(30 + p.rng.random_range(0..20));
        if n >= 2 {
            p.fraud("structuring", claim);
        } else {
            p.background(claim);
        }
    }
    // Near misses: one claim just under the limit; three, each half a year apart.
    let b = p.anyone();
    let day = p.some_day();
    let mut once = p.stay(b, &facilities[picks[0]], group_of(dx), day);
    once.total_fen = under(p);
    p.near_miss("structuring", once);
    let c = p.anyone();
    for (n, day) in [d(2019, 1, 8), d(2019, 7, 20), d(2019, 12, 28)]
        .into_iter()
        .enumerate()
    {
        let mut claim = p.stay(c, &facilities[picks[n]], group_of(dx), day);
        claim.total_fen = under(p);
        claim.nights(2);
        if n == 2 {
            p.near_miss("structuring", claim);
        } else {
            p.background(claim);
        }
    }
}

pub(super) fn coverage(p: &mut Planter<'_>, k: usize) {
    let facilities = p.facilities;
    let i = p.pick("county", k + 2);
    let late = p.reserved(&p.special.late);
    let g = p.random_group();
    // Care before the facility's designation (1 July): intake refuses it, so the row shows
    // the control at import and never reaches the backtest.
    let a = p.anyone();
    let day = d(2019, 6, 1) + Days::new(p.rng.random_range(0..25));
    let stay = p.stay(a, &facilities[late], g, day);
    p.fraud("facility_not_designated", stay);
    // Near miss: admitted on the day the designation began.
    let b = p.anyone();
    let stay = p.stay(b, &facilities[late], g, d(2019, 7, 1));
    p.near_miss("facility_not_designated", stay);

    // Care after death, or in a year without enrolment.
    // Offsets wrap (`k % …`): at a million claims k runs to 1,000, and a death or a stay
    // that drifted past the year would no longer be the case it is labelled as.
    if k % 2 == 0 {
        let death = d(2019, 2, 1) + Days::new((k % 120) as u64);
        let want = Want {
            death: Some(death),
            ..Want::default()
        };
        let dead = p.person(&want);
        let day = death + Days::new(p.rng.random_range(10..100));
        let stay = p.stay(dead, &facilities[i], g, day);
        p.fraud("outside_coverage", stay);
    } else {
        let c = p.anyone();
        let stay = p.stay(
            c,
            &facilities[i],
            g,
            d(2020, 3, 2) + Days::new((k % 90) as u64),
        );
        p.fraud("outside_coverage", stay);
    }
    // Near misses: care late in December; care months before a later death.
    let e = p.anyone();
    let mut stay = p.stay(e, &facilities[i], g, d(2019, 12, 20));
    stay.nights(5);
    p.near_miss("outside_coverage", stay);
    let want = Want {
        death: Some(d(2019, 11, 30)),
        ..Want::default()
    };
    let later = p.person(&want);
    let stay = p.stay(
        later,
        &facilities[i],
        g,
        d(2019, 5, 10) + Days::new((k % 150) as u64),
    );
    p.near_miss("outside_coverage", stay);
}
