//! Every method of the store: the id map, hashes, cursors, member statuses, atomic batches,
//! audit queries, the replay queue, runs, delivery dedup and concurrent writers.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use sync_core::audit::{
    AuditId, AuditQuery, Method, NewAuditRow, ReplayFilter, RunStart, TargetOperation, REDACTED,
};
use sync_core::{
    ContentHash, Cursor, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind, Outcome, RunId,
    RunStatus, RunTrigger, StateBatch, StateError, SyncError, TargetSystem,
};

use crate::harness::Db;

conformance!(
    id_map_maps_both_ways_and_follows_changes,
    hashes_are_read_a_page_at_a_time,
    source_keys_are_read_a_page_at_a_time,
    the_id_map_is_walked_a_page_at_a_time_in_key_order,
    member_statuses_are_walked_a_page_at_a_time_in_email_order,
    the_latest_completed_run_of_a_trigger_and_object_is_found,
    cursors_are_committed_per_object,
    member_statuses_are_remembered_by_normalised_email,
    audit_rows_round_trip_and_are_queried_by_run_outcome_key_and_object,
    audit_rows_are_read_newest_first_a_page_at_a_time,
    replays_resolve_their_original_once_and_leave_the_queue,
    a_payload_set_directly_is_still_redacted_on_the_way_in,
    a_failing_batch_leaves_nothing_behind,
    runs_start_finish_and_count_their_rows,
    delivery_keys_are_deduplicated_and_pruned,
    a_batch_once_per_delivery_applies_only_for_a_new_key,
    many_tasks_write_concurrently_without_losing_a_row,
);

fn hash(text: &str) -> ContentHash {
    ContentHash::of_bytes(text.as_bytes())
}

fn member_put(hash: &str) -> TargetOperation {
    TargetOperation::new(
        TargetSystem::Mailchimp,
        Method::Put,
        format!("/lists/l1/members/{hash}"),
    )
}

/// An audit id no row of the test has. Not a small number: PostgreSQL's audit ids are shared by
/// all pairs, so a test's own rows may have any id.
fn missing_row() -> AuditId {
    AuditId::new(i64::MAX - 1)
}

async fn id_map_maps_both_ways_and_follows_changes(db: Db) {
    let store = db.store();
    store
        .apply(
            StateBatch::new()
                .map_id(IdMapping::new(
                    ObjectKind::Members,
                    "C-1",
                    "ann@northwind-mfg.com",
                ))
                .map_id(IdMapping::new(
                    ObjectKind::Members,
                    "C-2",
                    "ann@northwind-mfg.com",
                ))
                .map_id(IdMapping::new(ObjectKind::EcommerceCustomers, "C-1", "C-1")),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .target_id(ObjectKind::Members, "C-1")
            .await
            .unwrap()
            .as_deref(),
        Some("ann@northwind-mfg.com")
    );
    assert_eq!(
        store
            .source_keys(ObjectKind::Members, "ann@northwind-mfg.com")
            .await
            .unwrap(),
        ["C-1", "C-2"]
    );
    // Kinds are separate namespaces.
    assert_eq!(
        store
            .source_keys(ObjectKind::EcommerceCustomers, "ann@northwind-mfg.com")
            .await
            .unwrap(),
        Vec::<String>::new()
    );

    // An email change re-points the mapping; an unmap removes it.
    store
        .apply(
            StateBatch::new()
                .map_id(IdMapping::new(
                    ObjectKind::Members,
                    "C-1",
                    "ann.new@northwind-mfg.com",
                ))
                .unmap_id(ObjectKind::Members, "C-2"),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .target_id(ObjectKind::Members, "C-1")
            .await
            .unwrap()
            .as_deref(),
        Some("ann.new@northwind-mfg.com")
    );
    assert_eq!(
        store.target_id(ObjectKind::Members, "C-2").await.unwrap(),
        None
    );
    assert!(store
        .source_keys(ObjectKind::Members, "ann@northwind-mfg.com")
        .await
        .unwrap()
        .is_empty());
}

async fn source_keys_are_read_a_page_at_a_time(db: Db) {
    let store = db.store();
    // More addresses than one IN-list chunk, to cross the chunk boundary; every tenth address
    // is shared by a second customer, one that sorts before the first in byte order.
    let emails: Vec<String> = (0..1234).map(|i| format!("m{i:05}@example.com")).collect();
    let batch = emails
        .iter()
        .enumerate()
        .fold(StateBatch::new(), |b, (i, email)| {
            let b = b.map_id(IdMapping::new(
                ObjectKind::Members,
                format!("c-{i:05}"),
                email.clone(),
            ));
            if i % 10 == 0 {
                b.map_id(IdMapping::new(
                    ObjectKind::Members,
                    format!("C-{i:05}"),
                    email.clone(),
                ))
            } else {
                b
            }
        })
        .map_id(IdMapping::new(
            ObjectKind::EcommerceCustomers,
            "c-99999",
            "m00001@example.com",
        ));
    store.apply(batch).await.unwrap();

    // Asked for every address, one unknown address, and one address twice.
    let mut asked = emails.clone();
    asked.push("nobody@example.com".into());
    asked.push("m00010@example.com".into());
    let found = store
        .source_keys_of(ObjectKind::Members, &asked)
        .await
        .unwrap();
    assert_eq!(found.len(), emails.len(), "the unknown address is left out");
    assert_eq!(found["m00010@example.com"], ["C-00010", "c-00010"]);
    assert_eq!(found["m00001@example.com"], ["c-00001"]);
    assert_eq!(found["m01230@example.com"], ["C-01230", "c-01230"]);
    // The same answer, address by address, as the one-address read.
    for email in [
        "m00000@example.com",
        "m00499@example.com",
        "m00500@example.com",
    ] {
        assert_eq!(
            found[email],
            store.source_keys(ObjectKind::Members, email).await.unwrap()
        );
    }
    // Kinds are separate namespaces.
    let other = store
        .source_keys_of(ObjectKind::EcommerceCustomers, &asked)
        .await
        .unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other["m00001@example.com"], ["c-99999"]);
    assert!(store
        .source_keys_of(ObjectKind::Members, &[])
        .await
        .unwrap()
        .is_empty());
}

async fn hashes_are_read_a_page_at_a_time(db: Db) {
    let store = db.store();
    // More ids than one IN-list chunk, to cross the chunk boundary.
    let ids: Vec<String> = (0..1234).map(|i| format!("P-{i:05}")).collect();
    let batch = ids
        .iter()
        .filter(|id| !id.ends_with('7'))
        .fold(StateBatch::new(), |b, id| {
            b.put_hash(ObjectKind::Products, id.clone(), hash(id))
        });
    store.apply(batch).await.unwrap();

    let found = store.hashes(ObjectKind::Products, &ids).await.unwrap();
    let expected = ids.iter().filter(|id| !id.ends_with('7')).count();
    assert_eq!(found.len(), expected);
    assert_eq!(found.get("P-00001"), Some(&hash("P-00001")));
    assert_eq!(found.get("P-00007"), None);
    assert!(store
        .hashes(ObjectKind::Members, &ids)
        .await
        .unwrap()
        .is_empty());

    // Update one, forget another.
    store
        .apply(
            StateBatch::new()
                .put_hash(ObjectKind::Products, "P-00001", hash("changed"))
                .forget_hash(ObjectKind::Products, "P-00002"),
        )
        .await
        .unwrap();
    let found = store
        .hashes(ObjectKind::Products, &["P-00001".into(), "P-00002".into()])
        .await
        .unwrap();
    assert_eq!(found.get("P-00001"), Some(&hash("changed")));
    assert_eq!(found.get("P-00002"), None);
}

async fn cursors_are_committed_per_object(db: Db) {
    let store = db.store();
    assert_eq!(store.cursor(ObjectKind::Customers).await.unwrap(), None);
    let run = RunId::new();
    let stamp = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let cursor = Cursor {
        object: ObjectKind::Customers,
        last_modified: Some(stamp),
        last_key: Some("C-0042".into()),
        run_id: Some(run),
        committed_at: stamp + Duration::hours(1),
    };
    store
        .apply(StateBatch::new().commit_cursor(cursor.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.cursor(ObjectKind::Customers).await.unwrap(),
        Some(cursor.clone())
    );
    assert_eq!(store.cursor(ObjectKind::Items).await.unwrap(), None);

    let later = Cursor {
        last_key: Some("C-0099".into()),
        ..cursor
    };
    store
        .apply(StateBatch::new().commit_cursor(later.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.cursor(ObjectKind::Customers).await.unwrap(),
        Some(later)
    );
}

async fn member_statuses_are_remembered_by_normalised_email(db: Db) {
    let store = db.store();
    store
        .apply(
            StateBatch::new()
                .remember_member_status(MemberStatusRecord::new(
                    " Bob@Northwind-mfg.com",
                    MemberStatus::Cleaned,
                    Some("hard bounce".into()),
                ))
                .remember_member_status(MemberStatusRecord::new(
                    "eve@northwind-mfg.com",
                    MemberStatus::Unsubscribed,
                    None,
                )),
        )
        .await
        .unwrap();
    let found = store
        .member_statuses(&[
            "BOB@northwind-mfg.com".into(),
            "nobody@northwind-mfg.com".into(),
        ])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let bob = &found["bob@northwind-mfg.com"];
    assert_eq!(bob.status, MemberStatus::Cleaned);
    assert!(bob.status.blocks_push());
    assert_eq!(bob.reason.as_deref(), Some("hard bounce"));

    // A later subscribe replaces the status.
    store
        .apply(
            StateBatch::new().remember_member_status(MemberStatusRecord::new(
                "eve@northwind-mfg.com",
                MemberStatus::Subscribed,
                None,
            )),
        )
        .await
        .unwrap();
    let found = store
        .member_statuses(&["eve@northwind-mfg.com".into()])
        .await
        .unwrap();
    assert_eq!(
        found["eve@northwind-mfg.com"].status,
        MemberStatus::Subscribed
    );
}

async fn audit_rows_round_trip_and_are_queried_by_run_outcome_key_and_object(db: Db) {
    let store = db.store();
    let run_a = RunId::new();
    let run_b = RunId::new();
    let started = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let full = NewAuditRow::new(run_a, ObjectKind::Customers, "C-1", Outcome::Failed)
        .operation(member_put("h1"))
        .payload(json!({"email_address": "a@northwind-mfg.com", "password": "hunter2"}))
        .error("mailchimp returned 503")
        .attempts(4)
        .times(started, started + Duration::milliseconds(1500));
    let receipt = store
        .apply(
            StateBatch::new()
                .audit(full.clone())
                .audit(NewAuditRow::new(
                    run_a,
                    ObjectKind::Customers,
                    "C-2",
                    Outcome::Created,
                ))
                .audit(NewAuditRow::new(
                    run_a,
                    ObjectKind::Items,
                    "I-1",
                    Outcome::Unchanged,
                ))
                .audit(NewAuditRow::new(
                    run_b,
                    ObjectKind::Customers,
                    "C-1",
                    Outcome::Updated,
                )),
        )
        .await
        .unwrap();
    assert_eq!(receipt.audit_ids.len(), 4);
    assert!(receipt.audit_ids.windows(2).all(|w| w[0] < w[1]));

    let row = store
        .audit_row(receipt.audit_ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.id, receipt.audit_ids[0]);
    assert_eq!(row.row, full);
    assert_eq!(
        row.row.payload.as_ref().unwrap()["password"],
        json!(REDACTED)
    );
    assert_eq!(row.resolution, None);

    let keys = |rows: Vec<sync_core::audit::AuditRow>| {
        rows.into_iter()
            .map(|r| (r.row.source_key, r.row.outcome))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(
            store
                .query_audit(&AuditQuery::new().run(run_a))
                .await
                .unwrap()
        ),
        [
            ("C-1".to_owned(), Outcome::Failed),
            ("C-2".to_owned(), Outcome::Created),
            ("I-1".to_owned(), Outcome::Unchanged)
        ]
    );
    assert_eq!(
        keys(
            store
                .query_audit(&AuditQuery::new().source_key("C-1"))
                .await
                .unwrap()
        ),
        [
            ("C-1".to_owned(), Outcome::Failed),
            ("C-1".to_owned(), Outcome::Updated)
        ]
    );
    assert_eq!(
        keys(
            store
                .query_audit(&AuditQuery::new().outcome(Outcome::Created))
                .await
                .unwrap()
        ),
        [("C-2".to_owned(), Outcome::Created)]
    );
    assert_eq!(
        keys(
            store
                .query_audit(&AuditQuery::new().object(ObjectKind::Customers).run(run_b))
                .await
                .unwrap()
        ),
        [("C-1".to_owned(), Outcome::Updated)]
    );
    // Keyset pagination.
    let first = store
        .query_audit(&AuditQuery::new().limit(2))
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    let rest = store
        .query_audit(&AuditQuery::new().after(first[1].id))
        .await
        .unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0].id, receipt.audit_ids[2]);
    assert_eq!(store.audit_row(missing_row()).await.unwrap(), None);
}

async fn audit_rows_are_read_newest_first_a_page_at_a_time(db: Db) {
    let store = db.store();
    let run = RunId::new();
    let mut batch = StateBatch::new();
    for i in 0..5 {
        let outcome = if i % 2 == 0 {
            Outcome::Created
        } else {
            Outcome::Failed
        };
        batch = batch.audit(NewAuditRow::new(
            run,
            ObjectKind::Customers,
            format!("C-{i}"),
            outcome,
        ));
    }
    // Another run's row, newer than all of them, stays out of a query by run.
    batch = batch.audit(NewAuditRow::new(
        RunId::new(),
        ObjectKind::Customers,
        "C-9",
        Outcome::Created,
    ));
    let receipt = store.apply(batch).await.unwrap();
    let keys = |rows: &[sync_core::audit::AuditRow]| {
        rows.iter()
            .map(|r| r.row.source_key.clone())
            .collect::<Vec<_>>()
    };

    let latest = store
        .query_audit(&AuditQuery::new().run(run).newest_first().limit(2))
        .await
        .unwrap();
    assert_eq!(keys(&latest), ["C-4", "C-3"]);
    let older = store
        .query_audit(
            &AuditQuery::new()
                .run(run)
                .newest_first()
                .before(latest[1].id)
                .limit(10),
        )
        .await
        .unwrap();
    assert_eq!(keys(&older), ["C-2", "C-1", "C-0"]);
    // Filters combine with the order.
    let failed = store
        .query_audit(
            &AuditQuery::new()
                .run(run)
                .outcome(Outcome::Failed)
                .newest_first(),
        )
        .await
        .unwrap();
    assert_eq!(keys(&failed), ["C-3", "C-1"]);
    // Without a run, the newest row of the whole trail comes first.
    let newest = store
        .query_audit(&AuditQuery::new().newest_first().limit(1))
        .await
        .unwrap();
    assert_eq!(newest[0].id, receipt.audit_ids[5]);
}

async fn replays_resolve_their_original_once_and_leave_the_queue(db: Db) {
    let store = db.store();
    let run = RunId::new();
    let ids = store
        .apply(
            StateBatch::new()
                .audit(
                    NewAuditRow::new(run, ObjectKind::Customers, "C-1", Outcome::Failed)
                        .operation(member_put("h1")),
                )
                .audit(NewAuditRow::new(
                    run,
                    ObjectKind::Items,
                    "I-1",
                    Outcome::Failed,
                ))
                .audit(NewAuditRow::new(
                    run,
                    ObjectKind::Items,
                    "I-2",
                    Outcome::Rejected,
                )),
        )
        .await
        .unwrap()
        .audit_ids;
    let pending = |filter: ReplayFilter| {
        let store = store.clone();
        async move {
            store
                .pending_replays(&filter, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(pending(ReplayFilter::All).await, [ids[0], ids[1]]);
    assert_eq!(
        pending(ReplayFilter::Object(ObjectKind::Items)).await,
        [ids[1]]
    );
    assert_eq!(pending(ReplayFilter::Run(run)).await, [ids[0], ids[1]]);
    assert_eq!(pending(ReplayFilter::Run(RunId::new())).await, []);
    assert_eq!(
        pending(ReplayFilter::Row(ids[2])).await,
        [],
        "rejected rows are not replayable"
    );

    // A failed replay keeps the original pending and is not queued itself.
    let replay_run = RunId::new();
    let failed_replay = store
        .apply(
            StateBatch::new().audit(
                NewAuditRow::new(replay_run, ObjectKind::Customers, "C-1", Outcome::Failed)
                    .replay_of(ids[0]),
            ),
        )
        .await
        .unwrap();
    assert!(failed_replay.resolved.is_empty());
    assert_eq!(pending(ReplayFilter::All).await, [ids[0], ids[1]]);

    // A replay of the failed replay is linked to the original and resolves it.
    let ok = store
        .apply(
            StateBatch::new().audit(
                NewAuditRow::new(replay_run, ObjectKind::Customers, "C-1", Outcome::Updated)
                    .replay_of(failed_replay.audit_ids[0]),
            ),
        )
        .await
        .unwrap();
    assert_eq!(ok.resolved, [ids[0]]);
    let replay_row = store.audit_row(ok.audit_ids[0]).await.unwrap().unwrap();
    assert_eq!(replay_row.row.replay_of, Some(ids[0]));
    let original = store.audit_row(ids[0]).await.unwrap().unwrap();
    assert_eq!(original.resolution.map(|r| r.by), Some(ok.audit_ids[0]));
    assert_eq!(pending(ReplayFilter::All).await, [ids[1]]);

    // Replaying again does no harm: the first resolution stays.
    let again = store
        .apply(
            StateBatch::new().audit(
                NewAuditRow::new(replay_run, ObjectKind::Customers, "C-1", Outcome::Unchanged)
                    .replay_of(ids[0]),
            ),
        )
        .await
        .unwrap();
    assert!(again.resolved.is_empty());
    let original = store.audit_row(ids[0]).await.unwrap().unwrap();
    assert_eq!(original.resolution.map(|r| r.by), Some(ok.audit_ids[0]));

    // Manual resolution.
    assert!(store
        .mark_resolved(ids[1], again.audit_ids[0])
        .await
        .unwrap());
    assert!(!store
        .mark_resolved(ids[1], again.audit_ids[0])
        .await
        .unwrap());
    assert_eq!(pending(ReplayFilter::All).await, []);
    let missing = store
        .mark_resolved(missing_row(), ids[0])
        .await
        .unwrap_err();
    assert!(matches!(
        missing,
        SyncError::State(StateError::NotFound {
            what: "audit row",
            ..
        })
    ));
}

async fn a_payload_set_directly_is_still_redacted_on_the_way_in(db: Db) {
    let store = db.store();
    let mut row = NewAuditRow::new(RunId::new(), ObjectKind::Customers, "C-9", Outcome::Failed);
    row.payload = Some(json!({"login": {"Authorization": "Basic c2VjcmV0"}, "sku": "X"}));
    let id = store
        .apply(StateBatch::new().audit(row))
        .await
        .unwrap()
        .audit_ids[0];
    let stored = store.audit_row(id).await.unwrap().unwrap();
    assert_eq!(
        stored.row.payload,
        Some(json!({"login": {"Authorization": REDACTED}, "sku": "X"}))
    );
}

async fn a_failing_batch_leaves_nothing_behind(db: Db) {
    let store = db.store();
    let run = RunId::new();
    let batch = StateBatch::new()
        .map_id(IdMapping::new(
            ObjectKind::Members,
            "C-1",
            "a@northwind-mfg.com",
        ))
        .put_hash(ObjectKind::Members, "a@northwind-mfg.com", hash("a"))
        .remember_member_status(MemberStatusRecord::new(
            "a@northwind-mfg.com",
            MemberStatus::Cleaned,
            None,
        ))
        .audit(NewAuditRow::new(
            run,
            ObjectKind::Customers,
            "C-1",
            Outcome::Created,
        ))
        // Replays a row that does not exist: the whole batch must fail.
        .audit(
            NewAuditRow::new(run, ObjectKind::Customers, "C-2", Outcome::Updated)
                .replay_of(missing_row()),
        )
        .commit_cursor(Cursor::new(
            ObjectKind::Customers,
            None,
            Some("C-2".into()),
            Some(run),
        ));
    let err = store.apply(batch).await.unwrap_err();
    assert!(matches!(err, SyncError::State(StateError::NotFound { .. })));

    assert_eq!(
        store.target_id(ObjectKind::Members, "C-1").await.unwrap(),
        None
    );
    assert!(store
        .hashes(ObjectKind::Members, &["a@northwind-mfg.com".into()])
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .member_statuses(&["a@northwind-mfg.com".into()])
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .query_audit(&AuditQuery::new())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.cursor(ObjectKind::Customers).await.unwrap(), None);
}

async fn runs_start_finish_and_count_their_rows(db: Db) {
    let store = db.store();
    let start = RunStart::new(
        vec![ObjectKind::Customers, ObjectKind::Items],
        RunTrigger::Scheduled,
    );
    store.start_run(&start).await.unwrap();
    let running = store.run(start.id).await.unwrap().unwrap();
    assert_eq!(running.status, RunStatus::Running);
    assert_eq!(
        running.start.objects,
        [ObjectKind::Customers, ObjectKind::Items]
    );
    assert_eq!(running.finished_at, None);

    let batch = [
        Outcome::Created,
        Outcome::Created,
        Outcome::Skipped,
        Outcome::Failed,
    ]
    .into_iter()
    .enumerate()
    .fold(StateBatch::new(), |b, (i, outcome)| {
        b.audit(NewAuditRow::new(
            start.id,
            ObjectKind::Customers,
            format!("C-{i}"),
            outcome,
        ))
    });
    store.apply(batch).await.unwrap();

    let done = store
        .finish_run(start.id, RunStatus::Completed, None)
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    assert!(done.finished_at.is_some());
    assert_eq!(done.counts.created, 2);
    assert_eq!(done.counts.skipped, 1);
    assert_eq!(done.counts.failed, 1);
    assert_eq!(done.counts.total(), 4);

    let mut second = RunStart::new(vec![ObjectKind::Orders], RunTrigger::Replay);
    second.started_at = start.started_at + Duration::seconds(5);
    store.start_run(&second).await.unwrap();
    let aborted = store
        .finish_run(
            second.id,
            RunStatus::Aborted,
            Some("qad login failed".into()),
        )
        .await
        .unwrap();
    assert_eq!(aborted.error.as_deref(), Some("qad login failed"));
    assert_eq!(aborted.start.trigger, RunTrigger::Replay);

    let recent: Vec<RunId> = store
        .recent_runs(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.start.id)
        .collect();
    assert_eq!(recent, [second.id, start.id]);
    assert_eq!(store.recent_runs(1).await.unwrap().len(), 1);
    assert_eq!(store.run(RunId::new()).await.unwrap(), None);
    assert!(matches!(
        store
            .finish_run(RunId::new(), RunStatus::Completed, None)
            .await,
        Err(SyncError::State(StateError::NotFound { what: "run", .. }))
    ));
    assert!(
        store.start_run(&start).await.is_err(),
        "a run id is started once"
    );
}

async fn delivery_keys_are_deduplicated_and_pruned(db: Db) {
    let store = db.store();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    assert!(store.record_delivery("d-1", t0).await.unwrap());
    assert!(!store
        .record_delivery("d-1", t0 + Duration::hours(1))
        .await
        .unwrap());
    assert!(store
        .record_delivery("d-2", t0 + Duration::days(2))
        .await
        .unwrap());
    assert_eq!(
        store
            .prune_deliveries(t0 + Duration::days(1))
            .await
            .unwrap(),
        1
    );
    assert!(store
        .record_delivery("d-1", t0 + Duration::days(3))
        .await
        .unwrap());
    assert!(!store
        .record_delivery("d-2", t0 + Duration::days(3))
        .await
        .unwrap());
}

async fn a_batch_once_per_delivery_applies_only_for_a_new_key(db: Db) {
    let store = db.store();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let batch = |v: &str| {
        StateBatch::new()
            .put_hash(ObjectKind::Members, "m", hash(v))
            .once_per_delivery("d-1", t0)
    };
    let first = store.apply(batch("v1")).await.unwrap();
    assert!(!first.duplicate_delivery);
    let again = store.apply(batch("v2")).await.unwrap();
    assert!(again.duplicate_delivery);
    // The duplicate changed nothing, and the key is recorded like any other.
    let known = store
        .hashes(ObjectKind::Members, &["m".to_owned()])
        .await
        .unwrap();
    assert_eq!(known.get("m"), Some(&hash("v1")));
    assert!(!store.record_delivery("d-1", t0).await.unwrap());
}

async fn many_tasks_write_concurrently_without_losing_a_row(db: Db) {
    let store = db.store();
    let run = RunId::new();
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for page in 0..10 {
                    let batch = (0..25).fold(StateBatch::new(), |b, i| {
                        let key = format!("T{t}-P{page}-R{i}");
                        b.put_hash(ObjectKind::Members, key.clone(), hash(&key))
                            .audit(NewAuditRow::new(
                                run,
                                ObjectKind::Customers,
                                key,
                                Outcome::Created,
                            ))
                    });
                    store.apply(batch).await.unwrap();
                    assert!(store
                        .record_delivery(&format!("T{t}-P{page}"), Utc::now())
                        .await
                        .unwrap());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let mut all = Vec::new();
    let mut query = AuditQuery::new().run(run).limit(1000);
    loop {
        let page = store.query_audit(&query).await.unwrap();
        let Some(last) = page.last() else { break };
        query = query.after(last.id);
        all.extend(page);
    }
    assert_eq!(all.len(), 16 * 10 * 25);
    let mut keys: Vec<_> = all.iter().map(|r| r.row.source_key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 16 * 10 * 25);
    let ids: Vec<String> = keys.clone();
    assert_eq!(
        store.hashes(ObjectKind::Members, &ids).await.unwrap().len(),
        4000
    );
}

async fn the_id_map_is_walked_a_page_at_a_time_in_key_order(db: Db) {
    let store = db.store();
    // Upper case sorts before lower case in byte order; "C-10" before "C-2".
    let keys = ["c-1", "C-2", "C-10", "C-1"];
    let mut batch = StateBatch::new();
    for key in keys {
        batch = batch.map_id(IdMapping::new(
            ObjectKind::Members,
            key,
            format!("{key}@x.com"),
        ));
    }
    // Another kind is not listed.
    batch = batch.map_id(IdMapping::new(ObjectKind::EcommerceCustomers, "C-0", "C-0"));
    store.apply(batch).await.unwrap();

    let first = store
        .id_map_page(ObjectKind::Members, None, 3)
        .await
        .unwrap();
    let first_keys: Vec<&str> = first.iter().map(|m| m.source_key.as_str()).collect();
    assert_eq!(first_keys, ["C-1", "C-10", "C-2"]);
    assert_eq!(first[1].target_id, "C-10@x.com");
    assert!(first.iter().all(|m| m.kind == ObjectKind::Members));

    let rest = store
        .id_map_page(ObjectKind::Members, Some("C-2"), 3)
        .await
        .unwrap();
    let rest_keys: Vec<&str> = rest.iter().map(|m| m.source_key.as_str()).collect();
    assert_eq!(rest_keys, ["c-1"]);
    assert!(store
        .id_map_page(ObjectKind::Members, Some("c-1"), 3)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .id_map_page(ObjectKind::Products, None, 3)
        .await
        .unwrap()
        .is_empty());
}

async fn member_statuses_are_walked_a_page_at_a_time_in_email_order(db: Db) {
    let store = db.store();
    let mut batch = StateBatch::new();
    for (email, status) in [
        ("b@x.com", MemberStatus::Cleaned),
        ("A@x.com", MemberStatus::Unsubscribed),
        ("c@x.com", MemberStatus::Subscribed),
    ] {
        batch = batch.remember_member_status(MemberStatusRecord::new(
            email,
            status,
            Some("test".into()),
        ));
    }
    store.apply(batch).await.unwrap();
    let first = store.member_status_page(None, 2).await.unwrap();
    let emails: Vec<&str> = first.iter().map(|r| r.email.as_str()).collect();
    assert_eq!(emails, ["a@x.com", "b@x.com"], "normalised, in order");
    assert_eq!(first[1].status, MemberStatus::Cleaned);
    assert_eq!(first[0].reason.as_deref(), Some("test"));
    let rest = store.member_status_page(Some("b@x.com"), 2).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].status, MemberStatus::Subscribed);
    assert!(store
        .member_status_page(Some("c@x.com"), 2)
        .await
        .unwrap()
        .is_empty());
}

async fn the_latest_completed_run_of_a_trigger_and_object_is_found(db: Db) {
    let store = db.store();
    let at = |minutes: i64| Utc::now() - Duration::minutes(minutes);
    let run = |objects: Vec<ObjectKind>, trigger, minutes| {
        let mut start = RunStart::new(objects, trigger);
        start.started_at = at(minutes);
        start
    };
    // Oldest first: an old completed scan, a newer aborted one, a scan of items and a forward
    // run of customers, neither of which counts.
    let old = run(vec![ObjectKind::Customers], RunTrigger::Lifecycle, 30);
    let aborted = run(vec![ObjectKind::Customers], RunTrigger::Lifecycle, 20);
    let items = run(vec![ObjectKind::Items], RunTrigger::Lifecycle, 10);
    let forward = run(vec![ObjectKind::Customers], RunTrigger::Scheduled, 5);
    for (start, status) in [
        (&old, RunStatus::Completed),
        (&aborted, RunStatus::Aborted),
        (&items, RunStatus::Completed),
        (&forward, RunStatus::Completed),
    ] {
        store.start_run(start).await.unwrap();
        store.finish_run(start.id, status, None).await.unwrap();
    }
    let found = store
        .latest_completed_run(RunTrigger::Lifecycle, ObjectKind::Customers)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.start.id, old.id);
    assert_eq!(found.status, RunStatus::Completed);
    let found = store
        .latest_completed_run(RunTrigger::Lifecycle, ObjectKind::Items)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.start.id, items.id);
    assert!(store
        .latest_completed_run(RunTrigger::Reconcile, ObjectKind::Customers)
        .await
        .unwrap()
        .is_none());
}
