//! Consent writes: created, a second status of the same customer updates its record, QAD's
//! errors at HTTP 200, the configurable entity.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use qad_client::{ConsentConfig, ConsentRecord, EntityPath, Error, WriteOutcome};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ENTITY: &str = "/clouderp/api/bdoc/mlconnector/consent/MarketingConsent";

fn record() -> ConsentRecord {
    ConsentRecord {
        customer_code: "C0000010".into(),
        email: "buy@acme-industrial.com".into(),
        marketing_status: "unsubscribed".into(),
        status_date: "2025-03-04T10:15:00Z".parse().unwrap(),
        source: "unsubscribe webhook".into(),
    }
}

fn expected_body() -> Value {
    json!([{
        "customerCode": "C0000010",
        "email": "buy@acme-industrial.com",
        "marketingStatus": "unsubscribed",
        "statusDate": "2025-03-04T10:15:00.000Z",
        "source": "unsubscribe webhook"
    }])
}

async fn setup() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    server
}

async fn mount_create(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(at))
        .and(query_param_is_missing("customerCode"))
        .and(body_json(expected_body()))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_first_status_is_created_as_a_json_array() {
    let server = setup().await;
    mount_create(&server, ENTITY, ResponseTemplate::new(201)).await;
    mount_catch_all(&server).await;
    assert_eq!(
        client(&server).consent().post(&record()).await.unwrap(),
        WriteOutcome::Created
    );
}

#[tokio::test]
async fn a_later_status_updates_the_customers_record() {
    let server = setup().await;
    let duplicate = ResponseTemplate::new(200).set_body_json(json!({"submitResult": {
        "success": false,
        "errors": [{"fieldName": "customerCode", "message": "Record C0000010 already exists",
                    "code": "2041", "severity": 3}]
    }}));
    mount_create(&server, ENTITY, duplicate).await;
    Mock::given(method("POST"))
        .and(path(ENTITY))
        .and(query_param("customerCode", "C0000010"))
        .and(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            body[0]["dataOperation"] == "U" && body[0]["marketingStatus"] == "unsubscribed"
        })
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"submitResult": {"success": true}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    assert_eq!(
        client(&server).consent().post(&record()).await.unwrap(),
        WriteOutcome::Updated
    );
}

#[tokio::test]
async fn submit_result_false_is_an_error_naming_the_field() {
    let server = setup().await;
    let refused = ResponseTemplate::new(200).set_body_json(json!({"submitResult": {
        "success": false,
        "errors": [{"fieldName": "marketingStatus", "message": "Value not in list",
                    "code": "1001", "severity": 3}]
    }}));
    mount_create(&server, ENTITY, refused).await;
    mount_catch_all(&server).await;
    let err = client(&server).consent().post(&record()).await.unwrap_err();
    match err {
        Error::Rejected { errors, .. } => {
            assert_eq!(
                errors[0].field_name.as_deref(),
                Some("marketingStatus"),
                "{errors:?}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn the_entity_is_configurable() {
    let server = setup().await;
    mount_create(
        &server,
        "/clouderp/api/bdoc/acme/crm/CustomerConsent",
        ResponseTemplate::new(201),
    )
    .await;
    mount_catch_all(&server).await;
    let client = builder(&server, oauth())
        .consent(
            ConsentConfig::default()
                .with_entity(EntityPath::parse("api/bdoc/acme/crm/CustomerConsent").unwrap()),
        )
        .build()
        .unwrap();
    assert_eq!(
        client.consent().post(&record()).await.unwrap(),
        WriteOutcome::Created
    );
}
