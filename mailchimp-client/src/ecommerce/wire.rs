//! Lenient decoding for e-commerce responses.

use serde::{Deserialize, Deserializer};

/// A field Mailchimp may send as `null`: decodes as the type's default
/// (`false`, `0`, `""`, empty list), like an absent field. Use with
/// `#[serde(default, deserialize_with = "super::wire::null_as_default")]`.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
