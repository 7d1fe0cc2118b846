//! Retries: which failures are retried, `Retry-After`, exhaustion, and
//! which methods are never retried. Counts requests; no wall-clock asserts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use std::time::Duration;

use mailchimp_client::{
    BatchMember, Client, Credentials, Error, ListId, MemberStatus, MergeFieldType, RetryConfig,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn client(server: &MockServer, retry: RetryConfig) -> Client {
    common::catch_all(server).await;
    Client::builder(Credentials::api_key(common::KEY))
        .base_url(server.uri())
        .retry(retry)
        .build()
        .await
        .unwrap()
}

fn too_many() -> ResponseTemplate {
    common::problem(
        429,
        "TooManyRequests",
        "You have exceeded the limit of 10 simultaneous connections.",
    )
}

fn ok_ping() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"health_status": "Everything's Chimpy!"}))
}

/// Mounts `first` for the first `n` requests to `GET /ping`, then `then`.
async fn ping_sequence(
    server: &MockServer,
    first: ResponseTemplate,
    n: u64,
    then: ResponseTemplate,
    total: u64,
) {
    Mock::given(method("GET"))
        .and(path("/ping"))
        .respond_with(first)
        .up_to_n_times(n)
        .with_priority(1)
        .expect(n)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ping"))
        .respond_with(then)
        .with_priority(2)
        .expect(total - n)
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_response_counts_say_each_status_and_the_retries() {
    let server = MockServer::start().await;
    ping_sequence(&server, too_many(), 2, ok_ping(), 3).await;
    let client = client(&server, common::fast_retry(5)).await;
    client.ping().await.unwrap();
    let counts = client.clone().response_counts();
    assert_eq!(counts.by_status.get(&429), Some(&2));
    assert_eq!(counts.by_status.get(&200), Some(&1));
    assert_eq!(counts.retries, 2);
    assert_eq!(counts.transport_errors, 0);

    // Nothing listens: each attempt is a transport error.
    let closed = Client::builder(Credentials::api_key(common::KEY))
        .base_url("http://127.0.0.1:9")
        .retry(common::fast_retry(1))
        .build()
        .await
        .unwrap();
    assert!(closed.ping().await.is_err());
    let counts = closed.response_counts();
    assert!(counts.by_status.is_empty(), "{counts:?}");
    assert_eq!(counts.transport_errors, 1 + counts.retries, "{counts:?}");
}

#[tokio::test]
async fn two_429s_then_success_takes_three_requests() {
    let server = MockServer::start().await;
    ping_sequence(&server, too_many(), 2, ok_ping(), 3).await;
    let client = client(&server, common::fast_retry(5)).await;
    assert_eq!(
        client.ping().await.unwrap().health_status,
        "Everything's Chimpy!"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn retry_after_replaces_the_backoff() {
    // The backoff would be an hour; `Retry-After: 0` must win. The timeout
    // only turns a regression into a failure instead of a hang.
    let server = MockServer::start().await;
    ping_sequence(
        &server,
        too_many().insert_header("retry-after", "0"),
        1,
        ok_ping(),
        2,
    )
    .await;
    let retry = RetryConfig::new()
        .with_base_delay(Duration::from_secs(3600))
        .with_max_delay(Duration::from_secs(3600));
    let client = client(&server, retry).await;
    let result = tokio::time::timeout(Duration::from_secs(60), client.ping()).await;
    assert!(result.expect("Retry-After was not honoured").is_ok());
}

#[tokio::test]
async fn exhausted_429s_become_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(path("/ping"))
        .respond_with(too_many())
        .expect(3)
        .mount(&server)
        .await;
    let client = client(&server, common::fast_retry(3)).await;
    let err = client.ping().await.unwrap_err();
    match &err {
        Error::RateLimited { attempts, last } => {
            assert_eq!(*attempts, 3);
            assert_eq!(last.status(), Some(429));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.is_rate_limited() && err.is_retryable());
    assert_eq!(err.problem().unwrap().title, "TooManyRequests");
}

#[tokio::test]
async fn server_errors_and_bare_403_are_retried() {
    for first in [
        ResponseTemplate::new(500).set_body_json(json!({"type": "t", "title": "InternalServerError", "status": 500, "detail": "d", "instance": ""})),
        ResponseTemplate::new(502).set_body_string("<html><body>Bad Gateway</body></html>"),
        ResponseTemplate::new(503),
        ResponseTemplate::new(403),
    ] {
        let server = MockServer::start().await;
        ping_sequence(&server, first, 1, ok_ping(), 2).await;
        let client = client(&server, common::fast_retry(3)).await;
        client.ping().await.unwrap();
    }
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for response in [
        common::problem(400, "Bad Request", "nope"),
        common::problem(403, "Forbidden", "You don't have permission"),
        common::not_found(),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/ping"))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let client = client(&server, common::fast_retry(5)).await;
        let err = client.ping().await.unwrap_err();
        assert!(!err.is_retryable(), "{err:?}");
    }
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    // A port with nothing listening: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(Credentials::api_key(common::KEY))
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(common::fast_retry(2))
        .build()
        .await
        .unwrap();
    let err = client.ping().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_plain_post_is_never_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/lists/l1/merge-fields"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, common::fast_retry(5)).await;
    let err = client
        .list(&ListId::from("l1"))
        .merge_fields()
        .create("Shoe size", MergeFieldType::Number)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
}

#[tokio::test]
async fn batch_subscribe_with_update_existing_is_retried() {
    let server = MockServer::start().await;
    let report = json!({"new_members": [], "updated_members": [], "errors": [], "total_created": 0, "total_updated": 1, "error_count": 0});
    Mock::given(method("POST"))
        .and(path("/lists/l1"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/lists/l1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(report))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, common::fast_retry(3)).await;
    let list = client.list(&ListId::from("l1"));
    let out = list
        .batch_subscribe(vec![BatchMember::new(
            "a@northwind-mfg.com",
            MemberStatus::Subscribed,
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(out.total_updated, 1);
}

#[tokio::test]
async fn batch_subscribe_without_update_existing_is_retried_too() {
    // Safe: a member the first attempt added comes back as "contact exists".
    let server = MockServer::start().await;
    let report = json!({"new_members": [{"email_address": "ada@northwind-mfg.com", "status": "subscribed"}],
        "updated_members": [], "errors": [], "total_created": 1, "total_updated": 0, "error_count": 0});
    Mock::given(method("POST"))
        .and(path("/lists/l1"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/lists/l1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(report))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, common::fast_retry(3)).await;
    let out = client
        .list(&ListId::from("l1"))
        .batch_subscribe(vec![BatchMember::new(
            "ada@northwind-mfg.com",
            MemberStatus::Subscribed,
        )])
        .update_existing(false)
        .send()
        .await
        .unwrap();
    assert_eq!(out.total_created, 1);
}

#[tokio::test]
async fn batch_subscribe_gives_up_after_the_policy_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/lists/l1"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let client = client(&server, common::fast_retry(3)).await;
    let err = client
        .list(&ListId::from("l1"))
        .batch_subscribe(vec![BatchMember::new(
            "ada@northwind-mfg.com",
            MemberStatus::Subscribed,
        )])
        .update_existing(false)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let server = MockServer::start().await;
    common::catch_all(&server).await;
    Mock::given(path("/ping"))
        .respond_with(ok_ping().set_delay(Duration::from_secs(10)))
        .expect(2)
        .mount(&server)
        .await;
    let client = Client::builder(Credentials::api_key(common::KEY))
        .base_url(server.uri())
        .timeout(Duration::from_millis(50))
        .retry(common::fast_retry(2))
        .build()
        .await
        .unwrap();
    let err = client.ping().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.is_retryable());
}
