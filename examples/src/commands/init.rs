//! `init`: a commented configuration file, and the credentials in the encrypted vault.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use sync_core::vault::{
    MailchimpAuth, MailchimpCredentials, QadCredentials, Vault, VaultKey, WebhookSecrets,
    KEY_ENV_VAR,
};
use sync_core::webhook_receiver::generate_path_token;

use crate::cli::{Cli, InitArgs};
use crate::config::{self, TemplateValues};
use crate::error::{AppError, AppResult};
use crate::secrets::{self, MAILCHIMP_API_KEY_VAR, MAILCHIMP_OAUTH_TOKEN_VAR, QAD_PASSWORD_VAR};
use crate::url_text::without_user_info;

/// Runs `init`.
///
/// # Errors
///
/// [`AppError::Usage`] when the file exists (without `--force`) or a setting is malformed;
/// [`AppError::Secret`] when a secret is neither in the environment nor typed in;
/// [`AppError::Vault`] or [`AppError::Io`] when a file cannot be written.
pub fn run(cli: &Cli, args: &InitArgs) -> AppResult<()> {
    if cli.config.exists() && !args.force {
        return Err(AppError::Usage(format!(
            "{} already exists; pass --force to replace it",
            cli.config.display()
        )));
    }
    let tenant_url = qad_client::TenantUrl::parse(&args.qad_url).map_err(|e| {
        let shown = without_user_info(&args.qad_url);
        AppError::Usage(format!("--qad-url {shown:?}: {e}"))
    })?;
    let mailchimp_base_url = args
        .mailchimp_base_url
        .as_deref()
        .map(|u| {
            mailchimp_client::parse_api_root(u).map_err(|e| {
                let shown = without_user_info(u);
                AppError::Usage(format!("--mailchimp-base-url {shown:?}: {e}"))
            })
        })
        .transpose()?;
    if !args.qad_form_login && args.qad_client_id.is_none() {
        return Err(AppError::Usage(
            "--qad-client-id is needed for the OAuth password grant (or pass --qad-form-login)"
                .into(),
        ));
    }

    let auth = if args.oauth {
        MailchimpAuth::OAuthToken(secrets::obtain(
            "Mailchimp OAuth token",
            MAILCHIMP_OAUTH_TOKEN_VAR,
        )?)
    } else {
        MailchimpAuth::ApiKey(secrets::obtain("Mailchimp API key", MAILCHIMP_API_KEY_VAR)?)
    };
    if let MailchimpAuth::ApiKey(key) = &auth {
        // Catch a mistyped key now rather than at the first connect.
        check_api_key_shape(key.expose_secret())?;
    }
    let password = secrets::obtain("QAD password", QAD_PASSWORD_VAR)?;

    let dir = cli
        .config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let (key, key_file) = vault_key(cli)?;
    let vault_path = cli
        .vault
        .clone()
        .unwrap_or_else(|| dir.join("ml-connector.vault"));
    let vault = Vault::new(&vault_path, key);
    let mut creds = vault.load_or_default().map_err(|source| AppError::Vault {
        path: vault_path.clone(),
        source,
    })?;
    let qad_auth = if args.qad_form_login {
        config::QadAuth::FormLogin
    } else {
        config::QadAuth::OAuthPassword
    };
    creds.mailchimp = Some(MailchimpCredentials {
        auth,
        base_url: mailchimp_base_url.clone(),
    });
    let mut qad = QadCredentials::new(
        tenant_url.as_url().clone(),
        qad_auth.kind(),
        args.qad_user.clone(),
        String::new(),
        args.qad_domain.clone(),
    );
    qad.password = password;
    qad.client_id.clone_from(&args.qad_client_id);
    creds.qad = Some(qad);
    if creds.webhook.is_none() {
        creds.webhook = Some(WebhookSecrets {
            path_token: generate_path_token(),
            signing_secret: None,
        });
    }
    vault.save(&creds).map_err(|source| AppError::Vault {
        path: vault_path.clone(),
        source,
    })?;

    let shown = |given: &Option<PathBuf>, default: &str| {
        given
            .as_ref()
            .and_then(|p| std::path::absolute(p).ok())
            .map_or_else(|| default.to_owned(), |p| p.display().to_string())
    };
    let text = config::render(&TemplateValues {
        list_id: args.list_id.clone(),
        store: args
            .store_id
            .clone()
            .map(|id| (id, args.store_name.clone(), args.currency.clone())),
        mailchimp_base_url: mailchimp_base_url.map(|u| u.to_string()),
        qad_url: tenant_url.to_string(),
        qad_auth,
        qad_user: args.qad_user.clone(),
        qad_client_id: args.qad_client_id.clone(),
        qad_domain: args.qad_domain.clone(),
        qad_attribution_path: args.qad_attribution_path.clone(),
        sales_order_match: sync_core::orders::SalesOrderMatch::None,
        sales_orders: false,
        state: shown(&cli.state, "ml-connector.db"),
        vault: shown(&cli.vault, "ml-connector.vault"),
        key_file,
    });
    std::fs::write(&cli.config, text).map_err(|source| AppError::Io {
        context: format!("cannot write {}", cli.config.display()),
        source,
    })?;
    // The file just written must load; if it does not, that is a bug worth seeing now.
    config::load(&cli.config)?;
    println!("wrote {}", cli.config.display());
    println!(
        "stored Mailchimp and QAD credentials in {} (encrypted)",
        vault_path.display()
    );
    println!(
        "next: ml-connector --config {} connect",
        cli.config.display()
    );
    Ok(())
}

/// The vault key: `--key-file` (created if missing), else `ML_CONNECTOR_VAULT_KEY`, else a key
/// file in the user's configuration directory ([`default_key_file`]), never beside the vault: one
/// backup of that folder would hold both. Returns the key file to name in the configuration.
fn vault_key(cli: &Cli) -> AppResult<(VaultKey, Option<String>)> {
    let vault_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AppError::Vault { path, source }
    };
    let file = match &cli.key_file {
        Some(file) => file.clone(),
        None if std::env::var_os(KEY_ENV_VAR).is_some() => {
            let key = VaultKey::from_default_env().map_err(vault_err(Path::new(KEY_ENV_VAR)))?;
            eprintln!("using the vault key from {KEY_ENV_VAR}");
            return Ok((key, None));
        }
        None => default_key_file()?,
    };
    let named = std::path::absolute(&file)
        .unwrap_or_else(|_| file.clone())
        .display()
        .to_string();
    if file.exists() {
        let key = VaultKey::from_file(&file).map_err(vault_err(&file))?;
        eprintln!("using the existing vault key in {named}");
        return Ok((key, Some(named)));
    }
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent).map_err(|source| AppError::Io {
            context: format!("cannot create {}", parent.display()),
            source,
        })?;
    }
    let key = VaultKey::generate();
    write_private(&file, key.to_hex().expose_secret().as_bytes()).map_err(|source| {
        AppError::Io {
            context: format!("cannot write the key file {}", file.display()),
            source,
        }
    })?;
    eprintln!(
        "generated a vault key in {named} (readable by you only); keep a copy somewhere safe, \
         apart from the vault's backups"
    );
    Ok((key, Some(named)))
}

/// `ml-connector/vault.key` under the user's configuration directory: `$XDG_CONFIG_HOME`, else
/// `~/.config` (`~/Library/Application Support` on macOS); `%APPDATA%` on Windows.
fn default_key_file() -> AppResult<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let home = || std::env::var_os("HOME").and_then(absolute);
    let base = if cfg!(windows) {
        std::env::var_os("APPDATA").and_then(absolute)
    } else {
        std::env::var_os("XDG_CONFIG_HOME")
            .and_then(absolute)
            .or_else(|| match home() {
                Some(h) if cfg!(target_os = "macos") => {
                    Some(h.join("Library").join("Application Support"))
                }
                Some(h) => Some(h.join(".config")),
                None => None,
            })
    };
    base.map(|b| b.join("ml-connector").join("vault.key"))
        .ok_or_else(|| {
            AppError::Usage(format!(
                "cannot tell where your configuration directory is (HOME is not set): set \
                 {KEY_ENV_VAR} or pass --key-file"
            ))
        })
}

/// Creates `dir` and any missing parents, each new one readable by its owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A Mailchimp API key is 32 hex digits, a dash and the data center (`…-us6`); the error never
/// repeats the key.
pub(crate) fn check_api_key_shape(key: &str) -> AppResult<()> {
    let bad = |why: &str| {
        AppError::Usage(format!(
            "the Mailchimp API key is not usable: {why} (expected 32 hex digits, a dash and the \
             data center, like 0123456789abcdef0123456789abcdef-us6)"
        ))
    };
    let (secret, dc) = key
        .split_once('-')
        .ok_or_else(|| bad("it has no -dc suffix"))?;
    if secret.len() != 32 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("the part before the dash is not 32 hex digits"));
    }
    if dc.is_empty() || !dc.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad(
            "the data center after the dash is not letters and digits",
        ));
    }
    mailchimp_client::DataCenter::from_api_key(key).map_err(|e| bad(&e.to_string()))?;
    Ok(())
}

/// Creates `path` (never replacing a file) with owner-only permissions, and writes `bytes`.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::check_api_key_shape;

    #[test]
    fn api_keys_need_32_hex_digits_a_dash_and_a_data_center() {
        assert!(check_api_key_shape("5e1f0c9a7b3d2e4f6a8b0c1d2e3f4a5b-us6").is_ok());
        assert!(check_api_key_shape("5E1F0C9A7B3D2E4F6A8B0C1D2E3F4A5B-us21").is_ok());
        for bad in [
            "not-a-key",
            "",
            "5e1f0c9a7b3d2e4f6a8b0c1d2e3f4a5b",
            "5e1f0c9a7b3d2e4f6a8b0c1d2e3f4a5b-",
            "5e1f0c9a7b3d2e4f6a8b0c1d2e3f4a5-us6",
            "5e1f0c9a7b3d2e4f6a8b0c1d2e3f4a5bb-us6",
            "5e1f0c9a7b3d2e4f6a8b0c1d2e3f4a5g-us6",
            "5e1f0c9a7b3d2e4f6a8b0c1d2e3f4a5b-us6.evil",
            "5e1f0c9a7b3d2e4f6a8b0c1d2e3f4a5b-us6-us7",
        ] {
            let err = check_api_key_shape(bad).unwrap_err().to_string();
            assert!(err.contains("32 hex digits"), "{bad:?}: {err}");
            if bad.len() > 8 {
                assert!(!err.contains(bad), "{err}");
            }
        }
    }
}
