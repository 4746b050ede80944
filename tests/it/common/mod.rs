//! Test harness: `spawn_app` starts the real application on a random port with a fresh
//! database: a temporary SQLite file, or a new PostgreSQL database on the server named by
//! `CLAIMFLOW_TEST_POSTGRES_URL`.
use claimflow::app::Application;
use claimflow::config::Config;
use claimflow::core::Core;
use claimflow::domain::roles::Role;
use claimflow::store::{self, users, DbConn};
use diesel::Connection;
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::path::PathBuf;

pub const PASSWORD: &str = "demo-pass-1";
pub const SECRET: &str = "test-secret-test-secret-test-secret-42";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub config: Config,
    pub backend: Backend,
    pub pool: store::Pool,
    _dir: tempfile::TempDir,
}

pub fn postgres_server() -> Option<String> {
    match std::env::var("CLAIMFLOW_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok() => panic!("CLAIMFLOW_TEST_POSTGRES_URL must be set in CI"),
        _ => None,
    }
}

/// A new, empty PostgreSQL database on the test server; returns its URL.
pub fn fresh_postgres_database(server: &str) -> String {
    let name = format!("cf_test_{}_{}", std::process::id(), rand_suffix());
    let mut admin =
        diesel::pg::PgConnection::establish(server).expect("connect to the PostgreSQL test server");
    diesel::connection::SimpleConnection::batch_execute(
        &mut admin,
        &format!("CREATE DATABASE {name}"),
    )
    .expect("create test database");
    let (base, _) = server.rsplit_once('/').expect("URL with a database name");
    format!("{base}/{name}")
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}{}",
        N.fetch_add(1, Ordering::SeqCst),
        chrono::Utc::now().timestamp_micros() % 1_000_000
    )
}

pub fn test_config(backend: Backend, dir: &std::path::Path) -> Option<Config> {
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("test.db").display()),
        Backend::Postgres => fresh_postgres_database(&postgres_server()?),
    };
    let config = Config {
        database_url,
        data_dir: dir.to_path_buf(),
        bind: "127.0.0.1:0".into(),
        jwt_secret: SECRET.into(),
        demo_password: Some(PASSWORD.into()),
        workflows_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("workflows"),
        policies_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies"),
        calendar_file: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies/calendars/cn.toml"),
        region_calendars_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("policies/calendars/regions"),
        sanctions_file: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("policies/supervision/order735.toml"),
        screening_file: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("policies/screening/rules.toml"),
        controls_file: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("policies/controls/controls.toml"),
        web_templates_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates/web"),
        locales_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("locales"),
        static_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static"),
        mail: claimflow::config::MailConfig {
            backend: "memory".into(),
            templates_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates/emails"),
            ..Default::default()
        },
        jobs: claimflow::config::JobsConfig {
            enabled: false,
            ..Default::default()
        },
        pool_size: 6,
        authority_limits_fen: [
            ("reviewer".to_string(), 100_000),
            ("senior_reviewer".to_string(), 500_000),
        ]
        .into_iter()
        .collect(),
        ..Config::default()
    };
    Some(config.finish().expect("valid test config"))
}

/// Starts the app with demo data. `None` when the backend is not available here.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = test_config(backend, dir.path())?;
    Some(spawn_with(backend, config, dir).await)
}

pub async fn spawn_with(backend: Backend, config: Config, dir: tempfile::TempDir) -> TestApp {
    spawn_seeded(backend, config, dir, true).await
}

/// Starts the app with the demo people, facilities and registries but no demo cases.
pub async fn spawn_without_cases(backend: Backend) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = test_config(backend, dir.path())?;
    Some(spawn_seeded(backend, config, dir, false).await)
}

pub async fn spawn_seeded(
    backend: Backend,
    config: Config,
    dir: tempfile::TempDir,
    cases: bool,
) -> TestApp {
    let core = Core::open(config.clone()).expect("open core");
    let pool = core.pool.clone();
    {
        let defs = core.defs.clone();
        let notifier = core.notifier.clone();
        let accounts = core.accounts.clone();
        let config = config.clone();
        let data_dir = config.data_dir.clone();
        let pool = pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get().unwrap();
            if cases {
                claimflow::cli::demo::seed(
                    &mut conn,
                    claimflow::service::Env::new(&defs, &notifier, &accounts, &config),
                    &data_dir,
                    Some(PASSWORD),
                )
                .expect("seed demo");
            } else {
                claimflow::cli::demo::seed_people(&mut conn, Some(PASSWORD))
                    .expect("seed demo people");
            }
        })
        .await
        .unwrap();
    }
    let app = Application::build(core).expect("build app");
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run());
    TestApp {
        base,
        client: reqwest::Client::new(),
        config,
        backend,
        pool,
        _dir: dir,
    }
}

/// Whether the PostgreSQL variants can run here. In CI they must: a missing server is a
/// failure there, not a skip.
pub fn postgres_available() -> bool {
    std::env::var("CLAIMFLOW_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty())
        || std::env::var("CI").is_ok()
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Runs a future to completion on its own actix system, as `#[actix_web::test]` does.
pub fn block_on<F: std::future::Future<Output = ()>>(f: F) {
    actix_web::rt::System::new().block_on(f)
}

/// One trial per backend, `module::name::sqlite` and `module::name::postgres`; the
/// PostgreSQL one is ignored, and counted as such in the summary, when no server is named.
pub fn per_backend(
    module: &str,
    name: &str,
    run: impl Fn(Backend) + Send + Sync + Clone + 'static,
) -> Vec<Trial> {
    [Backend::Sqlite, Backend::Postgres]
        .into_iter()
        .map(|backend| {
            let run = run.clone();
            Trial::test(
                format!("{module}::{name}::{}", backend_name(backend)),
                move || {
                    run(backend);
                    Ok(())
                },
            )
            .with_ignored_flag(backend == Backend::Postgres && !postgres_available())
        })
        .collect()
}

/// A scenario on the app with demo data, once per backend.
pub fn scenario<Fut>(module: &str, name: &str, scenario: fn(TestApp) -> Fut) -> Vec<Trial>
where
    Fut: std::future::Future<Output = ()> + 'static,
{
    per_backend(module, name, move |backend| {
        block_on(async move {
            let app = spawn_app(backend)
                .await
                .expect("set CLAIMFLOW_TEST_POSTGRES_URL to run on PostgreSQL");
            scenario(app).await
        })
    })
}

/// A test that needs no backend.
pub fn plain(module: &str, name: &str, test: fn()) -> Trial {
    Trial::test(format!("{module}::{name}"), move || {
        test();
        Ok(())
    })
}

/// The trials of a test module: `scenarios` run on the app with demo data on both
/// backends, `backends` take the backend and run once on each, `plain` need neither.
#[macro_export]
macro_rules! trials {
    ($module:ident {
        $(scenarios: [$($scenario:ident),* $(,)?],)?
        $(backends: [$($backend:ident),* $(,)?],)?
        $(plain: [$($plain:ident),* $(,)?],)?
    }) => {
        pub fn trials() -> Vec<libtest_mimic::Trial> {
            let module = stringify!($module);
            let groups: Vec<Vec<libtest_mimic::Trial>> = vec![
                $($($crate::common::scenario(module, stringify!($scenario), $scenario),)*)?
                $($($crate::common::per_backend(module, stringify!($backend), $backend),)*)?
                $(vec![$($crate::common::plain(module, stringify!($plain), $plain)),*],)?
            ];
            groups.into_iter().flatten().collect()
        }
    };
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn conn(&self) -> store::PooledConn {
        self.pool.get().expect("db connection")
    }

    pub async fn login(&self, username: &str) -> String {
        self.login_with(username, PASSWORD).await
    }

    pub async fn login_with(&self, username: &str, password: &str) -> String {
        let (status, token) = self.try_login(username, password).await;
        assert_eq!(status, 200, "login as {username}");
        token
    }

    /// Signs in with a password: the status and the token (empty when refused).
    pub async fn try_login(&self, username: &str, password: &str) -> (u16, String) {
        let res = self
            .client
            .post(self.url("/api/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        (
            status,
            body["token"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// The `text` column of a query's rows, on either backend.
    pub fn text_column(&self, sql: &str) -> Vec<String> {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            text: String,
        }
        let mut conn = self.conn();
        let rows: Vec<Row> = match &mut *conn {
            store::DbConn::Sqlite(c, _) => diesel::sql_query(sql).load(c),
            store::DbConn::Pg(c) => diesel::sql_query(sql).load(c),
        }
        .unwrap();
        rows.into_iter().map(|r| r.text).collect()
    }

    /// A page as the browser gets it with this session, in Chinese.
    pub async fn page(&self, token: &str, path: &str) -> (u16, String) {
        let (status, _, body) = self.fetch(token, path, "zh-CN").await;
        (status, body)
    }

    /// A page or export as the browser gets it with this session and language: status,
    /// content type, body.
    pub async fn fetch(&self, token: &str, path: &str, lang: &str) -> (u16, String, String) {
        let res = self
            .client
            .get(self.url(path))
            .header(
                "cookie",
                format!("claimflow_session={token}; claimflow_lang={lang}"),
            )
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let kind = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, kind, res.text().await.unwrap())
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A request without a token (public endpoints).
    pub async fn public(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.send_json(self.client.post(self.url(path)), token, body)
            .await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.send_json(self.client.put(self.url(path)), token, body)
            .await
    }

    async fn send_json(
        &self,
        req: reqwest::RequestBuilder,
        token: &str,
        body: Value,
    ) -> (u16, Value) {
        let res = req.bearer_auth(token).json(&body).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A request as the browser sends it with this session (cookie, Chinese), without
    /// following a redirect.
    pub fn as_browser(
        &self,
        method: reqwest::Method,
        path: &str,
        session: &str,
    ) -> reqwest::RequestBuilder {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .request(method, self.url(path))
            .header(
                "cookie",
                format!("claimflow_session={session}; claimflow_lang=zh-CN"),
            )
    }

    /// Takes an action at the case's current version.
    /// Posts a form from a page with the page's CSRF token, as the browser would (session
    /// cookie, Chinese), without following the redirect.
    pub async fn post_form(
        &self,
        token: &str,
        path: &str,
        csrf: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String) {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", csrf));
        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(self.url(path))
            .header(
                "cookie",
                format!("claimflow_session={token}; claimflow_lang=zh-CN"),
            )
            .form(&form)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    pub async fn act(
        &self,
        token: &str,
        case_id: i64,
        action: &str,
        comment: &str,
    ) -> (u16, Value) {
        let (_, case) = self.get(token, &format!("/api/cases/{case_id}")).await;
        let version = case["version"].as_i64().unwrap_or(0);
        self.post(
            token,
            &format!("/api/cases/{case_id}/actions"),
            json!({"action": action, "comment": comment, "expected_version": version}),
        )
        .await
    }

    /// The actions of a case's audit trail, oldest first (read as a supervisor).
    pub async fn event_actions(&self, case_id: i64) -> Vec<String> {
        let supervisor = self.login("supervisor").await;
        let (_, events) = self
            .get(&supervisor, &format!("/api/cases/{case_id}/events"))
            .await;
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    }

    pub async fn upload(
        &self,
        token: &str,
        claim_id: i64,
        kind: &str,
        filename: &str,
        bytes: Vec<u8>,
    ) -> (u16, Value) {
        self.upload_for(token, claim_id, kind, None, filename, bytes)
            .await
    }

    /// Uploads a document answering item `request_id` of the claim's latest return.
    pub async fn upload_for(
        &self,
        token: &str,
        claim_id: i64,
        kind: &str,
        request_id: Option<i64>,
        filename: &str,
        bytes: Vec<u8>,
    ) -> (u16, Value) {
        let mut form = reqwest::multipart::Form::new().text("kind", kind.to_string());
        if let Some(id) = request_id {
            form = form.text("request_id", id.to_string());
        }
        let form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
        );
        let res = self
            .client
            .post(self.url(&format!("/api/claims/{claim_id}/documents")))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Adds a user directly (as `claimflow user add` does).
    /// Adds a user with the test password; returns their id.
    pub fn add_user(&self, username: &str, roles: &[Role], region: &str) -> i64 {
        let hash = claimflow::auth::hash_password(PASSWORD).unwrap();
        users::insert(
            &mut self.conn(),
            &users::NewUser {
                username,
                password_hash: &hash,
                display_name: username,
                region_code: region,
                org: "test",
                email: None,
                lang: "zh-CN",
                created_at: store::now_ms(),
            },
            roles,
        )
        .unwrap()
    }

    pub fn raw_sql(&self, sql: &str) -> diesel::QueryResult<()> {
        let mut conn = self.conn();
        let conn: &mut DbConn = &mut conn;
        claimflow::db_run!(conn, c => diesel::connection::SimpleConnection::batch_execute(c, sql))
    }
}

pub fn trauma_claim() -> Value {
    json!({
        "family": "trauma",
        "encounter_kind": "inpatient",
        "facility_code": "H330326001",
        "admission_date": "2019-05-02",
        "discharge_date": "2019-05-10",
        "diagnosis_code": "S52.501",
        "invoice_numbers": ["PY2026-000123"],
        "total_fen": 1_250_000,
        "policy_scope_fen": 1_000_000,
        "self_paid_fen": 150_000,
        "facts": { "third_party_declaration": "在家中跌倒，无第三方责任" }
    })
}

/// The same claim moved to the `n`th of a series of stays 20 days apart (from 5 January
/// 2019), with its own invoice: several claims of one person that the screening rules do not
/// take for overlapping stays, split stays or a reused invoice.
pub fn nth_stay(mut body: Value, n: u64) -> Value {
    let admission =
        chrono::NaiveDate::from_ymd_opt(2019, 1, 5).unwrap() + chrono::Days::new(20 * n);
    body["admission_date"] = json!(admission.to_string());
    body["discharge_date"] = json!((admission + chrono::Days::new(4)).to_string());
    let invoice = body["invoice_numbers"][0]
        .as_str()
        .unwrap_or("INV")
        .to_string();
    body["invoice_numbers"] = json!([format!("{invoice}-S{n}")]);
    body
}

pub const TRAUMA_DOCUMENTS: [&str; 7] = [
    "invoice",
    "diagnosis_certificate",
    "discharge_summary",
    "medical_record",
    "itemised_bill",
    "no_third_party_certificate",
    "identity_confirmation",
];

pub fn pdf() -> Vec<u8> {
    claimflow::cli::demo::DEMO_PDF.to_vec()
}

impl TestApp {
    /// A second application instance on the same database (as behind a load balancer).
    pub async fn second_instance(&self) -> String {
        let core = Core::open(self.config.clone()).expect("open second core");
        let app = Application::build(core).expect("build second app");
        let base = format!("http://127.0.0.1:{}", app.port());
        actix_web::rt::spawn(app.run());
        base
    }

    /// Creates `n` trauma cases waiting in initial review, through the services.
    pub async fn cases_in_initial_review(&self, n: usize) -> Vec<i64> {
        let pool = self.pool.clone();
        let config = self.config.clone();
        actix_web::web::block(move || {
            let core = Core::open(config.clone()).unwrap();
            let mut conn = pool.get().unwrap();
            let who = |conn: &mut DbConn, name: &str| {
                let u = users::find_by_username(conn, name).unwrap().unwrap();
                claimflow::service::principal(conn, u).unwrap()
            };
            let (resident, clerk) = (who(&mut conn, "resident"), who(&mut conn, "clerk"));
            let mut ids = Vec::new();
            // Each new claim gets its own three-night stay, five days after the resident's
            // previous one, rotating over four facilities, so that the screening rules see
            // neither overlapping stays nor a readmission.
            let filed: i64 = {
                use claimflow::store::schema::claims::dsl::{admission_date, claims, resident_user_id};
                use diesel::prelude::*;
                let conn: &mut DbConn = &mut conn;
                // The demo's own claims start on 10 September.
                claimflow::db_run!(conn, c => claims.filter(resident_user_id.eq(resident.user_id).and(admission_date.lt("2019-09-01"))).count().get_result(c)).unwrap()
            };
            for i in 0..n {
                let slot = filed as u64 + i as u64;
                let admission = chrono::NaiveDate::from_ymd_opt(2019, 1, 5).unwrap() + chrono::Days::new(5 * slot);
                let mut body = trauma_claim();
                body["facility_code"] = serde_json::json!(["H330326001", "H330326010", "H330300002", "H310000003"][(slot % 4) as usize]);
                body["admission_date"] = serde_json::json!(admission.to_string());
                body["discharge_date"] = serde_json::json!((admission + chrono::Days::new(3)).to_string());
                // Four diagnosis groups in turn, as four facilities: a stay and the next ones
                // are neither readmissions nor a stay split across facilities.
                body["diagnosis_code"] = serde_json::json!(["S72.001", "S82.201", "S52.501", "S42.201"][(slot % 4) as usize]);
                body["invoice_numbers"] = serde_json::json!([format!("Q-{i}-{}", store::now_ms())]);
                let input: claimflow::domain::claim::ClaimInput =
                    serde_json::from_value(body).unwrap();
                let done = claimflow::service::intake::submit(
                    &mut conn,
                    core.env(),
                    &resident,
                    &input,
                    claimflow::service::intake::Retries::NONE,
                    store::now_ms(),
                )
                .unwrap();
                for kind in TRAUMA_DOCUMENTS {
                    let up = claimflow::service::documents::Upload {
                        claim_id: done.claim_id,
                        kind,
                        filename: "a.pdf",
                        bytes: claimflow::cli::demo::DEMO_PDF,
                        now_ms: store::now_ms(),
                        request_id: None,
                    };
                    claimflow::service::documents::add_document(
                        &mut conn,
                        &config.data_dir,
                        &resident,
                        &up,
                    )
                    .unwrap();
                }
                let version = claimflow::store::cases::get(&mut conn, done.case_id)
                    .unwrap()
                    .unwrap()
                    .version;
                let req = claimflow::service::cases::ActionRequest::simple(
                    done.case_id,
                    "accept",
                    "",
                    version,
                    store::now_ms(),
                );
                claimflow::service::cases::act(&mut conn, core.env(), &clerk, &req).unwrap();
                ids.push(done.case_id);
            }
            ids
        })
        .await
        .unwrap()
    }
}

/// A real SMTP server on loopback (Python's aiosmtpd) that files every message it accepts
/// in a Maildir. Killed when dropped.
pub struct SmtpSink {
    pub port: u16,
    pub maildir: PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

/// Installs aiosmtpd with pip the first time it is missing, so that `cargo test` needs
/// nothing more than python3 on a fresh machine.
fn ensure_aiosmtpd() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let present = |py: &str| {
            std::process::Command::new(py)
                .args(["-c", "import aiosmtpd"])
                .status()
                .is_ok_and(|s| s.success())
        };
        if !present("python3") {
            let status = std::process::Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
                .status()
                .expect("python3 is needed for the mail tests");
            assert!(
                status.success() && present("python3"),
                "pip install aiosmtpd failed"
            );
        }
    });
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        SmtpSink::start_on(free_port())
    }

    pub fn start_on(port: u16) -> SmtpSink {
        ensure_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("Maildir");
        let child = std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd is needed for mail tests: pip install aiosmtpd");
        let mut sink = SmtpSink {
            port,
            maildir,
            child,
            _dir: dir,
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return sink;
            }
            if let Ok(Some(status)) = sink.child.try_wait() {
                panic!("aiosmtpd exited with {status}: is it installed? (pip install aiosmtpd)");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("aiosmtpd did not listen on 127.0.0.1:{port}");
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in entries.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap());
                }
            }
        }
        out
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config that sends mail by SMTP to this port on loopback.
pub fn with_smtp(mut config: Config, port: u16) -> Config {
    config.mail.backend = "smtp".into();
    config.mail.smtp_host = "127.0.0.1".into();
    config.mail.smtp_port = port;
    config.mail.smtp_security = "none".into();
    config.mail.smtp_timeout_secs = 5;
    config.jobs.escalate_outside_working_hours = true;
    config
}

/// Decodes a raw message's base64 or quoted-printable text parts well enough to search.
pub fn decoded(raw: &str) -> String {
    use base64::Engine;
    let is_b64 = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    };
    let mut out = String::new();
    let mut block = String::new();
    for line in raw.lines().map(str::trim_end).chain(std::iter::once("")) {
        if is_b64(line) {
            block.push_str(line);
            continue;
        }
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&block) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
        block.clear();
    }
    out.push_str(&quoted_printable_decode(raw));
    out
}

fn quoted_printable_decode(raw: &str) -> String {
    let mut bytes = Vec::new();
    let raw = raw.replace("=\r\n", "").replace("=\n", "");
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                bytes.push(v);
                i += 3;
                continue;
            }
        }
        bytes.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"_csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 20;
    html[at..].split('"').next().unwrap().to_string()
}

/// A phantom-bed violation of 100,000 yuan at `facility`, taken through the inspector's and
/// the facility's stages to the supervisor's decision. Returns (violation id, case id).
pub async fn violation_at_decision(app: &TestApp, facility: &str) -> (i64, i64) {
    let (inspector, supervisor) = (app.login("inspector").await, app.login("supervisor").await);
    let (status, v) = app
        .post(&inspector, "/api/violations", json!({"facility_code": facility, "type_code": "phantom_bed", "amount_fen": 10_000_000, "claim_ids": [], "department": "骨科", "description": "举报线索核实：挂床住院 40 人次"}))
        .await;
    assert_eq!(status, 201, "{v}");
    let (id, case_id) = (
        v["violation"]["id"].as_i64().unwrap(),
        v["case_id"].as_i64().unwrap(),
    );
    for (token, action) in [
        (&inspector, "submit_for_review"),
        (&supervisor, "request_statement"),
        (&inspector, "no_statement"),
    ] {
        assert_eq!(app.act(token, case_id, action, "").await.0, 200, "{action}");
    }
    (id, case_id)
}

/// Sanctions a violation at its decision (the whole amount repaid, a fine of the same) and
/// records `paid_fen` towards the repayment. Returns the repayment's id.
pub async fn sanction_and_repay(app: &TestApp, violation_id: i64, paid_fen: i64) -> i64 {
    let supervisor = app.login("supervisor").await;
    let (_, current) = app
        .get(&supervisor, &format!("/api/violations/{violation_id}"))
        .await;
    let (status, v) = app
        .post(&supervisor, &format!("/api/violations/{violation_id}/sanction"), json!({"expected_version": current["version"], "fine_fen": 10_000_000, "rectification_due": "2027-01-31"}))
        .await;
    assert_eq!(status, 200, "{v}");
    let repay = v["recoveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "repay")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, res) = app
        .post(
            &supervisor,
            &format!("/api/recoveries/{repay}/payments"),
            json!({"amount_fen": paid_fen}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    repay
}

/// One run of a scheduled job, now, as `claimflow jobs run` does it.
pub async fn run_job(app: &TestApp, job: claimflow::config::Job) -> Value {
    let config = app.config.clone();
    actix_web::web::block(move || {
        let core = Core::open(config).unwrap();
        let runner = claimflow::jobs::JobRunner::new(&core).unwrap();
        runner.run_now(job, store::now_ms()).unwrap()
    })
    .await
    .unwrap()
}

/// A person the agency's admin registers, enrolled for 2019 on `enrolled_on` through
/// `channel`, and dead since `death` if given; its household is `330326-户` and the 3 digits
/// of its sequence (`first17[14..17]`). Returns the ID number.
pub async fn register_person(
    app: &TestApp,
    first17: &str,
    enrolled_on: &str,
    channel: &str,
    death: Option<&str>,
) -> String {
    use claimflow::domain::person::IdNumber;
    let admin = app.login("admin").await;
    let id = IdNumber::with_check_digit(first17);
    let parsed = IdNumber::parse(&id).unwrap();
    let person = json!({
        "id_number": id, "name": "测试参保人", "sex": parsed.sex().to_string(), "birth_date": parsed.birth_date().to_string(),
        "household": format!("330326-户{}", &first17[14..17]), "region_code": "330326", "death_date": death,
    });
    let (status, body) = app.post(&admin, "/api/admin/persons", person).await;
    assert_eq!(status, 201, "{body}");
    let enrolment = json!({
        "id_number": id, "coverage_year": 2019, "period_start": "2019-01-01", "period_end": "2019-12-31",
        "tier": 1, "enrolled_on": enrolled_on, "channel": channel,
    });
    let (status, body) = app.post(&admin, "/api/admin/enrolments", enrolment).await;
    assert_eq!(status, 201, "{body}");
    id
}

/// Where a response redirects to (empty when it does not).
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}
