//! Consent and bounces back to QAD: statuses learned from webhooks and from the forward sync's
//! audience reads are written to the consent entity of the fake QAD, each change exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod forward_support;

use std::sync::Arc;

use forward_support::Harness;
use secrecy::ExposeSecret;
use sync_core::audit::AuditQuery;
use sync_core::consent::{ConsentSettings, ConsentWriteBack};
use sync_core::forward::RunOptions;
use sync_core::webhook_receiver::{generate_path_token, serve, ReceiverConfig};
use sync_core::{normalize_email, ObjectKind, Outcome, RunStatus, StateStore, TargetRecord};
use testkit::mailchimp::{signature_header, WebhookEvent};
use testkit::qad::Seeding;

const SECRET: &str = "whsec_consent";

fn codes(h: &Harness) -> Vec<(String, String)> {
    h.qad
        .customers()
        .into_iter()
        .filter_map(|c| Some((c.customer_code, normalize_email(&c.email?))))
        .collect()
}

async fn deliver(url: &str, body: &str) {
    let now = chrono::Utc::now().timestamp();
    let status = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Mailchimp-Signature", signature_header(SECRET, now, body))
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

fn consent_of(h: &Harness, code: &str) -> Vec<serde_json::Value> {
    h.qad
        .consents()
        .into_iter()
        .filter(|r| r["customerCode"] == code)
        .collect()
}

#[tokio::test]
async fn statuses_from_webhooks_and_audience_reads_reach_qad_exactly_once() {
    let h = Harness::start(
        Seeding::new(23)
            .customers(24)
            .items(0)
            .sales_orders(0)
            .invalid_email_share(0.0)
            .duplicate_email_share(0.0),
    )
    .await;
    let list = h.mailchimp.list_id().to_owned();
    let customers = codes(&h);
    let (unsubscribed, cleaned, webhooked) = (&customers[0], &customers[1], &customers[2]);
    // Already in the audience: the forward sync's audience read learns these statuses.
    h.mailchimp
        .seed_member(&list, &unsubscribed.1, "unsubscribed")
        .unwrap();
    h.mailchimp
        .seed_member(&list, &cleaned.1, "cleaned")
        .unwrap();
    let forward = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(forward.status, RunStatus::Completed, "{forward}");

    // A webhook: the third customer unsubscribes.
    let state = Arc::clone(&h.state) as Arc<dyn StateStore>;
    let config = ReceiverConfig::signed(generate_path_token(), SECRET)
        .unwrap()
        .audience(&list);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = config
        .webhook_url(&format!("http://{}", listener.local_addr().unwrap()))
        .unwrap()
        .expose_secret()
        .to_owned();
    let receiver = serve(listener, config, Arc::clone(&state)).await.unwrap();
    deliver(
        &url,
        &WebhookEvent::unsubscribe(&list, &webhooked.1, "manual").form_body(),
    )
    .await;

    let writeback = ConsentWriteBack::new(
        ConsentSettings::default(),
        h.qad_client.clone(),
        state.clone(),
    );
    let plan = writeback.run(true).await.unwrap();
    assert_eq!(plan.written, 3, "{plan}");
    assert!(h.qad.consents().is_empty(), "a dry run writes nothing");

    let first = writeback.run(false).await.unwrap();
    assert_eq!((first.written, first.failed), (3, 0), "{first}");
    for (code, email, status) in [
        (&unsubscribed.0, &unsubscribed.1, "unsubscribed"),
        (&cleaned.0, &cleaned.1, "cleaned"),
        (&webhooked.0, &webhooked.1, "unsubscribed"),
    ] {
        let records = consent_of(&h, code);
        assert_eq!(records.len(), 1, "{code}: {records:?}");
        assert_eq!(records[0]["marketingStatus"], status, "{code}");
        assert_eq!(records[0]["email"], email.as_str());
        assert!(records[0]["statusDate"].as_str().unwrap().ends_with('Z'));
    }
    let rows = state
        .query_audit(&AuditQuery::new().object(ObjectKind::Consents))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|r| r.row.outcome == Outcome::Created && r.row.target == Some(TargetRecord::Consent)));

    // Exactly once: nothing changed, nothing written.
    let again = writeback.run(false).await.unwrap();
    assert_eq!((again.written, again.unchanged), (0, 3), "{again}");
    assert_eq!(h.qad.consents().len(), 3);

    // The customer subscribes again: its one record is updated.
    deliver(
        &url,
        &WebhookEvent::subscribe(&list, &webhooked.1).form_body(),
    )
    .await;
    let later = writeback.run(false).await.unwrap();
    assert_eq!(later.written, 1, "{later}");
    let records = consent_of(&h, &webhooked.0);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["marketingStatus"], "subscribed");
    receiver.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failed_write_is_audited_and_written_by_the_next_pass() {
    use axum::http::Method;
    use testkit::faults::FaultConfig;

    let h = Harness::start(
        Seeding::new(5)
            .customers(6)
            .items(0)
            .sales_orders(0)
            .invalid_email_share(0.0),
    )
    .await;
    let list = h.mailchimp.list_id().to_owned();
    let (code, email) = codes(&h)[0].clone();
    h.mailchimp.seed_member(&list, &email, "cleaned").unwrap();
    h.default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let entity = h.qad.route("api/bdoc/mlconnector/consent/MarketingConsent");
    h.qad
        .faults()
        .set_route(
            Method::POST,
            &entity,
            FaultConfig::none().service_unavailable(1.0),
        )
        .unwrap();
    let state = Arc::clone(&h.state) as Arc<dyn StateStore>;
    let writeback = ConsentWriteBack::new(ConsentSettings::default(), h.qad_client.clone(), state);
    let failed = writeback.run(false).await.unwrap();
    assert_eq!((failed.written, failed.failed), (0, 1), "{failed}");
    let rows = h
        .state
        .query_audit(&AuditQuery::new().object(ObjectKind::Consents))
        .await
        .unwrap();
    assert_eq!(rows[0].row.outcome, Outcome::Failed);
    h.qad.faults().clear_routes();
    let next = writeback.run(false).await.unwrap();
    assert_eq!(next.written, 1, "{next}");
    assert_eq!(consent_of(&h, &code)[0]["marketingStatus"], "cleaned");
    let original = h.state.audit_row(rows[0].id).await.unwrap().unwrap();
    assert!(
        original.resolution.is_some(),
        "the write supersedes the failure"
    );
}
