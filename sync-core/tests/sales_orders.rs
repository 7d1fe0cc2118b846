//! QAD sales history written to the fake Mailchimp store as e-commerce orders: created,
//! updated by state changes, partial refunds and cancels (never duplicated), unchanged runs that
//! write nothing, orders waiting for their customer or products, totals that match QAD, and the
//! two order flows together without a loop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod orders_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use chrono::NaiveDate;
use mailchimp_client::ecommerce::{
    CustomerId, CustomerInput, ProductId, ProductInput, StoreId, VariantId, VariantInput,
};
use orders_support::{Order, World, STORE};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sync_core::audit::ReplayFilter;
use sync_core::operation::Executor;
use sync_core::orders::SalesOrderMatch;
use sync_core::replay::{MailchimpReplay, Replayer, RetryPolicy};
use sync_core::report::CallLog;
use sync_core::sales_orders::{
    SalesOrdersConfig, SalesOrdersReplay, SalesOrdersReport, SalesOrdersSync,
};
use sync_core::{ContentHash, IdMapping, ObjectKind, RunTrigger, StateBatch, StateStore};
use testkit::faults::FaultKind;
use testkit::qad::{FakeQad, SalesOrder, SalesOrderLine, Seeding};
use tokio_util::sync::CancellationToken;

async fn world() -> World {
    let qad = FakeQad::builder()
        .seeding(Seeding::new(16).sales_orders(0))
        .start()
        .await
        .unwrap();
    World::with_qad(qad).await
}

fn day() -> NaiveDate {
    chrono::Utc::now().date_naive() - chrono::Days::new(30)
}

/// (item, quantity, net price in cents, list price in cents)
fn so(number: &str, customer: &str, status: &str, lines: &[(&str, u32, i64, i64)]) -> SalesOrder {
    SalesOrder {
        sales_order_number: number.into(),
        sold_to_customer_code: customer.into(),
        bill_to_customer_code: customer.into(),
        ship_to_customer_code: customer.into(),
        site_code: "10-100".into(),
        currency_code: "USD".into(),
        order_date: day(),
        due_date: day(),
        customer_po: None,
        status: status.into(),
        last_modified_date: day(),
        last_modified_time: 0,
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, (item, quantity, net, list))| SalesOrderLine {
                line: u32::try_from(i + 1).unwrap(),
                item_code: (*item).into(),
                site_code: "10-100".into(),
                quantity_ordered: *quantity,
                unit_of_measure: "EA".into(),
                list_price_cents: *list,
                discount_percent: 0,
                net_price_cents: *net,
                due_date: day(),
            })
            .collect(),
    }
}

/// What the customers and items flows would have written: the store records and the id map.
async fn publish(world: &World, customers: &[&str], items: &[&str]) {
    let store = world.mailchimp.ecommerce().store(&StoreId::from(STORE));
    for code in customers {
        let mut customer = CustomerInput::new(CustomerId::from(*code), false);
        customer.email_address = Some(format!("{}@northwind-mfg.com", code.to_lowercase()));
        store.customers().upsert(&customer).await.unwrap();
        world.map(ObjectKind::EcommerceCustomers, code, code).await;
    }
    for item in items {
        publish_product(world, item, item).await;
    }
}

/// A product under `id`, its variant the item code: the items flow records the hash of a
/// product written under its item code, and an id-map entry only for another id.
async fn publish_product(world: &World, item: &str, id: &str) {
    let store = world.mailchimp.ecommerce().store(&StoreId::from(STORE));
    let variant = VariantInput::new(VariantId::from(item), item);
    store
        .products()
        .upsert(&ProductInput::new(ProductId::from(id), item, vec![variant]))
        .await
        .unwrap();
    let batch = if item == id {
        StateBatch::new().put_hash(
            ObjectKind::Products,
            id,
            ContentHash::of_json(&json!({ "product": id })).unwrap(),
        )
    } else {
        StateBatch::new().map_id(IdMapping::new(ObjectKind::Products, item, id))
    };
    world.state.apply(batch).await.unwrap();
}

fn sync(world: &World) -> SalesOrdersSync {
    SalesOrdersSync::new(
        world.mailchimp.clone(),
        world.qad.clone(),
        world.state.clone() as Arc<dyn StateStore>,
        SalesOrdersConfig::new(STORE).page_size(2).concurrency(2),
    )
}

async fn run(sync: &SalesOrdersSync) -> SalesOrdersReport {
    sync.run(RunTrigger::Manual, &CancellationToken::new())
        .await
        .unwrap()
}

fn mc_order(world: &World, id: &str) -> Value {
    world.mailchimp_fake.snapshot().orders[STORE]
        .iter()
        .find(|o| o["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no order {id} in the store"))
}

fn store_orders(world: &World) -> usize {
    world
        .mailchimp_fake
        .snapshot()
        .orders
        .get(STORE)
        .map_or(0, Vec::len)
}

fn dec(value: &Value) -> Decimal {
    value.to_string().parse().unwrap()
}

/// What QAD says the customer spent: net × quantity over its orders in a counted state.
fn qad_spent(world: &World, customer: &str) -> Decimal {
    world
        .qad_fake
        .sales_orders()
        .iter()
        .filter(|o| o.sold_to_customer_code == customer)
        .filter(|o| ["invoiced", "confirmed", "shipped"].contains(&o.status.as_str()))
        .flat_map(|o| o.lines.iter())
        .map(|l| Decimal::new(l.net_price_cents, 2) * Decimal::from(l.quantity_ordered))
        .sum()
}

async fn spent(world: &World, customer: &str) -> Decimal {
    let found = world
        .mailchimp
        .ecommerce()
        .store(&StoreId::from(STORE))
        .customers()
        .get(&CustomerId::from(customer))
        .send()
        .await
        .unwrap();
    found.total_spent.unwrap()
}

#[tokio::test]
async fn sales_history_is_written_updated_and_never_duplicated() {
    let world = Arc::new(world().await);
    let qad = &world.qad_fake;
    qad.upsert_sales_order(so(
        "SO1",
        "C0000001",
        "invoiced",
        &[("ITEM-00001", 3, 1999, 1999), ("ITEM-00002", 1, 1000, 1200)],
    ));
    qad.upsert_sales_order(so(
        "SO2",
        "C0000002",
        "confirmed",
        &[("ITEM-00001", 1, 500, 500)],
    ));
    qad.upsert_sales_order(so(
        "SO3",
        "C0000001",
        "open",
        &[("ITEM-00001", 1, 500, 500)],
    ));
    qad.upsert_sales_order(so(
        "SO4",
        "C0000003",
        "invoiced",
        &[("ITEM-00001", 2, 700, 700)],
    ));
    qad.upsert_sales_order(so(
        "SO5",
        "C0000001",
        "invoiced",
        &[("ITEM-00003", 1, 4000, 4000)],
    ));
    publish(&world, &["C0000001", "C0000002"], &["ITEM-00001"]).await;
    // ITEM-00002's product has a derived id (the id map holds it).
    publish_product(&world, "ITEM-00002", "derived-2").await;

    // The backfill: the store is syncing while it runs (seen from the progress callback), and
    // not after.
    let syncing_seen = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&syncing_seen);
    let watched = Arc::clone(&world);
    let backfill = sync(&world).on_progress(move |_| {
        let stores = watched.mailchimp_fake.snapshot().stores;
        if stores.iter().any(|s| s["is_syncing"] == true) {
            seen.store(true, Ordering::SeqCst);
        }
    });
    let first = run(&backfill).await;
    assert!(first.backfill);
    assert_eq!(first.total, Some(5));
    assert_eq!(first.read, 5);
    assert_eq!(
        (first.counts.created, first.counts.deferred, first.not_sent),
        (2, 2, 1),
        "{first:?}"
    );
    assert!(
        syncing_seen.load(Ordering::SeqCst),
        "is_syncing during the backfill"
    );
    assert_eq!(
        world.mailchimp_fake.snapshot().stores[0]["is_syncing"],
        false
    );
    let so1 = mc_order(&world, "qad-SO1");
    assert_eq!(dec(&so1["order_total"]), "69.97".parse().unwrap());
    assert_eq!(dec(&so1["discount_total"]), "2".parse().unwrap());
    assert_eq!(so1["financial_status"], "paid");
    assert_eq!(so1["fulfillment_status"], "shipped");
    assert_eq!(so1["lines"][0]["product_variant_id"], "ITEM-00001");
    assert_eq!(so1["lines"][1]["product_id"], "derived-2");
    assert_eq!(so1["lines"][1]["product_variant_id"], "ITEM-00002");
    assert_eq!(mc_order(&world, "qad-SO2")["financial_status"], "pending");
    assert_eq!(store_orders(&world), 2);
    let deferred = world
        .state
        .due_retries(ObjectKind::SalesOrders, chrono::Utc::now(), None, 10)
        .await
        .unwrap();
    let mut waiting: Vec<_> = deferred.iter().map(|r| r.row.source_key.as_str()).collect();
    waiting.sort_unstable();
    assert_eq!(waiting, ["SO4", "SO5"]);
    assert!(deferred[0]
        .row
        .error
        .as_deref()
        .unwrap()
        .contains("waiting for"));

    // Nothing changed: no write at all; the waiting orders are retried (no backoff here) and
    // still wait, each once.
    let writes = world.mailchimp_fake.stats().writes();
    let eager = sync(&world).with_retry_policy(RetryPolicy::new(8, Duration::ZERO, Duration::ZERO));
    let second = run(&eager).await;
    assert!(!second.backfill);
    assert_eq!(
        second.counts.created + second.counts.updated,
        0,
        "{second:?}"
    );
    assert_eq!(
        (second.retried, second.counts.deferred),
        (2, 2),
        "{second:?}"
    );
    assert_eq!(
        world.mailchimp_fake.stats().writes(),
        writes,
        "a no-op run writes nothing"
    );

    // Their customer and product arrive: the next read writes them (their queued rows wait for
    // the retry policy's backoff; the overlap window re-read them first) and resolves the queue.
    publish(&world, &["C0000003"], &["ITEM-00003"]).await;
    let third = run(&sync(&world)).await;
    assert_eq!(third.counts.created, 2, "{third:?}");
    assert_eq!(store_orders(&world), 4);
    assert!(world
        .state
        .due_retries(ObjectKind::SalesOrders, chrono::Utc::now(), None, 10)
        .await
        .unwrap()
        .is_empty());

    // Mailchimp attributed SO1 to a campaign; a re-sync must not touch that.
    let http = reqwest::Client::new();
    let reply = http
        .patch(format!(
            "{}/ecommerce/stores/{STORE}/orders/qad-SO1",
            world.mailchimp_fake.api_url()
        ))
        .basic_auth("anystring", Some(world.mailchimp_fake.api_key()))
        .json(&json!({"campaign_id": "cmp-1", "landing_site": "https://shop.northwind-mfg.com/?mc_cid=cmp-1"}))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success());

    // A state change, a partial refund (a line's quantity lowered) and a cancel.
    assert!(qad.update_sales_order("SO2", |o| o.status = "invoiced".into()));
    assert!(qad.update_sales_order("SO1", |o| o.lines[0].quantity_ordered = 1));
    assert!(qad.update_sales_order("SO5", |o| o.status = "cancelled".into()));
    let fourth = run(&sync(&world)).await;
    assert_eq!(
        (fourth.counts.updated, fourth.counts.created),
        (3, 0),
        "{fourth:?}"
    );
    assert_eq!(store_orders(&world), 4, "updated in place, never added");
    let so1 = mc_order(&world, "qad-SO1");
    assert_eq!(dec(&so1["order_total"]), "29.99".parse().unwrap());
    assert_eq!(so1["campaign_id"], "cmp-1", "attribution stays Mailchimp's");
    assert_eq!(
        so1["landing_site"],
        "https://shop.northwind-mfg.com/?mc_cid=cmp-1"
    );
    assert_eq!(mc_order(&world, "qad-SO2")["financial_status"], "paid");
    let so5 = mc_order(&world, "qad-SO5");
    assert_eq!(so5["financial_status"], "cancelled");
    assert_eq!(dec(&so5["order_total"]), Decimal::ZERO);
    assert_ne!(so5["cancelled_at_foreign"], "");

    // Mailchimp's totals are QAD's, to the cent.
    for customer in ["C0000001", "C0000002", "C0000003"] {
        assert_eq!(
            spent(&world, customer).await,
            qad_spent(&world, customer),
            "{customer}"
        );
    }
    assert_eq!(spent(&world, "C0000001").await, "29.99".parse().unwrap());

    let writes = world.mailchimp_fake.stats().writes();
    let fifth = run(&sync(&world)).await;
    assert_eq!(fifth.counts.created + fifth.counts.updated, 0);
    assert_eq!(world.mailchimp_fake.stats().writes(), writes);
}

#[tokio::test]
async fn both_order_flows_together_never_loop() {
    let world = world().await;
    let qad = &world.qad_fake;
    publish(&world, &["C0000001"], &["ITEM-00001"]).await;
    qad.upsert_sales_order(so(
        "SO1",
        "C0000001",
        "invoiced",
        &[("ITEM-00001", 2, 1000, 1000)],
    ));
    qad.upsert_sales_order(so(
        "SO2",
        "C0000001",
        "confirmed",
        &[("ITEM-00001", 1, 1000, 1000)],
    ));
    // A web-shop order placed in Mailchimp by someone else.
    world.place(&Order::new("1001", "C0000001", "5.00")).await;
    let forward = sync(&world);
    let back = world.orders(SalesOrderMatch::SalesOrderNumber);
    for cycle in 0..3 {
        if cycle == 1 {
            let mut second = Order::new("1002", "C0000001", "7.00");
            second.updated = "2025-03-05T10:00:00+00:00";
            world.place(&second).await;
            assert!(qad.update_sales_order("SO2", |o| o.status = "invoiced".into()));
        }
        let written = run(&forward).await;
        let posted = back
            .run(RunTrigger::Manual, &CancellationToken::new())
            .await
            .unwrap();
        match cycle {
            0 => {
                assert_eq!(written.counts.created, 2);
                assert_eq!(posted.posted, 1, "only the shop's order goes back");
                assert_eq!(posted.counts.skipped, 2, "the connector's own orders");
            }
            1 => {
                assert_eq!(written.counts.updated, 1);
                assert_eq!(posted.posted, 1, "the new shop order only");
            }
            _ => {
                assert_eq!(written.counts.created + written.counts.updated, 0);
                assert_eq!(posted.posted, 0);
            }
        }
    }
    // Each order once on each side: QAD has the two shop orders as attribution records (and
    // its two sales orders); Mailchimp has the two shop orders and the two written ones.
    assert_eq!(world.attribution_posts(), 2);
    assert!(qad.attribution("qad-SO1").is_none() && qad.attribution("qad-SO2").is_none());
    assert_eq!(qad.sales_orders().len(), 2);
    let mut ids: Vec<String> = world.mailchimp_fake.snapshot().orders[STORE]
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["1001", "1002", "qad-SO1", "qad-SO2"]);
}

#[tokio::test]
async fn a_backfill_is_bounded_by_the_look_back_and_never_leaves_the_store_syncing() {
    let world = world().await;
    let qad = &world.qad_fake;
    publish(&world, &["C0000001"], &["ITEM-00001"]).await;
    qad.upsert_sales_order(so(
        "SO1",
        "C0000001",
        "invoiced",
        &[("ITEM-00001", 1, 1000, 1000)],
    ));
    let mut old = so(
        "SO0",
        "C0000001",
        "invoiced",
        &[("ITEM-00001", 1, 1000, 1000)],
    );
    old.order_date = day() - chrono::Months::new(36);
    qad.upsert_sales_order(old);

    // QAD fails during the backfill: the run fails, and the store does not stay syncing.
    let browses = qad.route("api/qracore/browses");
    qad.faults()
        .fail_next(Method::GET, &browses, 1, FaultKind::InternalServerError);
    let failed = sync(&world)
        .run(RunTrigger::Manual, &CancellationToken::new())
        .await;
    assert!(failed.is_err());
    assert_eq!(
        world.mailchimp_fake.snapshot().stores[0]["is_syncing"],
        false
    );

    // Again: a backfill still (no cursor was committed), bounded by the 24-month look-back.
    let report = run(&sync(&world)).await;
    assert!(report.backfill);
    assert_eq!(
        report.total,
        Some(1),
        "the 3-year-old order is outside the window"
    );
    assert_eq!(report.counts.created, 1);
    assert_eq!(store_orders(&world), 1);
    assert_eq!(
        world.mailchimp_fake.snapshot().stores[0]["is_syncing"],
        false
    );

    // The old order changes later: never written, it stays out (no automation for old sales).
    assert!(qad.update_sales_order("SO0", |o| o.status = "invoiced".into()));
    let later = run(&sync(&world)).await;
    assert_eq!((later.counts.created, later.not_sent), (0, 1), "{later:?}");
}

#[tokio::test]
async fn a_queued_order_is_retried_until_written_and_dies_when_its_state_is_no_longer_sent() {
    let world = world().await;
    let qad = &world.qad_fake;
    publish(&world, &["C0000001"], &["ITEM-00001"]).await;
    qad.upsert_sales_order(so(
        "SO1",
        "C0000001",
        "invoiced",
        &[("ITEM-00001", 1, 1000, 1000)],
    ));
    qad.upsert_sales_order(so(
        "SO2",
        "C0000009",
        "invoiced",
        &[("ITEM-00001", 1, 1000, 1000)],
    ));
    // Mailchimp fails the first write (a 503, after the client's own retries are off here).
    world.mailchimp_fake.faults().fail_next(
        Method::PUT,
        "/3.0/ecommerce/stores/{store_id}/orders/{order_id}",
        1,
        FaultKind::ServiceUnavailable,
    );
    let eager = sync(&world).with_retry_policy(RetryPolicy::new(8, Duration::ZERO, Duration::ZERO));
    let first = run(&eager).await;
    assert_eq!(
        (first.counts.failed, first.counts.deferred),
        (1, 1),
        "{first:?}"
    );
    // SO2's customer never arrives, and SO2 is put on hold in QAD: its queued row dies.
    assert!(qad.update_sales_order("SO2", |o| o.status = "open".into()));
    let second = run(&eager).await;
    assert_eq!(second.retried, 2, "{second:?}");
    assert_eq!(
        second.counts.created, 1,
        "the failed order is written by its retry"
    );
    assert_eq!(second.not_sent, 1);
    assert!(world
        .state
        .due_retries(ObjectKind::SalesOrders, chrono::Utc::now(), None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store_orders(&world), 1);
}

#[tokio::test]
async fn replay_rewrites_dead_orders_from_qad_and_never_as_customers() {
    let world = world().await;
    let qad = &world.qad_fake;
    publish(&world, &["C0000001"], &["ITEM-00001"]).await;
    qad.upsert_sales_order(so(
        "SO1",
        "C0000001",
        "invoiced",
        &[("ITEM-00001", 2, 1000, 1000)],
    ));
    qad.upsert_sales_order(so(
        "SO2",
        "C0000002",
        "invoiced",
        &[("ITEM-00001", 1, 1000, 1000)],
    ));
    // SO1's write fails twice, SO2 waits for its customer; with no retries allowed both rows are
    // dead after the second run.
    world.mailchimp_fake.faults().fail_next(
        Method::PUT,
        "/3.0/ecommerce/stores/{store_id}/orders/{order_id}",
        2,
        FaultKind::ServiceUnavailable,
    );
    let hasty = sync(&world).with_retry_policy(RetryPolicy::new(0, Duration::ZERO, Duration::ZERO));
    let first = run(&hasty).await;
    assert_eq!(
        (first.counts.failed, first.counts.deferred),
        (1, 1),
        "{first:?}"
    );
    run(&hasty).await;
    assert!(world
        .state
        .due_retries(ObjectKind::SalesOrders, chrono::Utc::now(), None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store_orders(&world), 0);

    // SO2's customer arrives; a person replays the queue (dead rows included). The Mailchimp
    // handler comes first and must leave these rows (a failed PUT of an order) to their own.
    publish(&world, &["C0000002"], &[]).await;
    let replayer = Replayer::new(world.state.clone() as Arc<dyn StateStore>)
        .handler(MailchimpReplay::new(Executor::new(
            world.mailchimp.clone(),
            CallLog::new(),
        )))
        .handler(SalesOrdersReplay::new(sync(&world)));
    let report = replayer
        .replay(&ReplayFilter::Object(ObjectKind::SalesOrders))
        .await
        .unwrap();
    assert_eq!(report.counts.created, 2, "{report:?}");
    assert_eq!(
        dec(&mc_order(&world, "qad-SO1")["order_total"]),
        Decimal::from(20)
    );
    assert_eq!(
        dec(&mc_order(&world, "qad-SO2")["order_total"]),
        Decimal::from(10)
    );
    assert!(world.mailchimp_fake.snapshot().customers[STORE]
        .iter()
        .all(|c| c["id"] != "SO1"));
    let left = world
        .state
        .pending_replays(&ReplayFilter::Object(ObjectKind::SalesOrders), 10)
        .await
        .unwrap();
    assert!(left.iter().all(|r| r.resolution.is_some()), "{left:?}");
}
