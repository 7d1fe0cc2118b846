//! Seeded, reproducible fault injection as axum middleware.
//!
//! A [`Faults`] handle holds a default [`FaultConfig`], optional per-route overrides (method + axum route
//! pattern, e.g. `PUT /3.0/lists/{list_id}/members/{subscriber_hash}`), a seeded random generator and a log
//! of the faults it injected. [`Faults::wrap`] adds it to a router. For each request it:
//!
//! 1. waits the configured latency plus a uniformly drawn jitter in `[0, jitter]` (a request that draws
//!    no fault is handled first and answered that long after it arrived, so the latency includes the
//!    handling, as a real server's does);
//! 2. draws one outcome: `429`, `500`, `503`, a bare `403` (no body), a dropped connection (closed without
//!    a response, so the client sees a transport error), a slow response (the real response, sent after
//!    [`FaultConfig::slow_response_delay`]), or no fault.
//!
//! Every request draws the same amount of randomness whatever its outcome, so the same seed and the same
//! request order give the same fault sequence. [`Faults::reset`] reseeds and clears the log.
//!
//! Besides the drawn faults, [`Faults::fail_next`] scripts one fault for the next `n` requests of a route
//! (for example "the next batch subscribe answers 503"); a scripted fault wins over the drawn one. Only
//! a script can inject [`FaultKind::LostResponse`]: the request is handled, then the connection is dropped
//! before the answer, as when a response is lost on its way back.
//!
//! The handle is cheap to clone and can be changed while the server runs (turn faults on after seeding
//! data, for example). Waits race the server's shutdown signal, so stopping a [`FakeServer`] is prompt.
//!
//! ```
//! use std::time::Duration;
//! use axum::{http::Method, routing::get, Router};
//! use testkit::faults::{FaultConfig, Faults};
//!
//! # fn main() -> Result<(), testkit::faults::InvalidFaultConfig> {
//! let faults = Faults::new(
//!     42,
//!     FaultConfig::none()
//!         .latency(Duration::from_millis(5))
//!         .jitter(Duration::from_millis(5))
//!         .too_many_requests(0.1),
//! )?;
//! faults.set_route(Method::GET, "/ping", FaultConfig::none().server_error(1.0))?;
//! let router = faults.wrap(Router::new().route("/ping", get(|| async { "pong" })));
//! # let _ = router;
//! # Ok(())
//! # }
//! ```
//!
//! [`FakeServer`]: crate::server::FakeServer

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use tokio::time::Instant;

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{header, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::server::{route_pattern, ConnectionInfo};

/// What to inject into requests: latency, jitter and the probability of each fault.
///
/// Probabilities are in `[0, 1]` and their sum must not exceed 1; they are checked when the config is
/// given to [`Faults`]. Build it with chained setters from [`FaultConfig::none`].
///
/// ```
/// use std::time::Duration;
/// use testkit::faults::FaultConfig;
///
/// let config = FaultConfig::none().server_error(0.2).slow_response(0.1, Duration::from_secs(130));
/// assert_eq!(config.slow_response_delay(), Duration::from_secs(130));
/// assert!(!config.is_none());
/// assert!(FaultConfig::none().is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultConfig {
    latency: Duration,
    jitter: Duration,
    too_many_requests: f64,
    server_error: f64,
    service_unavailable: f64,
    bare_forbidden: f64,
    dropped_connection: f64,
    slow_response: f64,
    slow_response_delay: Duration,
}

impl FaultConfig {
    /// No latency and no faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Fixed latency added to every request.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Upper bound of the uniformly drawn extra latency added to every request.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Probability of answering `429 Too Many Requests`.
    pub fn too_many_requests(mut self, probability: f64) -> Self {
        self.too_many_requests = probability;
        self
    }

    /// Probability of answering `500 Internal Server Error`.
    pub fn server_error(mut self, probability: f64) -> Self {
        self.server_error = probability;
        self
    }

    /// Probability of answering `503 Service Unavailable`.
    pub fn service_unavailable(mut self, probability: f64) -> Self {
        self.service_unavailable = probability;
        self
    }

    /// Probability of answering `403 Forbidden` with no body, as Mailchimp does under heavy load.
    pub fn bare_forbidden(mut self, probability: f64) -> Self {
        self.bare_forbidden = probability;
        self
    }

    /// Probability of closing the connection without any response.
    pub fn dropped_connection(mut self, probability: f64) -> Self {
        self.dropped_connection = probability;
        self
    }

    /// Probability of holding the real response back for `delay` (set it above the client's timeout).
    pub fn slow_response(mut self, probability: f64, delay: Duration) -> Self {
        self.slow_response = probability;
        self.slow_response_delay = delay;
        self
    }

    /// The delay of a slow response.
    pub fn slow_response_delay(&self) -> Duration {
        self.slow_response_delay
    }

    /// Whether this config injects nothing at all.
    pub fn is_none(&self) -> bool {
        *self == Self::none()
    }

    fn outcomes(&self) -> [(FaultKind, f64); 6] {
        [
            (FaultKind::TooManyRequests, self.too_many_requests),
            (FaultKind::InternalServerError, self.server_error),
            (FaultKind::ServiceUnavailable, self.service_unavailable),
            (FaultKind::BareForbidden, self.bare_forbidden),
            (FaultKind::DroppedConnection, self.dropped_connection),
            (FaultKind::SlowResponse, self.slow_response),
        ]
    }

    fn validate(&self) -> Result<(), InvalidFaultConfig> {
        let mut sum = 0.0;
        for (kind, p) in self.outcomes() {
            if !(0.0..=1.0).contains(&p) {
                return Err(InvalidFaultConfig::Probability {
                    fault: kind,
                    probability: p,
                });
            }
            sum += p;
        }
        // Allow for rounding in sums such as 0.1 + 0.2 + 0.7.
        if sum > 1.0 + 1e-9 {
            return Err(InvalidFaultConfig::SumAboveOne { sum });
        }
        Ok(())
    }

    /// Picks the fault for a roll in `[0, 1)`, testing outcomes in a fixed order.
    fn pick(&self, roll: f64) -> Option<FaultKind> {
        let mut upper = 0.0;
        for (kind, p) in self.outcomes() {
            upper += p;
            if roll < upper {
                return Some(kind);
            }
        }
        None
    }
}

/// A fault configuration that was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidFaultConfig {
    /// A probability outside `[0, 1]`.
    #[error("probability of {fault} is {probability}, outside [0, 1]")]
    Probability {
        /// The fault it was given for.
        fault: FaultKind,
        /// The rejected value.
        probability: f64,
    },
    /// Probabilities that add up to more than 1.
    #[error("fault probabilities add up to {sum}, more than 1")]
    SumAboveOne {
        /// Their sum.
        sum: f64,
    },
}

/// A kind of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FaultKind {
    /// `429 Too Many Requests`.
    TooManyRequests,
    /// `500 Internal Server Error`.
    InternalServerError,
    /// `503 Service Unavailable`.
    ServiceUnavailable,
    /// `403 Forbidden` with an empty body.
    BareForbidden,
    /// The connection closed without a response.
    DroppedConnection,
    /// The real response, sent late.
    SlowResponse,
    /// The request is handled (its writes happen), then the connection closes without the answer.
    /// Only injected by [`Faults::fail_next`].
    LostResponse,
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooManyRequests => "429 too many requests",
            Self::InternalServerError => "500 internal server error",
            Self::ServiceUnavailable => "503 service unavailable",
            Self::BareForbidden => "bare 403",
            Self::DroppedConnection => "dropped connection",
            Self::SlowResponse => "slow response",
            Self::LostResponse => "lost response",
        })
    }
}

/// One fault that was injected, in the order requests arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectedFault {
    /// The request's method.
    pub method: String,
    /// The matched route pattern (or [`UNMATCHED_ROUTE`](crate::server::UNMATCHED_ROUTE)).
    pub route: String,
    /// What was injected.
    pub kind: FaultKind,
}

/// Builds the body of an injected `429`, `500` or `503` (a bare `403` never has one).
pub type ErrorResponder = fn(StatusCode) -> Response;

/// A cheap-to-clone handle on fault injection: configuration, seeded generator and log.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
    responder: ErrorResponder,
}

struct FaultState {
    seed: u64,
    rng: StdRng,
    default: FaultConfig,
    routes: Vec<(Method, String, FaultConfig)>,
    /// Scripted faults: route, fault, how many more requests get it.
    scripted: Vec<(Method, String, FaultKind, u32)>,
    injected: Vec<InjectedFault>,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Faults")
            .field("seed", &state.seed)
            .field("default", &state.default)
            .field("routes", &state.routes)
            .field("injected", &state.injected.len())
            .finish_non_exhaustive()
    }
}

impl Default for Faults {
    fn default() -> Self {
        Self::disabled()
    }
}

impl Faults {
    /// Fault injection with the given seed and default config; answers use [`problem_response`] bodies.
    ///
    /// # Errors
    ///
    /// [`InvalidFaultConfig`] if a probability is outside `[0, 1]` or they add up to more than 1.
    pub fn new(seed: u64, default: FaultConfig) -> Result<Self, InvalidFaultConfig> {
        default.validate()?;
        Ok(Self {
            inner: Arc::new(Mutex::new(FaultState {
                seed,
                rng: StdRng::seed_from_u64(seed),
                default,
                routes: Vec::new(),
                scripted: Vec::new(),
                injected: Vec::new(),
            })),
            responder: problem_response,
        })
    }

    /// Fault injection that injects nothing until configured.
    pub fn disabled() -> Self {
        Self {
            inner: Arc::new(Mutex::new(FaultState {
                seed: 0,
                rng: StdRng::seed_from_u64(0),
                default: FaultConfig::none(),
                routes: Vec::new(),
                scripted: Vec::new(),
                injected: Vec::new(),
            })),
            responder: problem_response,
        }
    }

    /// Uses `responder` to build the bodies of injected `429`, `500` and `503` answers.
    pub fn with_responder(mut self, responder: ErrorResponder) -> Self {
        self.responder = responder;
        self
    }

    /// Replaces the default config (routes without an override use it).
    ///
    /// # Errors
    ///
    /// [`InvalidFaultConfig`] if a probability is outside `[0, 1]` or they add up to more than 1.
    pub fn set_default(&self, config: FaultConfig) -> Result<(), InvalidFaultConfig> {
        config.validate()?;
        self.lock().default = config;
        Ok(())
    }

    /// Overrides the config for one route: `method` plus the axum route pattern as registered, e.g.
    /// `"/3.0/lists/{list_id}"`. A later call for the same route replaces the earlier one.
    ///
    /// # Errors
    ///
    /// [`InvalidFaultConfig`] if a probability is outside `[0, 1]` or they add up to more than 1.
    pub fn set_route(
        &self,
        method: Method,
        route: &str,
        config: FaultConfig,
    ) -> Result<(), InvalidFaultConfig> {
        config.validate()?;
        let mut state = self.lock();
        state
            .routes
            .retain(|(m, r, _)| !(*m == method && r == route));
        state.routes.push((method, route.to_owned(), config));
        Ok(())
    }

    /// Removes every per-route override and every scripted fault.
    pub fn clear_routes(&self) {
        let mut state = self.lock();
        state.routes.clear();
        state.scripted.clear();
    }

    /// Answers the next `n` requests of `method` + `route` (the axum route pattern, as in
    /// [`set_route`](Self::set_route)) with `kind`, whatever the configured probabilities; later
    /// requests are drawn as usual. A later call for the same route replaces the earlier one.
    ///
    /// ```
    /// use axum::{http::Method, routing::post, Router};
    /// use testkit::faults::{FaultKind, Faults};
    ///
    /// let faults = Faults::disabled();
    /// faults.fail_next(Method::POST, "/lists/{id}", 1, FaultKind::ServiceUnavailable);
    /// let router = faults.wrap(Router::new().route("/lists/{id}", post(|| async { "{}" })));
    /// # let _ = router;
    /// ```
    pub fn fail_next(&self, method: Method, route: &str, n: u32, kind: FaultKind) {
        let mut state = self.lock();
        state
            .scripted
            .retain(|(m, r, _, _)| !(*m == method && r == route));
        state.scripted.push((method, route.to_owned(), kind, n));
    }

    /// The seed in use.
    pub fn seed(&self) -> u64 {
        self.lock().seed
    }

    /// The faults injected so far, in request order.
    pub fn injected(&self) -> Vec<InjectedFault> {
        self.lock().injected.clone()
    }

    /// Clears the log and restarts the generator from the seed, keeping the configuration.
    pub fn reset(&self) {
        let mut state = self.lock();
        state.rng = StdRng::seed_from_u64(state.seed);
        state.injected.clear();
    }

    /// Adds this fault injection to every route of `router` (and its fallback).
    pub fn wrap(&self, router: Router) -> Router {
        router.layer(middleware::from_fn_with_state(self.clone(), inject))
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        // A panic while holding this lock leaves plain data behind; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Draws the plan for one request: always two draws, whatever the outcome, for reproducibility.
    fn plan(&self, method: &Method, route: &str) -> Plan {
        let mut state = self.lock();
        let config = state
            .routes
            .iter()
            .find(|(m, r, _)| m == method && r == route)
            .map(|(_, _, c)| c.clone())
            .unwrap_or_else(|| state.default.clone());
        let roll: f64 = state.rng.random();
        let jitter_share: f64 = state.rng.random();
        let scripted = state
            .scripted
            .iter_mut()
            .find(|(m, r, _, left)| m == method && r == route && *left > 0)
            .map(|(_, _, kind, left)| {
                *left -= 1;
                *kind
            });
        state.scripted.retain(|(_, _, _, left)| *left > 0);
        let fault = scripted.or_else(|| config.pick(roll));
        if let Some(kind) = fault {
            state.injected.push(InjectedFault {
                method: method.to_string(),
                route: route.to_owned(),
                kind,
            });
        }
        Plan {
            delay: config.latency + config.jitter.mul_f64(jitter_share),
            fault,
            slow_delay: config.slow_response_delay,
        }
    }
}

struct Plan {
    delay: Duration,
    fault: Option<FaultKind>,
    slow_delay: Duration,
}

/// A generic `application/problem+json` body for an injected error status.
pub fn problem_response(status: StatusCode) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": format!("injected fault: {title}"),
        "instance": "",
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// How early the runtime's timer is asked to wake before a deadline; the rest is slept precisely.
///
/// tokio's timer fires on the first whole millisecond after a deadline and its driver wakes later
/// still: a 20 ms `sleep` measured 21.1 ms on average on the development machine, which made every
/// request of a 20 ms fake 5.6 % slower than its configured latency. Its overshoot stays under this.
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// How long before a deadline the blocking thread stops sleeping and spins.
const SPIN: Duration = Duration::from_micros(100);

/// Sleeps until `deadline`, to within about 0.2 ms (20.14–20.20 ms for 20 ms, measured).
///
/// The last [`TIMER_SLACK`] is slept on a blocking thread, whose sleep is accurate to about 0.1 ms,
/// and its last [`SPIN`] spun. The final `sleep_until` only runs when the runtime's clock is still short of the
/// deadline, which happens when it is paused (tests), so virtual time advances as before.
async fn sleep_until_precisely(deadline: Instant) {
    if let Some(coarse) = deadline.checked_sub(TIMER_SLACK) {
        if coarse > Instant::now() {
            tokio::time::sleep_until(coarse).await;
        }
    }
    let rest = deadline.saturating_duration_since(Instant::now());
    if !rest.is_zero() {
        let until = std::time::Instant::now() + rest;
        // A failed hop (runtime shutting down) only makes this wait shorter.
        let _ = tokio::task::spawn_blocking(move || {
            // The kernel wakes a sleeping thread 50–100 µs late; spin through the last stretch.
            std::thread::sleep(rest.saturating_sub(SPIN));
            while std::time::Instant::now() < until {
                std::hint::spin_loop();
            }
        })
        .await;
    }
    if Instant::now() < deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

/// Waits until `deadline` or until the connection's server shuts down, whichever comes first.
async fn sleep_unless_shutdown(deadline: Instant, conn: Option<&ConnectionInfo>) {
    if deadline <= Instant::now() {
        return;
    }
    match conn {
        Some(conn) => {
            tokio::select! {
                () = sleep_until_precisely(deadline) => {}
                () = conn.shutdown_signal().cancelled() => {}
            }
        }
        None => sleep_until_precisely(deadline).await,
    }
}

async fn inject(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let arrived = Instant::now();
    let route = route_pattern(&request);
    let plan = faults.plan(request.method(), &route);
    let conn = request
        .extensions()
        .get::<ConnectInfo<ConnectionInfo>>()
        .map(|c| c.0.clone());
    let Some(fault) = plan.fault else {
        // A server's latency includes its own handling: the answer leaves `delay` after the request
        // arrived, not `delay` plus however long this fake took to build it.
        let response = next.run(request).await;
        sleep_unless_shutdown(arrived + plan.delay, conn.as_ref()).await;
        return response;
    };
    sleep_unless_shutdown(arrived + plan.delay, conn.as_ref()).await;
    match fault {
        FaultKind::TooManyRequests => (faults.responder)(StatusCode::TOO_MANY_REQUESTS),
        FaultKind::InternalServerError => (faults.responder)(StatusCode::INTERNAL_SERVER_ERROR),
        FaultKind::ServiceUnavailable => (faults.responder)(StatusCode::SERVICE_UNAVAILABLE),
        FaultKind::BareForbidden => Response::builder()
            .status(StatusCode::FORBIDDEN)
            .body(Body::empty())
            .unwrap_or_else(|_| StatusCode::FORBIDDEN.into_response()),
        FaultKind::DroppedConnection => dropped(conn.as_ref()),
        FaultKind::LostResponse => {
            // Handled first: its writes happen, only the answer is lost.
            let _ = next.run(request).await;
            dropped(conn.as_ref())
        }
        FaultKind::SlowResponse => {
            sleep_unless_shutdown(Instant::now() + plan.slow_delay, conn.as_ref()).await;
            next.run(request).await
        }
    }
}

/// Closes the connection without an answer.
fn dropped(conn: Option<&ConnectionInfo>) -> Response {
    match conn {
        Some(conn) => {
            conn.drop_connection();
            // Never reaches the client: the connection fails on the first write.
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        // Served outside FakeServer: fail mid-body, the closest a handler can get.
        None => Response::new(Body::from_stream(futures::stream::once(async {
            Err::<bytes::Bytes, _>(std::io::Error::other(
                "connection dropped by fault injection",
            ))
        }))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_follows_cumulative_probabilities_in_fixed_order() {
        let config = FaultConfig::none()
            .too_many_requests(0.25)
            .server_error(0.25);
        assert_eq!(config.pick(0.0), Some(FaultKind::TooManyRequests));
        assert_eq!(config.pick(0.3), Some(FaultKind::InternalServerError));
        assert_eq!(config.pick(0.5), None);
    }

    #[test]
    fn rejects_out_of_range_and_oversized_probabilities() {
        assert!(matches!(
            Faults::new(1, FaultConfig::none().server_error(1.5)),
            Err(InvalidFaultConfig::Probability {
                fault: FaultKind::InternalServerError,
                ..
            })
        ));
        assert!(matches!(
            Faults::new(1, FaultConfig::none().server_error(0.6).bare_forbidden(0.6)),
            Err(InvalidFaultConfig::SumAboveOne { .. })
        ));
        assert!(Faults::new(
            1,
            FaultConfig::none()
                .server_error(0.1)
                .too_many_requests(0.2)
                .bare_forbidden(0.7)
        )
        .is_ok());
    }

    #[test]
    fn same_seed_gives_same_plan_sequence() {
        let config = FaultConfig::none().too_many_requests(0.3).server_error(0.3);
        let sequence = |faults: &Faults| {
            (0..50)
                .map(|_| faults.plan(&Method::GET, "/x").fault)
                .collect::<Vec<_>>()
        };
        let a = Faults::new(7, config.clone()).unwrap();
        let b = Faults::new(7, config).unwrap();
        let first = sequence(&a);
        assert_eq!(first, sequence(&b));
        assert!(first.iter().any(Option::is_some) && first.iter().any(Option::is_none));
        a.reset();
        assert_eq!(first, sequence(&a));
    }
}
