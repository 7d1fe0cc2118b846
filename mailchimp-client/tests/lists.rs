//! `GET /lists` and `GET /lists/{list_id}`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use futures::TryStreamExt;
use mailchimp_client::ListId;
use serde_json::json;
use wiremock::matchers::{basic_auth, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn audience(id: &str) -> serde_json::Value {
    json!({
        "id": id, "web_id": 12345, "name": "Freddie's Favorite Hats",
        "contact": {"company": "Mailchimp", "address1": "675 Ponce De Leon Ave NE", "address2": "Suite 5000",
                    "city": "Atlanta", "state": "GA", "zip": "30308", "country": "US", "phone": ""},
        "permission_reminder": "You're receiving this email because you signed up.",
        "use_archive_bar": true,
        "campaign_defaults": {"from_name": "Freddie", "from_email": "freddie@freddiehats.com", "subject": "", "language": "en"},
        "notify_on_subscribe": "", "notify_on_unsubscribe": "",
        "date_created": "2015-09-16T14:55:51+00:00", "list_rating": 0, "email_type_option": true,
        "subscribe_url_short": "http://eepurl.com/xxxx", "subscribe_url_long": "https://x", "beamer_address": "x",
        "visibility": "pub", "double_optin": false, "has_welcome": false, "marketing_permissions": false,
        "modules": [],
        "stats": {"member_count": 5, "total_contacts": 7, "unsubscribe_count": 1, "cleaned_count": 1,
                  "member_count_since_send": 0, "unsubscribe_count_since_send": 0, "cleaned_count_since_send": 0,
                  "campaign_count": 0, "campaign_last_sent": "", "merge_field_count": 2, "avg_sub_rate": 0,
                  "avg_unsub_rate": 0, "target_sub_rate": 0, "open_rate": 0, "click_rate": 0,
                  "last_sub_date": "2015-09-16T15:00:00+00:00", "last_unsub_date": ""},
        "_links": []
    })
}

#[tokio::test]
async fn lists_page_with_filters_and_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/lists"))
        .and(basic_auth("anystring", common::KEY))
        .and(query_param("offset", "0"))
        .and(query_param("count", "10"))
        .and(query_param("has_ecommerce_store", "true"))
        .and(query_param("fields", "lists.id,lists.name,total_items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "lists": [{"id": "a1"}, {"id": "b2", "name": "B"}], "total_items": 2,
            "constraints": {"may_create": true, "max_instances": 5, "current_total_instances": 2}, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = common::client(&server)
        .await
        .lists()
        .has_ecommerce_store(true)
        .fields(["lists.id", "lists.name"])
        .send()
        .await
        .unwrap();
    assert_eq!(page.total_items, 2);
    assert_eq!(page.items[1].name, "B");
}

#[tokio::test]
async fn lists_stream_walks_every_page() {
    let server = MockServer::start().await;
    for (offset, ids) in [("0", vec!["a", "b"]), ("2", vec!["c"])] {
        let lists: Vec<_> = ids.iter().map(|id| audience(id)).collect();
        Mock::given(method("GET"))
            .and(path("/lists"))
            .and(query_param("offset", offset))
            .and(query_param("count", "2"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"lists": lists, "total_items": 3})),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let all: Vec<_> = common::client(&server)
        .await
        .lists()
        .count(2)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(all[0].stats.member_count, 5);
    assert!(all[0].stats.last_unsub_date.is_none());
}

#[tokio::test]
async fn get_list_decodes_and_passes_options() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/lists/57afe96172"))
        .and(basic_auth("anystring", common::KEY))
        .and(query_param("include_total_contacts", "true"))
        .and(query_param("exclude_fields", "_links"))
        .respond_with(ResponseTemplate::new(200).set_body_json(audience("57afe96172")))
        .expect(1)
        .mount(&server)
        .await;
    let list = common::client(&server)
        .await
        .list(&ListId::from("57afe96172"))
        .get()
        .include_total_contacts(true)
        .exclude_fields(["_links"])
        .send()
        .await
        .unwrap();
    assert_eq!(list.name, "Freddie's Favorite Hats");
    assert_eq!(list.stats.total_contacts, 7);
    assert_eq!(list.campaign_defaults.from_email, "freddie@freddiehats.com");
}

#[tokio::test]
async fn unknown_list_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(path("/lists/nope"))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let err = common::client(&server)
        .await
        .list(&ListId::from("nope"))
        .get()
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn bad_count_is_rejected_before_any_request() {
    let server = MockServer::start().await;
    let client = common::client(&server).await;
    for count in [0, 1001] {
        let err = client.lists().count(count).send().await.unwrap_err();
        assert!(
            matches!(err, mailchimp_client::Error::InvalidInput { ref field, .. } if field == "count"),
            "{err:?}"
        );
    }
}
