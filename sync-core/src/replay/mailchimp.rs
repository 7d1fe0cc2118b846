//! Replaying failed Mailchimp writes of the forward sync.

use async_trait::async_trait;
use chrono::Utc;

use super::{ReplayAttempt, ReplayHandler};
use crate::audit::{AuditRow, NewAuditRow};
use crate::error::Result;
use crate::model::{MemberStatusRecord, Outcome, RunId, TargetSystem};
use crate::operation::{Executor, NotApplied, Operation};
use crate::state::StateBatch;

/// Replays failed Mailchimp writes (member upserts and batch members, tags, e-commerce customers
/// and products) by sending the [`Operation`] recorded in the row's payload again through the
/// forward sync's [`Executor`].
///
/// The operation is sent as recorded: these writes are `PUT`s by id (or batch subscribes that
/// never change an existing member's status), so a replay is idempotent. The record's content
/// hash is not stored; if the QAD record changed since, the next customers or items run writes
/// the new content. A member skipped for its status (cleaned, compliance state) is remembered.
#[derive(Clone, Debug)]
pub struct MailchimpReplay {
    executor: Executor,
}

impl MailchimpReplay {
    /// A handler sending through `executor`.
    #[must_use]
    pub fn new(executor: Executor) -> Self {
        Self { executor }
    }
}

fn member_email(op: &Operation) -> Option<&str> {
    match op {
        // An address change learns the status of the address it writes, as the forward sync does.
        Operation::UpsertMember { member, .. }
        | Operation::SubscribeMember { member, .. }
        | Operation::ChangeMemberEmail { member, .. } => Some(&member.email_address),
        Operation::SetMemberTags { email_address, .. } => Some(email_address),
        _ => None,
    }
}

#[async_trait]
impl ReplayHandler for MailchimpReplay {
    fn handles(&self, row: &AuditRow) -> bool {
        row.row
            .operation
            .as_ref()
            .is_some_and(|op| op.system == TargetSystem::Mailchimp)
    }

    async fn replay(&self, row: &AuditRow, run: RunId) -> Result<ReplayAttempt> {
        let started = Utc::now();
        let attempt = NewAuditRow::new(run, row.row.object, &row.row.source_key, Outcome::Failed);
        let Some(Ok(op)) = row.row.payload.clone().map(Operation::from_payload) else {
            let attempt = attempt
                .error("the failed row holds no recorded operation to send")
                .times(started, Utc::now());
            return Ok(ReplayAttempt::new(attempt, StateBatch::new(), false));
        };
        let mut attempt = attempt
            .operation(op.target())
            .payload(op.to_payload()?)
            .attempts(1);
        let mut state = StateBatch::new();
        match self.executor.execute(&op).await {
            Ok(applied) => {
                attempt.outcome = if applied.created == Some(true) {
                    Outcome::Created
                } else {
                    Outcome::Updated
                };
            }
            Err(not) => {
                attempt.outcome = not.outcome();
                attempt = attempt.error(not.reason());
                if let (
                    NotApplied::Skipped {
                        status: Some(status),
                        reason,
                    },
                    Some(email),
                ) = (&not, member_email(&op))
                {
                    state = state.remember_member_status(MemberStatusRecord::new(
                        email,
                        *status,
                        Some(reason.clone()),
                    ));
                }
            }
        }
        Ok(ReplayAttempt::new(
            attempt.times(started, Utc::now()),
            state,
            false,
        ))
    }
}
