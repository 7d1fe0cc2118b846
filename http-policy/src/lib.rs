//! Transport policy shared by the ml-connector HTTP clients: retries with
//! exponential backoff and jitter, `Retry-After` parsing, a concurrency cap, and response
//! bodies read under a size cap.
//!
//! Both `mailchimp-client` and `qad-client` use this crate, so the two clients
//! share one implementation of these mechanisms without depending on each
//! other. It knows nothing about either API: the caller decides which
//! failures are retryable through a [`RetryDecision`].
//!
//! # Quick start
//!
//! ```
//! use std::time::Duration;
//! use http_policy::{retry, ConcurrencyLimit, RetryConfig, RetryDecision};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let limit = ConcurrencyLimit::new(10);
//! let config = RetryConfig::new()
//!     .with_max_attempts(3)
//!     .with_base_delay(Duration::from_millis(1));
//!
//! let result: Result<&str, _> = retry(
//!     &config,
//!     |attempt| {
//!         let limit = limit.clone();
//!         async move {
//!             // Hold a permit only while the request is in flight.
//!             let _permit = limit.acquire().await;
//!             if attempt < 3 { Err("busy") } else { Ok("done") }
//!         }
//!     },
//!     |_err: &&str| RetryDecision::Retry,
//! )
//! .await;
//! assert_eq!(result.unwrap(), "done");
//! # }
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(clippy::missing_errors_doc)]
#![forbid(unsafe_code)]

mod body;
mod limit;
mod retry;
mod retry_after;

pub use body::{read_limited, BodyError, DEFAULT_MAX_BODY_BYTES};
pub use limit::{ConcurrencyLimit, Permit};
pub use retry::{retry, Failure, RetryConfig, RetryDecision};
pub use retry_after::parse_retry_after;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
