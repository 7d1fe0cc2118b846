//! List members: single writes, batch subscribe, archive, permanent delete and tags, with Mailchimp's
//! compliance rules.

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::{get, post},
    Router,
};
use chrono::DateTime;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use super::{
    problem::Problem,
    request::{self, merge, no_content, now, ok, parse_object, str_field, Page, Reply},
    state::{ListData, MailchimpState},
    subscriber_hash, App,
};

/// The most members one batch-subscribe call may carry.
pub(crate) const MAX_BATCH: usize = 500;

/// Statuses a `POST`, `PUT` or batch may set.
const WRITE_STATUSES: [&str; 5] = [
    "subscribed",
    "unsubscribed",
    "cleaned",
    "pending",
    "transactional",
];
/// Statuses a `PATCH` may set.
const PATCH_STATUSES: [&str; 4] = ["subscribed", "unsubscribed", "cleaned", "pending"];
/// Fields a member write may set directly (objects among them merge).
const WRITABLE: [&str; 10] = [
    "email_type",
    "merge_fields",
    "interests",
    "language",
    "vip",
    "location",
    "ip_signup",
    "timestamp_signup",
    "ip_opt",
    "timestamp_opt",
];

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
fn hash_of(segment: &str) -> String {
    if segment.contains('@') {
        subscriber_hash(segment)
    } else {
        segment.to_lowercase()
    }
}

/// A plausible email: one `@`, a non-empty local part, a dotted domain, no spaces.
pub(crate) fn is_valid_email(email: &str) -> bool {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
        && domain.contains('.')
}

fn invalid_email(email: &str) -> Problem {
    Problem::invalid_with_detail(
        format!("{email} looks fake or invalid, please enter a real email address."),
        "email_address",
        "This value should be a valid email.",
    )
}

fn compliance(email: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "Member In Compliance State",
        format!("{email} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed."),
    )
}

fn forgotten(email: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "Forgotten Email Not Subscribed",
        format!("{email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list."),
    )
}

fn member_exists(email: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "Member Exists",
        format!("{email} is already a list member. Use PUT to insert or update list members."),
    )
}

fn short_hash(input: &str, len: usize) -> String {
    let mut hex = hex::encode(Md5::digest(input.as_bytes()));
    hex.truncate(len);
    hex
}

/// A new member as Mailchimp returns it.
fn new_member(list: &ListData, list_id: &str, email: &str, status: &str, web_id: u64) -> Value {
    let hash = subscriber_hash(email);
    let merge_fields: Map<String, Value> = list
        .merge_fields
        .values()
        .filter_map(|f| f["tag"].as_str())
        .map(|tag| (tag.to_owned(), Value::String(String::new())))
        .collect();
    let changed = now();
    json!({
        "id": hash,
        "email_address": email.trim(),
        "unique_email_id": short_hash(&format!("{list_id}/{hash}"), 10),
        "contact_id": short_hash(&format!("contact/{hash}"), 32),
        "full_name": "",
        "web_id": web_id,
        "email_type": "html",
        "status": status,
        "consents_to_one_to_one_messaging": true,
        "merge_fields": merge_fields,
        "interests": {},
        "stats": { "avg_open_rate": 0.0, "avg_click_rate": 0.0 },
        "ip_signup": "",
        "timestamp_signup": "",
        "ip_opt": "",
        "timestamp_opt": if status == "subscribed" { changed.clone() } else { String::new() },
        "member_rating": 2,
        "last_changed": changed,
        "language": "",
        "vip": false,
        "email_client": "",
        "location": {
            "latitude": 0.0, "longitude": 0.0, "gmtoff": 0, "dstoff": 0,
            "country_code": "", "timezone": "", "region": ""
        },
        "marketing_permissions": [],
        "source": "API - Generic",
        "tags_count": 0,
        "tags": [],
        "list_id": list_id,
        "_links": [],
    })
}

/// Which operation a member write is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `POST /members`: create only.
    Post,
    /// `PUT /members/{hash}`: upsert; `status_if_new` for new members.
    Put,
    /// `PATCH /members/{hash}`: update only.
    Patch,
    /// One member of a batch subscribe with `update_existing: true`.
    Batch,
}

/// Applies one member write to `list`, enforcing Mailchimp's rules. Returns the member and whether it
/// was created.
fn write_member(
    state: &mut MailchimpState,
    list_id: &str,
    path_hash: Option<&str>,
    body: &Map<String, Value>,
    mode: Mode,
    skip_merge_validation: bool,
) -> Result<(Value, bool), Problem> {
    let web_id = state.next_id();
    let list = state
        .lists
        .get_mut(list_id)
        .ok_or_else(Problem::not_found)?;
    let email = str_field(body, "email_address")?.map(str::trim);
    if let Some(email) = email {
        if !is_valid_email(email) {
            return Err(invalid_email(email));
        }
    }
    let hash = match (path_hash, email) {
        (Some(hash), Some(email)) if mode == Mode::Put && subscriber_hash(email) != hash => {
            return Err(Problem::invalid(
                "email_address",
                "The email address does not match the subscriber hash in the URL.",
            ))
        }
        (Some(hash), _) => hash.to_owned(),
        (None, Some(email)) => subscriber_hash(email),
        (None, None) => {
            return Err(Problem::invalid(
                "email_address",
                "This value should not be blank.",
            ))
        }
    };
    let allowed: &[&str] = if mode == Mode::Patch {
        &PATCH_STATUSES
    } else {
        &WRITE_STATUSES
    };
    let status_field = |field: &str| -> Result<Option<String>, Problem> {
        match str_field(body, field)? {
            None => Ok(None),
            Some(s) if allowed.contains(&s) => Ok(Some(s.to_owned())),
            Some(s) => Err(Problem::invalid(
                field,
                format!(
                    "{s} is not a valid status; use one of {}",
                    allowed.join(", ")
                ),
            )),
        }
    };
    let status = status_field("status")?;
    let status_if_new = if mode == Mode::Put {
        status_field("status_if_new")?
    } else {
        None
    };

    let existing = list
        .members
        .get(&hash)
        .filter(|m| m["status"] != "archived")
        .cloned();
    let created = existing.is_none();
    let mut member = match existing {
        Some(member) => {
            let shown = member["email_address"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if mode == Mode::Post {
                return Err(member_exists(&shown));
            }
            if member["status"] == "cleaned"
                && matches!(status.as_deref(), Some("subscribed" | "pending"))
            {
                return Err(compliance(&shown));
            }
            let mut member = member;
            if let Some(status) = &status {
                set_status(&mut member, status);
            }
            member
        }
        None => {
            if mode == Mode::Patch {
                return Err(Problem::not_found());
            }
            let Some(email) = email else {
                return Err(Problem::invalid(
                    "email_address",
                    "This value should not be blank.",
                ));
            };
            if list.forgotten.contains(&hash) {
                return Err(forgotten(email));
            }
            let new_status = match mode {
                Mode::Put => status_if_new.or(status),
                _ => status,
            };
            let Some(new_status) = new_status else {
                let field = if mode == Mode::Put {
                    "status_if_new"
                } else {
                    "status"
                };
                return Err(Problem::invalid(field, "This value should not be blank."));
            };
            if !skip_merge_validation {
                check_required_merge_fields(list, body)?;
            }
            // An archived member comes back with its ids.
            let mut member = new_member(list, list_id, email, &new_status, web_id);
            if let Some(archived) = list.members.get(&hash) {
                for key in [
                    "unique_email_id",
                    "contact_id",
                    "web_id",
                    "tags",
                    "tags_count",
                ] {
                    member[key] = archived[key].clone();
                }
            }
            member
        }
    };
    apply_fields(&mut member, body);
    if mode == Mode::Post {
        if let Some(Value::Array(tags)) = body.get("tags") {
            let names: Vec<String> = tags
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
            for name in names {
                set_tag(list, &mut member, &hash, &name, true);
            }
        }
    }
    list.members.insert(hash, member.clone());
    Ok((member, created))
}

fn set_status(member: &mut Value, status: &str) {
    if member["status"] != status {
        member["status"] = json!(status);
        if status == "subscribed" {
            member["timestamp_opt"] = json!(now());
        }
    }
}

fn check_required_merge_fields(list: &ListData, body: &Map<String, Value>) -> Result<(), Problem> {
    for field in list.merge_fields.values().filter(|f| f["required"] == true) {
        let tag = field["tag"].as_str().unwrap_or_default();
        let given = body
            .get("merge_fields")
            .and_then(|m| m.get(tag))
            .is_some_and(|v| !(v.is_null() || v == ""));
        if !given {
            return Err(Problem::invalid(
                &format!("merge_fields.{tag}"),
                "Please enter a value",
            ));
        }
    }
    Ok(())
}

fn apply_fields(member: &mut Value, body: &Map<String, Value>) {
    let patch: Map<String, Value> = body
        .iter()
        .filter(|(k, _)| WRITABLE.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(target) = member.as_object_mut() {
        merge(target, &patch);
    }
    let name = |tag: &str| {
        member["merge_fields"][tag]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let full_name = format!("{} {}", name("FNAME"), name("LNAME"))
        .trim()
        .to_owned();
    member["full_name"] = json!(full_name);
    member["last_changed"] = json!(now());
}

fn set_tag(list: &mut ListData, member: &mut Value, hash: &str, name: &str, active: bool) {
    let key = (hash.to_owned(), name.to_owned());
    let mut tags: Vec<Value> = member["tags"].as_array().cloned().unwrap_or_default();
    tags.retain(|t| t["name"] != name);
    if active {
        let id = match list.tags.get(name) {
            Some(id) => *id,
            None => {
                let id = list.tags.len() as u64 + 1;
                list.tags.insert(name.to_owned(), id);
                id
            }
        };
        tags.push(json!({ "id": id, "name": name }));
        list.tag_dates.entry(key).or_insert_with(now);
    } else {
        list.tag_dates.remove(&key);
    }
    member["tags_count"] = json!(tags.len());
    member["tags"] = Value::Array(tags);
}

fn skip_merge_validation(query: &request::Query) -> bool {
    query
        .get("skip_merge_validation")
        .is_some_and(|v| v == "true")
}

async fn post_member(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let (member, _) = {
        let mut state = app.lock();
        write_member(
            &mut state,
            &list_id,
            None,
            &body,
            Mode::Post,
            skip_merge_validation(&query),
        )?
    };
    ok(&query, member)
}

async fn put_member(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let hash = hash_of(&segment);
    let (member, _) = {
        let mut state = app.lock();
        write_member(
            &mut state,
            &list_id,
            Some(&hash),
            &body,
            Mode::Put,
            skip_merge_validation(&query),
        )?
    };
    ok(&query, member)
}

async fn patch_member(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let mut body = parse_object(&body)?;
    let mut hash = hash_of(&segment);
    let mut state = app.lock();
    // A new email address moves the member to the new hash.
    if let Some(new_email) = str_field(&body, "email_address")?.map(|e| e.trim().to_owned()) {
        let new_hash = subscriber_hash(&new_email);
        if new_hash != hash {
            if !is_valid_email(&new_email) {
                return Err(invalid_email(&new_email));
            }
            let list = state
                .lists
                .get_mut(&list_id)
                .ok_or_else(Problem::not_found)?;
            if list
                .members
                .get(&new_hash)
                .is_some_and(|m| m["status"] != "archived")
            {
                return Err(member_exists(&new_email));
            }
            let mut member = list
                .members
                .get(&hash)
                .filter(|m| m["status"] != "archived")
                .cloned()
                .ok_or_else(Problem::not_found)?;
            list.members.remove(&hash);
            member["id"] = json!(new_hash);
            member["email_address"] = json!(new_email);
            list.members.insert(new_hash.clone(), member);
            hash = new_hash;
        }
        body.remove("email_address");
    }
    let (member, _) = write_member(&mut state, &list_id, Some(&hash), &body, Mode::Patch, true)?;
    drop(state);
    ok(&query, member)
}

async fn get_member(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let member = app
        .lock()
        .lists
        .get(&list_id)
        .and_then(|l| l.members.get(&hash_of(&segment)))
        .cloned()
        .ok_or_else(Problem::not_found)?;
    ok(&query, member)
}

async fn archive_member(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
) -> Reply {
    let mut state = app.lock();
    let member = state
        .lists
        .get_mut(&list_id)
        .and_then(|l| l.members.get_mut(&hash_of(&segment)))
        .filter(|m| m["status"] != "archived")
        .ok_or_else(Problem::not_found)?;
    member["status"] = json!("archived");
    member["last_changed"] = json!(now());
    drop(state);
    no_content()
}

async fn delete_permanent(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
) -> Reply {
    let hash = hash_of(&segment);
    let mut state = app.lock();
    let list = state
        .lists
        .get_mut(&list_id)
        .ok_or_else(Problem::not_found)?;
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
    let mut bounds = Vec::new();
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
            bounds.push((field, at, after));
        }
    }
    let status = query.get("status").cloned();
    let email_type = query.get("email_type").cloned();
    let vip_only = query.get("vip_only").is_some_and(|v| v == "true");
    let state = app.lock();
    let list = state.lists.get(&list_id).ok_or_else(Problem::not_found)?;
    let mut members: Vec<&Value> = list
        .members
        .values()
        .filter(|m| match &status {
            Some(status) => m["status"] == status.as_str(),
            None => m["status"] != "archived",
        })
        .filter(|m| {
            email_type
                .as_ref()
                .is_none_or(|t| m["email_type"] == t.as_str())
        })
        .filter(|m| !vip_only || m["vip"] == true)
        .filter(|m| {
            bounds.iter().all(|(field, at, after)| {
                m[*field].as_str().and_then(parse_time).is_some_and(|t| {
                    if *after {
                        t >= *at
                    } else {
                        t <= *at
                    }
                })
            })
        })
        .collect();
    if let Some(field) = query.get("sort_field") {
        if !["timestamp_opt", "timestamp_signup", "last_changed"].contains(&field.as_str()) {
            return Err(Problem::invalid(
                "sort_field",
                format!("cannot sort by {field}"),
            ));
        }
        let descending = query
            .get("sort_dir")
            .is_some_and(|d| d.eq_ignore_ascii_case("DESC"));
        let key = |m: &&Value| m[field.as_str()].as_str().unwrap_or_default().to_owned();
        // Stable sorts keep insertion order among equal times, in either direction.
        if descending {
            members.sort_by_cached_key(|m| std::cmp::Reverse(key(m)));
        } else {
            members.sort_by_cached_key(key);
        }
    }
    let (members, total) = page.slice(members);
    let members: Vec<Value> = members.into_iter().cloned().collect();
    drop(state);
    ok(
        &query,
        json!({ "members": members, "list_id": list_id, "total_items": total, "_links": [] }),
    )
}

async fn get_tags(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
    Query(query): Query<request::Query>,
) -> Reply {
    let page = Page::from_query(&query)?;
    let hash = hash_of(&segment);
    let state = app.lock();
    let list = state.lists.get(&list_id).ok_or_else(Problem::not_found)?;
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

async fn post_tags(
    State(app): State<App>,
    Path((list_id, segment)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
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
    let list = state
        .lists
        .get_mut(&list_id)
        .ok_or_else(Problem::not_found)?;
    let mut member = list
        .members
        .get(&hash)
        .cloned()
        .ok_or_else(Problem::not_found)?;
    for (name, active) in changes {
        set_tag(list, &mut member, &hash, &name, active);
    }
    member["last_changed"] = json!(now());
    list.members.insert(hash, member);
    drop(state);
    no_content()
}

/// `POST /3.0/lists/{list_id}`: batch subscribe or update up to 500 members.
pub(crate) async fn batch_subscribe(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
    body: Bytes,
) -> Reply {
    let body = parse_object(&body)?;
    let Some(Value::Array(members)) = body.get("members") else {
        return Err(Problem::invalid(
            "members",
            "This value should not be blank.",
        ));
    };
    if members.len() > MAX_BATCH {
        return Err(Problem::invalid_with_detail(
            format!(
                "You can add or update at most {MAX_BATCH} members per call; this call has {}.",
                members.len()
            ),
            "members",
            format!("This collection should contain {MAX_BATCH} elements or less."),
        ));
    }
    let update_existing = body.get("update_existing") == Some(&Value::Bool(true));
    let skip = skip_merge_validation(&query);
    let mut new_members = Vec::new();
    let mut updated_members = Vec::new();
    let mut errors = Vec::new();
    let mut state = app.lock();
    if !state.lists.contains(&list_id) {
        return Err(Problem::not_found());
    }
    for member in members {
        let Value::Object(member) = member else {
            errors.push(batch_error(
                "",
                "each member must be a JSON object",
                "ERROR_GENERIC",
                "",
                "",
            ));
            continue;
        };
        let email = member["email_address"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let hash = subscriber_hash(&email);
        let exists = state
            .lists
            .get(&list_id)
            .and_then(|l| l.members.get(&hash))
            .is_some_and(|m| m["status"] != "archived");
        if exists && !update_existing && !email.is_empty() {
            errors.push(batch_error(
                &email,
                &format!("{email} is already a list member, do you want to update? please provide update_existing:true in the request body"),
                "ERROR_CONTACT_EXISTS",
                "",
                "",
            ));
            continue;
        }
        match write_member(&mut state, &list_id, None, member, Mode::Batch, skip) {
            Ok((value, true)) => new_members.push(value),
            Ok((value, false)) => updated_members.push(value),
            Err(problem) => {
                let (field, message) = problem.field_error().unwrap_or_default();
                errors.push(batch_error(
                    &email,
                    problem.detail(),
                    "ERROR_GENERIC",
                    &field,
                    &message,
                ));
            }
        }
    }
    drop(state);
    ok(
        &query,
        json!({
            "total_created": new_members.len(),
            "total_updated": updated_members.len(),
            "error_count": errors.len(),
            "new_members": new_members,
            "updated_members": updated_members,
            "errors": errors,
            "_links": [],
        }),
    )
}

fn batch_error(email: &str, error: &str, code: &str, field: &str, field_message: &str) -> Value {
    json!({
        "email_address": email,
        "error": error,
        "error_code": code,
        "field": field,
        "field_message": field_message,
    })
}

/// Sets a member's status directly, for seeding (no compliance rules).
pub(crate) fn seed(
    state: &mut MailchimpState,
    list_id: &str,
    email: &str,
    status: &str,
) -> Result<(), String> {
    const SEED_STATUSES: [&str; 6] = [
        "subscribed",
        "unsubscribed",
        "cleaned",
        "pending",
        "transactional",
        "archived",
    ];
    if !SEED_STATUSES.contains(&status) {
        return Err(format!("unknown member status {status:?}"));
    }
    if !is_valid_email(email) {
        return Err(format!("invalid email {email:?}"));
    }
    let web_id = state.next_id();
    let list = state
        .lists
        .get_mut(list_id)
        .ok_or_else(|| format!("no list {list_id}"))?;
    let hash = subscriber_hash(email);
    list.forgotten.remove(&hash);
    let mut member = match list.members.get(&hash) {
        Some(member) => member.clone(),
        None => new_member(list, list_id, email, status, web_id),
    };
    member["status"] = json!(status);
    member["last_changed"] = json!(now());
    list.members.insert(hash, member);
    Ok(())
}

/// What an e-commerce customer write does to the audience: a new email becomes a member (`subscribed`
/// when opted in, else `transactional`); existing members are never changed.
pub(crate) fn add_customer_member(
    state: &mut MailchimpState,
    list_id: &str,
    email: &str,
    opted_in: bool,
    first_name: &str,
    last_name: &str,
) {
    let web_id = state.next_id();
    let Some(list) = state.lists.get_mut(list_id) else {
        return;
    };
    let hash = subscriber_hash(email);
    if list.forgotten.contains(&hash)
        || list
            .members
            .get(&hash)
            .is_some_and(|m| m["status"] != "archived")
    {
        return;
    }
    let status = if opted_in {
        "subscribed"
    } else {
        "transactional"
    };
    let mut member = new_member(list, list_id, email, status, web_id);
    member["merge_fields"]["FNAME"] = json!(first_name);
    member["merge_fields"]["LNAME"] = json!(last_name);
    member["full_name"] = json!(format!("{first_name} {last_name}").trim());
    member["source"] = json!("E-Commerce");
    list.members.insert(hash, member);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_validation_accepts_real_shapes_and_rejects_fakes() {
        for good in [
            "a@b.co",
            "first.last+tag@sub.example.com",
            " padded@example.com ",
        ] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "",
            "plain",
            "a@b",
            "@example.com",
            "a b@example.com",
            "a@@example.com",
            "a@example..com",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn path_segment_may_be_an_email() {
        assert_eq!(hash_of("A@Example.com"), subscriber_hash("a@example.com"));
        assert_eq!(hash_of("ABCDEF"), "abcdef");
    }
}
