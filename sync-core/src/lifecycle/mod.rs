//! The lifecycle: QAD customers and items that are gone, inactive, blocked or anonymised are
//! removed from Mailchimp as configured ([`LifecycleConfig`]).
//!
//! Detecting that a record is *gone* needs every key of the object, which an incremental read
//! never gives, so [`LifecycleSync::run`] makes a **full key scan** on its own cadence
//! ([`LifecycleConfig::scan_interval_hours`], [`LifecycleSync::is_due`]):
//!
//! 1. **Read** every record of the object's browse, page by page. Only the key, the record's
//!    [`Standing`] and (for customers) the normalised email are kept, spilled to a private
//!    temporary SQLite file, so memory does not grow with the record count.
//! 2. **Never from a partial read.** A read that fails (after the QAD client's retries and page
//!    checks) aborts the scan before anything is removed. A read that returns nothing while the
//!    id map holds records, or that would remove more than
//!    [`max_removal_percent`](LifecycleConfig::max_removal_percent) of the mapped records (and
//!    more than [`MASS_REMOVAL_FLOOR`]), is refused ([`SyncError::ScanRefused`]) unless the run
//!    allows it ([`LifecycleOptions::allow_mass_removal`]).
//! 3. **Compare** with the id map, a page at a time in key order
//!    ([`StateStore::id_map_page`]): each mapped key that was not read, or whose standing is not
//!    active, has departed.
//! 4. **Remove**, per target: the member is left alone, archived (default) or permanently deleted
//!    ([`MemberRemoval`]), except when another *active* QAD customer has the same address: then
//!    the member stays and that customer becomes its owner in the id map (the first under the
//!    [`OwnerRule`], as the forward sync ranks them), so the member is never orphaned and never
//!    erased under a customer who still uses it; an active owner's member goes to the rule's
//!    customer when that is another. The e-commerce customer is kept (default) or deleted
//!    ([`EcomCustomerRemoval`]); a product is hidden (default) or deleted ([`ProductRemoval`]).
//! 5. **Commit** each page of the id map in one [`StateBatch`], fenced by the object's lease:
//!    the removed records leave the id map and their hashes are forgotten (a customer that comes
//!    back is written again as new), a permanently deleted address is remembered as forgotten,
//!    and every departed record leaves an audit row naming the operation (replayable when it
//!    failed; the next scan tries again anyway, as the id map still holds it).
//!
//! A dry run reads and compares the same way and lists what would be done in the report; it
//! sends and stores nothing, takes no lease and records no run.
//!
//! With lifecycle settings, the forward sync skips customers that are not active (audited as
//! skipped with their standing), so it never writes back a member the scan removed.

mod config;
mod report;
mod seen;

pub use config::{
    CustomerStates, EcomCustomerRemoval, FieldRule, LifecycleConfig, MemberRemoval, OwnerRule,
    ProductRemoval, Standing,
};
pub use report::{LifecycleReport, Removal, RemovalAction, MAX_LISTED};

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::audit::{AuditRow, NewAuditRow, RunStart};
use crate::config::SyncConfig;
use crate::error::{Result, SyncError};
use crate::forward::read::{read_pages, ReadPlan};
use crate::mapping::{check_email, is_inactive_item, Issue, ItemMapping, SourceFields};
use crate::model::{
    normalize_email, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind, Outcome, RunId,
    RunStatus, RunTrigger, TargetRecord,
};
use crate::operation::{Executor, NotApplied, OpResult, Operation};
use crate::report::CallLog;
use crate::state::{FencingToken, LeasePolicy, StateBatch, StateStore};

use seen::{Seen, SeenRecord};

/// A scan may always remove up to this many records of a kind, whatever their share: the
/// percentage guard is for mass removals, not for a small tenant losing a few customers.
pub const MASS_REMOVAL_FLOOR: u64 = 10;

/// Id-map entries handled (and committed) at a time.
const ID_MAP_PAGE: u32 = 500;

/// Whether an audit row records one of the lifecycle's removals (see
/// [`Operation::is_removal`]): such a row is sent again as recorded, never re-mapped.
#[must_use]
pub fn is_removal_row(row: &AuditRow) -> bool {
    row.row
        .payload
        .clone()
        .and_then(|p| Operation::from_payload(p).ok())
        .is_some_and(|op| op.is_removal())
}

/// The state changes of a removal of `source_key`'s target that went through: the target leaves
/// the id map and its hashes are forgotten (so a record that comes back is written as new); a
/// permanently deleted address is remembered as forgotten. Empty for other operations.
#[must_use]
pub fn removed_state(op: &Operation, source_key: &str) -> StateBatch {
    let batch = StateBatch::new();
    match op {
        Operation::ArchiveMember { email_address, .. }
        | Operation::DeleteMemberPermanently { email_address, .. } => {
            let email = normalize_email(email_address);
            let batch = batch
                .unmap_id(ObjectKind::Members, source_key)
                .forget_hash(ObjectKind::Members, email.clone())
                .forget_hash(ObjectKind::Members, crate::forward::tags_key(&email));
            if matches!(op, Operation::DeleteMemberPermanently { .. }) {
                batch.remember_member_status(MemberStatusRecord::new(
                    &email,
                    MemberStatus::Forgotten,
                    Some("permanently deleted by the lifecycle".to_owned()),
                ))
            } else {
                batch
            }
        }
        Operation::DeleteEcomCustomer { customer_id, .. } => batch
            .unmap_id(ObjectKind::EcommerceCustomers, source_key)
            .forget_hash(ObjectKind::EcommerceCustomers, customer_id.clone()),
        Operation::DeleteProduct { product_id, .. } | Operation::HideProduct { product_id, .. } => {
            batch
                .unmap_id(ObjectKind::Products, source_key)
                .forget_hash(ObjectKind::Products, product_id.clone())
        }
        _ => batch,
    }
}

/// Why the forward sync must not write a customer: it is not active under the lifecycle's
/// [`CustomerStates`] (no lifecycle settings: every customer is written, as before).
pub(crate) fn forward_skip(config: &SyncConfig, fields: &SourceFields) -> Option<Issue> {
    let standing = config.lifecycle.as_ref()?.customer_states.standing(fields);
    (standing != Standing::Active).then(|| {
        Issue::Skipped(format!(
            "customer is {standing} in QAD (the lifecycle scan removes its records)"
        ))
    })
}

/// The audit reason of a member handed to `owner` under `rule`, naming the customer that owned
/// it before (`previous`, secondary from now on when it is still active): the scan's and the
/// forward sync's hand-overs read alike.
pub(crate) fn hand_over_reason(
    rule: &OwnerRule,
    owner: &str,
    previous: &str,
    standing: Standing,
) -> String {
    let previous = match standing {
        Standing::Active => format!("customer {previous} is secondary"),
        Standing::Gone => format!("customer {previous} is gone from QAD"),
        other => format!("customer {previous} is {other} in QAD"),
    };
    format!(
        "member owned by customer {owner} under lifecycle.shared_email_owner ({}); {previous}",
        rule.name()
    )
}

/// How a lifecycle scan runs.
///
/// ```
/// use sync_core::lifecycle::LifecycleOptions;
///
/// let options = LifecycleOptions::new().dry_run(true);
/// assert!(options.is_dry_run());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LifecycleOptions {
    dry_run: bool,
    allow_mass_removal: bool,
}

impl LifecycleOptions {
    /// A real scan, guarded against mass removal.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Plans only: reads both sides, lists what would be removed, sends and stores nothing.
    #[must_use]
    pub fn dry_run(mut self, dry: bool) -> Self {
        self.dry_run = dry;
        self
    }

    /// Lets this run remove more than
    /// [`max_removal_percent`](LifecycleConfig::max_removal_percent) of the mapped records, for
    /// a person who checked (with a dry run) that QAD really lost them.
    #[must_use]
    pub fn allow_mass_removal(mut self, allow: bool) -> Self {
        self.allow_mass_removal = allow;
        self
    }

    /// Whether this is a dry run.
    #[must_use]
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }
}

/// The lifecycle engine of one tenant pair.
///
/// ```no_run
/// # async fn run(config: sync_core::config::SyncConfig, mailchimp: mailchimp_client::Client,
/// #              qad: qad_client::Client, state: std::sync::Arc<dyn sync_core::StateStore>)
/// #              -> sync_core::Result<()> {
/// use sync_core::lifecycle::{LifecycleOptions, LifecycleSync};
/// use sync_core::ObjectKind;
///
/// let lifecycle = LifecycleSync::new(config, mailchimp, qad, state)?;
/// if lifecycle.is_due(ObjectKind::Customers, chrono::Utc::now()).await? {
///     let plan = lifecycle.run(ObjectKind::Customers, LifecycleOptions::new().dry_run(true)).await?;
///     println!("{plan}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LifecycleSync {
    config: Arc<SyncConfig>,
    settings: LifecycleConfig,
    mailchimp: mailchimp_client::Client,
    qad: qad_client::Client,
    state: Arc<dyn StateStore>,
    lease: LeasePolicy,
}

impl fmt::Debug for LifecycleSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LifecycleSync")
            .field("settings", &self.settings)
            .field("state", &self.state)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// A departed record's target and what to do with it.
struct Planned {
    removal: Removal,
    op: Option<Operation>,
    /// State changes of a decision that needs no call (a hand-over, leaving a member).
    state: StateBatch,
}

impl LifecycleSync {
    /// An engine over the two clients and the state store.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] when the configuration is invalid or has no lifecycle settings.
    pub fn new(
        config: SyncConfig,
        mailchimp: mailchimp_client::Client,
        qad: qad_client::Client,
        state: Arc<dyn StateStore>,
    ) -> Result<Self> {
        config.validate()?;
        let settings = config.lifecycle.clone().ok_or_else(|| SyncError::Config {
            what: "the lifecycle needs [sync.lifecycle] settings".into(),
        })?;
        Ok(Self {
            config: Arc::new(config),
            settings,
            mailchimp,
            qad,
            state,
            lease: LeasePolicy::new(),
        })
    }

    /// Sets who this engine's scans hold their object's lease as (the forward sync's lease:
    /// a scan and a forward run of one object never overlap).
    #[must_use]
    pub fn with_lease_policy(mut self, policy: LeasePolicy) -> Self {
        self.lease = policy;
        self
    }

    /// The lifecycle settings.
    #[must_use]
    pub fn settings(&self) -> &LifecycleConfig {
        &self.settings
    }

    /// Whether `object`'s full scan is due at `now`: no completed scan is recorded, or the last
    /// one finished at least [`scan_interval_hours`](LifecycleConfig::scan_interval_hours) ago.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`] when the state store cannot be read.
    pub async fn is_due(&self, object: ObjectKind, now: DateTime<Utc>) -> Result<bool> {
        let last = self
            .state
            .latest_completed_run(RunTrigger::Lifecycle, object)
            .await?;
        let interval = chrono::Duration::hours(i64::from(self.settings.scan_interval_hours));
        Ok(last
            .and_then(|run| run.finished_at)
            .is_none_or(|finished| finished + interval <= now))
    }

    /// Scans `object` ([`ObjectKind::Customers`] or [`ObjectKind::Items`]) in full and removes
    /// what departed (see the [module docs](self)). A real scan holds the object's lease and is
    /// recorded as a run with trigger [`RunTrigger::Lifecycle`].
    ///
    /// # Errors
    ///
    /// Before anything is removed: [`SyncError::Config`] for another object, or items or
    /// e-commerce customer deletes without a store; [`SyncError::Client`] when the QAD read
    /// fails; [`SyncError::ScanRefused`] when the read looks incomplete;
    /// [`SyncError::Lease`] when another writer holds the object. [`SyncError::State`] when
    /// the state store fails (pages committed before stay committed). Per-record failures of
    /// Mailchimp calls are not errors: they are audited, counted and tried again next scan.
    pub async fn run(
        &self,
        object: ObjectKind,
        options: LifecycleOptions,
    ) -> Result<LifecycleReport> {
        let started = Instant::now();
        if !matches!(object, ObjectKind::Customers | ObjectKind::Items) {
            return Err(SyncError::Config {
                what: format!("the lifecycle scans customers or items, not {object}"),
            });
        }
        let dry = options.dry_run;
        let run_id = RunId::new();
        let calls = CallLog::new();
        let lease = if dry {
            None
        } else {
            Some(self.lease.acquire(Arc::clone(&self.state), object).await?)
        };
        let fence = lease.as_ref().map(|l| l.token());
        if !dry {
            let mut start = RunStart::new(vec![object], RunTrigger::Lifecycle);
            start.id = run_id;
            self.state.start_run(&start).await?;
        }
        let mut report = LifecycleReport::new(run_id, object, dry);
        let result = self
            .run_leased(object, options, fence, &mut report, &calls)
            .await;
        if !dry {
            let (status, error) = match &result {
                Ok(()) => (RunStatus::Completed, None),
                Err(err) => (RunStatus::Aborted, Some(err.to_string())),
            };
            if let Err(err) = self.state.finish_run(run_id, status, error).await {
                tracing::warn!(%object, "could not record the end of the lifecycle scan: {err}");
            }
        }
        if let Some(lease) = lease {
            if let Err(err) = lease.release().await {
                tracing::warn!(%object, "could not release the lease: {err}");
            }
        }
        result?;
        report.calls = calls.snapshot();
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// The target kinds a scan of `object` walks, with the store they need.
    fn kinds(&self, object: ObjectKind) -> Result<Vec<ObjectKind>> {
        let store = |what: &str| {
            self.config
                .store
                .as_ref()
                .map(|_| ())
                .ok_or_else(|| SyncError::Config {
                    what: format!("{what} needs a [store]"),
                })
        };
        let mut kinds = Vec::new();
        if object == ObjectKind::Items {
            store("the lifecycle of items")?;
            kinds.push(ObjectKind::Products);
            return Ok(kinds);
        }
        if self.config.members {
            kinds.push(ObjectKind::Members);
        }
        if self.config.ecommerce_customers
            && self.settings.ecommerce_customers == EcomCustomerRemoval::Delete
        {
            store("lifecycle.ecommerce_customers = \"delete\"")?;
            kinds.push(ObjectKind::EcommerceCustomers);
        }
        Ok(kinds)
    }

    async fn run_leased(
        &self,
        object: ObjectKind,
        options: LifecycleOptions,
        fence: Option<FencingToken>,
        report: &mut LifecycleReport,
        calls: &CallLog,
    ) -> Result<()> {
        let kinds = self.kinds(object)?;
        let seen = self.scan(object, calls).await?;
        report.scanned = seen.count().await?;
        // Everything is counted before anything is removed, so the guard sees the whole scan.
        for &kind in &kinds {
            let (mapped, departing) = self.count_departing(kind, &seen).await?;
            report.mapped += mapped;
            self.guard(object, kind, report.scanned, mapped, departing, options)?;
        }
        for &kind in &kinds {
            self.remove(object, kind, &seen, options, fence, report, calls)
                .await?;
        }
        Ok(())
    }

    /// Reads every record of `object` into the spill.
    async fn scan(&self, object: ObjectKind, calls: &CallLog) -> Result<Seen> {
        let seen = Seen::open()?;
        let (tx, mut rx) = mpsc::channel(self.config.read_ahead_pages.max(1));
        let plan = |key_field| ReadPlan {
            since: None,
            after_key: None,
            key_field,
            page_size: self.config.page_size,
            total: None,
        };
        let reader = match object {
            ObjectKind::Items => tokio::spawn(read_pages(
                self.qad.items(),
                plan("itemCode"),
                tx,
                calls.clone(),
            )),
            _ => tokio::spawn(read_pages(
                self.qad.customers(),
                plan("customerCode"),
                tx,
                calls.clone(),
            )),
        };
        let mapping = &self.config.mapping;
        while let Some(page) = rx.recv().await {
            let page = page.map_err(SyncError::qad)?;
            let records = page
                .records
                .into_iter()
                .map(|r| match object {
                    ObjectKind::Items => SeenRecord {
                        standing: item_standing(&r.fields, &mapping.item),
                        email: None,
                        rank: String::new(),
                        key: r.key,
                    },
                    _ => SeenRecord {
                        standing: self.settings.customer_states.standing(&r.fields),
                        rank: self.settings.shared_email_owner.rank(&r.fields),
                        email: r
                            .fields
                            .text(&mapping.customer.email_field)
                            .and_then(|raw| check_email(&raw).ok())
                            .map(|e| normalize_email(&e)),
                        key: r.key,
                    },
                })
                .collect();
            seen.put(records).await?;
        }
        reader.await.map_err(|e| SyncError::Config {
            what: format!("the QAD reader task failed: {e}"),
        })?;
        Ok(seen)
    }

    /// Whether a mapped target of a record of `standing` departs.
    fn departs(&self, kind: ObjectKind, standing: Standing) -> bool {
        match (kind, standing) {
            (_, Standing::Active) => false,
            // Inactive items are the mapping's (`item.inactive`), unless products are deleted.
            (ObjectKind::Products, Standing::Gone) => true,
            (ObjectKind::Products, _) => self.settings.products == ProductRemoval::Delete,
            _ => true,
        }
    }

    /// How many entries of `kind`'s id map there are and how many depart.
    async fn count_departing(&self, kind: ObjectKind, seen: &Seen) -> Result<(u64, u64)> {
        let (mut mapped, mut departing) = (0, 0);
        let mut after: Option<String> = None;
        loop {
            let page = self
                .state
                .id_map_page(kind, after.as_deref(), ID_MAP_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.source_key.clone());
            let page = customers_only(page);
            mapped += page.len() as u64;
            let standings = seen.standings(keys(&page)).await?;
            departing += standings
                .values()
                .filter(|s| self.departs(kind, **s))
                .count() as u64;
        }
        Ok((mapped, departing))
    }

    /// Refuses a scan whose read looks incomplete.
    fn guard(
        &self,
        object: ObjectKind,
        kind: ObjectKind,
        scanned: u64,
        mapped: u64,
        departing: u64,
        options: LifecycleOptions,
    ) -> Result<()> {
        if scanned == 0 && mapped > 0 {
            return Err(SyncError::ScanRefused {
                object,
                reason: format!(
                    "the QAD browse returned no record while {mapped} {kind} are mapped"
                ),
            });
        }
        let percent = u64::from(self.settings.max_removal_percent);
        if !options.allow_mass_removal
            && departing > MASS_REMOVAL_FLOOR
            && departing * 100 > percent * mapped
        {
            return Err(SyncError::ScanRefused {
                object,
                reason: format!(
                    "{departing} of {mapped} mapped {kind} would be removed, more than \
                     lifecycle.max_removal_percent = {percent}"
                ),
            });
        }
        Ok(())
    }

    /// Walks `kind`'s id map and removes the departed entries, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn remove(
        &self,
        object: ObjectKind,
        kind: ObjectKind,
        seen: &Seen,
        options: LifecycleOptions,
        fence: Option<FencingToken>,
        report: &mut LifecycleReport,
        calls: &CallLog,
    ) -> Result<()> {
        let executor = Executor::new(self.mailchimp.clone(), calls.clone());
        let mut after: Option<String> = None;
        loop {
            let page = self
                .state
                .id_map_page(kind, after.as_deref(), ID_MAP_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.source_key.clone());
            let page = customers_only(page);
            let standings = seen.standings(keys(&page)).await?;
            let with_standing = page.into_iter().filter_map(|m| {
                let standing = standings.get(&m.source_key).copied()?;
                Some((m, standing))
            });
            let planned = match kind {
                // Every member: a departed owner's member is removed or handed over, an active
                // one's is handed to the owner rule's customer when that is another.
                ObjectKind::Members => self.plan_members(with_standing.collect(), seen).await?,
                _ => with_standing
                    .filter(|(_, standing)| self.departs(kind, *standing))
                    .map(|(m, standing)| self.plan_store_record(m, standing))
                    .collect(),
            };
            if planned.is_empty() {
                continue;
            }
            if options.dry_run {
                for p in planned {
                    report.add(p.removal);
                }
                continue;
            }
            let batch = self
                .execute(object, report.run_id, planned, &executor, report)
                .await;
            let batch = match fence {
                Some(token) => batch.fenced(object, token),
                None => batch,
            };
            self.state.apply(batch).await?;
        }
        Ok(())
    }

    /// Members of a page of the id map: a departed customer's member is handed over to the
    /// owner among the other active customers with the same address, or removed as configured;
    /// an active customer's member is handed over when the owner rule names another customer.
    async fn plan_members(
        &self,
        page: Vec<(IdMapping, Standing)>,
        seen: &Seen,
    ) -> Result<Vec<Planned>> {
        let emails: Vec<String> = page
            .iter()
            .map(|(m, _)| normalize_email(&m.target_id))
            .collect();
        let holders = seen.active_holders(emails).await?;
        // An heir already mapped to another address keeps its mapping (its email changed; the
        // forward sync moves that member), so it is only named, not mapped.
        let heirs: Vec<String> = holders.values().flatten().cloned().collect();
        let heirs_mapped = self.state.target_ids(ObjectKind::Members, &heirs).await?;
        let list_id = self.config.list_id.clone();
        let setting = self.settings.members;
        let mut planned = Vec::new();
        for (mapping, standing) in page {
            let email = normalize_email(&mapping.target_id);
            let key = mapping.source_key.clone();
            let holders = holders.get(&email).map_or(&[][..], Vec::as_slice);
            if standing == Standing::Active {
                if let Some(owner) = holders.first().filter(|o| **o != key) {
                    if !heirs_mapped.contains_key(owner) {
                        planned.push(self.rule_hand_over(&mapping, owner));
                    }
                }
                continue;
            }
            let heir = holders.iter().find(|k| **k != key);
            let removal = |action, reason: Option<String>| Removal {
                source_key: key.clone(),
                target: ObjectKind::Members,
                target_id: email.clone(),
                standing,
                action,
                outcome: None,
                reason,
            };
            if let Some(heir) = heir {
                let refused = if setting == MemberRemoval::DeletePermanent {
                    "; a permanent delete is refused while another customer owns the address"
                } else {
                    ""
                };
                let reason = format!(
                    "member kept: customer {heir} also has {email} and owns it now{refused}"
                );
                let mut state = StateBatch::new()
                    .unmap_id(ObjectKind::Members, &key)
                    .forget_hash(ObjectKind::Members, email.clone());
                if !heirs_mapped.contains_key(heir) {
                    state = state.map_id(IdMapping::new(ObjectKind::Members, heir, &email));
                }
                planned.push(Planned {
                    removal: removal(
                        RemovalAction::HandOverMember { to: heir.clone() },
                        Some(reason),
                    ),
                    op: None,
                    state,
                });
                continue;
            }
            let email_address = email.clone();
            let (action, op) = match setting {
                MemberRemoval::Leave => (RemovalAction::LeaveMember, None),
                MemberRemoval::Archive => (
                    RemovalAction::ArchiveMember,
                    Some(Operation::ArchiveMember {
                        list_id: list_id.clone(),
                        email_address,
                    }),
                ),
                MemberRemoval::DeletePermanent => (
                    RemovalAction::DeleteMemberPermanently,
                    Some(Operation::DeleteMemberPermanently {
                        list_id: list_id.clone(),
                        email_address,
                    }),
                ),
            };
            let state = if op.is_none() {
                // Left alone: no longer written; written again as new if the customer returns.
                StateBatch::new()
                    .unmap_id(ObjectKind::Members, &key)
                    .forget_hash(ObjectKind::Members, email.clone())
                    .forget_hash(ObjectKind::Members, crate::forward::tags_key(&email))
            } else {
                StateBatch::new()
            };
            let reason = (op.is_none())
                .then(|| "left alone (lifecycle.members = \"leave\"); no longer written".into());
            planned.push(Planned {
                removal: removal(action, reason),
                op,
                state,
            });
        }
        Ok(planned)
    }

    /// The member of an active customer that the owner rule gives to `owner`: the owner is
    /// mapped to it and its hash forgotten, so the next forward run writes the owner's fields;
    /// the customer becomes secondary (skipped as a duplicate from then on).
    fn rule_hand_over(&self, mapping: &IdMapping, owner: &str) -> Planned {
        let email = normalize_email(&mapping.target_id);
        let reason = hand_over_reason(
            &self.settings.shared_email_owner,
            owner,
            &mapping.source_key,
            Standing::Active,
        );
        Planned {
            removal: Removal {
                source_key: mapping.source_key.clone(),
                target: ObjectKind::Members,
                target_id: email.clone(),
                standing: Standing::Active,
                action: RemovalAction::HandOverMember {
                    to: owner.to_owned(),
                },
                outcome: None,
                reason: Some(reason),
            },
            op: None,
            state: StateBatch::new()
                .unmap_id(ObjectKind::Members, &mapping.source_key)
                .map_id(IdMapping::new(ObjectKind::Members, owner, &email))
                .forget_hash(ObjectKind::Members, email),
        }
    }

    /// The e-commerce customer or product of a departed record.
    fn plan_store_record(&self, mapping: IdMapping, standing: Standing) -> Planned {
        let store_id = self
            .config
            .store
            .as_ref()
            .map(|s| s.id.clone())
            .unwrap_or_default();
        let id = mapping.target_id.clone();
        let (action, op) = match mapping.kind {
            ObjectKind::EcommerceCustomers => (
                RemovalAction::DeleteEcomCustomer,
                Operation::DeleteEcomCustomer {
                    store_id,
                    customer_id: id.clone(),
                },
            ),
            _ if self.settings.products == ProductRemoval::Delete => (
                RemovalAction::DeleteProduct,
                Operation::DeleteProduct {
                    store_id,
                    product_id: id.clone(),
                },
            ),
            _ => (
                RemovalAction::HideProduct,
                Operation::HideProduct {
                    store_id,
                    product_id: id.clone(),
                },
            ),
        };
        Planned {
            removal: Removal {
                source_key: mapping.source_key,
                target: mapping.kind,
                target_id: id,
                standing,
                action,
                outcome: None,
                reason: None,
            },
            op: Some(op),
            state: StateBatch::new(),
        }
    }

    /// Sends the planned calls and gathers one page's state changes and audit rows.
    async fn execute(
        &self,
        object: ObjectKind,
        run_id: RunId,
        planned: Vec<Planned>,
        executor: &Executor,
        report: &mut LifecycleReport,
    ) -> StateBatch {
        let ops: Vec<Operation> = planned.iter().filter_map(|p| p.op.clone()).collect();
        let started = Utc::now();
        let mut results = executor
            .execute_all(&ops, self.config.concurrency)
            .await
            .into_iter();
        let finished = Utc::now();
        let mut batch = StateBatch::new();
        for p in planned {
            let mut removal = p.removal;
            let target = match removal.target {
                ObjectKind::Members => TargetRecord::Member,
                ObjectKind::EcommerceCustomers => TargetRecord::EcommerceCustomer,
                _ => TargetRecord::Product,
            };
            let mut row = NewAuditRow::new(run_id, object, &removal.source_key, Outcome::Skipped)
                .target(target)
                .times(started, finished);
            batch = batch.merge(p.state);
            if let (Some(op), Some(result)) = (&p.op, p.op.as_ref().and_then(|_| results.next())) {
                row = row.operation(op.target()).attempts(1);
                if let Ok(payload) = op.to_payload() {
                    row = row.payload(payload);
                }
                let (outcome, state) = settle(object, op, result, &mut removal);
                row.outcome = outcome;
                batch = batch.merge(state);
            }
            if let Some(reason) = &removal.reason {
                row = row.error(reason.clone());
            }
            removal.outcome = Some(row.outcome);
            batch = batch.audit(row);
            report.add(removal);
        }
        batch
    }
}

/// The outcome of a sent removal, its state changes, and the removal's reason.
fn settle(
    object: ObjectKind,
    op: &Operation,
    result: OpResult,
    removal: &mut Removal,
) -> (Outcome, StateBatch) {
    match result {
        Ok(_) => {
            removal.reason = Some(format!(
                "{}: {} {} is {} in QAD",
                removal.action.name(),
                object,
                removal.source_key,
                removal.standing
            ));
            (Outcome::Updated, removed_state(op, &removal.source_key))
        }
        Err(not) => {
            removal.reason = Some(not.reason().to_owned());
            let mut state = StateBatch::new();
            // A member Mailchimp reports in compliance state or forgotten is remembered so.
            if let (
                NotApplied::Skipped {
                    status: Some(status),
                    reason,
                },
                Operation::ArchiveMember { email_address, .. }
                | Operation::DeleteMemberPermanently { email_address, .. },
            ) = (&not, op)
            {
                state = state.remember_member_status(MemberStatusRecord::new(
                    email_address,
                    *status,
                    Some(reason.clone()),
                ));
            }
            (not.outcome(), state)
        }
    }
}

/// The entries of a page of the id map that are records: a member's tag set is kept in the
/// members' id map too, under `{address}#tags` (its listing as the target), and is no customer.
fn customers_only(page: Vec<IdMapping>) -> Vec<IdMapping> {
    page.into_iter()
        .filter(|m| {
            let tag_set = m
                .source_key
                .strip_suffix("#tags")
                .is_some_and(|address| check_email(address).is_ok());
            m.kind != ObjectKind::Members || !tag_set
        })
        .collect()
}

fn keys(page: &[IdMapping]) -> Vec<String> {
    page.iter().map(|m| m.source_key.clone()).collect()
}

/// An item's standing: inactive by the mapping's own rule ([`is_inactive_item`]).
fn item_standing(fields: &SourceFields, mapping: &ItemMapping) -> Standing {
    if is_inactive_item(fields, mapping) {
        Standing::Inactive
    } else {
        Standing::Active
    }
}
