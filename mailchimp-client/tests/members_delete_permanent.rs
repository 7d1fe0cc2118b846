//! `POST /lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use mailchimp_client::{Client, Credentials, Error, ListId, SubscriberHash};
use wiremock::matchers::{basic_auth, body_string, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LIST: &str = "57afe96172";
const EMAIL: &str = "forget.me@northwind-mfg.com";

fn action_path() -> String {
    format!(
        "/lists/{LIST}/members/{}/actions/delete-permanent",
        SubscriberHash::from_email(EMAIL)
    )
}

#[tokio::test]
async fn posts_the_action_without_a_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(action_path()))
        .and(basic_auth("anystring", common::KEY))
        .and(body_string(""))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    common::client(&server)
        .await
        .list(&ListId::from(LIST))
        .members()
        .delete_permanent(&SubscriberHash::from_email(EMAIL))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_member_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(action_path()))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let err = common::client(&server)
        .await
        .list(&ListId::from(LIST))
        .members()
        .delete_permanent(&SubscriberHash::from_email(EMAIL))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn a_503_is_retried_as_the_delete_is_idempotent_in_effect() {
    let server = MockServer::start().await;
    common::catch_all(&server).await;
    Mock::given(method("POST"))
        .and(path(action_path()))
        .respond_with(common::problem(
            503,
            "Service Unavailable",
            "Try again later.",
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(action_path()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(Credentials::api_key(common::KEY))
        .base_url(server.uri())
        .retry(common::fast_retry(3))
        .build()
        .await
        .unwrap();
    client
        .list(&ListId::from(LIST))
        .members()
        .delete_permanent(&SubscriberHash::from_email(EMAIL))
        .await
        .unwrap();
}
