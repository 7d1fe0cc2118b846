//! The Mailchimp audience webhook receiver.
//!
//! An axum endpoint at a secret path (`{prefix}/{token}`, the token at least 128 random bits,
//! compared in constant time; any other path is a 404) that:
//!
//! - answers Mailchimp's validator `GET` with 200;
//! - refuses bodies over the limit (64 KiB by default) with 413;
//! - verifies `X-Mailchimp-Signature` with the webhook's signing secret (401 when it is missing
//!   or wrong, or its timestamp is further from now than the tolerance, 24 hours by default so
//!   that Mailchimp's retries are not refused: [`DEFAULT_SIGNATURE_TOLERANCE`]), or accepts
//!   unsigned deliveries only in explicit secret-URL mode;
//! - deduplicates deliveries by their key (type, member, `fired_at`) in the state store, so
//!   Mailchimp's retries are applied once;
//! - applies the event to the sync state in one small transaction before answering (well within
//!   Mailchimp's 10 s): `unsubscribe` and `cleaned` are remembered so the member is not pushed
//!   again, `upemail` moves the member's id-map entries to the new address, `subscribe`
//!   remembers a returning member, `profile` is recorded;
//! - audits every event (object `webhook_events`, keyed by the delivery key), and a signed
//!   delivery whose body cannot be decoded (key [`REJECTED_KEY`], outcome `rejected`, with the
//!   reason; never the body, the token or the secret);
//! - writes nothing to the state database for any other refusal (wrong path, body over the limit,
//!   missing or bad signature, in unsigned mode a malformed body, over the rate or concurrency
//!   limit): those are counted in [`ReceiverStats`] by [`Rejection`] reason and logged at debug
//!   level, one line per reason every [`LOG_EVERY`] at most, so no one without the signing secret
//!   can grow the database;
//! - limits each source address to [`DEFAULT_RATE_LIMIT`] (429 beyond it) and the whole receiver
//!   to [`DEFAULT_MAX_CONCURRENT_REQUESTS`] requests at once (503 beyond it, at once), both
//!   configurable ([`ReceiverConfig::rate_limit`], [`ReceiverConfig::max_concurrent_requests`]).
//!
//! # Quick start
//!
//! ```no_run
//! # async fn run(mailchimp: mailchimp_client::Client, state: std::sync::Arc<dyn sync_core::StateStore>) -> sync_core::Result<()> {
//! use mailchimp_client::ListId;
//! use sync_core::webhook_receiver::{generate_path_token, register_webhook, serve, ReceiverConfig};
//!
//! // First setup: register the webhook and keep its one-time signing secret.
//! let token = generate_path_token();
//! let unsigned = ReceiverConfig::unsigned_secret_url(token.clone())?;
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.map_err(sync_core::SyncError::Receiver)?;
//! let receiver = serve(listener, unsigned.clone(), state.clone()).await?; // answers the validator GET
//! let url = unsigned.webhook_url("https://sync.example.com")?;
//! let registration = register_webhook(&mailchimp, &ListId::from("a1b2c3"), &url).await?;
//! receiver.shutdown().await?;
//!
//! // From now on: require signatures.
//! if let Some(secret) = registration.signing_secret {
//!     let config = ReceiverConfig::signed(token, secret)?;
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.map_err(sync_core::SyncError::Receiver)?;
//!     let receiver = serve(listener, config, state).await?;
//!     tokio::signal::ctrl_c().await.ok();
//!     receiver.shutdown().await?;
//! }
//! # Ok(()) }
//! ```

mod apply;
mod config;
mod limits;
mod server;
mod setup;
mod stats;

pub use config::{
    generate_path_token, RateLimit, ReceiverConfig, DEFAULT_DELIVERY_RETENTION,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_PATH_PREFIX,
    DEFAULT_RATE_LIMIT, DEFAULT_SIGNATURE_TOLERANCE, MIN_TOKEN_CHARS,
};
pub use server::{router, router_with_stats, serve, ReceiverHandle, REJECTED_KEY};
pub use setup::{register_webhook, Registration, EVENTS, SOURCES};
pub use stats::{DeliveryResult, ReceiverStats, Rejection, LOG_EVERY};
