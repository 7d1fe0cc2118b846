//! The reader half of the pipeline: QAD pages into a bounded channel, so reading the next page
//! overlaps writing the current one and at most `read_ahead_pages` pages wait in memory.

use chrono::NaiveDate;
use futures::StreamExt;
use std::sync::{Arc, OnceLock};

use qad_client::{CountEndpoint, FilterOp, KeyOrder, Reader, Record};
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
    /// The key an interrupted run may resume after: the page's last key while every key of the
    /// read came in key order and the client is configured to rely on it (`order.key = "key"`),
    /// else `None`, so a resumed run starts from the date watermark and hashes skip what was
    /// written.
    pub resume_key: Option<String>,
}

impl SourcePage {
    pub(crate) fn last_key(&self) -> Option<&str> {
        self.resume_key.as_deref()
    }

    pub(crate) fn max_modified(&self) -> Option<NaiveDate> {
        self.records.iter().filter_map(|r| r.modified).max()
    }

    /// The page without the records of `keys`.
    pub(crate) fn without(&self, keys: &std::collections::BTreeSet<String>) -> Self {
        Self {
            records: self
                .records
                .iter()
                .filter(|r| !keys.contains(&r.key))
                .cloned()
                .collect(),
            resume_key: self.resume_key.clone(),
        }
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
    /// Where to put how many records the read will bring, when the caller wants it (asked of
    /// QAD once, before the first page; see [`expected_total`]).
    pub total: Option<Arc<OnceLock<u64>>>,
}

/// Reads every page of `reader` under `plan` into `tx`, until the last page, the first error,
/// or the receiver going away.
///
/// The client checks every page (overlap, short pages, other domains: typed errors). Resuming
/// after a key needs key order: with `order.key = "any"` the resume key is ignored, and when a
/// resumed read finds keys out of order it starts again without it (the rows before the key
/// may not have been read), with a warning.
pub(crate) async fn read_pages<T>(
    reader: Reader<T>,
    plan: ReadPlan,
    tx: mpsc::Sender<qad_client::Result<SourcePage>>,
    calls: CallLog,
) where
    T: Record + serde::Serialize,
{
    let by_key = reader.behaviour().key_order == KeyOrder::Key;
    let mut base = reader.count(plan.page_size);
    if let Some(since) = plan.since {
        base = base.modified_since(since);
    }
    let mut after = plan.after_key.filter(|_| by_key);
    let mut total = plan.total;
    loop {
        let mut reader = base.clone();
        if let Some(after) = &after {
            reader = reader.filter(plan.key_field, FilterOp::Gt, after.clone());
        }
        if let Some(slot) = total.take() {
            expected_total(&reader, &slot, &calls).await;
        }
        let mut pages = reader.into_pages();
        let mut restart = false;
        loop {
            let Some(next) = pages.next().await else {
                break;
            };
            calls.count("qad browse_page");
            let page = match next {
                Ok(page) => page,
                Err(err) => {
                    let _ = tx.send(Err(err)).await;
                    return;
                }
            };
            if !page.in_key_order() && after.is_some() {
                tracing::warn!(
                    after = after.as_deref().unwrap_or_default(),
                    "QAD keys arrive out of key order: resuming after the last key could skip rows, \
                     so the read starts again from the date watermark"
                );
                restart = true;
                break;
            }
            let resume_key = (by_key && page.in_key_order())
                .then(|| page.items.last().map(Record::key))
                .flatten();
            let records = page
                .items
                .into_iter()
                .map(|record| SourceRecord {
                    key: record.key(),
                    modified: record.stamp().date,
                    fields: SourceFields::of(&record),
                })
                .collect();
            if tx
                .send(Ok(SourcePage {
                    records,
                    resume_key,
                }))
                .await
                .is_err()
            {
                return;
            }
        }
        if !restart {
            return;
        }
        after = None;
    }
}

/// Asks QAD once how many records `reader` will bring and keeps the answer in `slot`. A count
/// is a nicety for progress displays: no answer, or a failed call, leaves `slot` empty and the
/// read goes on (the client logs why once).
async fn expected_total<T: Record>(reader: &Reader<T>, slot: &OnceLock<u64>, calls: &CallLog) {
    if reader.behaviour().count_endpoint == CountEndpoint::None {
        return;
    }
    calls.count("qad browse_count");
    match reader.total().await {
        Ok(Some(total)) => {
            let _ = slot.set(total);
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(
            error = %err,
            "asking QAD how many records the read brings failed; progress shows no total"
        ),
    }
}

/// Reads the current records of `keys` (one browse filtered on the key each, `concurrency` at
/// a time), in key order; keys QAD no longer has are absent. Any failed read fails the whole.
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
    let read = read_each_key(reader, key_field, keys, concurrency, calls).await;
    match read.unread.into_iter().next() {
        Some((_, err)) => Err(err),
        None => Ok(read.records),
    }
}

/// What [`read_each_key`] read: the records found, in key order, and the keys whose read
/// failed, with why (a key QAD no longer has is in neither).
pub(crate) struct ByKey {
    pub records: Vec<SourceRecord>,
    pub unread: Vec<(String, qad_client::Error)>,
}

/// [`read_keys`], keeping what was read when some reads fail.
pub(crate) async fn read_each_key<T>(
    reader: Reader<T>,
    key_field: &'static str,
    keys: Vec<String>,
    concurrency: usize,
    calls: CallLog,
) -> ByKey
where
    T: Record + serde::Serialize,
{
    use futures::stream;
    let reads: Vec<(String, qad_client::Result<Vec<SourceRecord>>)> = stream::iter(keys)
        .map(|key| {
            let reader = reader
                .clone()
                .count(1)
                .filter(key_field, FilterOp::Eq, key.clone());
            let calls = calls.clone();
            async move {
                calls.count("qad read_by_key");
                let read = reader.send().await.map(|page| {
                    page.items
                        .into_iter()
                        .filter(|record| record.key() == key)
                        .map(|record| SourceRecord {
                            key: record.key(),
                            modified: record.stamp().date,
                            fields: SourceFields::of(&record),
                        })
                        .collect()
                });
                (key, read)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut by_key = ByKey {
        records: Vec::new(),
        unread: Vec::new(),
    };
    for (key, read) in reads {
        match read {
            Ok(records) => by_key.records.extend(records),
            Err(err) => by_key.unread.push((key, err)),
        }
    }
    by_key.records.sort_by(|a, b| a.key.cmp(&b.key));
    by_key.unread.sort_by(|a, b| a.0.cmp(&b.0));
    by_key
}
