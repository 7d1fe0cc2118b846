//! Batch operations: `POST /batches` with typed operations, `GET /batches`
//! and `GET`/`DELETE /batches/{batch_id}`, waiting bounded by progress, and
//! the results archive streamed into typed per-operation results.
//!
//! Mailchimp runs a batch's operations in the background, in no particular
//! order. When it is `finished`, `response_body_url` points at a gzipped tar
//! of JSON files, each an array of `{status_code, operation_id, response}`
//! where `response` is the operation's JSON answer as a string. The URL is
//! pre-signed (valid for 10 minutes): it is fetched **without** the API key,
//! and [`BatchesHandler::results`] reads the batch again for a fresh one.

use std::io::Read;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ids::id_type;
use crate::page::{collection_methods, Collection};
use crate::query::Query;

id_type!(
    /// A batch id, such as `123abc`.
    BatchId
);

/// The most bytes of a results archive read (compressed): 256 MiB.
pub const MAX_RESULTS_ARCHIVE_BYTES: usize = 256 * 1024 * 1024;

/// The most bytes of one JSON file inside a results archive: 256 MiB.
const MAX_RESULTS_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// One operation of a batch: an API call Mailchimp makes for you.
///
/// ```
/// use mailchimp_client::{BatchOperation, SubscriberHash};
/// use serde_json::json;
///
/// let hash = SubscriberHash::from_email("ada@northwind-mfg.com");
/// let op = BatchOperation::put(format!("/lists/a1b2c3/members/{hash}"))
///     .json_body(&json!({"email_address": "ada@northwind-mfg.com", "status_if_new": "subscribed"}))?
///     .operation_id("C0000001");
/// let wire = serde_json::to_value(&op).unwrap();
/// assert_eq!(wire["method"], "PUT");
/// assert!(wire["body"].is_string(), "the body is a JSON string, as the spec says");
/// # Ok::<(), mailchimp_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchOperation {
    method: &'static str,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation_id: Option<String>,
}

impl BatchOperation {
    fn new(method: &'static str, path: impl Into<String>) -> Self {
        BatchOperation {
            method,
            path: path.into(),
            params: None,
            body: None,
            operation_id: None,
        }
    }

    /// A `GET` of `path` (relative to the API root, e.g. `/lists/a1b2c3`).
    pub fn get(path: impl Into<String>) -> Self {
        Self::new("GET", path)
    }

    /// A `POST` to `path`.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new("POST", path)
    }

    /// A `PUT` to `path`.
    pub fn put(path: impl Into<String>) -> Self {
        Self::new("PUT", path)
    }

    /// A `PATCH` of `path`.
    pub fn patch(path: impl Into<String>) -> Self {
        Self::new("PATCH", path)
    }

    /// A `DELETE` of `path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new("DELETE", path)
    }

    /// The request body, serialised to the JSON string the spec wants.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when `body` cannot be serialised.
    pub fn json_body<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        let text = serde_json::to_string(body)
            .map_err(|e| Error::invalid_input("body", format!("could not be serialised: {e}")))?;
        self.body = Some(text);
        Ok(self)
    }

    /// A query parameter of the operation (e.g. `fields`).
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params
            .get_or_insert_with(Default::default)
            .insert(key.into(), serde_json::Value::String(value.into()));
        self
    }

    /// Your id for the operation, echoed in its result.
    pub fn operation_id(mut self, id: impl Into<String>) -> Self {
        self.operation_id = Some(id.into());
        self
    }

    /// The method, e.g. `PUT`.
    pub fn method(&self) -> &str {
        self.method
    }

    /// The path.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn validate(&self, index: usize) -> Result<()> {
        if !self.path.starts_with('/') || self.path.contains(char::is_whitespace) {
            return Err(Error::invalid_input(
                "operations",
                format!(
                    "operation {index}: the path {:?} must start with / and hold no spaces",
                    self.path
                ),
            ));
        }
        Ok(())
    }
}

/// A batch's processing state. Open: an unknown status is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
#[allow(missing_docs)] // the names are Mailchimp's
pub enum BatchStatus {
    #[default]
    Pending,
    Preprocessing,
    Started,
    Finalizing,
    Finished,
    /// A status this crate does not know.
    #[serde(untagged)]
    Other(String),
}

/// A batch request, as `GET /batches/{batch_id}` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Batch {
    /// The batch id.
    pub id: BatchId,
    /// Where processing stands.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub status: BatchStatus,
    /// Operations in the batch.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub total_operations: u64,
    /// Operations done (successful or not). It can reach the total well
    /// before `status` is `finished`.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub finished_operations: u64,
    /// Operations that answered with an error.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub errored_operations: u64,
    /// When it was submitted (as sent).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub submitted_at: String,
    /// When it finished (as sent; empty before).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub completed_at: String,
    /// The results archive, once finished (pre-signed, valid 10 minutes).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub response_body_url: String,
}

/// One operation's outcome, from the results archive.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct BatchOperationResult {
    /// The HTTP status the operation got.
    pub status_code: u16,
    /// The id given with [`BatchOperation::operation_id`], if any.
    #[serde(default)]
    pub operation_id: Option<String>,
    /// The operation's answer (a resource, or a problem document), decoded
    /// from the string Mailchimp stores; `Null` when it was empty.
    #[serde(default, deserialize_with = "json_in_string")]
    pub response: serde_json::Value,
}

impl BatchOperationResult {
    /// Whether the operation succeeded (a 2xx status).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status_code)
    }
}

/// The `response` field: JSON text inside a string (or, leniently, JSON).
fn json_in_string<'de, D>(deserializer: D) -> std::result::Result<serde_json::Value, D::Error>
where
    D: serde::Deserializer<'de>,
{
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) if text.trim().is_empty() => Ok(serde_json::Value::Null),
        serde_json::Value::String(text) => {
            serde_json::from_str(&text).map_err(serde::de::Error::custom)
        }
        other => Ok(other),
    }
}

/// How [`BatchesHandler::wait`] polls.
///
/// ```
/// use std::time::Duration;
/// use mailchimp_client::BatchWait;
///
/// let wait = BatchWait::new()
///     .poll_interval(Duration::from_secs(2))
///     .stall_timeout(Duration::from_secs(300));
/// assert_eq!(wait.get_poll_interval(), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchWait {
    poll_interval: Duration,
    stall_timeout: Duration,
}

impl Default for BatchWait {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchWait {
    /// Polls every 5 s and gives up after 10 minutes without progress.
    pub fn new() -> Self {
        BatchWait {
            poll_interval: Duration::from_secs(5),
            stall_timeout: Duration::from_secs(600),
        }
    }

    /// Time between two reads of the batch.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long the batch may show no progress (same status and
    /// `finished_operations`) before waiting gives up.
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// The poll interval.
    pub fn get_poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// The stall timeout.
    pub fn get_stall_timeout(&self) -> Duration {
        self.stall_timeout
    }
}

impl Client {
    /// Batch operations.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::{BatchOperation, BatchWait};
    ///
    /// let batches = client.batches();
    /// let batch = batches
    ///     .start(vec![BatchOperation::get("/lists/a1b2c3").operation_id("audience")])
    ///     .await?;
    /// let done = batches.wait(&batch.id, BatchWait::new()).await?;
    /// for result in batches.results(&done.id).await? {
    ///     println!("{:?}: {}", result.operation_id, result.status_code);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn batches(&self) -> BatchesHandler {
        BatchesHandler {
            client: self.clone(),
        }
    }
}

/// Batch operations; made by [`Client::batches`].
#[derive(Debug, Clone)]
pub struct BatchesHandler {
    client: Client,
}

impl BatchesHandler {
    /// `POST /batches`: submits the operations. Not retried: a repeated
    /// `POST` would run every operation twice.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] before any request when there is no operation
    /// or a path does not start with `/`; otherwise the API and transport
    /// errors of [`Error`] (a `429` when 500 batches are already pending).
    pub async fn start(&self, operations: Vec<BatchOperation>) -> Result<Batch> {
        if operations.is_empty() {
            return Err(Error::invalid_input("operations", "is empty"));
        }
        for (index, op) in operations.iter().enumerate() {
            op.validate(index)?;
        }
        #[derive(Serialize)]
        struct Body<'a> {
            operations: &'a [BatchOperation],
        }
        self.client
            .send_json(
                Method::POST,
                &["batches"],
                &Query::new(),
                &Body {
                    operations: &operations,
                },
            )
            .await
    }

    /// `GET /batches/{batch_id}`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown (or expired) batch; otherwise the
    /// API and transport errors of [`Error`].
    pub async fn get(&self, id: &BatchId) -> Result<Batch> {
        self.client
            .get(&["batches", id.as_str()], &Query::new())
            .await
    }

    /// `GET /batches`: the batches of the last 7 days.
    pub fn list(&self) -> ListBatchesRequest {
        ListBatchesRequest {
            inner: self.client.collection(&["batches"], "batches"),
        }
    }

    /// `DELETE /batches/{batch_id}`: stops a batch and deletes its results.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown batch; otherwise the API and
    /// transport errors of [`Error`].
    pub async fn delete(&self, id: &BatchId) -> Result<()> {
        self.client
            .delete(&["batches", id.as_str()], &Query::new())
            .await
    }

    /// Reads the batch until it is `finished`, every
    /// [`poll_interval`](BatchWait::poll_interval).
    ///
    /// Waiting is bounded by progress, not by a fixed deadline nor by the
    /// status alone: a large batch may take hours while it advances, and
    /// `finished_operations` often reaches the total long before the status
    /// says `finished`. Each change of the status or of
    /// `finished_operations` restarts the [`stall_timeout`](BatchWait::stall_timeout).
    ///
    /// # Errors
    ///
    /// [`Error::BatchStalled`] with the last state read when nothing moved
    /// for the stall timeout; the errors of [`get`](Self::get).
    pub async fn wait(&self, id: &BatchId, wait: BatchWait) -> Result<Batch> {
        let mut last_progress = tokio::time::Instant::now();
        let mut seen: Option<(BatchStatus, u64)> = None;
        loop {
            let batch = self.get(id).await?;
            if batch.status == BatchStatus::Finished {
                return Ok(batch);
            }
            let now = (batch.status.clone(), batch.finished_operations);
            if seen.as_ref() != Some(&now) {
                seen = Some(now);
                last_progress = tokio::time::Instant::now();
            } else if last_progress.elapsed() >= wait.stall_timeout {
                return Err(Error::BatchStalled(Box::new(batch)));
            }
            tokio::time::sleep(wait.poll_interval).await;
        }
    }

    /// The per-operation results of a finished batch: reads the batch for a
    /// fresh `response_body_url`, downloads the archive (without
    /// credentials; at most [`MAX_RESULTS_ARCHIVE_BYTES`]) and decodes it
    /// entry by entry, gunzipping and untarring as it reads.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the batch is not finished or has no
    /// results URL; [`Error::BatchResults`] when the archive is too large or
    /// is not a gzipped tar of JSON result arrays; the errors of
    /// [`get`](Self::get) and of the download.
    pub async fn results(&self, id: &BatchId) -> Result<Vec<BatchOperationResult>> {
        let batch = self.get(id).await?;
        if batch.status != BatchStatus::Finished {
            return Err(Error::invalid_input(
                "batch",
                format!("{id} is not finished yet ({:?})", batch.status),
            ));
        }
        let url = Url::parse(batch.response_body_url.trim()).map_err(|_| {
            Error::invalid_input("batch", format!("{id} has no usable response_body_url"))
        })?;
        let archive = self.client.download(url).await?;
        if archive.len() > MAX_RESULTS_ARCHIVE_BYTES {
            return Err(Error::batch_results(format!(
                "the results archive has {} bytes, over the {MAX_RESULTS_ARCHIVE_BYTES}-byte limit",
                archive.len()
            )));
        }
        // Decompressing is CPU work: keep it off the async workers.
        tokio::task::spawn_blocking(move || read_results(archive))
            .await
            .map_err(|e| Error::batch_results(format!("the archive reader stopped: {e}")))?
    }
}

/// Reads every JSON file of a gzipped tar of result arrays.
fn read_results(archive: Bytes) -> Result<Vec<BatchOperationResult>> {
    let gz = flate2::read::GzDecoder::new(std::io::Cursor::new(archive));
    let mut tar = tar::Archive::new(gz);
    let entries = tar
        .entries()
        .map_err(|e| Error::batch_results(format!("not a gzipped tar: {e}")))?;
    let mut results = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::batch_results(format!("bad tar entry: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if !name.ends_with(".json") {
            continue;
        }
        if entry.size() > MAX_RESULTS_FILE_BYTES {
            return Err(Error::batch_results(format!("{name} is too large")));
        }
        let reader = std::io::BufReader::new(entry.take(MAX_RESULTS_FILE_BYTES));
        let file: Vec<BatchOperationResult> = serde_json::from_reader(reader)
            .map_err(|e| Error::batch_results(format!("{name} is not a result array: {e}")))?;
        results.extend(file);
    }
    Ok(results)
}

/// `GET /batches`; made by [`BatchesHandler::list`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct ListBatchesRequest {
    inner: Collection,
}

impl ListBatchesRequest {
    collection_methods!(Batch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn archive(files: &[(&str, &str)]) -> Bytes {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, text.as_bytes()).unwrap();
        }
        let tar = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        Bytes::from(gz.finish().unwrap())
    }

    #[test]
    fn reads_every_json_file_and_decodes_the_response_strings() {
        let a = r#"[{"status_code":200,"operation_id":"a","response":"{\"id\":\"x\"}"}]"#;
        let b = r#"[{"status_code":404,"operation_id":null,"response":"{\"title\":\"Resource Not Found\"}"},{"status_code":204,"operation_id":"c","response":""}]"#;
        let results = read_results(archive(&[
            ("x/1.json", a),
            ("x/README", "not json"),
            ("x/2.json", b),
        ]))
        .unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(results[0].operation_id.as_deref(), Some("a"));
        assert_eq!(results[0].response["id"], "x");
        assert!(results[0].is_success());
        assert_eq!(results[1].status_code, 404);
        assert_eq!(results[1].response["title"], "Resource Not Found");
        assert!(results[2].response.is_null());
    }

    #[test]
    fn a_broken_archive_is_a_typed_error() {
        let err = read_results(Bytes::from_static(b"not gzip")).unwrap_err();
        assert!(matches!(err, Error::BatchResults { .. }), "{err:?}");
        let err = read_results(archive(&[("1.json", "{\"no\":1}")])).unwrap_err();
        assert!(err.to_string().contains("1.json"), "{err}");
    }

    #[test]
    fn statuses_decode_and_unknown_ones_are_kept() {
        let b: Batch = serde_json::from_str(
            r#"{"id":"b1","status":"finalizing","total_operations":3,"finished_operations":3}"#,
        )
        .unwrap();
        assert_eq!(b.status, BatchStatus::Finalizing);
        let b: Batch = serde_json::from_str(r#"{"id":"b1","status":"paused"}"#).unwrap();
        assert_eq!(b.status, BatchStatus::Other("paused".into()));
    }
}
