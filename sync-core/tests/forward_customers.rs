//! Customers → members and e-commerce customers, end to end against the testkit fakes.

mod forward_support;

use std::collections::{BTreeMap, BTreeSet};

use forward_support::{config, Harness, OTHER_LIST, STORE};
use sync_core::audit::AuditQuery;
use sync_core::forward::RunOptions;
use sync_core::mapping::check_email;
use sync_core::{normalize_email, ObjectKind, Outcome, RunStatus, StateStore};
use testkit::qad::Seeding;

fn seeding() -> Seeding {
    // 120 customers: 10 % invalid emails, 10 % duplicates, 20 % unicode names, some missing fields.
    Seeding::new(7)
        .customers(120)
        .items(10)
        .sales_orders(0)
        .invalid_email_share(0.1)
        .duplicate_email_share(0.1)
        .unicode_name_share(0.2)
}

/// What the audience should hold: per normalized email, the customer that owns it (the lowest
/// code among customers sharing it).
fn expected_owners(h: &Harness) -> BTreeMap<String, testkit::qad::Customer> {
    let mut owners = BTreeMap::new();
    for c in h.qad.customers() {
        if let Some(email) = c.email.as_deref().and_then(|e| check_email(e).ok()) {
            owners.entry(normalize_email(&email)).or_insert(c);
        }
    }
    owners
}

fn first_word(name: &Option<String>) -> Option<String> {
    name.as_deref()
        .and_then(|n| n.split_whitespace().next())
        .map(str::to_owned)
}

#[tokio::test]
async fn a_seeded_tenant_becomes_exactly_the_expected_audience_and_store() {
    let h = Harness::start(seeding()).await;
    let list = h.mailchimp.list_id().to_owned();
    // Already cleaned in Mailchimp: the owner of the first valid email.
    let owners = expected_owners(&h);
    let (cleaned_email, cleaned_owner) = owners
        .iter()
        .next()
        .map(|(e, c)| (e.clone(), c.customer_code.clone()))
        .unwrap();
    h.mailchimp
        .seed_member(&list, &cleaned_email, "cleaned")
        .unwrap();
    // Permanently deleted from the audience: the owner of the last valid email.
    let forgotten_email = owners.keys().next_back().unwrap().clone();
    h.mailchimp.forget_email(&list, &forgotten_email).unwrap();

    let report = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    assert_eq!(report.read, 120);

    let customers = h.qad.customers();
    let invalid = customers
        .iter()
        .filter(|c| {
            c.email
                .as_deref()
                .and_then(|e| check_email(e).ok())
                .is_none()
        })
        .count() as u64;
    let valid = customers.len() as u64 - invalid;
    let duplicates = valid - owners.len() as u64;
    assert!(
        invalid >= 12 && duplicates >= 1,
        "the seed must exercise both: {invalid} {duplicates}"
    );
    assert!(customers
        .iter()
        .any(|c| c.address_name.as_deref().is_some_and(|n| !n.is_ascii())));

    let members = &report.targets[&ObjectKind::Members];
    assert_eq!(members.rejected_total(), invalid, "{report}");
    assert_eq!(members.created, owners.len() as u64 - 2, "{report}");
    assert_eq!(members.skipped_total(), duplicates + 2, "{report}");
    assert_eq!(
        members
            .skipped
            .get("member was permanently deleted (forgotten)"),
        Some(&1),
        "{report}"
    );
    assert_eq!(members.failed, 0, "{report}");
    assert!(
        members.skipped.keys().any(|r| r.contains("cleaned")),
        "{report}"
    );
    let ecom = &report.targets[&ObjectKind::EcommerceCustomers];
    assert_eq!(
        (ecom.created, ecom.rejected_total(), ecom.failed),
        (valid, invalid, 0),
        "{report}"
    );

    let snapshot = h.mailchimp.snapshot();
    assert_eq!(
        snapshot.members[&list].len(),
        owners.len() - 1,
        "one member per distinct valid email, none for the forgotten one"
    );
    for (email, owner) in &owners {
        if *email == forgotten_email {
            assert!(snapshot.member(&list, email).is_none());
            continue;
        }
        let member = snapshot
            .member(&list, email)
            .unwrap_or_else(|| panic!("no member {email}"));
        if *email == cleaned_email {
            assert_eq!(
                member["status"], "cleaned",
                "a cleaned member is never re-subscribed"
            );
            continue;
        }
        assert_eq!(member["status"], "subscribed");
        if let Some(fname) = first_word(&owner.address_name) {
            assert_eq!(member["merge_fields"]["FNAME"], fname.as_str(), "{email}");
        }
        // The default audience has no COMPANY field: the company goes to the store customer.
        assert!(member["merge_fields"].get("COMPANY").is_none(), "{member}");
    }
    let store_customers = &snapshot.customers[STORE];
    assert_eq!(store_customers.len() as u64, valid);
    for c in &customers {
        let found = snapshot.customer(STORE, &c.customer_code);
        let email = c.email.as_deref().and_then(|e| check_email(e).ok());
        match email {
            Some(email) => assert_eq!(found.unwrap()["email_address"], email.as_str()),
            None => assert!(found.is_none(), "{} has no valid email", c.customer_code),
        }
    }

    // The cleaned status is remembered: the next run skips it without asking Mailchimp.
    let statuses = h
        .state
        .member_statuses(std::slice::from_ref(&cleaned_email))
        .await
        .unwrap();
    assert_eq!(
        statuses[&cleaned_email].status,
        sync_core::MemberStatus::Cleaned
    );
    let audit = h
        .state
        .query_audit(
            &AuditQuery::new()
                .source_key(cleaned_owner.clone())
                .outcome(Outcome::Skipped),
        )
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].row.error.as_deref().unwrap().contains("cleaned"));

    let again = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    let skipped = &again.targets[&ObjectKind::Members].skipped;
    assert_eq!(
        skipped.get("member is cleaned (as the state store recorded it)"),
        Some(&1),
        "{again}"
    );
    assert_eq!(again.calls.get("mailchimp member get"), None, "{again}");
    assert_eq!(again.mailchimp_writes(), 0, "{again}");
}

#[tokio::test]
async fn a_second_run_writes_nothing_and_five_changes_write_five() {
    let h = Harness::start(seeding()).await;
    let sync = h.default_sync();
    let first = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Completed);
    assert!(
        first.calls["mailchimp batch_subscribe"] >= 1,
        "new members go in batches: {first}"
    );

    let before = h.writes();
    let second = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(
        h.writes(),
        before,
        "a no-op re-run makes zero write calls:\n{second}"
    );
    assert_eq!(second.mailchimp_writes(), 0, "{second}");
    let members = &second.targets[&ObjectKind::Members];
    assert_eq!(members.writes(), 0);
    assert_eq!(
        members.unchanged,
        first.targets[&ObjectKind::Members].created
    );

    // Five owners of valid emails change their city and name.
    let owners = expected_owners(&h);
    let changed: Vec<String> = owners
        .values()
        .take(5)
        .map(|c| c.customer_code.clone())
        .collect();
    for code in &changed {
        assert!(h.qad.update_customer(code, |c| {
            c.address_name = Some(format!("Renamed {code}"));
        }));
    }
    let before = h.writes();
    let third = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(third.targets[&ObjectKind::Members].updated, 5, "{third}");
    assert_eq!(
        third.targets[&ObjectKind::EcommerceCustomers].updated,
        5,
        "{third}"
    );
    assert_eq!(third.calls.get("mailchimp member_put"), Some(&5), "{third}");
    assert_eq!(
        third.calls.get("mailchimp ecommerce_customer_put"),
        Some(&5),
        "{third}"
    );
    assert_eq!(
        h.writes() - before,
        10,
        "five members and five e-commerce customers:\n{third}"
    );
    let list = h.mailchimp.list_id().to_owned();
    let snapshot = h.mailchimp.snapshot();
    for (email, owner) in owners.iter().take(5) {
        assert_eq!(
            snapshot.member(&list, email).unwrap()["merge_fields"]["FNAME"],
            "Renamed"
        );
        assert_eq!(
            snapshot.customer(STORE, &owner.customer_code).unwrap()["company"],
            format!("Renamed {}", owner.customer_code)
        );
    }
    // The incremental read only fetched the overlap window, not every customer again.
    assert!(third.read < 120, "{third}");
}

#[tokio::test]
async fn the_store_is_set_up_before_any_ecommerce_write_and_stops_syncing_after() {
    let h = Harness::start(seeding()).await;
    h.default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let log = h.log.entries();
    let first_store_write = log
        .iter()
        .position(|l| l.starts_with("POST /3.0/ecommerce/stores") && !l.contains("/customers"))
        .expect("the store was created");
    let first_customer = log
        .iter()
        .position(|l| l.contains("/customers/"))
        .expect("customers were written");
    assert!(first_store_write < first_customer, "{log:#?}");
    assert!(log[..first_store_write]
        .iter()
        .any(|l| l == &format!("GET /3.0/ecommerce/stores/{STORE}")));
    // The backfill ended: is_syncing back to false, with a PATCH after the last customer.
    let last_customer = log.iter().rposition(|l| l.contains("/customers/")).unwrap();
    let patch = log
        .iter()
        .rposition(|l| l == &format!("PATCH /3.0/ecommerce/stores/{STORE}"))
        .unwrap();
    assert!(patch > last_customer, "{log:#?}");
    let snapshot = h.mailchimp.snapshot();
    let store = snapshot.stores.iter().find(|s| s["id"] == STORE).unwrap();
    assert_eq!(store["is_syncing"], false);
    assert_eq!(store["list_id"], h.mailchimp.list_id());
}

#[tokio::test]
async fn a_store_linked_to_another_audience_is_a_configuration_error() {
    let h = Harness::start(seeding()).await;
    h.mailchimp.seed_store(STORE, OTHER_LIST, "EUR").unwrap();
    let err = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(err, sync_core::SyncError::Config { .. }), "{err}");
    assert!(err.to_string().contains(OTHER_LIST), "{err}");
    let snapshot = h.mailchimp.snapshot();
    assert!(snapshot.customers.get(STORE).is_none_or(Vec::is_empty));
    assert!(
        snapshot.members[h.mailchimp.list_id()].is_empty(),
        "nothing is written when the store is misconfigured"
    );
    let runs = h.state.recent_runs(1).await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Aborted);
}

#[tokio::test]
async fn a_run_stopped_halfway_resumes_to_the_exact_final_state_without_duplicates() {
    let h = Harness::start(seeding()).await;
    let sync = h.default_sync();
    let stopped = sync
        .run(ObjectKind::Customers, RunOptions::new().max_pages(2))
        .await
        .unwrap();
    assert_eq!(stopped.status, RunStatus::Cancelled);
    assert_eq!(stopped.read, 50);
    let cursor = h
        .state
        .cursor(ObjectKind::Customers)
        .await
        .unwrap()
        .unwrap();
    assert!(
        cursor.last_key.is_some(),
        "the cursor holds the last committed key"
    );

    let resumed = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(resumed.status, RunStatus::Completed, "{resumed}");
    assert_eq!(
        resumed.read, 70,
        "resumed after the last committed page: {resumed}"
    );

    // Same final state as one uninterrupted run over a fresh pair of fakes.
    let reference = Harness::start(seeding()).await;
    reference
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let strip = |s: testkit::mailchimp::MailchimpSnapshot, list: &str| {
        let members: BTreeMap<String, (serde_json::Value, serde_json::Value)> = s.members[list]
            .iter()
            .map(|m| {
                (
                    m["email_address"].as_str().unwrap().to_lowercase(),
                    (m["status"].clone(), m["merge_fields"].clone()),
                )
            })
            .collect();
        let customers: BTreeMap<String, serde_json::Value> = s.customers[STORE]
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_owned(),
                    c["email_address"].clone(),
                )
            })
            .collect();
        (members, customers)
    };
    assert_eq!(
        strip(h.mailchimp.snapshot(), h.mailchimp.list_id()),
        strip(
            reference.mailchimp.snapshot(),
            reference.mailchimp.list_id()
        )
    );
    // No record was written twice: one created row per target record across both runs.
    let created = h
        .state
        .query_audit(&AuditQuery::new().outcome(Outcome::Created).limit(10_000))
        .await
        .unwrap();
    let mut seen = BTreeSet::new();
    for row in &created {
        let path = row.row.operation.as_ref().unwrap().path.clone();
        assert!(
            seen.insert((row.row.source_key.clone(), path)),
            "written twice: {}",
            row.row.source_key
        );
    }
    let total: u64 = [&stopped, &resumed]
        .iter()
        .map(|r| r.targets.values().map(|t| t.created).sum::<u64>())
        .sum();
    assert_eq!(total, created.len() as u64);
}

#[tokio::test]
async fn a_dry_run_plans_without_writing_or_changing_state() {
    let h = Harness::start(seeding()).await;
    let sync = h.default_sync();
    let plan = sync
        .run(ObjectKind::Customers, RunOptions::new().dry_run(true))
        .await
        .unwrap();
    assert!(plan.dry_run);
    assert_eq!(h.writes(), 0, "a dry run writes nothing:\n{plan}");
    assert_eq!(plan.mailchimp_writes(), 0);
    assert!(h
        .state
        .cursor(ObjectKind::Customers)
        .await
        .unwrap()
        .is_none());
    assert!(h.state.recent_runs(10).await.unwrap().is_empty());
    assert!(h
        .state
        .query_audit(&AuditQuery::new())
        .await
        .unwrap()
        .is_empty());

    let real = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(
        plan.targets, real.targets,
        "the plan is what the run then does:\n{plan}\n{real}"
    );
}

#[tokio::test]
async fn a_customer_code_over_fifty_characters_gets_a_stable_derived_id_in_the_id_map() {
    let h = Harness::start(
        Seeding::new(3)
            .customers(3)
            .items(1)
            .sales_orders(0)
            .invalid_email_share(0.0)
            .duplicate_email_share(0.0)
            .missing_field_share(0.0),
    )
    .await;
    let mut long = h.qad.customers()[0].clone();
    long.customer_code = format!("L{}", "X".repeat(59));
    long.email = Some("long.code@northwind-mfg.com".into());
    h.qad.upsert_customer(long.clone());

    h.default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let id = h
        .state
        .target_id(ObjectKind::EcommerceCustomers, &long.customer_code)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        id,
        sync_core::mapping::ecommerce_customer_id(&long.customer_code)
    );
    assert!(id.len() <= 50);
    assert_eq!(
        h.state
            .source_keys(ObjectKind::EcommerceCustomers, &id)
            .await
            .unwrap(),
        vec![long.customer_code.clone()]
    );
    assert_eq!(
        h.mailchimp.snapshot().customer(STORE, &id).unwrap()["email_address"],
        "long.code@northwind-mfg.com"
    );
}

#[tokio::test]
async fn tags_follow_the_customer_type_and_are_only_sent_when_they_change() {
    let h = Harness::start(
        Seeding::new(5)
            .customers(4)
            .items(1)
            .sales_orders(0)
            .invalid_email_share(0.0)
            .duplicate_email_share(0.0)
            .missing_field_share(0.0),
    )
    .await;
    let mut cfg = config(h.mailchimp.list_id());
    cfg.mapping.customer.tags = vec![sync_core::mapping::TagRule::new(
        "customerTypeCode",
        "type:",
    )];
    let sync = h.sync(cfg);
    let first = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(
        first.calls.get("mailchimp member_tags"),
        Some(&4),
        "{first}"
    );
    let c = h.qad.customers()[0].clone();
    let email = c.email.clone().unwrap();
    let list = h.mailchimp.list_id().to_owned();
    let tag_names = |h: &Harness| -> Vec<String> {
        h.mailchimp.snapshot().member(&list, &email).unwrap()["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        tag_names(&h),
        vec![format!("type:{}", c.customer_type_code)]
    );

    let again = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(again.calls.get("mailchimp member_tags"), None, "{again}");

    h.qad.update_customer(&c.customer_code, |c| {
        c.customer_type_code = "NEWTYPE".into()
    });
    let third = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(
        third.calls.get("mailchimp member_tags"),
        Some(&1),
        "{third}"
    );
    assert_eq!(
        tag_names(&h),
        vec!["type:NEWTYPE".to_owned()],
        "the old type tag was removed"
    );
}
