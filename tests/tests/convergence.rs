//! Convergence under faults: repeated cycles as `ml-connector run` performs them (customers and
//! items, each retrying its replay queue first, then orders back to QAD) reach, without any manual
//! replay, exactly the end state of a fault-free run on the same seed, and `reconcile` then finds
//! no drift.
//!
//! Both fakes inject 20% 429, 5% 500/503, 2% bare 403 and 2% dropped connections on every route,
//! plus a few lost responses (the write happens, the answer never arrives) on the write routes.
//! The clients retry quickly and only four times per call, so calls do fail after their retries
//! and the replay queue has work to do. Nothing depends on timing.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use testkit::compare::without_generated;

use mailchimp_client::ecommerce::{
    Decimal, OrderCustomer, OrderId, OrderInput, OrderLineInput, ProductId, StoreId, VariantId,
};
use reqwest::Method;
use serde_json::Value;
use sync_core::audit::ReplayFilter;
use sync_core::config::{StoreConfig, SyncConfig};
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::mapping::StatusIfNew;
use sync_core::orders::{OrdersConfig, OrdersSync, SalesOrderMatch};
use sync_core::reconcile::{ReconcileOptions, Reconciler};
use sync_core::replay::RetryPolicy;
use sync_core::{ObjectKind, RunTrigger, SqliteStateStore, StateStore};
use testkit::faults::FaultKind;
use testkit::qad::{FakeQad, Seeding};
use testkit::{FakeMailchimp, FaultConfig, Faults};
use tokio_util::sync::CancellationToken;

const SEED: u64 = 1107;
const STORE: &str = "qad-store";
const CURRENCY: &str = "USD";
/// Orders the fake shop places.
const ORDERS: usize = 40;
/// Cycles the faulty world may take before the test gives up.
const MAX_CYCLES: usize = 10;

fn seeding() -> Seeding {
    Seeding::new(SEED).customers(300).items(40).sales_orders(30)
}

/// The acceptance mix of issue 11, on every route of both fakes.
fn faults() -> FaultConfig {
    FaultConfig::none()
        .too_many_requests(0.20)
        .server_error(0.025)
        .service_unavailable(0.025)
        .bare_forbidden(0.02)
        .dropped_connection(0.02)
}

/// Four attempts per call with millisecond waits: fast, and some calls still fail.
fn retry() -> mailchimp_client::RetryConfig {
    mailchimp_client::RetryConfig::new()
        .with_max_attempts(4)
        .with_base_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(4))
        .with_max_retry_after(Duration::from_millis(4))
}

/// `ml-connector run`'s per-row backoff, compressed: each cycle retries every queued row.
fn retry_policy() -> RetryPolicy {
    RetryPolicy::new(8, Duration::ZERO, Duration::ZERO)
}

/// Both fakes, the engines over one state database, as `ml-connector run` wires them.
struct World {
    mailchimp: FakeMailchimp,
    qad: FakeQad,
    state: Arc<SqliteStateStore>,
    forward: ForwardSync,
    orders: OrdersSync,
    reconciler: Reconciler,
    _dir: tempfile::TempDir,
}

impl World {
    async fn start(faulty: bool) -> Self {
        let config = if faulty {
            faults()
        } else {
            FaultConfig::none()
        };
        let mailchimp = FakeMailchimp::builder()
            .seed(SEED)
            .faults(config.clone())
            .start()
            .await
            .unwrap();
        let qad = FakeQad::builder()
            .seeding(seeding())
            .faults(Faults::new(SEED, config).unwrap())
            .start()
            .await
            .unwrap();
        let mailchimp_client = common::mailchimp_builder(&mailchimp)
            .retry(retry())
            .build()
            .await
            .unwrap();
        let qad_client = common::qad_builder(&qad)
            .retry(retry())
            .attribution(
                qad_client::AttributionConfig::default()
                    .with_entity(qad.attribution_path().parse().unwrap()),
            )
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(
            SqliteStateStore::open(dir.path().join("state.db"))
                .await
                .unwrap(),
        );
        let mut sync_config = SyncConfig::new(mailchimp.list_id()).with_store(StoreConfig::new(
            STORE,
            "QAD store",
            CURRENCY,
        ));
        sync_config.page_size = 50;
        sync_config.member_batch_threshold = 10;
        sync_config.mapping.customer.status_if_new = StatusIfNew::Subscribed;
        let dyn_state = Arc::clone(&state) as Arc<dyn StateStore>;
        let forward = ForwardSync::new(
            sync_config.clone(),
            mailchimp_client.clone(),
            qad_client.clone(),
            Arc::clone(&dyn_state),
        )
        .unwrap();
        let orders = OrdersSync::new(
            mailchimp_client.clone(),
            qad_client.clone(),
            Arc::clone(&dyn_state),
            OrdersConfig::new(STORE, CURRENCY)
                .sales_order_match(SalesOrderMatch::CustomerPo)
                .page_size(10)
                .attribution_path(qad.attribution_path()),
        );
        let reconciler =
            Reconciler::new(sync_config, mailchimp_client, qad_client, dyn_state).unwrap();
        Self {
            mailchimp,
            qad,
            state,
            forward,
            orders,
            reconciler,
            _dir: dir,
        }
    }

    /// One cycle of `ml-connector run`: customers and items (replay queue first), then orders.
    /// `settled` records, per object (customers, items, orders), whether its latest run ended
    /// without a failure, and `retried` counts the queued rows the runs retried; returns whether
    /// the replay queue is empty afterwards.
    async fn cycle(&self, settled: &mut [bool; 3], retried: &mut u64) -> bool {
        for (index, object) in [ObjectKind::Customers, ObjectKind::Items]
            .into_iter()
            .enumerate()
        {
            let options = RunOptions::new()
                .trigger(RunTrigger::Scheduled)
                .retry_failed(true)
                .retry_policy(retry_policy());
            let report = match self.forward.run(object, options).await {
                Ok(report) => report,
                Err(error) => {
                    // A run that cannot start (the store check failed after its retries) is
                    // logged by `ml-connector run`; the next cycle runs it again.
                    eprintln!("  {object}: failed to run: {error}");
                    settled[index] = false;
                    continue;
                }
            };
            eprintln!("  {object}: {report}");
            if let Some(retries) = &report.retries {
                assert_eq!(retries.dead, 0, "no row may die in 10 cycles: {report}");
                *retried += retries.rows;
            }
            settled[index] = report.error.is_none()
                && report
                    .targets
                    .values()
                    .all(|t| t.failed == 0 && t.deferred == 0);
        }
        match self
            .orders
            .run(RunTrigger::Scheduled, &CancellationToken::new())
            .await
        {
            Ok(report) => {
                eprintln!(
                    "  orders: read {} posted {} failed {}",
                    report.read, report.posted, report.counts.failed
                );
                settled[2] = report.counts.failed == 0;
            }
            Err(error) => {
                // A read of the order list that failed after its retries aborts the run;
                // the next cycle reads the list again.
                eprintln!("  orders: aborted: {error}");
                settled[2] = false;
            }
        }
        let queue = self
            .state
            .pending_replays(&ReplayFilter::All, 10_000)
            .await
            .unwrap();
        queue.is_empty()
    }

    /// Places `orders` in the shop with the faults paused: the shop is not the connector.
    async fn place(&self, orders: &[ShopOrder], faulty: bool) {
        self.mailchimp
            .faults()
            .set_default(FaultConfig::none())
            .unwrap();
        let shop = common::mailchimp(&self.mailchimp).await;
        let store = shop.ecommerce().store(&StoreId::from(STORE));
        for order in orders {
            store.orders().create(&order.input()).await.unwrap();
        }
        if faulty {
            self.mailchimp.faults().set_default(faults()).unwrap();
        }
    }

    /// Whether every customer and product the orders name exists in the store.
    fn can_place(&self, orders: &[ShopOrder]) -> bool {
        let snapshot = self.mailchimp.snapshot();
        orders.iter().all(|o| {
            snapshot.customer(STORE, &o.customer).is_some()
                && o.lines
                    .iter()
                    .all(|(product, _, _, _)| snapshot.product(STORE, product).is_some())
        })
    }

    /// The end state, normalised for server-generated ids and timestamps.
    fn end_state(&self) -> EndState {
        let snapshot = self.mailchimp.snapshot();
        let list = self.mailchimp.list_id();
        let members = snapshot
            .members
            .get(list)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let email = m["email_address"].as_str().unwrap().to_lowercase();
                (email, without_generated(m))
            })
            .collect();
        let by_id = |records: Option<&Vec<Value>>| -> BTreeMap<String, Value> {
            records
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r["id"].as_str().unwrap().to_owned(), without_generated(r)))
                .collect()
        };
        let attributions = self
            .qad
            .attributions()
            .into_iter()
            .map(|a| (attribution_key(&a), without_generated(a)))
            .collect();
        EndState {
            members,
            customers: by_id(snapshot.customers.get(STORE)),
            products: by_id(snapshot.products.get(STORE)),
            orders: by_id(snapshot.orders.get(STORE)),
            attributions,
        }
    }
}

/// What the two worlds are compared on.
#[derive(Debug, PartialEq)]
struct EndState {
    members: BTreeMap<String, Value>,
    customers: BTreeMap<String, Value>,
    products: BTreeMap<String, Value>,
    orders: BTreeMap<String, Value>,
    attributions: BTreeMap<String, Value>,
}

impl EndState {
    fn counts(&self) -> String {
        format!(
            "{} members, {} e-commerce customers, {} products, {} orders, {} attribution records",
            self.members.len(),
            self.customers.len(),
            self.products.len(),
            self.orders.len(),
            self.attributions.len()
        )
    }

    /// The first differing record of each kind, for a readable failure (`self` the fault-free
    /// end state).
    fn differences(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        for (kind, a, b) in [
            ("member", &self.members, &other.members),
            ("customer", &self.customers, &other.customers),
            ("product", &self.products, &other.products),
            ("order", &self.orders, &other.orders),
            ("attribution", &self.attributions, &other.attributions),
        ] {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            let differing: Vec<&String> = keys
                .into_iter()
                .filter(|k| a.get(*k) != b.get(*k))
                .collect();
            if let Some(first) = differing.first() {
                out.push(format!(
                    "{} {kind}s differ, first {first}:\n  fault-free: {}\n  faulty:     {}",
                    differing.len(),
                    a.get(*first).map_or("absent".into(), Value::to_string),
                    b.get(*first).map_or("absent".into(), Value::to_string),
                ));
            }
        }
        out
    }
}

/// The fake QAD's attribution key field (its default).
fn attribution_key(record: &Value) -> String {
    match &record["orderId"] {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    }
}

/// An order of the fake shop: the same list in both worlds.
#[derive(Clone, Debug)]
struct ShopOrder {
    id: String,
    customer: String,
    /// (product id, variant id, quantity, unit price)
    lines: Vec<(String, String, i64, Decimal)>,
}

impl ShopOrder {
    fn input(&self) -> OrderInput {
        let mut total = Decimal::ZERO;
        let lines = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, (product, variant, quantity, price))| {
                total += *price * Decimal::from(*quantity);
                OrderLineInput::new(
                    (i + 1).to_string().as_str().into(),
                    ProductId::from(product.as_str()),
                    VariantId::from(variant.as_str()),
                    *quantity,
                    *price,
                )
            })
            .collect();
        let mut order = OrderInput::new(
            OrderId::from(self.id.as_str()),
            OrderCustomer::new(self.customer.as_str().into()),
            CURRENCY,
            total,
            lines,
        );
        order.financial_status = Some("paid".into());
        order.processed_at_foreign = Some("2026-11-02T10:00:00+00:00".parse().unwrap());
        order.updated_at_foreign = order.processed_at_foreign;
        order
    }
}

/// The shop's orders, chosen from what the fault-free sync put in the store: every third one
/// carries a QAD sales order's customer PO (bought by that order's customer).
fn shop_orders(world: &World) -> Vec<ShopOrder> {
    let snapshot = world.mailchimp.snapshot();
    let mut customers: Vec<String> = snapshot.customers[STORE]
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    customers.sort();
    let mut products: Vec<(String, String, Decimal)> = snapshot.products[STORE]
        .iter()
        .filter_map(|p| {
            let variant = p["variants"].as_array()?.first()?;
            let price = variant["price"]
                .as_f64()
                .map_or(Decimal::new(1000, 2), |f| {
                    Decimal::try_from(f).unwrap().round_dp(2)
                });
            Some((
                p["id"].as_str()?.to_owned(),
                variant["id"].as_str()?.to_owned(),
                price,
            ))
        })
        .collect();
    products.sort();
    let known: BTreeSet<&str> = customers.iter().map(String::as_str).collect();
    let mut with_po: Vec<(String, String)> = world
        .qad
        .sales_orders()
        .into_iter()
        .filter_map(|so| {
            let po = so.customer_po.clone()?;
            known
                .contains(so.sold_to_customer_code.as_str())
                .then_some((po, so.sold_to_customer_code))
        })
        .collect();
    with_po.sort();
    let mut with_po = with_po.into_iter();
    (0..ORDERS)
        .map(|i| {
            let (id, customer) = match (i % 3 == 0).then(|| with_po.next()).flatten() {
                Some(pair) => pair,
                None => (
                    format!("WEB-{:05}", i + 1),
                    customers[(i * 7) % customers.len()].clone(),
                ),
            };
            let lines = (0..(1 + i % 3))
                .map(|line| {
                    let (product, variant, price) = &products[(i * 5 + line * 11) % products.len()];
                    (
                        product.clone(),
                        variant.clone(),
                        1 + (i + line) as i64 % 4,
                        *price,
                    )
                })
                .collect();
            ShopOrder {
                id,
                customer,
                lines,
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_runs_under_faults_reach_the_fault_free_end_state_without_replay() {
    // The fault-free run: one cycle, the shop places its orders, one more cycle posts them.
    let clean = World::start(false).await;
    let mut settled = [false; 3];
    let mut retried = 0;
    assert!(
        clean.cycle(&mut settled, &mut retried).await,
        "nothing to retry"
    );
    assert_eq!(settled, [true; 3], "the fault-free cycle has no failure");
    let orders = shop_orders(&clean);
    clean.place(&orders, false).await;
    assert!(clean.cycle(&mut settled, &mut retried).await);
    assert_eq!(retried, 0);
    assert_eq!(settled, [true; 3]);
    let expected = clean.end_state();
    eprintln!("fault-free end state: {}", expected.counts());
    assert!(expected.members.len() > 200, "{}", expected.counts());
    assert!(
        expected.attributions.len() >= ORDERS,
        "{}",
        expected.counts()
    );

    // The same seed with faults: cycles until the latest run of each object had no failure, the
    // shop's orders included, and the replay queue is empty.
    let faulty = World::start(true).await;
    // A few writes happen but their answers are lost: the retry must not duplicate them.
    for (route, n) in [
        ("/3.0/lists/{list_id}", 1),
        (
            "/3.0/ecommerce/stores/{store_id}/customers/{customer_id}",
            2,
        ),
    ] {
        let method = if route.ends_with("{list_id}") {
            Method::POST
        } else {
            Method::PUT
        };
        faulty
            .mailchimp
            .faults()
            .fail_next(method, route, n, FaultKind::LostResponse);
    }
    // And the product endpoint is down for the whole first cycle: every product waits in the
    // replay queue for the next one.
    faulty
        .mailchimp
        .faults()
        .set_route(
            Method::PUT,
            "/3.0/ecommerce/stores/{store_id}/products/{product_id}",
            FaultConfig::none().service_unavailable(1.0),
        )
        .unwrap();
    let mut placed = false;
    let mut settled = [false; 3];
    let mut cycles = 0;
    let mut queued_products = 0;
    loop {
        cycles += 1;
        assert!(
            cycles <= MAX_CYCLES,
            "no convergence in {MAX_CYCLES} cycles: {}",
            expected.differences(&faulty.end_state()).join("\n")
        );
        eprintln!("cycle {cycles}:");
        if cycles == 2 {
            faulty.mailchimp.faults().clear_routes();
        }
        if !placed && faulty.can_place(&orders) {
            faulty.place(&orders, true).await;
            placed = true;
            settled[2] = false;
            eprintln!("  the shop placed {} orders", orders.len());
        }
        if faulty.cycle(&mut settled, &mut retried).await && placed && settled == [true; 3] {
            break;
        }
        if cycles == 1 {
            queued_products = faulty
                .state
                .pending_replays(&ReplayFilter::Object(ObjectKind::Items), 10_000)
                .await
                .unwrap()
                .len();
        }
    }
    let injected =
        faulty.mailchimp.faults().injected().len() + faulty.qad.faults().injected().len();
    println!(
        "converged after {cycles} cycles ({injected} faults injected, {retried} queued rows retried)"
    );
    // Every product waited in the queue after the first cycle. Each leaves it by the retry pass
    // or, when a later scan reads the item again first (a retry pass put off by a QAD fault),
    // by that scan's write: so the rows retried may be fewer than those queued.
    assert!(
        queued_products >= 36,
        "the products waited in the replay queue: {queued_products}"
    );
    assert!(retried > 0, "the retry pass ran: {retried}");
    assert!(injected > 100, "the faults were on: {injected}");

    let actual = faulty.end_state();
    // Keyed by order id, so a duplicate record would collapse in the map: count them too.
    assert_eq!(faulty.qad.attributions().len(), actual.attributions.len());
    assert_eq!(clean.qad.attributions().len(), expected.attributions.len());
    assert!(
        actual == expected,
        "the end state differs from the fault-free run's:\n{}",
        expected.differences(&actual).join("\n")
    );

    // And reconcile, reading both sides in full, finds nothing. (The faults are off: a read
    // that fails after its retries aborts a reconcile, which proves nothing either way.)
    faulty
        .mailchimp
        .faults()
        .set_default(FaultConfig::none())
        .unwrap();
    faulty
        .qad
        .faults()
        .set_default(FaultConfig::none())
        .unwrap();
    let report = faulty
        .reconciler
        .run(ReconcileOptions::new())
        .await
        .unwrap();
    assert_eq!(report.drift(), 0, "{report}");
}
