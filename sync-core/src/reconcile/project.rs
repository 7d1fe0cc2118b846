//! Both sides brought to one shape before comparing: the client's request types, serialized the
//! same way whether they come from the mapping (what the connector sends) or from a Mailchimp
//! read, then flattened.

use std::collections::BTreeMap;

use mailchimp_client::ecommerce::{
    Customer, CustomerInput, Product, ProductInput, VariantId, VariantInput,
};
use serde_json::{json, Value};

use super::compare::{flatten, Fields};

/// A member's compared fields: its merge fields (the address is the record's key).
pub(crate) fn member_fields(merge_fields: &BTreeMap<String, Value>) -> Fields {
    flatten(&json!({ "merge_fields": merge_fields }))
}

/// Drops the keys that are not compared: the id (the record's key) and, for e-commerce
/// customers, `opt_in_status` (Mailchimp reports the member's marketing consent there, not what
/// was sent, and a `false` sent never downgrades a member).
fn without_keys(value: Value, keys: &[&str]) -> Value {
    match value {
        Value::Object(mut map) => {
            for key in keys {
                map.remove(*key);
            }
            Value::Object(map)
        }
        other => other,
    }
}

/// An e-commerce customer's compared fields.
pub(crate) fn customer_fields(input: &CustomerInput) -> Fields {
    let value = serde_json::to_value(input).unwrap_or(Value::Null);
    flatten(&without_keys(value, &["id", "opt_in_status"]))
}

/// A product's compared fields, its variants keyed by variant id.
pub(crate) fn product_fields(input: &ProductInput) -> Fields {
    let value = serde_json::to_value(input).unwrap_or(Value::Null);
    flatten(&without_keys(value, &["id"]))
}

/// A customer read from Mailchimp, as the request that would write it.
pub(crate) fn customer_input(customer: &Customer) -> CustomerInput {
    let mut input = CustomerInput::new(customer.id.clone(), customer.opt_in_status);
    input.email_address.clone_from(&customer.email_address);
    input.company.clone_from(&customer.company);
    input.first_name.clone_from(&customer.first_name);
    input.last_name.clone_from(&customer.last_name);
    input.address.clone_from(&customer.address);
    input
}

/// A product read from Mailchimp, as the request that would write it.
pub(crate) fn product_input(product: &Product) -> ProductInput {
    let variants = product
        .variants
        .iter()
        .map(|v| {
            let mut input = VariantInput::new(VariantId::from(v.id.as_str()), v.title.clone());
            input.url.clone_from(&v.url);
            input.sku.clone_from(&v.sku);
            input.price = v.price;
            input.inventory_quantity = v.inventory_quantity;
            input.image_url.clone_from(&v.image_url);
            input.backorders.clone_from(&v.backorders);
            input.visibility.clone_from(&v.visibility);
            input
        })
        .collect();
    let mut input = ProductInput::new(product.id.clone(), product.title.clone(), variants);
    input.handle.clone_from(&product.handle);
    input.url.clone_from(&product.url);
    input.description.clone_from(&product.description);
    input.product_type.clone_from(&product.product_type);
    input.vendor.clone_from(&product.vendor);
    input.image_url.clone_from(&product.image_url);
    input
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{map_product, ItemMapping, SourceFields};

    #[test]
    fn a_product_read_back_as_written_compares_equal() {
        let fields = SourceFields::of(&json!({"description": "Widget", "price": "12.50"}));
        let record = map_product("W-1", &fields, &ItemMapping::default()).unwrap();
        let expected = product_fields(&record.to_client());
        assert_eq!(expected["variants.W-1.price"], "12.5");
        assert!(!expected.contains_key("id"));
        let read: Product = serde_json::from_value(json!({
            "id": "W-1", "title": "Widget", "currency_code": "USD",
            "variants": [{"id": "W-1", "title": "Widget", "sku": "W-1", "price": 12.5,
                          "inventory_quantity": 0, "visibility": ""}]
        }))
        .unwrap();
        let actual = product_fields(&product_input(&read));
        assert!(super::super::compare::diff(&expected, &actual).is_empty());
    }
}
