//! One QAD sales order → one Mailchimp e-commerce order: the id scheme, the money, the states.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use mailchimp_client::ecommerce::{
    CustomerId, Decimal, OrderCustomer, OrderId, OrderInput, OrderLineInput, ProductId, VariantId,
};
use qad_client::SalesOrder;
use sha2::{Digest, Sha256};

use super::config::{SalesOrdersConfig, StatusRule};
use crate::model::ContentHash;

/// The mark of every order id the connector writes: the loop guard of the orders flow back to
/// QAD recognises its own orders by it (and by the id map), and it keeps the connector's ids
/// apart from a web shop's order numbers in the same store.
pub const ORDER_ID_PREFIX: &str = "qad-";

/// The longest order id written. Mailchimp documents no limit for order ids; its customer ids
/// stop at 50 characters, and the same bound is kept here.
pub const MAX_ORDER_ID: usize = 50;

/// The Mailchimp order id of a QAD sales order number: `qad-` and the number when that fits in
/// [`MAX_ORDER_ID`] characters of letters, digits, `.`, `_` and `-`; otherwise `qad-~` and the
/// first 32 hex digits of the number's SHA-256 (`~` never occurs in the first form, so the two
/// cannot collide). Stable: the same number always gives the same id.
///
/// ```
/// use sync_core::sales_orders::{is_connector_order_id, order_id_for};
///
/// assert_eq!(order_id_for("SO10045").as_str(), "qad-SO10045");
/// let long = order_id_for(&"9".repeat(60));
/// assert!(long.as_str().starts_with("qad-~") && long.as_str().len() == 37);
/// assert_eq!(order_id_for("SO 1/2"), order_id_for("SO 1/2"));
/// assert!(is_connector_order_id("qad-SO10045"));
/// assert!(!is_connector_order_id("1001"));
/// ```
#[must_use]
pub fn order_id_for(number: &str) -> OrderId {
    let plain = !number.is_empty()
        && ORDER_ID_PREFIX.len() + number.len() <= MAX_ORDER_ID
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if plain {
        OrderId::from(format!("{ORDER_ID_PREFIX}{number}"))
    } else {
        let digest = hex::encode(Sha256::digest(number.as_bytes()));
        OrderId::from(format!("{ORDER_ID_PREFIX}~{}", &digest[..32]))
    }
}

/// Whether an order id carries the connector's mark ([`ORDER_ID_PREFIX`]).
#[must_use]
pub fn is_connector_order_id(id: &str) -> bool {
    id.starts_with(ORDER_ID_PREFIX)
}

/// Why a sales order cannot be sent. Each names what is wrong; the order is *rejected* (audited,
/// never sent) until it changes in QAD.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SalesOrderProblem {
    /// No sold-to customer.
    #[error("the sales order has no soldToCustomerCode")]
    NoCustomer,
    /// No currency.
    #[error("the sales order has no currencyCode")]
    NoCurrency,
    /// No order date.
    #[error("the sales order has no orderDate")]
    NoOrderDate,
    /// A line without an item.
    #[error("line {line} has no itemCode")]
    NoItem {
        /// The line number.
        line: String,
    },
    /// A quantity Mailchimp cannot hold (it takes whole units).
    #[error("line {line}: quantity {quantity} is not a whole number")]
    FractionalQuantity {
        /// The line number.
        line: String,
        /// The quantity as QAD holds it.
        quantity: Decimal,
    },
    /// No line left with a positive quantity (Mailchimp needs at least one line).
    #[error("no line with a positive quantity")]
    NoLines,
    /// A configured tax or shipping field that is not a number.
    #[error("field {field} is not a number: {value}")]
    BadAmount {
        /// The QAD field.
        field: String,
        /// Its value.
        value: String,
    },
}

/// What the other flows wrote that an order refers to: its e-commerce customer id and the
/// product id of each item code (the variant id is the item code, as the items flow writes it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Refs {
    pub(crate) customer: Option<String>,
    pub(crate) products: HashMap<String, String>,
}

/// The references a sales order needs that are not written yet, as an audit reason.
pub(crate) fn missing_refs(order: &SalesOrder, refs: &Refs) -> Option<String> {
    let mut missing = Vec::new();
    if refs.customer.is_none() {
        if let Some(code) = &order.sold_to_customer_code {
            missing.push(format!("e-commerce customer {code}"));
        }
    }
    let mut items: Vec<&str> = order
        .lines
        .iter()
        .filter_map(|l| l.item_code.as_ref().map(|i| i.as_str()))
        .filter(|i| !refs.products.contains_key(*i))
        .collect();
    items.sort_unstable();
    items.dedup();
    missing.extend(items.into_iter().map(|i| format!("product {i}")));
    (!missing.is_empty()).then(|| {
        format!(
            "waiting for {} to be written by the customers/items flows",
            missing.join(", ")
        )
    })
}

/// Maps a sales order in a sent state (`rule`) to the order written. Never sets `campaign_id`
/// (nor anything of Mailchimp's attribution), so no write can change the campaign Mailchimp
/// attributed the order to.
///
/// Money: each line's `price` is QAD's net unit price, its `discount` the list price less the
/// net price, times the quantity (when positive); `order_total` is the sum of quantity × price
/// plus the tax and shipping totals; all exact decimals. A refunded or cancelled order keeps its
/// lines and is sent with every total zero. Lines with a quantity of zero or less (fully
/// returned) are left out.
pub(crate) fn map_order(
    order: &SalesOrder,
    rule: &StatusRule,
    refs: &Refs,
    config: &SalesOrdersConfig,
) -> Result<OrderInput, SalesOrderProblem> {
    if order.sold_to_customer_code.is_none() {
        return Err(SalesOrderProblem::NoCustomer);
    }
    let currency = order
        .currency_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or(SalesOrderProblem::NoCurrency)?;
    let order_date = order.order_date.ok_or(SalesOrderProblem::NoOrderDate)?;
    let mut lines = Vec::with_capacity(order.lines.len());
    let mut goods = Decimal::ZERO;
    let mut discounts = Decimal::ZERO;
    for (index, line) in order.lines.iter().enumerate() {
        let number = line
            .sales_order_line
            .map_or_else(|| (index + 1).to_string(), |n| n.to_string());
        let item = line
            .item_code
            .as_ref()
            .ok_or_else(|| SalesOrderProblem::NoItem {
                line: number.clone(),
            })?;
        let quantity = line.quantity_ordered.unwrap_or_default();
        if quantity <= Decimal::ZERO {
            continue;
        }
        if !quantity.fract().is_zero() {
            return Err(SalesOrderProblem::FractionalQuantity {
                line: number,
                quantity,
            });
        }
        let units = i64::try_from(quantity).map_err(|_| SalesOrderProblem::FractionalQuantity {
            line: number.clone(),
            quantity,
        })?;
        let price = line.net_price.or(line.list_price).unwrap_or_default();
        let product = refs
            .products
            .get(item.as_str())
            .cloned()
            .unwrap_or_else(|| item.to_string());
        let mut out = OrderLineInput::new(
            number.as_str().into(),
            ProductId::from(product),
            VariantId::from(item.as_str()),
            units,
            price.normalize(),
        );
        let unit_discount = line.list_price.map_or(Decimal::ZERO, |list| list - price);
        if unit_discount > Decimal::ZERO {
            let discount = (unit_discount * quantity).normalize();
            discounts += discount;
            out.discount = Some(discount);
        }
        goods += price * quantity;
        lines.push(out);
    }
    if lines.is_empty() {
        return Err(SalesOrderProblem::NoLines);
    }
    let tax = amount_field(order, config.tax_field.as_deref())?;
    let shipping = amount_field(order, config.shipping_field.as_deref())?;
    let void = rule.financial.voids_totals();
    let zero_if_void = |d: Decimal| if void { Decimal::ZERO } else { d.normalize() };
    let total = goods + tax.unwrap_or_default() + shipping.unwrap_or_default();
    let customer = refs.customer.clone().unwrap_or_default();
    let mut input = OrderInput::new(
        order_id_for(order.sales_order_number.as_str()),
        OrderCustomer::new(CustomerId::from(customer)),
        currency.to_uppercase(),
        zero_if_void(total),
        lines,
    );
    input.financial_status = Some(rule.financial.as_str().to_owned());
    input.fulfillment_status.clone_from(&rule.fulfillment);
    input.discount_total = Some(zero_if_void(discounts));
    input.tax_total = tax.map(zero_if_void);
    input.shipping_total = shipping.map(zero_if_void);
    input.processed_at_foreign = Some(at(order_date, None));
    let updated = order
        .last_modified_date
        .map(|d| at(d, order.last_modified_time));
    input.updated_at_foreign = updated;
    if rule.financial == super::config::FinancialStatus::Cancelled {
        input.cancelled_at_foreign = updated.or(input.processed_at_foreign);
    }
    Ok(input)
}

/// A configured amount field of the header (custom fields included), as an exact decimal.
fn amount_field(
    order: &SalesOrder,
    field: Option<&str>,
) -> Result<Option<Decimal>, SalesOrderProblem> {
    let Some(field) = field else {
        return Ok(None);
    };
    // Browse rows keep the table prefix (`salesOrder.taxTotal`), documents do not.
    let suffix = format!(".{field}");
    let found = order.extra.get(field).or_else(|| {
        order
            .extra
            .iter()
            .find(|(key, _)| key.ends_with(&suffix))
            .map(|(_, value)| value)
    });
    let Some(value) = found else {
        return Ok(None);
    };
    let text = match value {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) if s.trim().is_empty() => return Ok(None),
        serde_json::Value::String(s) => s.trim().to_owned(),
        serde_json::Value::Null => return Ok(None),
        other => other.to_string(),
    };
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&text))
        .map(Some)
        .map_err(|_| SalesOrderProblem::BadAmount {
            field: field.to_owned(),
            value: text,
        })
}

/// A QAD date (and seconds after midnight) as a UTC timestamp.
fn at(date: NaiveDate, seconds: Option<i64>) -> DateTime<FixedOffset> {
    let time = seconds
        .and_then(|s| u32::try_from(s).ok())
        .and_then(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, 0))
        .unwrap_or(NaiveTime::MIN);
    Utc.from_utc_datetime(&date.and_time(time)).fixed_offset()
}

/// The change-detection hash of a mapped order: everything sent except `updated_at_foreign`, so
/// a QAD touch that changed nothing sent writes nothing.
///
/// # Errors
///
/// [`StateError::Encode`](crate::StateError) when the order cannot be encoded (it always can).
pub(crate) fn order_hash(order: &OrderInput) -> Result<ContentHash, crate::StateError> {
    let mut value = serde_json::to_value(order).map_err(|source| crate::StateError::Encode {
        what: "e-commerce order",
        source,
    })?;
    if let Some(fields) = value.as_object_mut() {
        fields.remove("updated_at_foreign");
    }
    ContentHash::of_json(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sales_orders::FinancialStatus;
    use serde_json::json;

    fn order(status: &str, lines: serde_json::Value) -> SalesOrder {
        serde_json::from_value(json!({
            "salesOrderNumber": "SO1", "soldToCustomerCode": "C1", "currencyCode": "usd",
            "orderDate": "2025-03-04", "lastModifiedDate": "2025-03-05", "lastModifiedTime": 3600,
            "status": status, "salesOrder.taxTotal": "1.10", "salesOrderLines": lines,
        }))
        .unwrap()
    }

    fn refs() -> Refs {
        Refs {
            customer: Some("C1".into()),
            products: HashMap::from([("I1".into(), "I1".into()), ("I2".into(), "p-2".into())]),
        }
    }

    #[test]
    fn money_is_exact_and_cancelled_orders_count_zero() {
        let config = SalesOrdersConfig::new("s").tax_field("taxTotal");
        let so = order(
            "invoiced",
            json!([
                {"salesOrderLine": 1, "itemCode": "I1", "quantityOrdered": 3, "listPrice": 0.1, "netPrice": 0.1},
                {"salesOrderLine": 2, "itemCode": "I2", "quantityOrdered": 2, "listPrice": 10, "netPrice": 9.5},
                {"salesOrderLine": 3, "itemCode": "I2", "quantityOrdered": 0, "netPrice": 9.5}
            ]),
        );
        let rule = config.rule("invoiced").unwrap();
        let mapped = map_order(&so, rule, &refs(), &config).unwrap();
        assert_eq!(mapped.id.as_str(), "qad-SO1");
        assert_eq!(mapped.currency_code, "USD");
        assert_eq!(mapped.lines.len(), 2, "the zero-quantity line is left out");
        assert_eq!(mapped.lines[1].product_id.as_str(), "p-2");
        assert_eq!(mapped.lines[1].product_variant_id.as_str(), "I2");
        assert_eq!(
            mapped.order_total.to_string(),
            "20.4",
            "0.3 + 19 + 1.10 tax"
        );
        assert_eq!(
            mapped.discount_total.map(|d| d.to_string()),
            Some("1".into())
        );
        assert_eq!(mapped.tax_total.map(|d| d.to_string()), Some("1.1".into()));
        assert_eq!(mapped.financial_status.as_deref(), Some("paid"));
        assert_eq!(mapped.fulfillment_status.as_deref(), Some("shipped"));
        assert!(mapped.campaign_id.is_none());
        assert_eq!(
            mapped.updated_at_foreign.map(|d| d.to_rfc3339()),
            Some("2025-03-05T01:00:00+00:00".into())
        );

        let cancelled = config.rule("cancelled").unwrap();
        assert_eq!(cancelled.financial, FinancialStatus::Cancelled);
        let mapped = map_order(&so, cancelled, &refs(), &config).unwrap();
        assert_eq!(mapped.order_total, Decimal::ZERO);
        assert_eq!(mapped.tax_total, Some(Decimal::ZERO));
        assert_eq!(mapped.lines.len(), 2, "lines stay");
        assert!(mapped.cancelled_at_foreign.is_some());
    }

    #[test]
    fn bad_orders_name_what_is_wrong_and_missing_refs_are_listed() {
        let config = SalesOrdersConfig::new("s");
        let rule = config.rule("invoiced").unwrap();
        let half = order(
            "invoiced",
            json!([{"salesOrderLine": 4, "itemCode": "I1", "quantityOrdered": 1.5}]),
        );
        assert_eq!(
            map_order(&half, rule, &refs(), &config)
                .unwrap_err()
                .to_string(),
            "line 4: quantity 1.5 is not a whole number"
        );
        let none = order(
            "invoiced",
            json!([{"salesOrderLine": 1, "itemCode": "I1", "quantityOrdered": -1}]),
        );
        assert_eq!(
            map_order(&none, rule, &refs(), &config),
            Err(SalesOrderProblem::NoLines)
        );
        let so = order(
            "invoiced",
            json!([{"itemCode": "I9", "quantityOrdered": 1}, {"itemCode": "I1", "quantityOrdered": 1}]),
        );
        assert_eq!(
            missing_refs(&so, &refs()).as_deref(),
            Some("waiting for product I9 to be written by the customers/items flows")
        );
        let nobody = Refs {
            customer: None,
            ..refs()
        };
        assert!(missing_refs(&so, &nobody)
            .unwrap()
            .contains("e-commerce customer C1, product I9"));
    }

    #[test]
    fn the_hash_ignores_only_the_update_stamp() {
        let config = SalesOrdersConfig::new("s");
        let rule = config.rule("invoiced").unwrap();
        let so = order(
            "invoiced",
            json!([{"itemCode": "I1", "quantityOrdered": 1, "netPrice": 2}]),
        );
        let mut mapped = map_order(&so, rule, &refs(), &config).unwrap();
        let before = order_hash(&mapped).unwrap();
        mapped.updated_at_foreign = None;
        assert_eq!(order_hash(&mapped).unwrap(), before);
        mapped.order_total = Decimal::ONE;
        assert_ne!(order_hash(&mapped).unwrap(), before);
    }
}
