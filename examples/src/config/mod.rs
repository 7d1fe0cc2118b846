//! The configuration file: everything but secrets, in TOML.
//!
//! Unknown keys are errors, and every error names the file, the line and the key
//! ([`load::ConfigError`]). Secrets live in the vault, never here.

mod load;
mod pair;
#[cfg(test)]
mod properties;
mod template;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sync_core::config::SyncConfig;
use sync_core::orders::OrdersSettings;
use sync_core::sales_orders::SalesOrdersSettings;
use sync_core::vault::QadAuthKind;

pub use load::{load, ConfigError};
pub use template::{render, TemplateValues};
pub use values::{
    BrowseIdValue, DurationValue, EntityPathValue, MailchimpRootValue, TenantUrlValue, UrlValue,
};

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Where state, vault and key live.
    #[serde(default)]
    pub paths: PathsSection,
    /// Mailchimp settings besides the key.
    #[serde(default)]
    pub mailchimp: MailchimpSection,
    /// The QAD tenant besides the password.
    pub qad: QadSection,
    /// The forward sync (sync-core's own configuration).
    pub sync: SyncConfig,
    /// Orders back to QAD (sync-core's own settings); without the table orders are not read.
    #[serde(default)]
    pub orders: Option<OrdersSettings>,
    /// QAD sales history → Mailchimp e-commerce orders (sync-core's own settings); off unless
    /// `enabled = true` (and a `[sync.store]` is configured).
    #[serde(default)]
    pub sales_orders: SalesOrdersSettings,
    /// Cadences for `run`.
    #[serde(default)]
    pub schedule: ScheduleSection,
    /// The webhook receiver for `run`; without it `run` only polls.
    #[serde(default)]
    pub webhook: Option<WebhookSection>,
    /// `run`'s `/healthz` and `/metrics` listener.
    #[serde(default)]
    pub ops: Option<OpsSection>,
    /// How long `run` keeps the history before pruning it.
    #[serde(default)]
    pub retention: RetentionSection,
    /// Members' marketing statuses written back to QAD; off unless `enabled = true`.
    #[serde(default)]
    pub consent: Option<ConsentSection>,
}

/// `[consent]`: the consent write-back (sync-core's `ConsentWriteBack`) to a QAD entity
/// (qad-client's `ConsentConfig`), run by `sync` after customers and by `run` after each
/// customers cycle.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentSection {
    /// Whether statuses are written back (default false).
    #[serde(default)]
    pub enabled: bool,
    /// The entity path records are posted to (default qad-client's
    /// `api/bdoc/mlconnector/consent/MarketingConsent`).
    #[serde(default)]
    pub entity_path: Option<EntityPathValue>,
    /// The entity's key query parameter (default `customerCode`).
    #[serde(default)]
    pub key_param: Option<String>,
    /// The statuses written back (default subscribed, unsubscribed and cleaned).
    #[serde(default)]
    pub statuses: Option<Vec<sync_core::MemberStatus>>,
}

impl ConsentSection {
    /// The QAD client's consent settings from this section.
    #[must_use]
    pub fn qad_config(&self) -> qad_client::ConsentConfig {
        let mut config = qad_client::ConsentConfig::default();
        if let Some(path) = &self.entity_path {
            config = config.with_entity(path.0.clone());
        }
        if let Some(key) = &self.key_param {
            config = config.with_key_param(key.clone());
        }
        config
    }

    /// sync-core's write-back settings from this section.
    #[must_use]
    pub fn settings(&self) -> sync_core::consent::ConsentSettings {
        let mut settings = sync_core::consent::ConsentSettings::default();
        if let Some(statuses) = &self.statuses {
            settings.statuses.clone_from(statuses);
        }
        settings
    }
}

impl FileConfig {
    /// The `[consent]` section, when it is enabled.
    #[must_use]
    pub fn consent_enabled(&self) -> Option<&ConsentSection> {
        self.consent.as_ref().filter(|c| c.enabled)
    }
}

/// `[paths]`: relative paths are taken from the configuration file's folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsSection {
    /// The SQLite state database.
    #[serde(default = "default_state")]
    pub state: PathBuf,
    /// The encrypted credentials vault.
    #[serde(default = "default_vault")]
    pub vault: PathBuf,
    /// A file holding the vault key; without it the key comes from `ML_CONNECTOR_VAULT_KEY`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

fn default_state() -> PathBuf {
    "ml-connector.db".into()
}
fn default_vault() -> PathBuf {
    "ml-connector.vault".into()
}

impl Default for PathsSection {
    fn default() -> Self {
        Self {
            state: default_state(),
            vault: default_vault(),
            key_file: None,
        }
    }
}

impl PathsSection {
    /// The paths with relative ones resolved against `dir`.
    #[must_use]
    pub fn resolved(&self, dir: &Path) -> Self {
        Self {
            state: dir.join(&self.state),
            vault: dir.join(&self.vault),
            key_file: self.key_file.as_ref().map(|k| dir.join(k)),
        }
    }
}

/// `[mailchimp]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailchimpSection {
    /// An API root overriding the data center's (proxies, tests). It must match the vault's;
    /// https (http only on loopback), no user-info, query or fragment, ending in `/3.0`.
    #[serde(default)]
    pub base_url: Option<MailchimpRootValue>,
    /// Most requests in flight at once (Mailchimp allows 10 per user, shared by all keys and integrations
    /// of the account; default 10). Adaptive: a 429 halves the client's limit, successes grow it back.
    #[serde(default)]
    pub max_concurrency: Option<usize>,
}

/// `[qad]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QadSection {
    /// The tenant URL with its context root. It must match the one the vault's password was
    /// stored for.
    pub tenant_url: TenantUrlValue,
    /// `oauth_password` (default) or `form_login`.
    #[serde(default)]
    pub auth: QadAuth,
    /// The API user.
    pub username: String,
    /// The OAuth client id (for `oauth_password`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// The domain code.
    pub domain: String,
    /// The Financials entity code.
    #[serde(default)]
    pub entity: Option<String>,
    /// Browse ids overriding qad-client's defaults.
    #[serde(default)]
    pub browses: BrowsesSection,
    /// The attribution entity path (default: qad-client's).
    #[serde(default)]
    pub attribution_path: Option<EntityPathValue>,
    /// Requests in flight at once.
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// How long one request to QAD may take (default 60 s); `connect` says QAD is not
    /// reachable when the tenant does not answer within it.
    #[serde(default)]
    pub timeout: Option<DurationValue>,
    /// `[qad.behaviour]`: how the tenant behaves where QAD documents nothing, by the setting
    /// names of `qad_client::Behaviour` (`paging.mode = "cursor"`, `paging.page_size_cap = 200`,
    /// …); unset settings keep today's guess. `connect --probe --write-config` fills it in.
    #[serde(default)]
    pub behaviour: toml::Table,
}

impl QadSection {
    /// qad-client's timeout of one request when `timeout` is not set.
    pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

    /// [`timeout`](Self::timeout), or [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT).
    #[must_use]
    pub fn request_timeout(&self) -> std::time::Duration {
        self.timeout.as_ref().map_or(Self::DEFAULT_TIMEOUT, |t| t.0)
    }

    /// The `[qad.behaviour]` settings over qad-client's defaults.
    ///
    /// # Errors
    ///
    /// A sentence naming the unknown setting or value.
    pub fn behaviour(&self) -> Result<qad_client::Behaviour, String> {
        let mut behaviour = qad_client::Behaviour::default();
        for (group, settings) in &self.behaviour {
            let toml::Value::Table(settings) = settings else {
                return Err(format!(
                    "[qad.behaviour] {group} must be a table of settings, as in {group}.<name> = …"
                ));
            };
            for (name, value) in settings {
                let full = format!("{group}.{name}");
                let value = match value {
                    toml::Value::String(text) => text.clone(),
                    toml::Value::Integer(n) => n.to_string(),
                    other => {
                        return Err(format!(
                            "[qad.behaviour] {full} = {other} is not a value name"
                        ))
                    }
                };
                behaviour
                    .set(&full, &value)
                    .map_err(|e| format!("[qad.behaviour] {e}"))?;
            }
        }
        Ok(behaviour)
    }
}

/// How to sign in to QAD, as the file spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QadAuth {
    /// OAuth2 password grant.
    #[default]
    #[serde(rename = "oauth_password")]
    OAuthPassword,
    /// On-premises form login.
    FormLogin,
}

impl QadAuth {
    /// The name in the file.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OAuthPassword => "oauth_password",
            Self::FormLogin => "form_login",
        }
    }

    /// The vault's name for it.
    #[must_use]
    pub fn kind(self) -> QadAuthKind {
        match self {
            Self::OAuthPassword => QadAuthKind::OAuthPassword,
            Self::FormLogin => QadAuthKind::FormLogin,
        }
    }
}

/// `[qad.browses]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowsesSection {
    /// The customer browse.
    #[serde(default)]
    pub customers: Option<BrowseIdValue>,
    /// The item browse.
    #[serde(default)]
    pub items: Option<BrowseIdValue>,
    /// The sales order browse.
    #[serde(default)]
    pub sales_orders: Option<BrowseIdValue>,
    /// The sales order line browse.
    #[serde(default)]
    pub sales_order_lines: Option<BrowseIdValue>,
}

/// `[schedule]`: how often `run` syncs each object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSection {
    /// Customers (default 15m).
    #[serde(default = "every_15m")]
    pub customers: DurationValue,
    /// Items (default 1h).
    #[serde(default = "every_1h")]
    pub items: DurationValue,
    /// Orders (default 5m).
    #[serde(default = "every_5m")]
    pub orders: DurationValue,
    /// Sales orders written to Mailchimp, when `[sales_orders]` is enabled (default 1h).
    #[serde(default = "every_1h")]
    pub sales_orders: DurationValue,
    /// Random delay added to each start, at most the shortest cadence (default 30s).
    #[serde(default = "jitter_30s")]
    pub jitter: DurationValue,
}

fn every_15m() -> DurationValue {
    DurationValue(Duration::from_secs(15 * 60))
}
fn every_1h() -> DurationValue {
    DurationValue(Duration::from_secs(60 * 60))
}
fn every_5m() -> DurationValue {
    DurationValue(Duration::from_secs(5 * 60))
}
fn jitter_30s() -> DurationValue {
    DurationValue(Duration::from_secs(30))
}

impl Default for ScheduleSection {
    fn default() -> Self {
        Self {
            customers: every_15m(),
            items: every_1h(),
            orders: every_5m(),
            sales_orders: every_1h(),
            jitter: jitter_30s(),
        }
    }
}

/// `[retention]`: how long the state database keeps its history; `run` prunes what is older at
/// start and hourly (see `docs/operations.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSection {
    /// Successful, skipped and rejected audit rows (default 90 days); failed, deferred and dead
    /// rows stay until resolved, whatever their age.
    #[serde(default = "ninety_days")]
    pub audit: DurationValue,
    /// Finished runs (default 90 days), longer while any of their audit rows is kept.
    #[serde(default = "ninety_days")]
    pub runs: DurationValue,
}

/// The shortest retention accepted: the audit trail is how failures are found and replayed.
pub const MIN_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

fn ninety_days() -> DurationValue {
    DurationValue(sync_core::state::Retention::DEFAULT_AGE)
}

impl Default for RetentionSection {
    fn default() -> Self {
        Self {
            audit: ninety_days(),
            runs: ninety_days(),
        }
    }
}

impl RetentionSection {
    /// The retention policy these settings describe.
    #[must_use]
    pub fn policy(&self) -> sync_core::state::Retention {
        sync_core::state::Retention::default()
            .audit(self.audit.0)
            .runs(self.runs.0)
    }
}

/// `[ops]`: `run`'s operations endpoints (`/healthz`, `/metrics`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsSection {
    /// Address to serve `/healthz` and `/metrics` on (default `127.0.0.1:9464`, loopback only;
    /// port 0 picks a free one, printed at start).
    #[serde(default = "OpsSection::default_listen")]
    pub listen: SocketAddr,
    /// `/healthz` reports an object stalled (503) when no run of it completed within this many
    /// of its cadences (default 3).
    #[serde(default = "OpsSection::default_stall_after")]
    pub stall_after: u32,
}

impl OpsSection {
    fn default_listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9464))
    }

    fn default_stall_after() -> u32 {
        3
    }
}

impl Default for OpsSection {
    fn default() -> Self {
        Self {
            listen: Self::default_listen(),
            stall_after: Self::default_stall_after(),
        }
    }
}

/// `[webhook]`: the receiver `run` starts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// Address to listen on, e.g. `0.0.0.0:8080`.
    pub listen: SocketAddr,
    /// The public base URL Mailchimp reaches the receiver at; when set, `run` registers the
    /// webhook on the audience (once) and keeps its signing secret in the vault.
    #[serde(default)]
    pub public_url: Option<UrlValue>,
    /// Accept unsigned deliveries on the secret URL (default false: signatures required).
    #[serde(default)]
    pub allow_unsigned: bool,
    /// How far a signature's timestamp may be from now (default 24 h, so Mailchimp's retries of
    /// a delivery the receiver missed, which may keep their first timestamp, are not refused;
    /// the delivery-key dedup stops replays). Shorter narrows the window for a captured delivery.
    #[serde(default)]
    pub signature_tolerance: Option<DurationValue>,
    /// Requests a second one source address may send, sustained (default 100; `0` turns the
    /// per-source limit off). The public endpoint answers 429 beyond it.
    #[serde(default)]
    pub rate_limit_per_second: Option<u32>,
    /// The largest burst one source address may send (default 1000).
    #[serde(default)]
    pub rate_limit_burst: Option<u32>,
    /// Requests handled at once, all sources together (default 64); more are answered 503.
    #[serde(default)]
    pub max_concurrent_requests: Option<usize>,
    /// The largest delivery body accepted, in bytes (default 65536); larger ones are answered
    /// 413.
    #[serde(default)]
    pub max_body_bytes: Option<usize>,
}

impl WebhookSection {
    /// The receiver's limits from this section over `config`'s defaults.
    #[must_use]
    pub fn limits(
        &self,
        config: sync_core::webhook_receiver::ReceiverConfig,
    ) -> sync_core::webhook_receiver::ReceiverConfig {
        use sync_core::webhook_receiver::{RateLimit, DEFAULT_RATE_LIMIT};
        let mut config = config;
        if self.rate_limit_per_second.is_some() || self.rate_limit_burst.is_some() {
            let limit = match self.rate_limit_per_second {
                Some(0) => None,
                per_second => Some(RateLimit::new(
                    per_second.unwrap_or(DEFAULT_RATE_LIMIT.per_second()),
                    self.rate_limit_burst.unwrap_or(DEFAULT_RATE_LIMIT.burst()),
                )),
            };
            config = config.rate_limit(limit);
        }
        if let Some(limit) = self.max_concurrent_requests {
            config = config.max_concurrent_requests(limit);
        }
        if let Some(bytes) = self.max_body_bytes {
            config = config.max_body_bytes(bytes);
        }
        config
    }
}
