//! Failed attribution posts are replayed once QAD is back: each order posted exactly once, the
//! replay audited and linked to the original, a second replay sending nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod orders_support;

use axum::http::Method;
use orders_support::{Order, World};
use serde_json::json;
use sync_core::audit::{AuditQuery, ReplayFilter};
use sync_core::orders::{AttributionReplay, SalesOrderMatch};
use sync_core::replay::Replayer;
use sync_core::{ObjectKind, Outcome, RunTrigger, StateStore};
use testkit::faults::FaultConfig;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn failed_posts_are_replayed_once_the_fault_is_cleared() {
    let world = World::start().await;
    let orders = world.orders(SalesOrderMatch::None);
    let run = || async {
        orders
            .run(RunTrigger::Manual, &CancellationToken::new())
            .await
            .unwrap()
    };
    world.place(&Order::new("3001", "C0000001", "10.00")).await;
    world.place(&Order::new("3002", "C0000002", "20.00")).await;
    assert_eq!(run().await.counts.created, 2);

    // QAD fails every attribution post (HTTP 500, not retried) while two new orders arrive.
    let route = world.qad_fake.route(world.qad_fake.attribution_path());
    world
        .qad_fake
        .faults()
        .set_route(Method::POST, &route, FaultConfig::none().server_error(1.0))
        .unwrap();
    world.place(&Order::new("3003", "C0000003", "30.00")).await;
    world.place(&Order::new("3004", "C0000004", "40.00")).await;
    let failed = run().await;
    assert_eq!((failed.counts.failed, failed.counts.unchanged), (2, 2));
    assert_eq!(world.qad_fake.attributions().len(), 2);
    let pending = world
        .state
        .pending_replays(&ReplayFilter::Run(failed.run_id.unwrap()), 10)
        .await
        .unwrap();
    let keys: Vec<_> = pending.iter().map(|r| r.row.source_key.as_str()).collect();
    assert_eq!(keys, ["3003", "3004"]);
    assert!(pending[0].row.error.as_deref().unwrap().contains("500"));

    // Meanwhile the shop changed order 3004: the replay re-maps it instead of sending the
    // recorded record.
    let mut changed = Order::new("3004", "C0000004", "44.00");
    changed.updated = "2025-03-06T09:00:00+00:00";
    world.place(&changed).await;

    world.qad_fake.faults().clear_routes();
    let posts_before = world.attribution_posts();
    let replayer =
        Replayer::new(world.state.clone()).handler(AttributionReplay::new(orders.clone()));
    let replay = replayer
        .replay(&ReplayFilter::Object(ObjectKind::Orders))
        .await
        .unwrap();
    assert_eq!(
        (replay.attempted, replay.resolved, replay.failed_again),
        (2, 2, 0)
    );
    assert_eq!(replay.remapped, 1);
    assert!(replay.unsupported.is_empty());
    assert_eq!(
        world.attribution_posts(),
        posts_before + 2,
        "one create each"
    );
    assert_eq!(world.qad_fake.attributions().len(), 4);
    assert_eq!(world.attribution("3003")["orderTotal"], json!("30"));
    assert_eq!(world.attribution("3004")["orderTotal"], json!("44"));

    // The replay is audited as its own rows, linked to the originals, which are resolved.
    for original in &pending {
        let rows = world
            .state
            .query_audit(&AuditQuery::new().source_key(original.row.source_key.clone()))
            .await
            .unwrap();
        let attempt = rows.last().unwrap();
        assert_eq!(attempt.row.replay_of, Some(original.id));
        assert_eq!(attempt.row.run_id, replay.run_id.unwrap());
        assert_eq!(attempt.row.outcome, Outcome::Created);
        let original = world.state.audit_row(original.id).await.unwrap().unwrap();
        assert_eq!(original.resolution.unwrap().by, attempt.id);
    }
    let replay_run = world
        .state
        .run(replay.run_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(replay_run.start.trigger, RunTrigger::Replay);

    // Replaying again sends nothing; so does the next orders run.
    let again = replayer.replay(&ReplayFilter::All).await.unwrap();
    assert_eq!(again.attempted, 0);
    let next = run().await;
    assert_eq!((next.counts.unchanged, next.posted), (4, 0));
    assert_eq!(world.attribution_posts(), posts_before + 2);
}

#[tokio::test]
async fn a_later_run_that_posts_a_failed_order_resolves_its_row() {
    let world = World::start().await;
    let orders = world.orders(SalesOrderMatch::None);
    let route = world.qad_fake.route(world.qad_fake.attribution_path());
    world
        .qad_fake
        .faults()
        .set_route(Method::POST, &route, FaultConfig::none().server_error(1.0))
        .unwrap();
    world.place(&Order::new("4001", "C0000001", "1.00")).await;
    let cancel = CancellationToken::new();
    let failed = orders.run(RunTrigger::Manual, &cancel).await.unwrap();
    assert_eq!(failed.counts.failed, 1);

    world.qad_fake.faults().clear_routes();
    let retried = orders.run(RunTrigger::Scheduled, &cancel).await.unwrap();
    assert_eq!(retried.counts.created, 1);
    let queue = world
        .state
        .pending_replays(&ReplayFilter::All, 10)
        .await
        .unwrap();
    assert!(queue.is_empty(), "the run's success superseded the failure");

    let replay = Replayer::new(world.state.clone())
        .handler(AttributionReplay::new(orders))
        .replay(&ReplayFilter::All)
        .await
        .unwrap();
    assert_eq!(replay.attempted, 0);
    assert_eq!(world.attribution_posts(), 2, "one failed, one created");
}

#[tokio::test]
async fn rows_without_a_handler_are_reported_and_left_in_the_queue() {
    let world = World::start().await;
    let run = sync_core::RunId::new();
    world
        .state
        .apply(
            sync_core::StateBatch::new().audit(
                sync_core::audit::NewAuditRow::new(
                    run,
                    ObjectKind::Customers,
                    "C1",
                    Outcome::Failed,
                )
                .operation(sync_core::audit::TargetOperation::new(
                    sync_core::TargetSystem::Mailchimp,
                    sync_core::audit::Method::Put,
                    "/lists/l/members/h",
                )),
            ),
        )
        .await
        .unwrap();
    let replay = Replayer::new(world.state.clone())
        .handler(AttributionReplay::new(world.orders(SalesOrderMatch::None)))
        .replay(&ReplayFilter::Run(run))
        .await
        .unwrap();
    assert_eq!(replay.attempted, 0);
    assert_eq!(replay.unsupported.len(), 1);
    assert_eq!(
        world
            .state
            .pending_replays(&ReplayFilter::Run(run), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}
