//! `mailchimp-client`'s e-commerce API against `testkit::FakeMailchimp`: stores (with `ensure_store`),
//! customers, products and variants, orders, and money exactness through the wire.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use std::{str::FromStr, time::Duration};

use futures::TryStreamExt;
use mailchimp_client::ecommerce::{
    Address, CustomerId, CustomerInput, CustomerUpdate, Decimal, EnsureOutcome, NewStore,
    OrderCustomer, OrderId, OrderInput, OrderLineId, OrderLineInput, ProductId, ProductInput,
    StoreId, StoreUpdate, VariantId, VariantInput,
};
use mailchimp_client::{Client, Error, ListId};
use reqwest::Method;
use serde_json::json;
use testkit::{FakeMailchimp, FaultConfig};

const STORE: &str = "shop-eu";

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn spec(fake: &FakeMailchimp) -> NewStore {
    let mut spec = NewStore::new(
        StoreId::from(STORE),
        ListId::from(fake.list_id().to_owned()),
        "Shop EU",
        "EUR",
    );
    spec.is_syncing = Some(true);
    spec
}

/// A store with one customer (`C-1`) and one product (`P-1`, variant `P-1-A` at 19.99).
async fn shop(fake: &FakeMailchimp) -> Client {
    let client = common::mailchimp(fake).await;
    client.ecommerce().ensure_store(&spec(fake)).await.unwrap();
    let store = client.ecommerce().store(&StoreId::from(STORE));
    let mut customer = CustomerInput::new(CustomerId::from("C-1"), true);
    customer.email_address = Some("ada@northwind-mfg.com".into());
    customer.first_name = Some("Ada".into());
    store.customers().upsert(&customer).await.unwrap();
    let mut variant = VariantInput::new(VariantId::from("P-1-A"), "Widget, red");
    variant.price = Some(dec("19.99"));
    variant.sku = Some("10-1000-R".into());
    variant.inventory_quantity = Some(7);
    store
        .products()
        .upsert(&ProductInput::new(
            ProductId::from("P-1"),
            "Widget",
            vec![variant],
        ))
        .await
        .unwrap();
    client
}

fn order(id: &str, quantity: i64, price: &str, total: &str) -> OrderInput {
    let line = OrderLineInput::new(
        OrderLineId::from("L1"),
        ProductId::from("P-1"),
        VariantId::from("P-1-A"),
        quantity,
        dec(price),
    );
    let mut order = OrderInput::new(
        OrderId::from(id),
        OrderCustomer::new(CustomerId::from("C-1")),
        "EUR",
        dec(total),
        vec![line],
    );
    order.financial_status = Some("paid".into());
    order.processed_at_foreign = Some("2025-03-04T10:00:00+00:00".parse().unwrap());
    order.updated_at_foreign = Some("2025-03-04T10:05:00+00:00".parse().unwrap());
    order
}

#[tokio::test]
async fn ensure_store_creates_then_leaves_alone_then_patches() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let shop = client.ecommerce();
    let post = || fake.stats().requests("POST", "/3.0/ecommerce/stores");
    let patch = || {
        fake.stats()
            .requests("PATCH", "/3.0/ecommerce/stores/{store_id}")
    };

    let first = shop.ensure_store(&spec(&fake)).await.unwrap();
    assert_eq!(first.outcome, EnsureOutcome::Created);
    assert_eq!((post(), patch()), (1, 0));
    let snapshot = fake.snapshot();
    let stored = &snapshot.stores[0];
    assert_eq!(stored["id"], STORE);
    assert_eq!(stored["list_id"], fake.list_id());
    assert_eq!(stored["currency_code"], "EUR");
    assert_eq!(stored["is_syncing"], true);

    let second = shop.ensure_store(&spec(&fake)).await.unwrap();
    assert_eq!(second.outcome, EnsureOutcome::Unchanged);
    assert_eq!((post(), patch()), (1, 0), "a re-run writes nothing");

    let mut changed = spec(&fake);
    changed.name = "Shop Europe".into();
    changed.is_syncing = Some(false);
    let third = shop.ensure_store(&changed).await.unwrap();
    assert!(
        matches!(third.outcome, EnsureOutcome::Patched(_)),
        "{:?}",
        third.outcome
    );
    assert_eq!((post(), patch()), (1, 1));
    let snapshot = fake.snapshot();
    assert_eq!(snapshot.stores[0]["name"], "Shop Europe");
    assert_eq!(snapshot.stores[0]["is_syncing"], false);
    assert_eq!(snapshot.stores.len(), 1);

    // is_syncing flips through PATCH too.
    let store = shop
        .store(&StoreId::from(STORE))
        .update(&StoreUpdate::syncing(true))
        .await
        .unwrap();
    assert!(store.is_syncing);
    assert_eq!(fake.snapshot().stores[0]["is_syncing"], true);
}

#[tokio::test]
async fn ensure_store_run_twice_at_once_makes_one_store_and_both_succeed() {
    let fake = FakeMailchimp::start().await.unwrap();
    // Both callers' GETs are answered (404) before either POST lands: the loser's create is refused
    // as "already exists", and ensure_store must recover by checking the store that is there now.
    // The POST's extra wait keeps the order even on a loaded machine.
    let latency = FaultConfig::none().latency(Duration::from_millis(100));
    fake.faults()
        .set_route(
            Method::GET,
            "/3.0/ecommerce/stores/{store_id}",
            latency.clone(),
        )
        .unwrap();
    fake.faults()
        .set_route(
            Method::POST,
            "/3.0/ecommerce/stores",
            latency.latency(Duration::from_millis(500)),
        )
        .unwrap();
    let client = common::mailchimp(&fake).await;
    let (shop, spec) = (client.ecommerce(), spec(&fake));
    let (a, b) = tokio::join!(shop.ensure_store(&spec), shop.ensure_store(&spec));
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut outcomes = [a.outcome, b.outcome];
    outcomes.sort_by_key(|o| matches!(o, EnsureOutcome::Created));
    assert_eq!(outcomes, [EnsureOutcome::Unchanged, EnsureOutcome::Created]);
    assert_eq!(fake.stats().requests("POST", "/3.0/ecommerce/stores"), 2);
    assert_eq!(fake.snapshot().stores.len(), 1);
}

#[tokio::test]
async fn a_store_on_another_audience_is_a_typed_error_and_nothing_is_written() {
    let fake = FakeMailchimp::builder()
        .list("audience01")
        .list("audience02")
        .start()
        .await
        .unwrap();
    fake.seed_store(STORE, "audience02", "EUR").unwrap();
    let client = common::mailchimp(&fake).await;

    let err = client
        .ecommerce()
        .ensure_store(&NewStore::new(
            StoreId::from(STORE),
            ListId::from("audience01"),
            "Shop EU",
            "EUR",
        ))
        .await
        .unwrap_err();
    match &err {
        Error::StoreLinkedToOtherAudience {
            expected_list_id,
            actual_list_id,
            ..
        } => {
            assert_eq!(expected_list_id.as_str(), "audience01");
            assert_eq!(actual_list_id.as_str(), "audience02");
        }
        other => panic!("expected StoreLinkedToOtherAudience, got {other:?}"),
    }
    assert_eq!(fake.stats().writes(), 0);
    assert_eq!(fake.snapshot().stores[0]["list_id"], "audience02");
}

#[tokio::test]
async fn customers_upsert_by_id_update_list_and_delete() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = shop(&fake).await;
    let customers = client.ecommerce().store(&StoreId::from(STORE)).customers();

    // Upsert again with more fields: same record, updated.
    let mut customer = CustomerInput::new(CustomerId::from("C-1"), true);
    customer.email_address = Some("ada@northwind-mfg.com".into());
    customer.company = Some("Analytical Engines".into());
    let mut address = Address::default();
    address.city = Some("London".into());
    address.country_code = Some("GB".into());
    customer.address = Some(address);
    customers.upsert(&customer).await.unwrap();
    let snapshot = fake.snapshot();
    assert_eq!(
        snapshot.customers[STORE].len(),
        1,
        "PUT by id never duplicates"
    );
    let stored = snapshot.customer(STORE, "C-1").unwrap();
    assert_eq!(stored["company"], "Analytical Engines");
    assert_eq!(stored["opt_in_status"], true);
    assert_eq!(stored["address"]["city"], "London");
    assert_eq!(stored["address"]["country_code"], "GB");
    assert_eq!(stored["first_name"], "Ada", "kept from the first upsert");

    let got = customers
        .get(&CustomerId::from("C-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.email_address.as_deref(), Some("ada@northwind-mfg.com"));
    assert_eq!(
        got.address.as_ref().and_then(|a| a.city.as_deref()),
        Some("London")
    );

    let mut update = CustomerUpdate::default();
    update.last_name = Some("Lovelace".into());
    let updated = customers
        .update(&CustomerId::from("C-1"), &update)
        .await
        .unwrap();
    assert_eq!(updated.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(
        fake.snapshot().customer(STORE, "C-1").unwrap()["last_name"],
        "Lovelace"
    );

    for n in 2..=5 {
        let mut c = CustomerInput::new(CustomerId::from(format!("C-{n}")), false);
        c.email_address = Some(format!("c{n}@northwind-mfg.com"));
        customers.upsert(&c).await.unwrap();
    }
    let all: Vec<_> = customers
        .list()
        .count(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["C-1", "C-2", "C-3", "C-4", "C-5"]);
    let by_email = customers
        .list()
        .email_address("c3@northwind-mfg.com")
        .send()
        .await
        .unwrap();
    assert_eq!(by_email.items.len(), 1);
    assert_eq!(by_email.items[0].id.as_str(), "C-3");

    customers.delete(&CustomerId::from("C-5")).await.unwrap();
    assert!(fake.snapshot().customer(STORE, "C-5").is_none());

    // An id over 50 characters is refused before any request.
    let before = fake.stats().total();
    let err = customers
        .upsert(&CustomerInput::new(CustomerId::from("x".repeat(51)), true))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(fake.stats().total(), before);
}

#[tokio::test]
async fn writes_under_an_unknown_store_are_not_found() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let store = client.ecommerce().store(&StoreId::from("no-such-store"));

    let err = store
        .customers()
        .upsert(&CustomerInput::new(CustomerId::from("C-1"), true))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(err.problem().unwrap().title, "Resource Not Found");
    assert_eq!(fake.snapshot().record_count(), 0);
}

#[tokio::test]
async fn products_and_variants_round_trip() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = shop(&fake).await;
    let products = client.ecommerce().store(&StoreId::from(STORE)).products();

    let snapshot = fake.snapshot();
    let stored = snapshot.product(STORE, "P-1").unwrap();
    assert_eq!(stored["title"], "Widget");
    assert_eq!(stored["variants"][0]["id"], "P-1-A");
    assert_eq!(stored["variants"][0]["sku"], "10-1000-R");
    assert_eq!(stored["variants"][0]["price"], json!(19.99));
    assert_eq!(stored["variants"][0]["inventory_quantity"], 7);

    // A full product upsert with the optional fields.
    let mut product = ProductInput::new(
        ProductId::from("P-2"),
        "Gadget",
        vec![VariantInput::new(VariantId::from("P-2-A"), "Gadget")],
    );
    product.vendor = Some("Acme".into());
    product.product_type = Some("Tools".into());
    product.description = Some("A gadget".into());
    product.url = Some("https://shop.example.com/p/2".into());
    product.image_url = Some("https://shop.example.com/p/2.png".into());
    products.upsert(&product).await.unwrap();
    let snapshot = fake.snapshot();
    let stored = snapshot.product(STORE, "P-2").unwrap();
    assert_eq!(stored["vendor"], "Acme");
    assert_eq!(stored["type"], "Tools", "product_type goes out as `type`");
    assert_eq!(stored["image_url"], "https://shop.example.com/p/2.png");

    let got = products.get(&ProductId::from("P-2")).send().await.unwrap();
    assert_eq!(got.product_type.as_deref(), Some("Tools"));
    assert_eq!(got.variants.len(), 1);

    // 60 variants: the product GET shows at most 50, the variants stream shows all.
    let variants = products.variants(&ProductId::from("P-2"));
    for n in 0..60 {
        let mut v = VariantInput::new(VariantId::from(format!("P-2-{n:02}")), format!("Size {n}"));
        v.price = Some(dec("0.10") * Decimal::from(n));
        variants.upsert(&v).await.unwrap();
    }
    let all: Vec<_> = variants.list().into_stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 61);
    assert_eq!(
        fake.snapshot().variants[&(STORE.to_owned(), "P-2".to_owned())].len(),
        61
    );
    let v59 = variants
        .get(&VariantId::from("P-2-59"))
        .send()
        .await
        .unwrap();
    assert_eq!(v59.price, Some(dec("5.90")));

    let page = products.list().send().await.unwrap();
    assert_eq!(page.total_items, 2);

    products.delete(&ProductId::from("P-2")).await.unwrap();
    assert!(fake.snapshot().product(STORE, "P-2").is_none());

    // A product without variants is refused before any request.
    let before = fake.stats().total();
    let err = products
        .upsert(&ProductInput::new(ProductId::from("P-3"), "Empty", vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(fake.stats().total(), before);
}

#[tokio::test]
async fn orders_create_upsert_list_and_keep_money_exact() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = shop(&fake).await;
    let orders = client.ecommerce().store(&StoreId::from(STORE)).orders();

    // 19.99 × 3 = 59.97 exactly, through the client's encoding and the fake's JSON.
    let mut first = order("O-1", 3, "19.99", "59.97");
    first.discount_total = Some(dec("0.1"));
    first.tax_total = Some(dec("0.2"));
    let created = orders.create(&first).await.unwrap();
    assert_eq!(created.order_total, dec("59.97"));
    assert_eq!(
        created.order_total,
        dec("19.99") * Decimal::from(3),
        "exact, not f64"
    );
    assert_eq!(
        created.discount_total.unwrap() + created.tax_total.unwrap(),
        dec("0.3")
    );
    assert_eq!(created.lines[0].product_title.as_deref(), Some("Widget"));
    assert_eq!(
        created.lines[0].product_variant_title.as_deref(),
        Some("Widget, red")
    );
    let snapshot = fake.snapshot();
    let stored = snapshot.order(STORE, "O-1").unwrap();
    assert_eq!(stored["order_total"], json!(59.97));
    assert_eq!(stored["lines"][0]["price"], json!(19.99));
    assert_eq!(stored["lines"][0]["quantity"], 3);
    assert_eq!(stored["customer"]["id"], "C-1");
    assert_eq!(stored["financial_status"], "paid");

    // POST of an existing id is refused; PUT of the same id updates.
    let err = orders.create(&first).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert!(err.problem().unwrap().detail.contains("already exists"));
    assert_eq!(
        fake.stats()
            .requests("POST", "/3.0/ecommerce/stores/{store_id}/orders"),
        2,
        "a refused POST is not retried"
    );
    let mut changed = order("O-1", 1, "19.99", "19.99");
    changed.financial_status = Some("refunded".into());
    let updated = orders.upsert(&changed).await.unwrap();
    assert_eq!(updated.financial_status.as_deref(), Some("refunded"));
    assert_eq!(fake.snapshot().orders[STORE].len(), 1);

    // An order for a product the store does not have: Invalid Resource naming the line.
    let mut bad = order("O-bad", 1, "1", "1");
    bad.lines[0].product_id = ProductId::from("P-404");
    let err = orders.upsert(&bad).await.unwrap_err();
    assert!(err.is_invalid_resource(), "{err:?}");
    assert_eq!(err.field_errors()[0].field, "lines[0].product_id");

    for n in 2..=7 {
        let mut next = order(&format!("O-{n}"), n, "0.1", &format!("0.{n}"));
        if n == 3 {
            next.campaign_id = Some("camp0001".into());
        }
        orders.upsert(&next).await.unwrap();
    }

    // The store's orders over 3 pages, each once; dates and money decode.
    let all: Vec<_> = orders
        .list()
        .count(3)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["O-1", "O-2", "O-3", "O-4", "O-5", "O-6", "O-7"]);
    assert_eq!(
        fake.stats()
            .requests("GET", "/3.0/ecommerce/stores/{store_id}/orders"),
        3
    );
    let o7 = all.iter().find(|o| o.id.as_str() == "O-7").unwrap();
    assert_eq!(o7.order_total, dec("0.7"));
    assert_eq!(
        o7.lines[0].price * Decimal::from(o7.lines[0].quantity),
        dec("0.7")
    );
    assert_eq!(
        o7.updated_at_foreign.unwrap().to_rfc3339(),
        "2025-03-04T10:05:00+00:00"
    );
    assert_eq!(
        o7.customer.email_address.as_deref(),
        Some("ada@northwind-mfg.com")
    );

    // Filters and the account-wide list.
    let by_campaign = orders.list().campaign_id("camp0001").send().await.unwrap();
    assert_eq!(by_campaign.total_items, 1);
    assert_eq!(by_campaign.items[0].id.as_str(), "O-3");
    let by_customer = orders
        .list()
        .customer_id(&CustomerId::from("C-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_customer.total_items, 7);
    let account_wide: Vec<_> = client
        .ecommerce()
        .orders()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(account_wide.len(), 7);
    assert!(account_wide
        .iter()
        .all(|o| o.store_id.as_ref().map(StoreId::as_str) == Some(STORE)));

    let got = orders.get(&OrderId::from("O-1")).send().await.unwrap();
    assert_eq!(got.order_total, dec("19.99"));
}

#[tokio::test]
async fn a_fully_specified_store_is_created_once_and_then_left_alone() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let mut full = spec(&fake);
    full.platform = Some("ml-connector".into());
    full.domain = Some("shop.example.com".into());
    full.email_address = Some("shop@northwind-mfg.com".into());
    full.money_format = Some("€".into());
    full.primary_locale = Some("fr".into());
    full.timezone = Some("Europe/Paris".into());
    full.phone = Some("+33 1 23 45 67 89".into());
    let mut address = Address::default();
    address.address1 = Some("1 Rue de la Paix".into());
    address.city = Some("Paris".into());
    address.postal_code = Some("75002".into());
    address.country_code = Some("FR".into());
    full.address = Some(address);

    let created = client.ecommerce().ensure_store(&full).await.unwrap();
    assert_eq!(created.outcome, EnsureOutcome::Created);
    assert_eq!(created.store.timezone.as_deref(), Some("Europe/Paris"));
    let snapshot = fake.snapshot();
    assert_eq!(snapshot.stores[0]["address"]["postal_code"], "75002");
    assert_eq!(snapshot.stores[0]["money_format"], "€");

    // Whatever shape the fake answers in, the client must read it back as equal: a re-run of the
    // setup that patched every time would never be a no-op.
    for _ in 0..2 {
        let again = client.ecommerce().ensure_store(&full).await.unwrap();
        assert_eq!(again.outcome, EnsureOutcome::Unchanged);
    }
    assert_eq!(
        fake.stats()
            .requests("PATCH", "/3.0/ecommerce/stores/{store_id}"),
        0
    );
}

#[tokio::test]
async fn every_order_field_the_client_sends_comes_back_equal() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = shop(&fake).await;
    let orders = client.ecommerce().store(&StoreId::from(STORE)).orders();

    let mut full = order("O-full", 2, "19.99", "44.48");
    full.campaign_id = Some("camp0001".into());
    full.fulfillment_status = Some("shipped".into());
    full.discount_total = Some(dec("5.00"));
    full.tax_total = Some(dec("6.51"));
    full.shipping_total = Some(dec("3.99"));
    full.cancelled_at_foreign = Some("2025-03-05T08:30:00+01:00".parse().unwrap());
    full.order_url = Some("https://shop.example.com/orders/O-full".into());
    full.lines[0].discount = Some(dec("1.50"));
    let mut customer = OrderCustomer::new(CustomerId::from("C-1"));
    customer.email_address = Some("ada@northwind-mfg.com".into());
    customer.opt_in_status = Some(true);
    full.customer = customer;
    orders.upsert(&full).await.unwrap();

    let got = orders.get(&OrderId::from("O-full")).send().await.unwrap();
    assert_eq!(got.id, full.id);
    assert_eq!(got.customer.id, full.customer.id);
    assert_eq!(got.currency_code, full.currency_code);
    assert_eq!(got.order_total, full.order_total);
    assert_eq!(got.discount_total, full.discount_total);
    assert_eq!(got.tax_total, full.tax_total);
    assert_eq!(got.shipping_total, full.shipping_total);
    assert_eq!(got.financial_status, full.financial_status);
    assert_eq!(got.fulfillment_status, full.fulfillment_status);
    assert_eq!(got.campaign_id, full.campaign_id);
    assert_eq!(got.order_url, full.order_url);
    assert_eq!(got.processed_at_foreign, full.processed_at_foreign);
    assert_eq!(got.updated_at_foreign, full.updated_at_foreign);
    assert_eq!(got.cancelled_at_foreign, full.cancelled_at_foreign);
    assert_eq!(got.lines.len(), 1);
    let (line, sent) = (&got.lines[0], &full.lines[0]);
    assert_eq!(line.id, sent.id);
    assert_eq!(line.product_id, sent.product_id);
    assert_eq!(line.product_variant_id, sent.product_variant_id);
    assert_eq!(line.quantity, sent.quantity);
    assert_eq!(line.price, sent.price);
    assert_eq!(line.discount, sent.discount);

    // An order with none of the optional fields decodes too (the fake fills in blanks).
    orders
        .upsert(&order("O-bare", 1, "19.99", "19.99"))
        .await
        .unwrap();
    let bare = orders.get(&OrderId::from("O-bare")).send().await.unwrap();
    assert_eq!(bare.cancelled_at_foreign, None);
    assert_eq!(bare.lines[0].discount.unwrap_or_default(), Decimal::ZERO);
}

#[tokio::test]
async fn every_product_and_variant_field_the_client_sends_comes_back_equal() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = shop(&fake).await;
    let products = client.ecommerce().store(&StoreId::from(STORE)).products();

    let mut variant = VariantInput::new(VariantId::from("P-9-A"), "Lamp, brass");
    variant.url = Some("https://shop.example.com/p/9?v=a".into());
    variant.sku = Some("LAMP-B".into());
    variant.price = Some(dec("129.90"));
    variant.inventory_quantity = Some(0);
    variant.image_url = Some("https://shop.example.com/p/9a.png".into());
    variant.backorders = Some("true".into());
    variant.visibility = Some("visible".into());
    let mut product = ProductInput::new(ProductId::from("P-9"), "Lamp", vec![variant.clone()]);
    product.handle = Some("lamp".into());
    product.published_at_foreign = Some("2025-01-02T03:04:05+00:00".parse().unwrap());
    products.upsert(&product).await.unwrap();

    let got = products.get(&ProductId::from("P-9")).send().await.unwrap();
    assert_eq!(got.title, product.title);
    assert_eq!(got.handle, product.handle);
    assert_eq!(got.published_at_foreign, product.published_at_foreign);
    let v = &got.variants[0];
    assert_eq!(v.id, variant.id);
    assert_eq!(v.title, variant.title);
    assert_eq!(v.url, variant.url);
    assert_eq!(v.sku, variant.sku);
    assert_eq!(v.price, variant.price);
    assert_eq!(v.inventory_quantity, variant.inventory_quantity);
    assert_eq!(v.image_url, variant.image_url);
    assert_eq!(v.backorders, variant.backorders);
    assert_eq!(v.visibility, variant.visibility);
}
