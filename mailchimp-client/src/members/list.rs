//! `GET /lists/{list_id}/members` with its filters.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::client::Client;
use crate::ids::ListId;
use crate::members::{Member, MemberStatus};
use crate::page::{collection_methods, Collection};

/// `GET /lists/{list_id}/members`; made by
/// [`MembersHandler::list`](crate::MembersHandler::list).
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct ListMembersRequest {
    inner: Collection,
}

/// Formats a time filter as Mailchimp's ISO 8601 (`2026-01-01T00:00:00+00:00`).
fn iso8601(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, false)
}

impl ListMembersRequest {
    pub(crate) fn new(client: &Client, list: &ListId) -> Self {
        ListMembersRequest {
            inner: client.collection(&["lists", list.as_str(), "members"], "members"),
        }
    }

    /// Only members with this status (`archived` included).
    pub fn status(mut self, status: MemberStatus) -> Self {
        self.inner.query.set("status", status);
        self
    }

    /// Only members whose information changed after this time: the filter
    /// for incremental reads.
    pub fn since_last_changed(mut self, at: DateTime<Utc>) -> Self {
        self.inner.query.set("since_last_changed", iso8601(at));
        self
    }

    /// Only members whose information changed before this time.
    pub fn before_last_changed(mut self, at: DateTime<Utc>) -> Self {
        self.inner.query.set("before_last_changed", iso8601(at));
        self
    }

    /// Only members who opted in after this time.
    pub fn since_timestamp_opt(mut self, at: DateTime<Utc>) -> Self {
        self.inner.query.set("since_timestamp_opt", iso8601(at));
        self
    }

    /// Only members with this email type (`html` or `text`).
    pub fn email_type(mut self, email_type: impl Into<String>) -> Self {
        self.inner.query.set("email_type", email_type.into());
        self
    }

    /// Only VIP members.
    pub fn vip_only(mut self, vip_only: bool) -> Self {
        self.inner.query.set("vip_only", vip_only);
        self
    }

    /// Order by `last_changed`, ascending or descending. Useful with
    /// [`since_last_changed`](Self::since_last_changed) to resume a walk.
    pub fn sort_by_last_changed(mut self, ascending: bool) -> Self {
        self.inner.query.set("sort_field", "last_changed");
        self.inner
            .query
            .set("sort_dir", if ascending { "ASC" } else { "DESC" });
        self
    }

    collection_methods!(Member);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_iso8601_with_offset() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(iso8601(at), "2026-01-02T03:04:05+00:00");
    }
}
