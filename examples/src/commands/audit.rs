//! `audit`: rows of the audit trail, newest first; by default those of the latest run.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sync_core::audit::{AuditQuery, AuditRow, RunRecord};
use sync_core::{ObjectKind, Outcome, RunId, StateStore};

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

/// Parses `--since`: an RFC 3339 time (`2026-05-01T08:00:00Z`) or a span back from now
/// (`2h`, `3days`).
///
/// # Errors
///
/// [`AppError::Usage`] naming both accepted forms.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    humantime::parse_duration(text)
        .ok()
        .and_then(|span| chrono::Duration::from_std(span).ok())
        .and_then(|span| now.checked_sub_signed(span))
        .ok_or_else(|| {
            AppError::Usage(format!(
                "--since {text:?} is neither a time like 2026-05-01T08:00:00Z nor a span back \
                 from now like 2h or 3days"
            ))
        })
}

/// Parses `--object`: a source object (`customers`, `items`, `orders`, `webhook_events`).
///
/// # Errors
///
/// [`AppError::Usage`] naming the accepted values.
pub fn parse_object(text: &str) -> AppResult<ObjectKind> {
    match ObjectKind::from_str(text.trim()) {
        Ok(
            kind @ (ObjectKind::Customers
            | ObjectKind::Items
            | ObjectKind::Orders
            | ObjectKind::WebhookEvents),
        ) => Ok(kind),
        _ => Err(AppError::Usage(format!(
            "--object {text:?} is not one of customers, items, orders, webhook_events"
        ))),
    }
}

/// How many runs `--since` and `--run last` look back through.
const RUNS_SCANNED: u32 = 10_000;

/// The runs, newest first, that started at or after `since` (all when `None`) and cover
/// `object` (all when `None`), at most `limit`.
///
/// # Errors
///
/// [`AppError::Sync`] when the state database cannot be read.
pub async fn select_runs(
    state: &dyn StateStore,
    object: Option<ObjectKind>,
    since: Option<DateTime<Utc>>,
    limit: u32,
) -> AppResult<Vec<RunRecord>> {
    let scanned = if object.is_some() || since.is_some() {
        RUNS_SCANNED
    } else {
        limit
    };
    let runs = state
        .recent_runs(scanned)
        .await
        .map_err(sync_err("cannot read the runs"))?;
    Ok(runs
        .into_iter()
        .filter(|r| object.is_none_or(|o| r.start.objects.contains(&o)))
        .filter(|r| since.is_none_or(|t| r.start.started_at >= t))
        .take(limit as usize)
        .collect())
}

/// The last `limit` rows matching `query`, newest first: one query the store answers from the
/// end of its index.
async fn newest(
    state: &dyn StateStore,
    query: &AuditQuery,
    limit: u32,
) -> AppResult<Vec<AuditRow>> {
    state
        .query_audit(&query.clone().newest_first().limit(limit))
        .await
        .map_err(sync_err("cannot read the audit trail"))
}

/// Which rows `audit` shows, said for the person reading them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
enum Scope {
    /// One run.
    Run { run_id: RunId },
    /// The runs started since a time.
    Since { since: DateTime<Utc>, runs: usize },
    /// Every run (a source key's history, or every row of an outcome).
    AllRuns,
    /// No run recorded yet (matching the filters).
    NoRun,
}

#[derive(Serialize)]
struct AuditOutput {
    scope: Scope,
    rows: Vec<AuditRowJson>,
    /// Whether `--limit` cut the list.
    truncated: bool,
}

/// One audit row, flat, as scripts read it.
#[derive(Serialize)]
struct AuditRowJson {
    id: i64,
    run_id: RunId,
    object: ObjectKind,
    source_key: String,
    outcome: Outcome,
    operation: Option<OperationJson>,
    error: Option<String>,
    attempts: u32,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    replay_of: Option<i64>,
    resolved_by: Option<i64>,
    resolved_at: Option<DateTime<Utc>>,
    retries: u32,
    next_retry_at: Option<DateTime<Utc>>,
    dead_at: Option<DateTime<Utc>>,
    payload: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct OperationJson {
    system: String,
    method: &'static str,
    path: String,
}

impl From<AuditRow> for AuditRowJson {
    fn from(r: AuditRow) -> Self {
        let row = r.row;
        Self {
            id: r.id.get(),
            run_id: row.run_id,
            object: row.object,
            source_key: row.source_key,
            outcome: row.outcome,
            operation: row.operation.map(|op| OperationJson {
                system: op.system.to_string(),
                method: op.method.as_str(),
                path: op.path,
            }),
            error: row.error,
            attempts: row.attempts,
            started_at: row.started_at,
            finished_at: row.finished_at,
            replay_of: row.replay_of.map(|id| id.get()),
            resolved_by: r.resolution.as_ref().map(|res| res.by.get()),
            resolved_at: r.resolution.map(|res| res.at),
            retries: r.retry.retries,
            next_retry_at: r.retry.next_at,
            dead_at: r.retry.dead_at,
            payload: row.payload,
        }
    }
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

/// Runs `audit`. Needs only the configuration and the state database, not the vault.
///
/// Without `--run` or `--since` it shows the latest run (of `--object`, when given); `--key`
/// or `--outcome` without them search every run (a record's history, the failed rows).
///
/// # Errors
///
/// [`AppError`] for a bad run id, time, configuration or state database.
pub async fn run(cli: &Cli, args: &AuditArgs) -> AppResult<()> {
    let object = args.object.as_deref().map(parse_object).transpose()?;
    let since = args
        .since
        .as_deref()
        .map(|t| parse_since(t, Utc::now()))
        .transpose()?;
    let explicit_run = match args.run.as_deref().map(str::trim) {
        None | Some("last") => None,
        Some(id) => Some(parse_run(id)?),
    };
    let mut query = AuditQuery::new();
    if let Some(o) = args.outcome {
        query = query.outcome(outcome(o));
    }
    if let Some(key) = &args.key {
        query = query.source_key(key.clone());
    }
    if let Some(o) = object {
        query = query.object(o);
    }
    let setup = Setup::load(cli)?;
    let state = setup.state().await?;
    let state: &dyn StateStore = state.as_ref();

    let latest = |runs: Vec<RunRecord>| match runs.into_iter().next() {
        Some(run) => Scope::Run {
            run_id: run.start.id,
        },
        None => Scope::NoRun,
    };
    let scope = if let Some(run_id) = explicit_run {
        Scope::Run { run_id }
    } else if args.run.is_some() {
        latest(select_runs(state, object, None, 1).await?)
    } else if let Some(since) = since {
        let runs = select_runs(state, object, Some(since), RUNS_SCANNED).await?;
        Scope::Since {
            since,
            runs: runs.len(),
        }
    } else if args.key.is_some() || args.outcome.is_some() {
        // A record's history, or the failed rows still queued, span runs.
        Scope::AllRuns
    } else {
        latest(select_runs(state, object, None, 1).await?)
    };

    // One more than asked tells whether the list was cut.
    let wanted = args.limit.saturating_add(1);
    let mut rows = match &scope {
        Scope::Run { run_id } => newest(state, &query.clone().run(*run_id), wanted).await?,
        Scope::AllRuns => newest(state, &query, wanted).await?,
        Scope::Since { since, .. } => {
            let mut rows = Vec::new();
            for run in select_runs(state, object, Some(*since), RUNS_SCANNED).await? {
                rows.extend(newest(state, &query.clone().run(run.start.id), wanted).await?);
            }
            rows.sort_by_key(|r| std::cmp::Reverse(r.id));
            rows
        }
        Scope::NoRun => Vec::new(),
    };
    let truncated = rows.len() > args.limit as usize;
    rows.truncate(args.limit as usize);

    if args.json {
        return print_json(&AuditOutput {
            scope,
            rows: rows.into_iter().map(AuditRowJson::from).collect(),
            truncated,
        });
    }
    print_text(&scope, &rows, truncated, args.limit);
    Ok(())
}

fn print_text(scope: &Scope, rows: &[AuditRow], truncated: bool, limit: u32) {
    match scope {
        Scope::Run { run_id } => println!("run {run_id}, newest first"),
        Scope::Since { since, runs } => println!(
            "{runs} run(s) started since {}, newest first",
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        Scope::AllRuns => println!("every run, newest first"),
        Scope::NoRun => {
            println!("no run recorded yet; `ml-connector sync` or `run` records one");
            return;
        }
    }
    if rows.is_empty() {
        println!("no audit rows match");
        return;
    }
    println!(
        "{:>7}  {:<36}  {:<14}  {:<20}  {:<9}  {:<3}  what",
        "row", "run", "object", "key", "outcome", "try"
    );
    for r in rows {
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
    if truncated {
        println!("(newest {limit} rows; raise --limit for more)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_a_span_back() {
        let now = DateTime::parse_from_rfc3339("2026-05-02T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let at = |t: &str| parse_since(t, now).map(|t| t.to_rfc3339()).ok();
        assert_eq!(
            at("2026-05-01T08:00:00Z").as_deref(),
            Some("2026-05-01T08:00:00+00:00")
        );
        assert_eq!(at("2h").as_deref(), Some("2026-05-02T08:00:00+00:00"));
        assert_eq!(at("1day").as_deref(), Some("2026-05-01T10:00:00+00:00"));
        let err = parse_since("yesterday", now).unwrap_err().to_string();
        assert!(err.contains("2h"), "{err}");
    }

    #[test]
    fn objects_are_source_objects() {
        assert_eq!(parse_object("items").ok(), Some(ObjectKind::Items));
        assert!(parse_object("members").is_err());
    }
}
