//! `GET {root}/api/qracore/browses`: paged, filtered reads of flat rows.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::filter::Filter;
use super::records::DateStyle;
use super::respond::{bad_request, bare_errors};
use super::seed::Dataset;
use super::state::{BrowseIds, Shared};

/// Page size when the request names none.
const DEFAULT_PAGE_SIZE: usize = 20;

struct BrowseRequest {
    browse_id: String,
    /// `None` when `page` or `pageAction` is missing: QAD then answers zero rows.
    page: Option<usize>,
    page_size: usize,
    filters: Vec<Filter>,
}

/// A rejected request: the message and the parameter at fault.
type Rejection = (String, &'static str);

fn parse(query: &str) -> Result<BrowseRequest, Rejection> {
    let mut browse_id = None;
    let mut page = None;
    let mut page_size = None;
    let mut action = None;
    let mut filters = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "browseId" => browse_id = Some(value.into_owned()),
            "page" => page = Some(value.into_owned()),
            "pageSize" => page_size = Some(value.into_owned()),
            "pageAction" => action = Some(value.into_owned()),
            "filter" => filters.push(Filter::parse(&value).map_err(|e| (e.to_string(), "filter"))?),
            // callId, domainCode and the like change nothing here.
            _ => {}
        }
    }
    let browse_id = browse_id
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ("browseId is mandatory".to_owned(), "browseId"))?;
    let page_size = match page_size {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| (format!("invalid pageSize `{raw}`"), "pageSize"))?,
    };
    if let Some(action) = action.as_deref() {
        if action != "first" && action != "next" {
            return Err((
                format!("unsupported pageAction `{action}`, expected first or next"),
                "pageAction",
            ));
        }
    }
    let page = match (page, action) {
        (Some(raw), Some(_)) => Some(
            raw.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| (format!("invalid page `{raw}`"), "page"))?,
        ),
        _ => None,
    };
    Ok(BrowseRequest {
        browse_id,
        page,
        page_size,
        filters,
    })
}

/// The browses the tenant serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum BrowseKind {
    Customers,
    Items,
    SalesOrders,
    SalesOrderLines,
}

impl BrowseKind {
    /// The browse a configured id names, or `None` for an unknown id.
    fn of(ids: &BrowseIds, browse_id: &str) -> Option<Self> {
        [
            (&ids.customers, Self::Customers),
            (&ids.items, Self::Items),
            (&ids.sales_orders, Self::SalesOrders),
            (&ids.sales_order_lines, Self::SalesOrderLines),
        ]
        .into_iter()
        .find_map(|(id, kind)| (id == browse_id).then_some(kind))
    }

    /// Every row of this browse, in key order.
    pub(crate) fn render(self, data: &Dataset, dates: DateStyle) -> Vec<Value> {
        match self {
            Self::Customers => data
                .customers
                .iter()
                .map(|c| c.to_browse_row(dates))
                .collect(),
            Self::Items => data.items.iter().map(|i| i.to_browse_row(dates)).collect(),
            Self::SalesOrders => data
                .sales_orders
                .iter()
                .map(|o| o.to_browse_row(dates))
                .collect(),
            Self::SalesOrderLines => data
                .sales_orders
                .iter()
                .flat_map(|o| o.to_line_browse_rows(dates))
                .collect(),
        }
    }
}

fn page_body(rows: Vec<Value>, has_more: bool) -> Response {
    Json(json!({
        "data": rows,
        "auxillaryData": { "HasMoreParams": if has_more { "true" } else { "false" } },
    }))
    .into_response()
}

/// The browse handler.
pub(crate) async fn browse(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let request = match parse(query.as_deref().unwrap_or_default()) {
        Ok(request) => request,
        Err((message, field)) => return bad_request(&message, field),
    };
    let Some(kind) = BrowseKind::of(&shared.tenant.browse_ids, &request.browse_id) else {
        return bare_errors(
            axum::http::StatusCode::NOT_FOUND,
            &format!("Browse {} not found", request.browse_id),
            "browseId",
        );
    };
    let Some(page) = request.page else {
        return page_body(Vec::new(), false);
    };
    let all = shared.live().browse_rows(kind);
    let mut matching = Vec::new();
    for row in all.iter() {
        let Value::Object(map) = row else { continue };
        let mut keep = true;
        for filter in &request.filters {
            match filter.matches(map) {
                Ok(true) => {}
                Ok(false) => {
                    keep = false;
                    break;
                }
                Err(e) => return bad_request(&e.to_string(), "filter"),
            }
        }
        if keep {
            matching.push(row);
        }
    }
    let size = shared
        .tenant
        .max_page_size
        .map_or(request.page_size, |max| request.page_size.min(max));
    let start = (page - 1).saturating_mul(size);
    let end = start.saturating_add(size).min(matching.len());
    let has_more = end < matching.len();
    let rows = matching
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .cloned()
        .collect();
    page_body(rows, has_more)
}
