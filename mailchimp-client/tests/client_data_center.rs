//! Data-center resolution: API-key suffixes, OAuth metadata, and bad keys
//! rejected before any request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use mailchimp_client::{Client, Credentials, Error};
use serde_json::json;
use wiremock::matchers::{any, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn api_key_suffix_picks_the_host() {
    for (key, host) in [
        ("0123456789abcdef-us6", "https://us6.api.mailchimp.com/3.0"),
        ("abc-def-US14", "https://us14.api.mailchimp.com/3.0"),
    ] {
        let client = Client::builder(Credentials::api_key(key))
            .build()
            .await
            .unwrap();
        assert_eq!(client.base_url().as_str(), host);
    }
}

#[tokio::test]
async fn bad_keys_fail_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    for key in [
        "",
        "0123456789abcdef",
        "0123456789abcdef-",
        "-us6",
        "0123456789abcdef-us_6",
        "0123456789abcdef-us6.evil.example",
        "0123456789abcdef-us6\n",
        " 0123456789abcdef-us6",
    ] {
        // With and without a base-URL override: the key is checked either way.
        for base in [None, Some(server.uri())] {
            let mut builder = Client::builder(Credentials::api_key(key));
            if let Some(base) = &base {
                builder = builder.base_url(base);
            }
            let err = builder.build().await.unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{key:?}: {err:?}");
            if !key.trim().is_empty() {
                assert!(
                    !err.to_string().contains(key.trim()),
                    "error quotes the key: {err}"
                );
            }
        }
    }
    // `expect(0)` is verified when the server drops.
}

#[tokio::test]
async fn bad_base_urls_are_config_errors() {
    for base in [
        "not a url",
        "ftp://example.com/3.0",
        "mailto:x@northwind-mfg.com",
        // The key would travel in clear, or to a URL that hides a password.
        "http://evil.northwind-mfg.com/3.0",
        "https://user:hunter2@us6.api.mailchimp.com/3.0",
        "https://us6.api.mailchimp.com/3.0?dc=us6",
        "https://us6.api.mailchimp.com/3.0#top",
    ] {
        let err = Client::builder(Credentials::api_key(common::KEY))
            .base_url(base)
            .build()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{base}: {err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

#[tokio::test]
async fn oauth_uses_api_endpoint_from_metadata_then_bearer() {
    let server = MockServer::start().await;
    common::catch_all(&server).await;
    Mock::given(method("GET"))
        .and(path("/oauth2/metadata"))
        .and(header("authorization", "OAuth tok-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "dc": "us6", "role": "owner", "accountname": "Acme", "user_id": 42,
            "login": {"email": "a@b.c", "login_id": 1, "login_name": "acme"},
            "login_url": "https://login.mailchimp.com",
            "api_endpoint": server.uri(),
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/3.0/ping"))
        .and(header("authorization", "Bearer tok-123"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"health_status": "Everything's Chimpy!"})),
        )
        .expect(2)
        .mount(&server)
        .await;

    let client = Client::builder(Credentials::oauth_token("tok-123"))
        .metadata_url(format!("{}/oauth2/metadata", server.uri()))
        .build()
        .await
        .unwrap();
    assert_eq!(client.base_url().as_str(), format!("{}/3.0", server.uri()));
    // Resolved once: two calls, one metadata request.
    client.ping().await.unwrap();
    assert_eq!(
        client.clone().ping().await.unwrap().health_status,
        "Everything's Chimpy!"
    );
}

#[tokio::test]
async fn oauth_falls_back_to_dc() {
    let server = MockServer::start().await;
    common::catch_all(&server).await;
    Mock::given(method("GET"))
        .and(path("/oauth2/metadata"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"dc": "us19", "api_endpoint": ""})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(Credentials::oauth_token("tok"))
        .metadata_url(format!("{}/oauth2/metadata", server.uri()))
        .build()
        .await
        .unwrap();
    assert_eq!(
        client.base_url().as_str(),
        "https://us19.api.mailchimp.com/3.0"
    );
}

#[tokio::test]
async fn failed_oauth_lookups_are_typed() {
    let cases = [
        (
            ResponseTemplate::new(401).set_body_json(json!({
                "type": "t", "title": "API Key Invalid", "status": 401, "detail": "bad token", "instance": ""
            })),
            true,
        ),
        (ResponseTemplate::new(200).set_body_json(json!({"role": "owner"})), false),
        (ResponseTemplate::new(200).set_body_json(json!({"dc": "us 6"})), false),
        (ResponseTemplate::new(200).set_body_string("<html>"), true),
    ];
    for (response, has_source) in cases {
        let server = MockServer::start().await;
        Mock::given(path("/oauth2/metadata"))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let err = Client::builder(Credentials::oauth_token("secret-token-xyz"))
            .metadata_url(format!("{}/oauth2/metadata", server.uri()))
            .retry(mailchimp_client::RetryConfig::disabled())
            .build()
            .await
            .unwrap_err();
        match &err {
            Error::DataCenterLookup { source, .. } => {
                assert_eq!(source.is_some(), has_source, "{err:?}")
            }
            other => panic!("expected DataCenterLookup, got {other:?}"),
        }
        assert!(!format!("{err} {err:?}").contains("secret-token-xyz"));
    }
}

#[tokio::test]
async fn oauth_with_base_url_skips_the_lookup() {
    let server = MockServer::start().await;
    common::catch_all(&server).await;
    Mock::given(method("GET"))
        .and(path("/ping"))
        .and(header("authorization", "Bearer tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"health_status": "ok"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(Credentials::oauth_token("tok"))
        .base_url(server.uri())
        .metadata_url("http://127.0.0.1:9/never")
        .build()
        .await
        .unwrap();
    client.ping().await.unwrap();
}

#[tokio::test]
async fn malformed_oauth_tokens_fail_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    for token in ["", "tok en", "token\n"] {
        let err = Client::builder(Credentials::oauth_token(token))
            .metadata_url(format!("{}/oauth2/metadata", server.uri()))
            .build()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{token:?}: {err:?}");
    }
}
