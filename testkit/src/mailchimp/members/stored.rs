//! How an audience keeps its members: packed (see [`crate::packed`]), with each member's status
//! and `last_changed` beside it and an index by `last_changed`, so a member read pages without
//! decoding or date-parsing every member under the fake's lock.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{
    mailchimp::state::Table,
    packed::{format_stamp, stamp_seconds, Packed},
};

/// The statuses a member can have; anything else (a test may store any JSON) is `OTHER`.
pub(crate) const STATUSES: [&str; 6] = [
    "subscribed",
    "unsubscribed",
    "cleaned",
    "pending",
    "transactional",
    "archived",
];
const OTHER: u8 = u8::MAX;

/// One stored member.
#[derive(Debug, Clone)]
struct Stored {
    /// Index into [`STATUSES`], or [`OTHER`] (then the packed value says).
    status: u8,
    /// `last_changed` in seconds when it is in the fake's own format (what every write stores).
    changed: Option<i64>,
    member: Packed,
}

impl Stored {
    fn new(member: &Value) -> Self {
        let status = member["status"]
            .as_str()
            .and_then(|s| STATUSES.iter().position(|known| *known == s))
            .map_or(OTHER, |n| n as u8);
        Self {
            status,
            changed: member["last_changed"].as_str().and_then(stamp_seconds),
            member: Packed::new(member),
        }
    }

    fn has_status(&self, status: &str) -> bool {
        match STATUSES.get(usize::from(self.status)) {
            Some(known) => *known == status,
            None => self.member.value()["status"] == status,
        }
    }
}

/// A bound on `last_changed` from a member list's query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChangedBound {
    /// The bound, parsed.
    pub(crate) at: chrono::DateTime<chrono::FixedOffset>,
    /// `since_last_changed` (at or after) rather than `before_last_changed` (at or before).
    pub(crate) after: bool,
}

/// The members of one audience by subscriber hash, in insertion order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Members {
    table: Table<Stored>,
    /// `(last_changed seconds, position)` of every member whose `last_changed` is in the fake's
    /// own format.
    by_changed: BTreeSet<(i64, u32)>,
    /// Positions of the members whose `last_changed` is not (set raw by a test): checked one by one.
    odd_changed: BTreeSet<u32>,
    /// The table generation the index was built for.
    generation: u64,
}

impl Members {
    /// The member with this hash, archived ones included.
    pub(crate) fn get(&self, hash: &str) -> Option<Value> {
        self.table.get(hash).map(|s| s.member.value())
    }

    /// Whether a member with this hash is present (archived ones included).
    pub(crate) fn contains(&self, hash: &str) -> bool {
        self.table.contains(hash)
    }

    /// Whether the member with this hash is present and has this status.
    pub(crate) fn has_status(&self, hash: &str, status: &str) -> bool {
        self.table.get(hash).is_some_and(|s| s.has_status(status))
    }

    /// Whether a member with this hash is present and not archived.
    pub(crate) fn is_live(&self, hash: &str) -> bool {
        self.table
            .get(hash)
            .is_some_and(|s| !s.has_status("archived"))
    }

    /// How many members there are, archived ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Inserts or replaces the member with this hash (a new one goes last).
    pub(crate) fn insert(&mut self, hash: String, member: Value) {
        let stored = Stored::new(&member);
        if let Some(at) = self.table.position(&hash) {
            if let Some(old) = self.table.at(at) {
                let (old_changed, at) = (old.changed, at as u32);
                self.unindex(old_changed, at);
            }
        }
        self.table.insert(hash.clone(), stored);
        if !self.reindex_if_shifted() {
            if let Some(at) = self.table.position(&hash) {
                let changed = self.table.at(at).and_then(|s| s.changed);
                self.index(changed, at as u32);
            }
        }
    }

    /// Removes the member with this hash.
    pub(crate) fn remove(&mut self, hash: &str) -> Option<Value> {
        let at = self.table.position(hash)?;
        let changed = self.table.at(at).and_then(|s| s.changed);
        self.unindex(changed, at as u32);
        let removed = self.table.remove(hash).map(|s| s.member.value());
        self.reindex_if_shifted();
        removed
    }

    /// Changes the member with this hash in place; false if there is none.
    pub(crate) fn update(&mut self, hash: &str, change: impl FnOnce(&mut Value)) -> bool {
        let Some(mut member) = self.get(hash) else {
            return false;
        };
        change(&mut member);
        self.insert(hash.to_owned(), member);
        true
    }

    /// Every member in order, decoded (for snapshots; O(n)).
    pub(crate) fn values(&self) -> impl Iterator<Item = Value> + '_ {
        self.table.values().map(|s| s.member.value())
    }

    /// How many members have this status (no decoding for the known statuses).
    pub(crate) fn count_status(&self, status: &str) -> usize {
        self.table.values().filter(|s| s.has_status(status)).count()
    }

    /// How many members are not archived.
    pub(crate) fn count_live(&self) -> usize {
        self.table
            .values()
            .filter(|s| !s.has_status("archived"))
            .count()
    }

    /// The greatest `last_changed` string among members with this status ("" if none), compared
    /// as strings, as the stats have always been.
    pub(crate) fn last_changed_max(&self, status: &str) -> String {
        let mut best_secs: Option<i64> = None;
        let mut best_odd: Option<String> = None;
        for stored in self.table.values().filter(|s| s.has_status(status)) {
            match stored.changed {
                Some(secs) => best_secs = best_secs.max(Some(secs)),
                None => {
                    if let Some(raw) = stored.member.value()["last_changed"].as_str() {
                        if best_odd.as_deref().is_none_or(|b| raw > b) {
                            best_odd = Some(raw.to_owned());
                        }
                    }
                }
            }
        }
        // Stamps in the fake's format sort as strings in time order, so the latest one is their
        // greatest string.
        let formatted = best_secs.and_then(format_stamp);
        formatted.max(best_odd).unwrap_or_default()
    }

    /// Positions of the members that may be within the bounds, in order: from the index when
    /// there are bounds (plus those whose `last_changed` the index cannot hold), else all.
    /// Callers still check the bounds of the odd ones.
    pub(crate) fn candidates(&self, bounds: &[ChangedBound]) -> Vec<usize> {
        if bounds.is_empty() {
            return (0..self.table.positions()).collect();
        }
        let mut low = i64::MIN;
        let mut high = i64::MAX;
        for bound in bounds {
            let secs = bound.at.timestamp();
            if bound.after {
                // A whole-second stamp is at or after `at` from the next second when `at` has a
                // fraction.
                let from = if bound.at.timestamp_subsec_nanos() > 0 {
                    secs.saturating_add(1)
                } else {
                    secs
                };
                low = low.max(from);
            } else {
                high = high.min(secs);
            }
        }
        let mut found: Vec<usize> = if low > high {
            Vec::new()
        } else {
            self.by_changed
                .range((low, 0)..=(high, u32::MAX))
                .map(|(_, at)| *at as usize)
                .collect()
        };
        found.extend(self.odd_changed.iter().map(|at| *at as usize));
        found.sort_unstable();
        found
    }

    /// The member at a position: whether it has the status wanted (`None`: any but archived),
    /// whether its `last_changed` is indexed, and a way to decode it.
    pub(crate) fn at(&self, position: usize) -> Option<MemberAt<'_>> {
        self.table.at(position).map(|stored| MemberAt { stored })
    }

    fn index(&mut self, changed: Option<i64>, at: u32) {
        match changed {
            Some(secs) => self.by_changed.insert((secs, at)),
            None => self.odd_changed.insert(at),
        };
    }

    fn unindex(&mut self, changed: Option<i64>, at: u32) {
        match changed {
            Some(secs) => self.by_changed.remove(&(secs, at)),
            None => self.odd_changed.remove(&at),
        };
    }

    /// Rebuilds the index when the table's positions shifted; true if it did.
    fn reindex_if_shifted(&mut self) -> bool {
        if self.generation == self.table.generation() {
            return false;
        }
        self.generation = self.table.generation();
        self.by_changed.clear();
        self.odd_changed.clear();
        for at in 0..self.table.positions() {
            if let Some(changed) = self.table.at(at).map(|s| s.changed) {
                self.index(changed, at as u32);
            }
        }
        true
    }
}

/// A member found by position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemberAt<'a> {
    stored: &'a Stored,
}

impl MemberAt<'_> {
    /// Whether it has this status (`None`: any status but archived, as member lists default to).
    pub(crate) fn status_matches(&self, status: Option<&str>) -> bool {
        match status {
            Some(status) => self.stored.has_status(status),
            None => !self.stored.has_status("archived"),
        }
    }

    /// Whether its `last_changed` is in the index (so index bounds already hold for it).
    pub(crate) fn indexed(&self) -> bool {
        self.stored.changed.is_some()
    }

    /// The member, decoded.
    pub(crate) fn value(&self) -> Value {
        self.stored.member.value()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn member(hash: &str, status: &str, changed: &str) -> Value {
        json!({ "id": hash, "status": status, "last_changed": changed })
    }

    fn bound(at: &str, after: bool) -> ChangedBound {
        ChangedBound {
            at: chrono::DateTime::parse_from_rfc3339(at).unwrap(),
            after,
        }
    }

    #[test]
    fn candidates_follow_last_changed_through_updates_and_removals() {
        let mut members = Members::default();
        members.insert(
            "a".into(),
            member("a", "subscribed", "2026-01-01T00:00:00+00:00"),
        );
        members.insert(
            "b".into(),
            member("b", "archived", "2026-01-03T00:00:00+00:00"),
        );
        members.insert("c".into(), member("c", "subscribed", "3 January 2026"));
        members.insert(
            "d".into(),
            member("d", "cleaned", "2026-01-02T00:00:00+00:00"),
        );
        let since = [bound("2026-01-02T00:00:00Z", true)];
        assert_eq!(members.candidates(&since), vec![1, 2, 3]);
        // An update moves the member in the index, not in the order.
        members.update("a", |m| {
            m["last_changed"] = json!("2026-01-05T00:00:00+00:00")
        });
        assert_eq!(members.candidates(&since), vec![0, 1, 2, 3]);
        assert_eq!(
            members.candidates(&[
                bound("2026-01-02T00:00:00.5Z", true),
                bound("2026-01-04T00:00:00Z", false)
            ]),
            vec![1, 2]
        );
        members.remove("b");
        assert_eq!(members.candidates(&since), vec![0, 2, 3]);
        assert!(members.at(1).is_none());
        assert!(members.at(3).unwrap().status_matches(Some("cleaned")));
        assert!(!members.at(2).unwrap().indexed());
        assert_eq!(members.last_changed_max("subscribed"), "3 January 2026");
        assert_eq!(
            members.last_changed_max("cleaned"),
            "2026-01-02T00:00:00+00:00"
        );
        assert_eq!(members.count_live(), 3);
    }

    #[test]
    fn a_removed_member_written_again_goes_last_and_the_index_follows() {
        let mut members = Members::default();
        for n in 0..200 {
            let stamp = format!("2026-01-01T00:{:02}:{:02}+00:00", n / 60, n % 60);
            members.insert(
                format!("h{n}"),
                member(&format!("h{n}"), "subscribed", &stamp),
            );
        }
        // Enough removals to sweep the tombstones, which shifts every position.
        for n in 0..150 {
            members.remove(&format!("h{n}"));
        }
        members.insert(
            "h10".into(),
            member("h10", "pending", "2026-01-01T00:00:10+00:00"),
        );
        let since = [bound("2026-01-01T00:00:00Z", true)];
        let order: Vec<String> = members
            .candidates(&since)
            .into_iter()
            .filter_map(|at| members.at(at))
            .map(|m| m.value()["id"].as_str().unwrap().to_owned())
            .collect();
        let mut expected: Vec<String> = (150..200).map(|n| format!("h{n}")).collect();
        expected.push("h10".into());
        assert_eq!(order, expected);
        assert_eq!(members.len(), 51);
        assert!(members.has_status("h10", "pending"));
        assert!(members.is_live("h199"));
        assert!(!members.contains("h0"));
    }
}
