//! Versioned schema migrations, tracked in SQLite's `user_version`.
//!
//! Migration `i` (0-based) takes the schema from version `i` to `i + 1`. Each runs in its own
//! transaction together with the version bump, so an interrupted upgrade resumes where it stopped.
//! Never edit a released migration: append a new one.

use rusqlite::Connection;

use crate::error::StateError;

/// The migrations, oldest first.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema. Times are Unix microseconds (UTC) so they sort and compare as
    // integers.
    r"
    CREATE TABLE id_map (
        kind        TEXT NOT NULL,
        source_key  TEXT NOT NULL,
        target_id   TEXT NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (kind, source_key)
    ) WITHOUT ROWID;
    CREATE INDEX id_map_by_target ON id_map (kind, target_id);

    CREATE TABLE content_hashes (
        kind        TEXT NOT NULL,
        target_id   TEXT NOT NULL,
        hash        TEXT NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (kind, target_id)
    ) WITHOUT ROWID;

    CREATE TABLE cursors (
        object        TEXT PRIMARY KEY NOT NULL,
        last_modified INTEGER,
        last_key      TEXT,
        run_id        TEXT,
        committed_at  INTEGER NOT NULL
    );

    CREATE TABLE member_statuses (
        email        TEXT PRIMARY KEY NOT NULL,
        status       TEXT NOT NULL,
        reason       TEXT,
        recorded_at  INTEGER NOT NULL
    );

    CREATE TABLE runs (
        id           TEXT PRIMARY KEY NOT NULL,
        objects      TEXT NOT NULL,
        trigger      TEXT NOT NULL,
        status       TEXT NOT NULL,
        error        TEXT,
        started_at   INTEGER NOT NULL,
        finished_at  INTEGER
    );
    CREATE INDEX runs_by_start ON runs (started_at);

    CREATE TABLE audit (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id       TEXT NOT NULL,
        object       TEXT NOT NULL,
        source_key   TEXT NOT NULL,
        system       TEXT,
        method       TEXT,
        path         TEXT,
        payload      TEXT,
        outcome      TEXT NOT NULL,
        error        TEXT,
        attempts     INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        finished_at  INTEGER NOT NULL,
        replay_of    INTEGER REFERENCES audit (id),
        resolved_by  INTEGER REFERENCES audit (id),
        resolved_at  INTEGER
    );
    CREATE INDEX audit_by_run ON audit (run_id, outcome);
    CREATE INDEX audit_by_source_key ON audit (source_key);
    CREATE INDEX audit_by_object ON audit (object, outcome);
    CREATE INDEX audit_pending ON audit (outcome, resolved_at) WHERE replay_of IS NULL;

    CREATE TABLE webhook_deliveries (
        key      TEXT PRIMARY KEY NOT NULL,
        seen_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (seen_at);
    ",
    // 2: self-healing. `target` names which target record of the source record a row is about,
    // so a later successful write of it supersedes earlier failures (filled in for existing
    // queued rows from their operation's path); `retries`, `retry_after` and `dead_at` carry the
    // automatic retries of queued rows (exponential backoff per row, then dead).
    // `member_intents` remembers the status the connector meant for a member it created (one
    // row per member it ever created: bounded by the audience).
    r"
    ALTER TABLE audit ADD COLUMN target TEXT;
    ALTER TABLE audit ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE audit ADD COLUMN retry_after INTEGER;
    ALTER TABLE audit ADD COLUMN dead_at INTEGER;
    UPDATE audit SET target = CASE
        WHEN object = 'orders' THEN 'attribution'
        WHEN path LIKE '/ecommerce/stores/%/customers/%' THEN 'ecommerce_customer'
        WHEN path LIKE '/ecommerce/stores/%/products/%' THEN 'product'
        WHEN path LIKE '/lists/%/tags' THEN 'member_tags'
        WHEN path LIKE '/lists/%' THEN 'member'
    END
    WHERE outcome = 'failed' AND replay_of IS NULL AND resolved_by IS NULL;
    CREATE INDEX audit_by_target ON audit (object, source_key, target)
        WHERE replay_of IS NULL AND resolved_by IS NULL;

    CREATE TABLE member_intents (
        email        TEXT PRIMARY KEY NOT NULL,
        status       TEXT NOT NULL,
        recorded_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    ",
];

/// The schema version this build creates.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`LATEST`], applying only the migrations it lacks.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StateError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > LATEST {
        return Err(StateError::SchemaTooNew {
            found: current,
            supported: LATEST,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        // PRAGMA takes no bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_rows_of_version_1_get_their_target() {
        let mut conn = Connection::open_in_memory().unwrap();
        let first = MIGRATIONS.first().copied().unwrap_or_default();
        conn.execute_batch(first).unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
        for (object, path, outcome) in [
            ("customers", "/ecommerce/stores/s/customers/C1", "failed"),
            ("customers", "/lists/l/members/h/tags", "failed"),
            ("customers", "/lists/l", "failed"),
            ("items", "/ecommerce/stores/s/products/P1", "failed"),
            ("orders", "/api/attribution", "failed"),
            ("customers", "/lists/l", "created"),
        ] {
            conn.execute(
                "INSERT INTO audit (run_id, object, source_key, path, outcome, attempts,
                                    started_at, finished_at)
                 VALUES ('r', ?1, 'k', ?2, ?3, 1, 0, 0)",
                rusqlite::params![object, path, outcome],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let targets: Vec<Option<String>> = conn
            .prepare("SELECT target FROM audit ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected = [
            Some("ecommerce_customer"),
            Some("member_tags"),
            Some("member"),
            Some("product"),
            Some("attribution"),
            None,
        ];
        assert_eq!(targets, expected.map(|t| t.map(str::to_owned)));
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", LATEST + 1))
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(matches!(err, StateError::SchemaTooNew { found, .. } if found == LATEST + 1));
    }
}
