//! The receiver's tower limits: a source address over its rate gets 429 and a request beyond the
//! global concurrency limit gets 503, both answered before any handler, so neither writes to the
//! state database; both are counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
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
    state
        .query_audit(&AuditQuery::new().limit(100_000))
        .await
        .unwrap()
        .len()
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
    // More than the default burst (1,000), quickly: with the default limit many would get 429.
    let statuses: Vec<u16> = futures::stream::iter(0..1500)
        .map(|_| {
            let (http, url) = (http.clone(), url.clone());
            async move { http.get(&url).send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    assert!(statuses.iter().all(|&s| s == 200));
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

/// Figures, not assertions on time: `cargo test -p sync-core --release --test receiver_limits --
/// --ignored --nocapture flood_figures`. Sends 2,000 requests at concurrency 50 from one address:
/// unauthenticated ones with the default limits, then signed deliveries with the rate limit off
/// and with the default one, and prints what was answered and what reached the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints figures; run by hand"]
async fn flood_figures() {
    const SECRET: &str = "whsec-flood";
    let body_of = |i: usize| {
        format!(
            "type=cleaned&fired_at=2026-03-02+08%3A00%3A00&data[list_id]=a1&data[reason]=hard\
             &data[email]=m{i}%40acme.example"
        )
    };
    for (label, signed, limit) in [
        (
            "unauthenticated, default limits",
            false,
            Some(sync_core::webhook_receiver::DEFAULT_RATE_LIMIT),
        ),
        ("signed, no rate limit", true, None),
        (
            "signed, default rate limit",
            true,
            Some(sync_core::webhook_receiver::DEFAULT_RATE_LIMIT),
        ),
    ] {
        let config = ReceiverConfig::signed(generate_path_token(), SECRET)
            .unwrap()
            .rate_limit(limit);
        let (state, handle, url) = start(config).await;
        let http = reqwest::Client::new();
        let started = std::time::Instant::now();
        let statuses: Vec<u16> = futures::stream::iter(0..2000)
            .map(|i| {
                let http = http.clone();
                let url = url.clone();
                async move {
                    let body = body_of(i);
                    let mut request = http.post(&url);
                    if signed {
                        let now = chrono::Utc::now().timestamp();
                        request = request.header(
                            "X-Mailchimp-Signature",
                            testkit::mailchimp::signature_header(SECRET, now, &body),
                        );
                    }
                    request.body(body).send().await.unwrap().status().as_u16()
                }
            })
            .buffer_unordered(50)
            .collect()
            .await;
        let elapsed = started.elapsed();
        let mut by_status = std::collections::BTreeMap::new();
        for status in statuses {
            *by_status.entry(status).or_insert(0) += 1;
        }
        println!(
            "{label}: 2000 requests in {:.2} s ({:.0}/s); answers {by_status:?}; audit rows {}; counters {}",
            elapsed.as_secs_f64(),
            2000.0 / elapsed.as_secs_f64(),
            audit_rows(&state).await,
            handle.stats()
        );
        handle.shutdown().await.unwrap();
    }
}
