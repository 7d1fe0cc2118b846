//! What a replay reports: an attempt the target refuses as invalid is not a failure and is listed
//! with its reason; rows of an object another process holds are left in the queue, naming the
//! holder; progress is reported per batch of rows; attempts are committed under the object's
//! lease, which is released at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sync_core::audit::{AuditRow, NewAuditRow, ReplayFilter};
use sync_core::replay::{ReplayAttempt, ReplayHandler, Replayer};
use sync_core::state::LeaseHolder;
use sync_core::{ObjectKind, Outcome, RunId, SqliteStateStore, StateBatch, StateStore};

/// Answers by source key: `bad-*` is rejected, `fail-*` fails again, anything else is written.
#[derive(Debug)]
struct ByKey;

#[async_trait]
impl ReplayHandler for ByKey {
    fn handles(&self, _row: &AuditRow) -> bool {
        true
    }

    async fn replay(&self, row: &AuditRow, run: RunId) -> sync_core::Result<ReplayAttempt> {
        let key = row.row.source_key.as_str();
        let attempt = NewAuditRow::new(run, row.row.object, key, Outcome::Updated);
        let attempt = if key.starts_with("bad-") {
            NewAuditRow {
                outcome: Outcome::Rejected,
                ..attempt
            }
            .error("email address has no @")
        } else if key.starts_with("fail-") {
            NewAuditRow {
                outcome: Outcome::Failed,
                ..attempt
            }
            .error("mailchimp returned 503")
        } else {
            attempt
        };
        Ok(ReplayAttempt::new(attempt, StateBatch::new(), false))
    }
}

async fn queue(state: &SqliteStateStore, rows: &[(ObjectKind, &str)]) {
    let run = RunId::new();
    let mut batch = StateBatch::new();
    for (object, key) in rows {
        batch = batch.audit(
            NewAuditRow::new(run, *object, *key, Outcome::Failed).error("mailchimp returned 503"),
        );
    }
    state.apply(batch).await.unwrap();
}

#[tokio::test]
async fn rejected_attempts_are_listed_not_failed_and_busy_objects_are_left() {
    let dir = tempfile::tempdir().unwrap();
    let state = SqliteStateStore::open(dir.path().join("state.db"))
        .await
        .unwrap();
    queue(
        &state,
        &[
            (ObjectKind::Customers, "ok-1"),
            (ObjectKind::Customers, "bad-2"),
            (ObjectKind::Customers, "fail-3"),
            (ObjectKind::Items, "ok-4"),
        ],
    )
    .await;
    // Another process is working the items.
    let other = SqliteStateStore::open(dir.path().join("state.db"))
        .await
        .unwrap();
    let held = other
        .acquire_lease(
            ObjectKind::Items,
            &LeaseHolder::new("erp-gw-9", 4242),
            Duration::from_secs(600),
        )
        .await
        .unwrap();

    let seen = Arc::new(Mutex::new(Vec::new()));
    let progress = Arc::clone(&seen);
    let state = Arc::new(state);
    let replayer = Replayer::new(Arc::clone(&state) as Arc<dyn StateStore>)
        .handler(ByKey)
        .on_progress(move |r| progress.lock().unwrap().push(r.attempted));
    let report = replayer.replay(&ReplayFilter::All).await.unwrap();

    assert_eq!(report.attempted, 3);
    assert_eq!(report.resolved, 1);
    assert_eq!(report.failed_again, 1);
    assert_eq!(report.not_written, 1);
    assert_eq!(report.busy, 1);
    assert_eq!(report.skipped.len(), 2, "{:?}", report.skipped);
    let rejected = &report.skipped[0];
    assert_eq!(rejected.source_key, "bad-2");
    assert_eq!(rejected.outcome, Some(Outcome::Rejected));
    assert_eq!(rejected.reason, "email address has no @");
    let busy = &report.skipped[1];
    assert_eq!(
        (busy.object, busy.source_key.as_str(), busy.outcome),
        (ObjectKind::Items, "ok-4", None)
    );
    assert!(
        busy.reason.contains("host erp-gw-9, pid 4242"),
        "{}",
        busy.reason
    );
    assert_eq!(*seen.lock().unwrap(), vec![3]);

    // The customers lease was released; the items lease is still the other process's.
    assert_eq!(state.lease(ObjectKind::Customers).await.unwrap(), None);
    assert_eq!(
        state.lease(ObjectKind::Items).await.unwrap(),
        Some(held.clone())
    );
    // The busy row is still queued, and goes once the other process is done.
    assert!(other.release_lease(&held).await.unwrap());
    let report = replayer
        .replay(&ReplayFilter::Object(ObjectKind::Items))
        .await
        .unwrap();
    assert_eq!((report.attempted, report.resolved, report.busy), (1, 1, 0));
}
