//! Versioned schema migrations, tracked in SQLite's `user_version`.
//!
//! Migration `i` (0-based) takes the schema from version `i` to `i + 1`. Each SQL migration runs
//! in its own transaction together with the version bump, so an interrupted upgrade resumes where
//! it stopped; the one `VACUUM` step cannot run in a transaction and is idempotent instead.
//! Never edit a released migration: append a new one.

use rusqlite::Connection;

use crate::error::StateError;

/// The SQL migrations, oldest first; [`VACUUM_STEP`] follows them.
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
    // 2: one writer per object. One row per object ever leased (bounded by the object kinds);
    // a released lease keeps its row and token (holder columns NULL), so tokens only grow.
    r"
    CREATE TABLE leases (
        object        TEXT PRIMARY KEY NOT NULL,
        token         INTEGER NOT NULL,
        holder_id     TEXT,
        host          TEXT,
        pid           INTEGER,
        acquired_at   INTEGER,
        heartbeat_at  INTEGER,
        expires_at    INTEGER
    );
    ",
    // 3: self-healing. `target` names which target record of the source record a row is about,
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
    // 4: history that does not grow with time alone. `runs.unchanged` counts the records a run
    // found unchanged and did not audit one by one. Retention deletes audit rows by age
    // (`audit_by_finish`); the partial indexes on the two self-references let a delete check
    // that no surviving row points at the deleted one without scanning the table.
    r"
    ALTER TABLE runs ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX audit_by_finish ON audit (finished_at);
    CREATE INDEX audit_by_replay_of ON audit (replay_of) WHERE replay_of IS NOT NULL;
    CREATE INDEX audit_by_resolved_by ON audit (resolved_by) WHERE resolved_by IS NOT NULL;
    CREATE INDEX runs_by_finish ON runs (finished_at);
    ",
];

/// The migrations after the incremental-vacuum step, oldest first: migration `i` brings the
/// schema to version `VACUUM_STEP + 1 + i`. ([`MIGRATIONS`] is closed: a step appended there
/// would take the vacuum step's version.)
const AFTER_VACUUM: &[&str] = &[
    // 6: `audit_by_target` held every row never resolved, successful ones included (nothing
    // resolves those), so each write grew it and each successful write's look-up for the
    // queued failures it supersedes walked it. It now holds just the queued rows that
    // look-up can find: one fewer index entry per audited write.
    r"
    DROP INDEX audit_by_target;
    CREATE INDEX audit_queued_by_target ON audit (object, source_key, target)
        WHERE replay_of IS NULL AND resolved_by IS NULL AND outcome IN ('failed', 'deferred');
    ",
    // 7: `audit_pending` held every row that replays nothing, successful ones included, and
    // only the replay queue's look-ups (whose `WHERE` names the queued rows) read it. It now
    // holds just the queued rows: a successful write updates four indexes instead of five.
    r"
    DROP INDEX audit_pending;
    CREATE INDEX audit_pending ON audit (outcome)
        WHERE replay_of IS NULL AND resolved_by IS NULL AND outcome IN ('failed', 'deferred');
    ",
];

/// The version the step that turns on incremental vacuum brings the schema to: pages freed by
/// retention then go back to the file system (`PRAGMA incremental_vacuum`) instead of staying
/// in the file. A new database gets `auto_vacuum = INCREMENTAL` before its first table and
/// needs no `VACUUM`; an existing one is rewritten once (which needs free disk space about the
/// size of the file).
const VACUUM_STEP: i64 = MIGRATIONS.len() as i64 + 1;

/// The schema version this build creates.
pub(crate) const LATEST: i64 = VACUUM_STEP + AFTER_VACUUM.len() as i64;

/// SQLite's `auto_vacuum` value for `INCREMENTAL`.
const AUTO_VACUUM_INCREMENTAL: i64 = 2;

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
    if current < VACUUM_STEP {
        // Not in a transaction: VACUUM cannot run in one. Checked first, so a run interrupted
        // after the VACUUM only bumps the version.
        let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |row| row.get(0))?;
        if mode != AUTO_VACUUM_INCREMENTAL {
            conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")?;
        }
        conn.execute_batch(&format!("PRAGMA user_version = {VACUUM_STEP}"))?;
    }
    let done = (current - VACUUM_STEP).max(0) as usize;
    for (index, sql) in AFTER_VACUUM.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!(
            "PRAGMA user_version = {}",
            VACUUM_STEP + 1 + index as i64
        ))?;
        tx.commit()?;
    }
    Ok(())
}

/// Makes a database that has no table yet use incremental vacuum from the start (a no-op on an
/// existing database, whose mode only a `VACUUM` changes).
pub(crate) fn prepare_new(conn: &Connection) -> Result<(), StateError> {
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")?;
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
    fn a_version_one_database_gains_the_leases_table() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[0]).unwrap();
        tx.execute_batch("PRAGMA user_version = 1").unwrap();
        tx.commit().unwrap();
        migrate(&mut conn).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'leases'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1);
    }

    #[test]
    fn a_version_three_file_is_vacuumed_into_incremental_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.db");
        let mut conn = Connection::open(&path).unwrap();
        for (index, sql) in MIGRATIONS.iter().take(3).enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.execute_batch(&format!("PRAGMA user_version = {}", index + 1))
                .unwrap();
        }
        let mode = |conn: &Connection| -> i64 {
            conn.query_row("PRAGMA auto_vacuum", [], |row| row.get(0))
                .unwrap()
        };
        assert_eq!(mode(&conn), 0);
        migrate(&mut conn).unwrap();
        assert_eq!(mode(&conn), AUTO_VACUUM_INCREMENTAL);
        let unchanged: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'unchanged'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(unchanged, 1);
        drop(conn);
        let conn = Connection::open(&path).unwrap();
        assert_eq!(mode(&conn), AUTO_VACUUM_INCREMENTAL);
    }

    #[test]
    fn a_new_database_starts_incremental_without_a_vacuum() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("new.db")).unwrap();
        prepare_new(&conn).unwrap();
        migrate(&mut conn).unwrap();
        let mode: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, AUTO_VACUUM_INCREMENTAL);
    }

    #[test]
    fn a_version_five_database_indexes_only_queued_rows_by_target() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in MIGRATIONS {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(&format!("PRAGMA user_version = {VACUUM_STEP}"))
            .unwrap();
        migrate(&mut conn).unwrap();
        let indexes: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'audit%target'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(indexes, ["audit_queued_by_target"]);
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
