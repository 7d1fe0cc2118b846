//! `reconcile`: compares Mailchimp with the mapping of QAD and reports (or, with `--fix`,
//! writes) the drift. Exit status: 0 no drift, 3 drift found and not fixed, 1 error.

use sync_core::reconcile::{ReconcileOptions, ReconcileReport, Reconciler};
use sync_core::ObjectKind;

use crate::cli::{Cli, ReconcileArgs, ReconcileObject};
use crate::connection::{Connection, Setup};
use crate::error::{sync_err, AppResult};
use crate::exit::Exit;
use crate::output::{print_json, Progress};

/// Runs `reconcile` (with `--json`, an error becomes the JSON error object `main` prints).
///
/// # Errors
///
/// [`AppError`](crate::error::AppError) when the setup is unusable or reading either side (or
/// the state database) fails.
pub async fn run(cli: &Cli, args: &ReconcileArgs) -> AppResult<Exit> {
    let report = reconcile(cli, args).await?;
    if args.json {
        // The report's own form, with call kinds as snake_case keys (crate::json).
        let mut value = serde_json::to_value(&report).map_err(|e| crate::error::AppError::Io {
            context: "cannot write the JSON output".into(),
            source: std::io::Error::other(e),
        })?;
        value["calls"] = serde_json::json!(crate::json::calls(&report.calls));
        print_json(&value)?;
    } else {
        print!("{report}");
        if let Some(run) = report.run_id {
            println!("the writes are audited under run {run}");
        }
    }
    Ok(exit_code(&report))
}

/// 0 when Mailchimp now equals the mapping of QAD, 3 when drift is left.
#[must_use]
pub fn exit_code(report: &ReconcileReport) -> Exit {
    if report.remaining_drift() == 0 {
        Exit::Success
    } else {
        Exit::DriftFound
    }
}

async fn reconcile(cli: &Cli, args: &ReconcileArgs) -> AppResult<ReconcileReport> {
    let conn = Connection::open(Setup::load(cli)?).await?;
    let reconciler = Reconciler::new(
        conn.sync_config().clone(),
        conn.mailchimp.clone(),
        conn.qad.clone(),
        conn.state_dyn(),
    )
    .map_err(sync_err("the [sync] configuration is not usable"))?;
    let mut options = ReconcileOptions::new().fix(args.fix);
    if let Some(object) = args.object {
        options = options.object(match object {
            ReconcileObject::Customers => ObjectKind::Customers,
            ReconcileObject::Items => ObjectKind::Items,
        });
    }
    let progress = Progress::start(if args.fix {
        "reconcile --fix"
    } else {
        "reconcile"
    });
    let report = reconciler
        .run(options)
        .await
        .map_err(sync_err("the reconcile failed"))?;
    progress.finish(&format!(
        "{} drifted, {} left",
        report.drift(),
        report.remaining_drift()
    ));
    Ok(report)
}
