//! The fake's in-memory data, and its plain-data snapshot.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

/// A map that keeps insertion order, so collections page in a stable order.
#[derive(Debug, Clone)]
pub(crate) struct Table<V> {
    order: Vec<String>,
    items: HashMap<String, V>,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Self {
            order: Vec::new(),
            items: HashMap::new(),
        }
    }
}

impl<V> Table<V> {
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.items.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.items.get_mut(key)
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.items.contains_key(key)
    }

    /// Inserts or replaces; a new key goes last.
    pub(crate) fn insert(&mut self, key: String, value: V) {
        if self.items.insert(key.clone(), value).is_none() {
            self.order.push(key);
        }
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let removed = self.items.remove(key);
        if removed.is_some() {
            self.order.retain(|k| k != key);
        }
        removed
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Values in insertion order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.order.iter().filter_map(|k| self.items.get(k))
    }

    /// Keys and values in insertion order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.order
            .iter()
            .filter_map(|k| self.items.get(k).map(|v| (k, v)))
    }
}

/// One audience.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListData {
    /// The list's own fields (as returned, less computed stats).
    pub(crate) list: Value,
    /// Members by subscriber hash (archived members stay, with status `archived`).
    pub(crate) members: Table<Value>,
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
    pub(crate) customers: Table<Value>,
    pub(crate) products: Table<ProductData>,
    pub(crate) orders: Table<Value>,
}

/// A product (without variants) and its variants.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProductData {
    pub(crate) product: Value,
    pub(crate) variants: Table<Value>,
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
