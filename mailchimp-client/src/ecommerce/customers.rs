//! Customers: `GET /ecommerce/stores/{store_id}/customers` and
//! `PUT/GET/PATCH/DELETE …/customers/{customer_id}`.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::address::Address;
use super::ids::CustomerId;
use super::money::{opt_amount, Decimal};
use super::read::GetRequest;
use super::resource::Resource;
use super::stores::StoreHandler;
use super::validate;
use crate::error::Result;
use crate::page::{collection_methods, Collection};

/// A store's customer, as Mailchimp returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Customer {
    /// The customer id.
    pub id: CustomerId,
    /// The email address; absent for SMS-only customers.
    #[serde(default)]
    pub email_address: Option<String>,
    /// The SMS phone number.
    #[serde(default)]
    pub sms_phone_number: Option<String>,
    /// Whether the customer opted in to marketing email.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub opt_in_status: bool,
    /// The company.
    #[serde(default)]
    pub company: Option<String>,
    /// The first name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// How many orders the customer placed.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub orders_count: u64,
    /// The customer's total spend, in the store's currency.
    #[serde(default, with = "opt_amount")]
    pub total_spent: Option<Decimal>,
    /// The address.
    #[serde(default)]
    pub address: Option<Address>,
    /// When the customer was created.
    #[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// When the customer was last updated.
    #[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// A customer to add or update by id (`PUT`).
///
/// ```
/// use mailchimp_client::ecommerce::{CustomerId, CustomerInput};
///
/// let mut customer = CustomerInput::new(CustomerId::from("C-1001"), true);
/// customer.email_address = Some("ada@northwind-mfg.com".into());
/// customer.first_name = Some("Ada".into());
/// assert_eq!(
///     serde_json::to_value(&customer).unwrap(),
///     serde_json::json!({"id":"C-1001","opt_in_status":true,
///                        "email_address":"ada@northwind-mfg.com","first_name":"Ada"})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CustomerInput {
    /// The customer id (required, at most 50 characters).
    pub id: CustomerId,
    /// Whether the customer opted in (required). It never downgrades an
    /// existing audience member; a new member with `false` becomes
    /// `transactional`.
    pub opt_in_status: bool,
    /// The email address (optional since customers may be SMS-only; it
    /// cannot change after creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// The SMS phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_phone_number: Option<String>,
    /// The company.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// The first name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl CustomerInput {
    /// A customer with its required fields and no optional ones.
    pub fn new(id: CustomerId, opt_in_status: bool) -> Self {
        CustomerInput {
            id,
            opt_in_status,
            email_address: None,
            sms_phone_number: None,
            company: None,
            first_name: None,
            last_name: None,
            address: None,
        }
    }
}

/// The fields to change on a customer (`PATCH`); unset fields are
/// untouched. The id and email address cannot change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CustomerUpdate {
    /// Whether the customer opted in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_in_status: Option<bool>,
    /// The company.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// The first name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl StoreHandler {
    /// The store's customers.
    pub fn customers(&self) -> Customers {
        Customers {
            resource: self.resource("customers"),
        }
    }
}

/// A store's customers; made by [`StoreHandler::customers`].
#[derive(Debug, Clone)]
pub struct Customers {
    resource: Resource,
}

impl Customers {
    /// `GET …/customers`: the store's customers, optionally filtered by
    /// email address.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use futures::TryStreamExt;
    /// use mailchimp_client::ecommerce::StoreId;
    ///
    /// let store = client.ecommerce().store(&StoreId::from("acme-eu"));
    /// let mut customers = store.customers().list().email_address("ada@northwind-mfg.com").into_stream();
    /// while let Some(customer) = customers.try_next().await? {
    ///     println!("{} has {} orders", customer.id, customer.orders_count);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> CustomersRequest {
        CustomersRequest {
            inner: self.resource.list(),
        }
    }

    /// `GET …/customers/{customer_id}`.
    pub fn get(&self, id: &CustomerId) -> GetRequest<Customer> {
        self.resource.get(id.as_str())
    }

    /// `PUT …/customers/{customer_id}`: adds the customer, or updates it if
    /// the id exists, so a re-run never duplicates it.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::{CustomerId, CustomerInput, StoreId};
    ///
    /// let mut customer = CustomerInput::new(CustomerId::from("C-1001"), true);
    /// customer.email_address = Some("ada@northwind-mfg.com".into());
    /// let saved = client
    ///     .ecommerce()
    ///     .store(&StoreId::from("acme-eu"))
    ///     .customers()
    ///     .upsert(&customer)
    ///     .await?;
    /// println!("{:?}", saved.updated_at);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an empty id or
    /// one over 50 characters (no request is sent);
    /// [`Error::InvalidResource`](crate::Error::InvalidResource) when
    /// Mailchimp rejects a field; otherwise the API and transport errors of
    /// [`Error`](crate::Error).
    pub async fn upsert(&self, customer: &CustomerInput) -> Result<Customer> {
        self.upsert_as(customer).await
    }

    /// [`upsert`](Self::upsert), decoding Mailchimp's answer into a type of the caller's:
    /// [`serde::de::IgnoredAny`] when only success matters (the answer is still read and
    /// checked to be JSON, but nothing of it is kept), or a struct of the fields wanted.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::{CustomerId, CustomerInput, StoreId};
    /// use serde::de::IgnoredAny;
    ///
    /// let mut customer = CustomerInput::new(CustomerId::from("C-1001"), true);
    /// customer.email_address = Some("ada@northwind-mfg.com".into());
    /// let customers = client.ecommerce().store(&StoreId::from("acme-eu")).customers();
    /// customers.upsert_as::<IgnoredAny>(&customer).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`upsert`](Self::upsert); [`Error::Decode`](crate::Error::Decode) when the
    /// answer does not decode as `T`.
    pub async fn upsert_as<T: serde::de::DeserializeOwned>(
        &self,
        customer: &CustomerInput,
    ) -> Result<T> {
        validate::customer_id("customer.id", customer.id.as_str())?;
        self.resource.put(customer.id.as_str(), customer).await
    }

    /// `PATCH …/customers/{customer_id}`: changes the fields set in `update`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown customer;
    /// otherwise the API and transport errors of [`Error`](crate::Error).
    pub async fn update(&self, id: &CustomerId, update: &CustomerUpdate) -> Result<Customer> {
        self.resource.patch(id.as_str(), update).await
    }

    /// `DELETE …/customers/{customer_id}`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown customer;
    /// otherwise the API and transport errors of [`Error`](crate::Error).
    pub async fn delete(&self, id: &CustomerId) -> Result<()> {
        self.resource.delete(id.as_str()).await
    }
}

/// `GET …/customers`; made by [`Customers::list`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct CustomersRequest {
    inner: Collection,
}

impl CustomersRequest {
    /// Only the customer with this email address.
    pub fn email_address(mut self, email: impl Into<String>) -> Self {
        self.inner.query.set("email_address", email.into());
        self
    }

    collection_methods!(Customer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_and_absent_fields_decode_as_defaults() {
        let customer: Customer = serde_json::from_str(
            r#"{"id":"C1","email_address":null,"opt_in_status":null,"orders_count":null,
                "total_spent":null,"created_at":"","sms_phone_number":"+15555550100"}"#,
        )
        .unwrap();
        assert!(!customer.opt_in_status);
        assert_eq!(customer.orders_count, 0);
        assert_eq!(customer.email_address, None);
        assert_eq!(customer.total_spent, None);
        let bare: Customer = serde_json::from_str(r#"{"id":"C2"}"#).unwrap();
        assert_eq!(bare.orders_count, 0);
        assert!(serde_json::from_str::<Customer>(r#"{"email_address":"a@b.c"}"#).is_err());
    }
}
