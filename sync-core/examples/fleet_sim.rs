//! Fleet simulation: many tenant pairs synced by 1, 2, 4 … workers sharing one PostgreSQL
//! database, against in-process fakes (one fake QAD tenant per pair, one fake Mailchimp account
//! per group of pairs), with latency on every request.
//!
//! ```text
//! ML_CONNECTOR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//! cargo run --release -p sync-core --example fleet_sim -- --pairs 1000 --workers 1,2,4 \
//!     --customers-per-pair 200 --latency-ms 20
//! ```
//!
//! Options (defaults in brackets): `--pairs` [100], `--workers` [1,2,4], `--customers-per-pair`
//! [200], `--latency-ms` [20], `--pairs-per-account` [10], `--cadence-secs` [2], `--changes`
//! [100], `--change-rate` [20 a second], `--max-runs` [16 per worker], `--pool` [4 connections
//! per worker], `--state URL` [the environment variable above].
//!
//! For each worker count, in a fresh schema with fresh fakes, it prints:
//! - the initial sync: every pair's customers to its audience and store, the wall time until
//!   every pair finished a complete run, and the records per second;
//! - change → Mailchimp latency: customers renamed in QAD at `--change-rate` while the workers
//!   run each pair every `--cadence-secs`; the time until the fake Mailchimp holds the new name
//!   (polled every 100 ms, so figures are ±100 ms), p50 / p99 / max;
//! - the peak PostgreSQL connections of the workers (`pg_stat_activity`), the highest number
//!   of simultaneous requests any fake Mailchimp account saw, and its `429`s;
//! - and at the end the scaling from 1 worker to N.

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sync_core::config::{StoreConfig, SyncConfig};
use sync_core::fleet::{NewPair, ObjectCadence, PairConfig, PairRegistry, Worker, WorkerOptions};
use sync_core::state::{LeaseHolder, PostgresOptions};
use sync_core::vault::{Credentials, MailchimpCredentials, QadAuthKind, QadCredentials, VaultKey};
use sync_core::ObjectKind;
use testkit::mailchimp::FakeMailchimp;
use testkit::qad::{FakeQad, Seeding};
use testkit::FaultConfig;

type AnyResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

#[derive(Debug, Clone)]
struct Args {
    pairs: usize,
    workers: Vec<usize>,
    customers: usize,
    latency: Duration,
    pairs_per_account: usize,
    cadence_secs: u64,
    changes: usize,
    change_rate: f64,
    max_runs: usize,
    pool: usize,
    url: Option<String>,
}

impl Args {
    fn parse() -> AnyResult<Self> {
        let mut args = Self {
            pairs: 100,
            workers: vec![1, 2, 4],
            customers: 200,
            latency: Duration::from_millis(20),
            pairs_per_account: 10,
            cadence_secs: 2,
            changes: 100,
            change_rate: 20.0,
            max_runs: 16,
            pool: 4,
            url: std::env::var("ML_CONNECTOR_TEST_POSTGRES_URL").ok(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--pairs" => args.pairs = value.parse()?,
                "--workers" => {
                    args.workers = value.split(',').map(str::parse).collect::<Result<_, _>>()?;
                }
                "--customers-per-pair" => args.customers = value.parse()?,
                "--latency-ms" => args.latency = Duration::from_millis(value.parse()?),
                "--pairs-per-account" => args.pairs_per_account = value.parse::<usize>()?.max(1),
                "--cadence-secs" => args.cadence_secs = value.parse::<u64>()?.max(1),
                "--changes" => args.changes = value.parse()?,
                "--change-rate" => args.change_rate = value.parse::<f64>()?.max(0.1),
                "--max-runs" => args.max_runs = value.parse()?,
                "--pool" => args.pool = value.parse()?,
                "--state" => args.url = Some(value),
                other => return Err(format!("unknown option {other}").into()),
            }
        }
        Ok(args)
    }
}

/// One round's figures.
#[derive(Debug, Default, Clone)]
struct Figures {
    workers: usize,
    initial: Duration,
    records_per_sec: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    seen: usize,
    db_connections: i64,
    account_peak: usize,
    rejections: u64,
    exact: bool,
}

struct Pair {
    account: usize,
    list: String,
    qad: FakeQad,
}

#[tokio::main]
async fn main() -> AnyResult<()> {
    let args = Args::parse()?;
    let Some(url) = args.url.clone().filter(|u| !u.trim().is_empty()) else {
        println!("skipped: give --state postgres://… or set ML_CONNECTOR_TEST_POSTGRES_URL");
        return Ok(());
    };
    let accounts = args.pairs.div_ceil(args.pairs_per_account);
    println!(
        "fleet_sim: {} pairs on {accounts} Mailchimp accounts, {} customers each, {:?} latency on \
         every request, cadence {} s, {} workers × {} runs in flight, pool of {} connections a worker",
        args.pairs,
        args.customers,
        args.latency,
        args.cadence_secs,
        args.workers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        args.max_runs,
        args.pool
    );
    let mut all = Vec::new();
    for &workers in &args.workers {
        let figures = round(&args, &url, workers.max(1)).await?;
        println!(
            "{} worker(s): initial sync {:.2?} ({:.0} records/s); change→Mailchimp p50 {:.2?}, \
             p99 {:.2?}, max {:.2?} ({} of {} changes seen); DB connections peak {}; Mailchimp \
             account peak {} in flight, {} × 429; end state {}",
            figures.workers,
            figures.initial,
            figures.records_per_sec,
            figures.p50,
            figures.p99,
            figures.max,
            figures.seen,
            args.changes,
            figures.db_connections,
            figures.account_peak,
            figures.rejections,
            if figures.exact { "exact" } else { "NOT exact" }
        );
        all.push(figures);
    }
    println!("\nworkers | records/s | × 1 worker | p50 | p99 | DB connections | account peak");
    let base = all.first().map_or(1.0, |f| f.records_per_sec.max(1e-9));
    for f in &all {
        println!(
            "{} | {:.0} | {:.2} | {:.2?} | {:.2?} | {} | {}",
            f.workers,
            f.records_per_sec,
            f.records_per_sec / base,
            f.p50,
            f.p99,
            f.db_connections,
            f.account_peak
        );
    }
    Ok(())
}

async fn round(args: &Args, url: &str, workers: usize) -> AnyResult<Figures> {
    let schema = format!("fleet_sim_{}", uuid::Uuid::new_v4().simple());
    let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await?;
    let sep = if url.contains('?') { '&' } else { '?' };
    let app = format!("fleet_sim_{}", &schema[10..22]);
    let url = format!("{url}{sep}options=-csearch_path%3D{schema}&application_name={app}");
    let registry =
        PairRegistry::connect_with(&url, PostgresOptions::new().max_connections(2)).await?;

    // The fakes and the registered pairs.
    let key = VaultKey::generate();
    let faults = FaultConfig::none().latency(args.latency);
    let mut fakes = Vec::new();
    let mut pairs: Vec<Pair> = Vec::new();
    for a in 0..args.pairs.div_ceil(args.pairs_per_account) {
        let in_account = args
            .pairs_per_account
            .min(args.pairs - a * args.pairs_per_account);
        let lists: Vec<String> = (0..in_account).map(|p| format!("list-{a}-{p}")).collect();
        let mut builder = FakeMailchimp::builder()
            .api_key(format!("{:032x}-us1", a + 1))
            .faults(faults.clone());
        for list in &lists {
            builder = builder.list(list.clone());
        }
        let fake = builder.start().await?;
        for (p, list) in lists.into_iter().enumerate() {
            let qad = FakeQad::builder()
                .seeding(
                    Seeding::new((a * 1000 + p) as u64)
                        .customers(args.customers)
                        .items(0)
                        .sales_orders(0)
                        .invalid_email_share(0.0)
                        .duplicate_email_share(0.0)
                        .missing_field_share(0.0),
                )
                .start()
                .await?;
            qad.faults().set_default(faults.clone())?;
            let id = format!("sim-{a}-{p}");
            let sync = SyncConfig::new(list.as_str()).with_store(StoreConfig::new(
                format!("store-{a}-{p}"),
                "Sim store",
                "EUR",
            ));
            let config = PairConfig::new(sync).with_object(ObjectCadence::new(
                ObjectKind::Customers,
                Duration::from_secs(args.cadence_secs),
            ));
            let credentials = Credentials {
                mailchimp: Some(
                    MailchimpCredentials::api_key(fake.api_key())
                        .with_base_url(url::Url::parse(&fake.api_url())?),
                ),
                qad: Some(
                    QadCredentials::new(
                        url::Url::parse(&qad.base_url())?,
                        QadAuthKind::OAuthPassword,
                        qad.username(),
                        qad.password(),
                        qad.domain(),
                    )
                    .with_client_id(qad.client_id()),
                ),
                webhook: None,
            };
            registry
                .add(
                    NewPair {
                        id,
                        account: format!("account-{a}"),
                        config,
                        credentials,
                    },
                    &key,
                )
                .await?;
            pairs.push(Pair {
                account: a,
                list,
                qad,
            });
        }
        fakes.push(fake);
    }

    // The workers' connections, sampled.
    let peak = Arc::new(AtomicI64::new(0));
    let sampler = {
        let peak = Arc::clone(&peak);
        let (client, connection) =
            tokio_postgres::connect(url.split('?').next().unwrap_or(&url), tokio_postgres::NoTls)
                .await?;
        tokio::spawn(connection);
        let app = app.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(row) = client
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                        &[&app],
                    )
                    .await
                {
                    peak.fetch_max(row.get::<_, i64>(0), Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    // Phase 1: the initial sync, until every pair finished a complete run.
    let start = Instant::now();
    let mut handles = Vec::new();
    for w in 0..workers {
        let own =
            PairRegistry::connect_with(&url, PostgresOptions::new().max_connections(args.pool))
                .await?;
        let options = WorkerOptions::new()
            .holder(LeaseHolder::new(
                format!("sim-worker-{w}"),
                std::process::id(),
            ))
            .ttl(Duration::from_secs(30))
            .poll_every(Duration::from_millis(500))
            .max_runs(args.max_runs);
        handles.push(Worker::start(own, key.clone(), options).await?);
    }
    let total = i64::try_from(args.pairs)?;
    loop {
        let done: i64 = admin
            .query_one(
                &format!(
                    "SELECT count(DISTINCT pair) FROM {schema}.runs WHERE status = 'completed'"
                ),
                &[],
            )
            .await?
            .get(0);
        if done >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let initial = start.elapsed();
    let records = (args.pairs * args.customers) as f64;

    // Phase 2: changes in QAD, and when Mailchimp shows them.
    let mut pending: Vec<(usize, String, String, Instant)> = Vec::new();
    let mut latencies = Vec::new();
    let every = Duration::from_secs_f64(1.0 / args.change_rate);
    let mut next_change = Instant::now();
    let mut made = 0;
    let deadline_after_last = Duration::from_secs(args.cadence_secs * 10 + 60);
    let mut last_change = Instant::now();
    let mut next_poll = Instant::now();
    while made < args.changes || !pending.is_empty() {
        let now = Instant::now();
        if made < args.changes && now >= next_change {
            let pair_index = (made * 7919) % pairs.len();
            let pair = &pairs[pair_index];
            let customers = pair.qad.customers();
            let customer = &customers[(made * 104_729) % customers.len()];
            let token = format!("Chg{made}");
            let name = format!("{token} Sim");
            pair.qad
                .update_customer(&customer.customer_code, |c| c.address_name = Some(name));
            let email = customer.email.clone().unwrap_or_default();
            pending.push((pair_index, email, token, Instant::now()));
            made += 1;
            last_change = Instant::now();
            next_change += every;
        }
        if now >= next_poll {
            let mut by_account: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for (i, (pair_index, ..)) in pending.iter().enumerate() {
                by_account
                    .entry(pairs[*pair_index].account)
                    .or_default()
                    .push(i);
            }
            let mut seen = Vec::new();
            for (account, indexes) in by_account {
                let snapshot = fakes[account].snapshot();
                for i in indexes {
                    let (pair_index, email, token, at) = &pending[i];
                    let fname = snapshot
                        .member(&pairs[*pair_index].list, email)
                        .and_then(|m| m["merge_fields"]["FNAME"].as_str().map(str::to_owned));
                    if fname.as_deref() == Some(token.as_str()) {
                        latencies.push(at.elapsed());
                        seen.push(i);
                    }
                }
            }
            seen.sort_unstable();
            for i in seen.into_iter().rev() {
                pending.swap_remove(i);
            }
            next_poll = Instant::now() + Duration::from_millis(100);
        }
        if made >= args.changes && last_change.elapsed() > deadline_after_last {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    for handle in handles {
        handle.shutdown().await;
    }
    sampler.abort();

    // The end state: every audience holds each customer once.
    let mut exact = true;
    for pair in &pairs {
        let snapshot = fakes[pair.account].snapshot();
        let members = snapshot.members.get(&pair.list).map_or(0, Vec::len);
        exact &= members == args.customers;
    }
    let account_peak = fakes
        .iter()
        .map(FakeMailchimp::peak_concurrency)
        .max()
        .unwrap_or(0);
    let rejections = fakes
        .iter()
        .map(FakeMailchimp::concurrency_rejections)
        .sum();
    latencies.sort_unstable();
    let pct = |p: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i.min(latencies.len() - 1)]
    };
    let figures = Figures {
        workers,
        initial,
        records_per_sec: records / initial.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        max: latencies.last().copied().unwrap_or_default(),
        seen: latencies.len(),
        db_connections: peak.load(Ordering::Relaxed),
        account_peak,
        rejections,
        exact,
    };
    drop(registry);
    for pair in pairs {
        pair.qad.shutdown().await?;
    }
    for fake in fakes {
        fake.shutdown().await?;
    }
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await?;
    Ok(figures)
}
