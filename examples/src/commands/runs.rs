//! `runs`: the recorded runs, newest first, with their counts by outcome.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sync_core::audit::{OutcomeCounts, RunRecord};
use sync_core::{ObjectKind, RunId, RunStatus, RunTrigger};

use crate::cli::{Cli, RunsArgs};
use crate::commands::audit::{parse_object, parse_since, select_runs};
use crate::connection::Setup;
use crate::error::AppResult;
use crate::output::print_json;

/// One run as `runs --json` prints it.
#[derive(Debug, Serialize)]
pub struct RunJson {
    /// The run id (`audit --run` and `replay --run` take it).
    pub run_id: RunId,
    /// What started it: `scheduled`, `manual`, `replay` or `reconcile`.
    pub trigger: RunTrigger,
    /// The source objects it covered.
    pub objects: Vec<ObjectKind>,
    /// `running`, `completed`, `aborted` or `cancelled`.
    pub status: RunStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished (`null` while running or when it never recorded its end).
    pub finished_at: Option<DateTime<Utc>>,
    /// From start to finish, in milliseconds (`null` without a finish).
    pub duration_ms: Option<u64>,
    /// Why it aborted.
    pub error: Option<String>,
    /// Its audit rows by outcome.
    pub counts: OutcomeCounts,
}

impl From<RunRecord> for RunJson {
    fn from(r: RunRecord) -> Self {
        let duration_ms = r
            .finished_at
            .and_then(|end| u64::try_from((end - r.start.started_at).num_milliseconds()).ok());
        Self {
            run_id: r.start.id,
            trigger: r.start.trigger,
            objects: r.start.objects,
            status: r.status,
            started_at: r.start.started_at,
            finished_at: r.finished_at,
            duration_ms,
            error: r.error,
            counts: r.counts,
        }
    }
}

#[derive(Serialize)]
struct RunsOutput {
    runs: Vec<RunJson>,
}

/// Runs `runs`. Needs only the configuration and the state database.
///
/// # Errors
///
/// [`AppError`](crate::error::AppError) for a bad `--object` or `--since`, configuration or
/// state database.
pub async fn run(cli: &Cli, args: &RunsArgs) -> AppResult<()> {
    let object = args.object.as_deref().map(parse_object).transpose()?;
    let since = args
        .since
        .as_deref()
        .map(|t| parse_since(t, Utc::now()))
        .transpose()?;
    let setup = Setup::load(cli)?;
    let state = setup.state().await?;
    let runs: Vec<RunJson> = select_runs(state.as_ref(), object, since, args.limit)
        .await?
        .into_iter()
        .map(RunJson::from)
        .collect();
    if args.json {
        return print_json(&RunsOutput { runs });
    }
    if runs.is_empty() {
        println!("no runs recorded yet; `ml-connector sync` or `run` records them");
        return Ok(());
    }
    println!(
        "{:<36}  {:<9}  {:<16}  {:<20}  {:>9}  {:<9}  counts",
        "run", "trigger", "objects", "started (UTC)", "duration", "status"
    );
    for r in &runs {
        let objects: Vec<&str> = r.objects.iter().map(ObjectKind::as_str).collect();
        let duration = r.duration_ms.map_or_else(
            || "—".to_owned(),
            |ms| format!("{:.1} s", ms as f64 / 1000.0),
        );
        println!(
            "{:<36}  {:<9}  {:<16}  {:<20}  {:>9}  {:<9}  {}",
            r.run_id.to_string(),
            r.trigger.as_str(),
            objects.join(","),
            r.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            duration,
            r.status.as_str(),
            counts_text(&r.counts)
        );
    }
    Ok(())
}

/// The non-zero counts, e.g. `12 created, 3 unchanged, 1 failed`.
fn counts_text(c: &OutcomeCounts) -> String {
    let parts: Vec<String> = [
        (c.created, "created"),
        (c.updated, "updated"),
        (c.unchanged, "unchanged"),
        (c.skipped, "skipped"),
        (c.rejected, "rejected"),
        (c.failed, "failed"),
        (c.deferred, "deferred"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        "no records".to_owned()
    } else {
        parts.join(", ")
    }
}
