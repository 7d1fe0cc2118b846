//! Typed customer reads: field mapping, custom fields, incremental reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::NaiveDate;
use common::*;
use futures::TryStreamExt;
use qad_client::{Client, Dedup, Error, FieldMap, ReadConfig, Record};
use serde_json::json;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CUSTOMERS: &str = "urn:browse:bebrowse:com.qad.erp.base.customers";

/// The keys of the customers modified since `since` that `dedup` passes on.
async fn fresh_keys(client: &Client, since: NaiveDate, dedup: &mut Dedup) -> Vec<String> {
    let read: Vec<_> = client
        .customers()
        .modified_since(since)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    read.iter()
        .filter(|c| dedup.observe_record(*c))
        .map(|c| c.key())
        .collect()
}

fn customer_row(code: &str, time: i64) -> serde_json::Value {
    json!({
        "customer.customerCode": code,
        "customer.sharedSetCode": "SHARED",
        "customer.addressName": "Acme GmbH",
        "customer.street1": "Hauptstr. 1",
        "customer.street2": "",
        "customer.city": "München",
        "customer.countryCode": "DE",
        "customer.EMail": "buy@acme-industrial.com",
        "customer.currencyCode": "EUR",
        "customer.isActive": true,
        "customer.lastModifiedDate": "2025-03-04T00:00:00.000Z",
        "customer.lastModifiedTime": time,
        "customer.customShort1": "VIP",
        "customer_rowid": "0x0000000000123"
    })
}

async fn setup() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    server
}

#[tokio::test]
async fn default_browse_rows_decode_into_typed_customers_keeping_custom_fields() {
    let server = setup().await;
    Mock::given(path(browse_path()))
        .and(query_param("browseId", CUSTOMERS))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(browse_body(vec![customer_row("C1", 3600)], false)),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let page = client(&server).customers().send().await.unwrap();
    let c = &page.items[0];
    assert_eq!(c.customer_code.as_str(), "C1");
    assert_eq!(c.address_name.as_deref(), Some("Acme GmbH"));
    assert_eq!(c.street2, None, "blank browse fields are None");
    assert_eq!(c.city.as_deref(), Some("München"));
    assert_eq!(c.email.as_deref(), Some("buy@acme-industrial.com"));
    assert_eq!(c.is_active, Some(true));
    assert_eq!(c.last_modified_date, NaiveDate::from_ymd_opt(2025, 3, 4));
    assert_eq!(c.last_modified_time, Some(3600));
    assert_eq!(c.extra["customer.customShort1"], "VIP");
    assert_eq!(c.extra["customer_rowid"], "0x0000000000123");
    assert!(!c.extra.contains_key("customer.customerCode"));
    assert_eq!(c.key(), "C1");
}

#[tokio::test]
async fn other_prefixes_and_business_document_keys_decode_too() {
    let server = setup().await;
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(
            vec![
                json!({"customerV2.customerCode": "C2", "customerV2.EMail": "a@b-industrial.com"}),
                json!({"customerCode": "C3", "EMail": "c@d-industrial.com", "customShort2": 7}),
            ],
            false,
        )))
        .mount(&server)
        .await;
    let page = client(&server).customers().send().await.unwrap();
    assert_eq!(page.items[0].email.as_deref(), Some("a@b-industrial.com"));
    assert_eq!(page.items[1].customer_code.as_str(), "C3");
    assert_eq!(page.items[1].extra["customShort2"], 7);
}

#[tokio::test]
async fn modified_since_filters_with_the_overlap_window() {
    let server = MockServer::start().await;
    // Two clients, two logins.
    mount_token(&server, "tok", 2).await;
    Mock::given(path(browse_path()))
        .and(query_param(
            "filter",
            "customer.lastModifiedDate,ge,2025-03-03,literal",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(vec![], false)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(browse_path()))
        .and(query_param(
            "filter",
            "cm_mstr.cm_mod,ge,2025-03-01,literal",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(vec![], false)))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let since = NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
    client(&server)
        .customers()
        .modified_since(since)
        .send()
        .await
        .unwrap();

    let tuned = ReadConfig::new(
        CUSTOMERS.parse().unwrap(),
        FieldMap::prefixed("customer").map("modStamp", "cm_mstr.cm_mod"),
    )
    .with_modified_field("modStamp")
    .with_overlap_days(3);
    let client = builder(&server, oauth()).customers(tuned).build().unwrap();
    client
        .customers()
        .modified_since(since)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn overlapping_reads_deduplicate_by_key_and_stamp() {
    let server = setup().await;
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(
            vec![customer_row("C1", 100), customer_row("C2", 100)],
            false,
        )))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    // The next poll re-reads C1 unchanged and C2 changed later that day.
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(
            vec![customer_row("C1", 100), customer_row("C2", 200)],
            false,
        )))
        .mount(&server)
        .await;

    let client = client(&server);
    let since = NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
    let mut dedup = Dedup::new();
    let fresh = fresh_keys(&client, since, &mut dedup).await;
    assert_eq!(fresh, ["C1", "C2"]);
    let fresh = fresh_keys(&client, since, &mut dedup).await;
    assert_eq!(fresh, ["C2"]);
}

#[tokio::test]
async fn the_legacy_cm007_preset_maps_table_columns() {
    let server = setup().await;
    Mock::given(path(browse_path()))
        .and(query_param("browseId", "urn:browse:mfg:cm007"))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(
            vec![json!({
                "cm_mstr.cm_addr": "10C1001",
                "cm_mstr.cm_curr": "USD",
                "ad_mstr.ad_name": "Widgets Inc",
                "ad_mstr.ad_city": "Austin",
                "ad_mstr.ad_mod_date": "2024-11-30",
                "local_variables.l_x": "y"
            })],
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server, oauth())
        .customers(ReadConfig::mfg_customers())
        .build()
        .unwrap();
    let c = client.customers().send().await.unwrap().items.remove(0);
    assert_eq!(c.customer_code.as_str(), "10C1001");
    assert_eq!(c.currency_code.as_deref(), Some("USD"));
    assert_eq!(c.address_name.as_deref(), Some("Widgets Inc"));
    assert_eq!(c.last_modified_date, NaiveDate::from_ymd_opt(2024, 11, 30));
    assert_eq!(c.extra["local_variables.l_x"], "y");
}

#[tokio::test]
async fn a_row_without_the_key_is_a_decode_error_naming_the_record() {
    let server = setup().await;
    Mock::given(path(browse_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(
            vec![json!({"customer.customerCode": "", "customer.city": "Oslo"})],
            false,
        )))
        .mount(&server)
        .await;
    match client(&server).customers().send().await.unwrap_err() {
        Error::Decode { context, source } => {
            assert_eq!(context, "customer row");
            assert!(source.to_string().contains("blank"), "{source}");
        }
        other => panic!("{other:?}"),
    }
}
