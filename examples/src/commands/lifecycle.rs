//! `lifecycle`: the full QAD scan that removes from Mailchimp what left QAD, now; and the
//! helpers `sync` and `run` use for the scan and the consent write-back.

use std::collections::BTreeMap;

use serde::Serialize;
use sync_core::consent::{ConsentReport, ConsentWriteBack};
use sync_core::lifecycle::{LifecycleOptions, LifecycleReport, LifecycleSync, RemovalAction};
use sync_core::{ObjectKind, Outcome, SyncError};

use crate::cli::{Cli, LifecycleArgs};
use crate::commands::sync::ObjectError;
use crate::connection::{Connection, Setup};
use crate::error::{chain, AppError, AppResult};
use crate::exit::{failed_hint, Exit};
use crate::output::{print_json, Progress};

/// What `lifecycle` did (or, in a dry run, would do).
#[derive(Debug, Serialize)]
pub struct LifecycleOutput {
    /// How the command ended: `success`, `records_failed` (exit 2) or `failed` (exit 1).
    pub status: Exit,
    /// The process exit code.
    pub exit_code: u8,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// One report per object scanned.
    pub scans: Vec<ScanJson>,
    /// Removals that failed, over every scan (the next scan, or a replay, tries them again).
    pub failed: u64,
    /// Objects whose scan could not start, was refused, or failed, with why.
    pub errors: Vec<ObjectError>,
    /// What to do next, when removals failed.
    pub next_step: Option<String>,
    /// Why something was not scanned.
    pub notes: Vec<String>,
}

/// One scan's report, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct ScanJson {
    /// The run (none recorded in a dry run).
    pub run_id: String,
    /// The QAD object scanned (`customers`, `items`).
    pub object: ObjectKind,
    /// QAD records read by the full scan.
    pub scanned: u64,
    /// Id-map entries compared with them.
    pub mapped: u64,
    /// Removals by action (`archive_member`, `hide_product`, …).
    pub actions: BTreeMap<String, u64>,
    /// Removals that failed.
    pub failed: u64,
    /// The removals, one by one (sync-core keeps at most 10 000 per scan).
    pub removals: Vec<RemovalJson>,
    /// Removals beyond those listed, counted only.
    pub unlisted: u64,
    /// Calls made, by kind.
    #[serde(serialize_with = "crate::json::serialize_calls")]
    pub calls: BTreeMap<String, u64>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

/// One removal of a scan.
#[derive(Debug, Serialize)]
pub struct RemovalJson {
    /// The QAD key.
    pub source_key: String,
    /// The target kind.
    pub target: ObjectKind,
    /// The member's address, the e-commerce customer or product id.
    pub target_id: String,
    /// Why: `gone`, `inactive`, `blocked` or `anonymised`.
    pub standing: &'static str,
    /// What is (or would be) done: `archive_member`, `delete_member_permanently`,
    /// `leave_member`, `hand_member_over`, `delete_ecommerce_customer`, `delete_product`,
    /// `hide_product`.
    pub action: String,
    /// The customer a member is handed over to, for `hand member over`.
    pub handed_to: Option<String>,
    /// How it went; `null` in a dry run.
    pub outcome: Option<Outcome>,
    /// The reason or error.
    pub reason: Option<String>,
}

impl From<&LifecycleReport> for ScanJson {
    fn from(r: &LifecycleReport) -> Self {
        Self {
            run_id: r.run_id.to_string(),
            object: r.object,
            scanned: r.scanned,
            mapped: r.mapped,
            actions: r
                .actions
                .iter()
                .map(|(name, n)| (action_key(name), *n))
                .collect(),
            failed: r.failed,
            removals: r
                .removals
                .iter()
                .map(|x| RemovalJson {
                    source_key: x.source_key.clone(),
                    target: x.target,
                    target_id: x.target_id.clone(),
                    standing: x.standing.as_str(),
                    action: action_key(x.action.name()),
                    handed_to: match &x.action {
                        RemovalAction::HandOverMember { to } => Some(to.clone()),
                        _ => None,
                    },
                    outcome: x.outcome,
                    reason: x.reason.clone(),
                })
                .collect(),
            unlisted: r.unlisted,
            calls: r.calls.clone(),
            elapsed_ms: u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// An action's name as a JSON key: `archive member` → `archive_member`.
fn action_key(name: &str) -> String {
    name.replace("e-commerce", "ecommerce").replace(' ', "_")
}

/// The objects a scan covers: customers, and items when products are written to a store.
#[must_use]
pub fn scanned_objects(conn: &Connection) -> Vec<ObjectKind> {
    let mut objects = vec![ObjectKind::Customers];
    if conn.sync_config().store.is_some() {
        objects.push(ObjectKind::Items);
    }
    objects
}

/// One scan of `object`, with progress on stderr.
///
/// # Errors
///
/// [`AppError::Sync`] when the scan cannot start, fails, or is refused; a refusal names the
/// numbers and `--allow-mass-removal`.
pub async fn scan(
    lifecycle: &LifecycleSync,
    object: ObjectKind,
    options: LifecycleOptions,
) -> AppResult<LifecycleReport> {
    let label = if options.is_dry_run() {
        format!("lifecycle {object} (dry run)")
    } else {
        format!("lifecycle {object}")
    };
    let progress = Progress::start(label);
    match lifecycle.run(object, options).await {
        Ok(report) => {
            progress.finish(&format!(
                "{} read, {} mapped, {} removals",
                report.scanned,
                report.mapped,
                report.actions.values().sum::<u64>()
            ));
            Ok(report)
        }
        Err(source) => {
            progress.finish("failed");
            let context = if matches!(source, SyncError::ScanRefused { .. }) {
                format!(
                    "the lifecycle scan of {object} removed nothing; check what it would remove \
                     with `ml-connector lifecycle --dry-run`, then run `ml-connector lifecycle \
                     --allow-mass-removal` if QAD really lost these records"
                )
            } else {
                format!("the lifecycle scan of {object} failed")
            };
            Err(AppError::Sync { context, source })
        }
    }
}

/// Runs `lifecycle`: one scan per object, each on its own, so one that is refused does not hide
/// the other's report.
///
/// # Errors
///
/// [`AppError`] when the setup is unusable or has no `[sync.lifecycle]`. Scans that fail are
/// reported in the output and make the exit status [`Exit::Failed`]; failed removals make it
/// [`Exit::RecordsFailed`].
pub async fn run(cli: &Cli, args: &LifecycleArgs) -> AppResult<Exit> {
    let conn = Connection::open(Setup::load(cli)?).await?;
    let lifecycle = conn.lifecycle()?.ok_or_else(|| {
        AppError::Usage(format!(
            "{} has no [sync.lifecycle] section: nothing is removed from Mailchimp until one \
             says how (see `ml-connector init`'s template and docs/operations.md)",
            conn.setup.config_path.display()
        ))
    })?;
    let options = LifecycleOptions::new()
        .dry_run(args.dry_run)
        .allow_mass_removal(args.allow_mass_removal);
    let mut out = LifecycleOutput {
        status: Exit::Success,
        exit_code: 0,
        dry_run: args.dry_run,
        scans: Vec::new(),
        failed: 0,
        errors: Vec::new(),
        next_step: None,
        notes: Vec::new(),
    };
    let mut reports = Vec::new();
    for object in scanned_objects(&conn) {
        match scan(&lifecycle, object, options).await {
            Ok(report) => reports.push(report),
            Err(err) => out.errors.push(ObjectError {
                object,
                error: chain(&err),
            }),
        }
    }
    if conn.sync_config().store.is_none() {
        out.notes
            .push("items not scanned: no [sync.store] to remove products from".into());
    }
    out.scans = reports.iter().map(ScanJson::from).collect();
    out.failed = reports.iter().map(|r| r.failed).sum();
    out.next_step = (out.failed > 0).then(|| failed_hint(out.failed));
    out.status = if out.errors.is_empty() {
        Exit::for_failed_records(out.failed)
    } else {
        Exit::Failed
    };
    out.exit_code = out.status.code();
    if args.json {
        print_json(&out)?;
    } else {
        print_text(&out, &reports, args.limit);
    }
    Ok(out.status)
}

fn print_text(out: &LifecycleOutput, reports: &[LifecycleReport], limit: usize) {
    for report in reports {
        print!("{}", report_text(report, limit));
    }
    for note in &out.notes {
        println!("{note}");
    }
    if out.dry_run {
        println!("dry run: nothing was archived, deleted or handed over");
    }
    if let Some(next) = &out.next_step {
        println!("{next}");
    }
    for failure in &out.errors {
        eprintln!("error: {}", failure.error);
    }
}

/// A scan's counts and at most `limit` of its removals, one a line.
fn report_text(r: &LifecycleReport, limit: usize) -> String {
    use std::fmt::Write as _;
    let mode = if r.dry_run { " (dry run)" } else { "" };
    let mut text = format!(
        "lifecycle {}{mode}: {} read from QAD, {} mapped\n",
        r.object, r.scanned, r.mapped
    );
    if r.actions.is_empty() {
        text.push_str("  nothing to remove\n");
    }
    for (action, n) in &r.actions {
        let _ = writeln!(text, "  {action}: {n}");
    }
    for x in r.removals.iter().take(limit) {
        let outcome = x.outcome.map_or("planned", |o| o.as_str());
        let _ = write!(
            text,
            "    {} {} ({}): {}",
            x.source_key,
            x.target_id,
            x.standing,
            x.action.name()
        );
        if let RemovalAction::HandOverMember { to } = &x.action {
            let _ = write!(text, " to {to}");
        }
        let _ = write!(text, " [{outcome}]");
        if let Some(reason) = &x.reason {
            let _ = write!(text, " {reason}");
        }
        text.push('\n');
    }
    let more = (r.removals.len().saturating_sub(limit) as u64) + r.unlisted;
    if more > 0 {
        let _ = writeln!(text, "    … and {more} more (--limit N, or --json for all)");
    }
    if r.failed > 0 {
        let _ = writeln!(
            text,
            "  failed: {} (the next scan tries them again)",
            r.failed
        );
    }
    text
}

/// A scheduled scan of `object` when it is due (`[sync.lifecycle] scan_interval_hours`): its
/// report on stderr; returns the failed removals, or the error when the scan failed or was
/// refused (printed too).
///
/// # Errors
///
/// The scan's [`AppError`].
pub async fn scan_if_due(lifecycle: &LifecycleSync, object: ObjectKind) -> AppResult<u64> {
    let due =
        lifecycle
            .is_due(object, chrono::Utc::now())
            .await
            .map_err(crate::error::sync_err(
                "cannot tell whether the lifecycle scan is due",
            ))?;
    if !due {
        return Ok(0);
    }
    let report = scan(lifecycle, object, LifecycleOptions::new()).await?;
    eprint!("{}", report_text(&report, 20));
    Ok(report.failed)
}

/// One consent write-back pass, with progress on stderr.
///
/// # Errors
///
/// [`AppError::Sync`] when the state store fails.
pub async fn consent_pass(consent: &ConsentWriteBack, dry_run: bool) -> AppResult<ConsentReport> {
    let progress = Progress::start(if dry_run {
        "consent (dry run)"
    } else {
        "consent"
    });
    match consent.run(dry_run).await {
        Ok(report) => {
            progress.finish(&format!(
                "{} written, {} unchanged, {} failed",
                report.written, report.unchanged, report.failed
            ));
            Ok(report)
        }
        Err(err) => {
            progress.finish("failed");
            Err(crate::error::sync_err("the consent write-back failed")(err))
        }
    }
}

/// The consent report as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct ConsentJson {
    /// The pass's run (none in a dry run).
    pub run_id: Option<String>,
    /// Remembered statuses read.
    pub statuses: u64,
    /// Customer records written (or, in a dry run, to write).
    pub written: u64,
    /// Customer records already holding their status.
    pub unchanged: u64,
    /// Writes that failed or QAD refused.
    pub failed: u64,
    /// Remembered addresses of no mapped customer.
    pub unmapped: u64,
}

impl From<&ConsentReport> for ConsentJson {
    fn from(r: &ConsentReport) -> Self {
        Self {
            run_id: r.run_id.map(|id| id.to_string()),
            statuses: r.statuses,
            written: r.written,
            unchanged: r.unchanged,
            failed: r.failed,
            unmapped: r.unmapped,
        }
    }
}
