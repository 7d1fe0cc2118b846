//! How much a day of idle 5-minute cycles grows the state database (issue 19, point 5).
//!
//! ```text
//! cargo run --release -p sync-core --example bench_growth -- --orders 100000 --customers 100000
//! ```
//!
//! Options: `--orders N` (default 100000), `--customers N` (default 100000), `--items N`
//! (default 1000), `--cycles N` (default 288, a day of 5-minute cycles), `--legacy-cycles N`
//! (default 2: cycles measured the old way, one audit row per unchanged order, for comparison).
//!
//! The state store is driven directly with exactly what the flows write:
//!
//! 1. **Backfill** (day 0): per page, what the first customers, items and orders runs commit:
//!    id-map entries and hashes of every member, e-commerce customer and product, order
//!    fingerprints and attribution hashes, one `created` audit row per record written (with its
//!    payload), the cursor; runs recorded and finished.
//! 2. **A day of idle cycles**: per cycle and per object (customers, items, orders), what a run
//!    that finds nothing changed does: take the object's lease, record the run, read the replay
//!    queue, then for orders page through every order (read both hash sets of the page, commit
//!    the page's unchanged count, fenced by the lease) and for customers and items commit the
//!    cursor; finish the run, release the lease. The hourly retention prune runs too.
//!
//! Sizes are the database file after a WAL checkpoint (`PRAGMA wal_checkpoint(TRUNCATE)`), so
//! nothing is hidden in the WAL.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use sync_core::audit::{Method, NewAuditRow, RunStart, TargetOperation};
use sync_core::state::retention::{self, Retention};
use sync_core::state::{FencingToken, LeaseHolder};
use sync_core::{
    ContentHash, Cursor, IdMapping, ObjectKind, Outcome, RunId, RunStatus, RunTrigger,
    SqliteStateStore, StateBatch, StateStore, TargetRecord, TargetSystem,
};

type Error = Box<dyn std::error::Error>;

/// The orders flow's page size (Mailchimp's maximum).
const ORDER_PAGE: usize = 1000;
/// The forward flow's QAD page size.
const SOURCE_PAGE: usize = 500;

struct Options {
    orders: usize,
    customers: usize,
    items: usize,
    cycles: u32,
    legacy_cycles: u32,
}

fn options() -> Result<Options, Error> {
    let mut options = Options {
        orders: 100_000,
        customers: 100_000,
        items: 1_000,
        cycles: 288,
        legacy_cycles: 2,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--orders" => options.orders = value.parse()?,
            "--customers" => options.customers = value.parse()?,
            "--items" => options.items = value.parse()?,
            "--cycles" => options.cycles = value.parse()?,
            "--legacy-cycles" => options.legacy_cycles = value.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let options = options()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state.db");
    let store = SqliteStateStore::open(&path).await?;
    let holder = LeaseHolder::this_process();

    let started = Instant::now();
    backfill(&store, &options).await?;
    let day0 = size(&path)?;
    println!(
        "backfill: {} customers, {} items, {} orders -> {} ({:.1?})",
        options.customers,
        options.items,
        options.orders,
        mib(day0),
        started.elapsed()
    );

    let started = Instant::now();
    let retention = Retention::default();
    for cycle in 0..options.cycles {
        for object in [ObjectKind::Customers, ObjectKind::Items, ObjectKind::Orders] {
            idle_run(&store, &holder, object, options.orders, false).await?;
        }
        // Hourly, as `ml-connector run` does.
        if cycle % 12 == 0 {
            retention::prune(&store, &retention, Utc::now()).await?;
        }
    }
    let day1 = size(&path)?;
    let growth = day1.saturating_sub(day0);
    println!(
        "{} idle cycles (customers, items, orders each): +{} bytes ({}) -> {} ({:.1?}, {:.1?} per cycle)",
        options.cycles,
        growth,
        kib(growth),
        mib(day1),
        started.elapsed(),
        started.elapsed() / options.cycles.max(1)
    );
    let target = 1024 * 1024;
    println!(
        "target: <= 1 MiB/day of idle cycles: {}",
        if growth <= target { "met" } else { "NOT met" }
    );

    // The same cycles 90 days on: the runs of day 1 are past their retention and pruned, so
    // the file stops growing (the freed pages go back to the file system).
    let later = Utc::now() + chrono::Duration::days(91);
    let pruned = retention::prune(&store, &retention, later).await?;
    println!(
        "91 days later the prune removes {} runs and {} audit rows (backfill rows included) -> {}",
        pruned.runs,
        pruned.audit,
        mib(size(&path)?)
    );

    if options.legacy_cycles > 0 {
        let before = size(&path)?;
        let started = Instant::now();
        for _ in 0..options.legacy_cycles {
            idle_run(&store, &holder, ObjectKind::Orders, options.orders, true).await?;
        }
        let per_cycle = size(&path)?.saturating_sub(before) / u64::from(options.legacy_cycles);
        println!(
            "before issue 19 (an audit row per unchanged order): +{} per orders cycle, {} per day of {} cycles ({:.1?} per cycle)",
            mib(per_cycle),
            mib(per_cycle * u64::from(options.cycles)),
            options.cycles,
            started.elapsed() / options.legacy_cycles
        );
    }
    Ok(())
}

/// What the first runs commit, page by page.
async fn backfill(store: &SqliteStateStore, options: &Options) -> Result<(), Error> {
    let customers = record_run(store, ObjectKind::Customers).await?;
    for page in (0..options.customers)
        .collect::<Vec<_>>()
        .chunks(SOURCE_PAGE)
    {
        let mut batch = StateBatch::new();
        for &i in page {
            let key = format!("C{i:07}");
            let email = format!("customer{i}@northwind-mfg.com");
            let member = json!({"email_address": email, "status_if_new": "subscribed",
                "merge_fields": {"FNAME": "Ann", "LNAME": format!("Customer {i}")}});
            let customer = json!({"id": key, "email_address": email, "opt_in_status": false,
                "first_name": "Ann", "last_name": format!("Customer {i}"),
                "address": {"address1": "1 Main St", "city": "Springfield", "country_code": "US"}});
            batch = batch
                .map_id(IdMapping::new(ObjectKind::Members, &key, &email))
                .put_hash(ObjectKind::Members, &email, hash(&member))
                .map_id(IdMapping::new(ObjectKind::EcommerceCustomers, &key, &key))
                .put_hash(ObjectKind::EcommerceCustomers, &key, hash(&customer))
                .audit(created(
                    customers,
                    ObjectKind::Customers,
                    &key,
                    TargetRecord::Member,
                    format!("/lists/l1/members/{i:032x}"),
                    member,
                ))
                .audit(created(
                    customers,
                    ObjectKind::Customers,
                    &key,
                    TargetRecord::EcommerceCustomer,
                    format!("/ecommerce/stores/s1/customers/{key}"),
                    customer,
                ));
        }
        let last = page.last().map(|i| format!("C{i:07}"));
        batch = batch.commit_cursor(Cursor::new(
            ObjectKind::Customers,
            None,
            last,
            Some(customers),
        ));
        store.apply(batch).await?;
    }
    store
        .finish_run(customers, RunStatus::Completed, None)
        .await?;

    let items = record_run(store, ObjectKind::Items).await?;
    for page in (0..options.items).collect::<Vec<_>>().chunks(SOURCE_PAGE) {
        let mut batch = StateBatch::new();
        for &i in page {
            let key = format!("ITEM-{i:05}");
            let product = json!({"id": key, "title": format!("Item {i}"),
                "variants": [{"id": key, "title": format!("Item {i}"), "price": 19.99}]});
            batch = batch
                .map_id(IdMapping::new(ObjectKind::Products, &key, &key))
                .put_hash(ObjectKind::Products, &key, hash(&product))
                .audit(created(
                    items,
                    ObjectKind::Items,
                    &key,
                    TargetRecord::Product,
                    format!("/ecommerce/stores/s1/products/{key}"),
                    product,
                ));
        }
        store.apply(batch).await?;
    }
    store.finish_run(items, RunStatus::Completed, None).await?;

    let orders = record_run(store, ObjectKind::Orders).await?;
    for page in (0..options.orders).collect::<Vec<_>>().chunks(ORDER_PAGE) {
        let mut batch = StateBatch::new();
        for &i in page {
            let id = order_id(i);
            let record = json!({"orderId": id, "customerCode": format!("C{:07}", i % 1000),
                "orderTotal": "59.97", "currency": "USD", "campaignId": "cmp-42"});
            batch = batch
                .put_hash(ObjectKind::Orders, &id, hash(&json!({"fingerprint": id})))
                .put_hash(ObjectKind::Attributions, &id, hash(&record))
                .audit(
                    NewAuditRow::new(orders, ObjectKind::Orders, &id, Outcome::Created)
                        .target(TargetRecord::Attribution)
                        .operation(TargetOperation::new(
                            TargetSystem::Qad,
                            Method::Post,
                            "/api/attribution",
                        ))
                        .payload(record)
                        .attempts(1),
                );
        }
        store.apply(batch).await?;
    }
    store.finish_run(orders, RunStatus::Completed, None).await?;
    Ok(())
}

/// One run of `object` that finds nothing changed. With `legacy`, the orders pages write one
/// `unchanged` audit row per order, as before issue 19.
async fn idle_run(
    store: &SqliteStateStore,
    holder: &LeaseHolder,
    object: ObjectKind,
    orders: usize,
    legacy: bool,
) -> Result<(), Error> {
    let lease = store
        .acquire_lease(object, holder, Duration::from_secs(600))
        .await?;
    let token: FencingToken = lease.token;
    let run = record_run(store, object).await?;
    store.due_retries(object, Utc::now(), None, 500).await?;
    if object == ObjectKind::Orders {
        for page in (0..orders).collect::<Vec<_>>().chunks(ORDER_PAGE) {
            let ids: Vec<String> = page.iter().map(|&i| order_id(i)).collect();
            store.hashes(ObjectKind::Orders, &ids).await?;
            store.hashes(ObjectKind::Attributions, &ids).await?;
            let mut batch = StateBatch::new().count_unchanged(run, ids.len() as u64);
            if legacy {
                for id in &ids {
                    batch = batch.audit(NewAuditRow::new(
                        run,
                        ObjectKind::Orders,
                        id,
                        Outcome::Unchanged,
                    ));
                }
            }
            store.apply(batch.fenced(object, token)).await?;
        }
    } else {
        let done = Cursor::new(object, Some(Utc::now()), None, Some(run));
        store
            .apply(StateBatch::new().commit_cursor(done).fenced(object, token))
            .await?;
    }
    store.finish_run(run, RunStatus::Completed, None).await?;
    store.release_lease(&lease).await?;
    Ok(())
}

async fn record_run(store: &SqliteStateStore, object: ObjectKind) -> Result<RunId, Error> {
    let run = RunStart::new(vec![object], RunTrigger::Scheduled);
    store.start_run(&run).await?;
    Ok(run.id)
}

fn created(
    run: RunId,
    object: ObjectKind,
    key: &str,
    target: TargetRecord,
    path: String,
    payload: serde_json::Value,
) -> NewAuditRow {
    NewAuditRow::new(run, object, key, Outcome::Created)
        .target(target)
        .operation(TargetOperation::new(
            TargetSystem::Mailchimp,
            Method::Put,
            path,
        ))
        .payload(payload)
        .attempts(1)
}

fn order_id(i: usize) -> String {
    format!("{}", 100_000_000 + i)
}

fn hash(value: &serde_json::Value) -> ContentHash {
    ContentHash::of_bytes(value.to_string().as_bytes())
}

/// The database file's size after moving the WAL into it.
fn size(path: &Path) -> Result<u64, Error> {
    let conn = rusqlite::Connection::open(path)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(std::fs::metadata(path)?.len())
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}
