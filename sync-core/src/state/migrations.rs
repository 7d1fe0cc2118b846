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
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", LATEST + 1))
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(matches!(err, StateError::SchemaTooNew { found, .. } if found == LATEST + 1));
    }
}
