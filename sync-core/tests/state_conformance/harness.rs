//! The stores under test: each test gets a fresh, private state, on SQLite always and on
//! PostgreSQL when `ML_CONNECTOR_TEST_POSTGRES_URL` is set.

use std::sync::Arc;

use sync_core::state::{PostgresOptions, PostgresStateStore};
use sync_core::{SqliteStateStore, StateStore};

/// The variable naming the test PostgreSQL server.
pub const POSTGRES_URL_VAR: &str = "ML_CONNECTOR_TEST_POSTGRES_URL";

/// A fresh state on one backend, with as many handles on it as a test needs.
pub struct Db {
    backend: Backend,
    store: Arc<dyn StateStore>,
}

enum Backend {
    /// A database file in a directory removed at the end of the test.
    Sqlite(tempfile::TempDir),
    /// A tenant pair of its own in the shared test database, so tests run in parallel and
    /// again without cleaning up.
    Postgres { url: String, pair: String },
}

impl Db {
    /// A new SQLite file.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStateStore::open(dir.path().join("state.db"))
            .await
            .unwrap();
        Self {
            store: Arc::new(store),
            backend: Backend::Sqlite(dir),
        }
    }

    /// A new tenant pair in the test PostgreSQL database, or `None` (saying so) when the
    /// variable is unset.
    pub async fn postgres(test: &str) -> Option<Self> {
        let Some(url) = postgres_url() else {
            eprintln!("skipped {test} on PostgreSQL: {POSTGRES_URL_VAR} unset");
            return None;
        };
        let pair = fresh_pair(test);
        let store = connect(&url, &pair).await;
        Some(Self {
            store: Arc::new(store),
            backend: Backend::Postgres { url, pair },
        })
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn StateStore> {
        Arc::clone(&self.store)
    }

    /// Another handle on the same state with connections of its own, as another process (or
    /// worker) has.
    pub async fn another_process(&self) -> Arc<dyn StateStore> {
        match &self.backend {
            Backend::Sqlite(dir) => Arc::new(
                SqliteStateStore::open(dir.path().join("state.db"))
                    .await
                    .unwrap(),
            ),
            Backend::Postgres { url, pair } => Arc::new(connect(url, pair).await),
        }
    }
}

/// The test server's URL, if set.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A pair id no other test or earlier run uses.
pub fn fresh_pair(test: &str) -> String {
    format!("test-{test}-{}", uuid::Uuid::new_v4().simple())
}

async fn connect(url: &str, pair: &str) -> PostgresStateStore {
    PostgresStateStore::connect_with(url, pair, PostgresOptions::new().max_connections(4))
        .await
        .unwrap()
}

/// Runs each named `async fn name(db: Db)` of the calling module as a test on SQLite
/// (`sqlite::name`) and on PostgreSQL (`postgres::name`).
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::Db::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::harness::Db::postgres(stringify!($name)).await else {
                        return;
                    };
                    super::$name(db).await;
                }
            )*
        }
    };
}
