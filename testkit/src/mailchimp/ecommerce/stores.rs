//! Stores: created linked to an existing audience, whose `list_id` never changes.

use axum::extract::{Path, Query, State};
use serde_json::{json, Value};

use super::{already_exists, store_mut, store_ref, without, Body};
use crate::mailchimp::{
    problem::Problem,
    request::{self, merge, no_content, now, ok, required_str, str_field, ObjectBody, Page, Reply},
    state::{MailchimpState, StoreData},
    App,
};

pub(super) async fn list_stores(
    State(app): State<App>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let state = app.lock();
    let (stores, total) = page.slice(state.stores.values());
    let stores: Vec<Value> = stores.into_iter().map(|s| s.store.clone()).collect();
    drop(state);
    ok(
        &query,
        json!({ "stores": stores, "total_items": total, "_links": [] }),
    )
}

pub(super) async fn post_store(
    State(app): State<App>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let id = required_str(&body, "id")?.to_owned();
    let list_id = required_str(&body, "list_id")?.to_owned();
    required_str(&body, "name")?;
    let currency = required_str(&body, "currency_code")?;
    let store = create_store(&mut app.lock(), &id, &list_id, currency, &body)?;
    ok(&query, store)
}

/// Checks and inserts a new store; `body` holds its other fields.
pub(super) fn create_store(
    state: &mut MailchimpState,
    id: &str,
    list_id: &str,
    currency: &str,
    body: &Body,
) -> Result<Value, Problem> {
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(Problem::invalid(
            "currency_code",
            "currency_code must be a three-letter ISO 4217 code.",
        ));
    }
    if !state.lists.contains(list_id) {
        return Err(Problem::invalid(
            "list_id",
            format!("The list_id {list_id} does not match an audience in this account."),
        ));
    }
    if state.stores.contains(id) {
        return Err(already_exists("store"));
    }
    let created = now();
    let mut store = json!({
        "id": id,
        "list_id": list_id,
        "name": id,
        "platform": "",
        "domain": "",
        "is_syncing": false,
        "email_address": "",
        "currency_code": currency,
        "money_format": "",
        "primary_locale": "",
        "timezone": "",
        "phone": "",
        "address": {},
        "automations": {},
        "list_is_active": true,
        "created_at": created,
        "updated_at": created,
        "_links": [],
    });
    if let Some(target) = store.as_object_mut() {
        merge(
            target,
            &without(body, &["created_at", "updated_at", "list_is_active"]),
        );
    }
    state.stores.insert(
        id.to_owned(),
        StoreData {
            store: store.clone(),
            ..StoreData::default()
        },
    );
    Ok(store)
}

/// Creates a store directly, for seeding.
pub(crate) fn seed_store(
    state: &mut MailchimpState,
    id: &str,
    list_id: &str,
    currency: &str,
) -> Result<(), String> {
    create_store(state, id, list_id, currency, &Body::new())
        .map(|_| ())
        .map_err(|p| format!("store {id}: {}", p.detail_with_fields()))
}

pub(super) async fn get_store(
    State(app): State<App>,
    Path(store_id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let store = store_ref(&app.lock(), &store_id)?.store.clone();
    ok(&query, store)
}

pub(super) async fn patch_store(
    State(app): State<App>,
    Path(store_id): Path<String>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let mut state = app.lock();
    let store = store_mut(&mut state, &store_id)?;
    for field in ["id", "list_id"] {
        if let Some(given) = str_field(&body, field)? {
            if store.store[field] != given {
                return Err(Problem::invalid(
                    field,
                    format!("The {field} of a store cannot be changed once set."),
                ));
            }
        }
    }
    if let Some(target) = store.store.as_object_mut() {
        merge(
            target,
            &without(&body, &["id", "list_id", "created_at", "list_is_active"]),
        );
    }
    store.store["updated_at"] = json!(now());
    let value = store.store.clone();
    drop(state);
    ok(&query, value)
}

pub(super) async fn delete_store(State(app): State<App>, Path(store_id): Path<String>) -> Reply {
    app.lock()
        .stores
        .remove(&store_id)
        .ok_or_else(Problem::not_found)?;
    no_content()
}
