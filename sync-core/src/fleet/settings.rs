//! The parts of a pair's configuration besides `[sync]` and the cadences: how its QAD tenant is
//! read (browse ids, behaviour settings, timeout) and how long its history is kept. Stored as
//! data next to the rest of [`PairConfig`](super::PairConfig); every field has a default, so a
//! configuration stored before these existed still loads.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SyncError};
use crate::state::Retention;

/// A pair's QAD settings besides its credentials (the file's `[qad]` without tenant, user and
/// password, which are in the sealed credentials).
///
/// ```
/// use sync_core::fleet::QadSettings;
///
/// let mut qad = QadSettings::default();
/// qad.browses.customers = Some("urn:browse:acme:customers".into());
/// qad.behaviour.insert("paging.mode".into(), "cursor".into());
/// qad.validate().unwrap();
/// qad.behaviour.insert("paging.mode".into(), "sideways".into());
/// assert!(qad.validate().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QadSettings {
    /// Browse ids replacing qad-client's defaults.
    pub browses: BrowseIds,
    /// The attribution entity path orders are posted to (default: qad-client's).
    pub attribution_path: Option<String>,
    /// Requests in flight at once (default: qad-client's).
    pub max_concurrency: Option<usize>,
    /// How long one request may take, in seconds (default 60).
    pub timeout_secs: Option<u64>,
    /// `qad_client::Behaviour` settings by full name (`paging.mode` → `cursor`); unset ones keep
    /// qad-client's default.
    pub behaviour: BTreeMap<String, String>,
}

/// Browse ids, each replacing qad-client's default for its object when set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrowseIds {
    /// The customer browse.
    pub customers: Option<String>,
    /// The item browse.
    pub items: Option<String>,
    /// The sales order browse.
    pub sales_orders: Option<String>,
    /// The sales order line browse.
    pub sales_order_lines: Option<String>,
}

impl QadSettings {
    /// qad-client's request timeout when [`timeout_secs`](Self::timeout_secs) is not set.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// Checks every value the way the QAD client will take it.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] naming the setting.
    pub fn validate(&self) -> Result<()> {
        self.behaviour()?;
        self.attribution()?;
        for (name, id) in self.browse_list() {
            if let Some(id) = id {
                qad_client::BrowseId::parse(id)
                    .map_err(|e| qad_error(format!("browses.{name} {id:?}: {e}")))?;
            }
        }
        if self.max_concurrency == Some(0) {
            return Err(qad_error("max_concurrency must be at least 1"));
        }
        if self.timeout_secs == Some(0) {
            return Err(qad_error("timeout_secs must be at least 1"));
        }
        Ok(())
    }

    /// The behaviour settings over qad-client's defaults.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] naming the unknown setting or value.
    pub fn behaviour(&self) -> Result<qad_client::Behaviour> {
        let mut behaviour = qad_client::Behaviour::default();
        for (name, value) in &self.behaviour {
            behaviour
                .set(name, value)
                .map_err(|e| qad_error(format!("behaviour {name} = {value:?}: {e}")))?;
        }
        Ok(behaviour)
    }

    /// The attribution settings (where orders are posted).
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] for an invalid entity path.
    pub fn attribution(&self) -> Result<qad_client::AttributionConfig> {
        let default = qad_client::AttributionConfig::default();
        match &self.attribution_path {
            Some(path) => qad_client::EntityPath::parse(path)
                .map(|p| default.with_entity(p))
                .map_err(|e| qad_error(format!("attribution_path {path:?}: {e}"))),
            None => Ok(default),
        }
    }

    /// The request timeout.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout_secs
            .map_or(Self::DEFAULT_TIMEOUT, Duration::from_secs)
    }

    /// `builder` with these settings: behaviour, attribution, concurrency, timeout and browses.
    pub(crate) fn apply(
        &self,
        builder: qad_client::ClientBuilder,
    ) -> Result<qad_client::ClientBuilder> {
        let mut builder = builder
            .behaviour(self.behaviour()?)
            .attribution(self.attribution()?)
            .timeout(self.timeout());
        if let Some(max) = self.max_concurrency {
            builder = builder.max_concurrency(max);
        }
        let b = &self.browses;
        Ok(builder
            .customers(read(
                "customers",
                b.customers.as_deref(),
                qad_client::ReadConfig::default_customers(),
            )?)
            .items(read(
                "items",
                b.items.as_deref(),
                qad_client::ReadConfig::default_items(),
            )?)
            .sales_orders(read(
                "sales_orders",
                b.sales_orders.as_deref(),
                qad_client::ReadConfig::default_sales_orders(),
            )?)
            .sales_order_lines(read(
                "sales_order_lines",
                b.sales_order_lines.as_deref(),
                qad_client::ReadConfig::default_sales_order_lines(),
            )?))
    }

    fn browse_list(&self) -> [(&'static str, Option<&str>); 4] {
        let b = &self.browses;
        [
            ("customers", b.customers.as_deref()),
            ("items", b.items.as_deref()),
            ("sales_orders", b.sales_orders.as_deref()),
            ("sales_order_lines", b.sales_order_lines.as_deref()),
        ]
    }
}

/// `default` read through browse `id` when one is set (same fields, modified field, overlap).
fn read(
    name: &str,
    id: Option<&str>,
    default: qad_client::ReadConfig,
) -> Result<qad_client::ReadConfig> {
    let Some(id) = id else {
        return Ok(default);
    };
    let id = qad_client::BrowseId::parse(id)
        .map_err(|e| qad_error(format!("browses.{name} {id:?}: {e}")))?;
    Ok(qad_client::ReadConfig::new(id, default.fields().clone())
        .with_modified_field(default.modified_field())
        .with_overlap_days(default.overlap_days()))
}

fn qad_error(what: impl Into<String>) -> SyncError {
    SyncError::Config {
        what: format!("pair configuration: qad: {}", what.into()),
    }
}

/// How long a pair's history is kept before its worker prunes it (the file's `[retention]`).
///
/// ```
/// use std::time::Duration;
/// use sync_core::fleet::RetentionSettings;
///
/// let keep = RetentionSettings::default();
/// assert_eq!(keep.policy().audit_age(), Duration::from_secs(90 * 24 * 3600));
/// assert!(RetentionSettings { audit_secs: 60, runs_secs: 60 }.validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Age in seconds past which resolved audit rows go (default 90 days).
    pub audit_secs: u64,
    /// Age in seconds past which finished runs go (default 90 days).
    pub runs_secs: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            audit_secs: Retention::DEFAULT_AGE.as_secs(),
            runs_secs: Retention::DEFAULT_AGE.as_secs(),
        }
    }
}

impl RetentionSettings {
    /// The shortest retention accepted: the audit trail is how failures are found and replayed.
    pub const MIN_AGE: Duration = Duration::from_secs(24 * 60 * 60);

    /// Checks both ages are at least [`MIN_AGE`](Self::MIN_AGE).
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] naming the age that is too short.
    pub fn validate(&self) -> Result<()> {
        for (name, secs) in [("audit", self.audit_secs), ("runs", self.runs_secs)] {
            if Duration::from_secs(secs) < Self::MIN_AGE {
                return Err(SyncError::Config {
                    what: format!(
                        "pair configuration: retention.{name} is {secs} s; keep at least one day"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The pruning policy.
    #[must_use]
    pub fn policy(&self) -> Retention {
        Retention::default()
            .audit(Duration::from_secs(self.audit_secs))
            .runs(Duration::from_secs(self.runs_secs))
    }
}

/// A pair's consent write-back (the file's `[consent]`): off unless `enabled`. When on, the
/// worker runs a [`ConsentWriteBack`](crate::consent::ConsentWriteBack) pass after each completed
/// customers run of the pair, as `ml-connector run` does after each customers cycle, writing the
/// statuses the forward sync's audience reads and refused writes remembered.
///
/// ```
/// use sync_core::fleet::ConsentPairSettings;
/// use sync_core::MemberStatus;
///
/// let consent: ConsentPairSettings = serde_json::from_str(
///     r#"{"enabled": true, "entity_path": "api/bdoc/acme/crm/Consent",
///         "statuses": ["unsubscribed", "cleaned"]}"#).unwrap();
/// consent.validate().unwrap();
/// assert_eq!(consent.qad_config().unwrap().entity().as_str(), "api/bdoc/acme/crm/Consent");
/// assert!(!consent.settings().statuses.contains(&MemberStatus::Subscribed));
/// assert!(!ConsentPairSettings::default().enabled);
/// let bad = ConsentPairSettings { entity_path: Some("../up".into()), ..consent };
/// assert!(bad.validate().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentPairSettings {
    /// Whether statuses are written back (default false).
    pub enabled: bool,
    /// The entity path records are posted to (default qad-client's).
    pub entity_path: Option<String>,
    /// The entity's key query parameter (default qad-client's, `customerCode`).
    pub key_param: Option<String>,
    /// The statuses written back (default sync-core's: subscribed, unsubscribed, cleaned).
    pub statuses: Option<Vec<crate::model::MemberStatus>>,
}

impl ConsentPairSettings {
    /// Checks the entity path and key parameter.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] naming the setting.
    pub fn validate(&self) -> Result<()> {
        self.qad_config().map(|_| ())
    }

    /// The QAD client's consent settings.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] for an invalid entity path or an empty key parameter.
    pub fn qad_config(&self) -> Result<qad_client::ConsentConfig> {
        let bad = |what: String| SyncError::Config {
            what: format!("pair configuration: consent: {what}"),
        };
        let mut config = qad_client::ConsentConfig::default();
        if let Some(path) = &self.entity_path {
            let entity = qad_client::EntityPath::parse(path)
                .map_err(|e| bad(format!("entity_path {path:?}: {e}")))?;
            config = config.with_entity(entity);
        }
        if let Some(key) = &self.key_param {
            if key.trim().is_empty() {
                return Err(bad("key_param is empty".into()));
            }
            config = config.with_key_param(key.clone());
        }
        Ok(config)
    }

    /// The write-back's settings (the statuses written).
    #[must_use]
    pub fn settings(&self) -> crate::consent::ConsentSettings {
        let mut settings = crate::consent::ConsentSettings::default();
        if let Some(statuses) = &self.statuses {
            settings.statuses.clone_from(statuses);
        }
        settings
    }
}
