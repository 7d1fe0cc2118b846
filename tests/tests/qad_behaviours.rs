//! Every inferred QAD behaviour, end to end: the fake QAD serves each
//! alternative (`--qad-quirk`), the client is configured with the value a
//! probe would detect, and a forward sync reaches the exact end state — or,
//! where the client is configured otherwise and the alternative would lose or
//! double rows, the run stops with the typed error naming the setting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use qad_client::{Behaviour, Credentials};
use sync_core::config::{StoreConfig, SyncConfig};
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::mapping::check_email;
use sync_core::report::RunReport;
use sync_core::{ObjectKind, RunStatus, SqliteStateStore, StateStore};
use testkit::mailchimp::FakeMailchimp;
use testkit::qad::{FakeQad, Seeding};

const STORE: &str = "qad-store";

struct World {
    mailchimp: FakeMailchimp,
    qad: FakeQad,
    client: qad_client::Client,
    sync: ForwardSync,
}

async fn world(quirk: (&str, &str), setting: Option<&str>) -> World {
    let mailchimp = FakeMailchimp::builder()
        .api_key("0123456789abcdef0123456789abcdef-us1")
        .list("audience-1")
        .start()
        .await
        .unwrap();
    let qad = FakeQad::builder()
        .seeding(
            Seeding::new(11)
                .customers(30)
                .items(0)
                .sales_orders(0)
                .invalid_email_share(0.0)
                .duplicate_email_share(0.0),
        )
        .today(chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap())
        .quirk(quirk.0, quirk.1)
        .start()
        .await
        .unwrap();
    let mut behaviour = Behaviour::default();
    if let Some(value) = setting {
        behaviour.set(quirk.0, value).unwrap();
    }
    let qad_client = qad_client::Client::builder()
        .tenant_url(qad.base_url())
        .credentials(Credentials::oauth_password(
            qad.client_id(),
            qad.username(),
            qad.password(),
        ))
        .domain(qad.domain())
        .behaviour(behaviour)
        .build()
        .unwrap();
    let mailchimp_client = mailchimp_client::Client::builder(
        mailchimp_client::Credentials::api_key(mailchimp.api_key()),
    )
    .base_url(mailchimp.api_url())
    .build()
    .await
    .unwrap();
    let mut config = SyncConfig::new(mailchimp.list_id()).with_store(StoreConfig::new(
        STORE,
        "QAD test store",
        "EUR",
    ));
    config.page_size = 7;
    let state: Arc<dyn StateStore> = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
    let sync = ForwardSync::new(config, mailchimp_client, qad_client.clone(), state).unwrap();
    World {
        mailchimp,
        qad,
        client: qad_client,
        sync,
    }
}

impl World {
    fn sync_client(&self) -> &qad_client::Client {
        &self.client
    }

    async fn run(&self) -> RunReport {
        self.sync
            .run(ObjectKind::Customers, RunOptions::new())
            .await
            .unwrap()
    }

    /// The exact end state: one store customer per QAD customer of the
    /// tenant's domain, with its address and current company name, and
    /// nothing of another domain.
    fn assert_exact(&self, report: &RunReport) {
        assert_eq!(report.status, RunStatus::Completed, "{report}");
        let snapshot = self.mailchimp.snapshot();
        let customers = self.qad.customers();
        let store = snapshot.customers.get(STORE).cloned().unwrap_or_default();
        let mut expected = 0;
        for c in &customers {
            let found = snapshot.customer(STORE, &c.customer_code);
            let Some(email) = c.email.as_deref().and_then(|e| check_email(e).ok()) else {
                assert!(found.is_none(), "{}", c.customer_code);
                continue;
            };
            expected += 1;
            let found = found.unwrap_or_else(|| panic!("{} missing; {report}", c.customer_code));
            assert_eq!(found["email_address"], email.as_str());
            assert_eq!(
                found["company"].as_str(),
                c.address_name.as_deref(),
                "{}",
                c.customer_code
            );
            assert!(!found.to_string().contains("90OTHER"), "{found}");
        }
        assert!(expected > 20);
        assert_eq!(store.len(), expected, "{report}");
    }
}

fn assert_fails_naming(report: &RunReport, setting: &str) {
    assert_eq!(report.status, RunStatus::Aborted, "{report}");
    let error = report.error.clone().unwrap_or_default();
    assert!(error.contains(setting), "{error}");
}

#[tokio::test]
async fn paging_modes() {
    for mode in ["page-number", "cursor", "first-only"] {
        let w = world(("paging.mode", mode), Some(mode)).await;
        w.assert_exact(&w.run().await);
    }
    // A cursor reads right even when taken for page numbers (pages go in order).
    let w = world(("paging.mode", "cursor"), None).await;
    w.assert_exact(&w.run().await);
    // A first-only tenant read as page-numbered repeats page 1: caught.
    let w = world(("paging.mode", "first-only"), None).await;
    assert_fails_naming(&w.run().await, "paging.mode");
}

#[tokio::test]
async fn page_size_caps() {
    // A silent cap of 5 under a page size of 7: the default adapts, the
    // detected value never exceeds it; a cap configured too high is caught.
    for setting in [None, Some("5")] {
        let w = world(("paging.page_size_cap", "5"), setting).await;
        w.assert_exact(&w.run().await);
    }
    let w = world(("paging.page_size_cap", "5"), Some("6")).await;
    assert_fails_naming(&w.run().await, "paging.page_size_cap");
}

#[tokio::test]
async fn domain_scopes() {
    for scope in ["query", "filter", "header", "rows"] {
        let w = world(("scope.domain", scope), Some(scope)).await;
        w.assert_exact(&w.run().await);
    }
    // Scoped the wrong way, rows of another domain arrive: caught.
    for scope in ["filter", "header", "rows"] {
        let w = world(("scope.domain", scope), None).await;
        assert_fails_naming(&w.run().await, "scope.domain");
    }
}

/// A full run, then a change to one customer on a later day, then an
/// incremental run: the change must arrive.
async fn incremental(w: &World) -> RunReport {
    w.assert_exact(&w.run().await);
    let code = w.qad.customers()[4].customer_code.clone();
    w.qad
        .set_today(chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap());
    // A store customer's email is immutable at Mailchimp: the change that must arrive is the
    // company name.
    w.qad.update_customer(&code, |c| {
        c.address_name = Some("Changed Buyer Industrial".to_owned());
    });
    w.run().await
}

#[tokio::test]
async fn date_filters() {
    for (quirk, setting) in [
        ("date", "date"),
        ("date-time", "date-time"),
        ("rejected", "none"),
        ("ignored", "none"),
        ("empty", "none"),
        // An ignored filter reads everything: more rows, same end state.
        ("ignored", "date"),
    ] {
        let w = world(("filter.date", quirk), Some(setting)).await;
        let report = incremental(&w).await;
        w.assert_exact(&report);
    }
    // A tenant that refuses the date form configured: the typed 400.
    let w = world(("filter.date", "date-time"), None).await;
    let report = incremental(&w).await;
    assert_eq!(report.status, RunStatus::Aborted, "{report}");
    assert!(report.error.unwrap_or_default().contains("400"));
}

#[tokio::test]
async fn key_orders() {
    for setting in [Some("any"), None] {
        let w = world(("order.key", "any"), setting).await;
        // Interrupted after two pages, then resumed: nothing is skipped.
        let first = w
            .sync
            .run(ObjectKind::Customers, RunOptions::new().max_pages(2))
            .await
            .unwrap();
        assert_eq!(first.status, RunStatus::Cancelled, "{first}");
        w.assert_exact(&w.run().await);
    }
}

fn record() -> qad_client::AttributionRecord {
    qad_client::AttributionRecord {
        order_id: "mc-7001".into(),
        customer_code: "C0000010".into(),
        sales_order_number: None,
        order_total: rust_decimal::Decimal::new(1999, 2),
        currency_code: "EUR".into(),
        financial_status: "paid".into(),
        processed_date: "2026-03-02T10:00:00Z".parse().unwrap(),
        store_id: STORE.into(),
        campaign_id: None,
        lines: Vec::new(),
    }
}

#[tokio::test]
async fn duplicate_attribution_posts() {
    for (quirk, setting, records) in [
        ("rejected", Some("rejected"), 1),
        ("creates", Some("creates"), 1),
        ("server-error", Some("server-error"), 1),
        // A tenant that creates duplicates, taken for one that refuses them:
        // the second record this setting exists to prevent.
        ("creates", None, 2),
    ] {
        let w = world(("attribution.duplicate", quirk), setting).await;
        let writer = w.sync_client().attribution();
        assert_eq!(
            writer.post(&record()).await.unwrap(),
            qad_client::WriteOutcome::Created
        );
        let again = writer.post(&record()).await;
        assert_eq!(w.qad.attributions().len(), records, "{quirk} {setting:?}");
        if records == 1 {
            assert_eq!(again.unwrap(), qad_client::WriteOutcome::Updated);
        }
    }
    // A Progress-style 500 not configured as a duplicate is a typed error.
    let w = world(("attribution.duplicate", "server-error"), None).await;
    let writer = w.sync_client().attribution();
    writer.post(&record()).await.unwrap();
    let err = writer.post(&record()).await.unwrap_err();
    assert!(
        matches!(err, qad_client::Error::Api { status: 500, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn entity_checks() {
    use qad_client::EntityStatus;
    for (quirk, setting, expected) in [
        ("get", Some("get"), EntityStatus::Ok),
        ("none", Some("none"), EntityStatus::Unchecked),
    ] {
        let w = world(("validate.entity", quirk), setting).await;
        let client = w.sync_client();
        let checks = client
            .validate_entities(client.configured_targets())
            .await
            .unwrap();
        assert!(checks.iter().all(|c| c.status != EntityStatus::NotFound));
        assert_eq!(checks.last().unwrap().status, expected);
    }
    let w = world(("validate.entity", "none"), None).await;
    let client = w.sync_client();
    let checks = client
        .validate_entities(client.configured_targets())
        .await
        .unwrap();
    assert!(
        matches!(
            checks.last().unwrap().status,
            EntityStatus::Other(Some(405), _)
        ),
        "{checks:?}"
    );
}

/// The probe's verdict and value for `name` against a fake with `quirk`.
async fn probe(quirk: (&str, &str), name: &str) -> qad_client::Assumption {
    let w = world(quirk, None).await;
    let report = w.sync_client().probe(true).await.unwrap();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["assumptions"].as_array().unwrap().len(), 8);
    report
        .assumptions
        .into_iter()
        .find(|a| a.name == name)
        .unwrap()
}

#[tokio::test]
async fn the_probe_verifies_every_guess_against_a_fake_without_quirks() {
    let w = world(("order.key", "key"), None).await;
    let report = w.sync_client().probe(true).await.unwrap();
    for a in &report.assumptions {
        assert_eq!(a.verdict, qad_client::Verdict::Verified, "{a:?}");
    }
    assert_eq!(report.detected(Behaviour::default()), Behaviour::default());
    // The duplicate experiment's record is left, marked, and named.
    let probe_records = w.qad.attributions();
    assert_eq!(probe_records.len(), 1);
    let id = probe_records[0]["orderId"].as_str().unwrap();
    assert!(id.starts_with(qad_client::PROBE_ORDER_PREFIX));
    let duplicate = &report.assumptions[5];
    assert_eq!(duplicate.evidence["probe_record"], id);
}

#[tokio::test]
async fn the_probe_finds_every_alternative() {
    use qad_client::Verdict::{Contradicted, Verified};
    for (name, quirk, verdict, value) in [
        ("paging.mode", "page-number", Verified, "page-number"),
        ("paging.mode", "cursor", Contradicted, "cursor"),
        ("paging.mode", "first-only", Contradicted, "first-only"),
        ("paging.page_size_cap", "reported", Verified, "reported"),
        ("paging.page_size_cap", "5", Contradicted, "5"),
        ("scope.domain", "query", Verified, "query"),
        ("scope.domain", "filter", Contradicted, "filter"),
        ("scope.domain", "header", Contradicted, "header"),
        ("scope.domain", "rows", Contradicted, "rows"),
        ("filter.date", "date", Verified, "date"),
        ("filter.date", "date-time", Contradicted, "date-time"),
        ("filter.date", "rejected", Contradicted, "none"),
        ("filter.date", "ignored", Contradicted, "none"),
        ("filter.date", "empty", Contradicted, "none"),
        ("order.key", "key", Verified, "key"),
        ("order.key", "any", Contradicted, "any"),
        ("attribution.duplicate", "rejected", Verified, "rejected"),
        ("attribution.duplicate", "creates", Contradicted, "creates"),
        (
            "attribution.duplicate",
            "server-error",
            Contradicted,
            "server-error",
        ),
        ("validate.entity", "get", Verified, "get"),
        ("validate.entity", "none", Contradicted, "none"),
        ("count.endpoint", "bare", Verified, "total-count"),
        ("count.endpoint", "object", Verified, "total-count"),
        ("count.endpoint", "absent", Contradicted, "none"),
    ] {
        let found = probe((name, quirk), name).await;
        assert_eq!(
            (found.verdict, found.value.as_deref()),
            (verdict, Some(value)),
            "{name}={quirk}: {found:?}"
        );
    }
}

#[tokio::test]
async fn the_count_probe_compares_the_count_with_the_rows_served() {
    let found = probe(("count.endpoint", "object"), "count.endpoint").await;
    assert_eq!(found.evidence["count"], 30, "{found:?}");
    assert_eq!(found.evidence["rows"], 30, "{found:?}");
    // Where nothing scopes a browse to the domain, nothing scopes its count.
    let found = probe(("scope.domain", "rows"), "count.endpoint").await;
    assert_eq!(found.verdict, qad_client::Verdict::Unknown, "{found:?}");
}

#[tokio::test]
async fn a_forward_run_knows_its_total_when_the_tenant_counts() {
    let w = world(("count.endpoint", "bare"), None).await;
    let report = w.run().await;
    w.assert_exact(&report);
    assert_eq!(report.expected_total, Some(w.qad.customers().len() as u64));
    let w = world(("count.endpoint", "absent"), None).await;
    let report = w.run().await;
    w.assert_exact(&report);
    assert_eq!(report.expected_total, None);
}

#[tokio::test]
async fn without_writes_the_duplicate_probe_is_unknown_and_writes_nothing() {
    let w = world(("order.key", "key"), None).await;
    let report = w.sync_client().probe(false).await.unwrap();
    let duplicate = &report.assumptions[5];
    assert_eq!(duplicate.verdict, qad_client::Verdict::Unknown);
    assert!(duplicate.why.as_deref().unwrap().contains("--probe-writes"));
    assert!(w.qad.attributions().is_empty());
}

#[tokio::test]
async fn a_refused_login_is_not_repeated_so_the_user_is_not_locked() {
    // The tenant locks the user after 3 failed logins in a row.
    let w = world(("auth.lockout", "3"), None).await;
    let wrong = qad_client::Client::builder()
        .tenant_url(w.qad.base_url())
        .credentials(Credentials::oauth_password(
            w.qad.client_id(),
            w.qad.username(),
            "an-old-password",
        ))
        .domain(w.qad.domain())
        .build()
        .unwrap();
    let first = wrong.customers().count(5).send().await.unwrap_err();
    assert!(matches!(first, qad_client::Error::Auth { .. }), "{first:?}");
    assert!(wrong.login_blocked_since().await.is_some());
    // Scheduled runs keep failing, but without a login: the user stays unlocked.
    for _ in 0..5 {
        let err = wrong.customers().count(5).send().await.unwrap_err();
        assert!(matches!(err, qad_client::Error::LoginBlocked), "{err:?}");
        assert!(err.to_string().contains("ml-connector connect"));
    }
    assert_eq!(w.qad.logins().rejected, 1);
    assert!(!w.qad.locked());
    // A person allows one more try (connect): it is one login, refused again.
    wrong.allow_login().await;
    assert!(wrong.customers().count(5).send().await.is_err());
    assert_eq!(w.qad.logins().rejected, 2);
    assert!(!w.qad.locked());
    // The right credentials still work: the tenant never locked the user.
    let report = w.run().await;
    w.assert_exact(&report);
}
