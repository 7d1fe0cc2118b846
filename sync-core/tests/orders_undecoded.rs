//! One order Mailchimp sends in a shape the client cannot decode does not fail the orders run: the
//! others are attributed, that one is rejected in the audit trail with its JSON and the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod orders_support;

use orders_support::{Order, World, STORE};
use serde_json::json;
use sync_core::audit::AuditQuery;
use sync_core::orders::SalesOrderMatch;
use sync_core::{ObjectKind, Outcome, RunStatus, RunTrigger, StateStore};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn an_odd_order_is_rejected_with_its_json_and_the_run_goes_on() {
    let world = World::start().await;
    for id in ["1001", "1002", "1003"] {
        world.place(&Order::new(id, "C0000001", "19.99")).await;
    }
    // Mailchimp stores what the shop sent: a timestamp that is not RFC 3339 reaches us as is.
    let status = reqwest::Client::new()
        .patch(format!(
            "{}/ecommerce/stores/{STORE}/orders/1002",
            world.mailchimp_fake.api_url()
        ))
        .basic_auth("anystring", Some(world.mailchimp_fake.api_key()))
        .json(&json!({"processed_at_foreign": "last tuesday"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    let report = world
        .orders(SalesOrderMatch::CustomerPo)
        .run(RunTrigger::Manual, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(report.read, 3);
    assert_eq!(report.counts.rejected, 1);
    assert_eq!(report.counts.created, 2);
    assert_eq!(world.attribution_posts(), 2);

    let rows = world
        .state
        .query_audit(
            &AuditQuery::new()
                .object(ObjectKind::Orders)
                .source_key("1002"),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0].row;
    assert_eq!(row.outcome, Outcome::Rejected);
    let error = row.error.as_deref().unwrap();
    assert!(error.contains("did not decode"), "{error}");
    assert!(
        error.contains("last tuesday") || error.contains("input"),
        "{error}"
    );
    let payload = row.payload.as_ref().unwrap();
    assert_eq!(payload["id"], "1002");
    assert_eq!(payload["processed_at_foreign"], "last tuesday");
    let stored = serde_json::to_string(&rows).unwrap();
    assert!(!stored.contains(world.mailchimp_fake.api_key()));

    let run = world
        .state
        .run(report.run_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.counts.rejected, 1);
}
