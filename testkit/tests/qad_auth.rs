//! Fake QAD authentication over plain HTTP: password grant, expiry, form login, Basic.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use reqwest::{header, redirect, Client, StatusCode};
use serde_json::Value;
use testkit::qad::{FakeQad, LoginCounts};

/// Form fields of a token request.
type Fields<'a> = &'a [(&'a str, &'a str)];

async fn grant(qad: &FakeQad, fields: Fields<'_>) -> reqwest::Response {
    Client::new()
        .post(format!("{}/oauth/token", qad.base_url()))
        .form(fields)
        .send()
        .await
        .unwrap()
}

async fn token(qad: &FakeQad) -> String {
    let response = grant(
        qad,
        &[
            ("client_id", qad.client_id()),
            ("grant_type", "password"),
            ("username", qad.username()),
            ("password", qad.password()),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// A minimal authenticated read: the first page of the customers browse.
fn browse(qad: &FakeQad, http: &Client) -> reqwest::RequestBuilder {
    http.get(format!("{}/api/qracore/browses", qad.base_url()))
        .query(&[
            ("browseId", qad.browse_ids().customers.as_str()),
            ("page", "1"),
            ("pageSize", "1"),
            ("pageAction", "first"),
        ])
}

#[tokio::test]
async fn password_grant_issues_a_bearer_token_the_api_accepts() {
    let qad = FakeQad::builder()
        .token_lifetime(Duration::from_secs(120))
        .start()
        .await
        .unwrap();
    let response = grant(
        &qad,
        &[
            ("client_id", qad.client_id()),
            ("grant_type", "password"),
            ("username", qad.username()),
            ("password", qad.password()),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 120);
    let token = body["access_token"].as_str().unwrap();
    assert!(!token.is_empty());

    let http = Client::new();
    let page = browse(&qad, &http).bearer_auth(token).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        qad.logins(),
        LoginCounts {
            token_grants: 1,
            form_logins: 0,
            rejected: 0
        }
    );
}

#[tokio::test]
async fn password_grant_accepts_query_parameters() {
    let qad = FakeQad::start().await.unwrap();
    let response = Client::new()
        .post(format!("{}/oauth/token", qad.base_url()))
        .query(&[
            ("client_id", qad.client_id()),
            ("grant_type", "password"),
            ("username", qad.username()),
            ("password", qad.password()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(qad.logins().token_grants, 1);
}

#[tokio::test]
async fn bad_grants_get_spring_oauth_errors() {
    let qad = FakeQad::start().await.unwrap();
    let cases: [(Fields, StatusCode, &str); 3] = [
        (
            &[
                ("client_id", qad.client_id()),
                ("grant_type", "password"),
                ("username", qad.username()),
                ("password", "wrong"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            &[
                ("client_id", "someone-else"),
                ("grant_type", "password"),
                ("username", qad.username()),
                ("password", qad.password()),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            &[
                ("client_id", qad.client_id()),
                ("grant_type", "client_credentials"),
            ],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
    ];
    for (fields, status, error) in cases {
        let response = grant(&qad, fields).await;
        assert_eq!(response.status(), status, "{error}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error);
        assert!(body["error_description"].is_string());
    }
    assert_eq!(
        qad.logins(),
        LoginCounts {
            token_grants: 0,
            form_logins: 0,
            rejected: 3
        }
    );
}

#[tokio::test]
async fn an_expired_token_gets_401_until_one_relogin() {
    let qad = FakeQad::start().await.unwrap();
    let http = Client::new();
    let first = token(&qad).await;
    assert_eq!(
        browse(&qad, &http)
            .bearer_auth(&first)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    qad.expire_sessions();
    let refused = browse(&qad, &http)
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(body["error_description"], "Access token expired");

    let second = token(&qad).await;
    assert_ne!(first, second);
    assert_eq!(
        browse(&qad, &http)
            .bearer_auth(&second)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(qad.logins().token_grants, 2);
}

#[tokio::test]
async fn the_token_lifetime_is_configurable() {
    // A zero lifetime expires every token at once: each call needs a fresh login.
    let qad = FakeQad::builder()
        .token_lifetime(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let token = token(&qad).await;
    let refused = browse(&qad, &Client::new())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error_description"], "Access token expired");
}

#[tokio::test]
async fn unknown_tokens_and_missing_credentials_get_401() {
    let qad = FakeQad::start().await.unwrap();
    let http = Client::new();
    let unknown = browse(&qad, &http)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error_description"], "Invalid access token");

    let anonymous = browse(&qad, &http).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
}

fn no_redirects() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn form_login_sets_a_jsessionid_cookie_session() {
    let qad = FakeQad::start().await.unwrap();
    let http = no_redirects();
    let login = http
        .post(format!("{}/j_spring_security_check", qad.base_url()))
        .query(&[
            ("j_username", qad.username()),
            ("j_password", qad.password()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    assert_eq!(login.headers()[header::LOCATION], "/clouderp/");
    let cookie = login.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let session = cookie.split(';').next().unwrap();
    assert!(session.starts_with("JSESSIONID="), "{cookie}");
    assert!(cookie.contains("Path=/clouderp/"), "{cookie}");

    let page = browse(&qad, &http)
        .header(header::COOKIE, session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    qad.expire_sessions();
    let expired = browse(&qad, &http)
        .header(header::COOKIE, session)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(qad.logins().form_logins, 1);
}

#[tokio::test]
async fn form_login_accepts_a_form_body_and_works_with_a_cookie_store() {
    let qad = FakeQad::start().await.unwrap();
    // A browser-like client: follows the redirect and keeps the cookie.
    let http = Client::builder().cookie_store(true).build().unwrap();
    let login = http
        .post(format!("{}/j_spring_security_check", qad.base_url()))
        .form(&[
            ("j_username", qad.username()),
            ("j_password", qad.password()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(login.url().path(), "/clouderp/");
    let page = browse(&qad, &http).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn failed_form_login_redirects_to_the_error_page_without_a_cookie() {
    let qad = FakeQad::start().await.unwrap();
    let login = no_redirects()
        .post(format!("{}/j_spring_security_check", qad.base_url()))
        .form(&[("j_username", qad.username()), ("j_password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    assert_eq!(login.headers()[header::LOCATION], "/clouderp/login?error");
    assert!(login.headers().get(header::SET_COOKIE).is_none());
    assert_eq!(qad.logins().rejected, 1);
    assert_eq!(qad.logins().form_logins, 0);
}

#[tokio::test]
async fn form_login_can_be_switched_off() {
    let qad = FakeQad::builder().form_login(false).start().await.unwrap();
    let login = no_redirects()
        .post(format!("{}/j_spring_security_check", qad.base_url()))
        .form(&[
            ("j_username", qad.username()),
            ("j_password", qad.password()),
        ])
        .send()
        .await
        .unwrap();
    // No such route: the guarded fallback answers, and no session is made.
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    assert!(login.headers().get(header::SET_COOKIE).is_none());
    assert_eq!(qad.logins().form_logins, 0);
}

#[tokio::test]
async fn basic_auth_is_accepted_unless_switched_off() {
    let qad = FakeQad::builder()
        .credentials("planner", "s3cret")
        .start()
        .await
        .unwrap();
    let http = Client::new();
    let ok = browse(&qad, &http)
        .basic_auth("planner", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let wrong = browse(&qad, &http)
        .basic_auth("planner", Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let off = FakeQad::builder()
        .credentials("planner", "s3cret")
        .basic_auth(false)
        .start()
        .await
        .unwrap();
    let refused = browse(&off, &http)
        .basic_auth("planner", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn debug_output_never_shows_the_password() {
    let qad = FakeQad::builder()
        .credentials("planner", "hunter2-secret")
        .start()
        .await
        .unwrap();
    let shown = format!("{qad:?}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(shown.contains("redacted"));
}
