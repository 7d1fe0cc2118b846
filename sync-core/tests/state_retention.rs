//! History retention on SQLite only: the freed pages given back to the file, and the pruning
//! task (the rules themselves are in the conformance suite, `state_conformance/retention.rs`).

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, Utc};
use sync_core::audit::{AuditId, NewAuditRow, RunStart};
use sync_core::state::retention::{self, Retention};
use sync_core::{ObjectKind, Outcome, RunId, RunTrigger, SqliteStateStore, StateBatch, StateStore};

async fn store() -> SqliteStateStore {
    SqliteStateStore::open_in_memory().await.unwrap()
}

async fn started(store: &SqliteStateStore) -> RunId {
    let run = RunStart::new(vec![ObjectKind::Customers], RunTrigger::Scheduled);
    store.start_run(&run).await.unwrap();
    run.id
}

/// Appends one row finished at `at` and returns its id.
async fn row(store: &SqliteStateStore, row: NewAuditRow, at: DateTime<Utc>) -> AuditId {
    let receipt = store
        .apply(StateBatch::new().audit(row.times(at, at)))
        .await
        .unwrap();
    receipt.audit_ids[0]
}

async fn exists(store: &SqliteStateStore, id: AuditId) -> bool {
    store.audit_row(id).await.unwrap().is_some()
}

#[tokio::test]
async fn a_file_store_gives_pruned_pages_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStateStore::open(&path).await.unwrap();
    let run = started(&store).await;
    let old = Utc::now() - Duration::days(100);
    let payload = serde_json::json!({"note": "x".repeat(2000)});
    for page in 0..10 {
        let mut batch = StateBatch::new();
        for i in 0..100 {
            batch = batch.audit(
                NewAuditRow::new(
                    run,
                    ObjectKind::Customers,
                    format!("C-{page}-{i}"),
                    Outcome::Created,
                )
                .payload(payload.clone())
                .times(old, old),
            );
        }
        store.apply(batch).await.unwrap();
    }
    let pages = |conn: &rusqlite::Connection| -> (i64, i64, i64) {
        let get = |pragma: &str| conn.query_row(pragma, [], |r| r.get(0)).unwrap();
        (
            get("PRAGMA page_count"),
            get("PRAGMA freelist_count"),
            get("PRAGMA auto_vacuum"),
        )
    };
    let before = pages(&rusqlite::Connection::open(&path).unwrap());
    let pruned = retention::prune(&store, &Retention::default(), Utc::now())
        .await
        .unwrap();
    assert_eq!(pruned.audit, 1000);
    let (page_count, free, mode) = pages(&rusqlite::Connection::open(&path).unwrap());
    assert_eq!(mode, 2, "auto_vacuum = INCREMENTAL");
    assert_eq!(free, 0, "the freed pages went back");
    assert!(
        page_count * 4 < before.0,
        "{page_count} pages after, {} before",
        before.0
    );
}

#[tokio::test]
async fn the_pruning_task_prunes_at_start_and_stops_when_told() {
    let store = store().await;
    let run = started(&store).await;
    let old = Utc::now() - Duration::days(100);
    let id = row(
        &store,
        NewAuditRow::new(run, ObjectKind::Customers, "C-1", Outcome::Created),
        old,
    )
    .await;
    let stop = tokio_util::sync::CancellationToken::new();
    let task = retention::spawn(
        std::sync::Arc::new(store.clone()),
        Retention::default(),
        stop.clone(),
    );
    while exists(&store, id).await {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.cancel();
    task.await.unwrap();
}
