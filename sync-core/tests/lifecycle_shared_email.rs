//! One rule for shared emails: under each owner rule the member belongs to the rule's customer
//! (its fields are written), the others are secondary, and the owner's departure hands the
//! member to the next one instead of orphaning or erasing it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod forward_support;

use forward_support::{config, Harness};
use serde_json::json;
use sync_core::forward::RunOptions;
use sync_core::lifecycle::{
    LifecycleConfig, LifecycleOptions, LifecycleSync, MemberRemoval, OwnerRule, RemovalAction,
};
use sync_core::{normalize_email, ObjectKind, Outcome, StateStore};
use testkit::qad::Seeding;

/// Three customers share one address: A (lowest code), B and C. Each gets a first name, a
/// primary flag, a creation date and a type, so every rule has something to rank.
struct Shared {
    h: Harness,
    codes: [String; 3],
    email: String,
}

async fn shared(rule: OwnerRule, page_size: u32) -> (Shared, sync_core::config::SyncConfig) {
    let h = Harness::start(
        Seeding::new(41)
            .customers(8)
            .items(0)
            .sales_orders(0)
            .invalid_email_share(0.0)
            .duplicate_email_share(0.0),
    )
    .await;
    let codes: [String; 3] = h.codes_with_email();
    let email = h.qad.customer(&codes[0]).unwrap().email.unwrap();
    let fields = [
        ("Anna", "", "2021-05-01", "SHIP-TO"),
        ("Berta", "PRIMARY", "2019-01-15", "CONTACT"),
        ("Carla", "", "2023-09-30", "BILL-TO"),
    ];
    for (code, (name, flag, created, kind)) in codes.iter().zip(fields) {
        h.qad.update_customer(code, |c| {
            c.is_active = true;
            c.email = Some(email.clone());
            c.address_name = Some(format!("{name} Shared"));
            c.customer_type_code = kind.into();
            c.custom.insert("customShort2".into(), json!(flag));
            c.custom.insert("customDate1".into(), json!(created));
        });
    }
    let mut config = config(h.mailchimp.list_id());
    config.page_size = page_size;
    config.lifecycle = Some(LifecycleConfig {
        shared_email_owner: rule,
        members: MemberRemoval::DeletePermanent,
        ..LifecycleConfig::default()
    });
    h.sync(config.clone())
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    let email = normalize_email(&email);
    (Shared { h, codes, email }, config)
}

impl Shared {
    fn lifecycle(&self, config: &sync_core::config::SyncConfig) -> LifecycleSync {
        self.h.lifecycle(config.clone())
    }

    async fn owner(&self) -> Vec<String> {
        self.h.member_owners(&self.email).await
    }

    fn first_name(&self) -> String {
        self.h.subscribed_first_name(&self.email)
    }

    /// A scan, then a forward run: the member then carries the owner's fields.
    async fn settle(&self, config: &sync_core::config::SyncConfig) {
        let report = self
            .lifecycle(config)
            .run(ObjectKind::Customers, LifecycleOptions::new())
            .await
            .unwrap();
        assert_eq!(report.failed, 0, "{report}");
        self.h
            .sync(config.clone())
            .run(ObjectKind::Customers, RunOptions::new().full(true))
            .await
            .unwrap();
    }
}

/// Under `rule`, `first` (an index into A, B, C) owns; after its deletion `second` does.
async fn owner_then_heir(rule: OwnerRule, first: usize, second: usize) {
    for page_size in [25, 1] {
        owner_then_heir_paged(rule.clone(), first, second, page_size).await;
    }
}

/// As [`owner_then_heir`], with the three customers on one page (25) or each on its own (1).
async fn owner_then_heir_paged(rule: OwnerRule, first: usize, second: usize, page_size: u32) {
    let (s, config) = shared(rule.clone(), page_size).await;
    let names = ["Anna", "Berta", "Carla"];
    // The forward sync already gives the address to the rule's customer, whether the others
    // are on its page or not; a scan leaves it there.
    assert_eq!(
        s.owner().await,
        [s.codes[first].clone()],
        "{rule:?} {page_size}"
    );
    assert_eq!(s.first_name(), names[first], "{rule:?} {page_size}");
    s.settle(&config).await;
    assert_eq!(s.owner().await, [s.codes[first].clone()], "{rule:?}");
    assert_eq!(s.first_name(), names[first], "{rule:?}");
    // The others are reported with the owner and the rule named.
    let rows =
        s.h.state
            .query_audit(&sync_core::audit::AuditQuery::new().outcome(Outcome::Skipped))
            .await
            .unwrap();
    let named = format!(
        "written for customer {}, its owner under lifecycle.shared_email_owner ({})",
        s.codes[first],
        rule.name()
    );
    let handed = format!("owned by customer {}", s.codes[first]);
    for (i, code) in s.codes.iter().enumerate().filter(|(i, _)| *i != first) {
        assert!(
            rows.iter().any(|r| r.row.source_key == *code
                && r.row
                    .error
                    .as_deref()
                    .is_some_and(|e| e.contains(&named) || e.contains(&handed))),
            "{rule:?} {page_size} customer {i}: {rows:?}"
        );
    }

    // The owner is deleted: the member moves to the next customer, never erased.
    assert!(s.h.qad.remove_customer(&s.codes[first]));
    let report = s
        .lifecycle(&config)
        .run(ObjectKind::Customers, LifecycleOptions::new())
        .await
        .unwrap();
    assert_eq!(
        report.removals[0].action,
        RemovalAction::HandOverMember {
            to: s.codes[second].clone()
        },
        "{rule:?}: {report}"
    );
    s.h.sync(config.clone())
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await
        .unwrap();
    assert_eq!(s.owner().await, [s.codes[second].clone()], "{rule:?}");
    assert_eq!(s.first_name(), names[second], "{rule:?}");
}

#[tokio::test]
async fn lowest_key_is_the_default_rule() {
    owner_then_heir(OwnerRule::default(), 0, 1).await;
}

#[tokio::test]
async fn a_primary_flag_names_the_owner() {
    let rule = OwnerRule::Flag {
        field: "customShort2".into(),
        values: vec!["primary".into()],
    };
    owner_then_heir(rule, 1, 0).await;
}

#[tokio::test]
async fn the_oldest_record_owns() {
    owner_then_heir(
        OwnerRule::Oldest {
            field: "customDate1".into(),
        },
        1,
        0,
    )
    .await;
}

#[tokio::test]
async fn the_newest_record_owns() {
    owner_then_heir(
        OwnerRule::Newest {
            field: "customDate1".into(),
        },
        2,
        0,
    )
    .await;
}

#[tokio::test]
async fn a_type_priority_list_names_the_owner() {
    let rule = OwnerRule::TypePriority {
        field: "customerTypeCode".into(),
        order: vec!["BILL-TO".into(), "SHIP-TO".into()],
    };
    owner_then_heir(rule, 2, 0).await;
}

#[tokio::test]
async fn e_commerce_customers_stay_one_per_qad_customer() {
    let (s, config) = shared(
        OwnerRule::Flag {
            field: "customShort2".into(),
            values: vec!["primary".into()],
        },
        25,
    )
    .await;
    s.settle(&config).await;
    for code in &s.codes {
        assert!(
            s.h.state
                .target_id(ObjectKind::EcommerceCustomers, code)
                .await
                .unwrap()
                .is_some(),
            "{code}"
        );
    }
}
