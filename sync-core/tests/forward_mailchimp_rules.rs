//! How the forward run meets the rules the fake Mailchimp enforces as Mailchimp does (issue #18):
//! fake-looking addresses are rejected with Mailchimp's reason, throttled signups are deferred,
//! no unsubscribed member is subscribed again, whichever way they unsubscribed, and the store's
//! opt-in never subscribes an existing member.
#![allow(clippy::unwrap_used)]

mod forward_support;

use forward_support::{Harness, STORE};
use mailchimp_client::{ListId, MemberStatus, SubscriberHash};
use sync_core::audit::AuditQuery;
use sync_core::forward::RunOptions;
use sync_core::{normalize_email, ObjectKind, Outcome, RunStatus, StateStore};
use testkit::qad::Seeding;

fn seeding() -> Seeding {
    Seeding::new(23)
        .customers(12)
        .items(0)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
}

/// The codes of the first `n` customers with an email.
fn codes(h: &Harness, n: usize) -> Vec<String> {
    h.qad
        .customers()
        .into_iter()
        .filter(|c| c.email.is_some())
        .take(n)
        .map(|c| c.customer_code)
        .collect()
}

fn email_of(h: &Harness, code: &str) -> String {
    let customer = h
        .qad
        .customers()
        .into_iter()
        .find(|c| c.customer_code == code)
        .unwrap();
    normalize_email(customer.email.as_deref().unwrap())
}

#[tokio::test]
async fn fake_looking_addresses_are_rejected_with_mailchimps_reason() {
    let h = Harness::start(seeding()).await;
    let fake = codes(&h, 2);
    for (code, email) in fake.iter().zip(["buyer@example.com", "ops@plant.test"]) {
        assert!(h
            .qad
            .update_customer(code, |c| c.email = Some(email.to_owned())));
    }
    let report = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    let members = &report.targets[&ObjectKind::Members];
    assert_eq!(members.created, 10, "the others are written:\n{report}");
    assert_eq!(
        members
            .rejected
            .get("address refused by Mailchimp as fake-looking"),
        Some(&2),
        "the report groups them by Mailchimp's reason:\n{report}"
    );

    for code in &fake {
        let rows = h
            .state
            .query_audit(&AuditQuery::new().source_key(code.as_str()))
            .await
            .unwrap();
        let member = rows
            .iter()
            .find(|r| {
                r.row
                    .operation
                    .as_ref()
                    .is_some_and(|op| op.to_string().contains("/lists/"))
            })
            .unwrap_or_else(|| panic!("{rows:#?}"));
        assert_eq!(member.row.outcome, Outcome::Rejected, "{member:?}");
        let reason = member.row.error.clone().unwrap();
        assert!(reason.contains("looks fake or invalid"), "{reason}");
    }
    let snapshot = h.mailchimp.snapshot();
    let list = h.mailchimp.list_id();
    assert!(snapshot.member(list, "buyer@example.com").is_none());
    assert!(snapshot
        .customers
        .get(STORE)
        .unwrap()
        .iter()
        .all(|c| c["email_address"] != "buyer@example.com"));

    // Refused for good: a full re-run sends the unchanged records nowhere and still says so.
    let again = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(again.mailchimp_writes(), 0, "{again}");
    assert_eq!(
        again.targets[&ObjectKind::Members]
            .rejected
            .values()
            .sum::<u64>(),
        2,
        "{again}"
    );

    // A new address in QAD is sent, and written.
    assert!(h.qad.update_customer(&fake[0], |c| c.email =
        Some("buyer@acme-industrial.com".into())));
    let fixed = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(fixed.targets[&ObjectKind::Members].created, 1, "{fixed}");
    assert!(h
        .mailchimp
        .snapshot()
        .member(list, "buyer@acme-industrial.com")
        .is_some());
}

#[tokio::test]
async fn unsubscribed_members_stay_unsubscribed_however_they_left() {
    let h = Harness::start(seeding()).await;
    let first = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Completed, "{first}");
    let list = h.mailchimp.list_id().to_owned();
    let picked = codes(&h, 2);
    let (by_api, by_self) = (&picked[0], &picked[1]);
    // One unsubscribed through the API (Mailchimp would let a PUT re-subscribe them), one
    // through a campaign's link (Mailchimp would refuse).
    h.mailchimp_client
        .list(&ListId::from(list.as_str()))
        .members()
        .update(&SubscriberHash::from_email(&email_of(&h, by_api)))
        .status(MemberStatus::Unsubscribed)
        .send()
        .await
        .unwrap();
    h.mailchimp
        .seed_member(&list, &email_of(&h, by_self), "unsubscribed")
        .unwrap();
    // Both change in QAD, so the run has a reason to write them.
    for code in &picked {
        assert!(h.qad.update_customer(code, |c| {
            c.address_name = Some(format!("Renamed {code}"));
        }));
    }
    let report = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    assert_eq!(report.targets[&ObjectKind::Members].failed, 0, "{report}");
    let snapshot = h.mailchimp.snapshot();
    for code in &picked {
        let member = snapshot.member(&list, &email_of(&h, code)).unwrap();
        assert_eq!(member["status"], "unsubscribed", "{code}: {member}");
    }
}

/// Runs customers with one address throttled, then again once it is released: the record is
/// deferred (queued, to be sent again), neither rejected nor failed, its store customer waits for
/// it, and the next run writes it with the intended status.
async fn throttled_then_released(customers: usize) {
    let h = Harness::start(seeding().customers(customers)).await;
    let list = h.mailchimp.list_id().to_owned();
    let code = codes(&h, 1).remove(0);
    let email = email_of(&h, &code);
    h.mailchimp.throttle_signups(&list, &email, true).unwrap();
    let sync = h.default_sync();
    let first = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let members = &first.targets[&ObjectKind::Members];
    assert_eq!(members.deferred, 1, "{first}");
    assert_eq!(members.failed, 0, "{first}");
    assert_eq!(members.rejected_total(), 0, "{first}");
    assert_eq!(members.created, customers as u64 - 1, "{first}");
    let customers_counts = &first.targets[&ObjectKind::EcommerceCustomers];
    assert_eq!(customers_counts.deferred, 1, "{first}");
    let rows = h
        .state
        .query_audit(
            &AuditQuery::new()
                .source_key(code.as_str())
                .outcome(Outcome::Deferred),
        )
        .await
        .unwrap();
    assert!(
        rows.iter().any(|r| r
            .row
            .error
            .as_deref()
            .is_some_and(|e| e.contains("signup throttled by Mailchimp"))),
        "{rows:#?}"
    );
    assert!(h.mailchimp.snapshot().member(&list, &email).is_none());

    h.mailchimp.throttle_signups(&list, &email, false).unwrap();
    let second = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    let members = &second.targets[&ObjectKind::Members];
    assert_eq!(members.failed + members.deferred, 0, "{second}");
    assert_eq!(
        members.created + members.updated,
        1,
        "sent again:\n{second}"
    );
    // The store customer waited for its member, so the member got its intended status.
    let snapshot = h.mailchimp.snapshot();
    let member = snapshot.member(&list, &email).unwrap();
    assert_eq!(member["status"], "subscribed", "{member}");
}

#[tokio::test]
async fn a_throttled_signup_in_a_batch_is_deferred_not_rejected_or_failed() {
    throttled_then_released(12).await;
}

#[tokio::test]
async fn a_throttled_signup_written_alone_is_deferred_not_rejected_or_failed() {
    throttled_then_released(3).await;
}

#[tokio::test]
async fn an_email_change_onto_an_archived_members_address_is_skipped_as_a_conflict() {
    let h = Harness::start(seeding()).await;
    let sync = h.default_sync();
    sync.run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let list = h.mailchimp.list_id().to_owned();
    let code = codes(&h, 1).remove(0);
    let old = email_of(&h, &code);
    let taken = "archived.holder@acme-industrial.com";
    // Mailchimp keeps an archived member's address: "… is already in this list with a status of …".
    h.mailchimp.seed_member(&list, taken, "archived").unwrap();
    assert!(h
        .qad
        .update_customer(&code, |c| c.email = Some(taken.to_owned())));
    let report = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let members = &report.targets[&ObjectKind::Members];
    assert_eq!(members.skipped_total(), 1, "{report}");
    assert_eq!(members.rejected_total(), 0, "{report}");
    let snapshot = h.mailchimp.snapshot();
    assert!(
        snapshot.member(&list, &old).is_some(),
        "the old member stays"
    );
    assert_eq!(snapshot.member(&list, taken).unwrap()["status"], "archived");
}

#[tokio::test]
async fn store_opt_in_never_subscribes_an_existing_transactional_or_pending_member() {
    let h = Harness::start(seeding()).await;
    let list = h.mailchimp.list_id().to_owned();
    let picked = codes(&h, 3);
    let seeded = ["transactional", "pending", "subscribed"];
    for (code, status) in picked.iter().zip(seeded) {
        h.mailchimp
            .seed_member(&list, &email_of(&h, code), status)
            .unwrap();
    }
    let mut config = forward_support::config(&list);
    config.mapping.customer.ecommerce_opt_in = true;
    let sync = h.sync(config);
    let first = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Completed, "{first}");

    let snapshot = h.mailchimp.snapshot();
    let customers = snapshot.customers.get(STORE).unwrap();
    let opt_in = |email: &str| {
        customers
            .iter()
            .find(|c| c["email_address"] == email)
            .unwrap_or_else(|| panic!("no customer {email}"))["opt_in_status"]
            .clone()
    };
    for (code, status) in picked.iter().zip(seeded) {
        let email = email_of(&h, code);
        let member = snapshot.member(&list, &email).unwrap();
        assert_eq!(member["status"], status, "{code} kept its status: {member}");
        let expected = status == "subscribed";
        assert_eq!(opt_in(&email), expected, "{code} ({status})");
    }
    // New members (subscribed by the member write) carry the store's opt-in.
    let new = codes(&h, 4).remove(3);
    assert_eq!(opt_in(&email_of(&h, &new)), true, "{new}");

    // A second run sends nothing, and still upgrades no one.
    let second = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    let customers = &second.targets[&ObjectKind::EcommerceCustomers];
    assert_eq!(customers.created + customers.updated, 0, "{second}");
    let snapshot = h.mailchimp.snapshot();
    for (code, status) in picked.iter().zip(seeded) {
        let member = snapshot.member(&list, &email_of(&h, code)).unwrap();
        assert_eq!(member["status"], status, "{code}: {member}");
    }
}
