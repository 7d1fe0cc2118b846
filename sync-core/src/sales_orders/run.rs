//! The sales-history run: QAD sales orders (with lines) → Mailchimp e-commerce orders, page by
//! page, one state transaction per page, under the `sales_orders` lease.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Months, NaiveDate, NaiveTime, Utc};
use futures::{StreamExt, TryStreamExt};
use mailchimp_client::ecommerce::{OrderInput, StoreId, StoreUpdate};
use qad_client::{Record, SalesOrder, SalesOrderNumber};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::config::SalesOrdersConfig;
use super::map::{map_order, missing_refs, order_hash, Refs};
use crate::audit::{AuditId, Method, NewAuditRow, OutcomeCounts, RunStart, TargetOperation};
use crate::error::{Result, SyncError};
use crate::model::{
    ContentHash, Cursor, IdMapping, ObjectKind, Outcome, RunId, RunStatus, RunTrigger,
    TargetRecord, TargetSystem,
};
use crate::orders::describe;
use crate::replay::RetryPolicy;
use crate::state::{FencingToken, LeasePolicy, RetryMark, StateBatch, StateStore};

/// What a sales-history run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SalesOrdersReport {
    /// The run's id (its audit rows carry it).
    pub run_id: Option<RunId>,
    /// Whether this was a backfill (no committed cursor yet): the store said `is_syncing` during
    /// it, and it read only orders dated within the look-back.
    pub backfill: bool,
    /// Sales orders a backfill is going to read (counted before it starts); `None` for
    /// incremental runs.
    pub total: Option<u64>,
    /// Sales orders read from QAD (retries included).
    pub read: u64,
    /// Orders by outcome: created/updated were written, unchanged needed no call, deferred wait
    /// for their customer or products, rejected cannot be mapped (the reason is in the audit
    /// row), failed were not written and are retried by later runs.
    pub counts: OutcomeCounts,
    /// Orders in a state that is not sent, or dated before the look-back and never written.
    pub not_sent: u64,
    /// Queued orders retried at the start of the run.
    pub retried: u64,
    /// Pages committed.
    pub pages: u64,
    /// Whether the run stopped early on cancellation (after committing the page in flight).
    pub cancelled: bool,
    /// Whether Mailchimp has no such store yet (the customers or items flows create it): the
    /// run reads nothing and completes.
    pub store_missing: bool,
}

impl fmt::Display for SalesOrdersReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        write!(
            f,
            "sales orders: {} read{}, {} created, {} updated, {} unchanged, {} deferred, {} rejected, {} failed, {} not sent",
            self.read,
            self.total.map(|t| format!(" of {t}")).unwrap_or_default(),
            c.created,
            c.updated,
            c.unchanged,
            c.deferred,
            c.rejected,
            c.failed,
            self.not_sent
        )
    }
}

/// A progress callback: called with the report so far after each page.
pub type SalesOrdersProgress = Arc<dyn Fn(&SalesOrdersReport) + Send + Sync>;

/// Writes QAD sales history to Mailchimp as e-commerce orders (see the [module](super) docs).
///
/// ```no_run
/// # async fn run(mailchimp: mailchimp_client::Client, qad: qad_client::Client) -> sync_core::Result<()> {
/// use std::sync::Arc;
/// use sync_core::sales_orders::{SalesOrdersConfig, SalesOrdersSync};
/// use sync_core::{RunTrigger, SqliteStateStore};
/// use tokio_util::sync::CancellationToken;
///
/// let state = Arc::new(SqliteStateStore::open("state.db").await?);
/// let sync = SalesOrdersSync::new(mailchimp, qad, state, SalesOrdersConfig::new("acme-eu"))
///     .on_progress(|r| println!("{} of {:?}", r.read, r.total));
/// let report = sync.run(RunTrigger::Manual, &CancellationToken::new()).await?;
/// println!("{report}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SalesOrdersSync {
    mailchimp: mailchimp_client::Client,
    qad: qad_client::Client,
    state: Arc<dyn StateStore>,
    config: Arc<SalesOrdersConfig>,
    lease: LeasePolicy,
    retry: RetryPolicy,
    progress: Option<SalesOrdersProgress>,
}

impl fmt::Debug for SalesOrdersSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesOrdersSync")
            .field("config", &self.config)
            .field("lease", &self.lease)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// One order handled: its audit row (if any), its state, and what to count.
struct Handled {
    key: String,
    outcome: Outcome,
    row: Option<NewAuditRow>,
    state: StateBatch,
}

impl SalesOrdersSync {
    /// The flow over both clients and the state store.
    #[must_use]
    pub fn new(
        mailchimp: mailchimp_client::Client,
        qad: qad_client::Client,
        state: Arc<dyn StateStore>,
        config: SalesOrdersConfig,
    ) -> Self {
        Self {
            mailchimp,
            qad,
            state,
            config: Arc::new(config),
            lease: LeasePolicy::new(),
            retry: RetryPolicy::default(),
            progress: None,
        }
    }

    /// Sets who holds the `sales_orders` lease and its time to live.
    #[must_use]
    pub fn with_lease_policy(mut self, policy: LeasePolicy) -> Self {
        self.lease = policy;
        self
    }

    /// Sets the backoff and bound of the retries of deferred and failed orders.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Calls `progress` with the report so far after each page.
    #[must_use]
    pub fn on_progress(
        mut self,
        progress: impl Fn(&SalesOrdersReport) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SalesOrdersConfig {
        &self.config
    }

    /// Runs once: takes the `sales_orders` lease, retries the due queued orders, reads the
    /// orders changed since the cursor (a backfill: every order within the look-back, with the
    /// store's `is_syncing` set for its duration and cleared after, also when it fails), writes
    /// what changed, and commits the cursor at the end.
    ///
    /// # Errors
    ///
    /// [`SyncError::Lease`] when another writer holds the flow; [`SyncError::Client`] when QAD
    /// cannot be read or the store cannot be read or patched (pages already handled stay
    /// committed; the run is recorded as aborted); [`SyncError::State`] when the state store
    /// fails. Per-order problems are audit rows, never errors.
    pub async fn run(
        &self,
        trigger: RunTrigger,
        cancel: &CancellationToken,
    ) -> Result<SalesOrdersReport> {
        let lease = self
            .lease
            .acquire(Arc::clone(&self.state), ObjectKind::SalesOrders)
            .await?;
        let result = self.run_leased(trigger, cancel, lease.token()).await;
        if let Err(err) = lease.release().await {
            tracing::warn!(
                "could not release the sales_orders lease: {}",
                describe(&err)
            );
        }
        result
    }

    async fn run_leased(
        &self,
        trigger: RunTrigger,
        cancel: &CancellationToken,
        fence: FencingToken,
    ) -> Result<SalesOrdersReport> {
        let start = RunStart::new(vec![ObjectKind::SalesOrders], trigger);
        let run = start.id;
        self.state.start_run(&start).await?;
        let mut report = SalesOrdersReport {
            run_id: Some(run),
            ..SalesOrdersReport::default()
        };
        let result = self.run_body(run, cancel, fence, &mut report).await;
        match result {
            Ok(()) => {
                let status = if report.cancelled {
                    RunStatus::Cancelled
                } else {
                    RunStatus::Completed
                };
                self.state.finish_run(run, status, None).await?;
                Ok(report)
            }
            Err(e) => {
                // Best effort: the run's own error is the one to report.
                let _ = self
                    .state
                    .finish_run(run, RunStatus::Aborted, Some(describe(&e)))
                    .await;
                Err(e)
            }
        }
    }

    async fn run_body(
        &self,
        run: RunId,
        cancel: &CancellationToken,
        fence: FencingToken,
        report: &mut SalesOrdersReport,
    ) -> Result<()> {
        let store = self.mailchimp.ecommerce().store(&self.store_id());
        match store.get().send().await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {
                tracing::info!(store = %self.config.store_id, "the store does not exist yet; no sales orders written");
                report.store_missing = true;
                return Ok(());
            }
            Err(e) => return Err(SyncError::mailchimp(e)),
        }
        let cursor = self.state.cursor(ObjectKind::SalesOrders).await?;
        let watermark = cursor.as_ref().and_then(|c| c.last_modified);
        report.backfill = watermark.is_none();
        if !report.backfill {
            let retried = self.retry_queue(run, fence, report).await?;
            return self
                .read_changed(run, cancel, fence, watermark, &retried, report)
                .await;
        }
        // A backfill: Mailchimp's order automations pause while the store says it is syncing.
        store
            .update(&StoreUpdate::syncing(true))
            .await
            .map_err(SyncError::mailchimp)?;
        let body = async {
            let retried = self.retry_queue(run, fence, report).await?;
            report.total = Some(self.count_window().await?);
            self.emit(report);
            self.read_changed(run, cancel, fence, None, &retried, report)
                .await
        }
        .await;
        let ended = store.update(&StoreUpdate::syncing(false)).await;
        match (body, ended) {
            (Err(e), ended) => {
                if let Err(end) = ended {
                    tracing::warn!(
                        "could not set is_syncing back to false after a failed backfill: {}",
                        describe(&end)
                    );
                }
                Err(e)
            }
            (Ok(()), Err(end)) => Err(SyncError::mailchimp(end)),
            (Ok(()), Ok(_)) => Ok(()),
        }
    }

    fn store_id(&self) -> StoreId {
        StoreId::from(self.config.store_id.as_str())
    }

    /// The first order date a backfill reads.
    fn cutoff(&self) -> NaiveDate {
        let today = Utc::now().date_naive();
        today
            .checked_sub_months(Months::new(self.config.lookback_months))
            .unwrap_or(NaiveDate::MIN)
    }

    fn headers(&self, since: Option<DateTime<Utc>>) -> qad_client::Reader<SalesOrder> {
        let reader = self
            .qad
            .sales_orders()
            .count(self.config.page_size.clamp(1, 1000));
        match since {
            Some(since) => reader.modified_since(since.date_naive()),
            None => reader.on_or_after("orderDate", self.cutoff()),
        }
    }

    /// How many sales orders the backfill's window holds: one read of the headers.
    async fn count_window(&self) -> Result<u64> {
        let cutoff = self.cutoff();
        let mut pages = self.headers(None).into_pages();
        let mut total = 0;
        while let Some(page) = pages.try_next().await.map_err(SyncError::qad)? {
            total += page
                .items
                .iter()
                .filter(|o| o.order_date.is_none_or(|d| d >= cutoff))
                .count() as u64;
        }
        Ok(total)
    }

    fn emit(&self, report: &SalesOrdersReport) {
        if let Some(progress) = &self.progress {
            progress(report);
        }
    }

    /// Reads the headers changed since `since` (all within the look-back when `None`), page by
    /// page, and commits each page; the last commit moves the cursor. Orders the retry pass of
    /// this run already handled (`retried`) are not handled twice.
    async fn read_changed(
        &self,
        run: RunId,
        cancel: &CancellationToken,
        fence: FencingToken,
        since: Option<DateTime<Utc>>,
        retried: &BTreeSet<String>,
        report: &mut SalesOrdersReport,
    ) -> Result<()> {
        let mut pages = self.headers(since).into_pages();
        let mut newest = since;
        while let Some(page) = pages.try_next().await.map_err(SyncError::qad)? {
            for order in &page.items {
                newest = newest.max(stamp_of(order));
            }
            let fresh: Vec<SalesOrder> = page
                .items
                .into_iter()
                .filter(|o| !retried.contains(&o.key()))
                .collect();
            report.read += fresh.len() as u64;
            let batch = self.handle_page(run, fresh, report).await?;
            self.state
                .apply(batch.fenced(ObjectKind::SalesOrders, fence))
                .await?;
            report.pages += 1;
            self.emit(report);
            if cancel.is_cancelled() {
                report.cancelled = true;
                return Ok(());
            }
        }
        // Completed: the next run reads from the newest modification seen (minus the QAD
        // client's overlap window); a run that read nothing keeps a backfill's "now".
        let mark = newest.or_else(|| Some(Utc::now()));
        let cursor = Cursor::new(ObjectKind::SalesOrders, mark, None, Some(run));
        self.state
            .apply(
                StateBatch::new()
                    .commit_cursor(cursor)
                    .fenced(ObjectKind::SalesOrders, fence),
            )
            .await?;
        Ok(())
    }

    /// Retries the due queued (deferred or failed) orders: each is read again by number and
    /// handled as it is now; one that does not succeed again points at its queued row and counts
    /// against its [`RetryPolicy`]; one gone from QAD, or now rejected, is dead. Returns the
    /// numbers it handled.
    async fn retry_queue(
        &self,
        run: RunId,
        fence: FencingToken,
        report: &mut SalesOrdersReport,
    ) -> Result<BTreeSet<String>> {
        let mut after: Option<AuditId> = None;
        let mut seen: BTreeSet<String> = BTreeSet::new();
        loop {
            let due = self
                .state
                .due_retries(ObjectKind::SalesOrders, Utc::now(), after, 100)
                .await?;
            let Some(last) = due.last() else {
                return Ok(seen);
            };
            after = Some(last.id);
            let keys: Vec<String> = due
                .iter()
                .map(|r| r.row.source_key.clone())
                .filter(|k| seen.insert(k.clone()))
                .collect();
            if keys.is_empty() {
                continue;
            }
            let queued = self
                .state
                .queued_rows(ObjectKind::SalesOrders, &keys)
                .await?;
            let mut by_key: BTreeMap<String, Vec<AuditId>> = BTreeMap::new();
            for row in &queued {
                by_key
                    .entry(row.row.source_key.clone())
                    .or_default()
                    .push(row.id);
            }
            let read: Vec<(String, Option<SalesOrder>)> = futures::stream::iter(keys)
                .map(|key| async move {
                    let found = self
                        .qad
                        .sales_order(&SalesOrderNumber::from(key.as_str()))
                        .await;
                    found.map(|order| (key, order))
                })
                .buffered(self.config.concurrency.max(1))
                .try_collect()
                .await
                .map_err(SyncError::qad)?;
            report.retried += read.len() as u64;
            report.read += read.len() as u64;
            let mut batch = StateBatch::new();
            let mut again = Vec::new();
            let mut dead = Vec::new();
            let mut orders = Vec::new();
            for (key, order) in read {
                match order {
                    Some(order) => orders.push(order),
                    None => {
                        let ids = by_key.remove(&key).unwrap_or_default();
                        if let Some(first) = ids.first() {
                            batch = batch.audit(
                                NewAuditRow::new(
                                    run,
                                    ObjectKind::SalesOrders,
                                    &key,
                                    Outcome::Skipped,
                                )
                                .target(TargetRecord::EcommerceOrder)
                                .error("the QAD sales order no longer exists: nothing to retry")
                                .replay_of(*first),
                            );
                        }
                        dead.extend(ids);
                    }
                }
            }
            let handled = self.handle_orders(run, orders, true).await?;
            for item in handled {
                tally(report, &item);
                let ids = by_key.remove(&item.key).unwrap_or_default();
                let mut row = item.row.unwrap_or_else(|| {
                    let row =
                        NewAuditRow::new(run, ObjectKind::SalesOrders, &item.key, item.outcome)
                            .target(TargetRecord::EcommerceOrder);
                    if item.outcome == Outcome::Unchanged {
                        // Mailchimp holds the current order already: this row supersedes the
                        // queued ones.
                        row
                    } else {
                        row.error(
                            "the order's QAD state is not sent (or it is dated before the \
                             look-back): nothing to retry",
                        )
                    }
                });
                match row.outcome {
                    o if o.is_success() => {}
                    Outcome::Failed | Outcome::Deferred => {
                        row.replay_of = ids.first().copied();
                        again.extend(ids);
                    }
                    _ => {
                        row.replay_of = ids.first().copied();
                        dead.extend(ids);
                    }
                }
                batch = batch.merge(item.state).audit(row);
            }
            // Queued rows of orders no answer came back for: nothing left to retry.
            dead.extend(by_key.into_values().flatten());
            if !again.is_empty() {
                batch = batch.retried(RetryMark::new(again, self.retry));
            }
            if !dead.is_empty() {
                batch = batch.retried(RetryMark::new(dead, self.retry).give_up());
            }
            self.state
                .apply(batch.fenced(ObjectKind::SalesOrders, fence))
                .await?;
        }
    }

    /// One page of headers: lines read for the orders in a sent state, then each handled; the
    /// batch to commit (the rows of orders that did not succeed point at their queued rows).
    async fn handle_page(
        &self,
        run: RunId,
        headers: Vec<SalesOrder>,
        report: &mut SalesOrdersReport,
    ) -> Result<StateBatch> {
        let orders = self.with_lines(headers).await?;
        let handled = self.handle_orders(run, orders, false).await?;
        let mut batch = StateBatch::new();
        let mut unchanged = 0;
        let keys: Vec<String> = handled
            .iter()
            .filter_map(|h| h.row.as_ref())
            .filter(|r| r.outcome.is_replayable())
            .map(|r| r.source_key.clone())
            .collect();
        let queued = if keys.is_empty() {
            Vec::new()
        } else {
            self.state
                .queued_rows(ObjectKind::SalesOrders, &keys)
                .await?
        };
        let mut again = Vec::new();
        for item in handled {
            tally(report, &item);
            if item.outcome == Outcome::Unchanged {
                unchanged += 1;
            }
            batch = batch.merge(item.state);
            if let Some(mut row) = item.row {
                let ids: Vec<AuditId> = queued
                    .iter()
                    .filter(|q| q.row.source_key == row.source_key)
                    .map(|q| q.id)
                    .collect();
                if row.outcome.is_replayable() && !ids.is_empty() {
                    row.replay_of = ids.first().copied();
                    again.extend(ids);
                }
                batch = batch.audit(row);
            }
        }
        if !again.is_empty() {
            batch = batch.retried(RetryMark::new(again, self.retry));
        }
        Ok(batch.count_unchanged(run, unchanged))
    }

    /// Reads the lines of the headers whose state is sent (a header read has none).
    async fn with_lines(&self, headers: Vec<SalesOrder>) -> Result<Vec<SalesOrder>> {
        futures::stream::iter(headers)
            .map(|mut order| async move {
                if self
                    .config
                    .rule(order.status.as_deref().unwrap_or_default())
                    .is_some()
                {
                    order.lines = self
                        .qad
                        .sales_order_lines()
                        .of_order(&order.sales_order_number)
                        .into_stream()
                        .try_collect()
                        .await?;
                }
                Ok::<_, qad_client::Error>(order)
            })
            .buffered(self.config.concurrency.max(1))
            .try_collect()
            .await
            .map_err(SyncError::qad)
    }

    /// Decides and writes each order: not sent, outside the look-back, deferred, rejected,
    /// unchanged, or written (`PUT` the first time, `PATCH` after).
    async fn handle_orders(
        &self,
        run: RunId,
        orders: Vec<SalesOrder>,
        retry: bool,
    ) -> Result<Vec<Handled>> {
        let numbers: Vec<String> = orders.iter().map(Record::key).collect();
        let written = self
            .state
            .target_ids(ObjectKind::EcommerceOrders, &numbers)
            .await?;
        let ids: Vec<String> = written.values().cloned().collect();
        let hashes = self.state.hashes(ObjectKind::EcommerceOrders, &ids).await?;
        let mut codes: Vec<String> = orders
            .iter()
            .filter_map(|o| o.sold_to_customer_code.as_ref().map(ToString::to_string))
            .collect();
        codes.sort();
        codes.dedup();
        let customers = self
            .state
            .target_ids(ObjectKind::EcommerceCustomers, &codes)
            .await?;
        let mut items: Vec<String> = orders
            .iter()
            .flat_map(|o| {
                o.lines
                    .iter()
                    .filter_map(|l| l.item_code.as_ref().map(ToString::to_string))
            })
            .collect();
        items.sort();
        items.dedup();
        let products = self.products(&items).await?;
        let cutoff = self.cutoff();
        let plans: Vec<(SalesOrder, Plan)> = orders
            .into_iter()
            .map(|order| {
                let key = order.key();
                let refs = Refs {
                    customer: order
                        .sold_to_customer_code
                        .as_ref()
                        .and_then(|c| customers.get(c.as_str()).cloned()),
                    products: order
                        .lines
                        .iter()
                        .filter_map(|l| l.item_code.as_ref())
                        .filter_map(|i| {
                            products.get(i.as_str()).map(|p| (i.to_string(), p.clone()))
                        })
                        .collect::<HashMap<_, _>>(),
                };
                let existing = written.get(&key).cloned();
                let plan = self.plan(&order, &refs, existing, &hashes, cutoff, retry);
                (order, plan)
            })
            .collect();
        futures::stream::iter(plans)
            .map(|(order, plan)| async move { self.execute(run, &order, plan).await })
            .buffered(self.config.concurrency.max(1))
            .try_collect()
            .await
    }

    /// The product id of each item code the items flow has written: the id map where it holds
    /// one, otherwise the item code itself when a product of that id has a stored hash (the
    /// items flow writes products under their item code and records their hash, not an id-map
    /// entry).
    async fn products(&self, items: &[String]) -> Result<HashMap<String, String>> {
        let mut products = self.state.target_ids(ObjectKind::Products, items).await?;
        let rest: Vec<String> = items
            .iter()
            .filter(|i| !products.contains_key(*i))
            .cloned()
            .collect();
        if !rest.is_empty() {
            let written = self.state.hashes(ObjectKind::Products, &rest).await?;
            products.extend(written.into_keys().map(|id| (id.clone(), id)));
        }
        Ok(products)
    }

    fn plan(
        &self,
        order: &SalesOrder,
        refs: &Refs,
        existing: Option<String>,
        hashes: &HashMap<String, ContentHash>,
        cutoff: NaiveDate,
        retry: bool,
    ) -> Plan {
        let status = order.status.as_deref().unwrap_or_default();
        let Some(rule) = self.config.rule(status) else {
            return Plan::NotSent;
        };
        let too_old = order.order_date.is_some_and(|d| d < cutoff);
        if too_old && existing.is_none() && !retry {
            return Plan::NotSent;
        }
        if let Some(reason) = missing_refs(order, refs) {
            return Plan::Deferred(reason);
        }
        match map_order(order, rule, refs, &self.config) {
            Err(problem) => Plan::Rejected(problem.to_string()),
            Ok(input) => match order_hash(&input) {
                Err(e) => Plan::Rejected(e.to_string()),
                Ok(hash) => {
                    let known = existing.as_ref().and_then(|id| hashes.get(id));
                    if known == Some(&hash) {
                        Plan::Unchanged
                    } else {
                        Plan::Write {
                            input: Box::new(input),
                            hash,
                            update: existing.is_some(),
                        }
                    }
                }
            },
        }
    }

    async fn execute(&self, run: RunId, order: &SalesOrder, plan: Plan) -> Result<Handled> {
        let key = order.key();
        let started = Utc::now();
        let row = |outcome: Outcome| {
            NewAuditRow::new(run, ObjectKind::SalesOrders, &key, outcome)
                .target(TargetRecord::EcommerceOrder)
        };
        let (outcome, row) = match plan {
            Plan::NotSent => (Outcome::Skipped, None),
            Plan::Unchanged => (Outcome::Unchanged, None),
            Plan::Deferred(reason) => (
                Outcome::Deferred,
                Some(row(Outcome::Deferred).error(reason)),
            ),
            Plan::Rejected(reason) => (
                Outcome::Rejected,
                Some(row(Outcome::Rejected).error(reason)),
            ),
            Plan::Write {
                input,
                hash,
                update,
            } => return self.write(run, &key, &input, hash, update).await,
        };
        Ok(Handled {
            key,
            outcome,
            row: row.map(|r| r.times(started, Utc::now())),
            state: StateBatch::new(),
        })
    }

    /// `PUT` a new order; `PATCH` one the connector wrote before (only the fields it owns, so
    /// Mailchimp's attribution fields stay), falling back to `PUT` when it is gone from Mailchimp.
    async fn write(
        &self,
        run: RunId,
        key: &str,
        input: &OrderInput,
        hash: ContentHash,
        update: bool,
    ) -> Result<Handled> {
        let started = Utc::now();
        let orders = self.mailchimp.ecommerce().store(&self.store_id()).orders();
        let path = format!(
            "/ecommerce/stores/{}/orders/{}",
            self.config.store_id, input.id
        );
        let (mut method, mut result) = if update {
            (Method::Patch, orders.update(input).await.map(|_| ()))
        } else {
            (Method::Put, orders.upsert(input).await.map(|_| ()))
        };
        if update
            && result
                .as_ref()
                .is_err_and(mailchimp_client::Error::is_not_found)
        {
            method = Method::Put;
            result = orders.upsert(input).await.map(|_| ());
        }
        let payload = serde_json::to_value(input).unwrap_or_default();
        let mut row = NewAuditRow::new(run, ObjectKind::SalesOrders, key, Outcome::Failed)
            .target(TargetRecord::EcommerceOrder)
            .operation(TargetOperation::new(TargetSystem::Mailchimp, method, path))
            .payload(payload)
            .attempts(1);
        let mut state = StateBatch::new();
        match result {
            Ok(()) => {
                row.outcome = if update {
                    Outcome::Updated
                } else {
                    Outcome::Created
                };
                state = state
                    .map_id(IdMapping::new(
                        ObjectKind::EcommerceOrders,
                        key,
                        input.id.as_str(),
                    ))
                    .put_hash(ObjectKind::EcommerceOrders, input.id.as_str(), hash);
            }
            Err(e) => {
                let text = describe(&e);
                row.outcome = if refers_to_missing(&e, &text) {
                    Outcome::Deferred
                } else if e.is_invalid_resource() {
                    Outcome::Rejected
                } else {
                    Outcome::Failed
                };
                row = row.error(text);
            }
        }
        Ok(Handled {
            key: key.to_owned(),
            outcome: row.outcome,
            row: Some(row.times(started, Utc::now())),
            state,
        })
    }
}

/// Counts one handled order: an order not sent (no row) is counted apart from the outcomes.
fn tally(report: &mut SalesOrdersReport, item: &Handled) {
    if item.outcome == Outcome::Skipped && item.row.is_none() {
        report.not_sent += 1;
    } else {
        report.counts.add(item.outcome, 1);
    }
}

/// What to do with one order.
enum Plan {
    NotSent,
    Unchanged,
    Deferred(String),
    Rejected(String),
    Write {
        input: Box<OrderInput>,
        hash: ContentHash,
        update: bool,
    },
}

/// Whether Mailchimp refused the order because its customer, product or variant is not in the
/// store (removed there after the id map recorded it): the order waits, as for a missing id.
fn refers_to_missing(error: &mailchimp_client::Error, text: &str) -> bool {
    let text = text.to_lowercase();
    error.is_invalid_resource()
        && text.contains("does not exist")
        && (text.contains("customer") || text.contains("product") || text.contains("variant"))
}

/// The modification stamp of a header, as a UTC time.
fn stamp_of(order: &SalesOrder) -> Option<DateTime<Utc>> {
    let date = order.last_modified_date?;
    let time = order
        .last_modified_time
        .and_then(|s| u32::try_from(s).ok())
        .and_then(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, 0))
        .unwrap_or(NaiveTime::MIN);
    Some(date.and_time(time).and_utc())
}

/// Lets the scheduler run the flow on its cadence.
#[async_trait::async_trait]
impl crate::schedule::Job for SalesOrdersSync {
    async fn run(&self, ctx: crate::schedule::JobContext) -> Result<()> {
        SalesOrdersSync::run(self, ctx.trigger, &ctx.cancel)
            .await
            .map(|_| ())
    }
}

/// Replays the sales-history flow's queued rows (`ml-connector replay`, dead ones included): the
/// order is read again from QAD by number and handled as it is now, so a replay never sends an
/// older order than Mailchimp holds. An order QAD no longer has is answered by a `skipped` row.
///
/// ```no_run
/// # async fn run(sync: sync_core::sales_orders::SalesOrdersSync, state: std::sync::Arc<dyn sync_core::StateStore>) -> sync_core::Result<()> {
/// use sync_core::audit::ReplayFilter;
/// use sync_core::replay::Replayer;
/// use sync_core::sales_orders::SalesOrdersReplay;
/// use sync_core::ObjectKind;
///
/// let replayer = Replayer::new(state).handler(SalesOrdersReplay::new(sync));
/// replayer.replay(&ReplayFilter::Object(ObjectKind::SalesOrders)).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SalesOrdersReplay {
    sync: SalesOrdersSync,
}

impl SalesOrdersReplay {
    /// A handler over the flow.
    #[must_use]
    pub fn new(sync: SalesOrdersSync) -> Self {
        Self { sync }
    }
}

#[async_trait::async_trait]
impl crate::replay::ReplayHandler for SalesOrdersReplay {
    fn handles(&self, row: &crate::audit::AuditRow) -> bool {
        row.row.object == ObjectKind::SalesOrders
    }

    async fn replay(
        &self,
        row: &crate::audit::AuditRow,
        run: RunId,
    ) -> Result<crate::replay::ReplayAttempt> {
        let key = row.row.source_key.clone();
        let started = Utc::now();
        let found = self
            .sync
            .qad
            .sales_order(&SalesOrderNumber::from(key.as_str()))
            .await;
        let attempt = |outcome: Outcome| {
            NewAuditRow::new(run, ObjectKind::SalesOrders, &key, outcome)
                .target(TargetRecord::EcommerceOrder)
        };
        let order = match found {
            Ok(Some(order)) => order,
            Ok(None) => {
                let row = attempt(Outcome::Skipped)
                    .error("the QAD sales order no longer exists: nothing to replay")
                    .times(started, Utc::now());
                return Ok(crate::replay::ReplayAttempt::new(
                    row,
                    StateBatch::new(),
                    true,
                ));
            }
            Err(e) => {
                let row = attempt(Outcome::Failed)
                    .error(format!(
                        "cannot read the sales order from QAD: {}",
                        describe(&e)
                    ))
                    .times(started, Utc::now());
                return Ok(crate::replay::ReplayAttempt::new(
                    row,
                    StateBatch::new(),
                    true,
                ));
            }
        };
        let handled = self.sync.handle_orders(run, vec![order], true).await?;
        let Some(item) = handled.into_iter().next() else {
            let row = attempt(Outcome::Skipped).error("nothing to replay");
            return Ok(crate::replay::ReplayAttempt::new(
                row,
                StateBatch::new(),
                true,
            ));
        };
        let row = item.row.unwrap_or_else(|| {
            let row = attempt(item.outcome);
            if item.outcome == Outcome::Unchanged {
                row
            } else {
                row.error("the order's QAD state is not sent: nothing to replay")
            }
        });
        Ok(crate::replay::ReplayAttempt::new(row, item.state, true))
    }
}
