//! JSON values packed into a few bytes each, for fakes that hold a million records.
//!
//! A `serde_json::Value` object costs a B-tree node, a `String` per key and a heap string per value:
//! about 4 KB for a Mailchimp member. [`Packed`] keeps the same value as one byte buffer: object keys
//! are interned (a process-wide table, keys are few), lowercase hex strings (subscriber hashes, ids)
//! are stored as their bytes, the fake's own timestamps (`2026-12-05T21:17:18+00:00`) as seconds, and
//! numbers as varints. [`Packed::value`] gives back exactly the value that was packed (same keys,
//! same strings, same number kinds), so the handlers keep working on plain JSON and every response
//! stays as it was.

use std::{
    collections::HashMap,
    sync::{OnceLock, PoisonError, RwLock},
};

use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

/// The fake's timestamp format (see `mailchimp::request::now`): packed as seconds when a string
/// is exactly this.
const STAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S+00:00";

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const POS_INT: u8 = 3;
const NEG_INT: u8 = 4;
const FLOAT: u8 = 5;
const STRING: u8 = 6;
const EMPTY_STRING: u8 = 7;
const HEX_STRING: u8 = 8;
const STAMP: u8 = 9;
const ARRAY: u8 = 10;
const OBJECT: u8 = 11;

/// One JSON value, packed. Cloning copies the bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Packed(Box<[u8]>);

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Packed({})", self.value())
    }
}

impl Default for Packed {
    fn default() -> Self {
        Self::new(&Value::Null)
    }
}

impl From<&Value> for Packed {
    fn from(value: &Value) -> Self {
        Self::new(value)
    }
}

impl Packed {
    /// Packs `value`.
    pub(crate) fn new(value: &Value) -> Self {
        let mut out = Vec::with_capacity(64);
        encode(value, &mut out);
        Self(out.into_boxed_slice())
    }

    /// The value, as it was packed.
    pub(crate) fn value(&self) -> Value {
        let mut at = 0;
        decode(&self.0, &mut at)
    }

    /// How many bytes the packed value takes (without the box itself).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Interned object keys. Keys of the fakes' JSON are a bounded set (field names, merge-field tags,
/// interest ids), so the table never needs to shrink.
#[derive(Default)]
struct Keys {
    names: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32>,
}

fn keys() -> &'static RwLock<Keys> {
    static KEYS: OnceLock<RwLock<Keys>> = OnceLock::new();
    KEYS.get_or_init(RwLock::default)
}

fn key_id(name: &str) -> u32 {
    if let Some(id) = keys()
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .ids
        .get(name)
    {
        return *id;
    }
    let mut keys = keys().write().unwrap_or_else(PoisonError::into_inner);
    if let Some(id) = keys.ids.get(name) {
        return *id;
    }
    let id = u32::try_from(keys.names.len()).unwrap_or(u32::MAX);
    keys.names.push(name.into());
    keys.ids.insert(name.into(), id);
    id
}

fn put_varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut n = 0u64;
    let mut shift = 0;
    while let Some(&b) = bytes.get(*at) {
        *at += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    n
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// Seconds since the epoch, if `s` is exactly a timestamp in the fake's own format.
pub(crate) fn stamp_seconds(s: &str) -> Option<i64> {
    if s.len() != 25 || !s.ends_with("+00:00") {
        return None;
    }
    let at = DateTime::parse_from_rfc3339(s).ok()?;
    let secs = at.timestamp();
    (format_stamp(secs).as_deref() == Some(s)).then_some(secs)
}

/// A timestamp in the fake's own format.
pub(crate) fn format_stamp(secs: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp(secs, 0).map(|t| t.format(STAMP_FORMAT).to_string())
}

fn is_lower_hex(s: &str) -> bool {
    s.len() >= 2
        && s.len().is_multiple_of(2)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(POS_INT);
                put_varint(u, out);
            } else if let Some(i) = n.as_i64() {
                out.push(NEG_INT);
                put_varint(zigzag(i), out);
            } else {
                out.push(FLOAT);
                out.extend_from_slice(&n.as_f64().unwrap_or_default().to_le_bytes());
            }
        }
        Value::String(s) if s.is_empty() => out.push(EMPTY_STRING),
        Value::String(s) => {
            if let Some(secs) = stamp_seconds(s) {
                out.push(STAMP);
                put_varint(zigzag(secs), out);
            } else if is_lower_hex(s) {
                out.push(HEX_STRING);
                put_varint((s.len() / 2) as u64, out);
                out.extend(s.as_bytes().chunks(2).map(|pair| {
                    let digit = |b: u8| if b <= b'9' { b - b'0' } else { b - b'a' + 10 };
                    (digit(pair[0]) << 4) | digit(pair[1])
                }));
            } else {
                out.push(STRING);
                put_varint(s.len() as u64, out);
                out.extend_from_slice(s.as_bytes());
            }
        }
        Value::Array(items) => {
            out.push(ARRAY);
            put_varint(items.len() as u64, out);
            for item in items {
                encode(item, out);
            }
        }
        Value::Object(map) => {
            out.push(OBJECT);
            put_varint(map.len() as u64, out);
            for (key, item) in map {
                put_varint(u64::from(key_id(key)), out);
                encode(item, out);
            }
        }
    }
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, len: usize) -> &'a [u8] {
    let end = (*at + len).min(bytes.len());
    let slice = &bytes[(*at).min(end)..end];
    *at = end;
    slice
}

/// Decodes one value at `at`. The bytes were written by [`encode`]; a truncated buffer (which
/// cannot happen) decodes to nulls rather than panicking.
fn decode(bytes: &[u8], at: &mut usize) -> Value {
    let Some(&tag) = bytes.get(*at) else {
        return Value::Null;
    };
    *at += 1;
    match tag {
        FALSE => Value::Bool(false),
        TRUE => Value::Bool(true),
        POS_INT => Value::from(varint(bytes, at)),
        NEG_INT => Value::from(unzigzag(varint(bytes, at))),
        FLOAT => {
            let raw: [u8; 8] = take(bytes, at, 8).try_into().unwrap_or([0; 8]);
            Number::from_f64(f64::from_le_bytes(raw)).map_or(Value::Null, Value::Number)
        }
        EMPTY_STRING => Value::String(String::new()),
        STRING => {
            let len = varint(bytes, at) as usize;
            Value::String(String::from_utf8_lossy(take(bytes, at, len)).into_owned())
        }
        HEX_STRING => {
            let len = varint(bytes, at) as usize;
            Value::String(hex::encode(take(bytes, at, len)))
        }
        STAMP => Value::String(format_stamp(unzigzag(varint(bytes, at))).unwrap_or_default()),
        ARRAY => {
            let len = varint(bytes, at) as usize;
            Value::Array((0..len).map(|_| decode(bytes, at)).collect())
        }
        OBJECT => {
            let len = varint(bytes, at) as usize;
            let mut map = Map::new();
            let mut ids = Vec::with_capacity(len);
            let mut items = Vec::with_capacity(len);
            for _ in 0..len {
                ids.push(varint(bytes, at) as usize);
                items.push(decode(bytes, at));
            }
            let keys = keys().read().unwrap_or_else(PoisonError::into_inner);
            for (id, item) in ids.into_iter().zip(items) {
                let key = keys
                    .names
                    .get(id)
                    .map_or_else(String::new, |k| k.to_string());
                map.insert(key, item);
            }
            Value::Object(map)
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use serde_json::json;

    use super::*;

    fn round_trip(value: &Value) {
        let packed = Packed::new(value);
        assert_eq!(&packed.value(), value, "{value}");
        // Number kinds survive, not just numeric equality.
        assert_eq!(packed.value().to_string(), value.to_string());
    }

    #[test]
    fn member_shaped_values_round_trip_and_pack_small() {
        let member = json!({
            "id": "62eeb292278cc15f5817cb78f7790b08",
            "email_address": "Urist.McVankab@freddiesjokes.com",
            "unique_email_id": "2c3c0f8b1e",
            "web_id": 1234567,
            "status": "subscribed",
            "merge_fields": { "FNAME": "Urist", "LNAME": "McVankab", "ADDRESS": { "addr1": "1 Road", "zip": "" } },
            "stats": { "avg_open_rate": 0.0, "avg_click_rate": 0.25 },
            "timestamp_opt": "2026-12-05T21:17:18+00:00",
            "last_changed": "2026-12-05T21:17:18+00:00",
            "location": { "latitude": -12.5, "gmtoff": -3, "dstoff": 0 },
            "tags": [{ "id": 1, "name": "vip" }],
            "vip": false,
            "interests": {},
            "marketing_permissions": [],
            "nothing": null,
        });
        round_trip(&member);
        assert!(Packed::new(&member).len() < member.to_string().len() / 2);
    }

    #[test]
    fn look_alike_strings_stay_as_written() {
        for s in [
            "2026-12-05T21:17:18+00:00",
            "2026-12-05T21:17:18+01:00",
            "2026-12-05T21:17:18Z",
            "2026-12-05 21:17:18",
            "2026-02-30T21:17:18+00:00",
            "0000-01-01T00:00:00+00:00",
            "ABCDEF",
            "abcdef",
            "abc",
            "0",
            "00",
            "é",
            "",
        ] {
            round_trip(&json!(s));
            round_trip(&json!({ s: s }));
        }
        for n in [
            json!(0),
            json!(-1),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1.0),
            json!(-0.5),
            json!(1e300),
        ] {
            round_trip(&n);
        }
    }

    fn random_value(rng: &mut StdRng, depth: u32) -> Value {
        match rng.random_range(0..if depth > 3 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.random()),
            2 => json!(rng.random::<i64>()),
            3 => json!(rng.random::<f64>() * 1e6 - 5e5),
            4 => json!(hex::encode(rng.random::<[u8; 4]>())),
            5 => {
                let len = rng.random_range(0..12);
                Value::String((0..len).map(|_| rng.random_range('0'..='z')).collect())
            }
            6 => Value::Array(
                (0..rng.random_range(0..4))
                    .map(|_| random_value(rng, depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..rng.random_range(0..5))
                    .map(|n| {
                        (
                            format!("k{n}{}", rng.random_range(0..3)),
                            random_value(rng, depth + 1),
                        )
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn random_values_round_trip() {
        let mut rng = StdRng::seed_from_u64(19);
        for _ in 0..2_000 {
            round_trip(&random_value(&mut rng, 0));
        }
    }
}
