//! List members: single writes, archive, permanent delete and member lists. The rules live in
//! [`rules`], batch subscribe in [`batch`], tags in [`tags`].

mod batch;
mod fake_email;
mod merge_values;
mod rules;
mod stored;
mod tags;

use super::lists::{list_mut, list_ref};
use axum::{
    extract::{Path, Query, State},
    routing::{get, post},
    Router,
};
use chrono::DateTime;
use serde_json::{json, Map, Value};

pub(crate) use batch::batch_subscribe;
pub(crate) use rules::{add_customer_member, invalid_email, is_acceptable_email, seed};
use stored::ChangedBound;
pub(crate) use stored::Members;

use super::{
    problem::Problem,
    request::{self, no_content, now, ok, str_field, ObjectBody, Page, Reply},
    subscriber_hash, App,
};
use rules::{already_in_list, member_exists, skip_merge_validation, write_member, Mode};
use tags::{get_tags, post_tags};

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route(
            "/3.0/lists/{list_id}/members",
            get(list_members).post(post_member),
        )
        .route(
            "/3.0/lists/{list_id}/members/{subscriber_hash}",
            get(get_member)
                .put(put_member)
                .patch(patch_member)
                .delete(archive_member),
        )
        .route(
            "/3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent",
            post(delete_permanent),
        )
        .route(
            "/3.0/lists/{list_id}/members/{subscriber_hash}/tags",
            get(get_tags).post(post_tags),
        )
}

/// The path segment may be a subscriber hash or an email address, as Mailchimp allows.
pub(super) fn hash_of(segment: &str) -> String {
    if segment.contains('@') {
        subscriber_hash(segment)
    } else {
        segment.to_lowercase()
    }
}

async fn post_member(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    write_and_answer(&app, &list_id, None, &body, Mode::Post, &query)
}

async fn put_member(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
    let hash = hash_of(&segment);
    write_and_answer(&app, &list_id, Some(&hash), &body, Mode::Put, &query)
}

/// Writes one member (`POST` or `PUT`; the query may skip merge-field validation) and answers with it.
fn write_and_answer(
    app: &App,
    list_id: &str,
    hash: Option<&str>,
    body: &Map<String, Value>,
    mode: Mode,
    query: &request::Query,
) -> Reply {
    let (member, _) = write_member(
        &mut app.lock(),
        list_id,
        hash,
        body,
        mode,
        skip_merge_validation(query),
    )?;
    ok(query, member)
}

async fn patch_member(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    ObjectBody(mut body): ObjectBody,
) -> Reply {
    let mut hash = hash_of(&segment);
    let mut state = app.lock();
    // A new email address moves the member to the new hash.
    if let Some(new_email) = str_field(&body, "email_address")?.map(|e| e.trim().to_owned()) {
        let new_hash = subscriber_hash(&new_email);
        if new_hash != hash {
            if !is_acceptable_email(&new_email) {
                return Err(invalid_email(&new_email));
            }
            let list = list_mut(&mut state, &list_id)?;
            // Mailchimp keeps an archived member's address: moving onto it is refused too.
            if list.members.has_status(&new_hash, "archived") {
                return Err(already_in_list(&new_email, "archived"));
            }
            if list.members.contains(&new_hash) {
                return Err(member_exists(&new_email));
            }
            let mut member = list
                .members
                .get(&hash)
                .filter(|m| m["status"] != "archived")
                .ok_or_else(Problem::not_found)?;
            list.members.remove(&hash);
            member["id"] = json!(new_hash);
            member["email_address"] = json!(new_email);
            list.members.insert(new_hash.clone(), member);
            hash = new_hash;
        }
        body.remove("email_address");
    }
    let skip = skip_merge_validation(&query);
    let (member, _) = write_member(&mut state, &list_id, Some(&hash), &body, Mode::Patch, skip)?;
    drop(state);
    ok(&query, member)
}

async fn get_member(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let member = list_ref(&app.lock(), &list_id)?
        .members
        .get(&hash_of(&segment))
        .ok_or_else(Problem::not_found)?;
    ok(&query, member)
}

async fn archive_member(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
) -> Reply {
    let hash = hash_of(&segment);
    let mut state = app.lock();
    let members = &mut list_mut(&mut state, &list_id)?.members;
    if !members.is_live(&hash) {
        return Err(Problem::not_found());
    }
    members.update(&hash, |member| {
        member["status"] = json!("archived");
        member["last_changed"] = json!(now());
    });
    drop(state);
    no_content()
}

async fn delete_permanent(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
) -> Reply {
    let hash = hash_of(&segment);
    let mut state = app.lock();
    let list = list_mut(&mut state, &list_id)?;
    list.members.remove(&hash).ok_or_else(Problem::not_found)?;
    list.forgotten.insert(hash);
    drop(state);
    no_content()
}

fn parse_time(raw: &str) -> Option<DateTime<chrono::FixedOffset>> {
    DateTime::parse_from_rfc3339(raw.trim()).ok()
}

async fn list_members(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let mut changed_bounds = Vec::new();
    let mut opt_bounds = Vec::new();
    for (param, field, after) in [
        ("since_last_changed", "last_changed", true),
        ("before_last_changed", "last_changed", false),
        ("since_timestamp_opt", "timestamp_opt", true),
        ("before_timestamp_opt", "timestamp_opt", false),
    ] {
        if let Some(raw) = query.get(param) {
            let at = parse_time(raw).ok_or_else(|| {
                Problem::invalid(
                    param,
                    format!("{param} must be an ISO 8601 time, got {raw:?}"),
                )
            })?;
            if field == "last_changed" {
                changed_bounds.push(ChangedBound { at, after });
            } else {
                opt_bounds.push((field, at, after));
            }
        }
    }
    let sort_field = query.get("sort_field");
    if let Some(field) = sort_field {
        if !["timestamp_opt", "timestamp_signup", "last_changed"].contains(&field.as_str()) {
            return Err(Problem::invalid(
                "sort_field",
                format!("cannot sort by {field}"),
            ));
        }
    }
    let status = query.get("status").cloned();
    let email_type = query.get("email_type").cloned();
    let vip_only = query.get("vip_only").is_some_and(|v| v == "true");
    type Bound<'a> = (&'a str, DateTime<chrono::FixedOffset>, bool);
    let within = |m: &Value, bounds: &[Bound<'_>]| {
        bounds.iter().all(|&(field, at, after)| {
            m[field].as_str().and_then(parse_time).is_some_and(|t| {
                if after {
                    t >= at
                } else {
                    t <= at
                }
            })
        })
    };
    // Filters that need the member itself; the status and indexed `last_changed` bounds do not.
    let decoded_filter = |m: &Value| {
        email_type
            .as_ref()
            .is_none_or(|t| m["email_type"] == t.as_str())
            && (!vip_only || m["vip"] == true)
            && within(m, &opt_bounds)
    };
    let changed_as_bounds: Vec<Bound<'_>> = changed_bounds
        .iter()
        .map(|b| ("last_changed", b.at, b.after))
        .collect();
    let needs_decoding = email_type.is_some() || vip_only || !opt_bounds.is_empty();
    let state = app.lock();
    let members = &list_ref(&state, &list_id)?.members;
    // Positions are in insertion order; only the page's members are decoded when no filter or
    // sort needs the others.
    let mut selected = members
        .candidates(&changed_bounds)
        .into_iter()
        .filter_map(|at| members.at(at))
        .filter(|m| m.status_matches(status.as_deref()))
        .filter_map(|m| {
            let odd = !m.indexed() && !changed_bounds.is_empty();
            if !(odd || needs_decoding || sort_field.is_some()) {
                return Some((m, None));
            }
            let value = m.value();
            let keep = decoded_filter(&value) && (!odd || within(&value, &changed_as_bounds));
            keep.then_some((m, Some(value)))
        })
        .collect::<Vec<_>>();
    if let Some(field) = sort_field {
        let descending = query
            .get("sort_dir")
            .is_some_and(|d| d.eq_ignore_ascii_case("DESC"));
        let key = |m: &(_, Option<Value>)| {
            m.1.as_ref()
                .and_then(|v| v[field.as_str()].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        // Stable sorts keep insertion order among equal times, in either direction.
        if descending {
            selected.sort_by_cached_key(|m| std::cmp::Reverse(key(m)));
        } else {
            selected.sort_by_cached_key(key);
        }
    }
    let (page, total) = page.slice(selected);
    let members: Vec<Value> = page
        .into_iter()
        .map(|(m, value)| value.unwrap_or_else(|| m.value()))
        .collect();
    drop(state);
    ok(
        &query,
        json!({ "members": members, "list_id": list_id, "total_items": total, "_links": [] }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segment_may_be_an_email() {
        assert_eq!(
            hash_of("A@Northwind-mfg.com"),
            subscriber_hash("a@northwind-mfg.com")
        );
        assert_eq!(hash_of("ABCDEF"), "abcdef");
    }
}
