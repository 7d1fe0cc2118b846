//! Replay: send failed audit rows' operations again.
//!
//! The replay queue is the failed and deferred audit rows that are not replays themselves and are
//! not resolved ([`StateStore::pending_replays`]); a later successful write of the same target
//! resolves them too. [`Replayer::replay`] takes one row, every pending row of a run, of an
//! object, or all of them ([`ReplayFilter`]), and hands each to the [`ReplayHandler`] that knows
//! its kind of operation. The handler re-maps the record from its source as it is now
//! ([`MailchimpReplay::remapping`], [`AttributionReplay`](crate::orders::AttributionReplay)), so
//! no replay sends a payload older than what the target holds. Automatic retries, with backoff
//! per row ([`RetryPolicy`]) and dead rows, are the forward run's
//! ([`RunOptions::retry_failed`](crate::forward::RunOptions::retry_failed)). Each attempt is audited as its own row in a new run (trigger
//! [`RunTrigger::Replay`]) with [`replay_of`](NewAuditRow::replay_of) naming the original; a
//! successful attempt marks the original resolved in the same transaction. Resolved rows leave
//! the queue, so replaying again sends nothing; and the target operations are idempotent (PUT
//! by id, attribution posts by order id), so even a row sent twice does no harm.
//!
//! ```no_run
//! # async fn run(orders: sync_core::orders::OrdersSync, state: std::sync::Arc<dyn sync_core::StateStore>) -> sync_core::Result<()> {
//! use sync_core::audit::ReplayFilter;
//! use sync_core::orders::AttributionReplay;
//! use sync_core::replay::Replayer;
//! use sync_core::ObjectKind;
//!
//! let replayer = Replayer::new(state).handler(AttributionReplay::new(orders));
//! // ... and .handler(MailchimpReplay::remapping(forward_sync)) for the forward sync's rows.
//! let report = replayer.replay(&ReplayFilter::Object(ObjectKind::Orders)).await?;
//! println!("{} resolved, {} failed again", report.resolved, report.failed_again);
//! # Ok(()) }
//! ```

mod mailchimp;
mod policy;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::audit::{
    AuditId, AuditQuery, AuditRow, NewAuditRow, OutcomeCounts, ReplayFilter, RunStart,
};
use crate::error::Result;
use crate::model::{Outcome, RunId, RunStatus, RunTrigger};
use crate::state::{StateBatch, StateStore};

pub use mailchimp::MailchimpReplay;
pub use policy::RetryPolicy;

/// One replay attempt: its audit row and the state it changes (hashes of what was written).
#[derive(Debug)]
#[non_exhaustive]
pub struct ReplayAttempt {
    /// The attempt's audit row; the [`Replayer`] sets its `replay_of` to the original.
    pub row: NewAuditRow,
    /// State changes committed with the row (for example the hash of the record written).
    pub state: StateBatch,
    /// Whether the record was re-mapped from a changed source instead of sent as recorded.
    pub remapped: bool,
}

impl ReplayAttempt {
    /// An attempt with its row and state changes.
    #[must_use]
    pub fn new(row: NewAuditRow, state: StateBatch, remapped: bool) -> Self {
        Self {
            row,
            state,
            remapped,
        }
    }
}

/// Replays one kind of failed row, such as QAD attribution posts
/// ([`AttributionReplay`](crate::orders::AttributionReplay)) or the forward sync's Mailchimp
/// writes ([`MailchimpReplay`]).
#[async_trait]
pub trait ReplayHandler: Send + Sync + std::fmt::Debug {
    /// Whether this handler knows how to replay `row`.
    fn handles(&self, row: &AuditRow) -> bool;

    /// Sends `row`'s operation again (or its re-mapped record) as part of replay run `run`.
    ///
    /// Failures of the target belong in the returned row (outcome `failed`), not in the error.
    ///
    /// # Errors
    ///
    /// Only failures that must stop the replay, such as the state store failing.
    async fn replay(&self, row: &AuditRow, run: RunId) -> Result<ReplayAttempt>;
}

/// What a replay did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReplayReport {
    /// The replay run's id.
    pub run_id: Option<RunId>,
    /// Rows attempted.
    pub attempted: u64,
    /// Originals resolved by a successful attempt.
    pub resolved: u64,
    /// Attempts that did not succeed (the originals stay in the queue).
    pub failed_again: u64,
    /// Attempts that sent a record re-mapped from a changed source.
    pub remapped: u64,
    /// The attempts' rows by outcome.
    pub counts: OutcomeCounts,
    /// Pending rows no registered handler knows how to replay (left in the queue).
    pub unsupported: Vec<AuditId>,
}

/// Replays failed audit rows through registered [`ReplayHandler`]s.
#[derive(Clone, Debug)]
pub struct Replayer {
    state: Arc<dyn StateStore>,
    handlers: Vec<Arc<dyn ReplayHandler>>,
}

/// Rows read from the queue at a time.
const PAGE: u32 = 200;

impl Replayer {
    /// A replayer with no handlers yet.
    #[must_use]
    pub fn new(state: Arc<dyn StateStore>) -> Self {
        Self {
            state,
            handlers: Vec::new(),
        }
    }

    /// Registers a handler; the first one that [`handles`](ReplayHandler::handles) a row replays
    /// it.
    #[must_use]
    pub fn handler(mut self, handler: impl ReplayHandler + 'static) -> Self {
        self.handlers.push(Arc::new(handler));
        self
    }

    /// Replays the pending rows `filter` selects, oldest first, in a new run with trigger
    /// [`RunTrigger::Replay`]. Each attempt is committed on its own, so an interrupted replay
    /// keeps what it resolved.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`](crate::SyncError::State) when the state store fails, or a handler's
    /// error; the run is then recorded as aborted.
    pub async fn replay(&self, filter: &ReplayFilter) -> Result<ReplayReport> {
        let start = RunStart::new(Vec::new(), RunTrigger::Replay);
        let run = start.id;
        self.state.start_run(&start).await?;
        let mut report = ReplayReport {
            run_id: Some(run),
            ..ReplayReport::default()
        };
        let result = self.replay_all(filter, run, &mut report).await;
        let (status, error) = match &result {
            Ok(()) => (RunStatus::Completed, None),
            Err(e) => (RunStatus::Aborted, Some(crate::orders::describe(e))),
        };
        self.state.finish_run(run, status, error).await?;
        result.map(|()| report)
    }

    async fn replay_all(
        &self,
        filter: &ReplayFilter,
        run: RunId,
        report: &mut ReplayReport,
    ) -> Result<()> {
        if let ReplayFilter::Row(id) = filter {
            let row = self.state.audit_row(*id).await?;
            if let Some(row) = row.filter(is_pending) {
                self.replay_row(&row, run, report).await?;
            }
            return Ok(());
        }
        // Keyset pages over the failed, then the deferred rows, so rows failing again are not
        // met twice.
        for outcome in [Outcome::Failed, Outcome::Deferred] {
            let base = match filter {
                ReplayFilter::Run(id) => AuditQuery::new().run(*id),
                ReplayFilter::Object(object) => AuditQuery::new().object(*object),
                _ => AuditQuery::new(),
            }
            .outcome(outcome)
            .limit(PAGE);
            let mut after = None;
            loop {
                let mut query = base.clone();
                query.after = after;
                let rows = self.state.query_audit(&query).await?;
                let Some(last) = rows.last() else {
                    break;
                };
                after = Some(last.id);
                for row in rows.iter().filter(|r| is_pending(r) && r.row.run_id != run) {
                    // An earlier attempt of the same record may have superseded it since.
                    let current = self.state.audit_row(row.id).await?;
                    if let Some(row) = current.filter(is_pending) {
                        self.replay_row(&row, run, report).await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn replay_row(
        &self,
        row: &AuditRow,
        run: RunId,
        report: &mut ReplayReport,
    ) -> Result<()> {
        let Some(handler) = self.handlers.iter().find(|h| h.handles(row)) else {
            report.unsupported.push(row.id);
            return Ok(());
        };
        let attempt = handler.replay(row, run).await?;
        let mut new_row = attempt.row;
        new_row.run_id = run;
        new_row.replay_of = Some(row.id);
        report.attempted += 1;
        report.counts.add(new_row.outcome, 1);
        report.remapped += u64::from(attempt.remapped);
        let succeeded = new_row.outcome.is_success();
        // A successful attempt resolves the original in the same transaction.
        self.state.apply(attempt.state.audit(new_row)).await?;
        if succeeded {
            report.resolved += 1;
        } else {
            report.failed_again += 1;
        }
        Ok(())
    }
}

/// Whether a row is in the replay queue: failed, not a replay, not resolved.
fn is_pending(row: &AuditRow) -> bool {
    row.row.outcome.is_replayable() && row.row.replay_of.is_none() && row.resolution.is_none()
}
