//! Content hashes of mapped target records, for change detection.
//!
//! A record is hashed as canonical JSON: object keys sorted at every depth, no insignificant
//! whitespace. Two records that serialize to equal JSON values hash equal whatever the order their
//! fields or map entries were built in, so a re-run over unchanged source data finds every hash
//! equal and makes no call.

use std::io;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::StateError;
use crate::model::ContentHash;

mod canonical_writer;

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
    let encode = |source| StateError::Encode {
        what: "content hash input",
        source,
    };
    // Written straight from the record where it can be; otherwise through a value, streamed
    // into the digest. The bytes hashed are the same either way.
    if let Ok(text) = canonical_writer::canonical_bytes(record) {
        return Ok(ContentHash::of_digest(&Sha256::digest(&text)));
    }
    let value = serde_json::to_value(record).map_err(encode)?;
    let mut digest = DigestWriter(Sha256::new());
    write_canonical(&value, &mut digest).map_err(encode)?;
    Ok(ContentHash::of_digest(&digest.0.finalize()))
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
    let mut out = Vec::new();
    // Writing JSON text into a `Vec` cannot fail, and JSON text is UTF-8.
    let _ = write_canonical(value, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes `value` as canonical JSON. Keys and scalars are written by `serde_json` itself, so
/// their text is exactly `Value`'s `Display` (the text the hashes stored so far were made of).
fn write_canonical<W: io::Write>(value: &Value, out: &mut W) -> serde_json::Result<()> {
    match value {
        Value::Object(map) => {
            out.write_all(b"{").map_err(serde_json::Error::io)?;
            // serde_json's map iterates in key order unless some crate in the build turns on
            // its `preserve_order` feature: sort only then.
            if map.keys().is_sorted() {
                write_entries(map.iter(), out)?;
            } else {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                write_entries(entries.into_iter(), out)?;
            }
            out.write_all(b"}").map_err(serde_json::Error::io)
        }
        Value::Array(items) => {
            out.write_all(b"[").map_err(serde_json::Error::io)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",").map_err(serde_json::Error::io)?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]").map_err(serde_json::Error::io)
        }
        scalar => serde_json::to_writer(out, scalar),
    }
}

fn write_entries<'v, W: io::Write>(
    entries: impl Iterator<Item = (&'v String, &'v Value)>,
    out: &mut W,
) -> serde_json::Result<()> {
    for (i, (key, value)) in entries.enumerate() {
        if i > 0 {
            out.write_all(b",").map_err(serde_json::Error::io)?;
        }
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b":").map_err(serde_json::Error::io)?;
        write_canonical(value, out)?;
    }
    Ok(())
}

/// Feeds written bytes to a digest.
struct DigestWriter(Sha256);

impl io::Write for DigestWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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
    fn the_streamed_hash_is_the_hash_of_the_canonical_text() {
        // Stored hashes were made from the canonical text: streaming must not change one.
        let v = serde_json::json!({
            "z": {"b": [true, false, null], "a": 1.5e300},
            "k": "quote\" and \\ and \u{1F600} and \u{0007}",
            "n": [1, -2, 18446744073709551615_u64],
            "": {}
        });
        assert_eq!(
            content_hash(&v).unwrap(),
            ContentHash::of_bytes(canonical_json(&v).as_bytes())
        );
        assert_eq!(canonical_json(&v), text_before_streaming(&v));
        assert_eq!(
            canonical_json(&v),
            r#"{"":{},"k":"quote\" and \\ and 😀 and \u0007","n":[1,-2,18446744073709551615],"z":{"a":1.5e+300,"b":[true,false,null]}}"#
        );
        // A pinned value: the hash of a record does not change between releases.
        assert_eq!(
            content_hash(&serde_json::json!({"b": 1, "a": "x"}))
                .unwrap()
                .as_str(),
            "cdab067e9f3beb32d1252cfd63e492592fecbf591b0d08cadb24bb17f3864246"
        );
    }

    /// The canonical text as it was built before hashing streamed it: through `Display`.
    fn text_before_streaming(value: &Value) -> String {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let inner: Vec<String> = entries
                    .into_iter()
                    .map(|(k, v)| {
                        format!("{}:{}", Value::String(k.clone()), text_before_streaming(v))
                    })
                    .collect();
                format!("{{{}}}", inner.join(","))
            }
            Value::Array(items) => {
                let inner: Vec<String> = items.iter().map(text_before_streaming).collect();
                format!("[{}]", inner.join(","))
            }
            scalar => scalar.to_string(),
        }
    }

    /// Any JSON value, nested a few levels, with keys that need escapes now and then.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-zA-Z0-9 \\\"é😀\u{7}]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::vec(("[a-zA-Z_!~ \\\"é]{0,5}", inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_direct_text_is_the_text_of_the_value_way(value in json_value()) {
            let mut through_value = Vec::new();
            write_canonical(&value, &mut through_value).unwrap();
            let direct = canonical_writer::canonical_bytes(&value);
            // A key with escapes is left to the value's way; everything else is written directly.
            if let Ok(direct) = direct {
                prop_assert_eq!(String::from_utf8(direct).unwrap(), String::from_utf8(through_value.clone()).unwrap());
            }
            prop_assert_eq!(
                content_hash(&value).unwrap(),
                ContentHash::of_bytes(&through_value)
            );
        }
    }

    #[test]
    fn typed_records_are_written_directly_with_their_fields_sorted() {
        #[derive(Serialize)]
        struct Record {
            zip: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
            amount: f32,
            nested: Nested,
            tags: std::collections::BTreeSet<&'static str>,
            wide: u128,
            big: i128,
        }
        #[derive(Serialize)]
        struct Nested {
            b: Vec<Nested2>,
            a: (),
        }
        #[derive(Serialize)]
        struct Nested2 {
            y: &'static str,
            #[serde(flatten)]
            extra: std::collections::BTreeMap<&'static str, i32>,
        }
        let record = Record {
            zip: None,
            skipped: None,
            amount: 0.1,
            nested: Nested {
                b: vec![Nested2 {
                    y: "why",
                    extra: [("x", 1), ("z", 2)].into_iter().collect(),
                }],
                a: (),
            },
            tags: ["b", "a"].into_iter().collect(),
            wide: 7,
            big: -7,
        };
        let direct = canonical_writer::canonical_bytes(&record).unwrap();
        let value = serde_json::to_value(&record).unwrap();
        let mut through_value = Vec::new();
        write_canonical(&value, &mut through_value).unwrap();
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            String::from_utf8(through_value).unwrap()
        );
    }

    #[test]
    fn what_the_value_way_treats_differently_is_left_to_it() {
        let escaped_key = serde_json::json!({"a\"b": 1, "a": 2});
        assert!(canonical_writer::canonical_bytes(&escaped_key).is_err());
        assert!(canonical_writer::canonical_bytes(&u128::MAX).is_err());
        // And the hash is the value's way's all the same.
        assert_eq!(
            content_hash(&escaped_key).unwrap(),
            ContentHash::of_bytes(canonical_json(&escaped_key).as_bytes())
        );
    }

    #[test]
    fn canonical_json_round_trips() {
        let v = serde_json::json!({"k": "quote\" and \\ and \u{1F600}", "n": [1, -2.5, null]});
        let back: Value = serde_json::from_str(&canonical_json(&v)).unwrap();
        assert_eq!(back, v);
    }
}
