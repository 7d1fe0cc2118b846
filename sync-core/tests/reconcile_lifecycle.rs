//! `reconcile` with lifecycle settings: a customer that is not active (inactive, blocked,
//! anonymised, or gone from QAD) is not reported missing; its member archived or deleted by the
//! lifecycle is not drift; its member (or e-commerce customer) still present is drift, and
//! `--fix` applies the configured removal, never to an address an active customer owns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod forward_support;

use std::collections::BTreeSet;
use std::sync::Arc;

use forward_support::{config, Harness, STORE};
use sync_core::audit::AuditQuery;
use sync_core::config::SyncConfig;
use sync_core::forward::RunOptions;
use sync_core::lifecycle::{
    EcomCustomerRemoval, FieldRule, LifecycleConfig, LifecycleOptions, MemberRemoval,
};
use sync_core::reconcile::{Finding, KindReport, ReconcileOptions, ReconcileReport, Reconciler};
use sync_core::{normalize_email, MemberStatus, ObjectKind, Outcome, RunStatus, StateStore};
use testkit::qad::Seeding;

struct Tenant {
    h: Harness,
    config: SyncConfig,
}

impl Tenant {
    /// Every customer active and with its own address, synced once under `settings`.
    async fn synced(settings: LifecycleConfig) -> Self {
        let h = Harness::start(
            Seeding::new(29)
                .customers(30)
                .items(0)
                .sales_orders(0)
                .invalid_email_share(0.0)
                .duplicate_email_share(0.0),
        )
        .await;
        for c in h.qad.customers() {
            h.qad
                .update_customer(&c.customer_code, |c| c.is_active = true);
        }
        let mut config = config(h.mailchimp.list_id());
        config.lifecycle = Some(settings);
        let tenant = Self { h, config };
        tenant.forward().await;
        tenant
    }

    async fn forward(&self) {
        let report = self
            .h
            .sync(self.config.clone())
            .run(ObjectKind::Customers, RunOptions::new())
            .await
            .unwrap();
        assert_eq!(report.status, RunStatus::Completed, "{report}");
    }

    /// The `i`-th customer with an address, and that address.
    fn customer(&self, i: usize) -> (String, String) {
        self.h
            .qad
            .customers()
            .into_iter()
            .filter_map(|c| Some((c.customer_code, normalize_email(&c.email?))))
            .nth(i)
            .unwrap()
    }

    async fn reconcile(&self, fix: bool) -> ReconcileReport {
        Reconciler::new(
            self.config.clone(),
            self.h.mailchimp_client.clone(),
            self.h.qad_client.clone(),
            Arc::clone(&self.h.state) as Arc<dyn StateStore>,
        )
        .unwrap()
        .run(
            ReconcileOptions::new()
                .object(ObjectKind::Customers)
                .fix(fix)
                .examples(50),
        )
        .await
        .unwrap()
    }

    async fn scan(&self) -> sync_core::lifecycle::LifecycleReport {
        let report = self
            .h
            .lifecycle(self.config.clone())
            .run(ObjectKind::Customers, LifecycleOptions::new())
            .await
            .unwrap();
        assert_eq!(report.failed, 0, "{report}");
        report
    }

    fn status(&self, email: &str) -> Option<String> {
        self.h.mailchimp.snapshot().members[self.h.mailchimp.list_id()]
            .iter()
            .find(|m| normalize_email(m["email_address"].as_str().unwrap()) == email)
            .map(|m| m["status"].as_str().unwrap().to_owned())
    }

    fn store_customer(&self, code: &str) -> bool {
        self.h
            .mailchimp
            .snapshot()
            .customers
            .get(STORE)
            .is_some_and(|c| c.iter().any(|c| c["id"] == code))
    }
}

fn ids(finding: &Finding) -> BTreeSet<String> {
    finding.examples.iter().map(|e| e.id.clone()).collect()
}

fn note(finding: &Finding, id: &str) -> String {
    finding
        .examples
        .iter()
        .find(|e| e.id == id)
        .and_then(|e| e.note.clone())
        .unwrap_or_else(|| panic!("{id} not among {finding:?}"))
}

fn members(report: &ReconcileReport) -> &KindReport {
    &report.kinds[&ObjectKind::Members]
}

fn settings(members: MemberRemoval, ecommerce: EcomCustomerRemoval) -> LifecycleConfig {
    let mut settings = LifecycleConfig::default();
    settings.customer_states.blocked = vec![FieldRule::new("customShort1", ["BLOCKED"])];
    settings.customer_states.anonymised = vec![FieldRule::new("addressName", ["ANONYMISED"])];
    settings.members = members;
    settings.ecommerce_customers = ecommerce;
    settings
}

#[tokio::test]
async fn departed_customers_are_not_missing_and_their_present_members_are_archived_by_fix() {
    let t = Tenant::synced(settings(MemberRemoval::Archive, EcomCustomerRemoval::Keep)).await;
    let (inactive, inactive_email) = t.customer(0);
    let (blocked, blocked_email) = t.customer(1);
    let (anonymised, anonymised_email) = t.customer(2);
    let (gone, gone_email) = t.customer(3);
    let (archived, archived_email) = t.customer(4);
    // One customer departs and the scan archives it; then four more depart before the next scan.
    t.h.qad.update_customer(&archived, |c| c.is_active = false);
    t.scan().await;
    assert_eq!(t.status(&archived_email).as_deref(), Some("archived"));
    t.h.qad.update_customer(&inactive, |c| c.is_active = false);
    t.h.qad.update_customer(&blocked, |c| {
        c.custom.insert("customShort1".into(), "BLOCKED".into());
    });
    t.h.qad.update_customer(&anonymised, |c| {
        c.address_name = Some("ANONYMISED".into());
    });
    assert!(t.h.qad.remove_customer(&gone));

    let report = t.reconcile(false).await;
    let m = members(&report);
    assert_eq!(m.missing.count, 0, "{report}");
    let present = [
        &inactive_email,
        &blocked_email,
        &anonymised_email,
        &gone_email,
    ];
    assert_eq!(
        ids(&m.to_remove),
        present.iter().map(|e| (*e).clone()).collect(),
        "{report}"
    );
    assert_eq!(report.drift(), 4, "{report}");
    for (email, standing) in [
        (
            &inactive_email,
            format!("customer {inactive} is inactive in QAD"),
        ),
        (
            &blocked_email,
            format!("customer {blocked} is blocked in QAD"),
        ),
        (
            &anonymised_email,
            format!("customer {anonymised} is anonymised in QAD"),
        ),
        (&gone_email, format!("customer {gone} is gone from QAD")),
    ] {
        let note = note(&m.to_remove, email);
        assert!(
            note.contains(&standing) && note.contains("lifecycle.members = \"archive\""),
            "{note}"
        );
    }
    // Archived by the lifecycle (absent from the member list): expected, not drift.
    assert!(
        note(&m.departed, &archived_email).contains("as expected"),
        "{report}"
    );
    assert!(!ids(&m.only_in_mailchimp).contains(&archived_email));
    // The store keeps e-commerce customers (`keep`): not drift either.
    let ecom = &report.kinds[&ObjectKind::EcommerceCustomers];
    assert_eq!(ecom.drift(), 0, "{report}");
    assert!(note(&ecom.departed, &inactive).contains("kept"), "{report}");

    // --fix archives them, audited as the lifecycle's removals.
    let fixed = t.reconcile(true).await;
    assert_eq!(members(&fixed).fixed, 4, "{fixed}");
    assert_eq!(fixed.remaining_drift(), 0, "{fixed}");
    for email in present {
        assert_eq!(t.status(email).as_deref(), Some("archived"), "{email}");
    }
    let rows =
        t.h.state
            .query_audit(&AuditQuery::new().run(fixed.run_id.unwrap()))
            .await
            .unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|r| r.row.outcome == Outcome::Updated
        && r.row
            .payload
            .as_ref()
            .is_some_and(|p| p.to_string().contains("archive_member"))));
    assert!(t
        .h
        .state
        .target_id(ObjectKind::Members, &inactive)
        .await
        .unwrap()
        .is_none());

    // Settled: no drift, and the next scan has nothing left to archive.
    let again = t.reconcile(false).await;
    assert_eq!(again.drift(), 0, "{again}");
    assert!(note(&members(&again).departed, &inactive_email).contains("as expected"));
    let scan = t.scan().await;
    assert!(
        scan.removals
            .iter()
            .all(|r| r.target != ObjectKind::Members),
        "{scan}"
    );
}

#[tokio::test]
async fn permanent_deletes_are_expected_absences_and_never_hit_an_address_an_active_customer_owns()
{
    let t = Tenant::synced(settings(
        MemberRemoval::DeletePermanent,
        EcomCustomerRemoval::Delete,
    ))
    .await;
    let (erased, erased_email) = t.customer(0);
    let (late, late_email) = t.customer(1);
    let (sharer, sharer_email) = t.customer(2);
    let (owner, owner_email) = t.customer(3);
    // A fifth customer shares the owner-to-be's address from the start (a duplicate of it).
    let (heir, _) = t.customer(4);
    let (departing_owner, departing_email) = t.customer(5);
    let address = departing_email.clone();
    t.h.qad.update_customer(&heir, |c| c.email = Some(address));
    t.forward().await;
    // The scan erases one departed customer (member and store customer).
    t.h.qad.update_customer(&erased, |c| c.is_active = false);
    t.scan().await;
    assert_eq!(t.status(&erased_email), None);
    assert!(!t.store_customer(&erased));
    // Another departs before the next scan; a third shares the owner's address and departs.
    t.h.qad.update_customer(&late, |c| c.is_active = false);
    let shared = owner_email.clone();
    t.h.qad.update_customer(&sharer, |c| {
        c.email = Some(shared);
        c.is_active = false;
    });

    // The owner of the shared address departs while the heir is active.
    t.h.qad
        .update_customer(&departing_owner, |c| c.is_active = false);

    let report = t.reconcile(false).await;
    let m = members(&report);
    assert_eq!(m.missing.count, 0, "{report}");
    assert!(note(&m.departed, &erased_email).contains("absent, as expected"));
    // The active heir's address is compared as its member (its fields differ), never removed.
    assert!(!ids(&m.to_remove).contains(&departing_email), "{report}");
    assert!(ids(&m.different).contains(&departing_email), "{report}");
    assert_eq!(
        ids(&m.to_remove),
        BTreeSet::from([late_email.clone(), sharer_email.clone()]),
        "{report}"
    );
    assert!(note(&m.to_remove, &late_email).contains("delete_permanent"));
    // The shared address belongs to an active customer: compared as its member, never removed.
    assert!(!ids(&m.departed).contains(&owner_email));
    assert!(!ids(&m.to_remove).contains(&owner_email));
    // The sharer's own member (under its address before) and store customer are its own: they go.
    let ecom = &report.kinds[&ObjectKind::EcommerceCustomers];
    assert_eq!(
        ids(&ecom.to_remove),
        BTreeSet::from([late.clone(), sharer.clone(), departing_owner.clone()]),
        "{report}"
    );
    assert!(note(&ecom.departed, &erased).contains("absent, as expected"));
    // The departed owner's own store customer goes too (one per QAD customer).
    assert!(ids(&ecom.to_remove).contains(&departing_owner), "{report}");
    assert_eq!(report.drift(), 6, "{report}");

    let fixed = t.reconcile(true).await;
    assert_eq!(fixed.remaining_drift(), 0, "{fixed}");
    assert_eq!(t.status(&late_email), None, "permanently deleted");
    assert!(!t.store_customer(&late));
    assert_eq!(
        t.h.state
            .member_statuses(std::slice::from_ref(&late_email))
            .await
            .unwrap()[&late_email]
            .status,
        MemberStatus::Forgotten
    );
    assert_eq!(t.status(&sharer_email), None);
    assert!(!t.store_customer(&sharer));
    assert_eq!(t.status(&owner_email).as_deref(), Some("subscribed"));
    assert!(t.store_customer(&owner));
    assert_eq!(t.status(&departing_email).as_deref(), Some("subscribed"));
    assert!(t.store_customer(&heir));
    assert_eq!(t.reconcile(false).await.drift(), 0);
}

#[tokio::test]
async fn a_member_left_alone_by_the_settings_is_not_drift() {
    let t = Tenant::synced(settings(MemberRemoval::Leave, EcomCustomerRemoval::Keep)).await;
    let (inactive, inactive_email) = t.customer(0);
    t.h.qad.update_customer(&inactive, |c| c.is_active = false);
    let writes = t.h.writes();
    let report = t.reconcile(true).await;
    assert_eq!(report.drift(), 0, "{report}");
    assert!(note(&members(&report).departed, &inactive_email).contains("left alone"));
    assert_eq!(t.h.writes(), writes, "nothing to fix");
    assert_eq!(t.status(&inactive_email).as_deref(), Some("subscribed"));
}

#[tokio::test]
async fn without_lifecycle_settings_an_inactive_customer_is_compared_as_before() {
    let mut t = Tenant::synced(LifecycleConfig::default()).await;
    t.config.lifecycle = None;
    let (inactive, _) = t.customer(0);
    t.h.qad.update_customer(&inactive, |c| c.is_active = false);
    let report = t.reconcile(false).await;
    let m = members(&report);
    assert_eq!((m.departed.count, m.to_remove.count), (0, 0), "{report}");
    assert_eq!(report.drift(), 0, "{report}");
}

#[tokio::test]
async fn a_shared_address_is_compared_with_the_owner_rules_customer() {
    let mut rule = settings(MemberRemoval::Archive, EcomCustomerRemoval::Keep);
    rule.shared_email_owner = sync_core::lifecycle::OwnerRule::Flag {
        field: "customShort2".into(),
        values: vec!["PRIMARY".into()],
    };
    let t = Tenant::synced(rule).await;
    let (first, email) = t.customer(0);
    // A new customer (the highest code) shares the address and is the primary contact.
    let mut newcomer = t.h.qad.customer(&first).unwrap();
    newcomer.customer_code = "C9999999".into();
    newcomer.address_name = Some("Primary Contact".into());
    newcomer
        .custom
        .insert("customShort2".into(), "PRIMARY".into());
    let primary = newcomer.customer_code.clone();
    t.h.qad.upsert_customer(newcomer);
    t.h.qad.update_customer(&first, |c| {
        c.address_name = Some("Not The Owner".into());
    });
    t.forward().await;
    assert_eq!(
        t.h.state
            .source_keys(ObjectKind::Members, &email)
            .await
            .unwrap(),
        std::slice::from_ref(&primary)
    );
    let report = t.reconcile(false).await;
    assert_eq!(report.drift(), 0, "{report}");
}
