//! Both sides spilled to a private temporary SQLite database, so memory stays bounded whatever
//! the audience's size: Mailchimp cannot sort members by email, so the two streams are joined
//! by key on disk instead of in memory.
//!
//! The database is SQLite's anonymous temporary file (opened with an empty name): private to
//! this connection, with a small page cache, and deleted by SQLite when the reconcile ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

use super::compare::Fields;
use crate::error::{Result, StateError};
use crate::model::ObjectKind;

/// Page cache of the spill database, in KiB (SQLite's negative `cache_size`).
const CACHE_KIB: i64 = 4096;

/// A record as the mapping of its QAD source says it should be in Mailchimp.
#[derive(Debug, Clone)]
pub(crate) struct ExpectedRow {
    pub kind: ObjectKind,
    /// The target id (normalized address, e-commerce customer id, product id).
    pub id: String,
    pub source_key: String,
    pub fields: Fields,
    /// The member status the connector intends (`status_if_new`), for members.
    pub intended: Option<String>,
    /// The content hash change detection stores for the record.
    pub hash: String,
    /// The operation that writes it, as an audit payload.
    pub op: String,
    /// The rank of its source under the shared-email owner rule (members with lifecycle
    /// settings; empty otherwise): of several sources of one target id, the lowest rank (then
    /// key) is expected, as the forward sync writes the owner's member.
    pub rank: String,
}

/// A record as read from Mailchimp.
#[derive(Debug, Clone)]
pub(crate) struct ActualRow {
    pub kind: ObjectKind,
    pub id: String,
    pub fields: Fields,
    /// The member status, for members.
    pub status: Option<String>,
    /// Why the record's JSON did not decode (its fields are then empty): equality cannot be
    /// shown.
    pub undecodable: Option<String>,
}

/// A record of a QAD customer that is not active (inactive, blocked, anonymised, or gone from
/// QAD): under the lifecycle settings Mailchimp should not hold it (or holds it archived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DepartedRow {
    pub kind: ObjectKind,
    /// The target id (normalized address, e-commerce customer id).
    pub id: String,
    pub source_key: String,
    /// The customer's standing (`inactive`, `blocked`, `anonymised`, `gone`).
    pub standing: String,
}

/// An expected record and what Mailchimp holds under its id.
#[derive(Debug, Clone)]
pub(crate) struct Joined {
    pub expected: ExpectedRow,
    pub actual: Option<ActualRow>,
}

/// The spill database.
#[derive(Debug, Clone)]
pub(crate) struct Spill {
    conn: Arc<Mutex<Connection>>,
}

fn encode(fields: &Fields) -> Result<String, StateError> {
    serde_json::to_string(fields).map_err(|source| StateError::Encode {
        what: "reconcile fields",
        source,
    })
}

fn decode(text: &str) -> Result<Fields, StateError> {
    serde_json::from_str(text).map_err(|e| StateError::Corrupt {
        column: "reconcile spill fields",
        value: e.to_string(),
    })
}

impl Spill {
    /// Opens a new, empty spill database.
    pub(crate) async fn open() -> Result<Self> {
        let conn = Self::blocking_open()?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn blocking_open() -> Result<Connection, StateError> {
        let conn = Connection::open("")?;
        conn.execute_batch(&format!(
            "PRAGMA cache_size = -{CACHE_KIB};
             PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA temp_store = FILE;
             CREATE TABLE expected (
                 kind TEXT NOT NULL, id TEXT NOT NULL, source_key TEXT NOT NULL,
                 fields TEXT NOT NULL, intended TEXT, hash TEXT NOT NULL, op TEXT NOT NULL,
                 rank TEXT NOT NULL,
                 PRIMARY KEY (kind, id)) WITHOUT ROWID;
             CREATE TABLE actual (
                 kind TEXT NOT NULL, id TEXT NOT NULL, fields TEXT NOT NULL, status TEXT,
                 undecodable TEXT,
                 PRIMARY KEY (kind, id)) WITHOUT ROWID;
             CREATE TABLE departed (
                 kind TEXT NOT NULL, id TEXT NOT NULL, source_key TEXT NOT NULL,
                 standing TEXT NOT NULL,
                 PRIMARY KEY (kind, id, source_key)) WITHOUT ROWID;
             CREATE TABLE source_keys (key TEXT PRIMARY KEY NOT NULL, standing TEXT NOT NULL)
                 WITHOUT ROWID;"
        ))?;
        Ok(conn)
    }

    async fn with<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StateError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| StateError::Worker("reconcile spill lock poisoned".into()))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| StateError::Worker(e.to_string()))?
        .map_err(Into::into)
    }

    /// Adds expected records in one transaction. A target id already expected keeps the source
    /// record of the lowest rank, then the lowest key (two customers sharing an email make one
    /// member, the owner rule's, as in the forward sync; without a rule the first in key
    /// order). Returns how many rows were added or replaced.
    pub(crate) async fn put_expected(&self, rows: Vec<ExpectedRow>) -> Result<u64> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let mut added = 0;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO expected (kind, id, source_key, fields, intended, hash, op, rank)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (kind, id) DO UPDATE SET source_key = excluded.source_key,
                         fields = excluded.fields, intended = excluded.intended,
                         hash = excluded.hash, op = excluded.op, rank = excluded.rank
                     WHERE excluded.rank < expected.rank
                        OR (excluded.rank = expected.rank
                            AND excluded.source_key < expected.source_key)",
                )?;
                for r in rows {
                    added += insert.execute(params![
                        r.kind.as_str(),
                        r.id,
                        r.source_key,
                        encode(&r.fields)?,
                        r.intended,
                        r.hash,
                        r.op,
                        r.rank
                    ])? as u64;
                }
            }
            tx.commit()?;
            Ok(added)
        })
        .await
    }

    /// Adds records read from Mailchimp in one transaction (a repeated id keeps the first).
    pub(crate) async fn put_actual(&self, rows: Vec<ActualRow>) -> Result<u64> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let mut added = 0;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO actual (kind, id, fields, status, undecodable)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for r in rows {
                    added += insert.execute(params![
                        r.kind.as_str(),
                        r.id,
                        encode(&r.fields)?,
                        r.status,
                        r.undecodable
                    ])? as u64;
                }
            }
            tx.commit()?;
            Ok(added)
        })
        .await
    }

    /// The next `limit` expected records of `kind` after target id `after`, in id order, each
    /// with the Mailchimp record under its id.
    pub(crate) async fn joined(
        &self,
        kind: ObjectKind,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<Joined>> {
        self.with(move |conn| {
            let mut select = conn.prepare_cached(
                "SELECT e.id, e.source_key, e.fields, e.intended, e.hash, e.op, a.fields, a.status,
                        a.undecodable
                 FROM expected e LEFT JOIN actual a ON a.kind = e.kind AND a.id = e.id
                 WHERE e.kind = ?1 AND (?2 IS NULL OR e.id > ?2)
                 ORDER BY e.id LIMIT ?3",
            )?;
            let mut rows = select.query(params![kind.as_str(), after, limit])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let id: String = row.get(0)?;
                let actual_fields: Option<String> = row.get(6)?;
                let actual = match actual_fields {
                    Some(text) => Some(ActualRow {
                        kind,
                        id: id.clone(),
                        fields: decode(&text)?,
                        status: row.get(7)?,
                        undecodable: row.get(8)?,
                    }),
                    None => None,
                };
                out.push(Joined {
                    expected: ExpectedRow {
                        kind,
                        id,
                        source_key: row.get(1)?,
                        fields: decode(&row.get::<_, String>(2)?)?,
                        intended: row.get(3)?,
                        hash: row.get(4)?,
                        op: row.get(5)?,
                        rank: String::new(),
                    },
                    actual,
                });
            }
            Ok(out)
        })
        .await
    }

    /// Adds records of customers that are not active, and the keys of the QAD records read with
    /// their standing, in one transaction.
    pub(crate) async fn put_departed(
        &self,
        rows: Vec<DepartedRow>,
        read: Vec<(String, String)>,
    ) -> Result<()> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO departed (kind, id, source_key, standing)
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                for r in rows {
                    insert.execute(params![r.kind.as_str(), r.id, r.source_key, r.standing])?;
                }
                let mut key = tx.prepare_cached(
                    "INSERT OR REPLACE INTO source_keys (key, standing) VALUES (?1, ?2)",
                )?;
                for (k, standing) in read {
                    key.execute([k, standing])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The standing the QAD read gave each of `keys`; a key it did not return is absent.
    pub(crate) async fn standings(&self, keys: Vec<String>) -> Result<HashMap<String, String>> {
        self.with(move |conn| {
            let mut select =
                conn.prepare_cached("SELECT standing FROM source_keys WHERE key = ?1")?;
            let mut out = HashMap::new();
            for key in keys {
                let standing: Option<String> =
                    select.query_row([&key], |row| row.get(0)).optional()?;
                if let Some(standing) = standing {
                    out.insert(key, standing);
                }
            }
            Ok(out)
        })
        .await
    }

    /// The departed records of `kind` under the next `limit` target ids after `after`, in id
    /// order, each with the Mailchimp record under its id; ids some active customer's record is
    /// expected under are left out (that customer owns the address).
    pub(crate) async fn departed(
        &self,
        kind: ObjectKind,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<(DepartedRow, Option<ActualRow>)>> {
        self.with(move |conn| {
            let mut select = conn.prepare_cached(
                "SELECT d.id, d.source_key, d.standing, a.fields, a.status, a.undecodable
                 FROM departed d LEFT JOIN actual a ON a.kind = d.kind AND a.id = d.id
                 WHERE d.kind = ?1 AND d.id IN (
                     SELECT DISTINCT id FROM departed x WHERE x.kind = ?1
                       AND (?2 IS NULL OR x.id > ?2)
                       AND NOT EXISTS (SELECT 1 FROM expected e WHERE e.kind = x.kind AND e.id = x.id)
                     ORDER BY id LIMIT ?3)
                 ORDER BY d.id, d.source_key",
            )?;
            let mut rows = select.query(params![kind.as_str(), after, limit])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let id: String = row.get(0)?;
                let actual = match row.get::<_, Option<String>>(3)? {
                    Some(text) => Some(ActualRow {
                        kind,
                        id: id.clone(),
                        fields: decode(&text)?,
                        status: row.get(4)?,
                        undecodable: row.get(5)?,
                    }),
                    None => None,
                };
                out.push((
                    DepartedRow {
                        kind,
                        id,
                        source_key: row.get(1)?,
                        standing: row.get(2)?,
                    },
                    actual,
                ));
            }
            Ok(out)
        })
        .await
    }

    /// How many Mailchimp records of `kind` no QAD record maps to, and the first `keep` of them
    /// (id and status).
    pub(crate) async fn only_actual(
        &self,
        kind: ObjectKind,
        keep: usize,
    ) -> Result<(u64, Vec<(String, Option<String>)>)> {
        self.with(move |conn| {
            let filter = "FROM actual a WHERE a.kind = ?1 AND NOT EXISTS
                 (SELECT 1 FROM expected e WHERE e.kind = a.kind AND e.id = a.id)
                 AND NOT EXISTS (SELECT 1 FROM departed d WHERE d.kind = a.kind AND d.id = a.id)";
            let count: i64 = conn
                .query_row(&format!("SELECT COUNT(*) {filter}"), [kind.as_str()], |r| {
                    r.get(0)
                })
                .optional()?
                .unwrap_or(0);
            let mut select = conn.prepare(&format!(
                "SELECT a.id, a.status {filter} ORDER BY a.id LIMIT ?2"
            ))?;
            let first = select
                .query_map(params![kind.as_str(), keep as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((u64::try_from(count).unwrap_or(0), first))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn expected(id: &str, key: &str) -> ExpectedRow {
        ExpectedRow {
            kind: ObjectKind::Products,
            id: id.into(),
            source_key: key.into(),
            fields: fields(&[("title", id)]),
            intended: None,
            hash: "h".into(),
            op: "{}".into(),
            rank: String::new(),
        }
    }

    fn actual(id: &str) -> ActualRow {
        ActualRow {
            kind: ObjectKind::Products,
            id: id.into(),
            fields: fields(&[("title", "x")]),
            status: None,
            undecodable: None,
        }
    }

    #[tokio::test]
    async fn joins_by_key_in_pages_and_finds_records_only_in_mailchimp() {
        let spill = Spill::open().await.unwrap();
        let added = spill
            .put_expected(vec![
                expected("b", "B"),
                expected("a", "A"),
                expected("b", "B2"),
            ])
            .await
            .unwrap();
        assert_eq!(
            added, 2,
            "the first source of an id wins (same rank, lower key)"
        );
        spill
            .put_actual(vec![actual("z"), actual("b"), actual("y")])
            .await
            .unwrap();
        let first = spill.joined(ObjectKind::Products, None, 1).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].expected.id, "a");
        assert!(first[0].actual.is_none());
        let next = spill
            .joined(ObjectKind::Products, Some("a".into()), 10)
            .await
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].expected.source_key, "B");
        assert_eq!(next[0].actual.as_ref().unwrap().fields["title"], "x");
        let (count, first) = spill.only_actual(ObjectKind::Products, 1).await.unwrap();
        assert_eq!(count, 2);
        assert_eq!(first, vec![("y".to_owned(), None)]);
    }
}
