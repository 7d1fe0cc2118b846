//! The per-account concurrency limit (all keys and tokens together): N in flight are served, the next gets 429, the peak is recorded.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use std::time::Duration;

use mailchimp_support::{read, Api};
use testkit::{mailchimp::FakeMailchimp, FaultConfig};

/// Sends `n` simultaneous pings held by a long latency, waits until all have arrived (counters, not
/// time), then shuts the fake down, which releases the held ones. Returns the statuses, sorted.
async fn simultaneous(
    fake: FakeMailchimp,
    n: usize,
    expect_refused: u64,
) -> (Vec<u16>, usize, u64) {
    let api = Api::with(fake);
    let requests: Vec<_> = (0..n)
        .map(|_| {
            let http = api.http.clone();
            let url = api.url("/ping");
            let key = api.fake.api_key().to_owned();
            tokio::spawn(async move {
                http.get(url)
                    .basic_auth("x", Some(key))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    // Wait until every request reached the fake: the refused ones answered, the rest held.
    while !(api.fake.concurrency_rejections() == expect_refused
        && api.fake.stats().snapshot().in_flight as usize == n - expect_refused as usize)
    {
        tokio::task::yield_now().await;
    }
    let peak = api.fake.peak_concurrency();
    let refused = api.fake.concurrency_rejections();
    api.fake.shutdown().await.unwrap();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap());
    }
    statuses.sort_unstable();
    (statuses, peak, refused)
}

fn held() -> FaultConfig {
    FaultConfig::none().latency(Duration::from_secs(3600))
}

#[tokio::test]
async fn the_eleventh_simultaneous_request_gets_429_by_default() {
    let fake = FakeMailchimp::builder()
        .faults(held())
        .start()
        .await
        .unwrap();
    let (statuses, peak, refused) = simultaneous(fake, 11, 1).await;
    assert_eq!(statuses, [vec![200; 10], vec![429]].concat());
    assert_eq!(peak, 11);
    assert_eq!(refused, 1);
}

#[tokio::test]
async fn a_configured_limit_is_honoured() {
    let fake = FakeMailchimp::builder()
        .concurrency_limit(3)
        .faults(held())
        .start()
        .await
        .unwrap();
    let (statuses, peak, _) = simultaneous(fake, 5, 2).await;
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // The two refused requests may or may not overlap each other.
    assert!(peak == 4 || peak == 5, "peak {peak}");
}

#[tokio::test]
async fn up_to_the_limit_nothing_is_refused() {
    let fake = FakeMailchimp::builder()
        .faults(held())
        .start()
        .await
        .unwrap();
    let (statuses, peak, refused) = simultaneous(fake, 10, 0).await;
    assert_eq!(statuses, vec![200; 10]);
    assert_eq!(peak, 10);
    assert_eq!(refused, 0);
}

#[tokio::test]
async fn the_limit_is_per_account_across_keys_and_the_429_is_a_problem_document() {
    let fake = FakeMailchimp::builder()
        .api_key("one-us1")
        .api_key("two-us1")
        .concurrency_limit(1)
        .start()
        .await
        .unwrap();
    fake.faults()
        .set_route(axum::http::Method::GET, "/3.0/lists", held())
        .unwrap();
    let http = reqwest::Client::new();
    let lists = format!("{}/lists", fake.api_url());
    let holder = {
        let http = http.clone();
        let lists = lists.clone();
        tokio::spawn(async move { http.get(lists).bearer_auth("one-us1").send().await })
    };
    while fake.stats().snapshot().in_flight == 0 {
        tokio::task::yield_now().await;
    }
    let ping = format!("{}/ping", fake.api_url());
    let refused = read(http.get(&ping).bearer_auth("one-us1").send().await.unwrap()).await;
    refused.problem(429, "Too Many Requests");
    // Another key of the same account gets no more room: Mailchimp counts per user.
    let other = read(http.get(&ping).bearer_auth("two-us1").send().await.unwrap()).await;
    other.problem(429, "Too Many Requests");
    assert_eq!(fake.peak_concurrency_for("one-us1"), 2);
    assert_eq!(fake.peak_concurrency_for("two-us1"), 1);
    assert_eq!(fake.peak_concurrency(), 2);
    assert_eq!(fake.concurrency_rejections(), 2);
    fake.shutdown().await.unwrap();
    assert_eq!(holder.await.unwrap().unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn sequential_requests_peak_at_one() {
    let api = Api::start().await;
    for _ in 0..5 {
        api.get("/ping").await.ok();
    }
    assert_eq!(api.fake.peak_concurrency(), 1);
    assert_eq!(api.fake.concurrency_rejections(), 0);
}
