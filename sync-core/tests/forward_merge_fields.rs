//! The audience's merge fields, read once per run (issue #18, item 3): a mapping naming a tag the
//! audience lacks stops the run before anything is written, and a member whose value does not
//! fit its field is rejected on its own, naming the field, while the rest of the page is written.
#![allow(clippy::unwrap_used)]

mod forward_support;

use forward_support::{config, Harness, STORE};
use sync_core::forward::RunOptions;
use sync_core::mapping::MergeRule;
use sync_core::{normalize_email, ObjectKind, RunStatus, SyncError};
use testkit::qad::Seeding;

fn seeding(customers: usize) -> Seeding {
    Seeding::new(31)
        .customers(customers)
        .items(0)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
        .missing_field_share(0.0)
}

#[tokio::test]
async fn a_mapped_tag_the_audience_lacks_stops_the_run_before_any_write() {
    let h = Harness::start(seeding(5)).await;
    let mut config = config(h.mailchimp.list_id());
    config
        .mapping
        .customer
        .merge_fields
        .insert("COMPANY".into(), MergeRule::Field("addressName".into()));
    let err = h
        .sync(config)
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap_err();
    match &err {
        SyncError::UnknownMergeTags { tags, .. } => assert_eq!(tags, &["COMPANY"]),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("COMPANY"), "{err}");
    assert_eq!(h.writes(), 0, "nothing written: {:?}", h.log.entries());
}

/// One customer's phone is not a phone number: runs `customers` of them and checks that one is
/// rejected naming `PHONE`, never reaches Mailchimp (neither as a member nor through the store),
/// and the others are written.
async fn a_bad_value_rejects_only_its_record(customers: usize) {
    let h = Harness::start(seeding(customers)).await;
    let list = h.mailchimp.list_id().to_owned();
    let bad = h
        .qad
        .customers()
        .into_iter()
        .find(|c| c.email.is_some())
        .unwrap();
    assert!(h.qad.update_customer(&bad.customer_code, |c| {
        c.telephone = Some("ask for reception".into());
    }));
    let report = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    let members = &report.targets[&ObjectKind::Members];
    assert_eq!(
        members.rejected.get("merge field PHONE"),
        Some(&1),
        "{report}"
    );
    assert_eq!(members.created, customers as u64 - 1, "{report}");
    assert_eq!(members.failed, 0, "{report}");

    let email = normalize_email(bad.email.as_deref().unwrap());
    let snapshot = h.mailchimp.snapshot();
    assert!(
        snapshot.member(&list, &email).is_none(),
        "not added behind the connector's back by the store's customer write"
    );
    assert!(snapshot.customer(STORE, &bad.customer_code).is_none());
    assert_eq!(
        snapshot.customers[STORE].len(),
        customers - 1,
        "the other customers are in the store"
    );
}

#[tokio::test]
async fn a_bad_merge_value_in_a_batch_rejects_only_its_record() {
    a_bad_value_rejects_only_its_record(12).await;
}

#[tokio::test]
async fn a_bad_merge_value_written_alone_rejects_only_its_record() {
    a_bad_value_rejects_only_its_record(3).await;
}

#[tokio::test]
async fn a_custom_field_is_found_with_or_without_its_table_and_a_missing_one_is_reported() {
    let h = Harness::start(seeding(4)).await;
    let mut config = config(h.mailchimp.list_id());
    // QAD browse rows name the custom field `customer.customShort1`; the bare name finds it.
    config.mapping.customer.tags = vec![
        sync_core::mapping::TagRule::new("customShort1", "tier:"),
        sync_core::mapping::TagRule::new("customShort9", "region:"),
    ];
    let report = h
        .sync(config)
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    // A customer with a tier (the seed leaves some without).
    let customer = h
        .qad
        .customers()
        .into_iter()
        .find(|c| c.custom["customShort1"] != "")
        .unwrap();
    let tier = customer.custom["customShort1"].as_str().unwrap().to_owned();
    let email = normalize_email(customer.email.as_deref().unwrap());
    let tags: Vec<String> = h
        .mailchimp
        .snapshot()
        .member(h.mailchimp.list_id(), &email)
        .unwrap()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tags, vec![format!("tier:{tier}")], "{report}");

    // The field no record has is named once, with the names the records do have.
    assert_eq!(report.warnings.len(), 1, "{report}");
    let warning = &report.warnings[0];
    assert!(warning.contains("`customShort9`"), "{warning}");
    assert!(warning.contains("customer.customShort1"), "{warning}");
    assert!(report
        .to_string()
        .contains("warning: mapped field `customShort9`"));
}
