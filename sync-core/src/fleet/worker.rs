//! A fleet worker: claims its share of Mailchimp accounts, runs their pairs' objects on their
//! cadences in fair slices, renews its claims, gives up what it lost, and releases everything
//! on shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailchimp_client::ConcurrencyLimit;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::claim::AccountClaim;
use super::flows::{PairFlows, Slice};
use super::pair::RegisteredPair;
use super::queue::DueQueue;
use super::registry::PairRegistry;
use crate::error::{LeaseError, Result, SyncError};
use crate::model::{ObjectKind, RunStatus};
use crate::state::{FencingToken, LeaseHolder, LeasePolicy, StateStore};
use crate::vault::VaultKey;

/// How a worker works: who it is, its lease time, how many runs it has in flight, how long a
/// slice is, and how many connections each Mailchimp account allows.
///
/// ```
/// use std::time::Duration;
/// use sync_core::fleet::WorkerOptions;
///
/// let options = WorkerOptions::new().ttl(Duration::from_secs(15)).max_runs(4);
/// assert_eq!(options.heartbeat_every(), Duration::from_secs(5));
/// assert_eq!(options.connections_per_account(), 10);
/// ```
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    holder: LeaseHolder,
    ttl: Duration,
    poll_every: Duration,
    max_runs: usize,
    slice_pages: u64,
    max_accounts: Option<usize>,
    account_connections: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkerOptions {
    /// Mailchimp's limit of simultaneous connections per account.
    pub const MAILCHIMP_CONNECTIONS: usize = 10;

    /// This process as holder, claims living 30 s, a look for work every second, 8 runs in
    /// flight, slices of 4 pages, no cap on accounts beyond the fair share, 10 connections an
    /// account.
    #[must_use]
    pub fn new() -> Self {
        Self {
            holder: LeaseHolder::this_process(),
            ttl: Duration::from_secs(30),
            poll_every: Duration::from_secs(1),
            max_runs: 8,
            slice_pages: 4,
            max_accounts: None,
            account_connections: Self::MAILCHIMP_CONNECTIONS,
        }
    }

    /// Sets the holder (the worker's identity in the database).
    #[must_use]
    pub fn holder(mut self, holder: LeaseHolder) -> Self {
        self.holder = holder;
        self
    }

    /// Sets how long a claim (and an object lease) lives without a heartbeat (at least one
    /// second): a killed worker's accounts go to others after at most this long.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// Sets how often the worker rebalances its accounts (claims its share, sheds the excess).
    #[must_use]
    pub fn poll_every(mut self, every: Duration) -> Self {
        self.poll_every = every.max(Duration::from_millis(10));
        self
    }

    /// Sets how many runs the worker has in flight at once, over all its pairs (at least 1).
    #[must_use]
    pub fn max_runs(mut self, runs: usize) -> Self {
        self.max_runs = runs.max(1);
        self
    }

    /// Sets how many pages a run commits before it yields to the other due pairs (at least 1).
    #[must_use]
    pub fn slice_pages(mut self, pages: u64) -> Self {
        self.slice_pages = pages.max(1);
        self
    }

    /// Caps the accounts this worker holds, below its fair share.
    #[must_use]
    pub fn max_accounts(mut self, accounts: usize) -> Self {
        self.max_accounts = Some(accounts);
        self
    }

    /// Sets the simultaneous Mailchimp requests of one account over all its pairs (default
    /// [`MAILCHIMP_CONNECTIONS`](Self::MAILCHIMP_CONNECTIONS); at least 1).
    #[must_use]
    pub fn account_connections(mut self, connections: usize) -> Self {
        self.account_connections = connections.max(1);
        self
    }

    /// The holder.
    #[must_use]
    pub fn lease_holder(&self) -> &LeaseHolder {
        &self.holder
    }

    /// The claims' time to live.
    #[must_use]
    pub fn time_to_live(&self) -> Duration {
        self.ttl
    }

    /// How often claims are renewed: a third of their time to live.
    #[must_use]
    pub fn heartbeat_every(&self) -> Duration {
        self.ttl / 3
    }

    /// The connections one account's pairs share.
    #[must_use]
    pub fn connections_per_account(&self) -> usize {
        self.account_connections
    }
}

/// What a worker did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerCounts {
    /// Runs that read every record due (completed).
    pub runs: u64,
    /// Slices that stopped with work left and went back to the queue.
    pub slices: u64,
    /// Runs that ended on an error (the error is in the pair's runs and audit).
    pub aborted: u64,
    /// QAD records read.
    pub records_read: u64,
    /// Mailchimp writes made.
    pub mailchimp_writes: u64,
    /// Mailchimp orders attributed in QAD.
    pub qad_writes: u64,
    /// Lifecycle scans that completed without a failed record.
    pub scans: u64,
    /// Lifecycle scans that failed, were refused, or had failed records (see the audit).
    pub scans_failed: u64,
    /// Consent write-back passes that completed with no failed write.
    pub consent_passes: u64,
    /// Consent write-back passes that failed or had failed writes (see the audit).
    pub consent_failed: u64,
    /// Consent records written to QAD.
    pub consent_writes: u64,
    /// Accounts claimed.
    pub claims: u64,
    /// Claims lost (expired, taken over, or the account removed) before release.
    pub claims_lost: u64,
    /// Pairs that could not be set up (unreadable credentials, bad settings) and were skipped.
    pub pairs_unusable: u64,
    /// Accounts held now.
    pub accounts_held: u64,
    /// Pairs held now.
    pub pairs_held: u64,
}

#[derive(Debug, Default)]
struct Counters {
    runs: AtomicU64,
    slices: AtomicU64,
    aborted: AtomicU64,
    records_read: AtomicU64,
    mailchimp_writes: AtomicU64,
    qad_writes: AtomicU64,
    scans: AtomicU64,
    scans_failed: AtomicU64,
    consent_passes: AtomicU64,
    consent_failed: AtomicU64,
    consent_writes: AtomicU64,
    claims: AtomicU64,
    claims_lost: AtomicU64,
    pairs_unusable: AtomicU64,
    accounts_held: AtomicU64,
    pairs_held: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> WorkerCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WorkerCounts {
            runs: get(&self.runs),
            slices: get(&self.slices),
            aborted: get(&self.aborted),
            records_read: get(&self.records_read),
            mailchimp_writes: get(&self.mailchimp_writes),
            qad_writes: get(&self.qad_writes),
            scans: get(&self.scans),
            scans_failed: get(&self.scans_failed),
            consent_passes: get(&self.consent_passes),
            consent_failed: get(&self.consent_failed),
            consent_writes: get(&self.consent_writes),
            claims: get(&self.claims),
            claims_lost: get(&self.claims_lost),
            pairs_unusable: get(&self.pairs_unusable),
            accounts_held: get(&self.accounts_held),
            pairs_held: get(&self.pairs_held),
        }
    }
}

/// Starts fleet workers. See [`Worker::start`].
#[derive(Debug)]
pub struct Worker;

impl Worker {
    /// Registers a worker as live and starts it: it claims its share of the accounts, runs
    /// their pairs' objects on their cadences, and keeps going until
    /// [`shutdown`](WorkerHandle::shutdown). Credentials are opened with `key`.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`] when the worker cannot register (the database is unreachable).
    pub async fn start(
        registry: PairRegistry,
        key: VaultKey,
        options: WorkerOptions,
    ) -> Result<WorkerHandle> {
        registry.join(&options.holder, options.ttl).await?;
        let cancel = CancellationToken::new();
        let counters = Arc::new(Counters::default());
        let holder = options.holder.clone();
        let task = tokio::spawn(
            Loop {
                registry,
                key,
                options,
                counters: Arc::clone(&counters),
                accounts: HashMap::new(),
                pairs: HashMap::new(),
                queue: DueQueue::default(),
            }
            .run(cancel.clone()),
        );
        Ok(WorkerHandle {
            holder,
            cancel,
            task,
            counters,
        })
    }
}

/// A running worker.
#[derive(Debug)]
pub struct WorkerHandle {
    holder: LeaseHolder,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    counters: Arc<Counters>,
}

impl WorkerHandle {
    /// The worker's identity.
    #[must_use]
    pub fn holder(&self) -> &LeaseHolder {
        &self.holder
    }

    /// What it did so far.
    #[must_use]
    pub fn counts(&self) -> WorkerCounts {
        self.counters.snapshot()
    }

    /// Graceful shutdown: no new run starts, runs in flight stop at their next page boundary
    /// (committed, cursor saved), then every claim is released and the worker leaves, so other
    /// workers take its accounts at once instead of after expiry.
    pub async fn shutdown(self) -> WorkerCounts {
        self.cancel.cancel();
        if let Err(err) = self.task.await {
            tracing::warn!(holder = %self.holder, "worker ended abnormally: {err}");
        }
        self.counters.snapshot()
    }

    /// Stops the worker at once without releasing anything, as a crash would: its claims and
    /// object leases run out after their time to live. For tests and simulations.
    pub fn kill(self) -> WorkerCounts {
        self.task.abort();
        self.counters.snapshot()
    }
}

/// A claimed account: its claim, its pairs, and the token that stops their runs.
#[derive(Debug)]
struct HeldAccount {
    claim: AccountClaim,
    /// When this worker got the claim: a renewal that started before cannot have seen it.
    claimed_at: Instant,
    pairs: Vec<String>,
    stop: CancellationToken,
    /// Each pair's retention pruning, stopped with `stop`.
    pruning: Vec<JoinHandle<()>>,
}

/// A pair this worker runs.
#[derive(Debug)]
struct HeldPair {
    account: String,
    /// The claim it runs under: a run of an earlier claim of the account is not booked.
    token: FencingToken,
    flows: Arc<PairFlows>,
    cadences: HashMap<ObjectKind, Duration>,
}

/// How a run ended, as the loop needs it.
#[derive(Debug)]
struct RunEnd {
    pair: String,
    token: FencingToken,
    object: ObjectKind,
    started: Instant,
    outcome: Result<Slice>,
}

/// The worker's state, owned by its one task.
#[derive(Debug)]
struct Loop {
    registry: PairRegistry,
    key: VaultKey,
    options: WorkerOptions,
    counters: Arc<Counters>,
    accounts: HashMap<String, HeldAccount>,
    pairs: HashMap<String, HeldPair>,
    queue: DueQueue,
}

/// Aborts the heartbeat when the loop ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Loop {
    async fn run(mut self, cancel: CancellationToken) {
        let (live_tx, mut live_rx) = tokio::sync::watch::channel(None);
        let _heartbeat = AbortOnDrop(tokio::spawn(heartbeat(
            self.registry.clone(),
            self.options.clone(),
            live_tx,
        )));
        let mut runs: JoinSet<RunEnd> = JoinSet::new();
        let mut next_balance = Instant::now();
        loop {
            if cancel.is_cancelled() {
                break;
            }
            if live_rx.has_changed().unwrap_or(false) {
                let live = live_rx.borrow_and_update().clone();
                if let Some((renewed_at, live)) = live {
                    self.drop_lost(renewed_at, &live);
                }
            }
            let now = Instant::now();
            if now >= next_balance {
                if let Err(err) = self.balance().await {
                    tracing::warn!(holder = %self.options.holder, "could not rebalance accounts: {err}");
                }
                next_balance = Instant::now() + self.options.poll_every;
            }
            self.start_due(&mut runs);
            let wake = self
                .queue
                .next_due()
                .map_or(next_balance, |due| due.min(next_balance))
                .max(Instant::now() + Duration::from_millis(1));
            tokio::select! {
                () = cancel.cancelled() => break,
                Some(end) = runs.join_next(), if !runs.is_empty() => {
                    if let Ok(end) = end {
                        self.finished(end).await;
                    }
                }
                changed = live_rx.changed() => {
                    if changed.is_err() {
                        // Not expected while the loop runs; the claims then expire and every
                        // commit is refused, so the worker stops working rather than spin.
                        tracing::error!("worker heartbeat stopped");
                        break;
                    }
                }
                () = tokio::time::sleep_until(wake.into()) => {}
            }
        }
        // Graceful shutdown: runs checkpoint at their next page boundary, then release.
        for account in self.accounts.values() {
            account.stop.cancel();
        }
        while runs.join_next().await.is_some() {}
        for (_, account) in self.accounts.drain() {
            for pruning in account.pruning {
                let _ = pruning.await; // stops at its next batch
            }
            if let Err(err) = self.registry.release(&account.claim).await {
                tracing::warn!(account = %account.claim.account, "could not release the claim: {err}");
            }
        }
        if let Err(err) = self.registry.leave(&self.options.holder).await {
            tracing::warn!("could not leave the fleet: {err}");
        }
        self.counters.accounts_held.store(0, Ordering::Relaxed);
        self.counters.pairs_held.store(0, Ordering::Relaxed);
    }

    /// Gives up every account whose claim is not in `live`, as the renewal that started at
    /// `renewed_at` returned it (claims taken since were not due for that renewal).
    fn drop_lost(&mut self, renewed_at: Instant, live: &[AccountClaim]) {
        let lost: Vec<String> = self
            .accounts
            .values()
            .filter(|held| {
                held.claimed_at < renewed_at
                    && !live
                        .iter()
                        .any(|l| l.account == held.claim.account && l.token == held.claim.token)
            })
            .map(|held| held.claim.account.clone())
            .collect();
        for account in lost {
            tracing::warn!(%account, "claim lost: giving its pairs up");
            Counters::add(&self.counters.claims_lost, 1);
            self.forget(&account);
        }
    }

    /// Stops and forgets an account's pairs (its runs' commits would be refused anyway).
    fn forget(&mut self, account: &str) -> Option<HeldAccount> {
        let held = self.accounts.remove(account)?;
        held.stop.cancel();
        for pair in &held.pairs {
            self.pairs.remove(pair);
            self.queue.remove_pair(pair);
        }
        self.update_gauges();
        Some(held)
    }

    fn update_gauges(&self) {
        self.counters
            .accounts_held
            .store(self.accounts.len() as u64, Ordering::Relaxed);
        self.counters
            .pairs_held
            .store(self.pairs.len() as u64, Ordering::Relaxed);
    }

    /// Claims up to the fair share, or releases idle accounts above it.
    async fn balance(&mut self) -> Result<()> {
        let mut share = self.registry.fair_share(&self.options.holder).await?;
        if let Some(max) = self.options.max_accounts {
            share = share.min(max);
        }
        let held = self.accounts.len();
        if held < share {
            let claims = self
                .registry
                .claim(&self.options.holder, self.options.ttl, share - held)
                .await?;
            for claim in claims {
                Counters::add(&self.counters.claims, 1);
                self.take(claim).await;
            }
        } else if held > share {
            let idle: Vec<String> = self
                .accounts
                .values()
                .filter(|a| a.pairs.iter().all(|p| !self.queue.is_busy(p)))
                .map(|a| a.claim.account.clone())
                .take(held - share)
                .collect();
            for account in idle {
                if let Some(held) = self.forget(&account) {
                    self.registry.release(&held.claim).await?;
                }
            }
        }
        Ok(())
    }

    /// Sets up a claimed account's pairs and queues their objects, due now.
    async fn take(&mut self, claim: AccountClaim) {
        let account = claim.account.clone();
        let pairs = match self.registry.pairs_of(&account, &self.key).await {
            Ok(pairs) => pairs,
            Err(err) => {
                tracing::warn!(%account, "cannot read the account's pairs: {err}");
                let _ = self.registry.release(&claim).await;
                return;
            }
        };
        // The account's pairs share one limit: the worker's per-account connections, or the
        // smallest cap a pair's configuration sets.
        let connections = pairs
            .iter()
            .filter_map(|p| p.config.mailchimp_max_concurrency)
            .fold(self.options.account_connections, usize::min)
            .max(1);
        let limit = ConcurrencyLimit::new(connections);
        let stop = CancellationToken::new();
        let mut names = Vec::with_capacity(pairs.len());
        let mut pruning = Vec::with_capacity(pairs.len());
        let now = Instant::now();
        for pair in pairs {
            match self.engine(&pair, &claim, &limit).await {
                Ok((held, state)) => {
                    // The history past the pair's retention goes at claim and hourly.
                    pruning.push(crate::state::retention::spawn(
                        state,
                        pair.config.retention.policy(),
                        stop.child_token(),
                    ));
                    for object in held.cadences.keys() {
                        self.queue.push(&pair.id, *object, now);
                    }
                    names.push(pair.id.clone());
                    self.pairs.insert(pair.id, held);
                }
                Err(err) => {
                    Counters::add(&self.counters.pairs_unusable, 1);
                    tracing::warn!(pair = %pair.id, %account, "pair skipped: {err}");
                }
            }
        }
        self.accounts.insert(
            account,
            HeldAccount {
                claim,
                claimed_at: now,
                pairs: names,
                stop,
                pruning,
            },
        );
        self.update_gauges();
    }

    /// The flows of one pair (Mailchimp's client sharing the account's limit) over its state
    /// store fenced by the claim, and that store.
    async fn engine(
        &self,
        pair: &RegisteredPair,
        claim: &AccountClaim,
        limit: &ConcurrencyLimit,
    ) -> Result<(HeldPair, Arc<dyn StateStore>)> {
        let state: Arc<dyn StateStore> = Arc::new(self.registry.fenced_store(&pair.id, claim)?);
        let lease = LeasePolicy::new()
            .holder(self.options.holder.clone())
            .ttl(self.options.ttl);
        let flows = PairFlows::new(pair, limit, &state, &lease).await?;
        let cadences = pair
            .config
            .objects
            .iter()
            .map(|o| Ok((o.object, o.cadence()?.every())))
            .collect::<Result<_>>()?;
        let held = HeldPair {
            account: claim.account.clone(),
            token: claim.token,
            flows: Arc::new(flows),
            cadences,
        };
        Ok((held, state))
    }

    /// Starts due jobs while there is room.
    fn start_due(&mut self, runs: &mut JoinSet<RunEnd>) {
        while runs.len() < self.options.max_runs {
            let Some((pair, object)) = self.queue.pop_due(Instant::now()) else {
                return;
            };
            let Some(held) = self.pairs.get(&pair) else {
                self.queue.done(&pair);
                continue;
            };
            let Some(stop) = self
                .accounts
                .get(&held.account)
                .map(|a| a.stop.child_token())
            else {
                self.queue.done(&pair);
                continue;
            };
            let flows = Arc::clone(&held.flows);
            let token = held.token;
            let pages = self.options.slice_pages;
            runs.spawn(async move {
                let started = Instant::now();
                let outcome = flows.run(object, pages, stop).await;
                RunEnd {
                    pair,
                    token,
                    object,
                    started,
                    outcome,
                }
            });
        }
    }

    /// Books a finished run and queues the object's next one.
    async fn finished(&mut self, end: RunEnd) {
        self.queue.done(&end.pair);
        let Some(held) = self.pairs.get(&end.pair).filter(|h| h.token == end.token) else {
            return; // its account was released or lost meanwhile (and maybe claimed again)
        };
        let every = held
            .cadences
            .get(&end.object)
            .copied()
            .unwrap_or(Duration::from_secs(60));
        let account = held.account.clone();
        let next_cadence = end.started + every;
        let due = match &end.outcome {
            Ok(slice) => {
                Counters::add(&self.counters.records_read, slice.read);
                Counters::add(&self.counters.mailchimp_writes, slice.mailchimp_writes);
                Counters::add(&self.counters.qad_writes, slice.qad_writes);
                match slice.scan {
                    Some(true) => Counters::add(&self.counters.scans, 1),
                    Some(false) => Counters::add(&self.counters.scans_failed, 1),
                    None => {}
                }
                Counters::add(&self.counters.consent_writes, slice.consent_writes);
                match slice.consent {
                    Some(true) => Counters::add(&self.counters.consent_passes, 1),
                    Some(false) => Counters::add(&self.counters.consent_failed, 1),
                    None => {}
                }
                match slice.status {
                    RunStatus::Cancelled => {
                        Counters::add(&self.counters.slices, 1);
                        Instant::now()
                    }
                    RunStatus::Aborted => {
                        Counters::add(&self.counters.aborted, 1);
                        if self.claim_lost(&account).await {
                            return;
                        }
                        next_cadence
                    }
                    _ => {
                        Counters::add(&self.counters.runs, 1);
                        next_cadence
                    }
                }
            }
            // The object's lease of an earlier holder (killed) has not run out yet.
            Err(SyncError::Lease(LeaseError::Held { .. })) => {
                Instant::now() + self.options.heartbeat_every()
            }
            Err(err) => {
                Counters::add(&self.counters.aborted, 1);
                tracing::warn!(pair = %end.pair, object = %end.object, "run failed: {err}");
                if self.claim_lost(&account).await {
                    return;
                }
                next_cadence
            }
        };
        self.queue.push(&end.pair, end.object, due);
    }

    /// After a failed run: whether it failed because the account's claim is gone (then the
    /// account is given up).
    async fn claim_lost(&mut self, account: &str) -> bool {
        let Some(held) = self.accounts.get(account) else {
            return true;
        };
        match self.registry.check(&held.claim).await {
            Err(SyncError::Lease(LeaseError::ClaimLost { .. })) => {
                Counters::add(&self.counters.claims_lost, 1);
                self.forget(account);
                true
            }
            _ => false,
        }
    }
}

/// Renews the worker's claims every third of their time to live and publishes the ones still
/// held. A failed renewal is retried on the next beat.
async fn heartbeat(
    registry: PairRegistry,
    options: WorkerOptions,
    live: tokio::sync::watch::Sender<Option<(Instant, Vec<AccountClaim>)>>,
) {
    let mut ticks =
        tokio::time::interval(options.heartbeat_every().max(Duration::from_millis(100)));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let started = Instant::now();
        match registry.renew_all(&options.holder, options.ttl).await {
            Ok(claims) => {
                if live.send(Some((started, claims))).is_err() {
                    return;
                }
            }
            Err(err) => tracing::warn!(holder = %options.holder, "claim renewal failed: {err}"),
        }
    }
}
