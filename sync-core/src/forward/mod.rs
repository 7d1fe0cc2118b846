//! The forward sync: QAD customers and items → Mailchimp members, e-commerce customers and
//! products.
//!
//! One run reads one source object page by page. A reader task fetches QAD pages into a bounded
//! channel (`read_ahead_pages`), so reading overlaps writing and memory stays bounded. Each page
//! is handled in these steps; a page's member side (steps 1–3 for members and tags) is written
//! and committed before the next page's is planned, and its e-commerce customers (or an items
//! page's products) are written on their own task while the next page's members go out, up to
//! two pages at once through the one Mailchimp client, so its 10-connection window does not
//! empty at a page end. Pages are finished (step 4) strictly in page order:
//!
//! 1. **map** every record with the [`MappingConfig`](crate::mapping::MappingConfig); a record
//!    that cannot be mapped is rejected or skipped on its own;
//! 2. **compare** the [content hash](crate::hash) of each mapped record with the stored one:
//!    equal → unchanged, no call;
//! 3. **write** what changed: new members through batch subscribe when there are at least
//!    `member_batch_threshold` of them (addresses already in the audience, found by reading it
//!    once per run before the first batch, go with `update_existing: true` and their current
//!    status, so none changes status), otherwise (and for updates) one `PUT` each; a customer
//!    whose address changed (the id map holds another one for it) has its member moved in place
//!    by [`ChangeMemberEmail`](crate::operation::Operation::ChangeMemberEmail); then changed
//!    tags; then e-commerce customers or products by `PUT`, `concurrency` at a time (a customer
//!    whose member could not be moved keeps its e-commerce record until it can);
//! 4. **commit** the page in [`StateBatch`]es: hashes and id-map entries of the successful
//!    writes, learned member statuses and an audit row per changed record and target (unchanged
//!    ones are counted), the member side's as soon as it is written, the rest with the cursor,
//!    which thus commits only after every write of the page and of the pages before it has
//!    answered and been recorded.
//!
//! A customer's e-commerce record waits for its member: when the member write fails, the
//! e-commerce customer is not written in that run but recorded
//! [`Deferred`](crate::Outcome::Deferred), because Mailchimp would otherwise create the missing
//! member itself, as *transactional*, behind the connector's back.
//!
//! With [`RunOptions::retry_failed`] a run first retries the object's replay queue (failed and
//! deferred rows whose backoff has passed), re-reading those records from QAD by key and handling
//! them like a page; see the `retry` module's rules below. A successful write of a target
//! supersedes the earlier queued rows of the same target, in every run.
//!
//! Before any e-commerce write the store is ensured (store first), with `is_syncing: true` during
//! a backfill (a run with no committed cursor) and set back to false afterwards, also when the
//! run fails.
//!
//! The cursor holds the date watermark of the last completed run and, while a run is under way,
//! the key of its last committed page: an interrupted run resumes after that key, and records it
//! had already written are recognised by their hashes. A completed run moves the watermark to
//! the newest modification date it read; the next run reads from there minus the QAD client's
//! overlap window.

mod audience;
mod merge_fields;
mod owner;
mod page;
mod planner;
pub(crate) mod read;
mod retry;
mod rows;
mod store;
mod turn;

pub use merge_fields::audience_merge_fields;
pub(crate) use page::tags_key;

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, NaiveTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::audit::RunStart;
use crate::config::SyncConfig;
use crate::error::{Result, SyncError};
use crate::model::{Cursor, ObjectKind, RunId, RunStatus, RunTrigger};
use crate::operation::Executor;
use crate::replay::RetryPolicy;
use crate::report::{CallLog, RunReport};
use crate::state::{FencingToken, LeasePolicy, StateBatch, StateStore};

use audience::Audience;
use page::PageContext;
use read::{read_pages, ReadPlan, SourcePage};

/// A progress callback: called with the report so far after each page.
pub type ProgressFn = Arc<dyn Fn(&RunReport) + Send + Sync>;

/// How to run: dry or not, what started it, when to stop early, whom to tell about progress.
///
/// ```
/// use sync_core::forward::RunOptions;
///
/// let options = RunOptions::new().dry_run(true).on_progress(|r| println!("{} read", r.read));
/// assert!(options.is_dry_run());
/// ```
#[derive(Clone, Default)]
pub struct RunOptions {
    dry_run: bool,
    trigger: Option<RunTrigger>,
    cancel: Option<CancellationToken>,
    max_pages: Option<u64>,
    full: bool,
    retry_failed: bool,
    retry_policy: RetryPolicy,
    progress: Option<ProgressFn>,
    plan_limit: Option<usize>,
}

impl fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("dry_run", &self.dry_run)
            .field("trigger", &self.trigger)
            .field("cancel", &self.cancel)
            .field("max_pages", &self.max_pages)
            .field("full", &self.full)
            .field("retry_failed", &self.retry_failed)
            .field("retry_policy", &self.retry_policy)
            .field("progress", &self.progress.is_some())
            .field("plan_limit", &self.plan_limit)
            .finish()
    }
}

impl RunOptions {
    /// A real, manual run over everything changed since the last one.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Plan only: map and compare, but write nothing to Mailchimp and change no state. The
    /// report's `created`/`updated` count what would be written.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Whether this is a dry run.
    #[must_use]
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// What started the run (default manual).
    #[must_use]
    pub fn trigger(mut self, trigger: RunTrigger) -> Self {
        self.trigger = Some(trigger);
        self
    }

    /// Start no new page once `token` is cancelled (graceful shutdown): the pages already under
    /// way (at most two) are finished and committed, the run ends
    /// [`Cancelled`](RunStatus::Cancelled) and the next one resumes where it stopped.
    #[must_use]
    pub fn cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Stop, as if cancelled, after `pages` pages.
    #[must_use]
    pub fn max_pages(mut self, pages: u64) -> Self {
        self.max_pages = Some(pages);
        self
    }

    /// Ignore the cursor: read every record again (change detection still skips unchanged
    /// ones).
    #[must_use]
    pub fn full(mut self, full: bool) -> Self {
        self.full = full;
        self
    }

    /// Before reading what changed, retry the object's replay queue: the failed and deferred
    /// rows whose backoff has passed, re-mapped from their QAD records as they are now (never a
    /// recorded payload). Each retry that does not succeed counts against the row's
    /// [`RetryPolicy`]; a row out of retries is *dead* and left for a person. Off by default; the
    /// scheduler and `ml-connector sync` turn it on. Ignored in dry runs.
    #[must_use]
    pub fn retry_failed(mut self, retry: bool) -> Self {
        self.retry_failed = retry;
        self
    }

    /// The backoff and bound of the retries of [`retry_failed`](Self::retry_failed) (default
    /// [`RetryPolicy::default`]).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// How many planned writes a dry run lists per target record kind in its
    /// [`plan`](RunReport::plan) (default [`DEFAULT_PLAN_LIMIT`](Self::DEFAULT_PLAN_LIMIT));
    /// the others are counted in [`PlanGroup::omitted`](crate::plan::PlanGroup::omitted). Each
    /// listed update costs one audit-trail read for its old values, and the plan is held in
    /// memory: `usize::MAX` lists everything.
    #[must_use]
    pub fn plan_limit(mut self, limit: usize) -> Self {
        self.plan_limit = Some(limit);
        self
    }

    /// The default of [`plan_limit`](Self::plan_limit).
    pub const DEFAULT_PLAN_LIMIT: usize = 1000;

    /// Calls `progress` with the report so far after each page.
    #[must_use]
    pub fn on_progress(mut self, progress: impl Fn(&RunReport) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// The forward sync engine. Cheap to clone; runs of different objects may go at once. A run
/// holds its object's lease in the state store ([`LeasePolicy`]), so a second run of the same
/// object, in this process or another one on the same state database, is refused with
/// [`LeaseError::Held`](crate::LeaseError::Held) naming the holder. Dry runs write no state and
/// take no lease.
///
/// ```no_run
/// # async fn run(mailchimp: mailchimp_client::Client, qad: qad_client::Client) -> sync_core::Result<()> {
/// use std::sync::Arc;
/// use sync_core::config::{StoreConfig, SyncConfig};
/// use sync_core::forward::{ForwardSync, RunOptions};
/// use sync_core::{ObjectKind, SqliteStateStore};
///
/// let config = SyncConfig::new("a1b2c3").with_store(StoreConfig::new("qad-eu", "ACME EU", "EUR"));
/// let state = Arc::new(SqliteStateStore::open("state.db").await?);
/// let sync = ForwardSync::new(config, mailchimp, qad, state)?;
/// let plan = sync.run(ObjectKind::Customers, RunOptions::new().dry_run(true)).await?;
/// println!("{plan}");
/// let report = sync.run(ObjectKind::Customers, RunOptions::new()).await?;
/// println!("{report}");
/// sync.run(ObjectKind::Items, RunOptions::new()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ForwardSync {
    config: Arc<SyncConfig>,
    mailchimp: mailchimp_client::Client,
    qad: qad_client::Client,
    state: Arc<dyn StateStore>,
    lease: LeasePolicy,
}

impl fmt::Debug for ForwardSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwardSync")
            .field("config", &self.config)
            .field("state", &self.state)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// Why the page loop stopped.
enum Stop {
    Done,
    Cancelled,
    Failed(String),
}

impl ForwardSync {
    /// An engine over the two clients and the state store.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] when the configuration is invalid ([`SyncConfig::validate`]).
    pub fn new(
        config: SyncConfig,
        mailchimp: mailchimp_client::Client,
        qad: qad_client::Client,
        state: Arc<dyn StateStore>,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config: Arc::new(config),
            mailchimp,
            qad,
            state,
            lease: LeasePolicy::new(),
        })
    }

    /// Sets who this engine's runs hold their object's lease as, and for how long a lease lives
    /// without a heartbeat (default: this process, [`LeasePolicy::DEFAULT_TTL`]).
    #[must_use]
    pub fn with_lease_policy(mut self, policy: LeasePolicy) -> Self {
        self.lease = policy;
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// The Mailchimp client.
    #[must_use]
    pub fn mailchimp_client(&self) -> &mailchimp_client::Client {
        &self.mailchimp
    }

    /// Runs one source object: [`ObjectKind::Customers`] (members and e-commerce customers) or
    /// [`ObjectKind::Items`] (products).
    ///
    /// A run that fails part-way (QAD unreachable after retries, the state store failing) still
    /// returns its report, with status [`RunStatus::Aborted`] and the error; what it committed
    /// stays committed and the next run resumes after it. Per-record failures never stop a run.
    ///
    /// A real run holds the object's lease from before it reads the cursor until it has
    /// finished, renewing it while it works; every page commit carries the lease's fencing
    /// token, so a run whose lease was taken over (it stalled past the lease's time to live)
    /// commits nothing more and aborts.
    ///
    /// # Errors
    ///
    /// Before any record is handled: [`SyncError::Config`] for another object kind, items
    /// without a store, or a store linked to another audience;
    /// [`SyncError::UnknownMergeTags`] when the customer mapping writes merge fields the
    /// audience lacks (checked before anything is written; each member is then checked against
    /// the audience's fields and one with a bad value is rejected, naming the field);
    /// [`SyncError::Lease`] when another writer holds the object;
    /// [`SyncError::Client`] when the store or the merge fields cannot be read or set up;
    /// [`SyncError::State`] when the
    /// state store cannot be read.
    pub async fn run(&self, object: ObjectKind, options: RunOptions) -> Result<RunReport> {
        let started = Instant::now();
        let dry = options.dry_run;
        let run_id = RunId::new();
        let report = RunReport::new(run_id, object, dry);
        let calls = CallLog::new();
        let store_cfg = match object {
            ObjectKind::Customers if self.config.ecommerce_customers => self.config.store.as_ref(),
            ObjectKind::Customers => None,
            ObjectKind::Items => {
                Some(
                    self.config
                        .store
                        .as_ref()
                        .ok_or_else(|| SyncError::Config {
                            what: "syncing items needs a [store] to write products to".into(),
                        })?,
                )
            }
            other => {
                return Err(SyncError::Config {
                    what: format!("the forward sync reads customers or items, not {other}"),
                });
            }
        };
        let lease = if dry {
            None
        } else {
            Some(self.lease.acquire(Arc::clone(&self.state), object).await?)
        };
        let fence = lease.as_ref().map(|l| l.token());
        let result = self
            .run_leased(object, options, fence, store_cfg, report, &calls)
            .await;
        if let Some(lease) = lease {
            if let Err(err) = lease.release().await {
                // It expires on its own; the run's own outcome is what to report.
                tracing::warn!(%object, "could not release the lease: {}", chain(&err));
            }
        }
        let mut report = result?;
        report.calls = calls.snapshot();
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// The run under its lease (`fence` is its token; `None` in a dry run).
    async fn run_leased(
        &self,
        object: ObjectKind,
        options: RunOptions,
        fence: Option<FencingToken>,
        store_cfg: Option<&crate::config::StoreConfig>,
        mut report: RunReport,
        calls: &CallLog,
    ) -> Result<RunReport> {
        let dry = options.dry_run;
        let run_id = report.run_id;
        let stored = self.state.cursor(object).await?;
        // A backfill: nothing was ever committed, or the first run stopped part-way.
        let backfill = stored
            .as_ref()
            .is_none_or(|c| c.last_key.is_some() && c.last_modified.is_none());
        let cursor = if options.full { None } else { stored };

        if !dry {
            self.state
                .start_run(&RunStart {
                    id: run_id,
                    objects: vec![object],
                    trigger: options.trigger.unwrap_or(RunTrigger::Manual),
                    started_at: Utc::now(),
                })
                .await?;
        }
        // With nothing due for retry, QAD's count and first pages are read while the audience
        // and the store are checked, so the first page is ready when they are.
        let retry_due = options.retry_failed
            && !dry
            && self
                .state
                .due_retries(object, Utc::now(), None, 1)
                .await
                .map_or(true, |due| !due.is_empty());
        let reader = (!retry_due).then(|| self.read_ahead(object, cursor.as_ref(), calls));
        // The audience's merge fields, once per run, before anything is written: a mapping
        // naming a tag the audience lacks stops the run here.
        let merge_fields = if object == ObjectKind::Customers && self.config.members {
            merge_fields::for_run(
                &self.mailchimp,
                &self.config.list_id,
                &self.config.mapping.customer,
                calls,
            )
            .await
        } else {
            Ok(Vec::new())
        };
        let tenant = self.qad.tenant_url().as_str();
        let setup = match (merge_fields, store_cfg, dry) {
            (Err(err), _, _) => Err(err),
            (Ok(fields), Some(store), true) => {
                store::check(&self.mailchimp, store, &self.config.list_id, tenant, calls)
                    .await
                    .map(|_| fields)
            }
            (Ok(fields), Some(store), false) => store::ensure(
                &self.mailchimp,
                store,
                &self.config.list_id,
                tenant,
                backfill,
                calls,
            )
            .await
            .map(|()| fields),
            (Ok(fields), None, _) => Ok(fields),
        };
        let merge_fields = match setup {
            Ok(fields) => fields,
            Err(err) => {
                if !dry {
                    let _ = self
                        .state
                        .finish_run(run_id, RunStatus::Aborted, Some(chain(&err)))
                        .await;
                }
                return Err(err);
            }
        };

        if dry {
            report.plan = Some(crate::plan::Plan {
                backfill,
                marks_store_syncing: backfill && store_cfg.is_some(),
                ..crate::plan::Plan::default()
            });
        }
        let stop = self
            .pages(
                object,
                cursor.as_ref(),
                &options,
                Prepared {
                    fence,
                    merge_fields: &merge_fields,
                    planner: dry.then(|| planner::Planner {
                        limit: options.plan_limit.unwrap_or(RunOptions::DEFAULT_PLAN_LIMIT),
                    }),
                    reader,
                },
                calls,
                &mut report,
            )
            .await;

        let mut stop = stop;
        if let (Some(store), true, false) = (store_cfg, backfill, dry) {
            if let Err(err) = store::end_backfill(&self.mailchimp, store, calls).await {
                if matches!(stop, Stop::Done | Stop::Cancelled) {
                    stop = Stop::Failed(format!(
                        "could not end the store's backfill: {}",
                        chain(&err)
                    ));
                }
            }
        }
        let (status, error) = match stop {
            Stop::Done => (RunStatus::Completed, None),
            Stop::Cancelled => (RunStatus::Cancelled, None),
            Stop::Failed(error) => (RunStatus::Aborted, Some(error)),
        };
        if !dry {
            self.state.finish_run(run_id, status, error.clone()).await?;
        }
        report.status = status;
        report.error = error;
        Ok(report)
    }

    /// The page loop: reader task → bounded channel → plan and write each page's member side,
    /// commit it, then hand the page's other writes to their own task; pages are finished
    /// (their rows and cursor committed, or planned) in page order as those writes answer.
    ///
    /// Up to [`PAGES_IN_FLIGHT`] pages have writes under way at once, all through the one
    /// Mailchimp client and its connection limit, so the window stays full across page ends:
    /// while one page's last `PUT`s answer, the next page's batch subscribe and `PUT`s are
    /// already queued. A page's cursor commits only after every write of the page and of the
    /// pages before it has answered and been recorded.
    async fn pages(
        &self,
        object: ObjectKind,
        cursor: Option<&Cursor>,
        options: &RunOptions,
        prepared: Prepared<'_>,
        calls: &CallLog,
        report: &mut RunReport,
    ) -> Stop {
        let Prepared {
            fence,
            merge_fields,
            planner,
            reader,
        } = prepared;
        let watermark = cursor.and_then(|c| c.last_modified);
        let ctx = PageContext::new(
            Arc::clone(&self.config),
            Arc::clone(&self.state),
            Executor::new(self.mailchimp.clone(), calls.clone()),
            options.dry_run,
            merge_fields.to_vec(),
            self.qad.clone(),
        );
        let cancel = options.cancel.clone().unwrap_or_default();
        // Records the retry pass just handled from their current QAD version: the read below
        // leaves them alone, so one run never sends (or counts) a record twice.
        let mut retried_keys = BTreeSet::new();
        if options.retry_failed && !options.dry_run {
            match self
                .retry_queue(&ctx, object, options, fence, calls, report)
                .await
            {
                Ok(keys) => retried_keys = keys,
                Err(err) => {
                    return Stop::Failed(format!(
                        "retrying the replay queue failed: {}",
                        chain(&err)
                    ));
                }
            }
        }
        // Unless it started with the run (nothing was due for retry), the reader starts after
        // the retry pass: its by-key reads go first, and a QAD failure there is told apart from
        // one of the pages.
        let ReadAhead {
            pages: mut rx,
            total,
            task: _abort_reader,
        } = match reader {
            Some(reader) => reader,
            None => self.read_ahead(object, cursor, calls),
        };
        let mut finisher = Finisher {
            sync: self,
            object,
            options,
            fence,
            watermark,
            planner,
            executor: &ctx.executor,
            audience: &ctx.audience,
            total: &total,
            calls,
            newest: watermark.map(|w| w.date_naive()),
            unseen: self.unseen_fields(object),
        };
        // A dry run plans page by page: its plan reads the state each page would change.
        let depth = if options.dry_run { 1 } else { PAGES_IN_FLIGHT };
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut turns = turn::Turns::default();
        let mut started: u64 = 0;
        let stop = 'pages: loop {
            // Finish the pages whose writes are done, and the oldest while too many are under
            // way: in page order, so cursors commit in order.
            while let Some(oldest) = in_flight.front() {
                if in_flight.len() < depth && !oldest.writes.0.is_finished() {
                    break;
                }
                let Some(page) = in_flight.pop_front() else {
                    break;
                };
                if let Err(stop) = finisher.finish(page, report).await {
                    // Nothing after a page that could not be finished may commit its cursor.
                    return stop;
                }
            }
            if cancel.is_cancelled() || options.max_pages.is_some_and(|max| started >= max) {
                break Stop::Cancelled;
            }
            let next = tokio::select! {
                biased;
                () = cancel.cancelled() => break Stop::Cancelled,
                next = rx.recv() => next,
            };
            let page: SourcePage = match next {
                None => break Stop::Done,
                Some(Ok(page)) => page,
                Some(Err(err)) => {
                    break Stop::Failed(format!("reading QAD failed: {}", chain(&err)));
                }
            };
            let page = Arc::new(page);
            let work = if retried_keys.is_empty() {
                Arc::clone(&page)
            } else {
                Arc::new(page.without(&retried_keys))
            };
            match self
                .start_page(
                    &ctx,
                    object,
                    options,
                    fence,
                    (page, work),
                    turns.next(),
                    report,
                )
                .await
            {
                Ok(started_page) => in_flight.push_back(started_page),
                Err(stop) => break 'pages stop,
            }
            started += 1;
        };
        // The pages already under way are finished whatever stopped the loop: their writes
        // were made, and recording them (with their cursors, in order) spares the next run.
        while let Some(page) = in_flight.pop_front() {
            if let Err(stop) = finisher.finish(page, report).await {
                return stop;
            }
        }
        if !matches!(stop, Stop::Done) {
            return stop;
        }
        if !options.dry_run {
            let done = Cursor::new(
                object,
                finisher
                    .newest
                    .map(|d| d.and_time(NaiveTime::MIN).and_utc()),
                None,
                Some(report.run_id),
            );
            if let Err(err) = self
                .state
                .apply(fenced(fence, object, StateBatch::new().commit_cursor(done)))
                .await
            {
                return Stop::Failed(format!("committing the cursor failed: {}", chain(&err)));
            }
        }
        Stop::Done
    }

    /// Starts reading `object` from QAD (after `cursor`) on its own task, up to
    /// `read_ahead_pages` pages ahead of the writes.
    fn read_ahead(
        &self,
        object: ObjectKind,
        cursor: Option<&Cursor>,
        calls: &CallLog,
    ) -> ReadAhead {
        let total = Arc::new(std::sync::OnceLock::new());
        let plan = ReadPlan {
            since: cursor.and_then(|c| c.last_modified).map(|w| w.date_naive()),
            after_key: cursor
                .filter(|_| self.config.resume_after_key)
                .and_then(|c| c.last_key.clone()),
            key_field: if object == ObjectKind::Items {
                "itemCode"
            } else {
                "customerCode"
            },
            page_size: self.config.page_size,
            total: Some(total.clone()),
        };
        let (tx, pages) = mpsc::channel(self.config.read_ahead_pages);
        let task = match object {
            ObjectKind::Items => {
                tokio::spawn(read_pages(self.qad.items(), plan, tx, calls.clone()))
            }
            _ => tokio::spawn(read_pages(self.qad.customers(), plan, tx, calls.clone())),
        };
        ReadAhead {
            pages,
            total,
            task: AbortOnDrop(task),
        }
    }

    /// Plans and writes the member side of a customers page and commits it (no cursor), so
    /// the next page's member side finds its claims and hashes; then starts the page's other
    /// writes (e-commerce customers, or an items page's products) on their own task, which
    /// sends them in the page's `turn`. `page` is the page as read, `work` what is left of it
    /// to write.
    #[allow(clippy::too_many_arguments)]
    async fn start_page(
        &self,
        ctx: &PageContext,
        object: ObjectKind,
        options: &RunOptions,
        fence: Option<FencingToken>,
        (page, work): (Arc<SourcePage>, Arc<SourcePage>),
        turn: turn::Turn,
        report: &RunReport,
    ) -> std::result::Result<InFlight, Stop> {
        let mut member_rows = match object {
            ObjectKind::Items => Vec::new(),
            _ => page::member_side(ctx, &work)
                .await
                .map_err(|err| Stop::Failed(chain(&err)))?,
        };
        if !options.dry_run && !member_rows.is_empty() {
            let commit = Commit {
                object,
                run_id: report.run_id,
                fence,
                policy: options.retry_policy,
                what: "a page's members",
            };
            self.commit_rows(commit, &mut member_rows, None).await?;
        }
        let related = page::Related::of(&member_rows);
        let task_ctx = ctx.clone();
        let task_work = Arc::clone(&work);
        let writes = tokio::spawn(async move {
            match object {
                ObjectKind::Items => page::items(&task_ctx, &task_work, turn).await,
                _ => page::ecommerce_side(&task_ctx, &task_work, &related, turn).await,
            }
        });
        Ok(InFlight {
            page,
            member_rows,
            writes: AbortOnDrop(writes),
        })
    }

    /// Links `page_rows`' failures to the replay queue and commits them in one batch, with `cursor`
    /// when given, under the run's lease.
    async fn commit_rows(
        &self,
        commit: Commit,
        page_rows: &mut [rows::Row],
        cursor: Option<Cursor>,
    ) -> std::result::Result<(), Stop> {
        let Commit {
            object,
            run_id,
            fence,
            policy,
            what,
        } = commit;
        let retried = self
            .link_failures(object, page_rows, policy)
            .await
            .map_err(|err| Stop::Failed(chain(&err)))?;
        let mut batch = rows::state_batch(run_id, object, page_rows);
        if let Some(cursor) = cursor {
            batch = batch.commit_cursor(cursor);
        }
        if let Some(mark) = retried {
            batch = batch.retried(mark);
        }
        self.state
            .apply(fenced(fence, object, batch))
            .await
            .map_err(|err| Stop::Failed(format!("committing {what} failed: {}", chain(&err))))?;
        Ok(())
    }

    /// The mapped fields beyond the defaults (custom fields, renamed ones), each reported once
    /// if no record of a page has it. (Typed QAD fields without a value are left out of a
    /// record, so the defaults' optional fields, `street2` say, are often in no record of a
    /// page: not worth a warning.)
    fn unseen_fields(&self, object: ObjectKind) -> BTreeSet<String> {
        match object {
            ObjectKind::Items => {
                let defaults = crate::mapping::ItemMapping::default().source_fields();
                let mapped = self.config.mapping.item.source_fields();
                mapped.difference(&defaults).cloned().collect()
            }
            _ => {
                let defaults = crate::mapping::CustomerMapping::default().source_fields();
                let mapped = self.config.mapping.customer.source_fields();
                mapped.difference(&defaults).cloned().collect()
            }
        }
    }
}

/// Pages whose writes may be under way at once: two keep the connection window full across a
/// page end (the next page's member side and `PUT`s queue while the last `PUT`s of the one
/// before answer) and hold at most two pages of operations in memory.
const PAGES_IN_FLIGHT: usize = 2;

/// What a page's commit is for: its object, run and lease, the retry policy its failures are
/// queued under, and what it is called in an error.
#[derive(Clone, Copy)]
struct Commit {
    object: ObjectKind,
    run_id: RunId,
    fence: Option<FencingToken>,
    policy: RetryPolicy,
    what: &'static str,
}

/// A page whose member side is written and committed and whose other writes are under way.
struct InFlight {
    /// The page as read (its records count as read, its last key is its cursor).
    page: Arc<SourcePage>,
    member_rows: Vec<rows::Row>,
    writes: AbortOnDrop<Result<Vec<rows::Row>>>,
}

/// Finishes pages in page order: commits (or, in a dry run, plans) what their writes did and
/// their cursor, and counts them in the report.
struct Finisher<'a> {
    sync: &'a ForwardSync,
    object: ObjectKind,
    options: &'a RunOptions,
    fence: Option<FencingToken>,
    watermark: Option<chrono::DateTime<Utc>>,
    planner: Option<planner::Planner>,
    executor: &'a Executor,
    audience: &'a tokio::sync::Mutex<Audience>,
    total: &'a std::sync::OnceLock<u64>,
    calls: &'a CallLog,
    /// The newest modification date read so far: the next run's watermark.
    newest: Option<NaiveDate>,
    /// The mapped fields no page has had a value for yet ([`absent_fields`]).
    unseen: BTreeSet<String>,
}

impl Finisher<'_> {
    async fn finish(
        &mut self,
        in_flight: InFlight,
        report: &mut RunReport,
    ) -> std::result::Result<(), Stop> {
        let InFlight {
            page,
            member_rows,
            mut writes,
        } = in_flight;
        let other_rows = match (&mut writes.0).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(err)) => return Err(Stop::Failed(chain(&err))),
            Err(err) => {
                return Err(Stop::Failed(format!(
                    "a page's writes did not finish: {err}"
                )));
            }
        };
        let object = self.object;
        if let Some(planner) = self.planner {
            let mut rows = member_rows.clone();
            rows.extend(other_rows.iter().cloned());
            let mut audience = self.audience.lock().await;
            if let Err(err) = self
                .sync
                .plan_page(planner, object, &rows, self.executor, &mut audience, report)
                .await
            {
                return Err(Stop::Failed(format!(
                    "planning a page failed: {}",
                    chain(&err)
                )));
            }
        }
        let mut other_rows = other_rows;
        if !self.options.dry_run {
            let sync = self.sync;
            let position = Cursor::new(
                object,
                self.watermark,
                page.last_key().map(str::to_owned),
                Some(report.run_id),
            );
            let commit = Commit {
                object,
                run_id: report.run_id,
                fence: self.fence,
                policy: self.options.retry_policy,
                what: "a page",
            };
            sync.commit_rows(commit, &mut other_rows, Some(position))
                .await?;
        }
        report.read += page.records.len() as u64;
        report.pages += 1;
        absent_fields(&page, &mut self.unseen, report);
        for row in member_rows.iter().chain(&other_rows) {
            let counts = if row.tags {
                report.tags.get_or_insert_with(Default::default)
            } else {
                report.target(row.target)
            };
            counts.add(row.outcome, row.reason.as_deref());
        }
        self.newest = self.newest.max(page.max_modified());
        report.expected_total = self.total.get().copied();
        report.calls = self.calls.snapshot();
        if let Some(progress) = &self.options.progress {
            progress(report);
        }
        Ok(())
    }
}

/// `batch` under the run's lease, when it holds one.
fn fenced(fence: Option<FencingToken>, object: ObjectKind, batch: StateBatch) -> StateBatch {
    match fence {
        Some(token) => batch.fenced(object, token),
        None => batch,
    }
}

impl ForwardSync {
    /// Adds a dry run's page to its plan: the planned writes with their old values, and the
    /// members that would be new to the audience.
    async fn plan_page(
        &self,
        planner: planner::Planner,
        object: ObjectKind,
        rows: &[rows::Row],
        executor: &Executor,
        audience: &mut Audience,
        report: &mut RunReport,
    ) -> Result<()> {
        let plan = report.plan.get_or_insert_with(Default::default);
        planner
            .page(plan, self.state.as_ref(), object, rows)
            .await?;
        let lookup = planner::ContactLookup {
            executor,
            audience,
            list_id: &self.config.list_id,
            prefetch_limit: self.config.member_prefetch_limit,
            // A plan counts against the audience as read once for the run.
            fresh_for: std::time::Duration::MAX,
            concurrency: self.config.concurrency,
        };
        let unknown = planner::Planner::new_contacts(plan, lookup, rows).await;
        if !unknown.is_empty() {
            report.warnings.push(format!(
                "{} address(es) could not be looked up in the audience and count as new contacts \
                 (the count is an upper bound), e.g. {}",
                unknown.len(),
                unknown[0]
            ));
        }
        Ok(())
    }
}

/// Warns of each of the mapped fields `unseen` so far that no record of `page` has (a custom
/// field named as no browse names it writes nothing, silently otherwise), naming the fields the
/// records do have; the fields a record has are seen for the rest of the run.
fn absent_fields(page: &SourcePage, unseen: &mut BTreeSet<String>, report: &mut RunReport) {
    let Some(first) = page.records.first() else {
        return;
    };
    unseen.retain(|field| !page.records.iter().any(|r| r.fields.has(field)));
    if unseen.is_empty() {
        return;
    }
    let present: Vec<&str> = first.fields.names().collect();
    for field in std::mem::take(unseen) {
        report.warnings.push(format!(
            "mapped field `{field}` has no value in any record of page {} (check its name); the records have: {}",
            report.pages,
            present.join(", ")
        ));
    }
}

/// An error and its sources, for reports and run records.
/// What a run set up before its pages.
struct Prepared<'a> {
    /// The lease's fencing token (`None` in a dry run).
    fence: Option<FencingToken>,
    /// The audience's merge fields (empty when no member is written).
    merge_fields: &'a [mailchimp_client::MergeField],
    /// A dry run's plan under construction.
    planner: Option<planner::Planner>,
    /// The QAD reader, when it started with the run.
    reader: Option<ReadAhead>,
}

/// A run's QAD reader: its task, reading pages ahead into a bounded channel, and the record
/// count QAD gave before the first page.
struct ReadAhead {
    pages: mpsc::Receiver<qad_client::Result<SourcePage>>,
    total: Arc<std::sync::OnceLock<u64>>,
    task: AbortOnDrop<()>,
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Stops a task (the reader, a page's writes) when the page loop ends early.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_and_its_runs_can_move_across_tasks() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: T) {}
        fn check(sync: &ForwardSync) {
            send_sync(sync);
            send(sync.run(ObjectKind::Customers, RunOptions::new()));
        }
        let _ = check;
        send_sync(&RunOptions::new().on_progress(|_| {}));
    }
}
