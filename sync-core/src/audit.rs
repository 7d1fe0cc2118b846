//! The audit trail: one row per record per run, the queries over it, and the runs themselves.
//!
//! Rows are written through [`StateBatch::audit`](crate::StateBatch::audit) together with the
//! hashes and cursor of the same page, and read back with [`AuditQuery`]. Failed rows form the
//! replay queue ([`StateStore::pending_replays`](crate::StateStore::pending_replays)); a replay is
//! a new row whose [`replay_of`](NewAuditRow::replay_of) names the original, and a successful
//! replay marks the original resolved in the same transaction.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{ObjectKind, Outcome, RunId, RunStatus, RunTrigger, TargetRecord, TargetSystem};

mod redacted_text;

pub(crate) use redacted_text::redacted_json;

/// The database id of an audit row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditId(i64);

impl AuditId {
    /// Wraps a stored id.
    #[must_use]
    pub fn new(id: i64) -> Self {
        Self(id)
    }

    /// The number inside.
    #[must_use]
    pub fn get(&self) -> i64 {
        self.0
    }
}

impl fmt::Display for AuditId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An HTTP method of a recorded operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name, upper case.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Self::Get, Self::Post, Self::Put, Self::Patch, Self::Delete]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The write a record became: enough, with the row's payload, to send it again on replay.
///
/// ```
/// use sync_core::audit::{Method, TargetOperation};
/// use sync_core::TargetSystem;
///
/// let op = TargetOperation::new(TargetSystem::Mailchimp, Method::Put, "/lists/abc/members/0f1e");
/// assert_eq!(op.to_string(), "mailchimp PUT /lists/abc/members/0f1e");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetOperation {
    /// The system called.
    pub system: TargetSystem,
    /// The HTTP method.
    pub method: Method,
    /// The path relative to the system's base URL, for example `/lists/{id}/members/{hash}`.
    pub path: String,
}

impl TargetOperation {
    /// Creates an operation.
    #[must_use]
    pub fn new(system: TargetSystem, method: Method, path: impl Into<String>) -> Self {
        Self {
            system,
            method,
            path: path.into(),
        }
    }
}

impl fmt::Display for TargetOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.system, self.method, self.path)
    }
}

/// Field names whose values are replaced by [`REDACTED`] before a payload is stored.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "client_secret",
    "signing_secret",
    "token",
    "access_token",
    "refresh_token",
    "apikey",
    "api_key",
    "authorization",
    "cookie",
];

/// The text that replaces a secret-looking value in a stored payload.
pub const REDACTED: &str = "** redacted **";

/// Replaces the value of every object field named like a credential (`password`, `api_key`,
/// `token`, `authorization`, ... compared case-insensitively, `-` read as `_`) with [`REDACTED`],
/// at any depth.
///
/// Payloads are record data and should never hold credentials; this is the safety net that keeps
/// one out of the audit trail if a mapping ever puts it there. [`NewAuditRow::payload`] applies it.
///
/// ```
/// use serde_json::json;
/// use sync_core::audit::{redact_payload, REDACTED};
///
/// let clean = redact_payload(json!({"email": "a@northwind-mfg.com", "auth": {"Api-Key": "k-us6"}}));
/// assert_eq!(clean, json!({"email": "a@northwind-mfg.com", "auth": {"Api-Key": REDACTED}}));
/// ```
#[must_use]
pub fn redact_payload(mut value: Value) -> Value {
    redact_in_place(&mut value);
    value
}

/// [`redact_payload`] without rebuilding the payload: every audited write goes through it.
fn redact_in_place(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if is_secret_field(key) {
                    *value = Value::String(REDACTED.to_owned());
                } else {
                    redact_in_place(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_in_place),
        _ => {}
    }
}

/// Whether `key` names a secret, compared without case and with `-` as `_`.
fn is_secret_field(key: &str) -> bool {
    SECRET_FIELDS.iter().any(|secret| {
        secret.len() == key.len()
            && secret.bytes().zip(key.bytes()).all(|(s, k)| {
                s == if k == b'-' {
                    b'_'
                } else {
                    k.to_ascii_lowercase()
                }
            })
    })
}

/// An audit row to append; the store assigns its [`AuditId`].
///
/// ```
/// use sync_core::audit::{Method, NewAuditRow, TargetOperation};
/// use sync_core::{ObjectKind, Outcome, RunId, TargetSystem};
///
/// let row = NewAuditRow::new(RunId::new(), ObjectKind::Customers, "C-1001", Outcome::Failed)
///     .operation(TargetOperation::new(TargetSystem::Mailchimp, Method::Put, "/lists/l1/members/h"))
///     .payload(serde_json::json!({"email_address": "a@northwind-mfg.com"}))
///     .error("mailchimp returned 503: Service Unavailable")
///     .attempts(4);
/// assert_eq!(row.attempts, 4);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAuditRow {
    /// The run that handled the record.
    pub run_id: RunId,
    /// The source object kind.
    pub object: ObjectKind,
    /// The source record's key (QAD customer code, item code, Mailchimp order id, webhook
    /// delivery key, ...).
    pub source_key: String,
    /// The write made (or that would have been made), if any.
    pub operation: Option<TargetOperation>,
    /// The body sent, without secrets.
    pub payload: Option<Value>,
    /// What happened.
    pub outcome: Outcome,
    /// The error or skip reason.
    pub error: Option<String>,
    /// How many attempts the write took (0 when no call was made).
    pub attempts: u32,
    /// When handling started.
    pub started_at: DateTime<Utc>,
    /// When handling finished.
    pub finished_at: DateTime<Utc>,
    /// The original failed row this row replays.
    pub replay_of: Option<crate::audit::AuditId>,
    /// Which target record of the source record the row is about. A successful row with a
    /// target supersedes the earlier failed and deferred rows of the same object, source key and
    /// target: they leave the replay queue, resolved by it.
    #[serde(default)]
    pub target: Option<TargetRecord>,
}

impl NewAuditRow {
    /// A row with no operation, payload or error, zero attempts, started and finished now.
    #[must_use]
    pub fn new(
        run_id: RunId,
        object: ObjectKind,
        source_key: impl Into<String>,
        outcome: Outcome,
    ) -> Self {
        let now = Utc::now();
        Self {
            run_id,
            object,
            source_key: source_key.into(),
            operation: None,
            payload: None,
            outcome,
            error: None,
            attempts: 0,
            started_at: now,
            finished_at: now,
            replay_of: None,
            target: None,
        }
    }

    /// Sets the target record the row is about (see [`target`](Self::target)).
    #[must_use]
    pub fn target(mut self, target: TargetRecord) -> Self {
        self.target = Some(target);
        self
    }

    /// Sets the operation.
    #[must_use]
    pub fn operation(mut self, operation: TargetOperation) -> Self {
        self.operation = Some(operation);
        self
    }

    /// Sets the payload, after [`redact_payload`].
    #[must_use]
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = Some(redact_payload(payload));
        self
    }

    /// Sets the error or skip reason.
    #[must_use]
    pub fn error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// Sets the attempt count.
    #[must_use]
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// Sets the start and finish times.
    #[must_use]
    pub fn times(mut self, started_at: DateTime<Utc>, finished_at: DateTime<Utc>) -> Self {
        self.started_at = started_at;
        self.finished_at = finished_at;
        self
    }

    /// Marks the row as a replay of `original`. Point at the original row even when replaying
    /// again after a failed replay, so the queue keeps one entry per record.
    #[must_use]
    pub fn replay_of(mut self, original: AuditId) -> Self {
        self.replay_of = Some(original);
        self
    }
}

/// How a failed row was resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The row that resolved it: a successful replay, or a later successful write of the same
    /// target that superseded it.
    pub by: AuditId,
    /// When.
    pub at: DateTime<Utc>,
}

/// A stored audit row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// The row's id.
    pub id: AuditId,
    /// Everything recorded when it was appended.
    #[serde(flatten)]
    pub row: NewAuditRow,
    /// Set on a failed row once a replay of it succeeded, or a later write superseded it.
    pub resolution: Option<Resolution>,
    /// The automatic retries of a queued row.
    #[serde(default)]
    pub retry: RetryState,
}

/// Where a queued (failed or deferred) row stands in its automatic retries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RetryState {
    /// Automatic retries made so far.
    pub retries: u32,
    /// Not retried automatically before this time (exponential backoff per row).
    pub next_at: Option<DateTime<Utc>>,
    /// Set once the automatic retries are exhausted, or a retry found the record no longer
    /// sendable: the row is *dead*, left for a person (`replay` still sends it on request).
    pub dead_at: Option<DateTime<Utc>>,
}

/// Selects audit rows; every set field narrows the selection. Rows come back in id order.
///
/// ```
/// use sync_core::audit::AuditQuery;
/// use sync_core::{ObjectKind, Outcome};
///
/// let failed_customers = AuditQuery::new()
///     .object(ObjectKind::Customers)
///     .outcome(Outcome::Failed)
///     .limit(100);
/// assert_eq!(failed_customers.limit, 100);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Only rows of this run.
    pub run_id: Option<RunId>,
    /// Only rows with this outcome.
    pub outcome: Option<Outcome>,
    /// Only rows for this source key.
    pub source_key: Option<String>,
    /// Only rows for this source object kind.
    pub object: Option<ObjectKind>,
    /// Only rows with an id greater than this (keyset pagination of an oldest-first query:
    /// pass the last id seen).
    pub after: Option<AuditId>,
    /// Only rows with an id less than this (keyset pagination of a newest-first query: pass the
    /// last id seen).
    #[serde(default)]
    pub before: Option<AuditId>,
    /// Rows newest first (by id, descending) instead of oldest first: the latest `limit`
    /// matches in one query, as an operator reading the trail wants them.
    #[serde(default)]
    pub newest_first: bool,
    /// At most this many rows.
    pub limit: u32,
}

impl AuditQuery {
    /// The default page size of a query.
    pub const DEFAULT_LIMIT: u32 = 1000;

    /// A query matching every row, [`DEFAULT_LIMIT`](Self::DEFAULT_LIMIT) at a time.
    #[must_use]
    pub fn new() -> Self {
        Self {
            run_id: None,
            outcome: None,
            source_key: None,
            object: None,
            after: None,
            before: None,
            newest_first: false,
            limit: Self::DEFAULT_LIMIT,
        }
    }

    /// Only rows of `run_id`.
    #[must_use]
    pub fn run(mut self, run_id: RunId) -> Self {
        self.run_id = Some(run_id);
        self
    }

    /// Only rows with `outcome`.
    #[must_use]
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// Only rows for `source_key`.
    #[must_use]
    pub fn source_key(mut self, source_key: impl Into<String>) -> Self {
        self.source_key = Some(source_key.into());
        self
    }

    /// Only rows for `object`.
    #[must_use]
    pub fn object(mut self, object: ObjectKind) -> Self {
        self.object = Some(object);
        self
    }

    /// Only rows after `id`.
    #[must_use]
    pub fn after(mut self, id: AuditId) -> Self {
        self.after = Some(id);
        self
    }

    /// Only rows before `id` (for paging a [`newest_first`](Self::newest_first) query).
    #[must_use]
    pub fn before(mut self, id: AuditId) -> Self {
        self.before = Some(id);
        self
    }

    /// Newest rows first.
    ///
    /// ```
    /// use sync_core::audit::AuditQuery;
    ///
    /// // The latest 50 rows of the trail, newest first.
    /// let latest = AuditQuery::new().newest_first().limit(50);
    /// assert!(latest.newest_first);
    /// ```
    #[must_use]
    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    /// At most `limit` rows.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self::new()
    }
}

/// Selects failed or deferred, unresolved rows from the replay queue: one row, all rows of a
/// run, or all rows of an object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ReplayFilter {
    /// Every pending row.
    All,
    /// One row (empty if it is not failed or deferred, is itself a replay, or is resolved).
    Row(AuditId),
    /// The pending rows of one run.
    Run(RunId),
    /// The pending rows of one source object kind.
    Object(ObjectKind),
}

/// Audit rows of a run counted by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// Rows with [`Outcome::Created`].
    pub created: u64,
    /// Rows with [`Outcome::Updated`].
    pub updated: u64,
    /// Rows with [`Outcome::Unchanged`].
    pub unchanged: u64,
    /// Rows with [`Outcome::Skipped`].
    pub skipped: u64,
    /// Rows with [`Outcome::Rejected`].
    pub rejected: u64,
    /// Rows with [`Outcome::Failed`].
    pub failed: u64,
    /// Rows with [`Outcome::Deferred`].
    #[serde(default)]
    pub deferred: u64,
}

impl OutcomeCounts {
    /// Adds `n` to the count of `outcome`.
    pub fn add(&mut self, outcome: Outcome, n: u64) {
        let slot = match outcome {
            Outcome::Created => &mut self.created,
            Outcome::Updated => &mut self.updated,
            Outcome::Unchanged => &mut self.unchanged,
            Outcome::Skipped => &mut self.skipped,
            Outcome::Rejected => &mut self.rejected,
            Outcome::Failed => &mut self.failed,
            Outcome::Deferred => &mut self.deferred,
        };
        *slot += n;
    }

    /// All rows counted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.created
            + self.updated
            + self.unchanged
            + self.skipped
            + self.rejected
            + self.failed
            + self.deferred
    }
}

/// A run to record as started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStart {
    /// The run's id.
    pub id: RunId,
    /// The source objects it covers.
    pub objects: Vec<ObjectKind>,
    /// What started it.
    pub trigger: RunTrigger,
    /// When it started.
    pub started_at: DateTime<Utc>,
}

impl RunStart {
    /// A run with a new id, started now.
    #[must_use]
    pub fn new(objects: Vec<ObjectKind>, trigger: RunTrigger) -> Self {
        Self {
            id: RunId::new(),
            objects,
            trigger,
            started_at: Utc::now(),
        }
    }
}

/// A stored run with its records counted by outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// How it started.
    #[serde(flatten)]
    pub start: RunStart,
    /// Where it stands.
    pub status: RunStatus,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it aborted, if it did.
    pub error: Option<String>,
    /// Its records by outcome: its audit rows, and in `unchanged` also the unchanged records it
    /// counted without a row each ([`StateBatch::count_unchanged`](crate::StateBatch::count_unchanged)).
    pub counts: OutcomeCounts,
}

/// An audit row on its way into a store, its payload possibly already written as the stored
/// text (the forward path writes each operation straight to text, [`redacted_json`]).
#[derive(Clone, Debug)]
pub(crate) struct PendingAudit {
    pub row: NewAuditRow,
    /// The payload as stored, when given as text rather than as the row's `payload`.
    pub text: Option<String>,
}

impl PendingAudit {
    /// The text to store as the row's payload, redacted: the given text, else the row's payload
    /// (which [`NewAuditRow::payload`] already redacted; this catches one set on the public field
    /// directly).
    pub(crate) fn payload_text(&mut self) -> Result<Option<String>, crate::StateError> {
        match (self.text.take(), self.row.payload.take()) {
            (Some(text), _) => Ok(Some(text)),
            (None, Some(value)) => {
                redacted_json(&value)
                    .map(Some)
                    .map_err(|source| crate::StateError::Encode {
                        what: "audit payload",
                        source,
                    })
            }
            (None, None) => Ok(None),
        }
    }

    /// The row with its payload as a value again (read back from the text, which this crate
    /// wrote as JSON).
    pub(crate) fn into_row(self) -> NewAuditRow {
        let mut row = self.row;
        if let Some(text) = self.text {
            row.payload = serde_json::from_str(&text).ok();
        }
        row
    }
}

impl From<NewAuditRow> for PendingAudit {
    fn from(row: NewAuditRow) -> Self {
        Self { row, text: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_names_match_without_case_and_with_dashes_only_whole() {
        for key in [
            "Access-Token",
            "CLIENT_SECRET",
            "api-key",
            "Api_Key",
            "password",
        ] {
            assert!(is_secret_field(key), "{key}");
        }
        for key in [
            "tokens",
            "passwords",
            "access-tokenx",
            "secretary",
            "",
            "api key",
        ] {
            assert!(!is_secret_field(key), "{key}");
        }
    }

    #[test]
    fn redaction_reaches_arrays_and_leaves_record_fields() {
        let payload = json!({
            "email_address": "a@northwind-mfg.com",
            "merge_fields": {"FNAME": "Ann", "TOKEN": "t-1"},
            "list": [{"password": "p"}, {"sku": "X"}]
        });
        assert_eq!(
            redact_payload(payload),
            json!({
                "email_address": "a@northwind-mfg.com",
                "merge_fields": {"FNAME": "Ann", "TOKEN": REDACTED},
                "list": [{"password": REDACTED}, {"sku": "X"}]
            })
        );
    }

    #[test]
    fn counts_add_up() {
        let mut counts = OutcomeCounts::default();
        for outcome in Outcome::ALL {
            counts.add(*outcome, 2);
        }
        assert_eq!(counts.total(), 14);
        assert_eq!(counts.failed, 2);
        assert_eq!(counts.deferred, 2);
    }

    #[test]
    fn methods_parse_back() {
        for m in [
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ] {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        assert_eq!(Method::parse("put"), None);
    }
}
