//! Failures end to end: a Mailchimp write failing for some records, QAD failing mid-run.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod forward_support;

use std::sync::Arc;

use axum::http::Method;
use forward_support::{config, Harness, STORE};
use sync_core::audit::{AuditQuery, ReplayFilter};
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::operation::{Executor, Operation};
use sync_core::report::CallLog;
use sync_core::{ObjectKind, Outcome, RunStatus, StateStore};
use testkit::qad::Seeding;
use testkit::FaultConfig;

fn seeding() -> Seeding {
    Seeding::new(21)
        .customers(30)
        .items(1)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
        .missing_field_share(0.0)
}

/// An engine whose clients do not retry, so injected faults fail at once.
async fn no_retry_sync(h: &Harness) -> ForwardSync {
    let mailchimp = mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(
        h.mailchimp.api_key(),
    ))
    .base_url(h.mailchimp.api_url())
    .retry(mailchimp_client::RetryConfig::disabled())
    .build()
    .await
    .unwrap();
    let qad = qad_client::Client::builder()
        .tenant_url(h.qad.base_url())
        .credentials(qad_client::Credentials::oauth_password(
            h.qad.client_id(),
            h.qad.username(),
            h.qad.password(),
        ))
        .retry(qad_client::RetryConfig::disabled())
        .build()
        .unwrap();
    ForwardSync::new(
        config(h.mailchimp.list_id()),
        mailchimp,
        qad,
        Arc::clone(&h.state) as Arc<dyn StateStore>,
    )
    .unwrap()
}

#[tokio::test]
async fn failed_writes_are_recorded_with_their_operation_and_never_stop_the_run() {
    let h = Harness::start(seeding()).await;
    let sync = no_retry_sync(&h).await;
    let route = "/3.0/ecommerce/stores/{store_id}/customers/{customer_id}";
    h.mailchimp
        .faults()
        .set_route(
            Method::PUT,
            route,
            FaultConfig::none().service_unavailable(1.0),
        )
        .unwrap();

    let report = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    assert_eq!(report.targets[&ObjectKind::Members].created, 30, "{report}");
    assert_eq!(
        report.targets[&ObjectKind::EcommerceCustomers].failed,
        30,
        "{report}"
    );

    // The failed rows are the replay queue, each carrying the operation to send again.
    let pending = h
        .state
        .pending_replays(&ReplayFilter::Run(report.run_id), 100)
        .await
        .unwrap();
    assert_eq!(pending.len(), 30);
    h.mailchimp.faults().clear_routes();
    let executor = Executor::new(sync_mailchimp(&h).await, CallLog::new());
    let row = &pending[0];
    let op = Operation::from_payload(row.row.payload.clone().unwrap()).unwrap();
    assert!(matches!(op, Operation::UpsertEcomCustomer { .. }));
    assert_eq!(op.target(), row.row.operation.clone().unwrap());
    executor.execute(&op).await.unwrap();
    assert!(h
        .mailchimp
        .snapshot()
        .customer(STORE, &row.row.source_key)
        .is_some());

    // Their hashes were not stored, so a full run writes the rest and nothing else.
    let again = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    let ecom = &again.targets[&ObjectKind::EcommerceCustomers];
    assert_eq!(
        (ecom.created + ecom.updated, ecom.failed),
        (30, 0),
        "{again}"
    );
    assert_eq!(again.targets[&ObjectKind::Members].unchanged, 30, "{again}");
    assert_eq!(h.mailchimp.snapshot().customers[STORE].len(), 30);
}

async fn sync_mailchimp(h: &Harness) -> mailchimp_client::Client {
    mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(
        h.mailchimp.api_key(),
    ))
    .base_url(h.mailchimp.api_url())
    .build()
    .await
    .unwrap()
}

#[tokio::test]
async fn qad_failing_aborts_the_run_ends_the_backfill_and_the_next_run_resumes() {
    let h = Harness::start(seeding()).await;
    let sync = no_retry_sync(&h).await;
    // The first page is read and written; then QAD goes down.
    let first = sync
        .run(ObjectKind::Customers, RunOptions::new().max_pages(1))
        .await
        .unwrap();
    assert_eq!(first.read, 25);
    let browses = h.qad.route("api/qracore/browses");
    h.qad
        .faults()
        .set_route(
            Method::GET,
            &browses,
            FaultConfig::none().service_unavailable(1.0),
        )
        .unwrap();
    let failed = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(failed.status, RunStatus::Aborted, "{failed}");
    assert!(failed.error.as_deref().unwrap().contains("QAD"), "{failed}");
    let store = h
        .mailchimp
        .snapshot()
        .stores
        .into_iter()
        .find(|s| s["id"] == STORE)
        .unwrap();
    assert_eq!(
        store["is_syncing"], false,
        "the backfill ended although the run failed"
    );
    let run = h.state.run(failed.run_id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Aborted);

    h.qad.faults().clear_routes();
    let resumed = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(resumed.status, RunStatus::Completed, "{resumed}");
    assert_eq!(
        resumed.read, 5,
        "only the records after the committed page: {resumed}"
    );
    let snapshot = h.mailchimp.snapshot();
    assert_eq!(snapshot.members[h.mailchimp.list_id()].len(), 30);
    assert_eq!(snapshot.customers[STORE].len(), 30);
    let created = h
        .state
        .query_audit(&AuditQuery::new().outcome(Outcome::Created))
        .await
        .unwrap();
    assert_eq!(created.len(), 60, "each member and customer created once");
}
