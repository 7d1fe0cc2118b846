//! The rules of member writes: email validity (fake-looking addresses in [`super::fake_email`]),
//! statuses, compliance (cleaned, self-unsubscribed and forgotten members), signup throttling,
//! member-exists conflicts, merge-field values (in [`super::merge_values`]), and the member object's
//! shape.

use crate::mailchimp::lists::list_mut;
use axum::http::StatusCode;
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use super::{fake_email::looks_fake, merge_values::check_merge_fields};
use crate::mailchimp::{
    problem::Problem,
    request::{self, merge, now, str_field},
    state::{ListData, MailchimpState},
    subscriber_hash,
};

/// Statuses a `POST`, `PUT` or batch may set.
pub(crate) const WRITE_STATUSES: [&str; 5] = [
    "subscribed",
    "unsubscribed",
    "cleaned",
    "pending",
    "transactional",
];
/// Statuses a `PATCH` may set.
pub(crate) const PATCH_STATUSES: [&str; 4] = ["subscribed", "unsubscribed", "cleaned", "pending"];
/// Fields a member write may set directly (objects among them merge).
pub(crate) const WRITABLE: [&str; 10] = [
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

/// An address Mailchimp takes: well-formed and not fake-looking.
pub(crate) fn is_acceptable_email(email: &str) -> bool {
    is_valid_email(email) && !looks_fake(email)
}

pub(crate) fn invalid_email(email: &str) -> Problem {
    Problem::invalid_with_detail(
        format!("{email} looks fake or invalid, please enter a real email address."),
        "email_address",
        "This value should be a valid email.",
    )
}

pub(crate) fn compliance(email: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "Member In Compliance State",
        format!("{email} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed."),
    )
}

pub(crate) fn forgotten(email: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "Forgotten Email Not Subscribed",
        format!("{email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list."),
    )
}

/// The 400 Mailchimp gives an address that "has signed up to a lot of lists very recently".
pub(crate) fn signup_throttled(email: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "Invalid Resource",
        format!("{email} has signed up to a lot of lists very recently; we're not allowing more signups for now"),
    )
}

/// The 400 of a `PATCH` moving a member onto an address an archived member still holds.
pub(crate) fn already_in_list(email: &str, status: &str) -> Problem {
    Problem::invalid_with_detail(
        format!("\"{email}\" is already in this list with a status of \"{status}\"."),
        "email_address",
        "This email address is already in this list.",
    )
}

pub(crate) fn member_exists(email: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "Member Exists",
        format!("{email} is already a list member. Use PUT to insert or update list members."),
    )
}

pub(crate) fn short_hash(input: &str, len: usize) -> String {
    let mut hex = hex::encode(Md5::digest(input.as_bytes()));
    hex.truncate(len);
    hex
}

/// A new member as Mailchimp returns it.
pub(crate) fn new_member(
    list: &ListData,
    list_id: &str,
    email: &str,
    status: &str,
    web_id: u64,
) -> Value {
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
pub(crate) enum Mode {
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
pub(crate) fn write_member(
    state: &mut MailchimpState,
    list_id: &str,
    path_hash: Option<&str>,
    body: &Map<String, Value>,
    mode: Mode,
    skip_merge_validation: bool,
) -> Result<(Value, bool), Problem> {
    let web_id = state.next_id();
    let list = list_mut(state, list_id)?;
    let email = str_field(body, "email_address")?.map(str::trim);
    if let Some(email) = email {
        if !is_acceptable_email(email) {
            return Err(invalid_email(email));
        }
    }
    let hash = match (path_hash, email) {
        (Some(hash), Some(email)) if mode == Mode::Put && subscriber_hash(email) != hash => {
            // The body's address belongs to another member: Mailchimp answers "Member Exists".
            let held = list.members.is_live(&subscriber_hash(email));
            if held {
                return Err(member_exists(email));
            }
            return Err(Problem::invalid(
                "email_address",
                "The email address does not match the subscriber hash in the URL.",
            ));
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
        .filter(|m| m["status"] != "archived");
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
            if let Some(status) = &status {
                check_status_change(list, &hash, &member, &shown, status)?;
            }
            check_merge_fields(list, body, Some(&member), skip_merge_validation)?;
            let mut member = member;
            if let Some(status) = &status {
                note_status_change(list, &hash, &member, status);
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
            if list.signup_throttled.contains(&hash)
                && matches!(new_status.as_str(), "subscribed" | "pending")
            {
                return Err(signup_throttled(email));
            }
            // An archived member who had unsubscribed themselves is still in compliance state.
            if new_status == "subscribed" && list.self_unsubscribed.contains(&hash) {
                return Err(compliance(email));
            }
            check_merge_fields(list, body, None, skip_merge_validation)?;
            if new_status != "unsubscribed" {
                list.self_unsubscribed.remove(&hash);
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

pub(crate) fn set_status(member: &mut Value, status: &str) {
    if member["status"] != status {
        member["status"] = json!(status);
        if status == "subscribed" {
            member["timestamp_opt"] = json!(now());
        }
    }
}

/// Refuses the status changes Mailchimp refuses: subscribing (or re-confirming) a cleaned member,
/// subscribing one who unsubscribed themselves, and any signup of a throttled address.
fn check_status_change(
    list: &ListData,
    hash: &str,
    member: &Value,
    shown: &str,
    status: &str,
) -> Result<(), Problem> {
    let signup = matches!(status, "subscribed" | "pending");
    let current = member["status"].as_str().unwrap_or_default();
    if current == "cleaned" && signup {
        return Err(compliance(shown));
    }
    if current == "unsubscribed" && status == "subscribed" && list.self_unsubscribed.contains(hash)
    {
        return Err(compliance(shown));
    }
    if signup && current != status && list.signup_throttled.contains(hash) {
        return Err(signup_throttled(shown));
    }
    Ok(())
}

/// Keeps the record of who unsubscribed whom: an unsubscribe through the API can be undone by the
/// API; a new subscription ends either kind.
fn note_status_change(list: &mut ListData, hash: &str, member: &Value, status: &str) {
    if member["status"] == status {
        return;
    }
    match status {
        "unsubscribed" | "subscribed" | "pending" => {
            list.self_unsubscribed.remove(hash);
        }
        _ => {}
    }
}

pub(crate) fn apply_fields(member: &mut Value, body: &Map<String, Value>) {
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

pub(crate) fn set_tag(
    list: &mut ListData,
    member: &mut Value,
    hash: &str,
    name: &str,
    active: bool,
) {
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

pub(crate) fn skip_merge_validation(query: &request::Query) -> bool {
    query
        .get("skip_merge_validation")
        .is_some_and(|v| v == "true")
}

/// Sets a member's status directly, for seeding (no compliance rules).
pub(crate) fn seed(
    state: &mut MailchimpState,
    list_id: &str,
    email: &str,
    status: &str,
) -> Result<(), String> {
    if !super::stored::STATUSES.contains(&status) {
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
    // A seeded unsubscribe stands for the member's own (the link in a campaign), which Mailchimp
    // never lets the API undo.
    if status == "unsubscribed" {
        list.self_unsubscribed.insert(hash.clone());
    } else {
        list.self_unsubscribed.remove(&hash);
    }
    let mut member = match list.members.get(&hash) {
        Some(member) => member,
        None => new_member(list, list_id, email, status, web_id),
    };
    member["status"] = json!(status);
    member["last_changed"] = json!(now());
    list.members.insert(hash, member);
    Ok(())
}

/// What an e-commerce customer write does to the audience: a new email becomes a member (`subscribed`
/// when opted in, else `transactional`); an existing `transactional` or `pending` member is upgraded
/// to `subscribed` when the customer is written with `opt_in_status: true` ("Updating opt_in_status
/// from false to true will update the member's subscription status to subscribed", Mailchimp's
/// e-commerce concepts); other members are never changed.
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
    if list.forgotten.contains(&hash) {
        return;
    }
    if list.members.is_live(&hash) {
        if opted_in
            && (list.members.has_status(&hash, "transactional")
                || list.members.has_status(&hash, "pending"))
        {
            list.members.update(&hash, |member| {
                set_status(member, "subscribed");
                member["last_changed"] = json!(now());
            });
        }
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
            "first.last+tag@sub.northwind-mfg.com",
            " padded@northwind-mfg.com ",
        ] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "",
            "plain",
            "a@b",
            "@northwind-mfg.com",
            "a b@northwind-mfg.com",
            "a@@northwind-mfg.com",
            "a@example..com",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }
}
