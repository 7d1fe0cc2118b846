//! The state-store conformance suite: the same tests against every [`StateStore`]
//! implementation, so they cannot drift apart. Each test runs on SQLite (`…::sqlite::…`) and on
//! PostgreSQL (`…::postgres::…`); the PostgreSQL runs need `ML_CONNECTOR_TEST_POSTGRES_URL` and
//! say they were skipped without it.
//!
//! [`StateStore`]: sync_core::StateStore

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod harness;

mod leases;
mod retention;
mod retry_queue;
mod store;
