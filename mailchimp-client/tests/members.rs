//! One member: get, upsert (`PUT`), update (`PATCH`), archive (`DELETE`),
//! tags, and the member-specific errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use mailchimp_client::{
    Error, ListId, MarketingPermission, MemberStatus, MembersHandler, SubscriberHash,
};
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LIST: &str = "57afe96172";

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn hash(email: &str) -> String {
    SubscriberHash::from_email(email).as_str().to_owned()
}

/// The path of the test audience's member `email`.
fn member_path(email: &str) -> String {
    format!("/lists/{LIST}/members/{}", hash(email))
}

/// The test audience's members, through a client for `server`.
async fn audience_members(server: &MockServer) -> MembersHandler {
    common::client(server)
        .await
        .list(&ListId::from(LIST))
        .members()
}

#[tokio::test]
async fn get_member_with_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(member_path("urist.mcvankab@freddiesjokes.com")))
        .and(basic_auth("anystring", common::KEY))
        .and(query_param("fields", "email_address,status"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(common::member_json(
                "urist.mcvankab@freddiesjokes.com",
                "cleaned",
            )),
        )
        .expect(1)
        .mount(&server)
        .await;
    let member = audience_members(&server)
        .await
        .get(&SubscriberHash::from_email(
            " Urist.McVankab@FreddiesJokes.com",
        ))
        .fields(["email_address", "status"])
        .send()
        .await
        .unwrap();
    assert_eq!(member.status, Some(MemberStatus::Cleaned));
    assert_eq!(member.merge_fields["ADDRESS"]["city"], "Atlanta");
    assert_eq!(member.tags[0].name, "customer");
}

#[tokio::test]
async fn get_unknown_member_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(member_path("nobody@northwind-mfg.com")))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let err = audience_members(&server)
        .await
        .get(&SubscriberHash::from_email("nobody@northwind-mfg.com"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn upsert_puts_the_full_body_at_the_email_hash() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(member_path("ada@northwind-mfg.com")))
        .and(basic_auth("anystring", common::KEY))
        .and(query_param("skip_merge_validation", "true"))
        .and(body_json(fixture(include_str!(
            "fixtures/requests/put_member.json"
        ))))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(common::member_json("ada@northwind-mfg.com", "subscribed")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let members = audience_members(&server).await;
    let request = members
        .upsert(" ada@northwind-mfg.com ", MemberStatus::Subscribed)
        .merge_field("FNAME", "Ada")
        .merge_field("LNAME", "Lovelace")
        .merge_field("AGE", 36)
        .interest("9143cf3bd1", true)
        .language("en")
        .vip(true)
        .marketing_permission(MarketingPermission::new("abc123", true))
        .skip_merge_validation(true);
    assert_eq!(
        request.subscriber_hash(),
        SubscriberHash::from_email("ada@northwind-mfg.com")
    );
    let member = request.send().await.unwrap();
    assert_eq!(member.email_address, "ada@northwind-mfg.com");
}

#[tokio::test]
async fn upsert_maps_member_errors() {
    type Predicate = fn(&Error) -> bool;
    let cases: [(ResponseTemplate, Predicate); 3] = [
        (
            common::problem(400, "Member In Compliance State", "ada@northwind-mfg.com is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed."),
            Error::is_member_in_compliance,
        ),
        (
            common::problem(400, "Forgotten Email Not Subscribed", "ada@northwind-mfg.com was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list."),
            Error::is_forgotten_email,
        ),
        (
            common::problem_json(json!({
                "type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": "Invalid Resource",
                "status": 400, "detail": "Your merge fields were invalid.", "instance": "",
                "errors": [{"field": "FNAME", "message": "Please enter a value"}]
            })),
            Error::is_invalid_resource,
        ),
    ];
    for (response, predicate) in cases {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path(member_path("ada@northwind-mfg.com")))
            .and(body_json(
                json!({"email_address": "ada@northwind-mfg.com", "status_if_new": "subscribed"}),
            ))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let err = audience_members(&server)
            .await
            .upsert("ada@northwind-mfg.com", MemberStatus::Subscribed)
            .send()
            .await
            .unwrap_err();
        assert!(predicate(&err), "{err:?}");
        if err.is_invalid_resource() {
            assert_eq!(err.field_errors()[0].field, "FNAME");
        }
    }
}

#[tokio::test]
async fn upsert_rejects_bad_input_before_any_request() {
    let server = MockServer::start().await;
    let members = audience_members(&server).await;
    for (email, status, field) in [
        ("", MemberStatus::Subscribed, "email_address"),
        ("not-an-email", MemberStatus::Subscribed, "email_address"),
        ("a@b.c", MemberStatus::Archived, "status_if_new"),
        (
            "a@b.c",
            MemberStatus::Other("snoozed".into()),
            "status_if_new",
        ),
    ] {
        let err = members.upsert(email, status).send().await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field: f, .. } if f == field),
            "{err:?}"
        );
    }
    // The catch-all mock verifies no request was made.
}

#[tokio::test]
async fn update_patches_only_what_was_set() {
    let server = MockServer::start().await;
    let h = hash("ada@northwind-mfg.com");
    Mock::given(method("PATCH"))
        .and(path(format!("/lists/{LIST}/members/{h}")))
        .and(basic_auth("anystring", common::KEY))
        .and(body_json(fixture(include_str!(
            "fixtures/requests/patch_member.json"
        ))))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(common::member_json(
                "ada.lovelace@northwind-mfg.com",
                "unsubscribed",
            )),
        )
        .expect(1)
        .mount(&server)
        .await;
    let members = audience_members(&server).await;
    let member = members
        .update(&SubscriberHash::from_email("ada@northwind-mfg.com"))
        .email_address("ada.lovelace@northwind-mfg.com")
        .status(MemberStatus::Unsubscribed)
        .email_type("text")
        .send()
        .await
        .unwrap();
    assert_eq!(member.status, Some(MemberStatus::Unsubscribed));

    // Empty updates and `transactional` are refused locally.
    let hash = SubscriberHash::from_email("ada@northwind-mfg.com");
    assert!(matches!(
        members.update(&hash).send().await,
        Err(Error::InvalidInput { .. })
    ));
    let err = members
        .update(&hash)
        .status(MemberStatus::Transactional)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "status"));
}

#[tokio::test]
async fn archive_deletes_and_maps_not_found() {
    let server = MockServer::start().await;
    let h = hash("ada@northwind-mfg.com");
    Mock::given(method("DELETE"))
        .and(path(format!("/lists/{LIST}/members/{h}")))
        .and(basic_auth("anystring", common::KEY))
        .respond_with(ResponseTemplate::new(204))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(member_path("gone@northwind-mfg.com")))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let members = audience_members(&server).await;
    members
        .archive(&SubscriberHash::from_email("ada@northwind-mfg.com"))
        .await
        .unwrap();
    let err = members
        .archive(&SubscriberHash::from_email("gone@northwind-mfg.com"))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn tags_post_active_and_inactive() {
    let server = MockServer::start().await;
    let h = hash("ada@northwind-mfg.com");
    Mock::given(method("POST"))
        .and(path(format!("/lists/{LIST}/members/{h}/tags")))
        .and(basic_auth("anystring", common::KEY))
        .and(body_json(fixture(include_str!(
            "fixtures/requests/member_tags.json"
        ))))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let members = audience_members(&server).await;
    let hash = SubscriberHash::from_email("ada@northwind-mfg.com");
    members
        .tags(&hash)
        .activate("customer")
        .deactivate("prospect")
        .is_syncing(true)
        .send()
        .await
        .unwrap();
    let err = members.tags(&hash).send().await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "tags"));
}

#[tokio::test]
async fn tags_error_is_mapped() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let err = audience_members(&server)
        .await
        .tags(&SubscriberHash::from_email("x@northwind-mfg.com"))
        .activate("a")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn ids_cannot_escape_their_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/lists/a%2F..%2Fb/members/h"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"email_address": "x@y.z"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = common::client(&server).await;
    let member = client
        .list(&ListId::from("a/../b"))
        .members()
        .get(&SubscriberHash::from("h".to_owned()))
        .send()
        .await
        .unwrap();
    assert_eq!(member.email_address, "x@y.z");
    let err = client
        .list(&ListId::from(".."))
        .get()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

#[tokio::test]
async fn upsert_errors_are_classified_by_their_detail() {
    type Predicate = fn(&Error) -> bool;
    let cases: [(ResponseTemplate, Predicate); 3] = [
        (
            common::problem(400, "Invalid Resource", "ada@northwind-mfg.com has signed up to a lot of lists very recently; we're not allowing more signups for now"),
            Error::is_signup_throttled,
        ),
        (
            common::problem(400, "Invalid Resource", "ada@northwind-mfg.com looks fake or invalid, please enter a real email address."),
            Error::is_fake_or_invalid_email,
        ),
        (
            common::problem(400, "Member Exists", "ada@northwind-mfg.com is already a list member. Use PUT to insert or update list members."),
            Error::is_member_exists,
        ),
    ];
    for (response, predicate) in cases {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path(member_path("ada@northwind-mfg.com")))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let err = audience_members(&server)
            .await
            .upsert("ada@northwind-mfg.com", MemberStatus::Subscribed)
            .send()
            .await
            .unwrap_err();
        assert!(predicate(&err), "{err:?}");
        assert!(!err.is_retryable(), "a 400 is not retried: {err:?}");
    }
}
