//! Sales orders: headers (`salesOrderHeaders`, `so_mstr`) and lines
//! (`salesOrderLines`, `sod_det`).

use chrono::NaiveDate;
use futures::TryStreamExt;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::browse::FilterOp;
use crate::client::Client;
use crate::error::Result;
use crate::ids::{CustomerCode, DomainCode, ItemCode, SalesOrderNumber};
use crate::incremental::Stamp;
use crate::read::{Reader, Record};

/// A sales order header with the fields of `salesOrderHeaders`.
///
/// Business documents nest the lines under `salesOrderLines`; browse rows do
/// not, so [`lines`](Self::lines) is empty unless read with
/// [`Client::sales_order`].
///
/// ```
/// let row = serde_json::json!({
///     "salesOrderNumber": "SO10045", "soldToCustomerCode": "C0000010",
///     "orderDate": "2025-03-04T00:00:00.000Z", "customerPO": "",
///     "salesOrderLines": [{"salesOrderLine": 1, "itemCode": "10-1000", "quantityOrdered": 2}]
/// });
/// let so: qad_client::SalesOrder = serde_json::from_value(row)?;
/// assert_eq!(so.customer_po, None);
/// assert_eq!(so.lines[0].item_code.as_ref().map(|i| i.as_str()), Some("10-1000"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SalesOrder {
    /// `salesOrderNumber` (`so_nbr`): the key.
    #[serde(deserialize_with = "crate::de::key")]
    pub sales_order_number: SalesOrderNumber,
    /// `domainCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub domain_code: Option<DomainCode>,
    /// `soldToCustomerCode` (`so_cust`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub sold_to_customer_code: Option<CustomerCode>,
    /// `billToCustomerCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub bill_to_customer_code: Option<CustomerCode>,
    /// `shipToCustomerCode` (`so_ship`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub ship_to_customer_code: Option<CustomerCode>,
    /// `siteCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub site_code: Option<String>,
    /// `currencyCode` (`so_curr`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub currency_code: Option<String>,
    /// `orderDate` (`so_ord_date`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub order_date: Option<NaiveDate>,
    /// `dueDate` (`so_due_date`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_date: Option<NaiveDate>,
    /// `creditTermsCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub credit_terms_code: Option<String>,
    /// `shipVia`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub ship_via: Option<String>,
    /// `customerPO` (`so_po`; the REST name is inferred).
    #[serde(
        rename = "customerPO",
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_po: Option<String>,
    /// `status` (`so_stat`; the REST name is inferred).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<String>,
    /// `lastModifiedDate` (inferred for this entity).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified_date: Option<NaiveDate>,
    /// `lastModifiedTime`: seconds after midnight (inferred for this entity).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified_time: Option<i64>,
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
    /// `salesOrderLines`, when nested in the document or read separately.
    #[serde(
        rename = "salesOrderLines",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub lines: Vec<SalesOrderLine>,
    /// Every other key of the row, custom fields included.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A sales order line with the fields of `salesOrderLines`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SalesOrderLine {
    /// `salesOrderNumber` (`sod_nbr`), present in line browses.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub sales_order_number: Option<SalesOrderNumber>,
    /// `salesOrderLine` (`sod_line`): the line number.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub sales_order_line: Option<i64>,
    /// `itemCode` (`sod_part`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub item_code: Option<ItemCode>,
    /// `siteCode`.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub site_code: Option<String>,
    /// `quantityOrdered` (`sod_qty_ord`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub quantity_ordered: Option<Decimal>,
    /// `unitOfMeasure` (`sod_um`; the REST name is inferred).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub unit_of_measure: Option<String>,
    /// `listPrice` (`sod_list_pr`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub list_price: Option<Decimal>,
    /// `discount`: the discount percentage as a number (inferred name).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub discount: Option<Decimal>,
    /// `discountFormatted`: the discount as QAD displays it.
    #[serde(
        default,
        deserialize_with = "crate::de::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub discount_formatted: Option<String>,
    /// `netPrice` (`sod_price`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    pub net_price: Option<Decimal>,
    /// `dueDate` (`sod_due_date`).
    #[serde(
        default,
        deserialize_with = "crate::de::opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_date: Option<NaiveDate>,
    /// Every other key of the row, custom fields included.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Record for SalesOrder {
    const KIND: &'static str = "sales order";
    const FIELDS: &'static [&'static str] = &[
        "salesOrderNumber",
        "domainCode",
        "soldToCustomerCode",
        "billToCustomerCode",
        "shipToCustomerCode",
        "siteCode",
        "currencyCode",
        "orderDate",
        "dueDate",
        "creditTermsCode",
        "shipVia",
        "customerPO",
        "status",
        "lastModifiedDate",
        "lastModifiedTime",
        "uri",
        "concurrencyHash",
    ];

    fn key(&self) -> String {
        self.sales_order_number.to_string()
    }

    fn stamp(&self) -> Stamp {
        Stamp {
            date: self.last_modified_date,
            time: self.last_modified_time,
            version: self.concurrency_hash.clone(),
        }
    }
}

impl Record for SalesOrderLine {
    const KIND: &'static str = "sales order line";
    const FIELDS: &'static [&'static str] = &[
        "salesOrderNumber",
        "salesOrderLine",
        "itemCode",
        "siteCode",
        "quantityOrdered",
        "unitOfMeasure",
        "listPrice",
        "discount",
        "discountFormatted",
        "netPrice",
        "dueDate",
    ];

    /// `<order number>/<line>`.
    fn key(&self) -> String {
        let order = self.sales_order_number.as_ref().map_or("", |n| n.as_str());
        let line = self
            .sales_order_line
            .map(|l| l.to_string())
            .unwrap_or_default();
        format!("{order}/{line}")
    }

    /// Lines carry no modification stamp of their own.
    fn stamp(&self) -> Stamp {
        Stamp::default()
    }
}

impl Reader<SalesOrderLine> {
    /// Only the lines of `order`.
    #[must_use]
    pub fn of_order(self, order: &SalesOrderNumber) -> Self {
        self.filter("salesOrderNumber", FilterOp::Eq, order.as_str())
    }
}

impl Client {
    /// Reads sales order headers from the configured browse
    /// (default `urn:browse:bebrowse:com.qad.erp.sales.salesOrders`).
    pub fn sales_orders(&self) -> Reader<SalesOrder> {
        Reader::new(self, &self.settings().sales_orders)
    }

    /// Reads sales order lines from the configured line browse
    /// (default `urn:browse:bebrowse:com.qad.erp.sales.salesOrderLines`, inferred).
    pub fn sales_order_lines(&self) -> Reader<SalesOrderLine> {
        Reader::new(self, &self.settings().sales_order_lines)
    }

    /// One sales order with its lines, or `None` when no header has that number.
    ///
    /// ```no_run
    /// # async fn run(client: qad_client::Client) -> qad_client::Result<()> {
    /// if let Some(order) = client.sales_order(&"SO10045".into()).await? {
    ///     println!("{} lines", order.lines.len());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Any error of the two browse reads.
    pub async fn sales_order(&self, number: &SalesOrderNumber) -> Result<Option<SalesOrder>> {
        let headers = self
            .sales_orders()
            .filter("salesOrderNumber", FilterOp::Eq, number.as_str())
            .count(10)
            .send()
            .await?;
        let Some(mut header) = headers
            .items
            .into_iter()
            .find(|h| &h.sales_order_number == number)
        else {
            return Ok(None);
        };
        header.lines = self
            .sales_order_lines()
            .of_order(number)
            .into_stream()
            .try_collect()
            .await?;
        Ok(Some(header))
    }
}
