//! Items (`items` business entity; `pt_mstr` in legacy browses).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::ids::{DomainCode, ItemCode};
use crate::incremental::Stamp;
use crate::read::{Reader, Record};

/// An item (part) with the fields of the `items` business entity.
///
/// Only `itemCode`, `description`, `productLine` and `itemStatus` are seen in
/// public code of the REST layer; the others carry `pt_mstr` columns
/// (`pt_desc2`, `pt_um`, `pt_price`, `pt_domain`, `pt_mod_date`) under names
/// that are inferred. Map them per tenant with a [`FieldMap`](crate::FieldMap).
///
/// ```
/// let row = serde_json::json!({"itemCode": "10-1000", "description": "Widget", "price": "12.50"});
/// let item: qad_client::Item = serde_json::from_value(row)?;
/// assert_eq!(item.price, Some(rust_decimal::Decimal::new(1250, 2)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Item {
    /// `itemCode`: the key.
    #[serde(deserialize_with = "crate::de::key")]
    pub item_code: ItemCode,
    /// `description` (`pt_desc1`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// `description2` (`pt_desc2`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub description2: Option<String>,
    /// `unitOfMeasure` (`pt_um`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub unit_of_measure: Option<String>,
    /// `productLine` (`pt_prod_line`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub product_line: Option<String>,
    /// `itemStatus` (`pt_status`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub item_status: Option<String>,
    /// `price` (`pt_price`), the list price.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub price: Option<Decimal>,
    /// `domainCode` (`pt_domain`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub domain_code: Option<DomainCode>,
    /// `lastModifiedDate` (`pt_mod_date`): a date only.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified_date: Option<NaiveDate>,
    /// `uri`: the instance URI.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub uri: Option<String>,
    /// `concurrencyHash`, when the surface returns it.
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

impl Record for Item {
    const KIND: &'static str = "item";
    const FIELDS: &'static [&'static str] = &[
        "itemCode",
        "description",
        "description2",
        "unitOfMeasure",
        "productLine",
        "itemStatus",
        "price",
        "domainCode",
        "lastModifiedDate",
        "uri",
        "concurrencyHash",
    ];

    fn key(&self) -> String {
        self.item_code.to_string()
    }

    fn stamp(&self) -> Stamp {
        Stamp {
            date: self.last_modified_date,
            time: None,
            version: self.concurrency_hash.clone(),
        }
    }
}

impl Client {
    /// Reads items from the configured item browse
    /// (default `urn:browse:bebrowse:com.qad.erp.base.items`, inferred).
    pub fn items(&self) -> Reader<Item> {
        Reader::new(self, &self.settings().items)
    }
}
