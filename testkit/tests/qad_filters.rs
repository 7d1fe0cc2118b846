//! Fake QAD browse filters over plain HTTP, including the day-granular modified-date filter.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use testkit::qad::{FakeQad, Seeding};

async fn browse(qad: &FakeQad, filters: &[&str]) -> (StatusCode, Value) {
    let mut query = vec![
        ("browseId", qad.browse_ids().customers.clone()),
        ("page", "1".to_owned()),
        ("pageSize", "1000".to_owned()),
        ("pageAction", "first".to_owned()),
    ];
    query.extend(filters.iter().map(|f| ("filter", (*f).to_owned())));
    let response = Client::new()
        .get(format!("{}/api/qracore/browses", qad.base_url()))
        .basic_auth(qad.username(), Some(qad.password()))
        .query(&query)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn codes(qad: &FakeQad, filters: &[&str]) -> Vec<String> {
    let (status, body) = browse(qad, filters).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["customer.customerCode"].as_str().unwrap().to_owned())
        .collect()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn fake() -> FakeQad {
    FakeQad::builder()
        .seeding(Seeding::new(4).customers(60))
        .today(date(2026, 2, 10))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn text_operators_match_case_insensitively() {
    let qad = fake().await;
    assert_eq!(
        codes(&qad, &["customerCode,eq,c0000007,literal"]).await,
        ["C0000007"]
    );
    assert_eq!(
        codes(&qad, &["customer.customerCode,sw,C000001,literal"]).await,
        (10..=19).map(|n| format!("C00000{n}")).collect::<Vec<_>>()
    );
    assert_eq!(
        codes(&qad, &["customerCode,ew,60,literal"]).await,
        ["C0000060"]
    );
    let in_city: Vec<String> = qad
        .customers()
        .into_iter()
        .filter(|c| {
            c.city
                .as_deref()
                .is_some_and(|city| city.to_lowercase().contains("on"))
        })
        .map(|c| c.customer_code)
        .collect();
    assert!(!in_city.is_empty());
    assert_eq!(codes(&qad, &["city,cn,ON,literal"]).await, in_city);
}

#[tokio::test]
async fn comparisons_and_ranges_combine_with_and() {
    let qad = fake().await;
    assert_eq!(
        codes(
            &qad,
            &[
                "customerCode,ge,C0000010,literal",
                "customerCode,lt,C0000013,literal"
            ]
        )
        .await,
        ["C0000010", "C0000011", "C0000012"]
    );
    assert_eq!(
        codes(&qad, &["customerCode,rg,C0000058,literal,C0000060,literal"]).await,
        ["C0000058", "C0000059", "C0000060"]
    );
    assert_eq!(
        codes(
            &qad,
            &[
                "customerCode,gt,C0000059,literal",
                "customerCode,le,C0000060,literal"
            ]
        )
        .await,
        ["C0000060"]
    );
}

#[tokio::test]
async fn the_modified_date_filter_is_day_granular() {
    let qad = fake().await;
    // Seeded data is all from 2025: nothing is modified on or after the fake's today.
    assert!(codes(&qad, &["lastModifiedDate,ge,2026-02-10,literal"])
        .await
        .is_empty());

    for code in ["C0000003", "C0000030", "C0000044"] {
        assert!(qad.update_customer(code, |c| c.telephone = Some("+1 555 0000".into())));
    }
    // A cursor taken at 15:00 still finds changes made earlier that day: QAD dates have no time.
    assert_eq!(
        codes(
            &qad,
            &["lastModifiedDate,ge,2026-02-10T15:00:00.000Z,literal"]
        )
        .await,
        ["C0000003", "C0000030", "C0000044"]
    );
    assert!(codes(&qad, &["lastModifiedDate,gt,2026-02-10,literal"])
        .await
        .is_empty());

    qad.set_today(date(2026, 2, 11));
    qad.update_customer("C0000001", |c| c.city = Some("Lyon".into()));
    assert_eq!(
        codes(&qad, &["lastModifiedDate,ge,2026-02-11,literal"]).await,
        ["C0000001"]
    );
    assert_eq!(
        codes(
            &qad,
            &["lastModifiedDate,rg,2026-02-10,literal,2026-02-10,literal"]
        )
        .await,
        ["C0000003", "C0000030", "C0000044"]
    );

    // The seeded 2025 dates filter too, compared by day.
    let cutoff = date(2025, 7, 1);
    let expected: Vec<String> = qad
        .customers()
        .into_iter()
        .filter(|c| c.last_modified_date < cutoff)
        .map(|c| c.customer_code)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        codes(&qad, &["lastModifiedDate,lt,2025-07-01,literal"]).await,
        expected
    );
}

#[tokio::test]
async fn modification_stamps_increase_within_a_day() {
    let qad = fake().await;
    qad.update_customer("C0000002", |_| {});
    qad.update_customer("C0000001", |_| {});
    let first = qad.customer("C0000002").unwrap();
    let second = qad.customer("C0000001").unwrap();
    assert_eq!(first.last_modified_date, date(2026, 2, 10));
    assert!(second.last_modified_time > first.last_modified_time);
    let later = codes(
        &qad,
        &[
            "lastModifiedDate,eq,2026-02-10,literal",
            &format!("lastModifiedTime,gt,{},literal", first.last_modified_time),
        ],
    )
    .await;
    assert_eq!(later, ["C0000001"]);
}

#[tokio::test]
async fn bad_filters_are_400_naming_the_problem() {
    let qad = fake().await;
    for (filter, says) in [
        ("city,like,x,literal", "like"),
        ("city,eq,x", "malformed"),
        ("lastModifiedDate,rg,2025-01-01,literal", "malformed"),
        ("shoeSize,eq,9,literal", "shoeSize"),
    ] {
        let (status, body) = browse(&qad, &[filter]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{filter}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{filter}: {message}");
        assert_eq!(body["errors"][0]["fieldName"], "filter");
    }
}
