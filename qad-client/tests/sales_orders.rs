//! Sales order headers and lines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::NaiveDate;
use common::*;
use qad_client::SalesOrderNumber;
use rust_decimal::Decimal;
use serde_json::json;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HEADERS: &str = "urn:browse:bebrowse:com.qad.erp.sales.salesOrders";
const LINES: &str = "urn:browse:bebrowse:com.qad.erp.sales.salesOrderLines";

async fn setup() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    Mock::given(path(browse_path()))
        .and(query_param("browseId", HEADERS))
        .and(query_param(
            "filter",
            "salesOrder.salesOrderNumber,eq,SO1,literal",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(
            vec![json!({
                "salesOrder.salesOrderNumber": "SO1",
                "salesOrder.soldToCustomerCode": "C1",
                "salesOrder.currencyCode": "EUR",
                "salesOrder.orderDate": "2025-03-04T00:00:00.000Z",
                "salesOrder.customerPO": "PO-77",
                "salesOrder.customLogical1": "yes"
            })],
            false,
        )))
        .mount(&server)
        .await;
    Mock::given(path(browse_path()))
        .and(query_param("browseId", LINES))
        .and(query_param("filter", "salesOrderLine.salesOrderNumber,eq,SO1,literal"))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(
            vec![
                json!({"salesOrderLine.salesOrderNumber": "SO1", "salesOrderLine.salesOrderLine": 1,
                       "salesOrderLine.itemCode": "10-1000", "salesOrderLine.quantityOrdered": "2",
                       "salesOrderLine.listPrice": 12.5, "salesOrderLine.discount": 10,
                       "salesOrderLine.netPrice": "11.25"}),
                json!({"salesOrderLine.salesOrderNumber": "SO1", "salesOrderLine.salesOrderLine": "2",
                       "salesOrderLine.itemCode": "10-2000", "salesOrderLine.quantityOrdered": 1}),
            ],
            false,
        )))
        .mount(&server)
        .await;
    Mock::given(path(browse_path()))
        .and(query_param("browseId", HEADERS))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(vec![], false)))
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    server
}

#[tokio::test]
async fn a_sales_order_reads_with_its_lines() {
    let server = setup().await;
    let order = client(&server)
        .sales_order(&"SO1".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        order.sold_to_customer_code.as_ref().map(|c| c.as_str()),
        Some("C1")
    );
    assert_eq!(order.order_date, NaiveDate::from_ymd_opt(2025, 3, 4));
    assert_eq!(order.customer_po.as_deref(), Some("PO-77"));
    assert_eq!(order.extra["salesOrder.customLogical1"], "yes");
    assert_eq!(order.lines.len(), 2);
    let first = &order.lines[0];
    assert_eq!(first.sales_order_line, Some(1));
    assert_eq!(first.quantity_ordered, Some(Decimal::new(2, 0)));
    assert_eq!(first.net_price, Some(Decimal::new(1125, 2)));
    assert_eq!(first.discount, Some(Decimal::new(10, 0)));
    assert_eq!(order.lines[1].sales_order_line, Some(2));
    assert_eq!(qad_client::Record::key(first), "SO1/1");
}

#[tokio::test]
async fn a_missing_sales_order_is_none() {
    let server = setup().await;
    let number = SalesOrderNumber::from("SO404");
    assert_eq!(client(&server).sales_order(&number).await.unwrap(), None);
}
