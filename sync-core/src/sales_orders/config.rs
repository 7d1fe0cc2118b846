//! What the sales-history flow sends: which QAD states, as which Mailchimp statuses, how far back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Mailchimp's `financial_status` of an order. Mailchimp also derives order notifications from
/// it (`pending` → confirmation, `paid` → invoice, `refunded`, `cancelled`), which are paused
/// while the store `is_syncing` (every backfill).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FinancialStatus {
    /// Paid (invoiced): counts in full.
    Paid,
    /// Confirmed, not yet paid: counts in full.
    Pending,
    /// Refunded in full: sent with all totals zero, so the customer's `total_spent` drops it.
    Refunded,
    /// Cancelled: sent with all totals zero and `cancelled_at_foreign`.
    Cancelled,
}

impl FinancialStatus {
    /// The value sent to Mailchimp.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Pending => "pending",
            Self::Refunded => "refunded",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the order's money no longer counts (its totals are sent as zero, as Mailchimp's
    /// own Magento plugin does for cancelled orders: mailchimp/mc-magento #906).
    #[must_use]
    pub fn voids_totals(&self) -> bool {
        matches!(self, Self::Refunded | Self::Cancelled)
    }
}

/// How one QAD order state is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StatusRule {
    /// The `financial_status` sent.
    pub financial: FinancialStatus,
    /// The `fulfillment_status` sent (`shipped` makes Mailchimp send its shipping notification
    /// outside a backfill); `None` sends none.
    #[serde(default)]
    pub fulfillment: Option<String>,
}

impl StatusRule {
    /// A rule with no fulfillment status.
    #[must_use]
    pub fn new(financial: FinancialStatus) -> Self {
        Self {
            financial,
            fulfillment: None,
        }
    }

    /// The same rule sending `fulfillment` as the fulfillment status.
    #[must_use]
    pub fn fulfilled(mut self, fulfillment: impl Into<String>) -> Self {
        self.fulfillment = Some(fulfillment.into());
        self
    }
}

/// The configuration of [`SalesOrdersSync`](super::SalesOrdersSync).
///
/// QAD's own order state codes (`so_stat`) are not public, so the states are a setting: a map
/// from the QAD `status` value (compared trimmed and case-insensitively) to the rule it is sent
/// with. A state the map does not name is **not sent** (an order is written once it reaches a
/// named state, and keeps its last written version if it later moves to an unnamed one). The
/// defaults ([`default_statuses`](Self::default_statuses)):
///
/// | QAD status | `financial_status` | `fulfillment_status` |
/// |---|---|---|
/// | `confirmed` | `pending` | — |
/// | `shipped` | `pending` | `shipped` |
/// | `invoiced` | `paid` | `shipped` |
/// | `refunded` | `refunded` (totals 0) | — |
/// | `cancelled` | `cancelled` (totals 0) | — |
/// | anything else (`open`, blank, quotes, holds) | not sent | |
///
/// ```
/// use sync_core::sales_orders::{FinancialStatus, SalesOrdersConfig, StatusRule};
///
/// let config = SalesOrdersConfig::new("acme-eu")
///     .status("released", StatusRule::new(FinancialStatus::Pending))
///     .lookback_months(12);
/// assert_eq!(config.rule("  RELEASED ").map(|r| r.financial), Some(FinancialStatus::Pending));
/// assert_eq!(config.rule("invoiced").map(|r| r.financial), Some(FinancialStatus::Paid));
/// assert!(config.rule("open").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SalesOrdersConfig {
    /// The e-commerce store the orders are written to (the one the forward flows create).
    pub store_id: String,
    /// QAD status (lowercase, trimmed) → how it is sent.
    pub statuses: BTreeMap<String, StatusRule>,
    /// How far back a backfill reaches, by order date (default 24 months). Orders older than
    /// this are never created; one already written is still updated.
    pub lookback_months: u32,
    /// QAD sales orders read per page (default 100).
    pub page_size: u32,
    /// Orders handled at once: line reads and Mailchimp writes (default 4).
    pub concurrency: usize,
    /// The QAD header field holding the order's tax total, if the tenant has one (custom fields
    /// included); `None` (default) sends no tax total.
    pub tax_field: Option<String>,
    /// The QAD header field holding the order's freight (shipping) total, if any; `None`
    /// (default) sends no shipping total.
    pub shipping_field: Option<String>,
}

impl SalesOrdersConfig {
    /// The defaults for `store_id`.
    #[must_use]
    pub fn new(store_id: impl Into<String>) -> Self {
        Self {
            store_id: store_id.into(),
            statuses: Self::default_statuses(),
            lookback_months: 24,
            page_size: 100,
            concurrency: 4,
            tax_field: None,
            shipping_field: None,
        }
    }

    /// The default state map (see the table above).
    #[must_use]
    pub fn default_statuses() -> BTreeMap<String, StatusRule> {
        use FinancialStatus::{Cancelled, Paid, Pending, Refunded};
        BTreeMap::from([
            ("confirmed".to_owned(), StatusRule::new(Pending)),
            (
                "shipped".to_owned(),
                StatusRule::new(Pending).fulfilled("shipped"),
            ),
            (
                "invoiced".to_owned(),
                StatusRule::new(Paid).fulfilled("shipped"),
            ),
            ("refunded".to_owned(), StatusRule::new(Refunded)),
            ("cancelled".to_owned(), StatusRule::new(Cancelled)),
        ])
    }

    /// Sends the QAD status `status` with `rule` (replacing its default).
    #[must_use]
    pub fn status(mut self, status: &str, rule: StatusRule) -> Self {
        self.statuses.insert(normalise(status), rule);
        self
    }

    /// Replaces the whole state map (keys are normalised).
    #[must_use]
    pub fn statuses(mut self, statuses: BTreeMap<String, StatusRule>) -> Self {
        self.statuses = statuses
            .into_iter()
            .map(|(k, v)| (normalise(&k), v))
            .collect();
        self
    }

    /// Sets the backfill look-back in months.
    #[must_use]
    pub fn lookback_months(mut self, months: u32) -> Self {
        self.lookback_months = months;
        self
    }

    /// Sets the page size (clamped to 1..=1000 when read).
    #[must_use]
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size;
        self
    }

    /// Sets how many orders are handled at once (at least 1).
    #[must_use]
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Reads the tax total from the QAD header field `field`.
    #[must_use]
    pub fn tax_field(mut self, field: impl Into<String>) -> Self {
        self.tax_field = Some(field.into());
        self
    }

    /// Reads the shipping total from the QAD header field `field`.
    #[must_use]
    pub fn shipping_field(mut self, field: impl Into<String>) -> Self {
        self.shipping_field = Some(field.into());
        self
    }

    /// The rule of a QAD status, or `None` when orders in that state are not sent.
    #[must_use]
    pub fn rule(&self, status: &str) -> Option<&StatusRule> {
        self.statuses.get(&normalise(status))
    }
}

/// The `[sales_orders]` table of a configuration file: the flow is off unless `enabled`.
///
/// ```
/// use sync_core::sales_orders::{FinancialStatus, SalesOrdersConfig, SalesOrdersSettings};
///
/// let settings: SalesOrdersSettings = toml::from_str(r#"
///     enabled = true
///     lookback_months = 12
///     [statuses]
///     invoiced = { financial = "paid" }
///     RMA = { financial = "refunded" }
/// "#).unwrap();
/// let config = SalesOrdersConfig::from_settings("acme-eu", &settings);
/// assert_eq!(config.lookback_months, 12);
/// assert_eq!(config.rule("rma").map(|r| r.financial), Some(FinancialStatus::Refunded));
/// assert!(config.rule("confirmed").is_none(), "a statuses table replaces the defaults");
/// assert!(!SalesOrdersSettings::default().enabled);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SalesOrdersSettings {
    /// Whether QAD sales history is written to Mailchimp (default `false`).
    #[serde(default)]
    pub enabled: bool,
    /// The backfill look-back in months (default 24).
    #[serde(default = "default_lookback")]
    pub lookback_months: u32,
    /// Sales orders read per page (default 100).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Orders handled at once (default 4).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// The QAD states sent and how; replaces the defaults when given.
    #[serde(default)]
    pub statuses: Option<BTreeMap<String, StatusRule>>,
    /// The QAD header field with the order's tax total.
    #[serde(default)]
    pub tax_field: Option<String>,
    /// The QAD header field with the order's shipping total.
    #[serde(default)]
    pub shipping_field: Option<String>,
}

fn default_lookback() -> u32 {
    24
}

fn default_page_size() -> u32 {
    100
}

fn default_concurrency() -> usize {
    4
}

impl Default for SalesOrdersSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            lookback_months: default_lookback(),
            page_size: default_page_size(),
            concurrency: default_concurrency(),
            statuses: None,
            tax_field: None,
            shipping_field: None,
        }
    }
}

impl SalesOrdersConfig {
    /// The configuration of the store `store_id` from the file's settings.
    #[must_use]
    pub fn from_settings(store_id: impl Into<String>, settings: &SalesOrdersSettings) -> Self {
        let mut config = Self::new(store_id)
            .lookback_months(settings.lookback_months)
            .page_size(settings.page_size)
            .concurrency(settings.concurrency);
        if let Some(statuses) = &settings.statuses {
            config = config.statuses(statuses.clone());
        }
        config.tax_field.clone_from(&settings.tax_field);
        config.shipping_field.clone_from(&settings.shipping_field);
        config
    }
}

fn normalise(status: &str) -> String {
    status.trim().to_lowercase()
}
