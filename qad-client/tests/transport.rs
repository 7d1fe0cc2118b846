//! Retries and error mapping shared by every call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use qad_client::{Client, Error};
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn setup() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    server
}

#[tokio::test]
async fn retryable_statuses_are_retried() {
    for status in [429, 502, 503, 504] {
        let server = setup().await;
        mount_browse_failing_then_ok(&server, ResponseTemplate::new(status), 1).await;
        read_page(&client(&server))
            .await
            .unwrap_or_else(|e| panic!("{status}: {e:?}"));
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = setup().await;
    mount_browse_failing_then_ok(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "0"),
        2,
    )
    .await;
    read_page(&client(&server)).await.unwrap();
}

#[tokio::test]
async fn exhausted_retries_report_the_last_status() {
    let server = setup().await;
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(503).set_body_string("maintenance"))
        .expect(3)
        .mount(&server)
        .await;
    match read_page(&client(&server)).await.unwrap_err() {
        Error::Api {
            status: 503,
            message,
        } => assert_eq!(message, "maintenance"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_500_is_not_retried() {
    let server = setup().await;
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(500).set_body_string("Progress error 1234"))
        .expect(1)
        .mount(&server)
        .await;
    let err = read_page(&client(&server)).await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 500, .. }), "{err:?}");
    assert_eq!(err.status(), Some(500));
}

#[tokio::test]
async fn transport_errors_are_reported_with_their_source() {
    // Nothing listens on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .tenant_url(format!("http://127.0.0.1:{port}/clouderp"))
        .credentials(qad_client::Credentials::basic("u", "p"))
        .retry(
            qad_client::RetryConfig::new()
                .with_max_attempts(2)
                .with_base_delay(std::time::Duration::from_millis(1))
                .with_jitter(false),
        )
        .build()
        .unwrap();
    let err = read_page(&client).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn a_bare_error_body_is_rejected_with_its_field_errors() {
    let server = setup().await;
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "errors": [{"severity": 1, "code": "403", "message": "Access is denied", "fieldName": ""}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    match read_page(&client(&server)).await.unwrap_err() {
        Error::Rejected {
            status: 403,
            errors,
        } => {
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].message, "Access is denied");
            assert_eq!(errors[0].code.as_deref(), Some("403"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_decode_error() {
    let server = setup().await;
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>portal</html>"))
        .mount(&server)
        .await;
    let err = read_page(&client(&server)).await.unwrap_err();
    match &err {
        Error::Decode { context, .. } => assert_eq!(context, "browse urn:browse:mfg:cm007"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_reply_above_the_body_cap_is_refused_once_and_not_retried() {
    let server = setup().await;
    let rows: Vec<_> = (0..2_000)
        .map(|i| json!({"cm_mstr.cm_addr": format!("C{i:05}"), "ad_mstr.ad_name": "x".repeat(40)}))
        .collect();
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(rows, false)))
        .expect(1)
        .mount(&server)
        .await;
    let capped = builder(&server, oauth())
        .max_response_bytes(64 * 1024)
        .build()
        .unwrap();
    match read_page(&capped).await.unwrap_err() {
        Error::ResponseTooLarge { limit } => assert_eq!(limit, 64 * 1024),
        other => panic!("{other:?}"),
    }
    // The same page under the default cap is read.
    let server = setup().await;
    Mock::given(path(browse_path()))
        .respond_with(ok_page())
        .expect(1)
        .mount(&server)
        .await;
    read_page(&client(&server)).await.unwrap();
}
