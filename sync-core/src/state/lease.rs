//! One writer per object: leases in the state store, their fencing tokens, and the heartbeat
//! that keeps a lease alive while a run is long.
//!
//! A run takes the lease on its source object before it writes anything
//! ([`StateStore::acquire_lease`]), passes the lease's [`FencingToken`] into every page commit
//! ([`StateBatch::fenced`](super::StateBatch::fenced)), renews the lease while it works and
//! releases it at the end. A second writer of the same object on the same state database is
//! refused with [`LeaseError::Held`], naming the holder. A lease whose
//! holder was killed expires after its time to live and is then taken over; the new holder's
//! token is higher, so a commit by the old holder (paused, not dead) is refused with
//! [`LeaseError::Lost`] in the commit's own transaction.
//!
//! Expiry is judged by the store's clock (for SQLite, the clock of the process that writes), so
//! processes on several hosts sharing a server database need clocks in step to well under the
//! time to live.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StateStore;
use crate::error::{LeaseError, Result, SyncError};
use crate::model::ObjectKind;

/// Who holds a lease: a host, a process id, and a random part, so that two engines in one
/// process, or a process id reused after a restart, never pass for each other.
///
/// ```
/// use sync_core::state::LeaseHolder;
///
/// let a = LeaseHolder::new("erp-gw-1", 4711);
/// let b = LeaseHolder::new("erp-gw-1", 4711);
/// assert_ne!(a, b);
/// assert!(a.id().starts_with("erp-gw-1:4711:"));
/// assert_eq!(a.to_string(), "host erp-gw-1, pid 4711");
/// assert_eq!(LeaseHolder::this_process().pid(), std::process::id());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LeaseHolder {
    id: String,
    host: String,
    pid: u32,
}

impl LeaseHolder {
    /// A new holder for `host` and `pid`, with a fresh random part.
    #[must_use]
    pub fn new(host: impl Into<String>, pid: u32) -> Self {
        let host = host.into();
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            id: format!("{host}:{pid}:{}", &random[..12]),
            host,
            pid,
        }
    }

    /// A new holder for this process on this host.
    #[must_use]
    pub fn this_process() -> Self {
        Self::new(host_name(), std::process::id())
    }

    /// A holder as stored (`id` as [`id`](Self::id) gave it).
    #[must_use]
    pub fn from_parts(id: impl Into<String>, host: impl Into<String>, pid: u32) -> Self {
        Self {
            id: id.into(),
            host: host.into(),
            pid,
        }
    }

    /// The unique id: `host:pid:random`.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The host name.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

impl fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host {}, pid {}", self.host, self.pid)
    }
}

/// The host name, from the kernel where it says, else the environment, else `unknown-host`.
fn host_name() -> String {
    let from_file = ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok());
    from_file
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// A number that increases on every acquisition of an object's lease. A commit carrying a token
/// that is no longer the object's current one is refused.
///
/// ```
/// use sync_core::state::FencingToken;
///
/// assert!(FencingToken::new(2) > FencingToken::new(1));
/// assert_eq!(FencingToken::new(7).to_string(), "7");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FencingToken(u64);

impl FencingToken {
    /// Wraps a stored token.
    #[must_use]
    pub fn new(token: u64) -> Self {
        Self(token)
    }

    /// The number.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for FencingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A lease as the store granted or renewed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Lease {
    /// The object leased.
    pub object: ObjectKind,
    /// Who holds it.
    pub holder: LeaseHolder,
    /// The fencing token of this acquisition.
    pub token: FencingToken,
    /// When it was acquired.
    pub acquired_at: DateTime<Utc>,
    /// The last renewal (or the acquisition).
    pub heartbeat_at: DateTime<Utc>,
    /// When it expires unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// The error a second writer gets while this lease is live.
    #[must_use]
    pub fn held_error(&self) -> LeaseError {
        LeaseError::Held {
            object: self.object,
            holder: self.holder.clone(),
            since: self.acquired_at,
            until: self.expires_at,
        }
    }
}

/// How a run takes its lease: who it is and how long a lease lives without a heartbeat.
///
/// The heartbeat renews the lease every third of its time to live, so a lease expires only when
/// its holder stopped (killed, hung, or cut off from the database) for a whole time to live;
/// that is also how long a killed process keeps others out.
///
/// ```
/// use std::time::Duration;
/// use sync_core::state::LeasePolicy;
///
/// let policy = LeasePolicy::new().ttl(Duration::from_secs(30));
/// assert_eq!(policy.time_to_live(), Duration::from_secs(30));
/// assert_eq!(policy.heartbeat_every(), Duration::from_secs(10));
/// ```
#[derive(Clone, Debug)]
pub struct LeasePolicy {
    holder: LeaseHolder,
    ttl: Duration,
}

impl Default for LeasePolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl LeasePolicy {
    /// The default time to live.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

    /// A new holder for this process, with [`DEFAULT_TTL`](Self::DEFAULT_TTL).
    #[must_use]
    pub fn new() -> Self {
        Self {
            holder: LeaseHolder::this_process(),
            ttl: Self::DEFAULT_TTL,
        }
    }

    /// Sets the time to live (at least one second).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// Sets the holder.
    #[must_use]
    pub fn holder(mut self, holder: LeaseHolder) -> Self {
        self.holder = holder;
        self
    }

    /// The holder.
    #[must_use]
    pub fn lease_holder(&self) -> &LeaseHolder {
        &self.holder
    }

    /// The time to live.
    #[must_use]
    pub fn time_to_live(&self) -> Duration {
        self.ttl
    }

    /// How often the heartbeat renews.
    #[must_use]
    pub fn heartbeat_every(&self) -> Duration {
        self.ttl / 3
    }

    /// Acquires the lease on `object` and starts its heartbeat.
    ///
    /// # Errors
    ///
    /// [`LeaseError::Held`] (as [`SyncError::Lease`]) when another holder's lease is live;
    /// [`SyncError::State`] when the store fails.
    pub async fn acquire(
        &self,
        state: Arc<dyn StateStore>,
        object: ObjectKind,
    ) -> Result<HeldLease> {
        let lease = match state.acquire_lease(object, &self.holder, self.ttl).await {
            Ok(lease) => lease,
            Err(err) => {
                // A lease of a process of this host that no longer exists (killed, crashed) is
                // released at once rather than after its time to live; the fencing token still
                // refuses anything that process might commit.
                let Some(stale) = state
                    .lease(object)
                    .await?
                    .filter(|l| self.holder_is_dead(&l.holder))
                else {
                    return Err(err);
                };
                tracing::info!(%object, holder = %stale.holder, "taking over the lease of a process that is gone");
                state.release_lease(&stale).await?;
                state.acquire_lease(object, &self.holder, self.ttl).await?
            }
        };
        tracing::debug!(%object, token = %lease.token, holder = %lease.holder.id(), "lease acquired");
        let heartbeat = tokio::spawn(heartbeat(
            Arc::clone(&state),
            lease.clone(),
            self.ttl,
            self.heartbeat_every(),
        ));
        Ok(HeldLease {
            lease,
            state,
            heartbeat,
        })
    }
}

impl LeasePolicy {
    /// Whether `holder` is a process of this host that has ended. Known only where `/proc` lists
    /// processes (Linux); elsewhere a holder is never presumed dead and its lease expires.
    fn holder_is_dead(&self, holder: &LeaseHolder) -> bool {
        let proc = std::path::Path::new("/proc");
        holder.host() == self.holder.host()
            && holder.pid() != std::process::id()
            && proc.join("self").exists()
            && !proc.join(holder.pid().to_string()).exists()
    }
}

/// Renews the lease until it is lost or the task is stopped. A failed renewal is retried on the
/// next beat: only a lost lease ends it (the holder's next commit is then refused anyway).
async fn heartbeat(state: Arc<dyn StateStore>, lease: Lease, ttl: Duration, every: Duration) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(100)));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match state.renew_lease(&lease, ttl).await {
            Ok(_) => {}
            Err(SyncError::Lease(err)) => {
                tracing::warn!(object = %lease.object, "lease lost: {err}");
                return;
            }
            Err(err) => tracing::warn!(object = %lease.object, "lease renewal failed: {err}"),
        }
    }
}

/// A lease held by this process, renewed in the background until released or dropped.
///
/// Dropping it stops the heartbeat without releasing: the lease then expires after its time to
/// live. Call [`release`](Self::release) at the end of a run.
#[derive(Debug)]
pub struct HeldLease {
    lease: Lease,
    state: Arc<dyn StateStore>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl HeldLease {
    /// The lease as acquired.
    #[must_use]
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// The fencing token to pass into every commit made under this lease.
    #[must_use]
    pub fn token(&self) -> FencingToken {
        self.lease.token
    }

    /// Stops the heartbeat and releases the lease; returns `false` when it had already been lost.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`] when the store fails (the lease then expires on its own).
    pub async fn release(self) -> Result<bool> {
        self.heartbeat.abort();
        let released = self.state.release_lease(&self.lease).await?;
        tracing::debug!(object = %self.lease.object, released, "lease released");
        Ok(released)
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}
