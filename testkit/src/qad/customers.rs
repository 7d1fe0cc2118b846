//! The tenant's customers: generated from the seed as they are read (customer `i` is a pure
//! function of the seed and `i`, see [`Seeding::customer`](super::Seeding::customer)), with only
//! the ones changed, added or deleted since start held. A tenant of a million customers then
//! costs what its changes cost, not a million records.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use super::records::Customer;
use super::seed::CustomerPlan;

/// The customers now, in key order (`customerCode`).
#[derive(Clone, Debug)]
pub(crate) struct Customers {
    plan: CustomerPlan,
    /// Generated customers changed since start, by index.
    changed: HashMap<usize, Customer>,
    /// Generated customers deleted, by index.
    deleted: BTreeSet<usize>,
    /// Customers whose code the seed never generated, by code.
    added: BTreeMap<String, Customer>,
    /// Positions in key order, built on the first read after a deletion or an addition
    /// (without either, position `i` is generated customer `i`).
    order: OnceLock<Arc<Vec<Slot>>>,
}

/// One position of the key order.
#[derive(Clone, Debug)]
enum Slot {
    Generated(u32),
    Added(Arc<str>),
}

impl Customers {
    pub(crate) fn new(plan: CustomerPlan) -> Self {
        Self {
            plan,
            changed: HashMap::new(),
            deleted: BTreeSet::new(),
            added: BTreeMap::new(),
            order: OnceLock::new(),
        }
    }

    /// The generated index of a code, if the seed made it: `C0000001` is index 0.
    fn generated_index(&self, code: &str) -> Option<usize> {
        let digits = code.strip_prefix('C')?;
        if digits.len() != 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number: usize = digits.parse().ok()?;
        (1..=self.plan.len()).contains(&number).then(|| number - 1)
    }

    fn generated(&self, index: usize) -> Option<Customer> {
        if self.deleted.contains(&index) {
            return None;
        }
        Some(
            self.changed
                .get(&index)
                .cloned()
                .unwrap_or_else(|| self.plan.customer(index)),
        )
    }

    /// How many customers there are.
    pub(crate) fn len(&self) -> usize {
        self.plan.len() - self.deleted.len() + self.added.len()
    }

    /// The customer with this code.
    pub(crate) fn get(&self, code: &str) -> Option<Customer> {
        match self.generated_index(code) {
            Some(index) => self.generated(index),
            None => self.added.get(code).cloned(),
        }
    }

    /// Changes the customer with this code; false if there is none.
    pub(crate) fn update(&mut self, code: &str, change: impl FnOnce(&mut Customer)) -> bool {
        let Some(mut customer) = self.get(code) else {
            return false;
        };
        change(&mut customer);
        self.upsert(customer);
        true
    }

    /// Adds a customer, or replaces the one with its code.
    pub(crate) fn upsert(&mut self, customer: Customer) {
        match self.generated_index(&customer.customer_code) {
            Some(index) => {
                if self.deleted.remove(&index) {
                    self.order = OnceLock::new();
                }
                self.changed.insert(index, customer);
            }
            None => {
                if self
                    .added
                    .insert(customer.customer_code.clone(), customer)
                    .is_none()
                {
                    self.order = OnceLock::new();
                }
            }
        }
    }

    /// Deletes the customer with this code; false if there is none.
    pub(crate) fn remove(&mut self, code: &str) -> bool {
        let removed = match self.generated_index(code) {
            Some(index) => {
                self.changed.remove(&index);
                self.deleted.insert(index)
            }
            None => self.added.remove(code).is_some(),
        };
        if removed {
            self.order = OnceLock::new();
        }
        removed
    }

    fn order(&self) -> Option<&Arc<Vec<Slot>>> {
        if self.deleted.is_empty() && self.added.is_empty() {
            return None;
        }
        Some(self.order.get_or_init(|| {
            let mut slots = Vec::with_capacity(self.len());
            let mut added = self.added.keys().peekable();
            for index in (0..self.plan.len()).filter(|i| !self.deleted.contains(i)) {
                let code = format!("C{:07}", index + 1);
                while let Some(code_added) = added.next_if(|a| a.as_str() < code.as_str()) {
                    slots.push(Slot::Added(code_added.as_str().into()));
                }
                slots.push(Slot::Generated(index as u32));
            }
            slots.extend(added.map(|code| Slot::Added(code.as_str().into())));
            Arc::new(slots)
        }))
    }

    /// The customer at a position of the key order.
    pub(crate) fn at(&self, position: usize) -> Option<Customer> {
        match self.order() {
            None => (position < self.plan.len()).then(|| self.generated(position))?,
            Some(order) => match order.get(position)? {
                Slot::Generated(index) => self.generated(*index as usize),
                Slot::Added(code) => self.added.get(&**code).cloned(),
            },
        }
    }

    /// Every customer, in key order, generated one at a time.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Customer> + '_ {
        (0..self.len()).filter_map(|at| self.at(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qad::Seeding;

    fn customers(n: usize) -> (Customers, Vec<Customer>) {
        let seeding = Seeding::new(5).customers(n);
        let held = seeding.generate().unwrap().customers;
        (Customers::new(seeding.plan().unwrap()), held)
    }

    fn codes(customers: &Customers) -> Vec<String> {
        customers.iter().map(|c| c.customer_code).collect()
    }

    #[test]
    fn generated_customers_are_the_generated_data() {
        let (customers, held) = customers(60);
        assert_eq!(customers.iter().collect::<Vec<_>>(), held);
        assert_eq!(customers.get("C0000042"), Some(held[41].clone()));
        assert_eq!(customers.get("C0000061"), None);
    }

    #[test]
    fn changes_additions_and_deletions_keep_key_order() {
        let (mut customers, held) = customers(5);
        assert!(customers.update("C0000002", |c| c.city = Some("Lyon".into())));
        let mut added = held[0].clone();
        added.customer_code = "C0000002A".into();
        customers.upsert(added);
        let mut last = held[0].clone();
        last.customer_code = "D1".into();
        customers.upsert(last);
        assert!(customers.remove("C0000004"));
        assert!(!customers.remove("C0000004"));
        assert_eq!(
            codes(&customers),
            [
                "C0000001",
                "C0000002",
                "C0000002A",
                "C0000003",
                "C0000005",
                "D1"
            ]
        );
        assert_eq!(customers.len(), 6);
        assert_eq!(customers.at(1).unwrap().city.as_deref(), Some("Lyon"));
        // A deleted generated customer comes back where its code sorts.
        customers.upsert(held[3].clone());
        assert_eq!(customers.at(4), Some(held[3].clone()));
        assert!(customers.remove("D1"));
        assert_eq!(customers.len(), 6);
        assert!(customers.at(6).is_none());
    }
}
