//! Lenient decoding of QAD values: browse rows carry `""` for blank fields,
//! and numbers, logicals and dates arrive as strings or as JSON values
//! depending on the surface.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::ids::{CustomerCode, DomainCode, ItemCode, SalesOrderNumber};

/// Text of a scalar; `None` for null and blank strings.
fn text(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// A value QAD writes as text or as a JSON scalar, read from the scalar's
/// non-blank text. The field's type picks the parser, so every optional
/// field decodes through [`opt`].
pub(crate) trait Lenient: Sized {
    /// Parses `text`; the error says what was expected.
    fn from_text(text: String) -> Result<Self, String>;
}

/// Text fields and keys take the text as it is.
macro_rules! lenient_text {
    ($($ty:ty),*) => {$(
        impl Lenient for $ty {
            fn from_text(text: String) -> Result<Self, String> {
                Ok(Self::from(text))
            }
        }
    )*};
}

lenient_text!(String, CustomerCode, DomainCode, ItemCode, SalesOrderNumber);

/// A logical: JSON bool, or `true/false`, `yes/no`, `1/0` as text.
impl Lenient for bool {
    fn from_text(t: String) -> Result<Self, String> {
        match t.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            _ => Err(format!("expected a logical, got {t:?}")),
        }
    }
}

/// An integer, written as a number or as text.
impl Lenient for i64 {
    fn from_text(t: String) -> Result<Self, String> {
        t.trim()
            .parse()
            .map_err(|_| format!("expected an integer, got {t:?}"))
    }
}

/// A decimal from its exact text (`"12.50"`) or a JSON number.
impl Lenient for Decimal {
    fn from_text(t: String) -> Result<Self, String> {
        let trimmed = t.trim();
        Decimal::from_str(trimmed)
            .or_else(|_| Decimal::from_scientific(trimmed))
            .map_err(|_| format!("expected a decimal, got {t:?}"))
    }
}

/// A QAD date: `YYYY-MM-DD`, optionally followed by a time
/// (`2025-03-04T00:00:00.000Z`), which carries no information for QAD dates.
impl Lenient for NaiveDate {
    fn from_text(t: String) -> Result<Self, String> {
        t.get(..10)
            .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
            .ok_or_else(|| format!("expected a date YYYY-MM-DD, got {t:?}"))
    }
}

/// A required key (`customerCode`, …) written as a string or a number.
pub(crate) fn key<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    text(Value::deserialize(d)?)
        .map(T::from)
        .ok_or_else(|| D::Error::custom("the key field is blank"))
}

/// An optional field of any [`Lenient`] type; blank is `None`.
pub(crate) fn opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Lenient,
{
    text(Value::deserialize(d)?)
        .map(T::from_text)
        .transpose()
        .map_err(D::Error::custom)
}

/// A required decimal.
pub(crate) fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    opt(d)?.ok_or_else(|| D::Error::custom("the decimal field is blank"))
}
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "opt")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "opt")]
        d: Option<NaiveDate>,
        #[serde(default, deserialize_with = "opt")]
        m: Option<Decimal>,
        #[serde(default, deserialize_with = "opt")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "opt")]
        s: Option<String>,
    }

    fn probe(v: Value) -> Probe {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn blanks_are_none() {
        let p = probe(json!({"b": "", "d": "", "m": " ", "i": null, "s": ""}));
        assert_eq!((p.b, p.d, p.m, p.i, p.s), (None, None, None, None, None));
    }

    #[test]
    fn text_and_json_forms_agree() {
        let day = NaiveDate::from_ymd_opt(2025, 3, 4);
        let a = probe(
            json!({"b": "yes", "d": "2025-03-04T00:00:00.000Z", "m": "12.50", "i": "7", "s": 42}),
        );
        let b = probe(json!({"b": true, "d": "2025-03-04", "m": 12.5, "i": 7, "s": "42"}));
        assert_eq!(
            (a.b, a.d, a.i, a.s.as_deref()),
            (Some(true), day, Some(7), Some("42"))
        );
        assert_eq!(
            (b.b, b.d, b.i, b.s.as_deref()),
            (Some(true), day, Some(7), Some("42"))
        );
        assert_eq!(a.m, Decimal::from_str("12.50").ok());
        assert_eq!(b.m, Some(Decimal::new(125, 1)));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(serde_json::from_value::<Probe>(json!({"d": "03/04/25"})).is_err());
        assert!(serde_json::from_value::<Probe>(json!({"b": "maybe"})).is_err());
        assert!(serde_json::from_value::<Probe>(json!({"m": "1,5"})).is_err());
    }
}
