//! Stateful in-memory fakes of the Mailchimp Marketing API and a QAD tenant, served over real HTTP on
//! `127.0.0.1`, with seeded fault injection and request counters.
//!
//! The building blocks, shared by both fakes:
//!
//! - [`server::FakeServer`]: serves an axum router on loopback with an OS-assigned port; graceful shutdown
//!   on drop.
//! - [`faults::Faults`]: seeded, reproducible latency and faults (429, 500/503, bare 403, dropped
//!   connections, slow responses), overridable per route.
//! - [`stats::Stats`]: requests by method and route pattern, write counts, peak concurrency.
#![deny(missing_docs, missing_debug_implementations)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(clippy::missing_errors_doc)]
#![forbid(unsafe_code)]

pub mod error;
pub mod faults;
pub mod mailchimp;
pub mod qad;
pub mod server;
pub mod stats;

pub use error::{Error, Result};
pub use faults::{FaultConfig, FaultKind, Faults};
pub use mailchimp::FakeMailchimp;
pub use qad::FakeQad;
pub use server::FakeServer;
pub use stats::Stats;
