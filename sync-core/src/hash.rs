//! Content hashes of mapped target records, for change detection.
//!
//! A record is hashed as canonical JSON: object keys sorted at every depth, no insignificant
//! whitespace. Two records that serialize to equal JSON values hash equal whatever the order their
//! fields or map entries were built in, so a re-run over unchanged source data finds every hash
//! equal and makes no call.

use serde::Serialize;
use serde_json::Value;

use crate::error::StateError;
use crate::model::ContentHash;

/// The SHA-256 of `record`'s canonical JSON.
///
/// ```
/// use serde_json::json;
/// use sync_core::hash::content_hash;
///
/// let a = content_hash(&json!({"b": 1, "a": {"y": [1, 2], "x": null}}))?;
/// let b = content_hash(&json!({"a": {"x": null, "y": [1, 2]}, "b": 1}))?;
/// assert_eq!(a, b);
/// assert_ne!(a, content_hash(&json!({"a": {"x": null, "y": [2, 1]}, "b": 1}))?);
/// # Ok::<(), sync_core::StateError>(())
/// ```
///
/// # Errors
///
/// [`StateError::Encode`] when the record cannot be encoded as JSON (a map with non-string keys).
pub fn content_hash<T: Serialize + ?Sized>(record: &T) -> Result<ContentHash, StateError> {
    let value = serde_json::to_value(record).map_err(|source| StateError::Encode {
        what: "content hash input",
        source,
    })?;
    Ok(ContentHash::of_bytes(canonical_json(&value).as_bytes()))
}

/// `value` as compact JSON with object keys sorted at every depth.
///
/// ```
/// use sync_core::hash::canonical_json;
///
/// let v = serde_json::json!({"z": "é", "a": [true, {"d": 1.5, "c": "x"}]});
/// assert_eq!(canonical_json(&v), r#"{"a":[true,{"c":"x","d":1.5}],"z":"é"}"#);
/// ```
#[must_use]
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // A string always encodes as JSON; `Value::String` displays as its JSON form.
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn key_order_never_changes_the_hash(pairs in proptest::collection::btree_map("[a-z]{1,6}", any::<i64>(), 0..12)) {
            let forward: serde_json::Map<String, Value> =
                pairs.iter().map(|(k, v)| (k.clone(), Value::from(*v))).collect();
            let mut reversed = serde_json::Map::new();
            for (k, v) in pairs.iter().rev() {
                reversed.insert(k.clone(), Value::from(*v));
            }
            let a = content_hash(&Value::Object(forward)).unwrap();
            let b = content_hash(&Value::Object(reversed)).unwrap();
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn canonical_json_round_trips() {
        let v = serde_json::json!({"k": "quote\" and \\ and \u{1F600}", "n": [1, -2.5, null]});
        let back: Value = serde_json::from_str(&canonical_json(&v)).unwrap();
        assert_eq!(back, v);
    }
}
