//! Configuration: defaults, then a TOML file, then `CLAIMFLOW_*` environment variables.
//! `Config::load` refuses invalid settings with a message that names the setting.
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The highest `max_claim_yuan` accepted: sums of a billion such claims still fit in an i64
/// of fen, so no SQL total in the store or the reports can overflow.
pub const MAX_CLAIM_YUAN_CEILING: i64 = crate::domain::money::CEILING_FEN / 100;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://PATH` (or a bare path) or `postgres://…`. Empty: `DATA_DIR/claimflow.db`.
    pub database_url: String,
    /// A PostgreSQL streaming replica for reads that may lag a little: the queue listing,
    /// reports, the audit search, the backtest and the what-if replay. Unset: the primary.
    pub database_read_url: Option<String>,
    /// The replica is read while it is at most this far behind the primary; beyond it (or
    /// when it does not answer) those reads go to the primary until it has caught up.
    pub read_max_lag_ms: i64,
    pub data_dir: PathBuf,
    pub bind: String,
    /// HS256 secret, at least 32 bytes. Empty: generated once and kept in `DATA_DIR/jwt_secret`.
    pub jwt_secret: String,
    pub jwt_ttl_minutes: i64,
    /// The key of the audit checkpoints' HMAC, at least 32 bytes, kept out of the database so
    /// that whoever can write to it cannot forge a checkpoint. Empty: generated once and kept
    /// in `DATA_DIR/audit_key`. Several instances must share an explicit `CLAIMFLOW_AUDIT_KEY`.
    pub audit_key: String,
    /// Encrypts payee account numbers at rest. Empty: generated once and kept in
    /// `DATA_DIR/account_key`. Several instances must share an explicit `CLAIMFLOW_ACCOUNT_KEY`.
    pub account_key: String,
    /// Days after a decision within which the resident may appeal it (申诉; default 60, as
    /// for administrative reconsideration).
    pub appeal_days: u32,
    /// How long a claim-next lease lasts before the case returns to the pool.
    pub lease_ttl_minutes: i64,
    /// The largest amount (fen) each role may decide; above it the decision goes to the
    /// workflow's authority stage. Roles not listed have no limit.
    pub authority_limits_fen: std::collections::BTreeMap<String, i64>,
    /// When set, every demo user gets this password instead of a printed random one.
    pub demo_password: Option<String>,
    pub run_migrations: bool,
    pub workflows_dir: PathBuf,
    pub policies_dir: PathBuf,
    /// Working hours, holidays and make-up days for SLA clocks.
    pub calendar_file: PathBuf,
    /// Regional holiday files, `<region code>.toml`, laid over the national calendar.
    pub region_calendars_dir: PathBuf,
    /// Order 735's article table: sanction ranges, violation types, whistleblower rewards.
    pub sanctions_file: PathBuf,
    /// The screening rules: texts, actions and parameters.
    pub screening_file: PathBuf,
    /// The controls' vocabulary: reasons for overriding an error finding at sign-off.
    pub controls_file: PathBuf,
    /// The browser interface: page templates, interface strings and the stylesheet.
    pub web_templates_dir: PathBuf,
    pub locales_dir: PathBuf,
    pub static_dir: PathBuf,
    pub pool_size: u32,
    pub sqlite_busy_timeout_ms: u32,
    /// During a bulk import on SQLite, the WAL is restarted once it holds this many MB, so
    /// that it does not grow with the whole load (it did: 35 GB into a 10M-claim import).
    pub sqlite_bulk_wal_max_mb: u32,
    pub upload_max_bytes: usize,
    /// Whistleblower reports accepted per client address per hour.
    pub report_limit_per_hour: i64,
    /// The most accounts that may speak for one facility (its own administrator adds staff
    /// up to it).
    pub facility_staff_limit: i64,
    /// `text` or `json` request and application logs.
    pub log_format: String,
    pub mail: MailConfig,
    pub jobs: JobsConfig,
    /// Sign-in throttling per account and per client address.
    pub login: crate::domain::throttle::LoginPolicy,
    /// Reverse proxies whose `X-Forwarded-Proto` is believed (Secure cookies and HSTS).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A claim submitted again without an Idempotency-Key, by the same user with the same
    /// body within this many minutes, answers with the first claim. 0 turns it off.
    pub honest_retry_minutes: i64,
    /// The bearer token `/metrics` asks for. Empty: `/metrics` answers loopback clients only.
    pub metrics_token: String,
    /// The largest amount a claim (or any of its lines) may carry, in yuan.
    pub max_claim_yuan: i64,
}

/// Where mail goes. Notices are written to the outbox table first; the `mail_delivery` job
/// hands them to this backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `file` (`.eml` files under `DATA_DIR/outbox`, the embedded default), `smtp`, or
    /// `memory` (kept in the process, for tests).
    pub backend: String,
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `none`, `starttls` or `tls`.
    pub smtp_security: String,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    pub smtp_timeout_secs: u64,
    /// Attempts before a message is marked failed; a permanent SMTP refusal fails at once.
    pub max_attempts: i32,
    /// Retry delay after the first failure; it doubles with each attempt, up to an hour.
    pub retry_base_secs: i64,
    /// Links in emails start with this.
    pub public_base_url: String,
    pub templates_dir: PathBuf,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            backend: "file".into(),
            from: "claimflow <noreply@claimflow.localhost>".into(),
            smtp_host: "127.0.0.1".into(),
            smtp_port: 25,
            smtp_security: "starttls".into(),
            smtp_username: None,
            smtp_password: None,
            smtp_timeout_secs: 10,
            max_attempts: 8,
            retry_base_secs: 30,
            public_base_url: "http://127.0.0.1:8080".into(),
            templates_dir: PathBuf::from("templates/emails"),
        }
    }
}

/// The in-process scheduler: cron expressions (with a seconds field) per job, evaluated in
/// the working calendar's time zone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Run the scheduler inside `serve`. Off: jobs run only through `claimflow jobs run`.
    pub enabled: bool,
    /// Job name → cron expression `sec min hour day-of-month month day-of-week [year]`.
    pub schedules: std::collections::BTreeMap<String, String>,
    /// Escalate breaches at night and on holidays too (normally they wait for working hours).
    pub escalate_outside_working_hours: bool,
    /// Remind a resident who has not sent the documents asked for after this many days,
    /// and again every this many days.
    pub reminder_after_days: i64,
    /// Close a claim returned for documents as withdrawn after this many days without an
    /// answer.
    pub auto_close_after_days: i64,
    /// Reminders that must have gone out in a stage visit before auto-close may withdraw
    /// the claim.
    pub reminders_before_close: i64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            enabled: true,
            schedules: [
                ("escalation", "0 */5 * * * *"),
                ("lease_expiry", "30 * * * * *"),
                ("daily_digest", "0 0 8 * * Mon-Fri"),
                ("document_reminders", "0 0 9 * * *"),
                ("auto_close", "0 30 0 * * *"),
                ("mail_delivery", "*/15 * * * * *"),
                ("blob_cleanup", "0 15 * * * *"),
                ("audit_checkpoint", "0 45 * * * *"),
                ("facility_reminders", "0 5 * * * *"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            escalate_outside_working_hours: false,
            reminder_after_days: 7,
            auto_close_after_days: 60,
            reminders_before_close: 2,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: String::new(),
            database_read_url: None,
            read_max_lag_ms: 2000,
            data_dir: PathBuf::from("data"),
            bind: "127.0.0.1:8080".into(),
            jwt_secret: String::new(),
            jwt_ttl_minutes: 480,
            audit_key: String::new(),
            account_key: String::new(),
            appeal_days: 60,
            lease_ttl_minutes: 30,
            authority_limits_fen: [
                ("reviewer".to_string(), 500_000),
                ("senior_reviewer".to_string(), 2_000_000),
            ]
            .into_iter()
            .collect(),
            demo_password: None,
            run_migrations: true,
            workflows_dir: PathBuf::from("workflows"),
            policies_dir: PathBuf::from("policies"),
            calendar_file: PathBuf::from("policies/calendars/cn.toml"),
            region_calendars_dir: PathBuf::from("policies/calendars/regions"),
            sanctions_file: PathBuf::from("policies/supervision/order735.toml"),
            screening_file: PathBuf::from("policies/screening/rules.toml"),
            controls_file: PathBuf::from("policies/controls/controls.toml"),
            web_templates_dir: PathBuf::from("templates/web"),
            locales_dir: PathBuf::from("locales"),
            static_dir: PathBuf::from("static"),
            pool_size: 8,
            sqlite_busy_timeout_ms: 5000,
            sqlite_bulk_wal_max_mb: 256,
            upload_max_bytes: 10 * 1024 * 1024,
            report_limit_per_hour: 5,
            facility_staff_limit: 10,
            log_format: "text".into(),
            mail: MailConfig::default(),
            jobs: JobsConfig::default(),
            login: Default::default(),
            trusted_proxies: Vec::new(),
            honest_retry_minutes: 10,
            metrics_token: String::new(),
            max_claim_yuan: crate::domain::claim::DEFAULT_MAX_CLAIM_FEN / 100,
        }
    }
}

/// The scheduled jobs, by the names `[jobs.schedules]` and `claimflow jobs run` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    Escalation,
    LeaseExpiry,
    DailyDigest,
    DocumentReminders,
    AutoClose,
    MailDelivery,
    /// Uploads whose transaction never committed, or whose final rename a crash cut off.
    BlobCleanup,
    /// A keyed checkpoint of every audit chain's head.
    AuditCheckpoint,
    /// "Deadline approaching" letters to facilities with a task due within a day.
    FacilityReminders,
}

impl Job {
    pub const ALL: [Job; 9] = [
        Job::Escalation,
        Job::LeaseExpiry,
        Job::DailyDigest,
        Job::DocumentReminders,
        Job::AutoClose,
        Job::MailDelivery,
        Job::BlobCleanup,
        Job::AuditCheckpoint,
        Job::FacilityReminders,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::Escalation => "escalation",
            Job::LeaseExpiry => "lease_expiry",
            Job::DailyDigest => "daily_digest",
            Job::DocumentReminders => "document_reminders",
            Job::AutoClose => "auto_close",
            Job::MailDelivery => "mail_delivery",
            Job::BlobCleanup => "blob_cleanup",
            Job::AuditCheckpoint => "audit_checkpoint",
            Job::FacilityReminders => "facility_reminders",
        }
    }

    /// Accepts `lease_expiry` and `lease-expiry` alike.
    pub fn parse(name: &str) -> Option<Job> {
        let name = name.replace('-', "_");
        Job::ALL.into_iter().find(|j| j.name() == name)
    }

    pub fn names() -> Vec<&'static str> {
        Job::ALL.iter().map(|j| j.name()).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const MIN_JWT_SECRET_BYTES: usize = 32;

impl Config {
    /// `max_claim_yuan` in fen, the unit amounts are stored and checked in.
    pub fn max_claim_fen(&self) -> i64 {
        self.max_claim_yuan * 100
    }

    /// Defaults < config file (if given, or `claimflow.toml` if present) < environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                anyhow::ensure!(
                    path.exists(),
                    "config file {} does not exist",
                    path.display()
                );
                figment = figment.merge(Toml::file(path));
            }
            None if Path::new("claimflow.toml").exists() => {
                figment = figment.merge(Toml::file("claimflow.toml"));
            }
            None => {}
        }
        let config: Config = figment
            .merge(
                Env::prefixed("CLAIMFLOW_")
                    .ignore(&["CONFIG", "TEST_POSTGRES_URL", "TEST_POSTGRES_REPLICA_URL"])
                    .split("__"),
            )
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config.finish()
    }

    /// Validates settings and fills the derived defaults (database URL, JWT secret).
    pub fn finish(mut self) -> anyhow::Result<Config> {
        std::fs::create_dir_all(&self.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "data_dir {}: cannot be created: {e}",
                self.data_dir.display()
            )
        })?;
        let probe = self.data_dir.join(".write-probe");
        std::fs::write(&probe, b"ok")
            .and_then(|_| std::fs::remove_file(&probe))
            .map_err(|e| {
                anyhow::anyhow!("data_dir {}: is not writable: {e}", self.data_dir.display())
            })?;
        if self.database_url.is_empty() {
            self.database_url =
                format!("sqlite://{}", self.data_dir.join("claimflow.db").display());
        }
        self.backend()?;
        if self.jwt_secret.is_empty() {
            self.jwt_secret = persistent_secret(&self.data_dir, "jwt_secret")?;
        }
        if self.audit_key.is_empty() {
            self.audit_key = persistent_secret(&self.data_dir, "audit_key")?;
        }
        if self.account_key.is_empty() {
            self.account_key = persistent_secret(&self.data_dir, "account_key")?;
        }
        anyhow::ensure!(
            self.account_key.len() >= MIN_JWT_SECRET_BYTES,
            "account_key (CLAIMFLOW_ACCOUNT_KEY) is {} bytes; it must be at least {MIN_JWT_SECRET_BYTES}",
            self.account_key.len()
        );
        anyhow::ensure!(
            self.audit_key.len() >= MIN_JWT_SECRET_BYTES,
            "audit_key (CLAIMFLOW_AUDIT_KEY) is {} bytes; it must be at least {MIN_JWT_SECRET_BYTES}",
            self.audit_key.len()
        );
        anyhow::ensure!(
            self.jwt_secret.len() >= MIN_JWT_SECRET_BYTES,
            "jwt_secret (CLAIMFLOW_JWT_SECRET) is {} bytes; it must be at least {MIN_JWT_SECRET_BYTES}",
            self.jwt_secret.len()
        );
        anyhow::ensure!(self.jwt_ttl_minutes > 0, "jwt_ttl_minutes must be positive");
        self.login.check().map_err(|e| anyhow::anyhow!(e))?;
        anyhow::ensure!(
            (1..=MAX_CLAIM_YUAN_CEILING).contains(&self.max_claim_yuan),
            "max_claim_yuan (CLAIMFLOW_MAX_CLAIM_YUAN) must be 1 to {MAX_CLAIM_YUAN_CEILING}, got {}",
            self.max_claim_yuan
        );
        anyhow::ensure!(
            self.honest_retry_minutes >= 0,
            "honest_retry_minutes must not be negative"
        );
        anyhow::ensure!(
            self.lease_ttl_minutes > 0,
            "lease_ttl_minutes must be positive"
        );
        anyhow::ensure!(self.pool_size > 0, "pool_size must be at least 1");
        anyhow::ensure!(
            self.read_max_lag_ms > 0,
            "read_max_lag_ms (CLAIMFLOW_READ_MAX_LAG_MS) must be positive, got {}",
            self.read_max_lag_ms
        );
        if let Some(read) = self.database_read_url.as_deref().filter(|u| !u.is_empty()) {
            anyhow::ensure!(
                read.starts_with("postgres://") || read.starts_with("postgresql://"),
                "database_read_url (CLAIMFLOW_DATABASE_READ_URL) must be a postgres:// URL of a streaming replica"
            );
            anyhow::ensure!(
                self.backend()? == Backend::Postgres,
                "database_read_url (CLAIMFLOW_DATABASE_READ_URL) names a PostgreSQL replica, but database_url is SQLite; an embedded database has no replica"
            );
        }
        anyhow::ensure!(
            self.facility_staff_limit > 0,
            "facility_staff_limit (CLAIMFLOW_FACILITY_STAFF_LIMIT) must be at least 1, got {}",
            self.facility_staff_limit
        );
        anyhow::ensure!(
            self.sqlite_bulk_wal_max_mb > 0,
            "sqlite_bulk_wal_max_mb must be at least 1"
        );
        anyhow::ensure!(
            matches!(self.log_format.as_str(), "text" | "json"),
            "log_format must be `text` or `json`, not `{}`",
            self.log_format
        );
        anyhow::ensure!(
            matches!(self.mail.backend.as_str(), "file" | "smtp" | "memory"),
            "mail.backend must be `file`, `smtp` or `memory`, not `{}`",
            self.mail.backend
        );
        anyhow::ensure!(
            matches!(
                self.mail.smtp_security.as_str(),
                "none" | "starttls" | "tls"
            ),
            "mail.smtp_security must be `none`, `starttls` or `tls`, not `{}`",
            self.mail.smtp_security
        );
        self.mail
            .from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| {
                anyhow::anyhow!("mail.from `{}` is not an address: {e}", self.mail.from)
            })?;
        anyhow::ensure!(
            self.mail.max_attempts > 0,
            "mail.max_attempts must be positive"
        );
        anyhow::ensure!(
            self.mail.retry_base_secs > 0,
            "mail.retry_base_secs must be positive"
        );
        anyhow::ensure!(
            self.jobs.reminder_after_days > 0 && self.jobs.auto_close_after_days > 0,
            "jobs.reminder_after_days and jobs.auto_close_after_days must be positive"
        );
        let jobs = &self.jobs;
        anyhow::ensure!(
            jobs.reminders_before_close >= 0
                && jobs.reminder_after_days * jobs.reminders_before_close < jobs.auto_close_after_days,
            "jobs.reminders_before_close = {}: the last reminder (day {}) must fall before auto-close (day {})",
            jobs.reminders_before_close,
            jobs.reminder_after_days * jobs.reminders_before_close,
            jobs.auto_close_after_days
        );
        for (name, expr) in &self.jobs.schedules {
            anyhow::ensure!(
                Job::parse(name).is_some(),
                "jobs.schedules.{name}: unknown job; expected one of {}",
                Job::names().join(", ")
            );
            expr.parse::<cron::Schedule>().map_err(|e| {
                anyhow::anyhow!("jobs.schedules.{name}: `{expr}` is not a cron expression (sec min hour day month weekday): {e}")
            })?;
        }
        self.bind
            .parse::<std::net::SocketAddr>()
            .map_err(|e| anyhow::anyhow!("bind `{}` is not host:port: {e}", self.bind))?;
        Ok(self)
    }

    pub fn backend(&self) -> anyhow::Result<Backend> {
        let url = self.database_url.as_str();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite://") || !url.contains("://") {
            Ok(Backend::Sqlite)
        } else {
            anyhow::bail!(
                "database_url `{}`: unknown backend; expected sqlite://PATH or postgres://…",
                url.split("://").next().unwrap_or(url)
            )
        }
    }
}

/// A random secret kept in the data directory under `name`, so that tokens and checkpoints
/// survive a restart of a single instance. Several instances must share explicit secrets.
fn persistent_secret(data_dir: &Path, name: &str) -> anyhow::Result<String> {
    use rand::distr::{Alphanumeric, SampleString};
    let path = data_dir.join(name);
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok(s.trim().to_string());
    }
    let secret = Alphanumeric.sample_string(&mut rand::rng(), 48);
    std::fs::write(&path, &secret)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> Config {
        Config {
            data_dir: dir.to_path_buf(),
            ..Config::default()
        }
    }

    #[test]
    fn refuses_invalid_settings() {
        let dir = tempfile::tempdir().unwrap();
        let short = Config {
            jwt_secret: "short".into(),
            ..config(dir.path())
        }
        .finish();
        assert!(short.unwrap_err().to_string().contains("at least 32"));
        let mysql = Config {
            database_url: "mysql://x".into(),
            ..config(dir.path())
        }
        .finish();
        assert!(mysql.unwrap_err().to_string().contains("unknown backend"));
        let read_elsewhere = Config {
            database_url: "postgres://db/claimflow".into(),
            database_read_url: Some("mysql://replica/claimflow".into()),
            ..config(dir.path())
        }
        .finish();
        assert!(read_elsewhere
            .unwrap_err()
            .to_string()
            .contains("database_read_url (CLAIMFLOW_DATABASE_READ_URL) must be a postgres://"));
        let no_lag = Config {
            read_max_lag_ms: 0,
            ..config(dir.path())
        }
        .finish();
        assert!(no_lag.unwrap_err().to_string().contains("read_max_lag_ms"));
        let file = dir.path().join("f");
        std::fs::write(&file, "").unwrap();
        let not_dir = config(&file.join("sub")).finish();
        assert!(not_dir.unwrap_err().to_string().contains("data_dir"));
    }

    #[test]
    fn fills_defaults_and_keeps_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let a = config(dir.path()).finish().unwrap();
        let b = config(dir.path()).finish().unwrap();
        assert!(a.database_url.starts_with("sqlite://"));
        assert_eq!(a.jwt_secret, b.jwt_secret);
        assert!(a.jwt_secret.len() >= MIN_JWT_SECRET_BYTES);
    }
}
