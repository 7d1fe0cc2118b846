//! E-commerce: store-first rules, upserts, referential rules, order reads.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use mailchimp_support::Api;
use serde_json::{json, Value};

async fn with_store() -> Api {
    let api = Api::start().await;
    let list = api.list();
    api.post(
        "/ecommerce/stores",
        json!({"id": "shop", "list_id": list, "name": "Shop", "currency_code": "USD", "is_syncing": true}),
    )
    .await
    .ok();
    api
}

fn product(id: &str, variants: &[&str]) -> Value {
    json!({
        "id": id,
        "title": format!("Product {id}"),
        "variants": variants.iter().map(|v| json!({"id": v, "title": format!("Variant {v}"), "price": 9.5})).collect::<Vec<_>>(),
    })
}

fn order(id: &str, customer: &str, product: &str, variant: &str) -> Value {
    json!({
        "id": id,
        "customer": {"id": customer},
        "currency_code": "USD",
        "order_total": 19.0,
        "financial_status": "paid",
        "updated_at_foreign": "2024-05-01T10:00:00+00:00",
        "lines": [{"id": "l1", "product_id": product, "product_variant_id": variant, "quantity": 2, "price": 9.5}],
    })
}

async fn with_catalog() -> Api {
    let api = with_store().await;
    api.put(
        "/ecommerce/stores/shop/customers/C1",
        json!({"id": "C1", "email_address": "c1@northwind-mfg.com", "opt_in_status": true, "first_name": "Cy"}),
    )
    .await
    .ok();
    api.put(
        "/ecommerce/stores/shop/products/P1",
        product("P1", &["V1", "V2"]),
    )
    .await
    .ok();
    api
}

#[tokio::test]
async fn a_store_must_link_an_existing_list_and_keeps_it() {
    let api = Api::start().await;
    let list = api.list();
    let missing = api
        .post(
            "/ecommerce/stores",
            json!({"id": "s", "list_id": "nolist", "name": "S", "currency_code": "USD"}),
        )
        .await;
    assert_eq!(
        missing.problem(400, "Invalid Resource")["errors"][0]["field"],
        "list_id"
    );
    for incomplete in [
        json!({"list_id": list, "name": "S", "currency_code": "USD"}),
        json!({"id": "s", "name": "S", "currency_code": "USD"}),
        json!({"id": "s", "list_id": list, "currency_code": "USD"}),
        json!({"id": "s", "list_id": list, "name": "S"}),
        json!({"id": "s", "list_id": list, "name": "S", "currency_code": "dollars"}),
    ] {
        api.post("/ecommerce/stores", incomplete)
            .await
            .problem(400, "Invalid Resource");
    }
    let created = api
        .post(
            "/ecommerce/stores",
            json!({"id": "s", "list_id": list, "name": "S", "currency_code": "USD", "is_syncing": true}),
        )
        .await;
    let store = created.ok();
    assert_eq!(store["list_id"], list.as_str());
    assert_eq!(store["is_syncing"], true);
    assert!(store["created_at"].is_string());
    api.post(
        "/ecommerce/stores",
        json!({"id": "s", "list_id": list, "name": "Again", "currency_code": "USD"}),
    )
    .await
    .problem(400, "Bad Request");

    let moved = api
        .patch("/ecommerce/stores/s", json!({"list_id": "otherlist"}))
        .await;
    assert_eq!(
        moved.problem(400, "Invalid Resource")["errors"][0]["field"],
        "list_id"
    );
    let patched = api
        .patch(
            "/ecommerce/stores/s",
            json!({"list_id": list, "is_syncing": false, "name": "Renamed"}),
        )
        .await;
    assert_eq!(patched.ok()["is_syncing"], false);
    assert_eq!(patched.ok()["name"], "Renamed");
    assert_eq!(api.get("/ecommerce/stores").await.ok()["total_items"], 1);
    assert_eq!(api.delete("/ecommerce/stores/s").await.status, 204);
    api.get("/ecommerce/stores/s")
        .await
        .problem(404, "Resource Not Found");
}

#[tokio::test]
async fn writes_under_an_unknown_store_are_404() {
    let api = with_store().await;
    let base = "/ecommerce/stores/nostore";
    api.put(
        &format!("{base}/customers/C1"),
        json!({"id": "C1", "opt_in_status": false}),
    )
    .await
    .problem(404, "Resource Not Found");
    api.post(
        &format!("{base}/customers"),
        json!({"id": "C1", "opt_in_status": false}),
    )
    .await
    .problem(404, "Resource Not Found");
    api.put(&format!("{base}/products/P1"), product("P1", &["V1"]))
        .await
        .problem(404, "Resource Not Found");
    api.post(&format!("{base}/orders"), order("O1", "C1", "P1", "V1"))
        .await
        .problem(404, "Resource Not Found");
    api.put(
        &format!("{base}/products/P1/variants/V1"),
        json!({"id": "V1", "title": "t"}),
    )
    .await
    .problem(404, "Resource Not Found");
    assert!(api.fake.snapshot().customers["shop"].is_empty());
}

#[tokio::test]
async fn customers_upsert_by_put_and_post_refuses_duplicates() {
    let api = with_store().await;
    let path = "/ecommerce/stores/shop/customers/C1";
    api.put(path, json!({"id": "C1"}))
        .await
        .problem(400, "Invalid Resource");
    api.put(path, json!({"id": "OTHER", "opt_in_status": true}))
        .await
        .problem(400, "Invalid Resource");
    let created = api
        .put(
            path,
            json!({"id": "C1", "opt_in_status": false, "first_name": "Ada", "company": "Acme"}),
        )
        .await;
    let customer = created.ok();
    assert_eq!(customer["orders_count"], 0);
    assert_eq!(customer["total_spent"], 0.0);
    assert!(customer["created_at"].is_string() && customer["updated_at"].is_string());
    let updated = api
        .put(
            path,
            json!({"id": "C1", "opt_in_status": false, "last_name": "Lovelace"}),
        )
        .await;
    assert_eq!(updated.ok()["first_name"], "Ada");
    assert_eq!(updated.ok()["last_name"], "Lovelace");
    assert_eq!(
        api.fake.snapshot().customers["shop"].len(),
        1,
        "PUT twice, one customer"
    );

    api.post(
        "/ecommerce/stores/shop/customers",
        json!({"id": "C1", "opt_in_status": true}),
    )
    .await
    .problem(400, "Bad Request");
    api.post(
        "/ecommerce/stores/shop/customers",
        json!({"id": "C2", "opt_in_status": true}),
    )
    .await
    .ok();
    api.put(
        "/ecommerce/stores/shop/customers/C3",
        json!({"id": "C3", "opt_in_status": true, "email_address": "broken"}),
    )
    .await
    .problem(400, "Invalid Resource");
    let long_id = "x".repeat(51);
    api.put(
        &format!("/ecommerce/stores/shop/customers/{long_id}"),
        json!({"opt_in_status": true}),
    )
    .await
    .problem(400, "Invalid Resource");

    // A customer without an address may gain one; PATCH cannot change it (see
    // a_customer_email_never_changes for PUT).
    api.put(
        path,
        json!({"id": "C1", "opt_in_status": true, "email_address": "ada@northwind-mfg.com"}),
    )
    .await
    .ok();
    let refused = api
        .patch(
            path,
            json!({"email_address": "new@northwind-mfg.com", "company": "Babbage"}),
        )
        .await;
    assert_eq!(
        refused.problem(400, "Invalid Resource")["detail"],
        "An email address may not be changed once a customer is created."
    );
    let patched = api
        .patch(
            path,
            json!({"email_address": "ADA@northwind-mfg.com", "company": "Babbage"}),
        )
        .await;
    assert_eq!(patched.ok()["email_address"], "ADA@northwind-mfg.com");
    assert_eq!(patched.ok()["company"], "Babbage");
    api.patch(
        "/ecommerce/stores/shop/customers/nobody",
        json!({"company": "x"}),
    )
    .await
    .problem(404, "Resource Not Found");
    assert_eq!(api.delete(path).await.status, 204);
    api.get(path).await.problem(404, "Resource Not Found");
}

#[tokio::test]
async fn a_customer_email_joins_the_audience_without_downgrading_members() {
    let api = with_store().await;
    let list = api.list();
    api.fake
        .seed_member(&list, "unsub@northwind-mfg.com", "unsubscribed")
        .unwrap();
    for (id, email, opt_in) in [
        ("A", "optin@northwind-mfg.com", true),
        ("B", "transact@northwind-mfg.com", false),
        ("C", "unsub@northwind-mfg.com", true),
    ] {
        api.put(
            &format!("/ecommerce/stores/shop/customers/{id}"),
            json!({"id": id, "email_address": email, "opt_in_status": opt_in}),
        )
        .await
        .ok();
    }
    let snapshot = api.fake.snapshot();
    assert_eq!(
        snapshot.member(&list, "optin@northwind-mfg.com").unwrap()["status"],
        "subscribed"
    );
    assert_eq!(
        snapshot
            .member(&list, "transact@northwind-mfg.com")
            .unwrap()["status"],
        "transactional"
    );
    assert_eq!(
        snapshot.member(&list, "unsub@northwind-mfg.com").unwrap()["status"],
        "unsubscribed"
    );
}

#[tokio::test]
async fn products_need_a_variant_and_upsert_by_put() {
    let api = with_store().await;
    let path = "/ecommerce/stores/shop/products/P1";
    api.put(path, json!({"id": "P1", "title": "No variants"}))
        .await
        .problem(400, "Invalid Resource");
    api.put(path, json!({"id": "P1", "title": "Empty", "variants": []}))
        .await
        .problem(400, "Invalid Resource");
    api.put(
        path,
        json!({"id": "P1", "title": "Bad variant", "variants": [{"id": "V1"}]}),
    )
    .await
    .problem(400, "Invalid Resource");
    api.post(
        "/ecommerce/stores/shop/products",
        json!({"id": "P0", "variants": [{"id": "V", "title": "t"}]}),
    )
    .await
    .problem(400, "Invalid Resource");

    let created = api.put(path, product("P1", &["V1"])).await;
    let body = created.ok();
    assert_eq!(body["currency_code"], "USD");
    assert_eq!(body["variants"][0]["id"], "V1");
    assert!(
        body.get("created_at").is_none(),
        "products carry no timestamps"
    );
    assert!(body["variants"][0]["created_at"].is_string());

    // PUT again: fields update, listed variants upsert, others stay.
    let updated = api
        .put(
            path,
            json!({"id": "P1", "title": "Renamed", "variants": [{"id": "V2", "title": "Second"}]}),
        )
        .await;
    let body = updated.ok();
    assert_eq!(body["title"], "Renamed");
    assert_eq!(body["variants"].as_array().unwrap().len(), 2);
    assert_eq!(api.fake.snapshot().products["shop"].len(), 1);

    api.post("/ecommerce/stores/shop/products", product("P1", &["V9"]))
        .await
        .problem(400, "Bad Request");
    let patched = api.patch(path, json!({"vendor": "ACME"})).await;
    assert_eq!(patched.ok()["vendor"], "ACME");
}

#[tokio::test]
async fn variants_have_their_own_endpoints_and_products_embed_at_most_50() {
    let api = with_store().await;
    api.put("/ecommerce/stores/shop/products/P1", product("P1", &["V0"]))
        .await
        .ok();
    let base = "/ecommerce/stores/shop/products/P1/variants";
    for i in 1..60 {
        api.put(
            &format!("{base}/V{i}"),
            json!({"id": format!("V{i}"), "title": format!("v{i}")}),
        )
        .await
        .ok();
    }
    api.put(&format!("{base}/VX"), json!({"id": "VX"}))
        .await
        .problem(400, "Invalid Resource");
    api.post(base, json!({"id": "V1", "title": "dup"}))
        .await
        .problem(400, "Bad Request");
    let updated = api
        .put(&format!("{base}/V1"), json!({"inventory_quantity": 4}))
        .await;
    assert_eq!(updated.ok()["inventory_quantity"], 4);
    assert_eq!(updated.ok()["title"], "v1");
    let patched = api
        .patch(&format!("{base}/V2"), json!({"price": 3.25}))
        .await;
    assert_eq!(patched.ok()["price"], 3.25);
    api.patch(&format!("{base}/nope"), json!({"price": 1}))
        .await
        .problem(404, "Resource Not Found");

    let product = api.get("/ecommerce/stores/shop/products/P1").await;
    assert_eq!(product.ok()["variants"].as_array().unwrap().len(), 50);
    let all = api.get(&format!("{base}?count=1000")).await;
    assert_eq!(all.ok()["total_items"], 60);
    let snapshot = api.fake.snapshot();
    assert_eq!(
        snapshot.variants[&("shop".to_owned(), "P1".to_owned())].len(),
        60
    );
    assert_eq!(
        snapshot.product("shop", "P1").unwrap()["variants"]
            .as_array()
            .unwrap()
            .len(),
        60
    );
    assert_eq!(api.delete(&format!("{base}/V1")).await.status, 204);
    api.get(&format!("{base}/V1"))
        .await
        .problem(404, "Resource Not Found");
}

#[tokio::test]
async fn orders_must_reference_existing_customers_products_and_variants() {
    let api = with_catalog().await;
    let orders = "/ecommerce/stores/shop/orders";
    let unknown_customer = api.post(orders, order("O1", "C9", "P1", "V1")).await;
    assert_eq!(
        unknown_customer.problem(400, "Invalid Resource")["errors"][0]["field"],
        "customer.id"
    );
    let unknown_product = api.post(orders, order("O1", "C1", "P9", "V1")).await;
    assert_eq!(
        unknown_product.problem(400, "Invalid Resource")["errors"][0]["field"],
        "lines[0].product_id"
    );
    let unknown_variant = api.post(orders, order("O1", "C1", "P1", "V9")).await;
    assert_eq!(
        unknown_variant.problem(400, "Invalid Resource")["errors"][0]["field"],
        "lines[0].product_variant_id"
    );
    let mut no_total = order("O1", "C1", "P1", "V1");
    no_total.as_object_mut().unwrap().remove("order_total");
    api.post(orders, no_total)
        .await
        .problem(400, "Invalid Resource");
    assert!(api.fake.snapshot().orders["shop"].is_empty());

    let created = api.post(orders, order("O1", "C1", "P1", "V1")).await;
    let body = created.ok();
    assert_eq!(body["customer"]["email_address"], "c1@northwind-mfg.com");
    assert_eq!(body["lines"][0]["product_title"], "Product P1");
    assert_eq!(body["lines"][0]["product_variant_title"], "Variant V1");
    assert_eq!(body["store_id"], "shop");
    api.post(orders, order("O1", "C1", "P1", "V1"))
        .await
        .problem(400, "Bad Request");

    // PUT upserts; the customer's totals follow.
    api.put(&format!("{orders}/O2"), order("O2", "C1", "P1", "V2"))
        .await
        .ok();
    let mut changed = order("O2", "C1", "P1", "V2");
    changed["order_total"] = json!(40.0);
    api.put(&format!("{orders}/O2"), changed).await.ok();
    let customer = api.get("/ecommerce/stores/shop/customers/C1").await;
    assert_eq!(customer.ok()["orders_count"], 2);
    assert_eq!(customer.ok()["total_spent"], 59.0);
    let patched = api
        .patch(
            &format!("{orders}/O2"),
            json!({"financial_status": "refunded"}),
        )
        .await;
    assert_eq!(patched.ok()["financial_status"], "refunded");
    assert_eq!(patched.ok()["order_total"], 40.0);
}

#[tokio::test]
async fn orders_are_read_per_store_and_account_wide() {
    let api = with_catalog().await;
    let list = api.list();
    api.post(
        "/ecommerce/stores",
        json!({"id": "shop2", "list_id": list, "name": "Second", "currency_code": "EUR"}),
    )
    .await
    .ok();
    api.put(
        "/ecommerce/stores/shop2/customers/K",
        json!({"id": "K", "opt_in_status": false}),
    )
    .await
    .ok();
    api.put("/ecommerce/stores/shop2/products/Q", product("Q", &["W"]))
        .await
        .ok();
    api.put(
        "/ecommerce/stores/shop/customers/C2",
        json!({"id": "C2", "opt_in_status": false}),
    )
    .await
    .ok();
    api.post(
        "/ecommerce/stores/shop/orders",
        order("O1", "C1", "P1", "V1"),
    )
    .await
    .ok();
    api.post(
        "/ecommerce/stores/shop/orders",
        order("O2", "C2", "P1", "V2"),
    )
    .await
    .ok();
    api.post("/ecommerce/stores/shop2/orders", order("X1", "K", "Q", "W"))
        .await
        .ok();

    let store_orders = api.get("/ecommerce/stores/shop/orders").await;
    let body = store_orders.ok();
    assert_eq!(body["total_items"], 2);
    assert_eq!(body["store_id"], "shop");
    let by_customer = api
        .get("/ecommerce/stores/shop/orders?customer_id=C2")
        .await;
    assert_eq!(by_customer.ok()["orders"][0]["id"], "O2");
    assert_eq!(by_customer.ok()["total_items"], 1);

    let all = api.get("/ecommerce/orders").await;
    let ids: Vec<_> = all.ok()["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["store_id"].as_str().unwrap().to_owned(),
                o["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("shop".into(), "O1".into()),
            ("shop".into(), "O2".into()),
            ("shop2".into(), "X1".into())
        ]
    );

    let lines = api.get("/ecommerce/stores/shop/orders/O1/lines").await;
    assert_eq!(lines.ok()["total_items"], 1);
    let line = api.get("/ecommerce/stores/shop/orders/O1/lines/l1").await;
    assert_eq!(line.ok()["quantity"], 2);
    assert_eq!(
        api.delete("/ecommerce/stores/shop/orders/O1").await.status,
        204
    );
    api.get("/ecommerce/stores/shop/orders/O1")
        .await
        .problem(404, "Resource Not Found");
    let snapshot = api.fake.snapshot();
    assert_eq!(snapshot.orders["shop"].len(), 1);
    assert!(snapshot.order("shop2", "X1").is_some());
}

#[tokio::test]
async fn an_order_creates_its_missing_customer_only_when_it_carries_an_address() {
    let api = with_catalog().await;
    let orders = "/ecommerce/stores/shop/orders";
    // No address: the unknown customer is refused, nothing is created.
    api.put(&format!("{orders}/O1"), order("O1", "NEW", "P1", "V1"))
        .await
        .problem(400, "Invalid Resource");
    let has_new = |api: &Api| {
        api.fake.snapshot().customers["shop"]
            .iter()
            .any(|c| c["id"] == "NEW")
    };
    assert!(!has_new(&api));
    let mut with_address = order("O1", "NEW", "P1", "V1");
    with_address["customer"] = json!({"id": "NEW", "email_address": "new@northwind-mfg.com"});
    let created = api.put(&format!("{orders}/O1"), with_address).await;
    assert_eq!(
        created.ok()["customer"]["email_address"],
        "new@northwind-mfg.com"
    );
    assert!(has_new(&api));
    let customer = api.get("/ecommerce/stores/shop/customers/NEW").await;
    assert_eq!(customer.ok()["opt_in_status"], false);
    assert_eq!(customer.ok()["orders_count"], 1);
}

#[tokio::test]
async fn total_spent_is_the_exact_sum_of_the_customers_order_totals_through_updates() {
    let api = with_catalog().await;
    let orders = "/ecommerce/stores/shop/orders";
    // Ten orders of 0.1 sum to 1.0 exactly (binary floating point would give 0.9999999999999999).
    for n in 0..10 {
        let mut o = order(&format!("O{n}"), "C1", "P1", "V1");
        o["order_total"] = json!(0.1);
        api.put(&format!("{orders}/O{n}"), o).await.ok();
    }
    let customer = api.get("/ecommerce/stores/shop/customers/C1").await;
    assert_eq!(customer.ok()["total_spent"], json!(1.0));
    // A cancel sets the order's totals to zero (PATCH keeps the rest); the customer follows.
    api.patch(
        &format!("{orders}/O0"),
        json!({"financial_status": "cancelled", "order_total": 0}),
    )
    .await
    .ok();
    let customer = api.get("/ecommerce/stores/shop/customers/C1").await;
    assert_eq!(customer.ok()["total_spent"], json!(0.9));
    assert_eq!(customer.ok()["orders_count"], 10);
}
