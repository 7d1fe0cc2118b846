//! Products and variants: a product needs at least one variant; variants upsert on their own.

use axum::extract::{Path, Query, State};
use serde_json::{json, Value};

use super::{
    check_presence, store_mut, store_ref, without, write_id, Body, Mode, MAX_EMBEDDED_VARIANTS,
};
use crate::mailchimp::{
    problem::Problem,
    request::{self, merge, no_content, now, ok, required_str, ObjectBody, Page, Reply},
    state::{MailchimpState, ProductData},
    App,
};
use crate::packed::Packed;

/// A product as returned: its fields plus up to `max_variants` variants.
pub(crate) fn render_product(product: &ProductData, max_variants: usize) -> Value {
    let mut value = product.product.value();
    value["variants"] = Value::Array(
        product
            .variants
            .values()
            .take(max_variants)
            .map(Packed::value)
            .collect(),
    );
    value
}

pub(super) fn new_variant(body: &Body, stamp: &str) -> Result<Value, Problem> {
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
pub(super) fn upsert_variant(
    product: &mut ProductData,
    body: &Body,
    mode: Mode,
) -> Result<Value, Problem> {
    let id = required_str(body, "id")?.to_owned();
    let stamp = now();
    let existing = product.variants.get(&id).map(Packed::value);
    check_presence(existing.is_some(), mode, "variant")?;
    let variant = match existing {
        Some(mut variant) => {
            if let Some(target) = variant.as_object_mut() {
                merge(target, &without(body, &["id", "created_at"]));
            }
            variant["updated_at"] = json!(stamp);
            variant
        }
        None => new_variant(body, &stamp)?,
    };
    product.variants.insert(id, Packed::new(&variant));
    Ok(variant)
}

/// The variants array of a product body, each an object.
pub(super) fn variant_bodies(body: &Body) -> Result<Option<Vec<Body>>, Problem> {
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

pub(super) fn write_product(
    state: &mut MailchimpState,
    store_id: &str,
    path_id: Option<&str>,
    body: &Body,
    mode: Mode,
) -> Result<Value, Problem> {
    let store = store_mut(state, store_id)?;
    let currency = store.store["currency_code"].clone();
    let id = write_id(body, path_id, mode)?;
    let variants = variant_bodies(body)?;
    let fields = without(body, &["id", "variants", "created_at", "updated_at"]);
    let existing = store.products.get(&id).cloned();
    check_presence(existing.is_some(), mode, "product")?;
    let mut product = match existing {
        Some(mut product) => {
            let mut value = product.product.value();
            if let Some(target) = value.as_object_mut() {
                merge(target, &fields);
            }
            product.product = Packed::new(&value);
            product
        }
        None => {
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
                product: Packed::new(&value),
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

pub(super) async fn list_products(
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

store_item_handlers!(products {
    get: get_product => rendered_product,
    write: post_product, put_product, patch_product => write_product,
    delete: delete_product,
});

/// The product `id` of a store, as returned.
pub(super) fn rendered_product(
    state: &MailchimpState,
    store_id: &str,
    id: &str,
) -> Result<Value, Problem> {
    let product = store_ref(state, store_id)?
        .products
        .get(id)
        .ok_or_else(Problem::not_found)?;
    Ok(render_product(product, MAX_EMBEDDED_VARIANTS))
}

pub(super) fn product_mut<'a>(
    state: &'a mut MailchimpState,
    store_id: &str,
    product_id: &str,
) -> Result<&'a mut ProductData, Problem> {
    store_mut(state, store_id)?
        .products
        .get_mut(product_id)
        .ok_or_else(Problem::not_found)
}

pub(super) async fn list_variants(
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
    let variants: Vec<Value> = variants.into_iter().map(Packed::value).collect();
    drop(state);
    ok(
        &query,
        json!({
            "store_id": store_id, "product_id": product_id,
            "variants": variants, "total_items": total, "_links": []
        }),
    )
}

pub(super) async fn post_variant(
    State(app): State<App>,
    Path((store_id, product_id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let value = upsert_variant(
        product_mut(&mut app.lock(), &store_id, &product_id)?,
        &body,
        Mode::Post,
    )?;
    ok(&query, value)
}

pub(super) async fn put_variant(
    State(app): State<App>,
    Path((store_id, product_id, id)): Path<(String, String, String)>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let value = write_variant_at(
        &mut app.lock(),
        &store_id,
        &product_id,
        &id,
        body,
        Mode::Put,
    )?;
    ok(&query, value)
}

pub(super) async fn patch_variant(
    State(app): State<App>,
    Path((store_id, product_id, id)): Path<(String, String, String)>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let value = write_variant_at(
        &mut app.lock(),
        &store_id,
        &product_id,
        &id,
        body,
        Mode::Patch,
    )?;
    ok(&query, value)
}

/// `PUT` or `PATCH` of the variant at a path: the id it targets (see [`write_id`]) goes into the body
/// for [`upsert_variant`].
fn write_variant_at(
    state: &mut MailchimpState,
    store_id: &str,
    product_id: &str,
    id: &str,
    mut body: Body,
    mode: Mode,
) -> Result<Value, Problem> {
    let id = write_id(&body, Some(id), mode)?;
    body.insert("id".to_owned(), json!(id));
    upsert_variant(product_mut(state, store_id, product_id)?, &body, mode)
}

pub(super) async fn get_variant(
    State(app): State<App>,
    Path((store_id, product_id, id)): Path<(String, String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let state = app.lock();
    let variant = store_ref(&state, &store_id)?
        .products
        .get(&product_id)
        .and_then(|p| p.variants.get(&id))
        .map(Packed::value)
        .ok_or_else(Problem::not_found)?;
    drop(state);
    ok(&query, variant)
}

pub(super) async fn delete_variant(
    State(app): State<App>,
    Path((store_id, product_id, id)): Path<(String, String, String)>,
) -> Reply {
    product_mut(&mut app.lock(), &store_id, &product_id)?
        .variants
        .remove(&id)
        .ok_or_else(Problem::not_found)?;
    no_content()
}
