//! Self-healing end to end: member batches retried through the client's policy, e-commerce
//! customers waiting for their member, the replay queue retried by later runs (re-mapped from
//! QAD, never a stale payload), with per-row backoff and dead rows.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod forward_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use forward_support::{config, Harness, STORE};
use serde_json::Value;
use sync_core::audit::{AuditQuery, AuditRow, ReplayFilter};
use sync_core::config::SyncConfig;
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::mapping::StatusIfNew;
use sync_core::replay::RetryPolicy;
use sync_core::{ObjectKind, Outcome, RunStatus, StateStore};
use testkit::qad::Seeding;
use testkit::{FaultConfig, FaultKind};

const BATCH_ROUTE: &str = "/3.0/lists/{list_id}";
const ECOM_CUSTOMER_ROUTE: &str = "/3.0/ecommerce/stores/{store_id}/customers/{customer_id}";

fn seeding() -> Seeding {
    Seeding::new(21)
        .customers(30)
        .items(1)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
        .missing_field_share(0.0)
}

fn subscribing(list_id: &str) -> SyncConfig {
    let mut config = config(list_id);
    config.mapping.customer.status_if_new = StatusIfNew::Subscribed;
    config
}

/// An engine whose Mailchimp client retries quickly (`attempts` per call).
async fn fast_sync(h: &Harness, config: SyncConfig, attempts: u32) -> ForwardSync {
    let mailchimp = mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(
        h.mailchimp.api_key(),
    ))
    .base_url(h.mailchimp.api_url())
    .retry(
        mailchimp_client::RetryConfig::new()
            .with_max_attempts(attempts)
            .with_base_delay(Duration::from_millis(1))
            .with_max_delay(Duration::from_millis(5))
            .with_jitter(false),
    )
    .build()
    .await
    .unwrap();
    ForwardSync::new(
        config,
        mailchimp,
        h.qad_client.clone(),
        Arc::clone(&h.state) as Arc<dyn StateStore>,
    )
    .unwrap()
}

/// Every store customer `PUT` answers 503 until the routes are cleared.
fn fail_every_store_customer_put(h: &Harness) {
    h.mailchimp
        .faults()
        .set_route(
            Method::PUT,
            ECOM_CUSTOMER_ROUTE,
            FaultConfig::none().service_unavailable(1.0),
        )
        .unwrap();
}

/// A first run during which every store customer `PUT` answers 503: each customer's e-commerce
/// write is queued for a retry. The endpoint works again afterwards.
async fn queue_every_store_customer(h: &Harness, sync: &ForwardSync) {
    fail_every_store_customer_put(h);
    sync.run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    h.mailchimp.faults().clear_routes();
}

/// Members (email → status and merge fields) and e-commerce customers (id → email, name) of the
/// fake: the end state two runs are compared on.
fn end_state(h: &Harness) -> (BTreeMap<String, Value>, BTreeMap<String, Value>) {
    let snapshot = h.mailchimp.snapshot();
    let members = snapshot
        .members
        .get(h.mailchimp.list_id())
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let email = m["email_address"].as_str().unwrap().to_lowercase();
            (
                email,
                serde_json::json!({"status": m["status"], "merge_fields": m["merge_fields"]}),
            )
        })
        .collect();
    let customers = snapshot
        .customers
        .get(STORE)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let id = c["id"].as_str().unwrap().to_owned();
            (
                id,
                serde_json::json!({"email": c["email_address"], "first": c["first_name"],
                                   "last": c["last_name"], "company": c["company"]}),
            )
        })
        .collect();
    (members, customers)
}

fn statuses(h: &Harness) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (_, m) in end_state(h).0 {
        *out.entry(m["status"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    out
}

#[tokio::test]
async fn a_batch_answered_503_once_is_sent_again_and_every_member_arrives() {
    let h = Harness::start(seeding()).await;
    let sync = fast_sync(&h, subscribing(h.mailchimp.list_id()), 3).await;
    h.mailchimp
        .faults()
        .fail_next(Method::POST, BATCH_ROUTE, 1, FaultKind::ServiceUnavailable);
    let report = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    let members = &report.targets[&ObjectKind::Members];
    assert_eq!((members.created, members.failed), (30, 0), "{report}");
    assert_eq!(h.mailchimp.faults().injected().len(), 1);
    assert_eq!(statuses(&h), BTreeMap::from([("subscribed".into(), 30)]));
    assert_eq!(h.mailchimp.snapshot().customers[STORE].len(), 30);
}

#[tokio::test]
async fn a_batch_whose_connection_drops_is_sent_again_and_every_member_arrives() {
    for kind in [FaultKind::DroppedConnection, FaultKind::LostResponse] {
        let h = Harness::start(seeding()).await;
        let sync = fast_sync(&h, subscribing(h.mailchimp.list_id()), 3).await;
        h.mailchimp
            .faults()
            .fail_next(Method::POST, BATCH_ROUTE, 1, kind);
        let report = sync
            .run(ObjectKind::Customers, RunOptions::new())
            .await
            .unwrap();
        let members = &report.targets[&ObjectKind::Members];
        assert_eq!(
            members.created + members.updated,
            30,
            "{kind}: every member written: {report}"
        );
        assert_eq!(members.failed, 0, "{kind}: {report}");
        // After a lost response the members the first attempt added come back as "contact
        // exists" and keep the status they were created with.
        assert_eq!(
            statuses(&h),
            BTreeMap::from([("subscribed".into(), 30)]),
            "{kind}"
        );
        assert_eq!(h.mailchimp.snapshot().customers[STORE].len(), 30, "{kind}");
    }
}

#[tokio::test]
async fn a_batch_refused_with_429_defers_its_customers_and_the_next_run_heals_exactly() {
    // The fault-free end state, on the same seed.
    let clean = Harness::start(seeding()).await;
    fast_sync(&clean, subscribing(clean.mailchimp.list_id()), 3)
        .await
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let expected = end_state(&clean);
    assert_eq!(expected.0.len(), 30);

    let h = Harness::start(seeding()).await;
    let sync = fast_sync(&h, subscribing(h.mailchimp.list_id()), 3).await;
    // Every batch POST is refused: the first page (25 new members) goes as a batch; the second
    // (5) as single PUTs.
    h.mailchimp
        .faults()
        .set_route(
            Method::POST,
            BATCH_ROUTE,
            FaultConfig::none().too_many_requests(1.0),
        )
        .unwrap();
    let report = sync
        .run(ObjectKind::Customers, RunOptions::new().retry_failed(true))
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    let members = &report.targets[&ObjectKind::Members];
    assert_eq!((members.created, members.failed), (5, 25), "{report}");
    let ecom = &report.targets[&ObjectKind::EcommerceCustomers];
    assert_eq!(
        (ecom.created + ecom.updated, ecom.deferred),
        (5, 25),
        "{report}"
    );
    // No member was created behind the connector's back.
    assert_eq!(statuses(&h), BTreeMap::from([("subscribed".into(), 5)]));
    assert_eq!(h.mailchimp.snapshot().customers[STORE].len(), 5);
    let queue = h
        .state
        .pending_replays(&ReplayFilter::Object(ObjectKind::Customers), 500)
        .await
        .unwrap();
    assert_eq!(
        queue.len(),
        50,
        "25 failed members and 25 deferred customers"
    );
    assert_eq!(
        queue
            .iter()
            .filter(|r| r.row.outcome == Outcome::Deferred)
            .count(),
        25
    );

    // The fault clears; the next run (nothing changed in QAD) heals from the queue.
    h.mailchimp.faults().clear_routes();
    let healed = sync
        .run(ObjectKind::Customers, RunOptions::new().retry_failed(true))
        .await
        .unwrap();
    assert_eq!(healed.status, RunStatus::Completed, "{healed}");
    let retries = healed.retries.clone().unwrap();
    assert_eq!((retries.rows, retries.records), (50, 25), "{healed}");
    assert_eq!((retries.resolved, retries.again, retries.dead), (50, 0, 0));
    assert_eq!(
        end_state(&h),
        expected,
        "the same end state as a fault-free run"
    );
    assert!(queue_is_empty(&h).await);

    // And a third run has nothing left to do.
    let idle = sync
        .run(ObjectKind::Customers, RunOptions::new().retry_failed(true))
        .await
        .unwrap();
    assert_eq!(idle.retries, None, "{idle}");
    assert_eq!(idle.mailchimp_writes(), 0, "{idle}");
}

#[tokio::test]
async fn a_stale_failure_is_never_sent_over_newer_data() {
    let h = Harness::start(seeding()).await;
    let sync = fast_sync(&h, config(h.mailchimp.list_id()), 1).await;
    // Run 1: every e-commerce customer PUT fails.
    fail_every_store_customer_put(&h);
    let first = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(first.targets[&ObjectKind::EcommerceCustomers].failed, 30);
    h.mailchimp.faults().clear_routes();

    // QAD renames one customer; run 2 writes the new name.
    let key = h.qad.customers()[0].customer_code.clone();
    assert!(h.qad.update_customer(&key, |c| {
        c.address_name = Some("Renamed Newer Co".into());
    }));
    let second = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert!(
        second.targets[&ObjectKind::EcommerceCustomers].writes() >= 1,
        "{second}"
    );
    let written = h
        .mailchimp
        .snapshot()
        .customer(STORE, &key)
        .cloned()
        .unwrap();
    assert_eq!(written["company"], "Renamed Newer Co");

    // Run 2's success superseded run 1's failure of that customer: it left the queue.
    let rows = h
        .state
        .query_audit(
            &AuditQuery::new()
                .source_key(key.clone())
                .outcome(Outcome::Failed),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].resolution.is_some(), "{:?}", rows[0]);

    // `replay --all-failed` has nothing stale to send for it: the queue holds only the others,
    // and those are re-mapped from QAD.
    let replayer = sync_core::replay::Replayer::new(Arc::clone(&h.state) as Arc<dyn StateStore>)
        .handler(sync_core::replay::MailchimpReplay::remapping(sync.clone()));
    let replayed = replayer
        .replay(&ReplayFilter::Row(rows[0].id))
        .await
        .unwrap();
    assert_eq!(replayed.attempted, 0, "a superseded row is not replayed");
    let kept = h
        .mailchimp
        .snapshot()
        .customer(STORE, &key)
        .cloned()
        .unwrap();
    assert_eq!(kept["company"], "Renamed Newer Co");

    // Retrying the rest of the queue re-maps from QAD and never puts the old name back.
    let third = sync
        .run(ObjectKind::Customers, RunOptions::new().retry_failed(true))
        .await
        .unwrap();
    assert_eq!(third.retries.clone().unwrap().dead, 0, "{third}");
    let kept = h
        .mailchimp
        .snapshot()
        .customer(STORE, &key)
        .cloned()
        .unwrap();
    assert_eq!(kept["company"], "Renamed Newer Co");
    assert_eq!(h.mailchimp.snapshot().customers[STORE].len(), 30);
    assert!(queue_is_empty(&h).await);
}

#[tokio::test]
async fn a_row_failing_every_retry_backs_off_then_is_dead() {
    let h = Harness::start(seeding()).await;
    let sync = fast_sync(&h, config(h.mailchimp.list_id()), 1).await;
    fail_every_store_customer_put(&h);
    sync.run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    // No wait between retries, two retries at most.
    let policy = RetryPolicy::new(2, Duration::ZERO, Duration::ZERO);
    let options = || RunOptions::new().retry_failed(true).retry_policy(policy);
    let once = sync.run(ObjectKind::Customers, options()).await.unwrap();
    let retries = once.retries.clone().unwrap();
    assert_eq!((retries.rows, retries.again, retries.dead), (30, 30, 0));
    // One queue entry per target: the retry's own failure points at the queued row.
    let queue = h
        .state
        .pending_replays(&ReplayFilter::All, 100)
        .await
        .unwrap();
    assert_eq!(queue.len(), 30, "{queue:#?}");
    let twice = sync.run(ObjectKind::Customers, options()).await.unwrap();
    // Records the run's own read re-reads (QAD's overlap window) count as retries too.
    assert!(twice.retries.clone().unwrap().dead >= 29, "{twice}");
    let dead = h
        .state
        .pending_replays(&ReplayFilter::All, 100)
        .await
        .unwrap();
    assert_eq!(dead.len(), 30);
    assert!(
        dead.iter()
            .all(|r| r.retry.dead_at.is_some() && r.retry.retries == 2),
        "{dead:#?}"
    );
    // Dead rows are not retried automatically any more.
    let after = sync.run(ObjectKind::Customers, options()).await.unwrap();
    assert_eq!(after.retries, None, "{after}");
}

#[tokio::test]
async fn a_failed_retry_waits_for_its_backoff() {
    let h = Harness::start(seeding()).await;
    let sync = fast_sync(&h, config(h.mailchimp.list_id()), 1).await;
    fail_every_store_customer_put(&h);
    sync.run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let options = || RunOptions::new().retry_failed(true);
    let first = sync.run(ObjectKind::Customers, options()).await.unwrap();
    assert_eq!(first.retries.clone().unwrap().again, 30, "{first}");
    let queue = h
        .state
        .pending_replays(&ReplayFilter::All, 100)
        .await
        .unwrap();
    let now = chrono::Utc::now();
    assert!(queue
        .iter()
        .all(|r| r.retry.next_at.unwrap() > now + chrono::Duration::seconds(50)));
    // Within the minute nothing is due: the next run retries nothing.
    h.mailchimp.faults().clear_routes();
    let second = sync.run(ObjectKind::Customers, options()).await.unwrap();
    assert_eq!(second.retries, None, "{second}");
}

#[tokio::test]
async fn a_manual_replay_re_maps_from_qad_as_it_is_now() {
    use sync_core::replay::{MailchimpReplay, Replayer};
    let h = Harness::start(seeding()).await;
    let sync = fast_sync(&h, config(h.mailchimp.list_id()), 1).await;
    queue_every_store_customer(&h, &sync).await;
    // QAD renames a customer after its write failed; no run has read it since.
    let key = h.qad.customers()[0].customer_code.clone();
    assert!(h.qad.update_customer(&key, |c| {
        c.address_name = Some("Renamed Newer Co".into());
    }));
    let replayer = Replayer::new(Arc::clone(&h.state) as Arc<dyn StateStore>)
        .handler(MailchimpReplay::remapping(sync.clone()));
    let report = replayer.replay(&ReplayFilter::All).await.unwrap();
    assert_eq!((report.attempted, report.resolved), (30, 30), "{report:?}");
    assert_eq!(
        report.remapped, 1,
        "only the renamed customer differs from its payload"
    );
    let written = h
        .mailchimp
        .snapshot()
        .customer(STORE, &key)
        .cloned()
        .unwrap();
    assert_eq!(
        written["company"], "Renamed Newer Co",
        "never the recorded payload"
    );
    assert!(queue_is_empty(&h).await);
    // The replay stored the hashes: the next run writes nothing.
    let next = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(next.mailchimp_writes(), 0, "{next}");
}

#[tokio::test]
async fn a_member_made_transactional_behind_the_connectors_back_is_put_right() {
    let h = Harness::start(seeding()).await;
    let list = h.mailchimp.list_id().to_owned();
    // Someone else's contact, transactional before the connector ever wrote: left alone.
    let theirs = h.qad.customers()[29].clone();
    let their_email = theirs.email.clone().unwrap();
    h.mailchimp
        .seed_member(&list, &their_email, "transactional")
        .unwrap();
    let sync = fast_sync(&h, subscribing(&list), 1).await;
    h.mailchimp
        .faults()
        .set_route(
            Method::POST,
            BATCH_ROUTE,
            FaultConfig::none().too_many_requests(1.0),
        )
        .unwrap();
    let first = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(first.targets[&ObjectKind::Members].failed, 25, "{first}");
    // As an older build did: the e-commerce customer of a failed member is written anyway, and
    // Mailchimp creates its member as transactional.
    let ours = h.qad.customers()[0].clone();
    let our_email = ours.email.clone().unwrap();
    let op = h
        .state
        .pending_replays(&ReplayFilter::All, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.row.source_key == ours.customer_code && r.row.outcome == Outcome::Deferred)
        .and_then(|r| r.row.payload)
        .map(|p| sync_core::operation::Operation::from_payload(p).unwrap())
        .unwrap();
    sync_core::operation::Executor::new(
        sync.mailchimp_client().clone(),
        sync_core::report::CallLog::new(),
    )
    .execute(&op)
    .await
    .unwrap();
    let status = |email: &str| {
        h.mailchimp.snapshot().member(&list, email).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status(&our_email), "transactional");

    h.mailchimp.faults().clear_routes();
    let healed = sync
        .run(ObjectKind::Customers, RunOptions::new().retry_failed(true))
        .await
        .unwrap();
    assert_eq!(healed.status, RunStatus::Completed, "{healed}");
    assert_eq!(
        status(&our_email),
        "subscribed",
        "the connector's intent: {healed}"
    );
    assert_eq!(
        status(&their_email),
        "transactional",
        "not the connector's to change"
    );
    let statuses = statuses(&h);
    assert_eq!(statuses.get("subscribed"), Some(&29), "{statuses:?}");
}

/// Gives the last customer (the second page) the first one's email; returns both codes.
fn share_first_email(h: &Harness) -> (String, String) {
    let mut customers: Vec<(String, Option<String>)> = h
        .qad
        .customers()
        .into_iter()
        .map(|c| (c.customer_code, c.email))
        .collect();
    customers.sort();
    let (first, email) = customers[0].clone();
    let last = customers[customers.len() - 1].0.clone();
    assert!(h.qad.update_customer(&last, |c| c.email.clone_from(&email)));
    (first, last)
}

#[tokio::test]
async fn a_member_whose_batch_failed_keeps_its_address_against_a_later_duplicate() {
    // Fault-free: the first customer owns the address, the last one is its duplicate.
    let clean = Harness::start(seeding()).await;
    share_first_email(&clean);
    fast_sync(&clean, subscribing(clean.mailchimp.list_id()), 3)
        .await
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let expected = end_state(&clean);

    // The first page's batch fails; the second page's duplicate must not take the member over
    // while the first customer's write waits for its retry.
    let h = Harness::start(seeding()).await;
    let (first, last) = share_first_email(&h);
    let sync = fast_sync(&h, subscribing(h.mailchimp.list_id()), 3).await;
    h.mailchimp
        .faults()
        .set_route(
            Method::POST,
            BATCH_ROUTE,
            FaultConfig::none().too_many_requests(1.0),
        )
        .unwrap();
    let report = sync
        .run(ObjectKind::Customers, RunOptions::new().retry_failed(true))
        .await
        .unwrap();
    assert_eq!(report.targets[&ObjectKind::Members].failed, 25, "{report}");
    let rows = h
        .state
        .query_audit(
            &AuditQuery::new()
                .source_key(last.clone())
                .object(ObjectKind::Customers),
        )
        .await
        .unwrap();
    let duplicate = rows
        .iter()
        .find(|r| r.row.outcome == Outcome::Skipped)
        .unwrap_or_else(|| panic!("{last} is skipped as a duplicate: {rows:?}"));
    assert_eq!(
        duplicate.row.error.as_deref(),
        Some(format!("duplicate email: the member is written for customer {first}").as_str())
    );
    // Neither store customer of the shared address is written while its member is not: Mailchimp
    // would create the address as a transactional member.
    let (members, _) = end_state(&h);
    let transactional: Vec<_> = members
        .iter()
        .filter(|(_, m)| m["status"] == "transactional")
        .collect();
    assert!(transactional.is_empty(), "{transactional:?}\n{report}");
    let waiting = h
        .state
        .query_audit(
            &AuditQuery::new()
                .source_key(last.clone())
                .object(ObjectKind::Customers)
                .outcome(Outcome::Deferred),
        )
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1, "{last}'s store customer waits: {rows:?}");

    // The fault clears: the retry writes the first customer's member, as the fault-free run did.
    h.mailchimp.faults().clear_routes();
    let healed = sync
        .run(ObjectKind::Customers, RunOptions::new().retry_failed(true))
        .await
        .unwrap();
    assert_eq!(healed.retries.clone().unwrap().dead, 0, "{healed}");
    assert_eq!(end_state(&h), expected, "{healed}");
    assert!(queue_is_empty(&h).await);
}

/// Every store customer queued (30 rows), and the next `refused` QAD browse reads refused: the
/// retry pass's by-key reads come first. Returns the queued rows as they were.
async fn queued_with_refused_reads(h: &Harness, sync: &ForwardSync, refused: u32) -> Vec<AuditRow> {
    queue_every_store_customer(h, sync).await;
    let queued = h
        .state
        .pending_replays(&ReplayFilter::All, 100)
        .await
        .unwrap();
    assert_eq!(queued.len(), 30);
    let browses = h.qad.route("api/qracore/browses");
    h.qad
        .faults()
        .fail_next(Method::GET, &browses, refused, FaultKind::BareForbidden);
    queued
}

/// The rows still queued, each checked to be as it was in `queued`: no attempt counted.
async fn still_queued_untouched(h: &Harness, queued: &[AuditRow]) -> Vec<AuditRow> {
    let still = h
        .state
        .pending_replays(&ReplayFilter::All, 100)
        .await
        .unwrap();
    for row in &still {
        let before = queued.iter().find(|q| q.id == row.id).unwrap();
        assert_eq!(row.retry, before.retry, "{}", row.row.source_key);
    }
    still
}

/// Whether the replay queue is empty.
async fn queue_is_empty(h: &Harness) -> bool {
    h.state
        .pending_replays(&ReplayFilter::All, 1)
        .await
        .unwrap()
        .is_empty()
}

/// Runs with the retry pass; returns how many queued rows it resolved, and checks that the
/// queue is empty after it.
async fn retry_the_rest(h: &Harness, sync: &ForwardSync) -> u64 {
    let next = sync
        .run(ObjectKind::Customers, RunOptions::new().retry_failed(true))
        .await
        .unwrap();
    assert_eq!(next.status, RunStatus::Completed, "{next}");
    assert_eq!(next.retries.clone().map_or(0, |r| r.again), 0, "{next}");
    assert!(queue_is_empty(h).await);
    next.retries.map_or(0, |r| r.resolved)
}

#[tokio::test]
async fn a_retry_pass_whose_qad_read_fails_is_put_off_and_the_run_goes_on() {
    let h = Harness::start(seeding()).await;
    let cfg = config(h.mailchimp.list_id());
    let first_page = cfg.page_size;
    let sync = fast_sync(&h, cfg, 1).await;
    // The retry pass reads the queued customers from QAD by key, a page of them at a time:
    // every read of the first page is refused.
    let queued = queued_with_refused_reads(&h, &sync, first_page).await;
    let changed = h.qad.customers()[3].customer_code.clone();
    assert!(h
        .qad
        .update_customer(&changed, |c| c.city = Some("Graz".into())));
    let run = sync
        .run(ObjectKind::Customers, RunOptions::new().retry_failed(true))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Completed, "{run}");
    assert_eq!(run.retries, None, "nothing was retried: {run}");
    assert!(
        run.warnings
            .iter()
            .any(|w| w.contains("put off to the next run") && w.contains("QAD")),
        "{:?}",
        run.warnings
    );
    // The incremental read still wrote what changed (the changed customer's member).
    assert_eq!(run.targets[&ObjectKind::Members].updated, 1, "{run}");
    // The queued rows are as they were (those the incremental read met again were written by
    // it, which resolves their rows).
    let still = still_queued_untouched(&h, &queued).await;
    let written = run.targets[&ObjectKind::EcommerceCustomers].created;
    assert!(written >= 1, "{run}");
    assert_eq!(still.len() as u64, 30 - written, "{run}");

    // The next run retries them.
    assert_eq!(retry_the_rest(&h, &sync).await, still.len() as u64);
}

#[tokio::test]
async fn a_queued_record_whose_qad_read_fails_is_put_off_and_the_others_are_retried() {
    let h = Harness::start(seeding()).await;
    let sync = fast_sync(&h, config(h.mailchimp.list_id()), 1).await;
    // One of the retry pass's by-key reads is refused (whichever QAD answers first).
    let queued = queued_with_refused_reads(&h, &sync, 1).await;
    let run = sync
        .run(ObjectKind::Customers, RunOptions::new().retry_failed(true))
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Completed, "{run}");
    assert!(
        run.warnings
            .iter()
            .any(|w| w.contains("retrying 1 queued record(s) put off to the next run")),
        "{:?}",
        run.warnings
    );
    let retries = run.retries.clone().unwrap();
    assert_eq!((retries.records, retries.resolved), (29, 29), "{run}");
    // The one put off keeps its row as it was (unless the incremental read met it again and
    // wrote it, which resolves its row).
    let still = still_queued_untouched(&h, &queued).await;
    assert!(still.len() <= 1, "{still:?}");

    // The next run retries it.
    assert_eq!(retry_the_rest(&h, &sync).await, still.len() as u64);
    assert_eq!(h.mailchimp.snapshot().customers[STORE].len(), 30);
}
