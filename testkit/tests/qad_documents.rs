//! Fake QAD business-document reads over plain HTTP, in both envelopes.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use testkit::qad::{DateStyle, Envelope, FakeQad, Seeding};

async fn read(qad: &FakeQad, document: &str, query: &[(&str, &str)]) -> Value {
    let response = Client::new()
        .get(format!("{}/api/erp/{document}", qad.base_url()))
        .basic_auth(qad.username(), Some(qad.password()))
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn customers_come_in_the_data_envelope_by_default() {
    let qad = FakeQad::start().await.unwrap();
    let body = read(
        &qad,
        "customerV2s",
        &[
            ("customerCode", "C0000001"),
            ("viewUri", "urn:be:com.qad.base.customer.ICustomerV2"),
        ],
    )
    .await;
    let list = body["data"]["customerV2s"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let doc = &list[0];
    let seeded = qad.customer("C0000001").unwrap();
    assert_eq!(doc["customerCode"], "C0000001");
    assert_eq!(doc["addressName"], json!(seeded.address_name));
    assert_eq!(doc["EMail"], json!(seeded.email));
    assert_eq!(doc["isActive"], seeded.is_active);
    assert_eq!(doc["lastModifiedTime"], seeded.last_modified_time);
    assert_eq!(
        doc["lastModifiedDate"],
        format!("{}T00:00:00.000Z", seeded.last_modified_date)
    );
    assert_eq!(
        doc["uri"],
        "urn:be:com.qad.base.customer.ICustomerV2:SHARED.C0000001"
    );
    assert!(doc["customShort1"].is_string());
}

#[tokio::test]
async fn the_bare_envelope_can_be_chosen_at_start_or_switched_on() {
    let bare = FakeQad::builder()
        .envelope(Envelope::Bare)
        .start()
        .await
        .unwrap();
    let body = read(&bare, "items", &[("itemCode", "ITEM-00002")]).await;
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(body["items"][0]["itemCode"], "ITEM-00002");

    let qad = FakeQad::start().await.unwrap();
    qad.set_envelope(Envelope::Bare);
    let body = read(&qad, "salesOrders", &[("salesOrderNumber", "SO000001")]).await;
    assert_eq!(body["salesOrders"][0]["salesOrderNumber"], "SO000001");
    qad.set_envelope(Envelope::Data);
    let body = read(&qad, "salesOrders", &[("salesOrderNumber", "SO000001")]).await;
    assert_eq!(
        body["data"]["salesOrders"][0]["salesOrderNumber"],
        "SO000001"
    );
}

#[tokio::test]
async fn items_carry_price_domain_and_uri() {
    let qad = FakeQad::builder().domain("20EUR").start().await.unwrap();
    let body = read(&qad, "items", &[("itemCode", "ITEM-00003")]).await;
    let item = &body["data"]["items"][0];
    let seeded = qad
        .items()
        .into_iter()
        .find(|i| i.item_code == "ITEM-00003")
        .unwrap();
    assert_eq!(item["description"], seeded.description);
    assert_eq!(item["productLine"], seeded.product_line);
    assert_eq!(item["itemStatus"], seeded.item_status);
    assert_eq!(
        item["price"].as_f64().unwrap(),
        seeded.price_cents as f64 / 100.0
    );
    assert_eq!(item["domainCode"], "20EUR");
    assert_eq!(
        item["uri"],
        "urn:be:com.qad.base.item.IItem:20EUR.ITEM-00003"
    );
}

#[tokio::test]
async fn sales_orders_nest_their_lines() {
    let qad = FakeQad::builder()
        .seeding(Seeding::new(8).sales_orders(10).customer_po_share(1.0))
        .start()
        .await
        .unwrap();
    let seeded = qad.sales_orders().into_iter().next().unwrap();
    let body = read(
        &qad,
        "salesOrders",
        &[("salesOrderNumber", &seeded.sales_order_number)],
    )
    .await;
    let order = &body["data"]["salesOrders"][0];
    assert_eq!(order["soldToCustomerCode"], seeded.sold_to_customer_code);
    assert_eq!(order["billToCustomerCode"], seeded.bill_to_customer_code);
    assert_eq!(order["currencyCode"], seeded.currency_code);
    assert_eq!(order["customerPO"], json!(seeded.customer_po));
    assert!(order["customerPO"].as_str().unwrap().starts_with("PO-"));
    let lines = order["salesOrderLines"].as_array().unwrap();
    assert_eq!(lines.len(), seeded.lines.len());
    for (line, expected) in lines.iter().zip(&seeded.lines) {
        assert_eq!(line["salesOrderLine"], expected.line);
        assert_eq!(line["itemCode"], expected.item_code);
        assert_eq!(line["quantityOrdered"], expected.quantity_ordered);
        assert_eq!(line["discount"], expected.discount_percent);
        assert_eq!(
            line["listPrice"].as_f64().unwrap(),
            expected.list_price_cents as f64 / 100.0
        );
        assert_eq!(
            line["netPrice"].as_f64().unwrap(),
            expected.net_price_cents as f64 / 100.0
        );
    }
}

#[tokio::test]
async fn key_parameters_select_and_domains_scope() {
    let qad = FakeQad::builder()
        .seeding(Seeding::new(3).customers(12))
        .start()
        .await
        .unwrap();
    let all = read(&qad, "customerV2s", &[("customerCode", "")]).await;
    assert_eq!(all["data"]["customerV2s"].as_array().unwrap().len(), 12);
    let none = read(&qad, "customerV2s", &[("customerCode", "NOPE")]).await;
    assert_eq!(none, json!({"data": {"customerV2s": []}}));
    let other = read(
        &qad,
        "items",
        &[("itemCode", "ITEM-00001"), ("domainCode", "99XX")],
    )
    .await;
    assert_eq!(other, json!({"data": {"items": []}}));
    let same = read(
        &qad,
        "items",
        &[("itemCode", "ITEM-00001"), ("domainCode", "10USA")],
    )
    .await;
    assert_eq!(same["data"]["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn missing_fields_are_absent_keys_in_documents() {
    let qad = FakeQad::builder()
        .seeding(
            Seeding::new(6)
                .customers(10)
                .invalid_email_share(0.0)
                .duplicate_email_share(0.0)
                .missing_field_share(1.0),
        )
        .start()
        .await
        .unwrap();
    let body = read(&qad, "customerV2s", &[]).await;
    let docs = body["data"]["customerV2s"].as_array().unwrap();
    for (doc, seeded) in docs.iter().zip(qad.customers()) {
        assert_eq!(doc.get("EMail").is_none(), seeded.email.is_none(), "{doc}");
        assert_eq!(doc.get("city").is_none(), seeded.city.is_none(), "{doc}");
        assert!(doc.get("customerCode").is_some());
        let droppable = [
            "EMail",
            "telephone",
            "city",
            "zipCode",
            "addressName",
            "countryCode",
            "languageCode",
            "street1",
        ];
        assert!(droppable.iter().any(|key| doc.get(*key).is_none()), "{doc}");
    }
}

#[tokio::test]
async fn plain_dates_and_mutations_show_up() {
    let qad = FakeQad::builder()
        .date_style(DateStyle::Plain)
        .today(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap())
        .start()
        .await
        .unwrap();
    assert!(qad.update_customer("C0000004", |c| c.email =
        Some("new@northwind-mfg.com".into())));
    assert!(!qad.update_customer("C9999999", |_| {}));
    let body = read(&qad, "customerV2s", &[("customerCode", "C0000004")]).await;
    let doc = &body["data"]["customerV2s"][0];
    assert_eq!(doc["EMail"], "new@northwind-mfg.com");
    assert_eq!(doc["lastModifiedDate"], "2026-03-01");

    qad.set_date_style(DateStyle::IsoMidnight);
    let body = read(&qad, "customerV2s", &[("customerCode", "C0000004")]).await;
    assert_eq!(
        body["data"]["customerV2s"][0]["lastModifiedDate"],
        "2026-03-01T00:00:00.000Z"
    );
}
