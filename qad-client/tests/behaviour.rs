//! The configurable tenant behaviours (`qad_client::Behaviour`) and the
//! browse reader's checks, against wiremock: each alternative is asked for
//! as configured, and a tenant behaving otherwise ends the read with a typed
//! error instead of a short or doubled read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::NaiveDate;
use common::*;
use futures::TryStreamExt;
use qad_client::{Behaviour, BrowseId, Client, Customer, Error, Page, Row};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ID: &str = "urn:browse:bebrowse:com.qad.erp.base.customers";

fn rows(codes: &[&str]) -> Vec<Value> {
    codes
        .iter()
        .map(|c| json!({"customer.customerCode": c, "customer.domainCode": "10USA"}))
        .collect()
}

fn behaviour(pairs: &[(&str, &str)]) -> Behaviour {
    let mut behaviour = Behaviour::default();
    for (name, value) in pairs {
        behaviour.set(name, value).unwrap();
    }
    behaviour
}

async fn setup(pairs: &[(&str, &str)]) -> (MockServer, Client) {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    let client = builder(&server, oauth())
        .domain("10USA")
        .behaviour(behaviour(pairs))
        .build()
        .unwrap();
    (server, client)
}

async fn page(server: &MockServer, page: &str, size: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(browse_path()))
        .and(query_param("browseId", ID))
        .and(query_param("page", page))
        .and(query_param("pageSize", size))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

async fn read(client: &Client, count: u32) -> qad_client::Result<Vec<Page<Customer>>> {
    client
        .customers()
        .count(count)
        .into_pages()
        .try_collect()
        .await
}

fn keys(pages: &[Page<Customer>]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p.items.iter().map(|c| c.customer_code.to_string()))
        .collect()
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == browse_path())
        .collect()
}

#[tokio::test]
async fn a_page_repeating_the_previous_one_is_an_overlap_error() {
    // A tenant that ignores `page` serves page 1 again.
    let (server, client) = setup(&[]).await;
    page(&server, "1", "2", browse_body(rows(&["A", "B"]), true)).await;
    page(&server, "2", "2", browse_body(rows(&["A", "B"]), true)).await;
    mount_catch_all(&server).await;
    let err = read(&client, 2).await.unwrap_err();
    assert!(
        matches!(&err, Error::PageOverlap { page: 2, key, .. } if key == "A"),
        "{err:?}"
    );
}

#[tokio::test]
async fn raw_rows_are_checked_for_overlap_too() {
    let (server, client) = setup(&[]).await;
    page(&server, "1", "2", browse_body(rows(&["A", "B"]), true)).await;
    page(&server, "2", "2", browse_body(rows(&["B", "C"]), true)).await;
    mount_catch_all(&server).await;
    let id: BrowseId = ID.parse().unwrap();
    let err = client
        .browse(&id)
        .count(2)
        .into_stream()
        .try_collect::<Vec<Row>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PageOverlap { .. }), "{err:?}");
}

#[tokio::test]
async fn a_short_page_without_has_more_after_pages_with_it_is_an_error() {
    let (server, client) = setup(&[]).await;
    page(&server, "1", "2", browse_body(rows(&["A", "B"]), true)).await;
    page(&server, "2", "2", json!({"data": rows(&["C"])})).await;
    mount_catch_all(&server).await;
    let err = read(&client, 2).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ShortPage {
                page: 2,
                served: 1,
                asked: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn without_has_more_anywhere_a_short_page_ends_the_read() {
    let (server, client) = setup(&[]).await;
    page(&server, "1", "2", json!({"data": rows(&["A", "B"])})).await;
    page(&server, "2", "2", json!({"data": rows(&["C"])})).await;
    mount_catch_all(&server).await;
    assert_eq!(keys(&read(&client, 2).await.unwrap()), ["A", "B", "C"]);
}

#[tokio::test]
async fn a_reported_cap_becomes_the_page_size() {
    // Asked 3, served 2 with more: the next page is page 2 of 2 rows, right
    // whether the tenant offsets by the served or the requested size.
    let (server, client) = setup(&[]).await;
    page(&server, "1", "3", browse_body(rows(&["A", "B"]), true)).await;
    page(&server, "2", "2", browse_body(rows(&["C", "D"]), true)).await;
    page(&server, "3", "2", browse_body(rows(&["E"]), false)).await;
    mount_catch_all(&server).await;
    assert_eq!(
        keys(&read(&client, 3).await.unwrap()),
        ["A", "B", "C", "D", "E"]
    );
}

#[tokio::test]
async fn a_silent_cap_is_never_exceeded_and_a_lower_one_is_an_error() {
    let (server, client) = setup(&[("paging.page_size_cap", "2")]).await;
    page(&server, "1", "2", browse_body(rows(&["A", "B"]), true)).await;
    page(&server, "2", "2", browse_body(rows(&["C"]), false)).await;
    mount_catch_all(&server).await;
    assert_eq!(keys(&read(&client, 500).await.unwrap()), ["A", "B", "C"]);

    let (server, client) = setup(&[("paging.page_size_cap", "3")]).await;
    page(&server, "1", "3", browse_body(rows(&["A", "B"]), true)).await;
    mount_catch_all(&server).await;
    let err = read(&client, 3).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ShortPage {
                served: 2,
                asked: 3,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn keys_out_of_order_are_flagged_on_the_page() {
    let (server, client) = setup(&[]).await;
    page(&server, "1", "2", browse_body(rows(&["D", "E"]), true)).await;
    page(&server, "2", "2", browse_body(rows(&["A", "B"]), false)).await;
    mount_catch_all(&server).await;
    let pages = read(&client, 2).await.unwrap();
    assert!(pages[0].in_key_order());
    assert!(!pages[1].in_key_order());
}

#[tokio::test]
async fn a_row_of_another_domain_is_an_error_unless_rows_carry_the_scope() {
    let mixed = json!({"data": [
        {"customer.customerCode": "A", "customer.domainCode": "10USA"},
        {"customer.customerCode": "A", "customer.domainCode": "20EUR"},
    ], "auxillaryData": {"HasMoreParams": "false"}});
    let (server, client) = setup(&[]).await;
    page(&server, "1", "5", mixed.clone()).await;
    mount_catch_all(&server).await;
    let err = read(&client, 5).await.unwrap_err();
    assert!(
        matches!(&err, Error::OtherDomain { expected, found, .. } if expected == "10USA" && found == "20EUR"),
        "{err:?}"
    );

    let (server, client) = setup(&[("scope.domain", "rows")]).await;
    page(&server, "1", "5", mixed).await;
    mount_catch_all(&server).await;
    assert_eq!(keys(&read(&client, 5).await.unwrap()), ["A"]);
    let sent = requests(&server).await;
    assert!(query_values(&sent[0], "domainCode").is_empty());
}

#[tokio::test]
async fn each_domain_scope_is_sent_its_own_way() {
    let (server, client) = setup(&[]).await;
    page(&server, "1", "5", browse_body(rows(&["A"]), false)).await;
    read(&client, 5).await.unwrap();
    let sent = requests(&server).await;
    assert_eq!(query_values(&sent[0], "domainCode"), ["10USA"]);
    assert!(query_values(&sent[0], "filter").is_empty());

    let (server, client) = setup(&[("scope.domain", "filter")]).await;
    page(&server, "1", "5", browse_body(rows(&["A"]), false)).await;
    read(&client, 5).await.unwrap();
    let sent = requests(&server).await;
    assert!(query_values(&sent[0], "domainCode").is_empty());
    assert_eq!(
        query_values(&sent[0], "filter"),
        ["customer.domainCode,eq,10USA,literal"]
    );

    let (server, client) = setup(&[("scope.domain", "header")]).await;
    Mock::given(path(browse_path()))
        .and(header("x-qad-workspace-id", "10USA"))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(rows(&["A"]), false)))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;
    read(&client, 5).await.unwrap();
    assert!(query_values(&requests(&server).await[0], "domainCode").is_empty());
}

#[tokio::test]
async fn the_date_filter_is_written_as_configured_or_left_out() {
    let since = NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
    for (value, expected) in [
        (
            "date",
            Some("customer.lastModifiedDate,ge,2025-03-03,literal"),
        ),
        (
            "date-time",
            Some("customer.lastModifiedDate,ge,2025-03-03T00:00:00.000Z,literal"),
        ),
        ("none", None),
    ] {
        let (server, client) = setup(&[("filter.date", value)]).await;
        page(&server, "1", "5", browse_body(rows(&["A"]), false)).await;
        let _: Vec<Customer> = client
            .customers()
            .count(5)
            .modified_since(since)
            .into_stream()
            .try_collect()
            .await
            .unwrap();
        let sent = requests(&server).await;
        assert_eq!(
            query_values(&sent[0], "filter"),
            expected.into_iter().collect::<Vec<_>>(),
            "{value}"
        );
    }
}

#[tokio::test]
async fn first_only_reads_one_page_and_cuts_it() {
    let size = qad_client::FIRST_ONLY_PAGE_SIZE.to_string();
    let (server, client) = setup(&[("paging.mode", "first-only")]).await;
    page(
        &server,
        "1",
        &size,
        browse_body(rows(&["A", "B", "C"]), false),
    )
    .await;
    mount_catch_all(&server).await;
    let pages = read(&client, 2).await.unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(keys(&pages), ["A", "B", "C"]);

    let (server, client) = setup(&[("paging.mode", "first-only")]).await;
    page(&server, "1", &size, browse_body(rows(&["A", "B"]), true)).await;
    mount_catch_all(&server).await;
    let err = read(&client, 2).await.unwrap_err();
    assert!(
        matches!(err, Error::PagingExhausted { served: 2, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn cursor_mode_reads_pages_in_order_with_one_call_id() {
    let (server, client) = setup(&[("paging.mode", "cursor")]).await;
    page(&server, "1", "2", browse_body(rows(&["A", "B"]), true)).await;
    page(&server, "2", "2", browse_body(rows(&["C"]), false)).await;
    mount_catch_all(&server).await;
    assert_eq!(keys(&read(&client, 2).await.unwrap()), ["A", "B", "C"]);
    let ids: std::collections::HashSet<_> = requests(&server)
        .await
        .iter()
        .flat_map(|r| query_values(r, "callId"))
        .collect();
    assert_eq!(ids.len(), 1);
    // One page out of order cannot be asked of a cursor.
    let err = client
        .customers()
        .count(2)
        .offset(2)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPaging { .. }), "{err:?}");
}
