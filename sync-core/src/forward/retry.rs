//! The replay queue's part of a run: queued (failed or deferred) rows of the object, retried
//! before the new reads by re-mapping their records from QAD as they are now.
//!
//! The due rows ([`StateStore::due_retries`]) are taken a page at a time; their records are read
//! again by key and handled exactly like a page of the forward sync (hash comparison, member
//! before e-commerce customer, batches). So a replay never sends a payload older than what the
//! target holds: when the target already holds the current mapping, the record is unchanged and
//! no call is made. A successful row supersedes the queued rows of its target (the state store
//! links them); a row that fails (or is deferred) again points at the queued row it retries, so
//! the queue keeps one entry per target, and that entry waits for its next retry or is dead
//! ([`RetryPolicy`]). A record QAD no longer has, or that its mapping now skips or rejects, is
//! dead at once: retrying cannot help.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::page::{self, PageContext};
use super::read::{read_each_key, SourcePage};
use super::rows::{self, Row};
use super::turn::Turn;
use super::ForwardSync;
use crate::audit::{AuditId, AuditRow};
use crate::error::{Result, SyncError};
use crate::model::{ObjectKind, Outcome, RunId, TargetRecord};
use crate::replay::RetryPolicy;
use crate::report::{CallLog, RetryCounts};
use crate::state::{FencingToken, RetryMark, StateBatch};

/// Whether `row` was deferred (Mailchimp's signup throttling, which lifts only after a while,
/// or a customer waiting for such a member) too recently for its first retry: that waits the
/// policy's base delay, where a failure is retried by the next run.
fn deferral_pending(
    row: &AuditRow,
    policy: &RetryPolicy,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let wait = chrono::Duration::from_std(policy.base).unwrap_or(chrono::Duration::MAX);
    row.row.outcome == Outcome::Deferred
        && row.retry.retries == 0
        && row
            .row
            .finished_at
            .checked_add_signed(wait)
            .is_some_and(|due| due > now)
}

impl ForwardSync {
    /// Reads the current QAD records of `keys` and handles them as one page: the rows of every
    /// target of those records (nothing is committed). Fails if any of them cannot be read.
    pub(crate) async fn remap(
        &self,
        ctx: &PageContext,
        object: ObjectKind,
        keys: Vec<String>,
        calls: &CallLog,
    ) -> Result<(Vec<Row>, BTreeSet<String>)> {
        let current = self.read_current(object, keys, calls).await;
        if let Some((_, err)) = current.unread.into_iter().next() {
            return Err(SyncError::qad(err));
        }
        Ok((
            Self::handle(ctx, object, &current.page).await?,
            current.gone,
        ))
    }

    /// The current QAD records of `keys`, read one key at a time.
    async fn read_current(
        &self,
        object: ObjectKind,
        keys: Vec<String>,
        calls: &CallLog,
    ) -> Current {
        let wanted: BTreeSet<String> = keys.iter().cloned().collect();
        let concurrency = self.config.concurrency;
        let read = match object {
            ObjectKind::Items => {
                read_each_key(
                    self.qad.items(),
                    "itemCode",
                    keys,
                    concurrency,
                    calls.clone(),
                )
                .await
            }
            _ => {
                read_each_key(
                    self.qad.customers(),
                    "customerCode",
                    keys,
                    concurrency,
                    calls.clone(),
                )
                .await
            }
        };
        // Read, and not there: gone from QAD. A key whose read failed says nothing.
        let mut gone = wanted;
        for record in &read.records {
            gone.remove(&record.key);
        }
        for (key, _) in &read.unread {
            gone.remove(key);
        }
        Current {
            // Records read by key: no resume position (the retry pass commits no cursor).
            page: SourcePage {
                records: read.records,
                resume_key: None,
            },
            gone,
            unread: read.unread,
        }
    }

    /// Handles records read by key like a page of the object.
    async fn handle(ctx: &PageContext, object: ObjectKind, page: &SourcePage) -> Result<Vec<Row>> {
        match object {
            ObjectKind::Items => page::items(ctx, page, Turn::free()).await,
            _ => page::customers(ctx, page).await,
        }
    }

    /// Retries the due queued rows of `object` in the run of `report`, page by page, committing
    /// each (fenced by the run's lease when it holds one); returns the source keys it handled.
    pub(crate) async fn retry_queue(
        &self,
        ctx: &PageContext,
        object: ObjectKind,
        options: &super::RunOptions,
        fence: Option<FencingToken>,
        calls: &CallLog,
        report: &mut crate::report::RunReport,
    ) -> Result<BTreeSet<String>> {
        let policy = options.retry_policy;
        let cancelled = || options.cancel.as_ref().is_some_and(|c| c.is_cancelled());
        let mut counts = RetryCounts::default();
        let mut after: Option<AuditId> = None;
        // Rows answered in this run: a row retried again at once (no backoff) waits for the next.
        let mut answered: BTreeSet<AuditId> = BTreeSet::new();
        let mut handled: BTreeSet<String> = BTreeSet::new();
        // Stops between pages when cancelled; the rest stays queued for the next run.
        while !cancelled() {
            let due = self
                .state
                .due_retries(object, chrono::Utc::now(), after, self.config.page_size)
                .await?;
            let Some(last) = due.last() else {
                break;
            };
            after = Some(last.id);
            let now = chrono::Utc::now();
            let keys: Vec<String> = due
                .iter()
                .filter(|r| !answered.contains(&r.id) && !deferral_pending(r, &policy, now))
                // A failed removal is the lifecycle's: its next scan removes again what is still
                // mapped (re-mapping a record that is gone could only call the row dead).
                .filter(|r| !crate::lifecycle::is_removal_row(r))
                .map(|r| r.row.source_key.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if keys.is_empty() {
                continue;
            }
            // A failed read of QAD says nothing about a record: its rows stay queued as they are
            // (no attempt counted) and the run goes on with the records that were read, then to
            // what changed; the next run retries the others. One unreadable record must not hold
            // back every run, nor one failed read the records read beside it.
            let Current { page, gone, unread } =
                self.read_current(object, keys.clone(), calls).await;
            if let Some((_, err)) = unread.first() {
                report.warnings.push(format!(
                    "retrying {} queued record(s) put off to the next run: reading them from \
                     QAD failed: {}",
                    unread.len(),
                    super::chain(err)
                ));
                if unread.len() == keys.len() {
                    // QAD answers none of them: the rest of the queue would fare no better.
                    break;
                }
            }
            let unread: BTreeSet<&str> = unread.iter().map(|(key, _)| key.as_str()).collect();
            let keys: Vec<String> = keys
                .into_iter()
                .filter(|key| !unread.contains(key.as_str()))
                .collect();
            // Every queued row of those records is answered by their retry, due or not (a
            // deferred customer is retried with its member).
            let queued = self.state.queued_rows(object, &keys).await?;
            answered.extend(queued.iter().map(|r| r.id));
            counts.rows += queued.len() as u64;
            counts.records += keys.len() as u64;
            handled.extend(keys.iter().cloned());
            let mut rows = Self::handle(ctx, object, &page).await?;
            let mut batch = link(object, report.run_id, &queued, &mut rows, &gone, policy);
            if let Some(token) = fence {
                batch = batch.fenced(object, token);
            }
            let receipt = self.state.apply(batch).await?;
            counts.resolved += receipt.resolved.len() as u64;
            counts.again += receipt.requeued.len() as u64;
            counts.dead += receipt.dead.len() as u64;
            for row in &rows {
                let target = if row.tags {
                    report.tags.get_or_insert_with(Default::default)
                } else {
                    report.target(row.target)
                };
                target.add(row.outcome, row.reason.as_deref());
            }
        }
        if counts.rows > 0 {
            report.retries = Some(counts);
        }
        Ok(handled)
    }
}

impl ForwardSync {
    /// Points the rows of a page that did not succeed at the queued rows of their targets, if
    /// any, and counts the attempt against those that were due: a record failing again in a
    /// later run keeps one queue entry, whose backoff and bound still hold (a row just retried
    /// in this run is not counted twice). An unchanged row of a target with queued rows is
    /// marked to be audited, so it supersedes them; other unchanged rows are only counted.
    pub(crate) async fn link_failures(
        &self,
        object: ObjectKind,
        rows: &mut [Row],
        policy: RetryPolicy,
    ) -> Result<Option<RetryMark>> {
        let unchanged = |r: &Row| r.outcome == Outcome::Unchanged && r.target_record().is_some();
        let keys: Vec<String> = rows
            .iter()
            .filter(|r| r.outcome.is_replayable() || unchanged(r))
            .map(|r| r.source_key.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if keys.is_empty() {
            return Ok(None);
        }
        let queued = self.state.queued_rows(object, &keys).await?;
        let now = chrono::Utc::now();
        let due: BTreeSet<AuditId> = queued
            .iter()
            .filter(|r| r.retry.next_at.is_none_or(|next| next <= now))
            .map(|r| r.id)
            .collect();
        let by_slot = slots(&queued);
        for row in rows.iter_mut().filter(|r| unchanged(r)) {
            row.supersedes = by_slot.contains_key(&(row.source_key.clone(), row.target_record()));
        }
        let mut again = Vec::new();
        for row in rows.iter_mut().filter(|r| r.outcome.is_replayable()) {
            if let Some(ids) = by_slot.get(&(row.source_key.clone(), row.target_record())) {
                row.replay_of = ids.first().copied();
                again.extend(ids.iter().filter(|id| due.contains(id)).copied());
            }
        }
        Ok((!again.is_empty()).then(|| RetryMark::new(again, policy)))
    }
}

/// The current QAD records of some keys: the page of those read, the keys QAD no longer has,
/// and the keys whose read failed.
struct Current {
    page: SourcePage,
    gone: BTreeSet<String>,
    unread: Vec<(String, qad_client::Error)>,
}

/// Queued rows by source record and target, oldest first.
fn slots(queued: &[AuditRow]) -> BTreeMap<(String, Option<TargetRecord>), Vec<AuditId>> {
    let mut slots: BTreeMap<_, Vec<AuditId>> = BTreeMap::new();
    for row in queued {
        slots
            .entry((row.row.source_key.clone(), row.row.target))
            .or_default()
            .push(row.id);
    }
    slots
}

/// The state batch of a retried page: the new rows (those that did not succeed pointing at the
/// queued row they retry), a row for each record QAD no longer has, and the retry marks of the
/// queued rows no new row resolved.
fn link(
    object: ObjectKind,
    run_id: RunId,
    due: &[AuditRow],
    rows: &mut [Row],
    gone: &BTreeSet<String>,
    policy: RetryPolicy,
) -> StateBatch {
    let queued = slots(due);
    let mut again = Vec::new();
    let mut dead = Vec::new();
    let mut answered = BTreeSet::new();
    for row in rows.iter_mut() {
        let slot = (row.source_key.clone(), row.target_record());
        let Some(ids) = queued.get(&slot) else {
            continue;
        };
        answered.insert(slot);
        match row.outcome {
            // Superseded by the state store through the row's target (so audited even when
            // unchanged).
            o if o.is_success() => row.supersedes = true,
            Outcome::Failed | Outcome::Deferred => {
                row.replay_of = ids.first().copied();
                again.extend(ids.iter().copied());
            }
            // Skipped or rejected now: sending the record cannot help.
            _ => {
                row.replay_of = ids.first().copied();
                dead.extend(ids.iter().copied());
            }
        }
    }
    // Records with a target that did not succeed this time: their other queued targets wait too.
    let waiting: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.outcome.is_replayable())
        .map(|r| r.source_key.as_str())
        .collect();
    let mut batch = rows::state_batch(run_id, object, rows);
    for ((key, _), ids) in queued.iter().filter(|(slot, _)| !answered.contains(*slot)) {
        if waiting.contains(key.as_str()) {
            // No row of its own this time because what it depends on failed (tags wait for
            // their member).
            again.extend(ids.iter().copied());
            continue;
        }
        if gone.contains(key) {
            for id in ids {
                let row = crate::audit::NewAuditRow::new(run_id, object, key, Outcome::Skipped)
                    .error("the QAD record no longer exists: nothing to retry")
                    .replay_of(*id);
                batch = batch.audit(row);
            }
        }
        // Gone, or no row of its target this time (the target is no longer written): dead.
        dead.extend(ids.iter().copied());
    }
    if !again.is_empty() {
        batch = batch.retried(RetryMark::new(again, policy));
    }
    if !dead.is_empty() {
        batch = batch.retried(RetryMark::new(dead, policy).give_up());
    }
    batch
}

impl ForwardSync {
    /// Replays one queued row by re-mapping its record from QAD as it is now (see
    /// [`MailchimpReplay::remapping`](crate::replay::MailchimpReplay::remapping)): the attempt is
    /// the new row of the queued row's target; the rows of the record's other targets are
    /// committed with it.
    pub(crate) async fn replay_row(
        &self,
        row: &AuditRow,
        run: RunId,
        policy: RetryPolicy,
    ) -> Result<crate::replay::ReplayAttempt> {
        use crate::replay::ReplayAttempt;
        let object = row.row.object;
        let key = row.row.source_key.clone();
        let calls = CallLog::new();
        let executor = crate::operation::Executor::new(self.mailchimp.clone(), calls.clone());
        let merge_fields = if object == ObjectKind::Customers && self.config.members {
            super::merge_fields::for_run(
                &self.mailchimp,
                &self.config.list_id,
                &self.config.mapping.customer,
                &calls,
            )
            .await?
        } else {
            Vec::new()
        };
        let ctx = PageContext::new(
            Arc::clone(&self.config),
            Arc::clone(&self.state),
            executor,
            false,
            merge_fields,
            self.qad.clone(),
        );
        let started = chrono::Utc::now();
        let (mut rows, gone) = self.remap(&ctx, object, vec![key.clone()], &calls).await?;
        let chosen = rows
            .iter()
            .position(|r| r.target_record() == row.row.target);
        let Some(index) = chosen else {
            let (outcome, why) = if !gone.is_empty() {
                (
                    Outcome::Skipped,
                    "the QAD record no longer exists: nothing to send",
                )
            } else if rows.iter().any(|r| r.outcome.is_replayable()) {
                (
                    Outcome::Failed,
                    "waits for another write of the record, which did not succeed",
                )
            } else {
                (
                    Outcome::Unchanged,
                    "the target already holds the current mapping",
                )
            };
            let mut attempt = crate::audit::NewAuditRow::new(run, object, &key, outcome)
                .error(why)
                .times(started, chrono::Utc::now());
            attempt.target = row.row.target;
            if outcome.is_success() {
                attempt.error = None;
            }
            let others = self.others(object, run, &mut rows, policy).await?;
            return Ok(ReplayAttempt::new(attempt, others, true));
        };
        let mut mine = rows.remove(index);
        // The attempt is audited whatever its outcome: it answers the replayed row.
        mine.supersedes = true;
        let remapped = mine
            .op
            .as_ref()
            .and_then(|op| op.to_payload().ok())
            .map(crate::audit::redact_payload)
            != row.row.payload;
        let mut own = rows::state_batch(run, object, std::slice::from_ref(&mine));
        let Some(attempt) = own.audit.pop().map(crate::audit::PendingAudit::into_row) else {
            return Err(SyncError::Config {
                what: "a replayed row produced no audit row".into(),
            });
        };
        let others = self.others(object, run, &mut rows, policy).await?;
        Ok(ReplayAttempt::new(attempt, own.merge(others), remapped))
    }

    /// The state batch of the rows of a replayed record's other targets.
    async fn others(
        &self,
        object: ObjectKind,
        run: RunId,
        rows: &mut [Row],
        policy: RetryPolicy,
    ) -> Result<StateBatch> {
        let mark = self.link_failures(object, rows, policy).await?;
        let mut batch = rows::state_batch(run, object, rows);
        if let Some(mark) = mark {
            batch = batch.retried(mark);
        }
        Ok(batch)
    }
}
