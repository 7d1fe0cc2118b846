//! Leases on Mailchimp accounts: a worker claims accounts (`FOR UPDATE SKIP LOCKED`), renews
//! all its claims in one statement per heartbeat, and releases them on shutdown. Each claim
//! carries a fencing token that the pairs' page commits check ([`PostgresStateStore`]).
//!
//! Expiry is judged by the database server's clock. A claim whose expiry passed is lost even
//! if nobody took it over yet: its renewal and its commits are refused, and the worker claims
//! the account again if it can (with a new token).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::registry::{db_now, PairRegistry, DB_NOW};
use crate::error::{LeaseError, Result, StateError};
use crate::state::{FencingToken, LeaseHolder, PostgresStateStore};

/// A worker's lease on one Mailchimp account, and so on every tenant pair using it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountClaim {
    /// The account.
    pub account: String,
    /// Who holds it.
    pub holder: LeaseHolder,
    /// The fencing token of this claim: higher than every earlier claim of the account.
    pub token: FencingToken,
    /// When it expires unless renewed (database clock).
    pub expires_at: DateTime<Utc>,
}

impl PairRegistry {
    /// Records `holder` as a live worker until `ttl` from now (so others count it when they
    /// work out their share), and forgets workers whose record expired.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`](crate::SyncError::State) when the database fails.
    pub async fn join(&self, holder: &LeaseHolder, ttl: Duration) -> Result<()> {
        let client = self.client().await?;
        let now = db_now(&client).await?;
        client
            .execute("DELETE FROM fleet_workers WHERE expires_at < $1", &[&now])
            .await?;
        client
            .execute(
                "INSERT INTO fleet_workers (holder_id, host, pid, started_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (holder_id) DO UPDATE SET expires_at = EXCLUDED.expires_at",
                &[
                    &holder.id(),
                    &holder.host(),
                    &i64::from(holder.pid()),
                    &now,
                    &(now + micros(ttl)),
                ],
            )
            .await?;
        Ok(())
    }

    /// Removes `holder` from the live workers.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`](crate::SyncError::State) when the database fails.
    pub async fn leave(&self, holder: &LeaseHolder) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM fleet_workers WHERE holder_id = $1",
                &[&holder.id()],
            )
            .await?;
        Ok(())
    }

    /// How many accounts `holder` should hold: the accounts with pairs divided by the live
    /// workers (rounded up), so a fleet spreads its accounts evenly and a new worker gets its
    /// part as the others shed theirs.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`](crate::SyncError::State) when the database fails.
    pub async fn fair_share(&self, holder: &LeaseHolder) -> Result<usize> {
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "SELECT
                       (SELECT count(*) FROM fleet_accounts a
                        WHERE EXISTS (SELECT 1 FROM fleet_pairs p WHERE p.account = a.account)),
                       (SELECT count(*) FROM fleet_workers
                        WHERE expires_at >= {DB_NOW} AND holder_id <> $1)"
                ),
                &[&holder.id()],
            )
            .await?;
        let accounts: i64 = row.try_get(0)?;
        let others: i64 = row.try_get(1)?;
        let workers = others.max(0).unsigned_abs() + 1;
        let share = accounts.max(0).unsigned_abs().div_ceil(workers);
        Ok(usize::try_from(share).unwrap_or(usize::MAX))
    }

    /// Claims up to `max` accounts that have pairs and are free (never claimed, released, or
    /// expired), skipping rows other workers are claiming or committing under right now
    /// (`FOR UPDATE SKIP LOCKED`), so any number of workers claim at once without waiting
    /// and never claim the same account.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`](crate::SyncError::State) when the database fails.
    pub async fn claim(
        &self,
        holder: &LeaseHolder,
        ttl: Duration,
        max: usize,
    ) -> Result<Vec<AccountClaim>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &format!(
                    "WITH now AS (SELECT {DB_NOW} AS t),
                     free AS (
                         SELECT a.account FROM fleet_accounts a, now
                         WHERE (a.holder_id IS NULL OR a.expires_at < now.t)
                           AND EXISTS (SELECT 1 FROM fleet_pairs p WHERE p.account = a.account)
                         ORDER BY a.account
                         LIMIT $1
                         FOR UPDATE OF a SKIP LOCKED)
                     UPDATE fleet_accounts a
                     SET token = a.token + 1, holder_id = $2, host = $3, pid = $4,
                         acquired_at = now.t, heartbeat_at = now.t, expires_at = now.t + $5
                     FROM free, now WHERE a.account = free.account
                     RETURNING a.account, a.token, a.expires_at"
                ),
                &[
                    &limit,
                    &holder.id(),
                    &holder.host(),
                    &i64::from(holder.pid()),
                    &micros(ttl),
                ],
            )
            .await?;
        rows.iter()
            .map(|row| claim_of(row, holder))
            .collect::<Result<Vec<_>, StateError>>()
            .map_err(Into::into)
    }

    /// Renews every unexpired claim of `holder` and its live-worker record, in one
    /// transaction; returns the claims still held. A claim missing from the answer was lost
    /// (expired, taken over, or its account removed).
    ///
    /// # Errors
    ///
    /// [`SyncError::State`](crate::SyncError::State) when the database fails (the claims are
    /// then not renewed; retry before they expire).
    pub async fn renew_all(
        &self,
        holder: &LeaseHolder,
        ttl: Duration,
    ) -> Result<Vec<AccountClaim>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let now = db_now(&tx).await?;
        let until = now + micros(ttl);
        let rows = tx
            .query(
                "UPDATE fleet_accounts SET heartbeat_at = $2, expires_at = $3
                 WHERE holder_id = $1 AND expires_at >= $2
                 RETURNING account, token, expires_at",
                &[&holder.id(), &now, &until],
            )
            .await?;
        tx.execute(
            "UPDATE fleet_workers SET expires_at = $2 WHERE holder_id = $1",
            &[&holder.id(), &until],
        )
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| claim_of(row, holder))
            .collect::<Result<Vec<_>, StateError>>()
            .map_err(Into::into)
    }

    /// Releases `claim`, keeping its token so the next claim's is higher. Returns `false` when
    /// it had already been lost.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`](crate::SyncError::State) when the database fails (the claim then
    /// expires on its own).
    pub async fn release(&self, claim: &AccountClaim) -> Result<bool> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE fleet_accounts SET holder_id = NULL, host = NULL, pid = NULL,
                     acquired_at = NULL, heartbeat_at = NULL, expires_at = NULL
                 WHERE account = $1 AND token = $2 AND holder_id = $3",
                &[
                    &claim.account,
                    &token_value(claim.token)?,
                    &claim.holder.id(),
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Checks that `claim` is still the account's current, unexpired claim.
    ///
    /// # Errors
    ///
    /// [`LeaseError::ClaimLost`] when it is not; [`SyncError::State`](crate::SyncError::State)
    /// when the database fails.
    pub async fn check(&self, claim: &AccountClaim) -> Result<()> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT token, holder_id = $2 AND expires_at >= {DB_NOW}
                     FROM fleet_accounts WHERE account = $1 AND holder_id IS NOT NULL"
                ),
                &[&claim.account, &claim.holder.id()],
            )
            .await?;
        let current = match row {
            Some(row) => {
                let token = FencingToken::new(row.try_get::<_, i64>(0)?.unsigned_abs());
                let live: bool = row.try_get(1)?;
                (live || token != claim.token).then_some(token)
            }
            None => None,
        };
        if current == Some(claim.token) {
            return Ok(());
        }
        Err(LeaseError::ClaimLost {
            account: claim.account.clone(),
            pair: None,
            token: claim.token,
            current,
        }
        .into())
    }

    /// The state store of `pair` with every page commit fenced by `claim`: refused with
    /// [`LeaseError::ClaimLost`] once the claim is no longer current and unexpired, or the
    /// pair no longer belongs to the account.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`](crate::SyncError::Config) for an invalid pair id.
    pub fn fenced_store(&self, pair: &str, claim: &AccountClaim) -> Result<PostgresStateStore> {
        Ok(self
            .store()
            .for_pair(pair)?
            .fenced_by_claim(&claim.account, claim.token))
    }
}

fn claim_of(row: &tokio_postgres::Row, holder: &LeaseHolder) -> Result<AccountClaim, StateError> {
    let expires: i64 = row.try_get(2)?;
    Ok(AccountClaim {
        account: row.try_get(0)?,
        holder: holder.clone(),
        token: FencingToken::new(row.try_get::<_, i64>(1)?.unsigned_abs()),
        expires_at: DateTime::from_timestamp_micros(expires).ok_or(StateError::Corrupt {
            column: "fleet_accounts.expires_at",
            value: expires.to_string(),
        })?,
    })
}

fn micros(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX / 2)
}

fn token_value(token: FencingToken) -> Result<i64, StateError> {
    i64::try_from(token.get()).map_err(|_| StateError::Corrupt {
        column: "fleet_accounts.token",
        value: token.to_string(),
    })
}
