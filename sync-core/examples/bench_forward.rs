//! Benchmark: 10,000 QAD customers → Mailchimp members and e-commerce customers, against the
//! testkit fakes with 20 ms of latency on every request of both.
//!
//! ```text
//! cargo run --release -p sync-core --example bench_forward -- --customers 10000 --latency-ms 20
//! ```
//!
//! (`bench_forward [customers] [latency_ms]`, positionally, also works.)
//!
//! Prints the wall time and the calls made by kind for a first (backfill) run, a no-op re-run,
//! and a run after 5 changes, and the calls a one-PUT-per-member approach would have made; then
//! for a first run against an audience that already holds the same customers. For the first
//! run it also prints the round-trip bound computed from the Mailchimp calls made (Σ over call
//! kinds of ⌈calls / 10⌉ × latency: Mailchimp allows 10 connections at once, and QAD pages
//! overlap the writes), the ratio of the wall time to it, the process CPU time per record and the
//! peak RSS; and, in the same run against fresh fakes, the same job done by a careful
//! hand-written `mailchimp-client` program (batch subscribe 500 a call, then the e-commerce
//! customer `PUT`s 10 at a time, page by page, no state and no mapping), with the ratio of the
//! two. The fakes run in this process, so CPU and RSS include theirs.

use std::collections::HashSet;
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use mailchimp_client::ecommerce::{CustomerId, CustomerInput, NewStore, StoreId};
use mailchimp_client::{BatchMember, ListId, MemberStatus, BATCH_SUBSCRIBE_LIMIT};

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

/// The benchmark's arguments: `--customers N --latency-ms L`, or both positionally.
struct Args {
    customers: usize,
    latency: Duration,
}

impl Args {
    fn parse() -> Result<Args, Box<dyn Error>> {
        let mut customers = 10_000;
        let mut latency_ms = 20;
        let mut positional = 0;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--customers" => {
                    customers = args.next().ok_or("--customers needs a value")?.parse()?
                }
                "--latency-ms" => {
                    latency_ms = args.next().ok_or("--latency-ms needs a value")?.parse()?
                }
                other if positional == 0 => {
                    customers = other.parse()?;
                    positional += 1;
                }
                other if positional == 1 => {
                    latency_ms = other.parse()?;
                    positional += 1;
                }
                other => return Err(format!("unexpected argument {other:?}").into()),
            }
        }
        Ok(Args {
            customers,
            latency: Duration::from_millis(latency_ms),
        })
    }
}

/// Both fakes with `latency` on every request. With `preseed`, the audience already holds every
/// customer with a valid address (every tenth pending, the others subscribed), as when
/// connecting to an audience built before.
async fn fakes(
    customers: usize,
    latency: Duration,
    preseed: bool,
) -> Result<(FakeMailchimp, FakeQad), Box<dyn Error>> {
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
    Ok((mailchimp, qad))
}

async fn clients(
    mailchimp: &FakeMailchimp,
    qad: &FakeQad,
) -> Result<(mailchimp_client::Client, qad_client::Client), Box<dyn Error>> {
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
    Ok((mailchimp_client, qad_client))
}

/// Both fakes and an engine over them with a fresh state store.
async fn setup(
    customers: usize,
    latency: Duration,
    preseed: bool,
) -> Result<(FakeMailchimp, FakeQad, ForwardSync, tempfile::TempDir), Box<dyn Error>> {
    let (mailchimp, qad) = fakes(customers, latency, preseed).await?;
    let (mailchimp_client, qad_client) = clients(&mailchimp, &qad).await?;
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

/// Mailchimp's connection cap: the most requests in flight at once.
const CONNECTIONS: u64 = 10;

/// The round-trip bound of the calls the fake Mailchimp saw: Σ over call kinds (method and
/// route) of ⌈calls / 10⌉ × latency. QAD reads overlap the writes, so they do not count.
fn bound(mailchimp: &FakeMailchimp, latency: Duration) -> Duration {
    let rounds: u64 = mailchimp
        .stats()
        .snapshot()
        .requests
        .values()
        .map(|calls| calls.div_ceil(CONNECTIONS))
        .sum();
    latency * u32::try_from(rounds).unwrap_or(u32::MAX)
}

/// The calls the fake Mailchimp saw, by kind, on one line.
fn calls_line(mailchimp: &FakeMailchimp) -> String {
    mailchimp
        .stats()
        .snapshot()
        .requests
        .iter()
        .map(|((method, route), calls)| format!("{method} {route}: {calls}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// This process's CPU time (user + system) so far, from `/proc/self/stat` (Linux; `None`
/// elsewhere). Its clock ticks are `USER_HZ`, 100 a second on Linux.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at its closing parenthesis:
    // utime and stime are fields 14 and 15 of the whole line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// This process's peak resident set so far, in MiB (`VmHWM`; Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// What one measured job took.
struct Measured {
    wall: Duration,
    bound: Duration,
    cpu: Option<Duration>,
}

impl Measured {
    fn ratio(&self) -> f64 {
        self.wall.as_secs_f64() / self.bound.as_secs_f64().max(f64::EPSILON)
    }

    fn print(&self, title: &str, records: usize, mailchimp: &FakeMailchimp) {
        let cpu = self.cpu.map_or("n/a".to_string(), |cpu| {
            format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / records.max(1) as f64)
        });
        let rss = peak_rss_mib().map_or("n/a".to_string(), |mib| format!("{mib:.0} MiB"));
        println!(
            "-- {title}: wall {:.2?}, bound {:.2?}, wall/bound {:.3}; process CPU per record {cpu}; \
             peak RSS so far {rss}\n   Mailchimp calls: {}\n",
            self.wall,
            self.bound,
            self.ratio(),
            calls_line(mailchimp),
        );
    }
}

/// The same job as the connector's first run, written by hand the careful way with
/// `mailchimp-client` alone: the store, then page by page (500 customers, the next page read
/// while this one is written) one batch subscribe of the page's new addresses and the page's
/// e-commerce customer `PUT`s, 10 at a time. No state, no mapping beyond the address and name.
async fn hand_written(
    mailchimp: &FakeMailchimp,
    qad: &FakeQad,
) -> Result<Duration, Box<dyn Error>> {
    let (mc, qad_client) = clients(mailchimp, qad).await?;
    let list = ListId::from(mailchimp.list_id());
    let store = StoreId::from("bench-store");
    let start = Instant::now();
    mc.ecommerce()
        .ensure_store(&NewStore::new(
            store.clone(),
            list.clone(),
            "Bench store",
            "EUR",
        ))
        .await?;
    // Read ahead: the next page is fetched while this one is written.
    let (pages_tx, mut pages_rx) = tokio::sync::mpsc::channel(1);
    let reader = tokio::spawn(async move {
        let mut pages = qad_client.customers().count(500).into_pages();
        while let Some(page) = pages.next().await {
            if pages_tx.send(page).await.is_err() {
                break;
            }
        }
    });
    let mut seen = HashSet::new();
    let handle = mc.ecommerce().store(&store);
    while let Some(page) = pages_rx.recv().await {
        let page = page?;
        let rows: Vec<(String, String, Option<String>)> = page
            .items
            .iter()
            .filter_map(|c| {
                let email = check_email(c.email.as_deref()?).ok()?;
                Some((c.customer_code.to_string(), email, c.address_name.clone()))
            })
            .collect();
        let new: Vec<BatchMember> = rows
            .iter()
            .filter(|(_, email, _)| seen.insert(email.clone()))
            .map(|(_, email, _)| BatchMember::new(email.clone(), MemberStatus::Subscribed))
            .collect();
        for chunk in new.chunks(BATCH_SUBSCRIBE_LIMIT) {
            mc.list(&list)
                .batch_subscribe(chunk.to_vec())
                .send()
                .await?;
        }
        futures::stream::iter(rows)
            .map(|(code, email, company)| {
                let handle = handle.clone();
                async move {
                    let mut input = CustomerInput::new(CustomerId::from(code), true);
                    input.email_address = Some(email);
                    input.company = company;
                    handle.customers().upsert(&input).await
                }
            })
            .buffer_unordered(CONNECTIONS as usize)
            .try_collect::<Vec<_>>()
            .await?;
    }
    reader.await?;
    Ok(start.elapsed())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let Args { customers, latency } = Args::parse()?;

    let (mailchimp, qad, sync, _dir) = setup(customers, latency, false).await?;
    println!(
        "{customers} QAD customers, {latency:?} latency on every request of both fakes, \
         page size 500, concurrency 10\n"
    );

    let cpu_before = process_cpu();
    let start = Instant::now();
    let first = sync.run(ObjectKind::Customers, RunOptions::new()).await?;
    let connector = Measured {
        wall: start.elapsed(),
        bound: bound(&mailchimp, latency),
        cpu: process_cpu()
            .zip(cpu_before)
            .map(|(after, before)| after - before),
    };
    print("first run (backfill)", &first, connector.wall);
    connector.print("connector, first run", customers, &mailchimp);

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

    // The careful hand-written program on the same job, against fresh fakes.
    let (mailchimp, qad) = fakes(customers, latency, false).await?;
    let cpu_before = process_cpu();
    let wall = hand_written(&mailchimp, &qad).await?;
    let careful = Measured {
        wall,
        bound: bound(&mailchimp, latency),
        cpu: process_cpu()
            .zip(cpu_before)
            .map(|(after, before)| after - before),
    };
    careful.print("hand-written program, same job", customers, &mailchimp);
    print_fake(&mailchimp);
    println!(
        "== connector / hand-written wall time: {:.3} (connector {:.2?}, wall/bound {:.3}; \
         hand-written {:.2?}, wall/bound {:.3})\n",
        connector.wall.as_secs_f64() / careful.wall.as_secs_f64().max(f64::EPSILON),
        connector.wall,
        connector.ratio(),
        careful.wall,
        careful.ratio(),
    );

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
