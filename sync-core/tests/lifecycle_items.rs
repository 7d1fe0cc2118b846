//! The lifecycle of items: products of items gone from QAD are hidden (default) or deleted, and
//! inactive items' products are deleted when configured.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod forward_support;

use std::sync::Arc;

use forward_support::{config, Harness, STORE};
use sync_core::config::SyncConfig;
use sync_core::forward::RunOptions;
use sync_core::lifecycle::{LifecycleConfig, LifecycleOptions, LifecycleSync, ProductRemoval};
use sync_core::mapping::InactiveItems;
use sync_core::{ObjectKind, RunStatus, StateStore, SyncError};
use testkit::qad::Seeding;

fn seeding() -> Seeding {
    Seeding::new(29).customers(1).items(12).sales_orders(0)
}

async fn synced(h: &Harness, products: ProductRemoval, inactive: InactiveItems) -> SyncConfig {
    let mut config = config(h.mailchimp.list_id());
    config.mapping.item.inactive = inactive;
    config.lifecycle = Some(LifecycleConfig {
        products,
        ..LifecycleConfig::default()
    });
    let report = h
        .sync(config.clone())
        .run(ObjectKind::Items, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    config
}

fn lifecycle(h: &Harness, config: SyncConfig) -> LifecycleSync {
    LifecycleSync::new(
        config,
        h.mailchimp_client.clone(),
        h.qad_client.clone(),
        Arc::clone(&h.state) as Arc<dyn StateStore>,
    )
    .unwrap()
}

fn item(h: &Harness, status: &str) -> String {
    h.qad
        .items()
        .into_iter()
        .find(|i| i.item_status == status)
        .unwrap()
        .item_code
}

#[tokio::test]
async fn a_gone_items_product_is_hidden_with_its_other_fields_kept() {
    let h = Harness::start(seeding()).await;
    let config = synced(&h, ProductRemoval::Hide, InactiveItems::Hide).await;
    let gone = item(&h, "ACTIVE");
    let inactive = item(&h, "INACTIVE");
    let before = h
        .mailchimp
        .snapshot()
        .product(STORE, &gone)
        .cloned()
        .unwrap();
    assert!(h.qad.remove_item(&gone));
    let report = lifecycle(&h, config)
        .run(ObjectKind::Items, LifecycleOptions::new())
        .await
        .unwrap();
    // Only the gone item: inactive ones are the mapping's (`item.inactive = "hide"`).
    assert_eq!(report.actions.get("hide product"), Some(&1), "{report}");
    assert_eq!(report.removals[0].source_key, gone);
    let after = h
        .mailchimp
        .snapshot()
        .product(STORE, &gone)
        .cloned()
        .unwrap();
    let variant = &after["variants"][0];
    assert_eq!(variant["visibility"], "hidden", "{after}");
    assert_eq!(variant["inventory_quantity"], 0);
    assert_eq!(
        variant["price"], before["variants"][0]["price"],
        "price kept"
    );
    assert_eq!(after["title"], before["title"]);
    assert!(h.mailchimp.snapshot().product(STORE, &inactive).is_some());
    assert_eq!(
        h.state
            .target_id(ObjectKind::Products, &gone)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn delete_removes_the_products_of_gone_and_inactive_items() {
    let h = Harness::start(seeding()).await;
    // Synced while every item is active, then one is deleted and one made inactive in QAD.
    for i in h.qad.items() {
        h.qad
            .update_item(&i.item_code, |i| i.item_status = "ACTIVE".into());
    }
    let config = synced(&h, ProductRemoval::Delete, InactiveItems::Skip).await;
    let items = h.qad.items();
    let (gone, inactive) = (items[0].item_code.clone(), items[1].item_code.clone());
    h.qad.remove_item(&gone);
    h.qad
        .update_item(&inactive, |i| i.item_status = "INACTIVE".into());
    let report = lifecycle(&h, config)
        .run(ObjectKind::Items, LifecycleOptions::new())
        .await
        .unwrap();
    assert_eq!(report.actions.get("delete product"), Some(&2), "{report}");
    let snapshot = h.mailchimp.snapshot();
    assert!(snapshot.product(STORE, &gone).is_none());
    assert!(snapshot.product(STORE, &inactive).is_none());
    assert!(snapshot.product(STORE, &items[2].item_code).is_some());
}

#[tokio::test]
async fn deleting_products_needs_inactive_items_skipped() {
    let h = Harness::start(seeding()).await;
    let mut config = config(h.mailchimp.list_id());
    config.lifecycle = Some(LifecycleConfig {
        products: ProductRemoval::Delete,
        ..LifecycleConfig::default()
    });
    config.mapping.item.inactive = InactiveItems::Hide;
    let err = LifecycleSync::new(
        config,
        h.mailchimp_client.clone(),
        h.qad_client.clone(),
        Arc::clone(&h.state) as Arc<dyn StateStore>,
    )
    .unwrap_err();
    assert!(
        matches!(&err, SyncError::Config { what } if what.contains("item.inactive")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_product_written_before_products_were_mapped_is_mapped_when_next_seen() {
    let h = Harness::start(seeding()).await;
    let config = synced(&h, ProductRemoval::Hide, InactiveItems::Hide).await;
    let code = item(&h, "ACTIVE");
    // The state of an older version: the product's hash, no id-map entry.
    h.state
        .apply(sync_core::StateBatch::new().unmap_id(ObjectKind::Products, code.clone()))
        .await
        .unwrap();
    let writes = h.writes();
    let report = h
        .sync(config)
        .run(ObjectKind::Items, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    assert_eq!(
        h.writes(),
        writes,
        "an unchanged product is not written again"
    );
    assert_eq!(
        h.state
            .target_id(ObjectKind::Products, &code)
            .await
            .unwrap(),
        Some(code)
    );
}
