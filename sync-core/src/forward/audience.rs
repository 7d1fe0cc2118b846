//! The audience's existing members, read once per run before the first member batch, so that
//! batch subscribe can update them in place (`update_existing: true` with their current status)
//! instead of each coming back as "contact exists" and costing a `GET` and a `PUT`.

use std::collections::HashMap;

use mailchimp_client::ListId;

use crate::model::MemberStatus;
use crate::operation::Executor;

/// Members read per prefetch call (Mailchimp's maximum).
const PAGE: u32 = 1000;

/// What this run knows about the audience's members.
#[derive(Debug, Default)]
pub(crate) enum Audience {
    /// Not read yet.
    #[default]
    Unread,
    /// Not worth reading (too large for the work at hand), or the read failed: batches fall
    /// back to "contact exists" handling.
    Unknown,
    /// Every member's current status, by normalized address.
    Known(HashMap<String, MemberStatus>),
}

impl Audience {
    /// The statuses to batch with: read them first if this run has not decided yet and reading
    /// is worth it for `to_write` members (one call per 1000 members at most one call per
    /// member to write, and at most `limit` members).
    pub(crate) async fn statuses(
        &mut self,
        executor: &Executor,
        list_id: &str,
        to_write: usize,
        limit: u64,
    ) -> Option<&HashMap<String, MemberStatus>> {
        if matches!(self, Self::Unread) {
            *self = match read(executor, list_id, to_write, limit).await {
                Some(statuses) => Self::Known(statuses),
                None => Self::Unknown,
            };
        }
        match self {
            Self::Known(statuses) => Some(statuses),
            _ => None,
        }
    }
}

/// Pages `GET /lists/{id}/members` (address and status only) when the audience is small enough;
/// `None` when it is not, or a call failed.
async fn read(
    executor: &Executor,
    list_id: &str,
    to_write: usize,
    limit: u64,
) -> Option<HashMap<String, MemberStatus>> {
    if limit == 0 {
        return None;
    }
    let list = ListId::from(list_id);
    let members = executor.mailchimp().list(&list).members();
    executor.calls().count("mailchimp member_list");
    let total = members
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
    let mut statuses = HashMap::new();
    let mut offset = 0;
    while offset < total {
        executor.calls().count("mailchimp member_list");
        let page = members
            .list()
            .count(PAGE)
            .offset(offset)
            .fields(["members.email_address", "members.status", "total_items"])
            .send()
            .await
            .ok()?;
        if page.items.is_empty() {
            break;
        }
        offset += page.items.len() as u64;
        statuses.extend(page.items.into_iter().filter_map(|m| {
            let status = m.status.as_ref()?.as_str().parse().ok()?;
            Some((crate::normalize_email(&m.email_address), status))
        }));
    }
    Some(statuses)
}
