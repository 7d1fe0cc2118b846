//! Attribution writes: created, duplicates, QAD's errors at HTTP 200.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use qad_client::{
    AttributionConfig, AttributionLine, AttributionRecord, Client, Error, OnDuplicate, WriteOutcome,
};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ENTITY: &str = "/clouderp/api/bdoc/mlconnector/attribution/OrderAttribution";

fn record() -> AttributionRecord {
    AttributionRecord {
        order_id: "mc-1001".into(),
        customer_code: "C0000010".into(),
        sales_order_number: Some("SO10045".into()),
        order_total: Decimal::new(2375, 2),
        currency_code: "EUR".into(),
        financial_status: "paid".into(),
        processed_date: "2025-03-04T10:15:00Z".parse().unwrap(),
        store_id: "acme-store".into(),
        campaign_id: None,
        lines: vec![AttributionLine {
            item_code: "10-1000".into(),
            quantity: Decimal::new(2, 0),
            price: Decimal::new(1250, 2),
            discount: Decimal::new(125, 2),
        }],
    }
}

fn expected_body() -> Value {
    json!([{
        "orderId": "mc-1001",
        "customerCode": "C0000010",
        "salesOrderNumber": "SO10045",
        "orderTotal": "23.75",
        "currencyCode": "EUR",
        "financialStatus": "paid",
        "processedDate": "2025-03-04T10:15:00.000Z",
        "storeId": "acme-store",
        "campaignId": "",
        "lines": [{"itemCode": "10-1000", "quantity": "2", "price": "12.50", "discount": "1.25"}]
    }])
}

fn duplicate() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"submitResult": {"success": false, "errors": [
        {"fieldName": "orderId", "message": "Record mc-1001 already exists", "code": "2041", "severity": 3}
    ]}}))
}

async fn setup() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    server
}

/// A client configured to leave duplicates alone.
fn skipping_duplicates(server: &MockServer) -> Client {
    builder(server, oauth())
        .attribution(AttributionConfig::default().with_on_duplicate(OnDuplicate::Skip))
        .build()
        .unwrap()
}

async fn mount_create(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(ENTITY))
        .and(query_param_is_missing("orderId"))
        .and(body_json(expected_body()))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_new_order_is_created_as_a_json_array() {
    let server = setup().await;
    mount_create(&server, ResponseTemplate::new(201)).await;
    mount_catch_all(&server).await;
    assert_eq!(
        client(&server).attribution().post(&record()).await.unwrap(),
        WriteOutcome::Created
    );
}

#[tokio::test]
async fn a_duplicate_becomes_an_update_never_a_second_record() {
    let server = setup().await;
    mount_create(&server, duplicate()).await;
    Mock::given(method("POST"))
        .and(path(ENTITY))
        .and(query_param("orderId", "mc-1001"))
        .and(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            body[0]["dataOperation"] == "U"
                && body[0]["orderId"] == "mc-1001"
                && body.as_array().unwrap().len() == 1
        })
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"submitResult": {"success": true}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    assert_eq!(
        client(&server).attribution().post(&record()).await.unwrap(),
        WriteOutcome::Updated
    );
}

#[tokio::test]
async fn a_duplicate_can_be_left_alone() {
    let server = setup().await;
    // "already exists" in the message is enough, at any status.
    mount_create(
        &server,
        ResponseTemplate::new(400)
            .set_body_json(json!({"errors": [{"message": "Order mc-1001 already exists"}]})),
    )
    .await;
    mount_catch_all(&server).await;
    let client = skipping_duplicates(&server);
    assert_eq!(
        client.attribution().post(&record()).await.unwrap(),
        WriteOutcome::Unchanged
    );
}

#[tokio::test]
async fn a_409_conflict_is_a_duplicate_too() {
    let server = setup().await;
    mount_create(&server, ResponseTemplate::new(409)).await;
    mount_catch_all(&server).await;
    let client = skipping_duplicates(&server);
    assert_eq!(
        client.attribution().post(&record()).await.unwrap(),
        WriteOutcome::Unchanged
    );
}

#[tokio::test]
async fn submit_result_false_at_200_is_an_error_carrying_every_field_error() {
    let server = setup().await;
    mount_create(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"submitResult": {"success": false, "errors": [
            {"fieldName": "customerCode", "message": "Field is mandatory", "code": "4012", "severity": 3, "value": ""},
            {"fieldName": "currencyCode", "message": "Currency EUR is not active", "code": 1502, "severity": 3, "value": "EUR"}
        ]}})),
    )
    .await;
    mount_catch_all(&server).await;
    match client(&server)
        .attribution()
        .post(&record())
        .await
        .unwrap_err()
    {
        Error::Rejected {
            status: 200,
            errors,
        } => {
            let fields: Vec<_> = errors
                .iter()
                .map(|e| e.field_name.as_deref().unwrap())
                .collect();
            assert_eq!(fields, ["customerCode", "currencyCode"]);
            assert_eq!(errors[1].code.as_deref(), Some("1502"));
            assert_eq!(errors[1].value.as_deref(), Some("EUR"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_failed_update_is_reported() {
    let server = setup().await;
    mount_create(&server, duplicate()).await;
    Mock::given(method("POST"))
        .and(path(ENTITY))
        .and(query_param("orderId", "mc-1001"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"errors": [
            {"severity": 1, "code": "403", "message": "Access is denied", "fieldName": ""}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .attribution()
        .post(&record())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Rejected { status: 403, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_entity_is_configurable() {
    let server = setup().await;
    Mock::given(method("POST"))
        .and(path("/clouderp/api/bdoc/acme/marketing/Attribution"))
        .and(query_param("domainCode", "10USA"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let client = builder(&server, oauth())
        .domain("10USA")
        .attribution(
            AttributionConfig::default()
                .with_entity("api/bdoc/acme/marketing/Attribution".parse().unwrap()),
        )
        .build()
        .unwrap();
    assert_eq!(
        client.attribution().post(&record()).await.unwrap(),
        WriteOutcome::Created
    );
}

fn with_duplicates(server: &MockServer, value: &str) -> Client {
    let mut behaviour = qad_client::Behaviour::default();
    behaviour.set("attribution.duplicate", value).unwrap();
    builder(server, oauth())
        .behaviour(behaviour)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_tenant_that_creates_duplicates_is_asked_first() {
    let server = setup().await;
    Mock::given(method("GET"))
        .and(path(ENTITY))
        .and(query_param("orderId", "mc-1001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_create(&server, ResponseTemplate::new(201).set_body_json(json!({}))).await;
    let client = with_duplicates(&server, "creates");
    assert_eq!(
        client.attribution().post(&record()).await.unwrap(),
        WriteOutcome::Created
    );

    // Now it exists: the lookup finds it and the write is an update.
    Mock::given(method("GET"))
        .and(path(ENTITY))
        .and(query_param("orderId", "mc-1001"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [{"orderId": "mc-1001"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ENTITY))
        .and(query_param("orderId", "mc-1001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    assert_eq!(
        client.attribution().post(&record()).await.unwrap(),
        WriteOutcome::Updated
    );
}

#[tokio::test]
async fn a_progress_already_exists_500_is_a_duplicate_only_when_configured() {
    let progress = || {
        ResponseTemplate::new(500)
            .set_body_string("** OrderAttribution already exists with orderId \"mc-1001\". (132)")
    };
    let server = setup().await;
    mount_create(&server, progress()).await;
    mount_catch_all(&server).await;
    let err = client(&server)
        .attribution()
        .post(&record())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 500, .. }), "{err:?}");

    let server = setup().await;
    mount_create(&server, progress()).await;
    Mock::given(method("POST"))
        .and(path(ENTITY))
        .and(query_param("orderId", "mc-1001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    let client = with_duplicates(&server, "server-error");
    assert_eq!(
        client.attribution().post(&record()).await.unwrap(),
        WriteOutcome::Updated
    );
}
