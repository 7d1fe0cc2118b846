//! Exact money amounts.
//!
//! Amounts (`order_total`, `price`, `total_spent`, …) are
//! [`rust_decimal::Decimal`], never `f64`, so sums and comparisons are exact:
//! `19.99 × 3` is `59.97` and `0.1 + 0.2` is `0.3`. On the wire Mailchimp
//! uses JSON numbers; this crate decodes them through their shortest decimal
//! text and encodes amounts back as JSON numbers with that same text, so an
//! amount with up to 15 significant digits crosses the API unchanged. Amounts
//! sent as strings decode too.
//!
//! ```
//! use mailchimp_client::ecommerce::Decimal;
//! use std::str::FromStr;
//!
//! let price = Decimal::from_str("19.99")?;
//! assert_eq!(price * Decimal::from(3), Decimal::from_str("59.97")?);
//! # Ok::<(), rust_decimal::Error>(())
//! ```

pub use rust_decimal::Decimal;

/// Serde for required amounts: decode a JSON number or string, encode a
/// JSON number. Use with `#[serde(with = "crate::ecommerce::money::amount")]`.
pub(crate) mod amount {
    pub(crate) use rust_decimal::serde::float::{deserialize, serialize};
}

/// Serde for optional amounts (`null` or absent is `None`). Use with
/// `#[serde(default, with = "crate::ecommerce::money::opt_amount",
/// skip_serializing_if = "Option::is_none")]`.
pub(crate) mod opt_amount {
    pub(crate) use rust_decimal::serde::float_option::{deserialize, serialize};
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Priced {
        #[serde(with = "amount")]
        price: Decimal,
        #[serde(default, with = "opt_amount", skip_serializing_if = "Option::is_none")]
        discount: Option<Decimal>,
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn json_numbers_decode_exactly() {
        let priced: Priced = serde_json::from_str(r#"{"price":19.99,"discount":0.1}"#).unwrap();
        assert_eq!(priced.price, dec("19.99"));
        assert_eq!(priced.discount, Some(dec("0.1")));
        let priced: Priced = serde_json::from_str(r#"{"price":"19.99","discount":null}"#).unwrap();
        assert_eq!(priced.price, dec("19.99"));
        assert_eq!(priced.discount, None);
        let priced: Priced = serde_json::from_str(r#"{"price":7}"#).unwrap();
        assert_eq!(priced.price, Decimal::from(7));
    }

    #[test]
    fn arithmetic_is_exact_and_encodes_as_json_numbers() {
        let total = dec("19.99") * Decimal::from(3);
        assert_eq!(total, dec("59.97"));
        let sum = dec("0.1") + dec("0.2");
        assert_eq!(sum, dec("0.3"));

        let json = serde_json::to_string(&Priced {
            price: total,
            discount: Some(sum),
        })
        .unwrap();
        assert_eq!(json, r#"{"price":59.97,"discount":0.3}"#);
        let back: Priced = serde_json::from_str(&json).unwrap();
        assert_eq!(back.price, dec("59.97"));
        assert_eq!(back.discount, Some(dec("0.3")));
    }

    proptest::proptest! {
        #[test]
        fn amounts_up_to_15_digits_round_trip_exactly(
            mantissa in -999_999_999_999_999i64..=999_999_999_999_999,
            scale in 0u32..=6,
        ) {
            let priced = Priced { price: Decimal::new(mantissa, scale), discount: None };
            let json = serde_json::to_string(&priced).unwrap();
            let back: Priced = serde_json::from_str(&json).unwrap();
            proptest::prop_assert_eq!(back.price, priced.price, "{}", json);
        }
    }

    #[test]
    fn typical_amounts_round_trip_unchanged() {
        for text in ["0.01", "1234567.89", "99999999999.99", "0.005", "-12.5"] {
            let priced = Priced {
                price: dec(text),
                discount: None,
            };
            let back: Priced =
                serde_json::from_str(&serde_json::to_string(&priced).unwrap()).unwrap();
            assert_eq!(back, priced, "{text}");
        }
    }
}
