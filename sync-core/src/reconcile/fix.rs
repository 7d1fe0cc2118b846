//! `fix`: the drifted records written through the forward sync's [`Executor`], each audited in
//! the reconcile's run, and their stored hashes corrected so change detection can no longer
//! hide them: the hash of what was written on success, none on failure (the next forward run
//! then writes the record again).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;

use super::report::{Example, KindReport};
use super::spill::{DepartedRow, ExpectedRow};
use crate::audit::NewAuditRow;
use crate::error::Result;
use crate::model::{
    normalize_email, ContentHash, IdMapping, MemberStatusRecord, ObjectKind, Outcome, RunId,
    TargetRecord,
};
use crate::operation::{Applied, Executor, NotApplied, Operation};
use crate::state::{StateBatch, StateStore};

/// Writes drifted records and records what happened.
#[derive(Debug)]
pub(crate) struct Fixer {
    pub executor: Executor,
    pub state: Arc<dyn StateStore>,
    pub run_id: RunId,
    pub concurrency: usize,
    pub examples: usize,
    /// Customers whose member could not be written: their e-commerce customer waits, so
    /// Mailchimp does not create the member as transactional behind the connector's back.
    failed_members: HashSet<String>,
    /// The addresses of those members.
    failed_addresses: HashSet<String>,
}

/// The source object an audit row of a target kind belongs to.
fn source_object(kind: ObjectKind) -> ObjectKind {
    if kind == ObjectKind::Products {
        ObjectKind::Items
    } else {
        ObjectKind::Customers
    }
}

impl Fixer {
    pub(crate) fn new(
        executor: Executor,
        state: Arc<dyn StateStore>,
        run_id: RunId,
        concurrency: usize,
        examples: usize,
    ) -> Self {
        Self {
            executor,
            state,
            run_id,
            concurrency,
            examples,
            failed_members: HashSet::new(),
            failed_addresses: HashSet::new(),
        }
    }

    /// Writes `records` of `kind` (`concurrency` at a time), then commits their audit rows and
    /// hashes in one state batch.
    pub(crate) async fn fix(
        &mut self,
        kind: ObjectKind,
        records: Vec<(ExpectedRow, Outcome)>,
        report: &mut KindReport,
    ) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let object = source_object(kind);
        let mut batch = StateBatch::new();
        let mut sending = Vec::with_capacity(records.len());
        let mut ops = Vec::with_capacity(records.len());
        for (record, outcome) in records {
            let op = Operation::from_payload(serde_json::from_str(&record.op).map_err(|e| {
                crate::StateError::Corrupt {
                    column: "reconcile spill op",
                    value: e.to_string(),
                }
            })?)?;
            // A store customer whose member could not be written (its own, or the member of
            // another customer sharing the address) waits: Mailchimp would add the address as a
            // transactional member.
            let address = match &op {
                Operation::UpsertEcomCustomer { customer, .. } => {
                    Some(normalize_email(&customer.email_address))
                }
                _ => None,
            };
            if kind == ObjectKind::EcommerceCustomers
                && (self.failed_members.contains(&record.source_key)
                    || address.is_some_and(|a| self.failed_addresses.contains(&a)))
            {
                let reason = "waits for its member, whose write failed".to_owned();
                batch = batch.audit(
                    NewAuditRow::new(self.run_id, object, &record.source_key, Outcome::Skipped)
                        .operation(op.target())
                        .error(reason.clone()),
                );
                self.not_fixed(report, &record, reason);
                continue;
            }
            ops.push(op);
            sending.push((record, outcome));
        }
        let started = Utc::now();
        let results = self.executor.execute_all(&ops, self.concurrency).await;
        let finished = Utc::now();
        for (((record, outcome), op), result) in sending.into_iter().zip(ops).zip(results) {
            let row = |outcome| {
                let row = NewAuditRow::new(self.run_id, object, &record.source_key, outcome)
                    .operation(op.target())
                    .attempts(1)
                    .times(started, finished);
                match op.to_payload() {
                    Ok(payload) => row.payload(payload),
                    Err(_) => row,
                }
            };
            match result {
                Ok(Applied {
                    written_id: Some(id),
                    ..
                }) => {
                    // A store customer whose address changed, written under its new address's
                    // id: the forward sync's next run finds it through the id map.
                    batch = batch
                        .audit(row(Outcome::Created))
                        .forget_hash(kind, &record.id)
                        .map_id(IdMapping::new(kind, &record.source_key, &id));
                    report.fixed += 1;
                }
                Ok(_) => {
                    batch = batch.audit(row(outcome)).put_hash(
                        kind,
                        &record.id,
                        ContentHash::from_hex(record.hash.clone()),
                    );
                    if kind != ObjectKind::Products {
                        batch = batch.map_id(IdMapping::new(kind, &record.source_key, &record.id));
                    }
                    report.fixed += 1;
                }
                Err(not) => {
                    batch = batch
                        .audit(row(not.outcome()).error(not.reason()))
                        .forget_hash(kind, &record.id);
                    if let NotApplied::Skipped {
                        status: Some(status),
                        reason,
                    } = &not
                    {
                        batch = batch.remember_member_status(MemberStatusRecord::new(
                            &record.id,
                            *status,
                            Some(reason.clone()),
                        ));
                    }
                    if kind == ObjectKind::Members {
                        self.failed_members.insert(record.source_key.clone());
                        self.failed_addresses.insert(record.id.clone());
                    }
                    self.not_fixed(report, &record, not.reason().to_owned());
                }
            }
        }
        self.state.apply(batch).await?;
        Ok(())
    }

    /// Sends the removals of records still present for customers that are not active (see
    /// [`KindReport::to_remove`]), then commits their audit rows and what the lifecycle's own
    /// removal changes in the state store (the record leaves the id map, its hashes are
    /// forgotten, a permanently deleted address is remembered as forgotten) in one batch.
    pub(crate) async fn remove(
        &mut self,
        kind: ObjectKind,
        records: Vec<(DepartedRow, Operation)>,
        report: &mut KindReport,
    ) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let object = source_object(kind);
        let target = match kind {
            ObjectKind::Members => TargetRecord::Member,
            _ => TargetRecord::EcommerceCustomer,
        };
        let ops: Vec<Operation> = records.iter().map(|(_, op)| op.clone()).collect();
        let started = Utc::now();
        let results = self.executor.execute_all(&ops, self.concurrency).await;
        let finished = Utc::now();
        let mut batch = StateBatch::new();
        for ((record, op), result) in records.into_iter().zip(results) {
            let mut row =
                NewAuditRow::new(self.run_id, object, &record.source_key, Outcome::Updated)
                    .target(target)
                    .operation(op.target())
                    .attempts(1)
                    .times(started, finished);
            if let Ok(payload) = op.to_payload() {
                row = row.payload(payload);
            }
            match result {
                Ok(_) => {
                    row = row.error(format!(
                        "removed by reconcile: customer {} is {} (lifecycle settings)",
                        record.source_key, record.standing
                    ));
                    batch = batch
                        .audit(row)
                        .merge(crate::lifecycle::removed_state(&op, &record.source_key));
                    report.fixed += 1;
                }
                Err(not) => {
                    row.outcome = not.outcome();
                    batch = batch.audit(row.error(not.reason()));
                    let mut example = Example::new(&record.id, Some(&record.source_key));
                    example.note = Some(not.reason().to_owned());
                    report.not_fixed.add(example, self.examples);
                }
            }
        }
        self.state.apply(batch).await?;
        Ok(())
    }

    fn not_fixed(&self, report: &mut KindReport, record: &ExpectedRow, reason: String) {
        let mut example = Example::new(&record.id, Some(&record.source_key));
        example.note = Some(reason);
        report.not_fixed.add(example, self.examples);
    }
}
