//! Batch operations through plain HTTP: the fake runs them in the background through its own routes,
//! reports progress, and serves a gzipped tar of JSON results without authentication.
#![allow(clippy::unwrap_used, clippy::panic)]

mod mailchimp_support;

use std::io::Read;
use std::time::Duration;

use mailchimp_support::Api;
use serde_json::{json, Value};

/// Polls the batch until `finished` (bounded: at most 10 s of 10 ms polls), returning every state seen.
async fn until_finished(api: &Api, id: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let batch = api.get(&format!("/batches/{id}")).await.ok().clone();
        let done = batch["status"] == "finished";
        seen.push(batch);
        if done {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("batch {id} never finished: {seen:?}");
}

fn untar(bytes: &[u8]) -> Vec<(String, Value)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut files = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        files.push((name, serde_json::from_str(&text).unwrap()));
    }
    files
}

#[tokio::test]
async fn a_batch_runs_through_the_fakes_routes_and_serves_its_results() {
    // Finalizing long enough that a 10 ms poll sees it even on a loaded machine.
    let api = Api::with(
        testkit::mailchimp::FakeMailchimp::builder()
            .batch_finalize_delay(Duration::from_millis(1500))
            .start()
            .await
            .unwrap(),
    );
    let list = api.list();
    let email = "batch.buyer@northwind-mfg.com";
    let hash = testkit::mailchimp::subscriber_hash(email);
    let body = json!({"email_address": email, "status_if_new": "subscribed"}).to_string();
    let created = api
        .post(
            "/batches",
            json!({"operations": [
                {"method": "PUT", "path": format!("/lists/{list}/members/{hash}"), "body": body, "operation_id": "op-put"},
                {"method": "GET", "path": format!("/lists/{list}"), "params": {"fields": "id"}, "operation_id": "op-get"},
                {"method": "GET", "path": "/lists/no-such-list", "operation_id": "op-404"}
            ]}),
        )
        .await;
    let created = created.ok().clone();
    assert_eq!(created["status"], "pending");
    assert_eq!(created["total_operations"], 3);
    let id = created["id"].as_str().unwrap().to_owned();

    let states = until_finished(&api, &id).await;
    let done = states.last().unwrap();
    assert_eq!(done["finished_operations"], 3);
    assert_eq!(done["errored_operations"], 1);
    assert!(
        states
            .iter()
            .any(|s| s["status"] == "finalizing" && s["finished_operations"] == 3),
        "all operations are done while the batch is still finalizing: {states:?}"
    );
    // The operations went through the fake's own routes.
    assert_eq!(
        api.fake.snapshot().member(&list, email).unwrap()["status"],
        "subscribed"
    );

    // The archive is served without credentials.
    let url = done["response_body_url"].as_str().unwrap();
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    let files = untar(&response.bytes().await.unwrap());
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, format!("{id}/0.json"));
    let results = files[0].1.as_array().unwrap();
    let by_op = |op: &str| results.iter().find(|r| r["operation_id"] == op).unwrap();
    assert_eq!(by_op("op-put")["status_code"], 200);
    let member: Value =
        serde_json::from_str(by_op("op-put")["response"].as_str().unwrap()).unwrap();
    assert_eq!(member["email_address"], email);
    let audience: Value =
        serde_json::from_str(by_op("op-get")["response"].as_str().unwrap()).unwrap();
    assert_eq!(audience, json!({"id": list}), "params were applied");
    assert_eq!(by_op("op-404")["status_code"], 404);

    let listed = api.get("/batches").await;
    assert_eq!(listed.ok()["total_items"], 1);
    assert_eq!(listed.ok()["batches"][0]["id"], id.as_str());

    assert_eq!(api.delete(&format!("/batches/{id}")).await.status, 204);
    api.get(&format!("/batches/{id}"))
        .await
        .problem(404, "Resource Not Found");
    assert_eq!(reqwest::get(url).await.unwrap().status(), 404);
}

#[tokio::test]
async fn malformed_operations_are_refused() {
    let api = Api::start().await;
    for body in [
        json!({}),
        json!({"operations": []}),
        json!({"operations": [{"method": "TRACE", "path": "/lists"}]}),
        json!({"operations": [{"method": "GET", "path": "lists"}]}),
        json!({"operations": [{"method": "POST", "path": "/lists", "body": {"not": "a string"}}]}),
    ] {
        api.post("/batches", body)
            .await
            .problem(400, "Invalid Resource");
    }
    api.get("/batches/0000000000")
        .await
        .problem(404, "Resource Not Found");
    api.delete("/batches/0000000000")
        .await
        .problem(404, "Resource Not Found");
}
