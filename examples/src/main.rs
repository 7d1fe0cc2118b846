//! `ml-connector`: keeps a Mailchimp audience and e-commerce store in step with a QAD ERP
//! tenant, and sends Mailchimp orders back to QAD as attribution records.
//!
//! This binary is wiring: the logic lives in the `mailchimp-client`, `qad-client` and
//! `sync-core` crates, and the demo's fakes in `testkit`. Start with
//! `cargo run -p ml-connector -- demo`; see the repository's README for the rest.

mod cli;
mod commands;
mod config;
mod connection;
mod error;
mod exit;
mod json;
mod lockout;
mod ops_endpoints;
mod output;
mod plan_text;
mod reachability;
mod secrets;
mod url_text;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{chain, AppError};
use crate::exit::{Exit, JsonError};

// glibc's malloc and free were 30 % of the connector's CPU on the forward path; mimalloc (without
// transparent huge pages, which tripled the peak RSS) cuts that (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    init_tracing();
    let done = |()| Exit::Success;
    let result = match &cli.command {
        Command::Demo(args) => commands::demo::run(args).await,
        Command::Init(args) => commands::init::run(&cli, args).map(done),
        Command::Credentials(args) => commands::credentials::run(&cli, args).map(done),
        Command::Connect(args) => commands::connect::run(&cli, args).await.map(done),
        Command::Sync(args) => commands::sync::run(&cli, args).await,
        Command::Run(args) => commands::run::run(&cli, args).await,
        Command::Lifecycle(args) => commands::lifecycle::run(&cli, args).await,
        Command::Audit(args) => commands::audit::run(&cli, args).await.map(done),
        Command::Runs(args) => commands::runs::run(&cli, args).await.map(done),
        Command::Replay(args) => commands::replay::run(&cli, args).await,
        Command::Reconcile(args) => commands::reconcile::run(&cli, args).await,
        Command::Pairs(args) => commands::pairs::run(&cli, args).await.map(done),
        Command::Worker(args) => commands::worker::run(&cli, args).await.map(done),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(err) => {
            let text = chain(&err);
            eprintln!("error: {text}");
            // A script reading stdout gets an answer, not nothing; a `Check` failure comes
            // after the command printed its report, which says what went wrong.
            if cli.command.json()
                && !matches!(err, AppError::Check(_))
                && output::print_json(&JsonError::new(err.kind(), text, Exit::Failed)).is_err()
            {
                eprintln!("error: cannot write the JSON error object");
            }
            Exit::Failed.into()
        }
    }
}

/// A command line clap refused: its message on stderr (and, when `--json` was asked for, the
/// JSON error object on stdout), exit 1 like any failed command; exit 2 means failed records.
/// `--help` and `--version` print as usual and exit 0.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            Exit::Failed.into()
        } else {
            Exit::Success.into()
        };
    }
    let _ = err.print();
    if std::env::args().any(|a| a == "--json") {
        let text = err.to_string();
        let message = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_owned();
        let _ = output::print_json(&JsonError::new("usage", message, Exit::Failed));
    }
    Exit::Failed.into()
}

/// Logs to stderr under `RUST_LOG` (nothing by default, so stdout and stderr stay readable).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
