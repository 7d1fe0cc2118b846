//! The reader half of the pipeline: QAD pages into a bounded channel, so reading the next page
//! overlaps writing the current one and at most `read_ahead_pages` pages wait in memory.

use chrono::NaiveDate;
use qad_client::{FilterOp, Reader, Record};
use tokio::sync::mpsc;

use crate::mapping::SourceFields;
use crate::report::CallLog;

/// One source record as the planner sees it.
#[derive(Debug, Clone)]
pub(crate) struct SourceRecord {
    /// The record's key (customer code, item code).
    pub key: String,
    /// Its fields by QAD name.
    pub fields: SourceFields,
    /// Its modification date.
    pub modified: Option<NaiveDate>,
}

/// One page of source records.
#[derive(Debug, Clone)]
pub(crate) struct SourcePage {
    pub records: Vec<SourceRecord>,
}

impl SourcePage {
    pub(crate) fn last_key(&self) -> Option<&str> {
        self.records.last().map(|r| r.key.as_str())
    }

    pub(crate) fn max_modified(&self) -> Option<NaiveDate> {
        self.records.iter().filter_map(|r| r.modified).max()
    }
}

/// Where to read from.
#[derive(Debug, Clone)]
pub(crate) struct ReadPlan {
    /// Only records modified on or after this date (minus the client's overlap window).
    pub since: Option<NaiveDate>,
    /// Only records whose key sorts after this one (resuming an interrupted run).
    pub after_key: Option<String>,
    /// The typed key field, for the resume filter.
    pub key_field: &'static str,
    pub page_size: u32,
}

/// Reads every page of `reader` under `plan` into `tx`, until the last page, the first error,
/// or the receiver going away.
pub(crate) async fn read_pages<T>(
    reader: Reader<T>,
    plan: ReadPlan,
    tx: mpsc::Sender<qad_client::Result<SourcePage>>,
    calls: CallLog,
) where
    T: Record + serde::Serialize,
{
    let mut reader = reader.count(plan.page_size);
    if let Some(since) = plan.since {
        reader = reader.modified_since(since);
    }
    if let Some(after) = &plan.after_key {
        reader = reader.filter(plan.key_field, FilterOp::Gt, after.clone());
    }
    let mut offset = 0u64;
    loop {
        calls.count("qad browse_page");
        let page = match reader.clone().offset(offset).send().await {
            Ok(page) => page,
            Err(err) => {
                let _ = tx.send(Err(err)).await;
                return;
            }
        };
        let next = page.next_offset();
        let records = page
            .items
            .into_iter()
            .map(|record| SourceRecord {
                key: record.key(),
                modified: record.stamp().date,
                fields: SourceFields::of(&record),
            })
            .collect();
        if tx.send(Ok(SourcePage { records })).await.is_err() {
            return;
        }
        match next {
            Some(n) => offset = n,
            None => return,
        }
    }
}

/// Reads the current records of `keys` (one browse filtered on the key each, `concurrency` at
/// a time), in key order; keys QAD no longer has are absent.
pub(crate) async fn read_keys<T>(
    reader: Reader<T>,
    key_field: &'static str,
    keys: Vec<String>,
    concurrency: usize,
    calls: CallLog,
) -> qad_client::Result<Vec<SourceRecord>>
where
    T: Record + serde::Serialize,
{
    use futures::stream::{self, StreamExt, TryStreamExt};
    let pages: Vec<Vec<SourceRecord>> = stream::iter(keys)
        .map(|key| {
            let reader = reader
                .clone()
                .count(1)
                .filter(key_field, FilterOp::Eq, key.clone());
            let calls = calls.clone();
            async move {
                calls.count("qad read_by_key");
                let page = reader.send().await?;
                Ok::<_, qad_client::Error>(
                    page.items
                        .into_iter()
                        .filter(|record| record.key() == key)
                        .map(|record| SourceRecord {
                            key: record.key(),
                            modified: record.stamp().date,
                            fields: SourceFields::of(&record),
                        })
                        .collect(),
                )
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let mut records: Vec<SourceRecord> = pages.into_iter().flatten().collect();
    records.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(records)
}
