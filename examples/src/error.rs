//! What can go wrong in a command, said so that the person at the terminal knows what to fix.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::secrets::SecretError;

/// A command's failure. `main` prints it with its causes and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The configuration file is missing or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The vault or its key could not be used.
    #[error("cannot use the vault {}", .path.display())]
    Vault {
        /// The vault file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: sync_core::VaultError,
    },
    /// The vault or its key is not set up; the message says what to do.
    #[error("{0}")]
    VaultSetup(String),
    /// The vault lacks a credential set.
    #[error("the vault {} holds no {what} credentials; store them with `ml-connector credentials set` or `ml-connector init`", .path.display())]
    MissingCredentials {
        /// Which set.
        what: &'static str,
        /// The vault file.
        path: PathBuf,
    },
    /// The configuration names another account or host than the vault's credentials were
    /// stored for; secrets are only ever sent where they were meant to go.
    #[error("the configuration's {what} is {config}, but the vault's credentials were stored for {vault}; run `ml-connector init` again to store credentials for it")]
    Mismatch {
        /// The setting, e.g. `qad.tenant_url`.
        what: &'static str,
        /// The configuration's value.
        config: String,
        /// The vault's value.
        vault: String,
    },
    /// A secret could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A call to Mailchimp failed.
    #[error("{context}")]
    Mailchimp {
        /// What was being done.
        context: String,
        /// The client's error.
        #[source]
        source: mailchimp_client::Error,
    },
    /// A call to QAD failed.
    #[error("{context}")]
    Qad {
        /// What was being done.
        context: String,
        /// The client's error.
        #[source]
        source: qad_client::Error,
    },
    /// The sync engine failed.
    #[error("{context}")]
    Sync {
        /// What was being done.
        context: String,
        /// The engine's error.
        #[source]
        source: sync_core::SyncError,
    },
    /// A local file or socket failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The fakes of the demo failed.
    #[error("{context}")]
    Fake {
        /// What was being done.
        context: String,
        /// The fake's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Something the command was asked to do is not possible as asked.
    #[error("{0}")]
    Usage(String),
    /// `connect` or `demo` found problems (each printed already, in the report; with `--json`
    /// no separate error object follows it).
    #[error("{0}")]
    Check(String),
}

impl AppError {
    /// A stable name for the kind of failure, for scripts (`error.kind` of the JSON error
    /// object): `config`, `vault`, `missing_credentials`, `mismatch`, `secret`, `mailchimp`,
    /// `qad`, `sync`, `io`, `fake`, `usage` or `check`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(_) => "config",
            Self::Vault { .. } | Self::VaultSetup(_) => "vault",
            Self::MissingCredentials { .. } => "missing_credentials",
            Self::Mismatch { .. } => "mismatch",
            Self::Secret(_) => "secret",
            Self::Mailchimp { .. } => "mailchimp",
            Self::Qad { .. } => "qad",
            Self::Sync { .. } => "sync",
            Self::Io { .. } => "io",
            Self::Fake { .. } => "fake",
            Self::Usage(_) => "usage",
            Self::Check(_) => "check",
        }
    }
}

/// Shorthand for the commands.
pub type AppResult<T> = Result<T, AppError>;

/// Attaches what was being done to a sync-core error.
pub fn sync_err(context: impl Into<String>) -> impl FnOnce(sync_core::SyncError) -> AppError {
    let context = context.into();
    move |source| AppError::Sync { context, source }
}

/// The error and its causes on one line, as `main` prints it.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // thiserror's `transparent` and some clients repeat their cause; print it once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
