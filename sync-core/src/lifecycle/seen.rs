//! The keys a full scan read, with each record's standing and normalised email, spilled to a
//! private temporary SQLite database so memory stays bounded whatever the record count (the
//! same technique as the reconcile's spill: SQLite's anonymous temporary file, a small page
//! cache, deleted when the scan ends).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::{params, params_from_iter, Connection};

use super::config::Standing;
use crate::error::{Result, StateError};

/// Page cache of the spill database, in KiB (SQLite's negative `cache_size`).
const CACHE_KIB: i64 = 2048;

/// The most keys looked up in one statement.
const LOOKUP_CHUNK: usize = 500;

/// One record as the scan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeenRecord {
    pub key: String,
    pub standing: Standing,
    /// The normalised email, for customers with a valid one.
    pub email: Option<String>,
    /// The rank under the shared-email owner rule (lowest owns; ties by key).
    pub rank: String,
}

/// The scan's spill database.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    conn: Arc<Mutex<Connection>>,
}

impl Seen {
    /// A new, empty spill.
    pub(crate) fn open() -> Result<Self> {
        let conn = Connection::open("").map_err(StateError::from)?;
        conn.execute_batch(&format!(
            "PRAGMA cache_size = -{CACHE_KIB};
             PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA temp_store = FILE;
             CREATE TABLE seen (
                 key TEXT PRIMARY KEY NOT NULL, standing TEXT NOT NULL, email TEXT,
                 rank TEXT NOT NULL
             ) WITHOUT ROWID;
             CREATE INDEX seen_by_email ON seen (email) WHERE email IS NOT NULL;"
        ))
        .map_err(StateError::from)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
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
                .map_err(|_| StateError::Worker("lifecycle spill lock poisoned".into()))?;
            work(&mut conn)
        })
        .await
        .map_err(|e| StateError::Worker(e.to_string()))?
        .map_err(Into::into)
    }

    /// Adds a page of records in one transaction (a key read twice keeps its last reading).
    pub(crate) async fn put(&self, records: Vec<SeenRecord>) -> Result<()> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT OR REPLACE INTO seen (key, standing, email, rank)
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                for r in &records {
                    stmt.execute(params![r.key, r.standing.as_str(), r.email, r.rank])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// How many keys were read.
    pub(crate) async fn count(&self) -> Result<u64> {
        self.with(|conn| {
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM seen", [], |row| row.get(0))?;
            Ok(n.unsigned_abs())
        })
        .await
    }

    /// The standing of each of `keys`: [`Standing::Gone`] for a key the scan did not read.
    pub(crate) async fn standings(&self, keys: Vec<String>) -> Result<HashMap<String, Standing>> {
        self.with(move |conn| {
            let mut found: HashMap<String, Standing> =
                keys.iter().map(|k| (k.clone(), Standing::Gone)).collect();
            for chunk in keys.chunks(LOOKUP_CHUNK) {
                let sql = format!(
                    "SELECT key, standing FROM seen WHERE key IN ({})",
                    vec!["?"; chunk.len()].join(",")
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params_from_iter(chunk))?;
                while let Some(row) = rows.next()? {
                    let text: String = row.get(1)?;
                    let standing = Standing::parse(&text).ok_or(StateError::Corrupt {
                        column: "lifecycle spill standing",
                        value: text,
                    })?;
                    found.insert(row.get(0)?, standing);
                }
            }
            Ok(found)
        })
        .await
    }

    /// For each of `emails` (normalised), the active customers the scan read with that
    /// address, owner first (by rank, then key); addresses no active customer has are absent.
    pub(crate) async fn active_holders(
        &self,
        emails: Vec<String>,
    ) -> Result<HashMap<String, Vec<String>>> {
        self.with(move |conn| {
            let mut found: HashMap<String, Vec<String>> = HashMap::new();
            for chunk in emails.chunks(LOOKUP_CHUNK) {
                let sql = format!(
                    "SELECT email, key FROM seen WHERE standing = 'active' AND email IN ({})
                     ORDER BY email, rank, key",
                    vec!["?"; chunk.len()].join(",")
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params_from_iter(chunk))?;
                while let Some(row) = rows.next()? {
                    found.entry(row.get(0)?).or_default().push(row.get(1)?);
                }
            }
            Ok(found)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, standing: Standing, email: Option<&str>) -> SeenRecord {
        SeenRecord {
            key: key.into(),
            standing,
            email: email.map(str::to_owned),
            rank: String::new(),
        }
    }

    #[tokio::test]
    async fn keys_not_read_are_gone_and_active_holders_are_found_by_email() {
        let seen = Seen::open().unwrap();
        seen.put(vec![
            record("C1", Standing::Active, Some("a@x.com")),
            record("C2", Standing::Blocked, Some("a@x.com")),
            record("C3", Standing::Active, Some("a@x.com")),
            record("C4", Standing::Active, None),
        ])
        .await
        .unwrap();
        assert_eq!(seen.count().await.unwrap(), 4);
        let standings = seen
            .standings(vec!["C2".into(), "C9".into()])
            .await
            .unwrap();
        assert_eq!(standings["C2"], Standing::Blocked);
        assert_eq!(standings["C9"], Standing::Gone);
        let holders = seen
            .active_holders(vec!["a@x.com".into(), "b@x.com".into()])
            .await
            .unwrap();
        assert_eq!(holders["a@x.com"], ["C1", "C3"]);
        assert!(!holders.contains_key("b@x.com"));
        // A lower rank owns whatever the key.
        let mut ranked = record("C0", Standing::Active, Some("a@x.com"));
        ranked.rank = "1".into();
        let mut first = record("C3", Standing::Active, Some("a@x.com"));
        first.rank = "0".into();
        let mut tied = record("C1", Standing::Active, Some("a@x.com"));
        tied.rank = "1".into();
        seen.put(vec![ranked, first, tied]).await.unwrap();
        let holders = seen.active_holders(vec!["a@x.com".into()]).await.unwrap();
        assert_eq!(holders["a@x.com"], ["C3", "C0", "C1"], "rank, then key");
    }
}
