//! The fake QAD consent entity over plain HTTP: keyed by customer code, a duplicate create is
//! refused with code 2041, an update (`dataOperation: "U"`) replaces the customer's record.
#![allow(clippy::unwrap_used)]

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use testkit::qad::FakeQad;

const PATH: &str = "api/bdoc/mlconnector/consent/MarketingConsent";

async fn post(qad: &FakeQad, body: &Value, query: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = Client::new()
        .post(format!("{}/{PATH}", qad.base_url()))
        .basic_auth(qad.username(), Some(qad.password()))
        .query(query)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn record(code: &str, status: &str) -> Value {
    json!({
        "customerCode": code,
        "email": "buy@acme-industrial.com",
        "marketingStatus": status,
        "statusDate": "2025-03-04T10:15:00.000Z",
        "source": "unsubscribe webhook",
    })
}

#[tokio::test]
async fn one_record_per_customer_created_then_updated() {
    let qad = FakeQad::start().await.unwrap();
    let (status, _) = post(&qad, &json!([record("C0000001", "unsubscribed")]), &[]).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body) = post(&qad, &json!([record("C0000001", "subscribed")]), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["submitResult"]["success"], false, "{body}");
    assert_eq!(body["submitResult"]["errors"][0]["code"], "2041");
    assert_eq!(
        body["submitResult"]["errors"][0]["fieldName"],
        "customerCode"
    );

    let mut update = record("C0000001", "subscribed");
    update["dataOperation"] = json!("U");
    let (status, body) = post(&qad, &json!([update]), &[("customerCode", "C0000001")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(qad.consents(), vec![record("C0000001", "subscribed")]);

    let listed: Value = Client::new()
        .get(format!("{}/{PATH}", qad.base_url()))
        .basic_auth(qad.username(), Some(qad.password()))
        .query(&[("customerCode", "C0000001")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!({"data": [record("C0000001", "subscribed")]}));
    // Attribution records are a separate entity.
    assert!(qad.attributions().is_empty());
}
