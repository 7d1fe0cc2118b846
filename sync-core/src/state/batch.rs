//! The unit of writing: everything one page of records changes, applied in one transaction.

use chrono::{DateTime, Utc};

use super::lease::FencingToken;
use crate::audit::{AuditId, NewAuditRow, PendingAudit};
use crate::model::{
    ContentHash, Cursor, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind, RunId,
};
use crate::replay::RetryPolicy;

/// A group of state changes applied atomically by [`StateStore::apply`](crate::StateStore::apply).
///
/// Changes apply in this order: id-map removals, id-map upserts, hash removals, hash upserts,
/// member statuses, member intents, audit rows, retry marks, unchanged counts, cursors. Later
/// entries for the same key win.
///
/// ```
/// use sync_core::{ContentHash, Cursor, IdMapping, ObjectKind, Outcome, RunId, StateBatch};
/// use sync_core::audit::NewAuditRow;
///
/// let run = RunId::new();
/// let batch = StateBatch::new()
///     .map_id(IdMapping::new(ObjectKind::EcommerceCustomers, "C-1001", "C-1001"))
///     .put_hash(ObjectKind::EcommerceCustomers, "C-1001", ContentHash::of_bytes(b"{}"))
///     .audit(NewAuditRow::new(run, ObjectKind::Customers, "C-1001", Outcome::Created))
///     .commit_cursor(Cursor::new(ObjectKind::Customers, None, Some("C-1001".into()), Some(run)));
/// assert_eq!(batch.len(), 4);
/// assert!(!batch.is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct StateBatch {
    pub(crate) unmapped: Vec<(ObjectKind, String)>,
    pub(crate) mappings: Vec<IdMapping>,
    pub(crate) forgotten_hashes: Vec<(ObjectKind, String)>,
    pub(crate) hashes: Vec<(ObjectKind, String, ContentHash)>,
    pub(crate) member_statuses: Vec<MemberStatusRecord>,
    pub(crate) audit: Vec<PendingAudit>,
    pub(crate) cursors: Vec<Cursor>,
    pub(crate) intents: Vec<(String, MemberStatus)>,
    pub(crate) retries: Vec<RetryMark>,
    /// Records found unchanged, counted into their run's row instead of audited one by one.
    pub(crate) unchanged: Vec<(RunId, u64)>,
    /// A webhook delivery key: the batch applies only if the key is new, and records it.
    pub(crate) delivery: Option<(String, DateTime<Utc>)>,
    /// The lease this batch is committed under: it applies only while the token is current.
    pub(crate) fence: Option<(ObjectKind, FencingToken)>,
}

impl StateBatch {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps a source key to a target id (replacing an earlier mapping of the same source key).
    #[must_use]
    pub fn map_id(mut self, mapping: IdMapping) -> Self {
        self.mappings.push(mapping);
        self
    }

    /// Removes the mapping of a source key.
    #[must_use]
    pub fn unmap_id(mut self, kind: ObjectKind, source_key: impl Into<String>) -> Self {
        self.unmapped.push((kind, source_key.into()));
        self
    }

    /// Stores the content hash of a target record.
    #[must_use]
    pub fn put_hash(
        mut self,
        kind: ObjectKind,
        target_id: impl Into<String>,
        hash: ContentHash,
    ) -> Self {
        self.hashes.push((kind, target_id.into(), hash));
        self
    }

    /// Forgets the content hash of a target record, so the next run writes it again.
    #[must_use]
    pub fn forget_hash(mut self, kind: ObjectKind, target_id: impl Into<String>) -> Self {
        self.forgotten_hashes.push((kind, target_id.into()));
        self
    }

    /// Remembers a member's status.
    #[must_use]
    pub fn remember_member_status(mut self, record: MemberStatusRecord) -> Self {
        self.member_statuses.push(record);
        self
    }

    /// Appends an audit row.
    #[must_use]
    pub fn audit(mut self, row: NewAuditRow) -> Self {
        self.audit.push(row.into());
        self
    }

    /// Appends an audit row whose payload is `text`, JSON already redacted
    /// ([`redacted_json`](crate::audit::redacted_json)), in place of the row's own payload.
    #[must_use]
    pub(crate) fn audit_with_payload_text(
        mut self,
        row: NewAuditRow,
        text: Option<String>,
    ) -> Self {
        self.audit.push(PendingAudit { row, text });
        self
    }

    /// Remembers that the connector created the member `email` meaning it to have `status`, so
    /// a later write can put right a status Mailchimp gave it behind the connector's back.
    #[must_use]
    pub fn intend_member_status(mut self, email: impl Into<String>, status: MemberStatus) -> Self {
        self.intents.push((email.into(), status));
        self
    }

    /// Counts one automatic retry against queued rows (failed or deferred, unresolved, not dead;
    /// others are left alone): each waits for its next retry per the mark's policy, or is dead
    /// when its retries are exhausted or the mark gives up.
    #[must_use]
    pub fn retried(mut self, mark: RetryMark) -> Self {
        self.retries.push(mark);
        self
    }

    /// Adds `n` records found unchanged to the run's count
    /// ([`RunRecord::counts`](crate::audit::RunRecord::counts)`.unchanged`) instead of an audit
    /// row each: a record that needed no write leaves no row, so the history grows with what
    /// changed, not with how often the unchanged records are looked at. A run that was never
    /// started is not counted.
    ///
    /// ```
    /// use sync_core::{RunId, StateBatch};
    ///
    /// let batch = StateBatch::new().count_unchanged(RunId::new(), 998);
    /// assert_eq!(batch.len(), 1);
    /// assert!(StateBatch::new().count_unchanged(RunId::new(), 0).is_empty());
    /// ```
    #[must_use]
    pub fn count_unchanged(mut self, run_id: RunId, n: u64) -> Self {
        if n > 0 {
            self.unchanged.push((run_id, n));
        }
        self
    }

    /// Commits a cursor position.
    #[must_use]
    pub fn commit_cursor(mut self, cursor: Cursor) -> Self {
        self.cursors.push(cursor);
        self
    }

    /// Makes the batch conditional on a webhook delivery: it applies only if `key` has not been
    /// recorded yet, and records it in the same transaction. Otherwise nothing is applied and
    /// the receipt's [`duplicate_delivery`](BatchReceipt::duplicate_delivery) is set. Because the
    /// key and the event's effects commit together, a delivery whose effects could not be stored
    /// is not remembered, and the sender's retry is applied.
    #[must_use]
    pub fn once_per_delivery(mut self, key: impl Into<String>, seen_at: DateTime<Utc>) -> Self {
        self.delivery = Some((key.into(), seen_at));
        self
    }

    /// Commits the batch under the lease on `object` with `token`: the store refuses it
    /// ([`LeaseError::Lost`](crate::LeaseError::Lost)) in the same transaction when the token is
    /// no longer the object's current one. The fence is not a change
    /// ([`is_empty`](Self::is_empty) ignores it).
    ///
    /// ```
    /// use sync_core::state::FencingToken;
    /// use sync_core::{Cursor, ObjectKind, StateBatch};
    ///
    /// let batch = StateBatch::new()
    ///     .commit_cursor(Cursor::new(ObjectKind::Items, None, Some("I-1".into()), None))
    ///     .fenced(ObjectKind::Items, FencingToken::new(3));
    /// assert_eq!(batch.fence(), Some((ObjectKind::Items, FencingToken::new(3))));
    /// assert_eq!(batch.len(), 1);
    /// ```
    #[must_use]
    pub fn fenced(mut self, object: ObjectKind, token: FencingToken) -> Self {
        self.fence = Some((object, token));
        self
    }

    /// The lease the batch is committed under, if any.
    #[must_use]
    pub fn fence(&self) -> Option<(ObjectKind, FencingToken)> {
        self.fence
    }

    /// Adds the changes of `other` after those of `self`.
    #[must_use]
    pub fn merge(mut self, other: StateBatch) -> Self {
        self.unmapped.extend(other.unmapped);
        self.mappings.extend(other.mappings);
        self.forgotten_hashes.extend(other.forgotten_hashes);
        self.hashes.extend(other.hashes);
        self.member_statuses.extend(other.member_statuses);
        self.audit.extend(other.audit);
        self.cursors.extend(other.cursors);
        self.intents.extend(other.intents);
        self.retries.extend(other.retries);
        self.unchanged.extend(other.unchanged);
        self.delivery = self.delivery.or(other.delivery);
        self.fence = self.fence.or(other.fence);
        self
    }

    /// The number of changes in the batch.
    #[must_use]
    pub fn len(&self) -> usize {
        self.unmapped.len()
            + self.mappings.len()
            + self.forgotten_hashes.len()
            + self.hashes.len()
            + self.member_statuses.len()
            + self.audit.len()
            + self.cursors.len()
            + self.intents.len()
            + self.retries.len()
            + self.unchanged.len()
            + usize::from(self.delivery.is_some())
    }

    /// Whether the batch changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One automatic retry of queued rows that did not succeed ([`StateBatch::retried`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryMark {
    /// The queued rows retried.
    pub rows: Vec<AuditId>,
    /// The backoff and bound.
    pub policy: RetryPolicy,
    /// Whether retrying can no longer help (the source record is gone, or now skipped or
    /// rejected): the rows are dead at once.
    pub give_up: bool,
}

impl RetryMark {
    /// A retry of `rows` under `policy`.
    #[must_use]
    pub fn new(rows: Vec<AuditId>, policy: RetryPolicy) -> Self {
        Self {
            rows,
            policy,
            give_up: false,
        }
    }

    /// Marks the rows dead at once.
    #[must_use]
    pub fn give_up(mut self) -> Self {
        self.give_up = true;
        self
    }
}

/// What [`StateStore::apply`](crate::StateStore::apply) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchReceipt {
    /// The ids given to the batch's audit rows, in the order they were added.
    pub audit_ids: Vec<AuditId>,
    /// Original rows that successful replays (or, for rows with a target, successful writes
    /// superseding them) in the batch marked resolved.
    pub resolved: Vec<AuditId>,
    /// Queued rows whose retry marks made them dead.
    pub dead: Vec<AuditId>,
    /// Queued rows whose retry marks scheduled another retry.
    pub requeued: Vec<AuditId>,
    /// True when the batch was conditional on a delivery key
    /// ([`StateBatch::once_per_delivery`]) already recorded: nothing was applied.
    pub duplicate_delivery: bool,
}
