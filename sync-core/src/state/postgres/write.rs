//! Writing a [`StateBatch`] inside one transaction: keyed changes go in one statement per table
//! (arrays unnested), audit rows one by one (each needs its id and may resolve others).

use std::collections::HashMap;
use std::hash::Hash;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};

use crate::audit::{AuditId, PendingAudit};
use crate::error::StateError;
use crate::model::normalize_email;
use crate::state::batch::{BatchReceipt, RetryMark, StateBatch};

/// Applies every change of `batch` inside `tx`, in the documented order.
pub(super) async fn apply_in(
    tx: &Transaction<'_>,
    pair: &str,
    batch: StateBatch,
) -> Result<BatchReceipt, StateError> {
    if let Some((key, seen_at)) = &batch.delivery {
        if !insert_delivery(tx, pair, key, *seen_at).await? {
            return Ok(BatchReceipt {
                duplicate_delivery: true,
                ..BatchReceipt::default()
            });
        }
    }
    let now = Utc::now();
    let now_us = now.timestamp_micros();

    if !batch.unmapped.is_empty() {
        let (kinds, keys): (Vec<&str>, Vec<&str>) = batch
            .unmapped
            .iter()
            .map(|(kind, key)| (kind.as_str(), key.as_str()))
            .unzip();
        exec(
            tx,
            "DELETE FROM id_map WHERE pair = $1
               AND (kind, source_key) IN (SELECT * FROM UNNEST($2::text[], $3::text[]))",
            &[&pair, &kinds, &keys],
        )
        .await?;
    }
    let mappings = last_wins(batch.mappings.iter().map(|m| {
        (
            (m.kind.as_str(), m.source_key.as_str()),
            m.target_id.as_str(),
        )
    }));
    if !mappings.is_empty() {
        let (keys, targets): (Vec<_>, Vec<&str>) = mappings.into_iter().unzip();
        let (kinds, sources): (Vec<&str>, Vec<&str>) = keys.into_iter().unzip();
        exec(
            tx,
            "INSERT INTO id_map (pair, kind, source_key, target_id, updated_at)
             SELECT $1, k, s, t, $5 FROM UNNEST($2::text[], $3::text[], $4::text[]) AS u (k, s, t)
             ON CONFLICT (pair, kind, source_key) DO UPDATE
             SET target_id = excluded.target_id, updated_at = excluded.updated_at",
            &[&pair, &kinds, &sources, &targets, &now_us],
        )
        .await?;
    }
    if !batch.forgotten_hashes.is_empty() {
        let (kinds, ids): (Vec<&str>, Vec<&str>) = batch
            .forgotten_hashes
            .iter()
            .map(|(kind, id)| (kind.as_str(), id.as_str()))
            .unzip();
        exec(
            tx,
            "DELETE FROM content_hashes WHERE pair = $1
               AND (kind, target_id) IN (SELECT * FROM UNNEST($2::text[], $3::text[]))",
            &[&pair, &kinds, &ids],
        )
        .await?;
    }
    let hashes = last_wins(
        batch
            .hashes
            .iter()
            .map(|(kind, id, hash)| ((kind.as_str(), id.as_str()), hash.as_str())),
    );
    if !hashes.is_empty() {
        let (keys, values): (Vec<_>, Vec<&str>) = hashes.into_iter().unzip();
        let (kinds, ids): (Vec<&str>, Vec<&str>) = keys.into_iter().unzip();
        exec(
            tx,
            "INSERT INTO content_hashes (pair, kind, target_id, hash, updated_at)
             SELECT $1, k, t, h, $5 FROM UNNEST($2::text[], $3::text[], $4::text[]) AS u (k, t, h)
             ON CONFLICT (pair, kind, target_id) DO UPDATE
             SET hash = excluded.hash, updated_at = excluded.updated_at",
            &[&pair, &kinds, &ids, &values, &now_us],
        )
        .await?;
    }
    let statuses = last_wins(batch.member_statuses.iter().map(|r| {
        (
            normalize_email(&r.email),
            (
                r.status.as_str(),
                r.reason.as_deref(),
                r.recorded_at.timestamp_micros(),
            ),
        )
    }));
    if !statuses.is_empty() {
        let mut emails = Vec::with_capacity(statuses.len());
        let mut values = Vec::with_capacity(statuses.len());
        let mut reasons = Vec::with_capacity(statuses.len());
        let mut times = Vec::with_capacity(statuses.len());
        for (email, (status, reason, at)) in statuses {
            emails.push(email);
            values.push(status);
            reasons.push(reason);
            times.push(at);
        }
        exec(
            tx,
            "INSERT INTO member_statuses (pair, email, status, reason, recorded_at)
             SELECT $1, e, s, r, t
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[]) AS u (e, s, r, t)
             ON CONFLICT (pair, email) DO UPDATE
             SET status = excluded.status, reason = excluded.reason,
                 recorded_at = excluded.recorded_at",
            &[&pair, &emails, &values, &reasons, &times],
        )
        .await?;
    }
    let intents = last_wins(
        batch
            .intents
            .iter()
            .map(|(email, status)| (normalize_email(email), status.as_str())),
    );
    if !intents.is_empty() {
        let (emails, values): (Vec<String>, Vec<&str>) = intents.into_iter().unzip();
        exec(
            tx,
            "INSERT INTO member_intents (pair, email, status, recorded_at)
             SELECT $1, e, s, $4 FROM UNNEST($2::text[], $3::text[]) AS u (e, s)
             ON CONFLICT (pair, email) DO UPDATE
             SET status = excluded.status, recorded_at = excluded.recorded_at",
            &[&pair, &emails, &values, &now_us],
        )
        .await?;
    }
    let mut receipt = BatchReceipt::default();
    if batch.audit.iter().any(|a| a.row.replay_of.is_some()) {
        // A replay may name a row of this very batch: one by one, each sees the rows before.
        for row in batch.audit {
            let (id, resolved) = insert_audit(tx, pair, row, now).await?;
            receipt.audit_ids.push(id);
            receipt.resolved.extend(resolved);
        }
    } else if !batch.audit.is_empty() {
        (receipt.audit_ids, receipt.resolved) =
            insert_audit_page(tx, pair, batch.audit, now).await?;
    }
    for mark in &batch.retries {
        mark_retried(tx, pair, mark, now, &mut receipt).await?;
    }
    for c in &batch.cursors {
        exec(
            tx,
            "INSERT INTO cursors (pair, object, last_modified, last_key, run_id, committed_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (pair, object) DO UPDATE
             SET last_modified = excluded.last_modified, last_key = excluded.last_key,
                 run_id = excluded.run_id, committed_at = excluded.committed_at",
            &[
                &pair,
                &c.object.as_str(),
                &c.last_modified.map(|t| t.timestamp_micros()),
                &c.last_key,
                &c.run_id.map(|r| r.to_string()),
                &c.committed_at.timestamp_micros(),
            ],
        )
        .await?;
    }
    for (run_id, n) in &batch.unchanged {
        let n = i64::try_from(*n).unwrap_or(i64::MAX);
        exec(
            tx,
            "UPDATE runs SET unchanged = unchanged + $3 WHERE pair = $1 AND id = $2",
            &[&pair, &run_id.to_string(), &n],
        )
        .await?;
    }
    Ok(receipt)
}

/// The entries with distinct keys, each with its last value, in the order of their last
/// occurrence: one `INSERT … ON CONFLICT DO UPDATE` may not touch a row twice.
fn last_wins<K: Eq + Hash + Clone, V>(entries: impl Iterator<Item = (K, V)>) -> Vec<(K, V)> {
    let entries: Vec<(K, V)> = entries.collect();
    let mut last: HashMap<K, usize> = HashMap::with_capacity(entries.len());
    for (i, (key, _)) in entries.iter().enumerate() {
        last.insert(key.clone(), i);
    }
    entries
        .into_iter()
        .enumerate()
        .filter(|(i, (key, _))| last.get(key) == Some(i))
        .map(|(_, entry)| entry)
        .collect()
}

/// Runs one cached statement.
async fn exec(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, StateError> {
    let stmt = client.prepare_cached(sql).await?;
    Ok(client.execute(&stmt, params).await?)
}

/// Records a webhook delivery key; `false` when `pair` had seen it already.
pub(super) async fn insert_delivery(
    client: &impl GenericClient,
    pair: &str,
    key: &str,
    seen_at: DateTime<Utc>,
) -> Result<bool, StateError> {
    let inserted = exec(
        client,
        "INSERT INTO webhook_deliveries (pair, key, seen_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        &[&pair, &key, &seen_at.timestamp_micros()],
    )
    .await?;
    Ok(inserted == 1)
}

/// Inserts a page of audit rows without replays in one statement, then lets each successful row
/// with a target supersede the earlier queued rows of its target in one more: the same outcome
/// as [`insert_audit`] row by row (each queued row is resolved by the first later success of its
/// target), without a round trip per row. Returns the new ids in order and the rows resolved.
async fn insert_audit_page(
    tx: &Transaction<'_>,
    pair: &str,
    rows: Vec<PendingAudit>,
    now: DateTime<Utc>,
) -> Result<(Vec<AuditId>, Vec<AuditId>), StateError> {
    let n = rows.len();
    let mut runs = Vec::with_capacity(n);
    let mut objects = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut systems = Vec::with_capacity(n);
    let mut methods = Vec::with_capacity(n);
    let mut paths = Vec::with_capacity(n);
    let mut payloads = Vec::with_capacity(n);
    let mut outcomes = Vec::with_capacity(n);
    let mut errors = Vec::with_capacity(n);
    let mut attempts = Vec::with_capacity(n);
    let mut started = Vec::with_capacity(n);
    let mut finished = Vec::with_capacity(n);
    let mut targets = Vec::with_capacity(n);
    for mut pending in rows {
        payloads.push(pending.payload_text()?);
        let mut row = pending.row;
        let op = row.operation.take();
        systems.push(op.as_ref().map(|o| o.system.as_str()));
        methods.push(op.as_ref().map(|o| o.method.as_str()));
        paths.push(op.map(|o| o.path));
        runs.push(row.run_id.to_string());
        objects.push(row.object.as_str());
        keys.push(row.source_key);
        outcomes.push(row.outcome);
        errors.push(row.error);
        attempts.push(i64::from(row.attempts));
        started.push(row.started_at.timestamp_micros());
        finished.push(row.finished_at.timestamp_micros());
        targets.push(row.target.map(|t| t.as_str()));
    }
    let outcome_names: Vec<&str> = outcomes.iter().map(|o| o.as_str()).collect();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO audit (pair, run_id, object, source_key, system, method, path, payload,
                                outcome, error, attempts, started_at, finished_at, target)
             SELECT $1, r, o, k, s, m, p, pl, oc, e, a, st, fi, t
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[],
                         $13::bigint[], $14::text[])
                  WITH ORDINALITY AS u (r, o, k, s, m, p, pl, oc, e, a, st, fi, t, ord)
             ORDER BY ord
             RETURNING id",
        )
        .await?;
    let inserted = tx
        .query(
            &stmt,
            &[
                &pair,
                &runs,
                &objects,
                &keys,
                &systems,
                &methods,
                &paths,
                &payloads,
                &outcome_names,
                &errors,
                &attempts,
                &started,
                &finished,
                &targets,
            ],
        )
        .await?;
    // Identity values are drawn in insertion order, which is the page's order; RETURNING's own
    // order is not promised, so sort.
    let mut ids = inserted
        .iter()
        .map(|r| r.try_get::<_, i64>(0))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();

    let mut success = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, outcome) in outcomes.iter().enumerate() {
        if let (true, Some(target)) = (outcome.is_success(), targets[i]) {
            success.0.push(ids[i]);
            success.1.push(objects[i]);
            success.2.push(keys[i].as_str());
            success.3.push(target);
        }
    }
    let mut resolved = Vec::new();
    if !success.0.is_empty() {
        let stmt = tx
            .prepare_cached(
                "UPDATE audit a SET resolved_by = s.by, resolved_at = $2
                 FROM (
                     SELECT DISTINCT ON (q.id) q.id AS queued, n.id AS by
                     FROM audit q
                     JOIN UNNEST($3::bigint[], $4::text[], $5::text[], $6::text[])
                          AS n (id, object, source_key, target)
                       ON q.object = n.object AND q.source_key = n.source_key
                      AND q.target = n.target AND q.id < n.id
                     WHERE q.pair = $1 AND q.replay_of IS NULL AND q.resolved_by IS NULL
                       AND q.outcome IN ('failed', 'deferred')
                     ORDER BY q.id, n.id
                 ) s
                 WHERE a.pair = $1 AND a.id = s.queued
                 RETURNING s.by, a.id",
            )
            .await?;
        let rows = tx
            .query(
                &stmt,
                &[
                    &pair,
                    &now.timestamp_micros(),
                    &success.0,
                    &success.1,
                    &success.2,
                    &success.3,
                ],
            )
            .await?;
        let mut pairs = rows
            .iter()
            .map(|r| Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, i64>(1)?)))
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
        // As row by row: by resolving row, then by id.
        pairs.sort_unstable();
        resolved = pairs.into_iter().map(|(_, id)| AuditId::new(id)).collect();
    }
    Ok((ids.into_iter().map(AuditId::new).collect(), resolved))
}

/// Inserts one audit row; a successful replay also resolves its original, and a successful row
/// with a target supersedes the earlier queued rows of the same target. Returns the new id and
/// the rows it resolved.
async fn insert_audit(
    tx: &Transaction<'_>,
    pair: &str,
    mut pending: PendingAudit,
    now: DateTime<Utc>,
) -> Result<(AuditId, Vec<AuditId>), StateError> {
    let payload = pending.payload_text()?;
    let mut row = pending.row;
    if let Some(original) = row.replay_of {
        // Follow a replay of a replay to the original, so the queue has one entry per record.
        let stmt = tx
            .prepare_cached("SELECT replay_of FROM audit WHERE pair = $1 AND id = $2")
            .await?;
        let root = tx.query_opt(&stmt, &[&pair, &original.get()]).await?;
        match root.map(|r| r.try_get::<_, Option<i64>>(0)).transpose()? {
            None => {
                return Err(StateError::NotFound {
                    what: "audit row",
                    id: original.to_string(),
                })
            }
            Some(Some(root)) => row.replay_of = Some(AuditId::new(root)),
            Some(None) => {}
        }
    }
    let op = row.operation.as_ref();
    let stmt = tx
        .prepare_cached(
            "INSERT INTO audit (pair, run_id, object, source_key, system, method, path, payload,
                                outcome, error, attempts, started_at, finished_at, replay_of,
                                target)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             RETURNING id",
        )
        .await?;
    let inserted = tx
        .query_one(
            &stmt,
            &[
                &pair,
                &row.run_id.to_string(),
                &row.object.as_str(),
                &row.source_key,
                &op.map(|o| o.system.as_str()),
                &op.map(|o| o.method.as_str()),
                &op.map(|o| o.path.as_str()),
                &payload,
                &row.outcome.as_str(),
                &row.error,
                &i64::from(row.attempts),
                &row.started_at.timestamp_micros(),
                &row.finished_at.timestamp_micros(),
                &row.replay_of.map(|r| r.get()),
                &row.target.map(|t| t.as_str()),
            ],
        )
        .await?;
    let id = AuditId::new(inserted.try_get(0)?);
    let mut resolved = Vec::new();
    if row.outcome.is_success() {
        if let Some(original) = row.replay_of {
            if resolve(tx, pair, original, id, now).await? {
                resolved.push(original);
            }
        }
        if let Some(target) = row.target {
            let stmt = tx
                .prepare_cached(
                    "UPDATE audit SET resolved_by = $2, resolved_at = $3
                     WHERE pair = $1 AND object = $4 AND source_key = $5 AND target = $6
                       AND id < $2 AND replay_of IS NULL AND resolved_by IS NULL
                       AND outcome IN ('failed', 'deferred')
                     RETURNING id",
                )
                .await?;
            let superseded = tx
                .query(
                    &stmt,
                    &[
                        &pair,
                        &id.get(),
                        &now.timestamp_micros(),
                        &row.object.as_str(),
                        &row.source_key,
                        &target.as_str(),
                    ],
                )
                .await?;
            let mut ids = superseded
                .iter()
                .map(|r| r.try_get::<_, i64>(0).map(AuditId::new))
                .collect::<Result<Vec<_>, _>>()?;
            // RETURNING has no order; SQLite's follows the rowid.
            ids.sort();
            resolved.extend(ids);
        }
    }
    Ok((id, resolved))
}

/// Counts one automatic retry against the queued rows `mark` names.
async fn mark_retried(
    tx: &Transaction<'_>,
    pair: &str,
    mark: &RetryMark,
    now: DateTime<Utc>,
    receipt: &mut BatchReceipt,
) -> Result<(), StateError> {
    let select = tx
        .prepare_cached(
            "SELECT retries FROM audit
             WHERE pair = $1 AND id = $2 AND replay_of IS NULL AND resolved_by IS NULL
               AND dead_at IS NULL AND outcome IN ('failed', 'deferred')",
        )
        .await?;
    let update = tx
        .prepare_cached(
            "UPDATE audit SET retries = $3, retry_after = $4, dead_at = $5
             WHERE pair = $1 AND id = $2",
        )
        .await?;
    for id in &mark.rows {
        let Some(found) = tx.query_opt(&select, &[&pair, &id.get()]).await? else {
            continue;
        };
        let retries = u32::try_from(found.try_get::<_, i64>(0)?)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let dead = mark.give_up || retries >= mark.policy.max_retries;
        let wait = chrono::Duration::from_std(mark.policy.delay_after(retries))
            .unwrap_or(chrono::Duration::MAX);
        let next = now
            .checked_add_signed(wait)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        tx.execute(
            &update,
            &[
                &pair,
                &id.get(),
                &i64::from(retries),
                &next.timestamp_micros(),
                &dead.then(|| now.timestamp_micros()),
            ],
        )
        .await?;
        if dead {
            receipt.dead.push(*id);
        } else {
            receipt.requeued.push(*id);
        }
    }
    Ok(())
}

/// Marks `original` resolved by `by` unless it already is; returns whether it changed.
pub(super) async fn resolve(
    tx: &Transaction<'_>,
    pair: &str,
    original: AuditId,
    by: AuditId,
    at: DateTime<Utc>,
) -> Result<bool, StateError> {
    let changed = exec(
        tx,
        "UPDATE audit SET resolved_by = $3, resolved_at = $4
         WHERE pair = $1 AND id = $2 AND resolved_by IS NULL",
        &[&pair, &original.get(), &by.get(), &at.timestamp_micros()],
    )
    .await?;
    Ok(changed == 1)
}

pub(super) async fn audit_exists(
    tx: &Transaction<'_>,
    pair: &str,
    id: AuditId,
) -> Result<bool, StateError> {
    let stmt = tx
        .prepare_cached("SELECT 1 FROM audit WHERE pair = $1 AND id = $2")
        .await?;
    Ok(tx.query_opt(&stmt, &[&pair, &id.get()]).await?.is_some())
}
