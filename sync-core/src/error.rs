//! Error types of `sync-core`.
//!
//! [`SyncError`] is the one error every fallible function of this crate returns. It groups the
//! failures by the part that failed ([`StateError`], [`VaultError`], [`ScheduleError`]) so callers
//! can match on what went wrong without parsing messages. No variant ever carries a secret.

use std::path::PathBuf;

/// A `Result` whose error is [`SyncError`].
pub type Result<T, E = SyncError> = std::result::Result<T, E>;

/// Everything that can fail in `sync-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The state store (id map, hashes, cursors, audit trail) failed.
    #[error("state store failed")]
    State(#[from] StateError),
    /// The credentials vault could not be read or written.
    #[error("credentials vault failed")]
    Vault(#[from] VaultError),
    /// A schedule was misconfigured or the scheduler is gone.
    #[error("schedule failed")]
    Schedule(#[from] ScheduleError),
    /// A configuration value was invalid; `what` names the setting and the problem.
    #[error("invalid configuration: {what}")]
    Config {
        /// The setting and what is wrong with it.
        what: String,
    },
    /// The mapping writes merge fields the audience does not define: found by `connect` and
    /// before a run writes any member, so no record is sent with a field Mailchimp would drop.
    #[error(
        "the customer mapping writes merge field(s) {} that audience {list_id} does not define: \
         add them to the audience or remove them from [sync.mapping.customer.merge_fields]",
        tags.join(", ")
    )]
    UnknownMergeTags {
        /// The audience.
        list_id: String,
        /// The mapped tags it lacks, sorted.
        tags: Vec<String>,
    },
    /// One source record could not be mapped to its target shape.
    ///
    /// Mapping errors belong to their record: the engine records them in the audit trail and
    /// carries on with the run.
    #[error("cannot map {object} record {source_key}: {reason}")]
    Mapping {
        /// The kind of source object.
        object: crate::ObjectKind,
        /// The source record's key (for example a QAD customer code).
        source_key: String,
        /// Why the record cannot be mapped.
        reason: String,
    },
    /// A call through one of the API clients failed; the client's own error is the source.
    #[error("{system} call failed")]
    Client {
        /// Which system the call went to.
        system: crate::TargetSystem,
        /// The client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A lifecycle scan removed nothing because its read looks incomplete (no record read while
    /// records are mapped, or more removals than `lifecycle.max_removal_percent` allows). Check
    /// with a dry run; if QAD really lost the records, run once with
    /// `LifecycleOptions::allow_mass_removal`.
    #[error("lifecycle scan of {object} refused: {reason}")]
    ScanRefused {
        /// The object scanned.
        object: crate::model::ObjectKind,
        /// What looked wrong.
        reason: String,
    },
    /// The webhook receiver's server failed (reading its address, serving, or its task).
    #[error("webhook receiver failed")]
    Receiver(#[source] std::io::Error),
    /// Another writer holds the object, or this one lost it: see [`LeaseError`].
    #[error(transparent)]
    Lease(#[from] LeaseError),
}

impl SyncError {
    /// A failed QAD call, with the client's error as its source.
    pub(crate) fn qad(source: qad_client::Error) -> Self {
        Self::Client {
            system: crate::TargetSystem::Qad,
            source: Box::new(source),
        }
    }

    /// A failed Mailchimp call, with the client's error as its source.
    pub(crate) fn mailchimp(source: mailchimp_client::Error) -> Self {
        Self::Client {
            system: crate::TargetSystem::Mailchimp,
            source: Box::new(source),
        }
    }
}

/// One writer per object: the lease on an object is held by someone else, or was lost.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use sync_core::state::LeaseHolder;
/// use sync_core::{LeaseError, ObjectKind};
///
/// let err = LeaseError::Held {
///     object: ObjectKind::Customers,
///     holder: LeaseHolder::new("erp-gw-2", 4711),
///     since: Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap(),
///     until: Utc.with_ymd_and_hms(2026, 12, 4, 9, 1, 0).unwrap(),
/// };
/// let text = err.to_string();
/// assert!(text.starts_with("customers is being worked by another ml-connector: host erp-gw-2, pid 4711"));
/// assert!(text.contains("since 2026-12-04 09:00:00 UTC"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Another holder's lease on the object has not expired: it is working the object now (or
    /// was killed, and its lease runs out at `until`).
    #[error(
        "{object} is being worked by another ml-connector: host {}, pid {} (holder {}), since \
         {}, lease valid until {} unless renewed; try again once it has finished, or after that \
         if the process was killed",
        .holder.host(),
        .holder.pid(),
        .holder.id(),
        .since.format("%Y-%m-%d %H:%M:%S UTC"),
        .until.format("%Y-%m-%d %H:%M:%S UTC")
    )]
    Held {
        /// The object.
        object: crate::ObjectKind,
        /// Who holds it.
        holder: crate::state::LeaseHolder,
        /// When it took the lease.
        since: chrono::DateTime<chrono::Utc>,
        /// When the lease expires unless its holder renews it.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// The lease this writer held was taken over (it expired and another writer acquired it) or
    /// released: its fencing token is no longer current, so nothing more may be committed under
    /// it.
    #[error(
        "the lease on {object} was lost: fencing token {token} is no longer current{}",
        .current.map_or_else(|| " (the object is not leased now)".to_owned(), |c| format!(" (now {c})"))
    )]
    Lost {
        /// The object.
        object: crate::ObjectKind,
        /// The token this writer held.
        token: crate::state::FencingToken,
        /// The current token of a live lease, if any.
        current: Option<crate::state::FencingToken>,
    },
    /// A fleet worker's claim on a Mailchimp account (and so on its tenant pairs) expired, was
    /// taken over by another worker, was released, or the pair was removed: nothing more may be
    /// committed under it. The worker gives the account's pairs up.
    #[error(
        "the claim on Mailchimp account {account}{} was lost: fencing token {token} is no longer \
         current{}",
        .pair.as_ref().map_or_else(String::new, |p| format!(" (tenant pair {p})")),
        .current.map_or_else(|| " (not claimed now, or the claim expired)".to_owned(), |c| format!(" (now {c})"))
    )]
    ClaimLost {
        /// The account (the unit a worker claims).
        account: String,
        /// The tenant pair whose commit was refused, when a commit was.
        pair: Option<String>,
        /// The token of the claim this worker held.
        token: crate::state::FencingToken,
        /// The token of the account's live claim, if any.
        current: Option<crate::state::FencingToken>,
    },
}

/// A failure of the state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// SQLite reported an error.
    #[error("sqlite error")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file could not be created with owner-only permissions.
    #[error("cannot create the state database file with owner-only permissions")]
    Create(#[source] std::io::Error),
    /// The database was written by a newer build whose schema this build does not know.
    #[error(
        "state database schema version {found} is newer than this build supports ({supported})"
    )]
    SchemaTooNew {
        /// The version found in the database file.
        found: i64,
        /// The newest version this build can migrate to.
        supported: i64,
    },
    /// A stored value could not be decoded (for example an unknown outcome name).
    #[error("stored {column} value {value:?} is not valid")]
    Corrupt {
        /// The column (or field) holding the value.
        column: &'static str,
        /// The value found.
        value: String,
    },
    /// A value could not be encoded for storage.
    #[error("cannot encode {what} for storage")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The referenced run or audit row does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// What was looked up (`run`, `audit row`).
        what: &'static str,
        /// The id looked up.
        id: String,
    },
    /// PostgreSQL reported an error (or the connection to it failed).
    #[cfg(feature = "postgres")]
    #[error("postgres error")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool (the server is unreachable, or every
    /// connection stayed busy past the wait timeout).
    #[cfg(feature = "postgres")]
    #[error("no postgres connection available")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The background task running the database work panicked or was cancelled,
    /// or an earlier panic left the connection unusable.
    #[error("state store worker failed: {0}")]
    Worker(String),
}

/// A failure of the credentials vault.
///
/// Every decoding failure is reported before any credential is returned: a vault is read whole
/// or not at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The file does not start with the vault magic bytes: it is not a vault file.
    #[error("not a credentials vault file (bad magic bytes)")]
    NotAVault,
    /// The file was written in a format version this build cannot read.
    #[error("unsupported vault format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version byte found in the file.
        found: u8,
        /// The version this build reads and writes.
        supported: u8,
    },
    /// The file is shorter than the smallest possible vault.
    #[error("vault file is truncated ({len} bytes, at least {min} expected)")]
    Truncated {
        /// The file's length.
        len: usize,
        /// The smallest valid length.
        min: usize,
    },
    /// The key's fingerprint differs from the one recorded in the file header.
    #[error("the vault key does not match the key this vault was written with")]
    WrongKey,
    /// Authenticated decryption failed: the file was modified or cut short.
    #[error("vault file failed authentication: it was modified or truncated")]
    Tampered,
    /// The decrypted content is not a valid credentials document.
    #[error("vault content is not a valid credentials document")]
    Decode(#[source] serde_json::Error),
    /// A key was given in neither 64 hex digits nor base64 of 32 bytes.
    #[error("invalid vault key from {origin}: expected 32 bytes as 64 hex digits or base64")]
    InvalidKey {
        /// Where the key came from (an environment variable name or a file path).
        origin: String,
    },
    /// The key environment variable is not set.
    #[error("environment variable {var} holding the vault key is not set")]
    MissingKey {
        /// The variable's name.
        var: String,
    },
    /// The key file can be read by other users.
    #[error("key file {} has mode {mode:o}; it must not be readable by group or others (chmod 600)", path.display())]
    InsecureKeyFile {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Reading or writing a file failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done (`read`, `write`, `rename`, ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// A misconfigured schedule or a scheduler that is no longer running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// A duration string could not be parsed.
    #[error("invalid duration {input:?}")]
    BadDuration {
        /// The text given.
        input: String,
        /// The parser's error.
        #[source]
        source: humantime::DurationError,
    },
    /// A cadence of zero was given.
    #[error("cadence must be longer than zero")]
    ZeroCadence,
    /// The jitter is longer than the cadence it perturbs.
    #[error("jitter {jitter:?} exceeds cadence {every:?}")]
    JitterTooLarge {
        /// The cadence.
        every: std::time::Duration,
        /// The jitter bound.
        jitter: std::time::Duration,
    },
    /// The object has no schedule in this scheduler.
    #[error("no schedule for {0}")]
    UnknownObject(crate::ObjectKind),
    /// The scheduler has been shut down.
    #[error("scheduler is shut down")]
    ShutDown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<SyncError>();
        check::<StateError>();
        check::<VaultError>();
        check::<ScheduleError>();
        check::<LeaseError>();
    }

    #[test]
    fn display_names_the_problem_without_repeating_the_source() {
        let err = SyncError::from(VaultError::UnsupportedVersion {
            found: 9,
            supported: 1,
        });
        assert_eq!(err.to_string(), "credentials vault failed");
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("unsupported vault format version 9 (this build reads version 1)")
        );
    }
}
