//! The forward sync's configuration, loadable from TOML.

use serde::{Deserialize, Serialize};

use crate::error::{Result, SyncError};
use crate::mapping::MappingConfig;

/// Everything the forward sync needs to know besides the two clients and the state store.
///
/// Deserializable with unknown keys rejected, so a typo in the binary's TOML file is an error
/// naming the key. Only `list_id` is required; `store` is required for e-commerce writes.
///
/// ```
/// use sync_core::config::SyncConfig;
///
/// let config: SyncConfig = toml::from_str(r#"
///     list_id = "a1b2c3"
///     member_batch_threshold = 10
///     [store]
///     id = "qad-eu"
///     name = "ACME EU"
///     currency_code = "EUR"
///     [mapping.customer]
///     status_if_new = "transactional"
/// "#).unwrap();
/// config.validate().unwrap();
/// assert_eq!(config.page_size, 500); // default
/// assert!(toml::from_str::<SyncConfig>("list_id = \"x\"\npage_sise = 5").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// The Mailchimp audience members are written to and the store is linked to.
    pub list_id: String,
    /// The e-commerce store; without it no e-commerce customers or products are written.
    #[serde(default)]
    pub store: Option<StoreConfig>,
    /// How QAD fields map to Mailchimp fields.
    #[serde(default)]
    pub mapping: MappingConfig,
    /// Write audience members (default `true`).
    #[serde(default = "yes")]
    pub members: bool,
    /// Write e-commerce customers for QAD customers (default `true`; needs `store`).
    #[serde(default = "yes")]
    pub ecommerce_customers: bool,
    /// QAD records per page read; one page is one state transaction (default 500).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Pages read ahead of the writer; bounds memory (default 2).
    #[serde(default = "default_read_ahead")]
    pub read_ahead_pages: usize,
    /// From this many new members in a page on, members go through batch subscribe (500 a
    /// call); fewer go one `PUT` each (default 20).
    #[serde(default = "default_batch_threshold")]
    pub member_batch_threshold: usize,
    /// Before its first member batch, a run reads the audience's members (address and status,
    /// 1000 a call) so that batches update existing members in place instead of one `GET` and
    /// `PUT` each; it does so only for an audience of at most this many members, and only when
    /// the read costs at most one call per member to write (default 100,000; 0 never reads).
    #[serde(default = "default_prefetch_limit")]
    pub member_prefetch_limit: u64,
    /// Seconds a read of the audience's statuses stays fresh for the member batches after it
    /// (default 0: every batch holding a known member re-reads the members changed since, so a
    /// member who unsubscribed seconds ago is never batched with the status they had). A higher
    /// value saves one serial read per batch on long runs at the price of that window: a member
    /// who changes status within it may be sent their previous status (run the webhook receiver,
    /// whose unsubscribes the runs see through the state store, if you raise it).
    #[serde(default)]
    pub audience_refresh_secs: u64,
    /// Concurrent e-commerce and member `PUT`s (default 10; the client's own cap still applies).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Resume an interrupted run after the last committed key, assuming the browse returns
    /// records in key order, as QAD browses over a primary index do (default `true`). With
    /// `false` a resumed run re-reads from its start and change detection skips what was written.
    #[serde(default = "yes")]
    pub resume_after_key: bool,
    /// The orders flow back to QAD (`[orders]`: sales order matching, page size); see
    /// [`OrdersConfig::from_settings`](crate::orders::OrdersConfig::from_settings).
    #[serde(default)]
    pub orders: crate::orders::OrdersSettings,
    /// What happens to customers and items that leave QAD or stop being active
    /// ([`lifecycle`](crate::lifecycle); `[sync.lifecycle]` in the file). Default none: nothing is
    /// ever removed and every customer is written.
    #[serde(default)]
    pub lifecycle: Option<crate::lifecycle::LifecycleConfig>,
}

fn yes() -> bool {
    true
}
fn default_prefetch_limit() -> u64 {
    100_000
}
fn default_page_size() -> u32 {
    500
}
fn default_read_ahead() -> usize {
    2
}
fn default_batch_threshold() -> usize {
    20
}
fn default_concurrency() -> usize {
    10
}

impl SyncConfig {
    /// A configuration with every default, writing to the audience `list_id`.
    #[must_use]
    pub fn new(list_id: impl Into<String>) -> Self {
        Self {
            list_id: list_id.into(),
            store: None,
            mapping: MappingConfig::default(),
            members: true,
            ecommerce_customers: true,
            page_size: default_page_size(),
            read_ahead_pages: default_read_ahead(),
            member_batch_threshold: default_batch_threshold(),
            member_prefetch_limit: default_prefetch_limit(),
            audience_refresh_secs: 0,
            concurrency: default_concurrency(),
            resume_after_key: true,
            orders: crate::orders::OrdersSettings::default(),
            lifecycle: None,
        }
    }

    /// Sets the store.
    #[must_use]
    pub fn with_store(mut self, store: StoreConfig) -> Self {
        self.store = Some(store);
        self
    }

    /// Checks the values that deserialization cannot.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] naming the setting: an empty list or store id, a page size of 0, a
    /// currency code that is not three upper-case letters, a concurrency of 0.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| {
            Err(SyncError::Config {
                what: what.to_owned(),
            })
        };
        if self.list_id.trim().is_empty() {
            return bad("list_id must not be empty");
        }
        if self.page_size == 0 {
            return bad("page_size must be at least 1");
        }
        if self.concurrency == 0 || self.read_ahead_pages == 0 {
            return bad("concurrency and read_ahead_pages must be at least 1");
        }
        if let Some(lifecycle) = &self.lifecycle {
            lifecycle
                .validate()
                .map_err(|what| SyncError::Config { what })?;
            if lifecycle.products == crate::lifecycle::ProductRemoval::Delete
                && self.mapping.item.inactive != crate::mapping::InactiveItems::Skip
            {
                return bad(
                    "lifecycle.products = \"delete\" needs item.inactive = \"skip\" (the forward \
                     sync would write the deleted products back as hidden)",
                );
            }
        }
        if let Some(store) = &self.store {
            if store.id.trim().is_empty() || store.name.trim().is_empty() {
                return bad("store.id and store.name must not be empty");
            }
            let code = &store.currency_code;
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return bad("store.currency_code must be a three-letter ISO 4217 code such as EUR");
            }
        }
        Ok(())
    }
}

/// The e-commerce store the connector writes to, linked to the configured audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The store id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// ISO 4217 currency of prices.
    pub currency_code: String,
    /// Platform label (default `QAD`).
    #[serde(default = "default_platform")]
    pub platform: String,
    /// Shop domain.
    #[serde(default)]
    pub domain: Option<String>,
    /// Write to the store even though its `platform` names another QAD tenant or platform
    /// (default `false`). The connector writes `platform` as `QAD (<tenant URL>)` so a staging
    /// system pointed at the live store is refused instead of overwriting it; set this once to
    /// move a store to a new tenant on purpose.
    #[serde(default)]
    pub take_over: bool,
}

fn default_platform() -> String {
    "QAD".into()
}

impl StoreConfig {
    /// A store with the default platform and no domain.
    #[must_use]
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        currency_code: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            currency_code: currency_code.into(),
            platform: default_platform(),
            domain: None,
            take_over: false,
        }
    }
}
