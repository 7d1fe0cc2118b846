//! How long the history (audit rows and runs) is kept, and the pruning that enforces it.
//!
//! The state that the sync needs (id map, hashes, cursors, statuses, the replay queue) is bounded
//! by the data; the history is bounded by [`Retention`]: successful, skipped and rejected audit
//! rows and finished runs older than it are deleted, a few hundred rows per transaction so a
//! page commit never waits long for the write lock. What is kept whatever its age:
//!
//! - queued rows: failed and deferred rows that are not replays and are not resolved (dead ones
//!   included, until a person replays them), and the failed or deferred replays of such a row;
//! - a resolved row until its resolution is older than the retention;
//! - a row another kept row points at (its replay, or the row that resolved it);
//! - runs that are still running, and runs with audit rows left.
//!
//! [`spawn`] prunes at start and then every [`Retention::every`]; `ml-connector run` starts it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::StateStore;
use crate::error::Result;

/// What [`StateStore::prune_history`] may delete: rows older than these instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PruneCutoffs {
    /// Audit rows that finished (and, if resolved, were resolved) before this instant.
    pub audit_before: DateTime<Utc>,
    /// Runs that finished before this instant.
    pub runs_before: DateTime<Utc>,
}

impl PruneCutoffs {
    /// Cutoffs for audit rows and runs.
    #[must_use]
    pub fn new(audit_before: DateTime<Utc>, runs_before: DateTime<Utc>) -> Self {
        Self {
            audit_before,
            runs_before,
        }
    }
}

/// What one prune removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pruned {
    /// Audit rows deleted.
    pub audit: u64,
    /// Runs deleted.
    pub runs: u64,
    /// Whether a limit was reached: more may be prunable (call again).
    pub more: bool,
}

impl Pruned {
    /// A count of deleted rows.
    #[must_use]
    pub fn new(audit: u64, runs: u64, more: bool) -> Self {
        Self { audit, runs, more }
    }
}

/// How long the history is kept and how it is pruned.
///
/// ```
/// use std::time::Duration;
/// use sync_core::state::Retention;
///
/// let retention = Retention::default().audit(Duration::from_secs(30 * 86_400));
/// assert_eq!(retention.audit_age(), Duration::from_secs(30 * 86_400));
/// assert_eq!(retention.runs_age(), Retention::DEFAULT_AGE);
/// let cutoffs = retention.cutoffs(chrono::Utc::now());
/// assert!(cutoffs.audit_before > cutoffs.runs_before);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    audit: Duration,
    runs: Duration,
    batch: u32,
    every: Duration,
}

impl Retention {
    /// The default age of both audit rows and runs: 90 days.
    pub const DEFAULT_AGE: Duration = Duration::from_secs(90 * 24 * 60 * 60);
    /// The default number of rows of each kind one transaction deletes.
    pub const DEFAULT_BATCH: u32 = 500;
    /// How often [`spawn`] prunes by default: hourly.
    pub const DEFAULT_EVERY: Duration = Duration::from_secs(60 * 60);

    /// Keeps successful, skipped and rejected audit rows for `age` (default
    /// [`DEFAULT_AGE`](Self::DEFAULT_AGE)); queued rows stay until resolved.
    #[must_use]
    pub fn audit(mut self, age: Duration) -> Self {
        self.audit = age;
        self
    }

    /// Keeps finished runs for `age` (default [`DEFAULT_AGE`](Self::DEFAULT_AGE)), and longer
    /// while any of their audit rows is kept.
    #[must_use]
    pub fn runs(mut self, age: Duration) -> Self {
        self.runs = age;
        self
    }

    /// Deletes at most `rows` audit rows and `rows` runs per transaction (at least 1; default
    /// [`DEFAULT_BATCH`](Self::DEFAULT_BATCH)).
    #[must_use]
    pub fn batch(mut self, rows: u32) -> Self {
        self.batch = rows.max(1);
        self
    }

    /// Prunes every `every` in [`spawn`] (default [`DEFAULT_EVERY`](Self::DEFAULT_EVERY)).
    #[must_use]
    pub fn every(mut self, every: Duration) -> Self {
        self.every = every.max(Duration::from_secs(1));
        self
    }

    /// How long audit rows are kept.
    #[must_use]
    pub fn audit_age(&self) -> Duration {
        self.audit
    }

    /// How long runs are kept.
    #[must_use]
    pub fn runs_age(&self) -> Duration {
        self.runs
    }

    /// The rows deleted per transaction.
    #[must_use]
    pub fn batch_size(&self) -> u32 {
        self.batch
    }

    /// The cutoffs at `now`.
    #[must_use]
    pub fn cutoffs(&self, now: DateTime<Utc>) -> PruneCutoffs {
        let before = |age: Duration| {
            chrono::Duration::from_std(age)
                .ok()
                .and_then(|age| now.checked_sub_signed(age))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        PruneCutoffs::new(before(self.audit), before(self.runs))
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            audit: Self::DEFAULT_AGE,
            runs: Self::DEFAULT_AGE,
            batch: Self::DEFAULT_BATCH,
            every: Self::DEFAULT_EVERY,
        }
    }
}

/// Prunes everything `retention` lets go at `now`, one small transaction after another, and
/// returns the total. Stops when a transaction deleted nothing (what is left is kept).
///
/// # Errors
///
/// [`StateError`](crate::StateError) when the store fails; what earlier transactions deleted
/// stays deleted.
pub async fn prune(
    state: &dyn StateStore,
    retention: &Retention,
    now: DateTime<Utc>,
) -> Result<Pruned> {
    let cutoffs = retention.cutoffs(now);
    let mut total = Pruned::default();
    loop {
        let step = state.prune_history(cutoffs, retention.batch).await?;
        total.audit += step.audit;
        total.runs += step.runs;
        if !step.more || step.audit + step.runs == 0 {
            return Ok(total);
        }
        // Let page commits waiting for the write lock go first.
        tokio::task::yield_now().await;
    }
}

/// Prunes at once and then every [`Retention::every`] until `stop` is cancelled (a prune under
/// way stops after its current transaction); failures are logged and retried at the next tick.
pub fn spawn(
    state: Arc<dyn StateStore>,
    retention: Retention,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(retention.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            // Stopping drops the prune between transactions; each one commits or not at all.
            let result = tokio::select! {
                () = stop.cancelled() => return,
                result = prune(state.as_ref(), &retention, Utc::now()) => result,
            };
            match result {
                Ok(Pruned {
                    audit: 0, runs: 0, ..
                }) => {}
                Ok(pruned) => tracing::info!(
                    audit = pruned.audit,
                    runs = pruned.runs,
                    "pruned history past its retention"
                ),
                Err(e) => tracing::warn!(
                    error = %crate::orders::describe(&e),
                    "cannot prune the history"
                ),
            }
        }
    })
}
