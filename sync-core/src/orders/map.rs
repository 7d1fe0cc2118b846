//! Pure mapping of a Mailchimp order to a QAD attribution record, and the order's fingerprint.

use std::collections::HashMap;

use chrono::Utc;
use mailchimp_client::ecommerce::{Order, ProductId, StoreId};
use qad_client::{AttributionLine, AttributionRecord, CustomerCode, ItemCode, SalesOrderNumber};
use rust_decimal::Decimal;
use serde_json::json;

use crate::model::ContentHash;

/// What the lookups found for one order: its QAD customer, its sales order and the item code of
/// each product.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolved {
    /// The QAD customer the order belongs to.
    pub customer_code: CustomerCode,
    /// The matched QAD sales order, if any.
    pub sales_order: Option<SalesOrderNumber>,
    /// The QAD item code of each product id of the order's lines.
    pub item_codes: HashMap<ProductId, ItemCode>,
}

impl Resolved {
    /// A resolution with a customer, no sales order and no item codes (product ids are then used
    /// as item codes).
    #[must_use]
    pub fn new(customer_code: impl Into<CustomerCode>) -> Self {
        Self {
            customer_code: customer_code.into(),
            sales_order: None,
            item_codes: HashMap::new(),
        }
    }

    /// Sets the matched sales order.
    #[must_use]
    pub fn sales_order(mut self, number: impl Into<SalesOrderNumber>) -> Self {
        self.sales_order = Some(number.into());
        self
    }

    /// Maps a product id to its item code.
    #[must_use]
    pub fn item_code(mut self, product: impl Into<ProductId>, item: impl Into<ItemCode>) -> Self {
        self.item_codes.insert(product.into(), item.into());
        self
    }
}

/// Why an order cannot become an attribution record; sending it again cannot help, so its audit
/// row is `rejected`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderProblem {
    /// The order has no currency code.
    #[error("order has no currency_code")]
    NoCurrency,
    /// The order has neither `processed_at_foreign` nor `updated_at_foreign`.
    #[error("order has no processed_at_foreign (nor updated_at_foreign) to date it")]
    NoDate,
}

/// Maps `order` to the attribution record posted to QAD.
///
/// Money stays exact ([`Decimal`]); the processed date falls back to `updated_at_foreign`; an
/// empty campaign id is none; a line's discount defaults to zero; a product without an item code
/// in `resolved` keeps its product id as item code (the forward sync uses item codes as product
/// ids).
///
/// ```
/// use mailchimp_client::ecommerce::{Order, StoreId};
/// use rust_decimal::Decimal;
/// use sync_core::orders::{attribution_record, Resolved};
///
/// let order: Order = serde_json::from_value(serde_json::json!({
///     "id": "1001", "customer": {"id": "C-7"}, "currency_code": "EUR", "order_total": 59.97,
///     "financial_status": "paid", "campaign_id": "", "processed_at_foreign": "2025-03-04T10:00:00+01:00",
///     "lines": [{"id": "1", "product_id": "P-1", "product_variant_id": "P-1", "quantity": 3, "price": 19.99}]
/// }))?;
/// let resolved = Resolved::new("C0007").sales_order("SO-1").item_code("P-1", "10-100");
/// let record = attribution_record(&order, &StoreId::from("eu"), &resolved)?;
/// assert_eq!(record.customer_code.as_str(), "C0007");
/// assert_eq!(record.order_total, Decimal::new(5997, 2));
/// assert_eq!(record.lines[0].item_code.as_str(), "10-100");
/// assert_eq!(record.lines[0].quantity * record.lines[0].price, record.order_total);
/// assert_eq!(record.campaign_id, None);
/// assert_eq!(record.processed_date.to_rfc3339(), "2025-03-04T09:00:00+00:00");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`OrderProblem`] when the order lacks a currency or any date.
pub fn attribution_record(
    order: &Order,
    store_id: &StoreId,
    resolved: &Resolved,
) -> Result<AttributionRecord, OrderProblem> {
    if order.currency_code.trim().is_empty() {
        return Err(OrderProblem::NoCurrency);
    }
    let processed = order
        .processed_at_foreign
        .or(order.updated_at_foreign)
        .ok_or(OrderProblem::NoDate)?;
    let lines = order
        .lines
        .iter()
        .map(|line| AttributionLine {
            item_code: resolved
                .item_codes
                .get(&line.product_id)
                .cloned()
                .unwrap_or_else(|| ItemCode::from(line.product_id.as_str())),
            quantity: Decimal::from(line.quantity),
            price: line.price,
            discount: line.discount.unwrap_or(Decimal::ZERO),
        })
        .collect();
    Ok(AttributionRecord {
        order_id: order.id.as_str().to_owned(),
        customer_code: resolved.customer_code.clone(),
        sales_order_number: resolved.sales_order.clone(),
        order_total: order.order_total,
        currency_code: order.currency_code.trim().to_uppercase(),
        financial_status: order.financial_status.clone().unwrap_or_default(),
        processed_date: processed.with_timezone(&Utc),
        store_id: store_id.as_str().to_owned(),
        campaign_id: order.campaign_id.clone().filter(|c| !c.trim().is_empty()),
        lines,
    })
}

/// The fingerprint of an order as read from Mailchimp: its `updated_at_foreign` and every field
/// the mapping reads. Equal fingerprints mean the order needs no lookups and no post.
///
/// ```
/// use mailchimp_client::ecommerce::Order;
/// use sync_core::orders::order_fingerprint;
///
/// let order = |total: f64| -> Order {
///     serde_json::from_value(serde_json::json!({
///         "id": "1001", "customer": {"id": "C-7"}, "currency_code": "EUR", "order_total": total,
///         "updated_at_foreign": "2025-03-04T10:00:00Z", "lines": []
///     })).unwrap()
/// };
/// assert_eq!(order_fingerprint(&order(10.0)), order_fingerprint(&order(10.0)));
/// assert_ne!(order_fingerprint(&order(10.0)), order_fingerprint(&order(10.5)));
/// ```
#[must_use]
pub fn order_fingerprint(order: &Order) -> ContentHash {
    let lines: Vec<_> = order
        .lines
        .iter()
        .map(|l| {
            json!([
                l.id.as_str(),
                l.product_id.as_str(),
                l.product_variant_id.as_str(),
                l.quantity,
                l.price.normalize().to_string(),
                l.discount.map(|d| d.normalize().to_string()),
            ])
        })
        .collect();
    let value = json!([
        order.updated_at_foreign.map(|t| t.to_rfc3339()),
        order.customer.id.as_str(),
        order.campaign_id,
        order.currency_code,
        order.order_total.normalize().to_string(),
        order.financial_status,
        order.processed_at_foreign.map(|t| t.to_rfc3339()),
        lines,
    ]);
    // An array of plain values always encodes.
    ContentHash::of_bytes(value.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(value: serde_json::Value) -> Order {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn missing_currency_or_date_is_a_problem() {
        let store = StoreId::from("s");
        let resolved = Resolved::new("C1");
        let no_currency = order(json!({"id": "1", "customer": {"id": "c"}, "order_total": 1,
            "processed_at_foreign": "2025-01-01T00:00:00Z"}));
        assert_eq!(
            attribution_record(&no_currency, &store, &resolved),
            Err(OrderProblem::NoCurrency)
        );
        let no_date = order(
            json!({"id": "1", "customer": {"id": "c"}, "order_total": 1, "currency_code": "usd"}),
        );
        assert_eq!(
            attribution_record(&no_date, &store, &resolved),
            Err(OrderProblem::NoDate)
        );
    }

    #[test]
    fn unknown_products_keep_their_id_and_discounts_default_to_zero() {
        let o = order(
            json!({"id": "1", "customer": {"id": "c"}, "order_total": 0.3,
            "currency_code": "usd", "updated_at_foreign": "2025-01-01T00:00:00Z",
            "lines": [{"id": "1", "product_id": "P", "product_variant_id": "V", "quantity": 1,
                       "price": 0.1, "discount": null},
                      {"id": "2", "product_id": "Q", "product_variant_id": "V", "quantity": 1,
                       "price": 0.2, "discount": 0.05}]}),
        );
        let record = attribution_record(&o, &StoreId::from("s"), &Resolved::new("C1")).unwrap();
        assert_eq!(record.currency_code, "USD");
        assert_eq!(record.lines[0].item_code.as_str(), "P");
        assert_eq!(record.lines[0].discount, Decimal::ZERO);
        assert_eq!(record.lines[1].discount, Decimal::new(5, 2));
        let sum: Decimal = record.lines.iter().map(|l| l.price * l.quantity).sum();
        assert_eq!(sum, record.order_total);
        assert_eq!(record.sales_order_number, None);
    }

    #[test]
    fn the_fingerprint_follows_updated_at_foreign() {
        let at = |t: &str| {
            order(json!({"id": "1", "customer": {"id": "c"}, "order_total": 1,
                "currency_code": "usd", "updated_at_foreign": t}))
        };
        assert_ne!(
            order_fingerprint(&at("2025-01-01T00:00:00Z")),
            order_fingerprint(&at("2025-01-02T00:00:00Z"))
        );
    }
}
