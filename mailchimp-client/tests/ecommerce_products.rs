//! Products and variants against a mock Mailchimp.

// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use futures::TryStreamExt;
use mailchimp_client::ecommerce::{
    Decimal, ProductId, ProductInput, Products, StoreId, VariantId, VariantInput,
};
use mailchimp_client::{Client, Error};
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::{client, KEY};

const PRODUCT: &str = include_str!("fixtures/ecommerce/product.json");
const BASE: &str = "/ecommerce/stores/acme-eu/products";

fn products(client: &Client) -> Products {
    client
        .ecommerce()
        .store(&StoreId::from("acme-eu"))
        .products()
}

fn product_json() -> Value {
    serde_json::from_str(PRODUCT).unwrap()
}

fn variant_json(id: &str) -> Value {
    let mut variant = product_json()["variants"][0].clone();
    variant["id"] = json!(id);
    variant
}

#[tokio::test]
async fn upsert_puts_the_product_with_its_variants() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{BASE}/WIDGET-1")))
        .and(basic_auth("anystring", KEY))
        .and(body_json(json!({
            "id": "WIDGET-1", "title": "Widget", "url": "https://shop.acme.example/widget",
            "description": "A widget.", "type": "Hardware", "vendor": "Acme",
            "image_url": "https://shop.acme.example/widget.png",
            "variants": [{"id": "WIDGET-1-RED", "title": "Widget, red", "sku": "W1R",
                          "price": 19.99, "inventory_quantity": 42}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(product_json()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let mut variant = VariantInput::new(VariantId::from("WIDGET-1-RED"), "Widget, red");
    variant.sku = Some("W1R".into());
    variant.price = Some(Decimal::new(1999, 2));
    variant.inventory_quantity = Some(42);
    let mut product = ProductInput::new(ProductId::from("WIDGET-1"), "Widget", vec![variant]);
    product.url = Some("https://shop.acme.example/widget".into());
    product.description = Some("A widget.".into());
    product.product_type = Some("Hardware".into());
    product.vendor = Some("Acme".into());
    product.image_url = Some("https://shop.acme.example/widget.png".into());
    let saved = products(&client).upsert(&product).await.unwrap();
    assert_eq!(saved.product_type.as_deref(), Some("Hardware"));
    assert_eq!(saved.variants[0].price, Some(Decimal::new(1999, 2)));
    assert_eq!(saved.variants[0].inventory_quantity, Some(42));
    assert!(saved.published_at_foreign.is_none());
}

#[tokio::test]
async fn upsert_requires_a_complete_variant_before_any_request() {
    let server = MockServer::start().await;
    let client = client(&server).await;
    let bare = ProductInput::new(ProductId::from("P"), "P", vec![]);
    let err = products(&client).upsert(&bare).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "product.variants"));
    let untitled = ProductInput::new(
        ProductId::from("P"),
        "P",
        vec![VariantInput::new(VariantId::from("V"), "")],
    );
    let err = products(&client).upsert(&untitled).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { ref field, .. } if field == "product.variants[0].title")
    );
}

#[tokio::test]
async fn upsert_as_keeps_what_the_caller_asks_of_the_answer() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(format!("{BASE}/WIDGET-1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(product_json()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{BASE}/WIDGET-2")))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": "))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let variant = |id: &str| vec![VariantInput::new(VariantId::from(id), "Widget")];
    let product = ProductInput::new(ProductId::from("WIDGET-1"), "Widget", variant("W1"));
    products(&client)
        .upsert_as::<serde::de::IgnoredAny>(&product)
        .await
        .unwrap();
    // A cut-off answer is an error even when nothing of it is kept.
    let cut = ProductInput::new(ProductId::from("WIDGET-2"), "Widget", variant("W2"));
    let err = products(&client)
        .upsert_as::<serde::de::IgnoredAny>(&cut)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    // The product is checked before any request, as for `upsert`.
    let bare = ProductInput::new(ProductId::from("P"), "P", vec![]);
    let err = products(&client)
        .upsert_as::<serde::de::IgnoredAny>(&bare)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "product.variants"));
}

#[tokio::test]
async fn get_list_and_delete() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/WIDGET-1")))
        .and(query_param("exclude_fields", "_links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product_json()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .and(query_param("offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "store_id": "acme-eu", "products": [product_json()], "total_items": 1, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{BASE}/WIDGET-1")))
        .and(basic_auth("anystring", KEY))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let id = ProductId::from("WIDGET-1");
    let product = products(&client)
        .get(&id)
        .exclude_fields(["_links"])
        .send()
        .await
        .unwrap();
    assert_eq!(product.title, "Widget");
    let all: Vec<_> = products(&client)
        .list()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    products(&client).delete(&id).await.unwrap();
}

#[tokio::test]
async fn get_maps_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/NOPE")))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let err = products(&client)
        .get(&ProductId::from("NOPE"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found());
}

#[tokio::test]
async fn variant_upsert_and_stream_of_all_variants() {
    let server = MockServer::start().await;
    let variants = format!("{BASE}/WIDGET-1/variants");
    Mock::given(method("PUT"))
        .and(path(format!("{variants}/WIDGET-1-BLUE")))
        .and(basic_auth("anystring", KEY))
        .and(body_json(
            json!({"id": "WIDGET-1-BLUE", "title": "Widget, blue", "price": 21.5}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(variant_json("WIDGET-1-BLUE")))
        .expect(1)
        .mount(&server)
        .await;
    // 60 variants, more than the 50 a product read returns, over 2 pages.
    let first: Vec<_> = (0..50).map(|i| variant_json(&format!("V{i}"))).collect();
    let second: Vec<_> = (50..60).map(|i| variant_json(&format!("V{i}"))).collect();
    Mock::given(method("GET"))
        .and(path(variants.as_str()))
        .and(query_param("offset", "0"))
        .and(query_param("count", "50"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "store_id": "acme-eu", "product_id": "WIDGET-1", "variants": first, "total_items": 60
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(variants.as_str()))
        .and(query_param("offset", "50"))
        .and(query_param("count", "50"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "store_id": "acme-eu", "product_id": "WIDGET-1", "variants": second, "total_items": 60
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).await;
    let product_variants = products(&client).variants(&ProductId::from("WIDGET-1"));
    let mut blue = VariantInput::new(VariantId::from("WIDGET-1-BLUE"), "Widget, blue");
    blue.price = Some(Decimal::new(215, 1));
    product_variants.upsert(&blue).await.unwrap();
    let all: Vec<_> = product_variants
        .list()
        .count(50)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<String> = all.iter().map(|v| v.id.to_string()).collect();
    let expected: Vec<String> = (0..60).map(|i| format!("V{i}")).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn variant_upsert_checks_its_fields_first() {
    let server = MockServer::start().await;
    let client = client(&server).await;
    let err = products(&client)
        .variants(&ProductId::from("P"))
        .upsert(&VariantInput::new(VariantId::from(" "), "T"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "variant.id"));
}
