//! Fault injection on the fake Mailchimp: seeded sequences, Mailchimp-shaped fault bodies, per-route overrides.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use axum::http::Method;
use mailchimp_support::{read, Api};
use serde_json::json;
use testkit::{mailchimp::FakeMailchimp, FaultConfig, FaultKind};

fn mixed() -> FaultConfig {
    FaultConfig::none()
        .too_many_requests(0.15)
        .server_error(0.1)
        .service_unavailable(0.1)
        .bare_forbidden(0.1)
        .dropped_connection(0.05)
}

async fn statuses(seed: u64) -> (Vec<Option<u16>>, Vec<FaultKind>) {
    let api = Api::with(
        FakeMailchimp::builder()
            .seed(seed)
            .faults(mixed())
            .start()
            .await
            .unwrap(),
    );
    let mut seen = Vec::new();
    for _ in 0..60 {
        let response = api
            .http
            .get(api.url("/ping"))
            .basic_auth("x", Some(api.fake.api_key()))
            .send()
            .await;
        seen.push(response.ok().map(|r| r.status().as_u16()));
    }
    let kinds = api
        .fake
        .faults()
        .injected()
        .into_iter()
        .map(|f| f.kind)
        .collect();
    (seen, kinds)
}

#[tokio::test]
async fn the_same_seed_replays_the_same_faults() {
    let (first, kinds) = statuses(77).await;
    let (second, kinds_again) = statuses(77).await;
    assert_eq!(first, second);
    assert_eq!(kinds, kinds_again);
    let (other, _) = statuses(78).await;
    assert_ne!(first, other);
    for expected in [Some(200), Some(429), Some(403), None] {
        assert!(
            first.contains(&expected),
            "{expected:?} missing from {first:?}"
        );
    }
}

#[tokio::test]
async fn injected_errors_look_like_mailchimp_and_the_403_is_bare() {
    let api = Api::start().await;
    for (config, status, title) in [
        (
            FaultConfig::none().too_many_requests(1.0),
            429,
            "Too Many Requests",
        ),
        (
            FaultConfig::none().server_error(1.0),
            500,
            "Internal Server Error",
        ),
        (
            FaultConfig::none().service_unavailable(1.0),
            503,
            "Service Unavailable",
        ),
    ] {
        api.fake.faults().set_default(config).unwrap();
        let doc = api.get("/ping").await;
        let doc = doc.problem(status, title);
        assert_eq!(
            doc["type"],
            "https://mailchimp.com/developer/marketing/docs/errors/"
        );
    }
    api.fake
        .faults()
        .set_default(FaultConfig::none().bare_forbidden(1.0))
        .unwrap();
    let bare = api.get("/ping").await;
    assert_eq!(bare.status, 403);
    assert!(bare.body.is_null(), "no body");
}

#[tokio::test]
async fn a_route_override_hits_only_that_route() {
    let api = Api::start().await;
    let list = api.list();
    api.fake
        .faults()
        .set_route(
            Method::PUT,
            "/3.0/lists/{list_id}/members/{subscriber_hash}",
            FaultConfig::none().dropped_connection(1.0),
        )
        .unwrap();
    let dropped = api
        .http
        .put(api.url(&format!("/lists/{list}/members/a@northwind-mfg.com")))
        .basic_auth("x", Some(api.fake.api_key()))
        .json(&json!({"email_address": "a@northwind-mfg.com", "status_if_new": "subscribed"}))
        .send()
        .await;
    assert!(dropped.is_err(), "expected a transport error");
    assert!(
        api.fake.snapshot().members[&list].is_empty(),
        "the write never happened"
    );
    api.post(
        &format!("/lists/{list}/members"),
        json!({"email_address": "a@northwind-mfg.com", "status": "subscribed"}),
    )
    .await
    .ok();
    let injected = api.fake.faults().injected();
    assert_eq!(injected.len(), 1);
    assert_eq!(
        injected[0].route,
        "/3.0/lists/{list_id}/members/{subscriber_hash}"
    );
    assert_eq!(injected[0].method, "PUT");
}

#[tokio::test]
async fn faults_also_apply_to_the_metadata_endpoint_and_reset_replays() {
    let fake = FakeMailchimp::builder()
        .oauth_token("tok")
        .faults(FaultConfig::none().server_error(0.5))
        .seed(3)
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let run = || {
        let http = http.clone();
        let url = fake.metadata_url();
        async move {
            let mut statuses = Vec::new();
            for _ in 0..20 {
                let reply = read(
                    http.get(&url)
                        .header("Authorization", "OAuth tok")
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
                statuses.push(reply.status);
            }
            statuses
        }
    };
    let first = run().await;
    assert!(first.contains(&500) && first.contains(&200));
    fake.reset();
    assert_eq!(first, run().await);
}
