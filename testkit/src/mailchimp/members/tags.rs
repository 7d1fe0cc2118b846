//! Member tags: `GET` and `POST /lists/{list_id}/members/{subscriber_hash}/tags`.

use crate::mailchimp::lists::{list_mut, list_ref};
use axum::extract::{Path, Query, State};
use serde_json::{json, Value};

use super::{hash_of, rules::set_tag};
use crate::mailchimp::{
    problem::Problem,
    request::{self, no_content, now, ok, ObjectBody, Page, Reply},
    App,
};

pub(super) async fn get_tags(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let hash = hash_of(&segment);
    let state = app.lock();
    let list = list_ref(&state, &list_id)?;
    let member = list.members.get(&hash).ok_or_else(Problem::not_found)?;
    let tags: Vec<Value> = member["tags"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut t| {
            let name = t["name"].as_str().unwrap_or_default().to_owned();
            let added = list
                .tag_dates
                .get(&(hash.clone(), name))
                .cloned()
                .unwrap_or_default();
            t["date_added"] = json!(added);
            t
        })
        .collect();
    drop(state);
    let (tags, total) = page.slice(tags);
    ok(
        &query,
        json!({ "tags": tags, "total_items": total, "_links": [] }),
    )
}

pub(super) async fn post_tags(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let Some(Value::Array(tags)) = body.get("tags") else {
        return Err(Problem::invalid("tags", "This value should not be blank."));
    };
    let mut changes = Vec::with_capacity(tags.len());
    for tag in tags {
        let name = tag["name"]
            .as_str()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let Some(name) = name else {
            return Err(Problem::invalid(
                "tags.name",
                "This value should not be blank.",
            ));
        };
        let active = match tag["status"].as_str() {
            Some("active") => true,
            Some("inactive") => false,
            _ => {
                return Err(Problem::invalid(
                    "tags.status",
                    "status must be active or inactive",
                ))
            }
        };
        changes.push((name.to_owned(), active));
    }
    let hash = hash_of(&segment);
    let mut state = app.lock();
    let list = list_mut(&mut state, &list_id)?;
    let mut member = list.members.get(&hash).ok_or_else(Problem::not_found)?;
    for (name, active) in changes {
        set_tag(list, &mut member, &hash, &name, active);
    }
    member["last_changed"] = json!(now());
    list.members.insert(hash, member);
    drop(state);
    no_content()
}
