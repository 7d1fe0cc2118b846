//! The orders flow re-reads every order of the store on every run; an order whose fingerprint
//! matched is counted into the run, not audited, so idle runs do not grow the history.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod orders_support;

use orders_support::{Order, World};
use sync_core::audit::AuditQuery;
use sync_core::orders::SalesOrderMatch;
use sync_core::{RunTrigger, StateStore};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_no_op_orders_run_counts_its_unchanged_orders_without_audit_rows() {
    let world = World::start().await;
    for (id, customer) in [
        ("2001", "C0000001"),
        ("2002", "C0000002"),
        ("2003", "C0000003"),
    ] {
        let mut order = Order::new(id, customer, "10.00");
        order.lines = vec![("ITEM-00001", 1, "10.00")];
        world.place(&order).await;
    }
    let orders = world.orders(SalesOrderMatch::None);
    let first = orders
        .run(RunTrigger::Manual, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(first.counts.created, 3, "{first:?}");
    let rows = || async {
        world
            .state
            .query_audit(&AuditQuery::new())
            .await
            .unwrap()
            .len()
    };
    let before = rows().await;

    let idle = orders
        .run(RunTrigger::Scheduled, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((idle.read, idle.counts.unchanged), (3, 3), "{idle:?}");
    assert_eq!(rows().await, before, "no audit row for an unchanged order");
    let run = world
        .state
        .run(idle.run_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((run.counts.unchanged, run.counts.total()), (3, 3));
}
