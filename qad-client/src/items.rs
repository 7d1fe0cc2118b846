//! Items (`items` business entity; `pt_mstr` in legacy browses).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::client::Client;
use crate::ids::{DomainCode, ItemCode};
use crate::incremental::Stamp;
use crate::read::{Reader, Record};
use crate::record_struct::record_struct;

record_struct! {
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
    pub struct Item {
        key {
            /// `itemCode`: the key.
            item_code: ItemCode = "itemCode",
        }
        optional {
            /// `description` (`pt_desc1`).
            description: Option<String> = "description",
            /// `description2` (`pt_desc2`).
            description2: Option<String> = "description2",
            /// `unitOfMeasure` (`pt_um`).
            unit_of_measure: Option<String> = "unitOfMeasure",
            /// `productLine` (`pt_prod_line`).
            product_line: Option<String> = "productLine",
            /// `itemStatus` (`pt_status`).
            item_status: Option<String> = "itemStatus",
            /// `price` (`pt_price`), the list price.
            price: Option<Decimal> = "price",
            /// `domainCode` (`pt_domain`).
            domain_code: Option<DomainCode> = "domainCode",
            /// `lastModifiedDate` (`pt_mod_date`): a date only.
            last_modified_date: Option<NaiveDate> = "lastModifiedDate",
            /// `uri`: the instance URI.
            uri: Option<String> = "uri",
            /// `concurrencyHash`, when the surface returns it.
            concurrency_hash: Option<String> = "concurrencyHash",
        }
    }
}

impl Record for Item {
    const KIND: &'static str = "item";
    const FIELDS: &'static [&'static str] = Self::WIRE_FIELDS;

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
