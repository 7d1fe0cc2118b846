//! Shared setup for the orders and replay tests: both fakes, both clients, a shop with orders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use mailchimp_client::ecommerce::{
    CustomerId, CustomerInput, Decimal, NewStore, OrderCustomer, OrderId, OrderInput,
    OrderLineInput, ProductId, ProductInput, StoreId, VariantId, VariantInput,
};
use mailchimp_client::{Credentials, ListId};
use qad_client::AttributionConfig;
use sync_core::orders::{OrdersConfig, OrdersSync, SalesOrderMatch};
use sync_core::{IdMapping, ObjectKind, SqliteStateStore, StateBatch, StateStore};
use testkit::mailchimp::FakeMailchimp;
use testkit::qad::FakeQad;

pub const STORE: &str = "shop-1";

pub struct World {
    pub mailchimp_fake: FakeMailchimp,
    pub qad_fake: FakeQad,
    pub mailchimp: mailchimp_client::Client,
    pub qad: qad_client::Client,
    pub state: Arc<SqliteStateStore>,
}

impl World {
    pub async fn start() -> Self {
        Self::with_qad(FakeQad::start().await.unwrap()).await
    }

    /// Both fakes and clients, over the given fake QAD.
    pub async fn with_qad(qad_fake: FakeQad) -> Self {
        let mailchimp_fake = FakeMailchimp::start().await.unwrap();
        let mailchimp =
            mailchimp_client::Client::builder(Credentials::api_key(mailchimp_fake.api_key()))
                .base_url(mailchimp_fake.api_url())
                .retry(mailchimp_client::RetryConfig::disabled())
                .build()
                .await
                .unwrap();
        let qad = qad_client::Client::builder()
            .tenant_url(qad_fake.base_url())
            .credentials(qad_client::Credentials::oauth_password(
                qad_fake.client_id(),
                qad_fake.username(),
                qad_fake.password(),
            ))
            .domain(qad_fake.domain())
            .retry(
                qad_client::RetryConfig::new()
                    .with_max_attempts(2)
                    .with_base_delay(Duration::from_millis(1))
                    .with_max_delay(Duration::from_millis(2))
                    .with_jitter(false),
            )
            .attribution(
                AttributionConfig::default()
                    .with_entity(qad_fake.attribution_path().parse().unwrap()),
            )
            .build()
            .unwrap();
        let state = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
        let world = Self {
            mailchimp_fake,
            qad_fake,
            mailchimp,
            qad,
            state,
        };
        let store = NewStore::new(
            StoreId::from(STORE),
            ListId::from(world.mailchimp_fake.list_id()),
            "Shop",
            "USD",
        );
        world
            .mailchimp
            .ecommerce()
            .ensure_store(&store)
            .await
            .unwrap();
        world
    }

    pub fn orders(&self, rule: SalesOrderMatch) -> OrdersSync {
        let config = OrdersConfig::new(STORE, "USD")
            .sales_order_match(rule)
            .page_size(2)
            .attribution_path(self.qad_fake.attribution_path());
        OrdersSync::new(
            self.mailchimp.clone(),
            self.qad.clone(),
            self.state.clone() as Arc<dyn StateStore>,
            config,
        )
    }

    /// What the forward sync would have recorded for a customer or an item with a derived id.
    pub async fn map(&self, kind: ObjectKind, source_key: &str, target_id: &str) {
        self.state
            .apply(StateBatch::new().map_id(IdMapping::new(kind, source_key, target_id)))
            .await
            .unwrap();
    }

    /// Places (or changes) an order in the fake shop: its customer and products are upserted
    /// first, as Mailchimp requires.
    pub async fn place(&self, order: &Order) {
        let store = self.mailchimp.ecommerce().store(&StoreId::from(STORE));
        let mut customer = CustomerInput::new(CustomerId::from(order.customer), true);
        customer.email_address = Some(format!(
            "{}@northwind-mfg.com",
            order.customer.to_lowercase()
        ));
        store.customers().upsert(&customer).await.unwrap();
        let mut lines = Vec::new();
        for (index, (product, quantity, price)) in order.lines.iter().enumerate() {
            let variant = VariantInput::new(VariantId::from(*product), *product);
            store
                .products()
                .upsert(&ProductInput::new(
                    ProductId::from(*product),
                    *product,
                    vec![variant],
                ))
                .await
                .unwrap();
            lines.push(OrderLineInput::new(
                (index + 1).to_string().as_str().into(),
                ProductId::from(*product),
                VariantId::from(*product),
                *quantity,
                price.parse::<Decimal>().unwrap(),
            ));
        }
        let mut input = OrderInput::new(
            OrderId::from(order.id),
            OrderCustomer::new(CustomerId::from(order.customer)),
            order.currency,
            order.total.parse::<Decimal>().unwrap(),
            lines,
        );
        input.financial_status = Some("paid".to_owned());
        input.campaign_id = order.campaign.map(str::to_owned);
        input.processed_at_foreign = Some("2025-03-04T10:00:00+00:00".parse().unwrap());
        input.updated_at_foreign = Some(order.updated.parse().unwrap());
        store.orders().upsert(&input).await.unwrap();
    }

    /// Attribution posts QAD received so far.
    pub fn attribution_posts(&self) -> u64 {
        let route = self.qad_fake.route(self.qad_fake.attribution_path());
        self.qad_fake.stats().requests("POST", &route)
    }

    pub fn attribution(&self, order_id: &str) -> serde_json::Value {
        self.qad_fake
            .attribution(order_id)
            .unwrap_or_else(|| panic!("no attribution record for {order_id}"))
    }
}

/// An order to place in the fake shop.
#[derive(Clone, Debug)]
pub struct Order {
    pub id: &'static str,
    pub customer: &'static str,
    pub currency: &'static str,
    pub total: &'static str,
    pub campaign: Option<&'static str>,
    pub updated: &'static str,
    /// (product id, quantity, unit price)
    pub lines: Vec<(&'static str, i64, &'static str)>,
}

impl Order {
    pub fn new(id: &'static str, customer: &'static str, total: &'static str) -> Self {
        Self {
            id,
            customer,
            currency: "USD",
            total,
            campaign: None,
            updated: "2025-03-04T10:00:00+00:00",
            lines: vec![("ITEM-00001", 1, total)],
        }
    }
}
