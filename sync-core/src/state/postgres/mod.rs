//! The PostgreSQL implementation of [`StateStore`]: the state of many tenant pairs in one
//! database, for a fleet of workers (feature `postgres`).

mod migrations;
mod prune;
mod read;
mod write;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::batch::{BatchReceipt, StateBatch};
use super::lease::{FencingToken, Lease, LeaseHolder};
use super::retention::{PruneCutoffs, Pruned};
use super::StateStore;
use crate::audit::{AuditId, AuditQuery, AuditRow, ReplayFilter, RunRecord, RunStart};
use crate::error::{LeaseError, Result, StateError, SyncError};
use crate::model::{
    normalize_email, ContentHash, Cursor, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind,
    RunId, RunStatus, RunTrigger,
};
use read::{select_audit, select_lease, select_runs, AuditFilter, RunsWhere};

/// The longest tenant-pair id accepted.
const MAX_PAIR_LEN: usize = 200;

/// How a [`PostgresStateStore`] connects: its pool's size and timeouts.
///
/// ```
/// use std::time::Duration;
/// use sync_core::state::PostgresOptions;
///
/// let options = PostgresOptions::new()
///     .max_connections(4)
///     .connect_timeout(Duration::from_secs(5));
/// assert_eq!(options.connections(), 4);
/// ```
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    max_connections: usize,
    connect_timeout: Duration,
    wait_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl PostgresOptions {
    /// At most 8 connections, 10 seconds to connect, 30 seconds to wait for a free connection.
    #[must_use]
    pub fn new() -> Self {
        Self {
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
            wait_timeout: Duration::from_secs(30),
        }
    }

    /// Sets the pool's size (at least 1). Every store made from it with
    /// [`for_pair`](PostgresStateStore::for_pair) shares these connections.
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets how long opening one connection may take.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long a call waits for a free connection before it fails with
    /// [`StateError::Pool`].
    #[must_use]
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// The pool's size.
    #[must_use]
    pub fn connections(&self) -> usize {
        self.max_connections
    }
}

/// The state store in a PostgreSQL database, shared by many tenant pairs.
///
/// Every row carries the store's tenant-pair id (set at [`connect`](Self::connect)), so any
/// number of pairs share one database and never see each other's state;
/// [`for_pair`](Self::for_pair) makes the store of another pair on the same connection pool.
/// The schema is migrated on connect (versioned, in `state_schema_migrations`, under an advisory
/// lock so many workers may start at once). The tables go into the connection's current schema:
/// give the store a database of its own, or a schema through the URL
/// (`?options=-csearch_path%3Dsync`).
///
/// Semantics are those of [`SqliteStateStore`](crate::SqliteStateStore), and one conformance
/// suite tests both. Differences: writes of one pair are serialised by a per-pair advisory lock
/// (so pages of one pair never deadlock each other) while pairs write in parallel; lease times
/// are the database server's clock, so workers on many hosts judge expiry by one clock; audit
/// ids increase within a pair but are shared by all pairs, so they are not dense. Connections
/// are made without TLS: reach the server over a trusted network or a local socket.
///
/// Cloning is cheap and shares the pool.
///
/// ```no_run
/// # async fn run() -> sync_core::Result<()> {
/// use sync_core::state::PostgresStateStore;
/// use sync_core::{ObjectKind, StateStore};
///
/// let acme = PostgresStateStore::connect("postgres://sync@db.internal/state", "acme").await?;
/// let globex = acme.for_pair("globex")?;
/// let cursor = globex.cursor(ObjectKind::Customers).await?;
/// println!("globex customers synced up to {:?}", cursor.and_then(|c| c.last_modified));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStateStore {
    pool: Pool,
    pair: Arc<str>,
    /// A fleet worker's claim every page commit checks ([`crate::fleet`]).
    claim: Option<ClaimFence>,
    /// Where the database is, for `Debug`: hosts and database name, never the password.
    server: Arc<str>,
}

impl fmt::Debug for PostgresStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStateStore")
            .field("server", &self.server)
            .field("pair", &self.pair)
            .field("claim", &self.claim)
            .finish_non_exhaustive()
    }
}

impl PostgresStateStore {
    /// Connects to the database at `url` (a `postgres://` URL or a `key=value` connection
    /// string) as the tenant pair `pair`, with the default [`PostgresOptions`], and migrates the
    /// schema.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] when `url` or `pair` is invalid; [`StateError::Pool`] or
    /// [`StateError::Postgres`] when the server cannot be reached or the migration fails;
    /// [`StateError::SchemaTooNew`] when a newer build migrated the database.
    pub async fn connect(url: &str, pair: &str) -> Result<Self> {
        Self::connect_with(url, pair, PostgresOptions::new()).await
    }

    /// [`connect`](Self::connect) with the given pool options.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_with(url: &str, pair: &str, options: PostgresOptions) -> Result<Self> {
        let pair = valid_pair(pair)?;
        let config = tokio_postgres::Config::from_str(url).map_err(|e| SyncError::Config {
            what: format!(
                "the state database URL is not a valid PostgreSQL connection string: {e}"
            ),
        })?;
        let server = describe(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(options.connect_timeout))
            .wait_timeout(Some(options.wait_timeout))
            .build()
            .map_err(|e| SyncError::Config {
                what: format!("cannot build the state database pool: {e}"),
            })?;
        let mut client = pool.get().await.map_err(StateError::from)?;
        migrations::migrate(&mut client).await?;
        Ok(Self {
            pool,
            pair,
            claim: None,
            server: server.into(),
        })
    }

    /// The store of another tenant pair, on the same pool and database.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] when `pair` is empty, longer than 200 bytes, or holds control
    /// characters.
    pub fn for_pair(&self, pair: &str) -> Result<Self> {
        Ok(Self {
            pool: self.pool.clone(),
            pair: valid_pair(pair)?,
            claim: None,
            server: Arc::clone(&self.server),
        })
    }

    /// This store with every page commit ([`apply`](StateStore::apply)) fenced by a fleet
    /// worker's claim on the pair's Mailchimp account: refused with [`LeaseError::ClaimLost`]
    /// unless the claim is current and unexpired when the commit runs.
    pub(crate) fn fenced_by_claim(mut self, account: &str, token: FencingToken) -> Self {
        self.claim = Some(ClaimFence {
            account: account.into(),
            token,
        });
        self
    }

    /// The pool, for the fleet's registry and claims.
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The tenant pair this store reads and writes.
    #[must_use]
    pub fn pair(&self) -> &str {
        &self.pair
    }

    /// The schema version this build migrates databases to.
    #[must_use]
    pub fn schema_version() -> i64 {
        migrations::LATEST
    }

    /// The schema version of the connected database.
    ///
    /// # Errors
    ///
    /// [`StateError`] when the read fails.
    pub async fn database_schema_version(&self) -> Result<i64> {
        let client = self.client().await?;
        Ok(migrations::version(&client).await?)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StateError> {
        Ok(self.pool.get().await?)
    }
}

/// Driver errors inside the trait methods, which return [`SyncError`].
impl From<tokio_postgres::Error> for SyncError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::State(StateError::Postgres(err))
    }
}

fn valid_pair(pair: &str) -> Result<Arc<str>> {
    if pair.is_empty() || pair.len() > MAX_PAIR_LEN || pair.chars().any(char::is_control) {
        return Err(SyncError::Config {
            what: format!(
                "tenant pair id {pair:?} must be 1 to {MAX_PAIR_LEN} bytes without control characters"
            ),
        });
    }
    Ok(pair.into())
}

/// `host[:port],…/dbname`, without user or password.
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    format!(
        "{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

/// The database server's clock, to the microsecond the store keeps.
async fn db_now(client: &impl GenericClient) -> Result<DateTime<Utc>, StateError> {
    let micros: i64 = client
        .query_one(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
            &[],
        )
        .await?
        .try_get(0)?;
    read::time("clock_timestamp()", micros)
}

/// Takes the per-pair write lock for the rest of the transaction: one writer per pair at a
/// time, as in SQLite, so concurrent pages of a pair never deadlock on each other's rows.
async fn lock_pair(client: &impl GenericClient, pair: &str) -> Result<(), StateError> {
    client
        .execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&PAIR_LOCK_SPACE, &pair],
        )
        .await?;
    Ok(())
}

/// The claim a fleet worker holds on a pair's Mailchimp account, as its commits carry it.
#[derive(Clone, Debug)]
struct ClaimFence {
    account: Arc<str>,
    token: FencingToken,
}

/// Refuses the transaction's commit unless `claim` is the account's current, unexpired claim
/// and the pair is still registered under that account. `FOR SHARE OF a` makes a takeover
/// (which locks the account row `FOR UPDATE`) skip or wait for this commit, so no commit of an
/// old holder lands after a new holder took the account.
async fn check_claim(
    tx: &impl GenericClient,
    pair: &str,
    claim: &ClaimFence,
) -> Result<(), SyncError> {
    let row = tx
        .query_opt(
            "SELECT a.token,
                    a.expires_at >= (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
             FROM fleet_pairs p JOIN fleet_accounts a ON a.account = p.account
             WHERE p.pair = $1 AND a.account = $2 AND a.holder_id IS NOT NULL
             FOR SHARE OF a",
            &[&pair, &&*claim.account],
        )
        .await?;
    let current = match row {
        Some(row) => {
            let token = FencingToken::new(row.try_get::<_, i64>(0)?.unsigned_abs());
            let live: bool = row.try_get(1)?;
            live.then_some(token)
        }
        None => None,
    };
    if current == Some(claim.token) {
        return Ok(());
    }
    Err(LeaseError::ClaimLost {
        account: claim.account.to_string(),
        pair: Some(pair.to_owned()),
        token: claim.token,
        current,
    }
    .into())
}

/// The first key of the two-key per-pair advisory locks (`"mlcp"`).
const PAIR_LOCK_SPACE: i32 = 0x6d6c_6370;

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

#[async_trait]
impl StateStore for PostgresStateStore {
    async fn apply(&self, batch: StateBatch) -> Result<BatchReceipt> {
        if batch.is_empty() {
            return Ok(BatchReceipt::default());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_pair(&tx, &self.pair).await?;
        if let Some((object, token)) = batch.fence {
            // FOR SHARE: a new holder's acquisition (FOR UPDATE) waits until this commits, and
            // this waits for one under way and then sees its token.
            let row = tx
                .query_opt(
                    "SELECT token FROM leases
                     WHERE pair = $1 AND object = $2 AND holder_id IS NOT NULL FOR SHARE",
                    &[&&*self.pair, &object.as_str()],
                )
                .await?;
            let current = row
                .map(|r| r.try_get::<_, i64>(0))
                .transpose()?
                .map(|t| FencingToken::new(t.unsigned_abs()));
            if current != Some(token) {
                return Err(LeaseError::Lost {
                    object,
                    token,
                    current,
                }
                .into());
            }
        }
        if let Some(claim) = &self.claim {
            check_claim(&tx, &self.pair, claim).await?;
        }
        let receipt = write::apply_in(&tx, &self.pair, batch).await?;
        tx.commit().await?;
        Ok(receipt)
    }

    async fn acquire_lease(
        &self,
        object: ObjectKind,
        holder: &LeaseHolder,
        ttl: Duration,
    ) -> Result<Lease> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Make sure a row exists to lock, so two first acquisitions queue on it.
        tx.execute(
            "INSERT INTO leases (pair, object, token) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
            &[&&*self.pair, &object.as_str()],
        )
        .await?;
        let (token, live) = select_lease(&tx, &self.pair, object, true).await?;
        let now = db_now(&tx).await?;
        if let Some(live) = live.filter(|l| l.expires_at > now) {
            return Err(live.held_error().into());
        }
        let token = FencingToken::new(token.map_or(1, |t| t.get() + 1));
        let lease = Lease {
            object,
            holder: holder.clone(),
            token,
            acquired_at: now,
            heartbeat_at: now,
            expires_at: expiry(now, ttl),
        };
        tx.execute(
            "UPDATE leases SET token = $3, holder_id = $4, host = $5, pid = $6, acquired_at = $7,
                 heartbeat_at = $7, expires_at = $8
             WHERE pair = $1 AND object = $2",
            &[
                &&*self.pair,
                &object.as_str(),
                &token_value(token)?,
                &holder.id(),
                &holder.host(),
                &i64::from(holder.pid()),
                &now.timestamp_micros(),
                &lease.expires_at.timestamp_micros(),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(lease)
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let now = db_now(&tx).await?;
        let expires_at = expiry(now, ttl);
        let changed = tx
            .execute(
                "UPDATE leases SET heartbeat_at = $5, expires_at = $6
                 WHERE pair = $1 AND object = $2 AND token = $3 AND holder_id = $4",
                &[
                    &&*self.pair,
                    &lease.object.as_str(),
                    &token_value(lease.token)?,
                    &lease.holder.id(),
                    &now.timestamp_micros(),
                    &expires_at.timestamp_micros(),
                ],
            )
            .await?;
        if changed == 0 {
            let (_, live) = select_lease(&tx, &self.pair, lease.object, false).await?;
            return Err(LeaseError::Lost {
                object: lease.object,
                token: lease.token,
                current: live.map(|l| l.token),
            }
            .into());
        }
        tx.commit().await?;
        Ok(Lease {
            heartbeat_at: now,
            expires_at,
            ..lease.clone()
        })
    }

    async fn release_lease(&self, lease: &Lease) -> Result<bool> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE leases SET holder_id = NULL, host = NULL, pid = NULL,
                     acquired_at = NULL, heartbeat_at = NULL, expires_at = NULL
                 WHERE pair = $1 AND object = $2 AND token = $3 AND holder_id = $4",
                &[
                    &&*self.pair,
                    &lease.object.as_str(),
                    &token_value(lease.token)?,
                    &lease.holder.id(),
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn lease(&self, object: ObjectKind) -> Result<Option<Lease>> {
        let client = self.client().await?;
        Ok(select_lease(&client, &self.pair, object, false).await?.1)
    }

    async fn target_id(&self, kind: ObjectKind, source_key: &str) -> Result<Option<String>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT target_id FROM id_map WHERE pair = $1 AND kind = $2 AND source_key = $3",
            )
            .await?;
        let row = client
            .query_opt(&stmt, &[&&*self.pair, &kind.as_str(), &source_key])
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn source_keys(&self, kind: ObjectKind, target_id: &str) -> Result<Vec<String>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT source_key FROM id_map WHERE pair = $1 AND kind = $2 AND target_id = $3
                 ORDER BY source_key COLLATE \"C\"",
            )
            .await?;
        let rows = client
            .query(&stmt, &[&&*self.pair, &kind.as_str(), &target_id])
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    async fn id_map_page(
        &self,
        kind: ObjectKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IdMapping>> {
        let client = self.client().await?;
        // "C" collation: byte order, as SQLite's BINARY and the trait promise.
        let stmt = client
            .prepare_cached(
                "SELECT source_key, target_id FROM id_map
                 WHERE pair = $1 AND kind = $2
                   AND ($3::text IS NULL OR source_key COLLATE \"C\" > $3::text COLLATE \"C\")
                 ORDER BY source_key COLLATE \"C\" LIMIT $4",
            )
            .await?;
        let rows = client
            .query(
                &stmt,
                &[&&*self.pair, &kind.as_str(), &after, &i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(IdMapping::new(
                    kind,
                    row.try_get::<_, String>(0)?,
                    row.try_get::<_, String>(1)?,
                ))
            })
            .collect()
    }

    async fn source_keys_of(
        &self,
        kind: ObjectKind,
        target_ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT target_id, source_key FROM id_map
                 WHERE pair = $1 AND kind = $2 AND target_id = ANY($3)
                 ORDER BY target_id, source_key COLLATE \"C\"",
            )
            .await?;
        let rows = client
            .query(&stmt, &[&&*self.pair, &kind.as_str(), &target_ids])
            .await?;
        let mut found: HashMap<String, Vec<String>> = HashMap::new();
        for row in rows {
            found
                .entry(row.try_get(0)?)
                .or_default()
                .push(row.try_get(1)?);
        }
        Ok(found)
    }

    async fn hashes(
        &self,
        kind: ObjectKind,
        target_ids: &[String],
    ) -> Result<HashMap<String, ContentHash>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT target_id, hash FROM content_hashes
                 WHERE pair = $1 AND kind = $2 AND target_id = ANY($3)",
            )
            .await?;
        let rows = client
            .query(&stmt, &[&&*self.pair, &kind.as_str(), &target_ids])
            .await?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in rows {
            found.insert(row.try_get(0)?, ContentHash::from_hex(row.try_get(1)?));
        }
        Ok(found)
    }

    async fn cursor(&self, object: ObjectKind) -> Result<Option<Cursor>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT last_modified, last_key, run_id, committed_at FROM cursors
                 WHERE pair = $1 AND object = $2",
            )
            .await?;
        let Some(row) = client
            .query_opt(&stmt, &[&&*self.pair, &object.as_str()])
            .await?
        else {
            return Ok(None);
        };
        let last_modified: Option<i64> = row.try_get(0)?;
        let run_id: Option<String> = row.try_get(2)?;
        Ok(Some(Cursor {
            object,
            last_modified: read::optional_time("cursors.last_modified", last_modified)?,
            last_key: row.try_get(1)?,
            run_id: run_id
                .map(|r| read::parse("cursors.run_id", r))
                .transpose()?,
            committed_at: read::time("cursors.committed_at", row.try_get(3)?)?,
        }))
    }

    async fn member_statuses(
        &self,
        emails: &[String],
    ) -> Result<HashMap<String, MemberStatusRecord>> {
        let emails: Vec<String> = emails.iter().map(|e| normalize_email(e)).collect();
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT email, status, reason, recorded_at FROM member_statuses
                 WHERE pair = $1 AND email = ANY($2)",
            )
            .await?;
        let rows = client.query(&stmt, &[&&*self.pair, &emails]).await?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in rows {
            let record = read::member_status(&row)?;
            found.insert(record.email.clone(), record);
        }
        Ok(found)
    }

    async fn member_status_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MemberStatusRecord>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT email, status, reason, recorded_at FROM member_statuses
                 WHERE pair = $1
                   AND ($2::text IS NULL OR email COLLATE \"C\" > $2::text COLLATE \"C\")
                 ORDER BY email COLLATE \"C\" LIMIT $3",
            )
            .await?;
        let rows = client
            .query(&stmt, &[&&*self.pair, &after, &i64::from(limit)])
            .await?;
        rows.iter()
            .map(|row| Ok(read::member_status(row)?))
            .collect()
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>> {
        let mut filter = AuditFilter::new(&self.pair);
        if let Some(run_id) = query.run_id {
            filter.bind(|n| format!("run_id = ${n}"), run_id.to_string());
        }
        if let Some(outcome) = query.outcome {
            filter.bind(|n| format!("outcome = ${n}"), outcome.as_str().to_owned());
        }
        if let Some(source_key) = &query.source_key {
            filter.bind(|n| format!("source_key = ${n}"), source_key.clone());
        }
        if let Some(object) = query.object {
            filter.bind(|n| format!("object = ${n}"), object.as_str().to_owned());
        }
        if let Some(after) = query.after {
            filter.bind(|n| format!("id > ${n}"), after.get());
        }
        if let Some(before) = query.before {
            filter.bind(|n| format!("id < ${n}"), before.get());
        }
        filter.newest_first = query.newest_first;
        let client = self.client().await?;
        Ok(select_audit(&client, filter, Some(query.limit)).await?)
    }

    async fn audit_row(&self, id: AuditId) -> Result<Option<AuditRow>> {
        let mut filter = AuditFilter::new(&self.pair);
        filter.bind(|n| format!("id = ${n}"), id.get());
        let client = self.client().await?;
        Ok(select_audit(&client, filter, Some(1))
            .await?
            .into_iter()
            .next())
    }

    async fn pending_replays(&self, filter: &ReplayFilter, limit: u32) -> Result<Vec<AuditRow>> {
        let mut audit = AuditFilter::queued(&self.pair);
        match filter {
            ReplayFilter::All => {}
            ReplayFilter::Row(id) => audit.bind(|n| format!("id = ${n}"), id.get()),
            ReplayFilter::Run(run_id) => {
                audit.bind(|n| format!("run_id = ${n}"), run_id.to_string())
            }
            ReplayFilter::Object(object) => {
                audit.bind(|n| format!("object = ${n}"), object.as_str().to_owned());
            }
        }
        let client = self.client().await?;
        Ok(select_audit(&client, audit, Some(limit)).await?)
    }

    async fn due_retries(
        &self,
        object: ObjectKind,
        now: DateTime<Utc>,
        after: Option<AuditId>,
        limit: u32,
    ) -> Result<Vec<AuditRow>> {
        let mut filter = AuditFilter::queued(&self.pair);
        filter.raw("dead_at IS NULL");
        filter.bind(
            |n| format!("(retry_after IS NULL OR retry_after <= ${n})"),
            now.timestamp_micros(),
        );
        filter.bind(|n| format!("object = ${n}"), object.as_str().to_owned());
        filter.bind(|n| format!("id > ${n}"), after.map_or(0, |a| a.get()));
        let client = self.client().await?;
        Ok(select_audit(&client, filter, Some(limit)).await?)
    }

    async fn queued_rows(
        &self,
        object: ObjectKind,
        source_keys: &[String],
    ) -> Result<Vec<AuditRow>> {
        let mut filter = AuditFilter::queued(&self.pair);
        filter.bind(|n| format!("object = ${n}"), object.as_str().to_owned());
        filter.bind(|n| format!("source_key = ANY(${n})"), source_keys.to_vec());
        let client = self.client().await?;
        Ok(select_audit(&client, filter, None).await?)
    }

    async fn member_intents(&self, emails: &[String]) -> Result<HashMap<String, MemberStatus>> {
        let emails: Vec<String> = emails.iter().map(|e| normalize_email(e)).collect();
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT email, status FROM member_intents WHERE pair = $1 AND email = ANY($2)",
            )
            .await?;
        let rows = client.query(&stmt, &[&&*self.pair, &emails]).await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in rows {
            let email: String = row.try_get(0)?;
            let status = read::parse("member_intents.status", row.try_get::<_, String>(1)?)?;
            out.insert(email, status);
        }
        Ok(out)
    }

    async fn mark_resolved(&self, original: AuditId, by: AuditId) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_pair(&tx, &self.pair).await?;
        for id in [original, by] {
            if !write::audit_exists(&tx, &self.pair, id).await? {
                return Err(StateError::NotFound {
                    what: "audit row",
                    id: id.to_string(),
                }
                .into());
            }
        }
        let changed = write::resolve(&tx, &self.pair, original, by, Utc::now()).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn start_run(&self, run: &RunStart) -> Result<()> {
        let objects: Vec<&str> = run.objects.iter().map(ObjectKind::as_str).collect();
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO runs (pair, id, objects, trigger, status, started_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &&*self.pair,
                    &run.id.to_string(),
                    &objects.join(","),
                    &run.trigger.as_str(),
                    &RunStatus::Running.as_str(),
                    &run.started_at.timestamp_micros(),
                ],
            )
            .await?;
        Ok(())
    }

    async fn finish_run(
        &self,
        id: RunId,
        status: RunStatus,
        error: Option<String>,
    ) -> Result<RunRecord> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE runs SET status = $3, error = $4, finished_at = $5
                 WHERE pair = $1 AND id = $2",
                &[
                    &&*self.pair,
                    &id.to_string(),
                    &status.as_str(),
                    &error,
                    &Utc::now().timestamp_micros(),
                ],
            )
            .await?;
        let not_found = || StateError::NotFound {
            what: "run",
            id: id.to_string(),
        };
        if changed == 0 {
            return Err(not_found().into());
        }
        Ok(select_runs(&client, &self.pair, RunsWhere::Id(id), 1)
            .await?
            .pop()
            .ok_or_else(not_found)?)
    }

    async fn run(&self, id: RunId) -> Result<Option<RunRecord>> {
        let client = self.client().await?;
        Ok(select_runs(&client, &self.pair, RunsWhere::Id(id), 1)
            .await?
            .pop())
    }

    async fn recent_runs(&self, limit: u32) -> Result<Vec<RunRecord>> {
        let client = self.client().await?;
        Ok(select_runs(&client, &self.pair, RunsWhere::All, limit).await?)
    }

    async fn latest_completed_run(
        &self,
        trigger: RunTrigger,
        object: ObjectKind,
    ) -> Result<Option<RunRecord>> {
        let client = self.client().await?;
        Ok(select_runs(
            &client,
            &self.pair,
            RunsWhere::Completed(trigger, object),
            1,
        )
        .await?
        .pop())
    }

    async fn record_delivery(&self, key: &str, seen_at: DateTime<Utc>) -> Result<bool> {
        let client = self.client().await?;
        Ok(write::insert_delivery(&client, &self.pair, key, seen_at).await?)
    }

    async fn prune_history(&self, cutoffs: PruneCutoffs, limit: u32) -> Result<Pruned> {
        let limit = limit.max(1);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_pair(&tx, &self.pair).await?;
        let (audit, more_audit) =
            prune::audit(&tx, &self.pair, cutoffs.audit_before, limit).await?;
        let (runs, more_runs) = prune::runs(&tx, &self.pair, cutoffs.runs_before, limit).await?;
        tx.commit().await?;
        // PostgreSQL's autovacuum gives the space back; nothing to step as in SQLite.
        Ok(Pruned::new(audit, runs, more_audit || more_runs))
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        let client = self.client().await?;
        let removed = client
            .execute(
                "DELETE FROM webhook_deliveries WHERE pair = $1 AND seen_at < $2",
                &[&&*self.pair, &before.timestamp_micros()],
            )
            .await?;
        Ok(removed)
    }
}
