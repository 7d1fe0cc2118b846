//! Fake QAD browse API over plain HTTP: paging with `HasMoreParams`, row keys, bad requests.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use reqwest::{Client, StatusCode};
use serde_json::Value;
use testkit::qad::{BrowseIds, FakeQad, Seeding};

async fn get(qad: &FakeQad, query: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = Client::new()
        .get(format!("{}/api/qracore/browses", qad.base_url()))
        .basic_auth(qad.username(), Some(qad.password()))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn page(qad: &FakeQad, browse_id: &str, page: usize, size: usize) -> Value {
    let page_text = page.to_string();
    let size_text = size.to_string();
    let action = if page == 1 { "first" } else { "next" };
    let (status, body) = get(
        qad,
        &[
            ("browseId", browse_id),
            ("page", &page_text),
            ("pageSize", &size_text),
            ("pageAction", action),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn has_more(body: &Value) -> &str {
    body["auxillaryData"]["HasMoreParams"].as_str().unwrap()
}

fn rows(body: &Value) -> &Vec<Value> {
    body["data"].as_array().unwrap()
}

#[tokio::test]
async fn pages_cover_every_row_once_and_say_when_more_follow() {
    let qad = FakeQad::builder()
        .seeding(Seeding::new(1).customers(50))
        .start()
        .await
        .unwrap();
    let id = qad.browse_ids().customers.clone();
    let mut codes = Vec::new();
    let mut flags = Vec::new();
    for n in 1..=3 {
        let body = page(&qad, &id, n, 20).await;
        flags.push(has_more(&body).to_owned());
        codes.extend(
            rows(&body)
                .iter()
                .map(|r| r["customer.customerCode"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(flags, ["true", "true", "false"]);
    let expected: Vec<String> = qad
        .customers()
        .into_iter()
        .map(|c| c.customer_code)
        .collect();
    assert_eq!(codes, expected);

    // Past the end: an empty page, nothing more.
    let beyond = page(&qad, &id, 4, 20).await;
    assert!(rows(&beyond).is_empty());
    assert_eq!(has_more(&beyond), "false");
}

#[tokio::test]
async fn an_exactly_full_last_page_says_no_more() {
    let qad = FakeQad::builder()
        .seeding(Seeding::new(1).customers(40))
        .start()
        .await
        .unwrap();
    let id = qad.browse_ids().customers.clone();
    let second = page(&qad, &id, 2, 20).await;
    assert_eq!(rows(&second).len(), 20);
    assert_eq!(has_more(&second), "false");
}

#[tokio::test]
async fn without_page_or_page_action_qad_answers_zero_rows() {
    let qad = FakeQad::start().await.unwrap();
    let id = qad.browse_ids().customers.clone();
    for query in [
        vec![("browseId", id.as_str()), ("pageSize", "10")],
        vec![("browseId", id.as_str()), ("page", "1"), ("pageSize", "10")],
        vec![("browseId", id.as_str()), ("pageAction", "first")],
    ] {
        let (status, body) = get(&qad, &query).await;
        assert_eq!(status, StatusCode::OK);
        assert!(rows(&body).is_empty(), "{query:?}");
        assert_eq!(has_more(&body), "false");
    }
}

#[tokio::test]
async fn a_capped_page_size_still_reports_more() {
    let qad = FakeQad::builder().max_page_size(5).start().await.unwrap();
    let body = page(&qad, &qad.browse_ids().items.clone(), 1, 20).await;
    assert_eq!(rows(&body).len(), 5);
    assert_eq!(has_more(&body), "true");
}

#[tokio::test]
async fn rows_carry_flat_dotted_keys_with_blanks_for_missing_values() {
    let qad = FakeQad::builder()
        .seeding(
            Seeding::new(5)
                .customers(20)
                .missing_field_share(1.0)
                .invalid_email_share(0.0)
                .duplicate_email_share(0.0),
        )
        .start()
        .await
        .unwrap();
    let body = page(&qad, &qad.browse_ids().customers.clone(), 1, 20).await;
    let keys = [
        "customerCode",
        "sharedSetCode",
        "businessRelationCode",
        "addressName",
        "addressSearchName",
        "street1",
        "street2",
        "street3",
        "city",
        "zipCode",
        "stateCode",
        "countryCode",
        "EMail",
        "telephone",
        "fax",
        "webSite",
        "currencyCode",
        "customerCurrencyCode",
        "languageCode",
        "creditTermsCode",
        "customerTypeCode",
        "isActive",
        "lastModifiedDate",
        "lastModifiedTime",
        "lastModifiedUser",
        "customShort1",
    ];
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
    assert_eq!(rows(&body).len(), 20);
    for row in rows(&body) {
        for key in keys {
            assert!(
                !row[format!("customer.{key}")].is_null(),
                "customer.{key} missing in {row}"
            );
        }
        // Every customer lost at least one field, shown blank rather than absent.
        assert!(
            droppable
                .iter()
                .any(|key| row[format!("customer.{key}")] == ""),
            "{row}"
        );
    }
}

#[tokio::test]
async fn items_orders_and_lines_have_their_own_browses() {
    let qad = FakeQad::builder()
        .seeding(Seeding::new(2).items(7).sales_orders(6))
        .start()
        .await
        .unwrap();
    let ids = qad.browse_ids().clone();

    let items = page(&qad, &ids.items, 1, 100).await;
    assert_eq!(rows(&items).len(), 7);
    let item = &rows(&items)[0];
    for key in [
        "itemCode",
        "description",
        "productLine",
        "itemStatus",
        "price",
        "lastModifiedDate",
    ] {
        assert!(!item[format!("item.{key}")].is_null(), "item.{key}");
    }
    assert!(item["item.price"].is_number());

    let orders = page(&qad, &ids.sales_orders, 1, 100).await;
    assert_eq!(rows(&orders).len(), 6);
    let order = &rows(&orders)[0];
    for key in [
        "salesOrderNumber",
        "soldToCustomerCode",
        "billToCustomerCode",
        "currencyCode",
        "orderDate",
        "customerPO",
    ] {
        assert!(
            !order[format!("salesOrder.{key}")].is_null(),
            "salesOrder.{key}"
        );
    }

    let line_count: usize = qad.sales_orders().iter().map(|o| o.lines.len()).sum();
    let lines = page(&qad, &ids.sales_order_lines, 1, 100).await;
    assert_eq!(rows(&lines).len(), line_count);
    let line = &rows(&lines)[0];
    for key in [
        "salesOrderNumber",
        "salesOrderLine",
        "itemCode",
        "quantityOrdered",
        "listPrice",
        "netPrice",
        "discount",
    ] {
        assert!(
            !line[format!("salesOrderLine.{key}")].is_null(),
            "salesOrderLine.{key}"
        );
    }
}

#[tokio::test]
async fn browse_ids_are_configurable() {
    let ids = BrowseIds {
        customers: "urn:browse:mfg:cm007".to_owned(),
        ..BrowseIds::default()
    };
    let qad = FakeQad::builder().browse_ids(ids).start().await.unwrap();
    let legacy = page(&qad, "urn:browse:mfg:cm007", 1, 5).await;
    assert_eq!(rows(&legacy).len(), 5);

    let (status, body) = get(
        &qad,
        &[
            ("browseId", "urn:browse:bebrowse:com.qad.erp.base.customers"),
            ("page", "1"),
            ("pageAction", "first"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errors"][0]["code"], "404");
    assert_eq!(body["errors"][0]["fieldName"], "browseId");
}

#[tokio::test]
async fn malformed_paging_parameters_are_400_with_bare_errors() {
    let qad = FakeQad::start().await.unwrap();
    let id = qad.browse_ids().customers.clone();
    let cases = [
        (vec![("page", "0"), ("pageAction", "first")], "page"),
        (vec![("page", "x"), ("pageAction", "first")], "page"),
        (vec![("page", "1"), ("pageAction", "last")], "pageAction"),
        (
            vec![("page", "1"), ("pageAction", "first"), ("pageSize", "0")],
            "pageSize",
        ),
    ];
    for (extra, field) in cases {
        let mut query = vec![("browseId", id.as_str())];
        query.extend(extra);
        let (status, body) = get(&qad, &query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query:?}");
        assert_eq!(body["errors"][0]["fieldName"], field);
        assert_eq!(body["errors"][0]["code"], "400");
    }
    let (status, body) = get(&qad, &[("page", "1"), ("pageAction", "first")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["fieldName"], "browseId");
}

#[tokio::test]
async fn rows_follow_changes_to_the_data_and_the_date_style() {
    let qad = FakeQad::builder()
        .today(chrono::NaiveDate::from_ymd_opt(2026, 4, 2).unwrap())
        .start()
        .await
        .unwrap();
    let id = qad.browse_ids().customers.clone();
    let before = page(&qad, &id, 1, 1).await;
    assert!(before["data"][0]["customer.lastModifiedDate"]
        .as_str()
        .unwrap()
        .starts_with("2025-"));

    qad.update_customer("C0000001", |c| c.city = Some("Reykjavík".into()));
    let changed = page(&qad, &id, 1, 1).await;
    assert_eq!(changed["data"][0]["customer.city"], "Reykjavík");
    assert_eq!(
        changed["data"][0]["customer.lastModifiedDate"],
        "2026-04-02T00:00:00.000Z"
    );

    qad.set_date_style(testkit::qad::DateStyle::Plain);
    let plain = page(&qad, &id, 1, 1).await;
    assert_eq!(plain["data"][0]["customer.lastModifiedDate"], "2026-04-02");
}

/// Customers are generated from the seed as they are read: a tenant of 50,000 serves the
/// same rows `Seeding` generates, at any page, and changes made since start (updated, added,
/// deleted) show in key order, in date filters and in the document read.
#[tokio::test]
async fn a_large_generated_tenant_serves_seeded_rows_and_its_changes() {
    let seeding = Seeding::new(4).customers(50_000);
    let qad = FakeQad::builder()
        .seeding(seeding.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(qad.customer_count(), 50_000);
    let id = qad.browse_ids().customers.clone();
    let code = |row: &Value| row["customer.customerCode"].as_str().unwrap().to_owned();

    let last = page(&qad, &id, 500, 100).await;
    assert_eq!(has_more(&last), "false");
    let seeded: Vec<String> = (49_900..50_000)
        .map(|i| seeding.customer(i).unwrap().customer_code)
        .collect();
    assert_eq!(rows(&last).iter().map(code).collect::<Vec<_>>(), seeded);
    let seeded_row = seeding
        .customer(49_950)
        .unwrap()
        .to_browse_row(testkit::qad::DateStyle::default());
    assert_eq!(rows(&last)[50], seeded_row);

    assert!(qad.update_customer("C0030000", |c| c.city = Some("Lyon".into())));
    assert!(qad.remove_customer("C0030001"));
    let mut added = seeding.customer(0).unwrap();
    added.customer_code = "C0030000B".into();
    qad.upsert_customer(added);
    let around = page(&qad, &id, 300, 100).await;
    let codes: Vec<String> = rows(&around).iter().map(code).collect();
    assert_eq!(codes[98..], ["C0029999", "C0030000"]);
    let next = page(&qad, &id, 301, 100).await;
    let codes: Vec<String> = rows(&next).iter().map(code).collect();
    assert_eq!(codes[..3], ["C0030000B", "C0030002", "C0030003"]);

    // Only the two changed customers carry today's date (seeded dates are in 2025).
    let today = qad.today().format("%Y-%m-%d").to_string();
    let filter = format!("lastModifiedDate,ge,{today},literal");
    let (status, body) = get(
        &qad,
        &[
            ("browseId", id.as_str()),
            ("page", "1"),
            ("pageSize", "50"),
            ("pageAction", "first"),
            ("filter", filter.as_str()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let changed: Vec<String> = rows(&body).iter().map(code).collect();
    assert_eq!(changed, ["C0030000", "C0030000B"]);
    assert_eq!(rows(&body)[0]["customer.city"], "Lyon");
    assert_eq!(qad.customer("C0030001"), None);
}
