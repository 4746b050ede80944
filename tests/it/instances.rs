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
    scenarios: [
        two_serve_processes_behind_a_round_robin_balancer,
        sessions_end_at_once_on_every_instance,
        sign_ins_are_throttled_across_instances
    ],
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
    // A senior reviewer on the other instance, holding the page from before the move, is
    // told that the case changed.
    let senior = login(&app, balancer[0], "senior_reviewer").await;
    let (status, stale) = call(
        &app,
        reqwest::Method::POST,
        format!("{}/api/cases/{case_id}/actions", balancer[0]),
        Some(&senior),
        Some(json!({"action": "approve", "comment": "", "expected_version": seen})),
    )
    .await;
    assert_eq!(status, 409, "{stale}");
}

/// Where the queue page ends up with this session cookie: itself, or the sign-in page.
async fn queue_page(app: &TestApp, base: &str, token: &str) -> String {
    let res = app
        .client
        .get(format!("{base}/queue"))
        .header("cookie", format!("claimflow_session={token}"))
        .send()
        .await
        .unwrap();
    res.url().path().to_string()
}

async fn me_at(app: &TestApp, base: &str, token: &str) -> (u16, Value) {
    call(
        app,
        reqwest::Method::GET,
        format!("{base}/api/me"),
        Some(token),
        None,
    )
    .await
}

/// Server-side sessions (issue 23, item 1): signing out, disabling a user, changing their
/// roles and region, and resetting their password each end the user's sessions at once on
/// the other instance too; roles and region are read from the database, not the token.
async fn sessions_end_at_once_on_every_instance(app: TestApp) {
    let (a, b) = (
        ServeProcess::start(&app).await,
        ServeProcess::start(&app).await,
    );
    let (a, b) = (a.base.clone(), b.base.clone());
    let id = app.add_user("session_rev", &[Role::Reviewer], "330300");
    let admin = login(&app, &b, "admin").await;

    // Signing out through A ends the session B honoured a moment ago, cookie and bearer alike.
    let token = login(&app, &a, "session_rev").await;
    assert_eq!(me_at(&app, &b, &token).await.0, 200);
    assert_eq!(
        queue_page(&app, &b, &token).await,
        "/queue",
        "a live cookie opens the page"
    );
    let (status, _) = call(
        &app,
        reqwest::Method::POST,
        format!("{a}/api/auth/logout"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = me_at(&app, &b, &token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    assert_eq!(
        queue_page(&app, &b, &token).await,
        "/login",
        "the old cookie opens no page: it is sent to sign in"
    );

    // New roles and region: the open session ends; the next sign-in carries them.
    let token = login(&app, &a, "session_rev").await;
    let (status, body) = call(
        &app,
        reqwest::Method::PUT,
        format!("{b}/api/admin/users/{id}/roles"),
        Some(&admin),
        Some(json!({"roles": ["auditor"], "region_code": "330326"})),
    )
    .await;
    assert_eq!(
        (status, body["sessions_ended"].as_i64()),
        (200, Some(1)),
        "{body}"
    );
    assert_eq!(me_at(&app, &a, &token).await.0, 401);
    let token = login(&app, &a, "session_rev").await;
    let (_, me) = me_at(&app, &b, &token).await;
    assert_eq!(
        (me["roles"].clone(), me["region"].clone()),
        (json!(["auditor"]), json!("330326")),
        "{me}"
    );
    let (status, body) = call(
        &app,
        reqwest::Method::PUT,
        format!("{b}/api/admin/users/{id}/roles"),
        Some(&admin),
        Some(json!({"roles": ["mayor"], "region_code": "330326"})),
    )
    .await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("roles")),
        "{body}"
    );

    // A password reset ends the session; the old password opens nothing, the new one does.
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        format!("{b}/api/admin/users/{id}/password"),
        Some(&admin),
        Some(json!({"password": "short"})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = call(
        &app,
        reqwest::Method::POST,
        format!("{b}/api/admin/users/{id}/password"),
        Some(&admin),
        Some(json!({"password": "a-new-long-password"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me_at(&app, &a, &token).await.0, 401);
    let old = call(
        &app,
        reqwest::Method::POST,
        format!("{a}/api/auth/login"),
        None,
        Some(json!({"username": "session_rev", "password": crate::common::PASSWORD})),
    )
    .await;
    assert_eq!(old.0, 401);
    let (status, fresh) = call(
        &app,
        reqwest::Method::POST,
        format!("{a}/api/auth/login"),
        None,
        Some(json!({"username": "session_rev", "password": "a-new-long-password"})),
    )
    .await;
    assert_eq!(status, 200, "{fresh}");
    let token = fresh["token"].as_str().unwrap().to_string();

    // Disabled: the session ends everywhere and the right password is refused.
    let reviewer = login(&app, &a, "reviewer").await;
    let (status, _) = call(
        &app,
        reqwest::Method::POST,
        format!("{a}/api/admin/users/{id}/disable"),
        Some(&reviewer),
        None,
    )
    .await;
    assert_eq!(status, 403, "only an admin disables a user");
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        format!("{a}/api/admin/users/{id}/disable"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, body["sessions_ended"].as_i64()),
        (200, Some(1)),
        "{body}"
    );
    assert_eq!(me_at(&app, &b, &token).await.0, 401);
    let again = call(
        &app,
        reqwest::Method::POST,
        format!("{b}/api/auth/login"),
        None,
        Some(json!({"username": "session_rev", "password": "a-new-long-password"})),
    )
    .await;
    assert_eq!(again.0, 401, "a disabled user signs in no more");
    let (status, _) = call(
        &app,
        reqwest::Method::POST,
        format!("{a}/api/admin/users/987654/disable"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

/// Login throttling (issue 23, item 2): failures through either instance count against the
/// account and the address in the shared database; then even the right password is refused
/// with 429 and Retry-After, every attempt is logged with its address, and an admin lifts it.
async fn sign_ins_are_throttled_across_instances(app: TestApp) {
    let (a, b) = (
        ServeProcess::start(&app).await,
        ServeProcess::start(&app).await,
    );
    let (a, b) = (a.base.clone(), b.base.clone());
    app.add_user("throttled_rev", &[Role::Reviewer], "330300");
    let admin = login(&app, &a, "admin").await;
    let attempt = |base: String, password: &'static str| {
        let client = app.client.clone();
        async move {
            client
                .post(format!("{base}/api/auth/login"))
                .json(&json!({"username": "throttled_rev", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    for base in [&a, &b, &a] {
        assert_eq!(attempt(base.clone(), "wrong-password").await.status(), 401);
    }
    let refused = attempt(b.clone(), crate::common::PASSWORD).await;
    assert_eq!(refused.status(), 429, "the right password waits too");
    let retry: i64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests", "{body}");
    assert!(
        body["message_zh"].as_str().unwrap().contains("秒后再试"),
        "{body}"
    );

    let outcomes: Vec<(String, String)> = {
        use claimflow::store::schema::login_events::dsl::*;
        use diesel::prelude::*;
        let mut conn = app.conn();
        let conn: &mut claimflow::store::DbConn = &mut conn;
        claimflow::db_run!(conn, c => login_events.filter(username.eq("throttled_rev")).order(id).select((outcome, address)).load(c)).unwrap()
    };
    let kinds: Vec<&str> = outcomes.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(kinds, ["failed", "failed", "failed", "throttled"]);
    assert!(
        outcomes.iter().all(|(_, addr)| addr == "127.0.0.1"),
        "{outcomes:?}"
    );

    let (status, body) = call(
        &app,
        reqwest::Method::DELETE,
        format!("{b}/api/admin/lockouts/throttled_rev"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, body["lifted"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert_eq!(
        attempt(a.clone(), crate::common::PASSWORD).await.status(),
        200,
        "lifted"
    );
}
