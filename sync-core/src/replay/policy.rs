//! How often and how long a queued row is retried automatically.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The automatic retries of queued (failed or deferred) rows: exponential backoff per row and a
/// bounded number of retries, after which the row is *dead* and left for a person.
///
/// The `n`-th retry of a row waits `base × 2ⁿ⁻¹` (at most `cap`) after the `n − 1`-th.
///
/// ```
/// use std::time::Duration;
/// use sync_core::replay::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_retries, 8);
/// assert_eq!(policy.delay_after(1), Duration::from_secs(60));
/// assert_eq!(policy.delay_after(3), Duration::from_secs(240));
/// assert_eq!(policy.delay_after(30), Duration::from_secs(6 * 3600));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Automatic retries of a row before it is dead (0: a failure is dead at once).
    pub max_retries: u32,
    /// The wait after the first retry.
    #[serde(with = "secs")]
    pub base: Duration,
    /// The longest wait between two retries.
    #[serde(with = "secs")]
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 8 retries, 1 minute doubling up to 6 hours: about 4¼ hours of retries in all, so a
    /// Mailchimp or QAD outage of an afternoon heals by itself.
    fn default() -> Self {
        Self {
            max_retries: 8,
            base: Duration::from_secs(60),
            cap: Duration::from_secs(6 * 3600),
        }
    }
}

impl RetryPolicy {
    /// A policy of `max_retries` retries, waiting `base` doubling up to `cap` between them.
    #[must_use]
    pub fn new(max_retries: u32, base: Duration, cap: Duration) -> Self {
        Self {
            max_retries,
            base,
            cap,
        }
    }

    /// How long to wait after a row's `retries`-th retry before the next one.
    #[must_use]
    pub fn delay_after(&self, retries: u32) -> Duration {
        let doublings = retries.saturating_sub(1).min(31);
        self.base.saturating_mul(1 << doublings).min(self.cap)
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}
