//! `worker`: works the fleet's pairs until Ctrl-C or SIGTERM, then releases its claims.

use sync_core::fleet::{Worker, WorkerOptions};

use crate::cli::{Cli, WorkerArgs};
use crate::commands::pairs::{fleet_key, registry};
use crate::error::{sync_err, AppError, AppResult};

/// Runs `worker`.
///
/// # Errors
///
/// [`AppError`] for a state that is not a PostgreSQL URL, a missing fleet key, or a database
/// that cannot be reached.
pub async fn run(cli: &Cli, args: &WorkerArgs) -> AppResult<()> {
    let key = fleet_key(&args.key)?;
    let registry = registry(cli, args.db_connections.max(1)).await?;
    let mut options = WorkerOptions::new()
        .ttl(args.lease_ttl)
        .max_runs(args.max_runs)
        .slice_pages(args.slice_pages);
    if let Some(max) = args.max_accounts {
        options = options.max_accounts(max);
    }
    let worker = Worker::start(registry, key, options)
        .await
        .map_err(sync_err("cannot join the fleet"))?;
    eprintln!(
        "worker {} started; Ctrl-C or SIGTERM stops it",
        worker.holder()
    );
    stop_signal().await?;
    eprintln!("stopping: runs finish their page, then the claims are released");
    let counts = worker.shutdown().await;
    eprintln!(
        "worker stopped: {} runs completed, {} slices, {} aborted, {} records read, {} Mailchimp \
         writes, {} accounts claimed, {} claims lost",
        counts.runs,
        counts.slices,
        counts.aborted,
        counts.records_read,
        counts.mailchimp_writes,
        counts.claims,
        counts.claims_lost
    );
    Ok(())
}

/// Waits for Ctrl-C or (on Unix) SIGTERM.
async fn stop_signal() -> AppResult<()> {
    let io = |source| AppError::Io {
        context: "cannot listen for the stop signal".into(),
        source,
    };
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(io)?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map_err(io),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(io)
    }
}
