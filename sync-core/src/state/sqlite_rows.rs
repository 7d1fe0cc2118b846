//! Many rows per `INSERT` in the SQLite store: a page's hashes, id mappings, intents and audit
//! rows go out as a few multi-row statements instead of one statement per row.
//!
//! Each statement costs SQLite a start and a finish (opening the table's cursors, the
//! statement journal, and for `AUTOINCREMENT` tables a write of `sqlite_sequence`) whatever its
//! row count; at one statement per row that overhead was about as large as the inserts
//! themselves (issue 19). Rows go in chunks of a few fixed sizes, largest first, so a handful
//! of statement texts serve every page size and stay in the statement cache.

use rusqlite::types::ToSqlOutput;
use rusqlite::{params_from_iter, Transaction};

use crate::error::StateError;

/// The row counts of the statements, largest first; any count is a sum of them. 128 rows of
/// the widest table (the audit trail, 14 columns) bind 1,792 values, far below SQLite's limit
/// of 32,766.
const CHUNK_ROWS: [usize; 5] = [128, 32, 8, 2, 1];

/// One table's multi-row `INSERT`: `head` up to `VALUES`, then one `(?, …)` group of `columns`
/// per row, then `tail` (an `ON CONFLICT` clause, or nothing).
pub(super) struct MultiInsert {
    pub head: &'static str,
    pub columns: usize,
    pub tail: &'static str,
}

impl MultiInsert {
    /// Inserts `rows`, in order, `bind` giving each row's `columns` values; returns the rowid
    /// of each row's insert, in order.
    ///
    /// Rows later in `rows` are inserted after earlier ones, as one statement per row would:
    /// with an upsert `tail`, a key given twice ends with its last values. The rowids are those
    /// of an `INTEGER PRIMARY KEY AUTOINCREMENT` table, where SQLite gives each new row one more
    /// than the largest id the table ever had, so one statement's rows get consecutive ids in
    /// the order of their `VALUES` (only meaningful for such a table).
    pub fn run<'r, R>(
        &self,
        tx: &Transaction<'_>,
        rows: &'r [R],
        mut bind: impl FnMut(&'r R, &mut Vec<ToSqlOutput<'r>>),
    ) -> Result<Vec<i64>, StateError> {
        let mut ids = Vec::with_capacity(rows.len());
        let mut values = Vec::with_capacity(CHUNK_ROWS[0] * self.columns);
        let mut rest = rows;
        while !rest.is_empty() {
            let size = CHUNK_ROWS
                .into_iter()
                .find(|&size| size <= rest.len())
                .unwrap_or(1);
            let (chunk, after) = rest.split_at(size.min(rest.len()));
            values.clear();
            for row in chunk {
                let before = values.len();
                bind(row, &mut values);
                debug_assert_eq!(values.len() - before, self.columns, "{}", self.head);
            }
            let inserted = tx
                .prepare_cached(&self.sql(chunk.len()))?
                .execute(params_from_iter(values.drain(..)))?;
            // A plain or upsert `INSERT` writes every row of its `VALUES` or fails whole.
            debug_assert_eq!(inserted, chunk.len(), "{}", self.head);
            let last = tx.last_insert_rowid();
            let first = last - i64::try_from(chunk.len()).unwrap_or(i64::MAX) + 1;
            ids.extend(first..=last);
            rest = after;
        }
        Ok(ids)
    }

    /// The statement for `rows` rows.
    fn sql(&self, rows: usize) -> String {
        let group = format!("({})", vec!["?"; self.columns].join(", "));
        format!(
            "{} {} {}",
            self.head,
            vec![group; rows].join(", "),
            self.tail
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    const PAIRS: MultiInsert = MultiInsert {
        head: "INSERT INTO t (k, v) VALUES",
        columns: 2,
        tail: "ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    };

    fn table() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE, v INTEGER);",
        )
        .unwrap();
        conn
    }

    fn bind<'r>(row: &'r (String, i64), out: &mut Vec<ToSqlOutput<'r>>) {
        out.push(ToSqlOutput::from(row.0.as_str()));
        out.push(ToSqlOutput::from(row.1));
    }

    #[test]
    fn every_row_count_is_inserted_in_order_with_its_rowid() {
        for n in [0, 1, 2, 3, 7, 9, 41, 128, 129, 500, 1000] {
            let mut conn = table();
            let tx = conn.transaction().unwrap();
            tx.execute("INSERT INTO t (k, v) VALUES ('before', 0)", [])
                .unwrap();
            let rows: Vec<(String, i64)> = (0..n).map(|i| (format!("k{i}"), i)).collect();
            let ids = PAIRS.run(&tx, &rows, bind).unwrap();
            let stored: Vec<(i64, String, i64)> = tx
                .prepare("SELECT id, k, v FROM t WHERE k != 'before' ORDER BY id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let expected: Vec<(i64, String, i64)> = ids
                .iter()
                .zip(&rows)
                .map(|(id, (k, v))| (*id, k.clone(), *v))
                .collect();
            assert_eq!(stored, expected, "{n} rows");
        }
    }

    #[test]
    fn a_key_given_twice_ends_with_its_last_values() {
        let mut conn = table();
        let tx = conn.transaction().unwrap();
        let rows = vec![
            ("a".to_owned(), 1),
            ("b".to_owned(), 2),
            ("a".to_owned(), 3),
        ];
        PAIRS.run(&tx, &rows, bind).unwrap();
        let a: i64 = tx
            .query_row("SELECT v FROM t WHERE k = 'a'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(a, 3);
    }

    #[test]
    fn a_few_statement_texts_serve_every_page_size() {
        let mut sizes = std::collections::BTreeSet::new();
        for n in 1..=1000usize {
            let mut rest = n;
            while rest > 0 {
                let size = CHUNK_ROWS.into_iter().find(|&s| s <= rest).unwrap();
                sizes.insert(size);
                rest -= size;
            }
        }
        assert_eq!(sizes.len(), CHUNK_ROWS.len());
    }
}
