//! Drift helpers: changes made in Mailchimp behind a connector's back, seen through plain HTTP.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use mailchimp_support::Api;
use serde_json::json;

async fn with_member_and_catalog() -> Api {
    let api = Api::start().await;
    let list = api.list();
    api.put(
        &format!("/lists/{list}/members/ann@northwind-mfg.com"),
        json!({"email_address": "ann@northwind-mfg.com", "status_if_new": "subscribed",
               "merge_fields": {"FNAME": "Ann", "LNAME": "Lee"}}),
    )
    .await
    .ok();
    api.post(
        "/ecommerce/stores",
        json!({"id": "shop", "list_id": list, "name": "Shop", "currency_code": "USD"}),
    )
    .await
    .ok();
    api.put(
        "/ecommerce/stores/shop/products/P1",
        json!({"id": "P1", "title": "Pump", "variants": [{"id": "P1", "title": "Pump", "price": 12.5}]}),
    )
    .await
    .ok();
    api.put(
        "/ecommerce/stores/shop/customers/C1",
        json!({"id": "C1", "email_address": "ann@northwind-mfg.com", "opt_in_status": false}),
    )
    .await
    .ok();
    api
}

#[tokio::test]
async fn a_deleted_member_is_gone_and_can_be_added_again() {
    let api = with_member_and_catalog().await;
    let list = api.list();
    let path = format!("/lists/{list}/members/ann@northwind-mfg.com");
    api.fake
        .delete_member(&list, "Ann@Northwind-Mfg.com")
        .unwrap();
    api.get(&path).await.problem(404, "Resource Not Found");
    let members = api.get(&format!("/lists/{list}/members")).await;
    assert_eq!(members.ok()["total_items"], 0);
    let again = api
        .put(
            &path,
            json!({"email_address": "ann@northwind-mfg.com", "status_if_new": "subscribed"}),
        )
        .await;
    assert_eq!(again.ok()["status"], "subscribed", "not forgotten");
    assert!(api
        .fake
        .delete_member(&list, "nobody@northwind-mfg.com")
        .is_err());
    assert!(api
        .fake
        .delete_member("no-list", "ann@northwind-mfg.com")
        .is_err());
}

#[tokio::test]
async fn an_edited_merge_field_reads_back_and_keeps_the_others() {
    let api = with_member_and_catalog().await;
    let list = api.list();
    api.fake
        .set_merge_field(&list, "ann@northwind-mfg.com", "FNAME", "Anne")
        .unwrap();
    let member = api
        .get(&format!("/lists/{list}/members/ann@northwind-mfg.com"))
        .await;
    assert_eq!(member.ok()["merge_fields"]["FNAME"], "Anne");
    assert_eq!(member.ok()["merge_fields"]["LNAME"], "Lee");
    assert!(api
        .fake
        .set_merge_field(&list, "nobody@northwind-mfg.com", "FNAME", "X")
        .is_err());
}

#[tokio::test]
async fn a_removed_product_and_a_changed_price_read_back() {
    let api = with_member_and_catalog().await;
    api.fake
        .set_variant_price("shop", "P1", "P1", 99.0)
        .unwrap();
    let product = api.get("/ecommerce/stores/shop/products/P1").await;
    assert_eq!(product.ok()["variants"][0]["price"], 99.0);
    assert!(api.fake.set_variant_price("shop", "P1", "V9", 1.0).is_err());
    api.fake.delete_product("shop", "P1").unwrap();
    api.get("/ecommerce/stores/shop/products/P1")
        .await
        .problem(404, "Resource Not Found");
    let products = api.get("/ecommerce/stores/shop/products").await;
    assert_eq!(products.ok()["total_items"], 0);
    assert!(api.fake.delete_product("shop", "P1").is_err());
}

#[tokio::test]
async fn a_removed_customer_is_gone_and_its_member_stays() {
    let api = with_member_and_catalog().await;
    let list = api.list();
    api.fake.delete_customer("shop", "C1").unwrap();
    api.get("/ecommerce/stores/shop/customers/C1")
        .await
        .problem(404, "Resource Not Found");
    api.get(&format!("/lists/{list}/members/ann@northwind-mfg.com"))
        .await
        .ok();
    assert!(api.fake.delete_customer("shop", "C1").is_err());
    assert!(api.fake.delete_customer("no-shop", "C1").is_err());
}
