//! The vault file format, version 1.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "MLCVAULT"
//! 8       1     format version (1)
//! 9       8     key fingerprint (VaultKey::fingerprint)
//! 17      12    nonce, fresh and random for every write
//! 29      n+16  ChaCha20-Poly1305 ciphertext of the JSON credentials document, with its tag
//! ```
//!
//! The 29 header bytes are the AEAD's associated data, so a change to any byte of the file fails
//! authentication (or, for the magic, version and fingerprint, is reported as such before).

use chacha20poly1305::aead::{AeadCore, AeadInPlace, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use zeroize::Zeroizing;

use super::credentials::{Credentials, Document};
use super::key::VaultKey;
use crate::error::VaultError;

/// The first bytes of every vault file.
pub const MAGIC: &[u8; 8] = b"MLCVAULT";
/// The format version written by this build.
pub const VERSION: u8 = 1;
const FINGERPRINT_AT: usize = MAGIC.len() + 1;
const NONCE_AT: usize = FINGERPRINT_AT + 8;
const HEADER_LEN: usize = NONCE_AT + 12;
const TAG_LEN: usize = 16;
/// The length of a vault holding an empty plaintext: anything shorter is truncated.
pub const MIN_LEN: usize = HEADER_LEN + TAG_LEN;

/// Encrypts `creds` under `key` with a fresh random nonce.
///
/// # Errors
///
/// [`VaultError::Decode`] if the document cannot be encoded (it always can).
pub fn seal(key: &VaultKey, creds: &Credentials) -> Result<Vec<u8>, VaultError> {
    let document = Document::from_credentials(creds);
    // Size the buffer exactly first, so encoding never reallocates and leaves a stray copy of
    // the plaintext behind.
    let mut counter = ByteCounter(0);
    serde_json::to_writer(&mut counter, &document).map_err(VaultError::Decode)?;
    let mut out = Zeroizing::new(Vec::with_capacity(HEADER_LEN + counter.0 + TAG_LEN));
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&key.fingerprint());
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    out.extend_from_slice(&nonce);
    serde_json::to_writer(&mut *out, &document).map_err(VaultError::Decode)?;
    drop(document);

    let (header, body) = out.split_at_mut(HEADER_LEN);
    let tag = key
        .cipher()
        .encrypt_in_place_detached(&nonce, header, body)
        .map_err(|_| VaultError::Tampered)?;
    out.extend_from_slice(&tag);
    // The buffer now holds only ciphertext; hand it out without the wiping wrapper.
    Ok(std::mem::take(&mut *out))
}

/// Authenticates and decrypts a vault file's bytes.
///
/// # Errors
///
/// [`VaultError::NotAVault`], [`VaultError::Truncated`], [`VaultError::UnsupportedVersion`],
/// [`VaultError::WrongKey`], [`VaultError::Tampered`] or [`VaultError::Decode`], checked in that
/// order; no credential is returned unless every check passes.
pub fn open(key: &VaultKey, bytes: &[u8]) -> Result<Credentials, VaultError> {
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(VaultError::NotAVault);
    }
    if bytes.len() < MIN_LEN {
        return Err(VaultError::Truncated {
            len: bytes.len(),
            min: MIN_LEN,
        });
    }
    let version = bytes[MAGIC.len()];
    if version != VERSION {
        return Err(VaultError::UnsupportedVersion {
            found: version,
            supported: VERSION,
        });
    }
    if bytes[FINGERPRINT_AT..NONCE_AT] != key.fingerprint() {
        return Err(VaultError::WrongKey);
    }
    let (header, rest) = bytes.split_at(HEADER_LEN);
    let nonce = Nonce::from_slice(&header[NONCE_AT..]);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    key.cipher()
        .decrypt_in_place_detached(nonce, header, &mut plaintext, tag.into())
        .map_err(|_| VaultError::Tampered)?;
    let document: Document = serde_json::from_slice(&plaintext).map_err(VaultError::Decode)?;
    Ok(document.into_credentials())
}

/// Counts the bytes written to it.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
