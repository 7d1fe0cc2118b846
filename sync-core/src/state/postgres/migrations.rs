//! Versioned schema migrations of the PostgreSQL store, tracked in `state_schema_migrations`.
//!
//! Migration `i` (0-based) takes the schema from version `i` to `i + 1`. All missing migrations
//! run in one transaction under an advisory lock, so many workers connecting at once migrate the
//! database once and an interrupted upgrade leaves it as it was. Never edit a released
//! migration: append a new one.

use deadpool_postgres::GenericClient;

use crate::error::StateError;

/// The advisory lock key migrations hold (`"mlc-migr"` as bytes); distinct from the
/// two-key per-pair locks of writes (PostgreSQL keeps one-key and two-key locks apart).
const MIGRATION_LOCK: i64 = 0x6d6c_632d_6d69_6772;

/// The migrations, oldest first.
const MIGRATIONS: &[&str] = &[
    // 1: the schema of the SQLite store at its version 3, every table keyed by the tenant pair
    // first. Times are Unix microseconds (UTC), as in SQLite, so both stores compare alike.
    // Audit ids come from one identity shared by all pairs: increasing within a pair, not dense.
    r"
    CREATE TABLE id_map (
        pair        TEXT NOT NULL,
        kind        TEXT NOT NULL,
        source_key  TEXT NOT NULL,
        target_id   TEXT NOT NULL,
        updated_at  BIGINT NOT NULL,
        PRIMARY KEY (pair, kind, source_key)
    );
    CREATE INDEX id_map_by_target ON id_map (pair, kind, target_id);

    CREATE TABLE content_hashes (
        pair        TEXT NOT NULL,
        kind        TEXT NOT NULL,
        target_id   TEXT NOT NULL,
        hash        TEXT NOT NULL,
        updated_at  BIGINT NOT NULL,
        PRIMARY KEY (pair, kind, target_id)
    );

    CREATE TABLE cursors (
        pair          TEXT NOT NULL,
        object        TEXT NOT NULL,
        last_modified BIGINT,
        last_key      TEXT,
        run_id        TEXT,
        committed_at  BIGINT NOT NULL,
        PRIMARY KEY (pair, object)
    );

    CREATE TABLE member_statuses (
        pair         TEXT NOT NULL,
        email        TEXT NOT NULL,
        status       TEXT NOT NULL,
        reason       TEXT,
        recorded_at  BIGINT NOT NULL,
        PRIMARY KEY (pair, email)
    );

    CREATE TABLE member_intents (
        pair         TEXT NOT NULL,
        email        TEXT NOT NULL,
        status       TEXT NOT NULL,
        recorded_at  BIGINT NOT NULL,
        PRIMARY KEY (pair, email)
    );

    CREATE TABLE runs (
        pair         TEXT NOT NULL,
        id           TEXT NOT NULL,
        objects      TEXT NOT NULL,
        trigger      TEXT NOT NULL,
        status       TEXT NOT NULL,
        error        TEXT,
        started_at   BIGINT NOT NULL,
        finished_at  BIGINT,
        PRIMARY KEY (pair, id)
    );
    CREATE INDEX runs_by_start ON runs (pair, started_at);

    CREATE TABLE audit (
        pair         TEXT NOT NULL,
        id           BIGINT GENERATED ALWAYS AS IDENTITY,
        run_id       TEXT NOT NULL,
        object       TEXT NOT NULL,
        source_key   TEXT NOT NULL,
        system       TEXT,
        method       TEXT,
        path         TEXT,
        payload      TEXT,
        outcome      TEXT NOT NULL,
        error        TEXT,
        attempts     BIGINT NOT NULL,
        started_at   BIGINT NOT NULL,
        finished_at  BIGINT NOT NULL,
        replay_of    BIGINT,
        resolved_by  BIGINT,
        resolved_at  BIGINT,
        target       TEXT,
        retries      BIGINT NOT NULL DEFAULT 0,
        retry_after  BIGINT,
        dead_at      BIGINT,
        PRIMARY KEY (pair, id),
        FOREIGN KEY (pair, replay_of) REFERENCES audit (pair, id),
        FOREIGN KEY (pair, resolved_by) REFERENCES audit (pair, id)
    );
    CREATE INDEX audit_by_run ON audit (pair, run_id, outcome);
    CREATE INDEX audit_by_source_key ON audit (pair, source_key);
    CREATE INDEX audit_by_object ON audit (pair, object, outcome);
    CREATE INDEX audit_pending ON audit (pair, outcome, resolved_at) WHERE replay_of IS NULL;
    CREATE INDEX audit_by_target ON audit (pair, object, source_key, target)
        WHERE replay_of IS NULL AND resolved_by IS NULL;

    CREATE TABLE webhook_deliveries (
        pair     TEXT NOT NULL,
        key      TEXT NOT NULL,
        seen_at  BIGINT NOT NULL,
        PRIMARY KEY (pair, key)
    );
    CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (pair, seen_at);

    -- One row per object ever leased; a released lease keeps its row and token (holder columns
    -- NULL), so tokens only grow. Token 0 is a row made to be locked before the first lease.
    CREATE TABLE leases (
        pair          TEXT NOT NULL,
        object        TEXT NOT NULL,
        token         BIGINT NOT NULL,
        holder_id     TEXT,
        host          TEXT,
        pid           BIGINT,
        acquired_at   BIGINT,
        heartbeat_at  BIGINT,
        expires_at    BIGINT,
        PRIMARY KEY (pair, object)
    );
    ",
    // 2: history that does not grow with time alone (the SQLite store's version 4): a run counts
    // the records it found unchanged instead of auditing each, and retention deletes audit rows
    // and runs by age.
    r"
    ALTER TABLE runs ADD COLUMN unchanged BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX runs_by_finish ON runs (pair, finished_at);
    CREATE INDEX audit_by_finish ON audit (pair, finished_at);
    CREATE INDEX audit_by_replay_of ON audit (pair, replay_of) WHERE replay_of IS NOT NULL;
    CREATE INDEX audit_by_resolved_by ON audit (pair, resolved_by) WHERE resolved_by IS NOT NULL;
    ",
    // 3: the fleet (`sync_core::fleet`): registered tenant pairs, grouped by the Mailchimp
    // account they use, each account leased by one worker at a time (holder, times and fencing
    // token, as object leases); and the live workers, so that each claims its share.
    r"
    CREATE TABLE fleet_accounts (
        account       TEXT PRIMARY KEY,
        token         BIGINT NOT NULL DEFAULT 0,
        holder_id     TEXT,
        host          TEXT,
        pid           BIGINT,
        acquired_at   BIGINT,
        heartbeat_at  BIGINT,
        expires_at    BIGINT
    );

    CREATE TABLE fleet_pairs (
        pair             TEXT PRIMARY KEY,
        account          TEXT NOT NULL REFERENCES fleet_accounts (account),
        config           TEXT NOT NULL,
        credentials      BYTEA NOT NULL,
        key_fingerprint  TEXT NOT NULL,
        added_at         BIGINT NOT NULL,
        updated_at       BIGINT NOT NULL
    );
    CREATE INDEX fleet_pairs_by_account ON fleet_pairs (account);

    CREATE TABLE fleet_workers (
        holder_id     TEXT PRIMARY KEY,
        host          TEXT NOT NULL,
        pid           BIGINT NOT NULL,
        started_at    BIGINT NOT NULL,
        expires_at    BIGINT NOT NULL
    );
    ",
    // 4: `audit_by_target` held every row never resolved, successful ones included, so every
    // audited write grew it; it now holds just the queued rows a later success can supersede
    // (the SQLite store's version 6).
    r"
    DROP INDEX audit_by_target;
    CREATE INDEX audit_queued_by_target ON audit (pair, object, source_key, target)
        WHERE replay_of IS NULL AND resolved_by IS NULL AND outcome IN ('failed', 'deferred');
    ",
    // 5: `audit_pending` held every row that replays nothing, successful ones included; only
    // the replay queue's look-ups read it, so it now holds just the queued rows (the SQLite
    // store's version 7).
    r"
    DROP INDEX audit_pending;
    CREATE INDEX audit_pending ON audit (pair, outcome)
        WHERE replay_of IS NULL AND resolved_by IS NULL AND outcome IN ('failed', 'deferred');
    ",
];

/// The schema version this build creates.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`LATEST`], applying only the migrations it lacks.
pub(crate) async fn migrate(client: &mut deadpool_postgres::Client) -> Result<(), StateError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS state_schema_migrations (
             version     BIGINT PRIMARY KEY,
             applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM state_schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    if current > LATEST {
        return Err(StateError::SchemaTooNew {
            found: current,
            supported: LATEST,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tx.batch_execute(sql).await?;
        let version = index as i64 + 1;
        tx.execute(
            "INSERT INTO state_schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The version the database is at (0 before the first migration).
pub(crate) async fn version(client: &impl GenericClient) -> Result<i64, StateError> {
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM state_schema_migrations",
            &[],
        )
        .await?;
    Ok(row.try_get(0)?)
}
