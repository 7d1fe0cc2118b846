//! The fake shop: customers buy the synced products, through mailchimp-client's order POST, as
//! a real shop's Mailchimp integration would.

use mailchimp_client::ecommerce::{
    Decimal, OrderCustomer, OrderId, OrderInput, OrderLineInput, Product, StoreId,
};
use testkit::qad::FakeQad;

use crate::error::{AppError, AppResult};

/// What the shop did.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ShopSummary {
    /// Orders placed.
    pub placed: u64,
    /// Of them, orders whose id is the customer PO of a QAD sales order.
    pub matching_sales_orders: u64,
}

fn mc_err(context: &str) -> impl FnOnce(mailchimp_client::Error) -> AppError + '_ {
    move |source| AppError::Mailchimp {
        context: context.to_owned(),
        source,
    }
}

/// Places `count` orders in the store: every third one is a QAD sales order's customer PO
/// (bought by that order's customer), the rest are web orders of customers the sync created.
///
/// # Errors
///
/// [`AppError::Mailchimp`] when the shop's reads or order posts fail.
pub async fn place_orders(
    mailchimp: &mailchimp_client::Client,
    store_id: &str,
    currency: &str,
    qad: &FakeQad,
    count: usize,
) -> AppResult<ShopSummary> {
    let store = mailchimp.ecommerce().store(&StoreId::from(store_id));
    let customers = store
        .customers()
        .list()
        .count(1000)
        .send()
        .await
        .map_err(mc_err("the shop cannot list its customers"))?
        .items;
    let products: Vec<Product> = store
        .products()
        .list()
        .count(100)
        .send()
        .await
        .map_err(mc_err("the shop cannot list its products"))?
        .items
        .into_iter()
        .filter(|p| !p.variants.is_empty())
        .collect();
    if customers.is_empty() || products.is_empty() {
        return Err(AppError::Usage(
            "the shop has no customers or products to sell: the first sync wrote none".into(),
        ));
    }
    let known: std::collections::HashSet<&str> = customers.iter().map(|c| c.id.as_str()).collect();
    // QAD sales orders keyed in with a PO, whose customer the shop knows.
    let mut with_po = qad
        .sales_orders()
        .into_iter()
        .filter_map(|so| {
            let po = so.customer_po.clone()?;
            known
                .contains(so.sold_to_customer_code.as_str())
                .then_some((po, so.sold_to_customer_code))
        })
        .collect::<Vec<_>>()
        .into_iter();

    let mut summary = ShopSummary::default();
    for i in 0..count {
        let (id, customer) = match (i % 3 == 0).then(|| with_po.next()).flatten() {
            Some((po, customer)) => {
                summary.matching_sales_orders += 1;
                (po, customer)
            }
            None => (
                format!("WEB-{:05}", i + 1),
                customers[(i * 7) % customers.len()].id.as_str().to_owned(),
            ),
        };
        let mut lines = Vec::new();
        let mut total = Decimal::ZERO;
        for line in 0..(1 + i % 3) {
            let product = &products[(i * 5 + line * 11) % products.len()];
            let variant = &product.variants[0];
            let price = variant.price.unwrap_or(Decimal::new(1000, 2));
            let quantity = 1 + (i + line) as i64 % 4;
            total += price * Decimal::from(quantity);
            lines.push(OrderLineInput::new(
                (line + 1).to_string().as_str().into(),
                product.id.clone(),
                variant.id.clone(),
                quantity,
                price,
            ));
        }
        let mut order = OrderInput::new(
            OrderId::from(id.as_str()),
            OrderCustomer::new(customer.as_str().into()),
            currency,
            total,
            lines,
        );
        order.financial_status = Some("paid".into());
        order.processed_at_foreign = Some(chrono::Utc::now().fixed_offset());
        order.updated_at_foreign = order.processed_at_foreign;
        store
            .orders()
            .create(&order)
            .await
            .map_err(mc_err("the shop cannot place an order"))?;
        summary.placed += 1;
    }
    Ok(summary)
}
