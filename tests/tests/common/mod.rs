//! Helpers shared by the contract tests: clients wired to the fakes, with fast retries.
// Each test binary uses only some of these helpers.
#![allow(dead_code)]

use std::time::Duration;

use testkit::{qad::FakeQad, FakeMailchimp};

/// The default five attempts, with 1-4 ms waits: the suite stays fast and retries still happen.
/// Both clients share `http_policy::RetryConfig`.
pub fn fast_retry() -> mailchimp_client::RetryConfig {
    mailchimp_client::RetryConfig::new()
        .with_base_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(4))
        .with_max_retry_after(Duration::from_millis(4))
}

/// A Mailchimp client authenticated with the fake's API key, pointed at the fake, fast retries.
pub async fn mailchimp(fake: &FakeMailchimp) -> mailchimp_client::Client {
    mailchimp_builder(fake).build().await.unwrap()
}

/// The builder behind [`mailchimp`], for tests that change the cap or retries.
pub fn mailchimp_builder(fake: &FakeMailchimp) -> mailchimp_client::ClientBuilder {
    mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(
        fake.api_key().to_owned(),
    ))
    .base_url(fake.api_url())
    .retry(fast_retry())
    .timeout(Duration::from_secs(30))
}

/// A QAD client for the fake, logging in by OAuth password grant, fast retries.
pub fn qad(fake: &FakeQad) -> qad_client::Client {
    qad_builder(fake).build().unwrap()
}

/// The builder behind [`qad`], for tests that change credentials, retries or configuration.
pub fn qad_builder(fake: &FakeQad) -> qad_client::ClientBuilder {
    qad_client::Client::builder()
        .tenant_url(fake.base_url())
        .credentials(qad_client::Credentials::oauth_password(
            fake.client_id(),
            fake.username(),
            fake.password().to_owned(),
        ))
        .domain(fake.domain())
        .retry(fast_retry())
        .timeout(Duration::from_secs(30))
}
