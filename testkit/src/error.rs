//! The errors of starting and seeding the fakes.

use crate::faults::InvalidFaultConfig;

/// Why a fake could not be started or seeded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The loopback listener could not be bound.
    #[error("could not start the fake server")]
    Bind(#[source] std::io::Error),
    /// The fault configuration was rejected.
    #[error("invalid fault configuration")]
    Faults(#[from] InvalidFaultConfig),
    /// A seeding call named something the fake does not have.
    #[error("cannot seed the fake: {0}")]
    Seed(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
