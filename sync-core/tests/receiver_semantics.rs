//! What the receiver applies: only its own audience's deliveries, and only requests with one
//! signature header.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use secrecy::ExposeSecret;
use sync_core::audit::AuditQuery;
use sync_core::webhook_receiver::{generate_path_token, serve, ReceiverConfig, ReceiverHandle};
use sync_core::{Outcome, SqliteStateStore, StateStore};
use testkit::mailchimp::{signature_header, WebhookEvent};

const LIST: &str = "a1b2c3d4e5";
const SECRET: &str = "whsec_semantics";

async fn start(state: &Arc<dyn StateStore>) -> (ReceiverHandle, String) {
    let config = ReceiverConfig::signed(generate_path_token(), SECRET)
        .unwrap()
        .audience(LIST);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let path = config
        .webhook_url(&format!("http://{addr}"))
        .unwrap()
        .expose_secret()
        .to_owned();
    let handle = serve(listener, config, Arc::clone(state)).await.unwrap();
    (handle, path)
}

async fn post(url: &str, body: &str, signatures: usize) -> u16 {
    let now = chrono::Utc::now().timestamp();
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    for _ in 0..signatures {
        request = request.header("X-Mailchimp-Signature", signature_header(SECRET, now, body));
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_delivery_for_another_audience_is_answered_but_not_applied() {
    let state: Arc<dyn StateStore> = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
    let (receiver, url) = start(&state).await;
    let email = "ann.other@northwind-mfg.com".to_owned();

    let other = WebhookEvent::unsubscribe("zz9zz9zz9z", &email, "manual").form_body();
    assert_eq!(post(&url, &other, 1).await, 200);
    let statuses = state
        .member_statuses(std::slice::from_ref(&email))
        .await
        .unwrap();
    assert!(statuses.is_empty(), "{statuses:?}");
    let skipped = state
        .query_audit(&AuditQuery::new().outcome(Outcome::Skipped))
        .await
        .unwrap();
    assert_eq!(skipped.len(), 1);
    let reason = skipped[0].row.error.clone().unwrap_or_default();
    assert!(
        reason.contains("zz9zz9zz9z") && reason.contains(LIST),
        "{reason}"
    );

    // The same event for the configured audience is applied.
    let own = WebhookEvent::unsubscribe(LIST, &email, "manual").form_body();
    assert_eq!(post(&url, &own, 1).await, 200);
    let statuses = state
        .member_statuses(std::slice::from_ref(&email))
        .await
        .unwrap();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    receiver.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_with_two_signature_headers_is_refused() {
    let state: Arc<dyn StateStore> = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
    let (receiver, url) = start(&state).await;
    let email = "bo.twice@northwind-mfg.com".to_owned();
    let body = WebhookEvent::unsubscribe(LIST, &email, "manual").form_body();

    assert_eq!(post(&url, &body, 2).await, 401);
    let statuses = state
        .member_statuses(std::slice::from_ref(&email))
        .await
        .unwrap();
    assert!(statuses.is_empty(), "{statuses:?}");
    receiver.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_deliveries_taken_are_counted_by_result() {
    use sync_core::webhook_receiver::DeliveryResult;
    let state: Arc<dyn StateStore> = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
    let (receiver, url) = start(&state).await;
    let email = "ann.other@northwind-mfg.com";
    let ours = WebhookEvent::unsubscribe(LIST, email, "manual").form_body();
    assert_eq!(post(&url, &ours, 1).await, 200);
    assert_eq!(post(&url, &ours, 1).await, 200);
    let other = WebhookEvent::unsubscribe("zz9zz9zz9z", email, "manual").form_body();
    assert_eq!(post(&url, &other, 1).await, 200);
    assert_eq!(post(&url, "type=nonsense", 1).await, 400);
    let stats = receiver.stats();
    let counts: Vec<u64> = DeliveryResult::ALL
        .iter()
        .map(|r| stats.deliveries(*r))
        .collect();
    // applied, duplicate, ignored, undecoded, failed
    assert_eq!(counts, [1, 1, 1, 1, 0]);
    receiver.shutdown().await.unwrap();
}
