//! Replaying failed Mailchimp writes of the forward sync.

use async_trait::async_trait;
use chrono::Utc;

use super::RetryPolicy;
use super::{ReplayAttempt, ReplayHandler};
use crate::audit::{AuditRow, NewAuditRow};
use crate::error::Result;
use crate::forward::ForwardSync;
use crate::model::{MemberStatusRecord, ObjectKind, Outcome, RunId, TargetSystem};
use crate::operation::{Executor, NotApplied, Operation};
use crate::report::CallLog;
use crate::state::StateBatch;

/// Replays failed and deferred Mailchimp writes of the forward sync (members, tags, e-commerce
/// customers, products).
///
/// Built with [`remapping`](Self::remapping) (what `ml-connector replay` uses), it reads the
/// row's QAD record again by key and handles it like a page of the forward sync: the record is
/// mapped as it is *now*, compared with the stored hash (a target that already holds the
/// current mapping gets no call), and written member first, then e-commerce customer. So a
/// replay never sends a payload older than what the target holds. The attempt is the new row of
/// the queued row's target; the record's other targets are committed with it, and their
/// successes supersede their own queued rows.
///
/// Built with [`new`](Self::new), it has no QAD client and sends the [`Operation`] recorded in
/// the row's payload as it was: only safe when nothing newer can have reached the target, as in
/// a test or a tool that owns both sides. A member skipped for its status (cleaned, compliance
/// state) is remembered either way.
#[derive(Clone, Debug)]
pub struct MailchimpReplay {
    executor: Executor,
    forward: Option<ForwardSync>,
}

impl MailchimpReplay {
    /// A handler sending each row's recorded operation through `executor`, as recorded.
    #[must_use]
    pub fn new(executor: Executor) -> Self {
        Self {
            executor,
            forward: None,
        }
    }

    /// A handler re-mapping each row's record from QAD as it is now, through `sync`'s clients,
    /// mapping and state.
    #[must_use]
    pub fn remapping(sync: ForwardSync) -> Self {
        let executor = Executor::new(sync.mailchimp_client().clone(), CallLog::new());
        Self {
            executor,
            forward: Some(sync),
        }
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
        // The sales-history flow's orders are re-read by their own handler
        // (`sales_orders::SalesOrdersReplay`), never re-mapped as customers.
        row.row.object != crate::model::ObjectKind::SalesOrders
            && row
                .row
                .operation
                .as_ref()
                .is_some_and(|op| op.system == TargetSystem::Mailchimp)
    }

    async fn replay(&self, row: &AuditRow, run: RunId) -> Result<ReplayAttempt> {
        // A removal carries no content that could be older than the target's, so it is sent as
        // recorded; its success updates the state as the lifecycle's own removal does.
        let removal = crate::lifecycle::is_removal_row(row);
        if let Some(sync) = &self.forward {
            if !removal && matches!(row.row.object, ObjectKind::Customers | ObjectKind::Items) {
                return sync.replay_row(row, run, RetryPolicy::default()).await;
            }
        }
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
            Ok(_) if removal => {
                attempt.outcome = Outcome::Updated;
                state = crate::lifecycle::removed_state(&op, &row.row.source_key);
            }
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
