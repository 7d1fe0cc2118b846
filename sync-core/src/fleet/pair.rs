//! A tenant pair as the fleet registers it: its configuration (data, in the clear) and its
//! credentials (sealed with the vault's AEAD, never stored in the clear).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::settings::{ConsentPairSettings, QadSettings, RetentionSettings};
use crate::config::SyncConfig;
use crate::error::{Result, SyncError};
use crate::model::ObjectKind;
use crate::orders::{OrdersConfig, OrdersSettings};
use crate::sales_orders::SalesOrdersSettings;
use crate::schedule::Cadence;
use crate::vault::{self, Credentials, VaultKey};

/// One object of a pair and how often a worker syncs it.
///
/// ```
/// use std::time::Duration;
/// use sync_core::fleet::ObjectCadence;
/// use sync_core::ObjectKind;
///
/// let every = ObjectCadence::new(ObjectKind::Customers, Duration::from_secs(900));
/// assert_eq!(every.cadence().unwrap().every(), Duration::from_secs(900));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectCadence {
    /// The flow: `customers`, `items` (forward sync, then the lifecycle scan when due),
    /// `orders` (Mailchimp orders attributed in QAD) or `sales_orders` (QAD sales history to
    /// the Mailchimp store).
    pub object: ObjectKind,
    /// Seconds between the starts of two runs.
    pub every_secs: u64,
}

impl ObjectCadence {
    /// `object` every `every` (whole seconds).
    #[must_use]
    pub fn new(object: ObjectKind, every: Duration) -> Self {
        Self {
            object,
            every_secs: every.as_secs(),
        }
    }

    /// The cadence as the scheduler takes it.
    ///
    /// # Errors
    ///
    /// [`SyncError::Schedule`] when the interval is zero.
    pub fn cadence(&self) -> Result<Cadence> {
        Ok(Cadence::new(Duration::from_secs(self.every_secs))?)
    }
}

/// What a worker needs to sync a pair, besides its credentials: what `ml-connector run` reads
/// from the configuration file (`[sync]` with `[sync.lifecycle]`, `[qad]` settings,
/// `[mailchimp] max_concurrency`, `[orders]`, `[sales_orders]`, `[retention]`, `[consent]`)
/// and each flow's cadence. Stored as JSON in the registry; every field added after the first version has a
/// default, so a configuration stored by an older release still loads.
///
/// ```
/// use std::time::Duration;
/// use sync_core::config::SyncConfig;
/// use sync_core::fleet::{ObjectCadence, PairConfig};
/// use sync_core::ObjectKind;
///
/// let config = PairConfig::new(SyncConfig::new("audience-1"))
///     .with_object(ObjectCadence::new(ObjectKind::Customers, Duration::from_secs(300)));
/// config.validate().unwrap();
/// assert!(PairConfig::new(SyncConfig::new("audience-1")).validate().is_err()); // no object
/// // Orders need an `[orders]` section and a store.
/// let orders = config.with_object(ObjectCadence::new(ObjectKind::Orders, Duration::from_secs(300)));
/// assert!(orders.validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    /// The forward sync's settings (audience, store, mapping, page size, lifecycle …).
    pub sync: SyncConfig,
    /// The flows run and their cadences.
    pub objects: Vec<ObjectCadence>,
    /// How the QAD tenant is read and written besides the credentials.
    #[serde(default)]
    pub qad: QadSettings,
    /// At most this many Mailchimp requests in flight for this pair; the account's pairs share
    /// the smallest of their caps and the worker's per-account connections.
    #[serde(default)]
    pub mailchimp_max_concurrency: Option<usize>,
    /// Mailchimp orders attributed back to QAD; needed when `orders` is among the objects.
    #[serde(default)]
    pub orders: Option<OrdersSettings>,
    /// QAD sales history written to the Mailchimp store; `enabled` when `sales_orders` is among
    /// the objects.
    #[serde(default)]
    pub sales_orders: SalesOrdersSettings,
    /// How long the pair's history is kept; its worker prunes older rows hourly.
    #[serde(default)]
    pub retention: RetentionSettings,
    /// Members' marketing statuses written back to QAD after each customers run, when
    /// `enabled` (needs `customers` among the objects).
    #[serde(default)]
    pub consent: ConsentPairSettings,
}

impl PairConfig {
    /// `sync` with no object yet.
    #[must_use]
    pub fn new(sync: SyncConfig) -> Self {
        Self {
            sync,
            objects: Vec::new(),
            qad: QadSettings::default(),
            mailchimp_max_concurrency: None,
            orders: None,
            sales_orders: SalesOrdersSettings::default(),
            retention: RetentionSettings::default(),
            consent: ConsentPairSettings::default(),
        }
    }

    /// Adds (or replaces) an object's cadence.
    #[must_use]
    pub fn with_object(mut self, cadence: ObjectCadence) -> Self {
        self.objects.retain(|o| o.object != cadence.object);
        self.objects.push(cadence);
        self
    }

    /// Checks every section, that there is at least one flow, that each is named once with a
    /// non-zero cadence, and that orders and sales orders have their settings and a store.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] naming what is wrong.
    pub fn validate(&self) -> Result<()> {
        self.sync.validate()?;
        self.qad.validate()?;
        self.retention.validate()?;
        self.consent.validate()?;
        if self.consent.enabled
            && !self
                .objects
                .iter()
                .any(|o| o.object == ObjectKind::Customers)
        {
            return Err(config_error(
                "consent.enabled needs customers among the objects (the write-back runs after \
                 each customers run)",
            ));
        }
        if self.mailchimp_max_concurrency == Some(0) {
            return Err(config_error("mailchimp_max_concurrency must be at least 1"));
        }
        if self.objects.is_empty() {
            return Err(config_error(
                "the pair syncs no object: name customers, items, orders or sales_orders",
            ));
        }
        for (i, o) in self.objects.iter().enumerate() {
            if self.objects[..i].iter().any(|p| p.object == o.object) {
                return Err(config_error(format!("{} is named twice", o.object)));
            }
            o.cadence()
                .map_err(|e| config_error(format!("{}: {e}", o.object)))?;
            match o.object {
                ObjectKind::Customers | ObjectKind::Items => {}
                ObjectKind::Orders => {
                    self.orders_config()?;
                }
                ObjectKind::SalesOrders => {
                    if !self.sales_orders.enabled || self.sync.store.is_none() {
                        return Err(config_error(
                            "sales_orders needs sales_orders.enabled and a [sync.store]",
                        ));
                    }
                }
                other => {
                    return Err(config_error(format!(
                        "{other} is not a flow a worker runs (customers, items, orders, \
                         sales_orders)"
                    )))
                }
            }
        }
        Ok(())
    }

    /// The orders flow's configuration.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] when there is no `orders` section or no store, or sync-core
    /// refuses the settings.
    pub fn orders_config(&self) -> Result<OrdersConfig> {
        let (Some(settings), Some(store)) = (&self.orders, &self.sync.store) else {
            return Err(config_error(
                "orders needs an [orders] section and a [sync.store]",
            ));
        };
        OrdersConfig::from_settings(
            store.id.as_str(),
            store.currency_code.as_str(),
            settings,
            self.qad.attribution()?.entity().as_str(),
        )
    }

    pub(crate) fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| config_error(format!("cannot encode: {e}")))
    }

    pub(crate) fn from_json(pair: &str, json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| SyncError::Config {
            what: format!("the stored configuration of tenant pair {pair:?} is not readable: {e}"),
        })
    }
}

fn config_error(what: impl Into<String>) -> SyncError {
    SyncError::Config {
        what: format!("pair configuration: {}", what.into()),
    }
}

/// A pair to register: its id, the Mailchimp account it uses, its configuration and its
/// credentials (both sets; they are sealed before they leave the process).
#[derive(Clone, Debug)]
pub struct NewPair {
    /// The tenant-pair id (the state store's pair id).
    pub id: String,
    /// The Mailchimp account the pair writes to. Pairs naming the same account share its 10
    /// connections, so one worker at a time holds them all.
    pub account: String,
    /// What to sync and how often.
    pub config: PairConfig,
    /// The QAD and Mailchimp credentials.
    pub credentials: Credentials,
}

/// A registered pair as listed: never its credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PairSummary {
    /// The tenant-pair id.
    pub id: String,
    /// Its Mailchimp account.
    pub account: String,
    /// Its configuration.
    pub config: PairConfig,
    /// The fingerprint (hex) of the key its credentials are sealed under.
    pub key_fingerprint: String,
    /// Who holds its account now, if anyone.
    pub held_by: Option<HeldBy>,
}

/// The worker holding a pair's account, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HeldBy {
    /// The worker: `host …, pid …`.
    pub worker: String,
    /// When its claim expires unless renewed.
    pub until: chrono::DateTime<chrono::Utc>,
}

/// A registered pair with its credentials opened, as a worker runs it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RegisteredPair {
    /// The tenant-pair id.
    pub id: String,
    /// Its Mailchimp account.
    pub account: String,
    /// Its configuration.
    pub config: PairConfig,
    /// Its credentials, opened.
    pub credentials: Credentials,
}

/// Seals `credentials` under `key` (the vault's file format, in a column).
pub(crate) fn seal(key: &VaultKey, credentials: &Credentials) -> Result<Vec<u8>> {
    Ok(vault::format::seal(key, credentials)?)
}

/// Opens sealed credentials; a wrong key or a modified byte is an error naming the pair.
pub(crate) fn open(pair: &str, key: &VaultKey, sealed: &[u8]) -> Result<Credentials> {
    vault::format::open(key, sealed).map_err(|e| SyncError::Config {
        what: format!(
            "the credentials of tenant pair {pair:?} cannot be opened with this key: {e}"
        ),
    })
}

/// The key's fingerprint as stored next to what it sealed.
pub(crate) fn fingerprint(key: &VaultKey) -> String {
    hex::encode(key.fingerprint())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::config::StoreConfig;

    fn with_store() -> PairConfig {
        PairConfig::new(
            SyncConfig::new("audience-1").with_store(StoreConfig::new("s1", "Shop", "EUR")),
        )
        .with_object(ObjectCadence::new(
            ObjectKind::Customers,
            Duration::from_secs(60),
        ))
    }

    #[test]
    fn a_configuration_stored_before_the_whole_configuration_still_loads() {
        // What the first release stored: `[sync]` and the cadences only.
        let old = serde_json::json!({
            "sync": serde_json::to_value(SyncConfig::new("audience-1")).unwrap(),
            "objects": [{"object": "customers", "every_secs": 900}],
        })
        .to_string();
        let loaded = PairConfig::from_json("p1", &old).unwrap();
        assert_eq!(
            loaded,
            PairConfig::new(SyncConfig::new("audience-1")).with_object(ObjectCadence::new(
                ObjectKind::Customers,
                Duration::from_secs(900)
            ))
        );
        loaded.validate().unwrap();
        let again = PairConfig::from_json("p1", &loaded.to_json().unwrap()).unwrap();
        assert_eq!(again, loaded);
    }

    #[test]
    fn consent_write_back_needs_the_customers_flow_and_a_valid_entity() {
        let mut config = with_store();
        config.consent.enabled = true;
        config.validate().unwrap();
        config.consent.entity_path = Some("https://elsewhere/x".into());
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("consent: entity_path"), "{err}");
        config.consent.entity_path = None;
        config.objects = vec![ObjectCadence::new(
            ObjectKind::Items,
            Duration::from_secs(60),
        )];
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("consent.enabled needs customers"), "{err}");
        config.consent.enabled = false;
        config.validate().unwrap();
    }

    #[test]
    fn orders_and_sales_orders_need_their_settings_and_a_store() {
        let every = Duration::from_secs(300);
        let orders = with_store().with_object(ObjectCadence::new(ObjectKind::Orders, every));
        let err = orders.validate().unwrap_err().to_string();
        assert!(err.contains("[orders]"), "{err}");
        let mut ok = orders.clone();
        ok.orders = Some(OrdersSettings::default());
        ok.validate().unwrap();
        let mut no_store = ok.clone();
        no_store.sync.store = None;
        assert!(no_store.validate().is_err());

        let sales = with_store().with_object(ObjectCadence::new(ObjectKind::SalesOrders, every));
        let err = sales.validate().unwrap_err().to_string();
        assert!(err.contains("sales_orders.enabled"), "{err}");
        let mut ok = sales;
        ok.sales_orders.enabled = true;
        ok.validate().unwrap();

        let webhook = with_store().with_object(ObjectCadence::new(ObjectKind::Members, every));
        let err = webhook.validate().unwrap_err().to_string();
        assert!(err.contains("not a flow a worker runs"), "{err}");
    }

    #[test]
    fn bad_qad_mailchimp_and_retention_settings_are_named() {
        let mut bad = with_store();
        bad.qad.browses.items = Some("not-a-urn".into());
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("browses.items"), "{err}");

        let mut bad = with_store();
        bad.qad.attribution_path = Some("/absolute".into());
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("attribution_path"), "{err}");

        let mut bad = with_store();
        bad.qad.behaviour.insert("paging.nope".into(), "x".into());
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("paging.nope"), "{err}");

        let mut bad = with_store();
        bad.mailchimp_max_concurrency = Some(0);
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("mailchimp_max_concurrency"), "{err}");

        let mut bad = with_store();
        bad.retention.audit_secs = 3600;
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("retention.audit"), "{err}");
    }
}
