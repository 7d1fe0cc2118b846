//! Replaying failed attribution posts.

use async_trait::async_trait;
use chrono::Utc;
use mailchimp_client::ecommerce::OrderId;
use qad_client::AttributionRecord;

use super::map::order_fingerprint;
use super::pipeline::{describe, record_hash};
use super::run::OrdersSync;
use crate::audit::{AuditRow, NewAuditRow};
use crate::error::Result;
use crate::model::{ContentHash, ObjectKind, Outcome, RunId, TargetSystem};
use crate::replay::{ReplayAttempt, ReplayHandler};
use crate::state::StateBatch;

/// Replays failed rows of the orders flow (object `orders`): a failed attribution post, or an
/// order whose lookups failed.
///
/// The order is read again from Mailchimp and re-mapped. When the new record hashes like the
/// recorded payload, the recorded record is what is sent; when it differs (the order, its
/// customer or its sales order changed since), the re-mapped record is sent and the attempt
/// counts as re-mapped. When the order can no longer be read, the recorded record is sent as it
/// was. The post is idempotent by order id, and success stores the hashes so the next orders
/// run sees the order as unchanged.
#[derive(Clone, Debug)]
pub struct AttributionReplay {
    orders: OrdersSync,
}

impl AttributionReplay {
    /// A handler posting through the same clients, state and configuration as `orders`.
    #[must_use]
    pub fn new(orders: OrdersSync) -> Self {
        Self { orders }
    }

    async fn send_recorded(
        &self,
        recorded: Option<AttributionRecord>,
        row: &AuditRow,
        run: RunId,
        why: String,
    ) -> Result<ReplayAttempt> {
        let pipeline = self.orders.pipeline();
        match recorded {
            Some(record) => {
                let handled = pipeline
                    .post(&record, None, run, Some(row.id), None)
                    .await?;
                Ok(ReplayAttempt::new(handled.row, handled.state, false))
            }
            None => {
                let now = Utc::now();
                let attempt = NewAuditRow::new(
                    run,
                    ObjectKind::Orders,
                    &row.row.source_key,
                    Outcome::Failed,
                )
                .error(format!("{why}, and the failed row holds no record to send"))
                .times(now, now);
                Ok(ReplayAttempt::new(attempt, StateBatch::new(), false))
            }
        }
    }
}

#[async_trait]
impl ReplayHandler for AttributionReplay {
    fn handles(&self, row: &AuditRow) -> bool {
        row.row.object == ObjectKind::Orders
            && row
                .row
                .operation
                .as_ref()
                .is_none_or(|op| op.system == TargetSystem::Qad)
    }

    async fn replay(&self, row: &AuditRow, run: RunId) -> Result<ReplayAttempt> {
        let recorded: Option<AttributionRecord> = row
            .row
            .payload
            .clone()
            .filter(|_| row.row.operation.is_some())
            .and_then(|payload| serde_json::from_value(payload).ok());
        let config = self.orders.config();
        let fetched = self
            .orders
            .mailchimp()
            .ecommerce()
            .store(&config.store_id)
            .orders()
            .get(&OrderId::from(row.row.source_key.as_str()))
            .send()
            .await;
        let order = match fetched {
            Ok(order) => order,
            Err(e) => {
                let why = if e.is_not_found() {
                    "the order no longer exists in Mailchimp".to_owned()
                } else {
                    format!("cannot read the order from Mailchimp: {}", describe(&e))
                };
                return self.send_recorded(recorded, row, run, why).await;
            }
        };
        let pipeline = self.orders.pipeline();
        let (record, flag) = match pipeline.prepare(&order, run, None).await {
            Ok(prepared) => prepared,
            Err(handled) => return Ok(ReplayAttempt::new(handled.row, handled.state, true)),
        };
        let (_, hash) = record_hash(&record)?;
        let recorded_hash = match &row.row.payload {
            Some(payload) if recorded.is_some() => Some(ContentHash::of_json(payload)?),
            _ => None,
        };
        let remapped = recorded_hash.as_ref() != Some(&hash);
        let handled = pipeline
            .post(
                &record,
                flag,
                run,
                Some(row.id),
                Some(order_fingerprint(&order)),
            )
            .await?;
        Ok(ReplayAttempt::new(handled.row, handled.state, remapped))
    }
}
