//! Deterministic generation of a tenant's customers, items and sales orders.

use std::collections::{BTreeMap, HashSet};

use chrono::{Days, NaiveDate};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::records::{Customer, Item, SalesOrder, SalesOrderLine};

/// The states seeded sales orders cycle through: mostly invoiced, some still open, confirmed or
/// shipped, one in ten cancelled.
const SEED_STATUSES: [&str; 10] = [
    "invoiced",
    "invoiced",
    "confirmed",
    "shipped",
    "invoiced",
    "open",
    "invoiced",
    "invoiced",
    "cancelled",
    "invoiced",
];

/// What to generate, and from which seed.
///
/// The same `Seeding` always yields the same [`Dataset`] (for one build of
/// `rand`: `StdRng` may change between its major versions). Each customer is a
/// pure function of the seed and its index ([`Seeding::customer`]), so a fake
/// tenant of a million customers generates them as they are read instead of
/// holding them. Shares are exact:
/// `invalid_email_share(0.1)` over 50 customers gives exactly 5 invalid emails.
/// Invalid, duplicate and missing-field customers are disjoint sets; unicode
/// names are drawn independently. Seeded dates all fall in 2025, before any
/// date the fake's clock stamps on a later mutation.
///
/// ```
/// use testkit::qad::Seeding;
///
/// let seeding = Seeding::new(7).customers(40).invalid_email_share(0.25);
/// let data = seeding.generate()?;
/// assert_eq!(data.customers.len(), 40);
/// assert_eq!(data, seeding.generate()?);
/// # Ok::<(), testkit::qad::SeedError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Seeding {
    seed: u64,
    customers: usize,
    items: usize,
    sales_orders: usize,
    invalid_email_share: f64,
    duplicate_email_share: f64,
    unicode_name_share: f64,
    missing_field_share: f64,
    customer_po_share: f64,
}

impl Default for Seeding {
    /// Seed 42: 50 customers (5 % invalid emails, 5 % duplicates, 10 % unicode
    /// names, 5 % missing fields), 20 items, 30 sales orders (half with a customer PO).
    fn default() -> Self {
        Self {
            seed: 42,
            customers: 50,
            items: 20,
            sales_orders: 30,
            invalid_email_share: 0.05,
            duplicate_email_share: 0.05,
            unicode_name_share: 0.10,
            missing_field_share: 0.05,
            customer_po_share: 0.5,
        }
    }
}

/// A [`Seeding`] that cannot be generated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// A share outside `0.0..=1.0` (or not a number).
    #[error("seeding share `{name}` is {value}, expected a fraction between 0 and 1")]
    Share {
        /// The setter's name, e.g. `invalid_email_share`.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// Invalid, duplicate and missing-field customers are disjoint, so their shares must sum to at most 1.
    #[error("invalid, duplicate and missing-field email shares sum to {0}, above 1")]
    SharesExceedOne(f64),
    /// Duplicates copy the email of an ordinary customer, and none is left.
    #[error("duplicate emails requested but no customer keeps a valid email to duplicate")]
    NothingToDuplicate,
    /// Sales orders need at least one customer and one item.
    #[error("sales orders requested without customers or items to reference")]
    OrdersNeedCustomersAndItems,
}

/// The generated business data of a tenant, in key order.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Customers, by ascending `customerCode` (`C0000001`, …).
    pub customers: Vec<Customer>,
    /// Items, by ascending `itemCode` (`ITEM-00001`, …).
    pub items: Vec<Item>,
    /// Sales orders, by ascending `salesOrderNumber` (`SO000001`, …).
    pub sales_orders: Vec<SalesOrder>,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl Seeding {
    /// The default amounts and shares, with this seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    setter!(
        /// The RNG seed.
        seed: u64
    );
    setter!(
        /// How many customers.
        customers: usize
    );
    setter!(
        /// How many items.
        items: usize
    );
    setter!(
        /// How many sales orders (each with one to four lines).
        sales_orders: usize
    );
    setter!(
        /// Fraction of customers whose `EMail` is malformed (no `@`, no domain, a space, …).
        invalid_email_share: f64
    );
    setter!(
        /// Fraction of customers whose `EMail` repeats another customer's, sometimes in other letter case.
        duplicate_email_share: f64
    );
    setter!(
        /// Fraction of customers with non-ASCII names (`Zoë`, `Dvořák`, `山田 太郎`, …).
        unicode_name_share: f64
    );
    setter!(
        /// Fraction of customers missing one to three of `EMail`, `telephone`, `city`,
        /// `zipCode`, `addressName`, `countryCode`, `languageCode`, `street1`.
        missing_field_share: f64
    );
    setter!(
        /// Fraction of sales orders carrying a `customerPO`.
        customer_po_share: f64
    );

    /// The seed in use.
    #[must_use]
    pub fn seed_value(&self) -> u64 {
        self.seed
    }

    fn check(&self) -> Result<(), SeedError> {
        let shares = [
            ("invalid_email_share", self.invalid_email_share),
            ("duplicate_email_share", self.duplicate_email_share),
            ("unicode_name_share", self.unicode_name_share),
            ("missing_field_share", self.missing_field_share),
            ("customer_po_share", self.customer_po_share),
        ];
        for (name, value) in shares {
            if !(0.0..=1.0).contains(&value) {
                return Err(SeedError::Share { name, value });
            }
        }
        let disjoint =
            self.invalid_email_share + self.duplicate_email_share + self.missing_field_share;
        if disjoint > 1.0 + f64::EPSILON {
            return Err(SeedError::SharesExceedOne(disjoint));
        }
        if self.sales_orders > 0 && (self.customers == 0 || self.items == 0) {
            return Err(SeedError::OrdersNeedCustomersAndItems);
        }
        Ok(())
    }

    /// How many customers.
    #[must_use]
    pub fn customer_count(&self) -> usize {
        self.customers
    }

    /// Generates the data.
    ///
    /// # Errors
    ///
    /// A [`SeedError`] naming the share or amount that makes this seeding impossible.
    pub fn generate(&self) -> Result<Dataset, SeedError> {
        let plan = self.plan()?;
        let customers = (0..self.customers).map(|i| plan.customer(i)).collect();
        let (items, sales_orders) = self.generate_rest(&plan);
        Ok(Dataset {
            customers,
            items,
            sales_orders,
        })
    }

    /// Customer `index` (from 0) of the generated data, made on its own: the same as
    /// `generate()?.customers[index]`, without making the others. `None` past the last
    /// customer or for a seeding [`generate`](Self::generate) refuses.
    ///
    /// ```
    /// use testkit::qad::Seeding;
    ///
    /// let seeding = Seeding::new(7).customers(1_000_000);
    /// let customer = seeding.customer(999_999).unwrap();
    /// assert_eq!(customer.customer_code, "C1000000");
    /// assert_eq!(Some(customer), seeding.customer(999_999));
    /// assert!(seeding.customer(1_000_000).is_none());
    /// ```
    #[must_use]
    pub fn customer(&self, index: usize) -> Option<Customer> {
        let plan = self.plan().ok()?;
        (index < self.customers).then(|| plan.customer(index))
    }

    /// The roles of the customers (checked), from which each is generated alone.
    pub(crate) fn plan(&self) -> Result<CustomerPlan, SeedError> {
        self.check()?;
        let n = self.customers;
        let invalid = count(self.invalid_email_share, n);
        // Rounding can push the sum of counts past n; the later sets shrink to fit.
        let duplicate = count(self.duplicate_email_share, n).min(n - invalid);
        let missing = count(self.missing_field_share, n).min(n - invalid - duplicate);
        if duplicate > 0 && invalid + duplicate + missing == n {
            return Err(SeedError::NothingToDuplicate);
        }
        Ok(CustomerPlan {
            seed: self.seed,
            n,
            invalid,
            duplicate,
            missing,
            unicode: count(self.unicode_name_share, n),
            roles: Permutation::new(n, mix(self.seed, 0, SALT_ROLES)),
            unicode_order: Permutation::new(n, mix(self.seed, 0, SALT_UNICODE)),
        })
    }

    /// Items and sales orders, generated in one pass from the seed (there are few of them).
    pub(crate) fn generate_rest(&self, plan: &CustomerPlan) -> (Vec<Item>, Vec<SalesOrder>) {
        let mut rng = StdRng::seed_from_u64(mix(self.seed, 0, SALT_REST));
        let items = self.gen_items(&mut rng);
        let sales_orders = self.gen_sales_orders(&mut rng, plan, &items);
        (items, sales_orders)
    }

    fn gen_items(&self, rng: &mut StdRng) -> Vec<Item> {
        (0..self.items)
            .map(|i| Item {
                item_code: format!("ITEM-{:05}", i + 1),
                description: format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
                description2: String::new(),
                unit_of_measure: "EA".to_owned(),
                product_line: pick(rng, PRODUCT_LINES).to_owned(),
                item_status: if rng.random_bool(0.9) {
                    "ACTIVE"
                } else {
                    "INACTIVE"
                }
                .to_owned(),
                price_cents: rng.random_range(100..=50_000),
                last_modified_date: day_of_2025(rng),
            })
            .collect()
    }

    fn gen_sales_orders(
        &self,
        rng: &mut StdRng,
        customers: &CustomerPlan,
        items: &[Item],
    ) -> Vec<SalesOrder> {
        let with_po: HashSet<usize> = rand::seq::index::sample(
            rng,
            self.sales_orders,
            count(self.customer_po_share, self.sales_orders),
        )
        .into_iter()
        .collect();
        (0..self.sales_orders)
            .filter_map(|i| {
                let customer = (customers.n > 0)
                    .then(|| customers.customer(rng.random_range(0..customers.n)))?;
                let order_date = day_of_2025(rng);
                let due_date = order_date
                    .checked_add_days(Days::new(14))
                    .unwrap_or(order_date);
                let line_count = rng.random_range(1..=4u32);
                let lines = (1..=line_count)
                    .filter_map(|line| {
                        let item = items.choose(rng)?;
                        let discount_percent = *[0, 0, 0, 5, 10, 15].choose(rng)?;
                        Some(SalesOrderLine {
                            line,
                            item_code: item.item_code.clone(),
                            site_code: SITE.to_owned(),
                            quantity_ordered: rng.random_range(1..=10),
                            unit_of_measure: item.unit_of_measure.clone(),
                            list_price_cents: item.price_cents,
                            discount_percent,
                            net_price_cents: item.price_cents * i64::from(100 - discount_percent)
                                / 100,
                            due_date,
                        })
                    })
                    .collect();
                Some(SalesOrder {
                    sales_order_number: format!("SO{:06}", i + 1),
                    sold_to_customer_code: customer.customer_code.clone(),
                    bill_to_customer_code: customer.customer_code.clone(),
                    ship_to_customer_code: customer.customer_code.clone(),
                    site_code: SITE.to_owned(),
                    currency_code: customer.currency_code.clone(),
                    order_date,
                    due_date,
                    customer_po: with_po
                        .contains(&i)
                        .then(|| format!("PO-{:06}", rng.random_range(0..1_000_000))),
                    // From the index, not the generator, so adding it kept every other value.
                    status: SEED_STATUSES[i % SEED_STATUSES.len()].to_owned(),
                    last_modified_date: order_date,
                    last_modified_time: rng.random_range(0..86_400),
                    lines,
                })
            })
            .collect()
    }
}

const SITE: &str = "10-100";

const SALT_ROLES: u64 = 1;
const SALT_UNICODE: u64 = 2;
const SALT_REST: u64 = 3;
const SALT_CUSTOMER: u64 = 4;

/// SplitMix64 over the seed, an index and a salt: independent streams for each customer.
fn mix(seed: u64, index: u64, salt: u64) -> u64 {
    let mut z = seed
        .wrapping_add(index.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(salt.wrapping_mul(0xd1b5_4a32_d192_ed03));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A seeded permutation of `0..n` (`i ↦ a·i + b mod n`, `a` prime to `n`), with its inverse:
/// the exact-share roles without holding a shuffled list.
#[derive(Clone, Debug)]
pub(crate) struct Permutation {
    n: u64,
    a: u64,
    b: u64,
    a_inverse: u64,
}

impl Permutation {
    fn new(n: usize, random: u64) -> Self {
        let n = n.max(1) as u64;
        let mut a = random % n;
        while gcd(a, n) != 1 {
            a = (a + 1) % n;
        }
        let a_inverse = modular_inverse(a, n);
        Self {
            n,
            a,
            b: (random >> 32) % n,
            a_inverse,
        }
    }

    fn forward(&self, i: usize) -> usize {
        ((u128::from(self.a) * i as u128 + u128::from(self.b)) % u128::from(self.n)) as usize
    }

    fn backward(&self, p: usize) -> usize {
        let shifted = (p as u128 + u128::from(self.n) - u128::from(self.b)) % u128::from(self.n);
        ((u128::from(self.a_inverse) * shifted) % u128::from(self.n)) as usize
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `a⁻¹ mod n` for `a` prime to `n` (extended Euclid).
fn modular_inverse(a: u64, n: u64) -> u64 {
    if n == 1 {
        return 0;
    }
    let (mut old_r, mut r) = (i128::from(a), i128::from(n));
    let (mut old_s, mut s) = (1i128, 0i128);
    while r != 0 {
        let q = old_r / r;
        (old_r, r) = (r, old_r - q * r);
        (old_s, s) = (s, old_s - q * s);
    }
    old_s.rem_euclid(i128::from(n)) as u64
}

/// Which customers are invalid, duplicate, missing fields or unicode-named, as positions in
/// seeded permutations: `roles` puts the invalid first, then the duplicates, then the
/// missing-field ones, then the ordinary ones (the duplicates' donors).
#[derive(Clone, Debug)]
pub(crate) struct CustomerPlan {
    seed: u64,
    n: usize,
    invalid: usize,
    duplicate: usize,
    missing: usize,
    unicode: usize,
    roles: Permutation,
    unicode_order: Permutation,
}

impl CustomerPlan {
    /// How many customers.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// Customer `index`, alone.
    pub(crate) fn customer(&self, index: usize) -> Customer {
        let role = self.roles.forward(index);
        let unicode = self.unicode_order.forward(index) < self.unicode;
        let mut rng = StdRng::seed_from_u64(mix(self.seed, index as u64, SALT_CUSTOMER));
        let mut generated = customer(&mut rng, index, unicode, role < self.invalid);
        let ordinary = self.invalid + self.duplicate + self.missing;
        if role >= self.invalid && role < self.invalid + self.duplicate {
            // Copy the address of an ordinary customer (one that keeps its own valid email).
            let donor = self.roles.backward(rng.random_range(ordinary..self.n));
            let mut donor_rng = StdRng::seed_from_u64(mix(self.seed, donor as u64, SALT_CUSTOMER));
            let donor_unicode = self.unicode_order.forward(donor) < self.unicode;
            let email = customer(&mut donor_rng, donor, donor_unicode, false)
                .email
                .unwrap_or_default();
            generated.email = Some(if rng.random_bool(0.5) {
                email.to_uppercase()
            } else {
                email
            });
        } else if role >= self.invalid + self.duplicate && role < ordinary {
            drop_fields(&mut rng, &mut generated);
        }
        generated
    }
}

fn count(share: f64, n: usize) -> usize {
    // Shares are checked to lie in 0..=1, so this is a count in 0..=n.
    ((share * n as f64).round() as usize).min(n)
}

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from.choose(rng).copied().unwrap_or_default()
}

fn day_of_2025(rng: &mut StdRng) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
    start
        .checked_add_days(Days::new(rng.random_range(0..365)))
        .unwrap_or(start)
}

struct Country {
    code: &'static str,
    currency: &'static str,
    language: &'static str,
    states: &'static [&'static str],
    cities: &'static [&'static str],
    phone: &'static str,
}

const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        currency: "USD",
        language: "en",
        states: &["CA", "NY", "TX", "IL", "WA"],
        cities: &["Springfield", "Portland", "Austin", "Denver"],
        phone: "+1",
    },
    Country {
        code: "US",
        currency: "USD",
        language: "en",
        states: &["MA", "GA", "OH"],
        cities: &["Boston", "Atlanta", "Columbus"],
        phone: "+1",
    },
    Country {
        code: "GB",
        currency: "GBP",
        language: "en",
        states: &[],
        cities: &["London", "Leeds", "Bristol"],
        phone: "+44",
    },
    Country {
        code: "DE",
        currency: "EUR",
        language: "de",
        states: &[],
        cities: &["Berlin", "München", "Köln"],
        phone: "+49",
    },
    Country {
        code: "FR",
        currency: "EUR",
        language: "fr",
        states: &[],
        cities: &["Paris", "Lyon", "Nantes"],
        phone: "+33",
    },
    Country {
        code: "CA",
        currency: "CAD",
        language: "en",
        states: &["ON", "QC", "BC"],
        cities: &["Toronto", "Montréal", "Vancouver"],
        phone: "+1",
    },
];

const FIRST: &[&str] = &[
    "Anna", "Ben", "Carla", "David", "Emma", "Frank", "Grace", "Henry", "Isla", "Jack", "Kate",
    "Liam", "Maya", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sam", "Tara",
];
const LAST: &[&str] = &[
    "Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Walker", "Wright", "Green", "Hall",
    "Baker", "Clark", "Lewis", "Young", "King", "Hill",
];
const UNICODE_FIRST: &[&str] = &[
    "Zoë",
    "José",
    "Søren",
    "Łukasz",
    "Françoise",
    "Jürgen",
    "Çağla",
    "Đorđe",
    "Siân",
    "Mário",
];
const UNICODE_LAST: &[&str] = &[
    "Müller",
    "Østergaard",
    "Núñez",
    "Dvořák",
    "Šťastný",
    "Żółć",
    "Ærø",
    "Ibáñez",
];
const UNICODE_WHOLE: &[&str] = &["山田 太郎", "김민준", "Иван Иванов", "Γιώργος Παπαδόπουλος"];
const DOMAINS: &[&str] = &[
    "northwind-mfg.com",
    "acme-industrial.com",
    "contoso-parts.de",
];
const ADJECTIVES: &[&str] = &[
    "Classic", "Deluxe", "Compact", "Rugged", "Organic", "Smart", "Vintage",
];
const NOUNS: &[&str] = &[
    "Widget", "Kettle", "Backpack", "Lamp", "Notebook", "Mug", "Bracket", "Gasket",
];
const PRODUCT_LINES: &[&str] = &["1000", "2000", "3000", "4000"];
const CUSTOMER_TYPES: &[&str] = &["RETAIL", "WHOLESALE", "DISTRIB"];
const TIERS: &[&str] = &["GOLD", "SILVER", ""];

fn customer(rng: &mut StdRng, index: usize, unicode: bool, invalid_email: bool) -> Customer {
    let code = format!("C{:07}", index + 1);
    let name = if unicode {
        if rng.random_bool(0.3) {
            pick(rng, UNICODE_WHOLE).to_owned()
        } else {
            format!("{} {}", pick(rng, UNICODE_FIRST), pick(rng, UNICODE_LAST))
        }
    } else {
        format!("{} {}", pick(rng, FIRST), pick(rng, LAST))
    };
    // Unicode names get a code-based address so every valid email stays ASCII and unique.
    let local = if unicode {
        code.to_lowercase()
    } else {
        format!("{}.{}", name.to_lowercase().replace(' ', "."), index + 1)
    };
    let domain = pick(rng, DOMAINS);
    let email = if invalid_email {
        match rng.random_range(0..5) {
            0 => format!("{local}.{domain}"),
            1 => format!("{local}@"),
            2 => format!("{local}@example"),
            3 => format!("{local} @{domain}"),
            _ => format!("{local}@@{domain}"),
        }
    } else {
        format!("{local}@{domain}")
    };
    let country = COUNTRIES.choose(rng).unwrap_or(&COUNTRIES[0]);
    let state = country.states.choose(rng).map(|s| (*s).to_owned());
    Customer {
        customer_code: code.clone(),
        shared_set_code: "SHARED".to_owned(),
        business_relation_code: code,
        address_search_name: name.to_uppercase(),
        address_name: Some(name),
        street1: Some(format!("{} Market Street", rng.random_range(1..=999))),
        street2: String::new(),
        street3: String::new(),
        city: Some(pick(rng, country.cities).to_owned()),
        zip_code: Some(format!("{:05}", rng.random_range(1000..99_999))),
        state_code: state,
        country_code: Some(country.code.to_owned()),
        email: Some(email),
        telephone: Some(format!(
            "{} 555 {:04}",
            country.phone,
            rng.random_range(0..10_000)
        )),
        fax: String::new(),
        web_site: String::new(),
        currency_code: country.currency.to_owned(),
        customer_currency_code: country.currency.to_owned(),
        language_code: Some(country.language.to_owned()),
        credit_terms_code: "NET30".to_owned(),
        customer_type_code: pick(rng, CUSTOMER_TYPES).to_owned(),
        is_active: rng.random_bool(0.95),
        last_modified_date: day_of_2025(rng),
        last_modified_time: rng.random_range(0..86_400),
        last_modified_user: "mfg".to_owned(),
        custom: BTreeMap::from([("customShort1".to_owned(), Value::from(pick(rng, TIERS)))]),
    }
}

fn drop_fields(rng: &mut StdRng, customer: &mut Customer) {
    let how_many = rng.random_range(1..=3);
    for field in rand::seq::index::sample(rng, 8, how_many) {
        match field {
            0 => customer.email = None,
            1 => customer.telephone = None,
            2 => customer.city = None,
            3 => customer.zip_code = None,
            4 => customer.address_name = None,
            5 => customer.country_code = None,
            6 => customer.language_code = None,
            _ => customer.street1 = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_valid_email(email: &str) -> bool {
        match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !local.contains(' ')
                    && domain.contains('.')
                    && !domain.contains('@')
            }
            None => false,
        }
    }

    #[test]
    fn shares_are_exact_and_disjoint() {
        let data = Seeding::new(3)
            .customers(100)
            .invalid_email_share(0.1)
            .duplicate_email_share(0.2)
            .unicode_name_share(0.3)
            .missing_field_share(0.05)
            .generate()
            .unwrap();
        let invalid = data
            .customers
            .iter()
            .filter(|c| c.email.as_deref().is_some_and(|e| !is_valid_email(e)))
            .count();
        assert_eq!(invalid, 10);
        let mut seen = HashSet::new();
        let duplicates = data
            .customers
            .iter()
            .filter_map(|c| c.email.as_deref())
            .filter(|e| is_valid_email(e))
            .filter(|e| !seen.insert(e.to_lowercase()))
            .count();
        // Several duplicates can copy the same donor; each copy still counts once.
        assert_eq!(duplicates, 20);
        let unicode = data
            .customers
            .iter()
            .filter(|c| c.address_name.as_deref().is_some_and(|n| !n.is_ascii()))
            .count();
        // Missing-field customers may have lost their (unicode) name.
        assert!((25..=30).contains(&unicode), "{unicode}");
        let missing = data
            .customers
            .iter()
            .filter(|c| {
                c.email.is_none()
                    || c.telephone.is_none()
                    || c.city.is_none()
                    || c.zip_code.is_none()
                    || c.address_name.is_none()
                    || c.country_code.is_none()
                    || c.language_code.is_none()
                    || c.street1.is_none()
            })
            .count();
        assert_eq!(missing, 5);
    }

    #[test]
    fn orders_reference_seeded_customers_and_items() {
        let data = Seeding::new(9)
            .customers(10)
            .items(5)
            .sales_orders(40)
            .customer_po_share(0.25)
            .generate()
            .unwrap();
        assert_eq!(data.sales_orders.len(), 40);
        assert_eq!(
            data.sales_orders
                .iter()
                .filter(|o| o.customer_po.is_some())
                .count(),
            10
        );
        for order in &data.sales_orders {
            assert!(data
                .customers
                .iter()
                .any(|c| c.customer_code == order.sold_to_customer_code));
            assert!((1..=4).contains(&order.lines.len()));
            for line in &order.lines {
                assert!(data.items.iter().any(|i| i.item_code == line.item_code));
                assert!(line.net_price_cents <= line.list_price_cents);
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        // Many missing-field and duplicate customers: their RNG draws must
        // happen in a fixed order, not in a hash set's.
        let seeding = Seeding::new(11)
            .customers(300)
            .duplicate_email_share(0.3)
            .missing_field_share(0.3);
        let first = seeding.generate().unwrap();
        for _ in 0..5 {
            assert_eq!(seeding.generate().unwrap(), first);
        }
    }

    #[test]
    fn different_seeds_differ() {
        let a = Seeding::new(1).generate().unwrap();
        let b = Seeding::new(2).generate().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn impossible_seedings_are_named() {
        assert_eq!(
            Seeding::new(1).unicode_name_share(1.5).generate(),
            Err(SeedError::Share {
                name: "unicode_name_share",
                value: 1.5
            })
        );
        assert!(matches!(
            Seeding::new(1)
                .invalid_email_share(0.6)
                .duplicate_email_share(0.6)
                .generate(),
            Err(SeedError::SharesExceedOne(_))
        ));
        assert_eq!(
            Seeding::new(1).customers(0).generate(),
            Err(SeedError::OrdersNeedCustomersAndItems)
        );
        assert_eq!(
            Seeding::new(1)
                .customers(4)
                .invalid_email_share(0.5)
                .duplicate_email_share(0.5)
                .missing_field_share(0.0)
                .generate(),
            Err(SeedError::NothingToDuplicate)
        );
    }
}
