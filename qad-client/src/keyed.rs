//! One record written to a tenant-defined entity, idempotent by a key field: the mechanism the
//! attribution and consent write-backs share. A create that QAD answers as a duplicate becomes
//! an update (`dataOperation: "U"`, the key as a query parameter), or is skipped.

use serde_json::Value;

use crate::attribution::{OnDuplicate, WriteOutcome};
use crate::behaviour::DuplicatePost;
use crate::client::{Call, Client};
use crate::error::{Error, Result};
use crate::paths::EntityPath;

/// Where a keyed record goes.
pub(crate) struct KeyedEntity<'a> {
    pub entity: &'a EntityPath,
    pub key_param: &'a str,
    pub on_duplicate: OnDuplicate,
}

/// Creates the record `value` (whose key is `key`), or updates it when it exists.
pub(crate) async fn post(
    client: &Client,
    target: &KeyedEntity<'_>,
    key: &str,
    value: Value,
) -> Result<WriteOutcome> {
    let duplicates = client.behaviour().duplicate_post;
    // A tenant that creates a second record for a duplicate key is asked first.
    let known = duplicates == DuplicatePost::Creates && exists(client, target, key).await?;
    let created = if known {
        Err(Error::Duplicate {
            status: 200,
            errors: vec![crate::FieldError::new(
                "found by the lookup before the create",
            )],
        })
    } else {
        let create = Call::post(target.entity.as_str(), Value::Array(vec![value.clone()]));
        client.call(&create).await.map(drop)
    };
    match created {
        Ok(()) => Ok(WriteOutcome::Created),
        Err(e) if is_duplicate(&e, duplicates) => match target.on_duplicate {
            OnDuplicate::Skip => Ok(WriteOutcome::Unchanged),
            OnDuplicate::Update => {
                let mut value = value;
                if let Value::Object(fields) = &mut value {
                    fields.insert("dataOperation".to_owned(), Value::from("U"));
                }
                let update = Call::post(target.entity.as_str(), Value::Array(vec![value]))
                    .query(target.key_param, key);
                client.call(&update).await?;
                Ok(WriteOutcome::Updated)
            }
        },
        Err(e) => Err(e),
    }
}

/// Whether a record with this key exists: `GET {entity}?<key param>=<key>`.
pub(crate) async fn exists(client: &Client, target: &KeyedEntity<'_>, key: &str) -> Result<bool> {
    let call = Call::get(target.entity.as_str()).query(target.key_param, key);
    let reply = client.call(&call).await?;
    let context = format!("lookup {}", target.entity);
    let (rows, _) = crate::browse::decode_envelope(reply.json(&context)?, &context)?;
    // A tenant may ignore the key parameter: look for the key itself.
    Ok(rows.iter().any(|row| match row.get(target.key_param) {
        Some(Value::String(found)) => found == key,
        Some(Value::Number(found)) => found.to_string() == key,
        Some(_) | None => false,
    }))
}

/// Whether `error` says the record already exists: [`Error::Duplicate`] or
/// HTTP 409, and with `attribution.duplicate = "server-error"` a 500 whose
/// text says "already exists".
fn is_duplicate(error: &Error, duplicates: DuplicatePost) -> bool {
    match error {
        Error::Duplicate { .. } | Error::Api { status: 409, .. } => true,
        Error::Api {
            status: 500,
            message,
        } => {
            duplicates == DuplicatePost::ServerError
                && message.to_lowercase().contains("already exists")
        }
        _ => false,
    }
}
