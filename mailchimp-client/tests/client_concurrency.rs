//! The concurrency cap, measured on the server side: a tiny axum server
//! counts requests in flight while each one takes 200 ms.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use futures::future::join_all;
use mailchimp_client::{Client, Credentials, RetryConfig};
use serde_json::{json, Value};

#[derive(Default)]
struct Gauge {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    total: AtomicUsize,
}

async fn slow_ping(State(gauge): State<Arc<Gauge>>) -> Json<Value> {
    let now = gauge.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    gauge.peak.fetch_max(now, Ordering::SeqCst);
    gauge.total.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    gauge.in_flight.fetch_sub(1, Ordering::SeqCst);
    Json(json!({"health_status": "Everything's Chimpy!"}))
}

async fn serve() -> (String, Arc<Gauge>) {
    let gauge = Arc::new(Gauge::default());
    let app = Router::new()
        .route("/ping", get(slow_ping))
        .with_state(gauge.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), gauge)
}

async fn run_50(max: Option<usize>) -> (usize, Arc<Gauge>) {
    let (base, gauge) = serve().await;
    let mut builder = Client::builder(Credentials::api_key("0123456789abcdef-us6"))
        .base_url(base)
        .retry(RetryConfig::disabled());
    if let Some(max) = max {
        builder = builder.max_concurrency(max);
    }
    let client = builder.build().await.unwrap();
    // Every call goes through its own clone: the cap is shared.
    let calls = (0..50).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.ping().await })
    });
    for result in join_all(calls).await {
        result.unwrap().unwrap();
    }
    (client.max_concurrency(), gauge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn default_cap_of_10_is_never_exceeded() {
    let (cap, gauge) = run_50(None).await;
    assert_eq!(cap, 10);
    assert_eq!(gauge.total.load(Ordering::SeqCst), 50);
    let peak = gauge.peak.load(Ordering::SeqCst);
    assert!(peak <= 10, "peak {peak} in flight");
    // The cap, not the test, was the limit: calls did overlap up to it.
    assert_eq!(peak, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn configured_cap_is_never_exceeded() {
    let (cap, gauge) = run_50(Some(3)).await;
    assert_eq!(cap, 3);
    assert_eq!(gauge.total.load(Ordering::SeqCst), 50);
    assert_eq!(gauge.peak.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_429_halves_the_cap_and_successes_grow_it_back() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ping"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": "Too Many Requests", "status": 429,
            "detail": "You have exceeded the limit of 10 simultaneous connections.",
            "instance": "i-1"
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ping"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"health_status": "Everything's Chimpy!"})),
        )
        .mount(&server)
        .await;
    let client = Client::builder(Credentials::api_key("0123456789abcdef-us6"))
        .base_url(server.uri())
        .max_concurrency(4)
        .retry(
            RetryConfig::new()
                .with_max_attempts(2)
                .with_base_delay(Duration::from_millis(1))
                .with_jitter(false),
        )
        .build()
        .await
        .unwrap();
    assert_eq!(client.current_concurrency(), 4);
    // The first attempt gets 429 (halving 4 to 2), the retry succeeds.
    client.ping().await.unwrap();
    assert_eq!(client.overloads(), 1);
    assert_eq!(client.current_concurrency(), 2);
    // One success window is `max_concurrency` (4) successes; the retry was the first.
    for _ in 0..3 {
        client.ping().await.unwrap();
    }
    assert_eq!(client.current_concurrency(), 3);
    for _ in 0..4 {
        client.ping().await.unwrap();
    }
    assert_eq!(client.current_concurrency(), 4, "back to the maximum");
    assert!(format!("{client:?}").contains("current_concurrency: 4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_built_with_one_shared_limit_stay_within_it_together() {
    let (base, gauge) = serve().await;
    let account = mailchimp_client::ConcurrencyLimit::new(4);
    let mut clients = Vec::new();
    for key in [
        "0123456789abcdef-us6",
        "fedcba9876543210-us6",
        "00112233445566-us6",
    ] {
        clients.push(
            Client::builder(Credentials::api_key(key))
                .base_url(base.clone())
                .retry(RetryConfig::disabled())
                .max_concurrency(10) // ignored: the shared limit rules
                .shared_limit(account.clone())
                .build()
                .await
                .unwrap(),
        );
    }
    let calls = (0..30).map(|i| {
        let client = clients[i % clients.len()].clone();
        tokio::spawn(async move { client.ping().await })
    });
    for result in join_all(calls).await {
        result.unwrap().unwrap();
    }
    assert_eq!(gauge.total.load(Ordering::SeqCst), 30);
    // Three clients, one limit of 4: never more than 4 in flight, and they did reach it.
    assert_eq!(gauge.peak.load(Ordering::SeqCst), 4);
    assert_eq!(clients[0].max_concurrency(), 4);
}
