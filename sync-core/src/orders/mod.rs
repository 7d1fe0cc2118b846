//! Orders back to QAD: Mailchimp e-commerce orders become QAD attribution records.
//!
//! [`OrdersSync`] pages every order of the store, finds the new and changed ones by fingerprint
//! ([`order_fingerprint`]), maps each with [`attribution_record`] after resolving its customer,
//! item codes and sales order ([`SalesOrderMatch`]), and posts it through
//! [`qad_client::Attributions::post`], idempotent by order id. Every order of every run leaves
//! an audit row under [`ObjectKind::Orders`](crate::ObjectKind::Orders) keyed by order id:
//!
//! | outcome | meaning |
//! |---|---|
//! | `created` / `updated` | posted; the payload is the record sent |
//! | `unchanged` | the order (or its mapped record) is the one QAD holds: no call |
//! | `skipped` | held: the customer is unknown to QAD (`error` starts `unmatched customer`); or the loop guard: the order was written from a QAD sales order by [`crate::sales_orders`] (id map or `qad-` id mark; `error` starts `connector's own order`), never posted back |
//! | `rejected` | cannot be mapped (no currency, no date) |
//! | `failed` | a lookup or the post failed; no hash stored, replayable |
//!
//! An order in another currency than the store's is posted and its row's `error` says
//! `flagged: currency … differs from the store currency …`.

mod config;
mod map;
mod pipeline;
mod replay;
mod run;

pub use config::{OrdersConfig, OrdersSettings, SalesOrderMatch};
pub use map::{attribution_record, order_fingerprint, OrderProblem, Resolved};
pub use replay::AttributionReplay;
pub use run::{OrdersReport, OrdersSync};

pub(crate) use pipeline::describe;
