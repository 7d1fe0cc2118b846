//! The credentials vault: both credential sets in one file, encrypted at rest.
//!
//! The file is sealed with ChaCha20-Poly1305 under a 256-bit [`VaultKey`] taken from the
//! `ML_CONNECTOR_VAULT_KEY` environment variable or from a key file that only its owner can read.
//! Each write uses a fresh random nonce and replaces the file atomically (a private temporary file
//! in the same directory, mode 0600 from creation, synced, then renamed over the old one), so a
//! crash leaves either the old vault or the new one. Reading checks everything before returning
//! anything: a wrong key, a modified byte or a short file is an error, never a partial read. The
//! format is described in [`format`](mod@format).
//!
//! ```no_run
//! # fn run() -> sync_core::Result<()> {
//! use sync_core::vault::{Credentials, MailchimpCredentials, Vault, VaultKey};
//!
//! let vault = Vault::new("credentials.vault", VaultKey::from_default_env()?);
//! let mut creds = vault.load_or_default()?;
//! creds.mailchimp = Some(MailchimpCredentials::api_key("0123456789abcdef-us6"));
//! vault.save(&creds)?;
//! # Ok(())
//! # }
//! ```

mod credentials;
pub mod format;
mod key;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::VaultError;

pub use credentials::{
    Credentials, MailchimpAuth, MailchimpCredentials, QadAuthKind, QadCredentials, WebhookSecrets,
};
pub use key::{VaultKey, KEY_ENV_VAR};

/// A vault file and the key that opens it.
#[derive(Debug)]
pub struct Vault {
    path: PathBuf,
    key: VaultKey,
}

impl Vault {
    /// A vault at `path` (which need not exist yet) opened with `key`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>, key: VaultKey) -> Self {
        Self {
            path: path.into(),
            key,
        }
    }

    /// The vault file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the vault file exists.
    #[must_use]
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Reads and decrypts the vault.
    ///
    /// # Errors
    ///
    /// [`VaultError::Io`] when the file cannot be read; otherwise as [`format::open`].
    pub fn load(&self) -> Result<Credentials, VaultError> {
        let bytes = std::fs::read(&self.path).map_err(|source| VaultError::Io {
            action: "read",
            path: self.path.clone(),
            source,
        })?;
        format::open(&self.key, &bytes)
    }

    /// Reads the vault, or returns empty credentials if the file does not exist yet.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load), except that a missing file is not an error.
    pub fn load_or_default(&self) -> Result<Credentials, VaultError> {
        match self.load() {
            Err(VaultError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(Credentials::default())
            }
            other => other,
        }
    }

    /// Encrypts `creds` and atomically replaces the vault file with them.
    ///
    /// # Errors
    ///
    /// [`VaultError::Io`] when the temporary file cannot be created, written, synced or renamed
    /// (the old vault, if any, is then untouched).
    pub fn save(&self, creds: &Credentials) -> Result<(), VaultError> {
        let bytes = format::seal(&self.key, creds)?;
        write_atomically(&self.path, &bytes)
    }
}

/// Creates a new file (never an existing one) readable and writable by its owner only, from the
/// moment it exists, before a byte is written.
pub(crate) fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        // The umask can only clear bits of the mode above; set it exactly all the same.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

/// Writes `bytes` to a new private file beside `path`, syncs it and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    let io = |action, at: &Path| {
        let at = at.to_path_buf();
        move |source| VaultError::Io {
            action,
            path: at,
            source,
        }
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "vault".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));

    let mut file = create_private(&temp).map_err(io("create", &temp))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io("write", &temp))
        .and_then(|()| std::fs::rename(&temp, path).map_err(io("rename", path)));
    if written.is_err() {
        // Best effort: the error that matters is the one already in hand.
        let _ = std::fs::remove_file(&temp);
        return written;
    }
    // Make the rename itself durable (Unix; directories cannot be opened this way elsewhere).
    #[cfg(unix)]
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync", &dir))?;
    Ok(())
}
