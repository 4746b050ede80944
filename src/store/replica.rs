//! Where reads that may be a little stale go: a PostgreSQL streaming replica
//! (`database_read_url`) while it keeps within `read_max_lag_ms` of the primary, otherwise
//! (and without a replica) the primary. A monitor thread measures the lag every [`TICK`]
//! (see [`LagTracker`]); a replica that cannot be reached or falls behind is left until it
//! has caught up again, and a read that fails to get a replica connection takes the
//! primary's. Writes, and reads that must see their own writes, always use the primary pool.
use super::{DbConn, DbManager, Pool, PooledConn};
use crate::config::Config;
use crate::domain::replica_lag::LagTracker;
use diesel::r2d2;
use diesel::sql_types::{BigInt, Nullable};
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

pub const TICK: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Within the tolerated lag: reads go to it.
    InUse = 0,
    /// Reachable but further behind than `read_max_lag_ms`: reads go to the primary.
    Lagging = 1,
    /// No answer (or not measured yet): reads go to the primary.
    Unreachable = 2,
}

impl ReplicaState {
    fn from_u8(v: u8) -> ReplicaState {
        match v {
            0 => ReplicaState::InUse,
            1 => ReplicaState::Lagging,
            _ => ReplicaState::Unreachable,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaState::InUse => "in_use",
            ReplicaState::Lagging => "lagging",
            ReplicaState::Unreachable => "unreachable",
        }
    }
}

struct Replica {
    pool: Pool,
    max_lag_ms: i64,
    state: AtomicU8,
    lag_ms: AtomicI64,
}

impl Replica {
    fn record(&self, measured: Result<i64, String>) {
        let (state, lag) = match &measured {
            Ok(lag) if *lag <= self.max_lag_ms => (ReplicaState::InUse, *lag),
            Ok(lag) => (ReplicaState::Lagging, *lag),
            Err(_) => (ReplicaState::Unreachable, -1),
        };
        self.lag_ms.store(lag, Ordering::Relaxed);
        let before = ReplicaState::from_u8(self.state.swap(state as u8, Ordering::Relaxed));
        if before != state {
            match (state, measured) {
                (ReplicaState::InUse, _) => tracing::info!(lag_ms = lag, "read replica in use"),
                (_, Err(error)) => {
                    tracing::warn!(%error, "read replica unreachable; reads go to the primary")
                }
                _ => tracing::warn!(
                    lag_ms = lag,
                    max_lag_ms = self.max_lag_ms,
                    "read replica lagging; reads go to the primary"
                ),
            }
        }
    }

    fn state(&self) -> ReplicaState {
        ReplicaState::from_u8(self.state.load(Ordering::Relaxed))
    }
}

/// The primary pool and, when configured, the replica. Cheap to clone.
#[derive(Clone)]
pub struct ReadRoute {
    primary: Pool,
    replica: Option<Arc<Replica>>,
}

/// What `/readyz` and `/metrics` tell about the replica.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaStatus {
    pub state: ReplicaState,
    /// The last measured lag; -1 when unreachable.
    pub lag_ms: i64,
    pub max_lag_ms: i64,
}

impl ReadRoute {
    /// Reads from the primary only.
    pub fn primary_only(primary: Pool) -> ReadRoute {
        ReadRoute {
            primary,
            replica: None,
        }
    }

    /// With `config.database_read_url`: measures the replica once (so that a command that
    /// starts now already reads from it) and starts the monitor, which ends with the last
    /// clone of the route.
    pub fn start(config: &Config, primary: Pool) -> anyhow::Result<ReadRoute> {
        let Some(url) = config
            .database_read_url
            .as_deref()
            .filter(|u| !u.is_empty())
        else {
            return Ok(ReadRoute::primary_only(primary));
        };
        // Unchecked: the app starts while the replica is down, reading from the primary.
        // Two idle connections, so that the backtest finds its second one there too; their
        // connection errors are the monitor's to report, once.
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(config.pool_size.min(2)))
            .connection_timeout(Duration::from_secs(1))
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(DbManager::with_url(config, url)?);
        let replica = Arc::new(Replica {
            pool,
            max_lag_ms: config.read_max_lag_ms,
            state: AtomicU8::new(ReplicaState::Unreachable as u8),
            lag_ms: AtomicI64::new(-1),
        });
        let mut tracker = LagTracker::default();
        replica.record(measure(&primary, &replica.pool, &mut tracker));
        let watched = Arc::downgrade(&replica);
        let monitor_primary = primary.clone();
        std::thread::Builder::new()
            .name("replica-lag".into())
            .spawn(move || watch(watched, monitor_primary, tracker))?;
        Ok(ReadRoute {
            primary,
            replica: Some(replica),
        })
    }

    /// The pool for a read that tolerates the configured lag, chosen now.
    pub fn pool(&self) -> &Pool {
        self.replica().unwrap_or(&self.primary)
    }

    /// The replica's pool while it is in use.
    pub fn replica(&self) -> Option<&Pool> {
        self.replica
            .as_ref()
            .filter(|r| r.state() == ReplicaState::InUse)
            .map(|r| &r.pool)
    }

    /// A connection for such a read: the replica's while it is in use and answers, else the
    /// primary's.
    pub fn get(&self) -> Result<PooledConn, r2d2::PoolError> {
        if let Some(r) = self
            .replica
            .as_ref()
            .filter(|r| r.state() == ReplicaState::InUse)
        {
            match r.pool.get() {
                Ok(conn) => return Ok(conn),
                Err(e) => r.record(Err(e.to_string())),
            }
        }
        self.primary.get()
    }

    pub fn status(&self) -> Option<ReplicaStatus> {
        self.replica.as_ref().map(|r| ReplicaStatus {
            state: r.state(),
            lag_ms: r.lag_ms.load(Ordering::Relaxed),
            max_lag_ms: r.max_lag_ms,
        })
    }
}

fn watch(replica: Weak<Replica>, primary: Pool, mut tracker: LagTracker) {
    loop {
        std::thread::sleep(TICK);
        let Some(replica) = replica.upgrade() else {
            return;
        };
        replica.record(measure(&primary, &replica.pool, &mut tracker));
    }
}

#[derive(diesel::QueryableByName)]
struct WalPosition {
    #[diesel(sql_type = Nullable<BigInt>)]
    at: Option<i64>,
}

/// A WAL position as bytes from the start; `None` where the server has no such position
/// (a replay position on a server that is not a standby).
fn wal_position(conn: &mut DbConn, function: &str) -> Result<Option<i64>, String> {
    let DbConn::Pg(c) = conn else {
        return Err("the read replica is for PostgreSQL".into());
    };
    let rows: Vec<WalPosition> = diesel::RunQueryDsl::load(
        diesel::sql_query(format!("SELECT ({function} - '0/0'::pg_lsn)::bigint AS at")),
        c,
    )
    .map_err(|e| e.to_string())?;
    Ok(rows.into_iter().next().and_then(|r| r.at))
}

/// The primary's position first, then the replica's, so that a replica at least as far
/// as the sample is caught up with everything committed before it.
fn measure(primary: &Pool, replica: &Pool, tracker: &mut LagTracker) -> Result<i64, String> {
    let mut p = primary.get().map_err(|e| e.to_string())?;
    let at_primary = wal_position(&mut p, "pg_current_wal_lsn()")?
        .ok_or("the primary reports no WAL position")?;
    drop(p);
    let mut r = replica.get().map_err(|e| e.to_string())?;
    // A server that is not a standby (a pooler in front of the primary) is never behind.
    let replayed = wal_position(&mut r, "pg_last_wal_replay_lsn()")?.unwrap_or(at_primary);
    Ok(tracker.observe(super::now_ms(), at_primary, replayed))
}
