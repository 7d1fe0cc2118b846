//! `GET` and `POST /lists/{list_id}/merge-fields`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use futures::TryStreamExt;
use mailchimp_client::{Error, ListId, MergeFieldOptions, MergeFieldType};
use serde_json::json;
use wiremock::matchers::{basic_auth, body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn merge_field(id: u64, tag: &str, kind: &str) -> serde_json::Value {
    json!({
        "merge_id": id, "tag": tag, "name": tag.to_lowercase(), "type": kind, "required": false,
        "default_value": "", "public": true, "display_order": id,
        "options": {"size": 25, "choices": []}, "help_text": "", "list_id": "57afe96172", "_links": []
    })
}

#[tokio::test]
async fn list_merge_fields_with_filters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/lists/57afe96172/merge-fields"))
        .and(basic_auth("anystring", common::KEY))
        .and(query_param("type", "text"))
        .and(query_param("required", "false"))
        .and(query_param("count", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "merge_fields": [merge_field(1, "FNAME", "text"), merge_field(2, "LNAME", "text"), merge_field(9, "MMERGE9", "futuretype")],
            "list_id": "57afe96172", "total_items": 3, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    let fields: Vec<_> = common::client(&server)
        .await
        .list(&ListId::from("57afe96172"))
        .merge_fields()
        .list()
        .kind(MergeFieldType::Text)
        .required(false)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(fields.len(), 3);
    assert_eq!(fields[0].tag, "FNAME");
    assert_eq!(fields[0].kind, Some(MergeFieldType::Text));
    assert_eq!(
        fields[2].kind,
        Some(MergeFieldType::Other("futuretype".into()))
    );
    assert_eq!(fields[0].options.size, Some(25));
}

#[tokio::test]
async fn create_merge_field_posts_the_spec_body() {
    let server = MockServer::start().await;
    let body: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/requests/merge_field.json")).unwrap();
    Mock::given(method("POST"))
        .and(path("/lists/57afe96172/merge-fields"))
        .and(basic_auth("anystring", common::KEY))
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(merge_field(5, "SHIRT", "dropdown")))
        .expect(1)
        .mount(&server)
        .await;
    let created = common::client(&server)
        .await
        .list(&ListId::from("57afe96172"))
        .merge_fields()
        .create("Shirt size", MergeFieldType::Dropdown)
        .tag("SHIRT")
        .required(false)
        .public(true)
        .options(MergeFieldOptions::with_choices(["S", "M", "L"]))
        .help_text("Pick one")
        .send()
        .await
        .unwrap();
    assert_eq!(created.merge_id, 5);
}

#[tokio::test]
async fn create_merge_field_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/lists/57afe96172/merge-fields"))
        .respond_with(common::problem_json(json!({
            "type": "t", "title": "Invalid Resource", "status": 400,
            "detail": "A Merge Field with the tag \"SHIRT\" already exists for this list.", "instance": "",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let fields = common::client(&server)
        .await
        .list(&ListId::from("57afe96172"))
        .merge_fields();
    let err = fields
        .create("Shirt size", MergeFieldType::Text)
        .tag("SHIRT")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_invalid_resource());
    assert!(err.to_string().contains("already exists"));
    // Checked locally, no request.
    let err = fields
        .create(" ", MergeFieldType::Text)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "name"));
    let err = fields
        .create("X", MergeFieldType::Other("hologram".into()))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "type"));
}

#[tokio::test]
async fn get_one_merge_field_and_a_missing_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/lists/57afe96172/merge-fields/3"))
        .and(basic_auth("anystring", common::KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(merge_field(3, "QADCODE", "text")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/lists/57afe96172/merge-fields/99"))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let fields = common::client(&server)
        .await
        .list(&ListId::from("57afe96172"))
        .merge_fields();
    let field = fields.get(3).await.unwrap();
    assert_eq!(field.merge_id, 3);
    assert_eq!(field.tag, "QADCODE");
    let err = fields.get(99).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn update_merge_field_patches_name_and_the_fields_set() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/lists/57afe96172/merge-fields/5"))
        .and(basic_auth("anystring", common::KEY))
        .and(body_json(json!({
            "name": "Shirt size",
            "required": true,
            "options": {"choices": ["S", "M", "L", "XL"]}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(merge_field(5, "SHIRT", "dropdown")))
        .expect(1)
        .mount(&server)
        .await;
    let updated = common::client(&server)
        .await
        .list(&ListId::from("57afe96172"))
        .merge_fields()
        .update(5, "Shirt size")
        .required(true)
        .options(MergeFieldOptions::with_choices(["S", "M", "L", "XL"]))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.merge_id, 5);
}

#[tokio::test]
async fn update_merge_field_errors() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/lists/57afe96172/merge-fields/5"))
        .respond_with(common::problem(
            400,
            "Invalid Resource",
            "The resource submitted could not be validated.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let fields = common::client(&server)
        .await
        .list(&ListId::from("57afe96172"))
        .merge_fields();
    let err = fields.update(5, "  ").send().await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = fields.update(5, "Size").send().await.unwrap_err();
    assert!(matches!(err, Error::InvalidResource(_)), "{err:?}");
}

#[tokio::test]
async fn delete_merge_field() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/lists/57afe96172/merge-fields/5"))
        .and(basic_auth("anystring", common::KEY))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/lists/57afe96172/merge-fields/6"))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let fields = common::client(&server)
        .await
        .list(&ListId::from("57afe96172"))
        .merge_fields();
    fields.delete(5).await.unwrap();
    let err = fields.delete(6).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}
