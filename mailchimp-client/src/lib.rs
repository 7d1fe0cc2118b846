//! A typed, rate-safe async client for the Mailchimp Marketing API v3.
//!
//! # Quick start
//!
//! ```no_run
//! # async fn run() -> mailchimp_client::Result<()> {
//! use futures::TryStreamExt;
//! use mailchimp_client::{Client, Credentials, ListId, MemberStatus};
//!
//! // The data center (`us6`) comes from the key's suffix.
//! let client = Client::builder(Credentials::api_key("0123456789abcdef0123456789abcdef-us6"))
//!     .build()
//!     .await?;
//! println!("{}", client.ping().await?.health_status);
//!
//! // Add or update a member (PUT at the email's subscriber hash).
//! let members = client.list(&ListId::from("a1b2c3d4e5")).members();
//! members
//!     .upsert("ada@northwind-mfg.com", MemberStatus::Subscribed)
//!     .merge_field("FNAME", "Ada")
//!     .send()
//!     .await?;
//!
//! // Walk every unsubscribed member, 1000 per request, lazily.
//! let mut gone = members.list().status(MemberStatus::Unsubscribed).into_stream();
//! while let Some(member) = gone.try_next().await? {
//!     println!("{}", member.email_address);
//! }
//! # Ok(()) }
//! ```
//!
//! # Resources
//!
//! | call | endpoint |
//! |---|---|
//! | [`Client::ping`], [`Client::account`] | `GET /ping`, `GET /` |
//! | [`Client::lists`], [`ListHandler::get`] | `GET /lists`, `GET /lists/{list_id}` |
//! | [`ListHandler::members`] → [`MembersHandler`] | get, list, upsert (`PUT`), update (`PATCH`), archive, tags |
//! | [`ListHandler::merge_fields`] → [`MergeFieldsHandler`] | list, create |
//! | [`ListHandler::batch_subscribe`] | `POST /lists/{list_id}`, 500 members a call |
//! | [`ecommerce`] | stores, customers, products and variants, orders |
//! | [`webhooks`] | audience webhooks: management, delivery parsing, signatures |
//!
//! # What the client does for you
//!
//! - **Auth and data center.** API keys are sent as HTTP Basic and name their
//!   data center; OAuth tokens are sent as Bearer, with the data center looked
//!   up once at [`ClientBuilder::build`]. Secrets stay in
//!   [`secrecy::SecretString`](https://docs.rs/secrecy/0.10/secrecy/type.SecretString.html)
//!   values and never show in `Debug` or errors.
//! - **Rate safety.** At most [`DEFAULT_MAX_CONCURRENCY`] requests in flight
//!   per client (clones, handlers and streams share the cap). `429`, `5xx`, a
//!   bare `403` and transport failures (connect, timeout, a connection dropped
//!   before the response) are retried with exponential
//!   backoff and jitter, honouring `Retry-After` ([`RetryConfig`]). `POST`s are
//!   retried only where they are idempotent in effect.
//! - **Timeouts.** Every attempt times out after [`DEFAULT_TIMEOUT`] (120 s)
//!   unless configured otherwise.
//! - **Typed errors.** Mailchimp's problem documents become [`Error`]
//!   variants with every field kept; see [`Error::is_retryable`].
//! - **Pagination.** List calls return one [`Page`] from `.send()`, or every
//!   item as a lazy stream from `.into_stream()`.
#![deny(missing_docs, missing_debug_implementations)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(clippy::missing_errors_doc)]
#![forbid(unsafe_code)]

mod account;
mod api_root;
mod batch_subscribe;
mod batches;
mod classify;
mod client;
mod credentials;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod interests;
mod lists;
mod members;
mod merge_fields;
mod page;
mod query;
mod serde_util;

pub mod ecommerce;
pub mod webhooks;

pub use account::{Account, Health};
pub use api_root::{check_base_url, parse_api_root, ApiRootProblem};
pub use batch_subscribe::{
    BatchErrorCode, BatchMember, BatchMemberError, BatchReport, BatchSubscribeRequest,
    BATCH_SUBSCRIBE_LIMIT,
};
pub use batches::{
    Batch, BatchId, BatchOperation, BatchOperationResult, BatchStatus, BatchWait, BatchesHandler,
    ListBatchesRequest, MAX_RESULTS_ARCHIVE_BYTES,
};
pub use client::{
    Client, ClientBuilder, ResponseCounts, DEFAULT_MAX_CONCURRENCY, DEFAULT_METADATA_URL,
    DEFAULT_TIMEOUT,
};
pub use credentials::{Credentials, DataCenter};
pub use error::{Error, FieldError, Problem, Result};
pub use http_policy::{ConcurrencyLimit, RetryConfig};
pub use ids::{ListId, SubscriberHash};
pub use interests::{
    Interest, InterestCategoriesHandler, InterestCategory, InterestCategoryId, InterestId,
    InterestsHandler, ListInterestCategoriesRequest, ListInterestsRequest,
};
pub use lists::{
    Audience, AudienceContact, AudienceStats, CampaignDefaults, GetListRequest, ListHandler,
    ListsRequest,
};
pub use members::{
    GetMemberRequest, ListMembersRequest, MarketingPermission, Member, MemberLocation, MemberStats,
    MemberStatus, MemberTagsRequest, MembersHandler, Tag, UpdateMemberRequest, UpsertMemberRequest,
};
pub use merge_fields::{
    CreateMergeFieldRequest, ListMergeFieldsRequest, MergeField, MergeFieldOptions, MergeFieldType,
    MergeFieldsHandler, UpdateMergeFieldRequest,
};
pub use page::{Page, UndecodedItem, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, UNDECODED_RAW_CHARS};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
