//! Offset/count pagination, `total_items`, stable order, partial responses.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use mailchimp_support::Api;
use serde_json::json;

async fn seeded(n: usize) -> Api {
    let api = Api::start().await;
    let list = api.list();
    for i in 0..n {
        api.fake
            .seed_member(&list, &format!("m{i:04}@northwind-mfg.com"), "subscribed")
            .unwrap();
    }
    api
}

fn emails(body: &serde_json::Value) -> Vec<String> {
    body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email_address"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pages_cover_every_item_once_in_a_stable_order() {
    let api = seeded(25).await;
    let list = api.list();
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let reply = api
            .get(&format!("/lists/{list}/members?offset={offset}&count=10"))
            .await;
        let body = reply.ok();
        assert_eq!(body["total_items"], 25);
        let page = emails(body);
        if page.is_empty() {
            break;
        }
        offset += page.len();
        seen.extend(page);
    }
    let expected: Vec<String> = (0..25)
        .map(|i| format!("m{i:04}@northwind-mfg.com"))
        .collect();
    assert_eq!(seen, expected);

    // Asking again gives the same order.
    let again = api
        .get(&format!("/lists/{list}/members?offset=10&count=5"))
        .await;
    assert_eq!(emails(again.ok()), expected[10..15]);
}

#[tokio::test]
async fn count_defaults_to_10_and_caps_at_1000() {
    let api = seeded(12).await;
    let list = api.list();
    let default = api.get(&format!("/lists/{list}/members")).await;
    assert_eq!(emails(default.ok()).len(), 10);
    let max = api.get(&format!("/lists/{list}/members?count=1000")).await;
    assert_eq!(emails(max.ok()).len(), 12);
    let over = api.get(&format!("/lists/{list}/members?count=1001")).await;
    assert_eq!(
        over.problem(400, "Invalid Resource")["errors"][0]["field"],
        "count"
    );
    api.get(&format!("/lists/{list}/members?offset=abc"))
        .await
        .problem(400, "Invalid Resource");
    let beyond = api.get(&format!("/lists/{list}/members?offset=100")).await;
    assert_eq!(beyond.ok()["total_items"], 12);
    assert!(emails(beyond.ok()).is_empty());
}

#[tokio::test]
async fn every_collection_pages_the_same_way() {
    let api = Api::start().await;
    let list = api.list();
    api.post(
        "/ecommerce/stores",
        json!({"id": "s1", "list_id": list, "name": "S", "currency_code": "EUR"}),
    )
    .await
    .ok();
    for i in 0..3 {
        api.put(
            &format!("/ecommerce/stores/s1/customers/c{i}"),
            json!({"id": format!("c{i}"), "opt_in_status": false}),
        )
        .await
        .ok();
    }
    for path in [
        "/lists",
        "/ecommerce/stores",
        "/ecommerce/stores/s1/customers",
        "/ecommerce/stores/s1/products",
        "/ecommerce/stores/s1/orders",
        "/ecommerce/orders",
    ] {
        let over = api.get(&format!("{path}?count=5000")).await;
        over.problem(400, "Invalid Resource");
        let page = api.get(&format!("{path}?count=1")).await;
        assert!(page.ok()["total_items"].is_u64(), "{path}");
    }
    let customers = api
        .get("/ecommerce/stores/s1/customers?offset=1&count=1")
        .await;
    let body = customers.ok();
    assert_eq!(body["total_items"], 3);
    assert_eq!(body["customers"][0]["id"], "c1");
}

#[tokio::test]
async fn fields_and_exclude_fields_trim_responses() {
    let api = seeded(2).await;
    let list = api.list();
    let reply = api
        .get(&format!(
            "/lists/{list}/members?fields=members.email_address,total_items"
        ))
        .await;
    assert_eq!(
        reply.ok(),
        &json!({"members": [{"email_address": "m0000@northwind-mfg.com"}, {"email_address": "m0001@northwind-mfg.com"}], "total_items": 2})
    );
    let reply = api
        .get(&format!(
            "/lists/{list}/members?exclude_fields=members,_links"
        ))
        .await;
    assert_eq!(reply.ok(), &json!({"list_id": list, "total_items": 2}));
    api.get(&format!("/lists/{list}/members?fields=a&exclude_fields=b"))
        .await
        .problem(400, "Bad Request");
}
