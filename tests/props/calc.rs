//! The benefit calculator: `claimflow calc` reproduces every hand-worked example, policy
//! files are checked with line numbers, and payouts obey the caps in any order.
use claimflow::domain::eligibility::{Channel, Enrolment, SPECIAL_GROUPS};
use claimflow::domain::policy::{
    calculate, calculate_amounts, load_policy, stay_terms, CalcRequest, GroupCap, Policy,
    YearToDate,
};
use proptest::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn policy(name: &str) -> Policy {
    let path = root().join(format!("policies/{name}.toml"));
    load_policy(name, &std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn calc_reproduces_every_hand_worked_example() {
    let dir = root().join("policies/examples");
    let mut count = 0;
    let mut policies_seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".json")
            || name.ends_with(".expected.json")
            || name.ends_with(".stay.json")
        {
            continue;
        }
        let expected_path = dir.join(name.replace(".json", ".expected.json"));
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
        let policy = expected["policy"].as_str().unwrap();
        policies_seen.insert(policy.to_string());
        let out = Command::new(env!("CARGO_BIN_EXE_claimflow"))
            .args([
                "calc",
                "--policy",
                &format!("policies/{policy}.toml"),
                "--request",
            ])
            .arg(&path)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            got["payable_fen"], expected["payable_fen"],
            "{name}: {}",
            expected["why"]
        );
        let steps: Vec<Value> = got["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| serde_json::json!({"code": s["code"], "amount_fen": s["amount_fen"]}))
            .collect();
        assert_eq!(Value::Array(steps), expected["steps"], "{name}");
        assert_eq!(got["ytd_after"], expected["ytd_after"], "{name}");
        assert_eq!(got["bill"], expected["bill"], "{name}: {}", expected["why"]);
        for step in got["steps"].as_array().unwrap() {
            assert!(
                !step["zh"].as_str().unwrap().is_empty()
                    && !step["en"].as_str().unwrap().is_empty()
                    && !step["key"].as_str().unwrap().is_empty()
            );
        }
        count += 1;
    }
    assert!(count >= 27, "at least 27 worked examples, found {count}");
    assert_eq!(policies_seen.len(), 3, "every policy file is covered");
}

/// `serve` warns of a schedule with no policy today: 平阳 has 2019 and 2026, 重庆 runs to 2030.
#[test]
fn schedules_without_a_policy_on_a_day_are_named() {
    let policies = both();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert_eq!(
        claimflow::domain::policy::schedules_without_policy(&policies, day("2026-06-01")),
        Vec::<(&str, &str)>::new()
    );
    assert_eq!(
        claimflow::domain::policy::schedules_without_policy(&policies, day("2027-01-01")),
        vec![("pingyang", "330326")]
    );
}

fn date(v: &Value) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

/// Stay examples: which policy a stay is priced under and which coverage year its totals
/// count in, worked out by hand in `why`.
#[test]
fn stay_examples_pick_the_policy_and_the_coverage_year() {
    let policies: Vec<Policy> = ["pingyang-2019", "pingyang-2026", "chongqing-level1"]
        .into_iter()
        .map(policy)
        .collect();
    let dir = root().join("policies/examples");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".stay.json") {
            continue;
        }
        let stay: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(name.replace(".stay.json", ".stay.expected.json")))
                .unwrap(),
        )
        .unwrap();
        let enrolments: Vec<Enrolment> = stay["enrolments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| Enrolment {
                id: e["id"].as_i64().unwrap(),
                period_start: date(&e["period_start"]),
                period_end: date(&e["period_end"]),
                enrolled_on: date(&e["period_start"]),
                channel: Channel::Central,
                tier: 1,
                special_groups: serde_json::from_value(e["special_groups"].clone()).unwrap(),
                coverage_year: e["coverage_year"].as_i64().unwrap() as i32,
                disabled_grade: e["disabled_grade"].as_i64().map(|g| g as i32),
            })
            .collect();
        let terms = stay_terms(
            &policies,
            stay["region_path"].as_str().unwrap(),
            &enrolments,
            stay["admitted_under"].as_i64(),
            date(&stay["admission"]),
            date(&stay["discharge"]),
        );
        let got = serde_json::json!({
            "policy": terms.as_ref().map(|t| t.policy.name.clone()),
            "schedule": terms.as_ref().map(|t| t.policy.schedule.clone()),
            "coverage_year": terms.as_ref().map(|t| t.coverage_year),
            "groups": terms.as_ref().map_or(vec![], |t| t.groups.clone()),
        });
        for key in ["policy", "schedule", "coverage_year", "groups"] {
            assert_eq!(got[key], expected[key], "{name} {key}: {}", expected["why"]);
        }
        count += 1;
    }
    assert!(count >= 5, "at least five stay examples, found {count}");
}

#[test]
fn calc_refuses_bad_requests_with_the_field() {
    let p = policy("pingyang-2019");
    let base: CalcRequest = serde_json::from_str(r#"{"encounter_kind":"inpatient","facility_category":"county","total_fen":100,"policy_scope_fen":100}"#).unwrap();
    let err = calculate(
        &p,
        &CalcRequest {
            policy_scope_fen: 200,
            ..base.clone()
        },
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("policy_scope_fen:"), "{err}");
    let err = calculate(
        &p,
        &CalcRequest {
            facility_category: "moon".into(),
            ..base.clone()
        },
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("facility_category:"), "{err}");
    let err = calculate(
        &p,
        &CalcRequest {
            total_fen: -1,
            ..base
        },
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("total_fen:"), "{err}");
}

#[test]
fn policy_files_are_checked_with_line_numbers() {
    let good = std::fs::read_to_string(root().join("policies/pingyang-2019.toml")).unwrap();
    let line = good
        .lines()
        .position(|l| l.contains("id = \"county\""))
        .unwrap()
        + 1;
    let errors = load_policy(
        "p.toml",
        &good.replace("ratio = \"0.70\"", "ratio = \"1.70\""),
    )
    .unwrap_err();
    assert_eq!(
        (
            errors[0].line,
            errors[0].message.contains("between 0 and 1")
        ),
        (line, true),
        "{errors:?}"
    );
    let errors = load_policy(
        "p.toml",
        &good.replace("deductible = \"900.00\"", "deductible = \"9.001\""),
    )
    .unwrap_err();
    assert!(errors[0].message.contains("not an amount"), "{errors:?}");
    let errors = load_policy(
        "p.toml",
        &good.replace("valid_to = \"2019-12-31\"", "valid_to = \"2018-12-31\""),
    )
    .unwrap_err();
    assert!(
        errors[0].message.contains("before valid_from"),
        "{errors:?}"
    );
    let errors = load_policy(
        "p.toml",
        &good.replace("[maternity]", "[maternity]\ncolour = 1"),
    )
    .unwrap_err();
    assert!(errors[0].message.contains("colour"), "{errors:?}");
    // `claimflow check` covers policies too.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-policy.toml");
    std::fs::write(
        &bad,
        good.replace("\"0.40\", outside", "\"forty\", outside"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_claimflow"))
        .arg("check")
        .arg(&bad)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad-policy.toml:"),
        "{out:?}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_claimflow"))
        .arg("check")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).contains("policy pingyang-2019")
    );
}

fn request() -> impl Strategy<Value = CalcRequest> {
    let kinds = prop::sample::select(vec![
        "inpatient",
        "outpatient",
        "special_outpatient",
        "maternity",
    ]);
    let cats = prop::sample::select(vec!["township", "county", "in_city", "out_of_city"]);
    let family = prop::sample::select(vec![
        None,
        Some("trauma"),
        Some("out_of_region"),
        Some("unreferred_transfer"),
    ]);
    let item = prop::sample::select(vec![
        None,
        None,
        None,
        Some("senile_cataract"),
        Some("children_two_diseases"),
    ]);
    (
        kinds,
        cats,
        family,
        item,
        0i64..30_000_000,
        0i64..=100,
        any::<[bool; 7]>(),
        1u8..=2,
        0u32..80,
        any::<[bool; 6]>(),
    )
        .prop_map(
            |(kind, cat, family, item, total, scope_pct, flags, tier, age, in_group)| CalcRequest {
                family: family.map(String::from),
                encounter_kind: kind.into(),
                facility_category: cat.into(),
                facility_code: flags[6].then(|| "H330300002".into()),
                tier,
                total_fen: total,
                policy_scope_fen: total * scope_pct / 100,
                filed: flags[0],
                referral: flags[1],
                emergency: flags[2],
                special_disease: flags[3].then(|| "dialysis".into()),
                maternity_high_risk: flags[4],
                settled_in_real_time: flags[5],
                primary_referral: flags[0] && flags[5],
                trauma_approval_form: flags[3],
                item: item.map(String::from),
                units: 1 + (age % 2),
                age: Some(age),
                ytd: YearToDate::default(),
                groups: SPECIAL_GROUPS
                    .iter()
                    .zip(in_group)
                    .filter(|(_, member)| *member)
                    .map(|(g, _)| g.to_string())
                    .collect(),
            },
        )
}

fn both() -> [Policy; 3] {
    [
        policy("pingyang-2019"),
        policy("pingyang-2026"),
        policy("chongqing-level1"),
    ]
}

/// The most any layer-2 rule open to these groups may pay in a year; `None` when one is
/// uncapped.
fn catastrophic_ceiling(p: &Policy, groups: &[String]) -> Option<i64> {
    let rule = p.catastrophic.as_ref()?;
    let mut ceiling = rule.annual_cap.map(|c| c.0)?;
    for g in p.groups.iter().filter(|g| groups.contains(&g.id)) {
        match g.catastrophic.as_ref().map(|c| c.cap) {
            Some(GroupCap::Uncapped) => return None,
            Some(GroupCap::Own(f)) => ceiling = ceiling.max(f.0),
            _ => {}
        }
    }
    Some(ceiling)
}

/// A request naming an item the policy does not have is refused (tested above); the
/// properties are about requests the policy can price.
fn priceable(p: &Policy, req: &CalcRequest) -> bool {
    req.item.as_ref().is_none_or(|i| {
        p.fixed_items.iter().any(|x| &x.code == i) || p.ratio_items.iter().any(|x| &x.code == i)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn payout_never_exceeds_the_policy_scope_cost(req in request()) {
        for p in both().into_iter().filter(|p| priceable(p, &req)) {
            let b = calculate(&p, &req).unwrap();
            prop_assert!(b.payable_fen >= 0 && b.payable_fen <= req.policy_scope_fen, "{} paid {} of {}", p.name, b.payable_fen, req.policy_scope_fen);
        }
    }

    #[test]
    fn the_layers_add_up_to_the_total_and_never_pay_more(req in request()) {
        for p in both().into_iter().filter(|p| priceable(p, &req)) {
            let b = calculate(&p, &req).unwrap();
            let bill = &b.bill;
            let parts = [bill.fund_fen, bill.catastrophic_fen, bill.assistance_fen, bill.self_pay_fen];
            prop_assert!(parts.iter().all(|x| *x >= 0), "{}: {bill:?}", p.name);
            prop_assert_eq!(parts.iter().sum::<i64>(), req.total_fen, "{}: {:?}", p.name, bill);
            prop_assert!(bill.reimbursed_fen() <= req.policy_scope_fen, "{}: {:?}", p.name, bill);
            prop_assert_eq!(bill.fund_fen, b.payable_fen);
            prop_assert_eq!(b.steps.last().map(|s| s.code.as_str()), Some("bill"));
        }
    }

    #[test]
    fn the_replay_calculation_equals_the_explained_one_but_for_the_texts(req in request()) {
        for p in both().into_iter().filter(|p| priceable(p, &req)) {
            let explained = calculate(&p, &req).unwrap();
            let amounts = calculate_amounts(&p, &req).unwrap();
            prop_assert!(explained.steps.iter().all(|s| !s.zh.is_empty() && !s.en.is_empty()));
            prop_assert!(amounts.steps.iter().all(|s| s.zh.is_empty() && s.en.is_empty()));
            let mut without_texts = explained.clone();
            for s in &mut without_texts.steps {
                s.zh.clear();
                s.en.clear();
            }
            prop_assert_eq!(amounts, without_texts);
        }
    }

    #[test]
    fn more_cost_never_means_less_payout(req in request(), extra in 0i64..5_000_000) {
        for p in both().into_iter().filter(|p| priceable(p, &req)) {
            let less = calculate(&p, &req).unwrap();
            let more_req = CalcRequest { total_fen: req.total_fen + extra, policy_scope_fen: req.policy_scope_fen + extra, ..req.clone() };
            let more = calculate(&p, &more_req).unwrap();
            prop_assert!(more.payable_fen >= less.payable_fen, "{}: {} -> {} when cost rose by {extra}", p.name, less.payable_fen, more.payable_fen);
        }
    }

    #[test]
    fn a_year_of_claims_never_exceeds_any_cap_in_any_order(mut year in prop::collection::vec(request(), 1..25), seed in any::<u64>()) {
        // Any order: shuffle deterministically by the seed.
        let n = year.len();
        for i in (1..n).rev() {
            year.swap(i, (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize);
        }
        for p in both() {
            let mut ytd = YearToDate::default();
            let mut paid = 0i64;
            // One person: the groups of the year's first claim hold for the whole year.
            let groups = year[0].groups.clone();
            let (mut catastrophic, mut assistance) = (0i64, 0i64);
            for req in year.iter().filter(|r| priceable(&p, r)) {
                let b = calculate(&p, &CalcRequest { ytd, groups: groups.clone(), ..req.clone() }).unwrap();
                catastrophic += b.bill.catastrophic_fen;
                assistance += b.bill.assistance_fen;
                prop_assert_eq!(b.ytd_after.catastrophic_paid_fen, catastrophic);
                prop_assert_eq!(b.ytd_after.assistance_paid_fen, assistance);
                paid += b.payable_fen;
                ytd = b.ytd_after;
                prop_assert_eq!(ytd.paid_fen, paid);
            }
            if let Some((_, max)) = p.inpatient.over_limit {
                prop_assert!(ytd.over_limit_paid_fen <= max.0);
            }
            if let Some(ceiling) = catastrophic_ceiling(&p, &groups) {
                prop_assert!(catastrophic <= ceiling, "{}: catastrophic {catastrophic} above {ceiling}", p.name);
            }
            let assistance_ceiling = p.groups.iter().filter(|g| groups.contains(&g.id)).filter_map(|g| g.assistance.as_ref()).map(|a| a.annual_cap.0).max().unwrap_or(0);
            prop_assert!(assistance <= assistance_ceiling, "{}: assistance {assistance} above {assistance_ceiling}", p.name);
            if let Some(limit) = p.inpatient.annual_scope_limit {
                prop_assert!(ytd.scope_fen <= limit.0);
            }
            if let Some(op) = &p.outpatient {
                prop_assert!(ytd.outpatient_paid_fen <= op.annual_max.0);
            }
            if let Some((t1, t2)) = p.inpatient.annual_payout_max {
                prop_assert!(paid <= t1.0.max(t2.0));
                if year.iter().filter(|r| priceable(&p, r)).all(|r| r.tier == 1) {
                    prop_assert!(paid <= t1.0);
                }
            }
        }
    }
}

#[test]
fn examples_directory_exists() {
    assert!(Path::new(&root().join("policies/examples")).is_dir());
}
