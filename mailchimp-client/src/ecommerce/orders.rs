//! Orders: `GET /ecommerce/orders` (account-wide), `GET/POST
//! /ecommerce/stores/{store_id}/orders` and `GET/PUT/PATCH/DELETE …/orders/{order_id}`.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::address::Address;
use super::customers::Customer;
use super::ids::{CustomerId, OrderId, OrderLineId, ProductId, StoreId, VariantId};
use super::money::{amount, opt_amount, Decimal};
use super::read::GetRequest;
use super::resource::Resource;
use super::stores::StoreHandler;
use super::validate;
use super::Ecommerce;
use crate::error::Result;
use crate::page::{collection_methods, Collection};

/// An order, as Mailchimp returns it. Amounts are exact decimals.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Order {
    /// The order id.
    pub id: OrderId,
    /// The store, on account-wide reads.
    #[serde(default)]
    pub store_id: Option<StoreId>,
    /// The customer who placed it.
    pub customer: Customer,
    /// The campaign the order is attributed to.
    #[serde(default)]
    pub campaign_id: Option<String>,
    /// The ISO 4217 currency of the amounts.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub currency_code: String,
    /// The order total.
    #[serde(default, with = "amount")]
    pub order_total: Decimal,
    /// The total discount.
    #[serde(default, with = "opt_amount")]
    pub discount_total: Option<Decimal>,
    /// The total tax.
    #[serde(default, with = "opt_amount")]
    pub tax_total: Option<Decimal>,
    /// The shipping cost.
    #[serde(default, with = "opt_amount")]
    pub shipping_total: Option<Decimal>,
    /// `paid`, `pending`, `refunded` or `cancelled` (kept as sent).
    #[serde(default)]
    pub financial_status: Option<String>,
    /// Such as `shipped` (kept as sent).
    #[serde(default)]
    pub fulfillment_status: Option<String>,
    /// When the shop processed the order.
    #[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]
    pub processed_at_foreign: Option<DateTime<FixedOffset>>,
    /// When the shop last updated the order; drives change detection.
    #[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]
    pub updated_at_foreign: Option<DateTime<FixedOffset>>,
    /// When the shop cancelled the order.
    #[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]
    pub cancelled_at_foreign: Option<DateTime<FixedOffset>>,
    /// The order page.
    #[serde(default)]
    pub order_url: Option<String>,
    /// The order's lines.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub lines: Vec<OrderLine>,
}

/// A line of an [`Order`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct OrderLine {
    /// The line id.
    pub id: OrderLineId,
    /// The product.
    pub product_id: ProductId,
    /// The product's title.
    #[serde(default)]
    pub product_title: Option<String>,
    /// The variant.
    pub product_variant_id: VariantId,
    /// The variant's title.
    #[serde(default)]
    pub product_variant_title: Option<String>,
    /// The product image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// The quantity.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub quantity: i64,
    /// The line price.
    #[serde(default, with = "amount")]
    pub price: Decimal,
    /// The line discount.
    #[serde(default, with = "opt_amount")]
    pub discount: Option<Decimal>,
}

/// An order to create (`POST`) or add-or-update by id (`PUT`).
///
/// ```
/// use mailchimp_client::ecommerce::{
///     CustomerId, Decimal, OrderCustomer, OrderId, OrderInput, OrderLineInput,
/// };
///
/// let line = OrderLineInput::new("1".into(), "WIDGET-1".into(), "WIDGET-1".into(), 3, Decimal::new(1999, 2));
/// let order = OrderInput::new(
///     OrderId::from("SO-1001"),
///     OrderCustomer::new(CustomerId::from("C-1001")),
///     "EUR",
///     Decimal::new(5997, 2),
///     vec![line],
/// );
/// let json = serde_json::to_value(&order).unwrap();
/// assert_eq!(json["order_total"], serde_json::json!(59.97));
/// assert_eq!(json["lines"][0]["price"], serde_json::json!(19.99));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OrderInput {
    /// The order id (required).
    pub id: OrderId,
    /// The customer (required).
    pub customer: OrderCustomer,
    /// The ISO 4217 currency code (required).
    pub currency_code: String,
    /// The order total (required), sent as a JSON number.
    #[serde(with = "amount")]
    pub order_total: Decimal,
    /// The lines (at least one).
    pub lines: Vec<OrderLineInput>,
    /// The campaign the order is attributed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// `paid`, `pending`, `refunded` or `cancelled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub financial_status: Option<String>,
    /// Such as `shipped`, which triggers Mailchimp's shipping notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfillment_status: Option<String>,
    /// The total discount.
    #[serde(with = "opt_amount", skip_serializing_if = "Option::is_none")]
    pub discount_total: Option<Decimal>,
    /// The total tax.
    #[serde(with = "opt_amount", skip_serializing_if = "Option::is_none")]
    pub tax_total: Option<Decimal>,
    /// The shipping cost.
    #[serde(with = "opt_amount", skip_serializing_if = "Option::is_none")]
    pub shipping_total: Option<Decimal>,
    /// When the shop processed the order; without it the order does not
    /// show in Mailchimp's activity feed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processed_at_foreign: Option<DateTime<FixedOffset>>,
    /// When the shop last updated the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at_foreign: Option<DateTime<FixedOffset>>,
    /// When the shop cancelled the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at_foreign: Option<DateTime<FixedOffset>>,
    /// The order page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_url: Option<String>,
}

impl OrderInput {
    /// An order with its required fields and no optional ones.
    pub fn new(
        id: OrderId,
        customer: OrderCustomer,
        currency_code: impl Into<String>,
        order_total: Decimal,
        lines: Vec<OrderLineInput>,
    ) -> Self {
        OrderInput {
            id,
            customer,
            currency_code: currency_code.into(),
            order_total,
            lines,
            campaign_id: None,
            financial_status: None,
            fulfillment_status: None,
            discount_total: None,
            tax_total: None,
            shipping_total: None,
            processed_at_foreign: None,
            updated_at_foreign: None,
            cancelled_at_foreign: None,
            order_url: None,
        }
    }

    fn validate(&self) -> Result<()> {
        validate::non_empty("order.id", self.id.as_str())?;
        validate::customer_id("order.customer.id", self.customer.id.as_str())?;
        validate::currency_code("order.currency_code", &self.currency_code)?;
        if self.lines.is_empty() {
            return Err(crate::Error::invalid_input(
                "order.lines",
                "must hold at least one line",
            ));
        }
        for (index, line) in self.lines.iter().enumerate() {
            let prefix = format!("order.lines[{index}]");
            validate::non_empty(&format!("{prefix}.id"), line.id.as_str())?;
            validate::non_empty(&format!("{prefix}.product_id"), line.product_id.as_str())?;
            validate::non_empty(
                &format!("{prefix}.product_variant_id"),
                line.product_variant_id.as_str(),
            )?;
        }
        Ok(())
    }
}

/// The customer of an [`OrderInput`]: an existing customer id, or a new
/// customer created with the order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OrderCustomer {
    /// The customer id (required, at most 50 characters).
    pub id: CustomerId,
    /// The email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// Whether the customer opted in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_in_status: Option<bool>,
    /// The company.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// The first name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl OrderCustomer {
    /// A customer reference by id only.
    pub fn new(id: CustomerId) -> Self {
        OrderCustomer {
            id,
            email_address: None,
            opt_in_status: None,
            company: None,
            first_name: None,
            last_name: None,
            address: None,
        }
    }
}

/// A line of an [`OrderInput`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OrderLineInput {
    /// The line id (required).
    pub id: OrderLineId,
    /// The product (required).
    pub product_id: ProductId,
    /// The variant (required).
    pub product_variant_id: VariantId,
    /// The quantity (required).
    pub quantity: i64,
    /// The line price (required), sent as a JSON number.
    #[serde(with = "amount")]
    pub price: Decimal,
    /// The line discount.
    #[serde(with = "opt_amount", skip_serializing_if = "Option::is_none")]
    pub discount: Option<Decimal>,
}

impl OrderLineInput {
    /// A line with its required fields and no discount.
    pub fn new(
        id: OrderLineId,
        product_id: ProductId,
        product_variant_id: VariantId,
        quantity: i64,
        price: Decimal,
    ) -> Self {
        OrderLineInput {
            id,
            product_id,
            product_variant_id,
            quantity,
            price,
            discount: None,
        }
    }
}

impl Ecommerce {
    /// `GET /ecommerce/orders`: orders across every store of the account.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use futures::TryStreamExt;
    ///
    /// let mut orders = client.ecommerce().orders().campaign_id("839488a60b").into_stream();
    /// while let Some(order) = orders.try_next().await? {
    ///     println!("{:?} {} {}", order.store_id, order.id, order.order_total);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn orders(&self) -> OrdersRequest {
        OrdersRequest {
            inner: Resource::top_level(self.client.clone(), "orders").list(),
        }
    }
}

impl StoreHandler {
    /// The store's orders.
    pub fn orders(&self) -> StoreOrders {
        StoreOrders {
            resource: self.resource("orders"),
        }
    }
}

/// A store's orders; made by [`StoreHandler::orders`].
#[derive(Debug, Clone)]
pub struct StoreOrders {
    resource: Resource,
}

impl StoreOrders {
    /// `GET …/orders`: the store's orders. Mailchimp has no "changed since"
    /// filter on orders: walk the whole stream and compare
    /// `updated_at_foreign`.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use futures::TryStreamExt;
    /// use mailchimp_client::ecommerce::{CustomerId, StoreId};
    ///
    /// let orders = client.ecommerce().store(&StoreId::from("acme-eu")).orders();
    /// let mut stream = orders.list().customer_id(&CustomerId::from("C-1001")).into_stream();
    /// while let Some(order) = stream.try_next().await? {
    ///     println!("{} {} {}", order.id, order.currency_code, order.order_total);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> OrdersRequest {
        OrdersRequest {
            inner: self.resource.list(),
        }
    }

    /// `GET …/orders/{order_id}`.
    pub fn get(&self, id: &OrderId) -> GetRequest<Order> {
        self.resource.get(id.as_str())
    }

    /// `PUT …/orders/{order_id}`: adds the order, or updates it if the id
    /// exists, so a re-run never duplicates it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) naming the field
    /// for an empty id, a customer id over 50 characters, a bad currency
    /// code, no lines, or a line without its ids (no request is sent);
    /// otherwise the API and transport errors of [`Error`](crate::Error).
    pub async fn upsert(&self, order: &OrderInput) -> Result<Order> {
        order.validate()?;
        self.resource.put(order.id.as_str(), order).await
    }

    /// `PATCH …/orders/{order_id}`: updates an existing order with the fields
    /// `order` sets; every field it leaves out (`None`) keeps Mailchimp's value.
    /// The body has no `id` (the spec's update schema has none; the path names
    /// the order). Retried like `PUT`: sending the same fields twice leaves the
    /// same order.
    ///
    /// Leave [`campaign_id`](OrderInput::campaign_id) `None` to keep the
    /// campaign Mailchimp attributed the order to.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::{
    ///     CustomerId, Decimal, OrderCustomer, OrderId, OrderInput, OrderLineInput, StoreId,
    /// };
    ///
    /// let line = OrderLineInput::new("1".into(), "WIDGET-1".into(), "WIDGET-1".into(), 1, Decimal::new(1999, 2));
    /// let mut order = OrderInput::new(
    ///     OrderId::from("SO-1001"),
    ///     OrderCustomer::new(CustomerId::from("C-1001")),
    ///     "EUR",
    ///     Decimal::ZERO,
    ///     vec![line],
    /// );
    /// order.financial_status = Some("cancelled".into());
    /// client.ecommerce().store(&StoreId::from("acme-eu")).orders().update(&order).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`upsert`](Self::upsert); an unknown order is
    /// [`Error::NotFound`](crate::Error::NotFound).
    pub async fn update(&self, order: &OrderInput) -> Result<Order> {
        order.validate()?;
        // Serializing plain fields cannot fail; the error is kept typed all the same.
        let mut body = serde_json::to_value(order)
            .map_err(|_| crate::Error::Config("the order could not be encoded as JSON"))?;
        if let Some(fields) = body.as_object_mut() {
            fields.remove("id");
        }
        self.resource.patch(order.id.as_str(), &body).await
    }

    /// `POST …/orders`: creates the order. Not retried (a `POST`); prefer
    /// [`upsert`](Self::upsert) where a retry must be safe.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::{
    ///     CustomerId, Decimal, OrderCustomer, OrderId, OrderInput, OrderLineInput, StoreId,
    /// };
    ///
    /// let line = OrderLineInput::new("1".into(), "WIDGET-1".into(), "WIDGET-1".into(), 1, Decimal::new(1999, 2));
    /// let order = OrderInput::new(
    ///     OrderId::from("SO-1001"),
    ///     OrderCustomer::new(CustomerId::from("C-1001")),
    ///     "EUR",
    ///     Decimal::new(1999, 2),
    ///     vec![line],
    /// );
    /// client.ecommerce().store(&StoreId::from("acme-eu")).orders().create(&order).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`upsert`](Self::upsert); an existing order id is an
    /// [`Error::InvalidResource`](crate::Error::InvalidResource).
    pub async fn create(&self, order: &OrderInput) -> Result<Order> {
        order.validate()?;
        self.resource.post(order).await
    }

    /// `DELETE …/orders/{order_id}`: removes the order (answered by `204`;
    /// retried, as deleting twice leaves the same state).
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::{OrderId, StoreId};
    ///
    /// let orders = client.ecommerce().store(&StoreId::from("acme-eu")).orders();
    /// orders.delete(&OrderId::from("SO-1001")).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown order or
    /// store; otherwise the API and transport errors of
    /// [`Error`](crate::Error).
    pub async fn delete(&self, id: &OrderId) -> Result<()> {
        self.resource.delete(id.as_str()).await
    }
}

/// `GET /ecommerce/orders` or `GET …/stores/{store_id}/orders`; made by
/// [`Ecommerce::orders`] or [`StoreOrders::list`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct OrdersRequest {
    inner: Collection,
}

impl OrdersRequest {
    /// Only orders of this customer.
    pub fn customer_id(mut self, id: &CustomerId) -> Self {
        self.inner.query.set("customer_id", id.as_str());
        self
    }

    /// Only orders attributed to this campaign.
    pub fn campaign_id(mut self, id: impl Into<String>) -> Self {
        self.inner.query.set("campaign_id", id.into());
        self
    }

    collection_methods!(Order);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn order(customer: &str, lines: Vec<OrderLineInput>) -> OrderInput {
        OrderInput::new(
            "o1".into(),
            OrderCustomer::new(customer.into()),
            "EUR",
            Decimal::ONE,
            lines,
        )
    }

    fn line() -> OrderLineInput {
        OrderLineInput::new("1".into(), "p".into(), "v".into(), 1, Decimal::ONE)
    }

    #[test]
    fn orders_are_checked_field_by_field() {
        let field = |o: OrderInput| match o.validate() {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(order(&"c".repeat(51), vec![line()])),
            "order.customer.id"
        );
        assert_eq!(field(order("c", vec![])), "order.lines");
        let mut bad = line();
        bad.product_variant_id = "".into();
        assert_eq!(
            field(order("c", vec![bad])),
            "order.lines[0].product_variant_id"
        );
        assert!(order("c", vec![line()]).validate().is_ok());
    }

    #[test]
    fn spec_example_order_decodes() {
        let order: Order = serde_json::from_str(
            r#"{"id":"o1","customer":{"id":"c1","email_address":"a@b.c","opt_in_status":true,
                "first_name":"Ada","total_spent":59.97,"orders_count":2,"created_at":""},
                "store_id":"s1","campaign_id":"","currency_code":"EUR","order_total":59.97,
                "discount_total":0,"tax_total":9.99,"shipping_total":null,
                "processed_at_foreign":"2024-05-01T10:00:00+00:00","cancelled_at_foreign":"",
                "lines":[{"id":"1","product_id":"p","product_title":"P","product_variant_id":"v",
                "product_variant_title":"V","quantity":3,"price":19.99,"discount":0}],
                "promos":[],"outreach":{},"_links":[]}"#,
        )
        .unwrap();
        assert_eq!(order.order_total, Decimal::new(5997, 2));
        assert_eq!(order.tax_total, Some(Decimal::new(999, 2)));
        assert_eq!(order.shipping_total, None);
        assert_eq!(
            order.lines[0].price * Decimal::from(order.lines[0].quantity),
            order.order_total
        );
        assert!(order.cancelled_at_foreign.is_none());
        assert_eq!(order.customer.total_spent, Some(Decimal::new(5997, 2)));
    }
}
