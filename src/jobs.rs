//! The in-process scheduler. Each job has a cron expression (`cron` crate: the first field
//! is seconds) evaluated in the working calendar's time zone. At each tick an instance
//! first inserts (job, tick) into `job_runs`; only the instance whose insert lands runs the
//! tick, so with several instances sharing a database every tick runs exactly once.
use crate::config::{Config, Job};
use crate::core::Core;
use crate::definitions::Definitions;
use crate::error::AppResult;
use crate::mail::MailTransport;
use crate::mail::Notifier;
use crate::service::Env;
use crate::store::{self, jobs as job_store};
use serde_json::{json, Value};
use std::str::FromStr;
use std::sync::Arc;

/// What the jobs need: the database, the rules, the mail backend, and a name for this
/// instance in `job_runs`.
pub struct JobRunner {
    pub pool: store::Pool,
    pub defs: Arc<Definitions>,
    pub notifier: Arc<Notifier>,
    pub accounts: Arc<crate::service::cipher::AccountCipher>,
    pub config: Arc<Config>,
    pub transport: MailTransport,
    pub instance: String,
}

impl JobRunner {
    pub fn new(core: &Core) -> anyhow::Result<JobRunner> {
        Ok(JobRunner {
            pool: core.pool.clone(),
            defs: core.defs.clone(),
            notifier: core.notifier.clone(),
            accounts: core.accounts.clone(),
            config: core.config.clone(),
            transport: MailTransport::from_config(&core.config)?,
            instance: format!("pid{}-{:08x}", std::process::id(), rand::random::<u32>()),
        })
    }

    /// Runs one job now and returns its summary.
    pub fn run_now(&self, job: Job, now_ms: i64) -> anyhow::Result<Value> {
        self.run(job, now_ms)
            .map_err(|e| anyhow::anyhow!("{}: {e}", job.name()))
    }

    fn run(&self, job: Job, now_ms: i64) -> AppResult<Value> {
        let mut conn = self.pool.get()?;
        let jobs = &self.config.jobs;
        let env = Env::new(&self.defs, &self.notifier, &self.accounts, &self.config);
        match job {
            Job::Escalation => crate::service::jobs::escalate_breached(
                &mut conn,
                env,
                now_ms,
                jobs.escalate_outside_working_hours,
            ),
            Job::LeaseExpiry => Ok(json!({
                "expired": crate::service::queue::expire_leases(&mut conn, now_ms)?
            })),
            Job::DailyDigest => crate::service::jobs::send_digests(&mut conn, env, now_ms),
            Job::DocumentReminders => crate::service::jobs::remind_residents(
                &mut conn,
                env,
                now_ms,
                jobs.reminder_after_days,
                jobs.auto_close_after_days,
            ),
            Job::AutoClose => crate::service::jobs::auto_close_unanswered(
                &mut conn,
                env,
                now_ms,
                jobs.auto_close_after_days,
                jobs.reminders_before_close,
            ),
            Job::MailDelivery => {
                let report = crate::mail::deliver_due(
                    &mut conn,
                    &self.transport,
                    &self.config.mail,
                    now_ms,
                )?;
                Ok(serde_json::to_value(report).unwrap_or_default())
            }
            Job::BlobCleanup => {
                // Staged more than an hour ago: no upload takes that long to commit.
                let older_than =
                    std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
                let swept = store::blobs::sweep(&self.config.data_dir, older_than, |sha| {
                    Ok(store::blob_referenced(&mut conn, sha)?)
                })?;
                Ok(serde_json::to_value(swept).unwrap_or_default())
            }
            Job::AuditCheckpoint => {
                crate::service::jobs::audit_checkpoint(&mut conn, &self.config.audit_key, now_ms)
            }
            Job::FacilityReminders => {
                const DAY_MS: i64 = 86_400_000;
                crate::service::facility_tasks::remind(&mut conn, env, now_ms, DAY_MS)
            }
        }
    }

    /// Runs the tick if this instance wins it; `None` when another instance already has.
    pub fn run_tick(&self, job: Job, tick_ms: i64) -> anyhow::Result<Option<Value>> {
        let mut conn = self.pool.get()?;
        let now = store::now_ms();
        if !job_store::claim_tick(&mut conn, job.name(), tick_ms, &self.instance, now)? {
            return Ok(None);
        }
        drop(conn);
        let outcome = self.run_now(job, now);
        let text = match &outcome {
            Ok(v) => v.to_string(),
            Err(e) => format!("error: {e}"),
        };
        let mut conn = self.pool.get()?;
        job_store::finish(&mut conn, job.name(), tick_ms, store::now_ms(), &text)?;
        outcome.map(Some)
    }
}

/// The configured schedules, checked.
pub fn schedules(config: &Config) -> anyhow::Result<Vec<(Job, cron::Schedule)>> {
    config
        .jobs
        .schedules
        .iter()
        .map(|(name, expr)| {
            let job = Job::parse(name)
                .ok_or_else(|| anyhow::anyhow!("jobs.schedules.{name}: unknown job"))?;
            let schedule = cron::Schedule::from_str(expr)
                .map_err(|e| anyhow::anyhow!("jobs.schedules.{name}: `{expr}`: {e}"))?;
            Ok((job, schedule))
        })
        .collect()
}

/// Runs the schedules until the process ends. Jobs due at the same tick run one after the
/// other on a blocking thread; a tick missed while a long job ran is skipped, not queued.
pub fn spawn_scheduler(runner: Arc<JobRunner>) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let schedules = schedules(&runner.config)?;
    let offset = runner.defs.calendar().offset;
    Ok(tokio::spawn(async move {
        loop {
            let now = chrono::Utc::now().with_timezone(&offset);
            let Some(next) = schedules
                .iter()
                .filter_map(|(_, s)| s.after(&now).next())
                .min()
            else {
                return;
            };
            let wait = (next.timestamp_millis() - now.timestamp_millis()).max(0) as u64;
            tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            let due: Vec<Job> = schedules
                .iter()
                .filter(|(_, s)| s.after(&now).next() == Some(next))
                .map(|(j, _)| *j)
                .collect();
            let tick_ms = next.timestamp_millis();
            let runner = runner.clone();
            let done = tokio::task::spawn_blocking(move || {
                for job in due {
                    match runner.run_tick(job, tick_ms) {
                        Ok(Some(summary)) => {
                            tracing::info!(job = job.name(), tick_ms, %summary, "job ran")
                        }
                        Ok(None) => {
                            tracing::debug!(
                                job = job.name(),
                                tick_ms,
                                "tick taken by another instance"
                            )
                        }
                        Err(e) => {
                            tracing::error!(job = job.name(), tick_ms, error = %e, "job failed")
                        }
                    }
                }
            })
            .await;
            if let Err(e) = done {
                tracing::error!(error = %e, "scheduler thread failed");
            }
        }
    }))
}
