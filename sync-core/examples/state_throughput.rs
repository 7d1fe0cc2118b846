//! Measures the SQLite state store on the work of a 10,000-customer sync: reading the stored
//! hashes of each page, then writing the page's hashes, id mappings, audit rows and cursor in one
//! batch. Prints wall times; run with `cargo run --release -p sync-core --example state_throughput`.
//!
//! Optional arguments: the record count (default 10000) and the page size (default 500).

use std::time::Instant;

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

    let dir = tempfile::tempdir()?;
    let store = SqliteStateStore::open(dir.path().join("state.db")).await?;

    for pass in ["first run (all new)", "second run (no changes)"] {
        let run = RunId::new();
        let started = Instant::now();
        let mut writes = 0usize;
        for page_start in (0..records).step_by(page_size) {
            let keys: Vec<String> = (page_start..(page_start + page_size).min(records))
                .map(|i| format!("C-{i:07}"))
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
            store.apply(batch).await?;
        }
        let elapsed = started.elapsed();
        println!(
            "{pass}: {records} records in pages of {page_size}: {elapsed:.2?} \
             ({:.0} records/s), {writes} would be written",
            records as f64 / elapsed.as_secs_f64()
        );
    }
    Ok(())
}
