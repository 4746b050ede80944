//! Policy what-if (`claimflow whatif`): a draft replayed over the claims on record, on both
//! engines. Amounts below are computed by hand from policies/pingyang-2019.toml (county
//! hospital: 900 yuan deductible, 70 %; annual policy-scope limit 120,000, above it 60 %).
use crate::common::{csrf_of, register_person, trauma_claim, TestApp};
use claimflow::cli::whatif::{run, Args};
use claimflow::core::Core;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

crate::trials!(whatif {
    scenarios: [
        a_draft_identical_to_the_baseline_changes_nothing,
        a_raised_deductible_changes_exactly_the_claims_it_should,
        a_lowered_annual_limit_accumulates_in_service_order,
        the_sweeps_first_point_is_the_single_replay,
        bad_input_is_refused_and_writes_nothing,
        a_supervisor_replays_a_draft_in_the_browser,
    ],
});

const BASELINE: &str = "policies/pingyang-2019.toml";

/// The 2019 schedule with these (key line, replacement) edits, written to `dir`.
fn draft(dir: &Path, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(BASELINE).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    let path = dir.join("draft.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn args(policy: PathBuf, out: PathBuf) -> Args {
    Args {
        policy,
        baseline: None,
        from: "2019-01-01".into(),
        to: "2019-12-31".into(),
        region: None,
        out,
        sweep: None,
    }
}

fn replay(app: &TestApp, args: &Args) -> anyhow::Result<String> {
    let core = Core::open(app.config.clone()).unwrap();
    run(&app.pool, &core.defs, &app.config.policies_dir, args, false)
}

/// claims.csv as rows keyed by claim id.
fn changed_claims(out: &Path) -> HashMap<i64, HashMap<String, String>> {
    let mut r = csv::Reader::from_path(out.join("claims.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let row: HashMap<String, String> = headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect();
            (row["claim_id"].parse().unwrap(), row)
        })
        .collect()
}

/// The `total` row of by_group.csv.
fn total(out: &Path) -> HashMap<String, String> {
    let mut r = csv::Reader::from_path(out.join("by_group.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let rec = r.records().next().unwrap().unwrap();
    assert_eq!(&rec[0], "total");
    headers
        .iter()
        .zip(rec.iter())
        .map(|(h, v)| (h.to_string(), v.to_string()))
        .collect()
}

/// A county-hospital stay of a new resident, `scope` yuan of policy-scope cost.
async fn stay(
    app: &TestApp,
    id_number: &str,
    facility: &str,
    from: &str,
    to: &str,
    scope_fen: i64,
    invoice: &str,
) -> i64 {
    let clerk = app.login("clerk").await;
    let mut body = trauma_claim();
    body["id_number"] = json!(id_number);
    body["facility_code"] = json!(facility);
    body["admission_date"] = json!(from);
    body["discharge_date"] = json!(to);
    body["total_fen"] = json!(scope_fen + 50_000);
    body["policy_scope_fen"] = json!(scope_fen);
    body["invoice_numbers"] = json!([invoice]);
    let (status, res) = app.post(&clerk, "/api/claims", body).await;
    assert_eq!(status, 201, "{res}");
    res["claim_id"].as_i64().unwrap()
}

async fn a_draft_identical_to_the_baseline_changes_nothing(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let summary = replay(&app, &args(draft(dir.path(), &[]), out.clone())).unwrap();
    assert!(changed_claims(&out).is_empty(), "no claim changes");
    let t = total(&out);
    for layer in [
        "basic",
        "catastrophic",
        "assistance",
        "fund_cost",
        "self_pay",
    ] {
        assert_eq!(
            t[&format!("baseline_{layer}_yuan")],
            t[&format!("draft_{layer}_yuan")],
            "{layer}: {t:?}"
        );
    }
    assert_ne!(
        t["baseline_fund_cost_yuan"], "0.00",
        "the demo's claims were replayed: {t:?}"
    );
    assert!(summary.contains("No key differs"), "{summary}");
}

async fn a_raised_deductible_changes_exactly_the_claims_it_should(app: TestApp) {
    let person = register_person(&app, "33032619800606101", "2018-12-01", "central", None).await;
    let county = stay(
        &app,
        &person,
        "H330326010",
        "2019-06-01",
        "2019-06-05",
        1_000_000,
        "WI-1",
    )
    .await;
    let township = stay(
        &app,
        &person,
        "H330326001",
        "2019-08-01",
        "2019-08-05",
        1_000_000,
        "WI-2",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let policy = draft(
        dir.path(),
        &[(
            r#"{ id = "county", deductible = "900.00""#,
            r#"{ id = "county", deductible = "1000.00""#,
        )],
    );
    let summary = replay(&app, &args(policy, out.clone())).unwrap();
    let changed = changed_claims(&out);
    // 10,000 at the county hospital: (10,000 − 900) × 70 % = 6,370 before, (10,000 − 1,000)
    // × 70 % = 6,300 after; the resident pays 70 more.
    let row = &changed[&county];
    assert_eq!(
        (
            row["baseline_basic_yuan"].as_str(),
            row["draft_basic_yuan"].as_str(),
            row["self_pay_change_yuan"].as_str()
        ),
        ("6370.00", "6300.00", "70.00"),
        "{row:?}"
    );
    assert_eq!(row["policy_key"], "inpatient.categories.county.deductible");
    assert!(
        !changed.contains_key(&township),
        "a township stay keeps its deductible"
    );
    // Every other change is a county stay's deductible, or a knock-on: the basic layer the
    // same, the catastrophic layer moved by the out-of-pocket the person's earlier stays now
    // carry towards its threshold.
    for (id, row) in &changed {
        let deductible = row["policy_key"] == "inpatient.categories.county.deductible";
        let knock_on = row["baseline_basic_yuan"] == row["draft_basic_yuan"]
            && row["policy_key"].starts_with("catastrophic.");
        assert!(deductible || knock_on, "claim {id}: {row:?}");
    }
    assert!(
        summary.contains("`inpatient.categories.county.deductible` | 900.00 | 1000.00"),
        "the diff by key: {summary}"
    );
}

async fn a_lowered_annual_limit_accumulates_in_service_order(app: TestApp) {
    let person = register_person(&app, "33032619810707102", "2018-12-01", "central", None).await;
    // Filed July first, then June: the replay goes by service date, not by filing.
    let july = stay(
        &app,
        &person,
        "H330326010",
        "2019-07-01",
        "2019-07-05",
        800_000,
        "WI-7",
    )
    .await;
    let june = stay(
        &app,
        &person,
        "H330326010",
        "2019-06-01",
        "2019-06-05",
        800_000,
        "WI-6",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let policy = draft(
        dir.path(),
        &[(
            r#"annual_scope_limit = "120000.00""#,
            r#"annual_scope_limit = "10000.00""#,
        )],
    );
    replay(&app, &args(policy, out.clone())).unwrap();
    let changed = changed_claims(&out);
    assert!(
        !changed.contains_key(&june),
        "June's 8,000 is within the 10,000 limit"
    );
    // July: 2,000 left within the limit: (2,000 − 900) × 70 % = 770, and 6,000 above it at
    // 60 % = 3,600: 4,370 against (8,000 − 900) × 70 % = 4,970.
    let row = &changed[&july];
    assert_eq!(
        (
            row["baseline_basic_yuan"].as_str(),
            row["draft_basic_yuan"].as_str(),
            row["self_pay_change_yuan"].as_str()
        ),
        ("4970.00", "4370.00", "600.00"),
        "{row:?}"
    );
    assert_eq!(row["policy_key"], "inpatient.annual_scope_limit");
}

async fn the_sweeps_first_point_is_the_single_replay(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single");
    let policy = draft(
        dir.path(),
        &[(
            r#"{ id = "county", deductible = "900.00""#,
            r#"{ id = "county", deductible = "1000.00""#,
        )],
    );
    replay(&app, &args(policy.clone(), single.clone())).unwrap();
    let swept = dir.path().join("swept");
    let mut a = args(policy, swept.clone());
    a.sweep = Some("inpatient.categories.county.deductible=1000..1200/100".into());
    let summary = replay(&app, &a).unwrap();
    let mut r = csv::Reader::from_path(swept.join("sweep.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][0], "1000");
    let t = total(&single);
    assert_eq!(
        rows[0][1], t["draft_fund_cost_yuan"],
        "first point = single replay"
    );
    assert_eq!(rows[0][6], t["draft_ratio_percent"]);
    let cost = |i: usize| rows[i][1].parse::<rust_decimal::Decimal>().unwrap();
    assert!(
        cost(0) >= cost(1) && cost(1) >= cost(2),
        "a higher deductible never costs the fund more"
    );
    let svg = std::fs::read_to_string(swept.join("sweep.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.matches("<polyline").count() == 2,
        "{svg}"
    );
    assert!(summary.contains("![sweep](sweep.svg)"));
}

async fn bad_input_is_refused_and_writes_nothing(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let broken = draft(dir.path(), &[(r#"ratio = "0.70""#, r#"ratio = "seventy""#)]);
    let e = replay(&app, &args(broken, out.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("draft.toml:") && e.contains("claimflow check"),
        "{e}"
    );
    assert!(!out.exists(), "nothing written");

    let good = draft(dir.path(), &[]);
    let mut cases: Vec<(Args, &str)> = Vec::new();
    let mut a = args(good.clone(), out.clone());
    a.from = "2019-12-31".into();
    a.to = "2019-01-01".into();
    cases.push((a, "empty period"));
    let mut a = args(good.clone(), out.clone());
    a.from = "2018-01-01".into();
    a.to = "2018-12-31".into();
    cases.push((a, "no priced claims"));
    let mut a = args(good.clone(), out.clone());
    a.region = Some("999999".into());
    cases.push((a, "unknown region `999999`"));
    let mut a = args(good.clone(), out.clone());
    a.sweep = Some("inpatient.categories.city.deductible=1..2/1".into());
    cases.push((a, "has no `city`"));
    let mut a = args(good.clone(), out.clone());
    a.sweep = Some("name=1..2/1".into());
    cases.push((a, "not a number"));
    let mut a = args(good, out.clone());
    a.from = "2019-13-01".into();
    cases.push((a, "expected a date"));
    for (a, says) in cases {
        let e = replay(&app, &a).unwrap_err().to_string();
        assert!(e.contains(says), "expected `{says}`: {e}");
        assert!(!out.exists(), "nothing written for `{says}`");
    }
}

/// Posts a draft file to the upload form as the browser does; status, location and body.
async fn upload_draft(
    app: &TestApp,
    session: &str,
    csrf: &str,
    name: &str,
    text: &str,
) -> (u16, String, String) {
    let form = reqwest::multipart::Form::new()
        .text("_csrf", csrf.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name(name.to_string()),
        );
    let res = app
        .as_browser(reqwest::Method::POST, "/whatif", session)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let location = crate::common::location(&res);
    (res.status().as_u16(), location, res.text().await.unwrap())
}

async fn a_supervisor_replays_a_draft_in_the_browser(app: TestApp) {
    let reviewer = app.login("reviewer").await;
    assert_eq!(
        app.page(&reviewer, "/whatif").await.0,
        403,
        "reviewers do not forecast"
    );
    let supervisor = app.login("supervisor").await;
    let (status, page) = app.page(&supervisor, "/whatif").await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&page);
    let baseline = std::fs::read_to_string(BASELINE).unwrap();

    // A draft that fails the check: its errors with file and line, nothing kept.
    let broken = baseline.replace(
        r#"{ id = "county", deductible = "900.00""#,
        r#"{ id = "county", deductible = "nine hundred""#,
    );
    let (status, _, body) =
        upload_draft(&app, &supervisor, &csrf, "draft-2020.toml", &broken).await;
    assert_eq!(status, 422, "{body}");
    let line = 1 + baseline
        .lines()
        .position(|l| l.contains(r#"id = "county""#))
        .unwrap();
    assert!(
        body.contains(&format!("draft-2020.toml:{line}:")),
        "the line of the error: {body}"
    );
    let (status, _, body) =
        upload_draft(&app, &supervisor, "not-the-token", "draft.toml", &baseline).await;
    assert_eq!(status, 403, "CSRF: {body}");

    let draft = baseline.replace(
        r#"{ id = "county", deductible = "900.00""#,
        r#"{ id = "county", deductible = "1000.00""#,
    );
    let (status, location, body) =
        upload_draft(&app, &supervisor, &csrf, "draft-2020.toml", &draft).await;
    assert_eq!(status, 303, "{body}");
    let (_, run_page) = app.page(&supervisor, &location).await;
    assert!(run_page.contains(r#"data-status="checked""#), "{run_page}");
    let start = format!("{location}/run");
    let (status, body) = app
        .post_form(
            &supervisor,
            &start,
            &csrf_of(&run_page),
            &[("from", "2019-12-31"), ("to", "2019-01-01"), ("region", "")],
        )
        .await;
    assert!(
        status == 422 && body.contains("期间为空"),
        "{status}: {body}"
    );
    let (status, _) = app
        .post_form(
            &supervisor,
            &start,
            &csrf_of(&run_page),
            &[("from", "2019-01-01"), ("to", "2019-12-31"), ("region", "")],
        )
        .await;
    assert_eq!(status, 303);
    // The replay runs in the background; the page shows its progress until it is done.
    let mut page = String::new();
    for _ in 0..300 {
        page = app.page(&supervisor, &location).await.1;
        if !page.contains(r#"data-status="running""#) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(page.contains(r#"data-status="done""#), "{page}");
    assert!(
        page.contains("<svg") && page.contains(r#"id="run-result""#),
        "charts and figures: {page}"
    );
    assert!(
        page.contains("inpatient.categories.county.deductible"),
        "the key that changed: {page}"
    );
    // The same figures as the command line's replay of the same draft.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("draft.toml");
    std::fs::write(&file, &draft).unwrap();
    replay(&app, &args(file, dir.path().join("out"))).unwrap();
    let t = total(&dir.path().join("out"));
    let cli_cost = claimflow::domain::money::Fen::from_yuan_half_up(
        t["draft_fund_cost_yuan"].parse().unwrap(),
    )
    .unwrap();
    assert!(
        page.contains(&cli_cost.yuan_text()),
        "draft fund cost {} on the page: {page}",
        cli_cost.yuan_text()
    );
    let (_, desk) = app.page(&supervisor, "/whatif").await;
    assert!(
        desk.contains("已完成") && desk.contains(&location),
        "kept to compare: {desk}"
    );

    // Not a policy file: refused by its type, nothing kept.
    let (status, _, body) = upload_draft(&app, &supervisor, &csrf, "draft.txt", &draft).await;
    assert!(status == 422 && body.contains("TOML"), "{status}: {body}");
    // A supervisor of another county can neither replay Pingyang's claims nor see its runs.
    app.add_user(
        "sup_cangnan",
        &[claimflow::domain::roles::Role::Supervisor],
        "330327",
    );
    let elsewhere = app.login("sup_cangnan").await;
    let (status, page) = app.page(&elsewhere, "/whatif").await;
    assert!(
        status == 200 && !page.contains(&format!("href=\"{location}\"")),
        "{page}"
    );
    let (status, _, body) =
        upload_draft(&app, &elsewhere, &csrf_of(&page), "draft.toml", &draft).await;
    assert!(
        status == 422 && body.contains("不在您的管辖范围内"),
        "{status}: {body}"
    );
    assert_eq!(
        app.page(&elsewhere, &location).await.0,
        404,
        "another county's run"
    );
    let (status, _) = app
        .post_form(
            &elsewhere,
            &start,
            &csrf_of(&page),
            &[("from", "2019-01-01"), ("to", "2019-12-31"), ("region", "")],
        )
        .await;
    assert_eq!(status, 404, "nor can it be started again from there");
}
