#![doc = include_str!("../README.md")]
#![deny(missing_docs, missing_debug_implementations)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(clippy::missing_errors_doc)]
#![forbid(unsafe_code)]

pub mod compare;
pub mod error;
pub mod faults;
pub mod mailchimp;
mod packed;
pub mod qad;
pub mod server;
pub mod stats;

pub use error::{Error, Result};
pub use faults::{FaultConfig, FaultKind, Faults};
pub use mailchimp::FakeMailchimp;
pub use qad::FakeQad;
pub use server::FakeServer;
pub use stats::Stats;
