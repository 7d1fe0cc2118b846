//! The vault key: 32 random bytes, from an environment variable or a private key file.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{KeyInit, OsRng};
use chacha20poly1305::ChaCha20Poly1305;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::VaultError;

/// The environment variable [`VaultKey::from_default_env`] reads.
pub const KEY_ENV_VAR: &str = "ML_CONNECTOR_VAULT_KEY";

/// Domain separation for the key fingerprint stored in the vault header.
const FINGERPRINT_CONTEXT: &[u8] = b"ml-connector vault key fingerprint v1";

/// A 256-bit ChaCha20-Poly1305 key; wiped from memory when dropped, never shown by `Debug`.
///
/// Written as 64 hex digits or as base64 (both accepted when reading):
///
/// ```
/// use secrecy::ExposeSecret;
/// use sync_core::vault::VaultKey;
///
/// let key = VaultKey::generate();
/// let again = VaultKey::parse(key.to_hex().expose_secret(), "test").unwrap();
/// assert_eq!(key.fingerprint(), again.fingerprint());
/// assert!(VaultKey::parse("too short", "test").is_err());
/// assert_eq!(format!("{key:?}"), "VaultKey(** redacted **)");
/// ```
#[derive(Clone)]
pub struct VaultKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey(** redacted **)")
    }
}

impl VaultKey {
    /// A new key from the operating system's random source.
    #[must_use]
    pub fn generate() -> Self {
        let mut key = ChaCha20Poly1305::generate_key(&mut OsRng);
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&key);
        key.zeroize();
        Self(bytes)
    }

    /// Wraps raw key bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Reads a key written as 64 hex digits or as base64 of 32 bytes (surrounding whitespace
    /// ignored). `origin` names where it came from, for the error message.
    ///
    /// # Errors
    ///
    /// [`VaultError::InvalidKey`] when the text is neither.
    pub fn parse(text: &str, origin: &str) -> Result<Self, VaultError> {
        let text = text.trim();
        let mut bytes = Zeroizing::new([0u8; 32]);
        let hex_ok = text.len() == 64 && hex::decode_to_slice(text, &mut bytes[..]).is_ok();
        if hex_ok {
            return Ok(Self(bytes));
        }
        let decoded = Zeroizing::new(STANDARD.decode(text).unwrap_or_default());
        if decoded.len() == 32 {
            bytes.copy_from_slice(&decoded);
            return Ok(Self(bytes));
        }
        Err(VaultError::InvalidKey {
            origin: origin.to_owned(),
        })
    }

    /// Reads the key from environment variable `var`.
    ///
    /// # Errors
    ///
    /// [`VaultError::MissingKey`] when it is unset (or not Unicode);
    /// [`VaultError::InvalidKey`] when it holds no valid key.
    pub fn from_env(var: &str) -> Result<Self, VaultError> {
        let value = Zeroizing::new(std::env::var(var).map_err(|_| VaultError::MissingKey {
            var: var.to_owned(),
        })?);
        Self::parse(&value, var)
    }

    /// Reads the key from [`KEY_ENV_VAR`] (`ML_CONNECTOR_VAULT_KEY`).
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_default_env() -> Result<Self, VaultError> {
        Self::from_env(KEY_ENV_VAR)
    }

    /// Reads the key from a file that only its owner can read (on Unix: no group or other
    /// permission bits).
    ///
    /// # Errors
    ///
    /// [`VaultError::InsecureKeyFile`] when others may read it; [`VaultError::Io`] when it cannot
    /// be read; [`VaultError::InvalidKey`] when it holds no valid key.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, VaultError> {
        let path = path.as_ref();
        let io = |action| {
            move |source| VaultError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(io("inspect"))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(VaultError::InsecureKeyFile {
                    path: path.to_path_buf(),
                    mode: mode & 0o777,
                });
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io("read"))?);
        Self::parse(&text, &path.display().to_string())
    }

    /// Writes the key as hex to a new file with mode 0600 (refusing to overwrite an existing
    /// one, so a key in use is never lost).
    ///
    /// # Errors
    ///
    /// [`VaultError::Io`] when the file exists or cannot be written.
    pub fn write_new_file(&self, path: impl AsRef<Path>) -> Result<(), VaultError> {
        let path = path.as_ref();
        let io = |action| {
            move |source| VaultError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        };
        let mut file = super::create_private(path).map_err(io("create"))?;
        let text = Zeroizing::new(format!("{}\n", hex::encode(&self.0[..])));
        file.write_all(text.as_bytes()).map_err(io("write"))?;
        file.sync_all().map_err(io("sync"))
    }

    /// The key as 64 hex digits, for showing once to an operator who will store it.
    #[must_use]
    pub fn to_hex(&self) -> SecretString {
        SecretString::from(hex::encode(&self.0[..]))
    }

    /// A public 8-byte fingerprint of the key (a hash; it reveals nothing of the key), recorded
    /// in the vault header so a wrong key is told apart from a damaged file.
    #[must_use]
    pub fn fingerprint(&self) -> [u8; 8] {
        let digest = Sha256::new()
            .chain_update(FINGERPRINT_CONTEXT)
            .chain_update(&self.0[..])
            .finalize();
        let mut out = [0u8; 8];
        out.copy_from_slice(&digest[..8]);
        out
    }

    pub(super) fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&self.0[..]))
    }
}
