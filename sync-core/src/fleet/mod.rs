//! The fleet: many tenant pairs on many workers, sharing one PostgreSQL database (feature
//! `postgres`).
//!
//! - [`PairRegistry`]: tenant pairs registered in the database, each with its configuration as
//!   data ([`PairConfig`]) and its credentials sealed with the vault's AEAD under a key the
//!   operator keeps ([`VaultKey`](crate::vault::VaultKey)), never in the clear.
//! - Leases by Mailchimp account ([`AccountClaim`]): pairs that share an account are held by one
//!   worker at a time, so the account's 10 connections are shared through one in-process limit.
//!   Workers claim accounts with `FOR UPDATE SKIP LOCKED`, renew their claims on a heartbeat, and
//!   every page commit of a pair checks the claim's fencing token in its own transaction, so a
//!   worker that lost its claim (paused, partitioned, expired) never commits over the new
//!   holder ([`LeaseError::ClaimLost`](crate::LeaseError::ClaimLost)).
//! - [`Worker`]: claims its fair share of the accounts, runs each pair's objects on their
//!   cadences in slices taken earliest-due first (one busy pair cannot starve the others),
//!   gives up lost claims, and releases everything on shutdown.
//!
//! `docs/scale-out.md` describes the design, the lease protocol and its failure cases.

mod claim;
mod flows;
mod pair;
mod queue;
mod registry;
mod settings;
mod worker;

pub use claim::AccountClaim;
pub use pair::{HeldBy, NewPair, ObjectCadence, PairConfig, PairSummary, RegisteredPair};
pub use registry::PairRegistry;
pub use settings::{BrowseIds, ConsentPairSettings, QadSettings, RetentionSettings};
pub use worker::{Worker, WorkerCounts, WorkerHandle, WorkerOptions};
