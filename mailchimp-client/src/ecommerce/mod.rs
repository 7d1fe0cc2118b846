//! E-commerce: stores, customers, products and variants, orders.
//!
//! Everything hangs off [`Client::ecommerce`]. Set the store up first with
//! [`Ecommerce::ensure_store`] (it must be linked to the right audience),
//! then upsert customers and products by id, so a re-run updates and never
//! duplicates:
//!
//! ```no_run
//! # async fn run() -> mailchimp_client::Result<()> {
//! use futures::TryStreamExt;
//! use mailchimp_client::ecommerce::{
//!     CustomerId, CustomerInput, NewStore, ProductId, ProductInput, StoreId, StoreUpdate,
//!     VariantId, VariantInput,
//! };
//! use mailchimp_client::{Client, Credentials, ListId};
//!
//! let client = Client::builder(Credentials::api_key("0123456789abcdef0123456789abcdef-us6"))
//!     .build()
//!     .await?;
//! let shop = client.ecommerce();
//! let mut spec = NewStore::new(StoreId::from("acme-eu"), ListId::from("a1b2c3"), "Acme EU", "EUR");
//! spec.is_syncing = Some(true); // pause automations during the backfill
//! let store = shop.ensure_store(&spec).await?.store;
//! let store = shop.store(&store.id);
//!
//! let mut customer = CustomerInput::new(CustomerId::from("C-1001"), true);
//! customer.email_address = Some("ada@northwind-mfg.com".into());
//! store.customers().upsert(&customer).await?;
//!
//! let variant = VariantInput::new(VariantId::from("WIDGET-1"), "Widget");
//! store
//!     .products()
//!     .upsert(&ProductInput::new(ProductId::from("WIDGET-1"), "Widget", vec![variant]))
//!     .await?;
//! store.update(&StoreUpdate::syncing(false)).await?;
//!
//! let mut orders = store.orders().list().into_stream();
//! while let Some(order) = orders.try_next().await? {
//!     println!("{} {} {}", order.id, order.currency_code, order.order_total);
//! }
//! # Ok(()) }
//! ```
//!
//! Money is exact: see [`Decimal`] and the [`money`] notes.

mod address;
mod customers;
mod ids;
pub mod money;
mod orders;
mod products;
mod read;
mod resource;
mod stores;
mod validate;

pub use address::Address;
pub use customers::{Customer, CustomerInput, CustomerUpdate, Customers, CustomersRequest};
pub use ids::{CustomerId, OrderId, OrderLineId, ProductId, StoreId, VariantId};
pub use money::Decimal;
pub use orders::{
    Order, OrderCustomer, OrderInput, OrderLine, OrderLineInput, OrdersRequest, StoreOrders,
};
pub use products::{
    Product, ProductInput, ProductVariants, Products, ProductsRequest, Variant, VariantInput,
    VariantsRequest,
};
pub use read::GetRequest;
pub use stores::{
    EnsureOutcome, EnsuredStore, NewStore, Store, StoreHandler, StoreUpdate, StoresRequest,
};

use crate::client::Client;

impl Client {
    /// E-commerce: stores and, under each store, customers, products and
    /// orders; also the account-wide order list.
    pub fn ecommerce(&self) -> Ecommerce {
        Ecommerce {
            client: self.clone(),
        }
    }
}

/// The e-commerce API; made by [`Client::ecommerce`]. Holds a clone of the
/// client, so it can be kept and moved freely.
#[derive(Debug, Clone)]
pub struct Ecommerce {
    client: Client,
}
