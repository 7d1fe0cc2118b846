//! Benchmark: what a dry run's plan costs — N QAD customers against the testkit fakes with a
//! latency on every request, a backfill plan (every write listed, the contact cost counted),
//! then, after a real run and 5 changed customers, an incremental plan whose updates read their
//! old values from the audit trail.
//!
//! ```text
//! cargo run -p sync-core --example bench_plan [customers] [latency_ms]
//! ```
//!
//! Prints per plan the wall time, the calls by kind, the planned writes and the plan's size as
//! JSON.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sync_core::config::{StoreConfig, SyncConfig};
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::report::RunReport;
use sync_core::{ObjectKind, SqliteStateStore, StateStore};
use testkit::mailchimp::FakeMailchimp;
use testkit::qad::{FakeQad, Seeding};
use testkit::{FaultConfig, Faults};

fn print_plan(title: &str, report: &RunReport, wall: Duration) -> Result<(), Box<dyn Error>> {
    let plan = report.plan.as_ref().ok_or("a dry run has a plan")?;
    let json = serde_json::to_vec(plan)?;
    println!("== {title}: {wall:.2?} wall");
    println!(
        "   planned writes: {}; contacts new to the audience: {:?}; store marked is_syncing: {}; plan as JSON: {} KiB",
        plan.writes(),
        plan.new_contacts,
        plan.marks_store_syncing,
        json.len() / 1024
    );
    for (kind, n) in &report.calls {
        println!("   calls {kind}: {n}");
    }
    println!();
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let latency = Duration::from_millis(args.next().map(|a| a.parse()).transpose()?.unwrap_or(20));
    let mailchimp = FakeMailchimp::builder()
        .api_key("0123456789abcdef0123456789abcdef-us1")
        .list("bench-audience")
        .faults(FaultConfig::none().latency(latency))
        .start()
        .await?;
    let qad = FakeQad::builder()
        .seeding(
            Seeding::new(2026)
                .customers(customers)
                .items(0)
                .sales_orders(0),
        )
        .faults(Faults::new(1, FaultConfig::none().latency(latency))?)
        .max_page_size(1000)
        .start()
        .await?;
    // A tenth of the customers are already contacts of the audience.
    let emails: Vec<String> = qad
        .customers()
        .into_iter()
        .filter_map(|c| sync_core::mapping::check_email(c.email.as_deref()?).ok())
        .step_by(10)
        .collect();
    for email in &emails {
        mailchimp.seed_member(mailchimp.list_id(), email, "subscribed")?;
    }
    let mailchimp_client = mailchimp_client::Client::builder(
        mailchimp_client::Credentials::api_key(mailchimp.api_key()),
    )
    .base_url(mailchimp.api_url())
    .build()
    .await?;
    let qad_client = qad_client::Client::builder()
        .tenant_url(qad.base_url())
        .credentials(qad_client::Credentials::oauth_password(
            qad.client_id(),
            qad.username(),
            qad.password(),
        ))
        .domain(qad.domain())
        .build()?;
    let dir = tempfile::tempdir()?;
    let state: Arc<dyn StateStore> =
        Arc::new(SqliteStateStore::open(dir.path().join("state.db")).await?);
    let config = SyncConfig::new(mailchimp.list_id()).with_store(StoreConfig::new(
        "bench-store",
        "Bench store",
        "EUR",
    ));
    let sync = ForwardSync::new(config, mailchimp_client, qad_client, state)?;
    println!(
        "{customers} QAD customers ({} already in the audience), {latency:?} latency on every request\n",
        emails.len()
    );

    let all = RunOptions::new().dry_run(true).plan_limit(usize::MAX);
    let start = Instant::now();
    let plan = sync.run(ObjectKind::Customers, all.clone()).await?;
    print_plan("backfill plan, every write listed", &plan, start.elapsed())?;

    let start = Instant::now();
    let real = sync.run(ObjectKind::Customers, RunOptions::new()).await?;
    println!(
        "== the real backfill: {:.2?} wall, status {}\n",
        start.elapsed(),
        real.status
    );

    for customer in qad.customers().iter().take(5) {
        qad.update_customer(&customer.customer_code, |c| c.city = Some("Lyon".into()));
    }
    let start = Instant::now();
    let plan = sync.run(ObjectKind::Customers, all).await?;
    print_plan(
        "incremental plan, 5 customers changed (old values from the audit trail)",
        &plan,
        start.elapsed(),
    )?;
    Ok(())
}
