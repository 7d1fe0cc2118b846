//! Object leases: one writer per object across processes (two store handles on one state stand
//! for two processes), takeover after expiry, fencing tokens checked in the commit's
//! transaction, and the heartbeat.

use std::sync::Arc;
use std::time::Duration;

use sync_core::state::{FencingToken, LeaseHolder, LeasePolicy};
use sync_core::{ContentHash, Cursor, LeaseError, ObjectKind, StateBatch, SyncError};

use crate::harness::Db;

conformance!(
    of_concurrent_acquisitions_exactly_one_wins,
    no_fenced_commit_lands_after_a_takeover,
    a_second_holder_is_refused_with_the_holder_named,
    an_expired_lease_is_taken_over_and_its_old_token_refused_at_commit,
    renewing_moves_the_expiry,
    the_heartbeat_keeps_a_long_run_s_lease_alive_and_release_frees_it,
    an_unfenced_batch_is_not_checked,
    a_lease_of_a_process_of_this_host_that_is_gone_is_taken_over_at_once,
);

fn page(key: &str) -> StateBatch {
    StateBatch::new()
        .put_hash(
            ObjectKind::Products,
            key,
            ContentHash::of_bytes(key.as_bytes()),
        )
        .commit_cursor(Cursor::new(
            ObjectKind::Items,
            None,
            Some(key.to_owned()),
            None,
        ))
}

const MINUTE: Duration = Duration::from_secs(60);

async fn a_second_holder_is_refused_with_the_holder_named(db: Db) {
    let (a, b) = (db.store(), db.another_process().await);
    let first = LeaseHolder::new("erp-gw-1", 4711);
    let second = LeaseHolder::new("erp-gw-2", 815);
    let lease = a
        .acquire_lease(ObjectKind::Customers, &first, MINUTE)
        .await
        .unwrap();
    assert_eq!(lease.token, FencingToken::new(1));
    assert_eq!(lease.holder, first);

    let err = b
        .acquire_lease(ObjectKind::Customers, &second, MINUTE)
        .await
        .unwrap_err();
    match &err {
        SyncError::Lease(LeaseError::Held {
            object,
            holder,
            since,
            until,
        }) => {
            assert_eq!(*object, ObjectKind::Customers);
            assert_eq!(holder, &first);
            assert_eq!(*since, lease.acquired_at);
            assert_eq!(*until, lease.expires_at);
        }
        other => panic!("expected Held, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("host erp-gw-1, pid 4711"), "{text}");
    assert!(text.contains(first.id()), "{text}");

    // The same holder cannot run the object twice either.
    assert!(matches!(
        a.acquire_lease(ObjectKind::Customers, &first, MINUTE).await,
        Err(SyncError::Lease(LeaseError::Held { .. }))
    ));
    // Other objects are free.
    let items = b
        .acquire_lease(ObjectKind::Items, &second, MINUTE)
        .await
        .unwrap();
    assert_eq!(items.token, FencingToken::new(1));

    // Released, the next acquisition gets a higher token.
    assert!(a.release_lease(&lease).await.unwrap());
    assert!(!a.release_lease(&lease).await.unwrap());
    assert_eq!(b.lease(ObjectKind::Customers).await.unwrap(), None);
    let next = b
        .acquire_lease(ObjectKind::Customers, &second, MINUTE)
        .await
        .unwrap();
    assert_eq!(next.token, FencingToken::new(2));
    assert_eq!(
        a.lease(ObjectKind::Customers).await.unwrap(),
        Some(next.clone())
    );
}

async fn an_expired_lease_is_taken_over_and_its_old_token_refused_at_commit(db: Db) {
    let (a, b) = (db.store(), db.another_process().await);
    let killed = LeaseHolder::new("erp-gw-1", 4711);
    let old = a
        .acquire_lease(ObjectKind::Items, &killed, Duration::from_millis(200))
        .await
        .unwrap();
    a.apply(page("I-1").fenced(ObjectKind::Items, old.token))
        .await
        .unwrap();

    tokio::time::sleep(Duration::from_millis(300)).await;
    // Expired but not taken over: the old holder's token is still current.
    a.apply(page("I-2").fenced(ObjectKind::Items, old.token))
        .await
        .unwrap();

    let new = b
        .acquire_lease(
            ObjectKind::Items,
            &LeaseHolder::new("erp-gw-2", 815),
            MINUTE,
        )
        .await
        .unwrap();
    assert_eq!(new.token, FencingToken::new(2));

    // The old holder wakes up: its commit is refused, and nothing of it is written.
    let err = a
        .apply(page("I-3").fenced(ObjectKind::Items, old.token))
        .await
        .unwrap_err();
    match err {
        SyncError::Lease(LeaseError::Lost {
            object,
            token,
            current,
        }) => {
            assert_eq!(object, ObjectKind::Items);
            assert_eq!(token, old.token);
            assert_eq!(current, Some(new.token));
        }
        other => panic!("expected Lost, got {other:?}"),
    }
    let cursor = b.cursor(ObjectKind::Items).await.unwrap().unwrap();
    assert_eq!(cursor.last_key.as_deref(), Some("I-2"));
    let hashes = b
        .hashes(ObjectKind::Products, &["I-3".to_owned()])
        .await
        .unwrap();
    assert!(hashes.is_empty());

    // Nor can it renew; the new holder commits.
    assert!(matches!(
        a.renew_lease(&old, MINUTE).await,
        Err(SyncError::Lease(LeaseError::Lost { .. }))
    ));
    b.apply(page("I-3").fenced(ObjectKind::Items, new.token))
        .await
        .unwrap();
    // A released lease fences too: its token is no longer current.
    assert!(b.release_lease(&new).await.unwrap());
    assert!(matches!(
        b.apply(page("I-4").fenced(ObjectKind::Items, new.token))
            .await,
        Err(SyncError::Lease(LeaseError::Lost { current: None, .. }))
    ));
}

async fn renewing_moves_the_expiry(db: Db) {
    let store = db.store();
    let holder = LeaseHolder::this_process();
    let lease = store
        .acquire_lease(ObjectKind::Orders, &holder, Duration::from_millis(300))
        .await
        .unwrap();
    let renewed = store.renew_lease(&lease, MINUTE).await.unwrap();
    assert_eq!(renewed.token, lease.token);
    assert!(renewed.expires_at > lease.expires_at);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(matches!(
        store
            .acquire_lease(ObjectKind::Orders, &LeaseHolder::this_process(), MINUTE)
            .await,
        Err(SyncError::Lease(LeaseError::Held { .. }))
    ));
}

async fn the_heartbeat_keeps_a_long_run_s_lease_alive_and_release_frees_it(db: Db) {
    let (a, b) = (db.store(), db.another_process().await);
    let policy = LeasePolicy::new().ttl(Duration::from_secs(1));
    let held = policy
        .acquire(Arc::clone(&a), ObjectKind::Items)
        .await
        .unwrap();
    // Three times the time to live: without the heartbeat it would have expired.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let other = LeaseHolder::new("erp-gw-2", 815);
    let err = b
        .acquire_lease(ObjectKind::Items, &other, MINUTE)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SyncError::Lease(LeaseError::Held { holder, .. }) if holder == policy.lease_holder()),
        "{err:?}"
    );
    a.apply(page("I-9").fenced(ObjectKind::Items, held.token()))
        .await
        .unwrap();
    assert!(held.release().await.unwrap());
    b.acquire_lease(ObjectKind::Items, &other, MINUTE)
        .await
        .unwrap();
}

async fn an_unfenced_batch_is_not_checked(db: Db) {
    let store = db.store();
    store
        .acquire_lease(ObjectKind::Items, &LeaseHolder::this_process(), MINUTE)
        .await
        .unwrap();
    // The webhook receiver and other non-run writers commit without a lease.
    store.apply(page("I-1")).await.unwrap();
}

async fn a_lease_of_a_process_of_this_host_that_is_gone_is_taken_over_at_once(db: Db) {
    let state = db.store();
    let policy = LeasePolicy::new();
    let host = policy.lease_holder().host().to_owned();
    // A process id no Linux system hands out (above pid_max's upper bound of 2^22).
    let dead = LeaseHolder::new(host.clone(), 4_194_305);
    let left = state
        .acquire_lease(ObjectKind::Customers, &dead, Duration::from_secs(600))
        .await
        .unwrap();
    // Another host's process cannot be checked: its lease stands until it expires.
    let remote = LeaseHolder::new("erp-gw-elsewhere", 4_194_305);
    let remote_lease = state
        .acquire_lease(ObjectKind::Items, &remote, Duration::from_secs(600))
        .await
        .unwrap();

    if std::path::Path::new("/proc/self").exists() {
        let held = policy
            .acquire(Arc::clone(&state), ObjectKind::Customers)
            .await
            .unwrap();
        assert!(held.token() > left.token);
        assert_eq!(held.lease().holder.host(), host);
    }
    let err = policy
        .acquire(Arc::clone(&state), ObjectKind::Items)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("erp-gw-elsewhere"), "{err}");
    assert_eq!(
        state.lease(ObjectKind::Items).await.unwrap().unwrap().token,
        remote_lease.token
    );
}

async fn of_concurrent_acquisitions_exactly_one_wins(db: Db) {
    let mut attempts = Vec::new();
    for i in 0..8u32 {
        let store = if i % 2 == 0 {
            db.store()
        } else {
            db.another_process().await
        };
        attempts.push(tokio::spawn(async move {
            store
                .acquire_lease(
                    ObjectKind::Customers,
                    &LeaseHolder::new(format!("worker-{i}"), i),
                    MINUTE,
                )
                .await
        }));
    }
    let mut granted = Vec::new();
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(lease) => granted.push(lease),
            Err(SyncError::Lease(LeaseError::Held { .. })) => {}
            Err(other) => panic!("expected Held, got {other:?}"),
        }
    }
    assert_eq!(granted.len(), 1, "{granted:?}");
    assert_eq!(granted[0].token, FencingToken::new(1));
}

/// A paused holder's commits race the takeover: each either commits before the new holder's
/// acquisition or is refused, never after it.
async fn no_fenced_commit_lands_after_a_takeover(db: Db) {
    let (old_side, new_side) = (db.store(), db.another_process().await);
    let old = old_side
        .acquire_lease(
            ObjectKind::Items,
            &LeaseHolder::new("erp-gw-1", 4711),
            Duration::from_millis(100),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let writer = tokio::spawn(async move {
        let mut committed = 0u32;
        for i in 0..200u32 {
            let page = page(&format!("I-{i:04}")).fenced(ObjectKind::Items, old.token);
            match old_side.apply(page).await {
                Ok(_) => committed += 1,
                Err(SyncError::Lease(LeaseError::Lost { .. })) => break,
                Err(other) => panic!("expected Lost, got {other:?}"),
            }
        }
        committed
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let new = new_side
        .acquire_lease(
            ObjectKind::Items,
            &LeaseHolder::new("erp-gw-2", 815),
            MINUTE,
        )
        .await
        .unwrap();
    let at_takeover = new_side.cursor(ObjectKind::Items).await.unwrap();
    let committed = writer.await.unwrap();
    assert!(new.token > FencingToken::new(1));
    // Nothing moved the cursor after the takeover, and it stands at the last committed page.
    assert_eq!(
        new_side.cursor(ObjectKind::Items).await.unwrap(),
        at_takeover
    );
    let expected = committed.checked_sub(1).map(|last| format!("I-{last:04}"));
    assert_eq!(at_takeover.and_then(|c| c.last_key), expected);
}
