//! `demo --json` at a small size: one JSON object on stdout with the counts the seed implies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{run, text};
use sync_core::mapping::check_email;
use testkit::qad::Seeding;

const CUSTOMERS: usize = 120;
const ITEMS: usize = 12;
const ORDERS: usize = 9;

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// The counts of a `[{"reason", "count"}]` list.
fn sum(reasons: &Value) -> u64 {
    reasons
        .as_array()
        .map_or(0, |r| r.iter().map(|x| n(&x["count"])).sum())
}

#[tokio::test]
async fn demo_json_gives_the_expected_counts() {
    let out = run(
        &[
            "demo",
            "--json",
            "--customers",
            "120",
            "--items",
            "12",
            "--orders",
            "9",
            "--seed",
            "42",
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Exactly one JSON object on stdout.
    let stdout = text(&out.stdout);
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["problems"], serde_json::json!([]));

    // What the seed holds, computed independently of the binary.
    let data = Seeding::new(42)
        .customers(CUSTOMERS)
        .items(ITEMS)
        .sales_orders(ORDERS / 2)
        .generate()
        .unwrap();
    let invalid = data
        .customers
        .iter()
        .filter(|c| c.email.as_deref().is_none_or(|e| check_email(e).is_err()))
        .count() as u64;
    let cleaned = n(&report["cleaned_in_mailchimp"]);
    assert!(cleaned > 0);
    // Two disposable addresses Mailchimp refuses as fake-looking, two throttled signups.
    let fake_looking = n(&report["fake_looking_in_qad"]);
    let throttled = n(&report["throttled_in_mailchimp"]);
    assert_eq!((fake_looking, throttled), (2, 2), "{report}");

    let phases = report["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 6);
    let first = &phases[0]["runs"];
    assert_eq!(n(&first[0]["read"]), CUSTOMERS as u64);
    assert_eq!(n(&first[1]["read"]), ITEMS as u64);
    let members = &first[0]["targets"]["members"];
    assert_eq!(n(&members["rejected"]), invalid + fake_looking, "{members}");
    let reason = |list: &Value, reason: &str| {
        list.as_array()
            .and_then(|l| l.iter().find(|r| r["reason"] == reason))
            .map_or(0, |r| n(&r["count"]))
    };
    assert_eq!(
        reason(
            &members["rejected_reasons"],
            "address refused by Mailchimp as fake-looking"
        ),
        fake_looking,
        "{members}"
    );
    assert_eq!(n(&members["deferred"]), throttled, "{members}");
    assert!(n(&members["skipped"]) >= cleaned, "{members}");
    // The reasons account for every skipped and rejected record.
    assert_eq!(sum(&members["skipped_reasons"]), n(&members["skipped"]));
    assert_eq!(sum(&members["rejected_reasons"]), n(&members["rejected"]));
    let member_rows = n(&members["created"])
        + n(&members["updated"])
        + n(&members["unchanged"])
        + n(&members["skipped"])
        + n(&members["rejected"])
        + n(&members["deferred"])
        + n(&members["failed"]);
    assert_eq!(
        member_rows, CUSTOMERS as u64,
        "one member row per customer: {members}"
    );
    assert_eq!(n(&members["failed"]), 0);
    let products = &first[1]["targets"]["products"];
    assert_eq!(
        n(&products["created"]) + n(&products["skipped"]) + n(&products["rejected"]),
        ITEMS as u64,
        "{products}"
    );

    // QAD's sales history: every seeded order in the look-back is counted first and handled
    // once; the store is not left syncing.
    let history = &phases[1]["sales_orders"];
    let seeded = data.sales_orders.len() as u64;
    assert_eq!(history["backfill"], true, "{history}");
    assert_eq!(n(&history["total"]), seeded, "{history}");
    let c = &history["counts"];
    let written = n(&c["created"]);
    assert!(written > 0, "{history}");
    assert_eq!(
        written + n(&c["deferred"]) + n(&c["rejected"]) + n(&history["not_sent"]),
        seeded,
        "{history}"
    );
    assert_eq!(n(&c["failed"]), 0);

    // The shop's orders all reach QAD once; the connector's own are read and never posted.
    assert_eq!(n(&phases[2]["shop"]["placed"]), ORDERS as u64);
    let orders = &phases[3]["orders"];
    assert_eq!(n(&orders["read"]), ORDERS as u64 + written);
    assert_eq!(n(&orders["own_orders"]), written, "{orders}");
    assert_eq!(n(&orders["posted"]), ORDERS as u64, "{orders}");
    assert_eq!(n(&phases[3]["qad_attribution_posts"]), ORDERS as u64);
    // Orders whose id is a sales order's customer PO are matched to it (rule customer_po).
    let records = &phases[3]["qad_attributions"];
    assert_eq!(n(&records["stored"]), ORDERS as u64);
    assert!(
        n(&phases[2]["shop"]["matching_sales_orders"]) > 0,
        "seed 42 has POs to match"
    );
    assert_eq!(
        n(&records["with_sales_order"]),
        n(&phases[2]["shop"]["matching_sales_orders"]),
        "{records}"
    );

    // The second run writes nothing anywhere.
    assert_eq!(n(&phases[4]["mailchimp_writes"]), 0);
    assert_eq!(n(&phases[4]["qad_attribution_posts"]), 0);
    assert_eq!(
        n(&phases[4]["orders"]["counts"]["unchanged"]),
        ORDERS as u64 + written
    );
    let again = &phases[4]["sales_orders"]["counts"];
    assert_eq!(n(&again["created"]) + n(&again["updated"]), 0, "{again}");

    // The QAD changes flow through, and only they.
    let changes = &phases[5]["qad_changes"];
    let changed = n(&changes["customers"]) + n(&changes["items"]);
    assert_eq!(changed, 5, "{changes}");
    let history = &phases[5]["sales_orders"]["counts"];
    assert_eq!(
        n(&history["updated"]),
        n(&changes["sales_orders"]),
        "{history}"
    );
    let runs = &phases[5]["runs"];
    assert_eq!(
        n(&runs[0]["targets"]["members"]["updated"]),
        n(&changes["customers"])
    );
    assert_eq!(
        n(&runs[1]["targets"]["products"]["updated"]),
        n(&changes["items"])
    );
    assert_eq!(n(&runs[0]["targets"]["members"]["created"]), 0);
}
