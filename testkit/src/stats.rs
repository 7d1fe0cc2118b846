//! Request counters as axum middleware.
//!
//! A [`Stats`] handle, added to a router with [`Stats::wrap`], counts every request it sees by method and
//! matched route pattern (e.g. `PUT /3.0/lists/{list_id}/members/{subscriber_hash}`), counts writes
//! (`POST`, `PUT`, `PATCH`, `DELETE`) and writes answered with a 2xx, counts responses by status, and
//! tracks the requests in flight and the highest concurrency seen. [`Stats::snapshot`] copies it all out
//! as plain data; [`Stats::reset`] zeroes it.
//!
//! Wrap it outermost, so that requests refused by fault injection or limits are counted too.
//!
//! ```
//! use axum::{routing::get, Router};
//! use testkit::stats::Stats;
//!
//! let stats = Stats::new();
//! let router = stats.wrap(Router::new().route("/items/{id}", get(|| async { "item" })));
//! # let _ = router;
//! assert_eq!(stats.requests("GET", "/items/{id}"), 0);
//! assert_eq!(stats.snapshot().writes, 0);
//! ```

use std::{
    collections::BTreeMap,
    fmt,
    sync::{Arc, Mutex, MutexGuard},
};

use axum::{
    extract::{Request, State},
    http::Method,
    middleware::{self, Next},
    response::Response,
    Router,
};

use crate::server::route_pattern;

/// A copy of the counters at one moment, for assertions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Requests by `(method, route pattern)`.
    pub requests: BTreeMap<(String, String), u64>,
    /// Responses by status code (dropped connections have none).
    pub statuses: BTreeMap<u16, u64>,
    /// All requests.
    pub total: u64,
    /// Requests with a write method (`POST`, `PUT`, `PATCH`, `DELETE`), whatever their outcome.
    pub writes: u64,
    /// Write requests answered with a 2xx status.
    pub successful_writes: u64,
    /// Requests being handled now.
    pub in_flight: u64,
    /// The most requests ever handled at once.
    pub peak_concurrency: u64,
}

/// A cheap-to-clone handle on request counters.
#[derive(Clone, Default)]
pub struct Stats {
    inner: Arc<Mutex<StatsSnapshot>>,
}

impl fmt::Debug for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("Stats")
            .field("total", &s.total)
            .field("writes", &s.writes)
            .field("peak_concurrency", &s.peak_concurrency)
            .finish_non_exhaustive()
    }
}

impl Stats {
    /// Zeroed counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds counting to every route of `router` (and its fallback).
    pub fn wrap(&self, router: Router) -> Router {
        router.layer(middleware::from_fn_with_state(self.clone(), count))
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.lock().clone()
    }

    /// Requests seen for `method` (e.g. `"GET"`) and a route pattern as registered.
    pub fn requests(&self, method: &str, route: &str) -> u64 {
        self.lock()
            .requests
            .get(&(method.to_owned(), route.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// All requests seen.
    pub fn total(&self) -> u64 {
        self.lock().total
    }

    /// Write requests seen (`POST`, `PUT`, `PATCH`, `DELETE`).
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// The most requests handled at once.
    pub fn peak_concurrency(&self) -> u64 {
        self.lock().peak_concurrency
    }

    /// Zeroes every counter except the requests in flight now.
    pub fn reset(&self) {
        let mut s = self.lock();
        let in_flight = s.in_flight;
        *s = StatsSnapshot {
            in_flight,
            peak_concurrency: in_flight,
            ..StatsSnapshot::default()
        };
    }

    fn lock(&self) -> MutexGuard<'_, StatsSnapshot> {
        // Counters stay meaningful even if a holder panicked.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether a method changes state.
pub fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// Decrements the in-flight count even when the request future is dropped (e.g. the client went away).
struct InFlight(Stats);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

async fn count(State(stats): State<Stats>, request: Request, next: Next) -> Response {
    let write = is_write(request.method());
    let key = (request.method().to_string(), route_pattern(&request));
    let guard = {
        let mut s = stats.lock();
        *s.requests.entry(key).or_default() += 1;
        s.total += 1;
        if write {
            s.writes += 1;
        }
        s.in_flight += 1;
        s.peak_concurrency = s.peak_concurrency.max(s.in_flight);
        InFlight(stats.clone())
    };
    let response = next.run(request).await;
    drop(guard);
    let mut s = stats.lock();
    *s.statuses.entry(response.status().as_u16()).or_default() += 1;
    if write && response.status().is_success() {
        s.successful_writes += 1;
    }
    response
}
