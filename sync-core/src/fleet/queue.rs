//! The due queue of a worker: every (pair, object) job with the time it is due, taken earliest
//! first, at most one run per pair at a time.
//!
//! Fairness comes from two rules together: runs are slices (a bounded number of pages), and a
//! slice that stopped with work left goes back due *now*, behind every job that fell due while
//! it ran. So a pair with a large backlog gets one slice per turn, like every other due pair,
//! and a job waits at most for the slices of the jobs due before it.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use crate::model::ObjectKind;

/// A job's place: when it is due, then the order it was queued in (ties in due time go first
/// come, first served).
type Slot = (Instant, u64);

/// The jobs of one worker's pairs.
#[derive(Debug, Default)]
pub(crate) struct DueQueue {
    jobs: BTreeMap<Slot, (String, ObjectKind)>,
    busy: HashSet<String>,
    seq: u64,
}

impl DueQueue {
    /// Queues `object` of `pair`, due at `due`.
    pub(crate) fn push(&mut self, pair: &str, object: ObjectKind, due: Instant) {
        self.seq += 1;
        self.jobs.insert((due, self.seq), (pair.to_owned(), object));
    }

    /// The earliest job due by `now` whose pair is not running, marked running.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(String, ObjectKind)> {
        let slot = self
            .jobs
            .iter()
            .take_while(|((due, _), _)| *due <= now)
            .find(|(_, (pair, _))| !self.busy.contains(pair))
            .map(|(slot, _)| *slot)?;
        let (pair, object) = self.jobs.remove(&slot)?;
        self.busy.insert(pair.clone());
        Some((pair, object))
    }

    /// Marks `pair`'s run finished.
    pub(crate) fn done(&mut self, pair: &str) {
        self.busy.remove(pair);
    }

    /// Whether `pair` has a run in flight.
    pub(crate) fn is_busy(&self, pair: &str) -> bool {
        self.busy.contains(pair)
    }

    /// Forgets every job of `pair` (its account was released or lost).
    pub(crate) fn remove_pair(&mut self, pair: &str) {
        self.jobs.retain(|_, (p, _)| p != pair);
    }

    /// When the earliest job is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.jobs.keys().next().map(|(due, _)| *due)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_pair_with_a_backlog_gets_one_slice_per_turn() {
        let t0 = Instant::now();
        let mut q = DueQueue::default();
        for pair in ["busy", "a", "b", "c"] {
            q.push(pair, ObjectKind::Customers, t0);
        }
        let mut order = Vec::new();
        // One run at a time; "busy" always has work left and goes back due now.
        for step in 0..8u32 {
            let now = t0 + Duration::from_millis(u64::from(step));
            let (pair, object) = q.pop_due(now).unwrap();
            order.push(pair.clone());
            q.done(&pair);
            if pair == "busy" {
                q.push(&pair, object, now);
            } else {
                q.push(&pair, object, now + Duration::from_secs(60));
            }
        }
        assert_eq!(order[..4], ["busy", "a", "b", "c"]);
        assert!(order[4..].iter().all(|p| p == "busy"), "{order:?}");
    }

    #[test]
    fn a_running_pair_is_skipped_and_its_other_object_waits() {
        let t0 = Instant::now();
        let mut q = DueQueue::default();
        q.push("p1", ObjectKind::Customers, t0);
        q.push("p1", ObjectKind::Items, t0);
        q.push("p2", ObjectKind::Items, t0 + Duration::from_millis(1));
        let now = t0 + Duration::from_millis(5);
        assert_eq!(q.pop_due(now), Some(("p1".into(), ObjectKind::Customers)));
        assert_eq!(q.pop_due(now), Some(("p2".into(), ObjectKind::Items)));
        assert_eq!(q.pop_due(now), None);
        assert!(q.is_busy("p1"));
        q.done("p1");
        assert_eq!(q.pop_due(now), Some(("p1".into(), ObjectKind::Items)));
    }

    #[test]
    fn nothing_is_taken_before_it_is_due_and_removed_pairs_are_gone() {
        let t0 = Instant::now();
        let mut q = DueQueue::default();
        q.push("p1", ObjectKind::Customers, t0 + Duration::from_secs(10));
        q.push("p2", ObjectKind::Customers, t0 + Duration::from_secs(20));
        assert_eq!(q.pop_due(t0), None);
        assert_eq!(q.next_due(), Some(t0 + Duration::from_secs(10)));
        q.remove_pair("p1");
        assert_eq!(q.next_due(), Some(t0 + Duration::from_secs(20)));
        assert_eq!(
            q.pop_due(t0 + Duration::from_secs(30)),
            Some(("p2".into(), ObjectKind::Customers))
        );
    }
}
