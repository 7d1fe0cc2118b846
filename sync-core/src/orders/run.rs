//! The orders run: every order of the store, page by page, with one state transaction per page.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use mailchimp_client::ecommerce::Order;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::config::OrdersConfig;
use super::map::order_fingerprint;
use super::pipeline::{CustomerCache, Handled, Pipeline};
use crate::audit::{NewAuditRow, OutcomeCounts, RunStart};
use crate::error::{Result, SyncError};
use crate::model::ContentHash;
use crate::model::{ObjectKind, Outcome, RunId, RunStatus, RunTrigger};
use crate::state::{FencingToken, LeasePolicy, StateBatch, StateStore};

/// What an orders run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrdersReport {
    /// The run's id (its audit rows carry it).
    pub run_id: Option<RunId>,
    /// Orders read from Mailchimp.
    pub read: u64,
    /// Orders by outcome: created/updated are posts that landed, unchanged needed no post (counted
    /// in the run's row rather than audited one by one, see [`StateBatch::count_unchanged`]),
    /// skipped are orders held for an unknown customer, rejected cannot be mapped, failed can be
    /// replayed.
    pub counts: OutcomeCounts,
    /// Orders held because their customer is unknown to QAD (also counted as skipped).
    pub unmatched: u64,
    /// Orders whose currency differs from the store's (posted, and flagged in their audit row).
    pub currency_flagged: u64,
    /// Attribution posts that landed in QAD.
    pub posted: u64,
    /// Orders the connector wrote from QAD sales orders ([`crate::sales_orders`]), skipped by
    /// the loop guard (also counted as skipped; seen when their fingerprint changed).
    #[serde(default)]
    pub own_orders: u64,
    /// Pages committed to the state store.
    pub pages: u64,
    /// Whether the run stopped early on cancellation (after committing the page in flight).
    pub cancelled: bool,
    /// Whether Mailchimp has no such store yet (404 on its orders): a fresh setup whose first
    /// customers or items run has not created it. The run reads nothing and completes.
    pub store_missing: bool,
}

impl OrdersReport {
    fn add(&mut self, handled: &Handled) {
        self.counts.add(handled.row.outcome, 1);
        self.unmatched += u64::from(handled.unmatched);
        self.currency_flagged += u64::from(handled.currency_flagged);
        self.posted += u64::from(handled.posted);
        self.own_orders += u64::from(
            handled
                .row
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with(super::pipeline::OWN_ORDER)),
        );
    }
}

/// Sends Mailchimp e-commerce orders back to QAD as attribution records.
///
/// Mailchimp has no "changed since" filter on orders, so every run pages the store's whole order
/// collection. An order whose fingerprint ([`order_fingerprint`](super::order_fingerprint):
/// `updated_at_foreign` and the fields mapped) is the stored one is `unchanged` at no cost. A
/// changed order is resolved (customer through the id map, then QAD; item codes through the id
/// map; sales order by the configured [`SalesOrderMatch`](super::SalesOrderMatch)), mapped, and
/// posted unless the mapped record equals the one QAD already holds. Posts are idempotent by
/// order id (qad-client turns a duplicate into an update).
///
/// An order whose customer QAD does not know is **held**: audited `skipped` with the reason
/// `unmatched customer: …`, not posted (an attribution record needs a customer), and looked at
/// again on every run until the customer appears. A failed lookup or post is audited `failed`,
/// stores no hash (so the next run tries again) and can be replayed ([`crate::replay`]).
///
/// Memory stays bounded by one page; each page's audit rows and hashes are committed in one
/// transaction, under the `orders` lease ([`LeasePolicy`]): a second orders run on the same state
/// database is refused while one is running.
///
/// ```no_run
/// # async fn run(mailchimp: mailchimp_client::Client, qad: qad_client::Client) -> sync_core::Result<()> {
/// use std::sync::Arc;
/// use sync_core::orders::{OrdersConfig, OrdersSync, SalesOrderMatch};
/// use sync_core::{RunTrigger, SqliteStateStore};
/// use tokio_util::sync::CancellationToken;
///
/// let state = Arc::new(SqliteStateStore::open("state.db").await?);
/// let config = OrdersConfig::new("acme-eu", "EUR").sales_order_match(SalesOrderMatch::CustomerPo);
/// let orders = OrdersSync::new(mailchimp, qad, state, config);
/// let report = orders.run(RunTrigger::Manual, &CancellationToken::new()).await?;
/// println!("{} read, {} posted, {} held", report.read, report.posted, report.unmatched);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OrdersSync {
    mailchimp: mailchimp_client::Client,
    pipeline: Pipeline,
    lease: LeasePolicy,
}

impl OrdersSync {
    /// Creates the flow over both clients and the state store.
    #[must_use]
    pub fn new(
        mailchimp: mailchimp_client::Client,
        qad: qad_client::Client,
        state: Arc<dyn StateStore>,
        config: OrdersConfig,
    ) -> Self {
        Self {
            mailchimp,
            pipeline: Pipeline {
                state,
                qad,
                config: Arc::new(config),
            },
            lease: LeasePolicy::new(),
        }
    }

    /// Sets who this flow's runs hold the `orders` lease as, and its time to live (default:
    /// this process, [`LeasePolicy::DEFAULT_TTL`]).
    #[must_use]
    pub fn with_lease_policy(mut self, policy: LeasePolicy) -> Self {
        self.lease = policy;
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &OrdersConfig {
        &self.pipeline.config
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    pub(crate) fn mailchimp(&self) -> &mailchimp_client::Client {
        &self.mailchimp
    }

    /// Runs once: takes the `orders` lease, records a run, handles every order, and finishes the
    /// run as completed, cancelled (when `cancel` fired; the page in flight is committed first)
    /// or aborted, then releases the lease.
    ///
    /// # Errors
    ///
    /// [`SyncError::Lease`] when another writer holds the orders (nothing is recorded);
    /// [`SyncError::Client`] when reading the orders from Mailchimp fails (pages already handled
    /// stay committed; the run is recorded as aborted), and [`SyncError::State`] when the state
    /// store fails. Per-order failures are not errors: they are audit rows.
    pub async fn run(
        &self,
        trigger: RunTrigger,
        cancel: &CancellationToken,
    ) -> Result<OrdersReport> {
        let lease = self
            .lease
            .acquire(Arc::clone(&self.pipeline.state), ObjectKind::Orders)
            .await?;
        let result = self.run_leased(trigger, cancel, lease.token()).await;
        if let Err(err) = lease.release().await {
            // It expires on its own; the run's own outcome is what to report.
            tracing::warn!(
                "could not release the orders lease: {}",
                super::pipeline::describe(&err)
            );
        }
        result
    }

    async fn run_leased(
        &self,
        trigger: RunTrigger,
        cancel: &CancellationToken,
        fence: FencingToken,
    ) -> Result<OrdersReport> {
        let state = &self.pipeline.state;
        let start = RunStart::new(vec![ObjectKind::Orders], trigger);
        let run = start.id;
        state.start_run(&start).await?;
        let mut report = OrdersReport {
            run_id: Some(run),
            ..OrdersReport::default()
        };
        match self.run_pages(run, cancel, &mut report, Some(fence)).await {
            Ok(()) => {
                let status = if report.cancelled {
                    RunStatus::Cancelled
                } else {
                    RunStatus::Completed
                };
                state.finish_run(run, status, None).await?;
                Ok(report)
            }
            Err(e) => {
                // Best effort: the run's own error is the one to report.
                let _ = state
                    .finish_run(run, RunStatus::Aborted, Some(super::pipeline::describe(&e)))
                    .await;
                Err(e)
            }
        }
    }

    /// Plans a run: reads every order and resolves it like [`run`](Self::run) (QAD lookups
    /// included), but posts nothing and changes no state. The report counts what a real run
    /// would create and update; it has no run id.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run), less the state writes.
    pub async fn plan(&self, cancel: &CancellationToken) -> Result<OrdersReport> {
        let mut report = OrdersReport::default();
        self.run_pages(RunId::new(), cancel, &mut report, None)
            .await?;
        Ok(report)
    }

    async fn run_pages(
        &self,
        run: RunId,
        cancel: &CancellationToken,
        report: &mut OrdersReport,
        fence: Option<FencingToken>,
    ) -> Result<()> {
        let config = &self.pipeline.config;
        let page_size = config.page_size.clamp(1, 1000);
        let mut orders = self
            .mailchimp
            .ecommerce()
            .store(&config.store_id)
            .orders()
            .list()
            .count(page_size)
            .into_stream();
        let mut page = Vec::with_capacity(page_size as usize);
        // Orders Mailchimp sent that did not decode: rejected with their JSON, committed with
        // the page they came in, never failing the run.
        let mut undecoded: Vec<NewAuditRow> = Vec::new();
        loop {
            let next = match orders.try_next().await {
                Ok(next) => next,
                Err(mailchimp_client::Error::UndecodedItem(item)) => {
                    tracing::warn!(position = item.position, id = ?item.id, reason = %item.reason, "an order did not decode; rejected");
                    report.read += 1;
                    report.counts.add(Outcome::Rejected, 1);
                    undecoded.push(undecoded_row(run, &item));
                    continue;
                }
                // The store's own 404 on the first read: there are no orders to send yet.
                Err(e) if e.is_not_found() && report.read == 0 && page.is_empty() => {
                    tracing::info!(store = %config.store_id, "the store does not exist yet; no orders to read");
                    report.store_missing = true;
                    return Ok(());
                }
                Err(source) => return Err(SyncError::mailchimp(source)),
            };
            let end = next.is_none();
            page.extend(next);
            if page.len() == page_size as usize
                || (end && !(page.is_empty() && undecoded.is_empty()))
            {
                report.read += page.len() as u64;
                let odd = std::mem::take(&mut undecoded);
                self.handle_page(run, std::mem::take(&mut page), odd, report, fence)
                    .await?;
                report.pages += 1;
                if cancel.is_cancelled() && !end {
                    report.cancelled = true;
                    return Ok(());
                }
            }
            if end {
                return Ok(());
            }
        }
    }

    /// Handles one page and commits its audit rows (`undecoded` ones too) and hashes in one
    /// transaction, fenced by the lease's token; without one (`None`) this is a dry run that
    /// commits nothing.
    async fn handle_page(
        &self,
        run: RunId,
        page: Vec<Order>,
        undecoded: Vec<NewAuditRow>,
        report: &mut OrdersReport,
        fence: Option<FencingToken>,
    ) -> Result<()> {
        let dry_run = fence.is_none();
        let state = &self.pipeline.state;
        let ids: Vec<String> = page.iter().map(|o| o.id.as_str().to_owned()).collect();
        let fingerprints = state.hashes(ObjectKind::Orders, &ids).await?;
        let targets = state.hashes(ObjectKind::Attributions, &ids).await?;
        // The fingerprint each held order had when it was last audited as held.
        let held_keys: Vec<String> = ids.iter().map(|id| held_key(id)).collect();
        let held = state.hashes(ObjectKind::Orders, &held_keys).await?;
        let prints: HashMap<String, ContentHash> = page
            .iter()
            .map(|o| (o.id.as_str().to_owned(), order_fingerprint(o)))
            .collect();
        let customers = &CustomerCache::default();
        let mut changed: Vec<String> = page
            .iter()
            .filter(|o| fingerprints.get(o.id.as_str()) != Some(&order_fingerprint(o)))
            .map(|o| o.customer.id.as_str().to_owned())
            .collect();
        changed.sort();
        changed.dedup();
        self.pipeline.warm_customers(changed, customers).await;
        // Owned orders: a closure over `&Order` makes this future's `Send` bound
        // higher-ranked, which callers that spawn it (a scheduler job) cannot prove.
        let handled: Vec<Handled> = futures::stream::iter(page)
            .map(|order| {
                let unchanged =
                    fingerprints.get(order.id.as_str()) == Some(&order_fingerprint(&order));
                let known = targets.get(order.id.as_str());
                async move {
                    if unchanged {
                        let key = order.id.as_str();
                        Ok(Handled {
                            row: NewAuditRow::new(run, ObjectKind::Orders, key, Outcome::Unchanged),
                            state: StateBatch::new(),
                            unmatched: false,
                            currency_flagged: false,
                            posted: false,
                        })
                    } else {
                        self.pipeline
                            .handle(&order, run, known, customers, dry_run)
                            .await
                    }
                }
            })
            .buffered(self.pipeline.config.concurrency.max(1))
            .try_collect()
            .await?;
        let mut batch = StateBatch::new();
        for row in undecoded {
            batch = batch.audit(row);
        }
        let mut unchanged = 0;
        for item in handled {
            report.add(&item);
            batch = batch.merge(item.state);
            let key = item.row.source_key.clone();
            if item.unmatched {
                // A held order is looked up again every run (its customer may have come), but
                // audited once per version: the row says the same until either changes.
                let print = prints.get(&key);
                if print.is_some() && held.get(&held_key(&key)) == print {
                    // In the run's counts as unchanged: nothing is new since its row.
                    unchanged += 1;
                    continue;
                }
                if let Some(print) = print {
                    batch = batch.put_hash(ObjectKind::Orders, held_key(&key), print.clone());
                }
            } else if held.contains_key(&held_key(&key)) {
                batch = batch.forget_hash(ObjectKind::Orders, held_key(&key));
            }
            if is_plain_unchanged(&item.row) {
                unchanged += 1;
            } else {
                batch = batch.audit(item.row);
            }
        }
        let batch = batch.count_unchanged(run, unchanged);
        if let Some(token) = fence {
            state.apply(batch.fenced(ObjectKind::Orders, token)).await?;
        }
        Ok(())
    }
}

/// Where the fingerprint of a held order's last audited version is kept, beside the orders'
/// fingerprints (a key no Mailchimp order id can take: it holds a control character).
fn held_key(order_id: &str) -> String {
    format!("held\u{1f}{order_id}")
}

/// Whether an order's row is only counted, not audited: its fingerprint matched, so nothing was
/// looked up or posted. Every run re-reads every order, and a row for each would grow the
/// history by the size of the order collection every few minutes. A row with a target (an order
/// whose mapped record matched QAD's) is kept: it records the new fingerprint's first sighting
/// and supersedes the order's queued failures.
fn is_plain_unchanged(row: &NewAuditRow) -> bool {
    row.outcome == Outcome::Unchanged && row.target.is_none() && row.replay_of.is_none()
}

/// The audit row of an order that did not decode: rejected, keyed by its id (or its position
/// when it has none), with serde's reason and the order's JSON as the payload (credential-named
/// fields redacted, as every payload is).
fn undecoded_row(run: RunId, item: &mailchimp_client::UndecodedItem) -> NewAuditRow {
    let key = item
        .id
        .clone()
        .unwrap_or_else(|| format!("position {}", item.position));
    NewAuditRow::new(run, ObjectKind::Orders, key, Outcome::Rejected)
        .error(format!(
            "the order from Mailchimp did not decode: {}",
            item.reason
        ))
        .payload(item.raw.clone())
}

/// Lets the scheduler run the orders flow on its cadence; the run's counts are in the state
/// store ([`StateStore::run`]).
#[async_trait::async_trait]
impl crate::schedule::Job for OrdersSync {
    async fn run(&self, ctx: crate::schedule::JobContext) -> Result<()> {
        OrdersSync::run(self, ctx.trigger, &ctx.cancel)
            .await
            .map(|_| ())
    }
}
