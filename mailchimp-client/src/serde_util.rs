//! Lenient decoding helpers for what Mailchimp really sends.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Deserializer};

/// An optional timestamp that Mailchimp may send as `""` or `null` when
/// unset; both decode as `None`. Use with
/// `#[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]`.
pub(crate) fn opt_datetime<'de, D>(
    deserializer: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error>
where
    D: Deserializer<'de>,
{
    let text: Option<String> = Option::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// A field Mailchimp may send as `null`: decodes as the type's default
/// (`""`, `0`, `false`, an empty list or map), like an absent field. Use with
/// `#[serde(deserialize_with = "crate::serde_util::null_as_default")]` on
/// non-`Option` fields of `#[serde(default)]` structs, so one `null` cannot
/// fail a whole page.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "opt_datetime")]
        at: Option<DateTime<FixedOffset>>,
    }

    #[test]
    fn empty_and_null_are_none() {
        for body in [r#"{"at":""}"#, r#"{"at":null}"#, "{}"] {
            let t: T = serde_json::from_str(body).unwrap();
            assert!(t.at.is_none(), "{body}");
        }
        let t: T = serde_json::from_str(r#"{"at":"2024-05-01T10:20:30+00:00"}"#).unwrap();
        assert_eq!(t.at.unwrap().timestamp(), 1_714_558_830);
        assert!(serde_json::from_str::<T>(r#"{"at":"yesterday"}"#).is_err());
    }
}
