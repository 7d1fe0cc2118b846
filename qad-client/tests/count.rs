//! `Browse::total` / `Reader::total` against wiremock: the count endpoint is
//! asked with the read's browse id, filters and domain scope; each answer
//! shape, a missing endpoint and garbage give a total or `None`, and only a
//! failing tenant gives an error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use qad_client::{Behaviour, Client, FilterOp};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "urn:browse:bebrowse:com.qad.erp.base.customers";

fn count_path() -> String {
    format!("{}/totalCount/", browse_path())
}

async fn setup(pairs: &[(&str, &str)]) -> (MockServer, Client) {
    setup_logins(pairs, 1).await
}

/// A client for `pairs`, expecting `logins` token requests.
async fn setup_logins(pairs: &[(&str, &str)], logins: u64) -> (MockServer, Client) {
    let server = MockServer::start().await;
    mount_token(&server, "tok", logins).await;
    let mut behaviour = Behaviour::default();
    for (name, value) in pairs {
        behaviour.set(name, value).unwrap();
    }
    let client = builder(&server, oauth())
        .domain("10USA")
        .behaviour(behaviour)
        .build()
        .unwrap();
    (server, client)
}

async fn answer(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(count_path()))
        .and(query_param("browseId", ID))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn total_of(body: Value) -> Option<u64> {
    let (server, client) = setup(&[]).await;
    answer(&server, ResponseTemplate::new(200).set_body_json(body)).await;
    client.customers().total().await.unwrap()
}

#[tokio::test]
async fn every_accepted_shape_gives_the_total() {
    assert_eq!(total_of(json!(42)).await, Some(42));
    assert_eq!(total_of(json!({"totalCount": 42})).await, Some(42));
    assert_eq!(total_of(json!({"count": 7})).await, Some(7));
    assert_eq!(total_of(json!({"total": "9", "x": true})).await, Some(9));
    assert_eq!(total_of(json!({"data": 3})).await, Some(3));
    assert_eq!(total_of(json!({"data": {"totalCount": 5}})).await, Some(5));
    assert_eq!(total_of(json!({"rowCount": 11})).await, Some(11));
}

#[tokio::test]
async fn an_unrecognised_shape_is_no_total() {
    assert_eq!(total_of(json!({"a": 1, "b": 2})).await, None);
    assert_eq!(total_of(json!([1])).await, None);
    assert_eq!(total_of(json!(-4)).await, None);
    assert_eq!(total_of(json!({"totalCount": "many"})).await, None);
}

#[tokio::test]
async fn a_missing_endpoint_is_no_total() {
    for status in [404, 405] {
        let (server, client) = setup(&[]).await;
        answer(&server, ResponseTemplate::new(status)).await;
        assert_eq!(client.customers().total().await.unwrap(), None, "{status}");
    }
}

#[tokio::test]
async fn a_failing_tenant_or_garbage_is_an_error() {
    let (server, client) = setup(&[]).await;
    answer(&server, ResponseTemplate::new(500)).await;
    let err = client.customers().total().await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err}");

    let (server, client) = setup(&[]).await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_string("<html>oops"),
    )
    .await;
    let err = client.customers().total().await.unwrap_err();
    assert!(matches!(err, qad_client::Error::Decode { .. }), "{err}");
    assert!(err.to_string().contains("total count"), "{err}");
}

#[tokio::test]
async fn the_count_is_asked_with_the_reads_filters_and_scope() {
    let (server, client) = setup(&[("scope.domain", "filter")]).await;
    answer(&server, ResponseTemplate::new(200).set_body_json(json!(2))).await;
    let reader = client
        .customers()
        .filter("city", FilterOp::Eq, "Oslo")
        .count(50);
    assert_eq!(reader.total().await.unwrap(), Some(2));
    let requests = server.received_requests().await.unwrap();
    let asked = requests
        .iter()
        .find(|r| r.url.path() == count_path())
        .unwrap();
    assert_eq!(
        query_values(asked, "filter"),
        [
            "customer.city,eq,Oslo,literal",
            "customer.domainCode,eq,10USA,literal"
        ]
    );
    assert!(query_values(asked, "page").is_empty());
    assert!(query_values(asked, "domainCode").is_empty());

    // The default scope sends the domain as a parameter.
    let (server, client) = setup(&[]).await;
    answer(&server, ResponseTemplate::new(200).set_body_json(json!(2))).await;
    client.customers().total().await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let asked = requests
        .iter()
        .find(|r| r.url.path() == count_path())
        .unwrap();
    assert_eq!(query_values(asked, "domainCode"), ["10USA"]);
}

#[tokio::test]
async fn count_endpoint_none_never_asks() {
    let (server, client) = setup_logins(&[("count.endpoint", "none")], 0).await;
    answer(&server, ResponseTemplate::new(200).set_body_json(json!(2))).await;
    assert_eq!(client.customers().total().await.unwrap(), None);
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.url.path() != count_path()));
}
