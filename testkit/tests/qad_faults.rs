//! Fault injection and request counters on the fake QAD tenant, over plain HTTP.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use axum::http::Method;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use testkit::faults::{FaultConfig, FaultKind, Faults};
use testkit::qad::FakeQad;

fn customers(qad: &FakeQad, http: &Client) -> reqwest::RequestBuilder {
    http.get(format!("{}/api/erp/customerV2s", qad.base_url()))
        .basic_auth(qad.username(), Some(qad.password()))
        .query(&[("customerCode", "C0000001")])
}

fn browse(qad: &FakeQad, http: &Client) -> reqwest::RequestBuilder {
    http.get(format!("{}/api/qracore/browses", qad.base_url()))
        .basic_auth(qad.username(), Some(qad.password()))
        .query(&[
            ("browseId", qad.browse_ids().items.as_str()),
            ("page", "1"),
            ("pageAction", "first"),
        ])
}

#[tokio::test]
async fn a_per_route_fault_hits_only_that_route_with_a_qad_body() {
    let qad = FakeQad::start().await.unwrap();
    let browses = qad.route("api/qracore/browses");
    assert_eq!(browses, "/clouderp/api/qracore/browses");
    qad.faults()
        .set_route(
            Method::GET,
            &browses,
            FaultConfig::none().service_unavailable(1.0),
        )
        .unwrap();
    let http = Client::new();

    let failed = browse(&qad, &http).send().await.unwrap();
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = failed.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "503");
    assert_eq!(body["errors"][0]["severity"], 1);

    assert_eq!(
        customers(&qad, &http).send().await.unwrap().status(),
        StatusCode::OK
    );

    assert_eq!(qad.stats().requests("GET", &browses), 1);
    assert_eq!(
        qad.stats()
            .requests("GET", &qad.route("api/erp/customerV2s")),
        1
    );
    let injected = qad.faults().injected();
    assert_eq!(injected.len(), 1);
    assert_eq!(injected[0].kind, FaultKind::ServiceUnavailable);
    assert_eq!(injected[0].route, browses);
}

#[tokio::test]
async fn the_same_fault_seed_gives_the_same_sequence() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let faults = Faults::new(
            seed,
            FaultConfig::none().server_error(0.3).too_many_requests(0.2),
        )
        .unwrap();
        let qad = FakeQad::builder().faults(faults).start().await.unwrap();
        let http = Client::new();
        let mut seen = Vec::new();
        for _ in 0..30 {
            seen.push(
                customers(&qad, &http)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        seen
    }
    let first = statuses(99).await;
    assert_eq!(first, statuses(99).await);
    assert!(
        first.contains(&200) && first.contains(&500) && first.contains(&429),
        "{first:?}"
    );
    assert_ne!(first, statuses(100).await);
}

#[tokio::test]
async fn faults_apply_to_logins_too() {
    let qad = FakeQad::start().await.unwrap();
    qad.faults()
        .set_route(
            Method::POST,
            &qad.route("oauth/token"),
            FaultConfig::none().too_many_requests(1.0),
        )
        .unwrap();
    let response = Client::new()
        .post(format!("{}/oauth/token", qad.base_url()))
        .form(&[
            ("client_id", qad.client_id()),
            ("grant_type", "password"),
            ("username", qad.username()),
            ("password", qad.password()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(qad.logins().token_grants, 0);
    assert_eq!(qad.stats().requests("POST", &qad.route("oauth/token")), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error() {
    let qad = FakeQad::start().await.unwrap();
    qad.faults()
        .set_default(FaultConfig::none().dropped_connection(1.0))
        .unwrap();
    let err = customers(&qad, &Client::new()).send().await.unwrap_err();
    assert!(err.status().is_none(), "{err}");

    qad.faults().set_default(FaultConfig::none()).unwrap();
    assert_eq!(
        customers(&qad, &Client::new())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn counters_see_every_route_and_unmatched_paths() {
    let qad = FakeQad::start().await.unwrap();
    let http = Client::new();
    for _ in 0..3 {
        browse(&qad, &http).send().await.unwrap();
    }
    http.get(format!("{}/api/erp/nothing", qad.base_url()))
        .basic_auth(qad.username(), Some(qad.password()))
        .send()
        .await
        .unwrap();
    let snapshot = qad.stats().snapshot();
    assert_eq!(
        qad.stats()
            .requests("GET", &qad.route("api/qracore/browses")),
        3
    );
    assert_eq!(snapshot.total, 4);
    assert_eq!(snapshot.statuses.get(&404), Some(&1));
    assert_eq!(snapshot.writes, 0);
}
