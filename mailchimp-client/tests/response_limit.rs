//! Response bodies are read under a size cap: a larger one is a typed error, not retried and
//! not held in memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{catch_all, KEY};
use mailchimp_client::{Client, Credentials, Error, ListId};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn capped(server: &MockServer, max: usize) -> Client {
    catch_all(server).await;
    Client::builder(Credentials::api_key(KEY))
        .base_url(server.uri())
        .max_response_bytes(max)
        .build()
        .await
        .unwrap()
}

fn big_list() -> serde_json::Value {
    json!({"id": "a1b2c3d4e5", "name": "n".repeat(200_000), "stats": {"member_count": 1}})
}

#[tokio::test]
async fn a_body_above_the_cap_is_refused_without_retrying() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/lists/a1b2c3d4e5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(big_list()))
        .expect(1)
        .mount(&server)
        .await;
    let client = capped(&server, 64 * 1024).await;
    let err = client
        .list(&ListId::from("a1b2c3d4e5"))
        .get()
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::ResponseTooLarge { limit } => assert_eq!(*limit, 64 * 1024),
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("65536"), "{err}");
}

#[tokio::test]
async fn a_body_under_the_cap_is_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/lists/a1b2c3d4e5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(big_list()))
        .expect(1)
        .mount(&server)
        .await;
    let client = capped(&server, 1024 * 1024).await;
    let list = client
        .list(&ListId::from("a1b2c3d4e5"))
        .get()
        .send()
        .await
        .unwrap();
    assert_eq!(list.id.as_str(), "a1b2c3d4e5");
}
