//! QAD item → Mailchimp product with one default variant.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::config::{InactiveItems, ItemMapping};
use super::fields::SourceFields;
use super::Issue;

/// The product sent for one QAD item: what is hashed, recorded and replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRecord {
    /// The product id: the item code.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Product type (for example the product line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    /// Vendor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Product page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// The one default variant.
    pub variant: VariantRecord,
}

/// The default variant of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantRecord {
    /// The variant id: the item code.
    pub id: String,
    /// Title (the product's).
    pub title: String,
    /// SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Price, exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// Stock on hand, when the item mapping names a field for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory_quantity: Option<i64>,
    /// Product page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// `hidden` for inactive items kept with [`InactiveItems::Hide`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
}

impl ProductRecord {
    /// The client's request type.
    #[must_use]
    pub fn to_client(&self) -> mailchimp_client::ecommerce::ProductInput {
        use mailchimp_client::ecommerce::{ProductId, ProductInput, VariantId, VariantInput};
        let v = &self.variant;
        let mut variant = VariantInput::new(VariantId::from(v.id.as_str()), v.title.clone());
        variant.sku.clone_from(&v.sku);
        variant.price = v.price;
        variant.inventory_quantity = v.inventory_quantity;
        variant.url.clone_from(&v.url);
        variant.image_url.clone_from(&v.image_url);
        variant.visibility.clone_from(&v.visibility);
        let mut product = ProductInput::new(
            ProductId::from(self.id.as_str()),
            self.title.clone(),
            vec![variant],
        );
        product.description.clone_from(&self.description);
        product.product_type.clone_from(&self.product_type);
        product.vendor.clone_from(&self.vendor);
        product.url.clone_from(&self.url);
        product.image_url.clone_from(&self.image_url);
        product
    }
}

/// Fills `{item_code}` in a URL template, percent-encoding the code.
///
/// ```
/// use sync_core::mapping::fill_template;
///
/// assert_eq!(fill_template("https://shop.example/p/{item_code}", "10 1000/A"),
///            "https://shop.example/p/10%201000%2FA");
/// ```
#[must_use]
pub fn fill_template(template: &str, code: &str) -> String {
    let mut encoded = String::new();
    for byte in code.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    template.replace("{item_code}", &encoded)
}

/// Whether an item is inactive: its status field holds one of the mapping's inactive statuses
/// (compared without case).
#[must_use]
pub fn is_inactive_item(fields: &SourceFields, mapping: &ItemMapping) -> bool {
    fields.text(&mapping.status_field).is_some_and(|s| {
        mapping
            .inactive_statuses
            .iter()
            .any(|i| i.eq_ignore_ascii_case(&s))
    })
}

/// Maps an item's fields to a product.
///
/// # Errors
///
/// [`Issue::Skipped`] for an inactive item under [`InactiveItems::Skip`]; [`Issue::Rejected`] for
/// a price or inventory value that is not a number.
pub fn map_product(
    code: &str,
    fields: &SourceFields,
    mapping: &ItemMapping,
) -> Result<ProductRecord, Issue> {
    let inactive = is_inactive_item(fields, mapping);
    if inactive && mapping.inactive == InactiveItems::Skip {
        return Err(Issue::Skipped("inactive item".into()));
    }
    let title = mapping
        .title
        .apply(fields)
        .unwrap_or_else(|| code.to_owned());
    let price = match mapping.price_field.as_ref().and_then(|f| fields.text(f)) {
        Some(raw) => Some(check_price(&raw).map_err(Issue::Rejected)?),
        None => None,
    };
    let inventory_quantity = match mapping
        .inventory_field
        .as_ref()
        .and_then(|f| fields.text(f))
    {
        Some(raw) => Some(
            raw.parse::<Decimal>()
                .ok()
                .and_then(|d| i64::try_from(d.trunc()).ok())
                .ok_or_else(|| Issue::Rejected(format!("inventory {raw:?} is not a number")))?,
        ),
        None if inactive => Some(0),
        None => None,
    };
    let url = mapping
        .url_template
        .as_deref()
        .map(|t| fill_template(t, code));
    let image_url = mapping
        .image_url_template
        .as_deref()
        .map(|t| fill_template(t, code));
    Ok(ProductRecord {
        id: code.to_owned(),
        title: title.clone(),
        description: mapping.description.as_ref().and_then(|r| r.apply(fields)),
        product_type: mapping.product_type.as_ref().and_then(|r| r.apply(fields)),
        vendor: mapping.vendor.as_ref().and_then(|r| r.apply(fields)),
        url: url.clone(),
        image_url: image_url.clone(),
        variant: VariantRecord {
            id: code.to_owned(),
            title,
            sku: mapping
                .sku
                .as_ref()
                .and_then(|r| r.apply(fields))
                .or_else(|| Some(code.to_owned())),
            price,
            inventory_quantity: if inactive {
                Some(0)
            } else {
                inventory_quantity
            },
            url,
            image_url,
            visibility: inactive.then(|| "hidden".to_owned()),
        },
    })
}

/// Significant digits a price may have: Mailchimp takes amounts as JSON numbers (doubles), which
/// carry up to 15 significant decimal digits exactly.
const MAX_PRICE_DIGITS: usize = 15;

/// A price as sent to Mailchimp: an exact decimal, not negative, and within what its JSON numbers
/// carry exactly (so `92233720368547758.07` is refused rather than sent as `9.223372036854776e16`).
fn check_price(raw: &str) -> Result<Decimal, String> {
    let price = raw
        .parse::<Decimal>()
        .map_err(|_| format!("price {raw:?} is not a number"))?;
    if price.is_sign_negative() && !price.is_zero() {
        return Err(format!("price {raw:?} is negative"));
    }
    let digits = price
        .normalize()
        .mantissa()
        .unsigned_abs()
        .to_string()
        .len();
    if digits > MAX_PRICE_DIGITS {
        return Err(format!(
            "price {raw:?} has {digits} significant digits; Mailchimp takes at most \
             {MAX_PRICE_DIGITS} exactly"
        ));
    }
    Ok(price.abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: serde_json::Value) -> SourceFields {
        SourceFields::of(&v)
    }

    #[test]
    fn an_item_maps_to_a_product_with_one_exact_variant() {
        let mut mapping = ItemMapping {
            inventory_field: Some("qtyOnHand".into()),
            image_url_template: Some("https://img.example/{item_code}.jpg".into()),
            ..ItemMapping::default()
        };
        let f = fields(
            json!({"description": "Widget", "description2": "Blue", "productLine": "W",
                              "price": "12.50", "qtyOnHand": 7, "itemStatus": "ACTIVE"}),
        );
        let p = map_product("W-1", &f, &mapping).unwrap();
        assert_eq!((p.id.as_str(), p.title.as_str()), ("W-1", "Widget"));
        assert_eq!(p.description.as_deref(), Some("Blue"));
        assert_eq!(p.variant.price, Some(Decimal::new(1250, 2)));
        assert_eq!(p.variant.inventory_quantity, Some(7));
        assert_eq!(p.variant.sku.as_deref(), Some("W-1"));
        assert_eq!(p.image_url.as_deref(), Some("https://img.example/W-1.jpg"));
        assert_eq!(p.variant.visibility, None);
        let client = p.to_client();
        assert_eq!(client.variants.len(), 1);
        assert_eq!(client.variants[0].price, Some(Decimal::new(1250, 2)));

        mapping.inactive = InactiveItems::Hide;
        let off = fields(json!({"description": "Old", "itemStatus": "inactive"}));
        let hidden = map_product("OLD", &off, &mapping).unwrap();
        assert_eq!(hidden.variant.visibility.as_deref(), Some("hidden"));
        assert_eq!(hidden.variant.inventory_quantity, Some(0));
        mapping.inactive = InactiveItems::Skip;
        assert_eq!(
            map_product("OLD", &off, &mapping),
            Err(Issue::Skipped("inactive item".into()))
        );
    }

    #[test]
    fn prices_are_exact_non_negative_and_within_range() {
        let mapping = ItemMapping::default();
        for (raw, says) in [
            (json!(-1), "negative"),
            (json!("-0.01"), "negative"),
            (json!(i64::MAX), "significant digits"),
            (json!("92233720368547758.07"), "significant digits"),
            (json!("1234567890123456"), "significant digits"),
            (json!(1e300), "not a number"),
            (json!("NaN"), "not a number"),
        ] {
            match map_product("X-9", &fields(json!({ "price": raw })), &mapping) {
                Err(Issue::Rejected(reason)) => assert!(reason.contains(says), "{raw}: {reason}"),
                other => panic!("{raw}: {other:?}"),
            }
        }
        for (raw, price) in [
            (json!("0"), Decimal::ZERO),
            (json!("-0"), Decimal::ZERO),
            (
                json!("123456789012345"),
                Decimal::new(123_456_789_012_345, 0),
            ),
            (
                json!("9999999999999.99"),
                Decimal::new(999_999_999_999_999, 2),
            ),
            (json!(0.1), Decimal::new(1, 1)),
        ] {
            let product = map_product("X-9", &fields(json!({ "price": raw })), &mapping).unwrap();
            assert_eq!(product.variant.price, Some(price), "{raw}");
        }
    }

    #[test]
    fn a_blank_title_falls_back_to_the_code_and_a_bad_price_rejects() {
        let mapping = ItemMapping::default();
        let p = map_product("X-9", &fields(json!({"description": "  "})), &mapping).unwrap();
        assert_eq!(p.title, "X-9");
        let bad = map_product("X-9", &fields(json!({"price": "twelve"})), &mapping);
        assert!(matches!(bad, Err(Issue::Rejected(r)) if r.contains("twelve")));
    }
}
