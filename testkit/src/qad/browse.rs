//! `GET {root}/api/qracore/browses`: paged, filtered reads of flat rows.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::filter::Filter;
use super::quirks::{CapQuirk, CountQuirk, DateQuirk, DomainQuirk, OrderQuirk, PagingQuirk};
use super::records::DateStyle;
use super::respond::{bad_request, bare_errors};
use super::state::{BrowseIds, Shared};
use super::state::{BrowseRows, Records};

/// The count endpoint below the context root (served with and without a trailing slash).
pub(crate) const COUNT_PATH: &str = "api/qracore/browses/totalCount";

/// Page size when the request names none.
const DEFAULT_PAGE_SIZE: usize = 20;

struct BrowseRequest {
    browse_id: String,
    /// `None` when `page` or `pageAction` is missing: QAD then answers zero rows.
    page: Option<usize>,
    /// Whether `pageAction` is `next`.
    next: bool,
    page_size: usize,
    filters: Vec<Filter>,
    call_id: String,
    domain_code: Option<String>,
}

/// A rejected request: the message and the parameter at fault.
type Rejection = (String, &'static str);

fn parse(query: &str) -> Result<BrowseRequest, Rejection> {
    let mut browse_id = None;
    let mut page = None;
    let mut page_size = None;
    let mut action = None;
    let mut filters = Vec::new();
    let mut call_id = String::new();
    let mut domain_code = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "browseId" => browse_id = Some(value.into_owned()),
            "page" => page = Some(value.into_owned()),
            "pageSize" => page_size = Some(value.into_owned()),
            "pageAction" => action = Some(value.into_owned()),
            "filter" => filters.push(Filter::parse(&value).map_err(|e| (e.to_string(), "filter"))?),
            "callId" => call_id = value.into_owned(),
            "domainCode" => domain_code = Some(value.into_owned()),
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
    let next = action.as_deref() == Some("next");
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
        next,
        page_size,
        filters,
        call_id,
        domain_code,
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
    pub(crate) fn render(self, data: &Records, dates: DateStyle) -> Vec<Value> {
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

/// The domain a request scopes to under the tenant's `scope.domain` quirk:
/// only the configured mechanism counts; `None` means unscoped.
fn requested_domain(
    shared: &Shared,
    request: &BrowseRequest,
    headers: &HeaderMap,
) -> Option<String> {
    match shared.tenant.quirks.domain {
        DomainQuirk::Query => request.domain_code.clone(),
        DomainQuirk::Filter => request.filters.iter().find_map(|f| f.domain_eq()),
        DomainQuirk::Header => headers
            .get("x-qad-workspace-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split('_').next().unwrap_or(v).to_owned()),
        DomainQuirk::Rows => None,
    }
}

/// Whether `filter` is the modification-date filter `filter.date` is about.
fn is_date_filter(filter: &Filter) -> bool {
    filter.field().ends_with("lastModifiedDate")
}

/// The browse handler.
pub(crate) async fn browse(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
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
    let quirks = shared.tenant.quirks;
    let filters = match served_filters(quirks, &request) {
        Ok(Some(filters)) => filters,
        Ok(None) => return page_body(Vec::new(), false),
        Err((message, field)) => return bad_request(&message, &field),
    };
    let page = {
        let mut live = shared.live();
        match quirks.paging {
            PagingQuirk::PageNumber => page,
            PagingQuirk::Cursor => {
                let call = (request.call_id.clone(), request.browse_id.clone());
                live.cursor_page(call, request.next)
            }
            PagingQuirk::FirstOnly => 1,
        }
    };
    let scope = requested_domain(&shared, &request, &headers);
    let (all, matching) = match matches(&shared, kind, scope.as_deref(), &filters) {
        Ok(found) => found,
        Err((message, field)) => return bad_request(&message, &field),
    };
    let at = |n: usize| {
        // The `order.key = any` quirk serves the matches last to first.
        let n = if quirks.order == OrderQuirk::Any {
            matching.len() - 1 - n
        } else {
            n
        };
        matching[n] as usize
    };
    let (size, stride) = match quirks.cap {
        // A silent cap serves fewer rows but offsets by the size asked.
        CapQuirk::Silent(cap) => (request.page_size.min(cap), request.page_size),
        CapQuirk::Reported => {
            let size = shared
                .tenant
                .max_page_size
                .map_or(request.page_size, |max| request.page_size.min(max));
            (size, size)
        }
    };
    let start = (page - 1).saturating_mul(stride);
    let end = start.saturating_add(size).min(matching.len());
    let has_more = end < matching.len();
    let rows = (start..end)
        .filter_map(|n| all.visit(at(n), Value::clone))
        .collect();
    page_body(rows, has_more)
}

/// A filter the tenant refuses (`400`): the message and the parameter at fault.
type BadFilter = (String, String);

/// The filters a browse applies, as the `filter.date` quirk answers them:
/// `Ok(None)` when the request matches nothing (`empty`), `Err` with the
/// filter refused. Domain clauses are left to the scope.
fn served_filters(
    quirks: super::quirks::Quirks,
    request: &BrowseRequest,
) -> Result<Option<Vec<&Filter>>, BadFilter> {
    let mut filters = Vec::new();
    for filter in &request.filters {
        // Only `scope.domain = filter` knows a domain filter; elsewhere the
        // field is not filterable and the clause changes nothing.
        if filter.domain_eq().is_some() {
            continue;
        }
        if is_date_filter(filter) {
            match quirks.date {
                DateQuirk::Date => {}
                DateQuirk::DateTime if filter.values().iter().any(|v| v.len() <= 10) => {
                    return Err((
                        "Invalid date-time value: expected YYYY-MM-DDTHH:MM:SS.sssZ".to_owned(),
                        filter.field().to_owned(),
                    ))
                }
                DateQuirk::DateTime => {}
                DateQuirk::Rejected => {
                    return Err((
                        format!("Field {} cannot be used in a filter", filter.field()),
                        filter.field().to_owned(),
                    ))
                }
                DateQuirk::Ignored => continue,
                DateQuirk::Empty => return Ok(None),
            }
        }
        filters.push(filter);
    }
    Ok(Some(filters))
}

/// The rows of a browse and the positions of those in the `scope` domain (`None`: every
/// domain) that pass every filter, in key order: computed once per request shape and state
/// of the data, so the pages of one walk do not filter every row again.
fn matches(
    shared: &Shared,
    kind: BrowseKind,
    scope: Option<&str>,
    filters: &[&Filter],
) -> Result<(BrowseRows, Arc<Vec<u32>>), BadFilter> {
    let domains = shared.tenant.quirks.domain != DomainQuirk::Query;
    let (all, key, cached) = {
        let mut live = shared.live();
        let key = live.matches_key(&format!("{kind:?} {domains} {scope:?} {filters:?}"));
        let cached = live.cached_matches(&key);
        (live.browse_rows(kind, domains), key, cached)
    };
    if let Some(found) = cached {
        return Ok((all, found));
    }
    let found = Arc::new(select(shared, &all, scope, filters)?);
    shared.live().cache_matches(key, found.clone());
    Ok((all, found))
}

/// The positions of the rows of `all` in the `scope` domain (`None`: every domain) that pass
/// every filter, in key order.
fn select(
    shared: &Shared,
    all: &BrowseRows,
    scope: Option<&str>,
    filters: &[&Filter],
) -> Result<Vec<u32>, BadFilter> {
    let mut matching = Vec::new();
    for at in 0..all.len() {
        let keep = all.visit(at, |row| -> Result<bool, BadFilter> {
            let Value::Object(map) = row else {
                return Ok(false);
            };
            if let Some(domain) = scope {
                if row_domain(map, &shared.tenant.domain) != domain {
                    return Ok(false);
                }
            }
            for filter in filters {
                if !filter
                    .matches(map)
                    .map_err(|e| (e.to_string(), "filter".to_owned()))?
                {
                    return Ok(false);
                }
            }
            Ok(true)
        });
        if keep.transpose()? == Some(true) {
            matching.push(at as u32);
        }
    }
    Ok(matching)
}

/// `GET {root}/api/qracore/browses/totalCount/`: how many rows the browse
/// would serve for the same `browseId`, filters and domain scope, answered
/// as the `count.endpoint` quirk says (paging parameters are ignored).
pub(crate) async fn total_count(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let quirks = shared.tenant.quirks;
    if quirks.count == CountQuirk::Absent {
        return super::respond::not_found(COUNT_PATH);
    }
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
    let count = match served_filters(quirks, &request) {
        Ok(Some(filters)) => {
            let scope = requested_domain(&shared, &request, &headers);
            match matches(&shared, kind, scope.as_deref(), &filters) {
                Ok((_, found)) => found.len(),
                Err((message, field)) => return bad_request(&message, &field),
            }
        }
        Ok(None) => 0,
        Err((message, field)) => return bad_request(&message, &field),
    };
    match quirks.count {
        CountQuirk::Object => Json(json!({ "data": { "totalCount": count } })).into_response(),
        _ => Json(json!(count)).into_response(),
    }
}

/// The domain of a rendered row: its `*.domainCode`, else the tenant's.
fn row_domain<'r>(row: &'r serde_json::Map<String, Value>, tenant: &'r str) -> &'r str {
    row.iter()
        .find(|(k, _)| k.ends_with(".domainCode"))
        .and_then(|(_, v)| v.as_str())
        .unwrap_or(tenant)
}
