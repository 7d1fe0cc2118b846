//! The receiver forgets delivery keys older than its retention, so the dedup table is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sync_core::webhook_receiver::{generate_path_token, serve, ReceiverConfig};
use sync_core::{SqliteStateStore, StateStore};

#[tokio::test]
async fn delivery_keys_older_than_the_retention_are_pruned_at_start() {
    let state: Arc<dyn StateStore> = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
    let now = Utc::now();
    // Tolerance 1 h: the retention is at least 25 h, so 8 days is past it and 1 hour is not.
    assert!(state
        .record_delivery("old", now - chrono::Duration::days(8))
        .await
        .unwrap());
    assert!(state
        .record_delivery("recent", now - chrono::Duration::hours(1))
        .await
        .unwrap());
    let config = ReceiverConfig::signed(generate_path_token(), "whsec_retention")
        .unwrap()
        .signature_tolerance(Duration::from_secs(3600))
        .delivery_retention(Duration::from_secs(60));
    assert_eq!(config.retention(), Duration::from_secs(25 * 3600));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = serve(listener, config, Arc::clone(&state)).await.unwrap();

    // The first prune runs as the receiver starts: "old" is new again, "recent" is remembered.
    let mut forgotten = false;
    for _ in 0..200 {
        if state.record_delivery("old", Utc::now()).await.unwrap() {
            forgotten = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(forgotten, "the old delivery key was not pruned");
    assert!(!state.record_delivery("recent", Utc::now()).await.unwrap());
    receiver.shutdown().await.unwrap();
}
