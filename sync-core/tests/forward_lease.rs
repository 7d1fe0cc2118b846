//! One writer per object: two engines on one SQLite database, each with its own connection (as
//! two processes). The second is refused while the first runs, takes over a lease its killed
//! holder left once it expires, and a run whose lease was taken over commits nothing more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod forward_support;

use std::sync::Arc;
use std::time::Duration;

use forward_support::{config, Harness};
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::state::{FencingToken, LeaseHolder, LeasePolicy};
use sync_core::{LeaseError, ObjectKind, RunStatus, SqliteStateStore, StateStore, SyncError};
use testkit::qad::Seeding;
use testkit::FaultConfig;

fn seeding() -> Seeding {
    Seeding::new(5)
        .customers(60)
        .items(40)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
        .missing_field_share(0.0)
}

/// An engine of its own "process": its own connection to the database file and its own holder.
async fn engine(
    h: &Harness,
    db: &std::path::Path,
    host: &str,
) -> (ForwardSync, Arc<dyn StateStore>) {
    let state: Arc<dyn StateStore> = Arc::new(SqliteStateStore::open(db).await.unwrap());
    let mut config = config(h.mailchimp.list_id());
    config.page_size = 10;
    config.read_ahead_pages = 1;
    let sync = ForwardSync::new(
        config,
        h.mailchimp_client.clone(),
        h.qad_client.clone(),
        Arc::clone(&state),
    )
    .unwrap()
    .with_lease_policy(LeasePolicy::new().holder(LeaseHolder::new(host, 4711)));
    (sync, state)
}

/// Waits until `object` is leased and returns the lease.
async fn leased(state: &Arc<dyn StateStore>, object: ObjectKind) -> sync_core::state::Lease {
    for _ in 0..500 {
        if let Some(lease) = state.lease(object).await.unwrap() {
            return lease;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{object} was never leased");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_engine_is_refused_while_the_first_runs_and_runs_after_it() {
    let h = Harness::start(seeding()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (first, first_state) = engine(&h, &db, "erp-gw-1").await;
    let (second, second_state) = engine(&h, &db, "erp-gw-2").await;
    // Slow QAD, so the first run is still at work when the second starts.
    h.qad
        .faults()
        .set_default(FaultConfig::none().latency(Duration::from_millis(150)))
        .unwrap();

    let running =
        tokio::spawn(async move { first.run(ObjectKind::Items, RunOptions::new()).await });
    let lease = leased(&second_state, ObjectKind::Items).await;
    assert_eq!(lease.holder.host(), "erp-gw-1");
    // The first run records its start just after taking the lease.
    for _ in 0..500 {
        if !second_state.recent_runs(10).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let writes_before = h.writes();
    let err = second
        .run(ObjectKind::Items, RunOptions::new())
        .await
        .unwrap_err();
    match &err {
        SyncError::Lease(LeaseError::Held { object, holder, .. }) => {
            assert_eq!(*object, ObjectKind::Items);
            assert_eq!(holder, &lease.holder);
        }
        other => panic!("expected Held, got {other:?}"),
    }
    assert!(err.to_string().contains("host erp-gw-1, pid 4711"), "{err}");
    // The refused run recorded nothing: one run (the first) in the database.
    assert_eq!(second_state.recent_runs(10).await.unwrap().len(), 1);

    let report = running.await.unwrap().unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report:?}");
    assert!(h.writes() > writes_before);
    // Released at the end: the second engine runs now (and finds nothing changed).
    assert_eq!(first_state.lease(ObjectKind::Items).await.unwrap(), None);
    h.qad.faults().set_default(FaultConfig::none()).unwrap();
    let again = second
        .run(ObjectKind::Items, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(again.status, RunStatus::Completed);
    let products = &again.targets[&ObjectKind::Products];
    assert_eq!(products.writes(), 0, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_left_by_a_killed_process_is_taken_over_after_it_expires() {
    let h = Harness::start(seeding()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (sync, state) = engine(&h, &db, "erp-gw-2").await;
    // A process that took the lease and was killed: nobody renews it.
    let killed = state
        .acquire_lease(
            ObjectKind::Customers,
            &LeaseHolder::new("erp-gw-1", 99),
            Duration::from_millis(400),
        )
        .await
        .unwrap();

    let err = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SyncError::Lease(LeaseError::Held { holder, .. }) if holder.host() == "erp-gw-1"),
        "{err:?}"
    );
    assert_eq!(h.writes(), 0);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report:?}");
    assert!(h.writes() > 0);
    // The killed holder's token is no longer current.
    assert!(matches!(
        state.renew_lease(&killed, Duration::from_secs(60)).await,
        Err(SyncError::Lease(LeaseError::Lost { .. }))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_lease_was_taken_over_commits_nothing_more() {
    let h = Harness::start(seeding()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let (sync, state) = engine(&h, &db, "erp-gw-1").await;
    let (_, other) = engine(&h, &db, "erp-gw-2").await;
    h.qad
        .faults()
        .set_default(FaultConfig::none().latency(Duration::from_millis(150)))
        .unwrap();

    let running = tokio::spawn(async move { sync.run(ObjectKind::Items, RunOptions::new()).await });
    let lease = leased(&other, ObjectKind::Items).await;
    // As if the run had stalled past its time to live and another process took over.
    assert!(other.release_lease(&lease).await.unwrap());
    let taken = other
        .acquire_lease(
            ObjectKind::Items,
            &LeaseHolder::new("erp-gw-2", 4711),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(taken.token, FencingToken::new(lease.token.get() + 1));
    let cursor_at_takeover = state.cursor(ObjectKind::Items).await.unwrap();

    let report = running.await.unwrap().unwrap();
    assert_eq!(report.status, RunStatus::Aborted, "{report:?}");
    let error = report.error.unwrap();
    assert!(error.contains("the lease on items was lost"), "{error}");
    // Every commit after the takeover was refused: the cursor is where the takeover found it.
    assert_eq!(
        other.cursor(ObjectKind::Items).await.unwrap(),
        cursor_at_takeover
    );
    // The new holder still holds it.
    assert_eq!(other.lease(ObjectKind::Items).await.unwrap(), Some(taken));
}
