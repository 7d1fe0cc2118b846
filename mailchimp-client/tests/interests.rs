//! `GET /lists/{list_id}/interest-categories[/{id}]` and `…/{id}/interests[/{id}]`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use futures::TryStreamExt;
use mailchimp_client::{Error, InterestCategoryId, InterestId, ListId};
use serde_json::json;
use wiremock::matchers::{basic_auth, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LIST: &str = "57afe96172";
const CATEGORY: &str = "1a2b000001";

fn category(id: &str, title: &str, kind: &str) -> serde_json::Value {
    json!({"list_id": LIST, "id": id, "title": title, "display_order": 0, "type": kind, "_links": []})
}

fn interest(id: &str, name: &str) -> serde_json::Value {
    json!({"category_id": CATEGORY, "list_id": LIST, "id": id, "name": name,
           "subscriber_count": "12", "display_order": 1, "_links": []})
}

#[tokio::test]
async fn list_categories_pages_with_the_type_filter() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/lists/{LIST}/interest-categories")))
        .and(basic_auth("anystring", common::KEY))
        .and(query_param("type", "checkboxes"))
        .and(query_param("count", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "list_id": LIST,
            "categories": [category(CATEGORY, "Product lines", "checkboxes"),
                           category("1a2b000002", "Regions", "some-future-type")],
            "total_items": 2, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let categories: Vec<_> = common::client(&server)
        .await
        .list(&ListId::from(LIST))
        .interest_categories()
        .list()
        .kind("checkboxes")
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(categories.len(), 2);
    assert_eq!(categories[0].id.as_str(), CATEGORY);
    assert_eq!(categories[0].title, "Product lines");
    assert_eq!(categories[0].kind, "checkboxes");
    assert_eq!(categories[1].kind, "some-future-type", "kept as sent");
}

#[tokio::test]
async fn get_one_category_and_a_missing_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/lists/{LIST}/interest-categories/{CATEGORY}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(category(
            CATEGORY,
            "Product lines",
            "radio",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/lists/{LIST}/interest-categories/nope")))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let categories = common::client(&server)
        .await
        .list(&ListId::from(LIST))
        .interest_categories();
    let got = categories
        .get(&InterestCategoryId::from(CATEGORY))
        .await
        .unwrap();
    assert_eq!(got.kind, "radio");
    assert_eq!(got.list_id, Some(ListId::from(LIST)));
    let err = categories
        .get(&InterestCategoryId::from("nope"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn list_and_get_interests() {
    let server = MockServer::start().await;
    let base = format!("/lists/{LIST}/interest-categories/{CATEGORY}/interests");
    Mock::given(method("GET"))
        .and(path(base.clone()))
        .and(query_param("offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "interests": [interest("9f00000001", "Pumps"), interest("9f00000002", "Valves")],
            "list_id": LIST, "category_id": CATEGORY, "total_items": 2, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{base}/9f00000002")))
        .respond_with(ResponseTemplate::new(200).set_body_json(interest("9f00000002", "Valves")))
        .expect(1)
        .mount(&server)
        .await;
    let interests = common::client(&server)
        .await
        .list(&ListId::from(LIST))
        .interest_categories()
        .interests(&InterestCategoryId::from(CATEGORY));
    let page = interests.list().count(10).send().await.unwrap();
    assert_eq!(page.total_items, 2);
    assert_eq!(page.items[0].name, "Pumps");
    assert_eq!(page.items[0].subscriber_count, "12");
    let one = interests
        .get(&InterestId::from("9f00000002"))
        .await
        .unwrap();
    assert_eq!(one.name, "Valves");
    assert_eq!(one.category_id, Some(InterestCategoryId::from(CATEGORY)));
}

#[tokio::test]
async fn interests_of_an_unknown_category_are_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/lists/{LIST}/interest-categories/gone/interests/9f00000001"
        )))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let err = common::client(&server)
        .await
        .list(&ListId::from(LIST))
        .interest_categories()
        .interests(&InterestCategoryId::from("gone"))
        .get(&InterestId::from("9f00000001"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}
