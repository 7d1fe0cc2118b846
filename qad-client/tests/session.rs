//! Logins, session renewal and credentials handling.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use qad_client::{Client, Credentials, Error};
use serde_json::json;
use wiremock::matchers::{
    basic_auth, bearer_token, body_string_contains, header, method, path, query_param,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn token(value: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"access_token": value, "expires_in": expires_in}))
}

/// The first login gets token `old`, the second `new`: each exactly once, so
/// a test sees exactly one re-login.
async fn mount_old_then_new_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(token("old", 3600))
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(token("new", 3600))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn oauth_password_grant_posts_the_form_and_sends_bearer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("client_id=qad-cid"))
        .and(body_string_contains("grant_type=password"))
        .and(body_string_contains("username=api-user"))
        .and(body_string_contains("password=pw-secret-123"))
        .respond_with(token("tok-1", 3600))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(browse_path()))
        .and(bearer_token("tok-1"))
        .respond_with(ok_page())
        .expect(2)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let client = client(&server);
    assert_eq!(read_page(&client).await.unwrap().items.len(), 1);
    // The token is reused while it is fresh: still one login.
    read_page(&client).await.unwrap();
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_call_retried() {
    let server = MockServer::start().await;
    mount_old_then_new_token(&server).await;
    Mock::given(path(browse_path()))
        .and(bearer_token("old"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(browse_path()))
        .and(bearer_token("new"))
        .respond_with(ok_page())
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    read_page(&client(&server)).await.unwrap();
}

#[tokio::test]
async fn a_second_401_is_an_authentication_error() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 2).await;
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(401).set_body_string("expired"))
        .expect(2)
        .mount(&server)
        .await;

    match read_page(&client(&server)).await.unwrap_err() {
        Error::Auth { status, message } => {
            assert_eq!(status, Some(401));
            assert!(
                message.contains("after the session was renewed"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_callers_share_one_renewal() {
    let server = MockServer::start().await;
    // Exactly one re-login, however many callers saw the 401.
    mount_old_then_new_token(&server).await;
    // The old token works once (the warm-up call), then has expired.
    Mock::given(path(browse_path()))
        .and(bearer_token("old"))
        .respond_with(ok_page())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path(browse_path()))
        .and(bearer_token("old"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(path(browse_path()))
        .and(bearer_token("new"))
        .respond_with(ok_page())
        .expect(20)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let client = builder(&server, oauth())
        .max_concurrency(20)
        .build()
        .unwrap();
    read_page(&client).await.unwrap();
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { read_page(&client).await })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap().unwrap();
    }
    let expired: usize = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| {
            r.headers
                .get("authorization")
                .is_some_and(|v| v == "Bearer old")
        })
        .count();
    // The warm-up plus at least the callers that raced ahead with the old token.
    assert!(expired >= 2, "{expired}");
}

#[tokio::test]
async fn tokens_are_renewed_ahead_of_expires_in() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(token("short", 0))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path(browse_path()))
        .and(bearer_token("short"))
        .respond_with(ok_page())
        .expect(2)
        .mount(&server)
        .await;

    let client = builder(&server, oauth())
        .renew_before(Duration::from_secs(60))
        .build()
        .unwrap();
    read_page(&client).await.unwrap();
    read_page(&client).await.unwrap();
}

#[tokio::test]
async fn a_refused_login_is_an_auth_error_without_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_grant", "error_description": "Bad credentials"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let err = read_page(&client(&server)).await.unwrap_err();
    match &err {
        Error::Auth {
            status: Some(400),
            message,
        } => assert!(message.contains("Bad credentials"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("pw-secret-123"));
}

#[tokio::test]
async fn a_token_response_without_access_token_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_type": "bearer"})))
        .mount(&server)
        .await;
    let err = read_page(&client(&server)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                status: Some(200),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn form_login_keeps_the_session_cookie() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{ROOT}/j_spring_security_check")))
        .and(body_string_contains("j_username=web-user"))
        .and(body_string_contains("j_password=form-secret"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{ROOT}/"))
                .insert_header("set-cookie", "JSESSIONID=abc123; Path=/; HttpOnly"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(browse_path()))
        .and(header("cookie", "JSESSIONID=abc123"))
        .respond_with(ok_page())
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let client = builder(&server, Credentials::form_login("web-user", "form-secret"))
        .build()
        .unwrap();
    read_page(&client).await.unwrap();
}

#[tokio::test]
async fn form_login_renews_when_redirected_to_the_login_page() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{ROOT}/j_spring_security_check")))
        .respond_with(
            ResponseTemplate::new(200).insert_header("set-cookie", "JSESSIONID=s1; Path=/"),
        )
        .expect(2)
        .mount(&server)
        .await;
    mount_browse_failing_then_ok(
        &server,
        ResponseTemplate::new(302).insert_header("location", format!("{ROOT}/login.jsp")),
        1,
    )
    .await;

    let client = builder(&server, Credentials::form_login("web-user", "form-secret"))
        .build()
        .unwrap();
    read_page(&client).await.unwrap();
}

#[tokio::test]
async fn a_form_login_sent_to_the_error_page_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{ROOT}/j_spring_security_check")))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{ROOT}/login?error=true")),
        )
        .mount(&server)
        .await;
    let client = builder(&server, Credentials::form_login("web-user", "wrong"))
        .build()
        .unwrap();
    assert!(matches!(
        read_page(&client).await.unwrap_err(),
        Error::Auth {
            status: Some(302),
            ..
        }
    ));
}

#[tokio::test]
async fn basic_auth_is_sent_and_a_401_is_final() {
    let server = MockServer::start().await;
    Mock::given(path(browse_path()))
        .and(basic_auth("basic-user", "basic-secret"))
        .respond_with(ok_page())
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;

    let client = builder(&server, Credentials::basic("basic-user", "basic-secret"))
        .build()
        .unwrap();
    read_page(&client).await.unwrap();
    let err = read_page(&client).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                status: Some(401),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn domain_and_workspace_header_go_on_every_request() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    Mock::given(path(browse_path()))
        .and(query_param("domainCode", "10USA"))
        .and(header("x-qad-workspace-id", "10USA_10USACO"))
        .respond_with(ok_page())
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let client = builder(&server, oauth())
        .domain("10USA")
        .entity("10USACO")
        .build()
        .unwrap();
    read_page(&client).await.unwrap();
}

#[test]
fn debug_output_never_shows_secrets() {
    for creds in [
        Credentials::oauth_password("cid", "user", "s3cr3t-oauth"),
        Credentials::form_login("user", "s3cr3t-form"),
        Credentials::basic("user", "s3cr3t-basic"),
    ] {
        let client = Client::builder()
            .tenant_url("https://acme.qad.com/clouderp")
            .credentials(creds.clone())
            .build()
            .unwrap();
        let shown = format!("{creds:?} {client:?} {client:#?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("** redacted **"), "{shown}");
    }
}
