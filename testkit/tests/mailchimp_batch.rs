//! Batch subscribe (`POST /3.0/lists/{list_id}`): limits, update_existing, per-member errors.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use mailchimp_support::Api;
use serde_json::{json, Value};

fn members(emails: &[&str], status: &str) -> Value {
    Value::Array(
        emails
            .iter()
            .map(|e| json!({"email_address": e, "status": status}))
            .collect(),
    )
}

#[tokio::test]
async fn creates_new_members_and_reports_them() {
    let api = Api::start().await;
    let list = api.list();
    let reply = api
        .post(
            &format!("/lists/{list}"),
            json!({"members": members(&["a@northwind-mfg.com", "b@northwind-mfg.com"], "subscribed"), "update_existing": true}),
        )
        .await;
    let body = reply.ok();
    assert_eq!(body["total_created"], 2);
    assert_eq!(body["total_updated"], 0);
    assert_eq!(body["error_count"], 0);
    assert_eq!(
        body["new_members"][1]["email_address"],
        "b@northwind-mfg.com"
    );
    assert_eq!(body["new_members"][1]["status"], "subscribed");
    assert_eq!(body["errors"], json!([]));
    assert_eq!(api.fake.snapshot().members[&list].len(), 2);
}

#[tokio::test]
async fn more_than_500_members_is_rejected_whole() {
    let api = Api::start().await;
    let list = api.list();
    let emails: Vec<String> = (0..501)
        .map(|n| format!("m{n}@northwind-mfg.com"))
        .collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let reply = api
        .post(
            &format!("/lists/{list}"),
            json!({"members": members(&refs, "subscribed")}),
        )
        .await;
    let doc = reply.problem(400, "Invalid Resource");
    assert!(doc["detail"].as_str().unwrap().contains("501"));
    assert!(
        api.fake.snapshot().members[&list].is_empty(),
        "nothing written"
    );

    // Exactly 500 is fine.
    let reply = api
        .post(
            &format!("/lists/{list}"),
            json!({"members": members(&refs[..500], "subscribed")}),
        )
        .await;
    assert_eq!(reply.ok()["total_created"], 500);
}

#[tokio::test]
async fn existing_members_need_update_existing() {
    let api = Api::start().await;
    let list = api.list();
    api.fake
        .seed_member(&list, "old@northwind-mfg.com", "transactional")
        .unwrap();
    let batch = json!({"members": members(&["old@northwind-mfg.com", "new@northwind-mfg.com"], "subscribed")});
    let reply = api.post(&format!("/lists/{list}"), batch.clone()).await;
    let body = reply.ok();
    assert_eq!(body["total_created"], 1);
    assert_eq!(body["error_count"], 1);
    let error = &body["errors"][0];
    assert_eq!(error["email_address"], "old@northwind-mfg.com");
    assert_eq!(error["error_code"], "ERROR_CONTACT_EXISTS");
    for field in ["error", "field", "field_message"] {
        assert!(error[field].is_string(), "error lacks {field}: {error}");
    }

    let mut batch = batch;
    batch["update_existing"] = json!(true);
    let reply = api.post(&format!("/lists/{list}"), batch).await;
    let body = reply.ok();
    assert_eq!(body["total_created"], 0);
    assert_eq!(body["total_updated"], 2);
    assert_eq!(body["updated_members"][0]["status"], "subscribed");
}

#[tokio::test]
async fn per_member_errors_do_not_stop_the_rest() {
    let api = Api::start().await;
    let list = api.list();
    api.fake
        .seed_member(&list, "cleaned@northwind-mfg.com", "cleaned")
        .unwrap();
    api.fake
        .forget_email(&list, "forgotten@northwind-mfg.com")
        .unwrap();
    let reply = api
        .post(
            &format!("/lists/{list}"),
            json!({
                "update_existing": true,
                "members": [
                    {"email_address": "fine@northwind-mfg.com", "status": "subscribed"},
                    {"email_address": "not an email", "status": "subscribed"},
                    {"email_address": "cleaned@northwind-mfg.com", "status": "subscribed"},
                    {"email_address": "forgotten@northwind-mfg.com", "status": "subscribed"},
                    {"email_address": "nostatus@northwind-mfg.com"},
                    {"email_address": "badstatus@northwind-mfg.com", "status": "archived"}
                ]
            }),
        )
        .await;
    let body = reply.ok();
    assert_eq!(body["total_created"], 1);
    assert_eq!(body["error_count"], 5);
    let errors = body["errors"].as_array().unwrap();
    assert!(errors.iter().all(|e| e["error_code"] == "ERROR_GENERIC"));
    assert_eq!(errors[0]["field"], "email_address");
    assert!(errors[1]["error"]
        .as_str()
        .unwrap()
        .contains("compliance state"));
    assert!(errors[2]["error"]
        .as_str()
        .unwrap()
        .contains("permanently deleted"));
    assert_eq!(errors[3]["field"], "status");
    assert_eq!(errors[4]["field"], "status");
    let snapshot = api.fake.snapshot();
    assert_eq!(
        snapshot.member(&list, "cleaned@northwind-mfg.com").unwrap()["status"],
        "cleaned"
    );
}

#[tokio::test]
async fn batch_needs_a_members_array_and_a_known_list() {
    let api = Api::start().await;
    let list = api.list();
    api.post(&format!("/lists/{list}"), json!({"update_existing": true}))
        .await
        .problem(400, "Invalid Resource");
    api.post("/lists/unknown", json!({"members": []}))
        .await
        .problem(404, "Resource Not Found");
}
