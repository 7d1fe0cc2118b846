//! The browse API (`api/qracore/browses`) as offset/count pages and as a lazy
//! stream.
//!
//! QAD pages by number: `page` (1-based), `pageSize`, and `pageAction`
//! (`first` on the first page). Callers think in offset/count, so a request
//! for `offset`, `count` becomes `page = offset / count + 1`,
//! `pageSize = count`; `offset` must be a multiple of `count`.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::behaviour::{DomainScope, PagingMode};
use serde::de::Error as _;
use serde_json::Value;

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use crate::paths::BrowseId;

/// The path of the browse API below the tenant URL.
pub const BROWSE_PATH: &str = "api/qracore/browses";
/// The page size used when none is set.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// The page size asked for when `paging.mode = "first-only"`: the only page
/// must hold every row, so this bounds what such a tenant can serve.
pub const FIRST_ONLY_PAGE_SIZE: u32 = 100_000;

/// One browse row: flat, dotted keys such as `customer.customerCode` or
/// `cm_mstr.cm_addr`, exactly as the tenant sent them.
pub type Row = serde_json::Map<String, Value>;

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The records on this page, in the tenant's order.
    pub items: Vec<T>,
    /// The offset this page starts at.
    pub offset: u64,
    /// The page size asked for.
    pub count: u32,
    /// Whether another page may follow. QAD's `HasMoreParams` decides when
    /// the tenant sends it, since a tenant may serve fewer rows than the
    /// count asked for (a server-side page-size cap) and still have more;
    /// without it, a full page means more may follow. An empty page always
    /// ends the read.
    pub has_more: bool,
    /// Rows the tenant served, before rows of other domains were dropped.
    pub(crate) served: usize,
    /// `HasMoreParams` as the tenant sent it.
    pub(crate) reported: Option<bool>,
    /// Whether every key of the read so far came in ascending order.
    pub(crate) in_key_order: bool,
}

impl<T> Page<T> {
    /// The offset of the next page, or `None` after the last one.
    ///
    /// ```
    /// # use qad_client::Page;
    /// let page = Page::new(vec![1, 2], 4, 2, true);
    /// assert_eq!(page.next_offset(), Some(6));
    /// assert_eq!(Page::new(vec![1], 6, 2, false).next_offset(), None);
    /// ```
    pub fn next_offset(&self) -> Option<u64> {
        self.has_more.then(|| self.offset + u64::from(self.count))
    }

    /// A page; `has_more` is cleared when `items` is empty.
    pub fn new(items: Vec<T>, offset: u64, count: u32, has_more: bool) -> Self {
        let has_more = has_more && !items.is_empty();
        Self {
            served: items.len(),
            items,
            offset,
            count,
            has_more,
            reported: None,
            in_key_order: true,
        }
    }

    /// Whether every key of this read so far, this page's included, came in
    /// ascending order (always `true` for raw rows, whose keys are unknown).
    /// When it is `false`, resuming after the last key could skip rows.
    pub fn in_key_order(&self) -> bool {
        self.in_key_order
    }

    /// Applies `f` to every item, keeping the paging fields.
    ///
    /// # Errors
    ///
    /// The first error `f` returns.
    pub fn try_map<U, F>(self, f: F) -> Result<Page<U>>
    where
        F: FnMut(T) -> Result<U>,
    {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_>>()?,
            offset: self.offset,
            count: self.count,
            has_more: self.has_more,
            served: self.served,
            reported: self.reported,
            in_key_order: self.in_key_order,
        })
    }
}

/// A comparison operator of browse filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FilterOp {
    /// `eq`
    Eq,
    /// `sw`: starts with.
    StartsWith,
    /// `ew`: ends with.
    EndsWith,
    /// `cn`: contains.
    Contains,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl FilterOp {
    /// The operator as QAD spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::StartsWith => "sw",
            Self::EndsWith => "ew",
            Self::Contains => "cn",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }
}

/// One browse filter, sent as `filter=field,op,value,literal` (or
/// `field,rg,from,literal,to,literal` for a range).
///
/// ```
/// use qad_client::{Filter, FilterOp};
///
/// let f = Filter::new("customer.lastModifiedDate", FilterOp::Ge, "2025-03-01");
/// assert_eq!(f.to_param()?, "customer.lastModifiedDate,ge,2025-03-01,literal");
/// let r = Filter::range("salesOrder.orderDate", "2025-01-01", "2025-01-31");
/// assert_eq!(r.to_param()?, "salesOrder.orderDate,rg,2025-01-01,literal,2025-01-31,literal");
/// assert!(Filter::new("city", FilterOp::Eq, "Paris, TX").to_param().is_err());
/// # Ok::<(), qad_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    field: String,
    condition: Condition,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Condition {
    Compare(FilterOp, String),
    Range(String, String),
}

impl Filter {
    /// `field op value`.
    pub fn new(field: impl Into<String>, op: FilterOp, value: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            condition: Condition::Compare(op, value.into()),
        }
    }

    /// `field` equal to `value`.
    pub fn eq(field: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(field, FilterOp::Eq, value)
    }

    /// `field` between `from` and `to`, both included.
    pub fn range(field: impl Into<String>, from: impl Into<String>, to: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            condition: Condition::Range(from.into(), to.into()),
        }
    }

    /// The filtered field.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The `filter` query value.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFilter`] for an empty field name, or a comma in the
    /// field or a value: QAD's filter syntax has no escape for it.
    pub fn to_param(&self) -> Result<String> {
        let problem = |problem| {
            Err(Error::InvalidFilter {
                field: self.field.clone(),
                problem,
            })
        };
        if self.field.trim().is_empty() {
            return problem("the field name is empty");
        }
        let values: Vec<&str> = match &self.condition {
            Condition::Compare(_, v) => vec![v],
            Condition::Range(a, b) => vec![a, b],
        };
        if self.field.contains(',') || values.iter().any(|v| v.contains(',')) {
            return problem("a comma cannot be expressed in a browse filter");
        }
        Ok(match &self.condition {
            Condition::Compare(op, v) => format!("{},{},{v},literal", self.field, op.as_str()),
            Condition::Range(a, b) => format!("{},rg,{a},literal,{b},literal", self.field),
        })
    }
}

/// A browse read, built by [`Client::browse`]. Nothing is sent until
/// [`send`](Self::send) or the stream is polled.
///
/// Pages after the first send the configured `pageAction` (default `next`)
/// and the same `callId`, in case the tenant keeps a cursor per call. How
/// pages are asked for, and how the domain is scoped, follow the client's
/// [`Behaviour`](crate::Behaviour); the streams check every page so that a
/// tenant behaving otherwise fails the read with a typed error instead of
/// losing or doubling rows (see [`into_pages`](Self::into_pages)).
///
/// ```no_run
/// # async fn run(client: qad_client::Client) -> qad_client::Result<()> {
/// use futures::TryStreamExt;
/// use qad_client::{BrowseId, Filter};
///
/// let id: BrowseId = "urn:browse:bebrowse:com.qad.erp.sales.salesOrders".parse()?;
/// let mut rows = client
///     .browse(&id)
///     .filter(Filter::eq("salesOrder.siteCode", "10-100"))
///     .count(200)
///     .into_stream();
/// while let Some(row) = rows.try_next().await? {
///     println!("{:?}", row.get("salesOrder.salesOrderNumber"));
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Browse {
    client: Client,
    id: BrowseId,
    filters: Vec<Filter>,
    offset: u64,
    count: u32,
    call_id: String,
    domain_field: String,
}

impl Client {
    /// Starts a read of the browse `id`.
    pub fn browse(&self, id: &BrowseId) -> Browse {
        Browse {
            client: self.clone(),
            id: id.clone(),
            filters: Vec::new(),
            offset: 0,
            count: DEFAULT_PAGE_SIZE,
            call_id: uuid::Uuid::new_v4().to_string(),
            domain_field: "domainCode".to_owned(),
        }
    }
}

impl Browse {
    /// Adds a filter (filters combine with AND).
    #[must_use]
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Where to start (default 0); a multiple of the count.
    #[must_use]
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Rows per page (default 100); never more than a silent
    /// `paging.page_size_cap`.
    #[must_use]
    pub fn count(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// The row key carrying the domain (default `domainCode`; a key ending
    /// in `.domainCode` is found too). Used by `scope.domain = "filter"` and
    /// by the check that every row belongs to the configured domain.
    #[must_use]
    pub fn domain_field(mut self, field: impl Into<String>) -> Self {
        self.domain_field = field.into();
        self
    }

    /// The browse being read.
    pub fn id(&self) -> &BrowseId {
        &self.id
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The offset and count set.
    pub(crate) fn position(&self) -> (u64, u32) {
        (self.offset, self.count)
    }

    /// Fetches the page at the current offset.
    ///
    /// With `paging.mode = "first-only"` only offset 0 can be read, as one
    /// page of up to [`FIRST_ONLY_PAGE_SIZE`] rows; with `"cursor"`, only the
    /// streams can read past the first page.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPaging`] when the offset is not a multiple of the count
    /// (or the count is 0, or the paging mode cannot reach it),
    /// [`Error::InvalidFilter`], [`Error::OtherDomain`],
    /// [`Error::PagingExhausted`], and any error of the call or of decoding
    /// the envelope.
    pub async fn send(&self) -> Result<Page<Row>> {
        let mode = self.client.behaviour().paging_mode;
        match mode {
            PagingMode::PageNumber => {}
            _ if self.offset == 0 => {}
            _ => {
                return Err(Error::InvalidPaging {
                    offset: self.offset,
                    count: self.count,
                })
            }
        }
        if mode == PagingMode::FirstOnly {
            return self.fetch_only_page().await;
        }
        let count = self.client.behaviour().page_size_cap.clamp(self.count);
        self.fetch(self.offset, count).await
    }

    /// The one page a `first-only` tenant serves, all of it.
    async fn fetch_only_page(&self) -> Result<Page<Row>> {
        let size = FIRST_ONLY_PAGE_SIZE.max(self.count);
        let page = self.fetch(0, size).await?;
        if page.reported == Some(true) || page.served >= size as usize {
            return Err(Error::PagingExhausted {
                browse: self.id.to_string(),
                served: page.served,
            });
        }
        Ok(Page {
            has_more: false,
            ..page
        })
    }

    /// One request: page `offset / count + 1` of `count` rows.
    pub(crate) async fn fetch(&self, offset: u64, count: u32) -> Result<Page<Row>> {
        if count == 0 || !offset.is_multiple_of(u64::from(count)) {
            return Err(Error::InvalidPaging { offset, count });
        }
        let page = offset / u64::from(count) + 1;
        let action = if page == 1 {
            "first"
        } else {
            self.client.settings().later_page_action.as_str()
        };
        let mut call = Call::get(BROWSE_PATH)
            .query("browseId", self.id.as_str())
            .query("page", page.to_string())
            .query("pageSize", count.to_string())
            .query("pageAction", action)
            .query("callId", self.call_id.as_str());
        for filter in self.scoped_filters()? {
            call = call.query("filter", filter);
        }
        let reply = self.client.call(&call).await?;
        let context = format!("browse {}", self.id);
        let (rows, reported) = decode_envelope(reply.json(&context)?, &context)?;
        let served = rows.len();
        let rows = self.own_domain(rows)?;
        // Without `HasMoreParams`, only a full page suggests another one.
        let more = reported.unwrap_or(served >= count as usize);
        let mut page = Page::new(rows, offset, count, more && served > 0);
        page.served = served;
        page.reported = reported;
        Ok(page)
    }

    /// The `filter` values of every request of this read: the filters set,
    /// then the domain clause when `scope.domain = "filter"`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFilter`].
    pub(crate) fn scoped_filters(&self) -> Result<Vec<String>> {
        let mut params = self
            .filters
            .iter()
            .map(Filter::to_param)
            .collect::<Result<Vec<_>>>()?;
        let behaviour = self.client.behaviour();
        if let (DomainScope::Filter, Some(domain)) = (behaviour.domain_scope, self.client.domain())
        {
            params.push(Filter::eq(self.domain_field.as_str(), domain.as_str()).to_param()?);
        }
        Ok(params)
    }

    /// The rows of the configured domain: rows of another one are dropped
    /// with `scope.domain = "rows"`, and an error otherwise, since then the
    /// scope did not hold. Rows without a domain key pass.
    fn own_domain(&self, rows: Vec<Row>) -> Result<Vec<Row>> {
        let Some(expected) = self.client.domain() else {
            return Ok(rows);
        };
        let drop_others = self.client.behaviour().domain_scope == DomainScope::Rows;
        let mut kept = Vec::with_capacity(rows.len());
        for row in rows {
            match row_domain(&row, &self.domain_field) {
                Some(found) if !found.trim().eq_ignore_ascii_case(expected.as_str()) => {
                    if !drop_others {
                        return Err(Error::OtherDomain {
                            browse: self.id.to_string(),
                            expected: expected.to_string(),
                            found: found.to_owned(),
                        });
                    }
                }
                _ => kept.push(row),
            }
        }
        Ok(kept)
    }

    /// Every page from the current offset on, fetched as the stream is
    /// polled, each checked against the one before: a repeated row is
    /// [`Error::PageOverlap`], an untrustworthy short page
    /// [`Error::ShortPage`]. Ends after the last page or the first error.
    pub fn into_pages(self) -> BoxStream<'static, Result<Page<Row>>> {
        crate::walk::pages(self, Ok, fingerprint, false)
    }

    /// Every row from the current offset on, fetched page by page as the
    /// stream is polled, with the checks of [`into_pages`](Self::into_pages).
    /// Ends after the last page or the first error.
    pub fn into_stream(self) -> BoxStream<'static, Result<Row>> {
        self.into_pages()
            .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

/// A raw row's identity for the overlap check: its JSON text.
fn fingerprint(row: &Row) -> String {
    serde_json::to_string(row).unwrap_or_default()
}

/// The domain a row carries: `field`, else the one key ending in
/// `.domainCode`, else `domainCode`.
fn row_domain<'r>(row: &'r Row, field: &str) -> Option<&'r str> {
    row.get(field)
        .or_else(|| {
            let mut hits = row.iter().filter(|(k, _)| k.ends_with(".domainCode"));
            match (hits.next(), hits.next()) {
                (Some((_, v)), None) => Some(v),
                _ => None,
            }
        })
        .or_else(|| row.get("domainCode"))
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
}

/// Rows and `HasMoreParams` from either envelope: `{"data":[…],
/// "auxillaryData":{…}}`, `{"data":{"<name>":[…]}}`, a bare `{"<name>":[…]}`,
/// or a bare array.
///
/// # Errors
///
/// [`Error::Decode`] when no row list is found or a row is not an object.
pub(crate) fn decode_envelope(body: Value, context: &str) -> Result<(Vec<Row>, Option<bool>)> {
    let bad = |message: &str| Error::Decode {
        context: context.to_owned(),
        source: serde_json::Error::custom(message),
    };
    // A bare `null` is no browse answer (a `{"data": null}` envelope is an empty page): reading
    // it as no rows would end the read silently.
    if body.is_null() {
        return Err(bad("the response is null, not a browse envelope"));
    }
    let more = has_more(&body);
    let data = match body {
        Value::Object(mut root) if root.contains_key("data") => {
            root.remove("data").unwrap_or_default()
        }
        other => other,
    };
    let rows = match data {
        Value::Null => Vec::new(),
        Value::Array(rows) => rows,
        Value::Object(mut map) => {
            // The row list is the array that is not metadata; prefer a
            // non-empty one, since key order says nothing here.
            let lists: Vec<(String, usize)> = map
                .iter()
                .filter(|(k, _)| !is_meta(k))
                .filter_map(|(k, v)| v.as_array().map(|a| (k.clone(), a.len())))
                .collect();
            let key = lists
                .iter()
                .find(|(_, len)| *len > 0)
                .or_else(|| lists.first())
                .map(|(k, _)| k.clone())
                .ok_or_else(|| bad("no list of rows in the response"))?;
            match map.remove(&key) {
                Some(Value::Array(rows)) => rows,
                _ => Vec::new(),
            }
        }
        _ => return Err(bad("the response is neither a list nor an object")),
    };
    let rows = rows
        .into_iter()
        .map(|row| match row {
            Value::Object(row) => Ok(row),
            _ => Err(bad("a row is not an object")),
        })
        .collect::<Result<_>>()?;
    Ok((rows, more))
}

/// Keys that sit beside the row list in QAD responses.
fn is_meta(key: &str) -> bool {
    [
        "auxillaryData",
        "auxiliaryData",
        "errors",
        "messages",
        "supplementaryMessages",
    ]
    .iter()
    .any(|meta| key.eq_ignore_ascii_case(meta))
}

/// `auxillaryData.HasMoreParams` (QAD's spelling; the correct one is also
/// accepted), at the top level or inside `data`.
fn has_more(body: &Value) -> Option<bool> {
    let find = |v: &Value| {
        ["auxillaryData", "auxiliaryData"]
            .iter()
            .find_map(|k| v.get(k))
            .and_then(|aux| aux.get("HasMoreParams"))
            .and_then(|flag| match flag {
                Value::Bool(b) => Some(*b),
                Value::String(s) => Some(s.eq_ignore_ascii_case("true")),
                _ => None,
            })
    };
    find(body).or_else(|| body.get("data").and_then(find))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_envelopes_decode() {
        let wrapped = json!({"data": [{"a": 1}], "auxillaryData": {"HasMoreParams": "false"}});
        assert_eq!(decode_envelope(wrapped, "t").unwrap().1, Some(false));
        let nested = json!({"data": {"customerV2s": [{"a": 1}, {"a": 2}]}});
        assert_eq!(decode_envelope(nested, "t").unwrap().0.len(), 2);
        let bare = json!({"customerV2s": [{"a": 1}], "auxiliaryData": {"HasMoreParams": true}});
        let (rows, more) = decode_envelope(bare, "t").unwrap();
        assert_eq!((rows.len(), more), (1, Some(true)));
        assert_eq!(decode_envelope(json!([{"a": 1}]), "t").unwrap().1, None);
        let with_messages = json!({"data": {"messages": [], "salesOrders": [{"a": 1}], "supplementaryMessages": []}});
        assert_eq!(decode_envelope(with_messages, "t").unwrap().0.len(), 1);
        let empty = json!({"data": {"salesOrders": [], "supplementaryMessages": []}});
        assert!(decode_envelope(empty, "t").unwrap().0.is_empty());
        assert!(decode_envelope(json!({"data": 3}), "t").is_err());
        assert!(decode_envelope(json!({"data": [1]}), "t").is_err());
    }

    #[test]
    fn empty_pages_end_the_read_short_ones_follow_the_tenant() {
        // A tenant capping pageSize serves short pages and says more follow.
        assert!(Page::new(vec![1], 0, 2, true).has_more);
        assert!(!Page::new(vec![1], 0, 2, false).has_more);
        assert!(!Page::<u8>::new(vec![], 0, 2, true).has_more);
        assert!(Page::new(vec![1, 2], 0, 2, true).has_more);
    }

    #[test]
    fn stream_is_send_unpin_static() {
        fn check<T: Send + Unpin + 'static>(_: &T) {}
        let client = Client::builder()
            .tenant_url("https://acme.qad.com/clouderp")
            .credentials(crate::Credentials::basic("u", "p"))
            .build()
            .unwrap();
        let id: BrowseId = "urn:browse:mfg:cm007".parse().unwrap();
        check(&client.browse(&id).into_stream());
    }
}
