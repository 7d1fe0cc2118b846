//! `replay`: retry failed and deferred audit rows (Mailchimp rows re-mapped from QAD as it is now).

use sync_core::audit::{AuditId, ReplayFilter};
use sync_core::orders::AttributionReplay;
use sync_core::replay::{MailchimpReplay, Replayer};

use crate::cli::{Cli, ReplayArgs};
use crate::commands::audit::parse_run;
use crate::connection::{Connection, Setup};
use crate::error::{sync_err, AppError, AppResult};
use crate::output::print_json;

/// Runs `replay`.
///
/// # Errors
///
/// [`AppError`] for a bad selector or setup, or when the replay itself fails (the state store).
pub async fn run(cli: &Cli, args: &ReplayArgs) -> AppResult<()> {
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
    let report = replayer
        .replay(&filter)
        .await
        .map_err(sync_err("the replay failed"))?;
    if args.json {
        return print_json(&report);
    }
    println!(
        "replayed {} row(s): {} resolved, {} failed again, {} re-mapped from a changed source",
        report.attempted, report.resolved, report.failed_again, report.remapped
    );
    if let Some(run) = report.run_id {
        println!("the attempts are audited under run {run}");
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
    Ok(())
}
