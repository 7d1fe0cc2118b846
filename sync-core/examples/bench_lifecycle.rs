//! Benchmark: the wall time and peak memory of a lifecycle key scan over a large fake tenant.
//!
//! ```text
//! cargo run --release -p sync-core --example bench_lifecycle [customers] [deleted]
//! ```
//!
//! (default 100,000 customers, 1,000 of them deleted). The parent starts the fake QAD, maps every
//! customer with an email in a state file (as a forward sync would, without the Mailchimp writes),
//! deletes `deleted` customers from QAD, then runs a dry-run scan in a child process (this same
//! binary, `--child`), so the child's peak resident set (`VmHWM` of `/proc/self/status`) is the
//! scan's alone. It prints the records read, the id-map entries compared, the departures found,
//! the wall time and the peak RSS, after the time of a plain read of the same browse (the part of
//! the scan that is the fake QAD's paging). Linux only (it reads `/proc`).

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use sync_core::config::SyncConfig;
use sync_core::lifecycle::{LifecycleConfig, LifecycleOptions, LifecycleSync};
use sync_core::{normalize_email, IdMapping, ObjectKind, SqliteStateStore, StateBatch, StateStore};
use testkit::qad::{FakeQad, Seeding};

const API_KEY: &str = "0123456789abcdef0123456789abcdef-us1";

/// The connection details the child reads from its environment.
const ENV: [&str; 6] = [
    "BENCH_QAD_URL",
    "BENCH_QAD_CLIENT_ID",
    "BENCH_QAD_USER",
    "BENCH_QAD_PASSWORD",
    "BENCH_QAD_DOMAIN",
    "BENCH_STATE",
];

/// A line of `/proc/self/status`, e.g. `VmHWM`, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The child: one dry-run scan of the customers, then its figures.
async fn child() -> Result<(), Box<dyn Error>> {
    let vars: Vec<String> = ENV.iter().map(std::env::var).collect::<Result<_, _>>()?;
    let [qad_url, client_id, user, password, domain, state_path] = vars.as_slice() else {
        return Err("missing BENCH_* variables".into());
    };
    let qad = qad_client::Client::builder()
        .tenant_url(qad_url.as_str())
        .credentials(qad_client::Credentials::oauth_password(
            client_id.as_str(),
            user.as_str(),
            password.clone(),
        ))
        .domain(domain.as_str())
        .build()?;
    // A dry run makes no Mailchimp call; the client only has to exist.
    let mailchimp =
        mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(API_KEY))
            .base_url("http://127.0.0.1:9/3.0")
            .build()
            .await?;
    let state: Arc<dyn StateStore> = Arc::new(SqliteStateStore::open(state_path).await?);
    let mut config = SyncConfig::new("bench-audience");
    config.page_size = 1000;
    config.lifecycle = Some(LifecycleConfig::default());
    // The read alone, for comparison: how much of the scan's time is the (fake) QAD's paging.
    let read_started = Instant::now();
    let mut pages = qad.customers().count(1000).into_pages();
    let mut read = 0;
    while let Some(page) = futures::StreamExt::next(&mut pages).await {
        read += page?.items.len();
    }
    println!(
        "plain read of the browse: {read} customers in {:.2?}",
        read_started.elapsed()
    );
    drop(pages);
    let lifecycle = LifecycleSync::new(config, mailchimp, qad, state)?;
    let before = status_kib("VmHWM").unwrap_or(0);
    let started = Instant::now();
    let report = lifecycle
        .run(ObjectKind::Customers, LifecycleOptions::new().dry_run(true))
        .await?;
    let wall = started.elapsed();
    for (kind, n) in &report.calls {
        println!("  calls {kind}: {n}");
    }
    println!(
        "scan: {} read from QAD, {} id-map entries compared, {} departures listed in {wall:.2?}",
        report.scanned,
        report.mapped,
        report.removals.len() as u64 + report.unlisted
    );
    println!(
        "peak RSS (VmHWM): {:.1} MiB (before the scan: {:.1} MiB)",
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
    let deleted: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000);

    let qad = FakeQad::builder()
        .seeding(
            Seeding::new(2026)
                .customers(customers)
                .items(0)
                .sales_orders(0)
                .duplicate_email_share(0.0),
        )
        .max_page_size(1000)
        .start()
        .await?;
    let dir = tempfile::tempdir()?;
    let state_path = dir.path().join("state.db");
    let state = SqliteStateStore::open(&state_path).await?;
    let started = Instant::now();
    let mut mapped = 0;
    for chunk in qad.customers().chunks(1000) {
        let mut batch = StateBatch::new();
        for c in chunk {
            // Every customer active, as the forward sync left them.
            if let Some(email) = &c.email {
                batch = batch.map_id(IdMapping::new(
                    ObjectKind::Members,
                    &c.customer_code,
                    normalize_email(email),
                ));
                mapped += 1;
            }
        }
        state.apply(batch).await?;
    }
    for c in qad.customers() {
        if !c.is_active {
            qad.update_customer(&c.customer_code, |c| c.is_active = true);
        }
    }
    let codes: Vec<String> = qad
        .customers()
        .iter()
        .take(deleted)
        .map(|c| c.customer_code.clone())
        .collect();
    for code in &codes {
        qad.remove_customer(code);
    }
    drop(state);
    println!(
        "fill: {customers} customers, {mapped} mapped, {deleted} deleted in QAD: {:.2?}\n",
        started.elapsed()
    );

    let values = [
        qad.base_url(),
        qad.client_id().to_owned(),
        qad.username().to_owned(),
        qad.password().to_owned(),
        qad.domain().to_owned(),
        state_path.display().to_string(),
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
        return Err(format!("the scan child failed: {}", child.status).into());
    }
    Ok(())
}
