//! Batch subscribe: `POST /lists/{list_id}`, split into calls of 500 with
//! the reports merged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use std::sync::{Arc, Mutex};

use mailchimp_client::{
    BatchErrorCode, BatchMember, Error, ListId, MemberStatus, BATCH_SUBSCRIBE_LIMIT,
};
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_json, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn email(i: usize) -> String {
    format!("m{i}@northwind-mfg.com")
}

#[tokio::test]
async fn body_matches_the_spec_example() {
    let server = MockServer::start().await;
    let body: Value =
        serde_json::from_str(include_str!("fixtures/requests/batch_subscribe.json")).unwrap();
    Mock::given(method("POST"))
        .and(path("/lists/57afe96172"))
        .and(basic_auth("anystring", common::KEY))
        .and(query_param("skip_merge_validation", "true"))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "new_members": [common::member_json("ada@northwind-mfg.com", "subscribed")],
            "updated_members": [common::member_json("alan@northwind-mfg.com", "pending")],
            "errors": [], "total_created": 1, "total_updated": 1, "error_count": 0, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let report = common::client(&server)
        .await
        .list(&ListId::from("57afe96172"))
        .batch_subscribe(vec![
            BatchMember::new("ada@northwind-mfg.com", MemberStatus::Subscribed)
                .merge_field("FNAME", "Ada")
                .language("en"),
            BatchMember::new("alan@northwind-mfg.com", MemberStatus::Pending)
                .email_type("html")
                .vip(false),
        ])
        .skip_merge_validation(true)
        .send()
        .await
        .unwrap();
    assert_eq!((report.total_created, report.total_updated), (1, 1));
    assert_eq!(report.new_members[0].email_address, "ada@northwind-mfg.com");
}

#[tokio::test]
async fn send_as_decodes_the_answers_members_as_the_callers_type() {
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Written {
        email_address: String,
        status: Option<MemberStatus>,
    }
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/lists/57afe96172"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "new_members": [common::member_json("ada@northwind-mfg.com", "subscribed")],
            "updated_members": [common::member_json("alan@northwind-mfg.com", "pending")],
            "errors": [{"email_address": "x@northwind-mfg.com", "error": "fake", "error_code": "ERROR_GENERIC"}],
            "total_created": 1, "total_updated": 1, "error_count": 1, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/lists/badanswer"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "new_members": [{"email_address": 7}], "updated_members": [], "errors": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = common::client(&server).await;
    let members = || {
        vec![BatchMember::new(
            "ada@northwind-mfg.com",
            MemberStatus::Subscribed,
        )]
    };
    let report = client
        .list(&ListId::from("57afe96172"))
        .batch_subscribe(members())
        .send_as::<Written>()
        .await
        .unwrap();
    let written = |email: &str, status| Written {
        email_address: email.into(),
        status: Some(status),
    };
    assert_eq!(
        report.new_members,
        [written("ada@northwind-mfg.com", MemberStatus::Subscribed)]
    );
    assert_eq!(
        report.updated_members,
        [written("alan@northwind-mfg.com", MemberStatus::Pending)]
    );
    assert_eq!(report.errors[0].error_code, BatchErrorCode::Generic);
    assert_eq!(report.error_count, 1);
    // A member that does not decode as the caller's type is an error, not a silent gap.
    let err = client
        .list(&ListId::from("badanswer"))
        .batch_subscribe(members())
        .send_as::<Written>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn members_1201_go_in_calls_of_500_and_reports_merge() {
    let server = MockServer::start().await;
    let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let record = seen.clone();
    Mock::given(method("POST"))
        .and(path("/lists/57afe96172"))
        .respond_with(move |request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(body["update_existing"], true);
            let emails: Vec<String> = body["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["email_address"].as_str().unwrap().to_owned())
                .collect();
            // The first address of each call is reported as an error.
            let report = json!({
                "new_members": [], "updated_members": [],
                "errors": [{"email_address": emails[0], "error": format!("{} looks fake", emails[0]), "error_code": "ERROR_GENERIC", "field": "email_address", "field_message": "fake"}],
                "total_created": emails.len() - 1, "total_updated": 0, "error_count": 1
            });
            record.lock().unwrap().push(emails);
            ResponseTemplate::new(200).set_body_json(report)
        })
        .expect(3)
        .mount(&server)
        .await;
    let members: Vec<_> = (0..1201)
        .map(|i| BatchMember::new(email(i), MemberStatus::Subscribed))
        .collect();
    let report = common::client(&server)
        .await
        .list(&ListId::from("57afe96172"))
        .batch_subscribe(members)
        .send()
        .await
        .unwrap();

    let calls = seen.lock().unwrap().clone();
    assert_eq!(
        calls.iter().map(Vec::len).collect::<Vec<_>>(),
        [BATCH_SUBSCRIBE_LIMIT, BATCH_SUBSCRIBE_LIMIT, 201]
    );
    let sent: Vec<String> = calls.concat();
    assert_eq!(sent, (0..1201).map(email).collect::<Vec<_>>());
    assert_eq!(report.total_created, 1198);
    assert_eq!(report.error_count, 3);
    let errored: Vec<_> = report
        .errors
        .iter()
        .map(|e| e.email_address.as_str())
        .collect();
    assert_eq!(
        errored,
        [
            "m0@northwind-mfg.com",
            "m500@northwind-mfg.com",
            "m1000@northwind-mfg.com"
        ]
    );
    assert!(report
        .errors
        .iter()
        .all(|e| e.error_code == BatchErrorCode::Generic && e.field == "email_address"));
}

#[tokio::test]
async fn per_email_error_codes_are_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/lists/l1"))
        .and(body_json(json!({
            "members": [{"email_address": "dup@northwind-mfg.com", "status": "subscribed"}],
            "update_existing": false
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "new_members": [], "updated_members": [], "total_created": 0, "total_updated": 0, "error_count": 1,
            "errors": [{"email_address": "dup@northwind-mfg.com", "error": "dup@northwind-mfg.com is already a list member. Use PUT to insert or update list members.", "error_code": "ERROR_CONTACT_EXISTS"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let report = common::client(&server)
        .await
        .list(&ListId::from("l1"))
        .batch_subscribe(vec![BatchMember::new(
            "dup@northwind-mfg.com",
            MemberStatus::Subscribed,
        )])
        .update_existing(false)
        .send()
        .await
        .unwrap();
    assert_eq!(report.errors[0].error_code, BatchErrorCode::ContactExists);
}

#[tokio::test]
async fn a_failing_call_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/lists/l1"))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let err = common::client(&server)
        .await
        .list(&ListId::from("l1"))
        .batch_subscribe(vec![BatchMember::new(
            "a@northwind-mfg.com",
            MemberStatus::Subscribed,
        )])
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn bad_members_are_named_by_index_before_any_request() {
    let server = MockServer::start().await;
    let list = common::client(&server).await.list(&ListId::from("l1"));
    let members = vec![
        BatchMember::new("ok@northwind-mfg.com", MemberStatus::Subscribed),
        BatchMember::new("broken", MemberStatus::Subscribed),
    ];
    let err = list.batch_subscribe(members).send().await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { ref field, .. } if field == "members[1].email_address"),
        "{err:?}"
    );
    let members = vec![BatchMember::new(
        "ok@northwind-mfg.com",
        MemberStatus::Archived,
    )];
    let err = list.batch_subscribe(members).send().await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { ref field, .. } if field == "members[0].status"),
        "{err:?}"
    );
    // Nothing to send: no request, an empty report.
    let report = list.batch_subscribe(Vec::new()).send().await.unwrap();
    assert_eq!(
        report.total_created + report.total_updated + report.error_count,
        0
    );
}
