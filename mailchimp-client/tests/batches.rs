//! `POST /batches`, `GET /batches[/{id}]`, `DELETE /batches/{id}`, waiting bounded by progress, and
//! the results archive at `response_body_url` (fetched without credentials).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers fail loudly, like tests

mod common;

use std::io::Write;
use std::time::Duration;

use futures::TryStreamExt;
use mailchimp_client::{BatchId, BatchOperation, BatchStatus, BatchWait, Error, SubscriberHash};
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_json, header_exists, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn batch(status: &str, finished: u64, url: &str) -> Value {
    json!({"id": "b-1", "status": status, "total_operations": 2, "finished_operations": finished,
           "errored_operations": 0, "submitted_at": "2026-12-04T10:00:00+00:00",
           "completed_at": "", "response_body_url": url, "_links": []})
}

fn targz(files: &[(&str, &str)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, text.as_bytes()).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn start_posts_typed_operations_with_string_bodies() {
    let server = MockServer::start().await;
    let hash = SubscriberHash::from_email("ada@northwind-mfg.com");
    Mock::given(method("POST"))
        .and(path("/batches"))
        .and(basic_auth("anystring", common::KEY))
        .and(body_json(json!({"operations": [
            {"method": "PUT", "path": format!("/lists/a1b2c3/members/{hash}"),
             "body": "{\"email_address\":\"ada@northwind-mfg.com\",\"status_if_new\":\"subscribed\"}",
             "operation_id": "C0000001"},
            {"method": "GET", "path": "/lists/a1b2c3", "params": {"fields": "id,name"}}
        ]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch("pending", 0, "")))
        .expect(1)
        .mount(&server)
        .await;
    let ops = vec![
        BatchOperation::put(format!("/lists/a1b2c3/members/{hash}"))
            .json_body(
                &json!({"email_address": "ada@northwind-mfg.com", "status_if_new": "subscribed"}),
            )
            .unwrap()
            .operation_id("C0000001"),
        BatchOperation::get("/lists/a1b2c3").param("fields", "id,name"),
    ];
    let started = common::client(&server)
        .await
        .batches()
        .start(ops)
        .await
        .unwrap();
    assert_eq!(started.id.as_str(), "b-1");
    assert_eq!(started.status, BatchStatus::Pending);
}

#[tokio::test]
async fn start_refuses_bad_operations_before_sending_and_maps_api_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/batches"))
        .respond_with(common::problem(
            429,
            "Too Many Requests",
            "You have more than 500 pending batches.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let batches = common::client(&server).await.batches();
    let err = batches.start(Vec::new()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = batches
        .start(vec![BatchOperation::get("lists")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = batches
        .start(vec![BatchOperation::get("/lists")])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429));
}

#[tokio::test]
async fn get_list_and_delete() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/batches/b-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch("started", 1, "")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/batches"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "batches": [batch("finished", 2, "https://results.northwind-mfg.com/x.tar.gz")],
            "total_items": 1, "_links": []
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/batches/b-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/batches/gone"))
        .respond_with(common::not_found())
        .expect(1)
        .mount(&server)
        .await;
    let batches = common::client(&server).await.batches();
    let one = batches.get(&BatchId::from("b-1")).await.unwrap();
    assert_eq!(
        (one.status, one.finished_operations),
        (BatchStatus::Started, 1)
    );
    let all: Vec<_> = batches.list().into_stream().try_collect().await.unwrap();
    assert_eq!(all[0].status, BatchStatus::Finished);
    batches.delete(&BatchId::from("b-1")).await.unwrap();
    let err = batches.delete(&BatchId::from("gone")).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

/// Answers the batch's states in turn, then the last one for ever.
struct States(std::sync::Mutex<Vec<Value>>);

impl wiremock::Respond for States {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut states = self.0.lock().unwrap();
        let next = if states.len() > 1 {
            states.remove(0)
        } else {
            states[0].clone()
        };
        ResponseTemplate::new(200).set_body_json(next)
    }
}

#[tokio::test]
async fn wait_goes_on_while_the_batch_advances_even_past_the_stall_timeout() {
    let server = MockServer::start().await;
    // Each poll shows progress; all operations are done two polls before `finished`.
    let states = vec![
        batch("pending", 0, ""),
        batch("started", 1, ""),
        batch("started", 2, ""),
        batch("finalizing", 2, ""),
        batch("finished", 2, "https://results.northwind-mfg.com/x.tar.gz"),
    ];
    Mock::given(method("GET"))
        .and(path("/batches/b-1"))
        .respond_with(States(std::sync::Mutex::new(states)))
        .expect(5)
        .mount(&server)
        .await;
    let done = common::client(&server)
        .await
        .batches()
        .wait(
            &BatchId::from("b-1"),
            BatchWait::new()
                .poll_interval(Duration::from_millis(20))
                .stall_timeout(Duration::from_millis(30)),
        )
        .await
        .unwrap();
    assert_eq!(done.status, BatchStatus::Finished);
}

#[tokio::test]
async fn wait_gives_up_when_nothing_moves() {
    let server = MockServer::start().await;
    // Every operation is done, but the status never becomes `finished`.
    Mock::given(method("GET"))
        .and(path("/batches/b-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch("finalizing", 2, "")))
        .mount(&server)
        .await;
    let err = common::client(&server)
        .await
        .batches()
        .wait(
            &BatchId::from("b-1"),
            BatchWait::new()
                .poll_interval(Duration::from_millis(5))
                .stall_timeout(Duration::from_millis(40)),
        )
        .await
        .unwrap_err();
    let Error::BatchStalled(last) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(last.finished_operations, 2);
    assert_eq!(last.status, BatchStatus::Finalizing);
    assert!(err.to_string().contains("2 of 2"), "{err}");
}

#[tokio::test]
async fn results_are_downloaded_without_the_key_and_decoded() {
    let server = MockServer::start().await;
    let url = format!("{}/results/b-1.tar.gz", server.uri());
    Mock::given(method("GET"))
        .and(path("/batches/b-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch("finished", 2, &url)))
        .expect(1)
        .mount(&server)
        .await;
    // The pre-signed URL must not see the API key.
    Mock::given(method("GET"))
        .and(path("/results/b-1.tar.gz"))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(403))
        .expect(0)
        .mount(&server)
        .await;
    let archive = targz(&[(
        "b-1/0.json",
        r#"[{"status_code":200,"operation_id":"C0000001","response":"{\"id\":\"h\",\"status\":\"subscribed\"}"},
            {"status_code":400,"operation_id":"C0000002","response":"{\"title\":\"Invalid Resource\"}"}]"#,
    )]);
    Mock::given(method("GET"))
        .and(path("/results/b-1.tar.gz"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(archive))
        .expect(1)
        .mount(&server)
        .await;
    let results = common::client(&server)
        .await
        .batches()
        .results(&BatchId::from("b-1"))
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].operation_id.as_deref(), Some("C0000001"));
    assert_eq!(results[0].response["status"], "subscribed");
    assert!(!results[1].is_success());
    assert_eq!(results[1].response["title"], "Invalid Resource");
}

#[tokio::test]
async fn results_of_an_unfinished_batch_or_a_broken_archive_are_errors() {
    let server = MockServer::start().await;
    let url = format!("{}/results/b-2.tar.gz", server.uri());
    Mock::given(method("GET"))
        .and(path("/batches/b-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch("started", 1, "")))
        .mount(&server)
        .await;
    let mut finished = batch("finished", 2, &url);
    finished["id"] = json!("b-2");
    Mock::given(method("GET"))
        .and(path("/batches/b-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(finished))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/results/b-2.tar.gz"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>expired</html>"))
        .mount(&server)
        .await;
    let batches = common::client(&server).await.batches();
    let err = batches.results(&BatchId::from("b-1")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = batches.results(&BatchId::from("b-2")).await.unwrap_err();
    assert!(matches!(err, Error::BatchResults { .. }), "{err:?}");
}
