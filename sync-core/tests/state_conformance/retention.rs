//! History retention: which audit rows and runs a prune deletes and which it keeps, in small
//! transactions; and unchanged records counted into the run.

use chrono::{DateTime, Duration, Utc};
use sync_core::audit::{AuditId, NewAuditRow, RunStart};
use sync_core::replay::RetryPolicy;
use sync_core::state::retention::{self, PruneCutoffs, Retention};
use sync_core::state::RetryMark;
use sync_core::{ObjectKind, Outcome, RunId, RunStatus, RunTrigger, StateBatch, StateStore};

use crate::harness::Db;

conformance!(
    old_history_goes_and_queued_or_referenced_rows_stay,
    a_row_pointed_at_by_a_recent_replay_stays,
    runs_go_once_finished_past_retention_and_without_rows,
    pruning_goes_in_bounded_transactions_until_done,
    unchanged_records_are_counted_into_their_run,
);

async fn started(store: &dyn StateStore) -> RunId {
    let run = RunStart::new(vec![ObjectKind::Customers], RunTrigger::Scheduled);
    store.start_run(&run).await.unwrap();
    run.id
}

/// Appends one row finished at `at` and returns its id.
async fn row(store: &dyn StateStore, row: NewAuditRow, at: DateTime<Utc>) -> AuditId {
    let receipt = store
        .apply(StateBatch::new().audit(row.times(at, at)))
        .await
        .unwrap();
    receipt.audit_ids[0]
}

async fn exists(store: &dyn StateStore, id: AuditId) -> bool {
    store.audit_row(id).await.unwrap().is_some()
}

async fn old_history_goes_and_queued_or_referenced_rows_stay(db: Db) {
    let store = db.store();
    let store = store.as_ref();
    let now = Utc::now();
    let old = now - Duration::days(120);
    let run = started(store).await;
    let new = |key: &str, outcome| NewAuditRow::new(run, ObjectKind::Customers, key, outcome);

    let old_created = row(store, new("C-1", Outcome::Created), old).await;
    let old_skipped = row(store, new("C-2", Outcome::Skipped).error("no email"), old).await;
    let recent = row(store, new("C-3", Outcome::Created), now).await;
    let queued = row(store, new("C-4", Outcome::Failed), old).await;
    let dead = row(store, new("C-5", Outcome::Failed), old).await;
    store
        .apply(
            StateBatch::new().retried(RetryMark::new(vec![dead], RetryPolicy::default()).give_up()),
        )
        .await
        .unwrap();
    assert!(store
        .audit_row(dead)
        .await
        .unwrap()
        .unwrap()
        .retry
        .dead_at
        .is_some());
    // A queued row and its failed replay: both stay while it is queued.
    let retried = row(store, new("C-6", Outcome::Deferred), old).await;
    let failed_replay = row(store, new("C-6", Outcome::Failed).replay_of(retried), old).await;
    // Resolved just now by an old-dated replay: the resolution is recent, so both stay (the
    // replay because the kept original points at it).
    let resolved = row(store, new("C-7", Outcome::Failed), old).await;
    let resolver = row(store, new("C-7", Outcome::Updated).replay_of(resolved), old).await;

    let cutoff = now - Duration::days(90);
    let pruned = store
        .prune_history(PruneCutoffs::new(cutoff, cutoff), 100)
        .await
        .unwrap();
    assert_eq!((pruned.audit, pruned.runs, pruned.more), (2, 0, false));
    for gone in [old_created, old_skipped] {
        assert!(!exists(store, gone).await, "row {gone} should be pruned");
    }
    for kept in [
        recent,
        queued,
        dead,
        retried,
        failed_replay,
        resolved,
        resolver,
    ] {
        assert!(exists(store, kept).await, "row {kept} should be kept");
    }
    let queue = store
        .pending_replays(&sync_core::audit::ReplayFilter::All, 10)
        .await
        .unwrap();
    assert_eq!(
        queue.iter().map(|r| r.id).collect::<Vec<_>>(),
        [queued, dead, retried]
    );

    // Once the resolution is old too, the original and its replay go together (they point at
    // each other); the queue is untouched.
    let later = now + Duration::days(1);
    let pruned = store
        .prune_history(PruneCutoffs::new(later, cutoff), 100)
        .await
        .unwrap();
    assert_eq!(pruned.audit, 3, "recent, resolved and resolver");
    for gone in [recent, resolved, resolver] {
        assert!(!exists(store, gone).await, "row {gone} should be pruned");
    }
    for kept in [queued, dead, retried, failed_replay] {
        assert!(exists(store, kept).await, "row {kept} should be kept");
    }
}

async fn a_row_pointed_at_by_a_recent_replay_stays(db: Db) {
    let store = db.store();
    let store = store.as_ref();
    let now = Utc::now();
    let run = started(store).await;
    let new = |outcome| NewAuditRow::new(run, ObjectKind::Items, "I-1", outcome);
    let original = row(store, new(Outcome::Failed), now - Duration::days(200)).await;
    // A manual replay today of a long-dead row: the replay is recent, so the original stays.
    let replay = row(store, new(Outcome::Created).replay_of(original), now).await;
    let cutoff = now - Duration::days(90);
    let pruned = store
        .prune_history(PruneCutoffs::new(cutoff, cutoff), 100)
        .await
        .unwrap();
    assert_eq!(pruned.audit, 0);
    assert!(exists(store, original).await && exists(store, replay).await);
}

async fn runs_go_once_finished_past_retention_and_without_rows(db: Db) {
    let store = db.store();
    let store = store.as_ref();
    let now = Utc::now();
    let emptied = started(store).await;
    let with_queue = started(store).await;
    let running = started(store).await;
    for run in [emptied, with_queue] {
        store
            .finish_run(run, RunStatus::Completed, None)
            .await
            .unwrap();
    }
    let old = now - Duration::days(120);
    let gone = row(
        store,
        NewAuditRow::new(emptied, ObjectKind::Customers, "C-1", Outcome::Created),
        old,
    )
    .await;
    row(
        store,
        NewAuditRow::new(with_queue, ObjectKind::Customers, "C-2", Outcome::Failed),
        old,
    )
    .await;
    // Runs finished a moment ago count as old under a cutoff in the future.
    let later = now + Duration::days(1);
    let pruned = store
        .prune_history(PruneCutoffs::new(now - Duration::days(90), later), 100)
        .await
        .unwrap();
    assert_eq!((pruned.audit, pruned.runs), (1, 1));
    assert!(!exists(store, gone).await);
    assert!(store.run(emptied).await.unwrap().is_none());
    assert!(store.run(with_queue).await.unwrap().is_some());
    assert!(store.run(running).await.unwrap().is_some(), "still running");
}

async fn pruning_goes_in_bounded_transactions_until_done(db: Db) {
    let store = db.store();
    let store = store.as_ref();
    let run = started(store).await;
    let old = Utc::now() - Duration::days(100);
    let mut batch = StateBatch::new();
    for i in 0..25 {
        let key = format!("C-{i}");
        batch = batch.audit(
            NewAuditRow::new(run, ObjectKind::Customers, key, Outcome::Created).times(old, old),
        );
    }
    store.apply(batch).await.unwrap();
    let cutoff = Utc::now() - Duration::days(90);
    let step = store
        .prune_history(PruneCutoffs::new(cutoff, cutoff), 10)
        .await
        .unwrap();
    assert_eq!((step.audit, step.more), (10, true));
    let rest = retention::prune(store, &Retention::default().batch(10), Utc::now())
        .await
        .unwrap();
    assert_eq!(rest.audit, 15);
    let again = retention::prune(store, &Retention::default(), Utc::now())
        .await
        .unwrap();
    assert_eq!((again.audit, again.runs), (0, 0));
}

async fn unchanged_records_are_counted_into_their_run(db: Db) {
    let store = db.store();
    let store = store.as_ref();
    let run = started(store).await;
    let receipt = store
        .apply(
            StateBatch::new()
                .audit(NewAuditRow::new(
                    run,
                    ObjectKind::Customers,
                    "C-1",
                    Outcome::Created,
                ))
                .audit(NewAuditRow::new(
                    run,
                    ObjectKind::Customers,
                    "C-2",
                    Outcome::Unchanged,
                ))
                .count_unchanged(run, 40),
        )
        .await
        .unwrap();
    assert_eq!(receipt.audit_ids.len(), 2);
    store
        .apply(StateBatch::new().count_unchanged(run, 2))
        .await
        .unwrap();
    let record = store
        .finish_run(run, RunStatus::Completed, None)
        .await
        .unwrap();
    assert_eq!(record.counts.unchanged, 43);
    assert_eq!(record.counts.created, 1);
    assert_eq!(record.counts.total(), 44);
    let listed = store.recent_runs(1).await.unwrap();
    assert_eq!(listed[0].counts.unchanged, 43);
}
