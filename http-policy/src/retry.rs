//! Retry configuration and the retry loop.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// How many times to try a call and how long to wait between tries.
///
/// Delays grow exponentially from `base_delay` (doubling each retry) up to
/// `max_delay`. With jitter on (the default) each delay gets a random extra
/// of up to 100% of itself, so that many clients do not retry in step.
/// A server's `Retry-After` replaces the computed delay, capped at
/// `max_retry_after`.
///
/// ```
/// use std::time::Duration;
/// use http_policy::RetryConfig;
///
/// let config = RetryConfig::new()
///     .with_max_attempts(4)
///     .with_base_delay(Duration::from_millis(100))
///     .with_max_delay(Duration::from_secs(2));
/// assert_eq!(config.max_attempts(), 4);
/// assert_eq!(RetryConfig::disabled().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    jitter: bool,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryConfig {
    /// The default policy: 5 attempts, 500 ms base delay, 30 s cap, jitter on,
    /// `Retry-After` honoured up to 120 s.
    pub const fn new() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            jitter: true,
        }
    }

    /// No retries: every call is tried exactly once.
    pub const fn disabled() -> Self {
        Self::new().with_max_attempts(1)
    }

    /// Total attempts including the first; `0` is treated as `1`.
    pub const fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = if attempts == 0 { 1 } else { attempts };
        self
    }

    /// The delay before the first retry.
    pub const fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The largest computed delay between two attempts.
    pub const fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest wait a server's `Retry-After` can impose.
    pub const fn with_max_retry_after(mut self, delay: Duration) -> Self {
        self.max_retry_after = delay;
        self
    }

    /// Turns random jitter on or off (off makes delays deterministic).
    pub const fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Total attempts including the first.
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay before the first retry.
    pub const fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The largest computed delay.
    pub const fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The longest wait a `Retry-After` can impose.
    pub const fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// Whether delays are jittered.
    pub const fn jitter(&self) -> bool {
        self.jitter
    }

    /// The computed delays between attempts, `max_attempts - 1` of them.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + 'static {
        let retries = self.max_attempts.saturating_sub(1) as usize;
        let mut builder = ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .with_max_times(retries);
        if self.jitter {
            builder = builder.with_jitter();
        }
        builder.build().take(retries)
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// The failure is final.
    DoNotRetry,
    /// Retry after the computed backoff delay.
    Retry,
    /// Retry after this long (the server said so, e.g. `Retry-After`).
    RetryAfter(Duration),
}

/// The error of the last attempt, with how the retry loop ended.
#[derive(Debug)]
pub struct Failure<E> {
    /// The last attempt's error.
    pub error: E,
    /// Attempts made, including the first.
    pub attempts: u32,
    /// True when the last error was retryable but no attempts were left.
    pub exhausted: bool,
}

/// Runs `op` until it succeeds, `classify` says stop, or attempts run out.
///
/// `op` receives the 1-based attempt number. Between attempts the loop sleeps
/// for the backoff delay, or for the server's requested delay when `classify`
/// returns [`RetryDecision::RetryAfter`] (capped at
/// [`RetryConfig::max_retry_after`]).
///
/// # Errors
///
/// Returns a [`Failure`] holding the last attempt's error when no attempt
/// succeeded.
pub async fn retry<T, E, F, Fut, C>(
    config: &RetryConfig,
    mut op: F,
    classify: C,
) -> Result<T, Failure<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: Fn(&E) -> RetryDecision,
{
    let mut delays = config.delays();
    let mut attempt = 1;
    loop {
        let error = match op(attempt).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let decision = classify(&error);
        if decision == RetryDecision::DoNotRetry {
            return Err(Failure {
                error,
                attempts: attempt,
                exhausted: false,
            });
        }
        let Some(backoff) = delays.next() else {
            return Err(Failure {
                error,
                attempts: attempt,
                exhausted: true,
            });
        };
        let wait = match decision {
            RetryDecision::RetryAfter(asked) => asked.min(config.max_retry_after),
            _ => backoff,
        };
        tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "retrying");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::time::Instant;

    fn fast() -> RetryConfig {
        RetryConfig::new()
            .with_base_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(250))
            .with_jitter(false)
    }

    #[test]
    fn delays_grow_and_are_capped() {
        // backon computes with f32 factors, so compare at millisecond precision.
        let d: Vec<_> = fast()
            .with_max_attempts(5)
            .delays()
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(d, [100, 200, 250, 250]);
        assert_eq!(RetryConfig::disabled().delays().count(), 0);
    }

    #[test]
    fn jittered_delays_stay_within_bounds() {
        let config = fast().with_jitter(true).with_max_attempts(10);
        for d in config.delays() {
            assert!(d >= Duration::from_millis(100), "{d:?}");
            // Jitter adds up to 100% of the (capped) delay.
            assert!(d <= Duration::from_millis(501), "{d:?}");
        }
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn succeeds_after_transient_failures() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let out = retry(
            &fast(),
            |n| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 3 {
                        Err("429")
                    } else {
                        Ok(n)
                    }
                }
            },
            |_| RetryDecision::Retry,
        )
        .await
        .unwrap();
        assert_eq!(out, 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // 100 ms + 200 ms of paused time; the timer rounds up to the next millisecond.
        assert!((300..=302).contains(&start.elapsed().as_millis()));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn final_errors_are_not_retried() {
        let err = retry(
            &fast(),
            |_| async { Err::<(), _>("400") },
            |_| RetryDecision::DoNotRetry,
        )
        .await
        .unwrap_err();
        assert_eq!((err.error, err.attempts, err.exhausted), ("400", 1, false));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn exhaustion_is_reported() {
        let err = retry(
            &fast().with_max_attempts(3),
            |_| async { Err::<(), _>("503") },
            |_| RetryDecision::Retry,
        )
        .await
        .unwrap_err();
        assert_eq!((err.attempts, err.exhausted), (3, true));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn retry_after_replaces_backoff_and_is_capped() {
        let start = Instant::now();
        let config = fast().with_max_retry_after(Duration::from_secs(5));
        retry(
            &config,
            |n| async move {
                if n == 1 {
                    Err(7u64)
                } else if n == 2 {
                    Err(60)
                } else {
                    Ok(())
                }
            },
            |&secs| RetryDecision::RetryAfter(Duration::from_secs(secs)),
        )
        .await
        .unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(5 + 5));
    }
}
