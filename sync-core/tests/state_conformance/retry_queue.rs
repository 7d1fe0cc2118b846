//! The store's part of self-healing: supersession by target, the retry queue's backoff and
//! dead rows, and member intents.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sync_core::audit::{NewAuditRow, ReplayFilter};
use sync_core::replay::RetryPolicy;
use sync_core::state::RetryMark;
use sync_core::{MemberStatus, ObjectKind, Outcome, RunId, StateBatch, StateStore, TargetRecord};

use crate::harness::Db;

conformance!(
    within_one_batch_each_queued_row_is_resolved_by_the_next_success_of_its_target,
    a_successful_row_supersedes_earlier_queued_rows_of_its_target_only,
    retry_marks_back_off_per_row_and_end_dead,
    member_intents_are_kept_by_normalised_email,
);

fn row(key: &str, target: TargetRecord, outcome: Outcome) -> NewAuditRow {
    NewAuditRow::new(RunId::new(), ObjectKind::Customers, key, outcome).target(target)
}

async fn a_successful_row_supersedes_earlier_queued_rows_of_its_target_only(db: Db) {
    let store = db.store();
    let queued = store
        .apply(
            StateBatch::new()
                .audit(row("C1", TargetRecord::Member, Outcome::Failed))
                .audit(row(
                    "C1",
                    TargetRecord::EcommerceCustomer,
                    Outcome::Deferred,
                ))
                .audit(row("C1", TargetRecord::EcommerceCustomer, Outcome::Failed))
                .audit(row("C2", TargetRecord::EcommerceCustomer, Outcome::Failed)),
        )
        .await
        .unwrap();
    let ok = store
        .apply(StateBatch::new().audit(row(
            "C1",
            TargetRecord::EcommerceCustomer,
            Outcome::Updated,
        )))
        .await
        .unwrap();
    assert_eq!(ok.resolved, queued.audit_ids[1..3].to_vec());
    let left: Vec<_> = store
        .pending_replays(&ReplayFilter::All, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, [queued.audit_ids[0], queued.audit_ids[3]]);
    let resolved = store.audit_row(queued.audit_ids[1]).await.unwrap().unwrap();
    assert_eq!(resolved.resolution.unwrap().by, ok.audit_ids[0]);
    // A failure supersedes nothing.
    let failed = store
        .apply(StateBatch::new().audit(row("C1", TargetRecord::Member, Outcome::Failed)))
        .await
        .unwrap();
    assert!(failed.resolved.is_empty());
}

async fn retry_marks_back_off_per_row_and_end_dead(db: Db) {
    let store = db.store();
    let ids = store
        .apply(
            StateBatch::new()
                .audit(row("C1", TargetRecord::Member, Outcome::Failed))
                .audit(row("C2", TargetRecord::Member, Outcome::Failed)),
        )
        .await
        .unwrap()
        .audit_ids;
    let due = |store: &Arc<dyn StateStore>, at| {
        let store = Arc::clone(store);
        async move {
            store
                .due_retries(ObjectKind::Customers, at, None, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(due(&store, Utc::now()).await, ids);
    let policy = RetryPolicy::new(2, Duration::from_secs(60), Duration::from_secs(600));
    let first = store
        .apply(StateBatch::new().retried(RetryMark::new(vec![ids[0]], policy)))
        .await
        .unwrap();
    assert_eq!(
        (first.requeued.clone(), first.dead.clone()),
        (vec![ids[0]], vec![])
    );
    // Backed off for a minute; the other row is still due.
    assert_eq!(due(&store, Utc::now()).await, [ids[1]]);
    let later = Utc::now() + chrono::Duration::seconds(61);
    assert_eq!(due(&store, later).await, ids);
    let second = store
        .apply(StateBatch::new().retried(RetryMark::new(vec![ids[0]], policy)))
        .await
        .unwrap();
    assert_eq!(second.dead, [ids[0]]);
    let dead = store.audit_row(ids[0]).await.unwrap().unwrap();
    assert_eq!(dead.retry.retries, 2);
    assert!(dead.retry.dead_at.is_some());
    assert_eq!(
        due(&store, later + chrono::Duration::days(1)).await,
        [ids[1]]
    );
    // Dead rows stay in the queue a person replays, and count as queued for new attempts.
    assert_eq!(
        store
            .pending_replays(&ReplayFilter::All, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .queued_rows(ObjectKind::Customers, &["C1".into()])
            .await
            .unwrap()
            .len(),
        1
    );
    // Giving up kills at once.
    let gone = store
        .apply(StateBatch::new().retried(RetryMark::new(vec![ids[1]], policy).give_up()))
        .await
        .unwrap();
    assert_eq!(gone.dead, [ids[1]]);
}

async fn member_intents_are_kept_by_normalised_email(db: Db) {
    let store = db.store();
    store
        .apply(
            StateBatch::new()
                .intend_member_status("Ada@Northwind-MFG.com ", MemberStatus::Subscribed),
        )
        .await
        .unwrap();
    let intents = store
        .member_intents(&[
            "ada@northwind-mfg.com".into(),
            "bob@acme-industrial.com".into(),
        ])
        .await
        .unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents["ada@northwind-mfg.com"], MemberStatus::Subscribed);
}

async fn within_one_batch_each_queued_row_is_resolved_by_the_next_success_of_its_target(db: Db) {
    let store = db.store();
    let earlier = store
        .apply(StateBatch::new().audit(row("C1", TargetRecord::Member, Outcome::Failed)))
        .await
        .unwrap()
        .audit_ids;
    let page = store
        .apply(
            StateBatch::new()
                .audit(row("C1", TargetRecord::Member, Outcome::Deferred))
                .audit(row("C2", TargetRecord::Member, Outcome::Failed))
                .audit(row("C1", TargetRecord::Member, Outcome::Updated))
                .audit(row("C1", TargetRecord::Member, Outcome::Failed))
                .audit(row("C1", TargetRecord::Product, Outcome::Created))
                .audit(row("C1", TargetRecord::Member, Outcome::Unchanged)),
        )
        .await
        .unwrap();
    let ids = &page.audit_ids;
    assert_eq!(ids.len(), 6);
    assert!(ids.windows(2).all(|w| w[0] < w[1]) && earlier[0] < ids[0]);
    assert_eq!(page.resolved, [earlier[0], ids[0], ids[3]]);
    for (queued, by) in [(earlier[0], ids[2]), (ids[0], ids[2]), (ids[3], ids[5])] {
        let row = store.audit_row(queued).await.unwrap().unwrap();
        assert_eq!(row.resolution.map(|r| r.by), Some(by), "{queued}");
    }
    let left: Vec<_> = store
        .pending_replays(&ReplayFilter::All, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, [ids[1]]);
}
