//! `GET /ping` and `GET /` (the account).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use serde_json::json;
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn ping_sends_basic_auth_and_user_agent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ping"))
        .and(basic_auth("anystring", common::KEY))
        .and(wiremock::matchers::header(
            "user-agent",
            concat!("mailchimp-client/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"health_status": "Everything's Chimpy!"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = common::client(&server).await;
    assert_eq!(
        client.ping().await.unwrap().health_status,
        "Everything's Chimpy!"
    );
}

#[tokio::test]
async fn ping_maps_invalid_key() {
    let server = MockServer::start().await;
    Mock::given(path("/ping"))
        .respond_with(common::problem(
            401,
            "API Key Invalid",
            "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = common::client(&server).await.ping().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let problem = err.problem().unwrap();
    assert_eq!(
        (problem.status, problem.title.as_str()),
        (401, "API Key Invalid")
    );
    assert_eq!(problem.instance, "995c5cb0-3280-4a6e-808b-3b096d0bb219");
    assert_eq!(
        problem.kind,
        "https://mailchimp.com/developer/marketing/docs/errors/"
    );
}

#[tokio::test]
async fn account_root_decodes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/"))
        .and(basic_auth("anystring", common::KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "account_id": "8d3a3db4d97663a9074efcc16", "login_id": "33", "account_name": "Freddie's Jokes",
            "email": "freddie@freddiesjokes.com", "first_name": "Freddie", "last_name": "Chimp",
            "username": "freddie2000", "avatar_url": "", "role": "owner",
            "member_since": "2015-09-15T14:44:25+00:00", "pricing_plan_type": "monthly",
            "first_payment": "", "account_timezone": "America/New_York", "account_industry": "Entertainment",
            "contact": {"company": "Freddie's Jokes", "addr1": "675 Ponce de Leon Ave NE", "city": "Atlanta"},
            "pro_enabled": false, "last_login": "2026-01-01T00:00:00+00:00", "total_subscribers": 13,
            "industry_stats": {"open_rate": 0.2, "bounce_rate": 0.01, "click_rate": 0.03}, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let account = common::client(&server).await.account().await.unwrap();
    assert_eq!(account.account_id, "8d3a3db4d97663a9074efcc16");
    assert_eq!(account.total_subscribers, 13);
    assert_eq!(account.member_since.unwrap().timestamp(), 1_442_328_265);
}

#[tokio::test]
async fn a_non_json_success_is_a_decode_error_with_an_excerpt() {
    let server = MockServer::start().await;
    Mock::given(path("/ping"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let err = common::client(&server).await.ping().await.unwrap_err();
    match err {
        mailchimp_client::Error::Decode {
            status, excerpt, ..
        } => {
            assert_eq!(status, 200);
            assert_eq!(excerpt, "<html>maintenance</html>");
        }
        other => panic!("{other:?}"),
    }
}
