//! `sync`: one pass over customers, items and orders; `--dry-run` plans without writing.

use serde::Serialize;
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::orders::{OrdersReport, OrdersSync};
use sync_core::report::RunReport;
use sync_core::{ObjectKind, RunStatus, RunTrigger};
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, OnlyObject, SyncArgs};
use crate::connection::{Connection, Setup};
use crate::error::{sync_err, AppError, AppResult};
use crate::output::{print_json, Progress};

/// What `sync` did (or, in a dry run, would do).
#[derive(Debug, Default, Serialize)]
pub struct SyncOutput {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// One report per forward run (customers, items).
    pub runs: Vec<RunReport>,
    /// The orders run, if there was one.
    pub orders: Option<OrdersReport>,
    /// Why something was not run.
    pub notes: Vec<String>,
}

/// Runs `sync`.
///
/// # Errors
///
/// [`AppError`] when the setup is unusable, a run cannot start, or a run aborted part-way.
pub async fn run(cli: &Cli, args: &SyncArgs) -> AppResult<()> {
    let conn = Connection::open(Setup::load(cli)?).await?;
    let forward = conn.forward()?;
    let mut out = SyncOutput {
        dry_run: args.dry_run,
        ..SyncOutput::default()
    };
    let wants = |object: OnlyObject| args.only.is_none_or(|only| only == object);
    if wants(OnlyObject::Customers) {
        out.runs.push(
            forward_run(
                &forward,
                ObjectKind::Customers,
                args.dry_run,
                args.full,
                args.retries_failed(),
            )
            .await?,
        );
    }
    if wants(OnlyObject::Items) {
        if conn.sync_config().store.is_some() {
            out.runs.push(
                forward_run(
                    &forward,
                    ObjectKind::Items,
                    args.dry_run,
                    args.full,
                    args.retries_failed(),
                )
                .await?,
            );
        } else {
            out.notes
                .push("items skipped: no [sync.store] to write products to".into());
        }
    }
    if wants(OnlyObject::Orders) {
        match conn.orders()? {
            Some(orders) if args.dry_run => out.orders = Some(orders_plan(&orders).await?),
            Some(orders) => out.orders = Some(orders_run(&orders, RunTrigger::Manual).await?),
            None => out.notes.push(
                "orders skipped: no [orders] table (or no [sync.store]) in the configuration"
                    .into(),
            ),
        }
    }
    if args.json {
        print_json(&out)?;
    } else {
        for report in &out.runs {
            print!("{}", crate::output::run_summary(report));
            for (kind, n) in &report.calls {
                println!("    calls {kind}: {n}");
            }
        }
        if let Some(orders) = &out.orders {
            println!("{}", orders_line(orders));
        }
        for note in &out.notes {
            println!("{note}");
        }
        if out.dry_run {
            println!("dry run: nothing was written; created and updated count what a real run would write");
        }
    }
    match out.runs.iter().find(|r| r.status == RunStatus::Aborted) {
        Some(aborted) => Err(AppError::Usage(format!(
            "the {} run aborted: {}; what it committed stays, and the next run resumes after it",
            aborted.object,
            aborted.error.as_deref().unwrap_or("no reason given")
        ))),
        None => Ok(()),
    }
}

/// One forward run of `object`, with progress on stderr; with `retry_failed` it retries the
/// object's replay queue first.
///
/// # Errors
///
/// [`AppError::Sync`] when the run cannot start (see [`ForwardSync::run`]).
pub async fn forward_run(
    forward: &ForwardSync,
    object: ObjectKind,
    dry_run: bool,
    full: bool,
    retry_failed: bool,
) -> AppResult<RunReport> {
    let label = if dry_run {
        format!("{object} (dry run)")
    } else {
        object.to_string()
    };
    let progress = Progress::start(label);
    let options = RunOptions::new()
        .dry_run(dry_run)
        .full(full)
        .retry_failed(retry_failed)
        .on_progress(progress.for_forward_run());
    let report = forward
        .run(object, options)
        .await
        .map_err(sync_err(format!("the {object} run could not start")))?;
    progress.finish(&format!(
        "{} — {}",
        report.status,
        crate::output::page_summary(&report)
    ));
    Ok(report)
}

/// One orders run, with progress on stderr.
///
/// # Errors
///
/// [`AppError::Sync`] when reading the orders or the state store fails.
pub async fn orders_run(orders: &OrdersSync, trigger: RunTrigger) -> AppResult<OrdersReport> {
    let progress = Progress::start("orders");
    let report = orders
        .run(trigger, &CancellationToken::new())
        .await
        .map_err(sync_err("the orders run failed"))?;
    progress.finish(&orders_line(&report));
    Ok(report)
}

/// An orders dry run: what a run would post, with nothing posted or stored.
///
/// # Errors
///
/// [`AppError::Sync`] when reading the orders or QAD fails.
pub async fn orders_plan(orders: &OrdersSync) -> AppResult<OrdersReport> {
    let progress = Progress::start("orders (dry run)");
    let report = orders
        .plan(&CancellationToken::new())
        .await
        .map_err(sync_err("the orders dry run failed"))?;
    progress.finish(&orders_line(&report));
    Ok(report)
}

/// One line on an orders run.
#[must_use]
pub fn orders_line(r: &OrdersReport) -> String {
    let c = &r.counts;
    format!(
        "orders: {} read, {} posted to QAD ({} created, {} updated), {} unchanged, {} held for an \
         unknown customer, {} rejected, {} failed, {} in another currency",
        r.read,
        r.posted,
        c.created,
        c.updated,
        c.unchanged,
        r.unmatched,
        c.rejected,
        c.failed,
        r.currency_flagged
    )
}
