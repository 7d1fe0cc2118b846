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
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items on this page, in Mailchimp's order.
    pub items: Vec<T>,
    /// The size of the whole collection (`total_items`), not of this page.
    pub total_items: u64,
}

impl<T> Page<T> {
    /// A page from its parts.
    pub fn new(items: Vec<T>, total_items: u64) -> Self {
        Page { items, total_items }
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
/// `total_items` or on an empty page, and ends after the first error.
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
        if page.items.is_empty() {
            return Ok(None);
        }
        c.total = Some(page.total_items);
        c.offset += page.items.len() as u64;
        Ok(Some((stream::iter(page.items).map(Ok), c)))
    })
    .try_flatten()
    .boxed()
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
