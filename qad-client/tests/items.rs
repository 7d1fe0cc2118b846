//! Typed item reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::NaiveDate;
use common::*;
use qad_client::ReadConfig;
use rust_decimal::Decimal;
use serde_json::json;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn default_item_rows_decode_with_exact_decimals() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    Mock::given(path(browse_path()))
        .and(query_param(
            "browseId",
            "urn:browse:bebrowse:com.qad.erp.base.items",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(
            vec![json!({
                "item.itemCode": "10-1000",
                "item.description": "Widget",
                "item.description2": "",
                "item.unitOfMeasure": "EA",
                "item.productLine": "10",
                "item.itemStatus": "AC",
                "item.price": 12.5,
                "item.lastModifiedDate": "2025-03-04",
                "item.customDecimal1": 0.25
            })],
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let item = client(&server)
        .items()
        .send()
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(item.item_code.as_str(), "10-1000");
    assert_eq!(item.description2, None);
    assert_eq!(item.price, Some(Decimal::new(125, 1)));
    assert_eq!(item.last_modified_date, NaiveDate::from_ymd_opt(2025, 3, 4));
    assert_eq!(item.extra["item.customDecimal1"], 0.25);
}

#[tokio::test]
async fn the_legacy_gp340_preset_filters_on_pt_mod_date() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    Mock::given(path(browse_path()))
        .and(query_param("browseId", "urn:browse:mfg:gp340"))
        .and(query_param("filter", "pt_mstr.pt_mod_date,ge,2025-02-28,literal"))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(
            vec![json!({"pt_mstr.pt_part": "02-0001", "pt_mstr.pt_desc1": "Bolt", "pt_mstr.pt_price": "0.10", "pt_mstr.pt_mod_date": "2025-03-01"})],
            false,
        )))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let client = builder(&server, oauth())
        .items(ReadConfig::mfg_items())
        .build()
        .unwrap();
    let since = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    let item = client
        .items()
        .modified_since(since)
        .send()
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(item.item_code.as_str(), "02-0001");
    assert_eq!(item.description.as_deref(), Some("Bolt"));
    assert_eq!(item.price.map(|p| p.to_string()).as_deref(), Some("0.10"));
}
