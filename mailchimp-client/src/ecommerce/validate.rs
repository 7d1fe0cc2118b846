//! Checks on caller input, run before any request so a bad value fails
//! fast with the offending field named.

use crate::error::{Error, Result};

/// The longest customer id Mailchimp accepts.
pub(crate) const MAX_CUSTOMER_ID_CHARS: usize = 50;

/// `value` must not be empty or only whitespace.
pub(crate) fn non_empty(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(field, "must not be empty"));
    }
    Ok(())
}

/// A customer id: non-empty and at most 50 characters.
pub(crate) fn customer_id(field: &str, value: &str) -> Result<()> {
    non_empty(field, value)?;
    let chars = value.chars().count();
    if chars > MAX_CUSTOMER_ID_CHARS {
        return Err(Error::invalid_input(
            field,
            format!("must be at most {MAX_CUSTOMER_ID_CHARS} characters, got {chars}"),
        ));
    }
    Ok(())
}

/// An ISO 4217 currency code: three uppercase ASCII letters.
pub(crate) fn currency_code(field: &str, value: &str) -> Result<()> {
    if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::invalid_input(
            field,
            format!("must be a three-letter ISO 4217 code such as `EUR`, got `{value}`"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_are_bounded_by_characters() {
        assert!(customer_id("id", &"é".repeat(50)).is_ok());
        let err = customer_id("id", &"x".repeat(51)).unwrap_err();
        assert!(err.to_string().contains("at most 50"), "{err}");
        assert!(customer_id("id", " ").is_err());
    }

    #[test]
    fn currency_codes_are_three_uppercase_letters() {
        assert!(currency_code("currency_code", "EUR").is_ok());
        for bad in ["eur", "EURO", "E1R", ""] {
            assert!(currency_code("currency_code", bad).is_err(), "{bad}");
        }
    }
}
