//! Lenient decoding of QAD values: browse rows carry `""` for blank fields,
//! and numbers, logicals and dates arrive as strings or as JSON values
//! depending on the surface.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

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

/// An optional text field; blank is `None`.
pub(crate) fn opt_text<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    Ok(text(Value::deserialize(d)?).map(T::from))
}

/// A logical: JSON bool, or `true/false`, `yes/no`, `1/0` as text.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let Some(t) = text(Value::deserialize(d)?) else {
        return Ok(None);
    };
    match t.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(Some(true)),
        "false" | "no" | "0" => Ok(Some(false)),
        _ => Err(D::Error::custom(format!("expected a logical, got {t:?}"))),
    }
}

/// An integer, written as a number or as text.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match text(Value::deserialize(d)?) {
        None => Ok(None),
        Some(t) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected an integer, got {t:?}"))),
    }
}

/// A decimal from its exact text (`"12.50"`) or a JSON number.
pub(crate) fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match text(Value::deserialize(d)?) {
        None => Ok(None),
        Some(t) => parse_decimal(&t)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected a decimal, got {t:?}"))),
    }
}

/// A required decimal.
pub(crate) fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    opt_decimal(d)?.ok_or_else(|| D::Error::custom("the decimal field is blank"))
}

fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .ok()
}

/// A QAD date: `YYYY-MM-DD`, optionally followed by a time
/// (`2025-03-04T00:00:00.000Z`), which carries no information for QAD dates.
pub(crate) fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let Some(t) = text(Value::deserialize(d)?) else {
        return Ok(None);
    };
    t.get(..10)
        .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected a date YYYY-MM-DD, got {t:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "opt_date")]
        d: Option<NaiveDate>,
        #[serde(default, deserialize_with = "opt_decimal")]
        m: Option<Decimal>,
        #[serde(default, deserialize_with = "opt_i64")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "opt_text")]
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
