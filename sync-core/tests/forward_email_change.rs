//! A customer whose email changes in QAD: its member moves to the new address in place, end to
//! end against the testkit fakes.
#![allow(clippy::unwrap_used)] // the helpers below are test code too

mod forward_support;

use forward_support::{config, Harness, STORE};
use sync_core::audit::{AuditQuery, AuditRow};
use sync_core::forward::RunOptions;
use sync_core::mapping::{customer_id_for_address, TagRule};
use sync_core::operation::{Executor, Operation};
use sync_core::report::CallLog;

use sync_core::{
    normalize_email, MemberStatus, MemberStatusRecord, ObjectKind, Outcome, RunStatus, StateBatch,
    StateStore,
};
use testkit::qad::Seeding;

const NEW_EMAIL: &str = "moved.customer@acme-industrial.com";

/// Twelve customers with distinct valid emails, all written by a first run; returns the harness
/// and the code and (normalized) email of the first customer.
async fn synced() -> (Harness, String, String) {
    let h = Harness::start(
        Seeding::new(11)
            .customers(12)
            .items(0)
            .sales_orders(0)
            .invalid_email_share(0.0)
            .duplicate_email_share(0.0),
    )
    .await;
    let first = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Completed, "{first}");
    let customer = h
        .qad
        .customers()
        .into_iter()
        .find(|c| c.email.is_some())
        .unwrap();
    let email = normalize_email(customer.email.as_deref().unwrap());
    let list = h.mailchimp.list_id().to_owned();
    assert!(h.mailchimp.snapshot().member(&list, &email).is_some());
    (h, customer.customer_code, email)
}

fn change_email(h: &Harness, code: &str, email: &str) {
    assert!(h
        .qad
        .update_customer(code, |c| c.email = Some(email.to_owned())));
}

/// The member audit rows of `code` (those whose operation addresses a member, not its tags).
async fn member_rows(h: &Harness, code: &str) -> Vec<AuditRow> {
    h.state
        .query_audit(&AuditQuery::new().source_key(code))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| {
            r.row.operation.as_ref().is_some_and(|op| {
                let op = op.to_string();
                op.contains("/members/") && !op.ends_with("/tags")
            })
        })
        .collect()
}

#[tokio::test]
async fn a_changed_email_moves_the_member_in_place_keeping_its_status() {
    let (h, code, old) = synced().await;
    let list = h.mailchimp.list_id().to_owned();
    // The person unsubscribed in Mailchimp; the connector was not told.
    h.mailchimp
        .seed_member(&list, &old, "unsubscribed")
        .unwrap();
    let members_before = h.mailchimp.snapshot().members[&list].len();

    change_email(&h, &code, NEW_EMAIL);
    let sync = h.default_sync();
    let report = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    assert_eq!(report.targets[&ObjectKind::Members].updated, 1, "{report}");
    assert_eq!(report.targets[&ObjectKind::Members].created, 0, "{report}");
    assert_eq!(
        report.calls.get("mailchimp member_patch"),
        Some(&1),
        "{report}"
    );
    assert_eq!(report.calls.get("mailchimp member_put"), None, "{report}");

    let snapshot = h.mailchimp.snapshot();
    assert!(
        snapshot.member(&list, &old).is_none(),
        "the old address is gone"
    );
    let moved = snapshot.member(&list, NEW_EMAIL).unwrap();
    assert_eq!(moved["email_address"], NEW_EMAIL);
    assert_eq!(moved["status"], "unsubscribed", "the status is kept");
    assert_eq!(
        snapshot.members[&list].len(),
        members_before,
        "no second member"
    );
    // Mailchimp keeps an e-commerce customer's address (issue #18, item 1): the old customer stays
    // with its orders, and the new address is a new store customer under its generation id.
    let generation = customer_id_for_address(&code, NEW_EMAIL);
    assert_eq!(
        snapshot.customer(STORE, &code).unwrap()["email_address"],
        old.as_str(),
        "the old store customer keeps its address"
    );
    assert_eq!(
        snapshot.customer(STORE, &generation).unwrap()["email_address"],
        NEW_EMAIL,
        "the new address is a new store customer"
    );
    assert_eq!(report.targets[&ObjectKind::EcommerceCustomers].failed, 0);
    assert!(report.targets[&ObjectKind::EcommerceCustomers]
        .rejected
        .is_empty());
    assert_eq!(
        h.state
            .target_id(ObjectKind::EcommerceCustomers, &code)
            .await
            .unwrap(),
        Some(generation.clone())
    );

    // The id map and hashes follow the new address; the audit row records the PATCH.
    assert_eq!(
        h.state.target_id(ObjectKind::Members, &code).await.unwrap(),
        Some(NEW_EMAIL.to_owned())
    );
    let hashes = h
        .state
        .hashes(ObjectKind::Members, &[old.clone(), NEW_EMAIL.to_owned()])
        .await
        .unwrap();
    assert!(!hashes.contains_key(&old) && hashes.contains_key(NEW_EMAIL));
    let last = member_rows(&h, &code).await.pop().unwrap();
    assert_eq!(last.row.outcome, Outcome::Updated);
    let op = last.row.operation.unwrap().to_string();
    assert!(op.starts_with("mailchimp PATCH /lists/"), "{op}");
    assert_eq!(last.row.payload.unwrap()["op"], "change_member_email");

    // Nothing left to do: a full re-run writes nothing.
    let again = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(again.mailchimp_writes(), 0, "{again}");
}

#[tokio::test]
async fn a_new_address_that_belongs_to_another_member_is_not_merged() {
    let (h, code, old) = synced().await;
    let list = h.mailchimp.list_id().to_owned();
    // Someone outside QAD already has the new address.
    h.mailchimp
        .seed_member(&list, NEW_EMAIL, "subscribed")
        .unwrap();
    change_email(&h, &code, NEW_EMAIL);
    let written = || h.mailchimp.stats().snapshot().successful_writes;
    let before = written();
    let report = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(
        report.targets[&ObjectKind::Members]
            .skipped
            .values()
            .sum::<u64>(),
        1,
        "{report}"
    );
    assert_eq!(
        report.calls.get("mailchimp member_patch"),
        Some(&1),
        "{report}"
    );
    assert_eq!(
        written(),
        before,
        "the refused PATCH changes nothing:\n{report}"
    );

    let snapshot = h.mailchimp.snapshot();
    assert!(
        snapshot.member(&list, &old).is_some(),
        "the old member stays"
    );
    assert_eq!(
        snapshot.member(&list, NEW_EMAIL).unwrap()["status"],
        "subscribed"
    );
    assert_eq!(
        snapshot.customer(STORE, &code).unwrap()["email_address"],
        old.as_str(),
        "the e-commerce customer keeps the old address"
    );
    assert_eq!(
        h.state.target_id(ObjectKind::Members, &code).await.unwrap(),
        Some(old)
    );
    let last = member_rows(&h, &code).await.pop().unwrap();
    assert_eq!(last.row.outcome, Outcome::Skipped);
    let reason = last.row.error.unwrap();
    assert!(
        reason.contains("already belongs to another member"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_member_known_to_be_unsubscribed_is_not_moved() {
    let (h, code, old) = synced().await;
    let list = h.mailchimp.list_id().to_owned();
    // As the webhook receiver records it.
    h.state
        .apply(
            StateBatch::new().remember_member_status(MemberStatusRecord::new(
                &old,
                MemberStatus::Unsubscribed,
                None,
            )),
        )
        .await
        .unwrap();
    change_email(&h, &code, NEW_EMAIL);
    let before = h.writes();
    let report = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(h.writes(), before, "nothing written:\n{report}");
    assert_eq!(
        report.targets[&ObjectKind::Members]
            .skipped
            .values()
            .sum::<u64>(),
        1,
        "{report}"
    );
    assert!(h.mailchimp.snapshot().member(&list, NEW_EMAIL).is_none());
    let reason = member_rows(&h, &code)
        .await
        .pop()
        .unwrap()
        .row
        .error
        .unwrap();
    assert!(reason.contains("unsubscribed"), "{reason}");
}

#[tokio::test]
async fn a_dry_run_plans_the_change_as_an_update_and_writes_nothing() {
    let (h, code, old) = synced().await;
    let list = h.mailchimp.list_id().to_owned();
    change_email(&h, &code, NEW_EMAIL);
    let sync = h.default_sync();
    let before = h.writes();
    let plan = sync
        .run(ObjectKind::Customers, RunOptions::new().dry_run(true))
        .await
        .unwrap();
    assert_eq!(h.writes(), before, "a dry run writes nothing:\n{plan}");
    assert_eq!(plan.targets[&ObjectKind::Members].updated, 1, "{plan}");
    assert_eq!(plan.targets[&ObjectKind::Members].created, 0, "{plan}");
    assert!(h.mailchimp.snapshot().member(&list, &old).is_some());
    assert_eq!(
        h.state.target_id(ObjectKind::Members, &code).await.unwrap(),
        Some(old)
    );

    let real = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    // Only the members: the dry run cannot know Mailchimp will refuse the e-commerce customer's
    // new address (issue #18, item 1).
    assert_eq!(
        plan.targets[&ObjectKind::Members],
        real.targets[&ObjectKind::Members],
        "{plan}\n{real}"
    );
    assert!(h.mailchimp.snapshot().member(&list, NEW_EMAIL).is_some());
}

#[tokio::test]
async fn the_recorded_change_replays_after_it_was_made() {
    let (h, code, old) = synced().await;
    let list = h.mailchimp.list_id().to_owned();
    change_email(&h, &code, NEW_EMAIL);
    h.default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let payload = member_rows(&h, &code).await.pop().unwrap().row.payload;
    let op = Operation::from_payload(payload.unwrap()).unwrap();
    assert!(matches!(op, Operation::ChangeMemberEmail { .. }), "{op:?}");
    let count = || h.mailchimp.snapshot().members[&list].len();
    let members = count();

    // The old address is gone now: the replay writes the member at its new address.
    let executor = Executor::new(h.mailchimp_client.clone(), CallLog::new());
    let applied = executor.execute(&op).await.unwrap();
    assert_eq!(applied.created, None);
    assert_eq!(
        executor.calls().snapshot().get("mailchimp member_put"),
        Some(&1)
    );
    assert_eq!(count(), members, "still one member");
    assert!(h.mailchimp.snapshot().member(&list, &old).is_none());
}

#[tokio::test]
async fn tags_move_with_the_member_and_later_changes_replace_them() {
    let (h, code, _) = synced().await;
    let mut cfg = config(h.mailchimp.list_id());
    cfg.mapping.customer.tags = vec![TagRule::new("customerTypeCode", "type:")];
    let sync = h.sync(cfg);
    sync.run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    let list = h.mailchimp.list_id().to_owned();
    let tag_names = |email: &str| -> Vec<String> {
        h.mailchimp.snapshot().member(&list, email).unwrap()["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let type_code = |h: &Harness| {
        h.qad
            .customers()
            .into_iter()
            .find(|c| c.customer_code == code)
            .unwrap()
            .customer_type_code
    };
    let old_tag = format!("type:{}", type_code(&h));

    // The address alone changes: the tags move with the member, no tags call.
    change_email(&h, &code, NEW_EMAIL);
    let moved = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(moved.calls.get("mailchimp member_tags"), None, "{moved}");
    assert_eq!(tag_names(NEW_EMAIL), vec![old_tag.clone()]);

    // Address and type change together: the old tag is removed from the moved member.
    let newer = "moved.again@acme-industrial.com";
    assert!(h.qad.update_customer(&code, |c| {
        c.email = Some(newer.to_owned());
        c.customer_type_code = format!("{}X", c.customer_type_code);
    }));
    let again = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(
        again.calls.get("mailchimp member_tags"),
        Some(&1),
        "{again}"
    );
    assert_eq!(tag_names(newer), vec![format!("type:{}", type_code(&h))]);
}

#[tokio::test]
async fn each_address_change_is_a_new_store_customer_and_reconcile_finds_no_drift() {
    let (h, code, old) = synced().await;
    let sync = h.default_sync();
    // The first change: Mailchimp refuses the new address on the existing customer, so the
    // customer is written again under the generation id of its new address.
    change_email(&h, &code, NEW_EMAIL);
    let first = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let generation = customer_id_for_address(&code, NEW_EMAIL);
    let snapshot = h.mailchimp.snapshot();
    assert_eq!(
        snapshot.customer(STORE, &code).unwrap()["email_address"],
        old.as_str()
    );
    assert_eq!(
        snapshot.customer(STORE, &generation).unwrap()["email_address"],
        NEW_EMAIL,
        "{first}"
    );
    let row = h
        .state
        .query_audit(
            &AuditQuery::new()
                .source_key(code.clone())
                .outcome(Outcome::Created),
        )
        .await
        .unwrap()
        .into_iter()
        .find(|r| {
            r.row
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("address changed"))
        })
        .expect("the new store customer is audited with the reason");
    assert_eq!(
        row.row.payload.unwrap()["customer"]["id"],
        generation.as_str()
    );

    // A second change goes straight to the next generation: one PUT, no refused one first.
    const NEWER_EMAIL: &str = "moved.again@acme-industrial.com";
    change_email(&h, &code, NEWER_EMAIL);
    let third = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(
        third.calls.get("mailchimp ecommerce_customer_put"),
        Some(&1),
        "{third}"
    );
    let newer = customer_id_for_address(&code, NEWER_EMAIL);
    assert_eq!(
        h.mailchimp.snapshot().customer(STORE, &newer).unwrap()["email_address"],
        NEWER_EMAIL
    );
    assert_eq!(
        h.state
            .target_id(ObjectKind::EcommerceCustomers, &code)
            .await
            .unwrap(),
        Some(newer)
    );
    let reconciled = h
        .reconciler()
        .run(sync_core::reconcile::ReconcileOptions::new())
        .await
        .unwrap();
    assert_eq!(reconciled.drift(), 0, "{reconciled}");
}
