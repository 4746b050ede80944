//! What every entry point shares: the settings, the database pool (migrated), the checked
//! definitions and the letter templates. `serve`, the CLI commands and the tests open one
//! and hand each part to what needs it.
use crate::config::Config;
use crate::definitions::{Definitions, Sources};
use crate::mail::{MailTemplates, Notifier};
use crate::service::cipher::AccountCipher;
use crate::service::Env;
use crate::store;
use std::sync::Arc;

pub struct Core {
    pub config: Arc<Config>,
    pub pool: store::Pool,
    /// Where reads that tolerate `read_max_lag_ms` go: the replica, or this pool.
    pub reads: store::replica::ReadRoute,
    pub defs: Arc<Definitions>,
    pub notifier: Arc<Notifier>,
    pub accounts: Arc<AccountCipher>,
}

/// Joins located errors into one message for the log or the terminal.
fn listed(what: &str, errors: &[impl std::fmt::Display]) -> anyhow::Error {
    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
    anyhow::anyhow!(
        "{what} have errors (run `claimflow check`):\n{}",
        list.join("\n")
    )
}

impl Core {
    pub fn open(config: Config) -> anyhow::Result<Core> {
        let pool = store::build_pool(&config)?;
        let mut conn = pool.get()?;
        if config.run_migrations {
            let applied = conn.run_migrations()?;
            if !applied.is_empty() {
                tracing::info!(?applied, "applied migrations");
            }
        } else if conn.migrations_pending()? {
            anyhow::bail!("database migrations are pending and run_migrations is off; run `claimflow migrate`");
        }
        // A history load that was killed left its indexes dropped: build them now.
        let left = store::history_indexes::dropped(&mut conn)?;
        if !left.is_empty() {
            tracing::warn!(
                count = left.len(),
                "rebuilding the indexes an interrupted `import claims --history` dropped"
            );
            store::history_indexes::rebuild(&mut conn, &|name| {
                tracing::info!(index = name, "index rebuilt")
            })?;
        }
        let sources = Sources::read(&config).map_err(|e| listed("definition files", &e))?;
        let defs = Definitions::publish(&mut conn, sources, &config.authority_limits_fen)?;
        let templates = MailTemplates::load(&config.mail.templates_dir)
            .map_err(|e| listed("email templates", &e))?;
        let notifier = Notifier {
            templates,
            base_url: config
                .mail
                .public_base_url
                .trim_end_matches('/')
                .to_string(),
        };
        drop(conn);
        let reads = store::replica::ReadRoute::start(&config, pool.clone())?;
        let accounts = Arc::new(AccountCipher::from_secret(&config.account_key));
        Ok(Core {
            accounts,
            config: Arc::new(config),
            pool,
            reads,
            defs: Arc::new(defs),
            notifier: Arc::new(notifier),
        })
    }

    /// What use cases read besides their connection.
    pub fn env(&self) -> Env<'_> {
        Env::new(&self.defs, &self.notifier, &self.accounts, &self.config)
    }
}
