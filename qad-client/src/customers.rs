//! Customers (`customerV2s` business entity; `cm_mstr` + `ad_mstr` in legacy browses).

use chrono::NaiveDate;

use crate::client::Client;
use crate::ids::CustomerCode;
use crate::incremental::Stamp;
use crate::read::{Reader, Record};
use crate::record_struct::record_struct;

record_struct! {
    /// A customer with the fields of the `customerV2s` business entity.
    ///
    /// Blank fields are `None`. Every other key of the row (custom fields such as
    /// `customShort1`, keys of other tables) is kept in [`extra`](Self::extra)
    /// under its original name.
    ///
    /// ```
    /// let row = serde_json::json!({
    ///     "customerCode": "C0000010", "addressName": "Acme GmbH", "EMail": "buy@acme-industrial.com",
    ///     "isActive": true, "lastModifiedDate": "2025-03-04T00:00:00.000Z", "customShort1": "VIP"
    /// });
    /// let c: qad_client::Customer = serde_json::from_value(row)?;
    /// assert_eq!(c.customer_code.as_str(), "C0000010");
    /// assert_eq!(c.email.as_deref(), Some("buy@acme-industrial.com"));
    /// assert_eq!(c.extra["customShort1"], "VIP");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub struct Customer {
        key {
            /// `customerCode`: the key.
            customer_code: CustomerCode = "customerCode",
        }
        optional {
            /// `sharedSetCode`.
            shared_set_code: Option<String> = "sharedSetCode",
            /// `businessRelationCode`.
            business_relation_code: Option<String> = "businessRelationCode",
            /// `addressName`: the company or person name.
            address_name: Option<String> = "addressName",
            /// `addressSearchName`: the sort name.
            address_search_name: Option<String> = "addressSearchName",
            /// `street1`.
            street1: Option<String> = "street1",
            /// `street2`.
            street2: Option<String> = "street2",
            /// `street3`.
            street3: Option<String> = "street3",
            /// `city`.
            city: Option<String> = "city",
            /// `zipCode`.
            zip_code: Option<String> = "zipCode",
            /// `stateCode`.
            state_code: Option<String> = "stateCode",
            /// `countryCode`.
            country_code: Option<String> = "countryCode",
            /// `EMail`.
            email: Option<String> = "EMail",
            /// `telephone`.
            telephone: Option<String> = "telephone",
            /// `fax`.
            fax: Option<String> = "fax",
            /// `webSite`.
            web_site: Option<String> = "webSite",
            /// `currencyCode`.
            currency_code: Option<String> = "currencyCode",
            /// `customerCurrencyCode`.
            customer_currency_code: Option<String> = "customerCurrencyCode",
            /// `languageCode`.
            language_code: Option<String> = "languageCode",
            /// `creditTermsCode`.
            credit_terms_code: Option<String> = "creditTermsCode",
            /// `customerTypeCode`.
            customer_type_code: Option<String> = "customerTypeCode",
            /// `isActive` (JSON bool or `yes`/`no`).
            is_active: Option<bool> = "isActive",
            /// `lastModifiedDate` (a date; QAD keeps no time in it).
            last_modified_date: Option<NaiveDate> = "lastModifiedDate",
            /// `lastModifiedTime`: seconds after midnight.
            last_modified_time: Option<i64> = "lastModifiedTime",
            /// `lastModifiedUser`.
            last_modified_user: Option<String> = "lastModifiedUser",
            /// `uri`: the instance URI (`urn:be:…ICustomerV2:<set>.<code>`).
            uri: Option<String> = "uri",
            /// `concurrencyHash`: a version marker, when the surface returns it.
            concurrency_hash: Option<String> = "concurrencyHash",
        }
    }
}

impl Record for Customer {
    const KIND: &'static str = "customer";
    const FIELDS: &'static [&'static str] = Self::WIRE_FIELDS;

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
