//! A failed Mailchimp write recorded by the forward sync is sent again, as recorded, and
//! resolves its row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use mailchimp_client::ecommerce::{NewStore, StoreId};
use mailchimp_client::{Credentials, ListId};
use sync_core::audit::{NewAuditRow, ReplayFilter};
use sync_core::mapping::EcomCustomerRecord;
use sync_core::operation::{Executor, Operation};
use sync_core::replay::{MailchimpReplay, Replayer};
use sync_core::report::CallLog;
use sync_core::{ObjectKind, Outcome, RunId, SqliteStateStore, StateBatch, StateStore};
use testkit::mailchimp::FakeMailchimp;

#[tokio::test]
async fn a_failed_ecommerce_customer_put_is_replayed_once() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = mailchimp_client::Client::builder(Credentials::api_key(fake.api_key()))
        .base_url(fake.api_url())
        .build()
        .await
        .unwrap();
    client
        .ecommerce()
        .ensure_store(&NewStore::new(
            StoreId::from("s1"),
            ListId::from(fake.list_id()),
            "Shop",
            "USD",
        ))
        .await
        .unwrap();
    let op = Operation::UpsertEcomCustomer {
        store_id: "s1".into(),
        customer: serde_json::from_value::<EcomCustomerRecord>(serde_json::json!({
            "id": "C0000001", "email_address": "ada@northwind-mfg.com", "opt_in_status": true
        }))
        .unwrap(),
    };
    let state = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
    let failed_run = RunId::new();
    state
        .apply(
            StateBatch::new().audit(
                NewAuditRow::new(
                    failed_run,
                    ObjectKind::Customers,
                    "C0000001",
                    Outcome::Failed,
                )
                .operation(op.target())
                .payload(op.to_payload().unwrap())
                .error("mailchimp returned 503"),
            ),
        )
        .await
        .unwrap();

    let replayer = Replayer::new(state.clone() as Arc<dyn StateStore>)
        .handler(MailchimpReplay::new(Executor::new(client, CallLog::new())));
    let report = replayer
        .replay(&ReplayFilter::Run(failed_run))
        .await
        .unwrap();
    assert_eq!((report.attempted, report.resolved), (1, 1));
    let customer = fake.snapshot().customer("s1", "C0000001").cloned().unwrap();
    assert_eq!(customer["email_address"], "ada@northwind-mfg.com");
    assert!(state
        .pending_replays(&ReplayFilter::All, 10)
        .await
        .unwrap()
        .is_empty());

    let puts = fake.stats().requests(
        "PUT",
        "/3.0/ecommerce/stores/{store_id}/customers/{customer_id}",
    );
    assert_eq!(puts, 1);
    assert_eq!(
        replayer.replay(&ReplayFilter::All).await.unwrap().attempted,
        0
    );
    assert_eq!(
        fake.stats().requests(
            "PUT",
            "/3.0/ecommerce/stores/{store_id}/customers/{customer_id}"
        ),
        1
    );
}
