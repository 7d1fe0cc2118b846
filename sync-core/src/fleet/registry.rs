//! The pairs registry in PostgreSQL: `fleet_pairs` (one row a pair: account, configuration as
//! JSON, sealed credentials) and `fleet_accounts` (one row a Mailchimp account, its lease).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::pair::{self, HeldBy, NewPair, PairConfig, PairSummary, RegisteredPair};
use crate::error::{Result, StateError, SyncError};
use crate::state::{PostgresOptions, PostgresStateStore};
use crate::vault::VaultKey;

/// The pair id of the registry's own store handle: it only lends its pool, never writes state.
const REGISTRY_HANDLE: &str = "fleet-registry";

/// The longest account name accepted.
const MAX_ACCOUNT_LEN: usize = 200;

/// The tenant pairs of a fleet and the leases on their Mailchimp accounts, in the state
/// database (the same PostgreSQL database and pool as the pairs' state).
///
/// Cloning is cheap and shares the pool.
///
/// ```no_run
/// # async fn run() -> sync_core::Result<()> {
/// use std::time::Duration;
/// use sync_core::config::SyncConfig;
/// use sync_core::fleet::{NewPair, ObjectCadence, PairConfig, PairRegistry};
/// use sync_core::vault::{Credentials, VaultKey};
/// use sync_core::ObjectKind;
///
/// let registry = PairRegistry::connect("postgres://sync@db.internal/state").await?;
/// let key = VaultKey::from_env("ML_CONNECTOR_FLEET_KEY")?;
/// let config = PairConfig::new(SyncConfig::new("a1b2c3d4e5"))
///     .with_object(ObjectCadence::new(ObjectKind::Customers, Duration::from_secs(900)));
/// # let credentials = Credentials::default();
/// registry
///     .add(NewPair { id: "acme".into(), account: "mc-acme".into(), config, credentials }, &key)
///     .await?;
/// for pair in registry.list().await? {
///     println!("{} on {}", pair.id, pair.account);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct PairRegistry {
    store: PostgresStateStore,
}

impl PairRegistry {
    /// Connects to the state database at `url` (migrating it) with the default pool options.
    ///
    /// # Errors
    ///
    /// As [`PostgresStateStore::connect`].
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PostgresOptions::new()).await
    }

    /// [`connect`](Self::connect) with the given pool options.
    ///
    /// # Errors
    ///
    /// As [`PostgresStateStore::connect`].
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self> {
        let store = PostgresStateStore::connect_with(url, REGISTRY_HANDLE, options).await?;
        Ok(Self { store })
    }

    /// The registry on the pool of `store` (any pair's store of the database).
    #[must_use]
    pub fn on(store: &PostgresStateStore) -> Self {
        Self {
            store: store.clone(),
        }
    }

    /// The state store of `pair`, on the registry's pool (not fenced by a claim: for reading,
    /// or for commands run while no worker holds the pair).
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] for an invalid pair id.
    pub fn state_of(&self, pair: &str) -> Result<PostgresStateStore> {
        self.store.for_pair(pair)
    }

    pub(crate) fn store(&self) -> &PostgresStateStore {
        &self.store
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client> {
        Ok(self.store.pool().get().await.map_err(StateError::from)?)
    }

    /// Registers a pair: its configuration as data, its credentials sealed under `key`.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] for an invalid pair id, account or configuration, or a pair id
    /// already registered (remove it first); [`SyncError::Vault`] if sealing fails;
    /// [`SyncError::State`] when the database fails.
    pub async fn add(&self, new: NewPair, key: &VaultKey) -> Result<()> {
        self.store.for_pair(&new.id)?;
        valid_account(&new.account)?;
        new.config.validate()?;
        let config = new.config.to_json()?;
        let sealed = pair::seal(key, &new.credentials)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO fleet_accounts (account) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&new.account],
        )
        .await?;
        let inserted = tx
            .execute(
                "INSERT INTO fleet_pairs
                     (pair, account, config, credentials, key_fingerprint, added_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (pair) DO NOTHING",
                &[
                    &new.id,
                    &new.account,
                    &config,
                    &sealed,
                    &pair::fingerprint(key),
                    &Utc::now().timestamp_micros(),
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(SyncError::Config {
                what: format!(
                    "tenant pair {:?} is already registered; remove it first to register it again",
                    new.id
                ),
            });
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every registered pair, by id, without credentials.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`] when the database fails; [`SyncError::Config`] when a stored
    /// configuration cannot be read.
    pub async fn list(&self) -> Result<Vec<PairSummary>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT p.pair, p.account, p.config, p.key_fingerprint, a.host, a.pid,
                        a.expires_at
                 FROM fleet_pairs p JOIN fleet_accounts a ON a.account = p.account
                 ORDER BY p.pair COLLATE \"C\"",
                &[],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get(0)?;
            let config = PairConfig::from_json(&id, row.try_get(2)?)?;
            let host: Option<String> = row.try_get(4)?;
            let pid: Option<i64> = row.try_get(5)?;
            let until: Option<i64> = row.try_get(6)?;
            let held_by = match (host, pid, until.and_then(DateTime::from_timestamp_micros)) {
                (Some(host), Some(pid), Some(until)) if until > Utc::now() => Some(HeldBy {
                    worker: format!("host {host}, pid {pid}"),
                    until,
                }),
                _ => None,
            };
            out.push(PairSummary {
                id,
                account: row.try_get(1)?,
                config,
                key_fingerprint: row.try_get(3)?,
                held_by,
            });
        }
        Ok(out)
    }

    /// Removes a pair from the registry (its state stays, so registering it again resumes
    /// where it was). A worker running it has its next page commit refused and gives it up.
    /// Returns whether it was registered.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`] when the database fails.
    pub async fn remove(&self, id: &str) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let account: Option<String> = tx
            .query_opt(
                "DELETE FROM fleet_pairs WHERE pair = $1 RETURNING account",
                &[&id],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if let Some(account) = &account {
            // An account without pairs goes too, so the table does not grow with removals.
            tx.execute(
                "DELETE FROM fleet_accounts a WHERE account = $1
                 AND NOT EXISTS (SELECT 1 FROM fleet_pairs p WHERE p.account = a.account)",
                &[account],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(account.is_some())
    }

    /// The pairs of `account` with their credentials opened with `key`.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] when a pair's configuration is unreadable or its credentials do
    /// not open with `key`; [`SyncError::State`] when the database fails.
    pub async fn pairs_of(&self, account: &str, key: &VaultKey) -> Result<Vec<RegisteredPair>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT pair, config, credentials FROM fleet_pairs WHERE account = $1
                 ORDER BY pair COLLATE \"C\"",
                &[&account],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0)?;
                let config = PairConfig::from_json(&id, row.try_get(1)?)?;
                let credentials = pair::open(&id, key, row.try_get(2)?)?;
                Ok(RegisteredPair {
                    id,
                    account: account.to_owned(),
                    config,
                    credentials,
                })
            })
            .collect()
    }
}

fn valid_account(account: &str) -> Result<()> {
    if account.is_empty()
        || account.len() > MAX_ACCOUNT_LEN
        || account.chars().any(char::is_control)
    {
        return Err(SyncError::Config {
            what: format!(
                "Mailchimp account name {account:?} must be 1 to {MAX_ACCOUNT_LEN} bytes without control characters"
            ),
        });
    }
    Ok(())
}

/// The database clock in Unix microseconds, as SQL (the clock every lease is judged by).
pub(crate) const DB_NOW: &str = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

/// Reads the database clock.
pub(crate) async fn db_now(client: &impl GenericClient) -> Result<i64> {
    Ok(client
        .query_one(&format!("SELECT {DB_NOW}"), &[])
        .await?
        .try_get(0)?)
}
