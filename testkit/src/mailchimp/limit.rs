//! The per-credential limit on simultaneous requests, and its records.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

/// Counts requests in flight per credential and refuses those over the limit.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: usize,
    inner: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    in_flight: HashMap<String, usize>,
    /// Highest simultaneous requests per credential, refused ones included.
    peak: HashMap<String, usize>,
    rejected: u64,
}

/// A request's place under the limit; leaving frees it.
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    limiter: &'a Limiter,
    credential: String,
}

impl Limiter {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            inner: Mutex::new(Counts::default()),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Takes a slot, or records a refusal and returns `None` when `limit` requests are already in flight.
    pub(crate) fn enter(&self, credential: &str) -> Option<Slot<'_>> {
        let mut counts = self.lock();
        let current = counts.in_flight.get(credential).copied().unwrap_or(0);
        let peak = counts.peak.entry(credential.to_owned()).or_default();
        *peak = (*peak).max(current + 1);
        if current >= self.limit {
            counts.rejected += 1;
            return None;
        }
        counts.in_flight.insert(credential.to_owned(), current + 1);
        Some(Slot {
            limiter: self,
            credential: credential.to_owned(),
        })
    }

    /// The highest number of simultaneous requests any credential made (refused ones included).
    pub(crate) fn peak(&self) -> usize {
        self.lock().peak.values().copied().max().unwrap_or(0)
    }

    /// The highest number of simultaneous requests this credential made.
    pub(crate) fn peak_for(&self, credential: &str) -> usize {
        self.lock().peak.get(credential).copied().unwrap_or(0)
    }

    /// Requests refused with 429 for going over the limit.
    pub(crate) fn rejected(&self) -> u64 {
        self.lock().rejected
    }

    /// Forgets peaks and refusals (requests in flight stay counted).
    pub(crate) fn reset(&self) {
        let mut counts = self.lock();
        counts.peak = counts.in_flight.clone();
        counts.rejected = 0;
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut counts = self.limiter.lock();
        if let Some(n) = counts.in_flight.get_mut(&self.credential) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_request_over_the_limit_and_records_the_peak() {
        let limiter = Limiter::new(2);
        let a = limiter.enter("k").unwrap();
        let _b = limiter.enter("k").unwrap();
        assert!(limiter.enter("k").is_none());
        assert!(
            limiter.enter("other").is_some(),
            "limits are per credential"
        );
        assert_eq!(limiter.peak_for("k"), 3);
        assert_eq!(limiter.rejected(), 1);
        drop(a);
        assert!(limiter.enter("k").is_some());
        limiter.reset();
        assert_eq!(limiter.rejected(), 0);
    }
}
