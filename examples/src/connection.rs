//! From a configuration file and the vault to two clients, a state store and the engines.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::SecretString;
use sync_core::config::SyncConfig;
use sync_core::consent::ConsentWriteBack;
use sync_core::forward::ForwardSync;
use sync_core::lifecycle::LifecycleSync;
use sync_core::orders::{OrdersConfig, OrdersSync};
use sync_core::sales_orders::{SalesOrdersConfig, SalesOrdersSync};
use sync_core::vault::{Credentials, MailchimpAuth, Vault, VaultKey, KEY_ENV_VAR};
use sync_core::{SqliteStateStore, StateStore};

use crate::cli::Cli;
use crate::config::{self, FileConfig, PathsSection};
use crate::error::{sync_err, AppError, AppResult};

/// The configuration with its paths resolved (relative to the file, then command-line
/// overrides).
#[derive(Debug, Clone)]
pub struct Setup {
    /// The configuration file's path.
    pub config_path: PathBuf,
    /// Its contents.
    pub config: FileConfig,
    /// Where state, vault and key are.
    pub paths: PathsSection,
}

impl Setup {
    /// Loads the configuration named on the command line.
    ///
    /// # Errors
    ///
    /// [`AppError::Config`] naming the file, line and key of what is wrong.
    pub fn load(cli: &Cli) -> AppResult<Self> {
        let config = config::load(&cli.config)?;
        Ok(Self::new(&cli.config, config, &Overrides::from(cli)))
    }

    /// Resolves `config`'s paths relative to the file at `config_path`, then applies
    /// `overrides`.
    #[must_use]
    pub fn new(config_path: &Path, config: FileConfig, overrides: &Overrides) -> Self {
        let dir = config_path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let mut paths = config.paths.resolved(&dir);
        if let Some(state) = &overrides.state {
            paths.state.clone_from(state);
        }
        if let Some(vault) = &overrides.vault {
            paths.vault.clone_from(vault);
        }
        if let Some(key) = &overrides.key_file {
            paths.key_file = Some(key.clone());
        }
        Self {
            config_path: config_path.to_path_buf(),
            config,
            paths,
        }
    }

    /// The vault, opened with the key from the key file or the environment.
    ///
    /// # Errors
    ///
    /// [`AppError::VaultSetup`] when the key file is missing or no key is configured at all
    /// (saying what to do); [`AppError::Vault`] when the key is unreadable or invalid.
    pub fn vault(&self) -> AppResult<Vault> {
        let key = match &self.paths.key_file {
            Some(file) if !file.exists() => {
                return Err(AppError::VaultSetup(format!(
                    "the vault key file {} (paths.key_file of {}, or --key-file) does not \
                     exist: run `ml-connector init` to create the key and the vault, or point \
                     paths.key_file at your key file; {KEY_ENV_VAR} is ignored while a key file \
                     is set",
                    file.display(),
                    self.config_path.display()
                )))
            }
            Some(file) => VaultKey::from_file(file),
            None if std::env::var_os(KEY_ENV_VAR).is_none() => {
                return Err(AppError::VaultSetup(format!(
                    "no vault key: {} sets no paths.key_file and {KEY_ENV_VAR} is not set; \
                     run `ml-connector init` (it writes a key file), or set one of them",
                    self.config_path.display()
                )))
            }
            None => VaultKey::from_default_env(),
        }
        .map_err(|source| AppError::Vault {
            path: self.paths.vault.clone(),
            source,
        })?;
        Ok(Vault::new(&self.paths.vault, key))
    }

    /// Decrypts the vault.
    ///
    /// # Errors
    ///
    /// [`AppError::VaultSetup`] for a missing key or vault file (saying what to do);
    /// [`AppError::Vault`] for a wrong key or a damaged file.
    pub fn credentials(&self) -> AppResult<(Vault, Credentials)> {
        let vault = self.vault()?;
        if !vault.exists() {
            return Err(AppError::VaultSetup(format!(
                "the vault {} (paths.vault of {}, or --vault) does not exist: run `ml-connector \
                 init`, or store each credential set with `ml-connector credentials set \
                 mailchimp` and `ml-connector credentials set qad`",
                self.paths.vault.display(),
                self.config_path.display()
            )));
        }
        let creds = vault.load().map_err(|source| AppError::Vault {
            path: self.paths.vault.clone(),
            source,
        })?;
        Ok((vault, creds))
    }

    /// Opens (creating if needed) the state database.
    ///
    /// # Errors
    ///
    /// [`AppError::Sync`] when SQLite cannot open or migrate it.
    pub async fn state(&self) -> AppResult<Arc<SqliteStateStore>> {
        let store = SqliteStateStore::open(&self.paths.state)
            .await
            .map_err(sync_err(format!(
                "cannot open the state database {}",
                self.paths.state.display()
            )))?;
        Ok(Arc::new(store))
    }
}

/// Paths given on the command line, which win over the file's.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--state`.
    pub state: Option<PathBuf>,
    /// `--vault`.
    pub vault: Option<PathBuf>,
    /// `--key-file`.
    pub key_file: Option<PathBuf>,
}

impl From<&Cli> for Overrides {
    fn from(cli: &Cli) -> Self {
        Self {
            state: cli.state.clone(),
            vault: cli.vault.clone(),
            key_file: cli.key_file.clone(),
        }
    }
}

/// Everything a command needs to talk to both systems.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The configuration and paths.
    pub setup: Setup,
    /// The decrypted credentials.
    pub credentials: Credentials,
    /// Mailchimp, with the data center resolved.
    pub mailchimp: mailchimp_client::Client,
    /// The QAD tenant (no request made yet).
    pub qad: qad_client::Client,
    /// The state database.
    pub state: Arc<SqliteStateStore>,
}

impl Connection {
    /// Opens the vault, builds both clients and opens the state database.
    ///
    /// # Errors
    ///
    /// [`AppError`] for a vault problem, missing credentials, a configuration that names another
    /// host or user than the credentials were stored for, or a client that cannot be built (an
    /// OAuth token whose data center cannot be resolved, for one).
    pub async fn open(setup: Setup) -> AppResult<Self> {
        let (_, credentials) = setup.credentials()?;
        let mailchimp = mailchimp_client(&setup, &credentials).await?;
        let qad = qad_client(&setup, &credentials)?;
        let state = setup.state().await?;
        Ok(Self {
            setup,
            credentials,
            mailchimp,
            qad,
            state,
        })
    }

    /// The forward sync configured by `[sync]`.
    ///
    /// # Errors
    ///
    /// [`AppError::Sync`] when sync-core refuses the configuration.
    pub fn forward(&self) -> AppResult<ForwardSync> {
        ForwardSync::new(
            self.sync_config().clone(),
            self.mailchimp.clone(),
            self.qad.clone(),
            self.state_dyn(),
        )
        .map_err(sync_err("the [sync] configuration is not usable"))
    }

    /// The orders flow, when `[orders]` and a store are configured.
    ///
    /// # Errors
    ///
    /// [`AppError::Sync`] when sync-core refuses the `[orders]` settings.
    pub fn orders(&self) -> AppResult<Option<OrdersSync>> {
        let config = &self.setup.config;
        let (Some(settings), Some(store)) = (&config.orders, &config.sync.store) else {
            return Ok(None);
        };
        let orders = OrdersConfig::from_settings(
            store.id.as_str(),
            store.currency_code.as_str(),
            settings,
            attribution_config(config).entity().as_str(),
        )
        .map_err(sync_err("the [orders] configuration is not usable"))?;
        Ok(Some(OrdersSync::new(
            self.mailchimp.clone(),
            self.qad.clone(),
            self.state_dyn(),
            orders,
        )))
    }

    /// The lifecycle engine, when `[sync.lifecycle]` is configured; its scans hold the forward
    /// sync's lease, so a scan and a forward run of one object never overlap.
    ///
    /// # Errors
    ///
    /// [`AppError::Sync`] when sync-core refuses the configuration.
    pub fn lifecycle(&self) -> AppResult<Option<LifecycleSync>> {
        if self.sync_config().lifecycle.is_none() {
            return Ok(None);
        }
        LifecycleSync::new(
            self.sync_config().clone(),
            self.mailchimp.clone(),
            self.qad.clone(),
            self.state_dyn(),
        )
        .map(Some)
        .map_err(sync_err("the [sync.lifecycle] configuration is not usable"))
    }

    /// The consent write-back, when `[consent]` is enabled.
    #[must_use]
    pub fn consent(&self) -> Option<ConsentWriteBack> {
        let section = self.setup.config.consent_enabled()?;
        Some(ConsentWriteBack::new(
            section.settings(),
            self.qad.clone(),
            self.state_dyn(),
        ))
    }

    /// The sales-history flow, when `[sales_orders]` is enabled and a store is configured.
    #[must_use]
    pub fn sales_orders(&self) -> Option<SalesOrdersSync> {
        let config = &self.setup.config;
        let store = config.sync.store.as_ref()?;
        config.sales_orders.enabled.then(|| {
            SalesOrdersSync::new(
                self.mailchimp.clone(),
                self.qad.clone(),
                self.state_dyn(),
                SalesOrdersConfig::from_settings(store.id.as_str(), &config.sales_orders),
            )
        })
    }

    /// `[sync]`.
    #[must_use]
    pub fn sync_config(&self) -> &SyncConfig {
        &self.setup.config.sync
    }

    /// The state store as the engines take it.
    #[must_use]
    pub fn state_dyn(&self) -> Arc<dyn StateStore> {
        Arc::clone(&self.state) as Arc<dyn StateStore>
    }
}

/// Builds the Mailchimp client; for an OAuth token this resolves the data center (one call).
///
/// # Errors
///
/// [`AppError::MissingCredentials`], [`AppError::Mismatch`] or [`AppError::Mailchimp`].
pub async fn mailchimp_client(
    setup: &Setup,
    creds: &Credentials,
) -> AppResult<mailchimp_client::Client> {
    let mc = creds
        .mailchimp
        .as_ref()
        .ok_or_else(|| AppError::MissingCredentials {
            what: "Mailchimp",
            path: setup.paths.vault.clone(),
        })?;
    let configured = setup.config.mailchimp.base_url.as_ref().map(|u| &u.0);
    if configured != mc.base_url.as_ref() {
        let show = |u: Option<&url::Url>| {
            // A vault written before the base-URL policy may hold a password in it.
            u.map_or_else(
                || "the API key's data center".to_owned(),
                |u| crate::url_text::without_user_info(u.as_str()),
            )
        };
        return Err(AppError::Mismatch {
            what: "mailchimp.base_url",
            config: show(configured),
            vault: show(mc.base_url.as_ref()),
        });
    }
    let credentials = match &mc.auth {
        MailchimpAuth::ApiKey(key) => mailchimp_client::Credentials::api_key(key.clone()),
        MailchimpAuth::OAuthToken(token) => {
            mailchimp_client::Credentials::oauth_token(token.clone())
        }
    };
    let mut builder = mailchimp_client::Client::builder(credentials);
    if let Some(url) = configured {
        builder = builder.base_url(url.as_str().trim_end_matches('/'));
    }
    if let Some(max) = setup.config.mailchimp.max_concurrency {
        builder = builder.max_concurrency(max);
    }
    builder.build().await.map_err(|source| AppError::Mailchimp {
        context: "cannot set up the Mailchimp client".into(),
        source,
    })
}

/// Builds the QAD client from the configuration and the vault's password.
///
/// # Errors
///
/// [`AppError::MissingCredentials`], [`AppError::Mismatch`] (tenant or user), or
/// [`AppError::Qad`] when the client refuses the settings.
pub fn qad_client(setup: &Setup, creds: &Credentials) -> AppResult<qad_client::Client> {
    let q = &setup.config.qad;
    let stored = creds
        .qad
        .as_ref()
        .ok_or_else(|| AppError::MissingCredentials {
            what: "QAD",
            path: setup.paths.vault.clone(),
        })?;
    let same_tenant = qad_client::TenantUrl::parse(stored.tenant_url.as_str())
        .is_ok_and(|stored| stored == q.tenant_url.0);
    if !same_tenant {
        return Err(AppError::Mismatch {
            what: "qad.tenant_url",
            config: q.tenant_url.0.to_string(),
            vault: stored.tenant_url.to_string(),
        });
    }
    if stored.username != q.username {
        return Err(AppError::Mismatch {
            what: "qad.username",
            config: q.username.clone(),
            vault: stored.username.clone(),
        });
    }
    let password: SecretString = stored.password.clone();
    let credentials = match q.auth {
        config::QadAuth::FormLogin => {
            qad_client::Credentials::form_login(q.username.clone(), password)
        }
        config::QadAuth::OAuthPassword => {
            let client_id = q.client_id.clone().ok_or_else(|| {
                AppError::Usage(format!(
                    "{}: qad.client_id is needed with auth = \"oauth_password\"",
                    setup.config_path.display()
                ))
            })?;
            qad_client::Credentials::oauth_password(client_id, q.username.clone(), password)
        }
    };
    let behaviour = q.behaviour().map_err(|problem| {
        AppError::Usage(format!("{}: {problem}", setup.config_path.display()))
    })?;
    let mut builder = qad_client::Client::builder()
        .behaviour(behaviour)
        .tenant_url(q.tenant_url.0.as_str())
        .credentials(credentials)
        .domain(q.domain.as_str())
        .attribution(attribution_config(&setup.config))
        .consent(
            setup
                .config
                .consent
                .as_ref()
                .map(config::ConsentSection::qad_config)
                .unwrap_or_default(),
        );
    if let Some(entity) = &q.entity {
        builder = builder.entity(entity.as_str());
    }
    if let Some(max) = q.max_concurrency {
        builder = builder.max_concurrency(max);
    }
    builder = builder.timeout(q.request_timeout());
    let browses = &q.browses;
    let read = |id: &Option<config::BrowseIdValue>, default: qad_client::ReadConfig| match id {
        Some(id) => qad_client::ReadConfig::new(id.0.clone(), default.fields().clone())
            .with_modified_field(default.modified_field())
            .with_overlap_days(default.overlap_days()),
        None => default,
    };
    builder = builder
        .customers(read(
            &browses.customers,
            qad_client::ReadConfig::default_customers(),
        ))
        .items(read(
            &browses.items,
            qad_client::ReadConfig::default_items(),
        ))
        .sales_orders(read(
            &browses.sales_orders,
            qad_client::ReadConfig::default_sales_orders(),
        ))
        .sales_order_lines(read(
            &browses.sales_order_lines,
            qad_client::ReadConfig::default_sales_order_lines(),
        ));
    builder.build().map_err(|source| AppError::Qad {
        context: "cannot set up the QAD client".into(),
        source,
    })
}

fn attribution_config(config: &FileConfig) -> qad_client::AttributionConfig {
    let default = qad_client::AttributionConfig::default();
    match &config.qad.attribution_path {
        Some(path) => default.with_entity(path.0.clone()),
        None => default,
    }
}
