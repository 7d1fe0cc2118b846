//! QAD sales history → Mailchimp e-commerce orders (optional; off by default).
//!
//! Purchase data in Mailchimp is what marketing segments on (`total_spent`, `orders_count`,
//! product segments, recommendations). [`SalesOrdersSync`] writes each QAD sales order in a sent
//! state ([`SalesOrdersConfig::statuses`]) as an order of the connector's store:
//!
//! - **Stable id.** [`order_id_for`]: `qad-` and the sales order number (a hashed form past 50
//!   characters), written by `PUT` the first time and `PATCH` after, so a re-run, a state change,
//!   a cancel or a partial refund updates the one order, never adds another.
//! - **References first.** The order's e-commerce customer and products are the ones the
//!   customers and items flows wrote (the id map); while one is missing the order is *deferred*
//!   (audited, queued, retried by later runs with the retry policy's backoff), never failed.
//! - **Money and states.** Exact decimals; cancelled and refunded orders keep their lines and are
//!   sent with zero totals, so Mailchimp's `total_spent` is the sum of what counts.
//! - **Change detection.** A content hash of the mapped order (without `updated_at_foreign`): a
//!   no-op run writes nothing.
//! - **No loop.** Every written order is recorded in the id map
//!   ([`ObjectKind::EcommerceOrders`](crate::ObjectKind::EcommerceOrders)) and carries the
//!   [`ORDER_ID_PREFIX`] mark in its id, which Mailchimp keeps; the orders flow back to QAD
//!   ([`crate::orders`]) skips such orders, so they are never posted as attribution.
//! - **Attribution stays Mailchimp's.** No write sets `campaign_id`, `landing_site` or
//!   `outreach`; updates are `PATCH`es of the connector's own fields.
//! - **Backfill.** The first run (no cursor) reads every order dated within
//!   [`lookback_months`](SalesOrdersConfig::lookback_months), counts them first (the report's
//!   `total`, for progress), and sets the store's `is_syncing` for its duration, clearing it
//!   after, also when the run fails.
//!
//! Audit rows are keyed by sales order number under
//! [`ObjectKind::SalesOrders`](crate::ObjectKind::SalesOrders) with target
//! [`TargetRecord::EcommerceOrder`](crate::TargetRecord::EcommerceOrder).

mod config;
mod map;
mod run;

pub use config::{FinancialStatus, SalesOrdersConfig, SalesOrdersSettings, StatusRule};
pub use map::{
    is_connector_order_id, order_id_for, SalesOrderProblem, MAX_ORDER_ID, ORDER_ID_PREFIX,
};
pub use run::{SalesOrdersProgress, SalesOrdersReplay, SalesOrdersReport, SalesOrdersSync};
