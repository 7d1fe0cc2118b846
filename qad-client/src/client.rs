//! [`Client`], its builder, and the request path every call goes through:
//! session, concurrency cap, retries, renewal on 401, error mapping.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http_policy::{retry, ConcurrencyLimit, Failure, RetryConfig, RetryDecision};
use reqwest::header::{HeaderMap, ACCEPT};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use url::Url;

use crate::attribution::AttributionConfig;
use crate::auth::{Credentials, Session};
use crate::behaviour::{Behaviour, DomainScope};
use crate::error::{Error, Result};
use crate::ids::DomainCode;
use crate::read::ReadConfig;
use crate::response;
use crate::tenant::TenantUrl;

/// Default cap on simultaneous requests to one tenant.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;
/// Default timeout of one HTTP attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time ahead of a token's `expires_in` at which it is renewed.
pub const DEFAULT_RENEW_BEFORE: Duration = Duration::from_secs(60);

/// A client for one QAD tenant. Cheap to clone; clones share the session,
/// the connection pool and the concurrency cap.
///
/// Every request:
/// - carries `domainCode` when a domain is configured (with
///   `scope.domain = "query"`, the default), and
///   `x-qad-workspace-id: <domain>_<entity>` when an entity is too (or
///   `<domain>` alone with `scope.domain = "header"`);
/// - holds one slot of the concurrency cap per attempt (not while backing off);
/// - is retried with exponential backoff and jitter on 429, 502, 503, 504 and
///   transport errors, honouring `Retry-After`. Other 5xx are **not** retried:
///   QAD reports application failures as 500, which a retry repeats, and a
///   write that failed half-way must not run twice;
/// - on a 401 (or, for a form-login session, a redirect to the login page)
///   renews the session once — one login shared by all callers that saw the
///   same expired session — and retries once; a second 401 is [`Error::Auth`].
///
/// ```no_run
/// # async fn run() -> qad_client::Result<()> {
/// use qad_client::{Client, Credentials};
///
/// let client = Client::builder()
///     .tenant_url("https://acme.qad.com/clouderp")
///     .credentials(Credentials::oauth_password("client-id", "api-user", "secret"))
///     .domain("10USA")
///     .build()?;
/// let page = client.customers().count(50).send().await?;
/// println!("{} customers on the first page", page.items.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    session: Session,
    domain: Option<DomainCode>,
    workspace_id: Option<String>,
    settings: Settings,
    /// Set once the reason for a missing browse total has been logged.
    count_missing_logged: std::sync::atomic::AtomicBool,
}

/// Per-tenant read and write configuration, fixed at build time.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) later_page_action: String,
    pub(crate) customers: ReadConfig,
    pub(crate) items: ReadConfig,
    pub(crate) sales_orders: ReadConfig,
    pub(crate) sales_order_lines: ReadConfig,
    pub(crate) attribution: AttributionConfig,
    pub(crate) consent: crate::consent::ConsentConfig,
    pub(crate) behaviour: Behaviour,
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The validated tenant URL.
    pub fn tenant_url(&self) -> &TenantUrl {
        &self.inner.transport.base
    }

    /// The configured domain, if any.
    pub fn domain(&self) -> Option<&DomainCode> {
        self.inner.domain.as_ref()
    }

    /// How the tenant is configured to behave where QAD documents nothing
    /// (paging, domain scope, date filter, key order, duplicates, entity
    /// checks); see [`Behaviour`].
    pub fn behaviour(&self) -> &Behaviour {
        &self.inner.settings.behaviour
    }

    /// Since when logins are blocked because the tenant refused these
    /// credentials, if they are. QAD locks a user after repeated failed
    /// logins (Security Control "maximum access failures"), so after one
    /// refusal every call fails with [`Error::LoginBlocked`], without a
    /// request, until [`allow_login`](Self::allow_login) or a new client
    /// (new credentials).
    pub async fn login_blocked_since(&self) -> Option<SystemTime> {
        self.inner.session.refused_at().await
    }

    /// Lets the next call try to log in again after a refusal (a person
    /// checked the credentials, e.g. with `ml-connector connect`).
    pub async fn allow_login(&self) {
        self.inner.session.allow_login().await;
    }

    /// Whether this is the first time a browse total is missing for this
    /// client, so that the reason is logged once, not on every run.
    pub(crate) fn first_missing_count(&self) -> bool {
        !self
            .inner
            .count_missing_logged
            .swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Sends one logical call and returns a successful reply.
    ///
    /// # Errors
    ///
    /// Every [`Error`] kind a response can map to, see [`Client`].
    pub(crate) async fn call(&self, call: &Call) -> Result<Reply> {
        let inner = &*self.inner;
        let url = self.url_for(call);
        let mut renewed = false;
        let mut auth = inner.session.current(&inner.transport).await?;
        loop {
            let reply = inner
                .transport
                .send(|| {
                    let mut request = inner
                        .transport
                        .http
                        .request(call.method.clone(), url.clone())
                        .header(ACCEPT, "application/json");
                    if let Some(id) = inner.workspace_id.as_ref().filter(|_| !call.unscoped) {
                        request = request.header("x-qad-workspace-id", id);
                    }
                    for (name, value) in &call.headers {
                        request = request.header(name.as_str(), value.as_str());
                    }
                    if let Some(body) = &call.body {
                        request = request.json(body);
                    }
                    auth.apply(request)
                })
                .await?;
            if !inner.session.is_expired(&reply) {
                return response::check(reply);
            }
            if !inner.session.renewable() {
                // Each Basic call is a login: a refused one must not be repeated.
                inner.session.refuse().await;
            }
            if renewed || !inner.session.renewable() {
                return Err(Error::Auth {
                    status: Some(reply.status.as_u16()),
                    message: if renewed {
                        "the tenant still refused the request after the session was renewed"
                            .to_owned()
                    } else {
                        format!("credentials refused: {}", reply.snippet())
                    },
                });
            }
            tracing::debug!("qad session expired; renewing");
            auth = inner.session.renew(&auth, &inner.transport).await?;
            renewed = true;
        }
    }

    fn url_for(&self, call: &Call) -> Url {
        let mut url = self.inner.transport.base.join(&call.path);
        let domain = self
            .inner
            .domain
            .as_ref()
            .filter(|_| self.behaviour().domain_scope == DomainScope::Query && !call.unscoped);
        if domain.is_some() || !call.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            if let Some(domain) = domain {
                pairs.append_pair("domainCode", domain.as_str());
            }
            for (key, value) in &call.query {
                pairs.append_pair(key, value);
            }
        }
        url
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Client")
            .field("tenant_url", &inner.transport.base)
            .field("credentials", inner.session.credentials())
            .field("domain", &inner.domain)
            .field("workspace_id", &inner.workspace_id)
            .field("max_concurrency", &inner.transport.limit.max())
            .field("retry", &inner.transport.retry)
            .finish_non_exhaustive()
    }
}

/// One logical request: a path below the tenant URL, query pairs and an
/// optional JSON body. `domainCode` is added by the client.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<Value>,
    /// Sent without the client's domain scope (no `domainCode`, no
    /// workspace header): the probe scopes its experiments itself.
    pub(crate) unscoped: bool,
    pub(crate) headers: Vec<(String, String)>,
}

impl Call {
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            unscoped: false,
            headers: Vec::new(),
        }
    }

    pub(crate) fn post(path: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            body: Some(body),
            unscoped: false,
            headers: Vec::new(),
        }
    }

    pub(crate) fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }
}

/// A response read in full.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] naming `context`.
    pub(crate) fn json(&self, context: &str) -> Result<Value> {
        serde_json::from_slice(&self.body).map_err(|source| Error::Decode {
            context: context.to_owned(),
            source,
        })
    }

    /// The start of the body as text, for error messages.
    pub(crate) fn snippet(&self) -> String {
        const MAX: usize = 300;
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        if text.is_empty() {
            return self
                .status
                .canonical_reason()
                .unwrap_or("no body")
                .to_owned();
        }
        match text.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_owned(),
        }
    }
}

/// The HTTP side shared by logins and calls: connection pool, cap, retries.
pub(crate) struct Transport {
    http: reqwest::Client,
    base: TenantUrl,
    limit: ConcurrencyLimit,
    retry: RetryConfig,
    /// The largest response body read ([`ClientBuilder::max_response_bytes`]).
    max_body: usize,
}

/// Why one attempt failed.
enum AttemptError {
    Transport(reqwest::Error),
    Status(Reply),
    /// The body passed the cap (not retried: the same request gets the same answer).
    TooLarge(usize),
}

impl Transport {
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn base(&self) -> &TenantUrl {
        &self.base
    }

    /// Sends the request `build` makes, retrying 429, 502, 503, 504 and
    /// transport errors; any other response is returned as is.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`], or the mapped error of the last retryable
    /// response once attempts are exhausted.
    pub(crate) async fn send<F>(&self, build: F) -> Result<Reply>
    where
        F: Fn() -> RequestBuilder,
    {
        let outcome = retry(
            &self.retry,
            |_attempt| {
                let request = build();
                async move {
                    let _permit = self.limit.acquire().await;
                    let response = request.send().await.map_err(AttemptError::Transport)?;
                    let status = response.status();
                    let headers = response.headers().clone();
                    let length = response.content_length();
                    let body =
                        http_policy::read_limited(response.bytes_stream(), length, self.max_body)
                            .await
                            .map_err(|e| match e {
                                http_policy::BodyError::TooLarge { limit } => {
                                    AttemptError::TooLarge(limit)
                                }
                                http_policy::BodyError::Stream(e) => AttemptError::Transport(e),
                            })?;
                    let reply = Reply {
                        status,
                        headers,
                        body,
                    };
                    if is_retryable(status) {
                        Err(AttemptError::Status(reply))
                    } else {
                        Ok(reply)
                    }
                }
            },
            classify,
        )
        .await;
        match outcome {
            Ok(reply) => Ok(reply),
            Err(Failure {
                error, attempts, ..
            }) => {
                tracing::debug!(attempts, "qad request failed");
                match error {
                    AttemptError::Transport(e) => Err(Error::Transport(e)),
                    AttemptError::Status(reply) => response::check(reply),
                    AttemptError::TooLarge(limit) => Err(Error::ResponseTooLarge { limit }),
                }
            }
        }
    }
}

fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

fn classify(error: &AttemptError) -> RetryDecision {
    match error {
        AttemptError::Transport(e) if e.is_builder() => RetryDecision::DoNotRetry,
        AttemptError::TooLarge(_) => RetryDecision::DoNotRetry,
        AttemptError::Transport(_) => RetryDecision::Retry,
        AttemptError::Status(reply) => {
            http_policy::parse_retry_after(&reply.headers, SystemTime::now())
                .map_or(RetryDecision::Retry, RetryDecision::RetryAfter)
        }
    }
}

/// Configures and builds a [`Client`].
///
/// Only the tenant URL and credentials are required. Everything else has a
/// default fitting QAD Adaptive ERP's V2 business-entity browses; see
/// `docs/qad-api.md` for what each tenant has to check.
#[derive(Debug)]
pub struct ClientBuilder {
    tenant_url: Option<String>,
    credentials: Option<Credentials>,
    domain: Option<DomainCode>,
    entity: Option<String>,
    max_concurrency: usize,
    max_response_bytes: usize,
    retry: RetryConfig,
    timeout: Duration,
    renew_before: Duration,
    settings: Settings,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            tenant_url: None,
            credentials: None,
            domain: None,
            entity: None,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_response_bytes: http_policy::DEFAULT_MAX_BODY_BYTES,
            retry: RetryConfig::new(),
            timeout: DEFAULT_TIMEOUT,
            renew_before: DEFAULT_RENEW_BEFORE,
            settings: Settings {
                later_page_action: "next".to_owned(),
                customers: ReadConfig::default_customers(),
                items: ReadConfig::default_items(),
                sales_orders: ReadConfig::default_sales_orders(),
                sales_order_lines: ReadConfig::default_sales_order_lines(),
                attribution: AttributionConfig::default(),
                consent: crate::consent::ConsentConfig::default(),
                behaviour: Behaviour::default(),
            },
        }
    }
}

impl ClientBuilder {
    /// The tenant URL with its context root, e.g.
    /// `https://acme.qad.com/clouderp` or `https://host:8443/qad-central`.
    /// Validated by [`build`](Self::build) (see [`TenantUrl`]).
    #[must_use]
    pub fn tenant_url(mut self, url: impl Into<String>) -> Self {
        self.tenant_url = Some(url.into());
        self
    }

    /// How to log in.
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The domain sent as `domainCode` on every request, e.g. `10USA`.
    #[must_use]
    pub fn domain(mut self, domain: impl Into<DomainCode>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The Financials entity (e.g. `10USACO`). With a domain, requests carry
    /// `x-qad-workspace-id: <domain>_<entity>`.
    #[must_use]
    pub fn entity(mut self, entity: impl Into<String>) -> Self {
        self.entity = Some(entity.into());
        self
    }

    /// At most this many requests in flight (default 8; 0 counts as 1).
    #[must_use]
    pub fn max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = max;
        self
    }

    /// The retry policy (default: [`RetryConfig::new`]).
    #[must_use]
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The largest response body the client reads, in bytes (default
    /// [`http_policy::DEFAULT_MAX_BODY_BYTES`], 64 MiB). A larger one (its
    /// `Content-Length`, or what arrives) fails with
    /// [`Error::ResponseTooLarge`] instead of being held in memory.
    #[must_use]
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Timeout of one HTTP attempt (default 60 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long before a token's `expires_in` it is renewed (default 60 s,
    /// at most half its lifetime).
    #[must_use]
    pub fn renew_before(mut self, ahead: Duration) -> Self {
        self.renew_before = ahead;
        self
    }

    /// The `pageAction` sent for browse pages after the first (which always
    /// sends `first`). Default `next`; public code assumes it, nothing confirms it.
    #[must_use]
    pub fn later_page_action(mut self, action: impl Into<String>) -> Self {
        self.settings.later_page_action = action.into();
        self
    }

    /// Where and how customers are read.
    #[must_use]
    pub fn customers(mut self, config: ReadConfig) -> Self {
        self.settings.customers = config;
        self
    }

    /// Where and how items are read.
    #[must_use]
    pub fn items(mut self, config: ReadConfig) -> Self {
        self.settings.items = config;
        self
    }

    /// Where and how sales order headers are read.
    #[must_use]
    pub fn sales_orders(mut self, config: ReadConfig) -> Self {
        self.settings.sales_orders = config;
        self
    }

    /// Where and how sales order lines are read.
    #[must_use]
    pub fn sales_order_lines(mut self, config: ReadConfig) -> Self {
        self.settings.sales_order_lines = config;
        self
    }

    /// How the tenant behaves where QAD documents nothing (default: today's
    /// guesses, [`Behaviour::default`]). `ml-connector connect --probe`
    /// finds the values of a tenant.
    #[must_use]
    pub fn behaviour(mut self, behaviour: Behaviour) -> Self {
        self.settings.behaviour = behaviour;
        self
    }

    /// Where and how attribution records are written.
    #[must_use]
    pub fn attribution(mut self, config: AttributionConfig) -> Self {
        self.settings.attribution = config;
        self
    }

    /// Where marketing-consent records are written ([`Client::consent`]).
    #[must_use]
    pub fn consent(mut self, config: crate::consent::ConsentConfig) -> Self {
        self.settings.consent = config;
        self
    }

    /// Validates the configuration and builds the client. No request is sent:
    /// the first call logs in.
    ///
    /// # Errors
    ///
    /// - [`Error::Config`] when the tenant URL or credentials are missing, or
    ///   an entity is given without a domain;
    /// - [`Error::InvalidTenantUrl`] naming what is wrong with the URL;
    /// - [`Error::Transport`] when the HTTP client cannot be created.
    pub fn build(self) -> Result<Client> {
        let url = self
            .tenant_url
            .as_deref()
            .ok_or(Error::Config("a tenant url is required"))?;
        let base = TenantUrl::parse(url).map_err(Error::InvalidTenantUrl)?;
        let credentials = self
            .credentials
            .ok_or(Error::Config("credentials are required"))?;
        let header_scope = self.settings.behaviour.domain_scope == DomainScope::Header;
        let workspace_id = match (&self.domain, &self.entity) {
            (Some(domain), Some(entity)) => Some(format!("{domain}_{entity}")),
            (None, Some(_)) => return Err(Error::Config("an entity needs a domain")),
            (Some(domain), None) if header_scope => Some(domain.to_string()),
            _ => None,
        };
        let http = reqwest::Client::builder()
            .cookie_store(true)
            // Redirects are answers here: a form-login session that expired
            // redirects to the login page, which must not be followed.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("qad-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::Transport)?;
        Ok(Client {
            inner: Arc::new(Inner {
                transport: Transport {
                    http,
                    base,
                    limit: ConcurrencyLimit::new(self.max_concurrency),
                    retry: self.retry,
                    max_body: self.max_response_bytes,
                },
                session: Session::new(credentials, self.renew_before),
                domain: self.domain,
                workspace_id,
                settings: self.settings,
                count_missing_logged: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Client>();
    }

    #[test]
    fn debug_never_shows_the_password() {
        let client = Client::builder()
            .tenant_url("https://acme.qad.com/clouderp")
            .credentials(Credentials::oauth_password("cid", "user", "hunter2-secret"))
            .build()
            .unwrap();
        let shown = format!("{client:?}");
        assert!(shown.contains("acme.qad.com"), "{shown}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
    }

    #[test]
    fn entity_without_domain_is_refused() {
        let err = Client::builder()
            .tenant_url("https://acme.qad.com/clouderp")
            .credentials(Credentials::basic("u", "p"))
            .entity("10USACO")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)));
    }
}
