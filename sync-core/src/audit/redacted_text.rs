//! A payload written straight to redacted JSON text, without building a [`serde_json::Value`]
//! first: every audited write is stored this way, and building, walking and dropping a value
//! tree per write cost about 5 % of the connector's CPU on the forward path (issue 19).

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, Serializer};

use super::{is_secret_field, REDACTED};

/// `value` as compact JSON, with the value of every object field named like a credential
/// replaced by [`REDACTED`] at any depth: the text [`redact_payload`](super::redact_payload)
/// followed by `serde_json::to_string` would give, up to the order of object fields.
pub(crate) fn redacted_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = Serializer::with_formatter(&mut out, Redacting::default());
    value.serialize(&mut serializer)?;
    // The formatter writes only what serde_json hands it (valid UTF-8) and the ASCII mark.
    String::from_utf8(out).map_err(|e| serde_json::Error::io(io::Error::other(e)))
}

/// A compact formatter that remembers each object key as it is written and, when the key names
/// a secret, writes [`REDACTED`] as the value and drops everything the value would have written.
#[derive(Default)]
struct Redacting {
    /// Inside an object key: its characters are collected into `key`.
    in_key: bool,
    key: String,
    /// Inside a redacted value: how deeply nested in it the writer is.
    skipping: Option<usize>,
}

/// Writes through `CompactFormatter` unless inside a redacted value.
macro_rules! pass {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            if self.skipping.is_some() {
                return Ok(());
            }
            CompactFormatter.$name(w $(, $arg)*)
        }
    )*};
}

impl Formatter for Redacting {
    pass! {
        write_null();
        write_bool(v: bool);
        write_i8(v: i8);
        write_i16(v: i16);
        write_i32(v: i32);
        write_i64(v: i64);
        write_i128(v: i128);
        write_u8(v: u8);
        write_u16(v: u16);
        write_u32(v: u32);
        write_u64(v: u64);
        write_u128(v: u128);
        write_f32(v: f32);
        write_f64(v: f64);
        write_number_str(v: &str);
        begin_string();
        end_string();
        write_byte_array(v: &[u8]);
        begin_array_value(first: bool);
        end_array_value();
        write_raw_fragment(v: &str);
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if self.skipping.is_some() {
            return Ok(());
        }
        if self.in_key {
            self.key.push_str(fragment);
        }
        CompactFormatter.write_string_fragment(w, fragment)
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        if self.skipping.is_some() {
            return Ok(());
        }
        if self.in_key {
            // An escaped character is never part of a secret's name; keep the key unmatched.
            self.key.push('\u{0}');
        }
        CompactFormatter.write_char_escape(w, escape)
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b'[')
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b']')
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b'{')
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b'}')
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if self.skipping.is_some() {
            return Ok(());
        }
        self.in_key = true;
        self.key.clear();
        CompactFormatter.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.in_key = false;
        Ok(())
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.skipping.is_some() {
            return Ok(());
        }
        CompactFormatter.begin_object_value(w)?;
        if is_secret_field(&self.key) {
            self.skipping = Some(0);
            w.write_all(b"\"")?;
            w.write_all(REDACTED.as_bytes())?;
            w.write_all(b"\"")?;
        }
        Ok(())
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        if self.skipping == Some(0) {
            self.skipping = None;
        }
        Ok(())
    }
}

impl Redacting {
    fn open<W: ?Sized + io::Write>(&mut self, w: &mut W, mark: u8) -> io::Result<()> {
        match &mut self.skipping {
            Some(depth) => {
                *depth += 1;
                Ok(())
            }
            None => w.write_all(&[mark]),
        }
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, mark: u8) -> io::Result<()> {
        match &mut self.skipping {
            Some(depth) => {
                *depth = depth.saturating_sub(1);
                Ok(())
            }
            None => w.write_all(&[mark]),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::audit::redact_payload;

    fn same_as_redacting_the_value(value: Value) {
        let text = redacted_json(&value).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, redact_payload(value), "{text}");
    }

    #[test]
    fn secrets_at_any_depth_are_redacted_and_nothing_else_changes() {
        same_as_redacting_the_value(json!({
            "email_address": "a@northwind-mfg.com",
            "Api-Key": "k-us6",
            "nested": {"token": {"deep": [1, {"password": "x"}]}, "after": [true, null, 1.5]},
            "list": [{"Authorization": ["Bearer", {"a": 1}]}, {"cookie": null}],
            "secret": {"a": {"b": {"c": 1}}},
            "last": "kept",
            "": "empty key",
            "tokens": "not a secret's name",
        }));
        same_as_redacting_the_value(json!([{"refresh_token": "r"}, 3, "s"]));
        same_as_redacting_the_value(json!("plain"));
        same_as_redacting_the_value(json!({}));
    }

    #[test]
    fn a_redacted_value_ends_where_its_field_ends() {
        let text = redacted_json(&json!({"a": 1, "token": {"x": [1, 2]}, "z": {"y": 2}})).unwrap();
        assert_eq!(
            text,
            format!("{{\"a\":1,\"token\":\"{REDACTED}\",\"z\":{{\"y\":2}}}}")
        );
    }

    #[test]
    fn an_escaped_key_is_written_whole_and_never_taken_for_a_secret() {
        let text = redacted_json(&json!({"to\"ken": "v", "tab\tkey": 1})).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, json!({"to\"ken": "v", "tab\tkey": 1}));
    }

    #[test]
    fn a_typed_record_is_written_as_its_fields_in_order() {
        #[derive(Serialize)]
        struct Login<'a> {
            user: &'a str,
            password: &'a str,
            roles: Vec<&'a str>,
        }
        let text = redacted_json(&Login {
            user: "ann",
            password: "hunter2",
            roles: vec!["admin"],
        })
        .unwrap();
        assert_eq!(
            text,
            format!("{{\"user\":\"ann\",\"password\":\"{REDACTED}\",\"roles\":[\"admin\"]}}")
        );
        assert!(!text.contains("hunter2"));
    }
}
