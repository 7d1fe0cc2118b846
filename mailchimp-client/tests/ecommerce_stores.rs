//! Stores against a mock Mailchimp: create, get, list, patch, delete, and
//! `ensure_store` in each of its cases.

// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use futures::TryStreamExt;
use mailchimp_client::ecommerce::{EnsureOutcome, EnsuredStore, NewStore, StoreId, StoreUpdate};
use mailchimp_client::{Error, ListId};
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{client, not_found, KEY};

const STORE: &str = include_str!("fixtures/ecommerce/store.json");

fn store_json() -> Value {
    serde_json::from_str(STORE).unwrap()
}

/// A `200` answering `body`.
fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// Mounts `GET /ecommerce/stores/acme-eu` answering `response`, expected
/// `times` times.
async fn expect_get(server: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path("/ecommerce/stores/acme-eu"))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

/// `ensure_store(spec)` through a client for `server`.
async fn ensure(server: &MockServer, spec: &NewStore) -> Result<EnsuredStore, Error> {
    client(server).await.ecommerce().ensure_store(spec).await
}

/// A spec equal to the fixture store.
fn spec() -> NewStore {
    let mut spec = NewStore::new(
        StoreId::from("acme-eu"),
        ListId::from("a1b2c3d4e5"),
        "Acme EU",
        "EUR",
    );
    spec.platform = Some("QAD".into());
    spec.domain = Some("shop.acme.example".into());
    spec.is_syncing = Some(false);
    spec
}

#[tokio::test]
async fn create_sends_the_spec_fields() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ecommerce/stores"))
        .and(basic_auth("anystring", KEY))
        .and(body_json(json!({
            "id": "acme-eu", "list_id": "a1b2c3d4e5", "name": "Acme EU", "currency_code": "EUR",
            "platform": "QAD", "domain": "shop.acme.example", "is_syncing": false
        })))
        .respond_with(ok_json(store_json()))
        .expect(1)
        .mount(&server)
        .await;
    let store = client(&server)
        .await
        .ecommerce()
        .create_store(&spec())
        .await
        .unwrap();
    assert_eq!(store.id.as_str(), "acme-eu");
    assert_eq!(store.list_id.as_str(), "a1b2c3d4e5");
    assert_eq!(store.address.unwrap().city.as_deref(), Some("Paris"));
    assert_eq!(store.list_is_active, Some(true));
    assert!(store.created_at.is_some());
}

#[tokio::test]
async fn create_checks_required_fields_before_any_request() {
    let server = MockServer::start().await;
    let client = client(&server).await;
    let mut bad = spec();
    bad.currency_code = "euro".into();
    let err = client.ecommerce().create_store(&bad).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "store.currency_code"));
    let bad = NewStore::new(StoreId::from(""), ListId::from("l"), "n", "EUR");
    let err = client.ecommerce().create_store(&bad).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "store.id"));
    // The catch-all's `expect(0)` proves nothing was sent.
}

#[tokio::test]
async fn create_maps_an_invalid_resource() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ecommerce/stores"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": "Invalid Resource",
            "status": 400,
            "detail": "The resource submitted could not be validated.",
            "instance": "",
            "errors": [{"field": "id", "message": "A store with the provided ID already exists."}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .await
        .ecommerce()
        .create_store(&spec())
        .await
        .unwrap_err();
    assert!(err.is_invalid_resource(), "{err:?}");
    assert_eq!(err.field_errors()[0].field, "id");
}

#[tokio::test]
async fn get_sends_field_selection_and_maps_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ecommerce/stores/acme-eu"))
        .and(basic_auth("anystring", KEY))
        .and(query_param("fields", "id,list_id,name"))
        .respond_with(ok_json(store_json()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ecommerce/stores/missing"))
        .respond_with(not_found())
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let store = client
        .ecommerce()
        .store(&StoreId::from("acme-eu"))
        .get()
        .fields(["id", "list_id", "name"])
        .send()
        .await
        .unwrap();
    assert_eq!(store.name, "Acme EU");
    let err = client
        .ecommerce()
        .store(&StoreId::from("missing"))
        .get()
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn list_pages_and_streams() {
    let server = MockServer::start().await;
    let mut second = store_json();
    second["id"] = json!("acme-us");
    second["currency_code"] = json!("USD");
    Mock::given(method("GET"))
        .and(path("/ecommerce/stores"))
        .and(query_param("offset", "0"))
        .and(query_param("count", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"stores": [store_json()], "total_items": 2, "_links": []})),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ecommerce/stores"))
        .and(query_param("offset", "1"))
        .and(query_param("count", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"stores": [second], "total_items": 2, "_links": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let page = client.ecommerce().stores().count(1).send().await.unwrap();
    assert_eq!(page.total_items, 2);
    assert_eq!(page.items.len(), 1);
    let all: Vec<_> = client
        .ecommerce()
        .stores()
        .count(1)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["acme-eu", "acme-us"]);
}

#[tokio::test]
async fn patch_sets_is_syncing_and_delete_answers_204() {
    let server = MockServer::start().await;
    let mut syncing = store_json();
    syncing["is_syncing"] = json!(true);
    Mock::given(method("PATCH"))
        .and(path("/ecommerce/stores/acme-eu"))
        .and(basic_auth("anystring", KEY))
        .and(body_json(json!({"is_syncing": true})))
        .respond_with(ok_json(syncing))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/ecommerce/stores/acme-eu"))
        .and(basic_auth("anystring", KEY))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let store = client.ecommerce().store(&StoreId::from("acme-eu"));
    let updated = store.update(&StoreUpdate::syncing(true)).await.unwrap();
    assert!(updated.is_syncing);
    store.delete().await.unwrap();
}

// ----- ensure_store -----

#[tokio::test]
async fn ensure_creates_an_absent_store() {
    let server = MockServer::start().await;
    expect_get(&server, not_found(), 1).await;
    Mock::given(method("POST"))
        .and(path("/ecommerce/stores"))
        .and(body_json(serde_json::to_value(spec()).unwrap()))
        .respond_with(ok_json(store_json()))
        .expect(1)
        .mount(&server)
        .await;
    let ensured = ensure(&server, &spec()).await.unwrap();
    assert_eq!(ensured.outcome, EnsureOutcome::Created);
    assert_eq!(ensured.store.id.as_str(), "acme-eu");
}

#[tokio::test]
async fn ensure_checks_the_store_another_caller_created_first() {
    let server = MockServer::start().await;
    // The first GET finds nothing; by the POST, someone else created it.
    Mock::given(method("GET"))
        .and(path("/ecommerce/stores/acme-eu"))
        .respond_with(not_found())
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ecommerce/stores"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "type": "t", "title": "Bad Request", "status": 400,
            "detail": "A store with the provided ID already exists in the account.", "instance": "i"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut syncing = store_json();
    syncing["is_syncing"] = json!(true);
    expect_get(&server, ok_json(syncing), 1).await;
    Mock::given(method("PATCH"))
        .and(path("/ecommerce/stores/acme-eu"))
        .and(body_json(json!({"is_syncing": false})))
        .respond_with(ok_json(store_json()))
        .expect(1)
        .mount(&server)
        .await;
    let ensured = ensure(&server, &spec()).await.unwrap();
    assert!(matches!(ensured.outcome, EnsureOutcome::Patched(_)));
    assert!(!ensured.store.is_syncing);
}

#[tokio::test]
async fn ensure_reports_the_create_error_when_the_store_is_still_absent() {
    let server = MockServer::start().await;
    expect_get(&server, not_found(), 2).await;
    Mock::given(method("POST"))
        .and(path("/ecommerce/stores"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "type": "t", "title": "Invalid Resource", "status": 400,
            "detail": "The resource submitted could not be validated.", "instance": "i",
            "errors": [{"field": "currency_code", "message": "Unsupported currency."}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = ensure(&server, &spec()).await.unwrap_err();
    assert!(err.is_invalid_resource());
    assert_eq!(err.field_errors()[0].field, "currency_code");
}

#[tokio::test]
async fn ensure_writes_nothing_when_the_store_matches() {
    let server = MockServer::start().await;
    expect_get(&server, ok_json(store_json()), 1).await;
    let ensured = ensure(&server, &spec()).await.unwrap();
    assert_eq!(ensured.outcome, EnsureOutcome::Unchanged);
    // Only the GET arrived: the catch-all expects no POST or PATCH.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn ensure_patches_only_the_changed_fields() {
    let server = MockServer::start().await;
    expect_get(&server, ok_json(store_json()), 1).await;
    let mut patched = store_json();
    patched["name"] = json!("Acme Europe");
    patched["is_syncing"] = json!(true);
    Mock::given(method("PATCH"))
        .and(path("/ecommerce/stores/acme-eu"))
        .and(body_json(
            json!({"name": "Acme Europe", "is_syncing": true}),
        ))
        .respond_with(ok_json(patched))
        .expect(1)
        .mount(&server)
        .await;
    let mut wanted = spec();
    wanted.name = "Acme Europe".into();
    wanted.is_syncing = Some(true);
    let ensured = ensure(&server, &wanted).await.unwrap();
    let EnsureOutcome::Patched(changes) = ensured.outcome else {
        panic!("{:?}", ensured.outcome);
    };
    assert_eq!(changes.name.as_deref(), Some("Acme Europe"));
    assert_eq!(changes.is_syncing, Some(true));
    assert!(ensured.store.is_syncing);
}

#[tokio::test]
async fn ensure_refuses_a_store_linked_to_another_audience() {
    let server = MockServer::start().await;
    let mut elsewhere = store_json();
    elsewhere["list_id"] = json!("zz9zz9zz9z");
    expect_get(&server, ok_json(elsewhere), 1).await;
    let err = ensure(&server, &spec()).await.unwrap_err();
    match &err {
        Error::StoreLinkedToOtherAudience {
            store_id,
            expected_list_id,
            actual_list_id,
        } => {
            assert_eq!(store_id.as_str(), "acme-eu");
            assert_eq!(expected_list_id.as_str(), "a1b2c3d4e5");
            assert_eq!(actual_list_id.as_str(), "zz9zz9zz9z");
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("zz9zz9zz9z") && message.contains("a1b2c3d4e5"),
        "{message}"
    );
}

#[tokio::test]
async fn ensure_checked_writes_nothing_to_a_store_its_check_refuses() {
    let server = MockServer::start().await;
    let mut theirs = store_json();
    theirs["platform"] = json!("Shopify");
    theirs["name"] = json!("Their shop");
    expect_get(&server, ok_json(theirs), 1).await;
    let err = client(&server)
        .await
        .ecommerce()
        .ensure_store_checked(&spec(), |store| match store.platform.as_deref() {
            Some("Shopify") => Err("another platform feeds it".into()),
            _ => Ok(()),
        })
        .await
        .unwrap_err();
    match &err {
        Error::StoreRefused { store_id, reason } => {
            assert_eq!(store_id.as_str(), "acme-eu");
            assert_eq!(reason, "another platform feeds it");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("another platform feeds it"),
        "{err}"
    );
    // Only the GET arrived: the name differs, yet no PATCH was sent.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn ensure_checked_does_not_ask_about_a_store_it_creates() {
    let server = MockServer::start().await;
    expect_get(&server, not_found(), 1).await;
    Mock::given(method("POST"))
        .and(path("/ecommerce/stores"))
        .respond_with(ok_json(store_json()))
        .expect(1)
        .mount(&server)
        .await;
    let ensured = client(&server)
        .await
        .ecommerce()
        .ensure_store_checked(&spec(), |_| Err("never asked".into()))
        .await
        .unwrap();
    assert_eq!(ensured.outcome, EnsureOutcome::Created);
}

#[tokio::test]
async fn ensure_passes_other_errors_through_without_writing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ecommerce/stores/acme-eu"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "type": "t", "title": "API Key Invalid", "status": 401,
            "detail": "Your API key may be invalid.", "instance": "i"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = ensure(&server, &spec()).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
}
