//! Retention for the PostgreSQL store: the same rules as the SQLite store's, for one pair.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;

use crate::error::StateError;

/// Deletes up to `limit` audit rows of `pair` that retention may delete and that no surviving
/// row points at; returns how many, and whether the limit was reached.
///
/// Prunable: finished before `before`; if resolved, resolved before it too; not queued (a failed
/// or deferred original that is unresolved, dead ones included); not a failed or deferred
/// replay of a row still queued. Oldest first.
pub(super) async fn audit(
    tx: &Transaction<'_>,
    pair: &str,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<(u64, bool), StateError> {
    let before = before.timestamp_micros();
    let rows = tx
        .query(
            "SELECT id, replay_of, resolved_by FROM audit AS a
             WHERE pair = $1 AND finished_at < $2
               AND (resolved_at IS NULL OR resolved_at < $2)
               AND NOT (outcome IN ('failed', 'deferred') AND replay_of IS NULL
                        AND resolved_by IS NULL)
               AND NOT (outcome IN ('failed', 'deferred') AND replay_of IS NOT NULL
                        AND EXISTS (SELECT 1 FROM audit AS o
                                    WHERE o.pair = a.pair AND o.id = a.replay_of
                                      AND o.resolved_by IS NULL))
             ORDER BY finished_at LIMIT $3",
            &[&pair, &before, &i64::from(limit)],
        )
        .await?;
    // (from, to): `from` points at `to` through replay_of or resolved_by.
    let mut edges: Vec<(i64, i64)> = Vec::new();
    let mut doomed: HashSet<i64> = HashSet::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get(0)?;
        doomed.insert(id);
        for to in [row.try_get::<_, Option<i64>>(1)?, row.try_get(2)?]
            .into_iter()
            .flatten()
        {
            edges.push((id, to));
        }
    }
    let full = rows.len() as u64 >= u64::from(limit);
    let ids: Vec<i64> = doomed.iter().copied().collect();
    let pointing = tx
        .query(
            "SELECT id, replay_of FROM audit WHERE pair = $1 AND replay_of = ANY($2)
             UNION ALL
             SELECT id, resolved_by FROM audit WHERE pair = $1 AND resolved_by = ANY($2)",
            &[&pair, &ids],
        )
        .await?;
    for row in &pointing {
        edges.push((row.try_get(0)?, row.try_get(1)?));
    }
    // A row pointed at by a row that stays, stays; which may keep the rows it points at.
    loop {
        let kept: Vec<i64> = edges
            .iter()
            .filter(|(from, to)| doomed.contains(to) && !doomed.contains(from))
            .map(|(_, to)| *to)
            .collect();
        if kept.is_empty() {
            break;
        }
        for id in kept {
            doomed.remove(&id);
        }
    }
    if doomed.is_empty() {
        return Ok((0, full));
    }
    let ids: Vec<i64> = doomed.into_iter().collect();
    // Rows of one prune may point at each other: clear the links first, then delete.
    tx.execute(
        "UPDATE audit SET replay_of = NULL, resolved_by = NULL
         WHERE pair = $1 AND id = ANY($2) AND (replay_of IS NOT NULL OR resolved_by IS NOT NULL)",
        &[&pair, &ids],
    )
    .await?;
    let deleted = tx
        .execute(
            "DELETE FROM audit WHERE pair = $1 AND id = ANY($2)",
            &[&pair, &ids],
        )
        .await?;
    Ok((deleted, full))
}

/// Deletes up to `limit` runs of `pair` that finished before `before` and have no audit row
/// left; returns how many, and whether the limit was reached.
pub(super) async fn runs(
    tx: &Transaction<'_>,
    pair: &str,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<(u64, bool), StateError> {
    let deleted = tx
        .execute(
            "DELETE FROM runs WHERE pair = $1 AND id IN (
                 SELECT id FROM runs AS r
                 WHERE r.pair = $1 AND r.finished_at < $2
                   AND NOT EXISTS (SELECT 1 FROM audit
                                   WHERE audit.pair = r.pair AND audit.run_id = r.id)
                 ORDER BY r.finished_at LIMIT $3)",
            &[&pair, &before.timestamp_micros(), &i64::from(limit)],
        )
        .await?;
    Ok((deleted, deleted >= u64::from(limit)))
}
