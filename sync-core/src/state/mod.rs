//! Sync state: the id map, content hashes, cursors, member statuses, the audit trail, the replay
//! queue, runs and webhook delivery keys, behind the [`StateStore`] trait.
//!
//! [`SqliteStateStore`] is the embedded default, for one tenant pair. With the `postgres` feature,
//! `PostgresStateStore` keeps the state of many tenant pairs in one PostgreSQL database, for a
//! fleet of workers. The trait is object safe, so the engine holds an `Arc<dyn StateStore>` and
//! does not know which one it has; one conformance suite (`sync-core/tests/state_conformance`)
//! runs the same tests against both.
//!
//! Writes are grouped: the engine hands over one [`StateBatch`] per page of records (hash updates,
//! id-map updates, audit rows and the cursor commit), and the store applies it atomically, so a
//! crash never leaves a cursor ahead of the hashes and audit rows it stands for.
//!
//! One writer per object: a run holds the object's lease ([`StateStore::acquire_lease`],
//! [`LeasePolicy`]) and its page commits carry the lease's [`FencingToken`]
//! ([`StateBatch::fenced`]); see [`lease`] for the contract.

mod batch;
pub mod lease;
mod migrations;
#[cfg(feature = "postgres")]
mod postgres;
pub mod retention;
mod sqlite;
mod sqlite_rows;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::{AuditId, AuditQuery, AuditRow, ReplayFilter, RunRecord, RunStart};
use crate::error::Result;
use crate::model::{
    ContentHash, Cursor, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind, RunId, RunStatus,
    RunTrigger,
};

pub use batch::{BatchReceipt, RetryMark, StateBatch};
pub use lease::{FencingToken, HeldLease, Lease, LeaseHolder, LeasePolicy};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStateStore};
pub use retention::{PruneCutoffs, Pruned, Retention};
pub use sqlite::SqliteStateStore;

/// Persistent sync state.
///
/// Implementations are `Send + Sync` and object safe; methods take `&self` and may be called from
/// many tasks at once. Every write method is atomic.
#[async_trait]
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// Applies a batch atomically: all of it or, on error, none of it.
    ///
    /// Audit rows get their ids in the order given ([`BatchReceipt::audit_ids`]). An audit row
    /// with [`replay_of`](crate::audit::NewAuditRow::replay_of) set and a successful outcome also
    /// marks the original row resolved (if it is not already).
    ///
    /// A batch [fenced](StateBatch::fenced) by a lease applies only while that lease's token is
    /// the object's current one and the lease is not released; the check and the writes are one
    /// transaction.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the write fails, including when a `replay_of`
    /// names no existing row; [`LeaseError::Lost`](crate::LeaseError::Lost) when the batch's
    /// fencing token is no longer current. Nothing is written then.
    async fn apply(&self, batch: StateBatch) -> Result<BatchReceipt>;

    /// Takes the lease on `object` for `holder`, valid for `ttl` from now by the store's clock,
    /// with a fencing token higher than every earlier one of the object.
    ///
    /// Granted when the object has no lease, its lease was released, or its lease expired (a
    /// holder that was killed); refused while another lease is live, even one of the same
    /// holder (one run per object at a time).
    ///
    /// # Errors
    ///
    /// [`LeaseError::Held`](crate::LeaseError::Held) naming the live holder;
    /// [`StateError`](crate::StateError) when the store fails.
    async fn acquire_lease(
        &self,
        object: ObjectKind,
        holder: &LeaseHolder,
        ttl: Duration,
    ) -> Result<Lease>;

    /// Extends `lease` to `ttl` from now (the heartbeat). An expired lease that nobody took over
    /// is still current and renews.
    ///
    /// # Errors
    ///
    /// [`LeaseError::Lost`](crate::LeaseError::Lost) when its token is no longer current (taken
    /// over or released); [`StateError`](crate::StateError) when the store fails.
    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<Lease>;

    /// Releases `lease` so the next writer need not wait for it to expire; the token stays, so
    /// the next acquisition's is higher. Returns `false` when it was no longer current.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the store fails.
    async fn release_lease(&self, lease: &Lease) -> Result<bool>;

    /// The live or expired, not released, lease on `object`, if any.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn lease(&self, object: ObjectKind) -> Result<Option<Lease>>;

    /// The target id mapped to `source_key` for the target `kind`.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn target_id(&self, kind: ObjectKind, source_key: &str) -> Result<Option<String>>;

    /// The target ids mapped to each of `source_keys` for the target `kind` (keys without one are
    /// left out), in one read where the store can.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn target_ids(
        &self,
        kind: ObjectKind,
        source_keys: &[String],
    ) -> Result<HashMap<String, String>> {
        let mut found = HashMap::with_capacity(source_keys.len());
        for key in source_keys {
            if let Some(id) = self.target_id(kind, key).await? {
                found.insert(key.clone(), id);
            }
        }
        Ok(found)
    }

    /// The source keys mapped to `target_id` for the target `kind`, in key order (several QAD
    /// customers can share one email).
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn source_keys(&self, kind: ObjectKind, target_id: &str) -> Result<Vec<String>>;

    /// The source keys mapped to each of `target_ids` for the target `kind`, each list in key
    /// order as [`source_keys`](Self::source_keys) gives it (ids mapped to no key are left out),
    /// in one read where the store can. Ask for a whole page at once.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn source_keys_of(
        &self,
        kind: ObjectKind,
        target_ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>> {
        let mut found = HashMap::with_capacity(target_ids.len());
        for id in target_ids {
            let keys = self.source_keys(kind, id).await?;
            if !keys.is_empty() {
                found.insert(id.clone(), keys);
            }
        }
        Ok(found)
    }

    /// One page of the id map of the target `kind`: at most `limit` mappings whose source key
    /// sorts after `after` (byte order; from the start when `None`), in source-key order. The
    /// lifecycle scan walks the whole map this way, a page at a time, so its memory does not grow
    /// with the number of records.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn id_map_page(
        &self,
        kind: ObjectKind,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IdMapping>>;

    /// The stored content hashes of the given target records of `kind`; ids without a hash are
    /// absent from the map. Ask for a whole page at once.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn hashes(
        &self,
        kind: ObjectKind,
        target_ids: &[String],
    ) -> Result<HashMap<String, ContentHash>>;

    /// The committed cursor of a source object.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn cursor(&self, object: ObjectKind) -> Result<Option<Cursor>>;

    /// The remembered statuses of the given emails (normalised before lookup; the map is keyed
    /// by the normalised email).
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn member_statuses(
        &self,
        emails: &[String],
    ) -> Result<HashMap<String, MemberStatusRecord>>;

    /// One page of the remembered member statuses: at most `limit` whose email sorts after
    /// `after` (byte order; from the start when `None`), in email order. The consent write-back
    /// walks them all this way.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn member_status_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MemberStatusRecord>>;

    /// Audit rows matching `query`, in id order.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>>;

    /// One audit row.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn audit_row(&self, id: AuditId) -> Result<Option<AuditRow>>;

    /// The replay queue: failed and deferred rows that are not themselves replays and are not
    /// resolved (dead ones included: a person may still replay them), in id order, at most
    /// `limit`.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn pending_replays(&self, filter: &ReplayFilter, limit: u32) -> Result<Vec<AuditRow>>;

    /// The queued rows of `object` due for an automatic retry at `now`: failed or deferred, not
    /// replays, unresolved, not dead, and past their backoff; ids above `after`, in id order, at
    /// most `limit`.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn due_retries(
        &self,
        object: ObjectKind,
        now: DateTime<Utc>,
        after: Option<AuditId>,
        limit: u32,
    ) -> Result<Vec<AuditRow>>;

    /// The queued rows (failed or deferred, not replays, unresolved; due or not, dead or not) of
    /// the given source records of `object`, in id order: what a new attempt at those records
    /// answers, so a target keeps one queue entry. Retry marks leave dead rows dead.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn queued_rows(
        &self,
        object: ObjectKind,
        source_keys: &[String],
    ) -> Result<Vec<AuditRow>>;

    /// The statuses the connector meant for the given members when it created them
    /// ([`StateBatch::intend_member_status`]), keyed by normalised email; members it did not
    /// create are absent.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn member_intents(&self, emails: &[String]) -> Result<HashMap<String, MemberStatus>>;

    /// Marks a failed row resolved by `by`; returns `false` if it was already resolved (the
    /// first resolution is kept).
    ///
    /// # Errors
    ///
    /// [`StateError::NotFound`](crate::StateError::NotFound) when either row does not exist.
    async fn mark_resolved(&self, original: AuditId, by: AuditId) -> Result<bool>;

    /// Records a run as started.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the write fails (for example a duplicate id).
    async fn start_run(&self, run: &RunStart) -> Result<()>;

    /// Records a run as finished and returns it with its counts.
    ///
    /// # Errors
    ///
    /// [`StateError::NotFound`](crate::StateError::NotFound) when the run was never started.
    async fn finish_run(
        &self,
        id: RunId,
        status: RunStatus,
        error: Option<String>,
    ) -> Result<RunRecord>;

    /// A run with its audit rows counted by outcome.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn run(&self, id: RunId) -> Result<Option<RunRecord>>;

    /// The most recently started runs, newest first.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn recent_runs(&self, limit: u32) -> Result<Vec<RunRecord>>;

    /// The most recently started run with `trigger` that covered `object` and completed, if
    /// any (history pruned by [`retention`] is gone). The lifecycle's cadence asks when the
    /// object's last full scan was.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the read fails.
    async fn latest_completed_run(
        &self,
        trigger: RunTrigger,
        object: ObjectKind,
    ) -> Result<Option<RunRecord>>;

    /// Records a webhook delivery key; returns `true` if it is new and `false` if it was seen
    /// before (a duplicate delivery to ignore).
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the write fails.
    async fn record_delivery(&self, key: &str, seen_at: DateTime<Utc>) -> Result<bool>;

    /// Forgets delivery keys seen before `before`; returns how many were removed.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the write fails.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64>;

    /// Deletes, in one transaction, at most `limit` audit rows and at most `limit` runs older
    /// than `cutoffs`, keeping what the [`retention`] rules keep whatever its age (queued rows
    /// until resolved, rows a kept row points at, runs still running or with audit rows left);
    /// then returns the freed space to the file system where the store can (SQLite:
    /// `PRAGMA incremental_vacuum`). [`Pruned::more`] says a limit was reached; callers repeat
    /// ([`retention::prune`]) so no transaction holds the write lock for long.
    ///
    /// # Errors
    ///
    /// [`StateError`](crate::StateError) when the write fails; nothing is deleted then.
    async fn prune_history(&self, cutoffs: PruneCutoffs, limit: u32) -> Result<Pruned>;
}
