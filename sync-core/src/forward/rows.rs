//! The result of handling one target record, and how a page of them becomes one state batch.

use chrono::{DateTime, Utc};

use crate::audit::{redacted_json, NewAuditRow};
use crate::model::{
    normalize_email, ContentHash, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind, Outcome,
    RunId, TargetRecord,
};
use crate::operation::{Applied, NotApplied, OpResult, Operation};
use crate::state::StateBatch;

/// What happened to one target record of one source record.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The target kind (members, e-commerce customers, products).
    pub target: ObjectKind,
    /// The source record's key.
    pub source_key: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// The write made or planned.
    pub op: Option<Operation>,
    /// Whether a call was made.
    pub called: bool,
    /// Stored on success: the target record's hash.
    pub hash: Option<(String, ContentHash)>,
    /// Stored on success: an id-map entry.
    pub mapping: Option<IdMapping>,
    /// The address of a member skipped for its status (cleaned, unsubscribed, …): the customer
    /// is linked to it under [`ObjectKind::Consents`], whatever the outcome, so the consent
    /// write-back finds the customer although it owns no member.
    pub consent_link: Option<String>,
    /// Forgotten on success: hashes of target ids the write retired (a member's old address).
    pub retired: Vec<String>,
    /// A member status learned (remembered whatever the outcome).
    pub learned: Option<MemberStatusRecord>,
    /// A member's tag update rather than a record of its own (counted apart).
    pub tags: bool,
    /// The queued row this row retries, when it did not succeed (so it is not queued twice).
    pub replay_of: Option<crate::audit::AuditId>,
    /// The member's email, for member writes.
    pub email: Option<String>,
    /// Whether the target said it created the record (see [`Applied::created`]).
    pub created: Option<bool>,
    /// The member's status as the write reported it.
    pub reported: Option<MemberStatus>,
    /// Remembered: the connector created (or tried to create) this member meaning this status.
    pub intent: Option<(String, MemberStatus)>,
    /// Whether a hash was stored for the target before the write.
    pub known: bool,
    /// Stored when Mailchimp refused the write: the refused content's hash under
    /// [`refused_key`], so the same content is not sent again.
    pub refused: Option<(String, ContentHash)>,
    /// An unchanged row that must still be audited: it answers a queued row of its target (a
    /// retry, a replay, or a queued failure it supersedes). Other unchanged rows are only counted.
    pub supersedes: bool,
    /// Taken out of its target's id map on commit: a customer the owner rule displaced as the
    /// owner of a shared address.
    pub unmapped: bool,
    /// A duplicate member whose owner's member is not written yet (its write failed on an
    /// earlier page or run): the address this customer's store customer must wait for.
    pub unwritten_owner_address: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
}

impl Row {
    /// Which target record of its source record the row is about.
    pub(crate) fn target_record(&self) -> Option<TargetRecord> {
        match self.target {
            _ if self.tags => Some(TargetRecord::MemberTags),
            ObjectKind::Members => Some(TargetRecord::Member),
            ObjectKind::EcommerceCustomers => Some(TargetRecord::EcommerceCustomer),
            ObjectKind::Products => Some(TargetRecord::Product),
            _ => None,
        }
    }

    /// The row of a record whose hash matched: no call.
    pub(crate) fn unchanged(target: ObjectKind, source_key: &str, op: Operation) -> Row {
        let mut row = Row::decided(target, source_key, Outcome::Unchanged, None);
        row.op = Some(op);
        row
    }

    /// A row decided without a call.
    pub(crate) fn decided(
        target: ObjectKind,
        source_key: &str,
        outcome: Outcome,
        reason: Option<String>,
    ) -> Self {
        let now = Utc::now();
        Self {
            target,
            source_key: source_key.to_owned(),
            outcome,
            reason,
            op: None,
            called: false,
            hash: None,
            mapping: None,
            consent_link: None,
            retired: Vec::new(),
            learned: None,
            tags: false,
            replay_of: None,
            email: None,
            created: None,
            reported: None,
            intent: None,
            known: false,
            supersedes: false,
            unwritten_owner_address: None,
            unmapped: false,
            refused: None,
            started_at: now,
            finished_at: now,
        }
    }
}

/// A write planned for one target record.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub target: ObjectKind,
    pub source_key: String,
    pub target_id: String,
    pub hash: ContentHash,
    /// Whether a hash was stored for the target: the write is an update.
    pub known: bool,
    pub op: Operation,
    pub mapping: Option<IdMapping>,
    /// Target ids whose hashes the write retires (a member's old address and its tag set).
    pub retired: Vec<String>,
    /// The member's email, for remembering a status learned from the write.
    pub email: Option<String>,
    /// A member's tag update.
    pub tags: bool,
    /// Whether Mailchimp had refused other content of this record (its memory is forgotten
    /// once a write succeeds).
    pub refused_before: bool,
}

impl Pending {
    /// The row of a dry run: what would be written.
    pub(crate) fn planned(self) -> Row {
        let outcome = if self.known {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        let mut row = Row::decided(self.target, &self.source_key, outcome, None);
        row.op = Some(self.op);
        row.tags = self.tags;
        row.email = self.email;
        row
    }

    /// The row after the write, given its result.
    pub(crate) fn finished(self, result: OpResult, started_at: DateTime<Utc>) -> Row {
        let mut row = Row::decided(self.target, &self.source_key, Outcome::Failed, None);
        row.started_at = started_at;
        row.called = true;
        row.tags = self.tags;
        row.email.clone_from(&self.email);
        row.known = self.known;
        let learn = |status: MemberStatus, reason: Option<String>| {
            self.email
                .as_deref()
                .map(|email| MemberStatusRecord::new(email, status, reason))
        };
        match result {
            Ok(Applied {
                created,
                member_status,
                written_id,
            }) => {
                row.created = created;
                row.reported = member_status;
                row.outcome = match created.unwrap_or(!self.known) {
                    true => Outcome::Created,
                    false => Outcome::Updated,
                };
                row.hash = Some((self.target_id.clone(), self.hash));
                row.mapping = self.mapping;
                row.retired = self.retired;
                if self.refused_before {
                    row.retired.push(refused_key(&self.target_id));
                }
                row.learned = member_status
                    .filter(MemberStatus::blocks_push)
                    .and_then(|s| learn(s, Some("reported by Mailchimp on write".into())));
                if let Some(id) = written_id {
                    let op = moved(self.op, &id);
                    row.hash = content_hash_of(&op).map(|hash| (id.clone(), hash));
                    if let Some(mapping) = &mut row.mapping {
                        mapping.target_id.clone_from(&id);
                    }
                    row.retired.push(self.target_id);
                    row.reason = Some(format!(
                        "address changed: written as the new store customer {id} (Mailchimp keeps a customer's address)"
                    ));
                    row.op = Some(op);
                    row.finished_at = Utc::now();
                    return row;
                }
            }
            Err(not) => {
                row.outcome = not.outcome();
                row.reason = Some(not.reason().to_owned());
                // Refused for good: remembered so an unchanged record is not sent again (a read
                // of it at the cursor's boundary, a full run).
                if matches!(not, NotApplied::Rejected(_)) && !self.tags {
                    row.refused = Some((refused_key(&self.target_id), self.hash.clone()));
                }
                // A member write that failed (and waits for its retry) still claims its address
                // for its customer, as it does within a page: otherwise a later page's customer
                // with the same email takes the member over, and the end state depends on which
                // calls failed. An email change keeps its old mapping until it is made.
                if matches!(row.outcome, Outcome::Failed | Outcome::Deferred)
                    && self.target == ObjectKind::Members
                    && !self.tags
                    && self.retired.is_empty()
                {
                    row.mapping = self.mapping;
                }
                if let NotApplied::Skipped {
                    status: Some(status),
                    reason,
                } = &not
                {
                    row.learned = learn(*status, Some(reason.clone()));
                    if self.target == ObjectKind::Members && !self.tags {
                        row.consent_link = self.email.as_deref().map(normalize_email);
                    }
                }
            }
        }
        row.op = Some(self.op);
        row.finished_at = Utc::now();
        row
    }
}

impl Row {
    /// Whether the row becomes an audit row: every outcome but a plain unchanged one, which is
    /// counted into the run instead (issue 19: no history for records that did not change).
    fn audited(&self) -> bool {
        self.outcome != Outcome::Unchanged || self.supersedes || self.replay_of.is_some()
    }
}

/// The state changes of a page of rows: hashes, id map and statuses of the successful writes,
/// an audit row for every row but the unchanged ones (see [`Row::audited`]), which are counted
/// into the run's row.
pub(crate) fn state_batch(run_id: RunId, object: ObjectKind, rows: &[Row]) -> StateBatch {
    let mut batch = StateBatch::new();
    let mut unchanged = 0;
    for row in rows {
        if let Some((target_id, hash)) = &row.hash {
            batch = batch.put_hash(row.target, target_id.clone(), hash.clone());
        }
        if let Some((key, hash)) = &row.refused {
            batch = batch.put_hash(row.target, key.clone(), hash.clone());
        }
        for retired in &row.retired {
            batch = batch.forget_hash(row.target, retired.clone());
        }
        if let Some(mapping) = &row.mapping {
            batch = batch.map_id(mapping.clone());
        }
        if row.unmapped {
            batch = batch.unmap_id(row.target, row.source_key.clone());
        }
        if let Some(email) = &row.consent_link {
            batch = batch.map_id(IdMapping::new(
                ObjectKind::Consents,
                row.source_key.clone(),
                email.clone(),
            ));
        }
        if let Some(status) = &row.learned {
            batch = batch.remember_member_status(status.clone());
        }
        if let Some((email, status)) = &row.intent {
            batch = batch.intend_member_status(email.clone(), *status);
        }
        if !row.audited() {
            unchanged += 1;
            continue;
        }
        let mut audit = NewAuditRow::new(run_id, object, row.source_key.clone(), row.outcome)
            .attempts(u32::from(row.called))
            .times(row.started_at, row.finished_at);
        audit.target = row.target_record();
        audit.replay_of = row.replay_of;
        let mut payload = None;
        if let Some(op) = &row.op {
            audit = audit.operation(op.target());
            // An unchanged record's operation says which target it is; its body is not kept.
            if row.outcome != Outcome::Unchanged {
                payload = redacted_json(op).ok();
            }
        }
        if let Some(reason) = &row.reason {
            audit = audit.error(reason.clone());
        }
        batch = batch.audit_with_payload_text(audit, payload);
    }
    batch.count_unchanged(run_id, unchanged)
}

/// Where the hash of content Mailchimp refused is kept for `target_id`, beside the hashes of
/// written records (the separator cannot occur in an address or an id Mailchimp accepts).
pub(crate) fn refused_key(target_id: &str) -> String {
    format!("refused\u{1f}{target_id}")
}

/// `op` as written under `id` (a store customer moved to the id of its new address).
fn moved(op: Operation, id: &str) -> Operation {
    match op {
        Operation::UpsertEcomCustomer {
            store_id,
            mut customer,
        } => {
            customer.id = id.to_owned();
            Operation::UpsertEcomCustomer { store_id, customer }
        }
        other => other,
    }
}

/// The content hash change detection stores for the record `op` writes.
fn content_hash_of(op: &Operation) -> Option<ContentHash> {
    match op {
        Operation::UpsertEcomCustomer { customer, .. } => crate::hash::content_hash(customer).ok(),
        _ => None,
    }
}
