//! Orders placed in the fake Mailchimp shop become attribution records in the fake QAD: the
//! right customers, sales orders and item codes, exact money, held and flagged orders, and no
//! duplicates on re-runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod orders_support;

use orders_support::{Order, World};
use serde_json::json;
use sync_core::audit::AuditQuery;
use sync_core::orders::SalesOrderMatch;
use sync_core::{ObjectKind, Outcome, RunTrigger, StateStore};
use tokio_util::sync::CancellationToken;

async fn run(world: &World, rule: SalesOrderMatch) -> sync_core::orders::OrdersReport {
    world
        .orders(rule)
        .run(RunTrigger::Manual, &CancellationToken::new())
        .await
        .unwrap()
}

#[tokio::test]
async fn orders_become_attribution_records_once_with_the_right_matches() {
    let world = World::start().await;
    // QAD's sales order SO000003 carries the shop's order id 1001 as its customer PO.
    assert!(world
        .qad_fake
        .update_sales_order("SO000003", |so| so.customer_po = Some("1001".into())));
    // The forward sync gave C0000002 a derived e-commerce id, and ITEM-00002 a derived product id.
    world
        .map(ObjectKind::EcommerceCustomers, "C0000002", "derived-c2")
        .await;
    world
        .map(ObjectKind::Products, "ITEM-00002", "derived-p2")
        .await;

    let mut direct = Order::new("1001", "C0000001", "59.97");
    direct.lines = vec![("ITEM-00001", 3, "19.99")];
    direct.campaign = Some("cmp-42");
    let mut derived = Order::new("1002", "derived-c2", "0.30");
    derived.lines = vec![("derived-p2", 1, "0.10"), ("ITEM-00001", 1, "0.20")];
    let guest = Order::new("1003", "GUEST-9", "5.00");
    let mut euro = Order::new("1004", "C0000004", "12.50");
    euro.currency = "EUR";
    for order in [&direct, &derived, &guest, &euro] {
        world.place(order).await;
    }

    let first = run(&world, SalesOrderMatch::CustomerPo).await;
    assert_eq!(first.read, 4);
    assert_eq!(first.pages, 2, "page size 2");
    assert_eq!(first.counts.created, 3);
    assert_eq!((first.counts.skipped, first.unmatched), (1, 1));
    assert_eq!(first.currency_flagged, 1);
    assert_eq!(world.attribution_posts(), 3);

    let record = world.attribution("1001");
    assert_eq!(record["customerCode"], "C0000001");
    assert_eq!(record["salesOrderNumber"], "SO000003");
    assert_eq!(record["orderTotal"], json!("59.97"));
    assert_eq!(record["currencyCode"], "USD");
    assert_eq!(record["financialStatus"], "paid");
    assert_eq!(record["storeId"], orders_support::STORE);
    assert_eq!(record["campaignId"], "cmp-42");
    assert_eq!(
        record["lines"],
        json!([{"itemCode": "ITEM-00001", "quantity": "3", "price": "19.99", "discount": "0"}])
    );
    let record = world.attribution("1002");
    assert_eq!(record["customerCode"], "C0000002");
    assert_eq!(record["salesOrderNumber"], "", "no sales order has PO 1002");
    assert_eq!(record["lines"][0]["itemCode"], "ITEM-00002");
    assert_eq!(record["lines"][0]["price"], json!("0.1"));
    assert_eq!(record["orderTotal"], json!("0.3"));
    assert!(
        world.qad_fake.attribution("1003").is_none(),
        "held, not posted"
    );
    assert_eq!(world.attribution("1004")["currencyCode"], "EUR");

    let rows = world
        .state
        .query_audit(&AuditQuery::new().run(first.run_id.unwrap()))
        .await
        .unwrap();
    let row = |key: &str| rows.iter().find(|r| r.row.source_key == key).unwrap();
    assert_eq!(row("1003").row.outcome, Outcome::Skipped);
    assert!(row("1003")
        .row
        .error
        .as_deref()
        .unwrap()
        .starts_with("unmatched customer"));
    assert_eq!(row("1004").row.outcome, Outcome::Created);
    assert_eq!(
        row("1004").row.error.as_deref(),
        Some("flagged: currency EUR differs from the store currency USD")
    );
    assert_eq!(row("1001").row.payload.as_ref().unwrap()["orderId"], "1001");

    // A re-run posts nothing: every order is unchanged, the guest is still held.
    let second = run(&world, SalesOrderMatch::CustomerPo).await;
    assert_eq!(second.counts.unchanged, 3);
    assert_eq!(second.counts.skipped, 1);
    assert_eq!(second.posted, 0);
    assert_eq!(world.attribution_posts(), 3);
    assert_eq!(world.qad_fake.attributions().len(), 3);
    // The still-held order was looked up again but not audited again: its row would say the
    // same as the first run's, on every run until its customer comes.
    let second_rows = world
        .state
        .query_audit(&AuditQuery::new().run(second.run_id.unwrap()))
        .await
        .unwrap();
    assert!(
        second_rows.iter().all(|r| r.row.source_key != "1003"),
        "{second_rows:?}"
    );

    // A changed order is posted again, as an update of the same record.
    let mut changed = derived.clone();
    changed.total = "0.40";
    changed.lines = vec![("derived-p2", 2, "0.10"), ("ITEM-00001", 1, "0.20")];
    changed.updated = "2025-03-05T08:00:00+00:00";
    world.place(&changed).await;
    // Once the guest's customer is known to the forward sync, the held order goes through.
    world
        .map(ObjectKind::EcommerceCustomers, "C0000009", "GUEST-9")
        .await;
    let third = run(&world, SalesOrderMatch::CustomerPo).await;
    assert_eq!((third.counts.updated, third.counts.created), (1, 1));
    assert_eq!(third.counts.unchanged, 2);
    assert_eq!(third.unmatched, 0);
    assert_eq!(world.attribution("1002")["orderTotal"], json!("0.4"));
    assert_eq!(world.attribution("1003")["customerCode"], "C0000009");
    assert_eq!(world.qad_fake.attributions().len(), 4, "no duplicates");
}

#[tokio::test]
async fn the_order_id_can_be_the_sales_order_number() {
    let world = World::start().await;
    let customer = world
        .qad_fake
        .sales_orders()
        .into_iter()
        .find(|so| so.sales_order_number == "SO000005")
        .unwrap()
        .sold_to_customer_code;
    let customer: &'static str = Box::leak(customer.into_boxed_str());
    world
        .place(&Order::new("SO000005", customer, "10.00"))
        .await;
    world.place(&Order::new("WEB-77", customer, "11.00")).await;

    let report = run(&world, SalesOrderMatch::SalesOrderNumber).await;
    assert_eq!(report.counts.created, 2);
    assert_eq!(
        world.attribution("SO000005")["salesOrderNumber"],
        "SO000005"
    );
    assert_eq!(world.attribution("SO000005")["customerCode"], customer);
    assert_eq!(world.attribution("WEB-77")["salesOrderNumber"], "");

    // Without a rule, no sales order is looked up.
    let world = World::start().await;
    world
        .place(&Order::new("SO000005", customer, "10.00"))
        .await;
    run(&world, SalesOrderMatch::None).await;
    assert_eq!(world.attribution("SO000005")["salesOrderNumber"], "");
}

#[tokio::test]
async fn a_cancelled_run_commits_the_page_in_flight_and_stops() {
    let world = World::start().await;
    for id in ["2001", "2002", "2003", "2004", "2005"] {
        world.place(&Order::new(id, "C0000001", "1.00")).await;
    }
    let cancel = CancellationToken::new();
    cancel.cancel();
    let report = world
        .orders(SalesOrderMatch::None)
        .run(RunTrigger::Manual, &cancel)
        .await
        .unwrap();
    assert!(report.cancelled);
    assert_eq!((report.pages, report.counts.created), (1, 2));
    let run = world
        .state
        .run(report.run_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, sync_core::RunStatus::Cancelled);
    assert_eq!(run.counts.created, 2);

    // The next run picks up the rest and re-posts nothing.
    let rest = run_all(&world).await;
    assert_eq!((rest.counts.created, rest.counts.unchanged), (3, 2));
    assert_eq!(world.attribution_posts(), 5);
}

async fn run_all(world: &World) -> sync_core::orders::OrdersReport {
    run(world, SalesOrderMatch::None).await
}

#[tokio::test]
async fn a_failed_order_read_aborts_the_run() {
    let world = World::start().await;
    world.place(&Order::new("5001", "C0000001", "1.00")).await;
    world
        .mailchimp_fake
        .faults()
        .set_route(
            axum::http::Method::GET,
            "/3.0/ecommerce/stores/{store_id}/orders",
            testkit::faults::FaultConfig::none().server_error(1.0),
        )
        .unwrap();
    let err = world
        .orders(SalesOrderMatch::None)
        .run(RunTrigger::Manual, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        sync_core::SyncError::Client {
            system: sync_core::TargetSystem::Mailchimp,
            ..
        }
    ));
    let runs = world.state.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].status, sync_core::RunStatus::Aborted);
    assert!(runs[0].error.as_deref().unwrap().contains("mailchimp"));
    assert_eq!(world.attribution_posts(), 0);
}

#[tokio::test]
async fn a_plan_counts_what_a_run_would_post_and_writes_nothing() {
    let world = World::start().await;
    for order in [
        Order::new("2001", "C0000001", "10.00"),
        Order::new("2002", "C0000002", "20.00"),
        Order::new("2003", "GUEST-1", "5.00"),
    ] {
        world.place(&order).await;
    }
    let orders = world.orders(SalesOrderMatch::None);
    let plan = orders.plan(&CancellationToken::new()).await.unwrap();
    assert_eq!(plan.read, 3);
    assert_eq!((plan.counts.created, plan.unmatched), (2, 1));
    assert_eq!((plan.posted, plan.run_id), (0, None));
    assert_eq!(world.attribution_posts(), 0);
    assert!(world.state.recent_runs(1).await.unwrap().is_empty());

    // The real run then does exactly what was planned.
    let report = run(&world, SalesOrderMatch::None).await;
    assert_eq!((report.counts.created, report.unmatched), (2, 1));
    assert_eq!(world.attribution_posts(), 2);
}

#[tokio::test]
async fn a_store_not_created_yet_means_no_orders_not_a_failure() {
    let world = World::start().await;
    world
        .mailchimp
        .ecommerce()
        .store(&mailchimp_client::ecommerce::StoreId::from(
            orders_support::STORE,
        ))
        .delete()
        .await
        .unwrap();
    let report = world
        .orders(SalesOrderMatch::None)
        .run(RunTrigger::Manual, &CancellationToken::new())
        .await
        .unwrap();
    assert!(report.store_missing);
    assert_eq!((report.read, report.posted), (0, 0));
    let runs = world.state.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].status, sync_core::RunStatus::Completed);
    assert_eq!(world.attribution_posts(), 0);
}

#[tokio::test]
async fn the_scheduler_runs_the_orders_flow_as_a_job() {
    use sync_core::schedule::{Job, JobContext};
    let world = World::start().await;
    world.place(&Order::new("6001", "C0000001", "1.00")).await;
    let job = world.orders(SalesOrderMatch::None);
    let ctx = JobContext::new(
        ObjectKind::Orders,
        RunTrigger::Scheduled,
        CancellationToken::new(),
    );
    Job::run(&job, ctx).await.unwrap();
    let runs = world.state.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].start.trigger, RunTrigger::Scheduled);
    assert_eq!(runs[0].counts.created, 1);
}

#[tokio::test]
async fn a_page_looks_each_customer_up_once_and_a_run_can_be_spawned() {
    let world = World::start().await;
    for id in ["7001", "7002", "7003", "7004"] {
        world.place(&Order::new(id, "C0000001", "2.00")).await;
    }
    let orders = world.orders(SalesOrderMatch::None);
    // The run's future is Send: it can be spawned, as the binary does.
    let report = tokio::spawn(async move {
        orders
            .run(RunTrigger::Manual, &CancellationToken::new())
            .await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.counts.created, 4);
    let browses = world.qad_fake.route("api/qracore/browses");
    assert_eq!(
        world.qad_fake.stats().requests("GET", &browses),
        2,
        "one customer lookup per page of two orders"
    );
}

#[tokio::test]
async fn a_second_orders_run_is_refused_while_another_holds_the_orders() {
    let world = World::start().await;
    world.place(&Order::new("5101", "C0000001", "1.00")).await;
    let other = sync_core::state::LeaseHolder::new("erp-gw-9", 4242);
    let lease = world
        .state
        .acquire_lease(
            ObjectKind::Orders,
            &other,
            std::time::Duration::from_secs(600),
        )
        .await
        .unwrap();
    let err = world
        .orders(SalesOrderMatch::None)
        .run(RunTrigger::Manual, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, sync_core::SyncError::Lease(sync_core::LeaseError::Held { holder, .. }) if holder == &other),
        "{err:?}"
    );
    assert_eq!(world.attribution_posts(), 0);
    assert!(world.state.recent_runs(1).await.unwrap().is_empty());

    assert!(world.state.release_lease(&lease).await.unwrap());
    let report = run_all(&world).await;
    assert_eq!(report.posted, 1, "{report:?}");
    // Released at the end of the run.
    assert_eq!(world.state.lease(ObjectKind::Orders).await.unwrap(), None);
}

#[tokio::test]
async fn an_order_of_an_earlier_address_generation_is_attributed_to_its_customer() {
    let world = World::start().await;
    // C0000003's address changed twice: the id map holds the newest store customer; an order
    // placed under the oldest generation still belongs to C0000003.
    let old = sync_core::mapping::customer_id_for_address("C0000003", "first@acme-industrial.com");
    let newest =
        sync_core::mapping::customer_id_for_address("C0000003", "third@acme-industrial.com");
    world
        .map(ObjectKind::EcommerceCustomers, "C0000003", &newest)
        .await;
    // `Order` holds `&'static str`s; one leaked id in a test is fine.
    let old: &'static str = Box::leak(old.into_boxed_str());
    let mut order = Order::new("2001", old, "10.00");
    order.lines = vec![("ITEM-00001", 1, "10.00")];
    world.place(&order).await;

    let report = run(&world, SalesOrderMatch::CustomerPo).await;
    assert_eq!(report.counts.created, 1, "{report:?}");
    assert_eq!(world.attribution("2001")["customerCode"], "C0000003");
}
