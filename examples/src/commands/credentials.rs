//! `credentials set` and `credentials show`: rotate one secret in the vault, or see what the
//! vault holds, without touching the configuration file.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sync_core::vault::{
    Credentials, MailchimpAuth, MailchimpCredentials, QadCredentials, WebhookSecrets, KEY_ENV_VAR,
};
use sync_core::webhook_receiver::generate_path_token;

use crate::cli::{Cli, CredentialsAction, CredentialsArgs, CredentialsSet, CredentialsSystem};
use crate::connection::Setup;
use crate::error::{AppError, AppResult};
use crate::output::print_json;
use crate::secrets::{self, MAILCHIMP_API_KEY_VAR, MAILCHIMP_OAUTH_TOKEN_VAR, QAD_PASSWORD_VAR};

/// Runs `credentials`.
///
/// # Errors
///
/// [`AppError`] for an unusable configuration, key or vault, or a secret that cannot be read.
pub fn run(cli: &Cli, args: &CredentialsArgs) -> AppResult<()> {
    let setup = Setup::load(cli)?;
    match &args.action {
        CredentialsAction::Set(set) => set_credentials(&setup, set),
        CredentialsAction::Show { json } => {
            let shown = show(&setup)?;
            if *json {
                print_json(&shown)
            } else {
                print_text(&shown);
                Ok(())
            }
        }
    }
}

/// A secret from `--stdin`, else the environment variable, else a prompt.
fn secret(stdin: bool, what: &'static str, var: &'static str) -> AppResult<SecretString> {
    Ok(if stdin {
        secrets::from_stdin(what)?
    } else {
        secrets::obtain(what, var)?
    })
}

/// Replaces one credential set; the other sets, and the configuration file, stay as they are.
/// The set is bound to what the configuration names now (Mailchimp API root; QAD tenant, user,
/// client id and domain), so the next command finds them matching.
fn set_credentials(setup: &Setup, set: &CredentialsSet) -> AppResult<()> {
    let vault = setup.vault()?;
    let mut creds = vault.load_or_default().map_err(|source| AppError::Vault {
        path: setup.paths.vault.clone(),
        source,
    })?;
    let what = match set.system {
        CredentialsSystem::Mailchimp => {
            let auth = if set.oauth {
                MailchimpAuth::OAuthToken(secret(
                    set.stdin,
                    "Mailchimp OAuth token",
                    MAILCHIMP_OAUTH_TOKEN_VAR,
                )?)
            } else {
                let key = secret(set.stdin, "Mailchimp API key", MAILCHIMP_API_KEY_VAR)?;
                super::init::check_api_key_shape(key.expose_secret())?;
                MailchimpAuth::ApiKey(key)
            };
            creds.mailchimp = Some(MailchimpCredentials {
                auth,
                base_url: setup
                    .config
                    .mailchimp
                    .base_url
                    .as_ref()
                    .map(|u| u.0.clone()),
            });
            "Mailchimp"
        }
        CredentialsSystem::Qad => {
            if set.oauth {
                return Err(AppError::Usage(
                    "--oauth applies to Mailchimp; QAD's sign-in is qad.auth of the configuration"
                        .into(),
                ));
            }
            let password = secret(set.stdin, "QAD password", QAD_PASSWORD_VAR)?;
            let q = &setup.config.qad;
            let mut qad = QadCredentials::new(
                q.tenant_url.0.as_url().clone(),
                q.auth.kind(),
                q.username.clone(),
                String::new(),
                q.domain.clone(),
            );
            qad.password = password;
            qad.client_id.clone_from(&q.client_id);
            qad.entity = creds.qad.as_ref().and_then(|old| old.entity.clone());
            creds.qad = Some(qad);
            "QAD"
        }
    };
    if creds.webhook.is_none() {
        creds.webhook = Some(WebhookSecrets {
            path_token: generate_path_token(),
            signing_secret: None,
        });
    }
    vault.save(&creds).map_err(|source| AppError::Vault {
        path: setup.paths.vault.clone(),
        source,
    })?;
    println!(
        "stored the {what} credentials in {} (encrypted); {} is unchanged",
        setup.paths.vault.display(),
        setup.config_path.display()
    );
    println!(
        "next: ml-connector --config {} connect",
        setup.config_path.display()
    );
    Ok(())
}

/// What `credentials show` prints: where things are and what the vault holds, never a secret.
#[derive(Debug, Serialize)]
pub struct CredentialsView {
    /// The configuration file.
    pub config: String,
    /// The vault file.
    pub vault: String,
    /// Whether the vault file exists.
    pub vault_exists: bool,
    /// When the vault file was last written (any credential set), UTC.
    pub vault_modified_at: Option<DateTime<Utc>>,
    /// Where the key comes from.
    pub key: KeySource,
    /// The Mailchimp set, when stored.
    pub mailchimp: Option<MailchimpView>,
    /// The QAD set, when stored.
    pub qad: Option<QadView>,
    /// The webhook receiver's secrets, when stored.
    pub webhook: Option<WebhookView>,
}

/// Where the vault key comes from.
#[derive(Debug, Serialize)]
pub struct KeySource {
    /// `key_file` or `environment`.
    pub kind: &'static str,
    /// The key file, or the environment variable's name.
    pub location: String,
    /// Whether the key file exists, or the variable is set.
    pub present: bool,
    /// Whether `ML_CONNECTOR_VAULT_KEY` is set but ignored because a key file is configured.
    pub environment_ignored: bool,
}

/// The Mailchimp set, without its key or token.
#[derive(Debug, Serialize)]
pub struct MailchimpView {
    /// `api_key` or `oauth_token`.
    pub auth: &'static str,
    /// The data center of an API key (an OAuth token's is found on connect).
    pub data_center: Option<String>,
    /// The API root override stored with it.
    pub base_url: Option<String>,
}

/// The QAD set, without its password.
#[derive(Debug, Serialize)]
pub struct QadView {
    /// The tenant URL it is bound to.
    pub tenant_url: String,
    /// `oauth_password` or `form_login`.
    pub auth: sync_core::vault::QadAuthKind,
    /// The user.
    pub username: String,
    /// The OAuth client id.
    pub client_id: Option<String>,
    /// The domain code.
    pub domain: String,
}

/// The webhook secrets, as presence only (the path token is secret too).
#[derive(Debug, Serialize)]
pub struct WebhookView {
    /// Whether a signing secret is stored (after the webhook was registered).
    pub signing_secret: bool,
}

fn show(setup: &Setup) -> AppResult<CredentialsView> {
    let env_set = std::env::var_os(KEY_ENV_VAR).is_some();
    let key = match &setup.paths.key_file {
        Some(file) => KeySource {
            kind: "key_file",
            location: file.display().to_string(),
            present: file.exists(),
            environment_ignored: env_set,
        },
        None => KeySource {
            kind: "environment",
            location: KEY_ENV_VAR.to_owned(),
            present: env_set,
            environment_ignored: false,
        },
    };
    let vault_path = &setup.paths.vault;
    let vault_modified_at = std::fs::metadata(vault_path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from);
    let creds = if vault_path.exists() {
        setup.credentials()?.1
    } else {
        Credentials::default()
    };
    Ok(CredentialsView {
        config: setup.config_path.display().to_string(),
        vault: vault_path.display().to_string(),
        vault_exists: vault_path.exists(),
        vault_modified_at,
        key,
        mailchimp: creds.mailchimp.as_ref().map(|m| MailchimpView {
            auth: match m.auth {
                MailchimpAuth::ApiKey(_) => "api_key",
                MailchimpAuth::OAuthToken(_) => "oauth_token",
            },
            data_center: match &m.auth {
                MailchimpAuth::ApiKey(key) => {
                    mailchimp_client::DataCenter::from_api_key(key.expose_secret())
                        .ok()
                        .map(|dc| dc.as_str().to_owned())
                }
                MailchimpAuth::OAuthToken(_) => None,
            },
            base_url: m
                .base_url
                .as_ref()
                .map(|u| crate::url_text::without_user_info(u.as_str())),
        }),
        qad: creds.qad.as_ref().map(|q| QadView {
            tenant_url: q.tenant_url.to_string(),
            auth: q.auth_kind,
            username: q.username.clone(),
            client_id: q.client_id.clone(),
            domain: q.domain.clone(),
        }),
        webhook: creds.webhook.as_ref().map(|w| WebhookView {
            signing_secret: w.signing_secret.is_some(),
        }),
    })
}

fn print_text(v: &CredentialsView) {
    let modified = v
        .vault_modified_at
        .map(|t| format!(", last changed {}", t.format("%Y-%m-%d %H:%M:%S UTC")))
        .unwrap_or_default();
    if v.vault_exists {
        println!("vault        {}{modified}", v.vault);
    } else {
        println!(
            "vault        {} does not exist: `ml-connector credentials set mailchimp|qad` or \
             `ml-connector init` creates it",
            v.vault
        );
    }
    let k = &v.key;
    let state = if k.present { "" } else { " (missing)" };
    match k.kind {
        "key_file" if k.environment_ignored => println!(
            "key          file {}{state}; {KEY_ENV_VAR} is set but ignored while a key file is configured",
            k.location
        ),
        "key_file" => println!("key          file {}{state}", k.location),
        _ => println!("key          environment variable {}{state}", k.location),
    }
    match &v.mailchimp {
        Some(m) => println!(
            "mailchimp    {}{}{}",
            m.auth.replace('_', " "),
            m.data_center
                .as_ref()
                .map(|dc| format!(", data center {dc}"))
                .unwrap_or_default(),
            m.base_url
                .as_ref()
                .map(|u| format!(", API root {u}"))
                .unwrap_or_default()
        ),
        None => println!("mailchimp    not stored"),
    }
    match &v.qad {
        Some(q) => println!(
            "qad          {} as {} ({:?}), domain {}",
            q.tenant_url, q.username, q.auth, q.domain
        ),
        None => println!("qad          not stored"),
    }
    match &v.webhook {
        Some(w) if w.signing_secret => println!("webhook      path token and signing secret"),
        Some(_) => println!("webhook      path token (no signing secret until registered)"),
        None => println!("webhook      not stored"),
    }
}
