//! Reading rows back: audit rows, runs, leases, and the decoding of stored values.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::audit::{
    AuditId, AuditRow, Method, NewAuditRow, OutcomeCounts, Resolution, RetryState, RunRecord,
    RunStart, TargetOperation,
};
use crate::error::StateError;
use crate::model::{MemberStatusRecord, ObjectKind, Outcome, RunId, RunTrigger};
use crate::state::lease::{FencingToken, Lease, LeaseHolder};

/// The `WHERE` clauses of an audit query with their bound values; `$1` is always the pair.
pub(super) struct AuditFilter {
    clauses: Vec<String>,
    values: Vec<Box<dyn ToSql + Sync + Send>>,
    /// Rows newest first (by id, descending).
    pub(super) newest_first: bool,
}

impl AuditFilter {
    /// Every row of `pair`.
    pub(super) fn new(pair: &str) -> Self {
        Self {
            clauses: vec!["pair = $1".to_owned()],
            values: vec![Box::new(pair.to_owned())],
            newest_first: false,
        }
    }

    /// The queued rows of `pair`: failed or deferred, not replays, unresolved.
    pub(super) fn queued(pair: &str) -> Self {
        let mut filter = Self::new(pair);
        filter.raw("outcome IN ('failed', 'deferred')");
        filter.raw("replay_of IS NULL");
        filter.raw("resolved_by IS NULL");
        filter
    }

    /// A clause without a value.
    pub(super) fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_owned());
    }

    /// A clause with one value; `clause` is given the value's placeholder number.
    pub(super) fn bind(
        &mut self,
        clause: impl FnOnce(usize) -> String,
        value: impl ToSql + Sync + Send + 'static,
    ) {
        self.values.push(Box::new(value));
        self.clauses.push(clause(self.values.len()));
    }
}

/// Selects the audit rows `filter` matches, in id order, at most `limit` (all when `None`).
pub(super) async fn select_audit(
    client: &impl GenericClient,
    filter: AuditFilter,
    limit: Option<u32>,
) -> Result<Vec<AuditRow>, StateError> {
    let limit = limit.map(|l| format!("LIMIT {l}")).unwrap_or_default();
    let order = if filter.newest_first { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT id, run_id, object, source_key, system, method, path, payload, outcome, error,
                attempts, started_at, finished_at, replay_of, resolved_by, resolved_at,
                target, retries, retry_after, dead_at
         FROM audit WHERE {} ORDER BY id {order} {limit}",
        filter.clauses.join(" AND ")
    );
    let stmt = client.prepare_cached(&sql).await?;
    let values: Vec<&(dyn ToSql + Sync)> = filter
        .values
        .iter()
        .map(|v| &**v as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(&stmt, &values).await?;
    rows.iter().map(decode_audit).collect()
}

fn decode_audit(row: &Row) -> Result<AuditRow, StateError> {
    let system: Option<String> = row.try_get(4)?;
    let method: Option<String> = row.try_get(5)?;
    let path: Option<String> = row.try_get(6)?;
    let operation = match (system, method, path) {
        (Some(system), Some(method), Some(path)) => Some(TargetOperation {
            system: parse("audit.system", system)?,
            method: Method::parse(&method).ok_or(StateError::Corrupt {
                column: "audit.method",
                value: method,
            })?,
            path,
        }),
        _ => None,
    };
    let payload = row
        .try_get::<_, Option<String>>(7)?
        .map(|text| {
            serde_json::from_str(&text).map_err(|_| StateError::Corrupt {
                column: "audit.payload",
                value: text,
            })
        })
        .transpose()?;
    let resolved_by: Option<i64> = row.try_get(14)?;
    let resolved_at: Option<i64> = row.try_get(15)?;
    let resolution = match (resolved_by, resolved_at) {
        (Some(by), Some(at)) => Some(Resolution {
            by: AuditId::new(by),
            at: time("audit.resolved_at", at)?,
        }),
        _ => None,
    };
    Ok(AuditRow {
        id: AuditId::new(row.try_get(0)?),
        row: NewAuditRow {
            run_id: parse("audit.run_id", row.try_get::<_, String>(1)?)?,
            object: parse("audit.object", row.try_get::<_, String>(2)?)?,
            source_key: row.try_get(3)?,
            operation,
            payload,
            outcome: parse("audit.outcome", row.try_get::<_, String>(8)?)?,
            error: row.try_get(9)?,
            attempts: small("audit.attempts", row.try_get(10)?)?,
            started_at: time("audit.started_at", row.try_get(11)?)?,
            finished_at: time("audit.finished_at", row.try_get(12)?)?,
            replay_of: row.try_get::<_, Option<i64>>(13)?.map(AuditId::new),
            target: row
                .try_get::<_, Option<String>>(16)?
                .map(|t| parse("audit.target", t))
                .transpose()?,
        },
        resolution,
        retry: RetryState {
            retries: small("audit.retries", row.try_get(17)?)?,
            next_at: optional_time("audit.retry_after", row.try_get(18)?)?,
            dead_at: optional_time("audit.dead_at", row.try_get(19)?)?,
        },
    })
}

/// A `member_statuses` row (`email, status, reason, recorded_at`).
pub(super) fn member_status(row: &Row) -> Result<MemberStatusRecord, StateError> {
    Ok(MemberStatusRecord {
        email: row.try_get(0)?,
        status: parse("member_statuses.status", row.try_get::<_, String>(1)?)?,
        reason: row.try_get(2)?,
        recorded_at: time("member_statuses.recorded_at", row.try_get(3)?)?,
    })
}

/// Selects one run (`Some(id)`) or the newest `limit` runs of `pair`, each with its counts.
/// Which runs [`select_runs`] reads.
pub(super) enum RunsWhere {
    All,
    Id(RunId),
    /// Completed runs of one trigger that covered one object.
    Completed(RunTrigger, ObjectKind),
}

pub(super) async fn select_runs(
    client: &impl GenericClient,
    pair: &str,
    which: RunsWhere,
    limit: u32,
) -> Result<Vec<RunRecord>, StateError> {
    let (id, completed) = match which {
        RunsWhere::All => (None, None),
        RunsWhere::Id(id) => (Some(id.to_string()), None),
        RunsWhere::Completed(trigger, object) => (None, Some((trigger, object))),
    };
    let trigger = completed.map(|(t, _)| t.as_str());
    let objects = completed.map(|(_, o)| format!("%,{o},%"));
    let stmt = client
        .prepare_cached(
            "SELECT id, objects, trigger, status, error, started_at, finished_at, unchanged FROM runs
             WHERE pair = $1 AND ($2::text IS NULL OR id = $2)
               AND ($4::text IS NULL OR (trigger = $4 AND status = 'completed'
                                         AND (',' || objects || ',') LIKE $5::text))
             ORDER BY started_at DESC, id COLLATE \"C\" LIMIT $3",
        )
        .await?;
    let rows = client
        .query(&stmt, &[&pair, &id, &i64::from(limit), &trigger, &objects])
        .await?;
    let mut runs = Vec::with_capacity(rows.len());
    for row in rows {
        let objects: String = row.try_get(1)?;
        let objects = objects
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| parse("runs.objects", s.to_owned()))
            .collect::<Result<Vec<ObjectKind>, _>>()?;
        runs.push(RunRecord {
            start: RunStart {
                id: parse("runs.id", row.try_get::<_, String>(0)?)?,
                objects,
                trigger: parse("runs.trigger", row.try_get::<_, String>(2)?)?,
                started_at: time("runs.started_at", row.try_get(5)?)?,
            },
            status: parse("runs.status", row.try_get::<_, String>(3)?)?,
            error: row.try_get(4)?,
            finished_at: optional_time("runs.finished_at", row.try_get(6)?)?,
            counts: OutcomeCounts {
                unchanged: row.try_get::<_, i64>(7)?.unsigned_abs(),
                ..OutcomeCounts::default()
            },
        });
    }
    for run in &mut runs {
        // Unchanged records are counted in the run's row, and audited only when they answered
        // a queued row: both count.
        let counted = run.counts.unchanged;
        run.counts = count_outcomes(client, pair, run.start.id).await?;
        run.counts.unchanged += counted;
    }
    Ok(runs)
}

async fn count_outcomes(
    client: &impl GenericClient,
    pair: &str,
    run_id: RunId,
) -> Result<OutcomeCounts, StateError> {
    let stmt = client
        .prepare_cached(
            "SELECT outcome, COUNT(*) FROM audit WHERE pair = $1 AND run_id = $2 GROUP BY outcome",
        )
        .await?;
    let rows = client.query(&stmt, &[&pair, &run_id.to_string()]).await?;
    let mut counts = OutcomeCounts::default();
    for row in rows {
        let outcome: Outcome = parse("audit.outcome", row.try_get::<_, String>(0)?)?;
        let n: i64 = row.try_get(1)?;
        counts.add(outcome, n.unsigned_abs());
    }
    Ok(counts)
}

/// The object's last token, and its lease unless released; `lock` takes the row for update.
pub(super) async fn select_lease(
    client: &impl GenericClient,
    pair: &str,
    object: ObjectKind,
    lock: bool,
) -> Result<(Option<FencingToken>, Option<Lease>), StateError> {
    let sql = format!(
        "SELECT token, holder_id, host, pid, acquired_at, heartbeat_at, expires_at
         FROM leases WHERE pair = $1 AND object = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let Some(row) = client.query_opt(&sql, &[&pair, &object.as_str()]).await? else {
        return Ok((None, None));
    };
    let raw: i64 = row.try_get(0)?;
    let token = FencingToken::new(u64::try_from(raw).map_err(|_| StateError::Corrupt {
        column: "leases.token",
        value: raw.to_string(),
    })?);
    let holder: (Option<String>, Option<String>, Option<i64>) =
        (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
    let times: (Option<i64>, Option<i64>, Option<i64>) =
        (row.try_get(4)?, row.try_get(5)?, row.try_get(6)?);
    let lease = match (holder, times) {
        ((Some(id), Some(host), Some(pid)), (Some(acquired), Some(heartbeat), Some(expires))) => {
            Some(Lease {
                object,
                holder: LeaseHolder::from_parts(id, host, small("leases.pid", pid)?),
                token,
                acquired_at: time("leases.acquired_at", acquired)?,
                heartbeat_at: time("leases.heartbeat_at", heartbeat)?,
                expires_at: time("leases.expires_at", expires)?,
            })
        }
        _ => None,
    };
    Ok((Some(token), lease))
}

pub(super) fn parse<T: FromStr>(column: &'static str, value: String) -> Result<T, StateError> {
    value
        .parse()
        .map_err(|_| StateError::Corrupt { column, value })
}

fn small(column: &'static str, value: i64) -> Result<u32, StateError> {
    u32::try_from(value).map_err(|_| StateError::Corrupt {
        column,
        value: value.to_string(),
    })
}

pub(super) fn optional_time(
    column: &'static str,
    micros: Option<i64>,
) -> Result<Option<DateTime<Utc>>, StateError> {
    micros.map(|m| time(column, m)).transpose()
}

pub(super) fn time(column: &'static str, micros: i64) -> Result<DateTime<Utc>, StateError> {
    DateTime::from_timestamp_micros(micros).ok_or(StateError::Corrupt {
        column,
        value: micros.to_string(),
    })
}
