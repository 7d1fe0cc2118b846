//! The webhook registry, and signed and unsigned deliveries to a local receiver.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use std::sync::{Arc, Mutex};

use axum::{extract::State, http::HeaderMap, routing::post, Router};
use hmac::{Hmac, Mac};
use mailchimp_support::Api;
use serde_json::json;
use sha2::Sha256;
use testkit::{
    mailchimp::{deliver_webhook, WebhookEvent},
    server::FakeServer,
};

/// What the receiver saw: content type, signature header, raw body.
type Seen = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

async fn receiver() -> (FakeServer, Seen) {
    let seen: Seen = Arc::default();
    let router = Router::new()
        .route(
            "/hook",
            post(
                |State(seen): State<Seen>, headers: HeaderMap, body: String| async move {
                    let header =
                        |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
                    seen.lock().unwrap().push((
                        header("content-type").unwrap_or_default(),
                        header("x-mailchimp-signature"),
                        body,
                    ));
                    "ok"
                },
            ),
        )
        .with_state(seen.clone());
    (FakeServer::start(router).await.unwrap(), seen)
}

/// Verifies `t=..,v1=..` over `"{t}.{body}"` as a receiver would.
fn verify(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

#[tokio::test]
async fn registry_crud_and_the_one_time_signing_secret() {
    let api = Api::start().await;
    let list = api.list();
    let path = format!("/lists/{list}/webhooks");
    api.post(&path, json!({"url": "not a url"}))
        .await
        .problem(400, "Invalid Resource");
    let created = api
        .post(
            &path,
            json!({"url": "http://127.0.0.1:9/hook", "events": {"campaign": false}, "sources": {"api": false}}),
        )
        .await;
    let hook = created.ok().clone();
    let id = hook["id"].as_str().unwrap().to_owned();
    assert_eq!(hook["list_id"], list.as_str());
    assert_eq!(hook["signing_enabled"], true);
    assert_eq!(hook["signing_secret"].as_str().unwrap().len(), 64);
    assert_eq!(hook["events"]["unsubscribe"], true);
    assert_eq!(hook["events"]["campaign"], false);
    assert_eq!(hook["sources"]["user"], true);

    let fetched = api.get(&format!("{path}/{id}")).await;
    assert!(
        fetched.ok().get("signing_secret").is_none(),
        "secret shown only on create"
    );
    api.post(&path, json!({"url": "http://127.0.0.1:9/hook"}))
        .await
        .problem(400, "Bad Request");
    let patched = api
        .patch(
            &format!("{path}/{id}"),
            json!({"events": {"profile": false}}),
        )
        .await;
    assert_eq!(patched.ok()["events"]["profile"], false);
    assert_eq!(patched.ok()["events"]["unsubscribe"], true);
    assert_eq!(api.get(&path).await.ok()["total_items"], 1);
    assert_eq!(api.fake.snapshot().webhooks[&list].len(), 1);
    assert_eq!(api.delete(&format!("{path}/{id}")).await.status, 204);
    api.get(&format!("{path}/{id}"))
        .await
        .problem(404, "Resource Not Found");
}

#[tokio::test]
async fn fired_events_reach_subscribed_webhooks_signed_and_form_encoded() {
    let api = Api::start().await;
    let list = api.list();
    let (server, seen) = receiver().await;
    let url = format!("{}/hook", server.base_url());
    let created = api
        .post(
            &format!("/lists/{list}/webhooks"),
            json!({"url": url, "events": {"profile": false}}),
        )
        .await;
    let secret = created.ok()["signing_secret"].as_str().unwrap().to_owned();

    let event = WebhookEvent::unsubscribe(&list, "gone@northwind-mfg.com", "manual")
        .fired_at("2024-05-01 12:00:00");
    let deliveries = api.fake.fire_webhook_event(&list, &event).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(200));
    assert_eq!(deliveries[0].url, url);

    // Not subscribed to profile events: nothing sent.
    let skipped = api
        .fake
        .fire_webhook_event(
            &list,
            &WebhookEvent::profile(&list, "a@northwind-mfg.com", &[("FNAME", "A")]),
        )
        .await
        .unwrap();
    assert!(skipped.is_empty());

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let (content_type, signature, body) = &seen[0];
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    assert!(
        verify(&secret, signature.as_deref().unwrap(), body),
        "signature must verify"
    );
    assert!(!verify("wrong secret", signature.as_deref().unwrap(), body));
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap();
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("type"), Some("unsubscribe"));
    assert_eq!(get("fired_at"), Some("2024-05-01 12:00:00"));
    assert_eq!(get("data[email]"), Some("gone@northwind-mfg.com"));
    assert_eq!(get("data[list_id]"), Some(list.as_str()));
    assert_eq!(get("data[action]"), Some("unsub"));
    assert_eq!(get("data[reason]"), Some("manual"));
}

#[tokio::test]
async fn deliveries_can_be_unsigned_and_failures_are_reported() {
    let (server, seen) = receiver().await;
    let http = reqwest::Client::new();
    let event = WebhookEvent::cleaned("L1", "bounce@northwind-mfg.com", "hard");
    let status = deliver_webhook(&http, &format!("{}/hook", server.base_url()), &event, None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (_, signature, body) = seen.lock().unwrap()[0].clone();
    assert!(signature.is_none());
    assert!(body.contains("type=cleaned") && body.contains("data%5Breason%5D=hard"));

    let upemail = WebhookEvent::upemail("L1", "old@northwind-mfg.com", "new@northwind-mfg.com");
    assert_eq!(upemail.kind(), "upemail");
    assert!(upemail
        .form_body()
        .contains("data%5Bnew_email%5D=new%40northwind-mfg.com"));

    // A webhook whose receiver is gone: the failure is in the report, not an error.
    let api = Api::start().await;
    let list = api.list();
    let dead = format!("{}/hook", server.base_url());
    api.post(&format!("/lists/{list}/webhooks"), json!({"url": dead}))
        .await
        .ok();
    server.shutdown().await.unwrap();
    let deliveries = api
        .fake
        .fire_webhook_event(
            &list,
            &WebhookEvent::subscribe(&list, "x@northwind-mfg.com"),
        )
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].status.is_none() && deliveries[0].error.is_some());
    assert!(api
        .fake
        .fire_webhook_event("nolist", &upemail)
        .await
        .is_err());
}

#[tokio::test]
async fn url_validation_probes_with_a_get_when_enabled() {
    let agents: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = agents.clone();
    let validating = Router::new().route(
        "/ok",
        axum::routing::get(move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let agent = headers
                    .get("user-agent")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                seen.lock().unwrap().push(agent);
                "ok"
            }
        }),
    );
    let target = FakeServer::start(validating).await.unwrap();
    let fake = testkit::FakeMailchimp::builder()
        .validate_webhook_urls(true)
        .start()
        .await
        .unwrap();
    let api = Api::with(fake);
    let path = format!("/lists/{}/webhooks", api.list());
    let refused = api
        .post(
            &path,
            json!({"url": format!("{}/missing", target.base_url())}),
        )
        .await;
    assert_eq!(
        refused.problem(400, "Invalid Resource")["errors"][0]["field"],
        "url"
    );
    let created = api
        .post(&path, json!({"url": format!("{}/ok", target.base_url())}))
        .await;
    let id = created.ok()["id"].as_str().unwrap().to_owned();
    assert_eq!(*agents.lock().unwrap(), ["MailChimp.com WebHook Validator"]);
    api.patch(
        &format!("{path}/{id}"),
        json!({"url": format!("{}/missing", target.base_url())}),
    )
    .await
    .problem(400, "Invalid Resource");
    assert_eq!(
        api.get(&format!("{path}/{id}")).await.ok()["url"],
        format!("{}/ok", target.base_url())
    );
}

#[tokio::test]
async fn events_with_a_source_reach_only_webhooks_listening_to_it() {
    let api = Api::start().await;
    let list = api.list();
    let (server, seen) = receiver().await;
    let url = format!("{}/hook", server.base_url());
    // Sources default to user and admin, not api, as Mailchimp advises.
    api.post(&format!("/lists/{list}/webhooks"), json!({"url": url}))
        .await
        .ok();
    let from_api = WebhookEvent::subscribe(&list, "a@northwind-mfg.com").source("api");
    assert!(api
        .fake
        .fire_webhook_event(&list, &from_api)
        .await
        .unwrap()
        .is_empty());
    let from_user = WebhookEvent::subscribe(&list, "a@northwind-mfg.com").source("user");
    assert_eq!(
        api.fake
            .fire_webhook_event(&list, &from_user)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}
