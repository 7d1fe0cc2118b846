//! The command line: global options and one subcommand per task.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keeps a Mailchimp audience and e-commerce store in step with a QAD ERP tenant, and sends
/// Mailchimp orders back to QAD.
///
/// Start with `ml-connector demo`: it needs no configuration.
#[derive(Debug, Parser)]
#[command(name = "ml-connector", version, about, long_about)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "ml-connector.toml")]
    pub config: PathBuf,
    /// The state database (overrides `paths.state` of the configuration).
    #[arg(long, global = true)]
    pub state: Option<PathBuf>,
    /// The credentials vault (overrides `paths.vault` of the configuration).
    #[arg(long, global = true)]
    pub vault: Option<PathBuf>,
    /// A file holding the vault key (overrides `paths.key_file`; without either, the key comes
    /// from the environment variable `ML_CONNECTOR_VAULT_KEY`).
    #[arg(long, global = true)]
    pub key_file: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole cycle against local fakes of both systems (no configuration needed).
    Demo(DemoArgs),
    /// Write a commented configuration file and store the credentials in the encrypted vault.
    Init(InitArgs),
    /// Replace one credential set in the vault (`set`) or show what the vault holds without
    /// secrets (`show`); the configuration file is never touched.
    Credentials(CredentialsArgs),
    /// Check both systems: Mailchimp key, data center, audience and store; QAD login and every
    /// configured browse and entity path. With `--probe`, find out how the QAD tenant behaves
    /// where QAD documents nothing.
    Connect(ConnectArgs),
    /// One sync pass over customers, items and orders.
    Sync(SyncArgs),
    /// Run every object on its schedule, and the webhook receiver, until Ctrl-C; with
    /// `--once`, every object once and exit.
    Run(RunArgs),
    /// Scan QAD in full now and remove from Mailchimp what left it (`[sync.lifecycle]`):
    /// customers, and items when a store is configured. `--dry-run` lists without writing.
    Lifecycle(LifecycleArgs),
    /// Show audit rows from the state database, newest first (by default the latest run's).
    Audit(AuditArgs),
    /// List the recorded runs, newest first: id, trigger, objects, start, duration, counts.
    Runs(RunsArgs),
    /// Retry failed and deferred audit rows now (Mailchimp writes re-mapped from QAD as it is
    /// now; `run` and `sync` also retry them by themselves, with backoff).
    Replay(ReplayArgs),
    /// Compare Mailchimp with QAD field by field and report (or, with --fix, write) the drift.
    /// Exit status: 0 no drift, 3 drift found and not fixed, 1 error.
    Reconcile(ReconcileArgs),
    /// Register, list or remove the tenant pairs of a fleet in a PostgreSQL state database
    /// (`--state postgres://…`); their credentials are sealed under the fleet key.
    Pairs(PairsArgs),
    /// Work the fleet's pairs from a PostgreSQL state database (`--state postgres://…`), with
    /// any number of other workers, until Ctrl-C or SIGTERM.
    Worker(WorkerArgs),
}

impl Command {
    /// Whether the command was asked for JSON on stdout (`--json`).
    #[must_use]
    pub fn json(&self) -> bool {
        match self {
            Self::Demo(args) => args.json,
            Self::Connect(args) => args.json,
            Self::Sync(args) => args.json,
            Self::Lifecycle(args) => args.json,
            Self::Audit(args) => args.json,
            Self::Runs(args) => args.json,
            Self::Replay(args) => args.json,
            Self::Reconcile(args) => args.json,
            Self::Credentials(args) => {
                matches!(args.action, CredentialsAction::Show { json: true })
            }
            Self::Pairs(args) => matches!(args.action, PairsAction::List { json: true }),
            Self::Init(_) | Self::Run(_) | Self::Worker(_) => false,
        }
    }
}

/// Options of `connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Run read-only experiments on the QAD tenant and report, per assumption of
    /// `[qad.behaviour]`, verified, contradicted (with the value found) or unknown (with why).
    #[arg(long)]
    pub probe: bool,
    /// With `--probe`: write the values found into `[qad.behaviour]` of the configuration.
    #[arg(long, requires = "probe")]
    pub write_config: bool,
    /// With `--probe`: also run the experiment that writes (two posts of one marked attribution
    /// record, left in QAD and named in the report).
    #[arg(long, requires = "probe")]
    pub probe_writes: bool,
}

/// Options of `credentials`.
#[derive(Debug, Args)]
pub struct CredentialsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: CredentialsAction,
}

/// `credentials set` or `credentials show`.
#[derive(Debug, Subcommand)]
pub enum CredentialsAction {
    /// Store new credentials for one system, bound to what the configuration names now. The
    /// secret comes from the environment (ML_CONNECTOR_MAILCHIMP_API_KEY,
    /// ML_CONNECTOR_MAILCHIMP_OAUTH_TOKEN, ML_CONNECTOR_QAD_PASSWORD), from standard input with
    /// `--stdin`, or from a prompt; never from the command line.
    Set(CredentialsSet),
    /// Show which credentials the vault holds (kind, data center, tenant, user, last change),
    /// never a secret.
    Show {
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// The systems `credentials set` stores credentials for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CredentialsSystem {
    /// The Mailchimp API key (or, with `--oauth`, OAuth token).
    Mailchimp,
    /// The QAD password.
    Qad,
}

/// Options of `credentials set`.
#[derive(Debug, Args)]
pub struct CredentialsSet {
    /// Which system.
    #[arg(value_enum)]
    pub system: CredentialsSystem,
    /// Read the secret from standard input (for example from a secrets manager's pipe).
    #[arg(long)]
    pub stdin: bool,
    /// Mailchimp: store an OAuth token instead of an API key.
    #[arg(long)]
    pub oauth: bool,
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run every scheduled object once, in order, as the scheduler runs it (replay queue
    /// first), without the webhook receiver, and exit: 0 all written, 2 records failed, 1 an
    /// object could not run or did not finish.
    #[arg(long)]
    pub once: bool,
}

/// Options of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print the report as one JSON object on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// QAD customers to seed.
    #[arg(long, default_value_t = 3000)]
    pub customers: usize,
    /// QAD items to seed.
    #[arg(long, default_value_t = 300)]
    pub items: usize,
    /// Latency the fakes add to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Orders the fake shop places.
    #[arg(long, default_value_t = 40)]
    pub orders: usize,
    /// Seed for the generated data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Options of `init`. Secrets are never options: they come from the environment or a prompt.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The Mailchimp audience (list) id.
    #[arg(long)]
    pub list_id: String,
    /// The e-commerce store id to create or use (linked to the audience).
    #[arg(long)]
    pub store_id: Option<String>,
    /// The store's name.
    #[arg(long, default_value = "QAD")]
    pub store_name: String,
    /// The store's currency (ISO 4217).
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// Authenticate to Mailchimp with an OAuth token instead of an API key.
    #[arg(long)]
    pub oauth: bool,
    /// A Mailchimp API root overriding the data center's (proxies, tests): https (http only on
    /// loopback), no user-info, query or fragment; `/3.0` is appended to a bare host.
    #[arg(long)]
    pub mailchimp_base_url: Option<String>,
    /// The QAD tenant URL with its context root, e.g. `https://acme.qad.com/clouderp`.
    #[arg(long)]
    pub qad_url: String,
    /// The QAD user.
    #[arg(long)]
    pub qad_user: String,
    /// The QAD OAuth client id (OAuth password grant).
    #[arg(long)]
    pub qad_client_id: Option<String>,
    /// Sign in to QAD with the on-premises form login instead of OAuth.
    #[arg(long)]
    pub qad_form_login: bool,
    /// The QAD domain code, e.g. `10USA`.
    #[arg(long)]
    pub qad_domain: String,
    /// The QAD attribution entity path.
    #[arg(long)]
    pub qad_attribution_path: Option<String>,
    /// Replace an existing configuration file.
    #[arg(long)]
    pub force: bool,
}

/// The objects `sync --only` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnlyObject {
    /// QAD customers → members and e-commerce customers.
    Customers,
    /// QAD items → products.
    Items,
    /// Mailchimp orders → QAD attribution records.
    Orders,
    /// QAD sales orders → Mailchimp e-commerce orders (when `[sales_orders]` is enabled).
    SalesOrders,
}

/// Options of `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Sync one object only.
    #[arg(long, value_enum)]
    pub only: Option<OnlyObject>,
    /// Print what would be created or updated, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With `--dry-run`: the planned writes listed per target kind (with `--json` the whole
    /// plan is printed).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Read every QAD record, not only those changed since the last run (change detection
    /// still skips unchanged ones, so this retries records whose write failed).
    #[arg(long)]
    pub full: bool,
    /// Before reading changes, retry the replay queue: failed and deferred records whose
    /// backoff has passed, re-read from QAD. On by default.
    #[arg(long, overrides_with = "no_retry_failed")]
    pub retry_failed: bool,
    /// Do not retry the replay queue in this run.
    #[arg(long, overrides_with = "retry_failed")]
    pub no_retry_failed: bool,
    /// Print the reports as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

impl SyncArgs {
    /// Whether the run retries the replay queue first (`--retry-failed`, the default, unless
    /// `--no-retry-failed` comes last).
    #[must_use]
    pub fn retries_failed(&self) -> bool {
        !self.no_retry_failed
    }
}

/// Options of `lifecycle`.
#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// List what would be archived, deleted or handed over, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Let this scan remove more than `lifecycle.max_removal_percent` of the mapped records
    /// (after a dry run showed that QAD really lost them).
    #[arg(long)]
    pub allow_mass_removal: bool,
    /// The removals listed per object (with `--json` every listed one is printed).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Print the reports as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The outcomes `audit --outcome` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutcomeArg {
    /// Created in the target.
    Created,
    /// Updated in the target.
    Updated,
    /// No change, no call (only the rows that resolved a queued row, or an order whose mapped
    /// record matched QAD's: other unchanged records are only counted in their run).
    Unchanged,
    /// Deliberately not written.
    Skipped,
    /// Invalid source record.
    Rejected,
    /// Failed after retries (replayable).
    Failed,
    /// Waiting for another write of its record (replayable).
    Deferred,
}

/// Options of `audit`. Without `--run` or `--since` it shows the latest run; `--key` or
/// `--outcome` without them search every run (a record's history, the failed rows).
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// `last` (the latest run, of `--object` when given) or a run id (`ml-connector runs`
    /// lists them).
    #[arg(long, value_name = "last|ID", conflicts_with = "since")]
    pub run: Option<String>,
    /// Only rows of runs started since then: a time (`2026-05-01T08:00:00Z`) or a span back
    /// from now (`2h`, `3days`).
    #[arg(long, value_name = "TIME|SPAN")]
    pub since: Option<String>,
    /// Only rows of this source object: customers, items, orders or webhook_events (with
    /// `--run last`: the latest run covering it).
    #[arg(long)]
    pub object: Option<String>,
    /// Only rows with this outcome.
    #[arg(long, value_enum)]
    pub outcome: Option<OutcomeArg>,
    /// Only rows of this source key (customer code, item code, order id, email).
    #[arg(long)]
    pub key: Option<String>,
    /// At most this many rows (the newest).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Options of `runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only runs covering this source object: customers, items or orders.
    #[arg(long)]
    pub object: Option<String>,
    /// Only runs started since then: a time (`2026-05-01T08:00:00Z`) or a span back from now
    /// (`2h`, `3days`).
    #[arg(long, value_name = "TIME|SPAN")]
    pub since: Option<String>,
    /// At most this many runs (the newest).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Options of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Which failed rows.
    #[command(flatten)]
    pub which: ReplaySelector,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Exactly one of the selectors of `replay`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ReplaySelector {
    /// The failed rows of this run.
    #[arg(long)]
    pub run: Option<String>,
    /// One failed row.
    #[arg(long)]
    pub row: Option<i64>,
    /// Every failed row not yet resolved.
    #[arg(long)]
    pub all_failed: bool,
}

/// The objects `reconcile --object` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReconcileObject {
    /// QAD customers ↔ members and e-commerce customers.
    Customers,
    /// QAD items ↔ products.
    Items,
}

/// Options of `reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Reconcile one object only (default: customers, and items when a store is configured).
    #[arg(long, value_enum)]
    pub object: Option<ReconcileObject>,
    /// Write the missing and different records (audited; member statuses are never changed).
    #[arg(long)]
    pub fix: bool,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn sync_retries_the_queue_unless_the_last_flag_says_not_to() {
        let retries = |args: &[&str]| {
            let cli = Cli::try_parse_from(["ml-connector", "sync"].iter().chain(args)).unwrap();
            match cli.command {
                Command::Sync(sync) => sync.retries_failed(),
                other => panic!("not sync: {other:?}"),
            }
        };
        assert!(retries(&[]));
        assert!(retries(&["--retry-failed"]));
        assert!(!retries(&["--no-retry-failed"]));
        assert!(!retries(&["--retry-failed", "--no-retry-failed"]));
        assert!(retries(&["--no-retry-failed", "--retry-failed"]));
    }
}

/// The fleet key's source, for `pairs add` and `worker`.
#[derive(Debug, Args)]
pub struct FleetKeyArgs {
    /// A file holding the fleet key, which seals every pair's credentials in the database
    /// (without it, the key comes from the environment variable `ML_CONNECTOR_FLEET_KEY`).
    #[arg(long)]
    pub fleet_key_file: Option<PathBuf>,
}

/// Options of `pairs`.
#[derive(Debug, Args)]
pub struct PairsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: PairsAction,
}

/// `pairs add`, `pairs list` or `pairs remove`.
#[derive(Debug, Subcommand)]
pub enum PairsAction {
    /// Register a tenant pair: what `run` would do with `--config` (`[sync]`, `[qad]`
    /// settings, `[mailchimp]`, `[orders]`, `[sales_orders]`, `[retention]`, `[schedule]`), its
    /// credentials from the vault (`--vault`, `--key-file`), sealed again under the fleet key.
    Add {
        /// The pair's id, unique in the fleet.
        id: String,
        /// The Mailchimp account the pair uses: pairs naming one account share its 10
        /// connections and are worked by one worker at a time.
        #[arg(long)]
        account: String,
        /// Which flows the pair runs (customers, items, orders, sales_orders; default what
        /// `run` schedules for the configuration).
        #[arg(long, value_delimiter = ',')]
        objects: Option<Vec<String>>,
        /// The fleet key.
        #[command(flatten)]
        key: FleetKeyArgs,
    },
    /// List the registered pairs (never their credentials) and who works them now.
    List {
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove a pair from the fleet; its state stays in the database.
    Remove {
        /// The pair's id.
        id: String,
    },
}

/// Options of `worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// How long an account's claim lives without a heartbeat: a killed worker's pairs go to
    /// others after at most this long.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub lease_ttl: std::time::Duration,
    /// Runs in flight at once over all this worker's pairs.
    #[arg(long, default_value_t = 8)]
    pub max_runs: usize,
    /// Pages a run commits before it yields to the other due pairs.
    #[arg(long, default_value_t = 4)]
    pub slice_pages: u64,
    /// Hold at most this many Mailchimp accounts (default: a fair share of them).
    #[arg(long)]
    pub max_accounts: Option<usize>,
    /// Connections to the state database.
    #[arg(long, default_value_t = 4)]
    pub db_connections: usize,
    /// The fleet key.
    #[command(flatten)]
    pub key: FleetKeyArgs,
}
