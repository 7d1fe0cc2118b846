//! The JSON that `--json` prints, shaped for scripts: objects rather than positional arrays,
//! units in names (`elapsed_ms`), snake_case keys without spaces. docs/cli-json.md describes
//! every command's object; `tests/cli_json.rs` snapshots their shapes.
//!
//! The engines' reports keep their own serde form (stored, compared in tests); the views here
//! are what the command line promises.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use sync_core::report::{RetryCounts, RunReport, TargetCounts};
use sync_core::{ObjectKind, RunId, RunStatus};

/// A call kind as a JSON key: `mailchimp store get` → `mailchimp_store_get`.
#[must_use]
pub fn call_key(kind: &str) -> String {
    let mut key = String::with_capacity(kind.len());
    for c in kind.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_matches('_').to_owned()
}

/// Calls by kind, with [`call_key`] keys.
#[must_use]
pub fn calls(map: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (kind, n) in map {
        *out.entry(call_key(kind)).or_default() += n;
    }
    out
}

/// `serialize_with` for a calls map (see [`calls`]).
///
/// # Errors
///
/// The serializer's.
pub fn serialize_calls<S: Serializer>(
    map: &BTreeMap<String, u64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    calls(map).serialize(s)
}

/// `serialize_with` for forward run reports (see [`RunJson`]).
///
/// # Errors
///
/// The serializer's.
pub fn serialize_runs<S: Serializer>(runs: &[RunReport], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(runs.iter().map(RunJson::from))
}

/// One forward run, as scripts read it.
#[derive(Debug, Serialize)]
pub struct RunJson<'a> {
    /// The run (its audit rows carry it; a dry run records nothing under it).
    pub run_id: RunId,
    /// The source object read.
    pub object: ObjectKind,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// `completed`, `aborted`, …
    pub status: RunStatus,
    /// Why it aborted.
    pub error: Option<&'a str>,
    /// Source records read.
    pub read: u64,
    /// How many records QAD counted for the read before it began (`null`: no count).
    pub expected_total: Option<u64>,
    /// Source pages handled.
    pub pages: u64,
    /// Counts per target kind (`members`, `ecommerce_customers`, `products`).
    pub targets: BTreeMap<ObjectKind, TargetJson>,
    /// Member tag updates, when tags are mapped.
    pub tags: Option<TargetJson>,
    /// The replay queue's part of the run, when it retried.
    pub retries: Option<&'a RetryCounts>,
    /// Calls by kind, e.g. `mailchimp_store_get`.
    pub calls: BTreeMap<String, u64>,
    /// What the run could not do right without failing (a mapped field no record has).
    pub warnings: &'a [String],
    /// A dry run's plan (`null` otherwise): the writes by target record kind with their field
    /// changes, and the backfill's cost (docs/cli-json.md).
    pub plan: Option<&'a sync_core::plan::Plan>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

impl<'a> From<&'a RunReport> for RunJson<'a> {
    fn from(r: &'a RunReport) -> Self {
        Self {
            run_id: r.run_id,
            object: r.object,
            dry_run: r.dry_run,
            status: r.status,
            error: r.error.as_deref(),
            read: r.read,
            expected_total: r.expected_total,
            pages: r.pages,
            targets: r
                .targets
                .iter()
                .map(|(kind, c)| (*kind, TargetJson::from(c)))
                .collect(),
            tags: r.tags.as_ref().map(TargetJson::from),
            retries: r.retries.as_ref(),
            calls: calls(&r.calls),
            warnings: &r.warnings,
            plan: r.plan.as_ref(),
            elapsed_ms: u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// Records of one target kind by outcome, with the reasons as a list (reasons are text, never
/// keys).
#[derive(Debug, Serialize)]
pub struct TargetJson {
    /// Created (a dry run: would be).
    pub created: u64,
    /// Updated (a dry run: would be).
    pub updated: u64,
    /// Unchanged, no call.
    pub unchanged: u64,
    /// Deliberately not written.
    pub skipped: u64,
    /// Invalid source records.
    pub rejected: u64,
    /// Failed after retries (queued for replay).
    pub failed: u64,
    /// Waiting for another write (queued for replay).
    pub deferred: u64,
    /// Why records were skipped.
    pub skipped_reasons: Vec<ReasonCount>,
    /// Why records were rejected.
    pub rejected_reasons: Vec<ReasonCount>,
    /// Why records were deferred.
    pub deferred_reasons: Vec<ReasonCount>,
}

impl From<&TargetCounts> for TargetJson {
    fn from(c: &TargetCounts) -> Self {
        Self {
            created: c.created,
            updated: c.updated,
            unchanged: c.unchanged,
            skipped: c.skipped_total(),
            rejected: c.rejected_total(),
            failed: c.failed,
            deferred: c.deferred,
            skipped_reasons: reasons(&c.skipped),
            rejected_reasons: reasons(&c.rejected),
            deferred_reasons: reasons(&c.deferred_reasons),
        }
    }
}

/// A reason and how many records it applies to.
#[derive(Debug, Serialize)]
pub struct ReasonCount {
    /// The reason.
    pub reason: String,
    /// Records.
    pub count: u64,
}

/// Most frequent first.
fn reasons(map: &BTreeMap<String, u64>) -> Vec<ReasonCount> {
    let mut out: Vec<ReasonCount> = map
        .iter()
        .map(|(reason, count)| ReasonCount {
            reason: reason.clone(),
            count: *count,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_kinds_become_snake_case_keys() {
        assert_eq!(call_key("mailchimp store get"), "mailchimp_store_get");
        assert_eq!(call_key("qad browse_page"), "qad_browse_page");
        assert_eq!(
            call_key("Mailchimp  member-list GET"),
            "mailchimp_member_list_get"
        );
    }

    #[test]
    fn a_run_has_elapsed_ms_and_reasons_as_objects() {
        let mut report = RunReport::new(RunId::new(), ObjectKind::Customers, false);
        report
            .target(ObjectKind::Members)
            .add(sync_core::Outcome::Skipped, Some("duplicate email"));
        report.calls.insert("mailchimp store get".into(), 2);
        report.elapsed = std::time::Duration::from_millis(1500);
        let json = serde_json::to_value(RunJson::from(&report)).unwrap_or_default();
        assert_eq!(json["elapsed_ms"], 1500);
        assert_eq!(json["calls"]["mailchimp_store_get"], 2);
        assert_eq!(json["targets"]["members"]["skipped"], 1);
        assert_eq!(
            json["targets"]["members"]["skipped_reasons"][0],
            serde_json::json!({"reason": "duplicate email", "count": 1})
        );
    }
}
