//! Staging never writes to production (issue #15, point 3): the store's `platform` names the QAD
//! tenant that feeds it, and a connector of another tenant refuses to write to it unless told to
//! take it over.
#![allow(clippy::unwrap_used)]

mod forward_support;

use forward_support::{config, Harness, STORE};
use mailchimp_client::ecommerce::{StoreId, StoreUpdate};
use sync_core::forward::RunOptions;
use sync_core::{ObjectKind, RunStatus, SyncError};
use testkit::qad::Seeding;

fn seeding() -> Seeding {
    Seeding::new(5).customers(6).items(0).sales_orders(0)
}

fn platform(h: &Harness) -> String {
    h.mailchimp
        .snapshot()
        .stores
        .iter()
        .find(|s| s["id"] == STORE)
        .unwrap()["platform"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_store_fed_by_another_tenant_is_refused_until_taken_over() {
    let h = Harness::start(seeding()).await;
    let first = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Completed, "{first}");
    let tenant = h
        .qad_client
        .tenant_url()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    assert_eq!(platform(&h), format!("QAD ({tenant})"));

    // Another tenant's connector (a staging copy pointed at this store) wrote last.
    let staging = "QAD (https://acme-staging.qad.example/clouderp)";
    let mut update = StoreUpdate::default();
    update.platform = Some(staging.into());
    h.mailchimp_client
        .ecommerce()
        .store(&StoreId::from(STORE))
        .update(&update)
        .await
        .unwrap();
    let writes = h.writes();
    let err = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap_err();
    match &err {
        SyncError::Config { what } => {
            assert!(what.contains("acme-staging.qad.example"), "{what}");
            assert!(what.contains("take_over"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.writes(), writes, "nothing written: {:?}", h.log.entries());
    // A dry run says the same, reading only.
    let dry = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new().dry_run(true))
        .await;
    assert!(matches!(dry, Err(SyncError::Config { .. })), "{dry:?}");

    // Taken over on purpose: the store names this tenant again.
    let mut taking = config(h.mailchimp.list_id());
    taking.store.as_mut().unwrap().take_over = true;
    let report = h
        .sync(taking)
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    assert_eq!(platform(&h), format!("QAD ({tenant})"));
}
