//! Changes made "in Mailchimp" behind the connector's back, for drift tests: a member deleted
//! or edited by hand, a product removed, a price changed. Each bypasses the API, its rules and
//! its counters, as [`FakeMailchimp::seed_member`] does.

use serde_json::{json, Value};

use super::{request::now, subscriber_hash, FakeMailchimp};
use crate::{
    error::{Error, Result},
    packed::Packed,
};

impl FakeMailchimp {
    /// Removes the member with `email` from `list_id` as if someone deleted it in Mailchimp
    /// (the address is not forgotten: it can be added again).
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown list or a member not in it.
    pub fn delete_member(&self, list_id: &str, email: &str) -> Result<()> {
        let mut state = self.app.lock();
        let list = state
            .lists
            .get_mut(list_id)
            .ok_or_else(|| Error::Seed(format!("no list {list_id}")))?;
        list.members
            .remove(&subscriber_hash(email))
            .map(|_| ())
            .ok_or_else(|| Error::Seed(format!("no member {email} in list {list_id}")))
    }

    /// Sets one merge field of a member (a text value, or an object for an address), as an
    /// edit in Mailchimp's UI would; `last_changed` moves to now.
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown list or a member not in it.
    pub fn set_merge_field(
        &self,
        list_id: &str,
        email: &str,
        tag: &str,
        value: impl Into<Value>,
    ) -> Result<()> {
        let mut state = self.app.lock();
        let value = value.into();
        let updated = state.lists.get_mut(list_id).is_some_and(|list| {
            list.members.update(&subscriber_hash(email), |member| {
                member["merge_fields"][tag] = value;
                member["last_changed"] = json!(now());
            })
        });
        updated
            .then_some(())
            .ok_or_else(|| Error::Seed(format!("no member {email} in list {list_id}")))
    }

    /// Sets one top-level field of a member's stored JSON to any value, even one of a type the
    /// API never sends (`merge_fields` as a string, say): a record served in a shape clients do
    /// not expect, for tests of what a reader does with an item that does not decode.
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown list or a member not in it.
    pub fn set_member_raw_field(
        &self,
        list_id: &str,
        email: &str,
        field: &str,
        value: impl Into<Value>,
    ) -> Result<()> {
        let mut state = self.app.lock();
        let value = value.into();
        let updated = state.lists.get_mut(list_id).is_some_and(|list| {
            list.members
                .update(&subscriber_hash(email), |member| member[field] = value)
        });
        updated
            .then_some(())
            .ok_or_else(|| Error::Seed(format!("no member {email} in list {list_id}")))
    }

    /// Removes a product and its variants from a store.
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown store or product.
    pub fn delete_product(&self, store_id: &str, product_id: &str) -> Result<()> {
        let mut state = self.app.lock();
        let store = state
            .stores
            .get_mut(store_id)
            .ok_or_else(|| Error::Seed(format!("no store {store_id}")))?;
        store
            .products
            .remove(product_id)
            .map(|_| ())
            .ok_or_else(|| Error::Seed(format!("no product {product_id} in store {store_id}")))
    }

    /// Sets the price of one variant of a product.
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown store, product or variant.
    pub fn set_variant_price(
        &self,
        store_id: &str,
        product_id: &str,
        variant_id: &str,
        price: f64,
    ) -> Result<()> {
        let mut state = self.app.lock();
        let variant = state
            .stores
            .get_mut(store_id)
            .and_then(|store| store.products.get_mut(product_id))
            .and_then(|product| product.variants.get_mut(variant_id))
            .ok_or_else(|| {
                Error::Seed(format!(
                    "no variant {variant_id} of product {product_id} in store {store_id}"
                ))
            })?;
        let mut value = variant.value();
        value["price"] = json!(price);
        value["updated_at"] = json!(now());
        *variant = Packed::new(&value);
        Ok(())
    }

    /// Removes an e-commerce customer from a store (its audience member stays).
    ///
    /// # Errors
    ///
    /// [`Error::Seed`] for an unknown store or customer.
    pub fn delete_customer(&self, store_id: &str, customer_id: &str) -> Result<()> {
        let mut state = self.app.lock();
        let store = state
            .stores
            .get_mut(store_id)
            .ok_or_else(|| Error::Seed(format!("no store {store_id}")))?;
        store
            .customers
            .remove(customer_id)
            .map(|_| ())
            .ok_or_else(|| Error::Seed(format!("no customer {customer_id} in store {store_id}")))
    }
}
