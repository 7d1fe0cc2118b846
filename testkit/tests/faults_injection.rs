//! Fault injection, stats and the loopback server, exercised through plain reqwest.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use axum::{http::Method, routing::get, Router};
use testkit::{
    faults::{FaultConfig, FaultKind, Faults},
    server::{FakeServer, UNMATCHED_ROUTE},
    stats::Stats,
};
use tokio::sync::Barrier;

fn router() -> Router {
    Router::new()
        .route(
            "/items/{id}",
            get(|| async { "item" }).put(|| async { "stored" }),
        )
        .route("/ping", get(|| async { "pong" }))
}

async fn serve(faults: &Faults, stats: &Stats) -> FakeServer {
    FakeServer::start(stats.wrap(faults.wrap(router())))
        .await
        .unwrap()
}

async fn status_of(client: &reqwest::Client, url: &str) -> Option<u16> {
    client
        .get(url)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

#[tokio::test]
async fn each_fault_kind_answers_as_documented() {
    let cases = [
        (FaultConfig::none().too_many_requests(1.0), 429, true),
        (FaultConfig::none().server_error(1.0), 500, true),
        (FaultConfig::none().service_unavailable(1.0), 503, true),
        (FaultConfig::none().bare_forbidden(1.0), 403, false),
    ];
    let client = reqwest::Client::new();
    for (config, status, has_problem_body) in cases {
        let faults = Faults::new(1, config).unwrap();
        let server = serve(&faults, &Stats::new()).await;
        let response = client
            .get(format!("{}/ping", server.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        if has_problem_body {
            assert_eq!(content_type.as_deref(), Some("application/problem+json"));
            let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(doc["status"], status);
            for field in ["type", "title", "detail", "instance"] {
                assert!(doc.get(field).is_some(), "missing {field} in {doc}");
            }
        } else {
            assert!(body.is_empty(), "bare 403 must have no body, got {body:?}");
        }
        server.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error_and_the_server_keeps_serving() {
    let faults = Faults::new(3, FaultConfig::none()).unwrap();
    faults
        .set_route(
            Method::GET,
            "/items/{id}",
            FaultConfig::none().dropped_connection(1.0),
        )
        .unwrap();
    let server = serve(&faults, &Stats::new()).await;
    let client = reqwest::Client::new();
    let error = client
        .get(format!("{}/items/1", server.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(
        error.status().is_none(),
        "expected no response, got {error:?}"
    );
    assert!(!error.is_timeout());
    let pong = client
        .get(format!("{}/ping", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(pong.text().await.unwrap(), "pong");
    assert_eq!(faults.injected().len(), 1);
    assert_eq!(faults.injected()[0].kind, FaultKind::DroppedConnection);
    assert_eq!(faults.injected()[0].route, "/items/{id}");
}

#[tokio::test]
async fn same_seed_gives_the_same_fault_sequence() {
    let config = FaultConfig::none()
        .too_many_requests(0.2)
        .server_error(0.2)
        .bare_forbidden(0.2);
    let client = reqwest::Client::new();
    let mut runs = Vec::new();
    for seed in [11, 11, 12] {
        let faults = Faults::new(seed, config.clone()).unwrap();
        let server = serve(&faults, &Stats::new()).await;
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(status_of(&client, &format!("{}/ping", server.base_url())).await);
        }
        runs.push((statuses, faults.injected()));
    }
    assert_eq!(runs[0], runs[1], "same seed must replay the same faults");
    assert_ne!(
        runs[0].0, runs[2].0,
        "another seed should give another sequence"
    );
    let statuses = &runs[0].0;
    assert!(statuses.contains(&Some(200)) && statuses.contains(&Some(429)));
    assert_eq!(
        runs[0].1.len(),
        statuses.iter().filter(|s| **s != Some(200)).count()
    );
}

#[tokio::test]
async fn reset_replays_the_sequence_from_the_seed() {
    let faults = Faults::new(5, FaultConfig::none().server_error(0.5)).unwrap();
    let server = serve(&faults, &Stats::new()).await;
    let client = reqwest::Client::new();
    let url = format!("{}/ping", server.base_url());
    let mut first = Vec::new();
    for _ in 0..20 {
        first.push(status_of(&client, &url).await);
    }
    faults.reset();
    assert!(faults.injected().is_empty());
    let mut second = Vec::new();
    for _ in 0..20 {
        second.push(status_of(&client, &url).await);
    }
    assert_eq!(first, second);
}

#[tokio::test]
async fn route_override_applies_only_to_its_method_and_pattern() {
    let faults = Faults::new(9, FaultConfig::none()).unwrap();
    faults
        .set_route(
            Method::PUT,
            "/items/{id}",
            FaultConfig::none().service_unavailable(1.0),
        )
        .unwrap();
    let server = serve(&faults, &Stats::new()).await;
    let client = reqwest::Client::new();
    let base = server.base_url();
    let put = client.put(format!("{base}/items/7")).send().await.unwrap();
    assert_eq!(put.status().as_u16(), 503);
    assert_eq!(
        status_of(&client, &format!("{base}/items/7")).await,
        Some(200)
    );
    assert_eq!(status_of(&client, &format!("{base}/ping")).await, Some(200));
    faults.clear_routes();
    let put = client.put(format!("{base}/items/7")).send().await.unwrap();
    assert_eq!(put.status().as_u16(), 200);
}

#[tokio::test]
async fn invalid_configs_are_rejected_with_the_reason() {
    let faults = Faults::disabled();
    let err = faults
        .set_default(FaultConfig::none().too_many_requests(-0.1))
        .unwrap_err();
    assert!(err.to_string().contains("429"), "{err}");
    let err = faults
        .set_route(
            Method::GET,
            "/ping",
            FaultConfig::none()
                .server_error(0.7)
                .service_unavailable(0.7),
        )
        .unwrap_err();
    assert!(err.to_string().contains("more than 1"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn latency_and_jitter_delay_every_request() {
    let faults = Faults::new(
        21,
        FaultConfig::none()
            .latency(Duration::from_secs(30))
            .jitter(Duration::from_secs(10)),
    )
    .unwrap();
    let server = serve(&faults, &Stats::new()).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let started = tokio::time::Instant::now();
        assert_eq!(
            status_of(&client, &format!("{}/ping", server.base_url())).await,
            Some(200)
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(30) && waited <= Duration::from_secs(41),
            "virtual wait {waited:?} outside latency + jitter"
        );
    }
    assert!(faults.injected().is_empty(), "latency alone is not a fault");
}

#[tokio::test(start_paused = true)]
async fn the_latency_includes_the_handling_of_the_request() {
    let faults = Faults::new(5, FaultConfig::none().latency(Duration::from_secs(30))).unwrap();
    let handled = |secs| async move {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        "done"
    };
    let router = Router::new()
        .route("/quick", get(move || handled(10)))
        .route("/slow", get(move || handled(50)));
    let server = FakeServer::start(faults.wrap(router)).await.unwrap();
    let client = reqwest::Client::new();
    // Handled in 10 s, answered 30 s after it arrived (not 40); handled in 50 s, answered then.
    for (path, least, most) in [("quick", 30, 31), ("slow", 50, 51)] {
        let started = tokio::time::Instant::now();
        let url = format!("{}/{path}", server.base_url());
        assert_eq!(status_of(&client, &url).await, Some(200));
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(least) && waited < Duration::from_secs(most),
            "/{path} answered after {waited:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn slow_response_outlasts_the_client_timeout_and_shutdown_is_prompt() {
    let faults = Faults::new(
        2,
        FaultConfig::none().slow_response(1.0, Duration::from_secs(130)),
    )
    .unwrap();
    let server = serve(&faults, &Stats::new()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let error = client
        .get(format!("{}/ping", server.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");

    // Without a client timeout the real response arrives, late.
    let patient = reqwest::Client::new();
    let started = tokio::time::Instant::now();
    let response = patient
        .get(format!("{}/ping", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "pong");
    assert!(started.elapsed() >= Duration::from_secs(130));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_releases_requests_held_by_injected_delays() {
    let faults = Faults::new(4, FaultConfig::none().latency(Duration::from_secs(3600))).unwrap();
    let stats = Stats::new();
    let server = serve(&faults, &stats).await;
    let url = format!("{}/ping", server.base_url());
    let pending = tokio::spawn(async move { reqwest::get(url).await });
    while stats.snapshot().in_flight == 0 {
        tokio::task::yield_now().await;
    }
    server.shutdown().await.unwrap();
    // The held request finishes (with its response) instead of keeping the server alive for an hour.
    let response = pending.await.unwrap().unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn stats_count_routes_writes_statuses_and_peak_concurrency() {
    let barrier = Arc::new(Barrier::new(4));
    let held = barrier.clone();
    let router = Router::new()
        .route(
            "/held",
            get(move || {
                let held = held.clone();
                async move {
                    held.wait().await;
                    "released"
                }
            }),
        )
        .merge(router());
    let stats = Stats::new();
    let faults = Faults::new(1, FaultConfig::none()).unwrap();
    faults
        .set_route(
            Method::PUT,
            "/items/{id}",
            FaultConfig::none().server_error(1.0),
        )
        .unwrap();
    let server = FakeServer::start(stats.wrap(faults.wrap(router)))
        .await
        .unwrap();
    let base = server.base_url();
    let client = reqwest::Client::new();

    // Three requests held at the barrier until the test joins it: three in flight at once.
    let held_requests: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            let url = format!("{base}/held");
            tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
        })
        .collect();
    while stats.snapshot().in_flight < 3 {
        tokio::task::yield_now().await;
    }
    barrier.wait().await;
    for request in held_requests {
        assert_eq!(request.await.unwrap().as_u16(), 200);
    }

    client.get(format!("{base}/items/1")).send().await.unwrap();
    client.get(format!("{base}/items/2")).send().await.unwrap();
    client.put(format!("{base}/items/2")).send().await.unwrap();
    client.get(format!("{base}/nowhere")).send().await.unwrap();

    let snapshot = stats.snapshot();
    assert_eq!(snapshot.peak_concurrency, 3);
    assert_eq!(snapshot.in_flight, 0);
    assert_eq!(stats.requests("GET", "/held"), 3);
    assert_eq!(stats.requests("GET", "/items/{id}"), 2);
    assert_eq!(stats.requests("PUT", "/items/{id}"), 1);
    assert_eq!(stats.requests("GET", UNMATCHED_ROUTE), 1);
    assert_eq!(snapshot.total, 7);
    assert_eq!(snapshot.writes, 1);
    assert_eq!(snapshot.successful_writes, 0, "the PUT got an injected 500");
    assert_eq!(snapshot.statuses.get(&200), Some(&5));
    assert_eq!(snapshot.statuses.get(&500), Some(&1));
    assert_eq!(snapshot.statuses.get(&404), Some(&1));

    stats.reset();
    assert_eq!(stats.snapshot(), Default::default());
}

#[tokio::test]
async fn servers_get_distinct_loopback_ports() {
    let a = FakeServer::start(router()).await.unwrap();
    let b = FakeServer::start(router()).await.unwrap();
    assert!(a.local_addr().ip().is_loopback());
    assert_ne!(a.local_addr().port(), b.local_addr().port());
    assert_eq!(a.base_url(), format!("http://{}", a.local_addr()));
    let url = format!("{}/ping", b.base_url());
    drop(b);
    // Dropping the handle stops the server: new connections are refused.
    let mut refused = false;
    for _ in 0..100 {
        if reqwest::get(&url).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "server still answering after drop");
}

#[tokio::test]
async fn a_scripted_fault_hits_the_next_requests_of_its_route_only() {
    let faults = Faults::disabled();
    faults.fail_next(Method::GET, "/items/{id}", 2, FaultKind::ServiceUnavailable);
    let server = serve(&faults, &Stats::new()).await;
    let client = reqwest::Client::new();
    let item = format!("{}/items/1", server.base_url());
    let ping = format!("{}/ping", server.base_url());
    assert_eq!(status_of(&client, &ping).await, Some(200));
    assert_eq!(status_of(&client, &item).await, Some(503));
    assert_eq!(status_of(&client, &item).await, Some(503));
    assert_eq!(status_of(&client, &item).await, Some(200));
    assert_eq!(faults.injected().len(), 2);
}

#[tokio::test]
async fn a_lost_response_is_handled_then_dropped() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let handled = Arc::new(AtomicU32::new(0));
    let counter = handled.clone();
    let router = Router::new().route(
        "/items/{id}",
        axum::routing::put(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "stored"
            }
        }),
    );
    let faults = Faults::disabled();
    faults.fail_next(Method::PUT, "/items/{id}", 1, FaultKind::LostResponse);
    let server = FakeServer::start(faults.wrap(router)).await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/items/1", server.base_url());
    assert!(client.put(&url).send().await.is_err(), "the answer is lost");
    assert_eq!(handled.load(Ordering::SeqCst), 1, "but the write happened");
    let again = client.put(&url).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(handled.load(Ordering::SeqCst), 2);
}
