//! `sync`: one pass over customers, items and orders; `--dry-run` plans without writing.

use serde::Serialize;
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::orders::{OrdersReport, OrdersSync};
use sync_core::report::RunReport;
use sync_core::sales_orders::SalesOrdersReport;
use sync_core::{ObjectKind, RunStatus, RunTrigger};
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, OnlyObject, SyncArgs};
use crate::commands::lifecycle::{consent_pass, ConsentJson};
use crate::connection::{Connection, Setup};
use crate::error::{chain, sync_err, AppError, AppResult};
use crate::exit::{failed_hint, Exit};
use crate::output::{failed_records, print_json, Progress};

/// What `sync` did (or, in a dry run, would do).
#[derive(Debug, Serialize)]
pub struct SyncOutput {
    /// How the command ended: `success`, `records_failed` (exit 2) or `failed` (exit 1).
    pub status: Exit,
    /// The process exit code.
    pub exit_code: u8,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// One report per forward run that ran (customers, items), aborted ones included.
    #[serde(serialize_with = "crate::json::serialize_runs")]
    pub runs: Vec<RunReport>,
    /// The orders run, if there was one.
    pub orders: Option<OrdersReport>,
    /// The sales-history run, if there was one.
    pub sales_orders: Option<SalesOrdersReport>,
    /// The consent write-back pass, when `[consent]` is enabled and customers were synced.
    pub consent: Option<ConsentJson>,
    /// Records that failed, in every run (they wait in the replay queue).
    pub failed: u64,
    /// Objects that could not start or aborted, with why.
    pub errors: Vec<ObjectError>,
    /// What to do next, when records failed.
    pub next_step: Option<String>,
    /// Why something was not run.
    pub notes: Vec<String>,
}

/// An object whose run could not start or aborted.
#[derive(Debug, Serialize)]
pub struct ObjectError {
    /// The object.
    pub object: ObjectKind,
    /// Why, with its causes.
    pub error: String,
}

impl SyncOutput {
    fn new(dry_run: bool) -> Self {
        Self {
            status: Exit::Success,
            exit_code: 0,
            dry_run,
            runs: Vec::new(),
            orders: None,
            sales_orders: None,
            consent: None,
            failed: 0,
            errors: Vec::new(),
            next_step: None,
            notes: Vec::new(),
        }
    }

    fn forward(&mut self, object: ObjectKind, result: AppResult<RunReport>) {
        match result {
            Ok(report) => {
                if report.status == RunStatus::Aborted {
                    self.errors.push(ObjectError {
                        object,
                        error: format!(
                            "the {object} run aborted: {}; what it committed stays, and the next \
                             run resumes after it",
                            report.error.as_deref().unwrap_or("no reason given")
                        ),
                    });
                }
                self.runs.push(report);
            }
            Err(err) => self.failed_to_run(object, &err),
        }
    }

    fn orders(&mut self, result: AppResult<OrdersReport>) {
        match result {
            Ok(report) => self.orders = Some(report),
            Err(err) => self.failed_to_run(ObjectKind::Orders, &err),
        }
    }

    fn failed_to_run(&mut self, object: ObjectKind, err: &AppError) {
        self.errors.push(ObjectError {
            object,
            error: chain(err),
        });
    }

    /// Counts the failed records and settles the exit status.
    fn conclude(&mut self) {
        let forward: u64 = self.runs.iter().map(failed_records).sum();
        self.failed = forward
            + self.orders.as_ref().map_or(0, |o| o.counts.failed)
            + self.sales_orders.as_ref().map_or(0, |o| o.counts.failed)
            + self.consent.as_ref().map_or(0, |c| c.failed);
        self.next_step = (self.failed > 0).then(|| failed_hint(self.failed));
        self.status = if self.errors.is_empty() {
            Exit::for_failed_records(self.failed)
        } else {
            Exit::Failed
        };
        self.exit_code = self.status.code();
    }
}

/// Runs `sync`: every object asked for, each on its own, so one that cannot start or aborts
/// does not hide the reports of the others.
///
/// # Errors
///
/// [`AppError`] when the setup is unusable. Objects that fail are reported in the output and
/// make the exit status [`Exit::Failed`]; failed records make it [`Exit::RecordsFailed`].
pub async fn run(cli: &Cli, args: &SyncArgs) -> AppResult<Exit> {
    let conn = Connection::open(Setup::load(cli)?).await?;
    let forward = conn.forward()?;
    let mut out = SyncOutput::new(args.dry_run);
    let wants = |object: OnlyObject| args.only.is_none_or(|only| only == object);
    if wants(OnlyObject::Customers) {
        let object = ObjectKind::Customers;
        out.forward(
            object,
            forward_run(
                &forward,
                object,
                args.dry_run,
                args.full,
                args.retries_failed(),
                plan_limit(args),
            )
            .await,
        );
    }
    if let (true, Some(consent)) = (wants(OnlyObject::Customers), conn.consent()) {
        // After the customers run, so the statuses its audience read learned are written too.
        match consent_pass(&consent, args.dry_run).await {
            Ok(report) => out.consent = Some(ConsentJson::from(&report)),
            Err(err) => out.failed_to_run(ObjectKind::Consents, &err),
        }
    }
    if wants(OnlyObject::Items) {
        if conn.sync_config().store.is_some() {
            let object = ObjectKind::Items;
            out.forward(
                object,
                forward_run(
                    &forward,
                    object,
                    args.dry_run,
                    args.full,
                    args.retries_failed(),
                    plan_limit(args),
                )
                .await,
            );
        } else {
            out.notes
                .push("items skipped: no [sync.store] to write products to".into());
        }
    }
    if wants(OnlyObject::Orders) {
        match conn.orders() {
            Ok(Some(orders)) if args.dry_run => out.orders(orders_plan(&orders).await),
            Ok(Some(orders)) => out.orders(orders_run(&orders, RunTrigger::Manual).await),
            Ok(None) => out.notes.push(
                "orders skipped: no [orders] table (or no [sync.store]) in the configuration"
                    .into(),
            ),
            Err(err) => out.failed_to_run(ObjectKind::Orders, &err),
        }
    }
    if wants(OnlyObject::SalesOrders) {
        match conn.sales_orders() {
            Some(_) if args.dry_run => out
                .notes
                .push("sales orders skipped: the sales-history flow has no dry run".into()),
            Some(sales_orders) => {
                let progress = Progress::start("sales orders");
                let shown = progress.clone();
                // "300 read of 1000" during a backfill, whose total is counted first.
                let sales_orders = sales_orders.on_progress(move |r| shown.update(&r.to_string()));
                match sales_orders
                    .run(RunTrigger::Manual, &CancellationToken::new())
                    .await
                {
                    Ok(report) => {
                        progress.finish(&report.to_string());
                        out.sales_orders = Some(report);
                    }
                    Err(err) => {
                        progress.finish("failed");
                        out.failed_to_run(
                            ObjectKind::SalesOrders,
                            &sync_err("the sales orders run failed")(err),
                        );
                    }
                }
            }
            None if args.only == Some(OnlyObject::SalesOrders) => out.notes.push(
                "sales orders skipped: [sales_orders] is not enabled (or no [sync.store])".into(),
            ),
            None => {}
        }
    }
    out.conclude();
    if args.json {
        print_json(&out)?;
    } else {
        let store = conn.sync_config().store.as_ref().map(|s| s.id.as_str());
        print_text(&out, args.limit, store);
    }
    Ok(out.status)
}

/// How many planned writes a dry run keeps per target kind: all of them for `--json`, the
/// listed ones otherwise.
fn plan_limit(args: &SyncArgs) -> usize {
    if args.json {
        usize::MAX
    } else {
        args.limit
    }
}

fn print_text(out: &SyncOutput, limit: usize, store: Option<&str>) {
    for report in &out.runs {
        print!("{}", crate::output::run_summary(report));
        if let Some(plan) = &report.plan {
            print!("{}", crate::plan_text::plan_text(plan, limit, store));
        }
        for (kind, n) in &report.calls {
            println!("    calls {kind}: {n}");
        }
    }
    if let Some(orders) = &out.orders {
        println!("{}", orders_line(orders));
    }
    if let Some(sales_orders) = &out.sales_orders {
        println!("{sales_orders}");
    }
    if let Some(c) = &out.consent {
        println!(
            "consent: {} statuses, {} written to QAD, {} unchanged, {} failed, {} of no mapped \
             customer",
            c.statuses, c.written, c.unchanged, c.failed, c.unmapped
        );
    }
    for note in &out.notes {
        println!("{note}");
    }
    if out.dry_run {
        println!(
            "dry run: nothing was written; created and updated count what a real run would write"
        );
    }
    if let Some(next) = &out.next_step {
        println!("{next}");
    }
    for failure in &out.errors {
        eprintln!("error: {}", failure.error);
    }
}

/// One forward run of `object`, with progress on stderr; with `retry_failed` it retries the
/// object's replay queue first. A dry run lists at most `plan_limit` planned writes per target
/// kind in its plan.
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
    plan_limit: usize,
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
        .plan_limit(plan_limit)
        .on_progress(progress.for_forward_run());
    let report = match forward.run(object, options).await {
        Ok(report) => report,
        Err(err) => {
            progress.finish("could not start");
            return Err(sync_err(format!("the {object} run could not start"))(err));
        }
    };
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
    let report = match orders.run(trigger, &CancellationToken::new()).await {
        Ok(report) => report,
        Err(err) => {
            progress.finish("failed");
            return Err(sync_err("the orders run failed")(err));
        }
    };
    progress.finish(&orders_counts(&report));
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
    progress.finish(&orders_counts(&report));
    Ok(report)
}

/// One line on an orders run.
#[must_use]
pub fn orders_line(r: &OrdersReport) -> String {
    format!("orders: {}", orders_counts(r))
}

/// The counts of an orders run (the progress line's label already says `orders`).
#[must_use]
pub fn orders_counts(r: &OrdersReport) -> String {
    let c = &r.counts;
    let own = if r.own_orders > 0 {
        format!(
            ", {} written from QAD sales orders (never posted back)",
            r.own_orders
        )
    } else {
        String::new()
    };
    format!(
        "{} read, {} posted to QAD ({} created, {} updated), {} unchanged, {} held for an \
         unknown customer, {} rejected, {} failed, {} in another currency{own}",
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
