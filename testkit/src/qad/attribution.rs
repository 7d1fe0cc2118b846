//! The keyed custom entities: attribution records keyed by order id and consent records keyed
//! by customer code, custom business documents a tenant adds, with the same write rules.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::quirks::{DuplicateQuirk, EntityQuirk};
use super::respond::{bad_request, bare_errors, field_error, submit_result};
use super::state::{Live, Shared, Tenant};

/// `code` of the duplicate-key error, as QAD reports a duplicate sales order.
pub(crate) const DUPLICATE: &str = "2041";
/// The fake's own codes (QAD's are not public).
pub(crate) const MANDATORY: &str = "1001";
pub(crate) const MISSING: &str = "1002";
pub(crate) const BAD_OPERATION: &str = "1003";

/// Which keyed entity a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyed {
    /// Order attribution (`attribution_path`, keyed by `attribution_key`).
    Attribution,
    /// Marketing consent ([`CONSENT_PATH`], keyed by [`CONSENT_KEY`]).
    Consent,
}

/// The consent entity's path under the context root.
pub(crate) const CONSENT_PATH: &str = "api/bdoc/mlconnector/consent/MarketingConsent";
/// The consent entity's key field.
pub(crate) const CONSENT_KEY: &str = "customerCode";

impl Keyed {
    fn key_field(self, tenant: &Tenant) -> &str {
        match self {
            Self::Attribution => &tenant.attribution_key,
            Self::Consent => CONSENT_KEY,
        }
    }

    fn entity(self, tenant: &Tenant) -> &str {
        match self {
            Self::Attribution => tenant.attribution_entity(),
            Self::Consent => "MarketingConsent",
        }
    }

    fn records(self, live: &Live) -> &Vec<(String, Value)> {
        match self {
            Self::Attribution => &live.attributions,
            Self::Consent => &live.consents,
        }
    }

    fn records_mut(self, live: &mut Live) -> &mut Vec<(String, Value)> {
        match self {
            Self::Attribution => &mut live.attributions,
            Self::Consent => &mut live.consents,
        }
    }

    fn index(self, live: &Live, key: &str) -> Option<usize> {
        self.records(live).iter().position(|(k, _)| k == key)
    }
}

/// The record's key as text (numbers are accepted and compared as their decimal form).
fn key_of(record: &Value, field: &str) -> Option<String> {
    match record.get(field)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Operation {
    Create,
    Update,
}

/// One checked record, ready to apply.
struct Change {
    key: String,
    record: Value,
    operation: Operation,
}

/// Checks one record against the stored ones and the earlier records of the same batch.
fn check(
    tenant: &Tenant,
    live: &Live,
    keyed: Keyed,
    batch_keys: &mut HashSet<String>,
    mut record: Value,
) -> Result<Change, Value> {
    let key_field = keyed.key_field(tenant);
    let Some(key) = key_of(&record, key_field) else {
        return Err(field_error(key_field, "Field is mandatory", MANDATORY, ""));
    };
    let operation = match record
        .as_object_mut()
        .and_then(|m| m.remove("dataOperation"))
    {
        None => Operation::Create,
        Some(Value::String(op)) if op.is_empty() || op == "C" => Operation::Create,
        Some(Value::String(op)) if op == "U" => Operation::Update,
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_owned);
            return Err(field_error(
                "dataOperation",
                &format!("Unsupported dataOperation {shown}, expected C or U"),
                BAD_OPERATION,
                &shown,
            ));
        }
    };
    let entity = keyed.entity(tenant);
    let exists = keyed.index(live, &key).is_some();
    let repeated = !batch_keys.insert(key.clone());
    match operation {
        Operation::Create
            if (exists || repeated) && tenant.quirks.duplicate != DuplicateQuirk::Creates =>
        {
            Err(field_error(
                key_field,
                &format!("{entity} with {key_field} {key} already exists"),
                DUPLICATE,
                &key,
            ))
        }
        Operation::Update if !exists => Err(field_error(
            key_field,
            &format!("{entity} with {key_field} {key} does not exist"),
            MISSING,
            &key,
        )),
        _ => Ok(Change {
            key,
            record,
            operation,
        }),
    }
}

/// `POST {root}/<attribution path>`: a JSON array of records. All or nothing:
/// any rejected record leaves the store unchanged and answers HTTP 200 with
/// `submitResult.success=false`. Creates answer 201, pure updates 200.
pub(crate) async fn post(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    post_to(&shared, Keyed::Attribution, &body)
}

/// `POST {root}/<consent path>`: as [`post`], for consent records.
pub(crate) async fn post_consent(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    post_to(&shared, Keyed::Consent, &body)
}

/// `GET {root}/<consent path>[?customerCode=…]`: as [`list`], for consent records.
pub(crate) async fn list_consent(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    list_of(&shared, Keyed::Consent, &query)
}

fn post_to(shared: &Shared, keyed: Keyed, body: &Bytes) -> Response {
    let records = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(records)) if records.iter().all(Value::is_object) => records,
        _ => return bad_request("Request body must be a JSON array of objects", ""),
    };
    let tenant = &shared.tenant;
    let mut live = shared.live();
    let mut batch_keys = HashSet::new();
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for record in records {
        match check(tenant, &live, keyed, &mut batch_keys, record) {
            Ok(change) => changes.push(change),
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        let duplicate = errors.iter().find(|e| e["code"] == DUPLICATE);
        if let (DuplicateQuirk::ServerError, Some(error)) = (tenant.quirks.duplicate, duplicate) {
            // A Progress-style application error, as a 500 in plain text.
            let message = format!("** {} (132)", error["message"].as_str().unwrap_or_default());
            return (StatusCode::INTERNAL_SERVER_ERROR, message).into_response();
        }
        return submit_result(StatusCode::OK, errors, None);
    }
    let created = changes
        .iter()
        .any(|c| matches!(c.operation, Operation::Create));
    let mut stored = Vec::with_capacity(changes.len());
    for change in changes {
        stored.push(change.record.clone());
        // A create only meets an existing key under `attribution.duplicate =
        // creates`, which stores a second record.
        match (change.operation, keyed.index(&live, &change.key)) {
            (Operation::Update, Some(at)) => {
                keyed.records_mut(&mut live)[at] = (change.key, change.record);
            }
            _ => keyed
                .records_mut(&mut live)
                .push((change.key, change.record)),
        }
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    submit_result(status, Vec::new(), Some(Value::Array(stored)))
}

/// `GET {root}/<attribution path>[?<key field>=…]`: `{"data":[records]}` in creation order.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    list_of(&shared, Keyed::Attribution, &query)
}

fn list_of(shared: &Shared, keyed: Keyed, query: &HashMap<String, String>) -> Response {
    let key = query.get(keyed.key_field(&shared.tenant));
    if key.is_none() && shared.tenant.quirks.entity == EntityQuirk::None {
        return bare_errors(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request method 'GET' not supported",
            "",
        );
    }
    let live = shared.live();
    let records: Vec<Value> = keyed
        .records(&live)
        .iter()
        .filter(|(k, _)| key.is_none_or(|wanted| wanted == k))
        .map(|(_, record)| record.clone())
        .collect();
    Json(json!({ "data": records })).into_response()
}
