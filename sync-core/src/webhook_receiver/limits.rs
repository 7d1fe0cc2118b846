//! The tower layers in front of the receiver: a rate limit per source address and a global
//! concurrency limit with load shedding. Both answer before any handler runs, so what they refuse
//! never reaches the state database; they only count it.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::ServiceBuilder;

use super::config::{RateLimit, ReceiverConfig};
use super::stats::{ReceiverStats, Rejection};

/// Every this many requests the limiter forgets addresses whose bucket is full again, so
/// addresses seen once do not accumulate.
const FORGET_EVERY: u64 = 1024;

#[derive(Debug)]
struct PerSource {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    seen: AtomicU64,
    stats: ReceiverStats,
}

fn quota(limit: RateLimit) -> Quota {
    let nonzero = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(nonzero(limit.per_second())).allow_burst(nonzero(limit.burst()))
}

/// The key of a source address: IPv4 as is, IPv6 by its /64 network (one host usually holds a
/// whole /64, so keying each address would let it take 2^64 buckets).
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(Ipv6Addr::from(segments))
            }
        },
        v4 @ IpAddr::V4(_) => v4,
    }
}

async fn limit_per_source(
    State(limit): State<Arc<PerSource>>,
    request: Request,
    next: Next,
) -> Response {
    // Without the peer address (the router nested in an app served without connect info)
    // there is nothing to key on: the global limit still applies.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| source_key(info.0.ip()));
    if let Some(peer) = peer {
        if limit.seen.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            limit.limiter.retain_recent();
            limit.limiter.shrink_to_fit();
        }
        if limit.limiter.check_key(&peer).is_err() {
            limit
                .stats
                .record(Rejection::RateLimited, &format!("source {peer}"));
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "1")],
                "too many requests",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Wraps `router` in the global concurrency limit (503 beyond it, at once) and, outside it, the
/// per-source rate limit (429), as `config` sets them.
pub(crate) fn with_limits(
    router: Router,
    config: &ReceiverConfig,
    stats: &ReceiverStats,
) -> Router {
    let shed_stats = stats.clone();
    let overloaded = move |_: BoxError| {
        let stats = shed_stats.clone();
        async move {
            stats.record(Rejection::Overloaded, "concurrency limit reached");
            (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
        }
    };
    // One semaphore for every route (a plain ConcurrencyLimitLayer would give each its own).
    let router = router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(overloaded))
            .layer(LoadShedLayer::new())
            .layer(GlobalConcurrencyLimitLayer::new(config.max_concurrent)),
    );
    match config.rate_limit {
        Some(limit) => {
            let per_source = Arc::new(PerSource {
                limiter: RateLimiter::keyed(quota(limit)),
                seen: AtomicU64::new(0),
                stats: stats.clone(),
            });
            router.layer(axum::middleware::from_fn_with_state(
                per_source,
                limit_per_source,
            ))
        }
        None => router,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_sources_are_keyed_by_their_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        let b: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        let c: IpAddr = "2001:db8:1:3::1"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        assert_eq!(source_key(mapped), IpAddr::V4([192, 0, 2, 7].into()));
        let v4 = IpAddr::V4([198, 51, 100, 1].into());
        assert_eq!(source_key(v4), v4);
    }
}
