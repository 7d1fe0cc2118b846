//! What a lifecycle scan found and did.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::config::Standing;
use crate::model::{ObjectKind, Outcome, RunId};

/// The most removals a report lists one by one; the rest are counted in
/// [`LifecycleReport::unlisted`], so a report stays small whatever the scan finds.
pub const MAX_LISTED: usize = 10_000;

/// What the scan does (or, in a dry run, would do) with one target record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemovalAction {
    /// The member is archived.
    ArchiveMember,
    /// The member is permanently deleted (irreversible).
    DeleteMemberPermanently,
    /// The member is left as it is (`members = "leave"`); the connector stops writing it.
    LeaveMember,
    /// The member stays: another active QAD customer has the address and becomes its owner.
    HandOverMember {
        /// The customer that owns the member now.
        to: String,
    },
    /// The e-commerce customer is deleted.
    DeleteEcomCustomer,
    /// The product is deleted.
    DeleteProduct,
    /// The product is hidden.
    HideProduct,
}

impl RemovalAction {
    /// A short name for counts.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::ArchiveMember => "archive member",
            Self::DeleteMemberPermanently => "delete member permanently",
            Self::LeaveMember => "leave member",
            Self::HandOverMember { .. } => "hand member over",
            Self::DeleteEcomCustomer => "delete e-commerce customer",
            Self::DeleteProduct => "delete product",
            Self::HideProduct => "hide product",
        }
    }
}

/// One target record of a departed source record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The QAD key (customer code, item code).
    pub source_key: String,
    /// The target kind (members, e-commerce customers, products).
    pub target: ObjectKind,
    /// The target id (the member's address, the e-commerce customer or product id).
    pub target_id: String,
    /// Why: gone from the browse, inactive, blocked or anonymised.
    pub standing: Standing,
    /// What is done.
    pub action: RemovalAction,
    /// How it went: updated (done), skipped (kept, see the reason), failed (queued; the next
    /// scan tries again); `None` in a dry run.
    pub outcome: Option<Outcome>,
    /// The reason or error.
    pub reason: Option<String>,
}

/// The report of one lifecycle scan.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LifecycleReport {
    /// The run (recorded with trigger `lifecycle`, except in a dry run).
    pub run_id: RunId,
    /// The source object scanned.
    pub object: ObjectKind,
    /// Whether nothing was sent or stored.
    pub dry_run: bool,
    /// QAD records read by the full scan.
    pub scanned: u64,
    /// Id-map entries compared with them, over the target kinds walked.
    pub mapped: u64,
    /// Departed records' targets by action name ([`RemovalAction::name`]).
    pub actions: BTreeMap<&'static str, u64>,
    /// Removals that failed (queued; the next scan tries them again).
    pub failed: u64,
    /// The removals, at most [`MAX_LISTED`].
    pub removals: Vec<Removal>,
    /// Removals beyond [`MAX_LISTED`], counted only.
    pub unlisted: u64,
    /// Calls made, by kind.
    pub calls: BTreeMap<String, u64>,
    /// Wall time.
    pub elapsed: Duration,
}

impl LifecycleReport {
    pub(crate) fn new(run_id: RunId, object: ObjectKind, dry_run: bool) -> Self {
        Self {
            run_id,
            object,
            dry_run,
            scanned: 0,
            mapped: 0,
            actions: BTreeMap::new(),
            failed: 0,
            removals: Vec::new(),
            unlisted: 0,
            calls: BTreeMap::new(),
            elapsed: Duration::ZERO,
        }
    }

    pub(crate) fn add(&mut self, removal: Removal) {
        *self.actions.entry(removal.action.name()).or_default() += 1;
        if removal.outcome == Some(Outcome::Failed) {
            self.failed += 1;
        }
        if self.removals.len() < MAX_LISTED {
            self.removals.push(removal);
        } else {
            self.unlisted += 1;
        }
    }
}

impl fmt::Display for LifecycleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.dry_run { " (dry run)" } else { "" };
        writeln!(
            f,
            "lifecycle {}{mode}: {} read from QAD, {} mapped",
            self.object, self.scanned, self.mapped
        )?;
        for (action, n) in &self.actions {
            writeln!(f, "  {action}: {n}")?;
        }
        for r in &self.removals {
            let outcome = r.outcome.map_or("planned", |o| o.as_str());
            write!(
                f,
                "  {} {} ({}): {} [{outcome}]",
                r.source_key,
                r.target_id,
                r.standing,
                r.action.name()
            )?;
            if let Some(reason) = &r.reason {
                write!(f, " {reason}")?;
            }
            writeln!(f)?;
        }
        if self.unlisted > 0 {
            writeln!(f, "  … and {} more", self.unlisted)?;
        }
        if self.failed > 0 {
            writeln!(
                f,
                "  failed: {} (tried again by the next scan)",
                self.failed
            )?;
        }
        Ok(())
    }
}
