//! Registries over the admin API, and CSV import through the CLI, on both backends.
use crate::common::{Backend, TestApp};
use serde_json::json;
use std::path::Path;
use std::process::Command;

crate::trials!(import {
    scenarios: [registries_are_validated_and_scoped],
    backends: [
        csv_import_reports_bad_rows_and_never_imports_twice,
        backtest_finds_every_planted_case,
        an_import_killed_three_times_loses_and_duplicates_nothing,
        a_history_load_rebuilds_its_indexes_after_success_failure_and_a_kill
    ],
    plain: [a_bulk_import_keeps_the_sqlite_wal_bounded],
});

async fn registries_are_validated_and_scoped(app: TestApp) {
    let admin = app.login("admin").await;
    let id = claimflow::domain::person::IdNumber::with_check_digit("33032620010203004");
    let bad_id = format!("{}{}", &id[..17], if id.ends_with('1') { "2" } else { "1" });
    let person = |id: &str, birth: &str| json!({"id_number": id, "name": "陈晨", "sex": "F", "birth_date": birth, "household": "昆阳镇1号", "region_code": "330326"});
    let (status, body) = app
        .post(&admin, "/api/admin/persons", person(&bad_id, "2001-02-03"))
        .await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("id_number")),
        "{body}"
    );
    let (status, body) = app
        .post(&admin, "/api/admin/persons", person(&id, "2001-02-04"))
        .await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("birth_date")),
        "the birth date must agree with the ID: {body}"
    );
    let (status, body) = app
        .post(&admin, "/api/admin/persons", person(&id, "2001-02-03"))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        app.post(&admin, "/api/admin/persons", person(&id, "2001-02-03"))
            .await
            .0,
        409
    );
    let enrol = json!({"id_number": id, "coverage_year": 2019, "period_start": "2019-01-01", "period_end": "2019-12-31", "tier": 3, "enrolled_on": "2019-03-01", "channel": "sideways", "special_groups": "dibao;vip"});
    let (status, body) = app.post(&admin, "/api/admin/enrolments", enrol).await;
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        (status, fields),
        (422, vec!["tier", "channel", "special_groups"]),
        "{body}"
    );
    let enrol = json!({"id_number": id, "coverage_year": 2019, "period_start": "2019-01-01", "period_end": "2019-12-31", "tier": 1, "enrolled_on": "2019-03-01", "channel": "mid_year", "special_groups": "dibao"});
    assert_eq!(
        app.post(&admin, "/api/admin/enrolments", enrol).await.0,
        201
    );
    let (_, detail) = app.get(&admin, &format!("/api/admin/persons/{id}")).await;
    assert_eq!(detail["enrolments"][0]["special_groups"], "[\"dibao\"]");

    let facility = json!({"code": "H330326099", "name": "平阳县水头镇卫生院", "level": "township", "region_code": "330326", "ownership": "public", "designated_from": "2012-01-01"});
    let (status, body) = app.post(&admin, "/api/admin/facilities", facility).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            &admin,
            "/api/admin/facilities/H330326099/status",
            json!({"status": "suspended", "effective_from": "2019-07-01", "reason": ""}),
        )
        .await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("reason")),
        "{body}"
    );
    let (status, body) = app
        .post(
            &admin,
            "/api/admin/facilities/H330326099/status",
            json!({"status": "suspended", "effective_from": "2019-07-01", "reason": "分解住院"}),
        )
        .await;
    assert_eq!(
        (status, body["history"].as_array().unwrap().len()),
        (200, 2),
        "{body}"
    );
    assert_eq!(
        app.post(
            &admin,
            "/api/admin/facilities/NOPE/status",
            json!({"status": "suspended", "effective_from": "2019-07-01", "reason": "x"})
        )
        .await
        .0,
        404
    );
    // Only admins, and only inside their region.
    let reviewer = app.login("reviewer").await;
    assert_eq!(
        app.post(&reviewer, "/api/admin/persons", person(&id, "2001-02-03"))
            .await
            .0,
        403
    );
    app.add_user(
        "admin_cn",
        &[claimflow::domain::roles::Role::Admin],
        "330327",
    );
    let other_admin = app.login("admin_cn").await;
    assert_eq!(
        app.get(&other_admin, &format!("/api/admin/persons/{id}"))
            .await
            .0,
        404,
        "a person of another county reads like an unknown ID number"
    );
}

fn run(data: &Path, db: &str, args: &[&str], stdin: Option<&str>) -> (i32, String) {
    run_with(data, db, args, stdin, &[])
}

fn run_with(
    data: &Path,
    db: &str,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_claimflow"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CLAIMFLOW_DATA_DIR", data)
        .env("CLAIMFLOW_DATABASE_URL", db)
        .env("CLAIMFLOW_JWT_SECRET", crate::common::SECRET)
        .env("CLAIMFLOW_DEMO_PASSWORD", crate::common::PASSWORD)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn claim_count(db: &str) -> i64 {
    let pool = pool_for(db);
    let mut conn = pool.get().unwrap();
    let conn: &mut claimflow::store::DbConn = &mut conn;
    use claimflow::store::schema::claims::dsl::claims;
    use diesel::prelude::*;
    claimflow::db_run!(conn, c => claims.count().get_result(c)).unwrap()
}

/// Cases of every kind (claims, and the demo's violation).
fn case_count(db: &str) -> i64 {
    let pool = pool_for(db);
    let mut conn = pool.get().unwrap();
    let conn: &mut claimflow::store::DbConn = &mut conn;
    use claimflow::store::schema::cases::dsl::cases;
    use diesel::prelude::*;
    claimflow::db_run!(conn, c => cases.count().get_result(c)).unwrap()
}

/// A database URL for the backend: a file in `dir`, or a fresh PostgreSQL database. `None`
/// when PostgreSQL is not configured here.
fn database_for(backend: Backend, dir: &Path) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite://{}", dir.join("import.db").display())),
        Backend::Postgres => match crate::common::postgres_server() {
            Some(server) => Some(crate::common::fresh_postgres_database(&server)),
            None => {
                eprintln!("skipped: set CLAIMFLOW_TEST_POSTGRES_URL to run on PostgreSQL");
                None
            }
        },
    }
}

fn csv_import_reports_bad_rows_and_never_imports_twice(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("import.db").display()),
        Backend::Postgres => match crate::common::postgres_server() {
            Some(server) => crate::common::fresh_postgres_database(&server),
            None => {
                return eprintln!("skipped: set CLAIMFLOW_TEST_POSTGRES_URL to run on PostgreSQL")
            }
        },
    };
    let data = dir.path();
    let gen = data.join("gen");
    let (code, out) = run(
        data,
        &db,
        &[
            "gen",
            "--seed",
            "3",
            "--claims",
            "300",
            "--persons",
            "60",
            "--facilities",
            "20",
            "--out",
            gen.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(run(data, &db, &["seed-demo"], None).0, 0);
    assert_eq!(
        run(
            data,
            &db,
            &[
                "user",
                "add",
                "--username",
                "batch",
                "--role",
                "clerk",
                "--region",
                "330300"
            ],
            Some("batch-password\n")
        )
        .0,
        0
    );
    for kind in ["facilities", "persons", "enrolments"] {
        let (code, out) = run(
            data,
            &db,
            &[
                "import",
                kind,
                gen.join(format!("{kind}.csv")).to_str().unwrap(),
                "--as",
                "admin",
            ],
            None,
        );
        assert_eq!(code, 0, "{kind}: {out}");
    }
    // Three bad rows among the good ones.
    let csv = gen.join("claims.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    let first = text.lines().nth(1).unwrap().to_string();
    let cols: Vec<&str> = first.split(',').collect();
    let bad_id = format!(
        "{}{}",
        &cols[0][..17],
        if cols[0].ends_with('1') { "2" } else { "1" }
    );
    text.push_str(&format!(
        "{},{}\n",
        bad_id,
        cols[1..].join(",").replace(&cols[7].to_string(), "BAD-1")
    ));
    text.push_str(&first.replace(cols[8], "-12.00").replace(cols[7], "BAD-2"));
    text.push('\n');
    text.push_str(&first.replace(cols[3], "H-NOPE").replace(cols[7], "BAD-3"));
    text.push('\n');
    std::fs::write(&csv, text).unwrap();
    let before = claim_count(&db);
    let cases_before = case_count(&db);
    let (code, out) = run(
        data,
        &db,
        &[
            "import",
            "claims",
            csv.to_str().unwrap(),
            "--as",
            "batch",
            "--batch",
            "64",
        ],
        None,
    );
    assert_eq!(code, 3, "rejected rows give exit code 3: {out}");
    assert!(
        out.contains(
            "303 row(s): 299 imported (1 refused at intake), 0 already present, 4 rejected"
        ),
        "{out}"
    );
    let report = std::fs::read_to_string(gen.join("claims.csv.errors.csv")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "row,column,reason");
    // The generator's claim for care before a facility's designation is refused at intake
    // and not imported; its claim on another person's invoice is imported, refused, and
    // reported naming both persons.
    assert!(
        lines.iter().any(|l| l.contains(",facility_code,")
            && l.contains("不是医保定点机构")
            && l.contains("not a designated facility")),
        "{report}"
    );
    assert!(
        lines.iter().any(|l| l.contains(",invoice_number,")
            && l.contains("另一参保人")
            && l.contains("already claimed by another insured person")
            && l.matches("3303").count() >= 2),
        "{report}"
    );
    let tail = &lines[lines.len() - 3..];
    assert!(
        tail[0].starts_with("302,id_number,") && tail[0].contains("check digit"),
        "{report}"
    );
    assert!(tail[1].starts_with("303,total_yuan,"), "{report}");
    assert!(
        tail[2].starts_with("304,facility_code,") && tail[2].contains("unknown facility"),
        "{report}"
    );
    assert_eq!(
        claim_count(&db),
        before + 299,
        "exactly the valid rows went in"
    );
    // Re-running the same file imports nothing twice.
    let (_, out) = run(
        data,
        &db,
        &["import", "claims", csv.to_str().unwrap(), "--as", "batch"],
        None,
    );
    assert!(
        out.contains("0 imported (0 refused at intake), 299 already present, 4 rejected"),
        "{out}"
    );
    assert_eq!(claim_count(&db), before + 299);
    // Inside one batch: a repeated row goes in once, and the same invoice at another
    // facility is flagged against the claim planned just before it, not yet written.
    let header = std::fs::read_to_string(&csv).unwrap();
    let header = header.lines().next().unwrap();
    let second = text_line(&csv, 2);
    let other_facility = second.split(',').nth(3).unwrap();
    let fresh = first.replace(cols[7], "DUP-1");
    let elsewhere = if cols[3] == other_facility {
        first
            .replace(cols[3], "H330304001")
            .replace(cols[7], "DUP-1")
    } else {
        fresh.replace(cols[3], other_facility)
    };
    let dups = gen.join("dups.csv");
    std::fs::write(&dups, format!("{header}\n{fresh}\n{fresh}\n{elsewhere}\n")).unwrap();
    let (code, out) = run(
        data,
        &db,
        &["import", "claims", dups.to_str().unwrap(), "--as", "batch"],
        None,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("3 row(s): 2 imported (0 refused at intake), 1 already present, 0 rejected"),
        "{out}"
    );
    let flagged = duplicate_findings(&db, "DUP-1");
    assert_eq!(
        flagged.len(),
        1,
        "only the second claim is flagged: {flagged:?}"
    );
    assert_eq!(
        Some(flagged[0].1),
        claim_with_invoice(&db, "DUP-1", cols[3]),
        "it names the first claim of the batch"
    );
    // Every imported claim went through intake: a case, an audit chain and a breakdown.
    let (code, out) = run(data, &db, &["audit", "verify"], None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("{} case(s)", cases_before + 301)),
        "{out}"
    );
}

fn text_line(file: &Path, n: usize) -> String {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .nth(n)
        .unwrap()
        .to_string()
}

fn claim_with_invoice(db: &str, invoice: &str, facility: &str) -> Option<i64> {
    let pool = pool_for(db);
    let mut conn = pool.get().unwrap();
    let conn: &mut claimflow::store::DbConn = &mut conn;
    use claimflow::store::schema::claim_invoices::dsl::*;
    use diesel::prelude::*;
    claimflow::db_run!(conn, c => claim_invoices
        .filter(invoice_number.eq(invoice).and(facility_code.eq(facility)))
        .select(claim_id)
        .first(c)
        .optional())
    .unwrap()
}

fn pool_for(db: &str) -> claimflow::store::Pool {
    let config = claimflow::config::Config {
        database_url: db.into(),
        data_dir: std::env::temp_dir(),
        jwt_secret: crate::common::SECRET.into(),
        ..Default::default()
    };
    claimflow::store::build_pool(&config).unwrap()
}

/// (case, the claim id named in the evidence) of each duplicate-invoice finding on `invoice`.
fn duplicate_findings(db: &str, invoice: &str) -> Vec<(i64, i64)> {
    let pool = pool_for(db);
    let mut conn = pool.get().unwrap();
    let conn: &mut claimflow::store::DbConn = &mut conn;
    use claimflow::store::schema::case_findings::dsl::*;
    use diesel::prelude::*;
    let rows: Vec<(i64, String)> = claimflow::db_run!(conn, c => case_findings
        .filter(code.eq("duplicate_invoice"))
        .select((case_id, evidence))
        .load(c))
    .unwrap();
    rows.into_iter()
        .filter_map(|(case, ev)| {
            let ev: serde_json::Value = serde_json::from_str(&ev).unwrap();
            (ev["invoice"] == invoice)
                .then(|| (case, ev["claims"][0]["claim_id"].as_i64().unwrap()))
        })
        .collect()
}

/// Generated history with fraud of every rule planted in several disguises, and honest
/// look-alikes of every rule, imported through intake, then the backtest: every rule is
/// scored against the truth, the rules that compare a claim with its own facts or the
/// person's other claims find every planted case and nothing else, the statistical ones
/// find most with few false alarms, and no rule flags a single look-alike.
fn backtest_finds_every_planted_case(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = database_for(backend, dir.path()) else {
        return;
    };
    let data = dir.path();
    let gen = data.join("gen");
    let out = generate(data, &db, &gen, ("11", "6000", "40"));
    assert!(
        out.contains("wrote 6000 claims (") && out.contains("fraud of 25 rules"),
        "{out}"
    );
    load_registries_only(data, &db, &gen);
    let truth = gen.join("planted.csv");
    let planted = std::fs::read_to_string(&truth).unwrap();
    let count = |rule: &str, kind: &str| {
        planted
            .lines()
            .filter(|l| l.starts_with(&format!("{rule},")) && l.ends_with(&format!(",{kind}")))
            .count()
    };
    let file = gen.join("claims.csv");
    let (code, out) = run(
        data,
        &db,
        &["import", "claims", file.to_str().unwrap(), "--as", "batch"],
        None,
    );
    assert_eq!(code, 3, "claims: {out}");
    let not_designated = count("facility_not_designated", "fraud");
    let other_person = count("invoice_other_person", "fraud");
    assert!(
        out.contains(&format!(
            "6000 row(s): {} imported ({other_person} refused at intake), 0 already present, {not_designated} rejected",
            6000 - not_designated
        )),
        "{out}"
    );
    let errors = std::fs::read_to_string(gen.join("claims.csv.errors.csv")).unwrap();
    assert_eq!(
        errors
            .lines()
            .filter(|l| l.contains(",facility_code,") && l.contains("not a designated facility"))
            .count(),
        not_designated,
        "care before the facility's designation is refused at intake: {errors}"
    );
    // The backtest of 2019-2020 into `report`, scored against the planted truth.
    let screen = |report: &Path, env: &[(&str, &str)]| {
        let args = [
            "screen",
            "--from",
            "2019-01-01",
            "--to",
            "2020-12-31",
            "--out",
            report.to_str().unwrap(),
            "--truth",
            truth.to_str().unwrap(),
        ];
        let (code, out) = run_with(data, &db, &args, None, env);
        assert_eq!(code, 0, "{out}");
    };
    let report = data.join("report");
    screen(&report, &[]);
    let summary = std::fs::read_to_string(report.join("summary.md")).unwrap();
    let scored: Vec<&str> = summary
        .lines()
        .skip_while(|l| !l.starts_with("## Against the ground truth"))
        .filter(|l| l.starts_with("| ") && !l.starts_with("| rule") && !l.starts_with("| ---"))
        .collect();
    assert_eq!(scored.len(), 25, "every rule is scored: {summary}");
    // The rules that weigh a claim against peers, or a facility or doctor against theirs.
    let statistical = [
        "cost_outlier",
        "los_outlier",
        "facility_outlier",
        "weekend_admission_spike",
        "doctor_outlier",
    ];
    for line in scored {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | rule | tp | fp | missed | precision | recall | fp rate | near misses flagged |
        let rule = cells[1];
        let number = |i: usize| cells[i].parse::<f64>().unwrap();
        let (tp, fp, missed) = (number(2), number(3), number(4));
        let (flagged, near) = cells[8].split_once('/').unwrap();
        assert!(
            near.parse::<u32>().unwrap() > 0,
            "{rule} has look-alikes: {summary}"
        );
        assert_eq!(flagged, "0", "{rule} lets every look-alike pass: {summary}");
        assert!(tp + missed > 0.0, "{rule} is planted: {summary}");
        // Care at an undesignated facility was refused at intake: it never reached the
        // history the backtest reads.
        if rule == "facility_not_designated" {
            assert_eq!((tp, fp), (0.0, 0.0), "{summary}");
            continue;
        }
        if statistical.contains(&rule) {
            assert!(number(6) >= 0.8 && number(5) >= 0.5, "{rule}: {summary}");
            assert!(number(7) < 0.001, "{rule}: {summary}");
        } else {
            assert_eq!((fp, missed), (0.0, 0.0), "{rule}: {summary}");
        }
    }
    let hits = std::fs::read_to_string(report.join("hits.csv")).unwrap();
    // Both passes run on two connections when the pool has them; with one connection the
    // backtest runs on one thread. The reports are the same, byte for byte.
    let alone = data.join("report-one-connection");
    screen(&alone, &[("CLAIMFLOW_POOL_SIZE", "1")]);
    for file in ["hits.csv", "summary.md"] {
        assert!(
            std::fs::read(report.join(file)).unwrap() == std::fs::read(alone.join(file)).unwrap(),
            "{file} differs between one thread and two"
        );
    }
    assert!(!report.join("hits.part.csv").exists());
    assert!(
        hits.lines()
            .any(|l| l.starts_with("overlapping_stay,") && l.contains("overlap_from")),
        "{hits}"
    );
    assert!(
        hits.lines().any(|l| l.starts_with("split_stay_elsewhere,")
            && l.contains("no referral")
            && l.contains("same diagnosis group")),
        "{hits}"
    );
    assert!(
        hits.lines()
            .any(|l| l.starts_with("cost_outlier,") && l.contains("× the median of")),
        "{hits}"
    );
    // Intake routed every planted claim of an investigate rule it can judge alone (the peer
    // statistics come from the backtest) to the fraud workflow, and nothing else.
    let rules = claimflow::domain::screening::ScreeningRules::parse(
        "rules.toml",
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/screening/rules.toml"),
        )
        .unwrap(),
    )
    .unwrap();
    use claimflow::domain::screening::{HitAction, RuleCode};
    let expected: usize = RuleCode::ALL
        .iter()
        .filter(|c| {
            rules
                .info(**c)
                .is_some_and(|r| r.action == HitAction::Investigate)
        })
        .filter(|c| **c != RuleCode::FacilityNotDesignated)
        .map(|c| count(c.as_str(), "fraud"))
        .sum();
    let pool = pool_for(&db);
    let mut conn = pool.get().unwrap();
    let conn: &mut claimflow::store::DbConn = &mut conn;
    use claimflow::store::schema::cases::dsl::{cases, outcome, risk_score, workflow};
    use diesel::prelude::*;
    let investigated: i64 = claimflow::db_run!(conn, c => cases.filter(workflow.eq("fraud_investigation")).count().get_result(c)).unwrap();
    assert_eq!(investigated as usize, expected, "{planted}");
    let ordered: Vec<i64> = claimflow::db_run!(conn, c => cases.filter(workflow.eq("fraud_investigation")).select(risk_score).load(c)).unwrap();
    assert!(
        ordered.iter().all(|r| *r >= 40),
        "every investigated claim carries its risk: {ordered:?}"
    );
    let refused: i64 =
        claimflow::db_run!(conn, c => cases.filter(outcome.eq("rejected")).count().get_result(c))
            .unwrap();
    assert_eq!(
        refused as usize, other_person,
        "another person's invoice is refused at once"
    );
}

/// `claimflow gen` into `gen` with (seed, claims, facilities); returns what it printed.
fn generate(
    data: &Path,
    db: &str,
    gen: &Path,
    (seed, claims, facilities): (&str, &str, &str),
) -> String {
    let args = [
        "gen",
        "--seed",
        seed,
        "--claims",
        claims,
        "--facilities",
        facilities,
        "--out",
        gen.to_str().unwrap(),
    ];
    let (code, out) = run(data, db, &args, None);
    assert_eq!(code, 0, "{out}");
    out
}

/// Demo data, a `batch` clerk, and the generated facilities, persons and enrolments.
/// The registries of a generated world on top of the demo's regions and users, but none of
/// its claims (they would mix with the world's history).
fn load_registries_only(data: &Path, db: &str, gen: &Path) {
    assert_eq!(run(data, db, &["seed-demo", "--without-cases"], None).0, 0);
    load_world(data, db, gen);
}

fn load_registries(data: &Path, db: &str, gen: &Path) {
    assert_eq!(run(data, db, &["seed-demo"], None).0, 0);
    load_world(data, db, gen);
}

/// The batch clerk, and the world's facilities, persons and enrolments.
fn load_world(data: &Path, db: &str, gen: &Path) {
    let add = [
        "user",
        "add",
        "--username",
        "batch",
        "--role",
        "clerk",
        "--region",
        "330300",
    ];
    assert_eq!(run(data, db, &add, Some("batch-password\n")).0, 0);
    for kind in ["facilities", "persons", "enrolments"] {
        let file = gen.join(format!("{kind}.csv"));
        let (code, out) = run(
            data,
            db,
            &["import", kind, file.to_str().unwrap(), "--as", "admin"],
            None,
        );
        assert_eq!(code, 0, "{kind}: {out}");
    }
}

/// The peak size of the WAL file while `claimflow import claims` runs on a copy of `setup`.
fn peak_wal_during_import(setup: &Path, dir: &Path, claims: &Path, wal_max_mb: &str) -> u64 {
    copy_dir(setup, dir);
    let db = dir.join("import.db");
    let wal = dir.join("import.db-wal");
    let mut child = Command::new(env!("CARGO_BIN_EXE_claimflow"))
        .args(["import", "claims", claims.to_str().unwrap()])
        .args(["--as", "batch", "--batch", "250"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CLAIMFLOW_DATA_DIR", dir)
        .env(
            "CLAIMFLOW_DATABASE_URL",
            format!("sqlite://{}", db.display()),
        )
        .env("CLAIMFLOW_JWT_SECRET", crate::common::SECRET)
        .env("CLAIMFLOW_SQLITE_BULK_WAL_MAX_MB", wal_max_mb)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let out = child.wait_with_output().unwrap();
    // Exit 3: the generator's claims for care before a facility's designation are refused.
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = claim_count(&format!("sqlite://{}", setup.join("import.db").display()));
    // 8 of the 8,000 (one per rule share) are for care before a designation: refused.
    assert_eq!(
        claim_count(&format!("sqlite://{}", db.display())),
        before + 8000 - 8
    );
    peak
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// SQLite only rewinds its WAL when a writer starts while everything is checkpointed, which a
/// bulk import never allowed: the WAL grew with the whole load (35 GB into a 10M-claim import,
/// until the disk was full). With the bound, the WAL stays near it.
fn a_bulk_import_keeps_the_sqlite_wal_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let setup = dir.path().join("setup");
    let db = format!("sqlite://{}", setup.join("import.db").display());
    let gen = dir.path().join("gen");
    let args = [
        "gen",
        "--seed",
        "5",
        "--claims",
        "8000",
        "--out",
        gen.to_str().unwrap(),
    ];
    assert_eq!(run(&setup, &db, &args, None).0, 0);
    load_registries(&setup, &db, &gen);
    let claims = gen.join("claims.csv");
    let unbounded = peak_wal_during_import(&setup, &dir.path().join("a"), &claims, "4096");
    let bounded = peak_wal_during_import(&setup, &dir.path().join("b"), &claims, "1");
    let mb = |b: u64| b as f64 / 1048576.0;
    eprintln!(
        "WAL peak: {:.1} MB bounded, {:.1} MB unbounded",
        mb(bounded),
        mb(unbounded)
    );
    assert!(
        bounded * 3 < unbounded,
        "WAL peak {:.1} MB with a 1 MB bound against {:.1} MB without one",
        mb(bounded),
        mb(unbounded)
    );
}

/// `kill -9` an import three times, each once the database has grown past a mark (the first
/// commit, then two later points mid-load), then run it to the end: every distinct
/// (invoice, facility, person) key of the file is in once, the refused rows are the ones a clean run
/// refuses, and the audit trail verifies.
fn an_import_killed_three_times_loses_and_duplicates_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = database_for(backend, dir.path()) else {
        return;
    };
    let data = dir.path();
    let gen = data.join("gen");
    generate(data, &db, &gen, ("17", "4000", "30"));
    load_registries(data, &db, &gen);
    let file = gen.join("claims.csv");
    let base = claim_count(&db);
    let mut marks = Vec::new();
    for grow_by in [1, 600, 600] {
        let start = claim_count(&db);
        import_killed_at(data, &db, &[file.to_str().unwrap()], start + grow_by);
        marks.push(claim_count(&db) - base);
    }
    assert!(marks.windows(2).all(|w| w[0] < w[1]), "{marks:?}");
    let (code, out) = run(
        data,
        &db,
        &[
            "import",
            "claims",
            file.to_str().unwrap(),
            "--as",
            "batch",
            "--batch",
            "100",
        ],
        None,
    );
    assert_eq!(code, 3, "the last run: {out}");
    // The file's distinct natural keys, less the rows intake refuses (care before a
    // facility's designation), each of which the last run reports again.
    let mut reader = csv::Reader::from_path(&file).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (invoice, facility, person) = (
        col("invoice_number"),
        col("facility_code"),
        col("id_number"),
    );
    let keys: std::collections::BTreeSet<(String, String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[invoice].trim().to_string(),
                r[facility].trim().to_string(),
                r[person].trim().to_string(),
            )
        })
        .collect();
    // Rows refused at intake and not imported; a row imported and refused (another
    // person's invoice) has a note on its invoice number instead.
    let refused = std::fs::read_to_string(gen.join("claims.csv.errors.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) != Some("invoice_number"))
        .filter_map(|l| l.split(',').next().map(str::to_string))
        .collect::<std::collections::BTreeSet<_>>()
        .len() as i64;
    assert!(refused > 0);
    assert_eq!(
        claim_count(&db) - base,
        keys.len() as i64 - refused,
        "killed at {marks:?} claims, then run to the end"
    );
    let (code, out) = run(data, &db, &["audit", "verify"], None);
    assert_eq!(code, 0, "audit verify after the crashes: {out}");
}

/// The droppable indexes as the catalogue has them, and the ones recorded as dropped.
fn history_indexes(db: &str) -> (Vec<String>, usize) {
    use claimflow::store::history_indexes as hi;
    let pool = pool_for(db);
    let mut conn = pool.get().unwrap();
    let present = hi::definitions(&mut conn, &hi::DROPPED_FOR_HISTORY).unwrap();
    let recorded = hi::dropped(&mut conn).unwrap().len();
    (
        present.into_iter().map(|i| i.definition).collect(),
        recorded,
    )
}

fn a_history_load_rebuilds_its_indexes_after_success_failure_and_a_kill(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = database_for(backend, dir.path()) else {
        return;
    };
    let data = dir.path();
    let gen = data.join("gen");
    generate(data, &db, &gen, ("23", "3000", "20"));
    load_registries_only(data, &db, &gen);
    let file = gen.join("claims.csv");
    let file = file.to_str().unwrap();
    let (before, none) = history_indexes(&db);
    assert_eq!((before.len(), none), (8, 0), "{before:?}");

    // A load that fails after the drop (its error report cannot be written) builds them again.
    let unwritable = data.join("no-such-dir").join("errors.csv");
    let args = [
        "import",
        "claims",
        file,
        "--as",
        "batch",
        "--history",
        "--errors",
    ];
    let (code, out) = run(
        data,
        &db,
        &[&args[..], &[unwritable.to_str().unwrap()]].concat(),
        None,
    );
    assert_ne!(code, 0, "{out}");
    assert_eq!(history_indexes(&db), (before.clone(), 0), "{out}");

    // A load killed part way leaves them dropped and recorded; the next start builds them.
    import_killed_at(data, &db, &[file, "--history"], 200);
    let (left, recorded) = history_indexes(&db);
    assert_eq!(
        (left.len(), recorded),
        (0, 8),
        "dropped and recorded: {left:?}"
    );
    // Any command that opens the database (here the same load, resumed, without --history).
    let (code, out) = run(
        data,
        &db,
        &["import", "claims", file, "--as", "batch"],
        None,
    );
    assert!(
        matches!(code, 0 | 3),
        "3: rows rejected (the world plants some): {out}"
    );
    assert_eq!(history_indexes(&db), (before.clone(), 0), "{out}");
    let loaded = claim_count(&db);

    // A successful load says so and leaves the same indexes; nothing is imported twice.
    let (code, out) = run(data, &db, &args[..6], None);
    assert!(
        matches!(code, 0 | 3),
        "3: rows rejected (the world plants some): {out}"
    );
    assert!(
        out.contains("8 index(es) dropped for the history load and built again"),
        "{out}"
    );
    assert_eq!(history_indexes(&db), (before, 0));
    assert_eq!(claim_count(&db), loaded);
}

/// Starts `claimflow import claims ARGS --as batch --batch 100` and kills it (SIGKILL: no
/// destructor, no rollback by the program) once the database holds `claims` claims.
fn import_killed_at(data: &Path, db: &str, args: &[&str], claims: i64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_claimflow"))
        .args(["import", "claims"])
        .args(args)
        .args(["--as", "batch", "--batch", "100"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CLAIMFLOW_DATA_DIR", data)
        .env("CLAIMFLOW_DATABASE_URL", db)
        .env("CLAIMFLOW_JWT_SECRET", crate::common::SECRET)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while claim_count(db) < claims {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import finished before the kill point"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
