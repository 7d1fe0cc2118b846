//! A concurrency cap shared by every clone of a client.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// At most `max` requests in flight at once, across every clone.
///
/// Clones share the same underlying semaphore, so a client and all the
/// handlers and streams made from it count against one limit. Acquire a
/// [`Permit`] per attempt (not per logical call) so that a request waiting in
/// backoff does not hold a slot.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let limit = http_policy::ConcurrencyLimit::new(2);
/// let a = limit.acquire().await;
/// let _b = limit.clone().acquire().await;
/// assert_eq!(limit.available(), 0);
/// drop(a);
/// assert_eq!(limit.available(), 1);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ConcurrencyLimit {
    semaphore: Arc<Semaphore>,
    max: usize,
}

impl ConcurrencyLimit {
    /// A cap of `max` simultaneous requests; `0` is treated as `1`.
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            semaphore: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// The configured maximum.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Slots free right now (for diagnostics; racy by nature).
    pub fn available(&self) -> usize {
        self.semaphore.available_permits()
    }

    /// Waits for a free slot. The slot is released when the permit drops.
    pub async fn acquire(&self) -> Permit {
        match Arc::clone(&self.semaphore).acquire_owned().await {
            Ok(permit) => Permit(permit),
            // The semaphore is private and never closed.
            Err(_) => unreachable!("concurrency semaphore is never closed"),
        }
    }
}

/// One in-flight slot of a [`ConcurrencyLimit`]; released on drop.
#[derive(Debug)]
pub struct Permit(#[allow(dead_code)] OwnedSemaphorePermit);

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
}
