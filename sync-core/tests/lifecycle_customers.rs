//! The lifecycle of customers: deleted, blocked and anonymised QAD customers under each setting,
//! reads that fail or look partial, dry runs, shared addresses, failed removals and the cadence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod forward_support;

use std::sync::Arc;

use axum::http::Method;
use forward_support::{config, Harness, STORE};
use serde_json::json;
use sync_core::audit::AuditQuery;
use sync_core::config::SyncConfig;
use sync_core::forward::RunOptions;
use sync_core::lifecycle::{
    EcomCustomerRemoval, FieldRule, LifecycleConfig, LifecycleOptions, LifecycleSync,
    MemberRemoval, RemovalAction, Standing,
};
use sync_core::{
    normalize_email, MemberStatus, ObjectKind, Outcome, RunStatus, RunTrigger, StateStore,
    SyncError,
};
use testkit::faults::{FaultConfig, FaultKind};
use testkit::qad::Seeding;

const CUSTOMERS: usize = 30;

fn seeding() -> Seeding {
    Seeding::new(17)
        .customers(CUSTOMERS)
        .items(0)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
}

/// Lifecycle settings under which `customShort1 = BLOCKED` marks a blocked customer and a masked
/// name an anonymised one (two of the alternatives `docs/qad-api.md` lists).
fn settings() -> LifecycleConfig {
    let mut settings = LifecycleConfig::default();
    settings.customer_states.blocked = vec![FieldRule::new("customShort1", ["BLOCKED"])];
    settings.customer_states.anonymised = vec![FieldRule::new("addressName", ["ANONYMISED"])];
    settings
}

fn with_lifecycle(h: &Harness, settings: LifecycleConfig) -> SyncConfig {
    let mut config = config(h.mailchimp.list_id());
    config.lifecycle = Some(settings);
    config
}

fn lifecycle(h: &Harness, config: SyncConfig) -> LifecycleSync {
    LifecycleSync::new(
        config,
        h.mailchimp_client.clone(),
        h.qad_client.clone(),
        Arc::clone(&h.state) as Arc<dyn StateStore>,
    )
    .unwrap()
}

/// A tenant with every customer active, synced once under `config`.
async fn synced(config: impl Fn(&Harness) -> SyncConfig) -> (Harness, SyncConfig) {
    let h = Harness::start(seeding()).await;
    for c in h.qad.customers() {
        h.qad
            .update_customer(&c.customer_code, |c| c.is_active = true);
    }
    let config = config(&h);
    let report = h
        .sync(config.clone())
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    (h, config)
}

/// The code of the `i`-th customer (in key order) that has an email: seeded customers may lack one.
fn code(h: &Harness, i: usize) -> String {
    h.qad
        .customers()
        .into_iter()
        .filter(|c| c.email.is_some())
        .nth(i)
        .unwrap()
        .customer_code
}

fn email_of(h: &Harness, code: &str) -> String {
    normalize_email(&h.qad.customer(code).unwrap().email.unwrap())
}

/// The member's status in the fake audience, `None` when it is not there at all.
fn member_status(h: &Harness, email: &str) -> Option<String> {
    h.mailchimp.snapshot().members[h.mailchimp.list_id()]
        .iter()
        .find(|m| normalize_email(m["email_address"].as_str().unwrap()) == email)
        .map(|m| m["status"].as_str().unwrap().to_owned())
}

fn store_has_customer(h: &Harness, id: &str) -> bool {
    h.mailchimp.snapshot().customers[STORE]
        .iter()
        .any(|c| c["id"] == id)
}

/// Deletes the first customer, blocks the second and anonymises the third (blank email, masked
/// name, as an erasure in QAD leaves it); returns their codes and addresses.
fn depart_three(h: &Harness) -> Vec<(String, String)> {
    let departed: Vec<(String, String)> = (0..3)
        .map(|i| {
            let code = code(h, i);
            let email = email_of(h, &code);
            (code, email)
        })
        .collect();
    assert!(h.qad.remove_customer(&departed[0].0));
    h.qad.update_customer(&departed[1].0, |c| {
        c.custom.insert("customShort1".into(), json!("BLOCKED"));
    });
    h.qad.update_customer(&departed[2].0, |c| {
        c.address_name = Some("ANONYMISED".into());
        c.email = None;
    });
    departed
}

#[tokio::test]
async fn deleted_blocked_and_anonymised_customers_are_archived_by_default_and_stay_archived() {
    let (h, config) = synced(|h| with_lifecycle(h, settings())).await;
    let departed = depart_three(&h);

    let report = lifecycle(&h, config.clone())
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    assert_eq!(report.scanned, CUSTOMERS as u64 - 1, "{report}");
    assert_eq!(report.actions.get("archive member"), Some(&3), "{report}");
    assert_eq!(report.failed, 0, "{report}");
    let standings: Vec<Standing> = report.removals.iter().map(|r| r.standing).collect();
    assert_eq!(
        standings.iter().filter(|s| **s == Standing::Gone).count(),
        1
    );
    assert!(standings.contains(&Standing::Blocked), "{report}");
    assert!(standings.contains(&Standing::Anonymised), "{report}");
    for (code, email) in &departed {
        assert_eq!(
            member_status(&h, email).as_deref(),
            Some("archived"),
            "{code}"
        );
        assert_eq!(
            h.state.target_id(ObjectKind::Members, code).await.unwrap(),
            None
        );
        // E-commerce customers are kept by default (their orders stay traceable).
        assert!(store_has_customer(&h, code), "{code}");
        let rows = h
            .state
            .query_audit(
                &AuditQuery::new()
                    .run(report.run_id)
                    .source_key(code.clone()),
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{code}: {rows:?}");
        assert_eq!(rows[0].row.outcome, Outcome::Updated);
        assert_eq!(
            rows[0].row.operation.as_ref().unwrap().method.as_str(),
            "DELETE"
        );
    }
    // The other members are untouched.
    let active = code(&h, 5);
    assert_eq!(
        member_status(&h, &email_of(&h, &active)).as_deref(),
        Some("subscribed")
    );
    let run = h.state.run(report.run_id).await.unwrap().unwrap();
    assert_eq!(run.start.trigger, RunTrigger::Lifecycle);
    assert_eq!(run.status, RunStatus::Completed);

    // Nothing brings them back: the forward sync skips the blocked and anonymised customers,
    // and the next scan finds nothing more to do.
    h.log.clear();
    let forward = h
        .sync(config.clone())
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(forward.status, RunStatus::Completed, "{forward}");
    for (_, email) in &departed[1..] {
        assert_eq!(member_status(&h, email).as_deref(), Some("archived"));
    }
    let again = lifecycle(&h, config)
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    assert!(again.removals.is_empty(), "{again}");
}

#[tokio::test]
async fn permanent_delete_forgets_the_address_and_deletes_the_ecommerce_customer() {
    let (h, config) = synced(|h| {
        let mut settings = settings();
        settings.members = MemberRemoval::DeletePermanent;
        settings.ecommerce_customers = EcomCustomerRemoval::Delete;
        with_lifecycle(h, settings)
    })
    .await;
    let departed = depart_three(&h);
    let report = lifecycle(&h, config.clone())
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    assert_eq!(
        report.actions.get("delete member permanently"),
        Some(&3),
        "{report}"
    );
    assert_eq!(
        report.actions.get("delete e-commerce customer"),
        Some(&3),
        "{report}"
    );
    let list = h.mailchimp.list_id().to_owned();
    let forgotten = &h.mailchimp.snapshot().forgotten[&list];
    for (code, email) in &departed {
        assert_eq!(
            member_status(&h, email),
            None,
            "{code} still in the audience"
        );
        let hash = mailchimp_client::SubscriberHash::from_email(email);
        assert!(forgotten.contains(&hash.as_str().to_owned()), "{code}");
        assert!(!store_has_customer(&h, code), "{code}");
        let status = h
            .state
            .member_statuses(std::slice::from_ref(email))
            .await
            .unwrap();
        assert_eq!(status[email].status, MemberStatus::Forgotten);
        assert_eq!(
            h.state
                .target_id(ObjectKind::EcommerceCustomers, code)
                .await
                .unwrap(),
            None
        );
    }
    // Irreversible: Mailchimp refuses the address through the API from now on.
    let (blocked_code, blocked_email) = &departed[1];
    h.qad.update_customer(blocked_code, |c| {
        c.custom.remove("customShort1");
    });
    let forward = h
        .sync(config)
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(forward.status, RunStatus::Completed, "{forward}");
    assert_eq!(member_status(&h, blocked_email), None);
}

#[tokio::test]
async fn leave_alone_sends_nothing_and_stops_writing_the_member() {
    let (h, config) = synced(|h| {
        let mut settings = settings();
        settings.members = MemberRemoval::Leave;
        with_lifecycle(h, settings)
    })
    .await;
    let departed = depart_three(&h);
    let writes = h.writes();
    let report = lifecycle(&h, config)
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    assert_eq!(report.actions.get("leave member"), Some(&3), "{report}");
    assert_eq!(h.writes(), writes, "a member left alone costs no call");
    for (code, email) in &departed {
        assert_eq!(member_status(&h, email).as_deref(), Some("subscribed"));
        assert_eq!(
            h.state.target_id(ObjectKind::Members, code).await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn a_failed_read_removes_nothing() {
    let (h, config) = synced(|h| with_lifecycle(h, settings())).await;
    let departed = depart_three(&h);
    let browses = h.qad.route("api/qracore/browses");
    h.qad
        .faults()
        .set_route(
            Method::GET,
            &browses,
            FaultConfig::none().service_unavailable(1.0),
        )
        .unwrap();
    let writes = h.writes();
    let err = lifecycle(&h, config)
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Client { .. }), "{err:?}");
    assert_eq!(h.writes(), writes);
    for (code, email) in &departed {
        assert_eq!(member_status(&h, email).as_deref(), Some("subscribed"));
        assert!(h
            .state
            .target_id(ObjectKind::Members, code)
            .await
            .unwrap()
            .is_some());
    }
    let runs = h.state.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].start.trigger, RunTrigger::Lifecycle);
    assert_eq!(runs[0].status, RunStatus::Aborted);
}

#[tokio::test]
async fn a_read_that_returns_too_little_removes_nothing_unless_allowed() {
    let (h, config) = synced(|h| with_lifecycle(h, settings())).await;
    // Two thirds of the customers vanish (a browse filtered by mistake looks the same).
    let vanished: Vec<String> = (0..20).map(|i| code(&h, i)).collect();
    for code in &vanished {
        h.qad.remove_customer(code);
    }
    let mapped = h
        .state
        .id_map_page(ObjectKind::Members, None, 100)
        .await
        .unwrap()
        .len();
    let engine = lifecycle(&h, config);
    let writes = h.writes();
    let err = engine
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap_err();
    let share = format!("20 of {mapped} mapped members");
    assert!(
        matches!(&err, SyncError::ScanRefused { reason, .. } if reason.contains(&share)),
        "{err:?}"
    );
    assert_eq!(h.writes(), writes);

    let report = engine
        .run(
            ObjectKind::Customers,
            LifecycleOptions::new().allow_mass_removal(true),
        )
        .await
        .unwrap();
    assert_eq!(report.actions.get("archive member"), Some(&20), "{report}");

    // A browse that returns nothing at all is refused whatever the run allows.
    for c in h.qad.customers() {
        h.qad.remove_customer(&c.customer_code);
    }
    let err = engine
        .run(
            ObjectKind::Customers,
            LifecycleOptions::new().allow_mass_removal(true),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SyncError::ScanRefused { reason, .. } if reason.contains("no record")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_dry_run_lists_what_would_be_removed_and_changes_nothing() {
    let (h, config) = synced(|h| {
        let mut settings = settings();
        settings.members = MemberRemoval::DeletePermanent;
        with_lifecycle(h, settings)
    })
    .await;
    let departed = depart_three(&h);
    let writes = h.writes();
    let plan = lifecycle(&h, config)
        .run(ObjectKind::Customers, LifecycleOptions::new().dry_run(true))
        .await
        .unwrap();
    assert!(plan.dry_run);
    let mut listed: Vec<(String, RemovalAction)> = plan
        .removals
        .iter()
        .map(|r| (r.source_key.clone(), r.action.clone()))
        .collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected: Vec<(String, RemovalAction)> = departed
        .iter()
        .map(|(code, _)| (code.clone(), RemovalAction::DeleteMemberPermanently))
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(listed, expected, "{plan}");
    assert!(plan.removals.iter().all(|r| r.outcome.is_none()));
    assert!(plan.to_string().contains("delete member permanently"));
    assert_eq!(h.writes(), writes);
    assert!(h.state.recent_runs(1).await.unwrap()[0].start.trigger != RunTrigger::Lifecycle);
    for (code, email) in &departed {
        assert_eq!(member_status(&h, email).as_deref(), Some("subscribed"));
        assert!(h
            .state
            .target_id(ObjectKind::Members, code)
            .await
            .unwrap()
            .is_some());
    }
}

#[tokio::test]
async fn a_shared_address_moves_to_the_next_customer_and_is_never_erased_under_it() {
    let (h, config) = synced(|h| {
        let owner = code(h, 0);
        let other = code(h, 1);
        let shared = h.qad.customer(&owner).unwrap().email.unwrap();
        h.qad.update_customer(&other, |c| {
            c.email = Some(shared.clone());
            c.address_name = Some("Berta Secondary".into());
        });
        let mut settings = settings();
        settings.members = MemberRemoval::DeletePermanent;
        with_lifecycle(h, settings)
    })
    .await;
    let (owner, heir) = (code(&h, 0), code(&h, 1));
    let shared = email_of(&h, &owner);
    assert_eq!(
        h.state
            .source_keys(ObjectKind::Members, &shared)
            .await
            .unwrap(),
        std::slice::from_ref(&owner)
    );
    h.qad.remove_customer(&owner);
    let report = lifecycle(&h, config.clone())
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    let removal = &report.removals[0];
    assert_eq!(
        removal.action,
        RemovalAction::HandOverMember { to: heir.clone() },
        "{report}"
    );
    assert_eq!(removal.outcome, Some(Outcome::Skipped));
    assert!(
        removal
            .reason
            .as_deref()
            .unwrap()
            .contains("permanent delete is refused"),
        "{report}"
    );
    assert_eq!(member_status(&h, &shared).as_deref(), Some("subscribed"));
    assert_eq!(
        h.state
            .source_keys(ObjectKind::Members, &shared)
            .await
            .unwrap(),
        std::slice::from_ref(&heir)
    );
    // The next forward run writes the new owner's fields to the member.
    h.sync(config)
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    let member = h.mailchimp.snapshot().members[h.mailchimp.list_id()]
        .iter()
        .find(|m| normalize_email(m["email_address"].as_str().unwrap()) == shared)
        .cloned()
        .unwrap();
    assert_eq!(member["merge_fields"]["FNAME"], "Berta", "{member}");
}

#[tokio::test]
async fn a_failed_removal_is_audited_queued_and_done_by_the_next_scan() {
    let (h, config) = synced(|h| with_lifecycle(h, settings())).await;
    let gone = code(&h, 0);
    let email = email_of(&h, &gone);
    h.qad.remove_customer(&gone);
    h.mailchimp.faults().fail_next(
        Method::DELETE,
        "/3.0/lists/{list_id}/members/{subscriber_hash}",
        20,
        FaultKind::InternalServerError,
    );
    let engine = lifecycle(&h, config);
    let first = engine
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    assert_eq!(first.failed, 1, "{first}");
    let failed = h
        .state
        .query_audit(&AuditQuery::new().run(first.run_id).source_key(gone.clone()))
        .await
        .unwrap();
    assert_eq!(failed[0].row.outcome, Outcome::Failed);
    assert!(sync_core::lifecycle::is_removal_row(&failed[0]));
    assert!(h
        .state
        .target_id(ObjectKind::Members, &gone)
        .await
        .unwrap()
        .is_some());
    assert_eq!(member_status(&h, &email).as_deref(), Some("subscribed"));

    h.mailchimp.faults().clear_routes();
    let second = engine
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    assert_eq!(second.actions.get("archive member"), Some(&1), "{second}");
    assert_eq!(second.failed, 0);
    assert_eq!(member_status(&h, &email).as_deref(), Some("archived"));
    let original = h.state.audit_row(failed[0].id).await.unwrap().unwrap();
    assert!(
        original.resolution.is_some(),
        "the later removal supersedes the failed one"
    );
}

#[tokio::test]
async fn the_scan_is_due_once_per_interval() {
    let (h, config) = synced(|h| with_lifecycle(h, settings())).await;
    let engine = lifecycle(&h, config);
    let now = chrono::Utc::now();
    assert!(engine.is_due(ObjectKind::Customers, now).await.unwrap());
    engine
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    assert!(!engine
        .is_due(ObjectKind::Customers, chrono::Utc::now())
        .await
        .unwrap());
    let later = chrono::Utc::now() + chrono::Duration::hours(25);
    assert!(engine.is_due(ObjectKind::Customers, later).await.unwrap());
    // A scan of the other object does not count.
    assert!(engine
        .is_due(ObjectKind::Items, chrono::Utc::now())
        .await
        .unwrap());
}

#[tokio::test]
async fn without_lifecycle_settings_there_is_no_lifecycle() {
    let h = Harness::start(seeding()).await;
    let err = LifecycleSync::new(
        config(h.mailchimp.list_id()),
        h.mailchimp_client.clone(),
        h.qad_client.clone(),
        Arc::clone(&h.state) as Arc<dyn StateStore>,
    )
    .unwrap_err();
    assert!(matches!(err, SyncError::Config { .. }), "{err:?}");
}

#[tokio::test]
async fn a_failed_removal_replays_as_recorded() {
    use sync_core::audit::ReplayFilter;
    use sync_core::replay::{MailchimpReplay, Replayer};

    let (h, config) = synced(|h| with_lifecycle(h, settings())).await;
    let gone = code(&h, 0);
    let email = email_of(&h, &gone);
    h.qad.remove_customer(&gone);
    h.mailchimp.faults().fail_next(
        Method::DELETE,
        "/3.0/lists/{list_id}/members/{subscriber_hash}",
        20,
        FaultKind::InternalServerError,
    );
    let first = lifecycle(&h, config.clone())
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    assert_eq!(first.failed, 1, "{first}");
    h.mailchimp.faults().clear_routes();

    // `ml-connector replay` re-maps forward rows from QAD; a removal is sent as recorded (its
    // customer is gone from QAD, so re-mapping could only call it dead).
    let replayer = Replayer::new(Arc::clone(&h.state) as Arc<dyn StateStore>)
        .handler(MailchimpReplay::remapping(h.sync(config)));
    let replayed = replayer
        .replay(&ReplayFilter::Run(first.run_id))
        .await
        .unwrap();
    assert_eq!(replayed.attempted, 1, "{replayed:?}");
    assert_eq!(member_status(&h, &email).as_deref(), Some("archived"));
    assert_eq!(
        h.state.target_id(ObjectKind::Members, &gone).await.unwrap(),
        None,
        "the replayed removal updates the id map as the scan's own would"
    );
}

#[tokio::test]
async fn tag_sets_in_the_id_map_are_not_customers_to_the_scan() {
    // Each member's tag set is kept in the members' id map under `{address}#tags`.
    let (h, config) = synced(|h| {
        let mut config = with_lifecycle(h, settings());
        config.mapping.customer.tags = vec![sync_core::mapping::TagRule::new(
            "customerTypeCode",
            "type:",
        )];
        config
    })
    .await;
    let gone = code(&h, 0);
    let email = normalize_email(&h.qad.customer(&gone).unwrap().email.unwrap());
    assert!(h.qad.remove_customer(&gone));
    let report = lifecycle(&h, config)
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    assert_eq!(report.removals.len(), 1, "{report}");
    assert_eq!(report.removals[0].target_id, email);
    assert_eq!(report.removals[0].action, RemovalAction::ArchiveMember);
    assert_eq!(report.failed, 0, "{report}");
}
