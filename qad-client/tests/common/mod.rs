//! Shared helpers for the wiremock tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use qad_client::{BrowseId, Client, ClientBuilder, Credentials, Page, RetryConfig, Row};
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The context root every test tenant uses, to prove it is kept.
pub const ROOT: &str = "/clouderp";

/// OAuth credentials used by most tests.
pub fn oauth() -> Credentials {
    Credentials::oauth_password("qad-cid", "api-user", "pw-secret-123")
}

/// A builder pointed at `server` with fast, jitter-free retries.
pub fn builder(server: &MockServer, credentials: Credentials) -> ClientBuilder {
    Client::builder()
        .tenant_url(format!("{}{ROOT}/", server.uri()))
        .credentials(credentials)
        .retry(
            RetryConfig::new()
                .with_max_attempts(3)
                .with_base_delay(Duration::from_millis(1))
                .with_max_delay(Duration::from_millis(5))
                .with_jitter(false),
        )
}

/// A client logged in with [`oauth`].
pub fn client(server: &MockServer) -> Client {
    builder(server, oauth()).build().unwrap()
}

/// The path of the OAuth token endpoint on the test tenant.
pub fn token_path() -> String {
    format!("{ROOT}/oauth/token")
}

/// Answers every token request with `token`, expecting `times` logins.
pub async fn mount_token(server: &MockServer, token: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(body_string_contains("grant_type=password"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "token_type": "bearer", "expires_in": 3600
        })))
        .expect(times)
        .mount(server)
        .await;
}

/// Fails loudly on any request no other mock answered.
pub async fn mount_catch_all(server: &MockServer) {
    Mock::given(|_: &Request| true)
        .respond_with(|req: &Request| {
            ResponseTemplate::new(500)
                .set_body_string(format!("unexpected request {} {}", req.method, req.url))
        })
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

/// A browse response in the usual envelope.
pub fn browse_body(rows: Vec<Value>, has_more: bool) -> Value {
    json!({"data": rows, "auxillaryData": {"HasMoreParams": has_more.to_string()}})
}

/// The path of the browse API on the test tenant.
pub fn browse_path() -> String {
    format!("{ROOT}/api/qracore/browses")
}

/// Reads one page of the legacy customer browse `urn:browse:mfg:cm007`.
pub async fn read_page(client: &Client) -> qad_client::Result<Page<Row>> {
    let id: BrowseId = "urn:browse:mfg:cm007".parse().unwrap();
    client.browse(&id).count(10).send().await
}

/// A successful browse answer with one row and no more pages.
pub fn ok_page() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(browse_body(vec![json!({"cm_mstr.cm_addr": "C1"})], false))
}

/// Answers browse requests with `failure` `times` times, then with
/// [`ok_page`] once; both are expected exactly so.
pub async fn mount_browse_failing_then_ok(
    server: &MockServer,
    failure: ResponseTemplate,
    times: u64,
) {
    Mock::given(path(browse_path()))
        .respond_with(failure)
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
    Mock::given(path(browse_path()))
        .respond_with(ok_page())
        .expect(1)
        .mount(server)
        .await;
}

/// The value of query parameter `key` in `req`, all occurrences.
pub fn query_values(req: &Request, key: &str) -> Vec<String> {
    req.url
        .query_pairs()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}
