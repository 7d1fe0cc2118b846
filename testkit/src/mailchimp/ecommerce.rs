//! E-commerce: stores, customers, products, variants and orders, with the store-first and referential
//! rules.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    routing::get,
    Router,
};
use serde_json::{json, Map, Value};

use super::{
    members::{add_customer_member, is_valid_email},
    problem::Problem,
    request::{
        self, merge, no_content, now, ok, parse_object, required_str, str_field, Page, Reply,
    },
    state::{MailchimpState, ProductData, StoreData},
    App,
};

/// The most variants a product response embeds, as Mailchimp does.
const MAX_EMBEDDED_VARIANTS: usize = 50;
/// The longest customer id Mailchimp accepts.
const MAX_CUSTOMER_ID: usize = 50;

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
enum Mode {
    Post,
    Put,
    Patch,
}

type Body = Map<String, Value>;

/// The resource id a write targets: the path's (checked against the body's) or, for `POST`, the body's.
fn target_id(body: &Body, path_id: Option<&str>) -> Result<String, Problem> {
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

fn already_exists(what: &str) -> Problem {
    Problem::bad_request(format!(
        "A {what} with the provided ID already exists in the account."
    ))
}

fn without(body: &Body, keys: &[&str]) -> Body {
    body.iter()
        .filter(|(k, _)| !keys.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn require_number(body: &Body, field: &str) -> Result<(), Problem> {
    match body.get(field) {
        Some(Value::Number(_)) => Ok(()),
        _ => Err(Problem::invalid(field, "This value should be a number.")),
    }
}

fn store_mut<'a>(
    state: &'a mut MailchimpState,
    store_id: &str,
) -> Result<&'a mut StoreData, Problem> {
    state
        .stores
        .get_mut(store_id)
        .ok_or_else(Problem::not_found)
}

fn store_ref<'a>(state: &'a MailchimpState, store_id: &str) -> Result<&'a StoreData, Problem> {
    state.stores.get(store_id).ok_or_else(Problem::not_found)
}

// ---------------------------------------------------------------- stores

async fn list_stores(State(app): State<App>, Query(query): Query<request::Query>) -> Reply {
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

async fn post_store(
    State(app): State<App>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let id = required_str(&body, "id")?.to_owned();
    let list_id = required_str(&body, "list_id")?.to_owned();
    required_str(&body, "name")?;
    let currency = required_str(&body, "currency_code")?;
    let store = create_store(&mut app.lock(), &id, &list_id, currency, &body)?;
    ok(&query, store)
}

/// Checks and inserts a new store; `body` holds its other fields.
fn create_store(
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

async fn get_store(
    State(app): State<App>,
    Path(store_id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let store = store_ref(&app.lock(), &store_id)?.store.clone();
    ok(&query, store)
}

async fn patch_store(
    State(app): State<App>,
    Path(store_id): Path<String>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
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

async fn delete_store(State(app): State<App>, Path(store_id): Path<String>) -> Reply {
    app.lock()
        .stores
        .remove(&store_id)
        .ok_or_else(Problem::not_found)?;
    no_content()
}

// ---------------------------------------------------------------- customers

/// Orders count and total spent per customer id.
fn customer_totals(store: &StoreData) -> HashMap<String, (u64, f64)> {
    let mut totals: HashMap<String, (u64, f64)> = HashMap::new();
    for order in store.orders.values() {
        if let Some(id) = order["customer"]["id"].as_str() {
            let entry = totals.entry(id.to_owned()).or_default();
            entry.0 += 1;
            entry.1 += order["order_total"].as_f64().unwrap_or(0.0);
        }
    }
    totals
}

fn render_customer(customer: &Value, totals: &HashMap<String, (u64, f64)>) -> Value {
    let mut value = customer.clone();
    let (count, spent) = customer["id"]
        .as_str()
        .and_then(|id| totals.get(id))
        .copied()
        .unwrap_or_default();
    value["orders_count"] = json!(count);
    value["total_spent"] = json!(spent);
    value
}

/// Every customer of a store, as returned.
pub(crate) fn render_customers(store: &StoreData) -> Vec<Value> {
    let totals = customer_totals(store);
    store
        .customers
        .values()
        .map(|c| render_customer(c, &totals))
        .collect()
}

fn write_customer(
    state: &mut MailchimpState,
    store_id: &str,
    path_id: Option<&str>,
    body: &Body,
    mode: Mode,
) -> Result<Value, Problem> {
    let store = store_mut(state, store_id)?;
    let id = match mode {
        Mode::Patch => path_id.unwrap_or_default().to_owned(),
        _ => target_id(body, path_id)?,
    };
    let existing = store.customers.get(&id).cloned();
    let stamp = now();
    let customer = match (existing, mode) {
        (Some(_), Mode::Post) => return Err(already_exists("customer")),
        (None, Mode::Patch) => return Err(Problem::not_found()),
        (Some(mut customer), _) => {
            // PATCH cannot change the id or the email address.
            let skip: &[&str] = if mode == Mode::Patch {
                &["id", "email_address", "created_at"]
            } else {
                &["id", "created_at"]
            };
            if mode != Mode::Patch {
                check_customer_email(body)?;
            }
            if let Some(target) = customer.as_object_mut() {
                merge(target, &without(body, skip));
            }
            customer["updated_at"] = json!(stamp);
            customer
        }
        (None, _) => {
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
    store.customers.insert(id, customer.clone());
    let list_id = store.store["list_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let totals = customer_totals(store);
    if mode != Mode::Patch {
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

fn check_customer_email(body: &Body) -> Result<(), Problem> {
    match str_field(body, "email_address")? {
        Some(email) if !is_valid_email(email) => Err(Problem::invalid_with_detail(
            format!("{email} looks fake or invalid, please enter a real email address."),
            "email_address",
            "This value should be a valid email.",
        )),
        _ => Ok(()),
    }
}

async fn list_customers(
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
            c["email_address"]
                .as_str()
                .is_some_and(|c| c.eq_ignore_ascii_case(e))
        })
    });
    let (customers, total) = page.slice(customers);
    let totals = customer_totals(store);
    let customers: Vec<Value> = customers
        .into_iter()
        .map(|c| render_customer(c, &totals))
        .collect();
    drop(state);
    ok(
        &query,
        json!({ "store_id": store_id, "customers": customers, "total_items": total, "_links": [] }),
    )
}

async fn post_customer(
    State(app): State<App>,
    Path(store_id): Path<String>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let value = write_customer(&mut app.lock(), &store_id, None, &body, Mode::Post)?;
    ok(&query, value)
}

async fn put_customer(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let value = write_customer(&mut app.lock(), &store_id, Some(&id), &body, Mode::Put)?;
    ok(&query, value)
}

async fn patch_customer(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let value = write_customer(&mut app.lock(), &store_id, Some(&id), &body, Mode::Patch)?;
    ok(&query, value)
}

async fn get_customer(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let state = app.lock();
    let store = store_ref(&state, &store_id)?;
    let customer = store.customers.get(&id).ok_or_else(Problem::not_found)?;
    let value = render_customer(customer, &customer_totals(store));
    drop(state);
    ok(&query, value)
}

async fn delete_customer(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
) -> Reply {
    store_mut(&mut app.lock(), &store_id)?
        .customers
        .remove(&id)
        .ok_or_else(Problem::not_found)?;
    no_content()
}

// ---------------------------------------------------------------- products and variants

/// A product as returned: its fields plus up to `max_variants` variants.
pub(crate) fn render_product(product: &ProductData, max_variants: usize) -> Value {
    let mut value = product.product.clone();
    value["variants"] = Value::Array(
        product
            .variants
            .values()
            .take(max_variants)
            .cloned()
            .collect(),
    );
    value
}

fn new_variant(body: &Body, stamp: &str) -> Result<Value, Problem> {
    let id = required_str(body, "id")
        .map_err(|_| Problem::invalid("variants.id", "This value should not be blank."))?;
    required_str(body, "title")
        .map_err(|_| Problem::invalid("variants.title", "This value should not be blank."))?;
    let mut variant = json!({
        "id": id,
        "title": "",
        "url": "",
        "sku": "",
        "price": 0.0,
        "inventory_quantity": 0,
        "image_url": "",
        "backorders": "",
        "visibility": "",
        "created_at": stamp,
        "updated_at": stamp,
        "_links": [],
    });
    if let Some(target) = variant.as_object_mut() {
        merge(target, &without(body, &["created_at", "updated_at"]));
    }
    Ok(variant)
}

/// Creates or updates one variant of `product`; a new one needs `id` and `title`.
fn upsert_variant(product: &mut ProductData, body: &Body, mode: Mode) -> Result<Value, Problem> {
    let id = required_str(body, "id")?.to_owned();
    let stamp = now();
    let variant = match (product.variants.get(&id).cloned(), mode) {
        (Some(_), Mode::Post) => return Err(already_exists("variant")),
        (None, Mode::Patch) => return Err(Problem::not_found()),
        (Some(mut variant), _) => {
            if let Some(target) = variant.as_object_mut() {
                merge(target, &without(body, &["id", "created_at"]));
            }
            variant["updated_at"] = json!(stamp);
            variant
        }
        (None, _) => new_variant(body, &stamp)?,
    };
    product.variants.insert(id, variant.clone());
    Ok(variant)
}

/// The variants array of a product body, each an object.
fn variant_bodies(body: &Body) -> Result<Option<Vec<Body>>, Problem> {
    match body.get("variants") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Object(map) => Ok(map.clone()),
                _ => Err(Problem::invalid(
                    "variants",
                    "Each variant must be an object.",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(Problem::invalid("variants", "variants must be an array.")),
    }
}

fn write_product(
    state: &mut MailchimpState,
    store_id: &str,
    path_id: Option<&str>,
    body: &Body,
    mode: Mode,
) -> Result<Value, Problem> {
    let store = store_mut(state, store_id)?;
    let currency = store.store["currency_code"].clone();
    let id = match mode {
        Mode::Patch => path_id.unwrap_or_default().to_owned(),
        _ => target_id(body, path_id)?,
    };
    let variants = variant_bodies(body)?;
    let fields = without(body, &["id", "variants", "created_at", "updated_at"]);
    let mut product = match (store.products.get(&id).cloned(), mode) {
        (Some(_), Mode::Post) => return Err(already_exists("product")),
        (None, Mode::Patch) => return Err(Problem::not_found()),
        (Some(mut product), _) => {
            if let Some(target) = product.product.as_object_mut() {
                merge(target, &fields);
            }
            product
        }
        (None, _) => {
            required_str(body, "title")?;
            if variants.as_ref().is_none_or(Vec::is_empty) {
                return Err(Problem::invalid(
                    "variants",
                    "A product must have at least one variant.",
                ));
            }
            let mut value = json!({
                "id": id,
                "currency_code": currency,
                "title": "",
                "handle": "",
                "url": "",
                "description": "",
                "type": "",
                "vendor": "",
                "image_url": "",
                "images": [],
                "published_at_foreign": "",
                "_links": [],
            });
            if let Some(target) = value.as_object_mut() {
                merge(target, &fields);
            }
            ProductData {
                product: value,
                ..ProductData::default()
            }
        }
    };
    for variant in variants.unwrap_or_default() {
        // Variants listed in a product write are upserted: new ones need id and title.
        upsert_variant(&mut product, &variant, Mode::Put)?;
    }
    let value = render_product(&product, MAX_EMBEDDED_VARIANTS);
    store.products.insert(id, product);
    Ok(value)
}

async fn list_products(
    State(app): State<App>,
    Path(store_id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let state = app.lock();
    let store = store_ref(&state, &store_id)?;
    let (products, total) = page.slice(store.products.values());
    let products: Vec<Value> = products
        .into_iter()
        .map(|p| render_product(p, MAX_EMBEDDED_VARIANTS))
        .collect();
    drop(state);
    ok(
        &query,
        json!({ "store_id": store_id, "products": products, "total_items": total, "_links": [] }),
    )
}

async fn post_product(
    State(app): State<App>,
    Path(store_id): Path<String>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let value = write_product(&mut app.lock(), &store_id, None, &body, Mode::Post)?;
    ok(&query, value)
}

async fn put_product(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let value = write_product(&mut app.lock(), &store_id, Some(&id), &body, Mode::Put)?;
    ok(&query, value)
}

async fn patch_product(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let value = write_product(&mut app.lock(), &store_id, Some(&id), &body, Mode::Patch)?;
    ok(&query, value)
}

async fn get_product(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let state = app.lock();
    let product = store_ref(&state, &store_id)?
        .products
        .get(&id)
        .ok_or_else(Problem::not_found)?;
    let value = render_product(product, MAX_EMBEDDED_VARIANTS);
    drop(state);
    ok(&query, value)
}

async fn delete_product(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
) -> Reply {
    store_mut(&mut app.lock(), &store_id)?
        .products
        .remove(&id)
        .ok_or_else(Problem::not_found)?;
    no_content()
}

fn product_mut<'a>(
    state: &'a mut MailchimpState,
    store_id: &str,
    product_id: &str,
) -> Result<&'a mut ProductData, Problem> {
    store_mut(state, store_id)?
        .products
        .get_mut(product_id)
        .ok_or_else(Problem::not_found)
}

async fn list_variants(
    State(app): State<App>,
    Path((store_id, product_id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let state = app.lock();
    let product = store_ref(&state, &store_id)?
        .products
        .get(&product_id)
        .ok_or_else(Problem::not_found)?;
    let (variants, total) = page.slice(product.variants.values());
    let variants: Vec<Value> = variants.into_iter().cloned().collect();
    drop(state);
    ok(
        &query,
        json!({
            "store_id": store_id, "product_id": product_id,
            "variants": variants, "total_items": total, "_links": []
        }),
    )
}

async fn post_variant(
    State(app): State<App>,
    Path((store_id, product_id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let value = upsert_variant(
        product_mut(&mut app.lock(), &store_id, &product_id)?,
        &body,
        Mode::Post,
    )?;
    ok(&query, value)
}

async fn put_variant(
    State(app): State<App>,
    Path((store_id, product_id, id)): Path<(String, String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let mut body = parse_object(&body)?;
    body.insert("id".to_owned(), json!(target_id(&body, Some(&id))?));
    let value = upsert_variant(
        product_mut(&mut app.lock(), &store_id, &product_id)?,
        &body,
        Mode::Put,
    )?;
    ok(&query, value)
}

async fn patch_variant(
    State(app): State<App>,
    Path((store_id, product_id, id)): Path<(String, String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let mut body = parse_object(&body)?;
    body.insert("id".to_owned(), json!(id));
    let value = upsert_variant(
        product_mut(&mut app.lock(), &store_id, &product_id)?,
        &body,
        Mode::Patch,
    )?;
    ok(&query, value)
}

async fn get_variant(
    State(app): State<App>,
    Path((store_id, product_id, id)): Path<(String, String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let state = app.lock();
    let variant = store_ref(&state, &store_id)?
        .products
        .get(&product_id)
        .and_then(|p| p.variants.get(&id))
        .cloned()
        .ok_or_else(Problem::not_found)?;
    drop(state);
    ok(&query, variant)
}

async fn delete_variant(
    State(app): State<App>,
    Path((store_id, product_id, id)): Path<(String, String, String)>,
) -> Reply {
    product_mut(&mut app.lock(), &store_id, &product_id)?
        .variants
        .remove(&id)
        .ok_or_else(Problem::not_found)?;
    no_content()
}

// ---------------------------------------------------------------- orders

/// Checks an order's references (customer, products, variants) against the store.
fn check_order_refs(store: &StoreData, body: &Body) -> Result<(), Problem> {
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
fn render_order(store: &StoreData, order: &Value, totals: &HashMap<String, (u64, f64)>) -> Value {
    let mut value = order.clone();
    if let Some(customer) = order["customer"]["id"]
        .as_str()
        .and_then(|id| store.customers.get(id))
    {
        value["customer"] = render_customer(customer, totals);
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
            line["product_title"] = product.map_or(json!(""), |p| p.product["title"].clone());
            line["product_variant_title"] = variant.map_or(json!(""), |v| v["title"].clone());
            line["image_url"] = variant.map_or(json!(""), |v| v["image_url"].clone());
            if line.get("discount").is_none() {
                line["discount"] = json!(0.0);
            }
        }
    }
    value
}

fn write_order(
    state: &mut MailchimpState,
    store_id: &str,
    path_id: Option<&str>,
    body: &Body,
    mode: Mode,
) -> Result<Value, Problem> {
    let store = store_mut(state, store_id)?;
    let id = match mode {
        Mode::Patch => path_id.unwrap_or_default().to_owned(),
        _ => target_id(body, path_id)?,
    };
    let order = match (store.orders.get(&id).cloned(), mode) {
        (Some(_), Mode::Post) => return Err(already_exists("order")),
        (None, Mode::Patch) => return Err(Problem::not_found()),
        (Some(mut order), _) => {
            check_order_refs(store, body)?;
            if let Some(target) = order.as_object_mut() {
                merge(target, &without(body, &["id", "store_id"]));
            }
            order
        }
        (None, _) => {
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

async fn list_orders(
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
fn filtered_orders<'a>(
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
fn render_orders(page: Vec<(&StoreData, &Value)>) -> Vec<Value> {
    let mut totals: HashMap<String, HashMap<String, (u64, f64)>> = HashMap::new();
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

async fn list_account_orders(State(app): State<App>, Query(query): Query<request::Query>) -> Reply {
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

async fn post_order(
    State(app): State<App>,
    Path(store_id): Path<String>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let value = write_order(&mut app.lock(), &store_id, None, &body, Mode::Post)?;
    ok(&query, value)
}

async fn put_order(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let value = write_order(&mut app.lock(), &store_id, Some(&id), &body, Mode::Put)?;
    ok(&query, value)
}

async fn patch_order(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let value = write_order(&mut app.lock(), &store_id, Some(&id), &body, Mode::Patch)?;
    ok(&query, value)
}

fn rendered_order(state: &MailchimpState, store_id: &str, id: &str) -> Result<Value, Problem> {
    let store = store_ref(state, store_id)?;
    let order = store.orders.get(id).ok_or_else(Problem::not_found)?;
    Ok(render_order(store, order, &customer_totals(store)))
}

async fn get_order(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let value = rendered_order(&app.lock(), &store_id, &id)?;
    ok(&query, value)
}

async fn delete_order(
    State(app): State<App>,
    Path((store_id, id)): Path<(String, String)>,
) -> Reply {
    store_mut(&mut app.lock(), &store_id)?
        .orders
        .remove(&id)
        .ok_or_else(Problem::not_found)?;
    no_content()
}

async fn list_lines(
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

async fn get_line(
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
