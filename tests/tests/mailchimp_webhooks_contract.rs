//! Audience webhooks between `mailchimp-client` and `testkit::FakeMailchimp`: the client manages the
//! fake's registry (create with signing secret, list, get, update, delete); the fake delivers events
//! to a receiver on loopback, and the client's webhook module verifies and parses what arrived.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Router};
use mailchimp_client::webhooks::{
    CleanedReason, NewWebhook, UnsubscribeAction, WebhookError, WebhookEvent as Event,
    WebhookEvents, WebhookSources, WebhookUpdate, WebhookVerifier, SIGNATURE_HEADER,
};
use mailchimp_client::ListId;
use secrecy::ExposeSecret;
use testkit::mailchimp::WebhookEvent;
use testkit::{FakeMailchimp, FakeServer};

/// What the receiver saw: the signature header (if any) and the raw body, per delivery.
type Received = Arc<Mutex<Vec<(Option<String>, Bytes)>>>;

/// A receiver on loopback that records every POST to `/hooks/mailchimp` and answers 200.
async fn receiver() -> (FakeServer, Received) {
    let received = Received::default();
    let router = Router::new()
        .route(
            "/hooks/mailchimp",
            post(
                |State(seen): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    let signature = headers
                        .get(SIGNATURE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    seen.lock().unwrap().push((signature, body));
                },
            ),
        )
        .with_state(received.clone());
    (FakeServer::start(router).await.unwrap(), received)
}

fn member_events() -> WebhookEvents {
    WebhookEvents {
        subscribe: true,
        unsubscribe: true,
        profile: true,
        cleaned: true,
        upemail: true,
        campaign: false,
    }
}

#[tokio::test]
async fn webhook_crud_goes_through_to_the_fakes_registry() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let list = ListId::from(fake.list_id().to_owned());
    let hooks = client.list(&list).webhooks();

    let created = hooks
        .create(&NewWebhook::new(
            "https://sync.example.com/hooks/mailchimp",
            member_events(),
            WebhookSources {
                user: true,
                admin: true,
                api: false,
            },
        ))
        .await
        .unwrap();
    let secret = created.signing_secret.as_ref().unwrap();
    assert!(!secret.expose_secret().is_empty());
    assert!(!format!("{created:?}").contains(secret.expose_secret()));
    let id = created.webhook.id.clone();

    let snapshot = fake.snapshot();
    let stored = &snapshot.webhooks[fake.list_id()][0];
    assert_eq!(stored["id"], id.as_str());
    assert_eq!(stored["url"], "https://sync.example.com/hooks/mailchimp");
    assert_eq!(stored["events"]["upemail"], true);
    assert_eq!(stored["events"]["campaign"], false);
    assert_eq!(stored["sources"]["api"], false);
    assert!(
        stored.get("signing_secret").is_none(),
        "the secret is shown once"
    );

    let listed = hooks.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], created.webhook);
    let got = hooks.get(&id).await.unwrap();
    assert_eq!(got.events, member_events());
    assert_eq!(got.list_id, list);

    let mut update = WebhookUpdate::default();
    update.url = Some("https://sync.example.com/hooks/mailchimp-v2".into());
    update.events = Some(WebhookEvents {
        unsubscribe: true,
        ..WebhookEvents::default()
    });
    let updated = hooks.update(&id, &update).await.unwrap();
    assert_eq!(updated.url, "https://sync.example.com/hooks/mailchimp-v2");
    let snapshot = fake.snapshot();
    let stored = &snapshot.webhooks[fake.list_id()][0];
    assert_eq!(stored["url"], "https://sync.example.com/hooks/mailchimp-v2");
    assert_eq!(stored["events"]["unsubscribe"], true);
    assert_eq!(stored["events"]["subscribe"], false);

    hooks.delete(&id).await.unwrap();
    assert!(fake.snapshot().webhooks[fake.list_id()].is_empty());
    let err = hooks.get(&id).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn signed_deliveries_from_the_fake_verify_and_parse_in_the_client() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let list = ListId::from(fake.list_id().to_owned());
    let (server, received) = receiver().await;
    let created = client
        .list(&list)
        .webhooks()
        .create(&NewWebhook::new(
            format!("{}/hooks/mailchimp", server.base_url()),
            member_events(),
            WebhookSources {
                user: true,
                admin: true,
                api: false,
            },
        ))
        .await
        .unwrap();
    let verifier = WebhookVerifier::signed(created.signing_secret.unwrap());

    let id = fake.list_id();
    let events = [
        WebhookEvent::unsubscribe(id, "gone@northwind-mfg.com", "manual"),
        WebhookEvent::cleaned(id, "bounced@northwind-mfg.com", "hard"),
        WebhookEvent::upemail(id, "old@northwind-mfg.com", "new@northwind-mfg.com"),
        WebhookEvent::profile(
            id,
            "ada@northwind-mfg.com",
            &[("FNAME", "Ada & Co"), ("LNAME", "")],
        )
        .with("merges][ADDRESS][city", "Zürich"),
        WebhookEvent::subscribe(id, "new+tag@northwind-mfg.com"),
        // Not subscribed to: never delivered.
        WebhookEvent::new("campaign", vec![("id".into(), "c42".into())]),
    ];
    for event in &events {
        let deliveries = fake.fire_webhook_event(id, event).await.unwrap();
        let expected = usize::from(event.kind() != "campaign");
        assert_eq!(deliveries.len(), expected, "{}", event.kind());
        for delivery in deliveries {
            assert_eq!(delivery.status, Some(200), "{delivery:?}");
        }
    }

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 5);
    let mut parsed = Vec::new();
    for (signature, body) in &received {
        assert!(signature.is_some(), "signed webhooks send the header");
        let delivery = verifier
            .verify_and_parse(signature.as_deref(), body)
            .unwrap();
        parsed.push(delivery);
    }

    match parsed[0].event() {
        Event::Unsubscribe(e) => {
            assert_eq!(e.member.email, "gone@northwind-mfg.com");
            assert_eq!(e.member.list_id, list);
            assert_eq!(e.action, UnsubscribeAction::Unsubscribe);
            assert_eq!(e.reason.as_deref(), Some("manual"));
        }
        other => panic!("expected unsubscribe, got {other:?}"),
    }
    match parsed[1].event() {
        Event::Cleaned(e) => {
            assert_eq!(e.email, "bounced@northwind-mfg.com");
            assert_eq!(e.reason, CleanedReason::HardBounce);
        }
        other => panic!("expected cleaned, got {other:?}"),
    }
    match parsed[2].event() {
        Event::EmailChanged(e) => {
            assert_eq!(e.old_email, "old@northwind-mfg.com");
            assert_eq!(e.new_email, "new@northwind-mfg.com");
            assert_eq!(
                e.new_id,
                &testkit::mailchimp::subscriber_hash("new@northwind-mfg.com")[..10]
            );
        }
        other => panic!("expected upemail, got {other:?}"),
    }
    match parsed[3].event() {
        Event::Profile(e) => {
            assert_eq!(e.email, "ada@northwind-mfg.com");
            assert_eq!(e.merge("FNAME"), Some("Ada & Co"));
            assert_eq!(e.merge("LNAME"), Some(""));
            let address = e.merges.get("ADDRESS").and_then(|v| v.as_map()).unwrap();
            assert_eq!(
                address.get("city").and_then(|v| v.as_text()),
                Some("Zürich")
            );
        }
        other => panic!("expected profile, got {other:?}"),
    }
    match parsed[4].event() {
        Event::Subscribe(e) => assert_eq!(e.email, "new+tag@northwind-mfg.com"),
        other => panic!("expected subscribe, got {other:?}"),
    }

    // Each delivery has its own dedup key; a redelivery of the same body has the same one.
    let mut keys: Vec<String> = parsed.iter().map(|d| d.dedup_key().into_string()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 5);
    let (signature, body) = &received[0];
    let again = verifier
        .verify_and_parse(signature.as_deref(), body)
        .unwrap();
    assert_eq!(again.dedup_key(), parsed[0].dedup_key());

    // Another secret, a tampered body, or no signature: refused.
    let err = WebhookVerifier::signed("not-the-secret")
        .verify(signature.as_deref(), body)
        .unwrap_err();
    assert!(matches!(err, WebhookError::SignatureMismatch), "{err:?}");
    let mut tampered = body.to_vec();
    tampered.extend_from_slice(b"&data%5Bemail%5D=evil%40northwind-mfg.com");
    let err = verifier
        .verify(signature.as_deref(), &tampered)
        .unwrap_err();
    assert!(matches!(err, WebhookError::SignatureMismatch), "{err:?}");
    let err = verifier.verify(None, body).unwrap_err();
    assert!(matches!(err, WebhookError::MissingSignature), "{err:?}");
}

#[tokio::test]
async fn unsigned_deliveries_parse_when_the_receiver_opts_in() {
    let fake = FakeMailchimp::start().await.unwrap();
    let (server, received) = receiver().await;
    let event = WebhookEvent::unsubscribe(fake.list_id(), "gone@northwind-mfg.com", "abuse");
    let status = testkit::mailchimp::deliver_webhook(
        &reqwest::Client::new(),
        &format!("{}/hooks/mailchimp", server.base_url()),
        &event,
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 200);

    let (signature, body) = received.lock().unwrap()[0].clone();
    assert!(signature.is_none());
    let delivery = WebhookVerifier::accept_unsigned()
        .verify_and_parse(None, &body)
        .unwrap();
    assert_eq!(delivery.event_type(), "unsubscribe");
    match delivery.event() {
        Event::Unsubscribe(e) => assert_eq!(e.reason.as_deref(), Some("abuse")),
        other => panic!("expected unsubscribe, got {other:?}"),
    }
    // A verifier with a secret refuses the same unsigned delivery.
    let err = WebhookVerifier::signed("secret")
        .verify_and_parse(None, &body)
        .unwrap_err();
    assert!(matches!(err, WebhookError::MissingSignature), "{err:?}");
}
