//! A dry run's plan: which records a real run would create or update, the fields that change
//! (old values from the audit trail), the listing bound, and what a backfill costs the account.
#![allow(clippy::unwrap_used)]

mod forward_support;

use forward_support::Harness;
use serde_json::json;
use sync_core::forward::RunOptions;
use sync_core::plan::PlannedAction;
use sync_core::{ObjectKind, RunStatus, TargetRecord};
use testkit::qad::Seeding;

fn seeding() -> Seeding {
    Seeding::new(5)
        .customers(12)
        .items(3)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
        .missing_field_share(0.0)
}

#[tokio::test]
async fn a_backfill_plan_lists_every_create_with_its_fields_and_what_it_costs() {
    let h = Harness::start(seeding()).await;
    let list = h.mailchimp.list_id().to_owned();
    // Three of the customers are already contacts of the audience.
    let customers = h.qad.customers();
    for c in &customers[..3] {
        h.mailchimp
            .seed_member(&list, c.email.as_deref().unwrap(), "subscribed")
            .unwrap();
    }
    let report = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new().dry_run(true))
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    assert_eq!(h.writes(), 0, "{report}");
    let plan = report.plan.as_ref().unwrap();
    assert!(plan.backfill);
    assert!(plan.marks_store_syncing, "a backfill with a store");
    assert_eq!(
        plan.new_contacts,
        Some(9),
        "12 members, 3 already in the audience"
    );
    let members = &plan.targets[&TargetRecord::Member];
    assert_eq!(members.entries.len(), 12);
    assert_eq!(members.omitted, 0);
    let first = &members.entries[0];
    assert_eq!(first.action, PlannedAction::Create);
    assert!(first.previous_known);
    assert!(first.changes.iter().all(|c| c.old.is_none()));
    assert!(
        first
            .changes
            .iter()
            .any(|c| c.field == "merge_fields.FNAME"),
        "{:?}",
        first.changes
    );
    assert_eq!(
        plan.targets[&TargetRecord::EcommerceCustomer].entries.len(),
        12
    );
    // The plan agrees with the counts.
    assert_eq!(report.targets[&ObjectKind::Members].created, 12);
    assert_eq!(
        plan.writes(),
        24 + plan
            .targets
            .get(&TargetRecord::MemberTags)
            .map_or(0, |g| g.entries.len() as u64)
    );
}

#[tokio::test]
async fn an_update_shows_the_old_and_new_value_of_each_changed_field_only() {
    let h = Harness::start(seeding()).await;
    let sync = h.default_sync();
    let first = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Completed, "{first}");
    let code = h.qad.customers()[4].customer_code.clone();
    let old_city = h.qad.customers()[4].city.clone().unwrap();
    assert!(h
        .qad
        .update_customer(&code, |c| c.city = Some("Villeurbanne".into())));

    let report = sync
        .run(ObjectKind::Customers, RunOptions::new().dry_run(true))
        .await
        .unwrap();
    let plan = report.plan.as_ref().unwrap();
    assert!(!plan.backfill);
    assert!(!plan.marks_store_syncing);
    assert_eq!(plan.new_contacts, None, "no member to create");
    let members = &plan.targets[&TargetRecord::Member];
    assert_eq!(members.entries.len(), 1, "{plan:?}");
    let update = &members.entries[0];
    assert_eq!(update.source_key, code);
    assert_eq!(update.action, PlannedAction::Update);
    assert!(update.previous_known);
    assert_eq!(update.changes.len(), 1, "{:?}", update.changes);
    assert_eq!(update.changes[0].field, "merge_fields.ADDRESS.city");
    assert_eq!(update.changes[0].old, Some(json!(old_city)));
    assert_eq!(update.changes[0].new, Some(json!("Villeurbanne")));
    let store = &plan.targets[&TargetRecord::EcommerceCustomer].entries[0];
    assert_eq!(store.changes.len(), 1, "{:?}", store.changes);
    assert_eq!(store.changes[0].field, "address.city");
    assert_eq!(
        h.writes(),
        first.mailchimp_writes(),
        "the dry run wrote nothing"
    );
}

#[tokio::test]
async fn the_plan_lists_at_most_the_limit_per_kind_and_counts_the_rest() {
    let h = Harness::start(seeding()).await;
    let report = h
        .default_sync()
        .run(
            ObjectKind::Customers,
            RunOptions::new().dry_run(true).plan_limit(5),
        )
        .await
        .unwrap();
    let plan = report.plan.as_ref().unwrap();
    let members = &plan.targets[&TargetRecord::Member];
    assert_eq!((members.entries.len(), members.omitted), (5, 7));
    // Outside a dry run there is no plan.
    let real = h
        .default_sync()
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert!(real.plan.is_none());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["plan"]["targets"]["member"]["omitted"], 7, "{json}");
}

#[tokio::test]
async fn without_the_audience_read_each_new_member_is_looked_up_once() {
    let h = Harness::start(seeding()).await;
    let list = h.mailchimp.list_id().to_owned();
    let customers = h.qad.customers();
    h.mailchimp
        .seed_member(&list, customers[0].email.as_deref().unwrap(), "pending")
        .unwrap();
    let mut config = forward_support::config(&list);
    config.member_prefetch_limit = 0;
    let report = h
        .sync(config)
        .run(ObjectKind::Customers, RunOptions::new().dry_run(true))
        .await
        .unwrap();
    assert_eq!(
        report.calls.get("mailchimp member get"),
        Some(&12),
        "{report}"
    );
    assert_eq!(
        report.calls.get("mailchimp member_list get"),
        None,
        "{report}"
    );
    assert_eq!(report.plan.as_ref().unwrap().new_contacts, Some(11));
    assert_eq!(h.writes(), 0);
}
