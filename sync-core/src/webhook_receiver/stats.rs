//! Counters of the requests the receiver refused without writing to the state database, and of
//! the deliveries it took, by result.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why the receiver refused a request.
///
/// Each refusal is counted in [`ReceiverStats`] and logged at debug level (at most one line per
/// reason every [`LOG_EVERY`]); none writes to the state database, except a
/// [`Malformed`](Self::Malformed) delivery whose signature was verified, which is also audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// A wrong secret token or any other path: 404.
    WrongPath,
    /// A body over the configured limit, declared or sent: 413.
    BodyTooLarge,
    /// A missing, malformed, stale or wrong `X-Mailchimp-Signature`: 401.
    Unauthenticated,
    /// A body that is not a Mailchimp delivery form: 400.
    Malformed,
    /// Over the per-source-address rate limit: 429.
    RateLimited,
    /// Over the global concurrency limit: 503.
    Overloaded,
}

impl Rejection {
    /// Every reason, in the order of [`ReceiverStats`]' counters.
    pub const ALL: [Rejection; 6] = [
        Rejection::WrongPath,
        Rejection::BodyTooLarge,
        Rejection::Unauthenticated,
        Rejection::Malformed,
        Rejection::RateLimited,
        Rejection::Overloaded,
    ];

    /// A short stable name (`wrong_path`, `body_too_large`, …), for metrics and logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::WrongPath => "wrong_path",
            Rejection::BodyTooLarge => "body_too_large",
            Rejection::Unauthenticated => "unauthenticated",
            Rejection::Malformed => "malformed",
            Rejection::RateLimited => "rate_limited",
            Rejection::Overloaded => "overloaded",
        }
    }

    fn index(self) -> usize {
        match self {
            Rejection::WrongPath => 0,
            Rejection::BodyTooLarge => 1,
            Rejection::Unauthenticated => 2,
            Rejection::Malformed => 3,
            Rejection::RateLimited => 4,
            Rejection::Overloaded => 5,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of a delivery the receiver took (signed where required, on the secret path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryResult {
    /// Its effects were stored: 200.
    Applied,
    /// Already applied (the delivery key was seen): 200, nothing changed.
    Duplicate,
    /// For another audience: 200, audited as skipped.
    Ignored,
    /// Signed but not a delivery the receiver understands: 400, audited.
    Undecoded,
    /// The state store could not take it: 500, so Mailchimp retries.
    Failed,
}

impl DeliveryResult {
    /// Every result, in the order of [`ReceiverStats`]' counters.
    pub const ALL: [DeliveryResult; 5] = [
        DeliveryResult::Applied,
        DeliveryResult::Duplicate,
        DeliveryResult::Ignored,
        DeliveryResult::Undecoded,
        DeliveryResult::Failed,
    ];

    /// A short stable name (`applied`, `duplicate`, …), for metrics.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryResult::Applied => "applied",
            DeliveryResult::Duplicate => "duplicate",
            DeliveryResult::Ignored => "ignored",
            DeliveryResult::Undecoded => "undecoded",
            DeliveryResult::Failed => "failed",
        }
    }

    fn index(self) -> usize {
        match self {
            DeliveryResult::Applied => 0,
            DeliveryResult::Duplicate => 1,
            DeliveryResult::Ignored => 2,
            DeliveryResult::Undecoded => 3,
            DeliveryResult::Failed => 4,
        }
    }
}

/// At most one debug line per rejection reason this often, so a flood cannot flood the log.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Inner {
    counts: [AtomicU64; 6],
    deliveries: [AtomicU64; 5],
    /// Per reason: milliseconds after `origin` of the last debug line, plus one (0: never).
    logged_at: [AtomicU64; 6],
    origin: Instant,
}

/// Counters of the requests the receiver refused, by [`Rejection`] reason.
///
/// Cheap to clone (the clones share the counters); read it from the embedding program (for
/// metrics) through [`ReceiverHandle::stats`](super::ReceiverHandle::stats), or pass one to
/// [`router_with_stats`](super::router_with_stats).
///
/// ```
/// use sync_core::webhook_receiver::{ReceiverStats, Rejection};
///
/// let stats = ReceiverStats::new();
/// assert_eq!(stats.count(Rejection::WrongPath), 0);
/// assert_eq!(stats.total(), 0);
/// assert_eq!(stats.to_string(), "wrong_path=0 body_too_large=0 unauthenticated=0 malformed=0 rate_limited=0 overloaded=0");
/// ```
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    inner: Arc<Inner>,
}

impl Default for ReceiverStats {
    fn default() -> Self {
        Self::new()
    }
}

impl ReceiverStats {
    /// Counters at zero.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                counts: Default::default(),
                deliveries: Default::default(),
                logged_at: Default::default(),
                origin: Instant::now(),
            }),
        }
    }

    /// How many requests were refused for `reason`.
    #[must_use]
    pub fn count(&self, reason: Rejection) -> u64 {
        self.inner.counts[reason.index()].load(Ordering::Relaxed)
    }

    /// How many deliveries the receiver took ended as `result`.
    #[must_use]
    pub fn deliveries(&self, result: DeliveryResult) -> u64 {
        self.inner.deliveries[result.index()].load(Ordering::Relaxed)
    }

    /// Counts one delivery taken.
    pub(crate) fn delivered(&self, result: DeliveryResult) {
        self.inner.deliveries[result.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// How many requests were refused, all reasons together.
    #[must_use]
    pub fn total(&self) -> u64 {
        Rejection::ALL.iter().map(|&r| self.count(r)).sum()
    }

    /// Counts one refusal and logs it at debug level, unless a line for the same reason was
    /// logged less than [`LOG_EVERY`] ago. `detail` must hold no secret (never the path token,
    /// the body or a signature).
    pub(crate) fn record(&self, reason: Rejection, detail: &str) {
        let i = reason.index();
        let total = self.inner.counts[i].fetch_add(1, Ordering::Relaxed) + 1;
        let now = u64::try_from(self.inner.origin.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let last = self.inner.logged_at[i].load(Ordering::Relaxed);
        let every = u64::try_from(LOG_EVERY.as_millis()).unwrap_or(u64::MAX);
        let due = last == 0 || now.saturating_sub(last) >= every;
        // Only the caller that moves the mark logs, so racing refusals log one line.
        if due
            && self.inner.logged_at[i]
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::debug!(
                reason = reason.as_str(),
                total,
                detail,
                "webhook receiver refused a request (one line per reason every {} s)",
                LOG_EVERY.as_secs()
            );
        }
    }
}

impl fmt::Display for ReceiverStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, reason) in Rejection::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{reason}={}", self.count(*reason))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_shared_by_clones_and_kept_per_reason() {
        let stats = ReceiverStats::new();
        let clone = stats.clone();
        clone.record(Rejection::RateLimited, "peer 192.0.2.1");
        clone.record(Rejection::RateLimited, "peer 192.0.2.1");
        stats.record(Rejection::WrongPath, "");
        assert_eq!(stats.count(Rejection::RateLimited), 2);
        assert_eq!(stats.count(Rejection::WrongPath), 1);
        assert_eq!(stats.count(Rejection::Overloaded), 0);
        assert_eq!(stats.total(), 3);
    }

    #[test]
    fn one_log_line_per_reason_per_period() {
        let stats = ReceiverStats::new();
        stats.record(Rejection::Malformed, "");
        let first = stats.inner.logged_at[Rejection::Malformed.index()].load(Ordering::Relaxed);
        assert_ne!(first, 0, "the first refusal is logged");
        for _ in 0..100 {
            stats.record(Rejection::Malformed, "");
        }
        let after = stats.inner.logged_at[Rejection::Malformed.index()].load(Ordering::Relaxed);
        assert_eq!(first, after, "no further line within the period");
        assert_eq!(
            stats.inner.logged_at[Rejection::WrongPath.index()].load(Ordering::Relaxed),
            0
        );
    }
}
