//! The receiver's tower limits: a source address over its rate gets 429 and a request beyond the
//! global concurrency limit gets 503, both answered before any handler, so neither writes to the
//! state database; both are counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use sync_core::audit::AuditQuery;
use sync_core::webhook_receiver::{
    generate_path_token, serve, RateLimit, ReceiverConfig, ReceiverHandle, Rejection,
};
use sync_core::{SqliteStateStore, StateStore};
use tokio::io::AsyncWriteExt;

async fn start(config: ReceiverConfig) -> (Arc<SqliteStateStore>, ReceiverHandle, String) {
    let state = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let url = config
        .webhook_url(&public)
        .unwrap()
        .expose_secret()
        .to_owned();
    let handle = serve(listener, config, state.clone()).await.unwrap();
    (state, handle, url)
}

async fn audit_rows(state: &SqliteStateStore) -> usize {
    state.query_audit(&AuditQuery::new()).await.unwrap().len()
}

#[tokio::test]
async fn a_source_over_its_rate_gets_429_counted_and_not_stored() {
    let config = ReceiverConfig::signed(generate_path_token(), "whsec-limits")
        .unwrap()
        .rate_limit(Some(RateLimit::new(1, 3)));
    let (state, handle, url) = start(config).await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let response = http.post(&url).body("type=x").send().await.unwrap();
        if response.status() == 429 {
            assert_eq!(response.headers()["retry-after"], "1");
        }
        statuses.push(response.status().as_u16());
    }
    // The burst of 3 passes (and is refused unsigned); the rest of the ten, sent within far less
    // than the seconds it would take to earn them, are cut off.
    assert_eq!(&statuses[..3], [401, 401, 401], "{statuses:?}");
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    assert!(limited >= 5, "{statuses:?}");
    let stats = handle.stats();
    assert_eq!(
        stats.count(Rejection::RateLimited),
        u64::try_from(limited).unwrap()
    );
    assert_eq!(
        stats.count(Rejection::Unauthenticated),
        u64::try_from(10 - limited).unwrap()
    );
    assert_eq!(audit_rows(&state).await, 0);
    handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_a_rate_limit_a_busy_source_is_served() {
    let config = ReceiverConfig::unsigned_secret_url(generate_path_token())
        .unwrap()
        .rate_limit(None);
    let (_state, handle, url) = start(config).await;
    let http = reqwest::Client::new();
    for _ in 0..300 {
        assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    }
    assert_eq!(handle.stats().total(), 0);
    handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_beyond_the_concurrency_limit_gets_503_at_once() {
    let config = ReceiverConfig::unsigned_secret_url(generate_path_token())
        .unwrap()
        .max_concurrent_requests(1);
    let (state, handle, url) = start(config).await;
    let http = reqwest::Client::new();
    // A delivery whose body never finishes holds the only slot.
    let path = url.trim_start_matches("http://");
    let (host, path) = path.split_once('/').unwrap();
    let mut slow = tokio::net::TcpStream::connect(host).await.unwrap();
    slow.write_all(
        format!("POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\ntype=")
            .as_bytes(),
    )
    .await
    .unwrap();
    // The slot is taken once the server has read the slow request's head; until then the
    // validator GET may still pass.
    let mut shed = None;
    for _ in 0..500 {
        let status = http.get(&url).send().await.unwrap().status();
        if status == 503 {
            shed = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(shed.map(|s| s.as_u16()), Some(503));
    assert!(handle.stats().count(Rejection::Overloaded) >= 1);
    // The slot comes back when the slow request ends.
    drop(slow);
    let mut served = false;
    for _ in 0..500 {
        if http.get(&url).send().await.unwrap().status() == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(served, "the receiver serves again once the slot is free");
    assert_eq!(audit_rows(&state).await, 0);
    handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn any_other_path_is_counted_as_a_wrong_path() {
    let config = ReceiverConfig::unsigned_secret_url(generate_path_token()).unwrap();
    let (state, handle, url) = start(config).await;
    let base = format!("http://{}", handle.local_addr());
    let http = reqwest::Client::new();
    for path in [
        "/",
        "/admin",
        "/webhooks/mailchimp",
        "/webhooks/mailchimp/x/y",
    ] {
        let status = http
            .post(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{path}");
    }
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(handle.stats().count(Rejection::WrongPath), 4);
    assert_eq!(audit_rows(&state).await, 0);
    handle.shutdown().await.unwrap();
}
