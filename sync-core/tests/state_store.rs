//! What only the SQLite store has: its file (reopened, migrated, owner-only) and its schema
//! version. Everything the two stores share is in the conformance suite (`state_conformance`).

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sync_core::{
    ContentHash, ObjectKind, SqliteStateStore, StateBatch, StateError, StateStore, SyncError,
};

fn hash(text: &str) -> ContentHash {
    ContentHash::of_bytes(text.as_bytes())
}

#[tokio::test]
async fn reopening_a_file_keeps_state_and_does_not_re_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let store = SqliteStateStore::open(&path).await.unwrap();
        assert_eq!(store.path(), Some(path.as_path()));
        store
            .apply(StateBatch::new().put_hash(ObjectKind::Members, "m", hash("v1")))
            .await
            .unwrap();
    }
    let store = SqliteStateStore::open(&path).await.unwrap();
    let found = store
        .hashes(ObjectKind::Members, &["m".into()])
        .await
        .unwrap();
    assert_eq!(found.get("m"), Some(&hash("v1")));

    // The file is in WAL mode with the current schema version.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SqliteStateStore::schema_version());
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(SqliteStateStore::open(&path).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA user_version = {}",
        SqliteStateStore::schema_version() + 1
    ))
    .unwrap();
    drop(conn);
    let err = SqliteStateStore::open(&path).await.unwrap_err();
    assert!(matches!(
        err,
        SyncError::State(StateError::SchemaTooNew { .. })
    ));
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_and_its_wal_and_shm_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStateStore::open(&path).await.unwrap();
    store
        .apply(StateBatch::new().put_hash(ObjectKind::Members, "m", hash("v1")))
        .await
        .unwrap();
    for name in ["state.db", "state.db-wal", "state.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {:o}", mode & 0o777);
    }
}
