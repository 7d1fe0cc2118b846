//! `reconcile`: proof that Mailchimp holds what QAD says it should, or a list of where it does
//! not, and, with `fix`, the differences written.
//!
//! A [`Reconciler`] reads both sides in full and compares them field by field:
//!
//! 1. **QAD**: every customer (or item), page by page, mapped with the forward sync's own
//!    [`mapping`](crate::mapping) into the members, e-commerce customers and products it should
//!    become, each with the content hash change detection stores.
//! 2. **Mailchimp**: every member of the audience (1,000 a call, only address, status and merge
//!    fields), every customer and product (with its variants and prices) of the store.
//! 3. Both sides are read at once, each page spilled to a private temporary SQLite file as it
//!    arrives, and the two are joined by key there, so memory stays bounded whatever the
//!    audience's size (Mailchimp cannot sort members by email, so the streams cannot be merged
//!    as they arrive).
//! 4. **Compare** only what the connector writes: the fields the mapped record sets (merge
//!    fields, names, address, title, variants and their prices …); a field the mapping leaves out
//!    is Mailchimp's own. Each expected record is *equal*, *missing*, *different* (which
//!    fields, Mailchimp's value → QAD's) or, for members, *blocked* (cleaned, unsubscribed,
//!    archived, or remembered as compliance state or forgotten: expected, not drift) and
//!    possibly *status differs* (transactional or pending where the mapping says subscribed).
//!    Records only Mailchimp has are counted and never deleted. Of several customers sharing
//!    an address, the owner rule's customer is expected (with lifecycle settings), else the
//!    first in key order.
//! 5. **The lifecycle** (with [`lifecycle`](crate::lifecycle) settings): customers QAD marks not
//!    active, and those the id map holds that QAD no longer has, are *departed*: their records
//!    are not expected, so their absence is not drift, nor is a member archived or kept by the
//!    settings ([`KindReport::departed`]). A record the connector wrote for such a customer that
//!    is still present while the settings remove it is drift ([`KindReport::to_remove`]); an
//!    address an active customer also has is that customer's, never removed.
//! 6. **Fix** (optional): missing and different records are written through the same
//!    [`Executor`] as the forward sync (members before their
//!    e-commerce customers; an e-commerce customer whose member fails waits), audited in a run
//!    with trigger [`Reconcile`](crate::RunTrigger::Reconcile), and their stored hashes set to
//!    what was written (forgotten when the write failed, so the next forward run retries it).
//!    Statuses are never changed: a status difference stays reported. Records to remove get
//!    the lifecycle's configured removal (archive, or a permanent delete only when configured),
//!    audited like the lifecycle's own.
//!
//! ```no_run
//! # async fn run(mailchimp: mailchimp_client::Client, qad: qad_client::Client) -> sync_core::Result<()> {
//! use std::sync::Arc;
//! use sync_core::config::{StoreConfig, SyncConfig};
//! use sync_core::reconcile::{ReconcileOptions, Reconciler};
//! use sync_core::SqliteStateStore;
//!
//! let config = SyncConfig::new("a1b2c3").with_store(StoreConfig::new("qad-eu", "ACME EU", "EUR"));
//! let state = Arc::new(SqliteStateStore::open("state.db").await?);
//! let reconciler = Reconciler::new(config, mailchimp, qad, state)?;
//! let report = reconciler.run(ReconcileOptions::new()).await?;
//! print!("{report}");
//! if report.drift() > 0 {
//!     let fixed = reconciler.run(ReconcileOptions::new().fix(true)).await?;
//!     assert_eq!(fixed.remaining_drift(), 0);
//! }
//! # Ok(()) }
//! ```

mod check;
mod compare;
mod fix;
pub(crate) mod project;
mod report;
mod source;
mod spill;
mod target;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use crate::audit::RunStart;
use crate::config::SyncConfig;
use crate::error::{Result, SyncError};
use crate::model::{ObjectKind, RunId, RunStatus, RunTrigger};
use crate::operation::Executor;
use crate::report::CallLog;
use crate::state::StateStore;

pub use report::{Example, FieldDiff, Finding, KindReport, ReconcileReport};

use fix::Fixer;
use spill::Spill;

/// Examples kept per category unless [`ReconcileOptions::examples`] says otherwise.
pub const DEFAULT_EXAMPLES: usize = 10;

/// What to reconcile and whether to fix.
///
/// ```
/// use sync_core::reconcile::ReconcileOptions;
/// use sync_core::ObjectKind;
///
/// let options = ReconcileOptions::new().object(ObjectKind::Items).fix(true).examples(3);
/// assert!(options.is_fix());
/// ```
#[derive(Debug, Clone)]
pub struct ReconcileOptions {
    object: Option<ObjectKind>,
    fix: bool,
    examples: usize,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ReconcileOptions {
    /// Every configured object (customers, and items when a store is configured), report only.
    #[must_use]
    pub fn new() -> Self {
        Self {
            object: None,
            fix: false,
            examples: DEFAULT_EXAMPLES,
        }
    }

    /// Only this source object: [`ObjectKind::Customers`] (members and e-commerce customers) or
    /// [`ObjectKind::Items`] (products).
    #[must_use]
    pub fn object(mut self, object: ObjectKind) -> Self {
        self.object = Some(object);
        self
    }

    /// Write the missing and different records.
    #[must_use]
    pub fn fix(mut self, fix: bool) -> Self {
        self.fix = fix;
        self
    }

    /// Whether differences are written.
    #[must_use]
    pub fn is_fix(&self) -> bool {
        self.fix
    }

    /// Examples kept per category (default [`DEFAULT_EXAMPLES`]).
    #[must_use]
    pub fn examples(mut self, examples: usize) -> Self {
        self.examples = examples;
        self
    }
}

/// What the reading and comparing steps share.
pub(crate) struct Context<'a> {
    config: &'a SyncConfig,
    mailchimp: &'a mailchimp_client::Client,
    qad: &'a qad_client::Client,
    state: &'a dyn StateStore,
    spill: &'a Spill,
    calls: &'a CallLog,
    examples: usize,
}

/// Compares Mailchimp with the mapping of QAD, and fixes the differences when asked. Cheap to
/// clone.
#[derive(Clone)]
pub struct Reconciler {
    config: Arc<SyncConfig>,
    mailchimp: mailchimp_client::Client,
    qad: qad_client::Client,
    state: Arc<dyn StateStore>,
}

impl fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reconciler")
            .field("config", &self.config)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Reconciler {
    /// A reconciler over the two clients and the state store, with the forward sync's
    /// configuration (the same mapping, audience and store).
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
        })
    }

    /// The source objects `options` selects.
    fn objects(&self, options: &ReconcileOptions) -> Result<Vec<ObjectKind>> {
        let store = self.config.store.is_some();
        match options.object {
            None if store => Ok(vec![ObjectKind::Customers, ObjectKind::Items]),
            None => Ok(vec![ObjectKind::Customers]),
            Some(ObjectKind::Customers) => Ok(vec![ObjectKind::Customers]),
            Some(ObjectKind::Items) if store => Ok(vec![ObjectKind::Items]),
            Some(ObjectKind::Items) => Err(SyncError::Config {
                what: "reconciling items needs a [store] holding the products".into(),
            }),
            Some(other) => Err(SyncError::Config {
                what: format!("reconcile compares customers or items, not {other}"),
            }),
        }
    }

    /// Reads both sides, compares them and, with [`ReconcileOptions::fix`], writes the
    /// differences. With `fix` the run is recorded in the state store (trigger
    /// [`Reconcile`](RunTrigger::Reconcile)) with one audit row per record written.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] for an object that cannot be reconciled; [`SyncError::Client`]
    /// when reading QAD or Mailchimp fails (nothing is reported then: a partial read would
    /// report records as missing that are not); [`SyncError::State`] when the spill database or
    /// the state store fails. Per-record write failures of `fix` are reported, not errors.
    pub async fn run(&self, options: ReconcileOptions) -> Result<ReconcileReport> {
        let started = Instant::now();
        let objects = self.objects(&options)?;
        let calls = CallLog::new();
        let run_id = options.fix.then(RunId::new);
        if let Some(id) = run_id {
            self.state
                .start_run(&RunStart {
                    id,
                    objects: objects.clone(),
                    trigger: RunTrigger::Reconcile,
                    started_at: Utc::now(),
                })
                .await?;
        }
        let result = self.compare(&objects, &options, run_id, &calls).await;
        if let Some(id) = run_id {
            let (status, error) = match &result {
                Ok(_) => (RunStatus::Completed, None),
                Err(err) => (RunStatus::Aborted, Some(err.to_string())),
            };
            self.state.finish_run(id, status, error).await?;
        }
        Ok(ReconcileReport {
            run_id,
            fix: options.fix,
            kinds: result?,
            calls: calls.snapshot(),
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    async fn compare(
        &self,
        objects: &[ObjectKind],
        options: &ReconcileOptions,
        run_id: Option<RunId>,
        calls: &CallLog,
    ) -> Result<BTreeMap<ObjectKind, KindReport>> {
        let spill = Spill::open().await?;
        let ctx = Context {
            config: &self.config,
            mailchimp: &self.mailchimp,
            qad: &self.qad,
            state: self.state.as_ref(),
            spill: &spill,
            calls,
            examples: options.examples,
        };
        let mut fixer = run_id.map(|id| {
            Fixer::new(
                Executor::new(self.mailchimp.clone(), calls.clone()),
                Arc::clone(&self.state),
                id,
                self.config.concurrency,
                options.examples,
            )
        });
        let store = self.config.store.as_ref().map(|s| s.id.as_str());
        let mut kinds = BTreeMap::new();
        let mut order = Vec::new();
        // Each object's QAD read and Mailchimp reads go at once (they only meet in the spill).
        for object in objects {
            match (object, store) {
                (ObjectKind::Customers, _) => {
                    let members = self.config.members;
                    let ecommerce = store.filter(|_| self.config.ecommerce_customers);
                    let (_, members_read, customers_read) = tokio::try_join!(
                        source::customers(&ctx, &mut kinds),
                        async {
                            if members {
                                target::members(&ctx).await.map(Some)
                            } else {
                                Ok(None)
                            }
                        },
                        async {
                            match ecommerce {
                                Some(store) => target::customers(&ctx, store).await.map(Some),
                                None => Ok(None),
                            }
                        },
                    )?;
                    // What the id map holds for departed customers (lifecycle settings).
                    source::departed(&ctx).await?;
                    for (kind, read) in [
                        (ObjectKind::Members, members_read),
                        (ObjectKind::EcommerceCustomers, customers_read),
                    ] {
                        if let Some(read) = read {
                            kinds.entry(kind).or_default().in_mailchimp = read;
                            order.push(kind);
                        }
                    }
                }
                (ObjectKind::Items, Some(store)) => {
                    let (_, read) = tokio::try_join!(
                        source::items(&ctx, store, &mut kinds),
                        target::products(&ctx, store),
                    )?;
                    kinds.entry(ObjectKind::Products).or_default().in_mailchimp = read;
                    order.push(ObjectKind::Products);
                }
                _ => {}
            }
        }
        // Members first: an e-commerce customer written before its member would make Mailchimp
        // create the member as transactional.
        for kind in order {
            let report = kinds.entry(kind).or_default();
            check::kind(&ctx, kind, report, fixer.as_mut()).await?;
        }
        Ok(kinds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reconciler_and_its_runs_can_move_across_tasks() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: T) {}
        fn check(r: &Reconciler) {
            send_sync(r);
            send(r.run(ReconcileOptions::new()));
        }
        let _ = check;
    }
}
