//! Customers (`customerV2s` business entity; `cm_mstr` + `ad_mstr` in legacy browses).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::ids::CustomerCode;
use crate::incremental::Stamp;
use crate::read::{Reader, Record};

/// A customer with the fields of the `customerV2s` business entity.
///
/// Blank fields are `None`. Every other key of the row (custom fields such as
/// `customShort1`, keys of other tables) is kept in [`extra`](Self::extra)
/// under its original name.
///
/// ```
/// let row = serde_json::json!({
///     "customerCode": "C0000010", "addressName": "Acme GmbH", "EMail": "buy@acme.example",
///     "isActive": true, "lastModifiedDate": "2025-03-04T00:00:00.000Z", "customShort1": "VIP"
/// });
/// let c: qad_client::Customer = serde_json::from_value(row)?;
/// assert_eq!(c.customer_code.as_str(), "C0000010");
/// assert_eq!(c.email.as_deref(), Some("buy@acme.example"));
/// assert_eq!(c.extra["customShort1"], "VIP");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Customer {
    /// `customerCode`: the key.
    #[serde(deserialize_with = "crate::de::key")]
    pub customer_code: CustomerCode,
    /// `sharedSetCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub shared_set_code: Option<String>,
    /// `businessRelationCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub business_relation_code: Option<String>,
    /// `addressName`: the company or person name.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub address_name: Option<String>,
    /// `addressSearchName`: the sort name.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub address_search_name: Option<String>,
    /// `street1`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub street1: Option<String>,
    /// `street2`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub street2: Option<String>,
    /// `street3`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub street3: Option<String>,
    /// `city`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub city: Option<String>,
    /// `zipCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub zip_code: Option<String>,
    /// `stateCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub state_code: Option<String>,
    /// `countryCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub country_code: Option<String>,
    /// `EMail`.
    #[serde(
        rename = "EMail",
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<String>,
    /// `telephone`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub telephone: Option<String>,
    /// `fax`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub fax: Option<String>,
    /// `webSite`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub web_site: Option<String>,
    /// `currencyCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub currency_code: Option<String>,
    /// `customerCurrencyCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_currency_code: Option<String>,
    /// `languageCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub language_code: Option<String>,
    /// `creditTermsCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub credit_terms_code: Option<String>,
    /// `customerTypeCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_type_code: Option<String>,
    /// `isActive` (JSON bool or `yes`/`no`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_active: Option<bool>,
    /// `lastModifiedDate` (a date; QAD keeps no time in it).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified_date: Option<NaiveDate>,
    /// `lastModifiedTime`: seconds after midnight.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified_time: Option<i64>,
    /// `lastModifiedUser`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified_user: Option<String>,
    /// `uri`: the instance URI (`urn:be:…ICustomerV2:<set>.<code>`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub uri: Option<String>,
    /// `concurrencyHash`: a version marker, when the surface returns it.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub concurrency_hash: Option<String>,
    /// Every other key of the row, custom fields included.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Record for Customer {
    const KIND: &'static str = "customer";
    const FIELDS: &'static [&'static str] = &[
        "customerCode",
        "sharedSetCode",
        "businessRelationCode",
        "addressName",
        "addressSearchName",
        "street1",
        "street2",
        "street3",
        "city",
        "zipCode",
        "stateCode",
        "countryCode",
        "EMail",
        "telephone",
        "fax",
        "webSite",
        "currencyCode",
        "customerCurrencyCode",
        "languageCode",
        "creditTermsCode",
        "customerTypeCode",
        "isActive",
        "lastModifiedDate",
        "lastModifiedTime",
        "lastModifiedUser",
        "uri",
        "concurrencyHash",
    ];

    fn key(&self) -> String {
        self.customer_code.to_string()
    }

    fn stamp(&self) -> Stamp {
        Stamp {
            date: self.last_modified_date,
            time: self.last_modified_time,
            version: self.concurrency_hash.clone(),
        }
    }
}

impl Client {
    /// Reads customers from the configured customer browse
    /// (default `urn:browse:bebrowse:com.qad.erp.base.customers`).
    ///
    /// ```no_run
    /// # async fn run(client: qad_client::Client) -> qad_client::Result<()> {
    /// use chrono::NaiveDate;
    /// use futures::TryStreamExt;
    ///
    /// let since = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    /// let changed: Vec<_> = client.customers().modified_since(since).into_stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn customers(&self) -> Reader<Customer> {
        Reader::new(self, &self.settings().customers)
    }
}
