//! Per-object schedules: each source object runs on its own cadence, with jitter, never twice at
//! once, with a run-now trigger and a graceful shutdown.
//!
//! Each scheduled object gets one loop task. A run starts when the object's next time comes or
//! when [`SchedulerHandle::run_now`] asks for one, and the loop awaits it before planning the
//! next, so two runs of the same object never overlap. The next run is planned one cadence (plus
//! jitter) after the previous run *started*; a run that overruns that point pushes the next one a
//! full cadence past its own end, so missed slots are skipped rather than piled up.
//!
//! The job is any [`Job`]: an async closure taking a [`JobContext`] works. The context carries a
//! [`CancellationToken`] that fires at shutdown, so a job can finish or checkpoint the page in
//! flight; [`SchedulerHandle::shutdown`] waits for every running job to return.
//!
//! A forward job heals by itself when it runs with
//! [`RunOptions::retry_failed`](crate::forward::RunOptions::retry_failed), as `ml-connector run`
//! does: every cycle of the object first retries its replay queue (rows past their backoff,
//! re-mapped from QAD), then reads what changed.
//!
//! ```no_run
//! # async fn run() -> sync_core::Result<()> {
//! use sync_core::schedule::{Cadence, JobContext, Scheduler};
//! use sync_core::ObjectKind;
//!
//! let scheduler = Scheduler::builder()
//!     .schedule(ObjectKind::Customers, Cadence::parse("15m")?.with_jitter_str("30s")?)
//!     .schedule(ObjectKind::Items, Cadence::parse("1h")?)
//!     .schedule(ObjectKind::Orders, Cadence::parse("5m")?)
//!     .start(|ctx: JobContext| async move {
//!         println!("syncing {} ({:?})", ctx.object, ctx.trigger);
//!         // ... sync pages until done or ctx.cancel.is_cancelled() ...
//!         Ok(())
//!     });
//! scheduler.run_now(ObjectKind::Customers)?;
//! tokio::signal::ctrl_c().await.ok();
//! scheduler.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::{Result, ScheduleError};
use crate::model::{ObjectKind, RunTrigger};

/// Parses a duration such as `15m`, `1h 30m` or `90s` (humantime syntax).
///
/// ```
/// use std::time::Duration;
/// use sync_core::schedule::parse_duration;
///
/// assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
/// assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
/// assert!(parse_duration("fortnightly").is_err());
/// ```
///
/// # Errors
///
/// [`ScheduleError::BadDuration`] when the text is not a duration.
pub fn parse_duration(text: &str) -> Result<Duration, ScheduleError> {
    humantime::parse_duration(text.trim()).map_err(|source| ScheduleError::BadDuration {
        input: text.to_owned(),
        source,
    })
}

/// How often an object runs, and by how much each scheduled start may be delayed at random
/// (so objects and workers do not all call the APIs at the same instant).
///
/// ```
/// use std::time::Duration;
/// use sync_core::schedule::Cadence;
///
/// let cadence = Cadence::parse("15m").unwrap().with_jitter_str("30s").unwrap();
/// assert_eq!(cadence.every(), Duration::from_secs(900));
/// assert_eq!(cadence.jitter(), Duration::from_secs(30));
/// assert!(Cadence::parse("0s").is_err());
/// assert!(Cadence::parse("1m").unwrap().with_jitter_str("2m").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cadence {
    every: Duration,
    jitter: Duration,
}

impl Cadence {
    /// A cadence without jitter.
    ///
    /// # Errors
    ///
    /// [`ScheduleError::ZeroCadence`] when `every` is zero.
    pub fn new(every: Duration) -> Result<Self, ScheduleError> {
        if every.is_zero() {
            return Err(ScheduleError::ZeroCadence);
        }
        Ok(Self {
            every,
            jitter: Duration::ZERO,
        })
    }

    /// A cadence parsed from text such as `15m`, without jitter.
    ///
    /// # Errors
    ///
    /// [`ScheduleError::BadDuration`] or [`ScheduleError::ZeroCadence`].
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        Self::new(parse_duration(text)?)
    }

    /// Adds jitter: each scheduled start is delayed by a random amount in `0..=jitter`.
    ///
    /// # Errors
    ///
    /// [`ScheduleError::JitterTooLarge`] when `jitter` exceeds the cadence.
    pub fn with_jitter(self, jitter: Duration) -> Result<Self, ScheduleError> {
        if jitter > self.every {
            return Err(ScheduleError::JitterTooLarge {
                every: self.every,
                jitter,
            });
        }
        Ok(Self { jitter, ..self })
    }

    /// Adds jitter parsed from text such as `30s`.
    ///
    /// # Errors
    ///
    /// [`ScheduleError::BadDuration`] or [`ScheduleError::JitterTooLarge`].
    pub fn with_jitter_str(self, text: &str) -> Result<Self, ScheduleError> {
        self.with_jitter(parse_duration(text)?)
    }

    /// The interval between scheduled starts.
    #[must_use]
    pub fn every(&self) -> Duration {
        self.every
    }

    /// The jitter bound.
    #[must_use]
    pub fn jitter(&self) -> Duration {
        self.jitter
    }

    fn sample_jitter(&self, rng: &mut StdRng) -> Duration {
        let bound = u64::try_from(self.jitter.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(0..=bound))
    }
}

/// What a job is told about its run.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JobContext {
    /// The object to sync.
    pub object: ObjectKind,
    /// Whether the cadence or a run-now request started the run
    /// ([`RunTrigger::Scheduled`] or [`RunTrigger::Manual`]).
    pub trigger: RunTrigger,
    /// Fires when the scheduler shuts down: finish or checkpoint the page in flight and return.
    pub cancel: CancellationToken,
}

impl JobContext {
    /// A context as the scheduler builds it; for calling a job directly (tests, a CLI `run`).
    #[must_use]
    pub fn new(object: ObjectKind, trigger: RunTrigger, cancel: CancellationToken) -> Self {
        Self {
            object,
            trigger,
            cancel,
        }
    }
}

/// A unit of work the scheduler runs for an object.
///
/// Implemented for every `Fn(JobContext) -> impl Future<Output = Result<()>>` closure that is
/// `Send + Sync + 'static`.
#[async_trait]
pub trait Job: Send + Sync + 'static {
    /// Runs the object's sync once.
    ///
    /// # Errors
    ///
    /// Any [`SyncError`](crate::SyncError); the scheduler records it in the object's
    /// [`ObjectStatus`] and keeps the cadence.
    async fn run(&self, ctx: JobContext) -> Result<()>;
}

#[async_trait]
impl<F, Fut> Job for F
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    async fn run(&self, ctx: JobContext) -> Result<()> {
        (self)(ctx).await
    }
}

/// What [`SchedulerHandle::run_now`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunNow {
    /// The object was idle; a run starts now.
    Queued,
    /// A run is in progress; one more starts when it ends.
    QueuedAfterCurrent,
    /// A run was already queued; this request joins it.
    AlreadyQueued,
}

/// A snapshot of one object's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectStatus {
    /// Runs started.
    pub started: u64,
    /// Runs that returned `Ok`.
    pub succeeded: u64,
    /// Runs that returned an error or panicked.
    pub failed: u64,
    /// Whether a run is in progress.
    pub running: bool,
    /// Whether a run-now request is waiting.
    pub queued: bool,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When the last run started.
    pub last_started: Option<Instant>,
    /// When the last run ended.
    pub last_finished: Option<Instant>,
}

/// Configures and starts a scheduler.
#[derive(Debug, Default)]
pub struct SchedulerBuilder {
    cadences: BTreeMap<ObjectKind, Cadence>,
    seed: Option<u64>,
    delay_first_run: bool,
}

impl SchedulerBuilder {
    /// Runs `object` on `cadence` (replacing an earlier cadence for it).
    #[must_use]
    pub fn schedule(mut self, object: ObjectKind, cadence: Cadence) -> Self {
        self.cadences.insert(object, cadence);
        self
    }

    /// Seeds the jitter so the schedule is reproducible (tests); by default the seed is random.
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Waits one cadence before each object's first run instead of starting at once (after
    /// jitter).
    #[must_use]
    pub fn delay_first_run(mut self, delay: bool) -> Self {
        self.delay_first_run = delay;
        self
    }

    /// Spawns one loop per scheduled object on the current Tokio runtime and returns the handle
    /// that controls them.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime (as `tokio::spawn` does).
    pub fn start<J: Job>(self, job: J) -> SchedulerHandle {
        let job: Arc<dyn Job> = Arc::new(job);
        let cancel = CancellationToken::new();
        let seed = self.seed.unwrap_or_else(rand::random);
        let mut slots = BTreeMap::new();
        let mut tasks = Vec::new();
        for (index, (object, cadence)) in self.cadences.into_iter().enumerate() {
            let slot = Arc::new(Slot::new(object));
            let runner = ObjectLoop {
                slot: Arc::clone(&slot),
                cadence,
                job: Arc::clone(&job),
                cancel: cancel.clone(),
                rng: StdRng::seed_from_u64(seed.wrapping_add(index as u64)),
            };
            tasks.push(tokio::spawn(runner.run(self.delay_first_run)));
            slots.insert(object, slot);
        }
        SchedulerHandle {
            slots: Arc::new(slots),
            cancel,
            tasks,
        }
    }
}

/// The entry point: [`Scheduler::builder`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Scheduler;

impl Scheduler {
    /// A builder with no objects scheduled.
    #[must_use]
    pub fn builder() -> SchedulerBuilder {
        SchedulerBuilder::default()
    }
}

/// Controls a running scheduler. Dropping it cancels the loops without waiting for them; call
/// [`shutdown`](Self::shutdown) to wait.
pub struct SchedulerHandle {
    slots: Arc<BTreeMap<ObjectKind, Arc<Slot>>>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for SchedulerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchedulerHandle")
            .field("objects", &self.slots.keys().collect::<Vec<_>>())
            .field("cancelled", &self.cancel.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl SchedulerHandle {
    /// Asks for a run of `object` now. Requests coalesce: while one is queued, more join it; while
    /// a run is in progress, one more is queued to follow it.
    ///
    /// # Errors
    ///
    /// [`ScheduleError::UnknownObject`] when `object` is not scheduled.
    pub fn run_now(&self, object: ObjectKind) -> Result<RunNow, ScheduleError> {
        self.trigger().run_now(object)
    }

    /// A cloneable run-now trigger for other tasks (a webhook receiver, an admin endpoint); it
    /// outlives the handle but refuses requests once the scheduler shuts down.
    #[must_use]
    pub fn trigger(&self) -> RunNowTrigger {
        RunNowTrigger {
            slots: Arc::clone(&self.slots),
            cancel: self.cancel.clone(),
        }
    }

    /// A snapshot of `object`'s runs, or `None` if it is not scheduled.
    #[must_use]
    pub fn status(&self, object: ObjectKind) -> Option<ObjectStatus> {
        self.slots.get(&object).map(|slot| slot.state().clone())
    }

    /// The scheduled objects.
    pub fn objects(&self) -> impl Iterator<Item = ObjectKind> + '_ {
        self.slots.keys().copied()
    }

    /// Stops scheduling, signals the running jobs through their [`JobContext::cancel`] token and
    /// waits until every one of them has returned.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for task in std::mem::take(&mut self.tasks) {
            // A loop task never panics (job panics are caught in their own task); a JoinError
            // here could only mean the runtime is shutting down, which ends the wait anyway.
            let _ = task.await;
        }
    }
}

impl Drop for SchedulerHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Requests runs of scheduled objects; see [`SchedulerHandle::trigger`].
#[derive(Clone)]
pub struct RunNowTrigger {
    slots: Arc<BTreeMap<ObjectKind, Arc<Slot>>>,
    cancel: CancellationToken,
}

impl fmt::Debug for RunNowTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunNowTrigger")
            .field("objects", &self.slots.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl RunNowTrigger {
    /// As [`SchedulerHandle::run_now`].
    ///
    /// # Errors
    ///
    /// [`ScheduleError::UnknownObject`] when `object` is not scheduled;
    /// [`ScheduleError::ShutDown`] once the scheduler is shutting down or its handle was dropped.
    pub fn run_now(&self, object: ObjectKind) -> Result<RunNow, ScheduleError> {
        let slot = self
            .slots
            .get(&object)
            .ok_or(ScheduleError::UnknownObject(object))?;
        if self.cancel.is_cancelled() {
            return Err(ScheduleError::ShutDown);
        }
        let outcome = {
            let mut state = slot.state();
            if state.queued {
                return Ok(RunNow::AlreadyQueued);
            }
            state.queued = true;
            if state.running {
                RunNow::QueuedAfterCurrent
            } else {
                RunNow::Queued
            }
        };
        slot.wake.notify_one();
        Ok(outcome)
    }
}

/// One object's shared state: the run-now wake-up and the status.
#[derive(Debug)]
struct Slot {
    object: ObjectKind,
    wake: Notify,
    status: Mutex<ObjectStatus>,
}

impl Slot {
    fn new(object: ObjectKind) -> Self {
        Self {
            object,
            wake: Notify::new(),
            status: Mutex::new(ObjectStatus::default()),
        }
    }

    /// The status, even if a panic elsewhere poisoned the lock (it holds plain counters).
    fn state(&self) -> MutexGuard<'_, ObjectStatus> {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The loop that runs one object.
struct ObjectLoop {
    slot: Arc<Slot>,
    cadence: Cadence,
    job: Arc<dyn Job>,
    cancel: CancellationToken,
    rng: StdRng,
}

impl ObjectLoop {
    async fn run(mut self, delay_first_run: bool) {
        let first = if delay_first_run {
            self.cadence.every
        } else {
            Duration::ZERO
        };
        let mut next = Instant::now() + first + self.cadence.sample_jitter(&mut self.rng);
        loop {
            let trigger = tokio::select! {
                biased;
                () = self.cancel.cancelled() => break,
                () = self.slot.wake.notified() => {
                    // A stale wake-up (its request was served by a run that started meanwhile).
                    if !self.slot.state().queued {
                        continue;
                    }
                    RunTrigger::Manual
                }
                () = tokio::time::sleep_until(next) => RunTrigger::Scheduled,
            };
            let started = self.run_once(trigger).await;
            let finished = Instant::now();
            let planned = started + self.cadence.every;
            let base = if planned > finished {
                planned
            } else {
                finished + self.cadence.every
            };
            next = base + self.cadence.sample_jitter(&mut self.rng);
        }
    }

    /// Runs the job once in its own task (so a panic is contained) and records the result.
    /// Returns when the run started.
    async fn run_once(&self, trigger: RunTrigger) -> Instant {
        let started = Instant::now();
        {
            let mut state = self.slot.state();
            state.queued = false;
            state.running = true;
            state.started += 1;
            state.last_started = Some(started);
        }
        let ctx = JobContext::new(self.slot.object, trigger, self.cancel.child_token());
        let job = Arc::clone(&self.job);
        let result = tokio::spawn(async move { job.run(ctx).await }).await;
        let mut state = self.slot.state();
        state.running = false;
        state.last_finished = Some(Instant::now());
        match result {
            Ok(Ok(())) => state.succeeded += 1,
            Ok(Err(err)) => {
                state.failed += 1;
                state.last_error = Some(error_chain(&err));
            }
            Err(join) => {
                state.failed += 1;
                state.last_error = Some(format!("job for {} panicked: {join}", self.slot.object));
            }
        }
        started
    }
}

/// An error and its sources, joined with `: `.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
