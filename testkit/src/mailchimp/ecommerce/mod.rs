//! E-commerce: stores, customers, products, variants and orders, with the store-first and referential
//! rules.

use axum::{routing::get, Router};
use serde_json::{Map, Value};

#[macro_use]
mod item_handlers;
mod customers;
mod orders;
mod products;
mod stores;

use customers::*;
use orders::*;
use products::*;
use stores::*;

pub(crate) use customers::render_customers;
pub(crate) use products::render_product;
pub(crate) use stores::seed_store;

use super::{
    problem::Problem,
    request::{required_str, str_field},
    state::{MailchimpState, StoreData},
    App,
};

/// The most variants a product response embeds, as Mailchimp does.
pub(super) const MAX_EMBEDDED_VARIANTS: usize = 50;
/// The longest customer id Mailchimp accepts.
pub(super) const MAX_CUSTOMER_ID: usize = 50;

pub(crate) fn routes() -> Router<App> {
    const STORE: &str = "/3.0/ecommerce/stores/{store_id}";
    Router::new()
        .route("/3.0/ecommerce/stores", get(list_stores).post(post_store))
        .route(
            STORE,
            get(get_store).patch(patch_store).delete(delete_store),
        )
        .route(
            &format!("{STORE}/customers"),
            get(list_customers).post(post_customer),
        )
        .route(
            &format!("{STORE}/customers/{{customer_id}}"),
            get(get_customer)
                .put(put_customer)
                .patch(patch_customer)
                .delete(delete_customer),
        )
        .route(
            &format!("{STORE}/products"),
            get(list_products).post(post_product),
        )
        .route(
            &format!("{STORE}/products/{{product_id}}"),
            get(get_product)
                .put(put_product)
                .patch(patch_product)
                .delete(delete_product),
        )
        .route(
            &format!("{STORE}/products/{{product_id}}/variants"),
            get(list_variants).post(post_variant),
        )
        .route(
            &format!("{STORE}/products/{{product_id}}/variants/{{variant_id}}"),
            get(get_variant)
                .put(put_variant)
                .patch(patch_variant)
                .delete(delete_variant),
        )
        .route(
            &format!("{STORE}/orders"),
            get(list_orders).post(post_order),
        )
        .route(
            &format!("{STORE}/orders/{{order_id}}"),
            get(get_order)
                .put(put_order)
                .patch(patch_order)
                .delete(delete_order),
        )
        .route(
            &format!("{STORE}/orders/{{order_id}}/lines"),
            get(list_lines),
        )
        .route(
            &format!("{STORE}/orders/{{order_id}}/lines/{{line_id}}"),
            get(get_line),
        )
        .route("/3.0/ecommerce/orders", get(list_account_orders))
}

/// Which write a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Post,
    Put,
    Patch,
}

pub(super) type Body = Map<String, Value>;

/// The resource id a write targets: the path's (checked against the body's) or, for `POST`, the body's.
pub(super) fn target_id(body: &Body, path_id: Option<&str>) -> Result<String, Problem> {
    let body_id = str_field(body, "id")?;
    match (path_id, body_id) {
        (Some(path), Some(body)) if path != body => Err(Problem::invalid(
            "id",
            format!("The id in the body ({body}) does not match the id in the URL ({path})."),
        )),
        (Some(path), _) => Ok(path.to_owned()),
        (None, _) => Ok(required_str(body, "id")?.to_owned()),
    }
}

/// The id a store-item write targets: the path's as given for `PATCH` (the body's is not read),
/// otherwise [`target_id`].
pub(super) fn write_id(body: &Body, path_id: Option<&str>, mode: Mode) -> Result<String, Problem> {
    match mode {
        Mode::Patch => Ok(path_id.unwrap_or_default().to_owned()),
        Mode::Post | Mode::Put => target_id(body, path_id),
    }
}

/// Refuses a `POST` of a `what` that exists and a `PATCH` of one that does not; `PUT` upserts.
pub(super) fn check_presence(exists: bool, mode: Mode, what: &str) -> Result<(), Problem> {
    match (exists, mode) {
        (true, Mode::Post) => Err(already_exists(what)),
        (false, Mode::Patch) => Err(Problem::not_found()),
        _ => Ok(()),
    }
}

pub(super) fn already_exists(what: &str) -> Problem {
    Problem::bad_request(format!(
        "A {what} with the provided ID already exists in the account."
    ))
}

pub(super) fn without(body: &Body, keys: &[&str]) -> Body {
    body.iter()
        .filter(|(k, _)| !keys.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(super) fn require_number(body: &Body, field: &str) -> Result<(), Problem> {
    match body.get(field) {
        Some(Value::Number(_)) => Ok(()),
        _ => Err(Problem::invalid(field, "This value should be a number.")),
    }
}

pub(super) fn store_mut<'a>(
    state: &'a mut MailchimpState,
    store_id: &str,
) -> Result<&'a mut StoreData, Problem> {
    state
        .stores
        .get_mut(store_id)
        .ok_or_else(Problem::not_found)
}

pub(super) fn store_ref<'a>(
    state: &'a MailchimpState,
    store_id: &str,
) -> Result<&'a StoreData, Problem> {
    state.stores.get(store_id).ok_or_else(Problem::not_found)
}
