//! `DELETE …/orders/{order_id}` and `DELETE …/products/{product_id}/variants/{variant_id}`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use mailchimp_client::ecommerce::{OrderId, ProductId, StoreId, VariantId};
use mailchimp_client::Error;
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn delete_an_order() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/ecommerce/stores/acme-eu/orders/SO-1001"))
        .and(basic_auth("anystring", common::KEY))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/ecommerce/stores/acme-eu/orders/SO-404"))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let orders = common::client(&server)
        .await
        .ecommerce()
        .store(&StoreId::from("acme-eu"))
        .orders();
    orders.delete(&OrderId::from("SO-1001")).await.unwrap();
    let err = orders.delete(&OrderId::from("SO-404")).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn delete_a_variant() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(
            "/ecommerce/stores/acme-eu/products/WIDGET-1/variants/WIDGET-1-RED",
        ))
        .and(basic_auth("anystring", common::KEY))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(
            "/ecommerce/stores/acme-eu/products/WIDGET-1/variants/GONE",
        ))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let variants = common::client(&server)
        .await
        .ecommerce()
        .store(&StoreId::from("acme-eu"))
        .products()
        .variants(&ProductId::from("WIDGET-1"));
    variants
        .delete(&VariantId::from("WIDGET-1-RED"))
        .await
        .unwrap();
    let err = variants.delete(&VariantId::from("GONE")).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}
