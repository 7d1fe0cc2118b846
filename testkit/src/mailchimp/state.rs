//! The fake's in-memory data, and its plain-data snapshot.

use std::collections::{BTreeMap, HashMap, HashSet};

use indexmap::IndexMap;
use serde_json::Value;

pub(crate) use super::members::Members;
use crate::packed::Packed;

/// A map that keeps insertion order, so collections page in a stable order.
///
/// A removed key leaves a tombstone, so removal is O(1) and positions (which the member index
/// keeps) stay put; tombstones are swept once they outnumber the live entries, and a removed key
/// written again goes last, as a new key does. Both shift positions: [`Table::generation`] tells.
#[derive(Debug, Clone)]
pub(crate) struct Table<V> {
    slots: IndexMap<Box<str>, Option<V>>,
    live: usize,
    generation: u64,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Self {
            slots: IndexMap::new(),
            live: 0,
            generation: 0,
        }
    }
}

impl<V> Table<V> {
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.slots.get(key).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.slots.get_mut(key).and_then(Option::as_mut)
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Inserts or replaces; a new key goes last. Returns the replaced value.
    pub(crate) fn insert(&mut self, key: String, value: V) -> Option<V> {
        if let Some(at) = self.slots.get_index_of(key.as_str()) {
            let slot = &mut self.slots[at];
            if slot.is_some() {
                return slot.replace(value);
            }
            // A removed key comes back as a new one: last. O(n), but rare (a deleted member
            // re-added, a product deleted by hand and written again).
            self.slots.shift_remove_index(at);
            self.generation += 1;
        }
        self.slots.insert(key.into_boxed_str(), Some(value));
        self.live += 1;
        None
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let removed = self.slots.get_mut(key).and_then(Option::take)?;
        self.live -= 1;
        let dead = self.slots.len() - self.live;
        if dead > 64 && dead > self.live {
            self.slots.retain(|_, v| v.is_some());
            self.generation += 1;
        }
        Some(removed)
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Values in insertion order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.values().filter_map(Option::as_ref)
    }

    /// Keys and values in insertion order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.slots
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (&**k, v)))
    }

    /// The position of a live key.
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        let (at, _, slot) = self.slots.get_full(key)?;
        slot.as_ref().map(|_| at)
    }

    /// The live entry at a position.
    pub(crate) fn at(&self, position: usize) -> Option<&V> {
        self.slots.get_index(position).and_then(|(_, v)| v.as_ref())
    }

    /// How many positions there are, removed ones included.
    pub(crate) fn positions(&self) -> usize {
        self.slots.len()
    }

    /// Changes whenever positions shift.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

/// One audience.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListData {
    /// The list's own fields (as returned, less computed stats).
    pub(crate) list: Value,
    /// Members by subscriber hash (archived members stay, with status `archived`).
    pub(crate) members: Members,
    /// Subscriber hashes of permanently deleted members.
    pub(crate) forgotten: HashSet<String>,
    /// Subscriber hashes of members who unsubscribed themselves (not through the API): Mailchimp
    /// refuses to subscribe them again.
    pub(crate) self_unsubscribed: HashSet<String>,
    /// Subscriber hashes of addresses under Mailchimp's signup throttling ("signed up to a lot of
    /// lists very recently"), injected by tests.
    pub(crate) signup_throttled: HashSet<String>,
    pub(crate) merge_fields: Table<Value>,
    /// Webhooks by id, with their signing secret kept aside.
    pub(crate) webhooks: Table<WebhookData>,
    /// Tag ids by name.
    pub(crate) tags: Table<u64>,
    /// When each `(subscriber hash, tag name)` was added.
    pub(crate) tag_dates: HashMap<(String, String), String>,
}

/// A registered webhook and the secret it signs with.
#[derive(Debug, Clone)]
pub(crate) struct WebhookData {
    pub(crate) webhook: Value,
    pub(crate) signing_secret: Option<String>,
}

/// One e-commerce store and everything under it.
#[derive(Debug, Clone, Default)]
pub(crate) struct StoreData {
    pub(crate) store: Value,
    pub(crate) customers: Table<Packed>,
    pub(crate) products: Table<ProductData>,
    /// Orders stay plain JSON: every page of orders sums them all for the customers' totals.
    pub(crate) orders: Table<Value>,
}

/// A product (without variants) and its variants.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProductData {
    pub(crate) product: Packed,
    pub(crate) variants: Table<Packed>,
}

/// Everything the fake knows.
#[derive(Debug, Clone, Default)]
pub(crate) struct MailchimpState {
    pub(crate) lists: Table<ListData>,
    pub(crate) stores: Table<StoreData>,
    /// Source of ids for tags, merge fields, webhooks and the like.
    pub(crate) next_id: u64,
}

impl MailchimpState {
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// A copy of the fake's whole state as plain JSON, for assertions.
///
/// Values are shaped as the API returns them; collections keep the API's (insertion) order and are keyed
/// by their parent's id.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct MailchimpSnapshot {
    /// Audiences.
    pub lists: Vec<Value>,
    /// Members by list id, archived ones included.
    pub members: BTreeMap<String, Vec<Value>>,
    /// Subscriber hashes of forgotten (permanently deleted) emails, by list id.
    pub forgotten: BTreeMap<String, Vec<String>>,
    /// Webhooks by list id (without their signing secrets).
    pub webhooks: BTreeMap<String, Vec<Value>>,
    /// E-commerce stores.
    pub stores: Vec<Value>,
    /// Customers by store id.
    pub customers: BTreeMap<String, Vec<Value>>,
    /// Products by store id, each with all its variants.
    pub products: BTreeMap<String, Vec<Value>>,
    /// Variants by `(store id, product id)`.
    pub variants: BTreeMap<(String, String), Vec<Value>>,
    /// Orders by store id.
    pub orders: BTreeMap<String, Vec<Value>>,
}

impl MailchimpSnapshot {
    /// The member of `list_id` with this email (any case), if present.
    pub fn member(&self, list_id: &str, email: &str) -> Option<&Value> {
        let hash = crate::mailchimp::subscriber_hash(email);
        self.members
            .get(list_id)?
            .iter()
            .find(|m| m["id"] == hash.as_str())
    }

    /// The customer `id` of `store_id`, if present.
    pub fn customer(&self, store_id: &str, id: &str) -> Option<&Value> {
        find_by_id(self.customers.get(store_id)?, id)
    }

    /// The product `id` of `store_id` (with all its variants), if present.
    pub fn product(&self, store_id: &str, id: &str) -> Option<&Value> {
        find_by_id(self.products.get(store_id)?, id)
    }

    /// The order `id` of `store_id`, if present.
    pub fn order(&self, store_id: &str, id: &str) -> Option<&Value> {
        find_by_id(self.orders.get(store_id)?, id)
    }

    /// How many members, customers, products, variants and orders there are in all.
    pub fn record_count(&self) -> usize {
        let count = |m: &BTreeMap<String, Vec<Value>>| m.values().map(Vec::len).sum::<usize>();
        count(&self.members)
            + count(&self.customers)
            + count(&self.products)
            + self.variants.values().map(Vec::len).sum::<usize>()
            + count(&self.orders)
    }
}

fn find_by_id<'a>(values: &'a [Value], id: &str) -> Option<&'a Value> {
    values.iter().find(|v| v["id"] == id)
}
