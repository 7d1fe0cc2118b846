//! The client, its builder, and the transport every endpoint goes through.
//!
//! # Crate-internal request API
//!
//! Endpoint modules never touch `reqwest` directly; they call these
//! `pub(crate)` methods of [`Client`], which build the URL, add auth, hold a
//! concurrency permit per attempt, retry per policy and map errors:
//!
//! | method | use for | retried |
//! |---|---|---|
//! | `get::<T>(path, &query)` | `GET` of one resource | yes |
//! | `send_json::<B, T>(Method, path, &query, &body)` | `PUT`/`PATCH`/`POST` with a JSON body and a JSON answer | yes, except `POST` |
//! | `post_idempotent::<B, T>(path, &query, &body)` | a `POST` that is idempotent in effect (batch subscribe, in both `update_existing` modes); say why in its docs | yes |
//! | `post_idempotent_no_content::<B>(path, &query, &body)` | a `POST` answered by `204` that is idempotent in effect (member tags) | yes |
//! | `post_action(path)` | a `POST` without a body answered by `204` that is idempotent in effect (`…/actions/delete-permanent`) | yes |
//! | `delete(path, &query)` | `DELETE` (answered by `204`) | yes |
//! | `download(url)` | `GET` of an absolute pre-signed URL (batch results), sent **without** credentials | yes |
//! | `get_page::<T>(path, &query, items_key, offset, count)` | one [`Page`] of a collection | yes |
//! | `collection(path, items_key)` | the state of a public list builder (`page::Collection`): filters in `.query`, then `.fields`, `.count`, `.offset`; `.send::<T>()` gives a `Page<T>`, `.into_stream::<T>()` the stream; `page::collection_methods!(Item)` generates the public setters | yes |
//!
//! `path` is the list of segments after the API root, e.g.
//! `&["lists", list.as_str(), "members"]`: each segment is percent-encoded,
//! so ids cannot add path levels, and empty, `.` or `..` segments are
//! rejected with [`Error::InvalidInput`]. `query` is a [`Query`]; use
//! [`FieldSelection::apply`] for `fields`/`exclude_fields`. `items_key` is the
//! JSON key holding a collection's items (`"members"`, `"orders"`, …).
//! Validate caller input before calling, with `Error::invalid_input(field, reason)`.
//!
//! [`FieldSelection::apply`]: crate::query::FieldSelection::apply

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_policy::{ConcurrencyLimit, Failure, RetryConfig, RetryDecision};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde::de::{DeserializeOwned, DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::api_root::check_base_url;
use crate::credentials::{Credentials, DataCenter};
use crate::error::{AttemptError, Error, Result};
use crate::page::{self, Page};
use crate::query::{keep_total_items, Query};

/// Default whole-request timeout: Mailchimp itself gives up after 120 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Default concurrency cap: Mailchimp allows 10 simultaneous connections
/// per user.
pub const DEFAULT_MAX_CONCURRENCY: usize = 10;

/// Where OAuth tokens are resolved to a data center.
pub const DEFAULT_METADATA_URL: &str = "https://login.mailchimp.com/oauth2/metadata";

/// The User-Agent sent with every request.
const USER_AGENT: &str = concat!("mailchimp-client/", env!("CARGO_PKG_VERSION"));

/// Configures and builds a [`Client`]; start with [`Client::builder`].
///
/// ```no_run
/// # async fn run() -> mailchimp_client::Result<()> {
/// use std::time::Duration;
/// use mailchimp_client::{Client, Credentials, RetryConfig};
///
/// let client = Client::builder(Credentials::api_key("0123456789abcdef-us6"))
///     .timeout(Duration::from_secs(30))
///     .max_concurrency(5)
///     .retry(RetryConfig::new().with_max_attempts(3))
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `.build().await`"]
pub struct ClientBuilder {
    credentials: Credentials,
    base_url: Option<String>,
    metadata_url: Option<String>,
    timeout: Duration,
    max_concurrency: usize,
    shared_limit: Option<ConcurrencyLimit>,
    max_response_bytes: usize,
    retry: RetryConfig,
}

impl ClientBuilder {
    /// Sends requests to this API root instead of the data center's
    /// (`https://{dc}.api.mailchimp.com/3.0`): a mock server, a proxy, or
    /// Mailchimp's dc-less `https://api.mailchimp.com/3.0`. Paths such as
    /// `/lists` are appended to it. With an override, OAuth skips the
    /// metadata lookup (API keys are still checked).
    ///
    /// The credentials go wherever this points, so [`build`](Self::build)
    /// holds it to [`check_base_url`]'s policy: `https` (plain `http` only
    /// to a loopback host), no user-info, query or fragment.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Resolves OAuth tokens against this URL instead of
    /// [`DEFAULT_METADATA_URL`].
    pub fn metadata_url(mut self, url: impl Into<String>) -> Self {
        self.metadata_url = Some(url.into());
        self
    }

    /// Whole-request timeout per attempt; default [`DEFAULT_TIMEOUT`] (120 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// At most this many requests in flight across the client and all its
    /// clones, handlers and streams; default [`DEFAULT_MAX_CONCURRENCY`]
    /// (10). `0` is treated as `1`.
    ///
    /// The cap is adaptive: Mailchimp's limit is per user, shared by every
    /// key, token and integration of the account, so a `429` halves the
    /// in-flight limit and each success window (as many successes as this
    /// maximum) grows it back by one, up to the maximum
    /// ([`http_policy::ConcurrencyLimit`]). [`Client::current_concurrency`]
    /// shows where it stands.
    pub fn max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = max;
        self
    }

    /// Shares `limit` with other clients instead of a cap of this client's own (then
    /// [`max_concurrency`](Self::max_concurrency) is ignored): clients of several tenant pairs
    /// that use one Mailchimp account, built with clones of one limit, never have more than its
    /// maximum requests in flight together, and a `429` to any of them slows them all.
    ///
    /// ```no_run
    /// # async fn run() -> mailchimp_client::Result<()> {
    /// use mailchimp_client::{Client, ConcurrencyLimit, Credentials};
    ///
    /// let account = ConcurrencyLimit::new(10);
    /// let a = Client::builder(Credentials::api_key("0123456789abcdef-us6"))
    ///     .shared_limit(account.clone())
    ///     .build()
    ///     .await?;
    /// let b = Client::builder(Credentials::api_key("fedcba9876543210-us6"))
    ///     .shared_limit(account)
    ///     .build()
    ///     .await?;
    /// # drop((a, b));
    /// # Ok(()) }
    /// ```
    pub fn shared_limit(mut self, limit: ConcurrencyLimit) -> Self {
        self.shared_limit = Some(limit);
        self
    }

    /// The largest response body the client reads, in bytes; default
    /// [`http_policy::DEFAULT_MAX_BODY_BYTES`] (64 MiB). A larger one (its
    /// `Content-Length`, or what arrives) fails with
    /// [`Error::ResponseTooLarge`] instead of being held in memory.
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// The retry policy; default [`RetryConfig::new`] (5 attempts,
    /// exponential backoff with jitter). [`RetryConfig::disabled`] turns
    /// retries off.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Validates the configuration, resolves the data center, and returns
    /// the client.
    ///
    /// An API key's data center comes from its suffix, without a request.
    /// An OAuth token's comes from one `GET` of the metadata URL (header
    /// `Authorization: OAuth <token>`), using `api_endpoint` and falling back
    /// to `dc`; the lookup is skipped when [`base_url`](Self::base_url) is
    /// set.
    ///
    /// # Errors
    ///
    /// - [`Error::Config`] for a malformed API key (no `-dc` suffix, a
    ///   non-alphanumeric data center, whitespace), an empty or
    ///   whitespace-containing OAuth token, a bad metadata URL, a base URL
    ///   outside [`check_base_url`]'s policy, or when
    ///   the HTTP client cannot be built; no request is sent.
    /// - [`Error::DataCenterLookup`] when the OAuth metadata request fails or
    ///   names no data center.
    pub async fn build(self) -> Result<Client> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(self.timeout)
            .build()
            .map_err(|_| Error::Config("the HTTP client could not be initialised"))?;
        let transport = Transport {
            http,
            credentials: self.credentials,
            limit: self
                .shared_limit
                .unwrap_or_else(|| ConcurrencyLimit::new(self.max_concurrency)),
            retry: self.retry,
            timeout: self.timeout,
            max_body: self.max_response_bytes,
            stats: ResponseStats::default(),
        };
        // Credentials are checked even with a base-URL override: a malformed
        // key or token fails here, before any request, wherever requests go.
        let key_root = transport.credentials.check()?.map(|dc| dc.api_root());
        let base = match self.base_url {
            Some(url) => check_base_url(&url).map_err(|p| Error::Config(p.message()))?,
            None => match key_root {
                Some(root) => root,
                None => {
                    let url = self.metadata_url.as_deref().unwrap_or(DEFAULT_METADATA_URL);
                    let url =
                        parse_http_url(url, "the metadata URL is not an absolute http(s) URL")?;
                    resolve_oauth_root(&transport, url).await?
                }
            },
        };
        Ok(Client {
            inner: Arc::new(Inner { transport, base }),
        })
    }
}

/// An authenticated, rate-safe Mailchimp Marketing API client.
///
/// Cheap to clone (an [`Arc`] inside); clones share the connection pool and
/// the concurrency cap. Resources hang off it as handlers, e.g.
/// `client.list(&id).members()`.
///
/// ```no_run
/// # async fn run() -> mailchimp_client::Result<()> {
/// use mailchimp_client::{Client, Credentials};
///
/// let client = Client::builder(Credentials::api_key("0123456789abcdef-us6"))
///     .build()
///     .await?;
/// println!("{}", client.ping().await?.health_status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    base: Url,
}

/// What sending needs, before the API root is known.
struct Transport {
    http: reqwest::Client,
    credentials: Credentials,
    limit: ConcurrencyLimit,
    retry: RetryConfig,
    timeout: Duration,
    /// The largest response body read ([`ClientBuilder::max_response_bytes`]).
    max_body: usize,
    stats: ResponseStats,
}

/// What the client's attempts got back, for metrics: shared by the client and its clones.
#[derive(Debug, Default)]
struct ResponseStats {
    /// Responses by HTTP status (each attempt counts).
    statuses: std::sync::Mutex<std::collections::BTreeMap<u16, u64>>,
    /// Attempts that got no response (connection, timeout, TLS).
    transport_errors: std::sync::atomic::AtomicU64,
    /// Attempts after the first of a request.
    retries: std::sync::atomic::AtomicU64,
}

/// A snapshot of the client's attempts, by outcome ([`Client::response_counts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseCounts {
    /// Responses by HTTP status; every attempt counts, retries included.
    pub by_status: std::collections::BTreeMap<u16, u64>,
    /// Attempts that got no response (connection refused, timeout, TLS).
    pub transport_errors: u64,
    /// Attempts after the first of a request (the client's own retries).
    pub retries: u64,
}

/// Which `Authorization` header an attempt carries.
#[derive(Clone, Copy)]
enum Auth {
    /// The client's credentials (Basic for keys, Bearer for tokens).
    Credentials,
    /// `OAuth <token>`, which only the metadata endpoint takes.
    OAuthMetadata,
    /// None: a pre-signed URL outside the API (batch results), which must
    /// never see the key.
    Anonymous,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.inner.transport;
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("credentials", &t.credentials)
            .field("max_concurrency", &t.limit.max())
            .field("current_concurrency", &t.limit.current())
            .field("timeout", &t.timeout)
            .field("retry", &t.retry)
            .finish()
    }
}

impl Client {
    /// A builder for a client authenticating with `credentials`.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            credentials,
            base_url: None,
            metadata_url: None,
            timeout: DEFAULT_TIMEOUT,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            shared_limit: None,
            max_response_bytes: http_policy::DEFAULT_MAX_BODY_BYTES,
            retry: RetryConfig::new(),
        }
    }

    /// The API root requests go to, e.g. `https://us6.api.mailchimp.com/3.0`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The concurrency cap shared by this client and its clones.
    pub fn max_concurrency(&self) -> usize {
        self.inner.transport.limit.max()
    }

    /// The in-flight limit in force now: [`max_concurrency`](Self::max_concurrency)
    /// until Mailchimp answers `429`, then adapting between 1 and it.
    pub fn current_concurrency(&self) -> usize {
        self.inner.transport.limit.current()
    }

    /// The `429` answers the client has received (each attempt counts).
    pub fn overloads(&self) -> u64 {
        self.inner.transport.limit.overloads()
    }

    /// The attempts this client and its clones made so far, by HTTP status, with the transport
    /// failures and retries: for metrics (a process exports them; the counts only grow).
    ///
    /// ```
    /// # async fn run() -> mailchimp_client::Result<()> {
    /// let client = mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(
    ///     "0123456789abcdef0123456789abcdef-us6",
    /// ))
    /// .build()
    /// .await?;
    /// assert_eq!(client.response_counts().retries, 0);
    /// # Ok(()) }
    /// ```
    pub fn response_counts(&self) -> ResponseCounts {
        use std::sync::atomic::Ordering;
        let stats = &self.inner.transport.stats;
        ResponseCounts {
            by_status: stats.statuses.lock().map(|m| m.clone()).unwrap_or_default(),
            transport_errors: stats.transport_errors.load(Ordering::Relaxed),
            retries: stats.retries.load(Ordering::Relaxed),
        }
    }

    /// The retry policy.
    pub fn retry_config(&self) -> &RetryConfig {
        &self.inner.transport.retry
    }

    // ----- crate-internal request API (see the module docs) -----

    /// `GET` one resource.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &[&str], query: &Query) -> Result<T> {
        let (status, body) = self.execute(Method::GET, path, query, None, true).await?;
        decode(status, &body)
    }

    /// A JSON request with a JSON answer; retried unless `method` is `POST`.
    pub(crate) async fn send_json<B, T>(
        &self,
        method: Method,
        path: &[&str],
        query: &Query,
        body: &B,
    ) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let retry = method != Method::POST;
        self.json_request(method, path, query, encode(body)?, retry)
            .await
    }

    /// A `POST` that is idempotent in effect, so it is retried like a `PUT`.
    /// Only for calls whose repetition cannot duplicate anything.
    pub(crate) async fn post_idempotent<B, T>(
        &self,
        path: &[&str],
        query: &Query,
        body: &B,
    ) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.json_request(Method::POST, path, query, encode(body)?, true)
            .await
    }

    /// A `POST` answered by `204` that is idempotent in effect (setting tags
    /// active or inactive), so it is retried.
    pub(crate) async fn post_idempotent_no_content<B>(
        &self,
        path: &[&str],
        query: &Query,
        body: &B,
    ) -> Result<()>
    where
        B: Serialize + ?Sized,
    {
        self.execute(Method::POST, path, query, Some(encode(body)?), true)
            .await?;
        Ok(())
    }

    /// A `POST` without a body answered by `204` (an action such as
    /// `…/actions/delete-permanent`) that is idempotent in effect, so it is
    /// retried.
    pub(crate) async fn post_action(&self, path: &[&str]) -> Result<()> {
        self.execute(Method::POST, path, &Query::new(), None, true)
            .await?;
        Ok(())
    }

    /// `GET` of an absolute URL outside the API (a pre-signed download such
    /// as a batch's `response_body_url`), without credentials; retried.
    pub(crate) async fn download(&self, url: Url) -> Result<Bytes> {
        let (_, body) = self
            .inner
            .transport
            .send(Method::GET, url, None, Auth::Anonymous, true)
            .await?;
        Ok(body)
    }

    /// Sends an encoded JSON body and decodes the JSON answer.
    async fn json_request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        query: &Query,
        body: Bytes,
        retry: bool,
    ) -> Result<T> {
        let (status, answer) = self.execute(method, path, query, Some(body), retry).await?;
        decode(status, &answer)
    }

    /// `DELETE` a resource (answered by `204`).
    pub(crate) async fn delete(&self, path: &[&str], query: &Query) -> Result<()> {
        self.execute(Method::DELETE, path, query, None, true)
            .await?;
        Ok(())
    }

    /// One page of a collection whose items are under `items_key`.
    pub(crate) async fn get_page<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &Query,
        items_key: &'static str,
        offset: u64,
        count: u32,
    ) -> Result<Page<T>> {
        let mut query = query.clone();
        query.set("offset", offset).set("count", count);
        keep_total_items(&mut query);
        let (status, body) = self.execute(Method::GET, path, &query, None, true).await?;
        let mut de = serde_json::Deserializer::from_slice(&body);
        let fast = PageSeed::<T>::new(items_key)
            .deserialize(&mut de)
            .and_then(|page| de.end().map(|()| page));
        match fast {
            Ok(page) => Ok(page),
            // Some item, or the page itself, is odd: decode item by item so
            // one odd item does not cost the others.
            Err(e) => item_by_item(&body, items_key, offset)
                .ok_or_else(|| Error::decode(status, &body, e)),
        }
    }

    /// A list request builder's shared state for the collection at `path`
    /// (see `page::Collection`): the usual way to expose a list endpoint
    /// with `.send()` and `.into_stream()`.
    pub(crate) fn collection(&self, path: &[&str], items_key: &'static str) -> page::Collection {
        page::Collection::new(self.clone(), path, items_key)
    }

    /// Sends one logical request: URL, retries, permits, error mapping.
    async fn execute(
        &self,
        method: Method,
        path: &[&str],
        query: &Query,
        body: Option<Bytes>,
        retry: bool,
    ) -> Result<(u16, Bytes)> {
        let url = self.url(path, query)?;
        self.inner
            .transport
            .send(method, url, body, Auth::Credentials, retry)
            .await
    }

    /// The API root joined with `path` (each segment percent-encoded) and `query`.
    fn url(&self, path: &[&str], query: &Query) -> Result<Url> {
        if let Some(bad) = path
            .iter()
            .find(|s| s.is_empty() || **s == "." || **s == "..")
        {
            return Err(Error::invalid_input(
                "id",
                format!("an id in the request path cannot be {bad:?}"),
            ));
        }
        let mut url = self.inner.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| Error::Config("the base URL cannot take a path"))?;
            segments.pop_if_empty();
            if path.is_empty() {
                segments.push("");
            } else {
                segments.extend(path);
            }
        }
        let mut pairs = query.pairs().peekable();
        if pairs.peek().is_some() {
            url.query_pairs_mut().extend_pairs(pairs);
        }
        Ok(url)
    }
}

impl Transport {
    /// Sends with retries (when `retry`), mapping an exhausted `429` to
    /// [`Error::RateLimited`].
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Bytes>,
        auth: Auth,
        retry: bool,
    ) -> Result<(u16, Bytes)> {
        let config = if retry {
            self.retry
        } else {
            RetryConfig::disabled()
        };
        let outcome = http_policy::retry(
            &config,
            |attempt| {
                if attempt > 1 {
                    self.stats
                        .retries
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                self.attempt(method.clone(), url.clone(), body.clone(), auth)
            },
            classify,
        )
        .await;
        match outcome {
            Ok(ok) => Ok(ok),
            Err(Failure {
                error,
                attempts,
                exhausted,
            }) => {
                let AttemptError { error, .. } = error;
                if exhausted && error.status() == Some(429) {
                    Err(Error::RateLimited {
                        attempts,
                        last: Box::new(error),
                    })
                } else {
                    Err(error)
                }
            }
        }
    }

    /// One attempt, holding a concurrency permit until the body is read.
    async fn attempt(
        &self,
        method: Method,
        url: Url,
        body: Option<Bytes>,
        auth: Auth,
    ) -> std::result::Result<(u16, Bytes), AttemptError> {
        let permit = self.limit.acquire().await;
        let mut request = self.http.request(method, url);
        request = match auth {
            Auth::Credentials => self.credentials.authorize(request),
            Auth::OAuthMetadata => oauth_metadata_header(request, &self.credentials),
            Auth::Anonymous => request,
        };
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        let transport = |e: reqwest::Error| AttemptError {
            error: Error::Transport(e),
            retry_after: None,
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                self.stats
                    .transport_errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Err(transport(e));
            }
        };
        let status = response.status().as_u16();
        if let Ok(mut statuses) = self.stats.statuses.lock() {
            *statuses.entry(status).or_default() += 1;
        }
        let retry_after = http_policy::parse_retry_after(response.headers(), SystemTime::now());
        let length = response.content_length();
        let body = http_policy::read_limited(response.bytes_stream(), length, self.max_body)
            .await
            .map_err(|e| match e {
                http_policy::BodyError::TooLarge { limit } => AttemptError {
                    error: Error::ResponseTooLarge { limit },
                    retry_after: None,
                },
                http_policy::BodyError::Stream(e) => transport(e),
            })?;
        let body = Bytes::from(body);
        // Feed the adaptive cap: a 429 halves it, successes grow it back.
        if status == 429 {
            permit.overloaded();
        } else if (200..300).contains(&status) {
            permit.succeeded();
        }
        if (200..300).contains(&status) {
            Ok((status, body))
        } else {
            Err(AttemptError {
                error: Error::from_response(status, &body),
                retry_after,
            })
        }
    }
}

/// Retry what [`Error::is_retryable`] says, waiting as long as the server asked.
fn classify(failure: &AttemptError) -> RetryDecision {
    if !failure.error.is_retryable() {
        return RetryDecision::DoNotRetry;
    }
    match failure.retry_after {
        Some(wait) => RetryDecision::RetryAfter(wait),
        None => RetryDecision::Retry,
    }
}

/// `Authorization: OAuth <token>`, marked sensitive so it is never logged.
fn oauth_metadata_header(
    request: reqwest::RequestBuilder,
    credentials: &Credentials,
) -> reqwest::RequestBuilder {
    let Some(token) = credentials.oauth_secret() else {
        return request;
    };
    match HeaderValue::from_str(&format!("OAuth {}", token.expose_secret())) {
        Ok(mut value) => {
            value.set_sensitive(true);
            request.header(AUTHORIZATION, value)
        }
        // Unreachable in practice: `build` rejects tokens with control
        // characters before the lookup. Sent without the header, the
        // lookup then fails with a 401 that does not quote the token.
        Err(_) => request,
    }
}

/// The fields of the OAuth metadata document the client uses.
#[derive(Deserialize)]
struct OAuthMetadata {
    #[serde(default)]
    api_endpoint: Option<String>,
    #[serde(default)]
    dc: Option<String>,
}

/// Resolves an OAuth token's API root: `{api_endpoint}/3.0`, else the `dc`'s.
async fn resolve_oauth_root(transport: &Transport, url: Url) -> Result<Url> {
    let lookup_failed = |reason: &'static str, source: Error| Error::DataCenterLookup {
        reason,
        source: Some(Box::new(source)),
    };
    let (status, body) = transport
        .send(Method::GET, url, None, Auth::OAuthMetadata, true)
        .await
        .map_err(|e| lookup_failed("the metadata request failed", e))?;
    let metadata: OAuthMetadata = decode(status, &body)
        .map_err(|e| lookup_failed("the metadata response is not a JSON object", e))?;
    if let Some(endpoint) = metadata.api_endpoint.filter(|e| !e.trim().is_empty()) {
        let mut root =
            parse_http_url(endpoint.trim(), "").map_err(|_| Error::DataCenterLookup {
                reason: "`api_endpoint` is not an absolute http(s) URL",
                source: None,
            })?;
        if let Ok(mut segments) = root.path_segments_mut() {
            segments.pop_if_empty().push("3.0");
        }
        return Ok(root);
    }
    match metadata.dc.as_deref().map(DataCenter::new) {
        Some(Ok(dc)) => Ok(dc.api_root()),
        Some(Err(_)) => Err(Error::DataCenterLookup {
            reason: "`dc` is not a valid data-center name",
            source: None,
        }),
        None => Err(Error::DataCenterLookup {
            reason: "the response has neither `api_endpoint` nor `dc`",
            source: None,
        }),
    }
}

/// An absolute `http`/`https` URL that can take a path.
fn parse_http_url(input: &str, message: &'static str) -> Result<Url> {
    match Url::parse(input) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && !url.cannot_be_a_base() => Ok(url),
        _ => Err(Error::Config(message)),
    }
}

/// Serialises a request body once, so retries resend the same bytes.
fn encode<B: Serialize + ?Sized>(body: &B) -> Result<Bytes> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| Error::invalid_input("body", format!("could not be serialised: {e}")))
}

/// Decodes a successful response body.
fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::decode(status, body, e))
}

/// The slow path of a page whose items did not all decode: the page as JSON
/// values, then each item decoded alone; `None` when the body is not a
/// collection with `items_key` and `total_items` at all. Numbers pass
/// through `f64` here as they do when decoding from text, so values decode
/// alike on both paths.
fn item_by_item<T: DeserializeOwned>(body: &[u8], items_key: &str, offset: u64) -> Option<Page<T>> {
    let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let total_items = value.get("total_items")?.as_u64()?;
    let raw_items = match value.get_mut(items_key).map(serde_json::Value::take) {
        Some(serde_json::Value::Array(items)) => items,
        Some(serde_json::Value::Null) | None => Vec::new(),
        Some(_) => return None,
    };
    let mut page = Page::new(Vec::with_capacity(raw_items.len()), total_items);
    for (index, raw) in raw_items.into_iter().enumerate() {
        match T::deserialize(&raw) {
            Ok(item) => page.items.push(item),
            Err(e) => page.undecoded.push(crate::page::UndecodedItem::new(
                offset + index as u64,
                raw,
                e.to_string(),
            )),
        }
    }
    Some(page)
}

/// Decodes a collection response straight into a [`Page`], taking the items
/// from `items_key` and skipping every other field (no intermediate
/// `serde_json::Value`, so numbers keep their exact text for decimals).
struct PageSeed<T> {
    items_key: &'static str,
    item: PhantomData<fn() -> T>,
}

impl<T> PageSeed<T> {
    fn new(items_key: &'static str) -> Self {
        PageSeed {
            items_key,
            item: PhantomData,
        }
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for PageSeed<T> {
    type Value = Page<T>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Page<T>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for PageSeed<T> {
    type Value = Page<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a collection with `{}` and `total_items`",
            self.items_key
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Page<T>, A::Error> {
        let mut items = None;
        let mut total = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.items_key {
                items = Some(map.next_value::<Vec<T>>()?);
            } else if key == "total_items" {
                total = Some(map.next_value::<u64>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let total_items = total.ok_or_else(|| A::Error::missing_field("total_items"))?;
        Ok(Page::new(items.unwrap_or_default(), total_items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync() {
        fn assert<T: Send + Sync + Clone + 'static>() {}
        assert::<Client>();
    }

    #[test]
    fn page_seed_takes_items_and_total_and_skips_the_rest() {
        let body = br#"{"list_id":"x","members":[{"n":1},{"n":2}],"total_items":7,"_links":[]}"#;
        #[derive(Deserialize)]
        struct N {
            n: u8,
        }
        let mut de = serde_json::Deserializer::from_slice(body);
        let page: Page<N> = PageSeed::new("members").deserialize(&mut de).unwrap();
        assert_eq!(page.total_items, 7);
        assert_eq!(page.items.iter().map(|i| i.n).collect::<Vec<_>>(), [1, 2]);
        let mut de = serde_json::Deserializer::from_slice(br#"{"members":[]}"#);
        assert!(PageSeed::<N>::new("members").deserialize(&mut de).is_err());
    }

    #[tokio::test]
    async fn urls_encode_segments_and_reject_traversal() {
        let client = Client::builder(Credentials::api_key("k-us6"))
            .base_url("http://127.0.0.1:9/3.0/")
            .build()
            .await
            .unwrap();
        let mut q = Query::new();
        q.push("status", "subscribed");
        let url = client.url(&["lists", "a/b c", "members"], &q).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/3.0/lists/a%2Fb%20c/members?status=subscribed"
        );
        assert_eq!(
            client.url(&[], &Query::new()).unwrap().as_str(),
            "http://127.0.0.1:9/3.0/"
        );
        for bad in ["", ".", ".."] {
            let err = client.url(&["lists", bad], &Query::new()).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
        }
    }
}
