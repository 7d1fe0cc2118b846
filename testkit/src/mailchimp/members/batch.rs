//! Batch subscribe: `POST /lists/{list_id}` with up to 500 members and per-member errors.

use axum::extract::{Path, Query, State};
use serde_json::{json, Value};

use super::rules::{skip_merge_validation, write_member, Mode};
use crate::mailchimp::{
    problem::Problem,
    request::{self, ok, ObjectBody, Reply},
    subscriber_hash, App,
};

/// The most members one batch-subscribe call may carry.
pub(crate) const MAX_BATCH: usize = 500;

/// `POST /3.0/lists/{list_id}`: batch subscribe or update up to 500 members.
pub(crate) async fn batch_subscribe(
    State(app): State<App>,
    Path(list_id): Path<String>,
    Query(query): Query<request::Query>,
    ObjectBody(body): ObjectBody,
) -> Reply {
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
            .is_some_and(|l| l.members.is_live(&hash));
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
