//! A stateful fake of the Mailchimp Marketing API v3, on loopback.
//!
//! [`FakeMailchimp`] serves the real paths (all under `/3.0`) and shapes, so any client — ours, the
//! official ones, `curl` — works against it by pointing its base URL at [`FakeMailchimp::api_url`]:
//!
//! - **Auth**: the configured API keys and OAuth tokens, as HTTP Basic with any username or as `Bearer`;
//!   anything else gets 401 "API Key Invalid". `GET /oauth2/metadata` with `Authorization: OAuth <token>`
//!   returns the data center (`dc`) and an `api_endpoint` pointing at this fake.
//! - **Account**: `GET /3.0/` and `GET /3.0/ping`.
//! - **Audiences**: lists, merge fields, members keyed by subscriber hash (or email) with `PUT` upsert
//!   (`status_if_new` only for new members), `POST`, `PATCH`, archive (`DELETE`), permanent delete, tags;
//!   batch subscribe (`POST /3.0/lists/{list_id}`, at most 500 members, `update_existing`, per-member
//!   errors). Compliance rules: a cleaned member cannot become subscribed or pending, nor a member who
//!   unsubscribed themselves (seeded as `unsubscribed`) subscribed (400 "Member In Compliance State"),
//!   while one unsubscribed through the API can be; a forgotten email cannot be re-added (400
//!   "Forgotten Email Not Subscribed"); invalid and fake-looking emails (reserved domains of RFC 2606
//!   and 6761, a few disposable ones) get 400 "Invalid Resource" "… looks fake or invalid"; merge
//!   fields are checked against their type, choices and `required` (addresses need `addr1`, `city`,
//!   `state`, `zip`); an address under [signup throttling](FakeMailchimp::throttle_signups) cannot
//!   subscribe; moving a member onto a held address answers "Member Exists" (or "… is already in this
//!   list with a status of …" for an archived holder). `docs/mailchimp.md` lists each rule's source.
//! - **Interest categories** (groups) and their interests: list, get and create (`POST`).
//! - **Batch operations**: `POST /3.0/batches` runs the operations in the background through this fake's
//!   own routes (`pending` → `started` → `finalizing` → `finished`), `GET`/`DELETE`, and a gzipped tar
//!   of JSON results at `response_body_url` (`/batch-results/{id}.tar.gz`, no authentication).
//! - **E-commerce**: stores linked to an existing list (`list_id` immutable); customers, products (at
//!   least one variant), variants and orders (which must reference existing customers, products and
//!   variants) with `PUT` upsert and `POST` create; writes under an unknown store get 404 "Resource Not
//!   Found"; store and account-wide order lists. A customer's email address cannot change once set,
//!   and `opt_in_status: true` upgrades a transactional or pending member to subscribed.
//! - **Webhooks**: a per-list registry (`signing_secret` in the create response), and
//!   [`FakeMailchimp::fire_webhook_event`] / [`deliver_webhook`] to post form-encoded events, signed
//!   (`X-Mailchimp-Signature: t=…,v1=…`) or not. With
//!   [`validate_webhook_urls`](FakeMailchimpBuilder::validate_webhook_urls) a new URL must answer the
//!   validator's `GET` with 200.
//! - **Collections** page with `offset`/`count` (`count` over 1000 → 400), report `total_items`, keep
//!   insertion order, and honour `fields`/`exclude_fields`.
//! - **Limits**: at most N simultaneous requests per account (default 10), counted across all its API
//!   keys and OAuth tokens as Mailchimp counts per user; the next gets 429. The highest concurrency seen
//!   is recorded ([`FakeMailchimp::peak_concurrency`], and per credential).
//! - **Faults and counters**: a [`Faults`] handle (seeded; per route) and a [`Stats`] handle.
//! - **Seeding and inspection**: [`FakeMailchimp::seed_member`], [`FakeMailchimp::forget_email`] and
//!   [`FakeMailchimp::seed_store`] bypass the API and its counters; [`FakeMailchimp::snapshot`] copies
//!   all data out; [`FakeMailchimp::reset_stats`] and [`FakeMailchimp::reset`] start over.
//! - **Drift** (changes made in Mailchimp behind a connector's back, bypassing the API):
//!   [`FakeMailchimp::delete_member`], [`FakeMailchimp::set_merge_field`],
//!   [`FakeMailchimp::delete_product`], [`FakeMailchimp::set_variant_price`] and
//!   [`FakeMailchimp::delete_customer`].
//!
//! Errors are `application/problem+json` documents with `type`, `title`, `status`, `detail`, `instance`.
//!
//! ```
//! use testkit::mailchimp::FakeMailchimp;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fake = FakeMailchimp::builder().api_key("0123456789abcdef-us6").start().await?;
//! fake.seed_member(fake.list_id(), "gone@northwind-mfg.com", "cleaned")?;
//!
//! let ping: serde_json::Value = reqwest::Client::new()
//!     .get(format!("{}/ping", fake.api_url()))
//!     .basic_auth("anystring", Some(fake.api_key()))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(ping["health_status"], "Everything's Chimpy!");
//!
//! let snapshot = fake.snapshot();
//! assert_eq!(snapshot.member(fake.list_id(), "GONE@northwind-mfg.com").unwrap()["status"], "cleaned");
//! assert_eq!(fake.stats().requests("GET", "/3.0/ping"), 1);
//! # Ok(())
//! # }
//! ```

mod auth;
mod batches;
mod ecommerce;
mod interests;
mod limit;
mod lists;
mod members;
mod problem;
mod request;
mod state;
mod tamper;
mod webhooks;

use std::{
    fmt,
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, MutexGuard, OnceLock},
    time::Duration,
};

use axum::{
    middleware,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use md5::{Digest, Md5};

use crate::{
    error::{Error, Result},
    faults::{FaultConfig, Faults},
    server::FakeServer,
    stats::Stats,
};

pub use state::MailchimpSnapshot;
pub use webhooks::{deliver_webhook, signature_header, WebhookDelivery, WebhookEvent};

use limit::Limiter;
use state::MailchimpState;

/// The default limit on simultaneous requests per account (all keys and tokens together), as Mailchimp documents.
pub const DEFAULT_CONCURRENCY_LIMIT: usize = 10;

/// How long a webhook receiver has to answer, as Mailchimp allows.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The default data center of generated credentials.
pub const DEFAULT_DATA_CENTER: &str = "us1";

/// Mailchimp's subscriber hash: the lowercase hex MD5 of the trimmed, lowercased email.
///
/// ```
/// assert_eq!(
///     testkit::mailchimp::subscriber_hash(" Urist.McVankab@Freddiesjokes.com "),
///     "62eeb292278cc15f5817cb78f7790b08",
/// );
/// ```
pub fn subscriber_hash(email: &str) -> String {
    hex::encode(Md5::digest(email.trim().to_lowercase().as_bytes()))
}

/// Short hex derived from the seed, so generated credentials and ids repeat across runs.
fn seeded_hex(seed: u64, what: &str, len: usize) -> String {
    let mut hex = hex::encode(Md5::digest(format!("testkit {what} {seed}").as_bytes()));
    hex.truncate(len);
    hex
}

/// Configures and starts a [`FakeMailchimp`].
///
/// Without an explicit key, token or list, one of each is generated from the seed.
#[derive(Clone)]
pub struct FakeMailchimpBuilder {
    api_keys: Vec<String>,
    oauth_tokens: Vec<String>,
    lists: Vec<String>,
    data_center: String,
    concurrency_limit: usize,
    faults: FaultConfig,
    seed: u64,
    port: u16,
    validate_webhook_urls: bool,
    batch_finalize_delay: Duration,
}

impl fmt::Debug for FakeMailchimpBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeMailchimpBuilder")
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.api_keys.len()),
            )
            .field(
                "oauth_tokens",
                &format_args!("[{} redacted]", self.oauth_tokens.len()),
            )
            .field("lists", &self.lists)
            .field("data_center", &self.data_center)
            .field("concurrency_limit", &self.concurrency_limit)
            .field("faults", &self.faults)
            .field("seed", &self.seed)
            .field("port", &self.port)
            .field("validate_webhook_urls", &self.validate_webhook_urls)
            .field("batch_finalize_delay", &self.batch_finalize_delay)
            .finish()
    }
}

impl Default for FakeMailchimpBuilder {
    fn default() -> Self {
        Self {
            api_keys: Vec::new(),
            oauth_tokens: Vec::new(),
            lists: Vec::new(),
            data_center: DEFAULT_DATA_CENTER.to_owned(),
            concurrency_limit: DEFAULT_CONCURRENCY_LIMIT,
            faults: FaultConfig::none(),
            seed: 0,
            port: 0,
            validate_webhook_urls: false,
            batch_finalize_delay: batches::FINALIZE_DELAY,
        }
    }
}

impl FakeMailchimpBuilder {
    /// Accepts this API key (call again for more). Keys are accepted as Basic (any username) or Bearer.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_keys.push(key.into());
        self
    }

    /// Accepts this OAuth token, for the metadata endpoint and as an API credential (call again for more).
    pub fn oauth_token(mut self, token: impl Into<String>) -> Self {
        self.oauth_tokens.push(token.into());
        self
    }

    /// Creates an audience with this id (call again for more).
    pub fn list(mut self, list_id: impl Into<String>) -> Self {
        self.lists.push(list_id.into());
        self
    }

    /// The data center the metadata endpoint reports and generated keys end with (default `us1`).
    pub fn data_center(mut self, dc: impl Into<String>) -> Self {
        self.data_center = dc.into();
        self
    }

    /// Simultaneous requests allowed for the account, all credentials together, before 429 (default 10).
    pub fn concurrency_limit(mut self, limit: usize) -> Self {
        self.concurrency_limit = limit;
        self
    }

    /// Default fault injection for every route (override routes later through [`FakeMailchimp::faults`]).
    pub fn faults(mut self, config: FaultConfig) -> Self {
        self.faults = config;
        self
    }

    /// Seeds fault injection and generated credentials and ids (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Probes a webhook's URL with a `GET` (User-Agent `MailChimp.com WebHook Validator`) when it is
    /// created or its URL changed, refusing it unless the answer is 200, as Mailchimp does (default off,
    /// so registry tests need no receiver).
    pub fn validate_webhook_urls(mut self, validate: bool) -> Self {
        self.validate_webhook_urls = validate;
        self
    }

    /// How long a batch operation stays `finalizing` after its last operation, before its
    /// results are served (default 50 ms). A test that must see the `finalizing` state on a
    /// loaded machine makes it longer.
    pub fn batch_finalize_delay(mut self, delay: Duration) -> Self {
        self.batch_finalize_delay = delay;
        self
    }

    /// Listens on this loopback port instead of one the OS assigns (default 0: OS-assigned).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Starts the fake on `127.0.0.1`, by default with an OS-assigned port.
    ///
    /// # Errors
    ///
    /// [`Error::Faults`] if the fault config is invalid, [`Error::Bind`] if no port can be bound.
    pub async fn start(mut self) -> Result<FakeMailchimp> {
        let faults =
            Faults::new(self.seed, self.faults.clone())?.with_responder(problem::fault_response);
        if self.api_keys.is_empty() {
            self.api_keys.push(format!(
                "{}-{}",
                seeded_hex(self.seed, "api key", 32),
                self.data_center
            ));
        }
        if self.oauth_tokens.is_empty() {
            self.oauth_tokens
                .push(seeded_hex(self.seed, "oauth token", 32));
        }
        if self.lists.is_empty() {
            self.lists.push(seeded_hex(self.seed, "list", 10));
        }
        let mut initial = MailchimpState::default();
        for (n, id) in self.lists.iter().enumerate() {
            lists::create(&mut initial, id, &format!("Testkit Audience {}", n + 1));
        }
        let app: App = Arc::new(Shared {
            state: Mutex::new(initial.clone()),
            initial,
            api_keys: self.api_keys.clone(),
            oauth_tokens: self.oauth_tokens.clone(),
            data_center: self.data_center.clone(),
            limiter: Limiter::new(self.concurrency_limit),
            interests: interests::Interests::default(),
            batches: batches::Batches::default(),
            base_url: OnceLock::new(),
            // Mailchimp gives a receiver 10 s to answer a delivery or a validation GET.
            http: reqwest::Client::builder()
                .timeout(WEBHOOK_TIMEOUT)
                .build()
                .unwrap_or_default(),
            validate_webhook_urls: self.validate_webhook_urls,
            batch_finalize_delay: self.batch_finalize_delay,
        });
        let stats = Stats::new();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let server = FakeServer::bind(addr, router(&app, &faults, &stats))
            .await
            .map_err(Error::Bind)?;
        // Set once, right after binding: the port is known only now.
        let _ = app.base_url.set(server.base_url());
        Ok(FakeMailchimp {
            server,
            app,
            faults,
            stats,
            lists: self.lists,
        })
    }
}

/// Everything the handlers share.
pub(crate) struct Shared {
    state: Mutex<MailchimpState>,
    initial: MailchimpState,
    api_keys: Vec<String>,
    pub(crate) oauth_tokens: Vec<String>,
    pub(crate) data_center: String,
    pub(crate) limiter: Limiter,
    pub(crate) interests: interests::Interests,
    pub(crate) batches: batches::Batches,
    base_url: OnceLock<String>,
    pub(crate) http: reqwest::Client,
    pub(crate) validate_webhook_urls: bool,
    pub(crate) batch_finalize_delay: Duration,
}

pub(crate) type App = Arc<Shared>;

impl Shared {
    /// Whether `secret` is a configured API key or OAuth token.
    pub(crate) fn accepts(&self, secret: &str) -> bool {
        self.api_keys.iter().any(|k| k == secret) || self.oauth_tokens.iter().any(|t| t == secret)
    }

    pub(crate) fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, MailchimpState> {
        // Handlers never panic while holding the lock; if one did, its data is still consistent JSON.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn router(app: &App, faults: &Faults, stats: &Stats) -> Router {
    let api = Router::new()
        .merge(lists::routes())
        .merge(members::routes())
        .merge(interests::routes())
        .merge(batches::routes())
        .merge(ecommerce::routes())
        .merge(webhooks::routes())
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app.clone());
    let api = faults
        .wrap(api)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            auth::limit_concurrency,
        ))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            auth::authenticate,
        ));
    let oauth = faults.wrap(
        Router::new()
            .route("/oauth2/metadata", get(auth::metadata))
            .merge(batches::archive_routes())
            .with_state(app.clone()),
    );
    stats.wrap(api.merge(oauth).fallback(not_found))
}

async fn not_found() -> Response {
    problem::Problem::not_found().into_response()
}

async fn method_not_allowed() -> Response {
    problem::Problem::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        "The requested method and resource are not compatible. See the Allow header for this resource's available methods.",
    )
    .into_response()
}

/// A running fake Mailchimp. Dropping it stops the server.
pub struct FakeMailchimp {
    server: FakeServer,
    app: App,
    faults: Faults,
    stats: Stats,
    lists: Vec<String>,
}

impl fmt::Debug for FakeMailchimp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeMailchimp")
            .field("base_url", &self.base_url())
            .field("lists", &self.lists)
            .field("credentials", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl FakeMailchimp {
    /// A builder with the defaults: one generated key, token and list, limit 10, no faults, seed 0.
    pub fn builder() -> FakeMailchimpBuilder {
        FakeMailchimpBuilder::default()
    }

    /// Starts a fake with the defaults.
    ///
    /// # Errors
    ///
    /// [`Error::Bind`] if no port can be bound.
    pub async fn start() -> Result<Self> {
        Self::builder().start().await
    }

    /// The server root, e.g. `http://127.0.0.1:41234` (what `api_endpoint` reports; the API is under `/3.0`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The API base URL, e.g. `http://127.0.0.1:41234/3.0`: give it to clients as their base URL.
    pub fn api_url(&self) -> String {
        format!("{}/3.0", self.server.base_url())
    }

    /// The OAuth metadata URL, e.g. `http://127.0.0.1:41234/oauth2/metadata`.
    pub fn metadata_url(&self) -> String {
        format!("{}/oauth2/metadata", self.server.base_url())
    }

    /// The first configured API key.
    pub fn api_key(&self) -> &str {
        self.app.api_keys.first().map_or("", String::as_str)
    }

    /// The first configured OAuth token.
    pub fn oauth_token(&self) -> &str {
        self.app.oauth_tokens.first().map_or("", String::as_str)
    }

    /// The first configured audience id.
    pub fn list_id(&self) -> &str {
        self.lists.first().map_or("", String::as_str)
    }

    /// The data center reported by the metadata endpoint.
    pub fn data_center(&self) -> &str {
        &self.app.data_center
    }

    /// Fault injection: change the defaults or override routes while running.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Request counters by method and route pattern (e.g. `"PUT"`,
    /// `"/3.0/lists/{list_id}/members/{subscriber_hash}"`).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The highest number of simultaneous requests the account made (all credentials together), refused
    /// ones included: above the limit means some got 429.
    pub fn peak_concurrency(&self) -> usize {
        self.app.limiter.peak()
    }

    /// The highest number of simultaneous requests made with this API key or token.
    pub fn peak_concurrency_for(&self, credential: &str) -> usize {
        self.app.limiter.peak_for(credential)
    }

    /// Requests refused with 429 for going over the per-account limit.
    pub fn concurrency_rejections(&self) -> u64 {
        self.app.limiter.rejected()
    }

    /// A copy of all data, as plain JSON, for assertions.
    pub fn snapshot(&self) -> MailchimpSnapshot {
        let state = self.app.lock();
        let mut snapshot = MailchimpSnapshot::default();
        for (id, list) in state.lists.iter() {
            snapshot.lists.push(lists::render(list));
            snapshot
                .members
                .insert(id.to_owned(), list.members.values().collect());
            let mut forgotten: Vec<String> = list.forgotten.iter().cloned().collect();
            forgotten.sort();
            snapshot.forgotten.insert(id.to_owned(), forgotten);
            snapshot.webhooks.insert(
                id.to_owned(),
                list.webhooks.values().map(|w| w.webhook.clone()).collect(),
            );
        }
        for (id, store) in state.stores.iter() {
            snapshot.stores.push(store.store.clone());
            snapshot
                .customers
                .insert(id.to_owned(), ecommerce::render_customers(store));
            snapshot.products.insert(
                id.to_owned(),
                store
                    .products
                    .values()
                    .map(|p| ecommerce::render_product(p, usize::MAX))
                    .collect(),
            );
            for (pid, product) in store.products.iter() {
                snapshot.variants.insert(
                    (id.to_owned(), pid.to_owned()),
                    product
                        .variants
                        .values()
                        .map(crate::packed::Packed::value)
                        .collect(),
                );
            }
            snapshot
                .orders
                .insert(id.to_owned(), store.orders.values().cloned().collect());
        }
        snapshot
    }

    /// Puts a member into `list_id` with the given status (`subscribed`, `unsubscribed`, `cleaned`,
    /// `pending`, `transactional` or `archived`), bypassing the API's rules: how to set up a cleaned
    /// member. An existing member keeps its other fields. A seeded `unsubscribed` member unsubscribed
    /// themselves, so the API cannot subscribe them again (unsubscribe through the API for the other
    /// kind).
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown list, an invalid email or an unknown status.
    pub fn seed_member(&self, list_id: &str, email: &str, status: &str) -> Result<()> {
        let mut state = self.app.lock();
        members::seed(&mut state, list_id, email, status).map_err(Error::Seed)
    }

    /// Creates an e-commerce store linked to `list_id`, bypassing the API (so it is not counted).
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown list, a store id already taken or a currency code that is not three
    /// uppercase letters.
    pub fn seed_store(&self, store_id: &str, list_id: &str, currency_code: &str) -> Result<()> {
        let mut state = self.app.lock();
        ecommerce::seed_store(&mut state, store_id, list_id, currency_code).map_err(Error::Seed)
    }

    /// Marks `email` as permanently deleted from `list_id` (removing the member if present): re-adding it
    /// then fails with "Forgotten Email Not Subscribed".
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown list.
    pub fn forget_email(&self, list_id: &str, email: &str) -> Result<()> {
        let mut state = self.app.lock();
        let list = state
            .lists
            .get_mut(list_id)
            .ok_or_else(|| Error::Seed(format!("no list {list_id}")))?;
        let hash = subscriber_hash(email);
        list.members.remove(&hash);
        list.forgotten.insert(hash);
        Ok(())
    }

    /// Puts `email` under (or, with `throttled = false`, out of) Mailchimp's signup throttling in
    /// `list_id`: while throttled, any write that would make it subscribed or pending gets 400 "… has
    /// signed up to a lot of lists very recently; we're not allowing more signups for now".
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown list.
    pub fn throttle_signups(&self, list_id: &str, email: &str, throttled: bool) -> Result<()> {
        let mut state = self.app.lock();
        let list = state
            .lists
            .get_mut(list_id)
            .ok_or_else(|| Error::Seed(format!("no list {list_id}")))?;
        let hash = subscriber_hash(email);
        if throttled {
            list.signup_throttled.insert(hash);
        } else {
            list.signup_throttled.remove(&hash);
        }
        Ok(())
    }

    /// Posts `event` to every webhook of `list_id` subscribed to its type, signed with each webhook's
    /// secret, and reports each delivery.
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown list. Failed deliveries are reported in the result, not as errors.
    pub async fn fire_webhook_event(
        &self,
        list_id: &str,
        event: &WebhookEvent,
    ) -> Result<Vec<WebhookDelivery>> {
        let targets = {
            let state = self.app.lock();
            let list = state
                .lists
                .get(list_id)
                .ok_or_else(|| Error::Seed(format!("no list {list_id}")))?;
            webhooks::targets(list, event)
        };
        let mut deliveries = Vec::with_capacity(targets.len());
        for (webhook_id, url, secret) in targets {
            let outcome = deliver_webhook(&self.app.http, &url, event, secret.as_deref()).await;
            deliveries.push(WebhookDelivery {
                webhook_id,
                url,
                status: outcome.as_ref().ok().copied(),
                error: outcome.err().map(|e| e.to_string()),
            });
        }
        Ok(deliveries)
    }

    /// Zeroes the request counters, concurrency records and fault log, keeping the data.
    pub fn reset_stats(&self) {
        self.stats.reset();
        self.app.limiter.reset();
        self.faults.reset();
    }

    /// Puts the data back as it was at start (the configured lists, empty) and zeroes every counter.
    pub fn reset(&self) {
        *self.app.lock() = self.app.initial.clone();
        self.app.interests.clear();
        self.app.batches.clear();
        self.reset_stats();
    }

    /// Stops the server and waits for it to finish.
    ///
    /// # Errors
    ///
    /// The I/O error the server ended with.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.server.shutdown().await
    }
}
