//! Items → products with one default variant, end to end against the testkit fakes.

mod forward_support;

use std::sync::{Arc, Mutex};

use forward_support::{config, Harness, STORE};
use rust_decimal::Decimal;
use sync_core::forward::RunOptions;
use sync_core::mapping::InactiveItems;
use sync_core::{ObjectKind, RunStatus};
use testkit::qad::Seeding;

fn seeding() -> Seeding {
    Seeding::new(11).customers(2).items(40).sales_orders(0)
}

#[tokio::test]
async fn items_become_products_with_a_default_variant_and_inactive_ones_are_skipped() {
    let h = Harness::start(seeding()).await;
    let mut cfg = config(h.mailchimp.list_id());
    cfg.mapping.item.url_template = Some("https://shop.example/p/{item_code}".into());
    let sync = h.sync(cfg);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let progress = Arc::clone(&seen);
    let report = sync
        .run(
            ObjectKind::Items,
            RunOptions::new().on_progress(move |r| progress.lock().unwrap().push(r.read)),
        )
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    assert_eq!(*seen.lock().unwrap(), [25, 40], "progress after each page");

    let items = h.qad.items();
    let inactive: Vec<_> = items
        .iter()
        .filter(|i| i.item_status == "INACTIVE")
        .collect();
    assert!(!inactive.is_empty(), "the seed has inactive items");
    let products = &report.targets[&ObjectKind::Products];
    assert_eq!(
        products.created,
        (items.len() - inactive.len()) as u64,
        "{report}"
    );
    assert_eq!(
        products.skipped.get("inactive item"),
        Some(&(inactive.len() as u64))
    );

    let snapshot = h.mailchimp.snapshot();
    assert_eq!(snapshot.products[STORE].len(), items.len() - inactive.len());
    for item in &items {
        let product = snapshot.product(STORE, &item.item_code);
        if item.item_status == "INACTIVE" {
            assert!(product.is_none());
            continue;
        }
        let product = product.unwrap();
        assert_eq!(product["title"], item.description.as_str());
        assert_eq!(
            product["url"],
            format!("https://shop.example/p/{}", item.item_code)
        );
        let variants = product["variants"].as_array().unwrap();
        assert_eq!(variants.len(), 1);
        assert_eq!(variants[0]["id"], item.item_code.as_str());
        assert_eq!(variants[0]["sku"], item.item_code.as_str());
        let price: Decimal = variants[0]["price"]
            .to_string()
            .trim_matches('"')
            .parse()
            .unwrap();
        assert_eq!(
            price,
            Decimal::new(item.price_cents, 2),
            "{}",
            item.item_code
        );
    }

    let before = h.writes();
    let again = sync
        .run(ObjectKind::Items, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(h.writes(), before, "no-op re-run:\n{again}");

    let code = items
        .iter()
        .find(|i| i.item_status != "INACTIVE")
        .unwrap()
        .item_code
        .clone();
    h.qad.update_item(&code, |i| i.price_cents += 100);
    let third = sync
        .run(ObjectKind::Items, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(third.targets[&ObjectKind::Products].updated, 1, "{third}");
    assert_eq!(h.writes() - before, 1);
}

#[tokio::test]
async fn inactive_items_can_be_kept_hidden_instead() {
    let h = Harness::start(seeding()).await;
    let mut cfg = config(h.mailchimp.list_id());
    cfg.mapping.item.inactive = InactiveItems::Hide;
    h.sync(cfg)
        .run(ObjectKind::Items, RunOptions::new())
        .await
        .unwrap();
    let snapshot = h.mailchimp.snapshot();
    let items = h.qad.items();
    assert_eq!(snapshot.products[STORE].len(), items.len());
    let inactive = items.iter().find(|i| i.item_status == "INACTIVE").unwrap();
    let variant = &snapshot.product(STORE, &inactive.item_code).unwrap()["variants"][0];
    assert_eq!(variant["visibility"], "hidden");
    assert_eq!(variant["inventory_quantity"], 0);
}

#[tokio::test]
async fn items_without_a_store_are_a_configuration_error() {
    let h = Harness::start(seeding()).await;
    let mut cfg = config(h.mailchimp.list_id());
    cfg.store = None;
    let err = h
        .sync(cfg)
        .run(ObjectKind::Items, RunOptions::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("store"), "{err}");
    assert_eq!(h.writes(), 0);
}
