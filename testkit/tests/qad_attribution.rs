//! The fake QAD attribution entity over plain HTTP: create, duplicate, update, read back.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use testkit::qad::FakeQad;

async fn post(qad: &FakeQad, body: &Value) -> (StatusCode, Value) {
    let response = Client::new()
        .post(format!("{}/{}", qad.base_url(), qad.attribution_path()))
        .basic_auth(qad.username(), Some(qad.password()))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn list(qad: &FakeQad, query: &[(&str, &str)]) -> Value {
    let response = Client::new()
        .get(format!("{}/{}", qad.base_url(), qad.attribution_path()))
        .basic_auth(qad.username(), Some(qad.password()))
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn record(order_id: &str, total: f64) -> Value {
    json!({
        "orderId": order_id,
        "customerCode": "C0000001",
        "salesOrderNumber": "SO000001",
        "orderTotal": total,
        "currencyCode": "USD",
        "financialStatus": "paid",
        "lines": [{"itemCode": "ITEM-00001", "quantity": 2, "price": 10.5, "discount": 0}],
    })
}

fn errors(body: &Value) -> &Vec<Value> {
    assert_eq!(body["submitResult"]["success"], false, "{body}");
    body["submitResult"]["errors"].as_array().unwrap()
}

#[tokio::test]
async fn a_post_creates_records_and_get_reads_them_back() {
    let qad = FakeQad::start().await.unwrap();
    assert_eq!(
        qad.attribution_path(),
        "api/bdoc/mlconnector/attribution/OrderAttribution"
    );
    let (status, body) = post(&qad, &json!([record("1001", 21.0), record("1002", 5.0)])).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["submitResult"], json!({"success": true, "errors": []}));
    assert_eq!(body["data"][1]["orderId"], "1002");

    assert_eq!(
        qad.attributions(),
        vec![record("1001", 21.0), record("1002", 5.0)]
    );
    assert_eq!(
        list(&qad, &[]).await,
        json!({"data": [record("1001", 21.0), record("1002", 5.0)]})
    );
    assert_eq!(
        list(&qad, &[("orderId", "1002")]).await,
        json!({"data": [record("1002", 5.0)]})
    );
    assert_eq!(qad.stats().snapshot().successful_writes, 1);
}

#[tokio::test]
async fn a_duplicate_order_id_is_http_200_with_submit_result_2041() {
    let qad = FakeQad::start().await.unwrap();
    post(&qad, &json!([record("1001", 21.0)])).await;
    let (status, body) = post(&qad, &json!([record("1001", 99.0)])).await;
    assert_eq!(status, StatusCode::OK);
    let errors = errors(&body);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"], "2041");
    assert_eq!(errors[0]["fieldName"], "orderId");
    assert_eq!(errors[0]["value"], "1001");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    assert!(errors[0]["severity"].is_number());
    // Never a second record, and the first is untouched.
    assert_eq!(qad.attributions(), vec![record("1001", 21.0)]);
}

#[tokio::test]
async fn a_batch_is_all_or_nothing() {
    let qad = FakeQad::start().await.unwrap();
    let (status, body) = post(
        &qad,
        &json!([
            record("2001", 1.0),
            record("2002", 2.0),
            record("2001", 3.0)
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(errors(&body)[0]["code"], "2041");
    assert!(qad.attributions().is_empty());
}

#[tokio::test]
async fn data_operation_u_replaces_an_existing_record() {
    let qad = FakeQad::start().await.unwrap();
    post(&qad, &json!([record("1001", 21.0), record("1002", 5.0)])).await;
    let mut update = record("1001", 18.5);
    update["dataOperation"] = json!("U");
    let (status, body) = post(&qad, &json!([update])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["submitResult"]["success"], true);
    // Replaced in place, without the dataOperation marker.
    assert_eq!(
        qad.attributions(),
        vec![record("1001", 18.5), record("1002", 5.0)]
    );
    assert_eq!(qad.attribution("1001"), Some(record("1001", 18.5)));

    let mut unknown = record("4040", 1.0);
    unknown["dataOperation"] = json!("U");
    let (status, body) = post(&qad, &json!([unknown])).await;
    assert_eq!(status, StatusCode::OK);
    let errors = errors(&body);
    assert_eq!(errors[0]["code"], "1002");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
}

#[tokio::test]
async fn invalid_records_are_named_field_errors() {
    let qad = FakeQad::start().await.unwrap();
    let mut bad_operation = record("3001", 1.0);
    bad_operation["dataOperation"] = json!("D");
    let (status, body) = post(
        &qad,
        &json!([{"customerCode": "C0000001"}, {"orderId": "  "}, bad_operation]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let errors = errors(&body);
    assert_eq!(errors.len(), 3);
    assert_eq!(errors[0]["message"], "Field is mandatory");
    assert_eq!(errors[0]["fieldName"], "orderId");
    assert_eq!(errors[1]["code"], "1001");
    assert_eq!(errors[2]["fieldName"], "dataOperation");
    assert_eq!(errors[2]["code"], "1003");
    assert!(qad.attributions().is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_an_array_of_objects_is_400() {
    let qad = FakeQad::start().await.unwrap();
    for body in [record("1", 1.0), json!([1, 2]), json!("x")] {
        let (status, answer) = post(&qad, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["errors"][0]["code"], "400");
    }
}

#[tokio::test]
async fn numeric_keys_are_accepted_and_compared_as_text() {
    let qad = FakeQad::start().await.unwrap();
    let (status, _) = post(&qad, &json!([{"orderId": 77, "orderTotal": 1}])).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = post(&qad, &json!([{"orderId": "77"}])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(errors(&body)[0]["code"], "2041");
}

#[tokio::test]
async fn the_entity_path_and_key_field_are_configurable() {
    let qad = FakeQad::builder()
        .attribution_entity("/api/bdoc/acme/crm/MarketingOrder/")
        .attribution_key("externalOrderId")
        .start()
        .await
        .unwrap();
    assert_eq!(qad.attribution_path(), "api/bdoc/acme/crm/MarketingOrder");
    let (status, _) = post(&qad, &json!([{"externalOrderId": "A-1"}])).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = post(&qad, &json!([{"externalOrderId": "A-1"}])).await;
    let duplicate = &errors(&body)[0];
    assert_eq!(duplicate["fieldName"], "externalOrderId");
    assert_eq!(
        duplicate["message"],
        "MarketingOrder with externalOrderId A-1 already exists"
    );

    let default_path = Client::new()
        .post(format!(
            "{}/api/bdoc/mlconnector/attribution/OrderAttribution",
            qad.base_url()
        ))
        .basic_auth(qad.username(), Some(qad.password()))
        .json(&json!([{"orderId": "1"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(default_path.status(), StatusCode::NOT_FOUND);
}
