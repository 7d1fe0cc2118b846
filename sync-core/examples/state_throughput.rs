//! Measures the state stores on the work of a 10,000-customer sync: reading the stored hashes of
//! each page, then writing the page's hashes, id mappings, audit rows and cursor in one batch.
//! Prints wall times; run with `cargo run --release -p sync-core --example state_throughput`.
//!
//! Optional arguments: the record count (default 10000) and the page size (default 500).
//!
//! Both passes run twice: without a lease, and fenced by the object's lease as the engine
//! commits (each batch checks the fencing token in its transaction); then the time to acquire,
//! renew and release a lease. SQLite always; PostgreSQL too when
//! `ML_CONNECTOR_TEST_POSTGRES_URL` is set, each mode as a fresh tenant pair, and then 1, 2, 4
//! and 8 pairs writing at once (the records split between them) to show pairs writing in
//! parallel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sync_core::state::{FencingToken, LeaseHolder, PostgresOptions, PostgresStateStore};

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

    println!("== SQLite");
    // Each mode on a fresh database of its own, so the second does not pay for the first's rows.
    for fenced in [false, true] {
        let dir = tempfile::tempdir()?;
        let store = SqliteStateStore::open(dir.path().join("state.db")).await?;
        fenced_passes(&store, records, page_size, fenced).await?;
    }
    let dir = tempfile::tempdir()?;
    lease_cycles(&SqliteStateStore::open(dir.path().join("state.db")).await?).await?;

    let Some(url) = std::env::var("ML_CONNECTOR_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!("== PostgreSQL skipped: ML_CONNECTOR_TEST_POSTGRES_URL unset");
        return Ok(());
    };
    println!("== PostgreSQL");
    let run_tag = uuid::Uuid::new_v4().simple().to_string();
    let base = PostgresStateStore::connect_with(
        &url,
        &format!("bench-{run_tag}"),
        PostgresOptions::new().max_connections(8),
    )
    .await?;
    for fenced in [false, true] {
        let store = base.for_pair(&format!("bench-{run_tag}-{fenced}"))?;
        fenced_passes(&store, records, page_size, fenced).await?;
    }
    lease_cycles(&base.for_pair(&format!("bench-{run_tag}-leases"))?).await?;
    for pairs in [1usize, 2, 4, 8] {
        let started = Instant::now();
        let tasks: Vec<_> = (0..pairs)
            .map(|p| {
                let store: Arc<dyn StateStore> =
                    Arc::new(base.for_pair(&format!("bench-{run_tag}-par{pairs}-{p}"))?);
                Ok(tokio::spawn(async move {
                    first_pass(&*store, records / pairs, page_size, "par")
                        .await
                        .map_err(|e| e.to_string())
                }))
            })
            .collect::<Result<_, sync_core::SyncError>>()?;
        for task in tasks {
            task.await??;
        }
        let elapsed = started.elapsed();
        println!(
            "{pairs} pair(s) at once, {} records each: {elapsed:.2?} ({:.0} records/s in total)",
            records / pairs,
            (records / pairs * pairs) as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}

async fn fenced_passes(
    store: &dyn StateStore,
    records: usize,
    page_size: usize,
    fenced: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let lease = store
        .acquire_lease(
            ObjectKind::Customers,
            &LeaseHolder::this_process(),
            Duration::from_secs(600),
        )
        .await?;
    let (mode, fence) = if fenced {
        ("fenced", Some(lease.token))
    } else {
        ("unfenced", None)
    };
    passes(store, records, page_size, mode, fence).await
}

async fn lease_cycles(store: &dyn StateStore) -> Result<(), Box<dyn std::error::Error>> {
    let holder = LeaseHolder::this_process();
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

/// One run over all-new records, unfenced.
async fn first_pass(
    store: &dyn StateStore,
    records: usize,
    page_size: usize,
    mode: &str,
) -> Result<usize, Box<dyn std::error::Error>> {
    one_pass(store, records, page_size, mode, None, RunId::new()).await
}

async fn passes(
    store: &dyn StateStore,
    records: usize,
    page_size: usize,
    mode: &str,
    fence: Option<FencingToken>,
) -> Result<(), Box<dyn std::error::Error>> {
    for pass in ["first run (all new)", "second run (no changes)"] {
        let started = Instant::now();
        let writes = one_pass(store, records, page_size, mode, fence, RunId::new()).await?;
        let elapsed = started.elapsed();
        println!(
            "{mode} {pass}: {records} records in pages of {page_size}: {elapsed:.2?} \
             ({:.0} records/s), {writes} would be written",
            records as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}

/// Reads each page's hashes and commits the page; returns how many records were new or changed.
async fn one_pass(
    store: &dyn StateStore,
    records: usize,
    page_size: usize,
    mode: &str,
    fence: Option<FencingToken>,
    run: RunId,
) -> Result<usize, Box<dyn std::error::Error>> {
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
    Ok(writes)
}
