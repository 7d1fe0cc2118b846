//! The embedded SQLite implementation of [`StateStore`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{
    params, params_from_iter, Connection, OptionalExtension, Row, Transaction, TransactionBehavior,
};

use super::batch::{BatchReceipt, RetryMark, StateBatch};
use super::lease::{FencingToken, Lease, LeaseHolder};
use super::migrations;
use super::retention::{PruneCutoffs, Pruned};
use super::sqlite_rows::MultiInsert;
use super::StateStore;
use crate::audit::{
    AuditId, AuditQuery, AuditRow, Method, NewAuditRow, OutcomeCounts, PendingAudit, ReplayFilter,
    Resolution, RetryState, RunRecord, RunStart, TargetOperation,
};
use crate::error::{LeaseError, Result, StateError};
use crate::model::{
    normalize_email, ContentHash, Cursor, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind,
    Outcome, RunId, RunStatus, RunTrigger, TargetRecord,
};

/// How many values go into one `IN (...)` list; well under SQLite's bound-parameter limit.
const IN_CHUNK: usize = 500;

/// The state store in one SQLite file (or in memory, for tests).
///
/// The file is opened in WAL mode with `synchronous=NORMAL`: a commit survives a crash of the
/// process, and the last commits may be lost on power failure, which costs at most a re-sync of
/// those records (their hashes are missing, so they are written again). Schema migrations run on
/// open. Blocking SQLite work runs on Tokio's blocking pool, one statement group at a time.
/// Times are stored to the microsecond; audit payloads pass through
/// [`redact_payload`](crate::audit::redact_payload) on the way in.
///
/// Cloning is cheap and shares the connection.
///
/// ```no_run
/// # async fn run() -> sync_core::Result<()> {
/// use sync_core::{ObjectKind, SqliteStateStore, StateStore};
///
/// let store = SqliteStateStore::open("state.db").await?;
/// let cursor = store.cursor(ObjectKind::Customers).await?;
/// println!("customers last synced up to {:?}", cursor.and_then(|c| c.last_modified));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqliteStateStore {
    conn: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
}

impl fmt::Debug for SqliteStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStateStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStateStore {
    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    ///
    /// A new database file is created readable by its owner only (`0600` on Unix): it holds
    /// emails and addresses. SQLite gives its `-wal` and `-shm` files the database file's
    /// permissions. An existing file's permissions are left as they are.
    ///
    /// # Errors
    ///
    /// [`StateError::Create`] when a new file cannot be created;
    /// [`StateError::Sqlite`] when the file cannot be opened or migrated;
    /// [`StateError::SchemaTooNew`] when a newer build wrote it.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let for_open = path.clone();
        let conn = blocking(move || {
            create_private(&for_open).map_err(StateError::Create)?;
            let mut conn = Connection::open(&for_open)?;
            keep_statements(&conn);
            migrations::prepare_new(&conn)?;
            conn.execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )?;
            migrations::migrate(&mut conn)?;
            Ok(conn)
        })
        .await?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: Some(path),
        })
    }

    /// Opens a private in-memory database (for tests); it disappears when the last clone drops.
    ///
    /// # Errors
    ///
    /// [`StateError::Sqlite`] when SQLite cannot create it.
    pub async fn open_in_memory() -> Result<Self> {
        let conn = blocking(|| {
            let mut conn = Connection::open_in_memory()?;
            keep_statements(&conn);
            migrations::prepare_new(&conn)?;
            conn.execute_batch("PRAGMA foreign_keys = ON;")?;
            migrations::migrate(&mut conn)?;
            Ok(conn)
        })
        .await?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: None,
        })
    }

    /// The database file, or `None` in memory.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version this build migrates databases to.
    #[must_use]
    pub fn schema_version() -> i64 {
        migrations::LATEST
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StateError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        blocking(move || {
            let mut guard = conn.lock().map_err(|_| {
                StateError::Worker("connection poisoned by an earlier panic".into())
            })?;
            work(&mut guard)
        })
        .await
    }
}

/// Creates `path` empty with owner-only permissions unless it exists, so SQLite (and, after it,
/// the WAL and SHM files, which copy the database's mode) never makes it world-readable.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

async fn blocking<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StateError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StateError::Worker(e.to_string()))?
        .map_err(Into::into)
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn apply(&self, batch: StateBatch) -> Result<BatchReceipt> {
        if batch.is_empty() {
            return Ok(BatchReceipt::default());
        }
        let applied = self
            .with_conn(move |conn| {
                // Immediate: take the write lock before the fence is read, so no other writer
                // can take the lease between the check and the commit.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if let Some((object, token)) = batch.fence {
                    if let Err(lost) = check_fence(&tx, object, token)? {
                        return Ok(Err(lost));
                    }
                }
                let receipt = apply_in(&tx, batch)?;
                tx.commit()?;
                Ok(Ok(receipt))
            })
            .await?;
        Ok(applied?)
    }

    async fn acquire_lease(
        &self,
        object: ObjectKind,
        holder: &LeaseHolder,
        ttl: Duration,
    ) -> Result<Lease> {
        let holder = holder.clone();
        let acquired = self
            .with_conn(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = stored_now();
                let (token, live) = select_lease(&tx, object)?;
                if let Some(live) = live.filter(|l| l.expires_at > now) {
                    return Ok(Err(live.held_error()));
                }
                let token = FencingToken::new(token.map_or(1, |t| t.get() + 1));
                let lease = Lease {
                    object,
                    holder,
                    token,
                    acquired_at: now,
                    heartbeat_at: now,
                    expires_at: expiry(now, ttl),
                };
                tx.prepare_cached(
                    "INSERT INTO leases (object, token, holder_id, host, pid, acquired_at,
                                         heartbeat_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)
                     ON CONFLICT (object) DO UPDATE
                     SET token = excluded.token, holder_id = excluded.holder_id,
                         host = excluded.host, pid = excluded.pid,
                         acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at,
                         expires_at = excluded.expires_at",
                )?
                .execute(params![
                    object.as_str(),
                    token_value(token)?,
                    lease.holder.id(),
                    lease.holder.host(),
                    lease.holder.pid(),
                    now.timestamp_micros(),
                    lease.expires_at.timestamp_micros(),
                ])?;
                tx.commit()?;
                Ok(Ok(lease))
            })
            .await?;
        Ok(acquired?)
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease> {
        let lease = lease.clone();
        let renewed = self
            .with_conn(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = stored_now();
                let changed = tx
                    .prepare_cached(
                        "UPDATE leases SET heartbeat_at = ?4, expires_at = ?5
                         WHERE object = ?1 AND token = ?2 AND holder_id = ?3",
                    )?
                    .execute(params![
                        lease.object.as_str(),
                        token_value(lease.token)?,
                        lease.holder.id(),
                        now.timestamp_micros(),
                        expiry(now, ttl).timestamp_micros(),
                    ])?;
                if changed == 0 {
                    let (_, live) = select_lease(&tx, lease.object)?;
                    return Ok(Err(LeaseError::Lost {
                        object: lease.object,
                        token: lease.token,
                        current: live.map(|l| l.token),
                    }));
                }
                tx.commit()?;
                Ok(Ok(Lease {
                    heartbeat_at: now,
                    expires_at: expiry(now, ttl),
                    ..lease
                }))
            })
            .await?;
        Ok(renewed?)
    }

    async fn release_lease(&self, lease: &Lease) -> Result<bool> {
        let lease = lease.clone();
        self.with_conn(move |conn| {
            let changed = conn
                .prepare_cached(
                    "UPDATE leases SET holder_id = NULL, host = NULL, pid = NULL,
                         acquired_at = NULL, heartbeat_at = NULL, expires_at = NULL
                     WHERE object = ?1 AND token = ?2 AND holder_id = ?3",
                )?
                .execute(params![
                    lease.object.as_str(),
                    token_value(lease.token)?,
                    lease.holder.id(),
                ])?;
            Ok(changed == 1)
        })
        .await
    }

    async fn lease(&self, object: ObjectKind) -> Result<Option<Lease>> {
        self.with_conn(move |conn| Ok(select_lease(conn, object)?.1))
            .await
    }

    async fn target_id(&self, kind: ObjectKind, source_key: &str) -> Result<Option<String>> {
        let source_key = source_key.to_owned();
        self.with_conn(move |conn| {
            Ok(conn
                .prepare_cached("SELECT target_id FROM id_map WHERE kind = ?1 AND source_key = ?2")?
                .query_row(params![kind.as_str(), source_key], |row| row.get(0))
                .optional()?)
        })
        .await
    }

    async fn target_ids(
        &self,
        kind: ObjectKind,
        source_keys: &[String],
    ) -> Result<HashMap<String, String>> {
        let source_keys = source_keys.to_vec();
        self.with_conn(move |conn| {
            let mut found = HashMap::with_capacity(source_keys.len());
            for chunk in in_chunks(&source_keys) {
                let sql = format!(
                    "SELECT source_key, target_id FROM id_map WHERE kind = ? AND source_key IN ({})",
                    chunk.marks
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let values = std::iter::once(kind.as_str()).chain(chunk.values.iter().map(|v| v.as_str()));
                let mut rows = stmt.query(params_from_iter(values))?;
                while let Some(row) = rows.next()? {
                    found.insert(row.get(0)?, row.get(1)?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn source_keys(&self, kind: ObjectKind, target_id: &str) -> Result<Vec<String>> {
        let target_id = target_id.to_owned();
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT source_key FROM id_map WHERE kind = ?1 AND target_id = ?2 ORDER BY source_key",
            )?;
            let keys = stmt
                .query_map(params![kind.as_str(), target_id], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(keys)
        })
        .await
    }

    async fn id_map_page(
        &self,
        kind: ObjectKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IdMapping>> {
        let after = after.map(str::to_owned);
        self.with_conn(move |conn| {
            // SQLite's BINARY collation is byte order, as the trait promises.
            let mut stmt = conn.prepare_cached(
                "SELECT source_key, target_id FROM id_map
                 WHERE kind = ?1 AND (?2 IS NULL OR source_key > ?2)
                 ORDER BY source_key LIMIT ?3",
            )?;
            let page = stmt
                .query_map(params![kind.as_str(), after, limit], |row| {
                    Ok(IdMapping::new(
                        kind,
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<IdMapping>>>()?;
            Ok(page)
        })
        .await
    }

    async fn source_keys_of(
        &self,
        kind: ObjectKind,
        target_ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>> {
        // Each id once, so that no key is listed twice across chunks.
        let mut target_ids = target_ids.to_vec();
        target_ids.sort_unstable();
        target_ids.dedup();
        self.with_conn(move |conn| {
            let mut found: HashMap<String, Vec<String>> = HashMap::new();
            for chunk in in_chunks(&target_ids) {
                let sql = format!(
                    "SELECT target_id, source_key FROM id_map WHERE kind = ? AND target_id IN ({})
                     ORDER BY target_id, source_key",
                    chunk.marks
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let values =
                    std::iter::once(kind.as_str()).chain(chunk.values.iter().map(|v| v.as_str()));
                let mut rows = stmt.query(params_from_iter(values))?;
                while let Some(row) = rows.next()? {
                    found.entry(row.get(0)?).or_default().push(row.get(1)?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn hashes(
        &self,
        kind: ObjectKind,
        target_ids: &[String],
    ) -> Result<HashMap<String, ContentHash>> {
        let target_ids = target_ids.to_vec();
        self.with_conn(move |conn| {
            let mut found = HashMap::with_capacity(target_ids.len());
            for chunk in in_chunks(&target_ids) {
                let sql = format!(
                    "SELECT target_id, hash FROM content_hashes WHERE kind = ? AND target_id IN ({})",
                    chunk.marks
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let values = std::iter::once(kind.as_str()).chain(chunk.values.iter().map(|v| v.as_str()));
                let mut rows = stmt.query(params_from_iter(values))?;
                while let Some(row) = rows.next()? {
                    found.insert(row.get(0)?, ContentHash::from_hex(row.get(1)?));
                }
            }
            Ok(found)
        })
        .await
    }

    async fn cursor(&self, object: ObjectKind) -> Result<Option<Cursor>> {
        self.with_conn(move |conn| {
            let raw = conn
                .prepare_cached(
                    "SELECT last_modified, last_key, run_id, committed_at FROM cursors WHERE object = ?1",
                )?
                .query_row(params![object.as_str()], |row| {
                    Ok((
                        row.get::<_, Option<i64>>(0)?,
                        row.get::<_, Option<String>>(1)?,
                        row.get::<_, Option<String>>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .optional()?;
            raw.map(|(last_modified, last_key, run_id, committed_at)| {
                Ok(Cursor {
                    object,
                    last_modified: last_modified.map(|t| time("cursors.last_modified", t)).transpose()?,
                    last_key,
                    run_id: run_id.map(|r| parse("cursors.run_id", r)).transpose()?,
                    committed_at: time("cursors.committed_at", committed_at)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn member_statuses(
        &self,
        emails: &[String],
    ) -> Result<HashMap<String, MemberStatusRecord>> {
        let emails: Vec<String> = emails.iter().map(|e| normalize_email(e)).collect();
        self.with_conn(move |conn| {
            let mut found = HashMap::with_capacity(emails.len());
            for chunk in in_chunks(&emails) {
                let sql = format!(
                    "SELECT email, status, reason, recorded_at FROM member_statuses WHERE email IN ({})",
                    chunk.marks
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params_from_iter(chunk.values))?;
                while let Some(row) = rows.next()? {
                    let record = MemberStatusRecord {
                        email: row.get(0)?,
                        status: parse("member_statuses.status", row.get::<_, String>(1)?)?,
                        reason: row.get(2)?,
                        recorded_at: time("member_statuses.recorded_at", row.get(3)?)?,
                    };
                    found.insert(record.email.clone(), record);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn member_status_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MemberStatusRecord>> {
        let after = after.map(str::to_owned);
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT email, status, reason, recorded_at FROM member_statuses
                 WHERE ?1 IS NULL OR email > ?1 ORDER BY email LIMIT ?2",
            )?;
            let mut rows = stmt.query(params![after, limit])?;
            let mut page = Vec::new();
            while let Some(row) = rows.next()? {
                page.push(MemberStatusRecord {
                    email: row.get(0)?,
                    status: parse("member_statuses.status", row.get::<_, String>(1)?)?,
                    reason: row.get(2)?,
                    recorded_at: time("member_statuses.recorded_at", row.get(3)?)?,
                });
            }
            Ok(page)
        })
        .await
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>> {
        let query = query.clone();
        self.with_conn(move |conn| {
            let mut clauses = Vec::new();
            let mut values: Vec<SqlValue> = Vec::new();
            if let Some(run_id) = query.run_id {
                clauses.push("run_id = ?");
                values.push(SqlValue::Text(run_id.to_string()));
            }
            if let Some(outcome) = query.outcome {
                clauses.push("outcome = ?");
                values.push(SqlValue::Text(outcome.as_str().to_owned()));
            }
            if let Some(source_key) = query.source_key {
                clauses.push("source_key = ?");
                values.push(SqlValue::Text(source_key));
            }
            if let Some(object) = query.object {
                clauses.push("object = ?");
                values.push(SqlValue::Text(object.as_str().to_owned()));
            }
            if let Some(after) = query.after {
                clauses.push("id > ?");
                values.push(SqlValue::Integer(after.get()));
            }
            if let Some(before) = query.before {
                clauses.push("id < ?");
                values.push(SqlValue::Integer(before.get()));
            }
            values.push(SqlValue::Integer(i64::from(query.limit)));
            select_audit_ordered(conn, &clauses, values, query.newest_first)
        })
        .await
    }

    async fn audit_row(&self, id: AuditId) -> Result<Option<AuditRow>> {
        self.with_conn(move |conn| {
            let rows = select_audit(
                conn,
                &["id = ?"],
                vec![SqlValue::Integer(id.get()), SqlValue::Integer(1)],
            )?;
            Ok(rows.into_iter().next())
        })
        .await
    }

    async fn pending_replays(&self, filter: &ReplayFilter, limit: u32) -> Result<Vec<AuditRow>> {
        let filter = filter.clone();
        self.with_conn(move |conn| {
            let mut clauses = QUEUED.to_vec();
            let mut values = Vec::new();
            match filter {
                ReplayFilter::All => {}
                ReplayFilter::Row(id) => {
                    clauses.push("id = ?");
                    values.push(SqlValue::Integer(id.get()));
                }
                ReplayFilter::Run(run_id) => {
                    clauses.push("run_id = ?");
                    values.push(SqlValue::Text(run_id.to_string()));
                }
                ReplayFilter::Object(object) => {
                    clauses.push("object = ?");
                    values.push(SqlValue::Text(object.as_str().to_owned()));
                }
            }
            values.push(SqlValue::Integer(i64::from(limit)));
            select_audit(conn, &clauses, values)
        })
        .await
    }

    async fn due_retries(
        &self,
        object: ObjectKind,
        now: DateTime<Utc>,
        after: Option<AuditId>,
        limit: u32,
    ) -> Result<Vec<AuditRow>> {
        self.with_conn(move |conn| {
            select_audit(
                conn,
                &[
                    QUEUED[0],
                    QUEUED[1],
                    QUEUED[2],
                    "dead_at IS NULL",
                    "(retry_after IS NULL OR retry_after <= ?)",
                    "object = ?",
                    "id > ?",
                ],
                vec![
                    SqlValue::Integer(now.timestamp_micros()),
                    SqlValue::Text(object.as_str().to_owned()),
                    SqlValue::Integer(after.map_or(0, |a| a.get())),
                    SqlValue::Integer(i64::from(limit)),
                ],
            )
        })
        .await
    }

    async fn queued_rows(
        &self,
        object: ObjectKind,
        source_keys: &[String],
    ) -> Result<Vec<AuditRow>> {
        let keys = source_keys.to_vec();
        self.with_conn(move |conn| {
            let mut out = Vec::new();
            for chunk in in_chunks(&keys) {
                let in_keys = format!("source_key IN ({})", chunk.marks);
                let mut values = vec![SqlValue::Text(object.as_str().to_owned())];
                values.extend(chunk.values.iter().map(|k| SqlValue::Text((*k).clone())));
                values.push(SqlValue::Integer(i64::MAX));
                out.extend(select_audit(
                    conn,
                    &[QUEUED[0], QUEUED[1], QUEUED[2], "object = ?", &in_keys],
                    values,
                )?);
            }
            out.sort_by_key(|r| r.id);
            Ok(out)
        })
        .await
    }

    async fn member_intents(&self, emails: &[String]) -> Result<HashMap<String, MemberStatus>> {
        let emails: Vec<String> = emails.iter().map(|e| normalize_email(e)).collect();
        self.with_conn(move |conn| {
            let mut out = HashMap::new();
            for chunk in in_chunks(&emails) {
                let sql = format!(
                    "SELECT email, status FROM member_intents WHERE email IN ({})",
                    chunk.marks
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params_from_iter(chunk.values))?;
                while let Some(row) = rows.next()? {
                    let email: String = row.get(0)?;
                    let status = parse("member_intents.status", row.get::<_, String>(1)?)?;
                    out.insert(email, status);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn mark_resolved(&self, original: AuditId, by: AuditId) -> Result<bool> {
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            for id in [original, by] {
                if !audit_exists(&tx, id)? {
                    return Err(StateError::NotFound {
                        what: "audit row",
                        id: id.to_string(),
                    });
                }
            }
            let changed = resolve(&tx, original, by, Utc::now())?;
            tx.commit()?;
            Ok(changed)
        })
        .await
    }

    async fn start_run(&self, run: &RunStart) -> Result<()> {
        let run = run.clone();
        self.with_conn(move |conn| {
            let objects: Vec<&str> = run.objects.iter().map(ObjectKind::as_str).collect();
            conn.prepare_cached(
                "INSERT INTO runs (id, objects, trigger, status, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                run.id.to_string(),
                objects.join(","),
                run.trigger.as_str(),
                RunStatus::Running.as_str(),
                run.started_at.timestamp_micros(),
            ])?;
            Ok(())
        })
        .await
    }

    async fn finish_run(
        &self,
        id: RunId,
        status: RunStatus,
        error: Option<String>,
    ) -> Result<RunRecord> {
        self.with_conn(move |conn| {
            let changed = conn
                .prepare_cached(
                    "UPDATE runs SET status = ?2, error = ?3, finished_at = ?4 WHERE id = ?1",
                )?
                .execute(params![
                    id.to_string(),
                    status.as_str(),
                    error,
                    Utc::now().timestamp_micros()
                ])?;
            if changed == 0 {
                return Err(StateError::NotFound {
                    what: "run",
                    id: id.to_string(),
                });
            }
            select_runs(conn, RunsWhere::Id(id), 1)?
                .pop()
                .ok_or_else(|| StateError::NotFound {
                    what: "run",
                    id: id.to_string(),
                })
        })
        .await
    }

    async fn run(&self, id: RunId) -> Result<Option<RunRecord>> {
        self.with_conn(move |conn| Ok(select_runs(conn, RunsWhere::Id(id), 1)?.pop()))
            .await
    }

    async fn recent_runs(&self, limit: u32) -> Result<Vec<RunRecord>> {
        self.with_conn(move |conn| select_runs(conn, RunsWhere::All, limit))
            .await
    }

    async fn latest_completed_run(
        &self,
        trigger: RunTrigger,
        object: ObjectKind,
    ) -> Result<Option<RunRecord>> {
        self.with_conn(move |conn| {
            Ok(select_runs(conn, RunsWhere::Completed(trigger, object), 1)?.pop())
        })
        .await
    }

    async fn record_delivery(&self, key: &str, seen_at: DateTime<Utc>) -> Result<bool> {
        let key = key.to_owned();
        self.with_conn(move |conn| {
            let inserted = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO webhook_deliveries (key, seen_at) VALUES (?1, ?2)",
                )?
                .execute(params![key, seen_at.timestamp_micros()])?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn prune_history(&self, cutoffs: PruneCutoffs, limit: u32) -> Result<Pruned> {
        let limit = limit.max(1);
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Rows of one prune may point at each other; checked once, at commit.
            tx.execute_batch("PRAGMA defer_foreign_keys = ON")?;
            let (audit, more_audit) = prune_audit(&tx, cutoffs.audit_before, limit)?;
            let (runs, more_runs) = prune_runs(&tx, cutoffs.runs_before, limit)?;
            tx.commit()?;
            if audit + runs > 0 {
                // The pragma frees one page per step: step it to the end.
                let mut stmt =
                    conn.prepare_cached(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES})"))?;
                let mut rows = stmt.query([])?;
                while rows.next()?.is_some() {}
            }
            Ok(Pruned::new(audit, runs, more_audit || more_runs))
        })
        .await
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        self.with_conn(move |conn| {
            let removed = conn
                .prepare_cached("DELETE FROM webhook_deliveries WHERE seen_at < ?1")?
                .execute(params![before.timestamp_micros()])?;
            Ok(removed as u64)
        })
        .await
    }
}

/// Pages `PRAGMA incremental_vacuum` gives back after a prune (16 MiB at 4 KiB pages): more
/// than one prune transaction frees, so the free list never builds up, and bounded so the
/// vacuum stays short.
const VACUUM_PAGES: u32 = 4096;

/// The audit rows retention may delete: old enough, not queued, not a failed or deferred replay
/// of a row still queued, and, if resolved, resolved long enough ago. Oldest first.
const PRUNABLE_AUDIT: &str = "
    SELECT id, replay_of, resolved_by FROM audit AS a
    WHERE finished_at < ?1
      AND (resolved_at IS NULL OR resolved_at < ?1)
      AND NOT (outcome IN ('failed', 'deferred') AND replay_of IS NULL AND resolved_by IS NULL)
      AND NOT (outcome IN ('failed', 'deferred') AND replay_of IS NOT NULL
               AND EXISTS (SELECT 1 FROM audit AS o
                           WHERE o.id = a.replay_of AND o.resolved_by IS NULL))
    ORDER BY finished_at LIMIT ?2";

/// Deletes up to `limit` prunable audit rows (see [`PRUNABLE_AUDIT`]) that no surviving row
/// points at; returns how many, and whether the limit was reached.
fn prune_audit(
    tx: &Transaction<'_>,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<(u64, bool), StateError> {
    // (from, to): `from` points at `to` through replay_of or resolved_by.
    let mut edges: Vec<(i64, i64)> = Vec::new();
    let mut doomed: HashSet<i64> = HashSet::new();
    {
        let mut stmt = tx.prepare_cached(PRUNABLE_AUDIT)?;
        let mut rows = stmt.query(params![before.timestamp_micros(), limit])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            doomed.insert(id);
            for to in [row.get::<_, Option<i64>>(1)?, row.get(2)?]
                .into_iter()
                .flatten()
            {
                edges.push((id, to));
            }
        }
    }
    let full = doomed.len() as u64 >= u64::from(limit);
    let ids: Vec<i64> = doomed.iter().copied().collect();
    for chunk in in_chunks(&ids) {
        for column in ["replay_of", "resolved_by"] {
            let sql = format!(
                "SELECT id, {column} FROM audit WHERE {column} IN ({})",
                chunk.marks
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            let mut rows = stmt.query(params_from_iter(&chunk.values))?;
            while let Some(row) = rows.next()? {
                edges.push((row.get(0)?, row.get(1)?));
            }
        }
    }
    // A row pointed at by a row that stays, stays; which may keep the rows it points at.
    loop {
        let kept: Vec<i64> = edges
            .iter()
            .filter(|(from, to)| doomed.contains(to) && !doomed.contains(from))
            .map(|(_, to)| *to)
            .collect();
        if kept.is_empty() {
            break;
        }
        for id in kept {
            doomed.remove(&id);
        }
    }
    let ids: Vec<i64> = doomed.into_iter().collect();
    let mut deleted = 0;
    for chunk in in_chunks(&ids) {
        let sql = format!("DELETE FROM audit WHERE id IN ({})", chunk.marks);
        deleted += tx
            .prepare_cached(&sql)?
            .execute(params_from_iter(chunk.values))? as u64;
    }
    Ok((deleted, full))
}

/// Deletes up to `limit` runs that finished before `before` and have no audit row left.
fn prune_runs(
    tx: &Transaction<'_>,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<(u64, bool), StateError> {
    let deleted = tx
        .prepare_cached(
            "DELETE FROM runs WHERE id IN (
                 SELECT id FROM runs AS r
                 WHERE finished_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM audit WHERE audit.run_id = r.id)
                 ORDER BY finished_at LIMIT ?2)",
        )?
        .execute(params![before.timestamp_micros(), limit])? as u64;
    Ok((deleted, deleted >= u64::from(limit)))
}

/// The object's last token, and its lease unless released.
fn select_lease(
    conn: &Connection,
    object: ObjectKind,
) -> Result<(Option<FencingToken>, Option<Lease>), StateError> {
    type Raw = (
        i64,
        Option<String>,
        Option<String>,
        Option<u32>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let raw: Option<Raw> = conn
        .prepare_cached(
            "SELECT token, holder_id, host, pid, acquired_at, heartbeat_at, expires_at
             FROM leases WHERE object = ?1",
        )?
        .query_row(params![object.as_str()], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
            ))
        })
        .optional()?;
    let Some((token, holder_id, host, pid, acquired, heartbeat, expires)) = raw else {
        return Ok((None, None));
    };
    let token = FencingToken::new(u64::try_from(token).map_err(|_| StateError::Corrupt {
        column: "leases.token",
        value: token.to_string(),
    })?);
    let lease = match (holder_id, host, pid, acquired, heartbeat, expires) {
        (Some(id), Some(host), Some(pid), Some(acquired), Some(heartbeat), Some(expires)) => {
            Some(Lease {
                object,
                holder: LeaseHolder::from_parts(id, host, pid),
                token,
                acquired_at: time("leases.acquired_at", acquired)?,
                heartbeat_at: time("leases.heartbeat_at", heartbeat)?,
                expires_at: time("leases.expires_at", expires)?,
            })
        }
        _ => None,
    };
    Ok((Some(token), lease))
}

/// `Ok(Err(lost))` unless `token` is the current token of a lease on `object` that is not
/// released. An expired lease nobody took over is still current: no other writer can have
/// committed since.
fn check_fence(
    tx: &Transaction<'_>,
    object: ObjectKind,
    token: FencingToken,
) -> Result<Result<(), LeaseError>, StateError> {
    let (_, lease) = select_lease(tx, object)?;
    let current = lease.map(|l| l.token);
    Ok(if current == Some(token) {
        Ok(())
    } else {
        Err(LeaseError::Lost {
            object,
            token,
            current,
        })
    })
}

/// Now, to the microsecond the store keeps, so a returned lease equals the stored one.
fn stored_now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .and_then(|t| DateTime::from_timestamp_micros(t.timestamp_micros()))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn token_value(token: FencingToken) -> Result<i64, StateError> {
    i64::try_from(token.get()).map_err(|_| StateError::Corrupt {
        column: "leases.token",
        value: token.to_string(),
    })
}

/// Applies every change of `batch` inside `tx`, in the documented order.
fn apply_in(tx: &Transaction<'_>, batch: StateBatch) -> Result<BatchReceipt, StateError> {
    if let Some((key, seen_at)) = &batch.delivery {
        let inserted = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO webhook_deliveries (key, seen_at) VALUES (?1, ?2)",
            )?
            .execute(params![key, seen_at.timestamp_micros()])?;
        if inserted == 0 {
            return Ok(BatchReceipt {
                duplicate_delivery: true,
                ..BatchReceipt::default()
            });
        }
    }
    let now = Utc::now();
    let now_us = now.timestamp_micros();
    {
        let mut stmt =
            tx.prepare_cached("DELETE FROM id_map WHERE kind = ?1 AND source_key = ?2")?;
        for (kind, key) in &batch.unmapped {
            stmt.execute(params![kind.as_str(), key])?;
        }
    }
    ID_MAP.run(tx, &batch.mappings, |m, out| {
        out.extend([
            m.kind.as_str().into(),
            m.source_key.as_str().into(),
            m.target_id.as_str().into(),
            now_us.into(),
        ]);
    })?;
    {
        let mut stmt =
            tx.prepare_cached("DELETE FROM content_hashes WHERE kind = ?1 AND target_id = ?2")?;
        for (kind, id) in &batch.forgotten_hashes {
            stmt.execute(params![kind.as_str(), id])?;
        }
    }
    CONTENT_HASHES.run(tx, &batch.hashes, |(kind, id, hash), out| {
        out.extend([
            kind.as_str().into(),
            id.as_str().into(),
            hash.as_str().into(),
            now_us.into(),
        ]);
    })?;
    MEMBER_STATUSES.run(tx, &batch.member_statuses, |r, out| {
        out.extend([
            normalize_email(&r.email).into(),
            r.status.as_str().into(),
            ToSqlOutput::Borrowed(r.reason.as_deref().into()),
            r.recorded_at.timestamp_micros().into(),
        ]);
    })?;
    MEMBER_INTENTS.run(tx, &batch.intents, |(email, status), out| {
        out.extend([
            normalize_email(email).into(),
            status.as_str().into(),
            now_us.into(),
        ]);
    })?;
    let mut receipt = BatchReceipt::default();
    let mut queued = QueuedObjects::default();
    if batch.audit.iter().any(|a| a.row.replay_of.is_some()) {
        // A replay's original is followed to its root before the row goes in: one by one.
        for row in batch.audit {
            let (id, resolved) = insert_audit(tx, row, now, &mut queued)?;
            receipt.audit_ids.push(id);
            receipt.resolved.extend(resolved);
        }
    } else {
        (receipt.audit_ids, receipt.resolved) = insert_audit_page(tx, batch.audit, now)?;
    }
    for mark in &batch.retries {
        mark_retried(tx, mark, now, &mut receipt)?;
    }
    {
        let mut stmt =
            tx.prepare_cached("UPDATE runs SET unchanged = unchanged + ?2 WHERE id = ?1")?;
        for (run_id, n) in &batch.unchanged {
            stmt.execute(params![
                run_id.to_string(),
                i64::try_from(*n).unwrap_or(i64::MAX)
            ])?;
        }
    }
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO cursors (object, last_modified, last_key, run_id, committed_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (object) DO UPDATE
             SET last_modified = excluded.last_modified, last_key = excluded.last_key,
                 run_id = excluded.run_id, committed_at = excluded.committed_at",
        )?;
        for c in &batch.cursors {
            stmt.execute(params![
                c.object.as_str(),
                c.last_modified.map(|t| t.timestamp_micros()),
                c.last_key,
                c.run_id.map(|r| r.to_string()),
                c.committed_at.timestamp_micros()
            ])?;
        }
    }
    Ok(receipt)
}

const ID_MAP: MultiInsert = MultiInsert {
    head: "INSERT INTO id_map (kind, source_key, target_id, updated_at) VALUES",
    columns: 4,
    tail: "ON CONFLICT (kind, source_key) DO UPDATE
           SET target_id = excluded.target_id, updated_at = excluded.updated_at",
};

const CONTENT_HASHES: MultiInsert = MultiInsert {
    head: "INSERT INTO content_hashes (kind, target_id, hash, updated_at) VALUES",
    columns: 4,
    tail: "ON CONFLICT (kind, target_id) DO UPDATE
           SET hash = excluded.hash, updated_at = excluded.updated_at",
};

const MEMBER_STATUSES: MultiInsert = MultiInsert {
    head: "INSERT INTO member_statuses (email, status, reason, recorded_at) VALUES",
    columns: 4,
    tail: "ON CONFLICT (email) DO UPDATE
           SET status = excluded.status, reason = excluded.reason,
               recorded_at = excluded.recorded_at",
};

const MEMBER_INTENTS: MultiInsert = MultiInsert {
    head: "INSERT INTO member_intents (email, status, recorded_at) VALUES",
    columns: 3,
    tail: "ON CONFLICT (email) DO UPDATE
           SET status = excluded.status, recorded_at = excluded.recorded_at",
};

const AUDIT: MultiInsert = MultiInsert {
    head: "INSERT INTO audit (run_id, object, source_key, system, method, path, payload, outcome,
                              error, attempts, started_at, finished_at, replay_of, target) VALUES",
    columns: 14,
    tail: "",
};

/// An audit row ready to bind: its owned values computed once.
struct AuditValues {
    row: NewAuditRow,
    run_id: String,
    payload: Option<String>,
}

impl AuditValues {
    fn new(mut pending: PendingAudit) -> Result<Self, StateError> {
        Ok(Self {
            run_id: pending.row.run_id.to_string(),
            payload: pending.payload_text()?,
            row: pending.row,
        })
    }

    fn bind<'a>(&'a self, out: &mut Vec<ToSqlOutput<'a>>) {
        let row = &self.row;
        let op = row.operation.as_ref();
        out.extend([
            self.run_id.as_str().into(),
            row.object.as_str().into(),
            row.source_key.as_str().into(),
            ToSqlOutput::Borrowed(op.map(|o| o.system.as_str()).into()),
            ToSqlOutput::Borrowed(op.map(|o| o.method.as_str()).into()),
            ToSqlOutput::Borrowed(op.map(|o| o.path.as_str()).into()),
            ToSqlOutput::Borrowed(self.payload.as_deref().into()),
            row.outcome.as_str().into(),
            ToSqlOutput::Borrowed(row.error.as_deref().into()),
            row.attempts.into(),
            row.started_at.timestamp_micros().into(),
            row.finished_at.timestamp_micros().into(),
            row.replay_of
                .map_or(ToSqlOutput::Owned(SqlValue::Null), |r| r.get().into()),
            ToSqlOutput::Borrowed(row.target.map(|t| t.as_str()).into()),
        ]);
    }
}

/// Inserts a batch's audit rows, none of them a replay, in a few statements, then lets each
/// successful row with a target supersede the earlier queued rows of its target: the same
/// outcome as [`insert_audit`] row by row. Returns the new ids in order and the rows resolved.
fn insert_audit_page(
    tx: &Transaction<'_>,
    rows: Vec<PendingAudit>,
    now: DateTime<Utc>,
) -> Result<(Vec<AuditId>, Vec<AuditId>), StateError> {
    let rows = rows
        .into_iter()
        .map(AuditValues::new)
        .collect::<Result<Vec<_>, _>>()?;
    // Which objects had queued rows before the batch, asked before its rows go in: then, as row
    // by row, only a success after one of the batch's own failures looks for rows to supersede.
    let mut queued = QueuedObjects::default();
    for values in &rows {
        let row = &values.row;
        if row.outcome.is_success() && row.target.is_some() {
            queued.any(tx, row.object)?;
        }
    }
    let ids = AUDIT.run(tx, &rows, AuditValues::bind)?;
    let mut resolved = Vec::new();
    for (values, &id) in rows.iter().zip(&ids) {
        let row = &values.row;
        if row.outcome.is_replayable() {
            queued.add(row.object);
        } else if row.outcome.is_success() {
            if let Some(target) = row.target {
                supersede(
                    tx,
                    AuditId::new(id),
                    row,
                    target,
                    now,
                    &mut queued,
                    &mut resolved,
                )?;
            }
        }
    }
    Ok((ids.into_iter().map(AuditId::new).collect(), resolved))
}

/// Resolves, by the successful row `id`, the earlier queued rows of the same object, source key
/// and `target`, if the object has queued rows at all.
fn supersede(
    tx: &Transaction<'_>,
    id: AuditId,
    row: &NewAuditRow,
    target: TargetRecord,
    now: DateTime<Utc>,
    queued: &mut QueuedObjects,
    resolved: &mut Vec<AuditId>,
) -> Result<(), StateError> {
    if !queued.any(tx, row.object)? {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(SUPERSEDE)?;
    let superseded = stmt.query_map(
        params![
            id.get(),
            now.timestamp_micros(),
            row.object.as_str(),
            row.source_key,
            target.as_str()
        ],
        |r| r.get::<_, i64>(0),
    )?;
    for original in superseded {
        resolved.push(AuditId::new(original?));
    }
    Ok(())
}

/// Resolves the queued rows of the same target record that a successful write supersedes. Its
/// `WHERE` repeats `audit_queued_by_target`'s, so SQLite searches that small partial index.
const SUPERSEDE: &str = "UPDATE audit SET resolved_by = ?1, resolved_at = ?2
     WHERE object = ?3 AND source_key = ?4 AND target = ?5 AND id < ?1
       AND replay_of IS NULL AND resolved_by IS NULL
       AND outcome IN ('failed', 'deferred')
     RETURNING id";

/// Room for every statement the store prepares (about 40, and the multi-row inserts' 25: five
/// tables in five row counts): with rusqlite's default of 16 a page's writes evicted each other
/// and were compiled again on every page.
const STATEMENT_CACHE: usize = 128;

fn keep_statements(conn: &Connection) {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
}

/// Which objects have queued rows a successful write could supersede, asked once per object
/// and batch: on a run without failures no write then runs [`SUPERSEDE`] (a statement per
/// audited write, about a tenth of the connector's CPU on the forward path).
#[derive(Default)]
struct QueuedObjects(Vec<(ObjectKind, bool)>);

impl QueuedObjects {
    fn any(&mut self, tx: &Transaction<'_>, object: ObjectKind) -> Result<bool, StateError> {
        if let Some((_, queued)) = self.0.iter().find(|(o, _)| *o == object) {
            return Ok(*queued);
        }
        let queued = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM audit INDEXED BY audit_queued_by_target
                 WHERE object = ?1 AND replay_of IS NULL AND resolved_by IS NULL
                   AND outcome IN ('failed', 'deferred'))",
            )?
            .query_row(params![object.as_str()], |r| r.get(0))?;
        self.0.push((object, queued));
        Ok(queued)
    }

    /// A row this batch queued itself.
    fn add(&mut self, object: ObjectKind) {
        match self.0.iter_mut().find(|(o, _)| *o == object) {
            Some((_, queued)) => *queued = true,
            None => self.0.push((object, true)),
        }
    }
}

/// Inserts one audit row; a successful replay also resolves its original, and a successful row
/// with a target supersedes the earlier queued rows of the same target. Returns the new id and
/// the rows it resolved.
fn insert_audit(
    tx: &Transaction<'_>,
    mut pending: PendingAudit,
    now: DateTime<Utc>,
    queued: &mut QueuedObjects,
) -> Result<(AuditId, Vec<AuditId>), StateError> {
    let row = &mut pending.row;
    if let Some(original) = row.replay_of {
        // Follow a replay of a replay to the original, so the queue has one entry per record.
        let root: Option<Option<i64>> = tx
            .prepare_cached("SELECT replay_of FROM audit WHERE id = ?1")?
            .query_row(params![original.get()], |r| r.get(0))
            .optional()?;
        match root {
            None => {
                return Err(StateError::NotFound {
                    what: "audit row",
                    id: original.to_string(),
                })
            }
            Some(Some(root)) => row.replay_of = Some(AuditId::new(root)),
            Some(None) => {}
        }
    }
    let values = AuditValues::new(pending)?;
    let id = AUDIT.run(tx, std::slice::from_ref(&values), AuditValues::bind)?;
    let id = AuditId::new(id.first().copied().unwrap_or_default());
    let row = values.row;
    if row.outcome.is_replayable() && row.replay_of.is_none() {
        queued.add(row.object);
    }
    let mut resolved = Vec::new();
    if row.outcome.is_success() {
        if let Some(original) = row.replay_of {
            if resolve(tx, original, id, now)? {
                resolved.push(original);
            }
        }
        if let Some(target) = row.target {
            supersede(tx, id, &row, target, now, queued, &mut resolved)?;
        }
    }
    Ok((id, resolved))
}

/// Counts one automatic retry against the queued rows `mark` names.
fn mark_retried(
    tx: &Transaction<'_>,
    mark: &RetryMark,
    now: DateTime<Utc>,
    receipt: &mut BatchReceipt,
) -> Result<(), StateError> {
    let mut select = tx.prepare_cached(
        "SELECT retries FROM audit
         WHERE id = ?1 AND replay_of IS NULL AND resolved_by IS NULL AND dead_at IS NULL
           AND outcome IN ('failed', 'deferred')",
    )?;
    let mut update = tx.prepare_cached(
        "UPDATE audit SET retries = ?2, retry_after = ?3, dead_at = ?4 WHERE id = ?1",
    )?;
    for id in &mark.rows {
        let Some(retries) = select
            .query_row(params![id.get()], |r| r.get::<_, u32>(0))
            .optional()?
        else {
            continue;
        };
        let retries = retries.saturating_add(1);
        let dead = mark.give_up || retries >= mark.policy.max_retries;
        let wait = chrono::Duration::from_std(mark.policy.delay_after(retries))
            .unwrap_or(chrono::Duration::MAX);
        let next = now
            .checked_add_signed(wait)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        update.execute(params![
            id.get(),
            retries,
            next.timestamp_micros(),
            dead.then(|| now.timestamp_micros())
        ])?;
        if dead {
            receipt.dead.push(*id);
        } else {
            receipt.requeued.push(*id);
        }
    }
    Ok(())
}

/// Marks `original` resolved by `by` unless it already is; returns whether it changed.
fn resolve(
    tx: &Transaction<'_>,
    original: AuditId,
    by: AuditId,
    at: DateTime<Utc>,
) -> Result<bool, StateError> {
    let changed = tx
        .prepare_cached(
            "UPDATE audit SET resolved_by = ?2, resolved_at = ?3 WHERE id = ?1 AND resolved_by IS NULL",
        )?
        .execute(params![original.get(), by.get(), at.timestamp_micros()])?;
    Ok(changed == 1)
}

fn audit_exists(tx: &Transaction<'_>, id: AuditId) -> Result<bool, StateError> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM audit WHERE id = ?1")?
        .query_row(params![id.get()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The rows in the replay queue. Written as the `WHERE` of the partial indexes that hold just
/// those rows (`audit_pending`, `audit_queued_by_target`), so SQLite can use them.
const QUEUED: [&str; 3] = [
    "outcome IN ('failed', 'deferred')",
    "replay_of IS NULL",
    "resolved_by IS NULL",
];

/// Selects audit rows matching every clause, oldest first; the last value binds the `LIMIT`.
fn select_audit(
    conn: &Connection,
    clauses: &[&str],
    values: Vec<SqlValue>,
) -> Result<Vec<AuditRow>, StateError> {
    select_audit_ordered(conn, clauses, values, false)
}

/// [`select_audit`], newest first when `newest_first`.
fn select_audit_ordered(
    conn: &Connection,
    clauses: &[&str],
    values: Vec<SqlValue>,
    newest_first: bool,
) -> Result<Vec<AuditRow>, StateError> {
    let order = if newest_first { "DESC" } else { "ASC" };
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT id, run_id, object, source_key, system, method, path, payload, outcome, error,
                attempts, started_at, finished_at, replay_of, resolved_by, resolved_at,
                target, retries, retry_after, dead_at
         FROM audit {filter} ORDER BY id {order} LIMIT ?"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode_audit(row)?);
    }
    Ok(out)
}

fn decode_audit(row: &Row<'_>) -> Result<AuditRow, StateError> {
    let system: Option<String> = row.get(4)?;
    let method: Option<String> = row.get(5)?;
    let path: Option<String> = row.get(6)?;
    let operation = match (system, method, path) {
        (Some(system), Some(method), Some(path)) => Some(TargetOperation {
            system: parse("audit.system", system)?,
            method: Method::parse(&method).ok_or(StateError::Corrupt {
                column: "audit.method",
                value: method,
            })?,
            path,
        }),
        _ => None,
    };
    let payload = row
        .get::<_, Option<String>>(7)?
        .map(|text| {
            serde_json::from_str(&text).map_err(|_| StateError::Corrupt {
                column: "audit.payload",
                value: text,
            })
        })
        .transpose()?;
    let resolved_by: Option<i64> = row.get(14)?;
    let resolved_at: Option<i64> = row.get(15)?;
    let resolution = match (resolved_by, resolved_at) {
        (Some(by), Some(at)) => Some(Resolution {
            by: AuditId::new(by),
            at: time("audit.resolved_at", at)?,
        }),
        _ => None,
    };
    Ok(AuditRow {
        id: AuditId::new(row.get(0)?),
        row: NewAuditRow {
            run_id: parse("audit.run_id", row.get::<_, String>(1)?)?,
            object: parse("audit.object", row.get::<_, String>(2)?)?,
            source_key: row.get(3)?,
            operation,
            payload,
            outcome: parse("audit.outcome", row.get::<_, String>(8)?)?,
            error: row.get(9)?,
            attempts: row.get(10)?,
            started_at: time("audit.started_at", row.get(11)?)?,
            finished_at: time("audit.finished_at", row.get(12)?)?,
            replay_of: row.get::<_, Option<i64>>(13)?.map(AuditId::new),
            target: row
                .get::<_, Option<String>>(16)?
                .map(|t| parse("audit.target", t))
                .transpose()?,
        },
        resolution,
        retry: RetryState {
            retries: row.get(17)?,
            next_at: optional_time("audit.retry_after", row.get(18)?)?,
            dead_at: optional_time("audit.dead_at", row.get(19)?)?,
        },
    })
}

/// Selects one run (`Some(id)`) or the newest `limit` runs, each with its outcome counts.
/// Which runs [`select_runs`] reads.
enum RunsWhere {
    All,
    Id(RunId),
    /// Completed runs of one trigger that covered one object.
    Completed(RunTrigger, ObjectKind),
}

fn select_runs(
    conn: &Connection,
    which: RunsWhere,
    limit: u32,
) -> Result<Vec<RunRecord>, StateError> {
    let (filter, values) = match which {
        RunsWhere::All => ("", Vec::new()),
        RunsWhere::Id(id) => ("WHERE id = ?1", vec![id.to_string()]),
        RunsWhere::Completed(trigger, object) => (
            "WHERE trigger = ?1 AND status = ?2 AND (',' || objects || ',') LIKE ?3",
            vec![
                trigger.as_str().to_owned(),
                RunStatus::Completed.as_str().to_owned(),
                format!("%,{object},%"),
            ],
        ),
    };
    let sql = format!(
        "SELECT id, objects, trigger, status, error, started_at, finished_at, unchanged
         FROM runs {filter}
         ORDER BY started_at DESC, id LIMIT {limit}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    let mut runs = Vec::new();
    while let Some(row) = rows.next()? {
        let objects: String = row.get(1)?;
        let objects = objects
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| parse("runs.objects", s.to_owned()))
            .collect::<Result<Vec<ObjectKind>, _>>()?;
        let trigger: String = row.get(2)?;
        let status: String = row.get(3)?;
        runs.push(RunRecord {
            start: RunStart {
                id: parse("runs.id", row.get::<_, String>(0)?)?,
                objects,
                trigger: parse("runs.trigger", trigger)?,
                started_at: time("runs.started_at", row.get(5)?)?,
            },
            status: parse("runs.status", status)?,
            error: row.get(4)?,
            finished_at: row
                .get::<_, Option<i64>>(6)?
                .map(|t| time("runs.finished_at", t))
                .transpose()?,
            counts: OutcomeCounts {
                unchanged: row.get::<_, i64>(7)?.unsigned_abs(),
                ..OutcomeCounts::default()
            },
        });
    }
    for run in &mut runs {
        let counted = run.counts.unchanged;
        run.counts = count_outcomes(conn, run.start.id)?;
        run.counts.unchanged += counted;
    }
    Ok(runs)
}

fn count_outcomes(conn: &Connection, run_id: RunId) -> Result<OutcomeCounts, StateError> {
    let mut stmt = conn
        .prepare_cached("SELECT outcome, COUNT(*) FROM audit WHERE run_id = ?1 GROUP BY outcome")?;
    let mut rows = stmt.query(params![run_id.to_string()])?;
    let mut counts = OutcomeCounts::default();
    while let Some(row) = rows.next()? {
        let outcome: Outcome = parse("audit.outcome", row.get::<_, String>(0)?)?;
        let n: i64 = row.get(1)?;
        counts.add(outcome, n.unsigned_abs());
    }
    Ok(counts)
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `values` in chunks for `IN (…)` lists, each padded by repeating its last value (which changes
/// nothing in an `IN`) to a power of two between 16 and [`IN_CHUNK`]: a handful of statements
/// then serve pages of every length and stay in the statement cache, where one per distinct
/// length was compiled again and again.
fn in_chunks<T>(values: &[T]) -> impl Iterator<Item = InChunk<'_, T>> {
    values.chunks(IN_CHUNK).map(|chunk| {
        let len = chunk.len().next_power_of_two().clamp(16, IN_CHUNK);
        let mut padded: Vec<&T> = chunk.iter().collect();
        if let Some(last) = chunk.last() {
            padded.resize(len, last);
        }
        InChunk {
            marks: placeholders(padded.len()),
            values: padded,
        }
    })
}

/// One chunk of [`in_chunks`]: its placeholders and its (padded) values.
struct InChunk<'a, T> {
    marks: String,
    values: Vec<&'a T>,
}

fn parse<T: FromStr>(column: &'static str, value: String) -> Result<T, StateError> {
    value
        .parse()
        .map_err(|_| StateError::Corrupt { column, value })
}

fn optional_time(
    column: &'static str,
    micros: Option<i64>,
) -> Result<Option<DateTime<Utc>>, StateError> {
    micros.map(|m| time(column, m)).transpose()
}

fn time(column: &'static str, micros: i64) -> Result<DateTime<Utc>, StateError> {
    DateTime::from_timestamp_micros(micros).ok_or(StateError::Corrupt {
        column,
        value: micros.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_lists_come_in_a_few_lengths_padded_with_their_last_value() {
        let values: Vec<u32> = (0..1_234).collect();
        let chunks: Vec<_> = in_chunks(&values).collect();
        let lengths: Vec<usize> = chunks.iter().map(|c| c.values.len()).collect();
        assert_eq!(lengths, [IN_CHUNK, IN_CHUNK, 256]);
        assert_eq!(chunks[2].marks.matches('?').count(), 256);
        assert_eq!(*chunks[2].values[233], 1_233);
        assert!(chunks[2].values[234..].iter().all(|v| **v == 1_233));
        let few: Vec<_> = in_chunks(&values[..3]).collect();
        assert_eq!(few[0].values.len(), 16);
        assert_eq!(in_chunks::<u32>(&[]).count(), 0);
    }

    #[tokio::test]
    async fn the_replay_queue_is_read_through_the_index_of_queued_rows() {
        let store = SqliteStateStore::open_in_memory().await.unwrap();
        let conn = store.conn.lock().unwrap_or_else(|e| e.into_inner());
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT id FROM audit WHERE {} ORDER BY id LIMIT 50",
            QUEUED.join(" AND ")
        );
        let plan: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // Without it the whole table is scanned: `audit_pending` holds only queued rows, so
        // successful writes do not update it.
        assert!(
            plan.iter().any(|step| step.contains("audit_pending")),
            "{plan:?}"
        );
    }

    #[tokio::test]
    async fn a_successful_write_looks_for_superseded_rows_in_the_queued_rows_index() {
        let store = SqliteStateStore::open_in_memory().await.unwrap();
        let conn = store.conn.lock().unwrap_or_else(|e| e.into_inner());
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {SUPERSEDE}"))
            .unwrap()
            .query_map(params![1, 0, "customers", "C1", "member"], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("audit_queued_by_target")),
            "{plan:?}"
        );
    }
}
