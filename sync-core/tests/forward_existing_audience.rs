//! Connecting to an audience that already holds many of the customers: the run reads the
//! audience once and batch-subscribes existing members in place, keeping their status, instead
//! of a `GET` and a `PUT` for each.
#![allow(clippy::unwrap_used)]

mod forward_support;

use std::collections::BTreeMap;
use std::sync::Arc;

use forward_support::{config, Harness};
use sync_core::config::SyncConfig;
use sync_core::forward::RunOptions;
use sync_core::mapping::{check_email, StatusIfNew};
use sync_core::{normalize_email, MemberStatus, ObjectKind, RunStatus, StateStore};
use testkit::qad::Seeding;

/// 60 customers, every email present, valid and distinct.
fn seeding() -> Seeding {
    Seeding::new(11)
        .customers(60)
        .items(0)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
        .missing_field_share(0.0)
}

/// Members only, new ones transactional: a batch that applied `status_if_new` to an existing
/// subscribed or pending member would show as a changed status.
fn members_config(h: &Harness) -> SyncConfig {
    let mut config = config(h.mailchimp.list_id());
    config.ecommerce_customers = false;
    config.mapping.customer.status_if_new = StatusIfNew::Transactional;
    config
}

/// The customers by normalized email, and the status each of the first 16 is seeded with:
/// 5 subscribed, 5 pending, 3 unsubscribed, 3 cleaned.
fn seed_audience(
    h: &Harness,
) -> (
    BTreeMap<String, testkit::qad::Customer>,
    BTreeMap<String, &'static str>,
) {
    let customers: BTreeMap<String, testkit::qad::Customer> = h
        .qad
        .customers()
        .into_iter()
        .map(|c| {
            let email = check_email(c.email.as_deref().unwrap()).unwrap();
            (normalize_email(&email), c)
        })
        .collect();
    assert_eq!(customers.len(), 60, "distinct valid emails");
    let statuses = ["subscribed"; 5]
        .into_iter()
        .chain(["pending"; 5])
        .chain(["unsubscribed"; 3])
        .chain(["cleaned"; 3]);
    let seeded: BTreeMap<String, &str> = customers.keys().cloned().zip(statuses).collect();
    for (email, status) in &seeded {
        h.mailchimp
            .seed_member(h.mailchimp.list_id(), email, status)
            .unwrap();
    }
    (customers, seeded)
}

/// Requests that address one member (`GET`/`PUT /lists/{id}/members/{hash}`).
fn per_member_calls(h: &Harness) -> Vec<String> {
    h.log
        .entries()
        .into_iter()
        .filter(|e| e.starts_with("GET ") || e.starts_with("PUT "))
        .filter(|e| e.contains("/members/"))
        .collect()
}

fn first_word(name: &Option<String>) -> Option<String> {
    name.as_deref()
        .and_then(|n| n.split_whitespace().next())
        .map(str::to_owned)
}

#[tokio::test]
async fn existing_members_are_batched_in_place_keeping_their_status() {
    let h = Harness::start(seeding()).await;
    let list = h.mailchimp.list_id().to_owned();
    let (customers, seeded) = seed_audience(&h);

    let report = h
        .sync(members_config(&h))
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");

    // Three pages, each with a batch. Before the first one count read and one page of the
    // audience; before each later one a read of the members changed since. Otherwise only
    // batches.
    assert_eq!(report.pages, 3, "{report}");
    assert_eq!(
        report.calls.get("mailchimp member_list get"),
        Some(&4),
        "{report}"
    );
    let listed = h
        .log
        .entries()
        .iter()
        .filter(|e| **e == format!("GET /3.0/lists/{list}/members"))
        .count();
    assert_eq!(listed, 4);
    // Only the 5 pending members cost a GET and a status-free PUT each (sending `pending` again
    // could mail them the opt-in confirmation once more); subscribed ones are batched in place.
    assert_eq!(
        report.calls.get("mailchimp member get"),
        Some(&5),
        "{report}"
    );
    assert_eq!(
        report.calls.get("mailchimp member_put"),
        Some(&5),
        "{report}"
    );
    assert_eq!(per_member_calls(&h).len(), 10, "{:?}", per_member_calls(&h));
    // 3 pages of 25: each at most one batch of existing and one of new members.
    let batches = report.calls["mailchimp batch_subscribe"];
    assert!((3..=6).contains(&batches), "{report}");

    let members = &report.targets[&ObjectKind::Members];
    assert_eq!(members.created, 60 - 16, "{report}");
    assert_eq!(members.updated, 10, "{report}");
    assert_eq!(members.skipped_total(), 6, "{report}");
    assert_eq!(members.failed + members.rejected_total(), 0, "{report}");

    let snapshot = h.mailchimp.snapshot();
    for (email, customer) in &customers {
        let member = snapshot.member(&list, email).unwrap();
        let status = seeded.get(email).copied();
        match status {
            Some(blocked @ ("unsubscribed" | "cleaned")) => {
                assert_eq!(member["status"], blocked, "{email}");
                assert!(
                    member["merge_fields"].get("FNAME").is_none_or(|v| v == ""),
                    "a skipped member is untouched: {member}"
                );
                continue;
            }
            Some(kept) => assert_eq!(member["status"], kept, "{email} keeps its status"),
            None => assert_eq!(member["status"], "transactional", "{email} is new"),
        }
        if let Some(fname) = first_word(&customer.address_name) {
            assert_eq!(member["merge_fields"]["FNAME"], fname.as_str(), "{email}");
        }
    }

    // Statuses that forbid writes are remembered (as for any write); a re-run asks nothing.
    let emails: Vec<String> = seeded.keys().cloned().collect();
    let learned = h.state.member_statuses(&emails).await.unwrap();
    for (email, status) in &seeded {
        let expected: MemberStatus = status.parse().unwrap();
        match learned.get(email) {
            Some(record) => assert_eq!(record.status, expected, "{email}"),
            None => assert!(!expected.blocks_push(), "{email} is {status}"),
        }
    }
    assert_eq!(learned.len(), 6);
    let again = h
        .sync(members_config(&h))
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(
        again.calls.get("mailchimp member_list get"),
        None,
        "{again}"
    );
    assert_eq!(again.mailchimp_writes(), 0, "{again}");
}

#[tokio::test]
async fn a_member_who_unsubscribes_during_the_run_is_not_subscribed_again() {
    let h = Arc::new(Harness::start(seeding()).await);
    let list = h.mailchimp.list_id().to_owned();
    let (customers, seeded) = seed_audience(&h);
    // A subscribed member of the last page (customers are read in code order), not among the
    // ones seeded above, who unsubscribes once the first page is written.
    let email = customers
        .iter()
        .filter(|(email, _)| !seeded.contains_key(*email))
        .max_by(|a, b| a.1.customer_code.cmp(&b.1.customer_code))
        .map(|(email, _)| email.clone())
        .unwrap();
    h.mailchimp
        .seed_member(&list, &email, "subscribed")
        .unwrap();
    let mut config = members_config(&h);
    config.member_batch_threshold = 1;
    let watcher = Arc::clone(&h);
    let (on, target) = (list.clone(), email.clone());
    let report = h
        .sync(config)
        .run(
            ObjectKind::Customers,
            RunOptions::new().on_progress(move |r| {
                if r.pages == 1 {
                    watcher
                        .mailchimp
                        .seed_member(&on, &target, "unsubscribed")
                        .unwrap();
                }
            }),
        )
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    assert!(report.pages >= 2, "{report}");
    // Only the 5 pending members take the per-member path; the unsubscribe was seen by the re-read.
    assert_eq!(
        report.calls.get("mailchimp member get"),
        Some(&5),
        "{report}"
    );
    let member = h
        .mailchimp
        .snapshot()
        .member(&list, &email)
        .cloned()
        .unwrap();
    assert_eq!(member["status"], "unsubscribed", "{member}");
    let skipped = &report.targets[&ObjectKind::Members].skipped;
    assert_eq!(
        skipped.get("member is unsubscribed in Mailchimp"),
        Some(&4),
        "{report}"
    );
    assert_eq!(report.targets[&ObjectKind::Members].created, 43, "{report}");
}

#[tokio::test]
async fn an_audience_too_large_for_the_work_is_not_read_and_batches_fall_back() {
    let h = Harness::start(seeding()).await;
    let list = h.mailchimp.list_id().to_owned();
    let (_, seeded) = seed_audience(&h);
    let mut config = members_config(&h);
    config.member_prefetch_limit = 10;

    let report = h
        .sync(config)
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    // Only the count read: 16 members are over the limit of 10.
    assert_eq!(
        report.calls.get("mailchimp member_list get"),
        Some(&1),
        "{report}"
    );
    // Each existing member came back as "contact exists": read, and written unless blocked.
    assert_eq!(
        report.calls.get("mailchimp member get"),
        Some(&16),
        "{report}"
    );
    assert_eq!(
        report.calls.get("mailchimp member_put"),
        Some(&10),
        "{report}"
    );

    let snapshot = h.mailchimp.snapshot();
    for (email, status) in &seeded {
        assert_eq!(snapshot.member(&list, email).unwrap()["status"], *status);
    }
    let members = &report.targets[&ObjectKind::Members];
    assert_eq!(
        (members.created, members.updated, members.skipped_total()),
        (44, 10, 6),
        "{report}"
    );
}

#[tokio::test]
async fn a_dry_run_reads_the_audience_only_to_count_the_new_contacts() {
    let h = Harness::start(seeding()).await;
    seed_audience(&h);
    let report = h
        .sync(members_config(&h))
        .run(ObjectKind::Customers, RunOptions::new().dry_run(true))
        .await
        .unwrap();
    // The count and one page of the audience, once for the run; no write.
    assert_eq!(
        report.calls.get("mailchimp member_list get"),
        Some(&2),
        "{report}"
    );
    assert_eq!(report.mailchimp_writes(), 0, "{report}");
    assert_eq!(
        report.plan.as_ref().and_then(|p| p.new_contacts),
        Some(60 - 16),
        "{report}"
    );
}

#[tokio::test]
async fn with_a_refresh_interval_the_audience_is_read_once_for_the_run() {
    let h = Harness::start(seeding()).await;
    let list = h.mailchimp.list_id().to_owned();
    let (_, seeded) = seed_audience(&h);
    let mut config = members_config(&h);
    config.audience_refresh_secs = 3600;

    let report = h
        .sync(config)
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    // Three pages with a batch each, as without the interval (4 reads there): the count and the
    // one page of the audience before the first batch, no re-read before the later ones.
    assert_eq!(report.pages, 3, "{report}");
    assert_eq!(
        report.calls.get("mailchimp member_list get"),
        Some(&2),
        "{report}"
    );
    let members = &report.targets[&ObjectKind::Members];
    assert_eq!(
        (members.created, members.updated, members.skipped_total()),
        (60 - 16, 10, 6),
        "{report}"
    );
    let snapshot = h.mailchimp.snapshot();
    for (email, status) in &seeded {
        let member = snapshot.member(&list, email).unwrap();
        assert_eq!(member["status"], *status, "{email} keeps its status");
    }
}
