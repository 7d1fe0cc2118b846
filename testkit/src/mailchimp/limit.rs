//! The per-account limit on simultaneous requests, and its records.
//!
//! Mailchimp's limit of simultaneous connections is per user: every API key and OAuth token of the
//! account counts against the same limit. The fake is one account, so all its credentials share one
//! count; peaks are also kept per credential, to show who used the room.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

/// Counts requests in flight for the account (all credentials together) and refuses those over the limit.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: usize,
    inner: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    /// Requests in flight per credential; their sum is the account's.
    in_flight: HashMap<String, usize>,
    /// Highest simultaneous requests per credential, refused ones included.
    peak: HashMap<String, usize>,
    /// Highest simultaneous requests of the account, refused ones included.
    account_peak: usize,
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

    /// Takes a slot, or records a refusal and returns `None` when the account already has `limit`
    /// requests in flight, whichever credentials they came with.
    pub(crate) fn enter(&self, credential: &str) -> Option<Slot<'_>> {
        let mut counts = self.lock();
        let current = counts.in_flight.get(credential).copied().unwrap_or(0);
        let account: usize = counts.in_flight.values().sum();
        let peak = counts.peak.entry(credential.to_owned()).or_default();
        *peak = (*peak).max(current + 1);
        counts.account_peak = counts.account_peak.max(account + 1);
        if account >= self.limit {
            counts.rejected += 1;
            return None;
        }
        counts.in_flight.insert(credential.to_owned(), current + 1);
        Some(Slot {
            limiter: self,
            credential: credential.to_owned(),
        })
    }

    /// The highest number of simultaneous requests the account made (refused ones included).
    pub(crate) fn peak(&self) -> usize {
        self.lock().account_peak
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
        counts.account_peak = counts.in_flight.values().sum();
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
            limiter.enter("other").is_none(),
            "the limit is per account: another key of it gets no more room"
        );
        assert_eq!(limiter.peak_for("k"), 3);
        assert_eq!(limiter.peak_for("other"), 1);
        assert_eq!(limiter.peak(), 3);
        assert_eq!(limiter.rejected(), 2);
        drop(a);
        assert!(limiter.enter("other").is_some());
        limiter.reset();
        assert_eq!(limiter.rejected(), 0);
        assert_eq!(limiter.peak(), 1, "what is still in flight");
    }
}
