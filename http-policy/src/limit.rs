//! A concurrency cap shared by every clone of a client, adaptive under
//! overload (AIMD).
//!
//! The cap starts at its configured maximum. A request that the server
//! refuses for overload (Mailchimp's `429`) reports it through its
//! [`Permit`]: the in-flight limit halves (never below 1). Each success
//! window — as many successful requests as the configured maximum — grows it
//! back by one, up to the maximum. (A window of the *current* limit regrows a
//! halved limit so fast that two clients sharing an account overrun it again
//! every few requests; with the maximum, the shared-account test in `tests/`
//! sees about a third as many `429`s.) Only the first overload reported by requests
//! that started under the same limit halves it: ten requests refused together
//! are one signal, not ten, so a burst does not collapse the limit to 1.
//!
//! This is what lets a connector share an account (Mailchimp's connection
//! limit is per user, across all keys and OAuth tokens) with another
//! integration and settle below the shared limit instead of retrying into a
//! storm of `429`s.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// At most `limit` requests in flight at once, across every clone; the limit
/// adapts between 1 and the configured maximum (see the module docs).
///
/// Clones share the same state, so a client and all the handlers and streams
/// made from it count against one limit. Acquire a [`Permit`] per attempt
/// (not per logical call) so that a request waiting in backoff does not hold
/// a slot. A caller that never reports [`Permit::overloaded`] gets a fixed
/// cap of `max`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let limit = http_policy::ConcurrencyLimit::new(4);
/// let a = limit.acquire().await;
/// let _b = limit.clone().acquire().await;
/// assert_eq!(limit.available(), 2);
/// a.overloaded(); // the server said 429: halve
/// assert_eq!(limit.current(), 2);
/// assert_eq!(limit.available(), 1);
/// for _ in 0..4 {
///     limit.acquire().await.succeeded();
/// }
/// // One success window (4 successes, the maximum) grows it by one.
/// assert_eq!(limit.current(), 3);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ConcurrencyLimit {
    shared: Arc<Shared>,
    max: usize,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Woken when a slot frees or the limit grows.
    freed: Notify,
}

#[derive(Debug)]
struct State {
    /// The adaptive limit, `1..=max`.
    limit: usize,
    in_flight: usize,
    /// Successes since the limit last changed; `max` of them grow it by one.
    successes: usize,
    /// Bumped whenever the limit halves: permits taken before belong to an
    /// older epoch, and their overloads are the same signal again.
    epoch: u64,
    /// Overload reports received (each one, whether it halved the limit or not).
    overloads: u64,
}

impl ConcurrencyLimit {
    /// A cap of `max` simultaneous requests; `0` is treated as `1`.
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    limit: max,
                    in_flight: 0,
                    successes: 0,
                    epoch: 0,
                    overloads: 0,
                }),
                freed: Notify::new(),
            }),
            max,
        }
    }

    /// The configured maximum.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The limit in force now: `max` until an overload, then adapting.
    pub fn current(&self) -> usize {
        self.lock().limit
    }

    /// Slots free right now (for diagnostics; racy by nature).
    pub fn available(&self) -> usize {
        let state = self.lock();
        state.limit.saturating_sub(state.in_flight)
    }

    /// Overloads reported through [`Permit::overloaded`] so far.
    pub fn overloads(&self) -> u64 {
        self.lock().overloads
    }

    /// Waits for a free slot. The slot is released when the permit drops.
    pub async fn acquire(&self) -> Permit {
        loop {
            // Register for a wake-up before looking, so a release between the
            // look and the wait is not missed.
            let freed = self.shared.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.lock();
                if state.in_flight < state.limit {
                    state.in_flight += 1;
                    return Permit {
                        limit: self.clone(),
                        epoch: state.epoch,
                    };
                }
            }
            freed.await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; the counters stay consistent.
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One in-flight slot of a [`ConcurrencyLimit`]; released on drop.
///
/// Report how the request went with [`succeeded`](Self::succeeded) or
/// [`overloaded`](Self::overloaded); dropping it says nothing (a transport
/// error or another failure is neither signal).
#[derive(Debug)]
pub struct Permit {
    limit: ConcurrencyLimit,
    epoch: u64,
}

impl Permit {
    /// The request succeeded: counts towards the success window that grows
    /// the limit by one.
    pub fn succeeded(self) {
        let mut state = self.limit.lock();
        if state.limit >= self.limit.max {
            return;
        }
        state.successes += 1;
        if state.successes >= self.limit.max {
            state.limit += 1;
            state.successes = 0;
            drop(state);
            self.limit.shared.freed.notify_waiters();
        }
    }

    /// The server refused the request for overload: halves the limit, unless
    /// it already halved since this permit was taken.
    pub fn overloaded(self) {
        let mut state = self.limit.lock();
        state.overloads += 1;
        if self.epoch == state.epoch {
            let halved = (state.limit / 2).max(1);
            state.limit = halved;
            state.successes = 0;
            state.epoch += 1;
            tracing::debug!(limit = halved, "overloaded: concurrency limit halved");
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        {
            let mut state = self.limit.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        self.limit.shared.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn never_more_than_max_in_flight() {
        let limit = ConcurrencyLimit::new(3);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (limit, in_flight, peak) = (limit.clone(), in_flight.clone(), peak.clone());
                tokio::spawn(async move {
                    let _p = limit.acquire().await;
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(limit.available(), 3);
    }

    #[test]
    fn zero_means_one() {
        assert_eq!(ConcurrencyLimit::new(0).max(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn overloads_of_one_window_halve_once_and_successes_grow_it_back() {
        let limit = ConcurrencyLimit::new(8);
        let permits: Vec<_> = acquire_n(&limit, 8).await;
        for p in permits {
            p.overloaded();
        }
        assert_eq!(limit.current(), 4, "eight refusals together are one signal");
        assert_eq!(limit.overloads(), 8);
        // A permit taken after the halving belongs to the new epoch.
        limit.acquire().await.overloaded();
        assert_eq!(limit.current(), 2);
        limit.acquire().await.overloaded();
        limit.acquire().await.overloaded();
        assert_eq!(limit.current(), 1, "never below one");
        let mut grown = Vec::new();
        for _ in 0..(7 * 8) {
            limit.acquire().await.succeeded();
            grown.push(limit.current());
        }
        assert_eq!(limit.current(), 8, "back to the maximum, one per window");
        assert_eq!(&grown[6..9], [1, 2, 2], "a window is eight successes");
        assert_eq!(grown[15], 3);
        limit.acquire().await.succeeded();
        assert_eq!(limit.current(), 8, "never above the maximum");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_halved_limit_holds_back_new_requests_until_slots_free() {
        let limit = ConcurrencyLimit::new(4);
        let mut held = acquire_n(&limit, 4).await;
        held.pop().unwrap().overloaded();
        assert_eq!(limit.current(), 2);
        // Three still in flight, limit two: nobody gets in until two leave.
        let waiter = tokio::spawn({
            let limit = limit.clone();
            async move { limit.acquire().await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(!waiter.is_finished());
        held.pop();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(!waiter.is_finished());
        held.pop();
        let _in = waiter.await.unwrap();
        assert_eq!(limit.available(), 0);
    }

    async fn acquire_n(limit: &ConcurrencyLimit, n: usize) -> Vec<Permit> {
        let mut permits = Vec::new();
        for _ in 0..n {
            permits.push(limit.acquire().await);
        }
        permits
    }
}
