//! Consent write-back: a customer's marketing status as Mailchimp knows it (subscribed,
//! unsubscribed, cleaned) with its date, posted to a tenant-defined entity, one record per
//! customer, idempotent by customer code.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attribution::{OnDuplicate, WriteOutcome};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::ids::CustomerCode;
use crate::keyed::KeyedEntity;
use crate::paths::EntityPath;

/// A customer's marketing status, as written to QAD.
///
/// Serialised in camelCase (`customerCode`, `email`, `marketingStatus`, `statusDate`,
/// `source`): the tenant's entity must have these fields, with `customerCode` as its unique key
/// (or the key configured with [`ConsentConfig::with_key_param`]). The date is written
/// `YYYY-MM-DDTHH:MM:SS.sssZ`, as attribution dates are.
///
/// ```
/// use qad_client::ConsentRecord;
///
/// let record = ConsentRecord {
///     customer_code: "C0000010".into(),
///     email: "buy@acme-industrial.com".into(),
///     marketing_status: "unsubscribed".into(),
///     status_date: "2025-03-04T10:00:00Z".parse().unwrap(),
///     source: "mailchimp webhook".into(),
/// };
/// let json = serde_json::to_value(&record)?;
/// assert_eq!(json["customerCode"], "C0000010");
/// assert_eq!(json["marketingStatus"], "unsubscribed");
/// assert_eq!(json["statusDate"], "2025-03-04T10:00:00.000Z");
/// assert_eq!(serde_json::from_value::<ConsentRecord>(json)?, record);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentRecord {
    /// The QAD customer: the key.
    pub customer_code: CustomerCode,
    /// The member's address.
    pub email: String,
    /// `subscribed`, `unsubscribed`, `cleaned` (or another Mailchimp status).
    pub marketing_status: String,
    /// When the status was learned.
    #[serde(
        serialize_with = "crate::attribution::qad_datetime",
        deserialize_with = "crate::attribution::datetime_or_date"
    )]
    pub status_date: DateTime<Utc>,
    /// Where the status came from (a webhook, an audience read, a refused write).
    pub source: String,
}

/// Where consent records go: an entity path (default
/// `api/bdoc/mlconnector/consent/MarketingConsent`, a custom business document the tenant
/// adds, like the attribution entity) and its key parameter (default `customerCode`). A record
/// already there is updated.
///
/// ```
/// use qad_client::{ConsentConfig, EntityPath};
///
/// let config = ConsentConfig::default()
///     .with_entity(EntityPath::parse("api/bdoc/acme/crm/CustomerConsent").unwrap());
/// assert_eq!(config.entity().as_str(), "api/bdoc/acme/crm/CustomerConsent");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentConfig {
    entity: EntityPath,
    key_param: String,
}

impl Default for ConsentConfig {
    fn default() -> Self {
        Self {
            entity: EntityPath::known("api/bdoc/mlconnector/consent/MarketingConsent"),
            key_param: "customerCode".to_owned(),
        }
    }
}

impl ConsentConfig {
    /// Writes to `entity` (checked like every entity path: relative, no traversal).
    #[must_use]
    pub fn with_entity(mut self, entity: EntityPath) -> Self {
        self.entity = entity;
        self
    }

    /// The key query parameter of updates and lookups (default `customerCode`).
    #[must_use]
    pub fn with_key_param(mut self, name: impl Into<String>) -> Self {
        self.key_param = name.into();
        self
    }

    /// The entity path.
    pub fn entity(&self) -> &EntityPath {
        &self.entity
    }
}

/// Consent writes of one client ([`Client::consent`]).
#[derive(Debug, Clone)]
pub struct Consents {
    client: Client,
}

impl Client {
    /// The consent write-back, at the configured [`ConsentConfig`].
    pub fn consent(&self) -> Consents {
        Consents {
            client: self.clone(),
        }
    }
}

impl Consents {
    /// The entity path records are written to.
    pub fn entity(&self) -> &EntityPath {
        &self.client.settings().consent.entity
    }

    /// Writes a customer's marketing status: created, or updated when the customer has a
    /// record already (found by QAD's duplicate answer, or by a lookup first on a tenant that
    /// creates duplicates), so sending it twice leaves one record.
    ///
    /// ```no_run
    /// # async fn run(client: qad_client::Client, record: qad_client::ConsentRecord) -> qad_client::Result<()> {
    /// let outcome = client.consent().post(&record).await?;
    /// println!("{}: {outcome:?}", record.customer_code);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] with QAD's field errors (including `submitResult.success=false` at
    /// HTTP 200), and any call error.
    pub async fn post(&self, record: &ConsentRecord) -> Result<WriteOutcome> {
        let value = serde_json::to_value(record).map_err(|source| Error::Decode {
            context: "consent record".to_owned(),
            source,
        })?;
        let config = &self.client.settings().consent;
        let target = KeyedEntity {
            entity: &config.entity,
            key_param: &config.key_param,
            on_duplicate: OnDuplicate::Update,
        };
        crate::keyed::post(&self.client, &target, record.customer_code.as_str(), value).await
    }
}
