//! The command line: check, seed-demo, audit verify, user add, config refusal, and
//! workflow versions.
use claimflow::core::Core;
use claimflow::db_run;
use claimflow::store::DbConn;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

crate::trials!(cli {
    plain: [
        check_passes_shipped_workflows_and_rejects_a_broken_file_with_its_line,
        check_locates_each_error_of_a_screening_rules_file,
        audit_verify_passes_on_demo_data_and_names_a_tampered_event,
        user_add_reads_the_password_from_stdin,
        invalid_settings_refuse_to_start_with_a_clear_message,
        cases_keep_their_workflow_version_when_a_newer_one_is_published,
        jobs_run_names_the_job_and_the_file_outbox_writes_eml_files
    ],
});

pub fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn claimflow(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_claimflow"))
        .args(args)
        .current_dir(manifest())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CLAIMFLOW_DATA_DIR", data_dir)
        .env("CLAIMFLOW_DEMO_PASSWORD", crate::common::PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run claimflow");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        // A command that rejects its arguments exits before reading stdin; that is
        // not a failure of the test harness.
        match input.write_all(text.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
    }
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn check_passes_shipped_workflows_and_rejects_a_broken_file_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = claimflow(dir.path(), &["check"], None);
    assert!(out.status.success(), "{}", text(&out));
    for name in ["trauma", "out_of_region", "unreferred_transfer"] {
        assert!(
            text(&out).contains(&format!("{name}.toml")),
            "{}",
            text(&out)
        );
    }
    let good = std::fs::read_to_string(manifest().join("workflows/trauma.toml")).unwrap();
    let line = good
        .lines()
        .position(|l| l.contains("to = \"second_review\""))
        .unwrap()
        + 1;
    let broken = good.replacen("to = \"second_review\"", "to = \"second_reveiw\"", 1);
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, broken).unwrap();
    let out = claimflow(dir.path(), &["check", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out);
    assert!(msg.contains(&format!("broken.toml:{line}:")), "{msg}");
    assert!(
        msg.contains("unknown stage `second_reveiw`") && msg.contains("hint:"),
        "{msg}"
    );
    std::fs::write(&file, "name = \"x\"\nversion = \"one\"\n").unwrap();
    let out = claimflow(dir.path(), &["check", file.to_str().unwrap()], None);
    assert!(text(&out).contains("broken.toml:2:"), "{}", text(&out));
}

/// A screening rules file with an unknown rule, a parameter of the wrong type or a missing
/// text is refused by `claimflow check`, each error at the rule's line.
fn check_locates_each_error_of_a_screening_rules_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(manifest().join("policies/screening/rules.toml")).unwrap();
    let line_of = |needle: &str| good.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let cases = [
        (
            good.replacen("code = \"round_total\"", "code = \"round_totals\"", 1),
            "unknown rule `round_totals`",
            line_of("code = \"round_total\""),
        ),
        (
            good.replacen("min_members = 3", "min_members = \"three\"", 1),
            "`household_cluster` params",
            line_of("code = \"household_cluster\""),
        ),
        (
            good.replacen("en = \"A round invoice total\"", "en = \"\"", 1),
            "`round_total` needs a description",
            line_of("code = \"round_total\""),
        ),
    ];
    let file = dir.path().join("rules.toml");
    for (text_of_file, expected, line) in cases {
        assert_ne!(text_of_file, good, "{expected}: the mutation applied");
        std::fs::write(&file, &text_of_file).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_claimflow"))
            .arg("check")
            .current_dir(manifest())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CLAIMFLOW_DATA_DIR", dir.path())
            .env("CLAIMFLOW_SCREENING_FILE", &file)
            .output()
            .unwrap();
        let msg = text(&out);
        assert_eq!(out.status.code(), Some(1), "{expected}: {msg}");
        let error = msg
            .lines()
            .find(|l| l.contains(expected))
            .unwrap_or_else(|| panic!("expected `{expected}` in {msg}"));
        let located = error
            .split("rules.toml:")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no line in `{error}`"));
        assert!(
            (line.saturating_sub(2)..=line + 8).contains(&located),
            "`{expected}` at line {located}, the rule at {line}: {msg}"
        );
    }
}

/// Issue 21 item 8: each way of making the shipped trauma workflow unsafe, written to a file
/// and run through `claimflow check`, is refused at its line with a hint.
fn audit_verify_passes_on_demo_data_and_names_a_tampered_event() {
    let dir = tempfile::tempdir().unwrap();
    let out = claimflow(dir.path(), &["seed-demo"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("reviewer") && text(&out).contains(crate::common::PASSWORD));
    let out = claimflow(dir.path(), &["audit", "verify"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("0 broken chain(s)"), "{}", text(&out));
    assert!(text(&out).contains("no checkpoint yet"), "{}", text(&out));
    let out = claimflow(dir.path(), &["audit", "checkpoint"], None);
    assert!(
        out.status.success() && text(&out).contains("\"checkpoint\":1"),
        "{}",
        text(&out)
    );
    let out = claimflow(dir.path(), &["audit", "verify"], None);
    assert!(
        text(&out).contains("1 checkpoint(s) checked"),
        "{}",
        text(&out)
    );
    // The key lives outside the database, in the data dir by default.
    assert!(dir.path().join("audit_key").exists());

    let config = claimflow::config::Config {
        data_dir: dir.path().into(),
        ..Default::default()
    }
    .finish()
    .unwrap();
    let pool = claimflow::store::build_pool(&config).unwrap();
    let mut conn = pool.get().unwrap();
    let conn: &mut DbConn = &mut conn;
    db_run!(conn, c => diesel::connection::SimpleConnection::batch_execute(c,
        "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET new_value = '{\"stage\":\"approved\"}' WHERE case_id = 4 AND seq = 3;")).unwrap();
    let out = claimflow(dir.path(), &["audit", "verify"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("BROKEN case 4:") && text(&out).contains("(seq 3)"),
        "{}",
        text(&out)
    );
}

fn user_add_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    assert!(claimflow(dir.path(), &["seed-demo"], None).status.success());
    let out = claimflow(
        dir.path(),
        &[
            "user",
            "add",
            "--username",
            "li",
            "--role",
            "reviewer",
            "--role",
            "senior_reviewer",
            "--region",
            "330326",
        ],
        Some("correct horse\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let config = claimflow::config::Config {
        data_dir: dir.path().into(),
        ..Default::default()
    }
    .finish()
    .unwrap();
    let pool = claimflow::store::build_pool(&config).unwrap();
    let p = claimflow::service::auth::check_login(&mut pool.get().unwrap(), "li", "correct horse")
        .unwrap();
    assert_eq!(p.roles.len(), 2);
    assert_eq!(p.region_path, "330000/330300/330326");
    let out = claimflow(
        dir.path(),
        &[
            "user",
            "add",
            "--username",
            "x",
            "--role",
            "boss",
            "--region",
            "330326",
        ],
        Some("password1\n"),
    );
    assert!(
        !out.status.success() && text(&out).contains("unknown role `boss`"),
        "{}",
        text(&out)
    );
    let out = claimflow(
        dir.path(),
        &[
            "user",
            "add",
            "--username",
            "y",
            "--role",
            "clerk",
            "--region",
            "999999",
        ],
        Some("password1\n"),
    );
    assert!(
        !out.status.success() && text(&out).contains("unknown region `999999`"),
        "{}",
        text(&out)
    );
}

fn invalid_settings_refuse_to_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = |key: &str, value: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_claimflow"))
            .args(["migrate"])
            .current_dir(manifest())
            .env("CLAIMFLOW_DATA_DIR", dir.path())
            .env(key, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(run("CLAIMFLOW_JWT_SECRET", "too-short").contains("must be at least 32"));
    assert!(run("CLAIMFLOW_DATABASE_URL", "mysql://db/x").contains("unknown backend"));
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_claimflow"))
        .args(["migrate"])
        .env("CLAIMFLOW_DATA_DIR", file.join("sub"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("data_dir"),
        "{out:?}"
    );
    assert!(run("CLAIMFLOW_BIND", "nowhere").contains("bind"));
}

fn cases_keep_their_workflow_version_when_a_newer_one_is_published() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::common::test_config(crate::common::Backend::Sqlite, dir.path()).unwrap();
    let core = Core::open(config.clone()).unwrap();
    let mut conn = core.pool.get().unwrap();
    claimflow::cli::demo::seed(
        &mut conn,
        core.env(),
        dir.path(),
        Some(crate::common::PASSWORD),
    )
    .unwrap();
    let shipped = core.defs.latest("trauma").unwrap().version as i32;
    let old_case = claimflow::store::cases::get(&mut conn, 1).unwrap().unwrap();
    assert_eq!(
        (old_case.workflow.as_str(), old_case.workflow_version),
        ("trauma", shipped)
    );
    drop(conn);

    // Publish trauma v2 from another directory.
    let v2_dir = dir.path().join("wf2");
    std::fs::create_dir(&v2_dir).unwrap();
    let v1 = std::fs::read_to_string(manifest().join("workflows/trauma.toml")).unwrap();
    let v2 = v1
        .replacen(
            &format!("version = {shipped}"),
            &format!("version = {}", shipped + 1),
            1,
        )
        .replacen("外伤无第三方责任报销", "外伤无第三方责任报销（新版）", 1);
    std::fs::write(v2_dir.join("trauma.toml"), &v2).unwrap();
    let core2 = Core::open(claimflow::config::Config {
        workflows_dir: v2_dir.clone(),
        ..config.clone()
    })
    .unwrap();
    assert_eq!(
        core2.defs.latest("trauma").unwrap().version as i32,
        shipped + 1
    );
    let mut conn = core2.pool.get().unwrap();
    let still = claimflow::store::cases::get(&mut conn, 1).unwrap().unwrap();
    assert_eq!(
        still.workflow_version, shipped,
        "an open case keeps the version it started under"
    );
    let wf = core2.defs.get(&mut conn, "trauma", shipped).unwrap();
    assert_eq!(wf.title.zh, "外伤无第三方责任报销");
    drop(conn);

    // Changing a published version without bumping it is refused.
    std::fs::write(v2_dir.join("trauma.toml"), v2.replace("（新版）", "（改）")).unwrap();
    let err = Core::open(claimflow::config::Config {
        workflows_dir: v2_dir,
        ..config
    })
    .err()
    .expect("must refuse");
    assert!(err.to_string().contains("bump `version`"), "{err}");
}

fn jobs_run_names_the_job_and_the_file_outbox_writes_eml_files() {
    let dir = tempfile::tempdir().unwrap();
    assert!(claimflow(dir.path(), &["seed-demo"], None).status.success());
    let out = claimflow(dir.path(), &["jobs", "run", "sweep"], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown job `sweep`") && text(&out).contains("mail_delivery"),
        "{}",
        text(&out)
    );
    // The demo's claims queued letters to residents; the embedded default backend files
    // each as an .eml under DATA_DIR/outbox.
    let out = claimflow(dir.path(), &["jobs", "run", "mail-delivery"], None);
    assert!(out.status.success(), "{}", text(&out));
    let summary = text(&out);
    let sent: usize = summary
        .split("\"sent\":")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a summary with the count sent: {summary}"));
    assert!(sent > 0, "{summary}");
    let files: Vec<String> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_eq!(files.len(), sent);
    assert!(files
        .iter()
        .any(|f| f.contains("To: resident@demo.claimflow.local")));
    // Nothing is left to send the second time.
    let out = claimflow(dir.path(), &["jobs", "run", "mail-delivery"], None);
    assert!(text(&out).contains("\"sent\":0"), "{}", text(&out));
    let out = claimflow(dir.path(), &["jobs", "run", "escalation"], None);
    assert!(
        out.status.success() && text(&out).starts_with("escalation: {"),
        "{}",
        text(&out)
    );
}
