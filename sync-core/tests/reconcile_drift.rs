//! `reconcile` after a sync: no drift; then Mailchimp corrupted behind the connector's back
//! (members deleted, a merge field edited, products removed, a price changed, a customer
//! removed), found exactly, fixed through the executor (audited, hashes corrected), and found
//! equal again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod forward_support;

use std::collections::BTreeSet;
use std::sync::Arc;

use forward_support::{config, Harness, STORE};
use sync_core::audit::AuditQuery;
use sync_core::forward::RunOptions;
use sync_core::reconcile::{Finding, ReconcileOptions, ReconcileReport, Reconciler};
use sync_core::{ObjectKind, Outcome, RunTrigger, StateStore};
use testkit::qad::Seeding;

fn reconciler(h: &Harness) -> Reconciler {
    Reconciler::new(
        config(h.mailchimp.list_id()),
        h.mailchimp_client.clone(),
        h.qad_client.clone(),
        Arc::clone(&h.state) as Arc<dyn StateStore>,
    )
    .unwrap()
}

fn ids(finding: &Finding) -> BTreeSet<String> {
    finding.examples.iter().map(|e| e.id.clone()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn assert_no_drift(report: &ReconcileReport) {
    assert_eq!(report.drift(), 0, "{report}");
    for (kind, k) in &report.kinds {
        assert!(k.expected > 0, "{kind}: nothing compared\n{report}");
        assert!(k.in_mailchimp >= k.equal, "{kind}: read too few\n{report}");
        assert_eq!(k.equal, k.expected - k.blocked.count, "{kind}\n{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_records_are_found_exactly_fixed_and_equal_again() {
    let h = Harness::start(Seeding::new(11).customers(80).items(30)).await;
    let sync = h.default_sync();
    for object in [ObjectKind::Customers, ObjectKind::Items] {
        let report = sync.run(object, RunOptions::new()).await.unwrap();
        assert_eq!(report.status, sync_core::RunStatus::Completed, "{report}");
    }
    let reconciler = reconciler(&h);
    let clean = reconciler.run(ReconcileOptions::new()).await.unwrap();
    assert_no_drift(&clean);
    assert_eq!(
        clean.kinds.keys().copied().collect::<Vec<_>>(),
        [
            ObjectKind::Members,
            ObjectKind::EcommerceCustomers,
            ObjectKind::Products
        ]
    );
    assert!(
        clean.run_id.is_none(),
        "a report-only reconcile records no run"
    );

    // Corrupt Mailchimp.
    let list = h.mailchimp.list_id().to_owned();
    let snapshot = h.mailchimp.snapshot();
    let emails: Vec<String> = snapshot.members[&list]
        .iter()
        .filter(|m| m["status"] == "subscribed")
        .map(|m| m["email_address"].as_str().unwrap().to_lowercase())
        .take(3)
        .collect();
    h.mailchimp.delete_member(&list, &emails[0]).unwrap();
    h.mailchimp.delete_member(&list, &emails[1]).unwrap();
    h.mailchimp
        .set_merge_field(&list, &emails[2], "FNAME", "Tampered")
        .unwrap();
    let products: Vec<String> = snapshot.products[STORE]
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .take(3)
        .collect();
    h.mailchimp.delete_product(STORE, &products[0]).unwrap();
    h.mailchimp.delete_product(STORE, &products[1]).unwrap();
    h.mailchimp
        .set_variant_price(STORE, &products[2], &products[2], 987.65)
        .unwrap();
    let customer = snapshot.customers[STORE][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.mailchimp.delete_customer(STORE, &customer).unwrap();

    // Found: exactly those, nothing else.
    let found = reconciler.run(ReconcileOptions::new()).await.unwrap();
    let members = &found.kinds[&ObjectKind::Members];
    assert_eq!(
        ids(&members.missing),
        set(&[&emails[0], &emails[1]]),
        "{found}"
    );
    assert_eq!(members.missing.count, 2);
    assert_eq!(ids(&members.different), set(&[&emails[2]]), "{found}");
    let diff = &members.different.examples[0].fields;
    assert_eq!(diff.len(), 1, "{found}");
    assert_eq!(diff[0].field, "merge_fields.FNAME");
    assert_eq!(diff[0].mailchimp, "Tampered");
    assert_eq!(members.status_differs.count, 0, "{found}");
    let products_found = &found.kinds[&ObjectKind::Products];
    assert_eq!(
        ids(&products_found.missing),
        set(&[&products[0], &products[1]])
    );
    assert_eq!(ids(&products_found.different), set(&[&products[2]]));
    let price = &products_found.different.examples[0].fields;
    assert_eq!(price.len(), 1, "{found}");
    assert_eq!(price[0].field, format!("variants.{}.price", products[2]));
    assert_eq!(price[0].mailchimp, "987.65");
    let customers_found = &found.kinds[&ObjectKind::EcommerceCustomers];
    assert_eq!(ids(&customers_found.missing), set(&[&customer]), "{found}");
    assert_eq!(customers_found.different.count, 0, "{found}");
    assert_eq!(found.drift(), 7);
    assert_eq!(found.remaining_drift(), 7);

    // A forward run does not see it: the hashes still match.
    let blind = sync
        .run(ObjectKind::Items, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(blind.mailchimp_writes(), 0, "{blind}");

    // Fixed, through the executor, audited in a reconcile run.
    let fixed = reconciler
        .run(ReconcileOptions::new().fix(true))
        .await
        .unwrap();
    assert_eq!(fixed.drift(), 7, "{fixed}");
    assert_eq!(fixed.remaining_drift(), 0, "{fixed}");
    let fixed_count: u64 = fixed.kinds.values().map(|k| k.fixed).sum();
    assert_eq!(fixed_count, 7);
    let run_id = fixed.run_id.expect("a fix records its run");
    let run = h.state.run(run_id).await.unwrap().unwrap();
    assert_eq!(run.start.trigger, RunTrigger::Reconcile);
    let rows = h
        .state
        .query_audit(&AuditQuery::new().run(run_id))
        .await
        .unwrap();
    assert_eq!(rows.len(), 7);
    let created = rows
        .iter()
        .filter(|r| r.row.outcome == Outcome::Created)
        .count();
    let updated = rows
        .iter()
        .filter(|r| r.row.outcome == Outcome::Updated)
        .count();
    assert_eq!((created, updated), (5, 2));
    assert!(rows.iter().all(|r| r.row.payload.is_some()));
    let after = h.mailchimp.snapshot();
    assert!(after.member(&list, &emails[0]).is_some());
    assert_eq!(
        after.member(&list, &emails[0]).unwrap()["status"],
        "subscribed"
    );
    assert!(after.product(STORE, &products[0]).is_some());

    // Equal again; a forward run after it has nothing to write.
    let again = reconciler.run(ReconcileOptions::new()).await.unwrap();
    assert_no_drift(&again);
    for object in [ObjectKind::Customers, ObjectKind::Items] {
        let report = sync
            .run(object, RunOptions::new().full(true))
            .await
            .unwrap();
        assert_eq!(report.mailchimp_writes(), 0, "{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_members_are_not_drift_and_only_in_mailchimp_records_stay() {
    let h = Harness::start(Seeding::new(12).customers(30).items(5)).await;
    let sync = h.default_sync();
    sync.run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let list = h.mailchimp.list_id().to_owned();
    let emails: Vec<String> = h.mailchimp.snapshot().members[&list]
        .iter()
        .filter(|m| m["status"] == "subscribed")
        .map(|m| m["email_address"].as_str().unwrap().to_lowercase())
        .take(3)
        .collect();
    h.mailchimp
        .seed_member(&list, &emails[0], "cleaned")
        .unwrap();
    h.mailchimp
        .seed_member(&list, &emails[1], "transactional")
        .unwrap();
    h.mailchimp
        .seed_member(&list, "walk-in@contoso-parts.de", "subscribed")
        .unwrap();

    let options = ReconcileOptions::new().object(ObjectKind::Customers);
    let report = reconciler(&h).run(options.clone()).await.unwrap();
    let members = &report.kinds[&ObjectKind::Members];
    assert_eq!(ids(&members.blocked), set(&[&emails[0]]), "{report}");
    assert_eq!(ids(&members.status_differs), set(&[&emails[1]]), "{report}");
    assert_eq!(
        ids(&members.only_in_mailchimp),
        set(&["walk-in@contoso-parts.de"])
    );
    assert_eq!(report.drift(), 1, "only the status difference: {report}");
    assert!(!report.kinds.contains_key(&ObjectKind::Products));

    // Fixing never changes a status, nor deletes what only Mailchimp has.
    let fixed = reconciler(&h).run(options.fix(true)).await.unwrap();
    assert_eq!(fixed.remaining_drift(), 1, "{fixed}");
    let after = h.mailchimp.snapshot();
    assert_eq!(
        after.member(&list, &emails[0]).unwrap()["status"],
        "cleaned"
    );
    assert_eq!(
        after.member(&list, &emails[1]).unwrap()["status"],
        "transactional"
    );
    assert!(after.member(&list, "walk-in@contoso-parts.de").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fix_is_audited_forgets_the_hash_and_holds_back_the_ecommerce_customer() {
    use axum::http::Method;
    use sync_core::{MemberStatus, MemberStatusRecord, StateBatch};
    use testkit::FaultConfig;

    let h = Harness::start(Seeding::new(13).customers(20).items(2)).await;
    h.default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let list = h.mailchimp.list_id().to_owned();
    let snapshot = h.mailchimp.snapshot();
    let customers = &snapshot.customers[STORE];
    let (customer, email) = customers
        .iter()
        .map(|c| {
            let email = c["email_address"].as_str().unwrap().to_lowercase();
            (c["id"].as_str().unwrap().to_owned(), email)
        })
        .find(|(_, e)| snapshot.member(&list, e).unwrap()["status"] == "subscribed")
        .unwrap();
    h.mailchimp.delete_member(&list, &email).unwrap();
    h.mailchimp.delete_customer(STORE, &customer).unwrap();
    // A member forgotten in Mailchimp, as an earlier write learned: not drift.
    let gone = customers
        .iter()
        .map(|c| c["email_address"].as_str().unwrap().to_lowercase())
        .find(|e| *e != email)
        .unwrap();
    h.mailchimp.forget_email(&list, &gone).unwrap();
    h.state
        .apply(
            StateBatch::new().remember_member_status(MemberStatusRecord::new(
                &gone,
                MemberStatus::Forgotten,
                None,
            )),
        )
        .await
        .unwrap();

    let no_retry = mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(
        h.mailchimp.api_key(),
    ))
    .base_url(h.mailchimp.api_url())
    .retry(mailchimp_client::RetryConfig::disabled())
    .build()
    .await
    .unwrap();
    let reconciler = Reconciler::new(
        config(&list),
        no_retry,
        h.qad_client.clone(),
        Arc::clone(&h.state) as Arc<dyn StateStore>,
    )
    .unwrap();
    let member_put = "/3.0/lists/{list_id}/members/{subscriber_hash}";
    h.mailchimp
        .faults()
        .set_route(
            Method::PUT,
            member_put,
            FaultConfig::none().service_unavailable(1.0),
        )
        .unwrap();

    let fixed = reconciler
        .run(
            ReconcileOptions::new()
                .object(ObjectKind::Customers)
                .fix(true),
        )
        .await
        .unwrap();
    let members = &fixed.kinds[&ObjectKind::Members];
    assert_eq!(ids(&members.missing), set(&[&email]), "{fixed}");
    assert_eq!(ids(&members.blocked), set(&[&gone]), "{fixed}");
    assert_eq!((members.fixed, members.not_fixed.count), (0, 1), "{fixed}");
    let ecommerce = &fixed.kinds[&ObjectKind::EcommerceCustomers];
    assert_eq!(ids(&ecommerce.missing), set(&[&customer]), "{fixed}");
    assert_eq!(ecommerce.not_fixed.count, 1, "{fixed}");
    let note = ecommerce.not_fixed.examples[0].note.as_deref().unwrap();
    assert!(note.contains("waits for its member"), "{note}");
    assert_eq!(fixed.remaining_drift(), 2);
    assert!(h.mailchimp.snapshot().customer(STORE, &customer).is_none());
    // The drifted member's hash is forgotten: the next forward run writes it.
    let hashes = h
        .state
        .hashes(ObjectKind::Members, std::slice::from_ref(&email))
        .await
        .unwrap();
    assert!(hashes.is_empty());
    let rows = h
        .state
        .query_audit(&AuditQuery::new().run(fixed.run_id.unwrap()))
        .await
        .unwrap();
    let outcomes: BTreeSet<Outcome> = rows.iter().map(|r| r.row.outcome).collect();
    assert_eq!(
        outcomes,
        BTreeSet::from([Outcome::Failed, Outcome::Skipped])
    );

    h.mailchimp.faults().clear_routes();
    let again = reconciler
        .run(
            ReconcileOptions::new()
                .object(ObjectKind::Customers)
                .fix(true),
        )
        .await
        .unwrap();
    assert_eq!(again.drift(), 2, "{again}");
    assert_eq!(again.remaining_drift(), 0, "{again}");
    let after = h.mailchimp.snapshot();
    assert_eq!(after.member(&list, &email).unwrap()["status"], "subscribed");
    assert!(after.customer(STORE, &customer).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_does_not_decode_is_unreadable_not_missing_and_a_fix_rewrites_it() {
    let h = Harness::start(Seeding::new(12).customers(40).items(5)).await;
    let sync = h.default_sync();
    for object in [ObjectKind::Customers, ObjectKind::Items] {
        let report = sync.run(object, RunOptions::new()).await.unwrap();
        assert_eq!(report.status, sync_core::RunStatus::Completed, "{report}");
    }
    let list = h.mailchimp.list_id().to_owned();
    let email = h.mailchimp.snapshot().members[&list]
        .iter()
        .find(|m| m["status"] == "subscribed")
        .map(|m| m["email_address"].as_str().unwrap().to_lowercase())
        .unwrap();
    // Served with merge fields of the wrong type: the client cannot decode this one member.
    h.mailchimp
        .set_member_raw_field(&list, &email, "merge_fields", "not an object")
        .unwrap();

    let reconciler = reconciler(&h);
    let found = reconciler.run(ReconcileOptions::new()).await.unwrap();
    let members = &found.kinds[&ObjectKind::Members];
    assert_eq!(ids(&members.unreadable), set(&[email.as_str()]), "{found}");
    assert_eq!(members.missing.count, 0, "present, so not missing\n{found}");
    assert_eq!(found.drift(), 1, "{found}");
    assert!(
        members.unreadable.examples[0]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("does not decode")),
        "{found}"
    );
    // Every other member was read once: nothing lost or doubled around the odd one.
    assert_eq!(members.equal + 1, members.expected - members.blocked.count);

    // A forward run reads the audience past it and still completes.
    let rerun = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(rerun.status, sync_core::RunStatus::Completed, "{rerun}");

    let fixed = reconciler
        .run(ReconcileOptions::new().fix(true))
        .await
        .unwrap();
    assert_eq!(fixed.remaining_drift(), 0, "{fixed}");
    assert_no_drift(&reconciler.run(ReconcileOptions::new()).await.unwrap());
}
