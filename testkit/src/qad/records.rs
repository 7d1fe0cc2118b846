//! The tenant's business data (customers, items, sales orders) and how each
//! record is rendered as a business document and as a flat browse row.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Map, Value};

/// How the fake writes date fields (`lastModifiedDate`, `orderDate`, `dueDate`).
///
/// QAD dates carry no time of day. The only form seen in public code is
/// `YYYY-MM-DDT00:00:00.000Z`, so that is the default; `Plain` lets a client
/// prove it decodes the bare form too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DateStyle {
    /// `2025-03-04T00:00:00.000Z`.
    #[default]
    IsoMidnight,
    /// `2025-03-04`.
    Plain,
}

impl DateStyle {
    /// Formats `date` in this style.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use testkit::qad::DateStyle;
    ///
    /// let day = NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
    /// assert_eq!(DateStyle::IsoMidnight.format(day), "2025-03-04T00:00:00.000Z");
    /// assert_eq!(DateStyle::Plain.format(day), "2025-03-04");
    /// ```
    #[must_use]
    pub fn format(self, date: NaiveDate) -> String {
        match self {
            Self::IsoMidnight => format!("{}T00:00:00.000Z", date.format("%Y-%m-%d")),
            Self::Plain => date.format("%Y-%m-%d").to_string(),
        }
    }
}

/// A customer as the `customerV2s` business document describes it.
///
/// `None` fields are *missing*: the business document omits the key and a
/// browse row carries `""` for it, as QAD's blank character fields do.
#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    /// `customerCode`, the key (also the business relation code here).
    pub customer_code: String,
    /// `sharedSetCode`.
    pub shared_set_code: String,
    /// `businessRelationCode`.
    pub business_relation_code: String,
    /// `addressName`: the company or person name.
    pub address_name: Option<String>,
    /// `addressSearchName`: an upper-case sort name.
    pub address_search_name: String,
    /// `street1`.
    pub street1: Option<String>,
    /// `street2` (often blank).
    pub street2: String,
    /// `street3` (often blank).
    pub street3: String,
    /// `city`.
    pub city: Option<String>,
    /// `zipCode`.
    pub zip_code: Option<String>,
    /// `stateCode`.
    pub state_code: Option<String>,
    /// `countryCode`, ISO alpha-2.
    pub country_code: Option<String>,
    /// `EMail` (QAD's capitalisation). May be invalid or shared with another customer.
    pub email: Option<String>,
    /// `telephone`.
    pub telephone: Option<String>,
    /// `fax`.
    pub fax: String,
    /// `webSite`.
    pub web_site: String,
    /// `currencyCode`, ISO 4217.
    pub currency_code: String,
    /// `customerCurrencyCode` (same as `currencyCode` in seeded data).
    pub customer_currency_code: String,
    /// `languageCode`, lower-case ISO 639-1.
    pub language_code: Option<String>,
    /// `creditTermsCode`.
    pub credit_terms_code: String,
    /// `customerTypeCode`.
    pub customer_type_code: String,
    /// `isActive`.
    pub is_active: bool,
    /// `lastModifiedDate` (day granular, like QAD).
    pub last_modified_date: NaiveDate,
    /// `lastModifiedTime`: seconds since midnight.
    pub last_modified_time: u32,
    /// `lastModifiedUser`.
    pub last_modified_user: String,
    /// Tenant-specific custom fields (`customShort1`, …), emitted as they are.
    pub custom: BTreeMap<String, Value>,
}

/// An item as the `items` business document describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// `itemCode`, the key.
    pub item_code: String,
    /// `description`.
    pub description: String,
    /// `description2` (often blank).
    pub description2: String,
    /// `unitOfMeasure`.
    pub unit_of_measure: String,
    /// `productLine`.
    pub product_line: String,
    /// `itemStatus`: `ACTIVE` or `INACTIVE` in seeded data.
    pub item_status: String,
    /// `price` in hundredths of the tenant currency, emitted as a JSON number (`12.5`).
    pub price_cents: i64,
    /// `lastModifiedDate` (items have no modification time in QAD).
    pub last_modified_date: NaiveDate,
}

/// A sales order header with its lines (`salesOrders` business document).
#[derive(Clone, Debug, PartialEq)]
pub struct SalesOrder {
    /// `salesOrderNumber`, the key.
    pub sales_order_number: String,
    /// `soldToCustomerCode`.
    pub sold_to_customer_code: String,
    /// `billToCustomerCode`.
    pub bill_to_customer_code: String,
    /// `shipToCustomerCode`.
    pub ship_to_customer_code: String,
    /// `siteCode`.
    pub site_code: String,
    /// `currencyCode`.
    pub currency_code: String,
    /// `orderDate`.
    pub order_date: NaiveDate,
    /// `dueDate`.
    pub due_date: NaiveDate,
    /// `customerPO` (`so_po`); `None` emits `""`, as QAD does for a blank PO.
    pub customer_po: Option<String>,
    /// `status` (`so_stat`): the order's state as the tenant names it. QAD's own codes are
    /// not public; the seed uses `open`, `confirmed`, `shipped`, `invoiced` and `cancelled`.
    pub status: String,
    /// `lastModifiedDate`.
    pub last_modified_date: NaiveDate,
    /// `lastModifiedTime`: seconds since midnight.
    pub last_modified_time: u32,
    /// `salesOrderLines`.
    pub lines: Vec<SalesOrderLine>,
}

/// One line of a [`SalesOrder`].
#[derive(Clone, Debug, PartialEq)]
pub struct SalesOrderLine {
    /// `salesOrderLine`: the line number, from 1.
    pub line: u32,
    /// `itemCode`.
    pub item_code: String,
    /// `siteCode`.
    pub site_code: String,
    /// `quantityOrdered`.
    pub quantity_ordered: u32,
    /// `unitOfMeasure`.
    pub unit_of_measure: String,
    /// `listPrice` in hundredths.
    pub list_price_cents: i64,
    /// `discount`: a percentage (`10` means 10 %).
    pub discount_percent: u32,
    /// `netPrice` in hundredths: the list price less the discount.
    pub net_price_cents: i64,
    /// `dueDate`.
    pub due_date: NaiveDate,
}

/// Builds JSON objects whose missing fields are either omitted (business
/// documents) or blank (browse rows), so the two renderings share one field list.
struct Fields {
    map: Map<String, Value>,
    prefix: Option<&'static str>,
}

impl Fields {
    fn document() -> Self {
        Self {
            map: Map::new(),
            prefix: None,
        }
    }

    fn browse(prefix: &'static str) -> Self {
        Self {
            map: Map::new(),
            prefix: Some(prefix),
        }
    }

    fn key(&self, name: &str) -> String {
        match self.prefix {
            Some(prefix) => format!("{prefix}.{name}"),
            None => name.to_owned(),
        }
    }

    fn put(&mut self, name: &str, value: impl Into<Value>) {
        let key = self.key(name);
        self.map.insert(key, value.into());
    }

    fn opt(&mut self, name: &str, value: Option<&String>) {
        match (value, self.prefix) {
            (Some(v), _) => self.put(name, v.clone()),
            (None, Some(_)) => self.put(name, ""),
            (None, None) => {}
        }
    }
}

/// Hundredths to a JSON number: `1250` → `12.5`.
fn money(cents: i64) -> Value {
    // Dividing an integer by 100 yields the double nearest the decimal, which
    // serde_json prints in its shortest exact form.
    serde_json::Number::from_f64(cents as f64 / 100.0).map_or(Value::Null, Value::Number)
}

impl Customer {
    /// Its `uri` as QAD writes instance URIs.
    #[must_use]
    pub fn uri(&self) -> String {
        format!(
            "urn:be:com.qad.base.customer.ICustomerV2:{}.{}",
            self.shared_set_code, self.customer_code
        )
    }

    fn fill(&self, f: &mut Fields, dates: DateStyle) {
        f.put("customerCode", self.customer_code.clone());
        f.put("sharedSetCode", self.shared_set_code.clone());
        f.put("businessRelationCode", self.business_relation_code.clone());
        f.opt("addressName", self.address_name.as_ref());
        f.put("addressSearchName", self.address_search_name.clone());
        f.opt("street1", self.street1.as_ref());
        f.put("street2", self.street2.clone());
        f.put("street3", self.street3.clone());
        f.opt("city", self.city.as_ref());
        f.opt("zipCode", self.zip_code.as_ref());
        f.opt("stateCode", self.state_code.as_ref());
        f.opt("countryCode", self.country_code.as_ref());
        f.opt("EMail", self.email.as_ref());
        f.opt("telephone", self.telephone.as_ref());
        f.put("fax", self.fax.clone());
        f.put("webSite", self.web_site.clone());
        f.put("currencyCode", self.currency_code.clone());
        f.put("customerCurrencyCode", self.customer_currency_code.clone());
        f.opt("languageCode", self.language_code.as_ref());
        f.put("creditTermsCode", self.credit_terms_code.clone());
        f.put("customerTypeCode", self.customer_type_code.clone());
        f.put("isActive", self.is_active);
        f.put("lastModifiedDate", dates.format(self.last_modified_date));
        f.put("lastModifiedTime", self.last_modified_time);
        f.put("lastModifiedUser", self.last_modified_user.clone());
        for (name, value) in &self.custom {
            f.put(name, value.clone());
        }
    }

    /// The `customerV2s` business-document object (missing fields omitted).
    #[must_use]
    pub fn to_document(&self, dates: DateStyle) -> Value {
        let mut f = Fields::document();
        self.fill(&mut f, dates);
        f.put("uri", self.uri());
        Value::Object(f.map)
    }

    /// The browse row: every key prefixed `customer.`, missing fields `""`.
    #[must_use]
    pub fn to_browse_row(&self, dates: DateStyle) -> Value {
        let mut f = Fields::browse("customer");
        self.fill(&mut f, dates);
        Value::Object(f.map)
    }
}

impl Item {
    fn fill(&self, f: &mut Fields, dates: DateStyle) {
        f.put("itemCode", self.item_code.clone());
        f.put("description", self.description.clone());
        f.put("description2", self.description2.clone());
        f.put("unitOfMeasure", self.unit_of_measure.clone());
        f.put("productLine", self.product_line.clone());
        f.put("itemStatus", self.item_status.clone());
        f.put("price", money(self.price_cents));
        f.put("lastModifiedDate", dates.format(self.last_modified_date));
    }

    /// The `items` business-document object.
    #[must_use]
    pub fn to_document(&self, dates: DateStyle, domain: &str) -> Value {
        let mut f = Fields::document();
        self.fill(&mut f, dates);
        f.put("domainCode", domain);
        f.put(
            "uri",
            format!("urn:be:com.qad.base.item.IItem:{domain}.{}", self.item_code),
        );
        Value::Object(f.map)
    }

    /// The browse row: every key prefixed `item.`.
    #[must_use]
    pub fn to_browse_row(&self, dates: DateStyle) -> Value {
        let mut f = Fields::browse("item");
        self.fill(&mut f, dates);
        Value::Object(f.map)
    }
}

impl SalesOrder {
    fn fill_header(&self, f: &mut Fields, dates: DateStyle) {
        f.put("salesOrderNumber", self.sales_order_number.clone());
        f.put("soldToCustomerCode", self.sold_to_customer_code.clone());
        f.put("billToCustomerCode", self.bill_to_customer_code.clone());
        f.put("shipToCustomerCode", self.ship_to_customer_code.clone());
        f.put("siteCode", self.site_code.clone());
        f.put("currencyCode", self.currency_code.clone());
        f.put("orderDate", dates.format(self.order_date));
        f.put("dueDate", dates.format(self.due_date));
        f.put("customerPO", self.customer_po.clone().unwrap_or_default());
        f.put("status", self.status.clone());
        f.put("lastModifiedDate", dates.format(self.last_modified_date));
        f.put("lastModifiedTime", self.last_modified_time);
    }

    /// The `salesOrders` business-document object, lines nested under `salesOrderLines`.
    #[must_use]
    pub fn to_document(&self, dates: DateStyle, domain: &str) -> Value {
        let mut f = Fields::document();
        self.fill_header(&mut f, dates);
        f.put("domainCode", domain);
        f.put(
            "uri",
            format!(
                "urn:be:com.qad.sales.salesorder.ISalesOrderHeader:{domain}.{}",
                self.sales_order_number
            ),
        );
        let lines = self
            .lines
            .iter()
            .map(|line| {
                let mut lf = Fields::document();
                line.fill(&mut lf, dates);
                Value::Object(lf.map)
            })
            .collect::<Vec<_>>();
        f.put("salesOrderLines", lines);
        Value::Object(f.map)
    }

    /// The header browse row: every key prefixed `salesOrder.`, no lines.
    #[must_use]
    pub fn to_browse_row(&self, dates: DateStyle) -> Value {
        let mut f = Fields::browse("salesOrder");
        self.fill_header(&mut f, dates);
        Value::Object(f.map)
    }

    /// One browse row per line: keys prefixed `salesOrderLine.`, with the
    /// order's `salesOrderNumber` repeated on each.
    #[must_use]
    pub fn to_line_browse_rows(&self, dates: DateStyle) -> Vec<Value> {
        self.lines
            .iter()
            .map(|line| {
                let mut f = Fields::browse("salesOrderLine");
                f.put("salesOrderNumber", self.sales_order_number.clone());
                line.fill(&mut f, dates);
                Value::Object(f.map)
            })
            .collect()
    }
}

impl SalesOrderLine {
    fn fill(&self, f: &mut Fields, dates: DateStyle) {
        f.put("salesOrderLine", self.line);
        f.put("itemCode", self.item_code.clone());
        f.put("siteCode", self.site_code.clone());
        f.put("quantityOrdered", self.quantity_ordered);
        f.put("unitOfMeasure", self.unit_of_measure.clone());
        f.put("listPrice", money(self.list_price_cents));
        f.put("discount", self.discount_percent);
        f.put("netPrice", money(self.net_price_cents));
        f.put("dueDate", dates.format(self.due_date));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, d).unwrap()
    }

    fn customer() -> Customer {
        Customer {
            customer_code: "C0000001".into(),
            shared_set_code: "SHARED".into(),
            business_relation_code: "C0000001".into(),
            address_name: Some("Zoë Ærø".into()),
            address_search_name: "ZOE AERO".into(),
            street1: None,
            street2: String::new(),
            street3: String::new(),
            city: Some("Oslo".into()),
            zip_code: Some("0150".into()),
            state_code: None,
            country_code: Some("NO".into()),
            email: None,
            telephone: Some("+47 1".into()),
            fax: String::new(),
            web_site: String::new(),
            currency_code: "NOK".into(),
            customer_currency_code: "NOK".into(),
            language_code: Some("nb".into()),
            credit_terms_code: "NET30".into(),
            customer_type_code: "RETAIL".into(),
            is_active: true,
            last_modified_date: day(2),
            last_modified_time: 30,
            last_modified_user: "mfg".into(),
            custom: BTreeMap::from([("customShort1".to_owned(), json!("X"))]),
        }
    }

    #[test]
    fn document_omits_missing_fields_and_browse_blanks_them() {
        let c = customer();
        let doc = c.to_document(DateStyle::Plain);
        assert!(doc.get("EMail").is_none());
        assert!(doc.get("street1").is_none());
        assert_eq!(doc["addressName"], "Zoë Ærø");
        assert_eq!(doc["lastModifiedDate"], "2025-01-02");
        assert_eq!(doc["lastModifiedTime"], 30);
        assert_eq!(doc["customShort1"], "X");
        assert_eq!(
            doc["uri"],
            "urn:be:com.qad.base.customer.ICustomerV2:SHARED.C0000001"
        );

        let row = c.to_browse_row(DateStyle::IsoMidnight);
        assert_eq!(row["customer.EMail"], "");
        assert_eq!(row["customer.customerCode"], "C0000001");
        assert_eq!(row["customer.lastModifiedDate"], "2025-01-02T00:00:00.000Z");
        assert!(row.get("customer.uri").is_none());
    }

    #[test]
    fn money_prints_decimals_exactly() {
        assert_eq!(money(1250).to_string(), "12.5");
        assert_eq!(money(30).to_string(), "0.3");
        assert_eq!(money(99_999).to_string(), "999.99");
    }

    #[test]
    fn sales_order_nests_lines_and_flattens_them_for_browses() {
        let so = SalesOrder {
            sales_order_number: "SO000001".into(),
            sold_to_customer_code: "C0000001".into(),
            bill_to_customer_code: "C0000001".into(),
            ship_to_customer_code: "C0000001".into(),
            site_code: "10-100".into(),
            currency_code: "USD".into(),
            order_date: day(3),
            due_date: day(10),
            customer_po: None,
            status: "invoiced".into(),
            last_modified_date: day(3),
            last_modified_time: 1,
            lines: vec![SalesOrderLine {
                line: 1,
                item_code: "ITEM-00001".into(),
                site_code: "10-100".into(),
                quantity_ordered: 2,
                unit_of_measure: "EA".into(),
                list_price_cents: 1000,
                discount_percent: 10,
                net_price_cents: 900,
                due_date: day(10),
            }],
        };
        let doc = so.to_document(DateStyle::Plain, "10USA");
        assert_eq!(doc["customerPO"], "");
        assert_eq!(doc["salesOrderLines"][0]["netPrice"], json!(9.0));
        assert_eq!(doc["salesOrderLines"][0]["salesOrderLine"], 1);
        let rows = so.to_line_browse_rows(DateStyle::Plain);
        assert_eq!(rows[0]["salesOrderLine.salesOrderNumber"], "SO000001");
        assert_eq!(rows[0]["salesOrderLine.discount"], 10);
    }
}
