//! Orders: they must reference existing customers, products and variants; read per store and account-wide.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use serde_json::{json, Value};

use super::customers::{customer_totals, render_customer, write_customer, CustomerTotals};
use super::{check_presence, require_number, store_mut, store_ref, without, write_id, Body, Mode};
use crate::mailchimp::{
    problem::Problem,
    request::{self, merge, no_content, ok, required_str, ObjectBody, Page, Reply},
    state::{MailchimpState, StoreData},
    App,
};
use crate::packed::Packed;

/// Checks an order's references (customer, products, variants) against the store.
pub(super) fn check_order_refs(store: &StoreData, body: &Body) -> Result<(), Problem> {
    if let Some(customer) = body.get("customer") {
        let Some(id) = customer["id"].as_str() else {
            return Err(Problem::invalid(
                "customer.id",
                "This value should not be blank.",
            ));
        };
        if !store.customers.contains(id) {
            return Err(Problem::invalid(
                "customer.id",
                format!("A customer with the provided ID ({id}) does not exist in the store."),
            ));
        }
    }
    if let Some(lines) = body.get("lines") {
        let Some(lines) = lines.as_array() else {
            return Err(Problem::invalid("lines", "lines must be an array."));
        };
        for (n, line) in lines.iter().enumerate() {
            for field in ["id", "product_id", "product_variant_id"] {
                if line[field].as_str().is_none_or(str::is_empty) {
                    return Err(Problem::invalid(
                        &format!("lines[{n}].{field}"),
                        "This value should not be blank.",
                    ));
                }
            }
            for field in ["quantity", "price"] {
                if !line[field].is_number() {
                    return Err(Problem::invalid(
                        &format!("lines[{n}].{field}"),
                        "This value should be a number.",
                    ));
                }
            }
            let product_id = line["product_id"].as_str().unwrap_or_default();
            let Some(product) = store.products.get(product_id) else {
                return Err(Problem::invalid(
                    &format!("lines[{n}].product_id"),
                    format!("A product with the provided ID ({product_id}) does not exist in the store."),
                ));
            };
            let variant_id = line["product_variant_id"].as_str().unwrap_or_default();
            if !product.variants.contains(variant_id) {
                return Err(Problem::invalid(
                    &format!("lines[{n}].product_variant_id"),
                    format!("A variant with the provided ID ({variant_id}) does not exist for product {product_id}."),
                ));
            }
        }
    }
    Ok(())
}

/// An order as returned: the current customer object, and lines with product details.
pub(super) fn render_order(store: &StoreData, order: &Value, totals: &CustomerTotals) -> Value {
    let mut value = order.clone();
    if let Some(customer) = order["customer"]["id"]
        .as_str()
        .and_then(|id| store.customers.get(id))
    {
        value["customer"] = render_customer(&customer.value(), totals);
    }
    if let Some(lines) = value["lines"].as_array_mut() {
        for line in lines {
            let product = line["product_id"]
                .as_str()
                .and_then(|id| store.products.get(id));
            let variant = product.and_then(|p| {
                line["product_variant_id"]
                    .as_str()
                    .and_then(|id| p.variants.get(id))
            });
            let variant = variant.map(Packed::value);
            line["product_title"] =
                product.map_or(json!(""), |p| p.product.value()["title"].clone());
            line["product_variant_title"] =
                variant.as_ref().map_or(json!(""), |v| v["title"].clone());
            line["image_url"] = variant
                .as_ref()
                .map_or(json!(""), |v| v["image_url"].clone());
            if line.get("discount").is_none() {
                line["discount"] = json!(0.0);
            }
        }
    }
    value
}

pub(super) fn write_order(
    state: &mut MailchimpState,
    store_id: &str,
    path_id: Option<&str>,
    body: &Body,
    mode: Mode,
) -> Result<Value, Problem> {
    create_missing_customer(state, store_id, body)?;
    let store = store_mut(state, store_id)?;
    let id = write_id(body, path_id, mode)?;
    let existing = store.orders.get(&id).cloned();
    check_presence(existing.is_some(), mode, "order")?;
    let order = match existing {
        Some(mut order) => {
            check_order_refs(store, body)?;
            if let Some(target) = order.as_object_mut() {
                merge(target, &without(body, &["id", "store_id"]));
            }
            order
        }
        None => {
            if !body.get("customer").is_some_and(Value::is_object) {
                return Err(Problem::invalid(
                    "customer",
                    "This value should not be blank.",
                ));
            }
            required_str(body, "currency_code")?;
            require_number(body, "order_total")?;
            if body
                .get("lines")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                return Err(Problem::invalid(
                    "lines",
                    "An order must have at least one line.",
                ));
            }
            check_order_refs(store, body)?;
            let mut order = json!({
                "id": id,
                "store_id": store_id,
                "campaign_id": "",
                "landing_site": "",
                "financial_status": "",
                "fulfillment_status": "",
                "order_url": "",
                "discount_total": 0.0,
                "tax_total": 0.0,
                "shipping_total": 0.0,
                "tracking_code": "",
                "processed_at_foreign": "",
                "cancelled_at_foreign": "",
                "updated_at_foreign": "",
                "shipping_address": {},
                "billing_address": {},
                "promos": [],
                "tracking_number": "",
                "tracking_carrier": "",
                "tracking_url": "",
                "_links": [],
            });
            if let Some(target) = order.as_object_mut() {
                merge(target, &without(body, &["store_id"]));
            }
            order
        }
    };
    // Keep only the customer reference; the rest is rendered from the customer record.
    let mut stored = order;
    if let Some(customer_id) = stored["customer"]["id"].as_str().map(str::to_owned) {
        stored["customer"] = json!({ "id": customer_id });
    }
    store.orders.insert(id, stored.clone());
    Ok(render_order(store, &stored, &customer_totals(store)))
}

/// Creates the order's customer when the store does not know its id and the order carries what
/// a new customer needs (an `email_address`; `opt_in_status` defaults to `false`), as Mailchimp
/// does for orders of new customers (spec 3.0.90, the order's customer object: "For existing
/// customers include only the `id` parameter"; see docs/mailchimp.md); without an address the
/// order is refused by [`check_order_refs`].
fn create_missing_customer(
    state: &mut MailchimpState,
    store_id: &str,
    body: &Body,
) -> Result<(), Problem> {
    let Some(customer) = body.get("customer").and_then(Value::as_object) else {
        return Ok(());
    };
    let (Some(id), Some(_email)) = (
        customer.get("id").and_then(Value::as_str),
        customer.get("email_address").and_then(Value::as_str),
    ) else {
        return Ok(());
    };
    if store_ref(state, store_id)?.customers.contains(id) {
        return Ok(());
    }
    let mut new = customer.clone();
    new.entry("opt_in_status").or_insert(json!(false));
    write_customer(state, store_id, Some(id), &new, Mode::Put).map(|_| ())
}

pub(super) async fn list_orders(
    State(app): State<App>,
    Path(store_id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let state = app.lock();
    let store = store_ref(&state, &store_id)?;
    let (orders, total) = page.slice(filtered_orders(store, &query).map(|o| (store, o)));
    let orders = render_orders(orders);
    drop(state);
    ok(
        &query,
        json!({ "store_id": store_id, "orders": orders, "total_items": total, "_links": [] }),
    )
}

/// A store's orders, filtered by `customer_id` and `campaign_id` when given.
pub(super) fn filtered_orders<'a>(
    store: &'a StoreData,
    query: &'a request::Query,
) -> impl Iterator<Item = &'a Value> + 'a {
    store.orders.values().filter(move |o| {
        query
            .get("customer_id")
            .is_none_or(|c| o["customer"]["id"] == c.as_str())
            && query
                .get("campaign_id")
                .is_none_or(|c| o["campaign_id"] == c.as_str())
    })
}

/// Renders a page of `(store, order)` pairs, computing each store's customer totals once.
pub(super) fn render_orders(page: Vec<(&StoreData, &Value)>) -> Vec<Value> {
    let mut totals: HashMap<String, CustomerTotals> = HashMap::new();
    page.into_iter()
        .map(|(store, order)| {
            let store_id = store.store["id"].as_str().unwrap_or_default().to_owned();
            let totals = totals
                .entry(store_id)
                .or_insert_with(|| customer_totals(store));
            render_order(store, order, totals)
        })
        .collect()
}

pub(super) async fn list_account_orders(
    State(app): State<App>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let state = app.lock();
    let all = state
        .stores
        .values()
        .flat_map(|store| filtered_orders(store, &query).map(move |o| (store, o)));
    let (orders, total) = page.slice(all);
    let orders = render_orders(orders);
    drop(state);
    ok(
        &query,
        json!({ "orders": orders, "total_items": total, "_links": [] }),
    )
}

store_item_handlers!(orders {
    get: get_order => rendered_order,
    write: post_order, put_order, patch_order => write_order,
    delete: delete_order,
});

/// The order `id` of a store, as returned.
pub(super) fn rendered_order(
    state: &MailchimpState,
    store_id: &str,
    id: &str,
) -> Result<Value, Problem> {
    let store = store_ref(state, store_id)?;
    let order = store.orders.get(id).ok_or_else(Problem::not_found)?;
    Ok(render_order(store, order, &customer_totals(store)))
}

pub(super) async fn list_lines(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let order = rendered_order(&app.lock(), &store_id, &id)?;
    let (lines, total) = page.slice(order["lines"].as_array().cloned().unwrap_or_default());
    ok(
        &query,
        json!({ "store_id": store_id, "order_id": id, "lines": lines, "total_items": total, "_links": [] }),
    )
}

pub(super) async fn get_line(
    State(app): State<App>,
    Path((store_id, id, line_id)): Path<(String, String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let order = rendered_order(&app.lock(), &store_id, &id)?;
    let line = order["lines"]
        .as_array()
        .and_then(|lines| lines.iter().find(|l| l["id"] == line_id.as_str()))
        .cloned()
        .ok_or_else(Problem::not_found)?;
    ok(&query, line)
}
