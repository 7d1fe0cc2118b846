//! What a reconcile found (and, with `fix`, did), per target kind.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{ObjectKind, RunId};

/// One field that differs: what Mailchimp holds and what the mapping of the QAD record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// The field, in dot notation (`merge_fields.FNAME`, `variants.W-1.price`).
    pub field: String,
    /// The value in Mailchimp (`""` when absent).
    pub mailchimp: String,
    /// The value the connector writes.
    pub qad: String,
}

/// One record given as an example of a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The target id: a member's normalized address, an e-commerce customer or product id.
    pub id: String,
    /// The QAD key, when the record comes from QAD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_key: Option<String>,
    /// The member status found in Mailchimp, for members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The fields that differ, for records that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDiff>,
    /// More about it: the status the connector intended, why a fix failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Example {
    pub(crate) fn new(id: &str, source_key: Option<&str>) -> Self {
        Self {
            id: id.to_owned(),
            source_key: source_key.map(str::to_owned),
            status: None,
            fields: Vec::new(),
            note: None,
        }
    }
}

/// A count and its first examples (at most [`ReconcileOptions::examples`](super::ReconcileOptions::examples)).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How many records are in this category.
    pub count: u64,
    /// The first of them, in target id order.
    pub examples: Vec<Example>,
}

impl Finding {
    pub(crate) fn add(&mut self, example: Example, keep: usize) {
        self.count += 1;
        if self.examples.len() < keep {
            self.examples.push(example);
        }
    }
}

/// What reconcile found for one target kind (members, e-commerce customers, products).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindReport {
    /// QAD records mapped to a record of this kind (the records compared).
    pub expected: u64,
    /// Records of this kind read from Mailchimp.
    pub in_mailchimp: u64,
    /// QAD records the mapping rejects or skips (bad email, inactive item): never expected.
    pub not_mapped: u64,
    /// Expected records equal in Mailchimp, field by field.
    pub equal: u64,
    /// Drift: expected records absent from Mailchimp.
    pub missing: Finding,
    /// Drift: expected records whose written fields differ.
    pub different: Finding,
    /// Drift, as equality cannot be shown: records Mailchimp holds under the expected id whose
    /// JSON does not decode (a field of an unexpected type); the note quotes why. `fix` writes
    /// them again.
    #[serde(default)]
    pub unreadable: Finding,
    /// Drift: members whose status is not the one the connector intended (for example
    /// transactional where the mapping says subscribed). `fix` never changes a status.
    pub status_differs: Finding,
    /// Not drift: members whose status forbids writes (cleaned, unsubscribed, archived, or
    /// remembered as compliance state or forgotten); the connector leaves them alone.
    pub blocked: Finding,
    /// Not drift: records in Mailchimp that no QAD record maps to (the connector never deletes).
    pub only_in_mailchimp: Finding,
    /// Not drift, with lifecycle settings: records of customers that are not active in QAD
    /// (inactive, blocked, anonymised, or gone from QAD while the id map holds them) that
    /// Mailchimp does not hold, holds archived, or keeps as the settings say (members left
    /// alone, e-commerce customers kept), or that another active customer of the address does
    /// not own and the connector never wrote (not in its id map: left alone). The note says which.
    #[serde(default)]
    pub departed: Finding,
    /// Drift, with lifecycle settings: records the lifecycle removes that are still present for
    /// a customer that is not active (a member not archived, an e-commerce customer the
    /// settings delete), written by the connector for that customer and owned by no active
    /// customer. `fix` applies the configured removal (archive, or a permanent delete only when
    /// `lifecycle.members = "delete_permanent"`).
    #[serde(default)]
    pub to_remove: Finding,
    /// With `fix`: missing or different records written.
    pub fixed: u64,
    /// With `fix`: writes that failed (replayable, their stored hash forgotten), were rejected
    /// or were skipped; the first of them as examples.
    pub not_fixed: Finding,
}

impl KindReport {
    /// Missing, different, unreadable, status-differs and to-remove records.
    #[must_use]
    pub fn drift(&self) -> u64 {
        self.missing.count
            + self.different.count
            + self.unreadable.count
            + self.status_differs.count
            + self.to_remove.count
    }
}

/// The outcome of [`Reconciler::run`](super::Reconciler::run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconcileReport {
    /// The run recorded in the state store when fixing (its audit rows carry it).
    pub run_id: Option<RunId>,
    /// Whether differences were written.
    pub fix: bool,
    /// Per target kind.
    pub kinds: BTreeMap<ObjectKind, KindReport>,
    /// Calls made by kind (reads of both sides, and the fixes).
    pub calls: BTreeMap<String, u64>,
    /// Wall time, in milliseconds.
    pub elapsed_ms: u64,
}

impl ReconcileReport {
    /// Drift found, over every kind.
    #[must_use]
    pub fn drift(&self) -> u64 {
        self.kinds.values().map(KindReport::drift).sum()
    }

    /// Drift left in Mailchimp after the run: all of it without `fix`; with `fix`, the records
    /// whose fix did not succeed and the members whose status differs (never changed).
    #[must_use]
    pub fn remaining_drift(&self) -> u64 {
        if !self.fix {
            return self.drift();
        }
        self.kinds
            .values()
            .map(|k| k.not_fixed.count + k.status_differs.count)
            .sum()
    }
}

impl fmt::Display for ReconcileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, k) in &self.kinds {
            writeln!(
                f,
                "{kind}: {} expected, {} in Mailchimp, {} equal, {} missing, {} different, \
                 {} unreadable, {} status differs, {} blocked by status, {} only in Mailchimp, \
                 {} not mapped, {} departed, {} to remove",
                k.expected,
                k.in_mailchimp,
                k.equal,
                k.missing.count,
                k.different.count,
                k.unreadable.count,
                k.status_differs.count,
                k.blocked.count,
                k.only_in_mailchimp.count,
                k.not_mapped,
                k.departed.count,
                k.to_remove.count
            )?;
            if self.fix {
                writeln!(f, "  fixed {}, not fixed {}", k.fixed, k.not_fixed.count)?;
            }
            let groups = [
                ("missing", &k.missing),
                ("different", &k.different),
                ("unreadable", &k.unreadable),
                ("status differs", &k.status_differs),
                ("blocked", &k.blocked),
                ("only in Mailchimp", &k.only_in_mailchimp),
                ("departed", &k.departed),
                ("to remove", &k.to_remove),
                ("not fixed", &k.not_fixed),
            ];
            for (label, finding) in groups {
                for e in &finding.examples {
                    write!(f, "  {label}: {}", e.id)?;
                    if let Some(key) = &e.source_key {
                        write!(f, " (QAD {key})")?;
                    }
                    if let Some(status) = &e.status {
                        write!(f, " status {status}")?;
                    }
                    for d in &e.fields {
                        write!(f, "; {}: {:?} → {:?}", d.field, d.mailchimp, d.qad)?;
                    }
                    if let Some(note) = &e.note {
                        write!(f, "; {note}")?;
                    }
                    writeln!(f)?;
                }
            }
        }
        let verdict = match (self.drift(), self.fix, self.remaining_drift()) {
            (0, _, _) => "no drift".to_owned(),
            (n, false, _) => format!("{n} drifted records (run with --fix to write them)"),
            (n, true, 0) => format!("{n} drifted records, all fixed"),
            (n, true, left) => format!("{n} drifted records, {left} left"),
        };
        writeln!(f, "{verdict} ({:.1} s)", self.elapsed_ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_counts_missing_different_and_status_and_fix_leaves_statuses() {
        let mut k = KindReport::default();
        k.missing
            .add(Example::new("a@acme-industrial.com", Some("C1")), 1);
        k.missing
            .add(Example::new("b@acme-industrial.com", Some("C2")), 1);
        k.different
            .add(Example::new("c@acme-industrial.com", Some("C3")), 1);
        k.status_differs
            .add(Example::new("d@acme-industrial.com", Some("C4")), 1);
        k.blocked
            .add(Example::new("e@acme-industrial.com", Some("C5")), 1);
        k.only_in_mailchimp
            .add(Example::new("f@acme-industrial.com", None), 1);
        assert_eq!(k.drift(), 4);
        assert_eq!(k.missing.examples.len(), 1, "examples are capped");
        let mut report = ReconcileReport {
            run_id: None,
            fix: false,
            kinds: BTreeMap::from([(ObjectKind::Members, k)]),
            calls: BTreeMap::new(),
            elapsed_ms: 0,
        };
        assert_eq!(report.remaining_drift(), 4);
        report.fix = true;
        assert_eq!(report.remaining_drift(), 1, "the status difference stays");
        let text = report.to_string();
        assert!(text.contains("2 missing"), "{text}");
        assert!(text.contains("1 left"), "{text}");
    }
}
