//! Postal addresses of stores and customers.

use serde::{Deserialize, Serialize};

/// A postal address, as stores and customers carry it.
///
/// Every field is optional; unset fields are left out of requests.
/// Mailchimp may answer with empty strings for fields never set.
///
/// ```
/// use mailchimp_client::ecommerce::Address;
///
/// let mut address = Address::default();
/// address.city = Some("Lyon".into());
/// address.country_code = Some("FR".into());
/// assert_eq!(
///     serde_json::to_string(&address).unwrap(),
///     r#"{"city":"Lyon","country_code":"FR"}"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Address {
    /// Street address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    /// Second address line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// Two-letter state or province code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province_code: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Two-letter ISO 3166 country code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

impl Address {
    /// Whether every field set in `self` has the same value in `actual`
    /// (an unset field in `actual` counts as empty).
    pub(crate) fn is_satisfied_by(&self, actual: &Address) -> bool {
        let pairs = [
            (&self.address1, &actual.address1),
            (&self.address2, &actual.address2),
            (&self.city, &actual.city),
            (&self.province, &actual.province),
            (&self.province_code, &actual.province_code),
            (&self.postal_code, &actual.postal_code),
            (&self.country, &actual.country),
            (&self.country_code, &actual.country_code),
        ];
        pairs.iter().all(|(wanted, actual)| match wanted {
            None => true,
            Some(wanted) => wanted == actual.as_deref().unwrap_or(""),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_set_fields_are_compared() {
        let mut wanted = Address {
            city: Some("Lyon".into()),
            ..Address::default()
        };
        let mut actual = Address {
            city: Some("Lyon".into()),
            postal_code: Some("69001".into()),
            ..Address::default()
        };
        assert!(wanted.is_satisfied_by(&actual));
        wanted.postal_code = Some("69002".into());
        assert!(!wanted.is_satisfied_by(&actual));
        wanted.postal_code = Some(String::new());
        actual.postal_code = None;
        assert!(wanted.is_satisfied_by(&actual));
    }
}
