//! Helpers shared by the core tests: a client pointed at a mock server, a
//! catch-all for unexpected routes, and problem documents.
#![allow(dead_code)] // each test file uses a subset
// Test helpers may fail loudly, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use mailchimp_client::{Client, Credentials, RetryConfig};
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A syntactically valid key for data center `us6`.
pub const KEY: &str = "0123456789abcdef0123456789abcdef-us6";

/// Fails the test (on drop) if a request reaches no other mock, naming it.
pub async fn catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .expect(0)
        .named("unexpected request")
        .mount(server)
        .await;
}

/// Retries with near-zero, deterministic delays.
pub fn fast_retry(attempts: u32) -> RetryConfig {
    RetryConfig::new()
        .with_max_attempts(attempts)
        .with_base_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(5))
        .with_jitter(false)
}

/// A client for `server`, with the catch-all mounted and retries off.
pub async fn client(server: &MockServer) -> Client {
    catch_all(server).await;
    Client::builder(Credentials::api_key(KEY))
        .base_url(server.uri())
        .retry(RetryConfig::disabled())
        .build()
        .await
        .unwrap()
}

/// A problem document as Mailchimp sends it.
pub fn problem(status: u16, title: &str, detail: &str) -> ResponseTemplate {
    problem_json(json!({
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "995c5cb0-3280-4a6e-808b-3b096d0bb219",
    }))
}

/// Mailchimp's `404` problem document.
pub fn not_found() -> ResponseTemplate {
    problem(
        404,
        "Resource Not Found",
        "The requested resource could not be found.",
    )
}

/// A problem document from its JSON.
pub fn problem_json(body: Value) -> ResponseTemplate {
    let status = body["status"].as_u64().unwrap_or(500) as u16;
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/problem+json")
        .set_body_json(body)
}

/// A member as Mailchimp returns it.
pub fn member_json(email: &str, status: &str) -> Value {
    let mut member: Value =
        serde_json::from_str(include_str!("../fixtures/members/member.json")).unwrap();
    member["email_address"] = json!(email);
    member["id"] = json!(mailchimp_client::SubscriberHash::from_email(email).as_str());
    member["status"] = json!(status);
    member
}
