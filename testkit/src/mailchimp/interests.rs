//! Interest categories and their interests: `GET`/`POST /3.0/lists/{list_id}/interest-categories`, `GET` of
//! one category, and `GET`/`POST …/{interest_category_id}/interests` with `GET` of one interest.
//!
//! A category needs `title` and a `type` of `checkboxes`, `dropdown`, `radio` or `hidden`; an interest
//! needs `name`, unique within its category. Ids are ten hex characters, as Mailchimp's are. Kept apart
//! from the audience data (interests are not part of [`super::MailchimpSnapshot`]) and emptied by
//! [`super::FakeMailchimp::reset`].

use std::sync::{Mutex, MutexGuard};

use axum::{
    extract::{Path, Query, State},
    routing::get,
    Router,
};
use serde_json::{json, Value};

use super::{
    lists::list_ref,
    problem::Problem,
    request::{self, ok, required_str, str_field, ObjectBody, Page, Reply},
    App,
};

const CATEGORY_TYPES: [&str; 4] = ["checkboxes", "dropdown", "radio", "hidden"];

/// Every audience's interest categories, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Interests {
    inner: Mutex<Store>,
}

#[derive(Debug, Default)]
struct Store {
    categories: Vec<Category>,
    next_id: u64,
}

#[derive(Debug)]
struct Category {
    list_id: String,
    value: Value,
    interests: Vec<Value>,
}

impl Store {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:010x}", 0x1a_2b00_0000_u64 + self.next_id)
    }

    fn category(&self, list_id: &str, id: &str) -> Result<&Category, Problem> {
        self.categories
            .iter()
            .find(|c| c.list_id == list_id && c.value["id"] == id)
            .ok_or_else(Problem::not_found)
    }
}

impl Interests {
    /// Forgets every category and interest.
    pub(crate) fn clear(&self) {
        *self.lock() = Store::default();
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route(
            "/3.0/lists/{list_id}/interest-categories",
            get(list_categories).post(post_category),
        )
        .route(
            "/3.0/lists/{list_id}/interest-categories/{category_id}",
            get(get_category),
        )
        .route(
            "/3.0/lists/{list_id}/interest-categories/{category_id}/interests",
            get(list_interests).post(post_interest),
        )
        .route(
            "/3.0/lists/{list_id}/interest-categories/{category_id}/interests/{interest_id}",
            get(get_interest),
        )
}

/// 404 unless the audience exists.
fn check_list(app: &App, list_id: &str) -> Result<(), Problem> {
    list_ref(&app.lock(), list_id).map(|_| ())
}

async fn list_categories(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    check_list(&app, &list_id)?;
    let kind = query.get("type");
    let store = app.interests.lock();
    let selected = store
        .categories
        .iter()
        .filter(|c| c.list_id == list_id && kind.is_none_or(|k| c.value["type"] == k.as_str()))
        .map(|c| &c.value);
    let (categories, total) = page.slice(selected);
    let categories: Vec<Value> = categories.into_iter().cloned().collect();
    drop(store);
    ok(
        &query,
        json!({ "list_id": list_id, "categories": categories, "total_items": total, "_links": [] }),
    )
}

async fn post_category(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let title = required_str(&body, "title")?.to_owned();
    let kind = required_str(&body, "type")?.to_owned();
    if !CATEGORY_TYPES.contains(&kind.as_str()) {
        return Err(Problem::invalid(
            "type",
            format!("type must be one of {}", CATEGORY_TYPES.join(", ")),
        ));
    }
    let display_order = body
        .get("display_order")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    check_list(&app, &list_id)?;
    let mut store = app.interests.lock();
    let id = store.new_id();
    let value = json!({
        "list_id": list_id,
        "id": id,
        "title": title,
        "display_order": display_order,
        "type": kind,
        "_links": [],
    });
    store.categories.push(Category {
        list_id,
        value: value.clone(),
        interests: Vec::new(),
    });
    drop(store);
    ok(&query, value)
}

async fn get_category(
    State(app): State<App>,
    Path((list_id, category_id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    check_list(&app, &list_id)?;
    let value = app
        .interests
        .lock()
        .category(&list_id, &category_id)?
        .value
        .clone();
    ok(&query, value)
}

async fn list_interests(
    State(app): State<App>,
    Path((list_id, category_id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    check_list(&app, &list_id)?;
    let store = app.interests.lock();
    let category = store.category(&list_id, &category_id)?;
    let (interests, total) = page.slice(category.interests.iter());
    let interests: Vec<Value> = interests.into_iter().cloned().collect();
    drop(store);
    ok(
        &query,
        json!({
            "list_id": list_id,
            "category_id": category_id,
            "interests": interests,
            "total_items": total,
            "_links": [],
        }),
    )
}

async fn post_interest(
    State(app): State<App>,
    Path((list_id, category_id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let name = required_str(&body, "name")?.to_owned();
    let display_order = body
        .get("display_order")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    // Checked only for its type: the fake keeps no per-interest subscriber count.
    str_field(&body, "subscriber_count")?;
    check_list(&app, &list_id)?;
    let mut store = app.interests.lock();
    let existing = store.category(&list_id, &category_id)?;
    if existing
        .interests
        .iter()
        .any(|i| i["name"] == name.as_str())
    {
        return Err(Problem::invalid(
            "name",
            format!("Cannot add \"{name}\" because it already exists on the list."),
        ));
    }
    let id = store.new_id();
    let value = json!({
        "category_id": category_id,
        "list_id": list_id,
        "id": id,
        "name": name,
        "subscriber_count": "0",
        "display_order": display_order,
        "_links": [],
    });
    if let Some(category) = store
        .categories
        .iter_mut()
        .find(|c| c.list_id == list_id && c.value["id"] == category_id.as_str())
    {
        category.interests.push(value.clone());
    }
    drop(store);
    ok(&query, value)
}

async fn get_interest(
    State(app): State<App>,
    Path((list_id, category_id, interest_id)): Path<(String, String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    check_list(&app, &list_id)?;
    let store = app.interests.lock();
    let interest = store
        .category(&list_id, &category_id)?
        .interests
        .iter()
        .find(|i| i["id"] == interest_id.as_str())
        .cloned()
        .ok_or_else(Problem::not_found)?;
    drop(store);
    ok(&query, interest)
}
