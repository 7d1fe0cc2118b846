//! A dry run's plan, page by page: the planned rows become [`PlannedWrite`]s with their old
//! values from the audit trail, and the members to create are checked against the audience
//! (see [`crate::plan`] for the choices and their cost).

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt};
use mailchimp_client::{ListId, SubscriberHash};

use super::audience::Audience;
use super::rows::Row;
use crate::audit::AuditQuery;
use crate::error::Result;
use crate::model::{ObjectKind, Outcome, TargetRecord};
use crate::operation::{Executor, Operation};
use crate::plan::{diff_fields, written_record, Plan, PlannedAction, PlannedWrite};
use crate::state::StateStore;

/// Audit rows read per call while looking for a record's last write.
const AUDIT_PAGE: u32 = 200;

/// Builds the plan of a dry run (kept in the run's report).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Planner {
    /// Entries listed per target record kind; the rest are counted.
    pub limit: usize,
}

impl Planner {
    /// Adds a page's planned writes (its `Created` and `Updated` rows) to `plan`.
    pub(crate) async fn page(
        self,
        plan: &mut Plan,
        state: &dyn StateStore,
        object: ObjectKind,
        rows: &[Row],
    ) -> Result<()> {
        for row in rows {
            let action = match row.outcome {
                Outcome::Created => PlannedAction::Create,
                Outcome::Updated => PlannedAction::Update,
                _ => continue,
            };
            let (Some(op), Some(target)) = (&row.op, row.target_record()) else {
                continue;
            };
            let group = plan.group(target);
            if group.entries.len() >= self.limit {
                group.omitted += 1;
                continue;
            }
            let Some(new) = written_record(op) else {
                continue;
            };
            let previous = match action {
                PlannedAction::Create => None,
                PlannedAction::Update => {
                    last_written(state, object, &row.source_key, target).await?
                }
            };
            let previous_known = action == PlannedAction::Create || previous.is_some();
            plan.group(target).entries.push(PlannedWrite {
                source_key: row.source_key.clone(),
                target_id: target_id(op),
                action,
                previous_known,
                changes: diff_fields(previous.as_ref(), &new),
            });
        }
        Ok(())
    }

    /// Counts the members of `rows` the run would create whose address is not in the audience:
    /// from the audience's statuses when reading them is worth it ([`Audience`]), else one
    /// `GET` of the member each, `concurrency` at a time. A member whose lookup fails counts as
    /// new (the count is then an upper bound) and is returned.
    pub(crate) async fn new_contacts(
        plan: &mut Plan,
        lookup: ContactLookup<'_>,
        rows: &[Row],
    ) -> Vec<String> {
        let emails: BTreeSet<&String> = rows
            .iter()
            .filter(|r| !r.tags && r.target == ObjectKind::Members && r.outcome == Outcome::Created)
            .filter(|r| {
                matches!(
                    r.op,
                    Some(Operation::UpsertMember { .. } | Operation::SubscribeMember { .. })
                )
            })
            .filter_map(|r| r.email.as_ref())
            .collect();
        if emails.is_empty() {
            return Vec::new();
        }
        let emails: Vec<&String> = emails.into_iter().collect();
        let ContactLookup {
            executor,
            audience,
            list_id,
            prefetch_limit,
            fresh_for,
            concurrency,
        } = lookup;
        let count = plan.new_contacts.get_or_insert(0);
        if let Some(known) = audience
            .statuses(executor, list_id, &emails, prefetch_limit, fresh_for)
            .await
        {
            *count += emails.iter().filter(|e| !known.contains_key(**e)).count() as u64;
            return Vec::new();
        }
        let list = ListId::from(list_id);
        let client = executor.mailchimp().clone();
        let calls = executor.calls().clone();
        let emails: Vec<String> = emails.into_iter().cloned().collect();
        // Owned clones in each future: a stream of borrowing futures is not `Send` for every
        // lifetime, which the engine's futures must be.
        let found: Vec<(String, std::result::Result<bool, ()>)> = stream::iter(emails)
            .map(move |email| {
                let (list, client, calls) = (list.clone(), client.clone(), calls.clone());
                async move {
                    calls.count("mailchimp member get");
                    let result = client
                        .list(&list)
                        .members()
                        .get(&SubscriberHash::from_email(&email))
                        .fields(["status"])
                        .send()
                        .await;
                    let on_list = match result {
                        Ok(_) => Ok(true),
                        Err(err) if err.is_not_found() => Ok(false),
                        Err(_) => Err(()),
                    };
                    (email, on_list)
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut unknown = Vec::new();
        for (email, on_list) in found {
            match on_list {
                Ok(true) => {}
                Ok(false) => *count += 1,
                Err(()) => {
                    *count += 1;
                    unknown.push(email);
                }
            }
        }
        unknown
    }
}

/// What checking members against the audience needs.
pub(crate) struct ContactLookup<'a> {
    pub executor: &'a Executor,
    pub audience: &'a mut Audience,
    pub list_id: &'a str,
    pub prefetch_limit: u64,
    pub fresh_for: std::time::Duration,
    pub concurrency: usize,
}

/// The id of the record `op` writes.
fn target_id(op: &Operation) -> String {
    match op {
        Operation::UpsertMember { member, .. }
        | Operation::SubscribeMember { member, .. }
        | Operation::ChangeMemberEmail { member, .. } => member.key(),
        Operation::SetMemberTags { email_address, .. }
        | Operation::RestoreMemberStatus { email_address, .. } => {
            crate::normalize_email(email_address)
        }
        Operation::UpsertEcomCustomer { customer, .. } => customer.id.clone(),
        Operation::UpsertProduct { product, .. } => product.id.clone(),
        // Removals are planned by the lifecycle scan, not by a forward run; their ids as sent.
        Operation::ArchiveMember { email_address, .. }
        | Operation::DeleteMemberPermanently { email_address, .. } => {
            crate::normalize_email(email_address)
        }
        Operation::DeleteEcomCustomer { customer_id, .. } => customer_id.clone(),
        Operation::DeleteProduct { product_id, .. } | Operation::HideProduct { product_id, .. } => {
            product_id.clone()
        }
    }
}

/// The body of the last successful write of `source_key`'s `target`, from the audit trail;
/// `None` when no such row is left.
async fn last_written(
    state: &dyn StateStore,
    object: ObjectKind,
    source_key: &str,
    target: TargetRecord,
) -> Result<Option<serde_json::Value>> {
    let mut query = AuditQuery::new()
        .object(object)
        .source_key(source_key)
        .limit(AUDIT_PAGE);
    let mut last = None;
    loop {
        let rows = state.query_audit(&query).await?;
        let Some(end) = rows.last().map(|r| r.id) else {
            break;
        };
        let full = rows.len() >= AUDIT_PAGE as usize;
        for row in rows.into_iter().map(|r| r.row) {
            if row.target == Some(target)
                && matches!(row.outcome, Outcome::Created | Outcome::Updated)
            {
                if let Some(payload) = row.payload {
                    last = Some(payload);
                }
            }
        }
        if !full {
            break;
        }
        query = query.after(end);
    }
    Ok(last
        .and_then(|payload| Operation::from_payload(payload).ok())
        .and_then(|op| written_record(&op)))
}
