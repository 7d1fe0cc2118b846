//! One odd item never fails a page: the others decode, the odd one is reported with its raw JSON,
//! and streams go on past it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use futures::StreamExt;
use mailchimp_client::ecommerce::StoreId;
use mailchimp_client::Error;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORDERS: &str = "/ecommerce/stores/acme-eu/orders";

fn order(id: &str) -> Value {
    let mut order: Value =
        serde_json::from_str(include_str!("fixtures/ecommerce/order.json")).unwrap();
    order["id"] = json!(id);
    order
}

/// An order whose total is not a number (a shape this crate cannot take).
fn odd_order(id: &str) -> Value {
    let mut order = order(id);
    order["order_total"] = json!({"amount": "59.97"});
    order
}

async fn mount_page(server: &MockServer, offset: &str, orders: Vec<Value>, total: u64) {
    Mock::given(method("GET"))
        .and(path(ORDERS))
        .and(query_param("offset", offset))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "store_id": "acme-eu", "orders": orders, "total_items": total, "_links": []
        })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_page_with_one_odd_order_keeps_the_others_and_reports_it() {
    let server = MockServer::start().await;
    mount_page(
        &server,
        "20",
        vec![order("SO-1"), odd_order("SO-2"), order("SO-3")],
        23,
    )
    .await;
    let page = common::client(&server)
        .await
        .ecommerce()
        .store(&StoreId::from("acme-eu"))
        .orders()
        .list()
        .offset(20)
        .count(3)
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = page.items.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["SO-1", "SO-3"]);
    assert_eq!(
        page.items[0].order_total.to_string(),
        "59.97",
        "amounts stay exact"
    );
    assert_eq!(page.total_items, 23);
    assert_eq!(page.len_sent(), 3);
    let odd = &page.undecoded[0];
    assert_eq!(odd.position, 21);
    assert_eq!(odd.id.as_deref(), Some("SO-2"));
    assert_eq!(odd.raw["order_total"], json!({"amount": "59.97"}));
    assert!(odd
        .excerpt()
        .contains(r#""order_total":{"amount":"59.97"}"#));
    assert!(!odd.reason.is_empty());
}

#[tokio::test]
async fn a_stream_yields_the_odd_item_as_an_error_and_goes_on() {
    let server = MockServer::start().await;
    mount_page(&server, "0", vec![order("SO-1"), odd_order("SO-2")], 3).await;
    mount_page(&server, "2", vec![order("SO-3")], 3).await;
    let results: Vec<_> = common::client(&server)
        .await
        .ecommerce()
        .store(&StoreId::from("acme-eu"))
        .orders()
        .list()
        .count(2)
        .into_stream()
        .collect()
        .await;
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap().id.as_str(), "SO-1");
    let err = results[1].as_ref().unwrap_err();
    assert!(matches!(err, Error::UndecodedItem(_)), "{err:?}");
    assert_eq!(err.undecoded_item().unwrap().id.as_deref(), Some("SO-2"));
    assert!(err.to_string().contains("list item 1 (id SO-2)"), "{err}");
    assert_eq!(results[2].as_ref().unwrap().id.as_str(), "SO-3");
}

#[tokio::test]
async fn a_body_that_is_not_a_collection_is_still_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ORDERS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"orders": "nope"})))
        .expect(1)
        .mount(&server)
        .await;
    let err = common::client(&server)
        .await
        .ecommerce()
        .store(&StoreId::from("acme-eu"))
        .orders()
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}
