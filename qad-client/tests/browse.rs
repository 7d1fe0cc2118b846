//! The browse API: offset/count paging, streams, filters and envelopes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use futures::TryStreamExt;
use qad_client::{BrowseId, Client, Error, Filter, FilterOp, Row};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "urn:browse:bebrowse:com.qad.erp.base.customers";

fn id() -> BrowseId {
    ID.parse().unwrap()
}

fn rows(codes: &[&str]) -> Vec<Value> {
    codes
        .iter()
        .map(|c| json!({"customer.customerCode": c}))
        .collect()
}

async fn mount_page(server: &MockServer, page: &str, action: &str, body: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path(browse_path()))
        .and(query_param("browseId", ID))
        .and(query_param("page", page))
        .and(query_param("pageSize", "2"))
        .and(query_param("pageAction", action))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(times)
        .mount(server)
        .await;
}

/// Page 1 of 2-row pages: `A` and `B`, more to follow.
async fn mount_first_page(server: &MockServer) {
    mount_page(
        server,
        "1",
        "first",
        browse_body(rows(&["A", "B"]), true),
        1,
    )
    .await;
}

/// Every row of the test browse, read as a stream of 2-row pages.
async fn read_all(client: &Client) -> Vec<Row> {
    client
        .browse(&id())
        .count(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap()
}

async fn setup() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    server
}

fn codes(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|r| r["customer.customerCode"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_stream_walks_every_page_once_with_one_call_id() {
    let server = setup().await;
    mount_first_page(&server).await;
    mount_page(
        &server,
        "2",
        "next",
        browse_body(rows(&["C", "D"]), true),
        1,
    )
    .await;
    // A short page that says more follow is followed (tenants may cap
    // pageSize) with the served size as the page size, so the page number is
    // right whichever size the tenant offsets by: 5 rows read, 1 a page →
    // page 6. The empty page after it ends the read.
    mount_page(&server, "3", "next", browse_body(rows(&["E"]), true), 1).await;
    Mock::given(method("GET"))
        .and(path(browse_path()))
        .and(query_param("page", "6"))
        .and(query_param("pageSize", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(rows(&[]), true)))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let all = read_all(&client(&server)).await;
    assert_eq!(codes(&all), ["A", "B", "C", "D", "E"]);

    let requests = server.received_requests().await.unwrap();
    let call_ids: std::collections::HashSet<_> = requests
        .iter()
        .filter(|r| r.url.path() == browse_path())
        .flat_map(|r| query_values(r, "callId"))
        .collect();
    assert_eq!(call_ids.len(), 1, "{call_ids:?}");
}

#[tokio::test]
async fn without_has_more_a_short_page_ends_the_stream() {
    let server = setup().await;
    mount_page(&server, "1", "first", json!({"data": rows(&["A", "B"])}), 1).await;
    mount_page(&server, "2", "next", json!({"data": rows(&["C"])}), 1).await;
    mount_catch_all(&server).await;

    let all = read_all(&client(&server)).await;
    assert_eq!(codes(&all), ["A", "B", "C"]);
}

#[tokio::test]
async fn has_more_false_ends_the_stream_on_a_full_page() {
    let server = setup().await;
    mount_page(
        &server,
        "1",
        "first",
        browse_body(rows(&["A", "B"]), false),
        1,
    )
    .await;
    mount_page(&server, "2", "next", browse_body(rows(&["C"]), false), 0).await;

    let all = read_all(&client(&server)).await;
    assert_eq!(codes(&all), ["A", "B"]);
}

#[tokio::test]
async fn an_empty_page_ends_the_stream() {
    let server = setup().await;
    mount_first_page(&server).await;
    mount_page(&server, "2", "next", browse_body(vec![], true), 1).await;
    mount_page(&server, "3", "next", browse_body(vec![], true), 0).await;

    let all = read_all(&client(&server)).await;
    assert_eq!(codes(&all), ["A", "B"]);
}

#[tokio::test]
async fn offset_and_count_map_to_page_numbers() {
    let server = setup().await;
    mount_page(
        &server,
        "3",
        "next",
        browse_body(rows(&["E", "F"]), true),
        1,
    )
    .await;
    mount_catch_all(&server).await;

    let page = client(&server)
        .browse(&id())
        .offset(4)
        .count(2)
        .send()
        .await
        .unwrap();
    assert_eq!((page.offset, page.count, page.has_more), (4, 2, true));
    assert_eq!(page.next_offset(), Some(6));
    assert_eq!(codes(&page.items), ["E", "F"]);
}

#[tokio::test]
async fn an_offset_off_the_page_grid_is_refused_before_any_request() {
    let server = MockServer::start().await;
    mount_catch_all(&server).await;
    let client = client(&server);
    for (offset, count) in [(3, 2), (1, 100), (0, 0)] {
        let err = client
            .browse(&id())
            .offset(offset)
            .count(count)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidPaging { offset: o, count: c } if o == offset && c == count),
            "{err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_later_page_action_is_configurable() {
    let server = setup().await;
    mount_first_page(&server).await;
    mount_page(
        &server,
        "2",
        "nextPage",
        browse_body(rows(&["C"]), false),
        1,
    )
    .await;
    mount_catch_all(&server).await;

    let client = builder(&server, oauth())
        .later_page_action("nextPage")
        .build()
        .unwrap();
    let all = read_all(&client).await;
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn filters_repeat_and_bad_filters_are_refused() {
    let server = setup().await;
    Mock::given(path(browse_path()))
        .and(|req: &wiremock::Request| {
            query_values(req, "filter")
                == [
                    "customer.countryCode,eq,DE,literal",
                    "customer.lastModifiedDate,rg,2025-01-01,literal,2025-01-31,literal",
                ]
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(browse_body(rows(&["A"]), false)))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let client = client(&server);
    let page = client
        .browse(&id())
        .filter(Filter::new("customer.countryCode", FilterOp::Eq, "DE"))
        .filter(Filter::range(
            "customer.lastModifiedDate",
            "2025-01-01",
            "2025-01-31",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);

    let err = client
        .browse(&id())
        .filter(Filter::eq("customer.city", "Paris, TX"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidFilter { ref field, .. } if field == "customer.city"),
        "{err:?}"
    );
}

#[tokio::test]
async fn both_envelopes_decode() {
    for body in [
        json!({"data": rows(&["A"]), "auxillaryData": {"HasMoreParams": "false"}}),
        json!({"data": {"customers": rows(&["A"])}}),
        json!({"customers": rows(&["A"]), "auxillaryData": {"HasMoreParams": false}}),
    ] {
        let server = setup().await;
        mount_page(&server, "1", "first", body.clone(), 1).await;
        let page = client(&server).browse(&id()).count(2).send().await.unwrap();
        assert_eq!(codes(&page.items), ["A"], "{body}");
        assert!(!page.has_more);
    }
}

#[tokio::test]
async fn nothing_is_sent_until_the_stream_is_polled() {
    let server = MockServer::start().await;
    mount_catch_all(&server).await;
    let stream = client(&server).browse(&id()).into_stream();
    drop(stream);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_stream_ends_after_the_first_error() {
    let server = setup().await;
    mount_first_page(&server).await;
    Mock::given(path(browse_path()))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "submitResult": {"success": false, "errors": [{"message": "browse failed", "code": 77}]}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let results: Vec<_> =
        futures::StreamExt::collect(client(&server).browse(&id()).count(2).into_stream()).await;
    assert_eq!(results.len(), 3);
    assert!(results[..2].iter().all(Result::is_ok));
    assert!(matches!(
        &results[2],
        Err(Error::Rejected { status: 200, .. })
    ));
}
