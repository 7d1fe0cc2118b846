//! One order's way to QAD: the lookups (customer, items, sales order), the mapping, the post,
//! and the audit row and hashes that record it. Shared by the orders run and by replay.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use mailchimp_client::ecommerce::{Order, ProductId};
use qad_client::{
    AttributionRecord, CustomerCode, FilterOp, ItemCode, SalesOrderNumber, WriteOutcome,
};
use serde_json::{json, Value};

use super::config::{OrdersConfig, SalesOrderMatch};
use super::map::{attribution_record, order_fingerprint, Resolved};
use crate::audit::{AuditId, Method, NewAuditRow, TargetOperation};
use crate::error::{Result, SyncError};
use crate::model::{ContentHash, ObjectKind, Outcome, RunId, TargetRecord, TargetSystem};
use crate::state::{StateBatch, StateStore};

/// The customers one page has already resolved (a shop's orders repeat customers), so each is
/// looked up once per page. Only answers are kept, never errors.
pub(crate) type CustomerCache = std::sync::Mutex<HashMap<String, Option<CustomerCode>>>;

/// The reason text of a held order, so the audit trail can be searched for it.
pub(crate) const UNMATCHED: &str = "unmatched customer";

/// The reason text of an order the connector wrote itself (the loop guard).
pub(crate) const OWN_ORDER: &str = "connector's own order";

/// One order handled: its audit row, the state it changes, and what to count.
#[derive(Debug)]
pub(crate) struct Handled {
    pub(crate) row: NewAuditRow,
    pub(crate) state: StateBatch,
    pub(crate) unmatched: bool,
    pub(crate) currency_flagged: bool,
    pub(crate) posted: bool,
}

/// The lookups, mapping and post of orders; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Pipeline {
    pub(crate) state: Arc<dyn StateStore>,
    pub(crate) qad: qad_client::Client,
    pub(crate) config: Arc<OrdersConfig>,
}

/// The error text recorded in an audit row: the error and its sources, joined by `: `.
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The hash stored for a posted record: of its JSON value, so it compares equal to the hash of
/// the payload recorded in its audit row.
pub(crate) fn record_hash(record: &AttributionRecord) -> Result<(Value, ContentHash)> {
    let value = serde_json::to_value(record).map_err(|source| crate::StateError::Encode {
        what: "attribution record",
        source,
    })?;
    let hash = ContentHash::of_json(&value)?;
    Ok((value, hash))
}

impl Pipeline {
    /// The QAD sales order an order was written from by the sales-history flow
    /// ([`crate::sales_orders`]): the id map, then the id's mark (kept by Mailchimp even when
    /// the state store was replaced). `None` for every order that came from elsewhere.
    pub(crate) async fn own_order(&self, id: &str) -> Result<Option<String>> {
        let keys = self
            .state
            .source_keys(ObjectKind::EcommerceOrders, id)
            .await?;
        if let Some(number) = keys.into_iter().next() {
            return Ok(Some(number));
        }
        Ok(crate::sales_orders::is_connector_order_id(id).then(|| {
            id.strip_prefix(crate::sales_orders::ORDER_ID_PREFIX)
                .unwrap_or(id)
                .to_owned()
        }))
    }

    /// The operation recorded for an attribution post.
    pub(crate) fn operation(&self) -> TargetOperation {
        TargetOperation::new(
            TargetSystem::Qad,
            Method::Post,
            self.config.attribution_path.clone(),
        )
    }

    /// The QAD customer of an e-commerce customer id: the id map first (the forward sync records
    /// every customer it pushed, derived ids included), then QAD itself by customer code (an
    /// earlier address generation's id without its mark).
    async fn customer(
        &self,
        id: &str,
        cache: Option<&CustomerCache>,
    ) -> Result<Option<CustomerCode>> {
        let cached = cache.and_then(|c| c.lock().ok().and_then(|map| map.get(id).cloned()));
        if let Some(known) = cached {
            return Ok(known);
        }
        let found = self.lookup_customer(id).await?;
        if let Some(mut map) = cache.and_then(|c| c.lock().ok()) {
            map.insert(id.to_owned(), found.clone());
        }
        Ok(found)
    }

    /// Resolves each distinct customer id once, `concurrency` at a time, into `cache`, so the
    /// orders of a page handled at once do not look the same customer up in parallel. Failed
    /// lookups are left out: each order then tries again and records its own failure.
    pub(crate) async fn warm_customers(&self, ids: Vec<String>, cache: &CustomerCache) {
        use futures::StreamExt;
        futures::stream::iter(ids)
            .for_each_concurrent(self.config.concurrency.max(1), |id| async move {
                let _ = self.customer(&id, Some(cache)).await;
            })
            .await;
    }

    async fn lookup_customer(&self, id: &str) -> Result<Option<CustomerCode>> {
        let mapped = self
            .state
            .source_keys(ObjectKind::EcommerceCustomers, id)
            .await?;
        if let Some(code) = mapped.into_iter().next() {
            return Ok(Some(CustomerCode::from(code)));
        }
        // An earlier address generation of a customer whose address changed (the id map holds
        // only the current one) is the customer code and a generation mark.
        let id = crate::mapping::customer_id_stem(id);
        let page = self
            .qad
            .customers()
            .filter("customerCode", FilterOp::Eq, id)
            .count(10)
            .send()
            .await
            .map_err(SyncError::qad)?;
        Ok(page
            .items
            .into_iter()
            .find(|c| c.customer_code.as_str() == id)
            .map(|c| c.customer_code))
    }

    /// The item code of each product of the order, from the id map; unmapped products keep
    /// their id.
    async fn item_codes(&self, order: &Order) -> Result<HashMap<ProductId, ItemCode>> {
        let mut codes = HashMap::new();
        for line in &order.lines {
            if codes.contains_key(&line.product_id) {
                continue;
            }
            let keys = self
                .state
                .source_keys(ObjectKind::Products, line.product_id.as_str())
                .await?;
            if let Some(code) = keys.into_iter().next() {
                codes.insert(line.product_id.clone(), ItemCode::from(code));
            }
        }
        Ok(codes)
    }

    /// The QAD sales order matching the order under the configured rule. Among several sales
    /// orders with the same PO, the customer's own comes first.
    async fn sales_order(
        &self,
        order_id: &str,
        customer: &CustomerCode,
    ) -> Result<Option<SalesOrderNumber>> {
        let field = match self.config.sales_order_match {
            SalesOrderMatch::SalesOrderNumber => "salesOrderNumber",
            SalesOrderMatch::CustomerPo => "customerPO",
            _ => return Ok(None),
        };
        let page = self
            .qad
            .sales_orders()
            .filter(field, FilterOp::Eq, order_id)
            .count(20)
            .send()
            .await
            .map_err(SyncError::qad)?;
        let mut candidates: Vec<_> = page
            .items
            .into_iter()
            .filter(|so| match self.config.sales_order_match {
                SalesOrderMatch::CustomerPo => so.customer_po.as_deref() == Some(order_id),
                _ => so.sales_order_number.as_str() == order_id,
            })
            .collect();
        candidates.sort_by_key(|so| so.sold_to_customer_code.as_ref() != Some(customer));
        Ok(candidates
            .into_iter()
            .next()
            .map(|so| so.sales_order_number))
    }

    /// Maps `order` to its attribution record after the lookups, or the audit row explaining why
    /// it has none (held for an unknown customer, rejected as unmappable, failed lookup).
    pub(crate) async fn prepare(
        &self,
        order: &Order,
        run: RunId,
        cache: Option<&CustomerCache>,
    ) -> std::result::Result<(AttributionRecord, Option<String>), Box<Handled>> {
        let key = order.id.as_str();
        let started = Utc::now();
        let done = |outcome: Outcome, error: String, unmatched: bool| {
            Box::new(Handled {
                row: NewAuditRow::new(run, ObjectKind::Orders, key, outcome)
                    .target(TargetRecord::Attribution)
                    .error(error)
                    .payload(json!({
                        "customer_id": order.customer.id.as_str(),
                        "order_total": order.order_total.to_string(),
                        "currency_code": order.currency_code,
                    }))
                    .times(started, Utc::now()),
                state: StateBatch::new(),
                unmatched,
                currency_flagged: false,
                posted: false,
            })
        };
        let lookups = async {
            let Some(customer) = self.customer(order.customer.id.as_str(), cache).await? else {
                return Ok(None);
            };
            let sales_order = self.sales_order(key, &customer).await?;
            let item_codes = self.item_codes(order).await?;
            Ok::<_, SyncError>(Some(Resolved {
                customer_code: customer,
                sales_order,
                item_codes,
            }))
        };
        let resolved = match lookups.await {
            Ok(Some(resolved)) => resolved,
            Ok(None) => {
                return Err(done(
                    Outcome::Skipped,
                    format!(
                        "{UNMATCHED}: e-commerce customer {} is not a known QAD customer; \
                         the order is held and retried on every run until it is",
                        order.customer.id
                    ),
                    true,
                ))
            }
            Err(e) => return Err(done(Outcome::Failed, describe(&e), false)),
        };
        let record = attribution_record(order, &self.config.store_id, &resolved)
            .map_err(|problem| done(Outcome::Rejected, problem.to_string(), false))?;
        let flag = (!record
            .currency_code
            .eq_ignore_ascii_case(self.config.store_currency.trim()))
        .then(|| {
            format!(
                "currency {} differs from the store currency {}",
                record.currency_code,
                self.config.store_currency.trim().to_uppercase()
            )
        });
        Ok((record, flag))
    }

    /// Posts `record` and builds its audit row; on success the state stores the record's hash
    /// and, when given, the order's fingerprint.
    pub(crate) async fn post(
        &self,
        record: &AttributionRecord,
        flag: Option<String>,
        run: RunId,
        replay_of: Option<AuditId>,
        fingerprint: Option<ContentHash>,
    ) -> Result<Handled> {
        let started = Utc::now();
        let (payload, hash) = record_hash(record)?;
        let result = self.qad.attribution().post(record).await;
        let mut row = NewAuditRow::new(run, ObjectKind::Orders, &record.order_id, Outcome::Failed)
            .target(TargetRecord::Attribution)
            .operation(self.operation())
            .payload(payload)
            .attempts(1);
        let mut state = StateBatch::new();
        match result {
            Ok(written) => {
                row.outcome = match written {
                    WriteOutcome::Created => Outcome::Created,
                    WriteOutcome::Unchanged => Outcome::Unchanged,
                    _ => Outcome::Updated,
                };
                state = state.put_hash(ObjectKind::Attributions, &record.order_id, hash);
                if let Some(fingerprint) = fingerprint {
                    state = state.put_hash(ObjectKind::Orders, &record.order_id, fingerprint);
                }
                if let Some(flag) = &flag {
                    row = row.error(format!("flagged: {flag}"));
                }
            }
            Err(e) => {
                let mut text = describe(&e);
                if let Some(flag) = &flag {
                    text.push_str(&format!(" (flagged: {flag})"));
                }
                row = row.error(text);
            }
        }
        if let Some(original) = replay_of {
            row = row.replay_of(original);
        }
        let posted = row.outcome.is_success();
        Ok(Handled {
            row: row.times(started, Utc::now()),
            state,
            unmatched: false,
            currency_flagged: flag.is_some(),
            posted,
        })
    }

    /// Handles one order of a run whose fingerprint changed: lookups, mapping, and a post unless
    /// the mapped record is the one already in QAD.
    pub(crate) async fn handle(
        &self,
        order: &Order,
        run: RunId,
        known: Option<&ContentHash>,
        cache: &CustomerCache,
        dry_run: bool,
    ) -> Result<Handled> {
        let fingerprint = order_fingerprint(order);
        if let Some(number) = self.own_order(order.id.as_str()).await? {
            // The loop guard: written from QAD's sales history, so QAD already has it.
            let row =
                NewAuditRow::new(run, ObjectKind::Orders, order.id.as_str(), Outcome::Skipped)
                    .error(format!(
                        "{OWN_ORDER}: written from QAD sales order {number}; never posted back"
                    ));
            return Ok(Handled {
                row,
                state: StateBatch::new().put_hash(
                    ObjectKind::Orders,
                    order.id.as_str(),
                    fingerprint,
                ),
                unmatched: false,
                currency_flagged: false,
                posted: false,
            });
        }
        let (record, flag) = match self.prepare(order, run, Some(cache)).await {
            Ok(prepared) => prepared,
            Err(handled) => return Ok(*handled),
        };
        let (payload, hash) = record_hash(&record)?;
        if known == Some(&hash) {
            // The shop touched the order but nothing QAD holds changed.
            let mut row = NewAuditRow::new(
                run,
                ObjectKind::Orders,
                &record.order_id,
                Outcome::Unchanged,
            )
            .target(TargetRecord::Attribution)
            .operation(self.operation())
            .payload(payload);
            if let Some(flag) = &flag {
                row = row.error(format!("flagged: {flag}"));
            }
            return Ok(Handled {
                row,
                state: StateBatch::new().put_hash(
                    ObjectKind::Orders,
                    order.id.as_str(),
                    fingerprint,
                ),
                unmatched: false,
                currency_flagged: flag.is_some(),
                posted: false,
            });
        }
        if dry_run {
            // What a real run would post: a new record is created, a known one updated.
            let outcome = if known.is_some() {
                Outcome::Updated
            } else {
                Outcome::Created
            };
            let row = NewAuditRow::new(run, ObjectKind::Orders, &record.order_id, outcome)
                .operation(self.operation())
                .payload(payload);
            return Ok(Handled {
                row,
                state: StateBatch::new(),
                unmatched: false,
                currency_flagged: flag.is_some(),
                posted: false,
            });
        }
        // A successful post supersedes the order's earlier failures (its row names the target).
        self.post(&record, flag, run, None, Some(fingerprint)).await
    }
}
