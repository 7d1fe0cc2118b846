//! `sync` with `[sales_orders] enabled`: QAD's sales history reaches the store after the
//! customers and items, the orders run back skips it, and `--only sales-orders` alone writes
//! nothing the second time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use support::{run, text, write_setup, Fakes};

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{e}: {}", text(bytes)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_writes_the_sales_history_once_and_never_posts_it_back() {
    let fakes = Fakes::start(40, 8).await;
    // Every product on sale, so no order waits for a product the items run skipped.
    for item in fakes.qad.items() {
        fakes
            .qad
            .update_item(&item.item_code, |i| i.item_status = "ACTIVE".into());
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let text_before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{text_before}\n[sales_orders]\nenabled = true\n"),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let out = run(&["--config", config, "sync", "--json"], &[]).await;
    let report = json(&out.stdout);
    assert_eq!(report["status"], "success", "{}", text(&out.stderr));
    let history = &report["sales_orders"];
    assert_eq!(history["backfill"], true, "{history}");
    assert_eq!(history["total"], 3, "the seed's three sales orders");
    let written = history["counts"]["created"].as_u64().unwrap();
    assert!(written > 0, "{history}");
    let orders = fakes.mailchimp.snapshot().orders;
    let in_store = orders.values().flatten().count() as u64;
    assert_eq!(in_store, written, "{history}");
    assert!(fakes.mailchimp.snapshot().stores[0]["is_syncing"] == false);

    // The orders run of the next sync reads them and posts none; the history writes nothing.
    let out = run(&["--config", config, "sync", "--json"], &[]).await;
    let report = json(&out.stdout);
    assert_eq!(report["orders"]["own_orders"].as_u64(), Some(written));
    assert_eq!(report["orders"]["posted"], 0);
    let again = &report["sales_orders"]["counts"];
    assert_eq!(again["created"], 0, "{again}");
    assert_eq!(again["updated"], 0, "{again}");
    assert!(fakes.qad.attributions().is_empty());

    let out = run(
        &[
            "--config",
            config,
            "sync",
            "--only",
            "sales-orders",
            "--json",
        ],
        &[],
    )
    .await;
    let report = json(&out.stdout);
    assert!(report["runs"].as_array().unwrap().is_empty());
    assert!(report["orders"].is_null());
    assert_eq!(report["sales_orders"]["backfill"], false);
}
