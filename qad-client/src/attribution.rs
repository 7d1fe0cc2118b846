//! Attribution write-back: one record per Mailchimp e-commerce order, posted
//! to a tenant-defined entity, idempotent by order id.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ids::{CustomerCode, ItemCode, SalesOrderNumber};
use crate::paths::EntityPath;

/// One order attributed to marketing, as written to QAD.
///
/// Serialised in camelCase (`orderId`, `customerCode`, `salesOrderNumber`,
/// `orderTotal`, `currencyCode`, `financialStatus`, `processedDate`,
/// `storeId`, `campaignId`, `lines[]` with `itemCode`, `quantity`, `price`,
/// `discount`): the tenant's entity must have these fields, with `orderId`
/// as its unique key. Money and quantities are exact decimal strings
/// (`"23.75"`, never through a binary float); absent optional codes are
/// blank strings, as QAD character fields are; the date is written
/// `YYYY-MM-DDTHH:MM:SS.sssZ`.
///
/// ```
/// use qad_client::{AttributionLine, AttributionRecord};
/// use rust_decimal::Decimal;
///
/// let record = AttributionRecord {
///     order_id: "mc-1001".into(),
///     customer_code: "C0000010".into(),
///     sales_order_number: None,
///     order_total: Decimal::new(2500, 2),
///     currency_code: "EUR".into(),
///     financial_status: "paid".into(),
///     processed_date: "2025-03-04T10:00:00Z".parse().unwrap(),
///     store_id: "acme-store".into(),
///     campaign_id: Some("c42".into()),
///     lines: vec![AttributionLine {
///         item_code: "10-1000".into(),
///         quantity: Decimal::new(2, 0),
///         price: Decimal::new(1250, 2),
///         discount: Decimal::ZERO,
///     }],
/// };
/// let json = serde_json::to_value(&record)?;
/// assert_eq!(json["orderTotal"], "25.00");
/// assert_eq!(json["lines"][0]["price"], "12.50");
/// assert_eq!(json["salesOrderNumber"], "");
/// assert_eq!(json["processedDate"], "2025-03-04T10:00:00.000Z");
/// assert_eq!(serde_json::from_value::<AttributionRecord>(json)?, record);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributionRecord {
    /// The e-commerce order id: the idempotency key.
    pub order_id: String,
    /// The QAD customer the order belongs to.
    pub customer_code: CustomerCode,
    /// The matched QAD sales order, if one was found.
    #[serde(
        default,
        serialize_with = "blank_if_none",
        deserialize_with = "crate::de::opt"
    )]
    pub sales_order_number: Option<SalesOrderNumber>,
    /// The order total.
    #[serde(
        serialize_with = "rust_decimal::serde::str::serialize",
        deserialize_with = "crate::de::decimal"
    )]
    pub order_total: Decimal,
    /// ISO 4217 currency code.
    pub currency_code: String,
    /// The shop's financial status (`paid`, `refunded`, …).
    pub financial_status: String,
    /// When the shop processed the order.
    #[serde(serialize_with = "qad_datetime", deserialize_with = "datetime_or_date")]
    pub processed_date: DateTime<Utc>,
    /// The e-commerce store.
    pub store_id: String,
    /// The campaign the order is attributed to, if any.
    #[serde(
        default,
        serialize_with = "blank_if_none",
        deserialize_with = "crate::de::opt"
    )]
    pub campaign_id: Option<String>,
    /// The order lines.
    #[serde(default)]
    pub lines: Vec<AttributionLine>,
}

/// One line of an [`AttributionRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributionLine {
    /// The QAD item.
    pub item_code: ItemCode,
    /// Quantity ordered.
    #[serde(
        serialize_with = "rust_decimal::serde::str::serialize",
        deserialize_with = "crate::de::decimal"
    )]
    pub quantity: Decimal,
    /// Unit price.
    #[serde(
        serialize_with = "rust_decimal::serde::str::serialize",
        deserialize_with = "crate::de::decimal"
    )]
    pub price: Decimal,
    /// Discount amount on the line.
    #[serde(
        serialize_with = "rust_decimal::serde::str::serialize",
        deserialize_with = "crate::de::decimal"
    )]
    pub discount: Decimal,
}

fn blank_if_none<S: Serializer, T: AsRef<str>>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.as_ref().map_or("", AsRef::as_ref))
}

pub(crate) fn qad_datetime<S: Serializer>(value: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&value.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

pub(crate) fn datetime_or_date<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    if let Ok(at) = DateTime::parse_from_rfc3339(&text) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
        .ok_or_else(|| D::Error::custom(format!("expected a date-time, got {text:?}")))
}

/// What to do when QAD says the order's record already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnDuplicate {
    /// Send the record again as an update (default).
    #[default]
    Update,
    /// Leave the existing record alone.
    Skip,
}

/// Where and how attribution records are written.
///
/// The default entity is the custom business document
/// `api/bdoc/mlconnector/attribution/OrderAttribution`, which the tenant
/// admin creates with App Builder (see `docs/qad-api.md`); point it at your
/// own with [`with_entity`](Self::with_entity).
///
/// ```
/// use qad_client::{AttributionConfig, OnDuplicate};
///
/// let config = AttributionConfig::default()
///     .with_entity("api/bdoc/acme/marketing/Attribution".parse()?)
///     .with_on_duplicate(OnDuplicate::Skip);
/// assert_eq!(config.entity().as_str(), "api/bdoc/acme/marketing/Attribution");
/// # Ok::<(), qad_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributionConfig {
    entity: EntityPath,
    on_duplicate: OnDuplicate,
    key_param: String,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        Self {
            entity: EntityPath::known("api/bdoc/mlconnector/attribution/OrderAttribution"),
            on_duplicate: OnDuplicate::Update,
            key_param: "orderId".to_owned(),
        }
    }
}

impl AttributionConfig {
    /// The entity records are posted to.
    #[must_use]
    pub fn with_entity(mut self, entity: EntityPath) -> Self {
        self.entity = entity;
        self
    }

    /// What a duplicate turns into.
    #[must_use]
    pub fn with_on_duplicate(mut self, on_duplicate: OnDuplicate) -> Self {
        self.on_duplicate = on_duplicate;
        self
    }

    /// The query parameter naming the key on an update (default `orderId`).
    #[must_use]
    pub fn with_key_param(mut self, name: impl Into<String>) -> Self {
        self.key_param = name.into();
        self
    }

    /// The entity records are posted to.
    pub fn entity(&self) -> &EntityPath {
        &self.entity
    }

    /// What a duplicate turns into.
    pub fn on_duplicate(&self) -> OnDuplicate {
        self.on_duplicate
    }
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteOutcome {
    /// A new record was created.
    Created,
    /// The existing record was updated.
    Updated,
    /// A record existed and was left alone ([`OnDuplicate::Skip`]).
    Unchanged,
}

/// Attribution writes, from [`Client::attribution`].
#[derive(Debug, Clone)]
pub struct Attributions {
    client: Client,
}

impl Client {
    /// The attribution writer.
    pub fn attribution(&self) -> Attributions {
        Attributions {
            client: self.clone(),
        }
    }
}

impl Attributions {
    /// Posts `record` as a one-element JSON array to the configured entity.
    ///
    /// When QAD answers that it already exists (code `2041`, "already
    /// exists", or HTTP 409), the record is sent again as an update — the
    /// same POST with `"dataOperation": "U"` and `?orderId=<id>`, the
    /// business-document convention — or left alone, as configured. A
    /// second record is never created, provided the entity has `orderId`
    /// as its key.
    ///
    /// With `attribution.duplicate = "creates"` (a tenant that creates a
    /// second record instead of refusing), the key is looked up first
    /// ([`exists`](Self::exists)) and an existing record is updated or left
    /// alone as above; with `"server-error"`, a 500 saying "already exists"
    /// counts as a duplicate.
    ///
    /// This POST is retried like reads (429, 502, 503, 504, transport
    /// errors): if a retried create had in fact landed, the retry meets the
    /// duplicate and turns into an update, so the effect stays idempotent.
    ///
    /// ```no_run
    /// # async fn run(client: qad_client::Client, record: qad_client::AttributionRecord) -> qad_client::Result<()> {
    /// let outcome = client.attribution().post(&record).await?;
    /// println!("{}: {outcome:?}", record.order_id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] with QAD's field errors (including
    /// `submitResult.success=false` at HTTP 200), and any call error.
    pub async fn post(&self, record: &AttributionRecord) -> Result<WriteOutcome> {
        let value = serde_json::to_value(record).map_err(|source| Error::Decode {
            context: "attribution record".to_owned(),
            source,
        })?;
        crate::keyed::post(&self.client, &self.target(), &record.order_id, value).await
    }

    fn target(&self) -> crate::keyed::KeyedEntity<'_> {
        let config = &self.client.settings().attribution;
        crate::keyed::KeyedEntity {
            entity: &config.entity,
            key_param: &config.key_param,
            on_duplicate: config.on_duplicate,
        }
    }
}

impl Attributions {
    /// Whether a record with this key exists: `GET {entity}?<key>=<id>`.
    ///
    /// # Errors
    ///
    /// Any call error, or [`Error::Decode`] for an unreadable answer.
    pub async fn exists(&self, order_id: &str) -> Result<bool> {
        crate::keyed::exists(&self.client, &self.target(), order_id).await
    }
}
