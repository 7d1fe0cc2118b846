//! A typed async client for one QAD ERP tenant: session login and renewal,
//! validated entity paths, paged browse reads of customers, items and sales
//! orders, and idempotent attribution writes.
//!
//! # Quick start
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use qad_client::{Client, Credentials};
//!
//! # async fn run() -> qad_client::Result<()> {
//! let client = Client::builder()
//!     .tenant_url("https://acme.qad.com/clouderp")
//!     .credentials(Credentials::oauth_password("client-id", "api-user", "secret"))
//!     .domain("10USA")
//!     .build()?;
//!
//! // Name exactly which configured browse or entity the instance lacks.
//! for check in client.validate_entities(client.configured_targets()).await? {
//!     println!("{}: {:?}", check.target, check.status);
//! }
//!
//! // Every customer, page by page as the stream is polled.
//! let mut customers = client.customers().count(200).into_stream();
//! while let Some(customer) = customers.try_next().await? {
//!     println!("{} {:?}", customer.customer_code, customer.email);
//! }
//! # Ok(()) }
//! ```
//!
//! # What the client assumes
//!
//! QAD's REST reference is not public; this crate targets the shape public
//! code shows for real tenants, and keeps every browse id, entity path and
//! field name configurable per tenant ([`ReadConfig`], [`FieldMap`],
//! [`AttributionConfig`]). The repository's `docs/qad-api.md` lists what is
//! documented, observed and inferred.
//!
//! - **Tenant:** the full URL with its context root ([`TenantUrl`]).
//! - **Session:** OAuth2 password grant, on-premise form login or HTTP Basic
//!   ([`Credentials`]); a 401 renews the session once, shared by all callers.
//! - **Reads:** the browse API ([`Client::browse`]) as offset/count pages
//!   ([`Page`]) and lazy streams; typed readers ([`Reader`]) for
//!   [`Customer`], [`Item`], [`SalesOrder`] and [`SalesOrderLine`] keep every
//!   unknown field in `extra`.
//! - **Incremental reads:** [`Reader::modified_since`] with an overlap window,
//!   and [`Dedup`] to drop what was already seen.
//! - **Writes:** [`Attributions::post`], idempotent by order id; QAD's
//!   `submitResult.success=false` at HTTP 200 is an [`Error::Rejected`].
#![deny(missing_docs, missing_debug_implementations)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![warn(clippy::missing_errors_doc)]
#![forbid(unsafe_code)]

mod attribution;
mod auth;
mod behaviour;
mod browse;
mod client;
mod consent;
mod count;
mod customers;
mod de;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod incremental;
mod items;
mod keyed;
mod paths;
mod probe;
mod read;
mod record_struct;
mod response;
mod sales_orders;
mod tenant;
mod validate;
mod walk;

pub use attribution::{
    AttributionConfig, AttributionLine, AttributionRecord, Attributions, OnDuplicate, WriteOutcome,
};
pub use auth::Credentials;
pub use behaviour::{
    Behaviour, CountEndpoint, DateFilter, DomainScope, DuplicatePost, EntityCheck, KeyOrder,
    PageSizeCap, PagingMode, UnknownValue,
};
pub use browse::{
    Browse, Filter, FilterOp, Page, Row, BROWSE_PATH, DEFAULT_PAGE_SIZE, FIRST_ONLY_PAGE_SIZE,
};
pub use client::{
    Client, ClientBuilder, DEFAULT_MAX_CONCURRENCY, DEFAULT_RENEW_BEFORE, DEFAULT_TIMEOUT,
};
pub use consent::{ConsentConfig, ConsentRecord, Consents};
pub use count::{parse_count, COUNT_PATH};
pub use customers::Customer;
pub use error::{Error, FieldError, Result};
pub use ids::{CustomerCode, DomainCode, ItemCode, SalesOrderNumber};
pub use incremental::{Dedup, Stamp};
pub use items::Item;
pub use paths::{BrowseId, EntityPath, PathProblem, MAX_LEN as MAX_PATH_LEN};
pub use probe::{Assumption, ProbeReport, Verdict, PROBE_DOMAIN, PROBE_ORDER_PREFIX};
pub use read::{FieldMap, ReadConfig, Reader, Record};
pub use sales_orders::{SalesOrder, SalesOrderLine};
pub use tenant::{TenantUrl, UrlProblem};
pub use validate::{EntityStatus, Target, Validation};

/// Re-exported so callers can configure retries without a direct dependency.
pub use http_policy::RetryConfig;
/// Re-exported so callers can pass passwords without a direct dependency.
pub use secrecy::SecretString;
