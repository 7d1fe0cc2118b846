//! `GET /lists/{list_id}/members`: filters, one page, and a stream over
//! 2,501 members that yields each exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use std::collections::HashSet;

use chrono::{TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use mailchimp_client::{ListId, MemberStatus};
use serde_json::json;
use wiremock::matchers::{basic_auth, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const LIST: &str = "57afe96172";
const TOTAL: usize = 2_501;

fn email(i: usize) -> String {
    format!("member{i:05}@northwind-mfg.com")
}

/// Answers each page from the query's own offset and count, like Mailchimp.
fn page_of_members(request: &Request) -> ResponseTemplate {
    let param = |name: &str| {
        request
            .url
            .query_pairs()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0)
    };
    let (offset, count) = (param("offset"), param("count"));
    let members: Vec<_> = (offset..(offset + count).min(TOTAL))
        .map(|i| common::member_json(&email(i), "subscribed"))
        .collect();
    ResponseTemplate::new(200).set_body_json(
        json!({"members": members, "list_id": LIST, "total_items": TOTAL, "_links": []}),
    )
}

#[tokio::test]
async fn stream_yields_2501_members_once_each_at_offsets_0_1000_2000() {
    let server = MockServer::start().await;
    for offset in ["0", "1000", "2000"] {
        Mock::given(method("GET"))
            .and(path(format!("/lists/{LIST}/members")))
            .and(basic_auth("anystring", common::KEY))
            .and(query_param("offset", offset))
            .and(query_param("count", "1000"))
            .respond_with(page_of_members)
            .expect(1)
            .named(format!("page at offset {offset}"))
            .mount(&server)
            .await;
    }
    let client = common::client(&server).await;
    let stream = client
        .list(&ListId::from(LIST))
        .members()
        .list()
        .into_stream();
    // Lazy: nothing is requested until the stream is polled.
    assert_eq!(server.received_requests().await.unwrap().len(), 0);

    let members: Vec<_> = stream.try_collect().await.unwrap();
    assert_eq!(members.len(), TOTAL);
    let unique: HashSet<_> = members.iter().map(|m| m.email_address.clone()).collect();
    assert_eq!(unique.len(), TOTAL);
    assert!((0..TOTAL).all(|i| unique.contains(&email(i))));

    let offsets: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "offset")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(offsets, ["0", "1000", "2000"]);
}

#[tokio::test]
async fn filters_and_page_options_reach_the_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/lists/{LIST}/members")))
        .and(query_param("status", "unsubscribed"))
        .and(query_param("since_last_changed", "2026-01-02T03:04:05+00:00"))
        .and(query_param("sort_field", "last_changed"))
        .and(query_param("sort_dir", "ASC"))
        .and(query_param("offset", "20"))
        .and(query_param("count", "5"))
        .and(query_param("fields", "members.email_address,members.status,total_items"))
        .and(query_param_is_missing("exclude_fields"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "members": [{"email_address": "a@northwind-mfg.com", "status": "unsubscribed"}], "total_items": 21
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = common::client(&server)
        .await
        .list(&ListId::from(LIST))
        .members()
        .list()
        .status(MemberStatus::Unsubscribed)
        .since_last_changed(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap())
        .sort_by_last_changed(true)
        .offset(20)
        .count(5)
        .exclude_fields(["_links"])
        .fields(["members.email_address", "members.status"])
        .send()
        .await
        .unwrap();
    assert_eq!(page.total_items, 21);
    assert_eq!(page.items[0].status, Some(MemberStatus::Unsubscribed));
}

#[tokio::test]
async fn stream_stops_on_an_empty_page() {
    let server = MockServer::start().await;
    // total_items claims more than there is.
    Mock::given(query_param("offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "members": [common::member_json("a@northwind-mfg.com", "subscribed")], "total_items": 50
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(query_param("offset", "1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"members": [], "total_items": 50})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = common::client(&server).await;
    let all: Vec<_> = client
        .list(&ListId::from(LIST))
        .members()
        .list()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn stream_ends_after_the_first_error() {
    let server = MockServer::start().await;
    Mock::given(query_param("offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "members": [common::member_json("a@northwind-mfg.com", "subscribed"), common::member_json("b@northwind-mfg.com", "pending")],
            "total_items": 10
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(query_param("offset", "2"))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let client = common::client(&server).await;
    let items: Vec<_> = client
        .list(&ListId::from(LIST))
        .members()
        .list()
        .count(2)
        .into_stream()
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[1].is_ok());
    assert!(items[2].as_ref().unwrap_err().is_not_found());
}
