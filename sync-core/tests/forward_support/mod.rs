//! Shared setup of the forward-sync tests: both fakes, both clients, a state store, and a
//! recording proxy in front of the fake Mailchimp that keeps the order of requests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use sync_core::config::{StoreConfig, SyncConfig};
use sync_core::forward::ForwardSync;
use sync_core::{SqliteStateStore, StateStore};
use testkit::mailchimp::FakeMailchimp;
use testkit::qad::{FakeQad, Seeding};
use testkit::FakeServer;

pub const STORE: &str = "qad-store";
/// A second audience, for a store linked elsewhere.
pub const OTHER_LIST: &str = "audience-2";

/// Every request the proxy forwarded, in order: `"PUT /3.0/ecommerce/stores/…"`.
#[derive(Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<String>>>);

impl RequestLog {
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

async fn forward(State((target, log)): State<(String, RequestLog)>, req: Request) -> Response {
    let method = req.method().clone();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    log.0
        .lock()
        .unwrap()
        .push(format!("{method} {}", req.uri().path()));
    let headers = req.headers().clone();
    let body = to_bytes(req.into_body(), usize::MAX).await.unwrap();
    let mut out = reqwest::Client::new().request(method, format!("{target}{path_and_query}"));
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    let reply = out.body(body).send().await.unwrap();
    let mut response = Response::builder().status(reply.status());
    for (name, value) in reply.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(reply.bytes().await.unwrap()))
        .unwrap()
}

pub struct Harness {
    pub mailchimp: FakeMailchimp,
    pub qad: FakeQad,
    pub state: Arc<SqliteStateStore>,
    pub log: RequestLog,
    pub mailchimp_client: mailchimp_client::Client,
    pub qad_client: qad_client::Client,
    _proxy: FakeServer,
}

pub fn config(list_id: &str) -> SyncConfig {
    let mut config =
        SyncConfig::new(list_id).with_store(StoreConfig::new(STORE, "QAD test store", "EUR"));
    config.page_size = 25;
    config.member_batch_threshold = 10;
    config
}

impl Harness {
    pub async fn start(seeding: Seeding) -> Self {
        let mailchimp = FakeMailchimp::builder()
            .api_key("0123456789abcdef0123456789abcdef-us1")
            .list("audience-1")
            .list(OTHER_LIST)
            .start()
            .await
            .unwrap();
        let qad = FakeQad::builder().seeding(seeding).start().await.unwrap();
        let log = RequestLog::default();
        let proxy = FakeServer::start(
            Router::new()
                .fallback(forward)
                .with_state((mailchimp.base_url(), log.clone())),
        )
        .await
        .unwrap();
        let api_url = mailchimp
            .api_url()
            .replace(&mailchimp.base_url(), &proxy.base_url());
        let mailchimp_client = mailchimp_client::Client::builder(
            mailchimp_client::Credentials::api_key(mailchimp.api_key()),
        )
        .base_url(api_url)
        .build()
        .await
        .unwrap();
        let qad_client = qad_client::Client::builder()
            .tenant_url(qad.base_url())
            .credentials(qad_client::Credentials::oauth_password(
                qad.client_id(),
                qad.username(),
                qad.password(),
            ))
            .domain(qad.domain())
            .build()
            .unwrap();
        let state = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
        Self {
            mailchimp,
            qad,
            state,
            log,
            mailchimp_client,
            qad_client,
            _proxy: proxy,
        }
    }

    pub fn sync(&self, config: SyncConfig) -> ForwardSync {
        ForwardSync::new(
            config,
            self.mailchimp_client.clone(),
            self.qad_client.clone(),
            Arc::clone(&self.state) as Arc<dyn StateStore>,
        )
        .unwrap()
    }

    /// A reconciler with the default configuration, over the same state.
    #[allow(dead_code)] // not every test file reconciles
    pub fn reconciler(&self) -> sync_core::reconcile::Reconciler {
        sync_core::reconcile::Reconciler::new(
            config(self.mailchimp.list_id()),
            self.mailchimp_client.clone(),
            self.qad_client.clone(),
            Arc::clone(&self.state) as Arc<dyn StateStore>,
        )
        .unwrap()
    }

    /// The lifecycle (key scan) engine over the same clients and state.
    pub fn lifecycle(&self, config: SyncConfig) -> sync_core::lifecycle::LifecycleSync {
        sync_core::lifecycle::LifecycleSync::new(
            config,
            self.mailchimp_client.clone(),
            self.qad_client.clone(),
            Arc::clone(&self.state) as Arc<dyn StateStore>,
        )
        .unwrap()
    }

    /// The codes of the first `N` QAD customers that have an email address.
    pub fn codes_with_email<const N: usize>(&self) -> [String; N] {
        let codes: Vec<String> = self
            .qad
            .customers()
            .into_iter()
            .filter(|c| c.email.is_some())
            .map(|c| c.customer_code)
            .take(N)
            .collect();
        codes.try_into().unwrap()
    }

    /// The source keys the id map holds for the member at `email` (its owner).
    pub async fn member_owners(&self, email: &str) -> Vec<String> {
        self.state
            .source_keys(sync_core::ObjectKind::Members, email)
            .await
            .unwrap()
    }

    /// The first name of the member at (normalised) `email`, which must be subscribed.
    pub fn subscribed_first_name(&self, email: &str) -> String {
        let members = self.mailchimp.snapshot().members[self.mailchimp.list_id()].clone();
        let member = members
            .iter()
            .find(|m| sync_core::normalize_email(m["email_address"].as_str().unwrap()) == email)
            .unwrap();
        assert_eq!(member["status"], "subscribed", "{member}");
        member["merge_fields"]["FNAME"].as_str().unwrap().to_owned()
    }

    pub fn default_sync(&self) -> ForwardSync {
        self.sync(config(self.mailchimp.list_id()))
    }

    /// Successful writes the fake Mailchimp has answered so far.
    pub fn writes(&self) -> u64 {
        self.mailchimp.stats().snapshot().writes
    }
}
