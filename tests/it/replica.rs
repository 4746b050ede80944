//! The read replica (`database_read_url`): listings, reports, the audit search and the
//! backtest read a real PostgreSQL streaming replica while it keeps within the tolerated
//! lag, and the primary when it falls behind or does not answer; writes and the reads that
//! must see them stay on the primary. The replica is the one `.ci/replica.sh` starts,
//! named by `CLAIMFLOW_TEST_POSTGRES_REPLICA_URL`; its replay is paused
//! (`pg_wal_replay_pause()`) to make it lag on demand.
use crate::common::{self, Backend, TestApp};
use claimflow::config::Config;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::Value;
use std::time::{Duration, Instant};

crate::trials!(replica {
    backends: [reads_follow_the_replica_and_fall_back_to_the_primary_when_it_lags],
});

fn reads_follow_the_replica_and_fall_back_to_the_primary_when_it_lags(backend: Backend) {
    common::block_on(async move {
        match backend {
            Backend::Sqlite => an_embedded_database_has_no_replica().await,
            Backend::Postgres => match replica_server() {
                Some(replica) => against_the_replica(&replica).await,
                None => println!(
                    "no replica: set CLAIMFLOW_TEST_POSTGRES_REPLICA_URL (bash .ci/replica.sh starts one)"
                ),
            },
        }
    })
}

/// On SQLite the setting is refused with its name, and the read paths read the one file:
/// a case is listed as soon as it is written.
async fn an_embedded_database_has_no_replica() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::test_config(Backend::Sqlite, dir.path()).unwrap();
    config.database_read_url = Some("postgres://postgres@127.0.0.1:5433/test".into());
    let refused = config.finish().unwrap_err().to_string();
    assert!(
        refused.contains("database_read_url") && refused.contains("SQLite"),
        "{refused}"
    );
    let app = common::spawn_app(Backend::Sqlite).await.unwrap();
    let (_, ready) = readyz(&app.base).await;
    assert!(ready.get("read_replica").is_none(), "{ready}");
    let case = app.cases_in_initial_review(1).await[0];
    let reviewer = app.login("reviewer").await;
    assert!(queue_ids(&app.base, &reviewer).await.contains(&case));
}

async fn against_the_replica(replica_server: &str) {
    let dir = tempfile::tempdir().unwrap();
    let primary_config = common::test_config(Backend::Postgres, dir.path()).unwrap();
    let database = primary_config.database_url.rsplit('/').next().unwrap();
    let read_url = format!("{}/{database}", replica_server.rsplit_once('/').unwrap().0);
    // Two instances on the one database: `patient` tolerates ten minutes of lag (so a
    // paused replica stays in use and shows what it has), `strict` one second.
    let with_replica = |max_lag_ms| Config {
        database_read_url: Some(read_url.clone()),
        read_max_lag_ms: max_lag_ms,
        ..primary_config.clone()
    };
    let patient = common::spawn_with(Backend::Postgres, with_replica(600_000), dir).await;
    let strict = second_app(with_replica(1000)).await;
    for base in [&patient.base, &strict] {
        wait_for_state(base, "in_use").await;
    }
    let _resume = ReplayResumed(replica_server.to_string());
    let reviewer = patient.login("reviewer").await;
    let auditor = patient.login("auditor").await;

    // Caught up: the listings through the replica show what the primary has.
    let before = patient.cases_in_initial_review(1).await[0];
    wait_until_replayed(&patient, replica_server).await;
    assert!(queue_ids(&patient.base, &reviewer).await.contains(&before));
    assert!(audit_case_ids(&patient.base, &auditor)
        .await
        .contains(&before));

    // Replay paused: a new case is on the primary only.
    replica_sql(replica_server, "SELECT pg_wal_replay_pause()");
    let during = patient.cases_in_initial_review(1).await[0];
    // The case itself, read right after it was written, comes from the primary.
    let (status, case) = patient
        .get(&reviewer, &format!("/api/cases/{during}"))
        .await;
    assert_eq!(status, 200, "{case}");
    // The listings read the paused replica: the patient instance does not show it yet...
    assert!(!queue_ids(&patient.base, &reviewer).await.contains(&during));
    assert!(!audit_case_ids(&patient.base, &auditor)
        .await
        .contains(&during));
    let (status, page) = patient.page(&reviewer, "/queue").await;
    assert_eq!(status, 200);
    assert!(!page.contains(&format!("/cases/{during}\"")), "{page}");
    // ...nor do its reports fail there.
    for path in [
        "/api/supervision/dashboard".to_string(),
        format!(
            "/api/reports/reviewers?from=0&to={}",
            claimflow::store::now_ms() + 86_400_000
        ),
    ] {
        let token = if path.contains("dashboard") {
            &auditor
        } else {
            &patient.login("supervisor").await
        };
        let (status, body) = patient.get(token, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // ...while the strict one sees the replica fall behind and reads the primary.
    let lagging = wait_for_state(&strict, "lagging").await;
    assert!(lagging["lag_ms"].as_i64().unwrap() > 1000, "{lagging}");
    assert!(queue_ids(&strict, &reviewer).await.contains(&during));
    assert!(audit_case_ids(&strict, &auditor).await.contains(&during));
    let metrics = reqwest::get(format!("{strict}/metrics")).await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("claimflow_read_replica_in_use 0"),
        "{metrics}"
    );

    // The backtest and the what-if replay, commands of their own, read the replica when it
    // answers, and the primary when it does not.
    let out = tempfile::tempdir().unwrap();
    let out = out.path().to_str().unwrap();
    let backtest = [
        "screen",
        "--from",
        "2019-01-01",
        "--to",
        "2030-12-31",
        "--out",
        out,
    ];
    let whatif = [
        "whatif",
        "--policy",
        "policies/pingyang-2019.toml",
        "--from",
        "2019-01-01",
        "--to",
        "2019-12-31",
        "--out",
        out,
    ];
    for args in [&backtest[..], &whatif[..]] {
        let (code, said) = claimflow(&patient.config, &read_url, args);
        assert_eq!(code, 0, "{said}");
        assert!(said.contains("reading from the read replica"), "{said}");
    }
    let dead = read_url.replace(":5433/", &format!(":{}/", common::free_port()));
    let (code, said) = claimflow(&patient.config, &dead, &backtest);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("does not answer: reading from the primary"),
        "{said}"
    );

    // Replay resumed: the replica catches up and both instances read it again.
    replica_sql(replica_server, "SELECT pg_wal_replay_resume()");
    wait_until_replayed(&patient, replica_server).await;
    wait_for_state(&strict, "in_use").await;
    assert!(queue_ids(&patient.base, &reviewer).await.contains(&during));
    assert!(queue_ids(&strict, &reviewer).await.contains(&during));
}

/// Resumes the replica's replay when the test ends, whether it passed or not: a replica
/// left paused would hold every later test's reads.
struct ReplayResumed(String);

impl Drop for ReplayResumed {
    fn drop(&mut self) {
        replica_sql(&self.0, "SELECT pg_wal_replay_resume()");
    }
}

fn replica_server() -> Option<String> {
    match std::env::var("CLAIMFLOW_TEST_POSTGRES_REPLICA_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok() => {
            panic!("CLAIMFLOW_TEST_POSTGRES_REPLICA_URL must be set in CI (.ci/replica.sh)")
        }
        _ => None,
    }
}

fn replica_sql(server: &str, sql: &str) {
    let mut c = diesel::pg::PgConnection::establish(server).expect("connect to the replica");
    c.batch_execute(sql).expect(sql);
}

/// Waits until the replica has replayed everything the primary has written so far.
async fn wait_until_replayed(app: &TestApp, replica_server: &str) {
    #[derive(diesel::QueryableByName)]
    struct At {
        #[diesel(sql_type = diesel::sql_types::Text)]
        at: String,
    }
    let lsn = |url: &str, function: &str| -> String {
        let mut c = diesel::pg::PgConnection::establish(url).unwrap();
        let rows: Vec<At> = diesel::RunQueryDsl::load(
            diesel::sql_query(format!("SELECT ({function})::text AS at")),
            &mut c,
        )
        .unwrap();
        rows[0].at.clone()
    };
    let target = lsn(&app.config.database_url, "pg_current_wal_lsn()");
    let check = format!("pg_last_wal_replay_lsn() >= '{target}'::pg_lsn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while lsn(replica_server, &check) != "true" {
        assert!(
            Instant::now() < deadline,
            "the replica never reached {target}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn readyz(base: &str) -> (u16, Value) {
    let res = reqwest::get(format!("{base}/readyz")).await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// Waits (a minute at most, a guard against hanging, not a timing claim) until an
/// instance reports the replica in `state`; returns what it reported.
async fn wait_for_state(base: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, ready) = readyz(base).await;
        assert_eq!(status, 200, "{ready}");
        if ready["read_replica"]["state"] == state {
            return ready["read_replica"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the replica never became {state}: {ready}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Another instance on the same database, with its own settings; its base URL.
async fn second_app(config: Config) -> String {
    let core = claimflow::core::Core::open(config).expect("open second core");
    let app = claimflow::app::Application::build(core).expect("build second app");
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run());
    base
}

async fn queue_ids(base: &str, token: &str) -> Vec<i64> {
    let res = reqwest::Client::new()
        .get(format!("{base}/api/queue?limit=200"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    crate::queue::case_ids(&res.json().await.unwrap())
}

/// The case ids of the audit search's export.
async fn audit_case_ids(base: &str, token: &str) -> Vec<i64> {
    let res = reqwest::Client::new()
        .get(format!("{base}/audit/cases.csv"))
        .header(
            "cookie",
            format!("claimflow_session={token}; claimflow_lang=en"),
        )
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let body = body.trim_start_matches('\u{feff}');
    csv::Reader::from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect()
}

/// `claimflow ARGS` on the app's database with `read_url` as the replica: exit code and
/// everything it said.
fn claimflow(config: &Config, read_url: &str, args: &[&str]) -> (i32, String) {
    let done = std::process::Command::new(env!("CARGO_BIN_EXE_claimflow"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CLAIMFLOW_DATA_DIR", &config.data_dir)
        .env("CLAIMFLOW_DATABASE_URL", &config.database_url)
        .env("CLAIMFLOW_DATABASE_READ_URL", read_url)
        .env("CLAIMFLOW_JWT_SECRET", common::SECRET)
        .output()
        .unwrap();
    (
        done.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&done.stdout),
            String::from_utf8_lossy(&done.stderr)
        ),
    )
}
