//! Measures the SQLite state store on the work of a 10,000-customer sync: reading the stored
//! hashes of each page, then writing the page's hashes, id mappings, audit rows and cursor in one
//! batch. Prints wall times; run with `cargo run --release -p sync-core --example state_throughput`.
//!
//! Optional arguments: the record count (default 10000) and the page size (default 500).
//!
//! Both passes run twice: without a lease, and fenced by the object's lease as the engine
//! commits (each batch checks the fencing token in its transaction); then the time to acquire,
//! renew and release a lease.

use std::time::{Duration, Instant};

use sync_core::state::{FencingToken, LeaseHolder};

use sync_core::audit::{Method, NewAuditRow, TargetOperation};
use sync_core::{
    ContentHash, Cursor, IdMapping, ObjectKind, Outcome, RunId, SqliteStateStore, StateBatch,
    StateStore, TargetSystem,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let records: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let page_size: usize = args.next().map_or(Ok(500), |a| a.parse())?;

    let holder = LeaseHolder::this_process();
    // Each mode on a fresh database of its own, so the second does not pay for the first's rows.
    for fenced in [false, true] {
        let dir = tempfile::tempdir()?;
        let store = SqliteStateStore::open(dir.path().join("state.db")).await?;
        let lease = store
            .acquire_lease(ObjectKind::Customers, &holder, Duration::from_secs(600))
            .await?;
        let (mode, fence) = if fenced {
            ("fenced", Some(lease.token))
        } else {
            ("unfenced", None)
        };
        passes(&store, records, page_size, mode, fence).await?;
    }

    let dir = tempfile::tempdir()?;
    let store = SqliteStateStore::open(dir.path().join("state.db")).await?;
    let cycles = 200u32;
    let started = Instant::now();
    for _ in 0..cycles {
        let lease = store
            .acquire_lease(ObjectKind::Items, &holder, Duration::from_secs(60))
            .await?;
        store.renew_lease(&lease, Duration::from_secs(60)).await?;
        store.release_lease(&lease).await?;
    }
    println!(
        "lease acquire + renew + release: {:.2?} per cycle ({cycles} cycles)",
        started.elapsed() / cycles
    );
    Ok(())
}

async fn passes(
    store: &SqliteStateStore,
    records: usize,
    page_size: usize,
    mode: &str,
    fence: Option<FencingToken>,
) -> Result<(), Box<dyn std::error::Error>> {
    for pass in ["first run (all new)", "second run (no changes)"] {
        let run = RunId::new();
        let started = Instant::now();
        let mut writes = 0usize;
        for page_start in (0..records).step_by(page_size) {
            let keys: Vec<String> = (page_start..(page_start + page_size).min(records))
                .map(|i| format!("{mode}-C-{i:07}"))
                .collect();
            let known = store.hashes(ObjectKind::Members, &keys).await?;
            let mut batch = StateBatch::new();
            for key in &keys {
                let hash = ContentHash::of_bytes(key.as_bytes());
                let outcome = if known.get(key) == Some(&hash) {
                    Outcome::Unchanged
                } else {
                    writes += 1;
                    batch = batch
                        .put_hash(ObjectKind::Members, key.clone(), hash)
                        .map_id(IdMapping::new(
                            ObjectKind::Members,
                            key.clone(),
                            key.clone(),
                        ));
                    Outcome::Created
                };
                batch = batch.audit(
                    NewAuditRow::new(run, ObjectKind::Customers, key.clone(), outcome)
                        .operation(TargetOperation::new(
                            TargetSystem::Mailchimp,
                            Method::Post,
                            "/lists/l1",
                        ))
                        .payload(
                            serde_json::json!({"email_address": format!("{key}@northwind-mfg.com")}),
                        ),
                );
            }
            let last = keys.last().cloned();
            batch = batch.commit_cursor(Cursor::new(ObjectKind::Customers, None, last, Some(run)));
            if let Some(token) = fence {
                batch = batch.fenced(ObjectKind::Customers, token);
            }
            store.apply(batch).await?;
        }
        let elapsed = started.elapsed();
        println!(
            "{mode} {pass}: {records} records in pages of {page_size}: {elapsed:.2?} \
             ({:.0} records/s), {writes} would be written",
            records as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}
