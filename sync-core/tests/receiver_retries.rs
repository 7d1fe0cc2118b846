//! Mailchimp's retries of a delivery the receiver missed may carry the original signature
//! timestamp, hours old: the receiver's tolerance (24 h by default, configurable) lets them in, and
//! the delivery-key dedup applies each event once however often it arrives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use sync_core::audit::AuditQuery;
use sync_core::webhook_receiver::{
    generate_path_token, serve, ReceiverConfig, ReceiverHandle, Rejection,
    DEFAULT_SIGNATURE_TOLERANCE,
};
use sync_core::{MemberStatus, Outcome, SqliteStateStore, StateStore};
use testkit::mailchimp::{signature_header, WebhookEvent};

const SECRET: &str = "whsec-retries-test";
const LIST: &str = "a6b5da1054";

struct Receiver {
    state: Arc<SqliteStateStore>,
    handle: ReceiverHandle,
    url: String,
    http: reqwest::Client,
}

async fn start(tolerance: Option<Duration>) -> Receiver {
    let state = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let mut config = ReceiverConfig::signed(generate_path_token(), SECRET).unwrap();
    if let Some(tolerance) = tolerance {
        config = config.signature_tolerance(tolerance);
    }
    let url = config
        .webhook_url(&public)
        .unwrap()
        .expose_secret()
        .to_owned();
    let handle = serve(listener, config, state.clone()).await.unwrap();
    Receiver {
        state,
        handle,
        url,
        http: reqwest::Client::new(),
    }
}

impl Receiver {
    /// Posts `event` signed as Mailchimp signed it `age` ago.
    async fn deliver_signed_ago(&self, event: &WebhookEvent, age: Duration) -> u16 {
        let body = event.form_body();
        let signed_at = chrono::Utc::now().timestamp() - i64::try_from(age.as_secs()).unwrap();
        self.http
            .post(&self.url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header(
                "X-Mailchimp-Signature",
                signature_header(SECRET, signed_at, &body),
            )
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn status_of(&self, email: &str) -> Option<MemberStatus> {
        self.state
            .member_statuses(&[email.to_owned()])
            .await
            .unwrap()
            .remove(email)
            .map(|r| r.status)
    }

    /// Every audit row, whatever its key: refused deliveries must leave none.
    async fn audit_rows(&self) -> usize {
        self.state
            .query_audit(&AuditQuery::new())
            .await
            .unwrap()
            .len()
    }

    fn unauthenticated(&self) -> u64 {
        self.handle.stats().count(Rejection::Unauthenticated)
    }
}

const HOURS: u64 = 60 * 60;

#[tokio::test]
async fn a_retry_signed_hours_ago_is_applied_once_by_default() {
    let receiver = start(None).await;
    let event = WebhookEvent::cleaned(LIST, "buyer@northwind-mfg.com", "hard")
        .fired_at("2026-03-02 08:00:00");
    // The first attempt never reached us; Mailchimp's retries, 3 h and 5 h later, keep the
    // original timestamp.
    let retry = receiver
        .deliver_signed_ago(&event, Duration::from_secs(3 * HOURS))
        .await;
    let again = receiver
        .deliver_signed_ago(&event, Duration::from_secs(5 * HOURS))
        .await;
    assert_eq!((retry, again), (200, 200));
    assert_eq!(
        receiver.status_of("buyer@northwind-mfg.com").await,
        Some(MemberStatus::Cleaned)
    );
    let key = "7:cleaned|2026-03-02 08:00:00|buyer@northwind-mfg.com";
    let outcomes: Vec<_> = receiver
        .state
        .query_audit(&AuditQuery::new().source_key(key))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.row.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [Outcome::Updated, Outcome::Unchanged],
        "applied once, the second arrival recorded as the duplicate it is"
    );
    assert_eq!(receiver.handle.stats().total(), 0);
    receiver.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_delivery_older_than_the_tolerance_is_refused_and_counted_not_stored() {
    let receiver = start(None).await;
    let event = WebhookEvent::cleaned(LIST, "old@acme-industrial.com", "hard");
    let stale = DEFAULT_SIGNATURE_TOLERANCE + Duration::from_secs(HOURS);
    assert_eq!(receiver.deliver_signed_ago(&event, stale).await, 401);
    assert_eq!(receiver.status_of("old@acme-industrial.com").await, None);
    assert_eq!(receiver.audit_rows().await, 0);
    assert_eq!(receiver.unauthenticated(), 1);
    // Just inside the tolerance it is applied.
    let inside = DEFAULT_SIGNATURE_TOLERANCE - Duration::from_secs(HOURS);
    assert_eq!(receiver.deliver_signed_ago(&event, inside).await, 200);
    assert_eq!(receiver.unauthenticated(), 1);
    receiver.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_configured_tolerance_is_honoured() {
    let receiver = start(Some(Duration::from_secs(5 * 60))).await;
    let event = WebhookEvent::cleaned(LIST, "late@contoso-parts.de", "hard");
    assert_eq!(
        receiver
            .deliver_signed_ago(&event, Duration::from_secs(3 * HOURS))
            .await,
        401
    );
    assert_eq!(
        receiver
            .deliver_signed_ago(&event, Duration::from_secs(60))
            .await,
        200
    );
    assert_eq!(
        receiver.status_of("late@contoso-parts.de").await,
        Some(MemberStatus::Cleaned)
    );
    assert_eq!(receiver.unauthenticated(), 1);
    assert_eq!(
        receiver.audit_rows().await,
        1,
        "only the applied delivery's row"
    );
    receiver.handle.shutdown().await.unwrap();
}
