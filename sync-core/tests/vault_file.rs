//! The credentials vault: round trip, no plaintext on disk, wrong keys, tampering, truncation,
//! file mode, fresh nonces, and key loading.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use secrecy::{ExposeSecret, SecretString};
use sync_core::vault::{
    format, Credentials, MailchimpAuth, MailchimpCredentials, QadAuthKind, QadCredentials, Vault,
    VaultKey, WebhookSecrets,
};
use sync_core::VaultError;
use url::Url;

const API_KEY: &str = "5f3c9a1e2b7d4c6f8a0b1c2d3e4f5a6b-us6";
const QAD_PASSWORD: &str = "Pässwörd-Ωmega-93817";
const PATH_TOKEN: &str = "f1e2d3c4b5a697887766554433221100";
const SIGNING_SECRET: &str = "whsec-9d8c7b6a5f4e3d2c1b0a";

fn credentials() -> Credentials {
    Credentials {
        mailchimp: Some(
            MailchimpCredentials::api_key(API_KEY)
                .with_base_url(Url::parse("http://127.0.0.1:9000/3.0").unwrap()),
        ),
        qad: Some(
            QadCredentials::new(
                Url::parse("https://acme.qad.com/clouderp").unwrap(),
                QadAuthKind::OAuthPassword,
                "svc-mailchimp",
                QAD_PASSWORD,
                "10USA",
            )
            .with_client_id("qad-cloud-client")
            .with_entity("10USACO"),
        ),
        webhook: Some(WebhookSecrets {
            path_token: SecretString::from(PATH_TOKEN),
            signing_secret: Some(SecretString::from(SIGNING_SECRET)),
        }),
    }
}

fn assert_same(a: &Credentials, b: &Credentials) {
    let (ma, mb) = (a.mailchimp.as_ref().unwrap(), b.mailchimp.as_ref().unwrap());
    match (&ma.auth, &mb.auth) {
        (MailchimpAuth::ApiKey(x), MailchimpAuth::ApiKey(y))
        | (MailchimpAuth::OAuthToken(x), MailchimpAuth::OAuthToken(y)) => {
            assert_eq!(x.expose_secret(), y.expose_secret());
        }
        _ => panic!("auth kind changed"),
    }
    assert_eq!(ma.base_url, mb.base_url);
    let (qa, qb) = (a.qad.as_ref().unwrap(), b.qad.as_ref().unwrap());
    assert_eq!(qa.tenant_url, qb.tenant_url);
    assert_eq!(qa.auth_kind, qb.auth_kind);
    assert_eq!(qa.username, qb.username);
    assert_eq!(qa.password.expose_secret(), qb.password.expose_secret());
    assert_eq!(qa.client_id, qb.client_id);
    assert_eq!(qa.domain, qb.domain);
    assert_eq!(qa.entity, qb.entity);
    let (wa, wb) = (a.webhook.as_ref().unwrap(), b.webhook.as_ref().unwrap());
    assert_eq!(wa.path_token.expose_secret(), wb.path_token.expose_secret());
    assert_eq!(
        wa.signing_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        wb.signing_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_saved_vault_loads_back_the_same_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::new(dir.path().join("creds.vault"), VaultKey::generate());
    assert!(!vault.exists());
    assert!(vault.load_or_default().unwrap().mailchimp.is_none());
    vault.save(&credentials()).unwrap();
    assert!(vault.exists());
    assert_same(&vault.load().unwrap(), &credentials());

    // An OAuth token and an empty set survive too.
    let oauth = Credentials {
        mailchimp: Some(MailchimpCredentials::oauth_token("oauth-token-abc")),
        ..Credentials::default()
    };
    vault.save(&oauth).unwrap();
    let loaded = vault.load().unwrap();
    assert!(loaded.qad.is_none());
    match &loaded.mailchimp.unwrap().auth {
        MailchimpAuth::OAuthToken(t) => assert_eq!(t.expose_secret(), "oauth-token-abc"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_file_holds_no_secret_in_any_form() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.vault");
    let vault = Vault::new(&path, VaultKey::generate());
    vault.save(&credentials()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for secret in [API_KEY, QAD_PASSWORD, PATH_TOKEN, SIGNING_SECRET] {
        assert!(!contains(&bytes, secret.as_bytes()), "{secret} in file");
        // Nor its distinctive halves (a partial leak), nor hex of it.
        let half = &secret[..secret.len() / 2];
        assert!(!contains(&bytes, half.as_bytes()));
        assert!(!contains(&bytes, hex::encode(secret).as_bytes()));
    }
    // Non-secret fields are encrypted as well.
    assert!(!contains(&bytes, b"svc-mailchimp"));
    assert!(!contains(&bytes, b"acme.qad.com"));
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("creds.vault")]);
}

#[test]
fn debug_output_shows_no_secret() {
    let shown = format!("{:?}", credentials());
    for secret in [API_KEY, QAD_PASSWORD, PATH_TOKEN, SIGNING_SECRET] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(
        shown.contains("svc-mailchimp"),
        "non-secret fields stay visible: {shown}"
    );
    let vault = Vault::new("x", VaultKey::generate());
    assert!(format!("{vault:?}").contains("redacted"));
}

#[test]
fn a_wrong_key_is_reported_as_such() {
    let sealed = format::seal(&VaultKey::generate(), &credentials()).unwrap();
    let err = format::open(&VaultKey::generate(), &sealed).unwrap_err();
    assert!(matches!(err, VaultError::WrongKey), "{err:?}");
}

#[test]
fn every_single_byte_flip_is_rejected() {
    let key = VaultKey::generate();
    let sealed = format::seal(&key, &credentials()).unwrap();
    for index in 0..sealed.len() {
        for mask in [0x01u8, 0x80] {
            let mut bytes = sealed.clone();
            bytes[index] ^= mask;
            let err = format::open(&key, &bytes).expect_err("a flipped byte must be rejected");
            let expected = match index {
                0..=7 => matches!(err, VaultError::NotAVault),
                8 => matches!(err, VaultError::UnsupportedVersion { .. }),
                9..=16 => matches!(err, VaultError::WrongKey),
                _ => matches!(err, VaultError::Tampered),
            };
            assert!(expected, "byte {index}: {err:?}");
        }
    }
}

#[test]
fn truncation_at_every_length_is_rejected() {
    let key = VaultKey::generate();
    let sealed = format::seal(&key, &credentials()).unwrap();
    for len in 0..sealed.len() {
        let err = format::open(&key, &sealed[..len]).expect_err("a truncated vault must fail");
        if len < format::MIN_LEN {
            assert!(
                matches!(err, VaultError::Truncated { .. }),
                "len {len}: {err:?}"
            );
        } else {
            assert!(matches!(err, VaultError::Tampered), "len {len}: {err:?}");
        }
    }
    // Trailing garbage is tampering too.
    let mut longer = sealed.clone();
    longer.push(0);
    assert!(matches!(
        format::open(&key, &longer),
        Err(VaultError::Tampered)
    ));
}

#[test]
fn foreign_files_and_future_versions_are_named() {
    let key = VaultKey::generate();
    assert!(matches!(
        format::open(&key, b"{\"mailchimp\": null}"),
        Err(VaultError::NotAVault)
    ));
    let mut future = format::seal(&key, &credentials()).unwrap();
    future[8] = 2;
    assert!(matches!(
        format::open(&key, &future),
        Err(VaultError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    ));
}

#[test]
fn two_writes_use_different_nonces() {
    let key = VaultKey::generate();
    let a = format::seal(&key, &credentials()).unwrap();
    let b = format::seal(&key, &credentials()).unwrap();
    assert_eq!(a[..17], b[..17], "same header up to the nonce");
    assert_ne!(a[17..29], b[17..29], "fresh nonce");
    assert_ne!(a[29..], b[29..]);
}

#[cfg(unix)]
#[test]
fn the_vault_file_is_private_and_replaced_atomically() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.vault");
    let vault = Vault::new(&path, VaultKey::generate());
    vault.save(&credentials()).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // Overwriting an existing world-readable file still yields a private one.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    vault.save(&credentials()).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_same(&vault.load().unwrap(), &credentials());
}

#[test]
fn a_failed_write_keeps_the_old_vault() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.vault");
    let vault = Vault::new(&path, VaultKey::generate());
    vault.save(&credentials()).unwrap();
    let before = std::fs::read(&path).unwrap();
    // A vault whose path is a directory cannot be replaced by a rename.
    let blocked = Vault::new(dir.path().join("sub"), VaultKey::generate());
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub").join("keep"), b"x").unwrap();
    assert!(matches!(
        blocked.save(&credentials()),
        Err(VaultError::Io {
            action: "rename",
            ..
        })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn keys_parse_from_hex_and_base64_and_nothing_else() {
    let hex_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let from_hex = VaultKey::parse(hex_key, "test").unwrap();
    let b64 = base64_of(&hex::decode(hex_key).unwrap());
    let from_b64 = VaultKey::parse(&format!("  {b64}\n"), "test").unwrap();
    assert_eq!(from_hex.fingerprint(), from_b64.fingerprint());
    assert_eq!(from_hex.to_hex().expose_secret(), hex_key);
    for bad in ["", "zz", &hex_key[..62], &base64_of(&[7u8; 31])] {
        let err = VaultKey::parse(bad, "MY_VAR").unwrap_err();
        assert!(matches!(&err, VaultError::InvalidKey { origin } if origin == "MY_VAR"));
        assert!(!err.to_string().contains(hex_key));
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn keys_load_from_the_environment() {
    // A variable name no other test uses, so parallel tests do not race on it.
    let var = "SYNC_CORE_TEST_VAULT_KEY_7F3A";
    assert!(matches!(
        VaultKey::from_env(var),
        Err(VaultError::MissingKey { var: v }) if v == var
    ));
    let key = VaultKey::generate();
    std::env::set_var(var, key.to_hex().expose_secret());
    let loaded = VaultKey::from_env(var).unwrap();
    std::env::remove_var(var);
    assert_eq!(loaded.fingerprint(), key.fingerprint());
}

#[cfg(unix)]
#[test]
fn key_files_are_created_private_and_must_stay_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.key");
    let key = VaultKey::generate();
    key.write_new_file(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        VaultKey::from_file(&path).unwrap().fingerprint(),
        key.fingerprint()
    );
    assert!(
        matches!(
            key.write_new_file(&path),
            Err(VaultError::Io {
                action: "create",
                ..
            })
        ),
        "an existing key file is never overwritten"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = VaultKey::from_file(&path).unwrap_err();
    assert!(
        matches!(err, VaultError::InsecureKeyFile { mode: 0o640, .. }),
        "{err:?}"
    );
    assert!(matches!(
        VaultKey::from_file(dir.path().join("missing.key")),
        Err(VaultError::Io { .. })
    ));
}
