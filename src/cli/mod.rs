//! The CLI. Each command is a thin call into the library; the long-running ones (import,
//! the screening backtest, the generator, the baselines, the demo data) live beside this
//! file and receive what they need, never the whole wiring.
pub mod backup;
pub mod bench;
mod check;
pub mod demo;
pub mod gen;
pub mod import;
mod payments;
pub mod screen;
mod serve;
pub mod whatif;

use crate::config::Config;
use crate::core::Core;
use crate::domain::roles::Role;
use crate::store::{self, audit_verify, regions};
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "claimflow",
    version,
    about = "Manual medical-insurance claims review and fund supervision"
)]
pub struct Cli {
    /// Config file (TOML). Default: ./claimflow.toml if present. CLAIMFLOW_* variables override it.
    #[arg(long, global = true, env = "CLAIMFLOW_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP service (migrates first unless run_migrations = false).
    Serve {
        /// Seed demo data first when the database has no users.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Check workflow and policy files; print each error with file:line and a hint.
    Check {
        /// Files to check. Default: every *.toml in the workflows and policies directories.
        paths: Vec<PathBuf>,
    },
    /// Compute a benefit breakdown for one request, as JSON.
    Calc {
        /// A policy file (policies/*.toml).
        #[arg(long)]
        policy: PathBuf,
        /// A request file (JSON; see README "Benefit calculator").
        #[arg(long)]
        request: PathBuf,
    },
    /// Create demo regions, users (one per role) and cases in every stage.
    SeedDemo {
        /// Regions, users and registries only: no claims or cases (a world for imported
        /// history, such as a backtest's, that demo claims would mix with).
        #[arg(long)]
        without_cases: bool,
    },
    /// Write a deterministic synthetic world (facilities, persons, enrolments, claims) as CSV.
    Gen {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 10_000)]
        claims: usize,
        /// Insured persons; default: a quarter of the claims.
        #[arg(long)]
        persons: Option<usize>,
        #[arg(long, default_value_t = 200)]
        facilities: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Run every screening rule over claims admitted in a period (a backtest): writes
    /// hits.csv and summary.md, and refreshes the facility scores intake reads.
    Screen {
        /// First admission date, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last admission date, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "screen-report")]
        out: PathBuf,
        /// Ground truth to score against (planted.csv from `gen`): adds precision and recall.
        #[arg(long)]
        truth: Option<PathBuf>,
    },
    /// Replay a draft policy over past claims against a baseline: writes summary.md,
    /// by_group.csv and claims.csv (and sweep.csv, sweep.svg for --sweep). Writes nothing to
    /// claims, cases or the audit trail.
    Whatif {
        /// The draft policy file (checked as `claimflow check` checks it).
        #[arg(long)]
        policy: PathBuf,
        /// Price every claim under this policy file instead of the one it was priced with.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// First admission date, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last admission date, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// Only residents of this region (default: the draft's region).
        #[arg(long)]
        region: Option<String>,
        #[arg(long, default_value = "whatif-report")]
        out: PathBuf,
        /// KEY=FROM..TO/STEP: replay once per value of one policy key.
        #[arg(long)]
        sweep: Option<String>,
    },
    /// Measure a database baseline for BENCHMARKS.md (see bench/run.py); prints one JSON line.
    Baseline {
        /// insert: N rows in one transaction; commits: N one-row transactions; scan: every
        /// claim in the backtest's order, no rules.
        #[arg(value_enum)]
        kind: BaselineKind,
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// For scan: first admission date, YYYY-MM-DD.
        #[arg(long, default_value = "2019-01-01")]
        from: String,
        /// For scan: last admission date, YYYY-MM-DD.
        #[arg(long, default_value = "2020-12-31")]
        to: String,
    },
    /// Import a CSV file (columns in README "Bulk import"); bad rows go to an error report.
    Import {
        kind: crate::cli::import::Kind,
        file: PathBuf,
        /// Where to write rejected rows (row, column, reason). Default: FILE.errors.csv.
        #[arg(long)]
        errors: Option<PathBuf>,
        /// Rows per transaction.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// The user the rows are filed by (a clerk for claims, an admin for registries).
        #[arg(long = "as", default_value = "clerk")]
        as_user: String,
        /// Loading history (claims only): drop the indexes intake never reads, and build
        /// them once at the end (also when the load fails, or at the next start if it was
        /// killed). Faster from about a million claims; queue pages are slow meanwhile.
        #[arg(long)]
        history: bool,
    },
    /// Write a consistent online backup (database snapshot, blobs, manifest with checksums)
    /// while `serve` runs. Secrets (jwt_secret, audit_key) are left out unless asked for.
    Backup {
        /// The archive to write (.tar.gz); it appears only when complete.
        #[arg(long)]
        out: PathBuf,
        /// Also pack DATA_DIR/jwt_secret and DATA_DIR/audit_key.
        #[arg(long)]
        include_secrets: bool,
    },
    /// Restore an archive written by `backup` into an empty data directory or database,
    /// after checking every file against the manifest.
    Restore { file: PathBuf },
    #[command(subcommand)]
    User(UserCommand),
    #[command(subcommand)]
    Region(RegionCommand),
    #[command(subcommand)]
    Audit(AuditCommand),
    #[command(subcommand)]
    Jobs(JobsCommand),
    #[command(subcommand)]
    Payments(PaymentsCommand),
}

#[derive(Subcommand)]
pub enum PaymentsCommand {
    /// Write a payment batch's bank file (CSV: reference, claim_id, payee_name, bank,
    /// account_number, amount_yuan; a TOTAL control row last). The first export locks the
    /// batch; a repeat writes the same file and pays nothing twice.
    Export {
        batch: i64,
        /// Where to write it (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Apply the bank's result file (reference,status,date,amount_yuan,reason). Every row is
    /// checked first; one bad row and nothing is applied.
    ImportResult { file: PathBuf },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum BaselineKind {
    Insert,
    Commits,
    Scan,
}

#[derive(Subcommand)]
pub enum JobsCommand {
    /// Run one scheduled job now: escalation, lease-expiry, daily-digest,
    /// document-reminders, auto-close or mail-delivery. Recorded in job_runs like a tick.
    Run { name: String },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from standard input (or prompted for on a terminal).
    Add {
        #[arg(long)]
        username: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        region: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, default_value = "agency")]
        org: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, default_value = "zh-CN")]
        lang: String,
    },
}

#[derive(Subcommand)]
pub enum RegionCommand {
    /// Add a region (province without --parent; prefecture or county under one).
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name_zh: String,
        #[arg(long)]
        name_en: String,
        #[arg(long)]
        parent: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify every case's audit hash chain, each case and claim row against its trail, and
    /// the trail against its keyed checkpoints; name the first broken event of each bad case.
    Verify,
    /// Write a keyed checkpoint of every chain head now (the `audit_checkpoint` job).
    Checkpoint,
}

pub fn init_tracing(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Gen {
        seed,
        claims,
        persons,
        facilities,
        out,
    } = &cli.command
    {
        let sizes = crate::cli::gen::Sizes {
            claims: *claims,
            persons: persons.unwrap_or(claims / 4).max(1),
            facilities: (*facilities).max(1),
        };
        let started = std::time::Instant::now();
        let generated = crate::cli::gen::generate(out, *seed, &sizes)?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "wrote {} claims ({} planted fraud of {} rules, {} honest look-alikes; see planted.csv) to {} in {secs:.2} s ({:.0} claims/s)",
            generated.claims,
            generated.planted_claims,
            generated.rules_planted,
            generated.near_miss_claims,
            out.display(),
            generated.claims as f64 / secs.max(1e-9)
        );
        return Ok(ExitCode::SUCCESS);
    }
    match &cli.command {
        // `check` and `calc` need no database and tolerate a config without one.
        Command::Check { paths } => {
            let config = Config::load(cli.config.as_deref()).unwrap_or_default();
            return Ok(check::check(paths, &config));
        }
        Command::Calc { policy, request } => return check::calc(policy, request),
        _ => {}
    }
    let config = Config::load(cli.config.as_deref())?;
    init_tracing(&config.log_format);
    match cli.command {
        Command::Serve { demo } => serve::serve(config, demo),
        Command::Backup {
            out,
            include_secrets,
        } => {
            let pool = store::build_pool(&config)?;
            let written = backup::backup(
                &config,
                &pool,
                &out,
                backup::Options {
                    include_secrets,
                    progress: std::io::stderr().is_terminal(),
                },
            )?;
            println!(
                "wrote {} ({} bytes): the database, {} blob(s){}, and a manifest of {} file(s)",
                out.display(),
                written.bytes,
                written.blobs,
                if written.secrets_included {
                    ", the secrets"
                } else {
                    "; secrets left out"
                },
                written.files
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { file } => {
            let restored = backup::restore(&config, &file, std::io::stderr().is_terminal())?;
            println!(
                "restored the backup of {} with {} blob(s){}; run `claimflow audit verify` next",
                restored.created_at,
                restored.blobs,
                if restored.secrets_restored {
                    " and its secrets"
                } else {
                    " (secrets were not in it: set the original audit_key before verifying)"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let pool = store::build_pool(&config)?;
            let applied = pool.get()?.run_migrations()?;
            println!("{} migration(s) applied", applied.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            kind,
            file,
            errors,
            batch,
            as_user,
            history,
        } => {
            anyhow::ensure!(batch > 0, "--batch must be at least 1");
            let core = Core::open(config)?;
            let errors = errors.unwrap_or_else(|| crate::cli::import::default_error_path(&file));
            let started = std::time::Instant::now();
            let report = import::run(
                &core.pool,
                &core.defs,
                &import::ImportJob {
                    kind,
                    file: &file,
                    errors_path: &errors,
                    batch,
                    as_user: &as_user,
                    progress: std::io::stderr().is_terminal(),
                    wal_max_bytes: u64::from(core.config.sqlite_bulk_wal_max_mb) * 1024 * 1024,
                    max_claim_fen: core.config.max_claim_fen(),
                    history,
                },
            )?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{} row(s): {} imported ({} refused at intake), {} already present, {} rejected (see {}) in {:.2} s, {:.0} rows/s",
                report.rows, report.imported, report.refused, report.skipped, report.rejected, errors.display(), secs, report.rows as f64 / secs.max(1e-9)
            );
            if report.indexes_rebuilt > 0 {
                println!(
                    "{} index(es) dropped for the history load and built again",
                    report.indexes_rebuilt
                );
            }
            Ok(if report.rejected == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Command::Whatif {
            policy,
            baseline,
            from,
            to,
            region,
            out,
            sweep,
        } => {
            let core = Core::open(config)?;
            let args = whatif::Args {
                policy,
                baseline,
                from,
                to,
                region,
                out,
                sweep,
            };
            let started = std::time::Instant::now();
            tell_read_route(&core);
            whatif::run(
                core.reads.pool(),
                &core.defs,
                &core.config.policies_dir,
                &args,
                std::io::stderr().is_terminal(),
            )?;
            println!(
                "report in {} ({:.2} s)",
                args.out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Screen {
            from,
            to,
            out,
            truth,
        } => {
            let day = |flag: &str, v: &str| {
                crate::domain::dates::parse_iso_date(v)
                    .ok_or_else(|| anyhow::anyhow!("{flag} `{v}`: expected a date YYYY-MM-DD"))
            };
            let (from, to) = (day("--from", &from)?, day("--to", &to)?);
            let core = Core::open(config)?;
            let started = std::time::Instant::now();
            tell_read_route(&core);
            let summary = screen::run(
                &core.pool,
                core.reads.replica(),
                &core.defs,
                from,
                to,
                &out,
                truth.as_deref(),
                std::io::stderr().is_terminal(),
            )?;
            let secs = started.elapsed().as_secs_f64();
            print!("{}", crate::cli::screen::render(&summary, from, to));
            println!(
                "\n{} claims screened in {secs:.2} s ({:.0} claims/s); report in {}",
                summary.claims_screened,
                summary.claims_screened as f64 / secs.max(1e-9),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Baseline {
            kind,
            rows,
            from,
            to,
        } => {
            let pool = store::build_pool(&config)?;
            let mut conn = pool.get()?;
            conn.run_migrations()?;
            let measured = match kind {
                BaselineKind::Insert => crate::cli::bench::insert(&mut conn, rows)?,
                BaselineKind::Commits => crate::cli::bench::commits(&mut conn, rows)?,
                BaselineKind::Scan => crate::cli::bench::scan(&mut conn, &from, &to)?,
            };
            println!("{}", serde_json::to_string(&measured)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::SeedDemo { without_cases } => {
            let core = Core::open(config)?;
            serve::seed_demo(&core, !without_cases)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Add {
            username,
            roles,
            region,
            display_name,
            org,
            email,
            lang,
        }) => {
            let roles: Vec<Role> = roles.iter().map(|r| r.parse()).collect::<Result<_, _>>()?;
            let password = read_password()?;
            let core = Core::open(config)?;
            let mut conn = core.pool.get()?;
            let id = crate::service::registries::add_user(
                &mut conn,
                &crate::service::registries::UserInput {
                    username: &username,
                    password: &password,
                    display_name: display_name.as_deref().unwrap_or(&username),
                    region_code: &region,
                    org: &org,
                    email: email.as_deref(),
                    lang: &lang,
                    roles: &roles,
                    facilities: &[],
                },
                store::now_ms(),
            )?;
            println!("user {username} created with id {id}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Region(RegionCommand::Add {
            code,
            name_zh,
            name_en,
            parent,
        }) => {
            let core = Core::open(config)?;
            let region = regions::add(
                &mut *core.pool.get()?,
                &code,
                &name_zh,
                &name_en,
                parent.as_deref(),
            )?;
            println!(
                "region {} ({}) added at {}",
                region.code, region.level, region.path
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs(JobsCommand::Run { name }) => {
            let job = crate::config::Job::parse(name.as_str()).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown job `{name}`; jobs: {}",
                    crate::config::Job::names().join(", ")
                )
            })?;
            let core = Core::open(config)?;
            let runner = crate::jobs::JobRunner::new(&core)?;
            match runner
                .run_tick(job, store::now_ms())
                .map_err(|e| anyhow::anyhow!("{}: {e}", job.name()))?
            {
                Some(summary) => println!("{}: {summary}", job.name()),
                None => println!("{}: this tick already ran on another instance", job.name()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Payments(PaymentsCommand::Export { batch, out }) => {
            payments::export(&Core::open(config)?, batch, out.as_deref())
        }
        Command::Payments(PaymentsCommand::ImportResult { file }) => {
            payments::import_result(&Core::open(config)?, &file)
        }
        Command::Audit(AuditCommand::Verify) => {
            let core = Core::open(config)?;
            let key = core.config.audit_key.as_bytes();
            let report = audit_verify::verify_all(&mut *core.pool.get()?, key, |_| {})?;
            for b in &report.breaks {
                println!(
                    "BROKEN case {}: event id {} (seq {}): {}",
                    b.case_id, b.event_id, b.seq, b.reason
                );
            }
            for p in &report.problems {
                println!("BROKEN trail: {p}");
            }
            match &report.last_checkpoint {
                Some(cp) => println!(
                    "{} checkpoint(s) checked; the last, {}, counted {} event(s)",
                    report.checkpoints, cp.id, cp.events
                ),
                None => println!("no checkpoint yet: run `claimflow audit checkpoint`, or let the audit_checkpoint job write one"),
            }
            println!(
                "{} case(s), {} event(s) and {} sign-in record(s) checked, {} broken chain(s)",
                report.cases,
                report.events,
                report.sign_ins,
                report.breaks.len() + report.problems.len()
            );
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Audit(AuditCommand::Checkpoint) => {
            let core = Core::open(config)?;
            let summary = crate::service::jobs::audit_checkpoint(
                &mut *core.pool.get()?,
                &core.config.audit_key,
                store::now_ms(),
            )
            .map_err(|e| anyhow::anyhow!("audit checkpoint: {e}"))?;
            println!("audit checkpoint: {summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { .. } | Command::Calc { .. } | Command::Gen { .. } => {
            unreachable!("handled above")
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password("Password: ")?);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// With `database_read_url`, says on stderr which database a long read runs on; it stays
/// there to the end, however the replica's lag changes meanwhile.
fn tell_read_route(core: &Core) {
    use crate::store::replica::ReplicaState;
    if let Some(r) = core.reads.status() {
        match r.state {
            ReplicaState::InUse => eprintln!("reading from the read replica (lag {} ms)", r.lag_ms),
            ReplicaState::Lagging => eprintln!(
                "the read replica is {} ms behind (more than read_max_lag_ms = {}): reading from the primary",
                r.lag_ms, r.max_lag_ms
            ),
            ReplicaState::Unreachable => {
                eprintln!("the read replica does not answer: reading from the primary")
            }
        }
    }
}

/// A progress bar of `len` steps on stderr (hidden without a terminal), labelled `what`.
pub(crate) fn counted_bar(
    progress: bool,
    len: usize,
    what: &'static str,
) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressStyle};
    let bar = if progress {
        ProgressBar::new(len as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what);
    bar
}
