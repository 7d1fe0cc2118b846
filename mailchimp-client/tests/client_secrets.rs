//! Secrets never show in `Debug` or errors, and the public types are
//! thread-safe.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use futures::Stream;
use mailchimp_client::{Client, Credentials, Error, ListId, RetryConfig};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "f00dfacecafebabe0123456789abcdef";

#[tokio::test]
async fn debug_and_errors_never_show_the_key() {
    let key = format!("{SECRET}-us6");
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "type": "t", "title": "API Key Invalid", "status": 401,
            "detail": "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            "instance": "i"
        })))
        .mount(&server)
        .await;
    let creds = Credentials::api_key(key.as_str());
    let client = Client::builder(creds.clone())
        .base_url(server.uri())
        .retry(RetryConfig::disabled())
        .build()
        .await
        .unwrap();
    let err = client.ping().await.unwrap_err();
    assert!(err.is_unauthorized());
    for text in [
        format!("{creds:?}"),
        format!("{client:?}"),
        format!("{:?}", Client::builder(creds.clone())),
        format!("{:?}", client.list(&ListId::from("l1")).members()),
        format!("{err}"),
        format!("{err:?}"),
    ] {
        assert!(!text.contains(SECRET), "secret leaked: {text}");
    }
    assert!(format!("{client:?}").contains("<redacted>"));

    let token = Credentials::oauth_token(SECRET);
    assert!(!format!("{token:?}").contains(SECRET));
}

#[test]
fn public_types_are_send_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Client>();
    send_sync::<Error>();
    send_sync::<Credentials>();
    send_sync::<mailchimp_client::MembersHandler>();
    send_sync::<mailchimp_client::ListMembersRequest>();
    send_sync::<mailchimp_client::Member>();
}

#[tokio::test]
async fn streams_are_send_unpin_static() {
    fn stream<S: Stream + Send + Unpin + 'static>(_: &S) {}
    let client = Client::builder(Credentials::api_key(common::KEY))
        .build()
        .await
        .unwrap();
    let members = client
        .list(&ListId::from("l1"))
        .members()
        .list()
        .into_stream();
    drop(client); // the stream owns its own clone
    stream(&members);
    let lists = mailchimp_client::Client::builder(Credentials::api_key(common::KEY))
        .build()
        .await
        .unwrap()
        .lists()
        .into_stream();
    stream(&lists);
}
