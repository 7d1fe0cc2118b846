//! The scheduler under tokio's paused clock: cadences over simulated hours, jitter bounds, no
//! overlap, run-now coalescing, shutdown waiting for jobs, and failures.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sync_core::schedule::{Cadence, JobContext, RunNow, Scheduler};
use sync_core::{ObjectKind, RunTrigger, ScheduleError, SyncError};
use tokio::time::{sleep, Instant};

const MIN: Duration = Duration::from_secs(60);

/// Start instants (offsets from the test's start) of every run, per object.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Starts>>);

type Starts = HashMap<ObjectKind, Vec<(Duration, RunTrigger)>>;

impl Log {
    fn record(&self, origin: Instant, ctx: &JobContext) {
        self.0
            .lock()
            .unwrap()
            .entry(ctx.object)
            .or_default()
            .push((origin.elapsed(), ctx.trigger));
    }

    fn starts(&self, object: ObjectKind) -> Vec<Duration> {
        self.0
            .lock()
            .unwrap()
            .get(&object)
            .map(|v| v.iter().map(|(at, _)| *at).collect())
            .unwrap_or_default()
    }

    fn triggers(&self, object: ObjectKind) -> Vec<RunTrigger> {
        self.0
            .lock()
            .unwrap()
            .get(&object)
            .map(|v| v.iter().map(|(_, t)| *t).collect())
            .unwrap_or_default()
    }
}

#[tokio::test(start_paused = true)]
async fn each_object_runs_on_its_own_cadence() {
    let origin = Instant::now();
    let log = Log::default();
    let job_log = log.clone();
    let scheduler = Scheduler::builder()
        .schedule(ObjectKind::Customers, Cadence::parse("15m").unwrap())
        .schedule(ObjectKind::Items, Cadence::parse("1h").unwrap())
        .schedule(ObjectKind::Orders, Cadence::parse("5m").unwrap())
        .start(move |ctx: JobContext| {
            job_log.record(origin, &ctx);
            async { Ok(()) }
        });

    // Just short of three hours: runs at 0, every, 2 * every, ... below 2h59m.
    sleep(Duration::from_secs(3 * 3600 - 60)).await;
    assert_eq!(log.starts(ObjectKind::Orders).len(), 36);
    assert_eq!(log.starts(ObjectKind::Customers).len(), 12);
    assert_eq!(log.starts(ObjectKind::Items).len(), 3);
    assert_eq!(
        log.starts(ObjectKind::Items),
        [Duration::ZERO, 60 * MIN, 120 * MIN]
    );
    assert!(log
        .triggers(ObjectKind::Orders)
        .iter()
        .all(|t| *t == RunTrigger::Scheduled));
    let status = scheduler.status(ObjectKind::Orders).unwrap();
    assert_eq!(
        (status.started, status.succeeded, status.failed),
        (36, 36, 0)
    );
    assert_eq!(scheduler.status(ObjectKind::WebhookEvents), None);
    scheduler.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn delayed_first_runs_wait_one_cadence() {
    let origin = Instant::now();
    let log = Log::default();
    let job_log = log.clone();
    let scheduler = Scheduler::builder()
        .schedule(ObjectKind::Items, Cadence::parse("1h").unwrap())
        .delay_first_run(true)
        .start(move |ctx: JobContext| {
            job_log.record(origin, &ctx);
            async { Ok(()) }
        });
    sleep(150 * MIN).await;
    assert_eq!(log.starts(ObjectKind::Items), [60 * MIN, 120 * MIN]);
    scheduler.shutdown().await;
}

async fn jittered_starts(seed: u64) -> Vec<Duration> {
    let origin = Instant::now();
    let log = Log::default();
    let job_log = log.clone();
    let scheduler = Scheduler::builder()
        .schedule(
            ObjectKind::Customers,
            Cadence::parse("10m")
                .unwrap()
                .with_jitter_str("2m")
                .unwrap(),
        )
        .jitter_seed(seed)
        .start(move |ctx: JobContext| {
            job_log.record(origin, &ctx);
            async { Ok(()) }
        });
    sleep(Duration::from_secs(6 * 3600)).await;
    scheduler.shutdown().await;
    log.starts(ObjectKind::Customers)
}

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_its_bound_and_is_reproducible() {
    let starts = jittered_starts(7).await;
    assert!(starts.len() >= 30, "{} runs", starts.len());
    assert!(starts[0] <= 2 * MIN);
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    for gap in &gaps {
        assert!(*gap >= 10 * MIN && *gap <= 12 * MIN, "gap {gap:?}");
    }
    // The jitter really varies the gaps.
    let distinct: std::collections::BTreeSet<_> = gaps.iter().collect();
    assert!(distinct.len() > gaps.len() / 2, "{gaps:?}");
    // The same seed gives the same schedule; another seed does not.
    assert_eq!(jittered_starts(7).await, starts);
    assert_ne!(jittered_starts(8).await, starts);
}

#[tokio::test(start_paused = true)]
async fn a_slow_run_delays_the_next_without_overlap_or_pile_up() {
    let origin = Instant::now();
    let log = Log::default();
    let in_flight = Arc::new(AtomicU32::new(0));
    let max_in_flight = Arc::new(AtomicU32::new(0));
    let (job_log, flight, max) = (log.clone(), in_flight.clone(), max_in_flight.clone());
    let scheduler = Scheduler::builder()
        .schedule(ObjectKind::Orders, Cadence::parse("10m").unwrap())
        .start(move |ctx: JobContext| {
            job_log.record(origin, &ctx);
            let (flight, max) = (flight.clone(), max.clone());
            async move {
                let now = flight.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                sleep(25 * MIN).await;
                flight.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        });
    sleep(120 * MIN).await;
    // Each run takes 25m; the 10m slots it overran are skipped, and the next starts one cadence
    // after it ended.
    assert_eq!(
        log.starts(ObjectKind::Orders),
        [Duration::ZERO, 35 * MIN, 70 * MIN, 105 * MIN]
    );
    assert_eq!(max_in_flight.load(Ordering::SeqCst), 1);
    scheduler.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn run_now_starts_a_run_and_coalesces_requests() {
    let origin = Instant::now();
    let log = Log::default();
    let job_log = log.clone();
    let scheduler = Scheduler::builder()
        .schedule(ObjectKind::Customers, Cadence::parse("1h").unwrap())
        .delay_first_run(true)
        .start(move |ctx: JobContext| {
            job_log.record(origin, &ctx);
            async {
                sleep(5 * MIN).await;
                Ok(())
            }
        });

    sleep(10 * MIN).await;
    assert_eq!(
        scheduler.run_now(ObjectKind::Customers).unwrap(),
        RunNow::Queued
    );
    assert_eq!(
        scheduler.run_now(ObjectKind::Customers).unwrap(),
        RunNow::AlreadyQueued
    );
    sleep(MIN).await;
    // Running now: one follow-up is queued, further requests join it.
    assert!(scheduler.status(ObjectKind::Customers).unwrap().running);
    assert_eq!(
        scheduler.run_now(ObjectKind::Customers).unwrap(),
        RunNow::QueuedAfterCurrent
    );
    assert_eq!(
        scheduler.run_now(ObjectKind::Customers).unwrap(),
        RunNow::AlreadyQueued
    );
    sleep(20 * MIN).await;
    assert_eq!(log.starts(ObjectKind::Customers), [10 * MIN, 15 * MIN]);
    assert_eq!(
        log.triggers(ObjectKind::Customers),
        [RunTrigger::Manual, RunTrigger::Manual]
    );
    // The cadence restarts from the last run: next scheduled start at 15m + 1h.
    sleep(60 * MIN).await;
    assert_eq!(
        log.starts(ObjectKind::Customers),
        [10 * MIN, 15 * MIN, 75 * MIN]
    );
    assert_eq!(
        log.triggers(ObjectKind::Customers)[2],
        RunTrigger::Scheduled
    );

    assert!(matches!(
        scheduler.run_now(ObjectKind::Orders),
        Err(ScheduleError::UnknownObject(ObjectKind::Orders))
    ));
    scheduler.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_the_job_and_waits_for_it() {
    let checkpointed = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let (cp, fin) = (checkpointed.clone(), finished.clone());
    let scheduler = Scheduler::builder()
        .schedule(ObjectKind::Customers, Cadence::parse("5m").unwrap())
        .start(move |ctx: JobContext| {
            let (cp, fin) = (cp.clone(), fin.clone());
            async move {
                // A long job that pages until told to stop, then checkpoints.
                tokio::select! {
                    () = ctx.cancel.cancelled() => {}
                    () = sleep(Duration::from_secs(86_400)) => {}
                }
                sleep(30 * MIN).await; // the page in flight takes its time to finish
                cp.store(true, Ordering::SeqCst);
                fin.store(true, Ordering::SeqCst);
                Ok(())
            }
        });
    sleep(MIN).await;
    assert!(scheduler.status(ObjectKind::Customers).unwrap().running);
    assert!(!finished.load(Ordering::SeqCst));
    scheduler.shutdown().await;
    assert!(checkpointed.load(Ordering::SeqCst));
    assert!(finished.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_a_job_that_ignores_cancellation() {
    let runs = Arc::new(AtomicU32::new(0));
    let done = Arc::new(AtomicU32::new(0));
    let (r, d) = (runs.clone(), done.clone());
    let scheduler = Scheduler::builder()
        .schedule(ObjectKind::Items, Cadence::parse("1m").unwrap())
        .schedule(ObjectKind::Orders, Cadence::parse("1m").unwrap())
        .start(move |_ctx: JobContext| {
            let (r, d) = (r.clone(), d.clone());
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                sleep(10 * MIN).await;
                d.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
    sleep(MIN).await;
    scheduler.shutdown().await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(
        done.load(Ordering::SeqCst),
        2,
        "both in-flight jobs finished"
    );
    // Nothing starts after shutdown.
    sleep(60 * MIN).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn failures_and_panics_are_recorded_and_the_cadence_goes_on() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let scheduler = Scheduler::builder()
        .schedule(ObjectKind::Orders, Cadence::parse("5m").unwrap())
        .start(move |_ctx: JobContext| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => Err(SyncError::Config {
                        what: "store id is empty".into(),
                    }),
                    1 => panic!("mapping bug"),
                    _ => Ok(()),
                }
            }
        });
    sleep(MIN).await;
    let status = scheduler.status(ObjectKind::Orders).unwrap();
    assert_eq!((status.started, status.failed), (1, 1));
    assert_eq!(
        status.last_error.as_deref(),
        Some("invalid configuration: store id is empty")
    );
    sleep(5 * MIN).await;
    let status = scheduler.status(ObjectKind::Orders).unwrap();
    assert_eq!((status.started, status.failed), (2, 2));
    assert!(status.last_error.unwrap().contains("panicked"));
    sleep(5 * MIN).await;
    let status = scheduler.status(ObjectKind::Orders).unwrap();
    assert_eq!((status.started, status.succeeded, status.failed), (3, 1, 2));
    scheduler.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_trigger_outlives_the_handle_but_not_the_scheduler() {
    let runs = Arc::new(AtomicU32::new(0));
    let r = runs.clone();
    let scheduler = Scheduler::builder()
        .schedule(ObjectKind::Items, Cadence::parse("1h").unwrap())
        .delay_first_run(true)
        .start(move |_ctx: JobContext| {
            r.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        });
    assert_eq!(scheduler.objects().collect::<Vec<_>>(), [ObjectKind::Items]);
    let trigger = scheduler.trigger();
    assert_eq!(trigger.run_now(ObjectKind::Items).unwrap(), RunNow::Queued);
    sleep(MIN).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    scheduler.shutdown().await;
    assert!(matches!(
        trigger.run_now(ObjectKind::Items),
        Err(ScheduleError::ShutDown)
    ));
    assert!(matches!(
        trigger.run_now(ObjectKind::Orders),
        Err(ScheduleError::UnknownObject(ObjectKind::Orders))
    ));
}

#[tokio::test]
async fn a_job_can_be_called_directly_with_a_context() {
    let job = |ctx: JobContext| async move {
        if ctx.cancel.is_cancelled() {
            return Err(SyncError::Config {
                what: format!("{} run cancelled", ctx.object),
            });
        }
        Ok(())
    };
    let token = tokio_util::sync::CancellationToken::new();
    let ctx = JobContext::new(ObjectKind::Items, RunTrigger::Manual, token.clone());
    assert!(job(ctx.clone()).await.is_ok());
    token.cancel();
    assert!(job(ctx).await.is_err());
}

#[test]
fn cadences_are_validated() {
    assert!(matches!(
        Cadence::parse("0s"),
        Err(ScheduleError::ZeroCadence)
    ));
    assert!(matches!(
        Cadence::parse("soon"),
        Err(ScheduleError::BadDuration { input, .. }) if input == "soon"
    ));
    assert!(matches!(
        Cadence::parse("5m").unwrap().with_jitter_str("6m"),
        Err(ScheduleError::JitterTooLarge { .. })
    ));
    let cadence = Cadence::parse("1h 30m").unwrap().with_jitter(MIN).unwrap();
    assert_eq!(cadence.every(), 90 * MIN);
    assert_eq!(cadence.jitter(), MIN);
}
