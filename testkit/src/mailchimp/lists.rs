//! The API root, ping, and audiences (lists) with their merge fields.

use axum::{
    extract::{Path, Query, State},
    routing::get,
    Router,
};
use serde_json::{json, Map, Value};

use super::{
    members,
    problem::Problem,
    request::{self, merge, no_content, now, ok, required_str, ObjectBody, Page, Reply},
    state::{ListData, MailchimpState},
    App,
};

/// The audience `list_id`, or 404.
pub(super) fn list_ref<'a>(
    state: &'a MailchimpState,
    list_id: &str,
) -> Result<&'a ListData, Problem> {
    state.lists.get(list_id).ok_or_else(Problem::not_found)
}

/// The audience `list_id`, mutably, or 404.
pub(super) fn list_mut<'a>(
    state: &'a mut MailchimpState,
    list_id: &str,
) -> Result<&'a mut ListData, Problem> {
    state.lists.get_mut(list_id).ok_or_else(Problem::not_found)
}

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/3.0", get(root))
        .route("/3.0/", get(root))
        .route("/3.0/ping", get(ping))
        .route("/3.0/lists", get(get_lists).post(post_list))
        .route(
            "/3.0/lists/{list_id}",
            get(get_list)
                .patch(patch_list)
                .delete(delete_list)
                .post(members::batch_subscribe),
        )
        .route(
            "/3.0/lists/{list_id}/merge-fields",
            get(get_merge_fields).post(post_merge_field),
        )
        .route(
            "/3.0/lists/{list_id}/merge-fields/{merge_id}",
            get(get_merge_field)
                .patch(patch_merge_field)
                .delete(delete_merge_field),
        )
}

async fn ping(Query(query): Query<request::Query>) -> Reply {
    ok(&query, json!({ "health_status": "Everything's Chimpy!" }))
}

async fn root(State(app): State<App>, Query(query): Query<request::Query>) -> Reply {
    let total: usize = {
        let state = app.lock();
        state
            .lists
            .values()
            .map(|l| count_status(l, "subscribed"))
            .sum()
    };
    ok(
        &query,
        json!({
            "account_id": "testkitaccount",
            "login_id": "1000001",
            "account_name": "Testkit Fake Account",
            "email": "owner@northwind-mfg.com",
            "first_name": "Testkit",
            "last_name": "Owner",
            "username": "testkit",
            "avatar_url": "",
            "role": "owner",
            "member_since": "2020-01-01T00:00:00+00:00",
            "pricing_plan_type": "monthly",
            "first_payment": "2020-01-01T00:00:00+00:00",
            "account_timezone": "UTC",
            "account_industry": "Software",
            "contact": {
                "company": "Testkit", "addr1": "1 Loopback Way", "addr2": "", "city": "Localhost",
                "state": "", "zip": "00000", "country": "US"
            },
            "pro_enabled": false,
            "last_login": "2020-01-01T00:00:00+00:00",
            "total_subscribers": total,
            "industry_stats": { "open_rate": 0.0, "bounce_rate": 0.0, "click_rate": 0.0 },
            "_links": [],
        }),
    )
}

/// Adds an audience with Mailchimp's default merge fields.
pub(crate) fn create(state: &mut MailchimpState, id: &str, name: &str) {
    let created = now();
    let list = json!({
        "id": id,
        "web_id": state.next_id(),
        "name": name,
        "contact": {
            "company": "Testkit", "address1": "1 Loopback Way", "address2": "", "city": "Localhost",
            "state": "", "zip": "00000", "country": "US", "phone": ""
        },
        "permission_reminder": "You signed up on our test site.",
        "use_archive_bar": false,
        "campaign_defaults": {
            "from_name": "Testkit", "from_email": "owner@northwind-mfg.com", "subject": "", "language": "en"
        },
        "notify_on_subscribe": "",
        "notify_on_unsubscribe": "",
        "date_created": created,
        "list_rating": 0,
        "email_type_option": false,
        "subscribe_url_short": "",
        "subscribe_url_long": "",
        "beamer_address": "",
        "visibility": "prv",
        "double_optin": false,
        "has_welcome": false,
        "marketing_permissions": false,
        "modules": [],
    });
    let mut data = ListData {
        list,
        ..ListData::default()
    };
    for (n, (tag, name, kind)) in [
        ("FNAME", "First Name", "text"),
        ("LNAME", "Last Name", "text"),
        ("ADDRESS", "Address", "address"),
        ("PHONE", "Phone Number", "phone"),
        ("BIRTHDAY", "Birthday", "birthday"),
    ]
    .into_iter()
    .enumerate()
    {
        let merge_id = n as u64 + 1;
        data.merge_fields.insert(
            merge_id.to_string(),
            merge_field(id, merge_id, tag, name, kind, n as u64 + 1),
        );
    }
    state.lists.insert(id.to_owned(), data);
}

fn merge_field(
    list_id: &str,
    merge_id: u64,
    tag: &str,
    name: &str,
    kind: &str,
    order: u64,
) -> Value {
    json!({
        "merge_id": merge_id,
        "tag": tag,
        "name": name,
        "type": kind,
        "required": false,
        "default_value": "",
        "public": true,
        "display_order": order,
        "options": {},
        "help_text": "",
        "list_id": list_id,
    })
}

fn count_status(list: &ListData, status: &str) -> usize {
    list.members.count_status(status)
}

/// The list as returned, with stats computed from its members.
pub(crate) fn render(list: &ListData) -> Value {
    let mut value = list.list.clone();
    let last = |status: &str| list.members.last_changed_max(status);
    value["stats"] = json!({
        "member_count": count_status(list, "subscribed"),
        "total_contacts": list.members.count_live(),
        "unsubscribe_count": count_status(list, "unsubscribed"),
        "cleaned_count": count_status(list, "cleaned"),
        "member_count_since_send": 0,
        "unsubscribe_count_since_send": 0,
        "cleaned_count_since_send": 0,
        "campaign_count": 0,
        "campaign_last_sent": "",
        "merge_field_count": list.merge_fields.len(),
        "avg_sub_rate": 0.0,
        "avg_unsub_rate": 0.0,
        "target_sub_rate": 0.0,
        "open_rate": 0.0,
        "click_rate": 0.0,
        "last_sub_date": last("subscribed"),
        "last_unsub_date": last("unsubscribed"),
    });
    value["_links"] = json!([]);
    value
}

async fn get_lists(State(app): State<App>, Query(query): Query<request::Query>) -> Reply {
    let page = Page::from_query(&query)?;
    // The spec's filters: `has_ecommerce_store` and `email` (lists holding that subscriber).
    let has_store = query.get("has_ecommerce_store").map(|v| v == "true");
    let member = query.get("email").map(|e| super::subscriber_hash(e));
    let state = app.lock();
    let selected = state.lists.iter().filter(|(id, list)| {
        has_store
            .is_none_or(|want| want == state.stores.values().any(|s| s.store["list_id"] == *id))
            && member
                .as_ref()
                .is_none_or(|hash| list.members.is_live(hash))
    });
    let (lists, total) = page.slice(selected.map(|(_, list)| list));
    let lists: Vec<Value> = lists.into_iter().map(render).collect();
    let count = state.lists.len();
    drop(state);
    ok(
        &query,
        json!({
            "lists": lists,
            "total_items": total,
            "constraints": { "may_create": true, "max_instances": 100, "current_total_instances": count },
            "_links": [],
        }),
    )
}

async fn post_list(
    State(app): State<App>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let name = required_str(&body, "name")?.to_owned();
    for field in ["contact", "campaign_defaults"] {
        if !body.get(field).is_some_and(Value::is_object) {
            return Err(Problem::invalid(field, "This value should not be blank."));
        }
    }
    required_str(&body, "permission_reminder")?;
    if !body.get("email_type_option").is_some_and(Value::is_boolean) {
        return Err(Problem::invalid(
            "email_type_option",
            "This value should not be blank.",
        ));
    }
    let mut state = app.lock();
    let id = format!("{:010x}", 0xa0_0000_0000_u64 + state.next_id());
    create(&mut state, &id, &name);
    let list = list_mut(&mut state, &id)?;
    let mut patch = body;
    patch.remove("id");
    if let Some(target) = list.list.as_object_mut() {
        merge(target, &patch);
    }
    let value = render(list);
    drop(state);
    ok(&query, value)
}

async fn get_list(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let value = render(list_ref(&app.lock(), &list_id)?);
    ok(&query, value)
}

async fn patch_list(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
    ObjectBody(mut patch): ObjectBody,
) -> Reply {
    patch.remove("id");
    let mut state = app.lock();
    let list = list_mut(&mut state, &list_id)?;
    if let Some(target) = list.list.as_object_mut() {
        merge(target, &patch);
    }
    let value = render(list);
    drop(state);
    ok(&query, value)
}

async fn delete_list(State(app): State<App>, Path(list_id): Path<String>) -> Reply {
    app.lock()
        .lists
        .remove(&list_id)
        .ok_or_else(Problem::not_found)?;
    no_content()
}

async fn get_merge_fields(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let state = app.lock();
    let list = list_ref(&state, &list_id)?;
    // The spec's filters: `type` and `required`.
    let kind = query.get("type");
    let required = query.get("required").map(|v| v == "true");
    let selected = list.merge_fields.values().filter(|f| {
        kind.is_none_or(|k| f["type"] == k.as_str()) && required.is_none_or(|r| f["required"] == r)
    });
    let (fields, total) = page.slice(selected);
    let fields: Vec<Value> = fields.into_iter().cloned().collect();
    drop(state);
    ok(
        &query,
        json!({ "merge_fields": fields, "list_id": list_id, "total_items": total, "_links": [] }),
    )
}

const MERGE_TYPES: [&str; 11] = [
    "text", "number", "address", "phone", "date", "url", "imageurl", "radio", "dropdown",
    "birthday", "zip",
];

async fn post_merge_field(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let name = required_str(&body, "name")?.to_owned();
    let kind = required_str(&body, "type")?.to_owned();
    if !MERGE_TYPES.contains(&kind.as_str()) {
        return Err(Problem::invalid(
            "type",
            format!("type must be one of {}", MERGE_TYPES.join(", ")),
        ));
    }
    let mut state = app.lock();
    let list = list_ref(&state, &list_id)?;
    let merge_id = list
        .merge_fields
        .values()
        .filter_map(|f| f["merge_id"].as_u64())
        .max()
        .unwrap_or(0)
        + 1;
    let tag = match request::str_field(&body, "tag")? {
        Some(tag) => tag.to_uppercase(),
        None => format!("MMERGE{merge_id}"),
    };
    if list.merge_fields.values().any(|f| f["tag"] == tag.as_str()) {
        return Err(Problem::invalid(
            "tag",
            format!("A merge field with the tag \"{tag}\" already exists for this list."),
        ));
    }
    let mut field = merge_field(&list_id, merge_id, &tag, &name, &kind, merge_id);
    let mut extra: Map<String, Value> = body;
    for key in ["merge_id", "tag", "list_id"] {
        extra.remove(key);
    }
    if let Some(target) = field.as_object_mut() {
        merge(target, &extra);
    }
    let list = list_mut(&mut state, &list_id)?;
    list.merge_fields
        .insert(merge_id.to_string(), field.clone());
    drop(state);
    ok(&query, field)
}

async fn get_merge_field(
    State(app): State<App>,
    Path((list_id, merge_id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let state = app.lock();
    let field = list_ref(&state, &list_id)?
        .merge_fields
        .get(&merge_id)
        .cloned()
        .ok_or_else(Problem::not_found)?;
    drop(state);
    ok(&query, field)
}

async fn patch_merge_field(
    State(app): State<App>,
    Path((list_id, merge_id)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    ObjectBody(mut patch): ObjectBody,
) -> Reply {
    for key in ["merge_id", "tag", "type", "list_id"] {
        patch.remove(key);
    }
    let mut state = app.lock();
    let field = list_mut(&mut state, &list_id)?
        .merge_fields
        .get_mut(&merge_id)
        .ok_or_else(Problem::not_found)?;
    if let Some(target) = field.as_object_mut() {
        merge(target, &patch);
    }
    let value = field.clone();
    drop(state);
    ok(&query, value)
}

async fn delete_merge_field(
    State(app): State<App>,
    Path((list_id, merge_id)): Path<(String, String)>,
) -> Reply {
    list_mut(&mut app.lock(), &list_id)?
        .merge_fields
        .remove(&merge_id)
        .ok_or_else(Problem::not_found)?;
    no_content()
}
