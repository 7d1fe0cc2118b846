//! The webhook receiver against deliveries sent by the fake Mailchimp, signed and unsigned:
//! secret path, validator GET, signatures, dedup, body limit, events applied and audited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use mailchimp_client::{Credentials, ListId};
use secrecy::{ExposeSecret, SecretString};
use sync_core::audit::AuditQuery;
use sync_core::webhook_receiver::{
    generate_path_token, register_webhook, serve, ReceiverConfig, ReceiverHandle, Rejection,
    REJECTED_KEY,
};
use sync_core::{
    IdMapping, MemberStatus, ObjectKind, Outcome, RunStatus, SqliteStateStore, StateBatch,
    StateStore,
};
use testkit::mailchimp::{deliver_webhook, FakeMailchimp, WebhookEvent};

struct Setup {
    fake: FakeMailchimp,
    state: Arc<SqliteStateStore>,
    receiver: ReceiverHandle,
    url: String,
    /// The signing secret of the registered webhook.
    secret: String,
    http: reqwest::Client,
}

impl Setup {
    fn base(&self) -> String {
        format!("http://{}", self.receiver.local_addr())
    }

    async fn rows(&self, key: &str) -> Vec<sync_core::audit::AuditRow> {
        self.state
            .query_audit(&AuditQuery::new().source_key(key))
            .await
            .unwrap()
    }

    /// Every audit row of the state database, whatever its key.
    async fn all_rows(&self) -> Vec<sync_core::audit::AuditRow> {
        self.state.query_audit(&AuditQuery::new()).await.unwrap()
    }

    async fn status_of(&self, email: &str) -> Option<MemberStatus> {
        self.state
            .member_statuses(&[email.to_owned()])
            .await
            .unwrap()
            .remove(email)
            .map(|r| r.status)
    }
}

/// A receiver registered on the fake's audience; signed unless `unsigned`.
async fn start(unsigned: bool) -> Setup {
    let fake = FakeMailchimp::start().await.unwrap();
    let mailchimp = mailchimp_client::Client::builder(Credentials::api_key(fake.api_key()))
        .base_url(fake.api_url())
        .build()
        .await
        .unwrap();
    let state = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let token = generate_path_token();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let url = ReceiverConfig::unsigned_secret_url(token.clone())
        .unwrap()
        .webhook_url(&public)
        .unwrap();
    let registration = register_webhook(&mailchimp, &ListId::from(fake.list_id()), &url)
        .await
        .unwrap();
    assert!(registration.created);
    // Neither the one-time secret nor the secret path shows in Debug.
    let shown = format!("{registration:?}");
    assert!(!shown.contains(token.expose_secret()), "{shown}");
    let secret = registration
        .signing_secret
        .as_ref()
        .unwrap()
        .expose_secret();
    assert!(!shown.contains(secret), "{shown}");
    let secret = secret.to_owned();
    let config = if unsigned {
        ReceiverConfig::unsigned_secret_url(token).unwrap()
    } else {
        ReceiverConfig::signed(token, registration.signing_secret.unwrap()).unwrap()
    };
    let receiver = serve(listener, config, state.clone()).await.unwrap();
    Setup {
        fake,
        state,
        receiver,
        url: url.expose_secret().to_owned(),
        secret,
        http: reqwest::Client::new(),
    }
}

#[tokio::test]
async fn registration_leaves_out_api_changes_and_keeps_the_secret() {
    let setup = start(false).await;
    let hooks = &setup.fake.snapshot().webhooks[setup.fake.list_id()];
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["url"], setup.url.as_str());
    assert_eq!(hooks[0]["sources"]["api"], false);
    assert_eq!(hooks[0]["sources"]["user"], true);
    assert_eq!(hooks[0]["events"]["cleaned"], true);

    // Registering again keeps the webhook (Mailchimp shows no secret twice).
    let mailchimp = mailchimp_client::Client::builder(Credentials::api_key(setup.fake.api_key()))
        .base_url(setup.fake.api_url())
        .build()
        .await
        .unwrap();
    let again = register_webhook(
        &mailchimp,
        &ListId::from(setup.fake.list_id()),
        &SecretString::from(setup.url.clone()),
    )
    .await
    .unwrap();
    assert!(!again.created);
    assert!(again.signing_secret.is_none());
    assert_eq!(
        setup.fake.snapshot().webhooks[setup.fake.list_id()].len(),
        1
    );
}

#[tokio::test]
async fn signed_deliveries_from_the_fake_are_applied_and_audited() {
    let setup = start(false).await;
    let list = setup.fake.list_id();
    let unsubscribe = WebhookEvent::unsubscribe(list, "Gone@Northwind-mfg.com", "manual");
    let cleaned = WebhookEvent::cleaned(list, "bounced@northwind-mfg.com", "hard");
    let profile = WebhookEvent::profile(list, "ann@northwind-mfg.com", &[("FNAME", "Ann")]);
    for event in [&unsubscribe, &cleaned, &profile] {
        let deliveries = setup.fake.fire_webhook_event(list, event).await.unwrap();
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0].status, Some(200), "{deliveries:?}");
    }
    assert_eq!(
        setup.status_of("gone@northwind-mfg.com").await,
        Some(MemberStatus::Unsubscribed)
    );
    assert!(MemberStatus::Unsubscribed.blocks_push());
    assert_eq!(
        setup.status_of("bounced@northwind-mfg.com").await,
        Some(MemberStatus::Cleaned)
    );
    assert_eq!(setup.status_of("ann@northwind-mfg.com").await, None);

    let rows = setup
        .state
        .query_audit(&AuditQuery::new().object(ObjectKind::WebhookEvents))
        .await
        .unwrap();
    let outcomes: Vec<_> = rows.iter().map(|r| r.row.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Updated, Outcome::Updated, Outcome::Skipped]
    );
    assert_eq!(
        rows[2].row.payload.as_ref().unwrap()["data"]["merges"]["FNAME"],
        "Ann"
    );
    assert!(rows.iter().all(|r| r.row.run_id == setup.receiver.run_id()));

    let run = setup.receiver.run_id();
    let state = setup.state.clone();
    setup.receiver.shutdown().await.unwrap();
    let record = state.run(run).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Completed);
    assert_eq!(record.counts.updated, 2);
}

#[tokio::test]
async fn a_bad_or_missing_signature_is_counted_and_writes_nothing() {
    let setup = start(false).await;
    let event = WebhookEvent::unsubscribe(setup.fake.list_id(), "x@northwind-mfg.com", "manual");
    let status = deliver_webhook(&setup.http, &setup.url, &event, Some("not-the-secret"))
        .await
        .unwrap();
    assert_eq!(status, 401);
    let unsigned = deliver_webhook(&setup.http, &setup.url, &event, None)
        .await
        .unwrap();
    assert_eq!(
        unsigned, 401,
        "signatures are required once a secret is configured"
    );
    assert_eq!(setup.status_of("x@northwind-mfg.com").await, None);

    // Unauthenticated: no audit row at all, only the counter.
    assert!(setup.all_rows().await.is_empty());
    let stats = setup.receiver.stats();
    assert_eq!(stats.count(Rejection::Unauthenticated), 2, "{stats}");
    assert_eq!(stats.total(), 2, "{stats}");
}

#[tokio::test]
async fn a_signed_delivery_that_does_not_decode_is_audited_without_secrets() {
    let setup = start(false).await;
    let secret = setup.secret.clone();
    let body = "type=cleaned&fired_at=yesterday";
    let now = chrono::Utc::now().timestamp();
    let response = setup
        .http
        .post(&setup.url)
        .header(
            "X-Mailchimp-Signature",
            testkit::mailchimp::signature_header(&secret, now, body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let rejected = setup.rows(REJECTED_KEY).await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].row.outcome, Outcome::Rejected);
    assert!(
        rejected[0]
            .row
            .error
            .as_deref()
            .unwrap()
            .contains("fired_at"),
        "{:?}",
        rejected[0].row.error
    );
    assert_eq!(
        rejected[0].row.payload.as_ref().unwrap()["http_status"],
        400
    );
    let token = setup.url.rsplit('/').next().unwrap();
    let stored = serde_json::to_string(&rejected).unwrap();
    assert!(!stored.contains(token) && !stored.contains(&secret));
    assert_eq!(setup.receiver.stats().count(Rejection::Malformed), 1);
}

#[tokio::test]
async fn unsigned_deliveries_on_the_secret_url_apply_once() {
    let setup = start(true).await;
    let list = setup.fake.list_id();
    let event = WebhookEvent::cleaned(list, "dup@northwind-mfg.com", "abuse")
        .fired_at("2025-05-01 10:00:00");
    for _ in 0..3 {
        let status = deliver_webhook(&setup.http, &setup.url, &event, None)
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    let key = "7:cleaned|2025-05-01 10:00:00|dup@northwind-mfg.com";
    let rows = setup.rows(key).await;
    let outcomes: Vec<_> = rows.iter().map(|r| r.row.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Updated, Outcome::Unchanged, Outcome::Unchanged]
    );
    assert_eq!(
        setup.status_of("dup@northwind-mfg.com").await,
        Some(MemberStatus::Cleaned)
    );

    // A member who changes address keeps its id-map entries and remembered status.
    setup
        .state
        .apply(StateBatch::new().map_id(IdMapping::new(
            ObjectKind::Members,
            "C0000007",
            "dup@northwind-mfg.com",
        )))
        .await
        .unwrap();
    let moved = WebhookEvent::upemail(list, "dup@northwind-mfg.com", "New@Northwind-mfg.com");
    assert_eq!(
        deliver_webhook(&setup.http, &setup.url, &moved, None)
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        setup
            .state
            .target_id(ObjectKind::Members, "C0000007")
            .await
            .unwrap()
            .as_deref(),
        Some("new@northwind-mfg.com")
    );
    assert_eq!(
        setup.status_of("new@northwind-mfg.com").await,
        Some(MemberStatus::Cleaned)
    );
}

#[tokio::test]
async fn wrong_paths_oversized_and_malformed_bodies_are_refused_counted_and_not_stored() {
    let setup = start(true).await;
    // The validator GET.
    let ok = setup.http.get(&setup.url).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    // Wrong or missing token, other paths.
    let wrong = format!("{}/webhooks/mailchimp/{}", setup.base(), "f".repeat(64));
    for url in [
        wrong.clone(),
        format!("{}/webhooks/mailchimp", setup.base()),
        setup.base(),
    ] {
        assert_eq!(
            setup.http.get(&url).send().await.unwrap().status(),
            404,
            "{url}"
        );
    }
    let event = WebhookEvent::subscribe(setup.fake.list_id(), "a@northwind-mfg.com");
    assert_eq!(
        deliver_webhook(&setup.http, &wrong, &event, None)
            .await
            .unwrap(),
        404
    );
    // Over 64 KiB.
    let big = format!(
        "type=profile&fired_at=2025-01-01+00%3A00%3A00&data[x]={}",
        "a".repeat(70_000)
    );
    let response = setup.http.post(&setup.url).body(big).send().await.unwrap();
    assert_eq!(response.status(), 413);
    // Not a delivery.
    let response = setup
        .http
        .post(&setup.url)
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Nothing reached the state database: each refusal is only counted.
    assert!(setup.all_rows().await.is_empty());
    assert_eq!(setup.status_of("a@northwind-mfg.com").await, None);
    let stats = setup.receiver.stats();
    assert_eq!(stats.count(Rejection::WrongPath), 4, "{stats}");
    assert_eq!(stats.count(Rejection::BodyTooLarge), 1, "{stats}");
    assert_eq!(stats.count(Rejection::Malformed), 1, "{stats}");
    assert_eq!(stats.total(), 6, "{stats}");
}

#[tokio::test]
async fn a_returning_member_is_remembered_as_subscribed_and_a_delete_blocks_pushes() {
    let setup = start(true).await;
    let list = setup.fake.list_id();
    let send = |event: WebhookEvent| {
        let http = setup.http.clone();
        let url = setup.url.clone();
        async move { deliver_webhook(&http, &url, &event, None).await.unwrap() }
    };
    let left = WebhookEvent::unsubscribe(list, "back@northwind-mfg.com", "manual")
        .fired_at("2025-05-01 10:00:00");
    assert_eq!(send(left).await, 200);
    assert_eq!(
        setup.status_of("back@northwind-mfg.com").await,
        Some(MemberStatus::Unsubscribed)
    );
    let back =
        WebhookEvent::subscribe(list, "back@northwind-mfg.com").fired_at("2025-05-02 10:00:00");
    assert_eq!(send(back).await, 200);
    assert_eq!(
        setup.status_of("back@northwind-mfg.com").await,
        Some(MemberStatus::Subscribed)
    );

    let deleted = WebhookEvent::new(
        "unsubscribe",
        vec![
            ("id".into(), "abc123".into()),
            ("list_id".into(), list.to_owned()),
            ("email".into(), "deleted@northwind-mfg.com".into()),
            ("action".into(), "delete".into()),
        ],
    );
    assert_eq!(send(deleted).await, 200);
    let record = setup
        .state
        .member_statuses(&["deleted@northwind-mfg.com".to_owned()])
        .await
        .unwrap()
        .remove("deleted@northwind-mfg.com")
        .unwrap();
    assert_eq!(record.status, MemberStatus::Unsubscribed);
    assert_eq!(record.reason.as_deref(), Some("deleted in Mailchimp"));
}

#[test]
fn unsigned_mode_from_the_vault_must_be_chosen_explicitly() {
    let secrets = sync_core::vault::WebhookSecrets {
        path_token: generate_path_token(),
        signing_secret: None,
    };
    assert!(ReceiverConfig::from_secrets(&secrets, false).is_err());
    let config = ReceiverConfig::from_secrets(&secrets, true).unwrap();
    assert!(!config.requires_signature());
    let signed = sync_core::vault::WebhookSecrets {
        signing_secret: Some(SecretString::from("whsec")),
        ..secrets
    };
    assert!(ReceiverConfig::from_secrets(&signed, false)
        .unwrap()
        .requires_signature());
}
