//! Batch operations: `POST /3.0/batches` runs its operations in the background through this fake's own
//! routes (over HTTP, with the credential that submitted the batch), `GET /3.0/batches[/{batch_id}]`,
//! `DELETE /3.0/batches/{batch_id}`, and the results archive at `response_body_url`.
//!
//! As Mailchimp: operations need `method` (GET, POST, PUT, PATCH, DELETE) and a `path` starting with `/`;
//! `body` is a JSON *string*; `params` an object. The status goes `pending` → `started` → `finalizing` →
//! `finished`, and `finished_operations` reaches the total while the batch is still `finalizing` (for
//! [`FINALIZE_DELAY`]). The results are a gzipped tar of JSON files (`{batch_id}/{n}.json`, at most
//! [`RESULTS_PER_FILE`] results each) holding `[{status_code, operation_id, response}]`, `response`
//! being the operation's answer as a string; the archive is served without authentication, like
//! Mailchimp's pre-signed URL. At most [`MAX_PENDING`] unfinished batches (then 429), and the newest
//! [`MAX_KEPT`] batches are kept (the oldest finished ones are dropped first).

use std::{
    io::Write,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Extension, Router,
};
use serde_json::{json, Map, Value};

use super::{
    auth::Credential,
    problem::Problem,
    request::{self, no_content, now, ok, ObjectBody, Page, Reply},
    App,
};

/// How long a batch stays `finalizing` after its last operation, by default
/// ([`FakeMailchimpBuilder::batch_finalize_delay`](super::FakeMailchimpBuilder::batch_finalize_delay)).
pub(crate) const FINALIZE_DELAY: Duration = Duration::from_millis(50);

/// Results per JSON file of the archive.
pub(crate) const RESULTS_PER_FILE: usize = 500;

/// Unfinished batches allowed at once, as Mailchimp documents.
pub(crate) const MAX_PENDING: usize = 500;

/// Batches kept (the oldest finished ones are dropped past it).
pub(crate) const MAX_KEPT: usize = 1000;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Every batch, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Batches {
    inner: Mutex<Store>,
}

#[derive(Debug, Default)]
struct Store {
    batches: Vec<Record>,
    next_id: u64,
}

#[derive(Debug)]
struct Record {
    value: Value,
    archive: Option<Vec<u8>>,
}

impl Store {
    fn get_mut(&mut self, id: &str) -> Option<&mut Record> {
        self.batches.iter_mut().find(|b| b.value["id"] == id)
    }
}

impl Batches {
    /// Forgets every batch (running ones stop at their next operation).
    pub(crate) fn clear(&self) {
        *self.lock() = Store::default();
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `change` to batch `id`; false when it is gone (deleted).
    fn update(&self, id: &str, change: impl FnOnce(&mut Record)) -> bool {
        match self.lock().get_mut(id) {
            Some(record) => {
                change(record);
                true
            }
            None => false,
        }
    }
}

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/3.0/batches", get(list_batches).post(post_batch))
        .route(
            "/3.0/batches/{batch_id}",
            get(get_batch).delete(delete_batch),
        )
}

/// The unauthenticated download of a results archive (Mailchimp's is a pre-signed storage URL).
pub(crate) fn archive_routes() -> Router<App> {
    Router::new().route("/batch-results/{file}", get(get_archive))
}

/// One validated operation.
#[derive(Debug, Clone)]
struct Operation {
    method: reqwest::Method,
    path: String,
    params: Vec<(String, String)>,
    body: Option<String>,
    operation_id: Value,
}

fn parse_operations(body: &Map<String, Value>) -> Result<Vec<Operation>, Problem> {
    let Some(Value::Array(items)) = body.get("operations") else {
        return Err(Problem::invalid(
            "operations",
            "This value should not be blank.",
        ));
    };
    if items.is_empty() {
        return Err(Problem::invalid(
            "operations",
            "This value should not be blank.",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let bad = |why: &str| Problem::invalid("operations", format!("operation {n}: {why}"));
            let method = item["method"]
                .as_str()
                .filter(|m| METHODS.contains(m))
                .ok_or_else(|| bad("method must be one of GET, POST, PUT, PATCH, DELETE"))?;
            let path = item["path"]
                .as_str()
                .filter(|p| p.starts_with('/'))
                .ok_or_else(|| bad("path must start with /"))?;
            let body = match &item["body"] {
                Value::Null => None,
                Value::String(text) => Some(text.clone()),
                _ => return Err(bad("body must be a string of JSON")),
            };
            let params = match &item["params"] {
                Value::Null => Vec::new(),
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| {
                        let value = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                        (k.clone(), value)
                    })
                    .collect(),
                _ => return Err(bad("params must be an object")),
            };
            Ok(Operation {
                method: reqwest::Method::from_bytes(method.as_bytes())
                    .map_err(|_| bad("unknown method"))?,
                path: path.to_owned(),
                params,
                body,
                operation_id: item.get("operation_id").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

async fn post_batch(
    State(app): State<App>,
    Extension(Credential(secret)): Extension<Credential>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let operations = parse_operations(&body)?;
    let mut store = app.batches.lock();
    let pending = store
        .batches
        .iter()
        .filter(|b| b.value["status"] != "finished")
        .count();
    if pending >= MAX_PENDING {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            format!("You have more than {MAX_PENDING} pending batch requests."),
        ));
    }
    store.next_id += 1;
    let id = format!("{:010x}", 0xb_a7c0_0000_u64 + store.next_id);
    let value = json!({
        "id": id,
        "status": "pending",
        "total_operations": operations.len(),
        "finished_operations": 0,
        "errored_operations": 0,
        "submitted_at": now(),
        "completed_at": "",
        "response_body_url": "",
        "_links": [],
    });
    store.batches.push(Record {
        value: value.clone(),
        archive: None,
    });
    while store.batches.len() > MAX_KEPT {
        let oldest = store
            .batches
            .iter()
            .position(|b| b.value["status"] == "finished")
            .unwrap_or(0);
        store.batches.remove(oldest);
    }
    drop(store);
    tokio::spawn(run(app.clone(), id, secret, operations));
    ok(&query, value)
}

/// Runs the operations one after another through the fake's own routes, then builds the archive.
async fn run(app: App, id: String, secret: String, operations: Vec<Operation>) {
    if !app
        .batches
        .update(&id, |b| b.value["status"] = json!("started"))
    {
        return;
    }
    let mut results = Vec::with_capacity(operations.len());
    for op in operations {
        let (status, response) = send(&app, &secret, &op).await;
        results.push(json!({
            "status_code": status,
            "operation_id": op.operation_id,
            "response": response,
        }));
        let still_there = app.batches.update(&id, |b| {
            let finished = b.value["finished_operations"].as_u64().unwrap_or(0) + 1;
            b.value["finished_operations"] = json!(finished);
            if status >= 400 {
                let errored = b.value["errored_operations"].as_u64().unwrap_or(0) + 1;
                b.value["errored_operations"] = json!(errored);
            }
        });
        if !still_there {
            return;
        }
    }
    app.batches
        .update(&id, |b| b.value["status"] = json!("finalizing"));
    tokio::time::sleep(app.batch_finalize_delay).await;
    let archive = build_archive(&id, &results);
    let url = format!("{}/batch-results/{id}.tar.gz", app.base_url());
    app.batches.update(&id, |b| {
        b.archive = Some(archive);
        b.value["status"] = json!("finished");
        b.value["completed_at"] = json!(now());
        b.value["response_body_url"] = json!(url);
    });
}

/// One operation over HTTP to this fake: its status and its answer as text.
async fn send(app: &App, secret: &str, op: &Operation) -> (u16, String) {
    let url = format!("{}/3.0{}", app.base_url(), op.path);
    let mut request = app
        .http
        .request(op.method.clone(), url)
        .bearer_auth(secret)
        .query(&op.params);
    if let Some(body) = &op.body {
        request = request
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.clone());
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
        Err(e) => (
            500,
            json!({"title": "Internal Server Error", "status": 500, "detail": e.to_string()})
                .to_string(),
        ),
    }
}

/// A gzipped tar of `{id}/{n}.json` files of at most [`RESULTS_PER_FILE`] results each.
fn build_archive(id: &str, results: &[Value]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (n, chunk) in results.chunks(RESULTS_PER_FILE).enumerate() {
        let text = Value::Array(chunk.to_vec()).to_string();
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        // Writing to memory cannot fail.
        let _ = tar.append_data(&mut header, format!("{id}/{n}.json"), text.as_bytes());
    }
    let tar = tar.into_inner().unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(&tar);
    gz.finish().unwrap_or_default()
}

async fn list_batches(State(app): State<App>, Query(query): Query<request::Query>) -> Reply {
    let page = Page::from_query(&query)?;
    let store = app.batches.lock();
    let (batches, total) = page.slice(store.batches.iter().map(|b| &b.value));
    let batches: Vec<Value> = batches.into_iter().cloned().collect();
    drop(store);
    ok(
        &query,
        json!({ "batches": batches, "total_items": total, "_links": [] }),
    )
}

async fn get_batch(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let value = app
        .batches
        .lock()
        .get_mut(&id)
        .map(|b| b.value.clone())
        .ok_or_else(Problem::not_found)?;
    ok(&query, value)
}

async fn delete_batch(State(app): State<App>, Path(id): Path<String>) -> Reply {
    let mut store = app.batches.lock();
    let index = store
        .batches
        .iter()
        .position(|b| b.value["id"] == id.as_str())
        .ok_or_else(Problem::not_found)?;
    store.batches.remove(index);
    drop(store);
    no_content()
}

async fn get_archive(State(app): State<App>, Path(file): Path<String>) -> Response {
    let id = file.strip_suffix(".tar.gz").unwrap_or_default();
    let archive = app
        .batches
        .lock()
        .get_mut(id)
        .and_then(|b| b.archive.clone());
    match archive {
        Some(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-gzip")],
            bytes,
        )
            .into_response(),
        // Storage answers a missing object with a bare 404.
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
