//! What the orders flow needs to know about the store and the tenant.

use std::fmt;
use std::str::FromStr;

use mailchimp_client::ecommerce::StoreId;
use serde::{Deserialize, Serialize};

/// How a Mailchimp order is matched to an existing QAD sales order.
///
/// ```
/// use sync_core::orders::SalesOrderMatch;
///
/// let rule: SalesOrderMatch = "customer_po".parse().unwrap();
/// assert_eq!(rule, SalesOrderMatch::CustomerPo);
/// assert_eq!(SalesOrderMatch::default(), SalesOrderMatch::None);
/// assert!("po".parse::<SalesOrderMatch>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SalesOrderMatch {
    /// The order id is the QAD sales order number (`salesOrderNumber`): the shop creates its
    /// orders in QAD first.
    SalesOrderNumber,
    /// The order id is the customer PO of a QAD sales order (`customerPO`): the order was keyed
    /// into QAD with the shop's order id as its PO.
    CustomerPo,
    /// Never look for a sales order; records carry a blank sales order number.
    #[default]
    None,
}

impl SalesOrderMatch {
    /// The name used in configuration files.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::SalesOrderNumber => "sales_order_number",
            Self::CustomerPo => "customer_po",
            Self::None => "none",
        }
    }
}

impl fmt::Display for SalesOrderMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SalesOrderMatch {
    type Err = crate::UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::SalesOrderNumber, Self::CustomerPo, Self::None]
            .into_iter()
            .find(|rule| rule.as_str() == s)
            .ok_or_else(|| crate::UnknownName {
                kind: "SalesOrderMatch",
                name: s.to_owned(),
            })
    }
}

/// The `[orders]` settings of a configuration file: how orders are matched and paged. The store
/// comes from the store section ([`OrdersConfig::from_settings`]).
///
/// ```
/// use sync_core::orders::{OrdersSettings, SalesOrderMatch};
///
/// let settings: OrdersSettings = serde_json::from_str(r#"{"sales_order_match": "customer_po"}"#)?;
/// assert_eq!(settings.sales_order_match, SalesOrderMatch::CustomerPo);
/// assert_eq!(settings.page_size, 200);
/// assert!(serde_json::from_str::<OrdersSettings>(r#"{"page_sise": 5}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OrdersSettings {
    /// How orders are matched to QAD sales orders (default `none`).
    #[serde(default)]
    pub sales_order_match: SalesOrderMatch,
    /// Orders read per page (and per state transaction); 1 to 1000 (default 200).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Orders of one page handled at once (default 4).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

impl Default for OrdersSettings {
    fn default() -> Self {
        Self {
            sales_order_match: SalesOrderMatch::None,
            page_size: OrdersConfig::DEFAULT_PAGE_SIZE,
            concurrency: OrdersConfig::DEFAULT_CONCURRENCY,
        }
    }
}

/// Configuration of the orders → QAD attribution flow.
///
/// ```
/// use sync_core::orders::{OrdersConfig, SalesOrderMatch};
///
/// let config = OrdersConfig::new("acme-eu", "EUR").sales_order_match(SalesOrderMatch::CustomerPo);
/// assert_eq!(config.store_id.as_str(), "acme-eu");
/// assert_eq!(config.page_size, OrdersConfig::DEFAULT_PAGE_SIZE);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrdersConfig {
    /// The Mailchimp store whose orders are read.
    pub store_id: StoreId,
    /// The store's currency (ISO 4217); an order in another currency is posted and flagged in
    /// its audit row.
    pub store_currency: String,
    /// How orders are matched to QAD sales orders.
    #[serde(default)]
    pub sales_order_match: SalesOrderMatch,
    /// Orders read per page (and per state transaction); at most 1000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Orders of one page handled at once (lookups and posts); the clients' own caps still apply.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// The attribution entity path, as configured on the QAD client; recorded in audit rows.
    #[serde(default = "default_attribution_path")]
    pub attribution_path: String,
}

fn default_page_size() -> u32 {
    OrdersConfig::DEFAULT_PAGE_SIZE
}

fn default_concurrency() -> usize {
    OrdersConfig::DEFAULT_CONCURRENCY
}

fn default_attribution_path() -> String {
    qad_client::AttributionConfig::default()
        .entity()
        .as_str()
        .to_owned()
}

impl OrdersConfig {
    /// The default page size.
    pub const DEFAULT_PAGE_SIZE: u32 = 200;
    /// The default number of orders handled at once.
    pub const DEFAULT_CONCURRENCY: usize = 4;

    /// A configuration for `store_id` in `store_currency`, with no sales order matching and the
    /// defaults for the rest.
    #[must_use]
    pub fn new(store_id: impl Into<StoreId>, store_currency: impl Into<String>) -> Self {
        Self {
            store_id: store_id.into(),
            store_currency: store_currency.into(),
            sales_order_match: SalesOrderMatch::None,
            page_size: OrdersConfig::DEFAULT_PAGE_SIZE,
            concurrency: OrdersConfig::DEFAULT_CONCURRENCY,
            attribution_path: default_attribution_path(),
        }
    }

    /// The configuration for `store_id` in `store_currency` with the file's `settings`, posting to
    /// the QAD entity `attribution_path` (the one the QAD client is configured with).
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`](crate::SyncError::Config) when the page size is outside 1..=1000 or
    /// the concurrency is 0.
    pub fn from_settings(
        store_id: impl Into<StoreId>,
        store_currency: impl Into<String>,
        settings: &OrdersSettings,
        attribution_path: impl Into<String>,
    ) -> crate::Result<Self> {
        if !(1..=1000).contains(&settings.page_size) || settings.concurrency == 0 {
            return Err(crate::SyncError::Config {
                what: "orders.page_size must be 1 to 1000 and orders.concurrency at least 1"
                    .to_owned(),
            });
        }
        Ok(Self::new(store_id, store_currency)
            .sales_order_match(settings.sales_order_match)
            .page_size(settings.page_size)
            .concurrency(settings.concurrency)
            .attribution_path(attribution_path))
    }

    /// The configuration from a connector configuration: its store (id and currency) and its
    /// `[orders]` settings, posting to the QAD entity `attribution_path`.
    ///
    /// ```
    /// use sync_core::config::{StoreConfig, SyncConfig};
    /// use sync_core::orders::OrdersConfig;
    ///
    /// let config = SyncConfig::new("a1b2c3").with_store(StoreConfig::new("eu", "ACME EU", "EUR"));
    /// let orders = OrdersConfig::from_sync_config(&config, "api/bdoc/acme/marketing/Attribution")?;
    /// assert_eq!((orders.store_id.as_str(), orders.store_currency.as_str()), ("eu", "EUR"));
    /// assert!(OrdersConfig::from_sync_config(&SyncConfig::new("a1b2c3"), "x").is_err());
    /// # Ok::<(), sync_core::SyncError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`](crate::SyncError::Config) when no store is configured (orders are
    /// read from it), and as [`from_settings`](Self::from_settings).
    pub fn from_sync_config(
        config: &crate::config::SyncConfig,
        attribution_path: impl Into<String>,
    ) -> crate::Result<Self> {
        let store = config
            .store
            .as_ref()
            .ok_or_else(|| crate::SyncError::Config {
                what: "store must be configured to read orders back to QAD".to_owned(),
            })?;
        Self::from_settings(
            store.id.as_str(),
            store.currency_code.as_str(),
            &config.orders,
            attribution_path,
        )
    }

    /// Sets the sales order matching rule.
    #[must_use]
    pub fn sales_order_match(mut self, rule: SalesOrderMatch) -> Self {
        self.sales_order_match = rule;
        self
    }

    /// Sets the page size (clamped to 1..=1000).
    #[must_use]
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.clamp(1, 1000);
        self
    }

    /// Sets how many orders of a page are handled at once (at least 1).
    #[must_use]
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sets the attribution entity path recorded in audit rows (use the one the QAD client posts
    /// to).
    #[must_use]
    pub fn attribution_path(mut self, path: impl Into<String>) -> Self {
        self.attribution_path = path.into();
        self
    }
}
