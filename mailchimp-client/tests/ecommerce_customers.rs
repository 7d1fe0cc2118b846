//! Customers against a mock Mailchimp: upsert, get, list, patch, delete.

// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use futures::TryStreamExt;
use mailchimp_client::ecommerce::{
    Address, CustomerId, CustomerInput, CustomerUpdate, Decimal, StoreId,
};
use mailchimp_client::{Client, Error};
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{client, KEY};

const CUSTOMER: &str = include_str!("fixtures/ecommerce/customer.json");
const BASE: &str = "/ecommerce/stores/acme-eu/customers";

fn customer_json() -> Value {
    serde_json::from_str(CUSTOMER).unwrap()
}

fn store(client: &Client) -> mailchimp_client::ecommerce::Customers {
    client
        .ecommerce()
        .store(&StoreId::from("acme-eu"))
        .customers()
}

#[tokio::test]
async fn upsert_puts_by_id_with_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{BASE}/C-1001")))
        .and(basic_auth("anystring", KEY))
        .and(body_json(json!({
            "id": "C-1001", "opt_in_status": true, "email_address": "ada@northwind-mfg.com",
            "company": "Analytical Engines Ltd", "first_name": "Ada", "last_name": "Lovelace",
            "address": {"address1": "1 Main St", "city": "London", "country_code": "GB"}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer_json()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let mut customer = CustomerInput::new(CustomerId::from("C-1001"), true);
    customer.email_address = Some("ada@northwind-mfg.com".into());
    customer.company = Some("Analytical Engines Ltd".into());
    customer.first_name = Some("Ada".into());
    customer.last_name = Some("Lovelace".into());
    let mut address = Address::default();
    address.address1 = Some("1 Main St".into());
    address.city = Some("London".into());
    address.country_code = Some("GB".into());
    customer.address = Some(address);
    let saved = store(&client).upsert(&customer).await.unwrap();
    assert_eq!(saved.orders_count, 3);
    assert_eq!(saved.total_spent, Some(Decimal::new(5997, 2)));
    assert!(saved.updated_at.is_some());
}

#[tokio::test]
async fn upsert_checks_the_id_length_before_any_request() {
    let server = MockServer::start().await;
    let client = client(&server).await;
    let long = CustomerInput::new(CustomerId::from("x".repeat(51)), true);
    let err = store(&client).upsert(&long).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "customer.id"));
    let empty = CustomerInput::new(CustomerId::from(""), true);
    assert!(store(&client).upsert(&empty).await.is_err());
}

#[tokio::test]
async fn upsert_maps_field_errors() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{BASE}/C-1")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "type": "t", "title": "Invalid Resource", "status": 400,
            "detail": "The resource submitted could not be validated.", "instance": "",
            "errors": [{"field": "email_address", "message": "This email address looks fake or invalid."}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let mut customer = CustomerInput::new(CustomerId::from("C-1"), false);
    customer.email_address = Some("nope".into());
    let err = store(&client).upsert(&customer).await.unwrap_err();
    assert!(err.is_invalid_resource());
    assert_eq!(err.field_errors()[0].field, "email_address");
}

#[tokio::test]
async fn upsert_as_decodes_the_answer_into_the_callers_type() {
    #[derive(serde::Deserialize)]
    struct Spent {
        orders_count: u64,
    }
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{BASE}/C-1001")))
        .and(body_json(json!({"id": "C-1001", "opt_in_status": true})))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer_json()))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{BASE}/C-1002")))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let customers = store(&client);
    let customer = CustomerInput::new(CustomerId::from("C-1001"), true);
    customers
        .upsert_as::<serde::de::IgnoredAny>(&customer)
        .await
        .unwrap();
    let spent: Spent = customers.upsert_as(&customer).await.unwrap();
    assert_eq!(spent.orders_count, 3);
    // An answer that is not JSON is an error even when nothing of it is kept.
    let garbled = CustomerInput::new(CustomerId::from("C-1002"), true);
    let err = customers
        .upsert_as::<serde::de::IgnoredAny>(&garbled)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    // The id is checked before any request, as for `upsert`.
    let long = CustomerInput::new(CustomerId::from("x".repeat(51)), true);
    let err = customers
        .upsert_as::<serde::de::IgnoredAny>(&long)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
}

#[tokio::test]
async fn get_patch_and_delete() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/C-1001")))
        .and(basic_auth("anystring", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer_json()))
        .expect(1)
        .mount(&server)
        .await;
    let mut renamed = customer_json();
    renamed["last_name"] = json!("King");
    Mock::given(method("PATCH"))
        .and(path(format!("{BASE}/C-1001")))
        .and(body_json(json!({"last_name": "King"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(renamed))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{BASE}/C-1001")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{BASE}/C-404")))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let customers = store(&client);
    let id = CustomerId::from("C-1001");
    let customer = customers.get(&id).send().await.unwrap();
    assert_eq!(
        customer.email_address.as_deref(),
        Some("ada@northwind-mfg.com")
    );
    let mut update = CustomerUpdate::default();
    update.last_name = Some("King".into());
    let updated = customers.update(&id, &update).await.unwrap();
    assert_eq!(updated.last_name.as_deref(), Some("King"));
    customers.delete(&id).await.unwrap();
    let err = customers
        .delete(&CustomerId::from("C-404"))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn list_filters_by_email_as_a_stream() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .and(query_param("email_address", "ada@northwind-mfg.com"))
        .and(query_param("offset", "0"))
        .and(query_param("count", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "store_id": "acme-eu", "customers": [customer_json()], "total_items": 1, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let found: Vec<_> = store(&client)
        .list()
        .email_address("ada@northwind-mfg.com")
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_str(), "C-1001");
}

#[tokio::test]
async fn upsert_reports_an_email_change_as_immutable() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{BASE}/C-1")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "type": "t", "title": "Invalid Resource", "status": 400,
            "detail": "An email address may not be changed once a customer is created.", "instance": "",
            "errors": [{"field": "email_address", "message": "An email address may not be changed once a customer is created."}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let mut customer = CustomerInput::new(CustomerId::from("C-1"), false);
    customer.email_address = Some("ada.new@northwind-mfg.com".into());
    let err = store(&client).upsert(&customer).await.unwrap_err();
    assert!(err.is_customer_email_immutable(), "{err:?}");
    assert!(!err.is_member_exists());
}
