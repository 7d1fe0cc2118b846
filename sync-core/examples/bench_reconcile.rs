//! Benchmark: the peak memory of `reconcile` over a large fake tenant.
//!
//! ```text
//! cargo run --release -p sync-core --example bench_reconcile [customers] [items]
//! ```
//!
//! (default 100,000 customers and 1,000 items). The parent process starts both fakes, fills the
//! fake Mailchimp with a forward sync, then runs the reconcile in a child process (this same
//! binary, `--child`), so the child's peak resident set (`VmHWM` of `/proc/self/status`) is the
//! reconcile's alone, not the fakes'. It prints the counts compared, the wall time, the calls
//! and the peak RSS. Linux only (it reads `/proc`).

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use sync_core::config::{StoreConfig, SyncConfig};
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::reconcile::{ReconcileOptions, Reconciler};
use sync_core::{ObjectKind, SqliteStateStore, StateStore};
use testkit::mailchimp::FakeMailchimp;
use testkit::qad::{FakeQad, Seeding};

const API_KEY: &str = "0123456789abcdef0123456789abcdef-us1";
const STORE: &str = "bench-store";

/// The connection details the child reads from its environment.
const ENV: [&str; 7] = [
    "BENCH_MAILCHIMP_URL",
    "BENCH_LIST_ID",
    "BENCH_QAD_URL",
    "BENCH_QAD_CLIENT_ID",
    "BENCH_QAD_USER",
    "BENCH_QAD_PASSWORD",
    "BENCH_QAD_DOMAIN",
];

fn config(list_id: &str) -> SyncConfig {
    let mut config =
        SyncConfig::new(list_id).with_store(StoreConfig::new(STORE, "Bench store", "EUR"));
    config.page_size = 1000;
    config
}

fn qad_client(
    url: &str,
    client_id: &str,
    user: &str,
    password: &str,
    domain: &str,
) -> Result<qad_client::Client, Box<dyn Error>> {
    Ok(qad_client::Client::builder()
        .tenant_url(url)
        .credentials(qad_client::Credentials::oauth_password(
            client_id,
            user,
            password.to_owned(),
        ))
        .domain(domain)
        .build()?)
}

/// A line of `/proc/self/status`, e.g. `VmHWM`, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The child: one reconcile, then its figures.
async fn child() -> Result<(), Box<dyn Error>> {
    let vars: Vec<String> = ENV.iter().map(std::env::var).collect::<Result<_, _>>()?;
    let [mc_url, list_id, qad_url, client_id, user, password, domain] = vars.as_slice() else {
        return Err("missing BENCH_* variables".into());
    };
    let mailchimp =
        mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(API_KEY))
            .base_url(mc_url.as_str())
            .build()
            .await?;
    let qad = qad_client(qad_url, client_id, user, password, domain)?;
    let dir = tempfile::tempdir()?;
    let state: Arc<dyn StateStore> =
        Arc::new(SqliteStateStore::open(dir.path().join("state.db")).await?);
    let reconciler = Reconciler::new(config(list_id), mailchimp, qad, state)?;
    let before = status_kib("VmHWM").unwrap_or(0);
    let started = Instant::now();
    let report = reconciler.run(ReconcileOptions::new()).await?;
    let wall = started.elapsed();
    print!("{report}");
    for (kind, n) in &report.calls {
        println!("  calls {kind}: {n}");
    }
    let compared: u64 = report.kinds.values().map(|k| k.expected).sum();
    let read: u64 = report.kinds.values().map(|k| k.in_mailchimp).sum();
    println!(
        "reconcile: {compared} QAD-side records compared with {read} Mailchimp records in {wall:.2?}"
    );
    println!(
        "peak RSS (VmHWM): {:.1} MiB (before the reconcile: {:.1} MiB)",
        status_kib("VmHWM").unwrap_or(0) as f64 / 1024.0,
        before as f64 / 1024.0
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--child") {
        return child().await;
    }
    let customers: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let items: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000);

    let mailchimp = FakeMailchimp::builder()
        .api_key(API_KEY)
        .list("bench-audience")
        .start()
        .await?;
    let qad = FakeQad::builder()
        .seeding(
            Seeding::new(2026)
                .customers(customers)
                .items(items)
                .sales_orders(0),
        )
        .max_page_size(1000)
        .start()
        .await?;
    let mailchimp_client =
        mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(API_KEY))
            .base_url(mailchimp.api_url())
            .build()
            .await?;
    let dir = tempfile::tempdir()?;
    let state: Arc<dyn StateStore> =
        Arc::new(SqliteStateStore::open(dir.path().join("state.db")).await?);
    let qad_client = qad_client(
        &qad.base_url(),
        qad.client_id(),
        qad.username(),
        qad.password(),
        qad.domain(),
    )?;
    let sync = ForwardSync::new(
        config(mailchimp.list_id()),
        mailchimp_client,
        qad_client,
        state,
    )?;
    let started = Instant::now();
    for object in [ObjectKind::Customers, ObjectKind::Items] {
        let report = sync.run(object, RunOptions::new()).await?;
        println!("fill: {object} {:?} ({} read)", report.status, report.read);
    }
    println!("fill: {:.2?}\n", started.elapsed());

    let values = [
        mailchimp.api_url(),
        mailchimp.list_id().to_owned(),
        qad.base_url(),
        qad.client_id().to_owned(),
        qad.username().to_owned(),
        qad.password().to_owned(),
        qad.domain().to_owned(),
    ];
    let exe = std::env::current_exe()?;
    let child = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .arg("--child")
            .envs(ENV.iter().zip(values.iter()))
            .output()
    })
    .await??;
    print!("{}", String::from_utf8_lossy(&child.stdout));
    eprint!("{}", String::from_utf8_lossy(&child.stderr));
    if !child.status.success() {
        return Err(format!("the reconcile child failed: {}", child.status).into());
    }
    Ok(())
}
