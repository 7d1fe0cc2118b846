//! Orders against a mock Mailchimp: a 3-page stream with filters, the
//! account-wide list, get, PUT and POST, and exact money on the wire.

// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::str::FromStr;

use chrono::DateTime;
use futures::TryStreamExt;
use mailchimp_client::ecommerce::{
    CustomerId, Decimal, OrderCustomer, OrderId, OrderInput, OrderLineInput, StoreId, StoreOrders,
};
use mailchimp_client::{Client, Error};
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_json, body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{client, KEY};

const ORDER: &str = include_str!("fixtures/ecommerce/order.json");
const BASE: &str = "/ecommerce/stores/acme-eu/orders";

fn orders(client: &Client) -> StoreOrders {
    client.ecommerce().store(&StoreId::from("acme-eu")).orders()
}

fn order_json(id: &str) -> Value {
    let mut order: Value = serde_json::from_str(ORDER).unwrap();
    order["id"] = json!(id);
    order
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn new_order() -> OrderInput {
    let mut customer = OrderCustomer::new(CustomerId::from("C-1001"));
    customer.email_address = Some("ada@northwind-mfg.com".into());
    customer.opt_in_status = Some(true);
    let line = OrderLineInput::new(
        "1".into(),
        "WIDGET-1".into(),
        "WIDGET-1-RED".into(),
        3,
        dec("19.99"),
    );
    let mut order = OrderInput::new(
        OrderId::from("SO-1001"),
        customer,
        "EUR",
        dec("19.99") * Decimal::from(3),
        vec![line],
    );
    order.discount_total = Some(dec("0.1"));
    order.shipping_total = Some(dec("0.2"));
    order.tax_total = Some(dec("0.1") + dec("0.2"));
    order.financial_status = Some("paid".into());
    order.processed_at_foreign =
        Some(DateTime::parse_from_rfc3339("2024-05-03T09:00:00+00:00").unwrap());
    order
}

fn expected_body() -> Value {
    json!({
        "id": "SO-1001",
        "customer": {"id": "C-1001", "email_address": "ada@northwind-mfg.com", "opt_in_status": true},
        "currency_code": "EUR",
        "order_total": 59.97,
        "lines": [{"id": "1", "product_id": "WIDGET-1", "product_variant_id": "WIDGET-1-RED",
                   "quantity": 3, "price": 19.99}],
        "financial_status": "paid",
        "discount_total": 0.1,
        "tax_total": 0.3,
        "shipping_total": 0.2,
        "processed_at_foreign": "2024-05-03T09:00:00Z"
    })
}

#[tokio::test]
async fn stream_walks_three_pages_with_filters_each_item_once() {
    let server = MockServer::start().await;
    let ids: Vec<String> = (0..5).map(|i| format!("SO-{i}")).collect();
    for (offset, chunk) in ids.chunks(2).enumerate() {
        let page: Vec<Value> = chunk.iter().map(|id| order_json(id)).collect();
        Mock::given(method("GET"))
            .and(path(BASE))
            .and(basic_auth("anystring", KEY))
            .and(query_param("customer_id", "C-1001"))
            .and(query_param("campaign_id", "839488a60b"))
            .and(query_param("offset", (offset * 2).to_string()))
            .and(query_param("count", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "store_id": "acme-eu", "orders": page, "total_items": 5, "_links": []
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server).await;
    let seen: Vec<_> = orders(&client)
        .list()
        .customer_id(&CustomerId::from("C-1001"))
        .campaign_id("839488a60b")
        .count(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let seen_ids: Vec<String> = seen.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(seen_ids, ids);
    let order = &seen[0];
    assert_eq!(order.order_total, dec("59.97"));
    assert_eq!(order.discount_total, Some(dec("0.1")));
    assert_eq!(order.shipping_total, Some(dec("0.2")));
    assert_eq!(
        order.discount_total.unwrap() + order.shipping_total.unwrap(),
        dec("0.3")
    );
    assert_eq!(order.customer.id.as_str(), "C-1001");
    assert_eq!(order.campaign_id.as_deref(), Some("839488a60b"));
    assert_eq!(order.financial_status.as_deref(), Some("paid"));
    assert_eq!(order.fulfillment_status.as_deref(), Some("shipped"));
    assert!(order.cancelled_at_foreign.is_none());
    assert!(order.updated_at_foreign.is_some());
    let line = &order.lines[0];
    assert_eq!(line.product_title.as_deref(), Some("Widget"));
    assert_eq!(line.product_variant_title.as_deref(), Some("Widget, red"));
    assert_eq!(line.price * Decimal::from(line.quantity), order.order_total);
}

#[tokio::test]
async fn stream_ends_after_the_first_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .and(query_param("offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "orders": [order_json("SO-0")], "total_items": 3
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .and(query_param("offset", "1"))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let mut stream = orders(&client).list().count(1).into_stream();
    assert!(stream.try_next().await.unwrap().is_some());
    assert!(stream.try_next().await.unwrap_err().is_not_found());
    assert!(stream.try_next().await.unwrap().is_none());
}

#[tokio::test]
async fn account_wide_list_reads_store_ids() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ecommerce/orders"))
        .and(query_param("offset", "0"))
        .and(query_param("count", "10"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "orders": [order_json("SO-1")], "total_items": 1, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let page = client.ecommerce().orders().send().await.unwrap();
    assert_eq!(page.total_items, 1);
    assert_eq!(page.items[0].store_id.as_ref().unwrap().as_str(), "acme-eu");
}

#[tokio::test]
async fn upsert_puts_exact_amounts_as_json_numbers() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{BASE}/SO-1001")))
        .and(basic_auth("anystring", KEY))
        .and(body_json(expected_body()))
        // The amounts travel as the same decimal text, not as binary noise.
        .and(body_string_contains("\"order_total\":59.97"))
        .and(body_string_contains("\"tax_total\":0.3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_json("SO-1001")))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let saved = orders(&client).upsert(&new_order()).await.unwrap();
    assert_eq!(saved.order_total, dec("59.97"));
}

#[tokio::test]
async fn create_posts_the_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BASE))
        .and(basic_auth("anystring", KEY))
        .and(body_json(expected_body()))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_json("SO-1001")))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let created = orders(&client).create(&new_order()).await.unwrap();
    assert_eq!(created.id.as_str(), "SO-1001");
}

#[tokio::test]
async fn create_is_checked_before_any_request_and_errors_map() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "type": "t", "title": "Invalid Resource", "status": 400,
            "detail": "An order with id SO-1001 already exists.", "instance": "i"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let mut no_lines = new_order();
    no_lines.lines.clear();
    let err = orders(&client).create(&no_lines).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "order.lines"));
    let mut bad_currency = new_order();
    bad_currency.currency_code = "€".into();
    assert!(orders(&client).upsert(&bad_currency).await.is_err());
    let err = orders(&client).create(&new_order()).await.unwrap_err();
    assert!(err.is_invalid_resource());
}

#[tokio::test]
async fn get_one_order() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/SO-7")))
        .and(query_param("fields", "id,order_total"))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_json("SO-7")))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let order = orders(&client)
        .get(&OrderId::from("SO-7"))
        .fields(["id", "order_total"])
        .send()
        .await
        .unwrap();
    assert_eq!(order.id.as_str(), "SO-7");
}

#[tokio::test]
async fn update_patches_the_fields_without_the_id() {
    let server = MockServer::start().await;
    let mut body = expected_body();
    body.as_object_mut().unwrap().remove("id");
    Mock::given(method("PATCH"))
        .and(path(format!("{BASE}/SO-1001")))
        .and(basic_auth("anystring", KEY))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_json("SO-1001")))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let updated = orders(&client).update(&new_order()).await.unwrap();
    assert_eq!(updated.id.as_str(), "SO-1001");
}

#[tokio::test]
async fn update_of_an_unknown_order_is_not_found_and_bad_input_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!("{BASE}/SO-1001")))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let mut no_lines = new_order();
    no_lines.lines.clear();
    let err = orders(&client).update(&no_lines).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "order.lines"));
    let err = orders(&client).update(&new_order()).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}
