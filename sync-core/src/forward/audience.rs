//! The audience's existing members, read once per run before the first member batch, so that
//! batch subscribe can update them in place (`update_existing: true` with their current status)
//! instead of each coming back as "contact exists" and costing a `GET` and a `PUT`. Before each
//! later batch only the members changed since the last read are read again, so the statuses
//! sent are at most one call old.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use mailchimp_client::ListId;

use crate::model::MemberStatus;
use crate::operation::Executor;

/// Members read per prefetch call (Mailchimp's maximum).
const PAGE: u32 = 1000;

/// How far back a refresh reads before the time of the last read: covers a clock difference
/// between this host and Mailchimp.
const CLOCK_MARGIN: Duration = Duration::minutes(5);

/// What this run knows about the audience's members.
#[derive(Debug, Default)]
pub(crate) enum Audience {
    /// Not read yet.
    #[default]
    Unread,
    /// Not worth reading (too large for the work at hand), or a read failed: batches fall
    /// back to "contact exists" handling.
    Unknown,
    /// Every member's current status, by normalized address, as of `read_at`.
    Known {
        statuses: HashMap<String, MemberStatus>,
        read_at: DateTime<Utc>,
    },
}

impl Audience {
    /// The statuses to batch the members `batch` (normalized addresses) with. The first time,
    /// read the audience if that is worth it for them (at most one call per member to write, and
    /// at most `limit` members). Later, when some of them are known members, read the members
    /// changed since the last read (usually one call), so a member who unsubscribed or
    /// confirmed during the run is not sent with the status it had.
    pub(crate) async fn statuses(
        &mut self,
        executor: &Executor,
        list_id: &str,
        batch: &[&String],
        limit: u64,
    ) -> Option<&HashMap<String, MemberStatus>> {
        // All new to the audience as last read: they go without `update_existing`, no read.
        let current = matches!(self, Self::Known { statuses, .. }
            if !batch.iter().any(|e| statuses.contains_key(*e)));
        if !current {
            self.refresh(executor, list_id, batch, limit).await;
        }
        match self {
            Self::Known { statuses, .. } => Some(statuses),
            _ => None,
        }
    }

    /// Reads or refreshes the statuses, as [`statuses`](Self::statuses) says.
    async fn refresh(&mut self, executor: &Executor, list_id: &str, batch: &[&String], limit: u64) {
        let list = ListId::from(list_id);
        let read_at = Utc::now();
        *self = match std::mem::take(self) {
            Self::Unread => match read(executor, &list, batch.len(), limit).await {
                Some(statuses) => Self::Known { statuses, read_at },
                None => Self::Unknown,
            },
            Self::Known {
                mut statuses,
                read_at: last,
            } => match pages(executor, &list, Some(last - CLOCK_MARGIN)).await {
                Some(changed) => {
                    statuses.extend(changed);
                    Self::Known { statuses, read_at }
                }
                None => Self::Unknown,
            },
            Self::Unknown => Self::Unknown,
        };
    }
}

/// Reads the audience's members (address and status only) when it is small enough; `None` when
/// it is not, or a call failed.
async fn read(
    executor: &Executor,
    list: &ListId,
    to_write: usize,
    limit: u64,
) -> Option<HashMap<String, MemberStatus>> {
    if limit == 0 {
        return None;
    }
    executor.calls().count("mailchimp member_list get");
    let total = executor
        .mailchimp()
        .list(list)
        .members()
        .list()
        .count(1)
        .fields(["total_items"])
        .send()
        .await
        .ok()?
        .total_items;
    if total == 0 {
        return Some(HashMap::new());
    }
    let calls = total.div_ceil(u64::from(PAGE));
    if total > limit || calls > u64::try_from(to_write).unwrap_or(u64::MAX) {
        return None;
    }
    pages(executor, list, None).await
}

/// Pages `GET /lists/{id}/members` (address and status, [`PAGE`] a call), all members or those
/// changed since a time; `None` when a call failed.
async fn pages(
    executor: &Executor,
    list: &ListId,
    since: Option<DateTime<Utc>>,
) -> Option<HashMap<String, MemberStatus>> {
    let mut statuses = HashMap::new();
    let mut offset = 0;
    loop {
        executor.calls().count("mailchimp member_list get");
        let mut request = executor
            .mailchimp()
            .list(list)
            .members()
            .list()
            .count(PAGE)
            .offset(offset)
            .fields(["members.email_address", "members.status", "total_items"]);
        if let Some(since) = since {
            request = request.since_last_changed(since);
        }
        let page = request.send().await.ok()?;
        offset += page.items.len() as u64;
        let done = page.items.is_empty() || offset >= page.total_items;
        statuses.extend(page.items.into_iter().filter_map(|m| {
            let status = m.status.as_ref()?.as_str().parse().ok()?;
            Some((crate::normalize_email(&m.email_address), status))
        }));
        if done {
            return Some(statuses);
        }
    }
}
