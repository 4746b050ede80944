//! Several `claimflow serve` processes on one database, as behind a round-robin load
//! balancer: a token issued by one process is honoured by the other, a write through one is
//! read back through the other at once (no process caches case state), a stale version is
//! refused across processes, and claim-next leases stay exclusive across processes (each
//! has its own connection pool and, on SQLite, its own write gate).
use crate::common::TestApp;
use claimflow::domain::roles::Role;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

crate::trials!(instances {
    scenarios: [two_serve_processes_behind_a_round_robin_balancer],
});

/// A `claimflow serve` process on the test app's database, killed when dropped.
struct ServeProcess {
    child: Child,
    base: String,
}

impl ServeProcess {
    async fn start(app: &TestApp) -> ServeProcess {
        let port = crate::common::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_claimflow"))
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CLAIMFLOW_DATABASE_URL", &app.config.database_url)
            .env("CLAIMFLOW_DATA_DIR", &app.config.data_dir)
            .env("CLAIMFLOW_JWT_SECRET", crate::common::SECRET)
            .env("CLAIMFLOW_BIND", format!("127.0.0.1:{port}"))
            .env("CLAIMFLOW_MAIL__BACKEND", "file")
            // Scheduled jobs across instances are tested in tests/operations.rs; here they
            // would only move cases under the test's feet.
            .env("CLAIMFLOW_JOBS__ENABLED", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start claimflow serve");
        let mut process = ServeProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        process.wait_ready(&app.client).await;
        process
    }

    async fn wait_ready(&mut self, client: &reqwest::Client) {
        for _ in 0..600 {
            if let Ok(res) = client.get(format!("{}/readyz", self.base)).send().await {
                if res.status() == 200 {
                    return;
                }
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("serve exited early with {status}");
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve at {} was not ready within 30 s", self.base);
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.client.request(method, url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn login(app: &TestApp, base: &str, username: &str) -> String {
    let (status, body) = call(
        app,
        reqwest::Method::POST,
        format!("{base}/api/auth/login"),
        None,
        Some(json!({"username": username, "password": crate::common::PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "login as {username} at {base}: {body}");
    body["token"].as_str().unwrap().to_string()
}

async fn two_serve_processes_behind_a_round_robin_balancer(app: TestApp) {
    app.cases_in_initial_review(12).await;
    let (a, b) = (
        ServeProcess::start(&app).await,
        ServeProcess::start(&app).await,
    );
    let balancer = [a.base.as_str(), b.base.as_str()];

    // Sessions are tokens: issued by A, honoured by B.
    let token = login(&app, balancer[0], "reviewer").await;
    let (status, me) = call(
        &app,
        reqwest::Method::GET,
        format!("{}/api/me", balancer[1]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["username"], "reviewer");

    // Twelve reviewers ask for their next case at once, alternately through A and B.
    let mut tokens = Vec::new();
    for i in 0..12 {
        let name = format!("lb_rev{i:02}");
        app.add_user(&name, &[Role::Reviewer], "330300");
        tokens.push(login(&app, balancer[i % 2], &name).await);
    }
    let calls = tokens.iter().enumerate().map(|(i, t)| {
        call(
            &app,
            reqwest::Method::POST,
            format!("{}/api/queue/next", balancer[i % 2]),
            Some(t),
            None,
        )
    });
    let handed = futures_util::future::join_all(calls).await;
    let mut ids = HashSet::new();
    for (status, body) in &handed {
        assert_eq!(*status, 200, "{body}");
        assert!(
            ids.insert(body["id"].as_i64().unwrap()),
            "case {} was leased by two reviewers on different processes",
            body["id"]
        );
    }

    // A write through B is what A reads next; the version A saw before is then stale.
    let (_, first) = &handed[0];
    let case_id = first["id"].as_i64().unwrap();
    let seen = first["version"].as_i64().unwrap();
    let action = |version: i64| json!({"action": "recommend_approve", "comment": "符合规定", "expected_version": version});
    let (status, acted) = call(
        &app,
        reqwest::Method::POST,
        format!("{}/api/cases/{case_id}/actions", balancer[1]),
        Some(&tokens[0]),
        Some(action(seen)),
    )
    .await;
    assert_eq!(status, 200, "{acted}");
    let supervisor = login(&app, balancer[1], "supervisor").await;
    let (status, read) = call(
        &app,
        reqwest::Method::GET,
        format!("{}/api/cases/{case_id}", balancer[0]),
        Some(&supervisor),
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["stage"], "second_review", "{read}");
    assert_eq!(read["version"], acted["version"], "{read}");
    assert!(read["version"].as_i64().unwrap() > seen);
    let (status, stale) = call(
        &app,
        reqwest::Method::POST,
        format!("{}/api/cases/{case_id}/actions", balancer[0]),
        Some(&tokens[0]),
        Some(action(seen)),
    )
    .await;
    assert_eq!(status, 409, "{stale}");
}
