//! The owner rule between lifecycle scans: when the forward sync meets a second customer for an
//! address another customer owns (an earlier run's, on another page), it ranks the two under
//! `lifecycle.shared_email_owner` at once, reading the owner again from QAD by key. The newcomer
//! takes the member over when the rule prefers it, or when the owner was deleted, deactivated,
//! blocked or anonymised since; otherwise it is a duplicate naming the rule. A dry run says the
//! same and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod forward_support;

use forward_support::{config, Harness};
use serde_json::json;
use sync_core::audit::AuditQuery;
use sync_core::config::SyncConfig;
use sync_core::forward::RunOptions;
use sync_core::lifecycle::{LifecycleConfig, LifecycleOptions, OwnerRule};
use sync_core::report::RunReport;
use sync_core::{normalize_email, ObjectKind, Outcome, RunStatus, StateStore, TargetRecord};
use testkit::qad::Seeding;

const NAMES: [&str; 3] = ["Anna", "Berta", "Carla"];

/// Three customers, A (lowest code), B and C, each with a first name, a primary flag (B), a
/// creation date (B oldest, C newest) and a type (C bill-to, A ship-to, B contact), so every
/// rule ranks them; only `owner` has the shared address at first, the others none.
struct Case {
    h: Harness,
    codes: [String; 3],
    email: String,
    config: SyncConfig,
}

fn flag() -> OwnerRule {
    OwnerRule::Flag {
        field: "customShort2".into(),
        values: vec!["primary".into()],
    }
}

fn types() -> OwnerRule {
    OwnerRule::TypePriority {
        field: "customerTypeCode".into(),
        order: vec!["BILL-TO".into(), "SHIP-TO".into()],
    }
}

fn dated(newest: bool) -> OwnerRule {
    let field = "customDate1".to_owned();
    if newest {
        OwnerRule::Newest { field }
    } else {
        OwnerRule::Oldest { field }
    }
}

impl Case {
    /// With `page_size` 1 each customer is on a page of its own: an owner is never on its
    /// newcomer's page (with 25 they share one).
    async fn start(rule: OwnerRule, owner: usize, page_size: u32) -> Self {
        let h = Harness::start(
            Seeding::new(43)
                .customers(8)
                .items(0)
                .sales_orders(0)
                .invalid_email_share(0.0)
                .duplicate_email_share(0.0),
        )
        .await;
        let codes: [String; 3] = h.codes_with_email();
        let email = h.qad.customer(&codes[owner]).unwrap().email.unwrap();
        let fields = [
            ("", "2021-05-01", "SHIP-TO"),
            ("PRIMARY", "2019-01-15", "CONTACT"),
            ("", "2023-09-30", "BILL-TO"),
        ];
        for (i, (code, (flag, created, kind))) in codes.iter().zip(fields).enumerate() {
            h.qad.update_customer(code, |c| {
                c.is_active = true;
                c.email = (i == owner).then(|| email.clone());
                c.address_name = Some(format!("{} Shared", NAMES[i]));
                c.customer_type_code = kind.into();
                c.custom.insert("customShort2".into(), json!(flag));
                c.custom.insert("customDate1".into(), json!(created));
            });
        }
        let mut config = config(h.mailchimp.list_id());
        config.page_size = page_size;
        config.lifecycle = Some(LifecycleConfig {
            shared_email_owner: rule,
            ..LifecycleConfig::default()
        });
        let case = Self {
            h,
            codes,
            email: normalize_email(&email),
            config,
        };
        case.run(RunOptions::new()).await;
        assert_eq!(case.owner().await, [case.codes[owner].clone()]);
        case
    }

    async fn run(&self, options: RunOptions) -> RunReport {
        let report = self
            .h
            .sync(self.config.clone())
            .run(ObjectKind::Customers, options)
            .await
            .unwrap();
        assert_eq!(report.status, RunStatus::Completed, "{report}");
        report
    }

    async fn owner(&self) -> Vec<String> {
        self.h.member_owners(&self.email).await
    }

    fn first_name(&self) -> String {
        self.h.subscribed_first_name(&self.email)
    }

    /// Customer `i` gets the shared address (a new customer of it, to the forward sync).
    fn share(&self, i: usize) {
        let email = self.email.clone();
        self.h.qad.update_customer(&self.codes[i], |c| {
            c.email = Some(email);
        });
    }

    /// The errors of the skipped member rows of customer `i`, oldest first.
    async fn skipped(&self, i: usize) -> Vec<String> {
        let rows = self
            .h
            .state
            .query_audit(&AuditQuery::new().outcome(Outcome::Skipped))
            .await
            .unwrap();
        rows.into_iter()
            .filter(|r| {
                r.row.source_key == self.codes[i] && r.row.target == Some(TargetRecord::Member)
            })
            .filter_map(|r| r.row.error)
            .collect()
    }

    async fn scan(&self) -> sync_core::lifecycle::LifecycleReport {
        self.h
            .lifecycle(self.config.clone())
            .run(ObjectKind::Customers, LifecycleOptions::new())
            .await
            .unwrap()
    }
}

fn skipped_reasons(report: &RunReport) -> Vec<String> {
    report
        .targets
        .get(&ObjectKind::Members)
        .map(|t| t.skipped.keys().cloned().collect())
        .unwrap_or_default()
}

/// The owner (index `owner`) meets a newcomer (index `newcomer`) in a later run: the newcomer
/// owns the member afterwards exactly when `wins`.
async fn newcomer_meets_owner(rule: OwnerRule, owner: usize, newcomer: usize, wins: bool) {
    newcomer_meets_owner_paged(rule, owner, newcomer, wins, 1).await;
}

async fn newcomer_meets_owner_paged(
    rule: OwnerRule,
    owner: usize,
    newcomer: usize,
    wins: bool,
    page_size: u32,
) {
    let case = Case::start(rule.clone(), owner, page_size).await;
    let (o, n) = (&case.codes[owner], &case.codes[newcomer]);
    case.share(newcomer);
    let handed = format!(
        "member owned by customer {n} under lifecycle.shared_email_owner ({}); customer {o} is \
         secondary",
        rule.name()
    );
    let kept = format!(
        "duplicate email: the member is written for customer {o}, its owner under \
         lifecycle.shared_email_owner ({})",
        rule.name()
    );

    // A dry run says it and changes nothing.
    let writes = case.h.writes();
    let plan = case.run(RunOptions::new().dry_run(true)).await;
    let reasons = skipped_reasons(&plan);
    if wins {
        assert!(reasons.contains(&handed), "{rule:?}: {reasons:?}");
    } else {
        assert!(
            reasons.iter().any(|r| r == "duplicate email"),
            "{reasons:?}"
        );
    }
    assert_eq!(case.h.writes(), writes, "a dry run writes nothing");
    assert_eq!(case.owner().await, std::slice::from_ref(o));
    assert_eq!(case.first_name(), NAMES[owner]);

    let report = case.run(RunOptions::new()).await;
    let reads = report.calls.get("qad read_by_key").copied().unwrap_or(0);
    if page_size == 1 {
        assert!(reads >= 1, "the owner is on another page: read by key");
    } else {
        assert_eq!(reads, 0, "the owner is on the page: no read");
    }
    if wins {
        assert_eq!(case.owner().await, std::slice::from_ref(n), "{rule:?}");
        assert_eq!(case.first_name(), NAMES[newcomer], "{rule:?}");
        // (When the old owner is read again in the same run, it is a duplicate from then on.)
        assert!(case.skipped(owner).await.contains(&handed), "{rule:?}");
    } else {
        assert_eq!(case.owner().await, std::slice::from_ref(o), "{rule:?}");
        assert_eq!(case.first_name(), NAMES[owner], "{rule:?}");
        assert_eq!(case.skipped(newcomer).await.last(), Some(&kept));
    }
    let winner = if wins { newcomer } else { owner };

    // Settled: a full run writes no member and moves nothing; neither does the next scan.
    let again = case.run(RunOptions::new().full(true)).await;
    let members = &again.targets[&ObjectKind::Members];
    assert_eq!((members.created, members.updated), (0, 0), "{again}");
    assert_eq!(case.owner().await, [case.codes[winner].clone()]);
    let scan = case.scan().await;
    assert!(scan.removals.is_empty(), "{rule:?}: {scan}");
    assert_eq!(case.owner().await, [case.codes[winner].clone()]);
    assert_eq!(case.first_name(), NAMES[winner]);
}

#[tokio::test]
async fn lowest_key_a_newcomer_with_a_lower_code_takes_over() {
    newcomer_meets_owner(OwnerRule::LowestKey, 2, 0, true).await;
    // The owner read again on the newcomer's page: ranked from the page, no read.
    newcomer_meets_owner_paged(OwnerRule::LowestKey, 2, 0, true, 25).await;
}

#[tokio::test]
async fn lowest_key_a_newcomer_with_a_higher_code_is_a_duplicate() {
    newcomer_meets_owner(OwnerRule::LowestKey, 0, 2, false).await;
}

#[tokio::test]
async fn flag_the_flagged_newcomer_takes_over() {
    newcomer_meets_owner(flag(), 0, 1, true).await;
}

#[tokio::test]
async fn flag_an_unflagged_newcomer_is_a_duplicate_even_with_a_lower_code() {
    newcomer_meets_owner(flag(), 1, 0, false).await;
}

#[tokio::test]
async fn oldest_an_older_newcomer_takes_over() {
    newcomer_meets_owner(dated(false), 0, 1, true).await;
}

#[tokio::test]
async fn newest_a_newer_newcomer_takes_over_and_an_older_one_does_not() {
    newcomer_meets_owner(dated(true), 0, 2, true).await;
    newcomer_meets_owner(dated(true), 2, 1, false).await;
}

#[tokio::test]
async fn type_priority_a_listed_type_takes_over_from_an_unlisted_one() {
    newcomer_meets_owner(types(), 1, 0, true).await;
}

/// The owner departs between scans (deleted, or inactive): the next run that meets another
/// customer of the address hands the member to it at once; the scan then has nothing to do.
async fn owner_departs(delete: bool) {
    let case = Case::start(OwnerRule::LowestKey, 0, 1).await;
    // B shares the address from the start: a duplicate under the rule.
    case.share(1);
    case.run(RunOptions::new()).await;
    assert_eq!(case.owner().await, [case.codes[0].clone()]);
    assert!(case.skipped(1).await[0]
        .contains("its owner under lifecycle.shared_email_owner (lowest_key)"));

    let (a, b) = (&case.codes[0], &case.codes[1]);
    let standing = if delete {
        assert!(case.h.qad.remove_customer(a));
        "gone from QAD"
    } else {
        case.h.qad.update_customer(a, |c| c.is_active = false);
        "inactive in QAD"
    };
    // B changes (a new name): the forward sync meets the address again.
    case.h.qad.update_customer(b, |c| {
        c.address_name = Some("Berta Heir".into());
    });
    let handed = format!(
        "member owned by customer {b} under lifecycle.shared_email_owner (lowest_key); customer \
         {a} is {standing}"
    );
    let plan = case.run(RunOptions::new().dry_run(true)).await;
    assert!(skipped_reasons(&plan).contains(&handed), "{plan}");
    assert_eq!(
        case.owner().await,
        std::slice::from_ref(a),
        "a dry run moves nothing"
    );

    case.run(RunOptions::new()).await;
    assert_eq!(case.owner().await, std::slice::from_ref(b));
    assert_eq!(case.first_name(), "Berta");
    assert!(case.skipped(0).await.contains(&handed));
    // The scan finds the member owned by an active customer: nothing archived, nothing moved.
    let scan = case.scan().await;
    assert!(
        scan.removals
            .iter()
            .all(|r| r.target != ObjectKind::Members),
        "{scan}"
    );
    assert_eq!(case.owner().await, std::slice::from_ref(b));
    assert_eq!(case.first_name(), "Berta");
}

#[tokio::test]
async fn a_deleted_owner_hands_the_member_over_before_the_next_scan() {
    owner_departs(true).await;
}

#[tokio::test]
async fn an_inactive_owner_hands_the_member_over_before_the_next_scan() {
    owner_departs(false).await;
}

#[tokio::test]
async fn without_lifecycle_settings_the_first_customer_mapped_keeps_the_address() {
    let mut case = Case::start(flag(), 0, 1).await;
    case.config.lifecycle = None;
    case.share(1);
    let report = case.run(RunOptions::new()).await;
    assert_eq!(case.owner().await, [case.codes[0].clone()]);
    assert_eq!(case.first_name(), "Anna");
    assert_eq!(
        case.skipped(1).await,
        [format!(
            "duplicate email: the member is written for customer {}",
            case.codes[0]
        )]
    );
    assert_eq!(
        report.calls.get("qad read_by_key"),
        None,
        "no rule, no read"
    );
}
