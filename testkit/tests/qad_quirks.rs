//! The fake QAD's quirks over plain HTTP: each alternative to today's guess
//! about paging, page-size caps, domain scope, date filters, key order,
//! duplicate attribution posts, entity GETs, the count endpoint and login lockout.
#![allow(clippy::unwrap_used)]

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use testkit::qad::{FakeQad, Seeding};

async fn fake(quirks: &[(&str, &str)]) -> FakeQad {
    let mut builder = FakeQad::builder().seeding(Seeding::new(3).customers(10));
    for (name, value) in quirks {
        builder = builder.quirk(*name, *value);
    }
    builder.start().await.unwrap()
}

/// A browse GET with extra query pairs and headers.
async fn browse(
    qad: &FakeQad,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = Client::new()
        .get(format!("{}/api/qracore/browses", qad.base_url()))
        .basic_auth(qad.username(), Some(qad.password()))
        .query(&[("browseId", qad.browse_ids().customers.as_str())])
        .query(query);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn page(qad: &FakeQad, page: &str, size: &str, action: &str, call: &str) -> Vec<String> {
    let (status, body) = browse(
        qad,
        &[
            ("page", page),
            ("pageSize", size),
            ("pageAction", action),
            ("callId", call),
        ],
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    codes(&body)
}

fn codes(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["customer.customerCode"].as_str().unwrap().to_owned())
        .collect()
}

fn all_codes(qad: &FakeQad) -> Vec<String> {
    qad.customers()
        .into_iter()
        .map(|c| c.customer_code)
        .collect()
}

#[tokio::test]
async fn unknown_quirks_fail_the_start() {
    let err = FakeQad::builder()
        .quirk("order.key", "sideways")
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("order.key=sideways"), "{err}");
}

#[tokio::test]
async fn a_cursor_tenant_serves_the_page_after_the_last_one_whatever_page_says() {
    let qad = fake(&[("paging.mode", "cursor")]).await;
    let all = all_codes(&qad);
    assert_eq!(page(&qad, "1", "3", "first", "a").await, all[0..3]);
    // `page=3` is ignored: the cursor of call `a` moves to page 2.
    assert_eq!(page(&qad, "3", "3", "next", "a").await, all[3..6]);
    // Another call has its own cursor.
    assert_eq!(page(&qad, "1", "3", "first", "b").await, all[0..3]);
    assert_eq!(page(&qad, "2", "3", "next", "a").await, all[6..9]);
}

#[tokio::test]
async fn a_first_only_tenant_serves_page_one_always() {
    let qad = fake(&[("paging.mode", "first-only")]).await;
    let all = all_codes(&qad);
    assert_eq!(page(&qad, "2", "3", "next", "a").await, all[0..3]);
}

#[tokio::test]
async fn a_silent_cap_offsets_by_the_requested_size() {
    let qad = fake(&[("paging.page_size_cap", "2")]).await;
    let all = all_codes(&qad);
    assert_eq!(page(&qad, "1", "4", "first", "a").await, all[0..2]);
    // Rows 2 and 3 are never served at pageSize 4.
    assert_eq!(page(&qad, "2", "4", "next", "a").await, all[4..6]);
    // At the cap itself nothing is lost.
    assert_eq!(page(&qad, "2", "2", "next", "a").await, all[2..4]);
}

#[tokio::test]
async fn each_domain_scope_honours_only_its_own_mechanism() {
    let first = [("page", "1"), ("pageSize", "50"), ("pageAction", "first")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut q = first.to_vec();
        q.extend_from_slice(extra);
        q
    };
    // Default: `domainCode` scopes; rows carry no domain.
    let qad = fake(&[]).await;
    let (_, body) = browse(&qad, &with(&[("domainCode", "10USA")]), &[]).await;
    assert_eq!(codes(&body).len(), 10);
    assert!(body["data"][0].get("customer.domainCode").is_none());
    let (_, body) = browse(&qad, &with(&[("domainCode", "ZZPROBE")]), &[]).await;
    assert!(codes(&body).is_empty());

    let qad = fake(&[("scope.domain", "filter")]).await;
    let (_, body) = browse(&qad, &with(&[("domainCode", "ZZPROBE")]), &[]).await;
    assert_eq!(
        codes(&body).len(),
        13,
        "the parameter is ignored: both domains"
    );
    let (_, body) = browse(
        &qad,
        &with(&[("filter", "customer.domainCode,eq,10USA,literal")]),
        &[],
    )
    .await;
    assert_eq!(codes(&body).len(), 10);
    assert_eq!(body["data"][0]["customer.domainCode"], "10USA");

    let qad = fake(&[("scope.domain", "header")]).await;
    let (_, body) = browse(&qad, &with(&[]), &[("x-qad-workspace-id", "10USA_10USACO")]).await;
    assert_eq!(codes(&body).len(), 10);
    let (_, body) = browse(
        &qad,
        &with(&[("filter", "customer.domainCode,eq,ZZPROBE,literal")]),
        &[],
    )
    .await;
    assert_eq!(codes(&body).len(), 13, "the filter is ignored");

    let qad = fake(&[("scope.domain", "rows")]).await;
    let (_, body) = browse(
        &qad,
        &with(&[("domainCode", "ZZPROBE")]),
        &[("x-qad-workspace-id", "ZZPROBE")],
    )
    .await;
    let domains: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["customer.domainCode"].as_str().unwrap())
        .collect();
    assert_eq!(domains.iter().filter(|d| **d == "90OTHER").count(), 3);
    assert_eq!(domains.len(), 13);
}

async fn run(qad: &FakeQad, filter: (&str, &str)) -> (StatusCode, Value) {
    let query = [
        ("page", "1"),
        ("pageSize", "50"),
        ("pageAction", "first"),
        filter,
    ];
    browse(qad, &query, &[]).await
}

#[tokio::test]
async fn each_date_quirk_answers_a_modification_date_filter_its_way() {
    let date = ("filter", "customer.lastModifiedDate,ge,1990-01-01,literal");
    let date_time = (
        "filter",
        "customer.lastModifiedDate,ge,1990-01-01T00:00:00.000Z,literal",
    );
    let future = ("filter", "customer.lastModifiedDate,ge,2999-01-01,literal");
    let qad = fake(&[]).await;
    assert_eq!(codes(&run(&qad, date).await.1).len(), 10);
    assert_eq!(codes(&run(&qad, date_time).await.1).len(), 10);

    let qad = fake(&[("filter.date", "date-time")]).await;
    assert_eq!(run(&qad, date).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(codes(&run(&qad, date_time).await.1).len(), 10);

    let qad = fake(&[("filter.date", "rejected")]).await;
    assert_eq!(run(&qad, date).await.0, StatusCode::BAD_REQUEST);

    let qad = fake(&[("filter.date", "ignored")]).await;
    assert_eq!(codes(&run(&qad, future).await.1).len(), 10);

    let qad = fake(&[("filter.date", "empty")]).await;
    assert!(codes(&run(&qad, date).await.1).is_empty());
}

#[tokio::test]
async fn an_any_order_tenant_serves_descending_keys() {
    let qad = fake(&[("order.key", "any")]).await;
    let mut all = all_codes(&qad);
    all.reverse();
    assert_eq!(page(&qad, "1", "50", "first", "a").await, all);
}

async fn post(qad: &FakeQad, record: Value) -> (StatusCode, String) {
    let response = Client::new()
        .post(format!("{}/{}", qad.base_url(), qad.attribution_path()))
        .basic_auth(qad.username(), Some(qad.password()))
        .json(&json!([record]))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn each_duplicate_quirk_answers_a_repeated_create_its_way() {
    let record = json!({"orderId": "mc-1", "orderTotal": "10.50"});
    let qad = fake(&[]).await;
    assert_eq!(post(&qad, record.clone()).await.0, StatusCode::CREATED);
    let (status, body) = post(&qad, record.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("2041"), "{body}");
    assert_eq!(qad.attributions().len(), 1);

    let qad = fake(&[("attribution.duplicate", "creates")]).await;
    post(&qad, record.clone()).await;
    assert_eq!(post(&qad, record.clone()).await.0, StatusCode::CREATED);
    assert_eq!(qad.attributions().len(), 2);

    let qad = fake(&[("attribution.duplicate", "server-error")]).await;
    post(&qad, record.clone()).await;
    let (status, body) = post(&qad, record).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("already exists"), "{body}");
    assert_eq!(qad.attributions().len(), 1);
}

#[tokio::test]
async fn an_entity_without_get_answers_405_but_still_looks_keys_up() {
    let qad = fake(&[("validate.entity", "none")]).await;
    let get = |query: &'static [(&'static str, &'static str)]| {
        Client::new()
            .get(format!("{}/{}", qad.base_url(), qad.attribution_path()))
            .basic_auth(qad.username(), Some(qad.password()))
            .query(query)
            .send()
    };
    let listed = get(&[("page", "1"), ("pageSize", "1")]).await.unwrap();
    assert_eq!(listed.status(), StatusCode::METHOD_NOT_ALLOWED);
    let keyed = get(&[("orderId", "mc-1")]).await.unwrap();
    assert_eq!(keyed.status(), StatusCode::OK);
}

async fn token(qad: &FakeQad, password: &str) -> StatusCode {
    Client::new()
        .post(format!("{}/oauth/token", qad.base_url()))
        .form(&[
            ("client_id", qad.client_id()),
            ("grant_type", "password"),
            ("username", qad.username()),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_lockout_refuses_even_the_right_password_until_unlocked() {
    let qad = fake(&[("auth.lockout", "2")]).await;
    let right = qad.password().to_owned();
    assert_eq!(token(&qad, "wrong").await, StatusCode::BAD_REQUEST);
    // A success resets the count.
    assert_eq!(token(&qad, &right).await, StatusCode::OK);
    assert_eq!(token(&qad, "wrong").await, StatusCode::BAD_REQUEST);
    assert!(!qad.locked());
    assert_eq!(token(&qad, "wrong").await, StatusCode::BAD_REQUEST);
    assert!(qad.locked());
    assert_eq!(token(&qad, &right).await, StatusCode::BAD_REQUEST);
    qad.unlock();
    assert_eq!(token(&qad, &right).await, StatusCode::OK);
}

/// A `totalCount` GET with query pairs and headers, at `path` below the root.
async fn count(
    qad: &FakeQad,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = Client::new()
        .get(format!("{}/{path}", qad.base_url()))
        .basic_auth(qad.username(), Some(qad.password()))
        .query(&[("browseId", qad.browse_ids().customers.as_str())])
        .query(query);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

const COUNT: &str = "api/qracore/browses/totalCount/";

#[tokio::test]
async fn the_count_honours_the_browse_filters_and_domain_scope() {
    let qad = fake(&[]).await;
    let (status, body) = count(&qad, COUNT, &[("domainCode", "10USA")], &[]).await;
    assert_eq!((status, body), (StatusCode::OK, json!(10)));
    let (_, body) = count(&qad, COUNT, &[("domainCode", "ZZPROBE")], &[]).await;
    assert_eq!(body, json!(0));
    // Without the trailing slash too, and the same filter the browse applies.
    let first = [("page", "1"), ("pageSize", "50"), ("pageAction", "first")];
    let filter = ("filter", "customer.customerCode,le,C0000004,literal");
    let (_, rows) = browse(&qad, &[first[0], first[1], first[2], filter], &[]).await;
    let (_, body) = count(&qad, COUNT.trim_end_matches('/'), &[filter], &[]).await;
    assert_eq!(body, json!(codes(&rows).len()));
    assert!(
        !codes(&rows).is_empty() && codes(&rows).len() < 10,
        "{rows}"
    );

    // Other domains' rows count only where nothing scopes them.
    let qad = fake(&[("scope.domain", "filter")]).await;
    let (_, body) = count(&qad, COUNT, &[], &[]).await;
    assert_eq!(body, json!(13));
    let scope = ("filter", "customer.domainCode,eq,10USA,literal");
    let (_, body) = count(&qad, COUNT, &[scope], &[]).await;
    assert_eq!(body, json!(10));
    let qad = fake(&[("scope.domain", "header")]).await;
    let (_, body) = count(&qad, COUNT, &[], &[("x-qad-workspace-id", "10USA")]).await;
    assert_eq!(body, json!(10));

    // A date filter the tenant answers with no rows counts none either.
    let qad = fake(&[("filter.date", "empty")]).await;
    let date = ("filter", "customer.lastModifiedDate,ge,1990-01-01,literal");
    let (_, body) = count(&qad, COUNT, &[date], &[]).await;
    assert_eq!(body, json!(0));
}

#[tokio::test]
async fn each_count_quirk_answers_its_way() {
    let qad = fake(&[("count.endpoint", "object")]).await;
    let (status, body) = count(&qad, COUNT, &[], &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"data": {"totalCount": 10}}));

    let qad = fake(&[("count.endpoint", "absent")]).await;
    let (status, _) = count(&qad, COUNT, &[], &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let qad = fake(&[]).await;
    let (status, _) = count(&qad, COUNT, &[("browseId", "urn:browse:mfg:nope")], &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown browse");
}
