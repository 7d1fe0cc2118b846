//! `audit`: rows of the audit trail, filtered by run, outcome and source key.

use std::str::FromStr;

use serde::Serialize;
use sync_core::audit::{AuditQuery, AuditRow};
use sync_core::{Outcome, RunId, StateStore};

use crate::cli::{AuditArgs, Cli, OutcomeArg};
use crate::connection::Setup;
use crate::error::{sync_err, AppError, AppResult};
use crate::output::print_json;

/// Parses a run id given on the command line.
///
/// # Errors
///
/// [`AppError::Usage`] when it is not a run id (a UUID, as `audit` and `sync` print them).
pub fn parse_run(text: &str) -> AppResult<RunId> {
    RunId::from_str(text.trim())
        .map_err(|e| AppError::Usage(format!("--run {text:?} is not a run id (a UUID): {e}")))
}

fn outcome(arg: OutcomeArg) -> Outcome {
    match arg {
        OutcomeArg::Created => Outcome::Created,
        OutcomeArg::Updated => Outcome::Updated,
        OutcomeArg::Unchanged => Outcome::Unchanged,
        OutcomeArg::Skipped => Outcome::Skipped,
        OutcomeArg::Rejected => Outcome::Rejected,
        OutcomeArg::Failed => Outcome::Failed,
        OutcomeArg::Deferred => Outcome::Deferred,
    }
}

#[derive(Serialize)]
struct AuditOutput<'a> {
    rows: &'a [AuditRow],
}

/// Runs `audit`. Needs only the configuration and the state database, not the vault.
///
/// # Errors
///
/// [`AppError`] for a bad run id, configuration or state database.
pub async fn run(cli: &Cli, args: &AuditArgs) -> AppResult<()> {
    let mut query = AuditQuery::new().limit(args.limit);
    if let Some(run) = &args.run {
        query = query.run(parse_run(run)?);
    }
    if let Some(o) = args.outcome {
        query = query.outcome(outcome(o));
    }
    if let Some(key) = &args.key {
        query = query.source_key(key.clone());
    }
    let setup = Setup::load(cli)?;
    let state = setup.state().await?;
    let rows = state
        .query_audit(&query)
        .await
        .map_err(sync_err("cannot read the audit trail"))?;
    if args.json {
        return print_json(&AuditOutput { rows: &rows });
    }
    if rows.is_empty() {
        println!("no audit rows match");
        return Ok(());
    }
    println!(
        "{:>7}  {:<36}  {:<14}  {:<20}  {:<9}  {:<3}  what",
        "row", "run", "object", "key", "outcome", "try"
    );
    for r in &rows {
        let row = &r.row;
        let what = match (&row.operation, &row.error) {
            (Some(op), Some(err)) => {
                format!("{} {} {}: {err}", op.system, op.method.as_str(), op.path)
            }
            (Some(op), None) => format!("{} {} {}", op.system, op.method.as_str(), op.path),
            (None, Some(err)) => err.clone(),
            (None, None) => String::new(),
        };
        let resolved = if r.resolution.is_some() {
            " (resolved)"
        } else {
            ""
        };
        println!(
            "{:>7}  {:<36}  {:<14}  {:<20}  {:<9}  {:<3}  {what}{resolved}",
            r.id.get(),
            row.run_id.to_string(),
            row.object.to_string(),
            row.source_key,
            row.outcome.to_string(),
            row.attempts,
        );
    }
    if rows.len() as u32 == args.limit {
        println!("(first {} rows; raise --limit for more)", args.limit);
    }
    Ok(())
}
