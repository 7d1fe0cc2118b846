//! One page of a collection, and lazy streams over all of them.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::Result;
use crate::query::{FieldSelection, Query};

/// The largest `count` Mailchimp accepts, and the page size of streams.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// One page of a Mailchimp collection.
///
/// Returned by the `.send()` of list requests; use their `.into_stream()`
/// to walk the whole collection instead.
///
/// **One odd item never fails a page.** When an item does not decode (an
/// out-of-range number, an unexpected `null`, an unknown enum value), the
/// others are still in [`items`](Self::items) and that one is in
/// [`undecoded`](Self::undecoded) with its raw JSON. Streams yield it as
/// [`Error::UndecodedItem`](crate::Error::UndecodedItem) after its page's
/// decoded items and go on; any other error still ends a stream. A body that is not a collection
/// at all is [`Error::Decode`](crate::Error::Decode).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items on this page that decoded, in Mailchimp's order.
    pub items: Vec<T>,
    /// The size of the whole collection (`total_items`), not of this page.
    pub total_items: u64,
    /// The items on this page that did not decode (usually none).
    pub undecoded: Vec<UndecodedItem>,
}

impl<T> Page<T> {
    /// A page from its parts, every item decoded.
    pub fn new(items: Vec<T>, total_items: u64) -> Self {
        Page {
            items,
            total_items,
            undecoded: Vec::new(),
        }
    }

    /// How many items Mailchimp sent on this page, decoded or not.
    pub fn len_sent(&self) -> usize {
        self.items.len() + self.undecoded.len()
    }
}

/// The most characters of an undecoded item's JSON that
/// [`UndecodedItem::excerpt`] shows.
pub const UNDECODED_RAW_CHARS: usize = 2000;

/// A list item that did not decode, with its JSON as Mailchimp sent it.
///
/// ```
/// use mailchimp_client::UndecodedItem;
///
/// let raw = serde_json::json!({"id": "SO-7", "order_total": "lots"});
/// let item = UndecodedItem::new(40, raw, "invalid type: string \"lots\", expected a number");
/// assert_eq!(item.position, 40);
/// assert_eq!(item.id.as_deref(), Some("SO-7"));
/// assert!(item.excerpt().contains("\"lots\""));
/// assert!(item.to_string().contains("SO-7"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UndecodedItem {
    /// Its position in the whole collection (the page's offset plus its
    /// index on the page).
    pub position: u64,
    /// Its `id`, when it has a string or numeric one.
    pub id: Option<String>,
    /// Its JSON as Mailchimp sent it (one item: bounded by the page).
    pub raw: serde_json::Value,
    /// What did not decode, as serde said it.
    pub reason: String,
}

impl UndecodedItem {
    /// An item at `position` whose JSON is `raw`, with the decode `reason`.
    pub fn new(position: u64, raw: serde_json::Value, reason: impl Into<String>) -> Self {
        let id = match raw.get("id") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        UndecodedItem {
            position,
            id,
            raw,
            reason: reason.into(),
        }
    }

    /// The item's JSON as text, cut at [`UNDECODED_RAW_CHARS`] characters
    /// (then ending with `…`), for logs and messages.
    pub fn excerpt(&self) -> String {
        let text = self.raw.to_string();
        let mut cut: String = text.chars().take(UNDECODED_RAW_CHARS).collect();
        if cut.len() < text.len() {
            cut.push('…');
        }
        cut
    }
}

impl std::fmt::Display for UndecodedItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "list item {}", self.position)?;
        if let Some(id) = &self.id {
            write!(f, " (id {id})")?;
        }
        write!(f, " could not be decoded: {}", self.reason)
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// Checks a caller's page size: Mailchimp takes 1 to 1000.
pub(crate) fn checked_count(count: u32) -> Result<u32> {
    if count == 0 || count > MAX_PAGE_SIZE {
        return Err(crate::Error::invalid_input(
            "count",
            format!("must be between 1 and {MAX_PAGE_SIZE}, got {count}"),
        ));
    }
    Ok(count)
}

/// Where a paginated walk stands.
struct Cursor {
    client: Client,
    path: Vec<String>,
    query: Query,
    items_key: &'static str,
    page_size: u32,
    offset: u64,
    total: Option<u64>,
}

/// Every item of a collection, fetched `page_size` at a time.
///
/// Nothing is requested until the stream is polled. The walk stops at
/// `total_items` or on an empty page, and ends after the first error,
/// except [`Error::UndecodedItem`](crate::Error::UndecodedItem): an item
/// that did not decode is yielded as one after its page's decoded items, and
/// the walk goes on.
pub(crate) fn paginate<T>(
    client: Client,
    path: Vec<String>,
    query: Query,
    items_key: &'static str,
    page_size: u32,
    start: u64,
) -> BoxStream<'static, Result<T>>
where
    T: DeserializeOwned + Send + 'static,
{
    let cursor = Cursor {
        client,
        path,
        query,
        items_key,
        page_size,
        offset: start,
        total: None,
    };
    stream::try_unfold(cursor, |mut c| async move {
        if c.total.is_some_and(|total| c.offset >= total) {
            return Ok(None);
        }
        let count = checked_count(c.page_size)?;
        let path: Vec<&str> = c.path.iter().map(String::as_str).collect();
        let page: Page<T> = c
            .client
            .get_page(&path, &c.query, c.items_key, c.offset, count)
            .await?;
        if page.len_sent() == 0 {
            return Ok(None);
        }
        c.total = Some(page.total_items);
        c.offset += page.len_sent() as u64;
        Ok(Some((page_results(page), c)))
    })
    .try_flatten()
    .boxed()
}

/// A page's items as stream results: the decoded ones, then each undecoded
/// one as an [`Error::UndecodedItem`](crate::Error::UndecodedItem).
fn page_results<T>(page: Page<T>) -> stream::Iter<std::vec::IntoIter<Result<T>>> {
    let undecoded = page
        .undecoded
        .into_iter()
        .map(|item| Err(crate::Error::UndecodedItem(Box::new(item))));
    let results: Vec<Result<T>> = page.items.into_iter().map(Ok).chain(undecoded).collect();
    stream::iter(results)
}

/// The state every list request builder shares: where the collection is,
/// its filters, the field selection, and the page window.
///
/// Crate-internal; public builders wrap it and forward their setters, then
/// call [`Collection::send`] or [`Collection::into_stream`].
#[derive(Debug, Clone)]
pub(crate) struct Collection {
    client: Client,
    path: Vec<String>,
    items_key: &'static str,
    /// Filters specific to the endpoint.
    pub(crate) query: Query,
    /// `fields` / `exclude_fields`.
    pub(crate) fields: FieldSelection,
    /// Page size; `None` is Mailchimp's default (10) for `send`, and 1000
    /// for streams.
    pub(crate) count: Option<u32>,
    /// Where to start.
    pub(crate) offset: u64,
}

impl Collection {
    /// A collection at `path` whose items are under `items_key`.
    pub(crate) fn new(client: Client, path: &[&str], items_key: &'static str) -> Self {
        Collection {
            client,
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            items_key,
            query: Query::new(),
            fields: FieldSelection::All,
            count: None,
            offset: 0,
        }
    }

    fn full_query(&self) -> Query {
        let mut query = self.query.clone();
        self.fields.apply(&mut query);
        query
    }

    /// One page at `offset`, `count` items (default 10).
    pub(crate) async fn send<T: DeserializeOwned>(self) -> Result<Page<T>> {
        let count = checked_count(self.count.unwrap_or(DEFAULT_PAGE_SIZE))?;
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        self.client
            .get_page(
                &path,
                &self.full_query(),
                self.items_key,
                self.offset,
                count,
            )
            .await
    }

    /// Every item from `offset` on, `count` (default 1000) per request.
    pub(crate) fn into_stream<T>(self) -> BoxStream<'static, Result<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let query = self.full_query();
        let page_size = self.count.unwrap_or(MAX_PAGE_SIZE);
        paginate(
            self.client,
            self.path,
            query,
            self.items_key,
            page_size,
            self.offset,
        )
    }
}

/// Mailchimp's page size when `count` is not given.
pub const DEFAULT_PAGE_SIZE: u32 = 10;

/// The setters and finishers every public list request builder shares.
/// The builder must have a field `inner: Collection`; `$item` is the item
/// type. Crate-internal; e-commerce builders use it too.
macro_rules! collection_methods {
    ($item:ty) => {
        /// Items per request, 1 to 1000. `.send()` defaults to Mailchimp's
        /// 10; `.into_stream()` to 1000.
        pub fn count(mut self, count: u32) -> Self {
            self.inner.count = Some(count);
            self
        }

        /// Items to skip before the first returned (default 0).
        pub fn offset(mut self, offset: u64) -> Self {
            self.inner.offset = offset;
            self
        }

        /// Return only these fields, in Mailchimp's dot notation relative to
        /// the response (e.g. `members.email_address`). Replaces any
        /// [`exclude_fields`](Self::exclude_fields).
        pub fn fields<I, S>(mut self, fields: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.inner.fields = $crate::query::FieldSelection::only(fields);
            self
        }

        /// Return everything but these fields (dot notation). Replaces any
        /// [`fields`](Self::fields).
        pub fn exclude_fields<I, S>(mut self, fields: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.inner.fields = $crate::query::FieldSelection::except(fields);
            self
        }

        /// Fetches one page.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidInput`]($crate::Error::InvalidInput) for a `count`
        /// outside 1..=1000; otherwise the API and transport errors of
        /// [`Error`]($crate::Error).
        pub async fn send(self) -> $crate::Result<$crate::Page<$item>> {
            self.inner.send().await
        }

        /// Every item from `offset` on, as a lazy stream: nothing is
        /// requested until it is polled; it pages with `offset`/`count`,
        /// stops at `total_items` or an empty page, and ends after the first
        /// error. It owns a clone of the client, so it can be moved to a task.
        pub fn into_stream(
            self,
        ) -> impl futures::Stream<Item = $crate::Result<$item>> + Send + Unpin + 'static {
            self.inner.into_stream()
        }
    };
}
pub(crate) use collection_methods;

/// `fields` / `exclude_fields` setters for single-resource reads. The
/// builder must have a field `fields: FieldSelection`.
macro_rules! field_selection_methods {
    () => {
        /// Return only these fields (Mailchimp's dot notation, e.g.
        /// `merge_fields.FNAME`). Replaces any
        /// [`exclude_fields`](Self::exclude_fields).
        pub fn fields<I, S>(mut self, fields: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.fields = $crate::query::FieldSelection::only(fields);
            self
        }

        /// Return everything but these fields. Replaces any
        /// [`fields`](Self::fields).
        pub fn exclude_fields<I, S>(mut self, fields: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.fields = $crate::query::FieldSelection::except(fields);
            self
        }
    };
}
pub(crate) use field_selection_methods;
