//! Sales orders: headers (`salesOrderHeaders`, `so_mstr`) and lines
//! (`salesOrderLines`, `sod_det`).

use chrono::NaiveDate;
use futures::TryStreamExt;
use rust_decimal::Decimal;

use crate::browse::FilterOp;
use crate::client::Client;
use crate::error::Result;
use crate::ids::{CustomerCode, DomainCode, ItemCode, SalesOrderNumber};
use crate::incremental::Stamp;
use crate::read::{Reader, Record};
use crate::record_struct::record_struct;

record_struct! {
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
    pub struct SalesOrder {
        key {
            /// `salesOrderNumber` (`so_nbr`): the key.
            sales_order_number: SalesOrderNumber = "salesOrderNumber",
        }
        optional {
            /// `domainCode`.
            domain_code: Option<DomainCode> = "domainCode",
            /// `soldToCustomerCode` (`so_cust`).
            sold_to_customer_code: Option<CustomerCode> = "soldToCustomerCode",
            /// `billToCustomerCode`.
            bill_to_customer_code: Option<CustomerCode> = "billToCustomerCode",
            /// `shipToCustomerCode` (`so_ship`).
            ship_to_customer_code: Option<CustomerCode> = "shipToCustomerCode",
            /// `siteCode`.
            site_code: Option<String> = "siteCode",
            /// `currencyCode` (`so_curr`).
            currency_code: Option<String> = "currencyCode",
            /// `orderDate` (`so_ord_date`).
            order_date: Option<NaiveDate> = "orderDate",
            /// `dueDate` (`so_due_date`).
            due_date: Option<NaiveDate> = "dueDate",
            /// `creditTermsCode`.
            credit_terms_code: Option<String> = "creditTermsCode",
            /// `shipVia`.
            ship_via: Option<String> = "shipVia",
            /// `customerPO` (`so_po`; the REST name is inferred).
            customer_po: Option<String> = "customerPO",
            /// `status` (`so_stat`; the REST name is inferred).
            status: Option<String> = "status",
            /// `lastModifiedDate` (inferred for this entity).
            last_modified_date: Option<NaiveDate> = "lastModifiedDate",
            /// `lastModifiedTime`: seconds after midnight (inferred for this entity).
            last_modified_time: Option<i64> = "lastModifiedTime",
            /// `uri`: the instance URI.
            uri: Option<String> = "uri",
            /// `concurrencyHash`, when the surface returns it.
            concurrency_hash: Option<String> = "concurrencyHash",
        }
        unmapped {
            /// `salesOrderLines`, when nested in the document or read separately.
            #[serde(
                rename = "salesOrderLines",
                default,
                skip_serializing_if = "Vec::is_empty"
            )]
            lines: Vec<SalesOrderLine>,
        }
    }
}

record_struct! {
    /// A sales order line with the fields of `salesOrderLines`.
    pub struct SalesOrderLine {
        optional {
            /// `salesOrderNumber` (`sod_nbr`), present in line browses.
            sales_order_number: Option<SalesOrderNumber> = "salesOrderNumber",
            /// `salesOrderLine` (`sod_line`): the line number.
            sales_order_line: Option<i64> = "salesOrderLine",
            /// `itemCode` (`sod_part`).
            item_code: Option<ItemCode> = "itemCode",
            /// `siteCode`.
            site_code: Option<String> = "siteCode",
            /// `quantityOrdered` (`sod_qty_ord`).
            quantity_ordered: Option<Decimal> = "quantityOrdered",
            /// `unitOfMeasure` (`sod_um`; the REST name is inferred).
            unit_of_measure: Option<String> = "unitOfMeasure",
            /// `listPrice` (`sod_list_pr`).
            list_price: Option<Decimal> = "listPrice",
            /// `discount`: the discount percentage as a number (inferred name).
            discount: Option<Decimal> = "discount",
            /// `discountFormatted`: the discount as QAD displays it.
            discount_formatted: Option<String> = "discountFormatted",
            /// `netPrice` (`sod_price`).
            net_price: Option<Decimal> = "netPrice",
            /// `dueDate` (`sod_due_date`).
            due_date: Option<NaiveDate> = "dueDate",
        }
    }
}

impl Record for SalesOrder {
    const KIND: &'static str = "sales order";
    const FIELDS: &'static [&'static str] = Self::WIRE_FIELDS;

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
    const FIELDS: &'static [&'static str] = Self::WIRE_FIELDS;

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
