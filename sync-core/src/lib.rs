//! The sync engine of ml-connector, the QAD ERP ⇄ Mailchimp connector: mapping, change
//! detection, upserts, orders back to QAD, the state store and audit trail, replay, schedules, the
//! credentials vault and the webhook receiver. It calls `qad-client` and `mailchimp-client` and is
//! the only crate that knows both.
//!
//! - [`forward`]: QAD customers and items to Mailchimp audience members, e-commerce customers and
//!   products ([`forward::ForwardSync`]), store first, streamed page by page, with change
//!   detection ([`hash`]) so a re-run without changes makes no write call. [`mapping`] turns QAD
//!   records into target records as [`config::SyncConfig`] says; [`operation`] holds the
//!   recorded, replayable target operations and their executor; [`report`] the per-run counts.
//! - [`StateStore`] (default [`SqliteStateStore`], one SQLite file): the id map, content hashes
//!   for change detection, cursors per source object, remembered member statuses, the audit
//!   trail, the replay queue, runs, webhook delivery keys and object leases. Writes go in
//!   [`StateBatch`]es, one transaction per page of records, fenced by the lease of the run's
//!   object so that one object has one writer at a time ([`state::lease`]). With the `postgres`
//!   feature, `PostgresStateStore` keeps the state of many tenant pairs in one PostgreSQL
//!   database, with the same semantics.
//! - [`audit`]: audit rows ([`audit::NewAuditRow`]), queries ([`audit::AuditQuery`]), runs and
//!   the replay queue's filters. Payloads are stored without secrets.
//! - [`vault`]: both credential sets encrypted at rest with ChaCha20-Poly1305.
//! - [`schedule`]: a cadence per object with jitter, no overlapping runs, run-now and graceful
//!   shutdown.
//! - [`orders`]: Mailchimp e-commerce orders back to QAD as attribution records, idempotent by
//!   order id, with change detection, sales-order matching and held unmatched orders.
//! - [`replay`]: failed audit rows sent again (or re-mapped when their source changed), each
//!   attempt audited and linked to its original.
//! - [`reconcile`]: both sides read in full and compared field by field (missing, different,
//!   only in Mailchimp, blocked by a member status), with the differences written on request.
//! - [`webhook_receiver`]: the axum endpoint for Mailchimp audience webhooks (secret path,
//!   signatures, dedup, body limit) that keeps member statuses and the id map current.
//!
//! # Quick start
//!
//! Sync QAD customers into a Mailchimp audience and its store:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use sync_core::config::{StoreConfig, SyncConfig};
//! use sync_core::forward::{ForwardSync, RunOptions};
//! use sync_core::{ObjectKind, SqliteStateStore};
//!
//! let mailchimp = mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(
//!     std::env::var("MAILCHIMP_API_KEY")?,
//! ))
//! .build()
//! .await?;
//! let qad = qad_client::Client::builder()
//!     .tenant_url("https://acme.qad.com/clouderp")
//!     .credentials(qad_client::Credentials::oauth_password(
//!         "client-id",
//!         "sync-user",
//!         std::env::var("QAD_PASSWORD")?,
//!     ))
//!     .build()?;
//! let state = Arc::new(SqliteStateStore::open("state.db").await?);
//! let config = SyncConfig::new("a1b2c3d4e5").with_store(StoreConfig::new("qad-store", "ACME", "USD"));
//!
//! let sync = ForwardSync::new(config, mailchimp, qad, state)?;
//! let report = sync.run(ObjectKind::Customers, RunOptions::new()).await?;
//! println!("{report}");
//! # Ok(())
//! # }
//! ```
//!
//! Record a page of results atomically, then read the audit trail and the replay queue:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> sync_core::Result<()> {
//! use sync_core::audit::{AuditQuery, Method, NewAuditRow, ReplayFilter, TargetOperation};
//! use sync_core::{
//!     ContentHash, Cursor, ObjectKind, Outcome, RunId, SqliteStateStore, StateBatch, StateStore,
//!     TargetSystem,
//! };
//!
//! let store = SqliteStateStore::open_in_memory().await?; // or ::open("state.db")
//! let run = RunId::new();
//! let member = serde_json::json!({"email_address": "ann@northwind-mfg.com", "status_if_new": "subscribed"});
//! let put = TargetOperation::new(TargetSystem::Mailchimp, Method::Put, "/lists/l1/members/9a0b");
//!
//! // Change detection: only records whose hash differs from the stored one are written.
//! let hash = ContentHash::of_json(&member)?;
//! let known = store.hashes(ObjectKind::Members, &["ann@northwind-mfg.com".to_owned()]).await?;
//! assert!(known.get("ann@northwind-mfg.com") != Some(&hash));
//!
//! // ... the write failed after its retries; record the page's results in one transaction.
//! store
//!     .apply(
//!         StateBatch::new()
//!             .audit(
//!                 NewAuditRow::new(run, ObjectKind::Customers, "C-1001", Outcome::Failed)
//!                     .operation(put)
//!                     .payload(member)
//!                     .error("mailchimp returned 503")
//!                     .attempts(4),
//!             )
//!             .commit_cursor(Cursor::new(ObjectKind::Customers, None, Some("C-1001".into()), Some(run))),
//!     )
//!     .await?;
//!
//! let failed = store.query_audit(&AuditQuery::new().run(run).outcome(Outcome::Failed)).await?;
//! assert_eq!(failed.len(), 1);
//! let pending = store.pending_replays(&ReplayFilter::Object(ObjectKind::Customers), 100).await?;
//! assert_eq!(pending[0].row.source_key, "C-1001");
//! # Ok(())
//! # }
//! ```
//!
//! Run each object on its cadence with the credentials from the vault:
//!
//! ```no_run
//! # async fn run() -> sync_core::Result<()> {
//! use sync_core::schedule::{Cadence, JobContext, Scheduler};
//! use sync_core::vault::{Vault, VaultKey};
//! use sync_core::ObjectKind;
//!
//! let credentials = Vault::new("credentials.vault", VaultKey::from_default_env()?).load()?;
//! let scheduler = Scheduler::builder()
//!     .schedule(ObjectKind::Customers, Cadence::parse("15m")?.with_jitter_str("1m")?)
//!     .schedule(ObjectKind::Orders, Cadence::parse("5m")?)
//!     .start(move |ctx: JobContext| async move {
//!         // The engine syncs ctx.object here, checkpointing when ctx.cancel fires.
//!         Ok(())
//!     });
//! tokio::signal::ctrl_c().await.ok();
//! scheduler.shutdown().await; // waits for the runs in flight
//! # drop(credentials);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(clippy::missing_errors_doc)]
#![forbid(unsafe_code)]

pub mod audit;
pub mod config;
pub mod consent;
mod error;
#[cfg(feature = "postgres")]
pub mod fleet;
pub mod forward;
pub mod hash;
pub mod lifecycle;
pub mod mapping;
mod model;
pub mod operation;
pub mod orders;
pub mod plan;
pub mod reconcile;
pub mod replay;
pub mod report;
pub mod sales_orders;
pub mod schedule;
pub mod state;
pub mod vault;
pub mod webhook_receiver;

pub use error::{LeaseError, Result, ScheduleError, StateError, SyncError, VaultError};
pub use model::{
    normalize_email, ContentHash, Cursor, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind,
    Outcome, RunId, RunStatus, RunTrigger, TargetRecord, TargetSystem, UnknownName,
};
#[cfg(feature = "postgres")]
pub use state::PostgresStateStore;
pub use state::{BatchReceipt, SqliteStateStore, StateBatch, StateStore};

/// The README's quick start, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<SqliteStateStore>();
        #[cfg(feature = "postgres")]
        check::<PostgresStateStore>();
        check::<std::sync::Arc<dyn StateStore>>();
        check::<StateBatch>();
        check::<vault::Vault>();
        check::<vault::Credentials>();
        check::<schedule::SchedulerHandle>();
        check::<schedule::RunNowTrigger>();
    }
}
