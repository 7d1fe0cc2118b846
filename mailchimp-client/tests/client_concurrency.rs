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
