//! Inspection: request counts by route, write counts, the state snapshot, reset.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use mailchimp_support::Api;
use serde_json::json;

const MEMBER_ROUTE: &str = "/3.0/lists/{list_id}/members/{subscriber_hash}";

#[tokio::test]
async fn requests_are_counted_by_method_and_route_pattern() {
    let api = Api::start().await;
    let list = api.list();
    for email in ["a@northwind-mfg.com", "b@northwind-mfg.com"] {
        api.put(
            &format!("/lists/{list}/members/{email}"),
            json!({"email_address": email, "status_if_new": "subscribed"}),
        )
        .await
        .ok();
    }
    api.get(&format!("/lists/{list}/members/a@northwind-mfg.com"))
        .await
        .ok();
    api.get("/ping").await.ok();
    let stats = api.fake.stats();
    assert_eq!(stats.requests("PUT", MEMBER_ROUTE), 2);
    assert_eq!(stats.requests("GET", MEMBER_ROUTE), 1);
    assert_eq!(stats.requests("GET", "/3.0/ping"), 1);
    let snapshot = stats.snapshot();
    assert_eq!(snapshot.total, 4);
    assert_eq!(snapshot.writes, 2);
    assert_eq!(snapshot.successful_writes, 2);
}

#[tokio::test]
async fn refused_writes_count_as_writes_but_not_successful_ones() {
    let api = Api::start().await;
    let list = api.list();
    api.fake
        .seed_member(&list, "c@northwind-mfg.com", "cleaned")
        .unwrap();
    api.put(
        &format!("/lists/{list}/members/c@northwind-mfg.com"),
        json!({"status": "subscribed"}),
    )
    .await
    .problem(400, "Member In Compliance State");
    let unauthenticated = api
        .http
        .put(api.url(&format!("/lists/{list}/members/c@northwind-mfg.com")))
        .json(&json!({"status": "unsubscribed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
    let snapshot = api.fake.stats().snapshot();
    assert_eq!(snapshot.writes, 2);
    assert_eq!(snapshot.successful_writes, 0);
    assert_eq!(snapshot.statuses.get(&400), Some(&1));
    assert_eq!(snapshot.statuses.get(&401), Some(&1));
}

#[tokio::test]
async fn the_snapshot_holds_every_collection() {
    let api = Api::start().await;
    let list = api.list();
    api.fake
        .seed_member(&list, "m@northwind-mfg.com", "subscribed")
        .unwrap();
    api.fake.forget_email(&list, "f@northwind-mfg.com").unwrap();
    api.post(
        &format!("/lists/{list}/webhooks"),
        json!({"url": "http://127.0.0.1:9/h"}),
    )
    .await
    .ok();
    api.post(
        "/ecommerce/stores",
        json!({"id": "s", "list_id": list, "name": "S", "currency_code": "USD"}),
    )
    .await
    .ok();
    api.put(
        "/ecommerce/stores/s/customers/c",
        json!({"id": "c", "opt_in_status": false}),
    )
    .await
    .ok();
    api.put(
        "/ecommerce/stores/s/products/p",
        json!({"id": "p", "title": "P", "variants": [{"id": "v", "title": "V"}]}),
    )
    .await
    .ok();
    api.put(
        "/ecommerce/stores/s/orders/o",
        json!({"id": "o", "customer": {"id": "c"}, "currency_code": "USD", "order_total": 1.0,
               "lines": [{"id": "l", "product_id": "p", "product_variant_id": "v", "quantity": 1, "price": 1.0}]}),
    )
    .await
    .ok();

    let snapshot = api.fake.snapshot();
    assert_eq!(snapshot.lists.len(), 1);
    assert_eq!(snapshot.lists[0]["stats"]["member_count"], 1);
    assert!(snapshot.member(&list, "M@northwind-mfg.com").is_some());
    assert_eq!(snapshot.forgotten[&list].len(), 1);
    assert_eq!(snapshot.webhooks[&list].len(), 1);
    assert!(snapshot.webhooks[&list][0].get("signing_secret").is_none());
    assert_eq!(snapshot.stores[0]["id"], "s");
    assert_eq!(snapshot.customer("s", "c").unwrap()["orders_count"], 1);
    assert_eq!(
        snapshot.product("s", "p").unwrap()["variants"][0]["id"],
        "v"
    );
    assert_eq!(
        snapshot.variants[&("s".to_owned(), "p".to_owned())].len(),
        1
    );
    assert_eq!(snapshot.order("s", "o").unwrap()["order_total"], 1.0);
    assert_eq!(
        snapshot.record_count(),
        5,
        "member, customer, product, variant, order"
    );
}

#[tokio::test]
async fn reset_stats_keeps_data_and_reset_restores_the_start() {
    let api = Api::start().await;
    let list = api.list();
    api.post(
        &format!("/lists/{list}/members"),
        json!({"email_address": "a@northwind-mfg.com", "status": "subscribed"}),
    )
    .await
    .ok();
    api.fake.reset_stats();
    assert_eq!(api.fake.stats().total(), 0);
    assert_eq!(api.fake.peak_concurrency(), 0);
    assert_eq!(api.fake.snapshot().members[&list].len(), 1);

    api.fake.reset();
    let snapshot = api.fake.snapshot();
    assert!(snapshot.members[&list].is_empty());
    assert_eq!(snapshot.lists.len(), 1, "configured lists stay");
    assert_eq!(api.fake.stats().writes(), 0);
    // The fake still serves after a reset.
    api.get("/ping").await.ok();
}

#[tokio::test]
async fn seeding_helpers_bypass_the_api_and_reject_what_cannot_exist() {
    let api = Api::start().await;
    let list = api.list();
    api.fake.seed_store("shop", &list, "EUR").unwrap();
    assert!(matches!(
        api.fake.seed_store("shop", &list, "EUR"),
        Err(testkit::Error::Seed(_))
    ));
    for (store, list_id, currency) in [("s2", "nolist", "EUR"), ("s3", list.as_str(), "euro")] {
        let error = api.fake.seed_store(store, list_id, currency).unwrap_err();
        assert!(error.to_string().contains(store), "{error}");
    }
    assert!(api
        .fake
        .seed_member(&list, "x@northwind-mfg.com", "vip")
        .is_err());
    assert!(api
        .fake
        .seed_member(&list, "not-an-email", "subscribed")
        .is_err());
    assert!(api
        .fake
        .seed_member("nolist", "x@northwind-mfg.com", "subscribed")
        .is_err());
    assert!(api
        .fake
        .forget_email("nolist", "x@northwind-mfg.com")
        .is_err());

    // Seeding a forgotten email brings it back; forgetting a member removes it.
    api.fake.forget_email(&list, "f@northwind-mfg.com").unwrap();
    api.fake
        .seed_member(&list, "f@northwind-mfg.com", "archived")
        .unwrap();
    let snapshot = api.fake.snapshot();
    assert!(snapshot.forgotten[&list].is_empty());
    assert_eq!(
        snapshot.member(&list, "f@northwind-mfg.com").unwrap()["status"],
        "archived"
    );
    api.fake.forget_email(&list, "f@northwind-mfg.com").unwrap();
    assert!(api
        .fake
        .snapshot()
        .member(&list, "f@northwind-mfg.com")
        .is_none());

    assert_eq!(
        api.get("/ecommerce/stores/shop").await.ok()["currency_code"],
        "EUR"
    );
    assert_eq!(api.fake.stats().writes(), 0, "seeding is not counted");
}

#[tokio::test]
async fn a_fixed_port_can_be_chosen() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let fake = testkit::FakeMailchimp::builder()
        .port(port)
        .start()
        .await
        .unwrap();
    assert_eq!(fake.base_url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(fake.api_url(), format!("http://127.0.0.1:{port}/3.0"));
    // The port is taken now: a second fake on it fails to bind.
    let taken = testkit::FakeMailchimp::builder().port(port).start().await;
    assert!(matches!(taken, Err(testkit::Error::Bind(_))));
}
