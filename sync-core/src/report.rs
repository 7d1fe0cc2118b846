//! What a run did: records per target kind by outcome, skip reasons, calls made by kind, time.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{ObjectKind, Outcome, RunId, RunStatus};

/// Counts of one target kind (members, e-commerce customers, products) in a run.
///
/// In a dry run `created` and `updated` count the writes that *would* be made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetCounts {
    /// Records created.
    pub created: u64,
    /// Records updated.
    pub updated: u64,
    /// Records whose content hash matched: no call.
    pub unchanged: u64,
    /// Records deliberately not sent, by reason (see [`add`](Self::add)).
    pub skipped: BTreeMap<String, u64>,
    /// Records that are invalid, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Records whose write failed (replayable).
    pub failed: u64,
    /// Records not written for now: what they wait for did not succeed (an e-commerce customer
    /// whose member write failed), or Mailchimp throttled the signup; queued and retried later.
    #[serde(default)]
    pub deferred: u64,
    /// The deferred records by reason, grouped as skip and reject reasons are.
    #[serde(default)]
    pub deferred_reasons: BTreeMap<String, u64>,
}

impl TargetCounts {
    /// Counts one record. Skip, reject and defer reasons are grouped by their text before the first
    /// `": "` (`invalid email: "x" has no @` counts as `invalid email`); the audit row keeps
    /// the whole reason.
    pub fn add(&mut self, outcome: Outcome, reason: Option<&str>) {
        let reason = || {
            let reason = reason.unwrap_or("unspecified");
            reason.split(": ").next().unwrap_or(reason).to_owned()
        };
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::Skipped => *self.skipped.entry(reason()).or_default() += 1,
            Outcome::Rejected => *self.rejected.entry(reason()).or_default() += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Deferred => {
                self.deferred += 1;
                *self.deferred_reasons.entry(reason()).or_default() += 1;
            }
        }
    }

    /// All skipped records.
    #[must_use]
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// All rejected records.
    #[must_use]
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Records written (or, in a dry run, to be written).
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.created + self.updated
    }

    /// All records counted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.writes()
            + self.unchanged
            + self.skipped_total()
            + self.rejected_total()
            + self.failed
            + self.deferred
    }
}

/// The report of one forward run of one source object.
///
/// ```
/// use sync_core::report::RunReport;
/// use sync_core::{ObjectKind, Outcome};
///
/// let mut report = RunReport::new(sync_core::RunId::new(), ObjectKind::Customers, false);
/// report.target(ObjectKind::Members).add(Outcome::Rejected, Some("no email address"));
/// report.target(ObjectKind::Members).add(Outcome::Rejected, Some("invalid email: \"x\" has no @"));
/// report.target(ObjectKind::Members).add(Outcome::Rejected, Some("invalid email: \"y@z\" has an invalid domain"));
/// report.target(ObjectKind::Members).add(Outcome::Created, None);
/// report.target(ObjectKind::Members).add(Outcome::Deferred, Some("signup throttled by Mailchimp: a@b.io …"));
/// assert_eq!(report.targets[&ObjectKind::Members].rejected["invalid email"], 2);
/// assert_eq!(report.targets[&ObjectKind::Members].deferred_reasons["signup throttled by Mailchimp"], 1);
/// assert_eq!(report.targets[&ObjectKind::Members].total(), 5);
/// assert!(report.to_string().contains("members"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// The run (also in every audit row it wrote; a dry run records nothing under it).
    pub run_id: RunId,
    /// The source object read.
    pub object: ObjectKind,
    /// Whether this was a dry run (no writes to Mailchimp, no state changes).
    pub dry_run: bool,
    /// How the run ended.
    pub status: RunStatus,
    /// Why it aborted, if it did.
    pub error: Option<String>,
    /// Source records read.
    pub read: u64,
    /// How many source records the read was expected to bring, as QAD counted them before the
    /// first page (`count.endpoint`); `None` when QAD gives no count. Set with the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_total: Option<u64>,
    /// Source pages fully handled (and, outside dry runs, committed).
    pub pages: u64,
    /// Per target kind.
    pub targets: BTreeMap<ObjectKind, TargetCounts>,
    /// Member tag updates, when tags are mapped (one call per member whose tags changed).
    pub tags: Option<TargetCounts>,
    /// The replay queue's part of the run (rows retried before the new reads), when it retried.
    #[serde(default)]
    pub retries: Option<RetryCounts>,
    /// Calls made to each system, by kind (for example `mailchimp batch_subscribe`). Client-level
    /// retries of one call count once.
    pub calls: BTreeMap<String, u64>,
    /// What the run could not do right without failing: a mapped QAD field no record has (the
    /// mapping then writes nothing for it), with the names the records do have.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// A dry run's plan: the writes a real run would make, with their field changes (see
    /// [`crate::plan`]); `None` outside dry runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::plan::Plan>,
    /// Wall time.
    #[serde(with = "duration_ms")]
    pub elapsed: Duration,
}

impl RunReport {
    /// An empty report.
    #[must_use]
    pub fn new(run_id: RunId, object: ObjectKind, dry_run: bool) -> Self {
        Self {
            run_id,
            object,
            dry_run,
            status: RunStatus::Running,
            error: None,
            read: 0,
            expected_total: None,
            pages: 0,
            targets: BTreeMap::new(),
            tags: None,
            retries: None,
            calls: BTreeMap::new(),
            warnings: Vec::new(),
            plan: None,
            elapsed: Duration::ZERO,
        }
    }

    /// The counts of one target kind, created empty on first use.
    pub fn target(&mut self, kind: ObjectKind) -> &mut TargetCounts {
        self.targets.entry(kind).or_default()
    }

    /// Write calls made to Mailchimp (every call kind but reads).
    #[must_use]
    pub fn mailchimp_writes(&self) -> u64 {
        self.calls
            .iter()
            .filter(|(kind, _)| kind.starts_with("mailchimp ") && !kind.ends_with(" get"))
            .map(|(_, n)| n)
            .sum()
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.dry_run { " (dry run)" } else { "" };
        writeln!(
            f,
            "{}{mode}: {} — {} read in {} page(s), {:.1?}",
            self.object, self.status, self.read, self.pages, self.elapsed
        )?;
        if let Some(error) = &self.error {
            writeln!(f, "  error: {error}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "  warning: {warning}")?;
        }
        for (kind, c) in &self.targets {
            writeln!(
                f,
                "  {kind}: {} created, {} updated, {} unchanged, {} skipped, {} rejected, {} failed, {} deferred",
                c.created,
                c.updated,
                c.unchanged,
                c.skipped_total(),
                c.rejected_total(),
                c.failed,
                c.deferred
            )?;
            for (reason, n) in &c.skipped {
                writeln!(f, "    skipped {n}: {reason}")?;
            }
            for (reason, n) in &c.rejected {
                writeln!(f, "    rejected {n}: {reason}")?;
            }
        }
        if let Some(t) = &self.tags {
            writeln!(
                f,
                "  member tags: {} written, {} unchanged, {} failed",
                t.writes(),
                t.unchanged,
                t.failed
            )?;
        }
        if let Some(r) = &self.retries {
            writeln!(
                f,
                "  retried {} queued row(s) of {} record(s): {} resolved, {} queued again, {} dead",
                r.rows, r.records, r.resolved, r.again, r.dead
            )?;
        }
        for (kind, n) in &self.calls {
            writeln!(f, "  calls {kind}: {n}")?;
        }
        Ok(())
    }
}

/// What a run's retry of the replay queue did (counted in queued rows; the records it re-read
/// and wrote are in the report's target counts too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RetryCounts {
    /// Queued rows retried: those due, and the other queued rows of the same records.
    pub rows: u64,
    /// Source records re-read from QAD and re-mapped for them.
    pub records: u64,
    /// Rows resolved: their target now holds the current mapping.
    pub resolved: u64,
    /// Rows that stay queued for a later retry (backoff).
    pub again: u64,
    /// Rows that became dead in this run: their retries are exhausted, or their source record is
    /// gone or no longer sendable. `audit --outcome failed` lists them; `replay` still sends them.
    pub dead: u64,
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Counts calls by kind; shared by the reader and the executor of a run.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<BTreeMap<String, u64>>>);

impl CallLog {
    /// A log with no calls.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one call of `kind`.
    pub fn count(&self, kind: &str) {
        if let Ok(mut map) = self.0.lock() {
            *map.entry(kind.to_owned()).or_default() += 1;
        }
    }

    /// The counts so far.
    #[must_use]
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}
