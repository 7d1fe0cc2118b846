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
//! two. For each job it samples the client's connection window (how full, how long a request
//! held its connection), which says where the time beyond the bound went.
//!
//! The fakes run in a child process (this example again, with `--serve-fakes`), so the CPU and
//! RSS figures are the connector's alone; `--in-process` hosts them in this process instead, as
//! `ml-connector demo` does. `--first-run-only` stops after the connector's first run (for a
//! profiler).

use std::collections::{BTreeMap, HashSet};
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

// The allocator the `ml-connector` binary ships with, so the CPU and RSS figures are the shipped
// connector's (glibc's malloc and free were 30 % of its CPU on this path).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Host the fakes in this process (as `demo` does) rather than in a child process.
    in_process: bool,
    /// Stop after the connector's first run (to profile it).
    first_run_only: bool,
}

impl Args {
    fn parse() -> Result<Args, Box<dyn Error>> {
        let mut customers = 10_000;
        let mut latency_ms = 20;
        let mut positional = 0;
        let mut in_process = false;
        let mut first_run_only = false;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--in-process" => in_process = true,
                "--first-run-only" => first_run_only = true,
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
            in_process,
            first_run_only,
        })
    }
}

/// Both fakes with `latency` on every request. With `preseed`, the audience already holds every
/// customer with a valid address (every tenth pending, the others subscribed), as when
/// connecting to an audience built before.
async fn fakes_here(
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

/// How to reach the fakes of a scenario.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Endpoints {
    api_key: String,
    api_url: String,
    list_id: String,
    qad_url: String,
    client_id: String,
    username: String,
    password: String,
    domain: String,
}

/// What the fake Mailchimp holds and saw.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Summary {
    members: usize,
    customers: usize,
    requests: u64,
    peak_concurrency: usize,
}

/// The fakes of one scenario: in this process, or (the default) in a child process running
/// this benchmark with `--serve-fakes`, driven by lines on its standard input, so the figures
/// of this process are the connector's alone.
enum Fakes {
    Here(FakeMailchimp, FakeQad),
    Child {
        child: std::process::Child,
        input: std::process::ChildStdin,
        output: std::io::BufReader<std::process::ChildStdout>,
        endpoints: Endpoints,
    },
}

impl Fakes {
    async fn start(
        in_process: bool,
        customers: usize,
        latency: Duration,
        preseed: bool,
    ) -> Result<Self, Box<dyn Error>> {
        if in_process {
            let (mailchimp, qad) = fakes_here(customers, latency, preseed).await?;
            return Ok(Self::Here(mailchimp, qad));
        }
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .args([
                "--serve-fakes",
                &customers.to_string(),
                &latency.as_millis().to_string(),
                if preseed { "preseed" } else { "empty" },
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let input = child.stdin.take().ok_or("no stdin to the fakes' process")?;
        let output = std::io::BufReader::new(
            child
                .stdout
                .take()
                .ok_or("no stdout from the fakes' process")?,
        );
        let mut fakes = Self::Child {
            child,
            input,
            output,
            endpoints: Endpoints {
                api_key: String::new(),
                api_url: String::new(),
                list_id: String::new(),
                qad_url: String::new(),
                client_id: String::new(),
                username: String::new(),
                password: String::new(),
                domain: String::new(),
            },
        };
        let endpoints: Endpoints = serde_json::from_str(&fakes.read_line()?)?;
        if let Self::Child { endpoints: e, .. } = &mut fakes {
            *e = endpoints;
        }
        Ok(fakes)
    }

    fn read_line(&mut self) -> Result<String, Box<dyn Error>> {
        use std::io::BufRead;
        let Self::Child { output, .. } = self else {
            return Err("not a child process".into());
        };
        let mut line = String::new();
        if output.read_line(&mut line)? == 0 {
            return Err("the fakes' process ended".into());
        }
        Ok(line)
    }

    /// Sends a command to the child and reads its one-line answer.
    fn ask(&mut self, command: &str) -> Result<String, Box<dyn Error>> {
        use std::io::Write;
        if let Self::Child { input, .. } = self {
            writeln!(input, "{command}")?;
            input.flush()?;
        }
        self.read_line()
    }

    fn endpoints(&self) -> Endpoints {
        match self {
            Self::Here(mailchimp, qad) => endpoints(mailchimp, qad),
            Self::Child { endpoints, .. } => endpoints.clone(),
        }
    }

    /// The calls the fake Mailchimp saw, by method and route.
    fn requests(&mut self) -> Result<BTreeMap<(String, String), u64>, Box<dyn Error>> {
        match self {
            Self::Here(mailchimp, _) => Ok(mailchimp.stats().snapshot().requests),
            Self::Child { .. } => {
                let listed: Vec<(String, String, u64)> = serde_json::from_str(&self.ask("stats")?)?;
                Ok(listed.into_iter().map(|(m, r, n)| ((m, r), n)).collect())
            }
        }
    }

    fn summary(&mut self) -> Result<Summary, Box<dyn Error>> {
        match self {
            Self::Here(mailchimp, _) => Ok(summary(mailchimp)),
            Self::Child { .. } => Ok(serde_json::from_str(&self.ask("summary")?)?),
        }
    }

    /// Changes the city of the first `n` QAD customers.
    fn touch(&mut self, n: usize) -> Result<(), Box<dyn Error>> {
        match self {
            Self::Here(_, qad) => {
                touch(qad, n);
                Ok(())
            }
            Self::Child { .. } => self.ask(&format!("touch {n}")).map(drop),
        }
    }
}

impl Drop for Fakes {
    fn drop(&mut self) {
        if let Self::Child { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn endpoints(mailchimp: &FakeMailchimp, qad: &FakeQad) -> Endpoints {
    Endpoints {
        api_key: mailchimp.api_key().to_owned(),
        api_url: mailchimp.api_url(),
        list_id: mailchimp.list_id().to_owned(),
        qad_url: qad.base_url(),
        client_id: qad.client_id().to_owned(),
        username: qad.username().to_owned(),
        password: qad.password().to_owned(),
        domain: qad.domain().to_owned(),
    }
}

fn summary(mailchimp: &FakeMailchimp) -> Summary {
    let snapshot = mailchimp.snapshot();
    Summary {
        members: snapshot.members.values().map(Vec::len).sum(),
        customers: snapshot.customers.values().map(Vec::len).sum(),
        requests: mailchimp.stats().total(),
        peak_concurrency: mailchimp.peak_concurrency(),
    }
}

fn touch(qad: &FakeQad, n: usize) {
    let codes: Vec<String> = qad
        .customers()
        .iter()
        .take(n)
        .map(|c| c.customer_code.clone())
        .collect();
    for code in &codes {
        qad.update_customer(code, |c| c.city = Some("Lyon".into()));
    }
}

/// The child's side of [`Fakes::Child`]: starts the fakes, prints their endpoints, then answers
/// `stats`, `summary` and `touch N` lines until its input ends.
async fn serve_fakes(mut args: impl Iterator<Item = String>) -> Result<(), Box<dyn Error>> {
    use std::io::BufRead;
    let customers: usize = args.next().ok_or("customers")?.parse()?;
    let latency = Duration::from_millis(args.next().ok_or("latency")?.parse()?);
    let preseed = args.next().as_deref() == Some("preseed");
    let (mailchimp, qad) = fakes_here(customers, latency, preseed).await?;
    println!("{}", serde_json::to_string(&endpoints(&mailchimp, &qad))?);
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::channel::<String>(1);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if lines_tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines_rx.recv().await {
        let answer = match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["stats"] => {
                let listed: Vec<(String, String, u64)> = mailchimp
                    .stats()
                    .snapshot()
                    .requests
                    .into_iter()
                    .map(|((m, r), n)| (m, r, n))
                    .collect();
                serde_json::to_string(&listed)?
            }
            ["summary"] => serde_json::to_string(&summary(&mailchimp))?,
            ["touch", n] => {
                touch(&qad, n.parse()?);
                "\"ok\"".to_owned()
            }
            _ => format!("{:?}", format!("unknown command {line:?}")),
        };
        println!("{answer}");
    }
    Ok(())
}

async fn clients(
    fakes: &Fakes,
    window: &Window,
) -> Result<(mailchimp_client::Client, qad_client::Client), Box<dyn Error>> {
    let e = fakes.endpoints();
    let mailchimp_client = mailchimp_client::Client::builder(
        mailchimp_client::Credentials::api_key(e.api_key.as_str()),
    )
    .base_url(e.api_url.clone())
    .shared_limit(window.limit.clone())
    .build()
    .await?;
    let qad_client = qad_client::Client::builder()
        .tenant_url(e.qad_url.clone())
        .credentials(qad_client::Credentials::oauth_password(
            &e.client_id,
            &e.username,
            e.password.as_str(),
        ))
        .domain(e.domain.clone())
        .build()?;
    Ok((mailchimp_client, qad_client))
}

/// Both fakes and an engine over them with a fresh state store.
async fn setup(
    fakes: &Fakes,
    window: &Window,
) -> Result<(ForwardSync, tempfile::TempDir), Box<dyn Error>> {
    let (mailchimp_client, qad_client) = clients(fakes, window).await?;
    let dir = tempfile::tempdir()?;
    let state: Arc<dyn StateStore> =
        Arc::new(SqliteStateStore::open(dir.path().join("state.db")).await?);
    let config = SyncConfig::new(fakes.endpoints().list_id).with_store(StoreConfig::new(
        "bench-store",
        "Bench store",
        "EUR",
    ));
    let sync = ForwardSync::new(config, mailchimp_client, qad_client, state)?;
    Ok((sync, dir))
}

fn print_fake(fakes: &mut Fakes) -> Result<(), Box<dyn Error>> {
    let s = fakes.summary()?;
    println!(
        "fake Mailchimp now holds {} members and {} e-commerce customers; {} requests in all, peak concurrency {}\n",
        s.members, s.customers, s.requests, s.peak_concurrency,
    );
    Ok(())
}

/// Mailchimp's connection cap: the most requests in flight at once.
const CONNECTIONS: u64 = 10;

/// The Mailchimp client's connection window, sampled every millisecond while a job runs: how
/// full it was on average and how much of the time it was full, which says where a job loses
/// time against the round-trip bound. Not sampled without latency: there is no bound to lose
/// time against, and the sampler's thousand wake-ups a second would count in the CPU figure.
struct Window {
    limit: mailchimp_client::ConcurrencyLimit,
    sampled: bool,
    samples: Arc<std::sync::Mutex<(u64, u64, u64)>>,
    sampler: Option<tokio::task::JoinHandle<()>>,
}

impl Window {
    fn new(sampled: bool) -> Self {
        Self {
            limit: mailchimp_client::ConcurrencyLimit::new(CONNECTIONS as usize),
            sampled,
            samples: Arc::default(),
            sampler: None,
        }
    }

    /// Starts sampling (afresh).
    fn start(&mut self) {
        if !self.sampled {
            return;
        }
        *self
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (0, 0, 0);
        let (limit, samples) = (self.limit.clone(), Arc::clone(&self.samples));
        self.sampler = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            loop {
                tick.tick().await;
                let in_flight = (limit.max() - limit.available()) as u64;
                let mut s = samples
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                s.0 += 1;
                s.1 += in_flight;
                s.2 += u64::from(in_flight >= limit.max() as u64);
            }
        }));
    }

    /// Stops sampling; the mean requests in flight and the share of samples with the window
    /// full (`None` when not sampled).
    fn stop(&mut self) -> Option<(f64, f64)> {
        let sampler = self.sampler.take()?;
        sampler.abort();
        let (n, sum, full) = *self
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = n.max(1) as f64;
        Some((sum as f64 / n, full as f64 / n))
    }
}

/// The round-trip bound of the calls the fake Mailchimp saw: Σ over call kinds (method and
/// route) of ⌈calls / 10⌉ × latency. QAD reads overlap the writes, so they do not count.
fn bound(requests: &BTreeMap<(String, String), u64>, latency: Duration) -> Duration {
    let rounds: u64 = requests
        .values()
        .map(|calls| calls.div_ceil(CONNECTIONS))
        .sum();
    latency * u32::try_from(rounds).unwrap_or(u32::MAX)
}

/// The calls the fake Mailchimp saw, by kind, on one line.
fn calls_line(requests: &BTreeMap<(String, String), u64>) -> String {
    requests
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
    /// Mean requests in flight, and the share of the time the window was full (not sampled
    /// without latency).
    window: Option<(f64, f64)>,
}

impl Measured {
    fn ratio(&self) -> f64 {
        self.wall.as_secs_f64() / self.bound.as_secs_f64().max(f64::EPSILON)
    }

    fn print(&self, title: &str, records: usize, requests: &BTreeMap<(String, String), u64>) {
        let cpu = self.cpu.map_or("n/a".to_string(), |cpu| {
            format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / records.max(1) as f64)
        });
        let rss = peak_rss_mib().map_or("n/a".to_string(), |mib| format!("{mib:.0} MiB"));
        let ratio = if self.bound.is_zero() {
            "n/a (no latency)".to_string()
        } else {
            format!("{:.3}", self.ratio())
        };
        // Little's law: requests in flight on average × wall time / requests = the mean time a
        // request held its connection (the fake's latency plus everything else of a round trip).
        let calls: u64 = requests.values().sum();
        let window = self.window.map_or_else(
            || "not sampled (no latency)".to_string(),
            |(in_flight, full)| {
                let held = in_flight * self.wall.as_secs_f64() / calls.max(1) as f64;
                format!(
                    "{in_flight:.2} requests in flight on average, full {:.0}% of the time; a \
                     request held its connection {:.2} ms on average",
                    full * 100.0,
                    held * 1e3
                )
            },
        );
        println!(
            "-- {title}: wall {:.2?}, bound {:.2?}, wall/bound {ratio}; process CPU per record {cpu}; \
             peak RSS so far {rss}\n   window: {window}\n   Mailchimp calls: {}\n",
            self.wall,
            self.bound,
            calls_line(requests),
        );
    }
}

/// The same job as the connector's first run, written by hand the careful way with
/// `mailchimp-client` alone: the store, then page by page (500 customers, the next page read
/// while this one is written) one batch subscribe of the page's new addresses and the page's
/// e-commerce customer `PUT`s, 10 at a time. No state, no mapping beyond the address and name.
async fn hand_written(fakes: &Fakes, window: &Window) -> Result<Duration, Box<dyn Error>> {
    let (mc, qad_client) = clients(fakes, window).await?;
    let list = ListId::from(fakes.endpoints().list_id);
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
    let mut raw = std::env::args().skip(1);
    if raw.next().as_deref() == Some("--serve-fakes") {
        return serve_fakes(raw).await;
    }
    let Args {
        customers,
        latency,
        in_process,
        first_run_only,
    } = Args::parse()?;
    let start_fakes = |preseed| Fakes::start(in_process, customers, latency, preseed);

    let mut window = Window::new(!latency.is_zero());
    let mut fakes = start_fakes(false).await?;
    let (sync, _dir) = setup(&fakes, &window).await?;
    println!(
        "{customers} QAD customers, {latency:?} latency on every request of both fakes, \
         page size 500, concurrency 10, fakes {}\n",
        if in_process {
            "in this process (CPU and RSS include theirs)"
        } else {
            "in a child process (CPU and RSS are the connector's)"
        }
    );

    let cpu_before = process_cpu();
    window.start();
    let start = Instant::now();
    let first = sync.run(ObjectKind::Customers, RunOptions::new()).await?;
    let wall = start.elapsed();
    let occupancy = window.stop();
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let requests = fakes.requests()?;
    let connector = Measured {
        wall,
        bound: bound(&requests, latency),
        cpu,
        window: occupancy,
    };
    print("first run (backfill)", &first, connector.wall);
    connector.print("connector, first run", customers, &requests);
    if first_run_only {
        return Ok(());
    }

    let start = Instant::now();
    let second = sync
        .run(ObjectKind::Customers, RunOptions::new().full(true))
        .await?;
    print(
        "second run, nothing changed (full re-read)",
        &second,
        start.elapsed(),
    );

    fakes.touch(5)?;
    let start = Instant::now();
    let third = sync.run(ObjectKind::Customers, RunOptions::new()).await?;
    print(
        "third run, 5 customers changed (incremental)",
        &third,
        start.elapsed(),
    );
    print_fake(&mut fakes)?;
    drop(fakes);

    // The careful hand-written program on the same job, against fresh fakes.
    let mut fakes = start_fakes(false).await?;
    let cpu_before = process_cpu();
    window.start();
    let wall = hand_written(&fakes, &window).await?;
    let occupancy = window.stop();
    let cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let requests = fakes.requests()?;
    let careful = Measured {
        wall,
        bound: bound(&requests, latency),
        cpu,
        window: occupancy,
    };
    careful.print("hand-written program, same job", customers, &requests);
    print_fake(&mut fakes)?;
    drop(fakes);
    println!(
        "== connector / hand-written wall time: {:.3} (connector {:.2?}; hand-written {:.2?})\n",
        connector.wall.as_secs_f64() / careful.wall.as_secs_f64().max(f64::EPSILON),
        connector.wall,
        careful.wall,
    );

    // Connecting to an audience that already holds the same customers.
    let mut fakes = start_fakes(true).await?;
    let (sync, _dir) = setup(&fakes, &window).await?;
    let existing = fakes.summary()?.members;
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
    print_fake(&mut fakes)?;
    Ok(())
}
