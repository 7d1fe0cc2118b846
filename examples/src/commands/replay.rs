//! `replay`: retry failed and deferred audit rows (Mailchimp rows re-mapped from QAD as it is now).

use serde::Serialize;
use sync_core::audit::{AuditId, ReplayFilter};
use sync_core::orders::AttributionReplay;
use sync_core::replay::{MailchimpReplay, ReplayReport, Replayer};
use sync_core::sales_orders::SalesOrdersReplay;

use crate::cli::{Cli, ReplayArgs};
use crate::commands::audit::parse_run;
use crate::connection::{Connection, Setup};
use crate::error::{sync_err, AppError, AppResult};
use crate::exit::{failed_hint, Exit};
use crate::output::{print_json, Progress};

/// What `replay` prints with `--json`: the replay's report with the exit status.
#[derive(Debug, Serialize)]
struct ReplayOutput<'a> {
    status: Exit,
    exit_code: u8,
    #[serde(flatten)]
    report: &'a ReplayReport,
    next_step: Option<String>,
}

/// Runs `replay`, with a progress line per batch of rows (none with `--json`).
///
/// # Errors
///
/// [`AppError`] for a bad selector or setup, or when the replay itself fails (the state store).
/// Rows that failed again make the exit status [`Exit::RecordsFailed`]; rows left because
/// another process holds their object make it [`Exit::Failed`].
pub async fn run(cli: &Cli, args: &ReplayArgs) -> AppResult<Exit> {
    let which = &args.which;
    let filter = match (&which.run, which.row, which.all_failed) {
        (Some(run), None, false) => ReplayFilter::Run(parse_run(run)?),
        (None, Some(row), false) => ReplayFilter::Row(AuditId::new(row)),
        (None, None, true) => ReplayFilter::All,
        _ => {
            return Err(AppError::Usage(
                "give exactly one of --run ID, --row ID or --all-failed".into(),
            ))
        }
    };
    let conn = Connection::open(Setup::load(cli)?).await?;
    // Mailchimp rows are re-mapped from their QAD records as they are now, never re-sent as
    // recorded (a newer write may have reached the target since).
    let mut replayer =
        Replayer::new(conn.state_dyn()).handler(MailchimpReplay::remapping(conn.forward()?));
    if let Some(orders) = conn.orders()? {
        replayer = replayer.handler(AttributionReplay::new(orders));
    }
    if let Some(sales_orders) = conn.sales_orders() {
        replayer = replayer.handler(SalesOrdersReplay::new(sales_orders));
    }
    let progress = (!args.json).then(|| Progress::start("replay"));
    if let Some(progress) = progress.clone() {
        replayer = replayer.on_progress(move |report| progress.update(&progress_line(report)));
    }
    let result = replayer.replay(&filter).await;
    if let Some(progress) = &progress {
        progress.finish(
            match &result {
                Ok(report) => progress_line(report),
                Err(_) => "failed".to_owned(),
            }
            .as_str(),
        );
    }
    let report = result.map_err(sync_err("the replay failed"))?;
    let status = if report.busy > 0 {
        Exit::Failed
    } else {
        Exit::for_failed_records(report.failed_again)
    };
    let next_step = (report.failed_again > 0).then(|| failed_hint(report.failed_again));
    if args.json {
        print_json(&ReplayOutput {
            status,
            exit_code: status.code(),
            report: &report,
            next_step,
        })?;
        return Ok(status);
    }
    println!(
        "replayed {} row(s): {} resolved, {} failed again, {} not written (rejected or skipped), \
         {} re-mapped from a changed source",
        report.attempted, report.resolved, report.failed_again, report.not_written, report.remapped
    );
    if let Some(run) = report.run_id {
        println!("the attempts are audited under run {run}");
    }
    for row in &report.skipped {
        let what = row
            .outcome
            .map_or_else(|| "not attempted".to_owned(), |o| o.to_string());
        println!(
            "skipped row {} ({} {}): {what} — {}",
            row.id.get(),
            row.object,
            row.source_key,
            row.reason
        );
    }
    let listed = report.skipped.len() as u64;
    let total = report.not_written + report.busy;
    if total > listed {
        println!("... and {} more skipped row(s)", total - listed);
    }
    if report.busy > 0 {
        println!(
            "{} row(s) left in the queue: another process is working their object; replay \
             again once it has finished",
            report.busy
        );
    }
    if !report.unsupported.is_empty() {
        let ids: Vec<String> = report
            .unsupported
            .iter()
            .map(|id| id.get().to_string())
            .collect();
        println!(
            "{} row(s) left in the queue: no replay handler for their kind (rows {}); orders \
             need an [orders] table in the configuration",
            ids.len(),
            ids.join(", ")
        );
    }
    if let Some(next) = next_step {
        println!("{next}");
    }
    Ok(status)
}

/// One line on a replay so far.
fn progress_line(report: &ReplayReport) -> String {
    format!(
        "{} attempted: {} resolved, {} failed again, {} not written, {} left for another process",
        report.attempted, report.resolved, report.failed_again, report.not_written, report.busy
    )
}
