//! `ml-connector sync` killed with SIGKILL at four points (early, mid-customers, mid-items,
//! during orders), then run once more as a user would: the fake Mailchimp and QAD's attribution
//! records end exactly as after uninterrupted runs, nothing is duplicated, and the state
//! database passes `PRAGMA integrity_check`.
//!
//! The kill points are taken from the fakes' request counters (a small latency keeps each phase
//! long enough to land in), and every kill is asserted to have happened mid-run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use testkit::compare::without_generated;

use mailchimp_client::ecommerce::{
    Decimal, OrderCustomer, OrderId, OrderInput, OrderLineInput, StoreId,
};
use serde_json::Value;
use support::{text, write_setup, Fakes, STORE};
use testkit::FaultConfig;

const CUSTOMERS: usize = 200;
const ITEMS: usize = 30;
const ORDERS: usize = 12;
const ECOM_CUSTOMER_PUT: &str = "/3.0/ecommerce/stores/{store_id}/customers/{customer_id}";
const PRODUCT_PUT: &str = "/3.0/ecommerce/stores/{store_id}/products/{product_id}";

struct World {
    fakes: Fakes,
    dir: tempfile::TempDir,
    config: String,
}

impl World {
    async fn start() -> Self {
        let fakes = Fakes::start(CUSTOMERS, ITEMS).await;
        let latency = FaultConfig::none().latency(Duration::from_millis(2));
        fakes
            .mailchimp
            .faults()
            .set_default(latency.clone())
            .unwrap();
        fakes.qad.faults().set_default(latency).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
        let config = config.to_str().unwrap().to_owned();
        Self { fakes, dir, config }
    }

    fn spawn_sync(&self) -> Child {
        Command::new(env!("CARGO_BIN_EXE_ml-connector"))
            .args(["--config", &self.config, "sync"])
            .env_remove("ML_CONNECTOR_VAULT_KEY")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// A whole sync, which must succeed.
    async fn sync(&self) {
        let out = support::run(&["--config", &self.config, "sync"], &[]).await;
        assert!(
            out.status.success(),
            "{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }

    /// Starts a sync and kills it with SIGKILL once `reached` says so; panics if the run ended
    /// before.
    async fn sync_killed_when(&self, point: &str, reached: impl Fn(&Fakes) -> bool) {
        let mut child = self.spawn_sync();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the sync ended ({status}) before the kill point {point}");
            }
            if reached(&self.fakes) {
                child.kill().unwrap(); // SIGKILL on Unix
                child.wait().unwrap();
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn requests(&self, method: &str, route: &str) -> u64 {
        self.fakes.mailchimp.stats().requests(method, route)
    }

    fn attribution_posts(&self) -> u64 {
        let qad = &self.fakes.qad;
        qad.stats()
            .requests("POST", &qad.route(qad.attribution_path()))
    }

    /// The shop places the same orders in either world: the first customers and products in
    /// id order, fixed dates.
    async fn place_orders(&self) {
        let client = mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(
            self.fakes.mailchimp.api_key(),
        ))
        .base_url(self.fakes.mailchimp.api_url())
        .build()
        .await
        .unwrap();
        let snapshot = self.fakes.mailchimp.snapshot();
        let mut customers: Vec<String> = snapshot.customers[STORE]
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        customers.sort();
        let mut products: Vec<(String, String)> = snapshot.products[STORE]
            .iter()
            .filter_map(|p| {
                let variant = p["variants"].as_array()?.first()?;
                Some((
                    p["id"].as_str()?.to_owned(),
                    variant["id"].as_str()?.to_owned(),
                ))
            })
            .collect();
        products.sort();
        let store = client.ecommerce().store(&StoreId::from(STORE));
        for i in 0..ORDERS {
            let (product, variant) = &products[i % products.len()];
            let price = Decimal::new(1250, 2);
            let quantity = 1 + i as i64 % 3;
            let line = OrderLineInput::new(
                "1".into(),
                product.as_str().into(),
                variant.as_str().into(),
                quantity,
                price,
            );
            let mut order = OrderInput::new(
                OrderId::from(format!("WEB-{:05}", i + 1).as_str()),
                OrderCustomer::new(customers[(i * 7) % customers.len()].as_str().into()),
                "USD",
                price * Decimal::from(quantity),
                vec![line],
            );
            order.financial_status = Some("paid".into());
            order.processed_at_foreign = Some("2026-11-02T10:00:00+00:00".parse().unwrap());
            order.updated_at_foreign = order.processed_at_foreign;
            store.orders().create(&order).await.unwrap();
        }
    }

    /// Members, e-commerce customers, products, orders and attribution records, normalised for
    /// server-generated ids and timestamps, each with its count (a duplicate would collapse in
    /// the map).
    fn end_state(&self) -> BTreeMap<&'static str, (usize, BTreeMap<String, Value>)> {
        let snapshot = self.fakes.mailchimp.snapshot();
        let keyed = |records: Vec<Value>, key: &str| {
            let count = records.len();
            let map = records
                .into_iter()
                .map(|r| {
                    (
                        r[key].as_str().unwrap().to_lowercase(),
                        without_generated(r),
                    )
                })
                .collect::<BTreeMap<_, _>>();
            (count, map)
        };
        let of =
            |map: &BTreeMap<String, Vec<Value>>, id: &str| map.get(id).cloned().unwrap_or_default();
        BTreeMap::from([
            (
                "members",
                keyed(
                    of(&snapshot.members, self.fakes.mailchimp.list_id()),
                    "email_address",
                ),
            ),
            ("customers", keyed(of(&snapshot.customers, STORE), "id")),
            ("products", keyed(of(&snapshot.products, STORE), "id")),
            ("orders", keyed(of(&snapshot.orders, STORE), "id")),
            (
                "attributions",
                keyed(self.fakes.qad.attributions(), "orderId"),
            ),
        ])
    }
}

fn integrity(dir: &Path) -> String {
    let db = rusqlite::Connection::open(dir.join("state.db")).unwrap();
    db.query_row("PRAGMA integrity_check", [], |row| row.get::<_, String>(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_at_four_points_ends_as_an_uninterrupted_run_after_one_more_run() {
    // Uninterrupted: sync, the shop's orders, sync.
    let clean = World::start().await;
    clean.sync().await;
    clean.place_orders().await;
    clean.sync().await;
    let expected = clean.end_state();
    assert_eq!(expected["attributions"].0, ORDERS);
    assert!(expected["members"].0 > CUSTOMERS / 2);

    let world = World::start().await;
    // Early: the first Mailchimp calls of the first run.
    world
        .sync_killed_when("early", |f| f.mailchimp.stats().total() >= 2)
        .await;
    // Mid-customers: after a fifth of the e-commerce customers.
    let base = world.requests("PUT", ECOM_CUSTOMER_PUT);
    world
        .sync_killed_when("mid-customers", |_| {
            world.requests("PUT", ECOM_CUSTOMER_PUT) >= base + CUSTOMERS as u64 / 5
        })
        .await;
    assert!(world.end_state()["customers"].0 < expected["customers"].0);
    // Mid-items: after a third of the products.
    let base = world.requests("PUT", PRODUCT_PUT);
    world
        .sync_killed_when("mid-items", |_| {
            world.requests("PUT", PRODUCT_PUT) >= base + ITEMS as u64 / 3
        })
        .await;
    assert!(world.end_state()["products"].0 < expected["products"].0);
    // The shop sells once the store has what it needs (a run that completes), then the sync is
    // killed while it posts the orders back to QAD.
    world.sync().await;
    world.place_orders().await;
    let base = world.attribution_posts();
    world
        .sync_killed_when("during orders", |_| {
            world.attribution_posts() >= base + ORDERS as u64 / 3
        })
        .await;
    assert!(world.end_state()["attributions"].0 < ORDERS);

    // One more run, as a user would start it. (With a lease per object in the state store, the
    // killed process's lease is still there: this run, and the ones after the earlier kills,
    // are where a wait for its expiry would show.)
    world.sync().await;
    let actual = world.end_state();
    for (kind, (count, records)) in &expected {
        let (got_count, got) = &actual[kind];
        assert_eq!(got_count, count, "{kind}: no duplicates");
        assert!(got == records, "{kind} differ from the uninterrupted run");
    }
    assert_eq!(integrity(world.dir.path()), "ok");
}
