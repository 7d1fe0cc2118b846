//! Managing an audience's webhooks against a mock Mailchimp.

// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use mailchimp_client::webhooks::{
    ListWebhooks, NewWebhook, WebhookEvents, WebhookId, WebhookSources, WebhookUpdate,
};
use mailchimp_client::{Client, Error, ListId};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{client, KEY};

const CREATED: &str = include_str!("fixtures/webhooks/webhook_created.json");
const BASE: &str = "/lists/a1b2c3d4e5/webhooks";

fn hooks(client: &Client) -> ListWebhooks {
    client.list(&ListId::from("a1b2c3d4e5")).webhooks()
}

fn webhook_json() -> Value {
    let mut hook: Value = serde_json::from_str(CREATED).unwrap();
    hook.as_object_mut().unwrap().remove("signing_secret");
    hook
}

fn events() -> WebhookEvents {
    WebhookEvents {
        unsubscribe: true,
        profile: true,
        cleaned: true,
        upemail: true,
        ..WebhookEvents::default()
    }
}

#[tokio::test]
async fn create_returns_the_one_time_secret_redacted_in_debug() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BASE))
        .and(basic_auth("anystring", KEY))
        .and(body_json(json!({
            "url": "https://sync.example.com/hooks/mailchimp/9f8e7d",
            "events": {"subscribe": false, "unsubscribe": true, "profile": true,
                       "cleaned": true, "upemail": true, "campaign": false},
            "sources": {"user": true, "admin": true, "api": false}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_string(CREATED))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let hook = NewWebhook::new(
        "https://sync.example.com/hooks/mailchimp/9f8e7d",
        events(),
        WebhookSources {
            user: true,
            admin: true,
            api: false,
        },
    );
    let created = hooks(&client).create(&hook).await.unwrap();
    assert_eq!(created.webhook.id.as_str(), "4f8b1c2d3e");
    assert_eq!(created.webhook.signing_enabled, Some(true));
    let secret = created.signing_secret.as_ref().unwrap();
    assert_eq!(secret.expose_secret(), "whsec_7Hq2Xw9LmP4r");
    let shown = format!("{created:?}");
    assert!(!shown.contains("whsec_7Hq2Xw9LmP4r"), "{shown}");
}

#[tokio::test]
async fn create_checks_the_url_before_any_request() {
    let server = MockServer::start().await;
    let client = client(&server).await;
    let hook = NewWebhook::new("not a url", events(), WebhookSources::default());
    let err = hooks(&client).create(&hook).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "webhook.url"));
}

#[tokio::test]
async fn list_get_update_delete() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .and(basic_auth("anystring", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "webhooks": [webhook_json()], "list_id": "a1b2c3d4e5", "total_items": 1, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/4f8b1c2d3e")))
        .respond_with(ResponseTemplate::new(200).set_body_json(webhook_json()))
        .expect(1)
        .mount(&server)
        .await;
    let mut moved = webhook_json();
    moved["url"] = json!("https://sync.example.com/hooks/mailchimp/new");
    Mock::given(method("PATCH"))
        .and(path(format!("{BASE}/4f8b1c2d3e")))
        .and(body_json(
            json!({"url": "https://sync.example.com/hooks/mailchimp/new"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(moved))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{BASE}/4f8b1c2d3e")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let all = hooks(&client).list().await.unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].events.cleaned && !all[0].sources.api);
    let id = WebhookId::from("4f8b1c2d3e");
    let one = hooks(&client).get(&id).await.unwrap();
    assert_eq!(one.list_id.as_str(), "a1b2c3d4e5");
    let mut update = WebhookUpdate::default();
    update.url = Some("https://sync.example.com/hooks/mailchimp/new".into());
    let updated = hooks(&client).update(&id, &update).await.unwrap();
    assert!(updated.url.ends_with("/new"));
    hooks(&client).delete(&id).await.unwrap();
}

#[tokio::test]
async fn errors_map() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/gone")))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "type": "t", "title": "Invalid Resource", "status": 400,
            "detail": "The resource submitted could not be validated.", "instance": "i",
            "errors": [{"field": "url", "message": "We couldn't verify the URL is working."}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let err = hooks(&client)
        .get(&WebhookId::from("gone"))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    let hook = NewWebhook::new(
        "https://down.example.com/h",
        events(),
        WebhookSources::default(),
    );
    let err = hooks(&client).create(&hook).await.unwrap_err();
    assert!(err.is_invalid_resource());
    assert_eq!(err.field_errors()[0].field, "url");
}

#[tokio::test]
async fn a_create_response_that_does_not_decode_quotes_no_secret() {
    let secret = "whsec_0123456789northwind";
    let url = "https://sync.northwind-mfg.com/webhooks/mailchimp/f00dfacecafebabe";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "w1", "url": url, "list_id": "a1b2c3d4e5",
            "signing_secret": secret, "signing_enabled": secret
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let hook = NewWebhook::new(url, events(), WebhookSources::default());
    let err = hooks(&client).create(&hook).await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
    let mut shown = format!("{err} {err:?} {hook:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        shown.push_str(&cause.to_string());
        source = cause.source();
    }
    assert!(!shown.contains(secret), "{shown}");
    assert!(!shown.contains("f00dfacecafebabe"), "{shown}");
}
