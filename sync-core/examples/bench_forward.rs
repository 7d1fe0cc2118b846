//! Benchmark: 10,000 QAD customers → Mailchimp members and e-commerce customers, against the
//! testkit fakes with 20 ms of latency on every request of both.
//!
//! ```text
//! cargo run --release -p sync-core --example bench_forward [customers] [latency_ms]
//! ```
//!
//! Prints the wall time and the calls made by kind for a first (backfill) run, a no-op re-run,
//! and a run after 5 changes, and the calls a one-PUT-per-member approach would have made; then
//! for a first run against an audience that already holds the same customers.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sync_core::config::{StoreConfig, SyncConfig};
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::mapping::check_email;
use sync_core::report::RunReport;
use sync_core::{ObjectKind, SqliteStateStore, StateStore};
use testkit::mailchimp::FakeMailchimp;
use testkit::qad::{FakeQad, Seeding};
use testkit::{FaultConfig, Faults};

fn print(title: &str, report: &RunReport, wall: Duration) {
    println!("== {title}: {wall:.2?} wall");
    print!("{report}");
    let members = report
        .targets
        .get(&ObjectKind::Members)
        .cloned()
        .unwrap_or_default();
    let customers = report
        .targets
        .get(&ObjectKind::EcommerceCustomers)
        .cloned()
        .unwrap_or_default();
    let member_calls: u64 = [
        "batch_subscribe",
        "member_put",
        "member get",
        "member_tags",
        "member_list get",
    ]
    .iter()
    .filter_map(|kind| report.calls.get(&format!("mailchimp {kind}")))
    .sum();
    // A connector with no batching and no change detection sends one PUT per customer with an
    // address, on every run.
    let naive_members = members.total() - members.rejected_total();
    let naive_customers = customers.total() - customers.rejected_total();
    println!(
        "   member calls: {member_calls} (one PUT per member: {naive_members}); \
         all Mailchimp write calls: {} (one PUT per record: {})\n",
        report.mailchimp_writes(),
        naive_members + naive_customers
    );
}

/// Both fakes with `latency` on every request, and an engine over them with a fresh state store.
/// With `preseed`, the audience already holds every customer with a valid address (every tenth
/// pending, the others subscribed), as when connecting to an audience built before.
async fn setup(
    customers: usize,
    latency: Duration,
    preseed: bool,
) -> Result<(FakeMailchimp, FakeQad, ForwardSync, tempfile::TempDir), Box<dyn Error>> {
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
    if preseed {
        let emails = qad
            .customers()
            .into_iter()
            .filter_map(|c| check_email(c.email.as_deref()?).ok());
        for (i, email) in emails.enumerate() {
            let status = if i % 10 == 0 { "pending" } else { "subscribed" };
            // Duplicate addresses are seeded twice; the second seed changes nothing.
            mailchimp.seed_member(mailchimp.list_id(), &email, status)?;
        }
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
    Ok((mailchimp, qad, sync, dir))
}

fn print_fake(mailchimp: &FakeMailchimp) {
    let snapshot = mailchimp.snapshot();
    println!(
        "fake Mailchimp now holds {} members and {} e-commerce customers; {} requests in all, peak concurrency {}\n",
        snapshot.members.values().map(Vec::len).sum::<usize>(),
        snapshot.customers.values().map(Vec::len).sum::<usize>(),
        mailchimp.stats().total(),
        mailchimp.peak_concurrency(),
    );
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

    let (mailchimp, qad, sync, _dir) = setup(customers, latency, false).await?;
    println!(
        "{customers} QAD customers, {latency:?} latency on every request of both fakes, \
         page size 500, concurrency 10\n"
    );

    let start = Instant::now();
    let first = sync.run(ObjectKind::Customers, RunOptions::new()).await?;
    print("first run (backfill)", &first, start.elapsed());

    let start = Instant::now();
    let second = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await?;
    print(
        "second run, nothing changed (full re-read)",
        &second,
        start.elapsed(),
    );

    let codes: Vec<String> = qad
        .customers()
        .iter()
        .take(5)
        .map(|c| c.customer_code.clone())
        .collect();
    for code in &codes {
        qad.update_customer(code, |c| c.city = Some("Lyon".into()));
    }
    let start = Instant::now();
    let third = sync.run(ObjectKind::Customers, RunOptions::new()).await?;
    print(
        "third run, 5 customers changed (incremental)",
        &third,
        start.elapsed(),
    );
    print_fake(&mailchimp);

    // Connecting to an audience that already holds the same customers.
    let (mailchimp, _qad, sync, _dir) = setup(customers, latency, true).await?;
    let existing = mailchimp
        .snapshot()
        .members
        .values()
        .map(Vec::len)
        .sum::<usize>();
    let start = Instant::now();
    let first = sync.run(ObjectKind::Customers, RunOptions::new()).await?;
    print(
        &format!("first run against an audience already holding {existing} of the customers"),
        &first,
        start.elapsed(),
    );
    println!(
        "   without reading the audience first, each existing member would have cost a GET and a \
         PUT after its batch: {} more calls\n",
        2 * existing
    );
    print_fake(&mailchimp);
    Ok(())
}
