//! Business-document reads: `GET {root}/api/erp/customerV2s|items|salesOrders`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::state::{Envelope, Live, Shared};

/// Which business document a route serves.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Document {
    Customers,
    Items,
    SalesOrders,
}

impl Document {
    /// The path under the context root.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Customers => "api/erp/customerV2s",
            Self::Items => "api/erp/items",
            Self::SalesOrders => "api/erp/salesOrders",
        }
    }

    /// The collection member naming the records.
    fn plural(self) -> &'static str {
        match self {
            Self::Customers => "customerV2s",
            Self::Items => "items",
            Self::SalesOrders => "salesOrders",
        }
    }

    /// The key query parameter (`customerCode=…`).
    fn key_param(self) -> &'static str {
        match self {
            Self::Customers => "customerCode",
            Self::Items => "itemCode",
            Self::SalesOrders => "salesOrderNumber",
        }
    }

    /// Records whose key equals `key` (all records when `key` is `None`).
    fn records(self, live: &Live, domain: &str, key: Option<&str>) -> Vec<Value> {
        let wanted = |candidate: &str| key.is_none_or(|k| k == candidate);
        let dates = live.dates();
        match self {
            Self::Customers => {
                let customers = &live.data().customers;
                match key {
                    Some(code) => customers.get(code).into_iter().collect(),
                    None => customers.iter().collect::<Vec<_>>(),
                }
                .iter()
                .map(|c| c.to_document(dates))
                .collect()
            }
            Self::Items => live
                .data()
                .items
                .iter()
                .filter(|i| wanted(&i.item_code))
                .map(|i| i.to_document(dates, domain))
                .collect(),
            Self::SalesOrders => live
                .data()
                .sales_orders
                .iter()
                .filter(|o| wanted(&o.sales_order_number))
                .map(|o| o.to_document(dates, domain))
                .collect(),
        }
    }
}

/// Wraps records in the configured envelope.
fn envelope(envelope: Envelope, plural: &str, records: Vec<Value>) -> Value {
    let mut inner = Map::new();
    inner.insert(plural.to_owned(), Value::Array(records));
    match envelope {
        Envelope::Data => json!({ "data": inner }),
        Envelope::Bare => Value::Object(inner),
    }
}

/// Serves one business document. An empty key parameter means "all"; a
/// `domainCode`/`domainContext` naming another domain yields no records.
pub(crate) async fn read(
    document: Document,
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let domain = shared.tenant.domain.as_str();
    let other_domain = ["domainCode", "domainContext"]
        .iter()
        .filter_map(|p| query.get(*p))
        .any(|d| !d.is_empty() && d != domain);
    let key = query
        .get(document.key_param())
        .map(String::as_str)
        .filter(|k| !k.is_empty());
    let live = shared.live();
    let records = if other_domain {
        Vec::new()
    } else {
        document.records(&live, domain, key)
    };
    Json(envelope(live.envelope, document.plural(), records)).into_response()
}
