//! State that does not grow with time alone: a run that finds every record unchanged writes no
//! audit row per record (it counts them into its run), and an unchanged record still answers its
//! queued failures.
#![allow(clippy::unwrap_used)]

mod forward_support;

use forward_support::Harness;
use sync_core::audit::{AuditQuery, NewAuditRow, ReplayFilter};
use sync_core::forward::RunOptions;
use sync_core::{ObjectKind, Outcome, RunId, StateBatch, StateStore, TargetRecord};
use testkit::qad::Seeding;

fn seeding() -> Seeding {
    Seeding::new(19)
        .customers(30)
        .items(12)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
        .missing_field_share(0.0)
}

async fn audit_rows(h: &Harness) -> usize {
    h.state
        .query_audit(&AuditQuery::new().limit(100_000))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_no_op_run_writes_no_audit_row_per_record_and_counts_them_in_its_run() {
    let h = Harness::start(seeding()).await;
    let sync = h.default_sync();
    for object in [ObjectKind::Customers, ObjectKind::Items] {
        sync.run(object, RunOptions::new()).await.unwrap();
    }
    let before = audit_rows(&h).await;
    assert_eq!(before, 30 * 2 + 12, "each record created (or skipped) once");

    let customers = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    let items = sync
        .run(ObjectKind::Items, RunOptions::new().full(true))
        .await
        .unwrap();
    // Only the deliberately skipped (inactive) items are audited again (a full run reads them
    // again).
    let inactive = h
        .qad
        .items()
        .iter()
        .filter(|i| i.item_status == "INACTIVE")
        .count();
    assert!(inactive > 0, "the seed makes some items inactive");
    let skipped = items.targets[&ObjectKind::Products].skipped_total();
    assert_eq!(skipped, inactive as u64, "{items}");
    assert_eq!(
        audit_rows(&h).await,
        before + inactive,
        "no row for an unchanged record"
    );

    // The reports and the run records still say how many were unchanged.
    assert_eq!(customers.targets[&ObjectKind::Members].unchanged, 30);
    assert_eq!(
        customers.targets[&ObjectKind::EcommerceCustomers].unchanged,
        30
    );
    assert_eq!(
        items.targets[&ObjectKind::Products].unchanged,
        12 - inactive as u64
    );
    let run = h.state.run(customers.run_id).await.unwrap().unwrap();
    assert_eq!((run.counts.unchanged, run.counts.total()), (60, 60));
    let run = h.state.run(items.run_id).await.unwrap().unwrap();
    assert_eq!(
        (run.counts.unchanged, run.counts.skipped),
        (12 - inactive as u64, inactive as u64)
    );
}

#[tokio::test]
async fn an_unchanged_record_still_resolves_its_queued_failure() {
    let h = Harness::start(seeding()).await;
    let sync = h.default_sync();
    sync.run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let key = h
        .state
        .query_audit(&AuditQuery::new().object(ObjectKind::Customers).limit(1))
        .await
        .unwrap()[0]
        .row
        .source_key
        .clone();
    // A failure of that customer's e-commerce record left in the queue (say a write that
    // failed after an earlier one had stored the hash the record has again now).
    let failed = NewAuditRow::new(RunId::new(), ObjectKind::Customers, &key, Outcome::Failed)
        .target(TargetRecord::EcommerceCustomer)
        .error("mailchimp returned 503");
    let queued = h
        .state
        .apply(StateBatch::new().audit(failed))
        .await
        .unwrap()
        .audit_ids[0];

    let again = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(again.targets[&ObjectKind::EcommerceCustomers].unchanged, 30);
    let pending = h
        .state
        .pending_replays(&ReplayFilter::All, 10)
        .await
        .unwrap();
    assert!(pending.is_empty(), "still queued: {pending:?}");
    let resolution = h.state.audit_row(queued).await.unwrap().unwrap().resolution;
    let by = h
        .state
        .audit_row(resolution.unwrap().by)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by.row.outcome, Outcome::Unchanged);
    assert_eq!(by.row.run_id, again.run_id);
    // That one row is the run's only audit row; the other 59 unchanged were counted.
    let rows = h
        .state
        .query_audit(&AuditQuery::new().run(again.run_id))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let run = h.state.run(again.run_id).await.unwrap().unwrap();
    assert_eq!(run.counts.unchanged, 60);
}
