//! Customers: `PUT` upsert, `POST` create; a new email joins the audience, `opt_in_status: true`
//! upgrades a transactional or pending member, and a customer's email address never changes.

use std::collections::HashMap;
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use axum::extract::{Path, Query, State};
use serde_json::{json, Value};

use super::{check_presence, store_mut, store_ref, without, write_id, Body, Mode, MAX_CUSTOMER_ID};
use crate::mailchimp::{
    members::{add_customer_member, invalid_email, is_acceptable_email},
    problem::Problem,
    request::{self, merge, no_content, now, ok, str_field, ObjectBody, Page, Reply},
    state::{MailchimpState, StoreData},
    App,
};
use crate::packed::Packed;

/// Orders count and total spent per customer id.
pub(super) type CustomerTotals = HashMap<String, (u64, Decimal)>;

/// Orders count and total spent per customer id: every order of the customer counts, and
/// `total_spent` is the exact decimal sum of their `order_total` (Mailchimp derives both from
/// the orders; a cancelled order is expected to carry a zero total, see docs/mailchimp.md).
pub(super) fn customer_totals(store: &StoreData) -> CustomerTotals {
    let mut totals = CustomerTotals::new();
    for order in store.orders.values() {
        if let Some(id) = order["customer"]["id"].as_str() {
            let entry = totals.entry(id.to_owned()).or_default();
            entry.0 += 1;
            entry.1 += exact(&order["order_total"]);
        }
    }
    totals
}

/// A JSON number as the decimal it was written as (`59.97`, not its binary neighbour).
fn exact(value: &Value) -> Decimal {
    match value {
        Value::Number(n) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

pub(super) fn render_customer(customer: &Value, totals: &CustomerTotals) -> Value {
    let mut value = customer.clone();
    let (count, spent) = customer["id"]
        .as_str()
        .and_then(|id| totals.get(id))
        .copied()
        .unwrap_or_default();
    value["orders_count"] = json!(count);
    value["total_spent"] = json!(spent.to_f64().unwrap_or_default());
    value
}

/// Every customer of a store, as returned.
pub(crate) fn render_customers(store: &StoreData) -> Vec<Value> {
    let totals = customer_totals(store);
    store
        .customers
        .values()
        .map(|c| render_customer(&c.value(), &totals))
        .collect()
}

pub(super) fn write_customer(
    state: &mut MailchimpState,
    store_id: &str,
    path_id: Option<&str>,
    body: &Body,
    mode: Mode,
) -> Result<Value, Problem> {
    let store = store_mut(state, store_id)?;
    let id = write_id(body, path_id, mode)?;
    let existing = store.customers.get(&id).map(Packed::value);
    check_presence(existing.is_some(), mode, "customer")?;
    let stamp = now();
    let customer = match existing {
        Some(mut customer) => {
            check_customer_email(body)?;
            check_email_unchanged(&customer, body)?;
            if let Some(target) = customer.as_object_mut() {
                merge(target, &without(body, &["id", "created_at"]));
            }
            customer["updated_at"] = json!(stamp);
            customer
        }
        None => {
            if id.len() > MAX_CUSTOMER_ID {
                return Err(Problem::invalid(
                    "id",
                    format!("id must be at most {MAX_CUSTOMER_ID} characters."),
                ));
            }
            if !body.get("opt_in_status").is_some_and(Value::is_boolean) {
                return Err(Problem::invalid(
                    "opt_in_status",
                    "This value should be a boolean.",
                ));
            }
            check_customer_email(body)?;
            let mut customer = json!({
                "id": id,
                "email_address": "",
                "opt_in_status": false,
                "company": "",
                "first_name": "",
                "last_name": "",
                "address": {},
                "created_at": stamp,
                "updated_at": stamp,
                "_links": [],
            });
            if let Some(target) = customer.as_object_mut() {
                merge(target, &without(body, &["id", "created_at", "updated_at"]));
            }
            customer
        }
    };
    store.customers.insert(id, Packed::new(&customer));
    let list_id = store.store["list_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let totals = customer_totals(store);
    // Any write carrying opt_in_status may upgrade the member (PATCH included); a new address
    // joins the audience.
    if mode != Mode::Patch || body.contains_key("opt_in_status") {
        if let Some(email) = customer["email_address"].as_str().filter(|e| !e.is_empty()) {
            add_customer_member(
                state,
                &list_id,
                email,
                customer["opt_in_status"] == true,
                customer["first_name"].as_str().unwrap_or_default(),
                customer["last_name"].as_str().unwrap_or_default(),
            );
        }
    }
    Ok(render_customer(&customer, &totals))
}

/// The customer `id` of a store, as returned.
pub(super) fn rendered_customer(
    state: &MailchimpState,
    store_id: &str,
    id: &str,
) -> Result<Value, Problem> {
    let store = store_ref(state, store_id)?;
    let customer = store.customers.get(id).ok_or_else(Problem::not_found)?;
    Ok(render_customer(&customer.value(), &customer_totals(store)))
}

pub(super) fn check_customer_email(body: &Body) -> Result<(), Problem> {
    match str_field(body, "email_address")? {
        Some(email) if !is_acceptable_email(email) => Err(invalid_email(email)),
        _ => Ok(()),
    }
}

/// Mailchimp refuses a `PUT` or `PATCH` that changes an existing customer's address (reported on
/// mailchimp/mc-magento #17 and mc-magento2 #230); an SMS-only customer may gain one.
fn check_email_unchanged(customer: &Value, body: &Body) -> Result<(), Problem> {
    let current = customer["email_address"]
        .as_str()
        .unwrap_or_default()
        .trim();
    match str_field(body, "email_address")?.map(str::trim) {
        Some(new) if !current.is_empty() && !new.eq_ignore_ascii_case(current) => {
            Err(Problem::invalid_with_detail(
                "An email address may not be changed once a customer is created.",
                "email_address",
                "An email address may not be changed once a customer is created.",
            ))
        }
        _ => Ok(()),
    }
}

pub(super) async fn list_customers(
    State(app): State<App>,
    Path(store_id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let email = query.get("email_address").cloned();
    let state = app.lock();
    let store = store_ref(&state, &store_id)?;
    let customers = store.customers.values().filter(|c| {
        email.as_ref().is_none_or(|e| {
            c.value()["email_address"]
                .as_str()
                .is_some_and(|c| c.eq_ignore_ascii_case(e))
        })
    });
    let (customers, total) = page.slice(customers);
    let totals = customer_totals(store);
    let customers: Vec<Value> = customers
        .into_iter()
        .map(|c| render_customer(&c.value(), &totals))
        .collect();
    drop(state);
    ok(
        &query,
        json!({ "store_id": store_id, "customers": customers, "total_items": total, "_links": [] }),
    )
}

store_item_handlers!(customers {
    get: get_customer => rendered_customer,
    write: post_customer, put_customer, patch_customer => write_customer,
    delete: delete_customer,
});
