//! Stores: `POST/GET /ecommerce/stores`, `GET/PATCH/DELETE
//! /ecommerce/stores/{store_id}`, and [`Ecommerce::ensure_store`].

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::address::Address;
use super::ids::StoreId;
use super::read::GetRequest;
use super::resource::Resource;
use super::validate;
use super::Ecommerce;
use crate::error::{Error, Result};
use crate::ids::ListId;
use crate::page::{collection_methods, Collection};

/// A store, as Mailchimp returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Store {
    /// The store id.
    pub id: StoreId,
    /// The audience the store is linked to; it can never change.
    pub list_id: ListId,
    /// The store's name.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub name: String,
    /// The ISO 4217 currency of the store's amounts.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub currency_code: String,
    /// The e-commerce platform, such as `QAD`.
    #[serde(default)]
    pub platform: Option<String>,
    /// The store's domain.
    #[serde(default)]
    pub domain: Option<String>,
    /// Whether the store is syncing: automations are paused while `true`.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub is_syncing: bool,
    /// The store's email address.
    #[serde(default)]
    pub email_address: Option<String>,
    /// The currency format, such as `€`.
    #[serde(default)]
    pub money_format: Option<String>,
    /// The primary locale, such as `fr`.
    #[serde(default)]
    pub primary_locale: Option<String>,
    /// The time zone, such as `Europe/Paris`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The store's phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// The store's address.
    #[serde(default)]
    pub address: Option<Address>,
    /// Whether the linked audience is active.
    #[serde(default)]
    pub list_is_active: Option<bool>,
    /// When the store was created.
    #[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// When the store was last updated.
    #[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// A store to create, or the desired state for [`Ecommerce::ensure_store`].
///
/// `id`, `list_id`, `name` and `currency_code` are required; set the optional
/// fields on the value before sending.
///
/// ```
/// use mailchimp_client::ecommerce::{NewStore, StoreId};
/// use mailchimp_client::ListId;
///
/// let mut store = NewStore::new(StoreId::from("acme-eu"), ListId::from("a1b2c3"), "Acme EU", "EUR");
/// store.platform = Some("QAD".into());
/// store.is_syncing = Some(true);
/// let json = serde_json::to_value(&store).unwrap();
/// assert_eq!(json["currency_code"], "EUR");
/// assert!(json.get("domain").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NewStore {
    /// The store id (required).
    pub id: StoreId,
    /// The audience to link the store to (required; immutable afterwards).
    pub list_id: ListId,
    /// The store's name (required).
    pub name: String,
    /// The ISO 4217 currency code (required), such as `EUR`.
    pub currency_code: String,
    /// The e-commerce platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The store's domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Whether the store starts syncing (automations paused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_syncing: Option<bool>,
    /// The store's email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// The currency format, such as `€`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub money_format: Option<String>,
    /// The primary locale, such as `fr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_locale: Option<String>,
    /// The time zone, such as `Europe/Paris`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The store's phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The store's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl NewStore {
    /// A store with its required fields and no optional ones.
    pub fn new(
        id: StoreId,
        list_id: ListId,
        name: impl Into<String>,
        currency_code: impl Into<String>,
    ) -> Self {
        NewStore {
            id,
            list_id,
            name: name.into(),
            currency_code: currency_code.into(),
            platform: None,
            domain: None,
            is_syncing: None,
            email_address: None,
            money_format: None,
            primary_locale: None,
            timezone: None,
            phone: None,
            address: None,
        }
    }

    fn validate(&self) -> Result<()> {
        validate::non_empty("store.id", self.id.as_str())?;
        validate::non_empty("store.list_id", self.list_id.as_str())?;
        validate::non_empty("store.name", &self.name)?;
        validate::currency_code("store.currency_code", &self.currency_code)
    }

    /// The fields to `PATCH` so that `actual` matches this spec: required
    /// fields always compared, optional ones only when set here.
    fn changes_from(&self, actual: &Store) -> StoreUpdate {
        fn differs(wanted: &Option<String>, actual: &Option<String>) -> Option<String> {
            wanted
                .as_ref()
                .filter(|w| w.as_str() != actual.as_deref().unwrap_or(""))
                .cloned()
        }
        let mut update = StoreUpdate::default();
        if self.name != actual.name {
            update.name = Some(self.name.clone());
        }
        if self.currency_code != actual.currency_code {
            update.currency_code = Some(self.currency_code.clone());
        }
        update.platform = differs(&self.platform, &actual.platform);
        update.domain = differs(&self.domain, &actual.domain);
        update.is_syncing = self.is_syncing.filter(|&s| s != actual.is_syncing);
        update.email_address = differs(&self.email_address, &actual.email_address);
        update.money_format = differs(&self.money_format, &actual.money_format);
        update.primary_locale = differs(&self.primary_locale, &actual.primary_locale);
        update.timezone = differs(&self.timezone, &actual.timezone);
        update.phone = differs(&self.phone, &actual.phone);
        let empty = Address::default();
        update.address = self
            .address
            .as_ref()
            .filter(|wanted| !wanted.is_satisfied_by(actual.address.as_ref().unwrap_or(&empty)))
            .cloned();
        update
    }
}

/// The fields to change on a store (`PATCH`); unset fields are untouched.
/// `id` and `list_id` cannot change.
///
/// ```
/// use mailchimp_client::ecommerce::StoreUpdate;
///
/// let update = StoreUpdate::syncing(false);
/// assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"is_syncing":false}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StoreUpdate {
    /// The store's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The e-commerce platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The store's domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Whether the store is syncing (automations paused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_syncing: Option<bool>,
    /// The store's email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// The ISO 4217 currency code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    /// The currency format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub money_format: Option<String>,
    /// The primary locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_locale: Option<String>,
    /// The time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The store's phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The store's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl StoreUpdate {
    /// An update that only sets `is_syncing`: `true` before a backfill,
    /// `false` after it.
    pub fn syncing(is_syncing: bool) -> Self {
        StoreUpdate {
            is_syncing: Some(is_syncing),
            ..StoreUpdate::default()
        }
    }

    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == StoreUpdate::default()
    }
}

/// What [`Ecommerce::ensure_store`] found and did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EnsuredStore {
    /// The store as it now is.
    pub store: Store,
    /// What was written.
    pub outcome: EnsureOutcome,
}

/// The write [`Ecommerce::ensure_store`] made.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EnsureOutcome {
    /// The store did not exist and was created.
    Created,
    /// The store existed; these fields differed and were patched.
    Patched(Box<StoreUpdate>),
    /// The store existed as specified; nothing was written.
    Unchanged,
}

impl Ecommerce {
    /// `GET /ecommerce/stores`: the account's stores.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// let page = client.ecommerce().stores().count(100).send().await?;
    /// for store in page.items {
    ///     println!("{} → audience {}", store.id, store.list_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stores(&self) -> StoresRequest {
        StoresRequest {
            inner: self.stores_resource().list(),
        }
    }

    /// `POST /ecommerce/stores`: creates a store. Not retried (a `POST`);
    /// prefer [`ensure_store`](Self::ensure_store), which is safe to repeat.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the field when a required field is
    /// empty or the currency code is not three uppercase letters (no request
    /// is sent); [`Error::InvalidResource`] when Mailchimp rejects the store
    /// (for example, the id is taken); otherwise the API and transport errors
    /// of [`Error`].
    pub async fn create_store(&self, store: &NewStore) -> Result<Store> {
        store.validate()?;
        self.stores_resource().post(store).await
    }

    /// Makes sure the store `spec.id` exists, linked to `spec.list_id`, with
    /// the fields `spec` sets: creates it when absent, patches only the
    /// fields that differ, and writes nothing when it already matches. Run
    /// it before any other e-commerce write.
    ///
    /// The create is retried like a `PUT`: it follows a `GET` that found no
    /// store, and a repeat can only fail with "already exists", never make a
    /// second store. When the create is refused with a `400` (a retried
    /// create that had landed, or a concurrent caller), a second `GET` looks
    /// again: a store found then is checked and patched like any existing
    /// one; otherwise the create's error is returned.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::{EnsureOutcome, NewStore, StoreId};
    /// use mailchimp_client::ListId;
    ///
    /// let spec = NewStore::new(StoreId::from("acme-eu"), ListId::from("a1b2c3"), "Acme EU", "EUR");
    /// let ensured = client.ecommerce().ensure_store(&spec).await?;
    /// match ensured.outcome {
    ///     EnsureOutcome::Created => println!("created {}", ensured.store.id),
    ///     EnsureOutcome::Patched(changes) => println!("patched {changes:?}"),
    ///     EnsureOutcome::Unchanged => println!("already set up"),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::StoreLinkedToOtherAudience`] when the store exists but is
    /// linked to another audience (nothing is written);
    /// [`Error::InvalidInput`] for a spec that fails the checks of
    /// [`create_store`](Self::create_store); otherwise the API and transport
    /// errors of [`Error`].
    pub async fn ensure_store(&self, spec: &NewStore) -> Result<EnsuredStore> {
        self.ensure_store_checked(spec, |_| Ok(())).await
    }

    /// [`ensure_store`](Self::ensure_store), with `check` asked about an existing store before
    /// anything is written to it: `Err(reason)` stops with [`Error::StoreRefused`] and writes
    /// nothing. A store this call creates is not checked.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::{NewStore, StoreId};
    /// use mailchimp_client::ListId;
    ///
    /// let spec = NewStore::new(StoreId::from("acme-eu"), ListId::from("a1b2c3"), "Acme EU", "EUR");
    /// client
    ///     .ecommerce()
    ///     .ensure_store_checked(&spec, |store| match store.platform.as_deref() {
    ///         Some("Shopify") => Err("another platform feeds this store".into()),
    ///         _ => Ok(()),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ensure_store`](Self::ensure_store), and [`Error::StoreRefused`].
    pub async fn ensure_store_checked(
        &self,
        spec: &NewStore,
        check: impl FnOnce(&Store) -> std::result::Result<(), String>,
    ) -> Result<EnsuredStore> {
        spec.validate()?;
        let handler = self.store(&spec.id);
        let existing = match handler.get().send().await {
            Ok(store) => store,
            Err(err) if err.is_not_found() => {
                match self.stores_resource().post_idempotent(spec).await {
                    Ok(created) => {
                        return Ok(EnsuredStore {
                            store: created,
                            outcome: EnsureOutcome::Created,
                        })
                    }
                    // "Already exists": a retried create whose first attempt
                    // landed, or another worker won the race. Mailchimp says
                    // so with a 400 titled "Bad Request" (not "Invalid
                    // Resource"), so any 400 is re-checked: if a store is
                    // there now, check it like any existing one.
                    Err(post_err) if post_err.status() == Some(400) => {
                        handler.get().send().await.map_err(|_| post_err)?
                    }
                    Err(post_err) => return Err(post_err),
                }
            }
            Err(err) => return Err(err),
        };
        if existing.list_id != spec.list_id {
            return Err(Error::StoreLinkedToOtherAudience {
                store_id: spec.id.clone(),
                expected_list_id: spec.list_id.clone(),
                actual_list_id: existing.list_id,
            });
        }
        if let Err(reason) = check(&existing) {
            return Err(Error::StoreRefused {
                store_id: spec.id.clone(),
                reason,
            });
        }
        let changes = spec.changes_from(&existing);
        if changes.is_empty() {
            return Ok(EnsuredStore {
                store: existing,
                outcome: EnsureOutcome::Unchanged,
            });
        }
        let store = handler.update(&changes).await?;
        Ok(EnsuredStore {
            store,
            outcome: EnsureOutcome::Patched(Box::new(changes)),
        })
    }

    /// The store `id`: its details, customers, products and orders.
    pub fn store(&self, id: &StoreId) -> StoreHandler {
        StoreHandler {
            stores: self.stores_resource(),
            id: id.clone(),
        }
    }

    fn stores_resource(&self) -> Resource {
        Resource::top_level(self.client.clone(), "stores")
    }
}

/// `GET /ecommerce/stores`; made by [`Ecommerce::stores`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct StoresRequest {
    inner: Collection,
}

impl StoresRequest {
    collection_methods!(Store);
}

/// One store; made by [`Ecommerce::store`]. Holds a clone of the client.
#[derive(Debug, Clone)]
pub struct StoreHandler {
    stores: Resource,
    id: StoreId,
}

impl StoreHandler {
    /// The store id.
    pub fn id(&self) -> &StoreId {
        &self.id
    }

    /// The store's sub-collection `name`, such as `customers`.
    pub(crate) fn resource(&self, name: &'static str) -> Resource {
        self.stores.nested(self.id.as_str(), name)
    }

    /// `GET /ecommerce/stores/{store_id}`.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::StoreId;
    ///
    /// let store = client.ecommerce().store(&StoreId::from("acme-eu")).get().send().await?;
    /// println!("{} syncing: {}", store.name, store.is_syncing);
    /// # Ok(()) }
    /// ```
    pub fn get(&self) -> GetRequest<Store> {
        self.stores.get(self.id.as_str())
    }

    /// `PATCH /ecommerce/stores/{store_id}`: changes the fields set in
    /// `update`, such as [`StoreUpdate::syncing`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown store; otherwise the API and
    /// transport errors of [`Error`].
    pub async fn update(&self, update: &StoreUpdate) -> Result<Store> {
        self.stores.patch(self.id.as_str(), update).await
    }

    /// `DELETE /ecommerce/stores/{store_id}`: deletes the store and all its
    /// customers, products, orders and carts.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown store; otherwise the API and
    /// transport errors of [`Error`].
    pub async fn delete(&self) -> Result<()> {
        self.stores.delete(self.id.as_str()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing() -> Store {
        serde_json::from_str(
            r#"{"id":"s1","list_id":"l1","name":"Shop","currency_code":"EUR","platform":"QAD",
                "domain":"","is_syncing":false,"address":{"city":"Lyon","longitude":4.8},
                "created_at":"2024-01-01T00:00:00+00:00","updated_at":"","connected_site":{}}"#,
        )
        .unwrap()
    }

    #[test]
    fn matching_spec_has_no_changes() {
        let mut spec = NewStore::new("s1".into(), "l1".into(), "Shop", "EUR");
        spec.platform = Some("QAD".into());
        spec.is_syncing = Some(false);
        spec.address = Some(Address {
            city: Some("Lyon".into()),
            ..Address::default()
        });
        assert!(spec.changes_from(&existing()).is_empty());
    }

    #[test]
    fn only_differing_fields_are_patched() {
        let mut spec = NewStore::new("s1".into(), "l1".into(), "Shop 2", "EUR");
        spec.is_syncing = Some(true);
        spec.domain = Some("shop.example".into());
        spec.platform = Some("QAD".into());
        let changes = spec.changes_from(&existing());
        assert_eq!(
            serde_json::to_value(&changes).unwrap(),
            serde_json::json!({"name":"Shop 2","is_syncing":true,"domain":"shop.example"})
        );
    }

    #[test]
    fn required_fields_are_checked_by_name() {
        let spec = NewStore::new("s1".into(), "l1".into(), " ", "EUR");
        let err = spec.validate().unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "store.name"));
        let spec = NewStore::new("s1".into(), "l1".into(), "Shop", "euro");
        let err = spec.validate().unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { ref field, .. } if field == "store.currency_code")
        );
    }
}
