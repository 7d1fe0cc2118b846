//! The audience's existing members, read once per run before the first member batch, so that
//! batch subscribe can update them in place (`update_existing: true` with their current status)
//! instead of each coming back as "contact exists" and costing a `GET` and a `PUT`. Before each
//! later batch only the members changed since the last read are read again, so the statuses
//! sent are at most one call old; or, with a refresh interval
//! ([`SyncConfig::audience_refresh_secs`](crate::config::SyncConfig::audience_refresh_secs)),
//! only once the last read is older than it.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

use mailchimp_client::ListId;

use crate::model::MemberStatus;
use crate::operation::Executor;

/// Members read per prefetch call (Mailchimp's maximum).
const PAGE: u32 = 1000;

/// How far back the first refresh reads before the local time of the first read when that
/// read saw no member's `last_changed` (an empty audience): covers a clock difference between
/// this host and Mailchimp. Otherwise the bound comes from Mailchimp's own clock.
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
    /// Every member's current status, by normalized address. A member changed after the last
    /// read has a `last_changed` (Mailchimp's clock) at or after `since`.
    Known {
        statuses: HashMap<String, MemberStatus>,
        since: DateTime<Utc>,
        /// When the last read started (this host's monotonic clock).
        read_at: Instant,
    },
}

impl Audience {
    /// The statuses to batch the members `batch` (normalized addresses) with. The first time,
    /// read the audience if that is worth it for them (at most one call per member to write, and
    /// at most `limit` members). Later, when some of them are known members, read the members
    /// changed since the last read (usually one call), so a member who unsubscribed or
    /// confirmed during the run is not sent with the status it had; unless the last read is
    /// younger than `fresh_for`.
    pub(crate) async fn statuses(
        &mut self,
        executor: &Executor,
        list_id: &str,
        batch: &[&String],
        limit: u64,
        fresh_for: std::time::Duration,
    ) -> Option<&HashMap<String, MemberStatus>> {
        // All new to the audience as last read: they go without `update_existing`, no read.
        let current = matches!(self, Self::Known { statuses, read_at, .. }
            if read_at.elapsed() < fresh_for || !batch.iter().any(|e| statuses.contains_key(*e)));
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
        let started = Instant::now();
        let local_start = Utc::now();
        // A lower bound of Mailchimp's time when the read started: the newest change it saw,
        // less the read's duration (and a second for `last_changed`'s resolution).
        let bound = |newest: Option<DateTime<Utc>>| {
            let took = Duration::from_std(started.elapsed()).unwrap_or(CLOCK_MARGIN);
            newest.map(|n| n - took - Duration::seconds(1))
        };
        *self = match std::mem::take(self) {
            Self::Unread => match read(executor, &list, batch.len(), limit).await {
                Some(read) => Self::Known {
                    since: bound(read.newest).unwrap_or(local_start - CLOCK_MARGIN),
                    statuses: read.statuses,
                    read_at: started,
                },
                None => Self::Unknown,
            },
            Self::Known {
                mut statuses,
                since,
                ..
            } => match pages(executor, &list, Some(since)).await {
                Some(changed) => {
                    statuses.extend(changed.statuses);
                    Self::Known {
                        since: bound(changed.newest).map_or(since, |b| b.max(since)),
                        statuses,
                        read_at: started,
                    }
                }
                None => Self::Unknown,
            },
            Self::Unknown => Self::Unknown,
        };
    }
}

/// Members read, and the newest `last_changed` among them.
struct Read {
    statuses: HashMap<String, MemberStatus>,
    newest: Option<DateTime<Utc>>,
}

/// Reads the audience's members (address and status only) when it is small enough; `None` when
/// it is not, or a call failed.
async fn read(executor: &Executor, list: &ListId, to_write: usize, limit: u64) -> Option<Read> {
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
    let calls = total.div_ceil(u64::from(PAGE));
    if total > limit || calls > u64::try_from(to_write).unwrap_or(u64::MAX) {
        return None;
    }
    if total == 0 {
        return Some(Read {
            statuses: HashMap::new(),
            newest: None,
        });
    }
    pages(executor, list, None).await
}

/// Pages `GET /lists/{id}/members` (address, status and `last_changed`, [`PAGE`] a call), all
/// members or those changed since a time; `None` when a call failed.
async fn pages(executor: &Executor, list: &ListId, since: Option<DateTime<Utc>>) -> Option<Read> {
    let mut read = Read {
        statuses: HashMap::new(),
        newest: None,
    };
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
            .fields([
                "members.email_address",
                "members.status",
                "members.last_changed",
                "total_items",
            ]);
        if let Some(since) = since {
            request = request.since_last_changed(since);
        }
        let page = request.send().await.ok()?;
        // Offsets count every member sent, decoded or not. One that does not decode is left
        // unknown here: its write then takes the contact-exists path, which reads it alone.
        let sent = page.len_sent() as u64;
        offset += sent;
        let done = sent == 0 || offset >= page.total_items;
        if !page.undecoded.is_empty() {
            tracing::warn!(
                members = page.undecoded.len(),
                "audience members that do not decode were left out of the audience read"
            );
        }
        for member in page.items {
            let changed = member.last_changed.map(|c| c.with_timezone(&Utc));
            read.newest = read.newest.max(changed);
            let Some(status) = member.status.and_then(|s| s.as_str().parse().ok()) else {
                continue;
            };
            read.statuses
                .insert(crate::normalize_email(&member.email_address), status);
        }
        if done {
            return Some(read);
        }
    }
}
