//! Typed reads over browses: which browse, how its flat keys map onto the
//! typed fields, and which field carries the modification date.

use std::fmt;
use std::marker::PhantomData;

use chrono::NaiveDate;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::behaviour::DateFilter;
use crate::browse::{Browse, Filter, FilterOp, Page, Row};
use crate::error::{Error, Result};
use crate::incremental::Stamp;
use crate::paths::BrowseId;

/// A record type that can be read from a browse row.
///
/// Implemented by [`Customer`](crate::Customer), [`Item`](crate::Item),
/// [`SalesOrder`](crate::SalesOrder) and
/// [`SalesOrderLine`](crate::SalesOrderLine).
pub trait Record: DeserializeOwned + Send + 'static {
    /// What the record is, for error messages (`customer`).
    const KIND: &'static str;
    /// The field names the typed struct reads (its serde names).
    const FIELDS: &'static [&'static str];
    /// The record's key, unique within the tenant and domain.
    fn key(&self) -> String;
    /// Its modification stamp, for [`Dedup`](crate::Dedup).
    fn stamp(&self) -> Stamp;
}

/// How the keys of a browse row map onto a record's field names.
///
/// V2 business-entity browses prefix every key with the entity
/// (`customer.customerCode`); legacy `mfg:` browses use table columns
/// (`cm_mstr.cm_addr`). For each typed field the map looks for, in order:
/// an explicit source set with [`map`](Self::map); `<prefix>.<field>`; the
/// only key ending in `.<field>`; the bare field name. Keys not used by a
/// typed field stay in the record's `extra` map under their original name.
///
/// ```
/// use qad_client::FieldMap;
///
/// let fields = FieldMap::prefixed("customer").map("EMail", "contact.email");
/// assert_eq!(fields.source_of("customerCode"), "customer.customerCode");
/// assert_eq!(fields.source_of("EMail"), "contact.email");
/// assert_eq!(FieldMap::bare().source_of("customerCode"), "customerCode");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap {
    prefix: Option<String>,
    explicit: Vec<(String, String)>,
}

impl FieldMap {
    /// Keys named exactly like the typed fields (business documents).
    pub fn bare() -> Self {
        Self::default()
    }

    /// Keys `<prefix>.<field>`, as V2 business-entity browses write them.
    pub fn prefixed(prefix: impl Into<String>) -> Self {
        Self {
            prefix: Some(prefix.into()),
            explicit: Vec::new(),
        }
    }

    /// Reads the typed field `field` from the row key `source`.
    #[must_use]
    pub fn map(mut self, field: impl Into<String>, source: impl Into<String>) -> Self {
        let field = field.into();
        self.explicit.retain(|(f, _)| *f != field);
        self.explicit.push((field, source.into()));
        self
    }

    /// The row key `field` is read from, and the name filters on it use.
    pub fn source_of(&self, field: &str) -> String {
        if let Some((_, source)) = self.explicit.iter().find(|(f, _)| f == field) {
            return source.clone();
        }
        match &self.prefix {
            Some(prefix) => format!("{prefix}.{field}"),
            None => field.to_owned(),
        }
    }

    /// Renames the keys of `row` that feed the typed `fields`, in place: every other key stays
    /// as it was (a typed field wins over a key of the same name).
    pub(crate) fn apply(&self, mut row: Row, fields: &[&str]) -> Row {
        // Taken out first and put back after, so a field's source can never be a key another
        // field was just renamed to.
        let mut taken = Vec::with_capacity(fields.len());
        let mut prefixed = String::new();
        // Only a row with qualified keys (`table.field`) can hold a field under a suffix: an
        // entity row's absent optional fields then skip the search of every key.
        let qualified = row.keys().any(|key| key.contains('.'));
        for field in fields {
            let source = match self.explicit.iter().find(|(f, _)| f == field) {
                Some((_, source)) => source.as_str(),
                None => match &self.prefix {
                    Some(prefix) => {
                        prefixed.clear();
                        prefixed.push_str(prefix);
                        prefixed.push('.');
                        prefixed.push_str(field);
                        prefixed.as_str()
                    }
                    None => field,
                },
            };
            let entry = row.remove_entry(source).or_else(|| {
                if !qualified {
                    return None;
                }
                // Keys ending in `.{field}`, compared without building that text per field.
                let mut hits = row.keys().filter(|k| {
                    k.strip_suffix(field)
                        .is_some_and(|table| table.ends_with('.'))
                });
                match (hits.next().cloned(), hits.next()) {
                    (Some(only), None) => row.remove_entry(&only),
                    _ => None,
                }
            });
            if let Some(entry) = entry {
                taken.push((*field, entry));
            }
        }
        for (field, (mut key, value)) in taken {
            // The key's own text becomes the field's name when it ends with it (`table.field`):
            // no new allocation per field of every row.
            if key.len() > field.len() && key.ends_with(field) {
                key.replace_range(..key.len() - field.len(), "");
            } else if key != field {
                key = field.to_owned();
            }
            row.insert(key, value);
        }
        row
    }
}

/// Where one kind of record is read from: the browse, its field map, the
/// modification-date field and the overlap window of incremental reads.
///
/// The defaults (`ReadConfig::default_customers()` and friends) target QAD
/// Adaptive ERP's V2 business-entity browses; browse ids differ by release
/// and customisation, so check them at connect with
/// [`Client::validate_entities`](crate::Client::validate_entities).
///
/// ```
/// use qad_client::{FieldMap, ReadConfig};
///
/// let config = ReadConfig::new("urn:browse:mfg:cm007".parse()?, FieldMap::bare()
///         .map("customerCode", "cm_mstr.cm_addr")
///         .map("lastModifiedDate", "ad_mstr.ad_mod_date"))
///     .with_overlap_days(2);
/// assert_eq!(config.modified_field(), "lastModifiedDate");
/// # Ok::<(), qad_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadConfig {
    browse_id: BrowseId,
    fields: FieldMap,
    modified_field: String,
    overlap_days: u32,
}

impl ReadConfig {
    /// Reads from `browse_id` through `fields`; modification date in
    /// `lastModifiedDate`, one day of overlap.
    pub fn new(browse_id: BrowseId, fields: FieldMap) -> Self {
        Self {
            browse_id,
            fields,
            modified_field: "lastModifiedDate".to_owned(),
            overlap_days: 1,
        }
    }

    /// The typed field holding the modification date.
    #[must_use]
    pub fn with_modified_field(mut self, field: impl Into<String>) -> Self {
        self.modified_field = field.into();
        self
    }

    /// How many days before the requested date incremental reads start.
    /// QAD modification dates are often day-granular, so keep at least 1.
    #[must_use]
    pub fn with_overlap_days(mut self, days: u32) -> Self {
        self.overlap_days = days;
        self
    }

    /// The browse.
    pub fn browse_id(&self) -> &BrowseId {
        &self.browse_id
    }

    /// The field map.
    pub fn fields(&self) -> &FieldMap {
        &self.fields
    }

    /// The typed field holding the modification date.
    pub fn modified_field(&self) -> &str {
        &self.modified_field
    }

    /// The overlap window in days.
    pub fn overlap_days(&self) -> u32 {
        self.overlap_days
    }

    /// `urn:browse:bebrowse:com.qad.erp.base.customers`, keys `customer.*`.
    pub fn default_customers() -> Self {
        Self::new(
            BrowseId::known("urn:browse:bebrowse:com.qad.erp.base.customers"),
            FieldMap::prefixed("customer"),
        )
    }

    /// `urn:browse:bebrowse:com.qad.erp.base.items`, keys `item.*`
    /// (inferred by analogy; no public code shows an item V2 browse).
    pub fn default_items() -> Self {
        Self::new(
            BrowseId::known("urn:browse:bebrowse:com.qad.erp.base.items"),
            FieldMap::prefixed("item"),
        )
    }

    /// `urn:browse:bebrowse:com.qad.erp.sales.salesOrders`, keys `salesOrder.*`.
    pub fn default_sales_orders() -> Self {
        Self::new(
            BrowseId::known("urn:browse:bebrowse:com.qad.erp.sales.salesOrders"),
            FieldMap::prefixed("salesOrder"),
        )
    }

    /// `urn:browse:bebrowse:com.qad.erp.sales.salesOrderLines`, keys
    /// `salesOrderLine.*` (inferred; no public code shows a line browse).
    ///
    /// Lines carry no modification date of their own: read them per order
    /// ([`Reader::of_order`](crate::Reader::of_order)) when its header changed.
    pub fn default_sales_order_lines() -> Self {
        Self::new(
            BrowseId::known("urn:browse:bebrowse:com.qad.erp.sales.salesOrderLines"),
            FieldMap::prefixed("salesOrderLine"),
        )
    }

    /// The legacy customer browse `urn:browse:mfg:cm007` over `cm_mstr` and
    /// `ad_mstr`, modification date `ad_mstr.ad_mod_date`.
    pub fn mfg_customers() -> Self {
        let fields = [
            ("customerCode", "cm_mstr.cm_addr"),
            ("addressSearchName", "cm_mstr.cm_sort"),
            ("currencyCode", "cm_mstr.cm_curr"),
            ("languageCode", "cm_mstr.cm_lang"),
            ("customerTypeCode", "cm_mstr.cm_type"),
            ("creditTermsCode", "cm_mstr.cm_cr_terms"),
            ("addressName", "ad_mstr.ad_name"),
            ("street1", "ad_mstr.ad_line1"),
            ("street2", "ad_mstr.ad_line2"),
            ("street3", "ad_mstr.ad_line3"),
            ("city", "ad_mstr.ad_city"),
            ("stateCode", "ad_mstr.ad_state"),
            ("zipCode", "ad_mstr.ad_zip"),
            ("countryCode", "ad_mstr.ad_country"),
            ("telephone", "ad_mstr.ad_phone"),
            ("fax", "ad_mstr.ad_fax"),
            ("lastModifiedDate", "ad_mstr.ad_mod_date"),
        ];
        Self::new(BrowseId::known("urn:browse:mfg:cm007"), map_all(fields))
    }

    /// The legacy item browse `urn:browse:mfg:gp340` over `pt_mstr`,
    /// modification date `pt_mstr.pt_mod_date`.
    pub fn mfg_items() -> Self {
        let fields = [
            ("itemCode", "pt_mstr.pt_part"),
            ("description", "pt_mstr.pt_desc1"),
            ("description2", "pt_mstr.pt_desc2"),
            ("unitOfMeasure", "pt_mstr.pt_um"),
            ("productLine", "pt_mstr.pt_prod_line"),
            ("itemStatus", "pt_mstr.pt_status"),
            ("price", "pt_mstr.pt_price"),
            ("domainCode", "pt_mstr.pt_domain"),
            ("lastModifiedDate", "pt_mstr.pt_mod_date"),
        ];
        Self::new(BrowseId::known("urn:browse:mfg:gp340"), map_all(fields))
    }
}

fn map_all<const N: usize>(pairs: [(&str, &str); N]) -> FieldMap {
    pairs
        .into_iter()
        .fold(FieldMap::bare(), |map, (field, source)| {
            map.map(field, source)
        })
}

/// A typed browse read, made by [`Client::customers`](crate::Client::customers)
/// and its siblings. Like [`Browse`], nothing is sent before
/// [`send`](Self::send) or polling the stream.
pub struct Reader<T> {
    browse: Browse,
    config: ReadConfig,
    _record: PhantomData<fn() -> T>,
}

impl<T> Clone for Reader<T> {
    fn clone(&self) -> Self {
        Self {
            browse: self.browse.clone(),
            config: self.config.clone(),
            _record: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("browse", &self.browse)
            .field("config", &self.config)
            .finish()
    }
}

impl<T: Record> Reader<T> {
    pub(crate) fn new(client: &crate::Client, config: &ReadConfig) -> Self {
        Self {
            browse: client
                .browse(config.browse_id())
                .domain_field(config.fields().source_of("domainCode")),
            config: config.clone(),
            _record: PhantomData,
        }
    }

    /// The browse read underneath.
    pub(crate) fn browse(&self) -> &Browse {
        &self.browse
    }

    /// The client's configured tenant behaviour (paging, key order, …).
    pub fn behaviour(&self) -> crate::Behaviour {
        *self.browse.client().behaviour()
    }

    /// Adds a filter on the typed field `field` (mapped to its row key).
    #[must_use]
    pub fn filter(self, field: &str, op: FilterOp, value: impl Into<String>) -> Self {
        let source = self.config.fields.source_of(field);
        self.filter_raw(Filter::new(source, op, value))
    }

    /// Adds a filter written against the row keys as they are.
    #[must_use]
    pub fn filter_raw(mut self, filter: Filter) -> Self {
        self.browse = self.browse.filter(filter);
        self
    }

    /// Only records modified on or after `since` minus the overlap window:
    /// `filter=<modified field>,ge,<date>,literal`, the date written as
    /// `filter.date` says (`YYYY-MM-DD`, or `YYYY-MM-DDT00:00:00.000Z`);
    /// with `filter.date = "none"` no filter is sent and the read is full.
    ///
    /// The window re-reads records already seen, so deduplicate by key and
    /// stamp: see [`Dedup`](crate::Dedup).
    #[must_use]
    pub fn modified_since(self, since: NaiveDate) -> Self {
        let start = since - chrono::Days::new(u64::from(self.config.overlap_days));
        let field = self.config.modified_field.clone();
        self.on_or_after(&field, start)
    }

    /// Only records whose date field `field` is on or after `date`, written as
    /// `filter.date` says; with `filter.date = "none"` no filter is sent (the
    /// caller checks the dates it reads).
    #[must_use]
    pub fn on_or_after(self, field: &str, date: NaiveDate) -> Self {
        let value = match self.browse.client().behaviour().date_filter {
            DateFilter::Date => date.format("%Y-%m-%d").to_string(),
            DateFilter::DateTime => date.format("%Y-%m-%dT00:00:00.000Z").to_string(),
            DateFilter::None => return self,
        };
        self.filter(field, FilterOp::Ge, value)
    }

    /// Where to start; a multiple of the count.
    #[must_use]
    pub fn offset(mut self, offset: u64) -> Self {
        self.browse = self.browse.offset(offset);
        self
    }

    /// Records per page (default 100).
    #[must_use]
    pub fn count(mut self, count: u32) -> Self {
        self.browse = self.browse.count(count);
        self
    }

    /// Fetches one page.
    ///
    /// # Errors
    ///
    /// As [`Browse::send`], plus [`Error::Decode`] naming the record kind
    /// when a row does not fit the typed record.
    pub async fn send(&self) -> Result<Page<T>> {
        let fields = self.config.fields.clone();
        self.browse
            .send()
            .await?
            .try_map(|row| decode(&fields, row))
    }

    /// Every page from the offset on, fetched as polled and checked as
    /// [`Browse::into_pages`] does, by record key: a repeated key is
    /// [`Error::PageOverlap`], and [`Page::in_key_order`] says whether the
    /// keys came in ascending order.
    pub fn into_pages(self) -> BoxStream<'static, Result<Page<T>>> {
        let fields = self.config.fields;
        crate::walk::pages(
            self.browse,
            move |row| decode(&fields, row),
            |record: &T| record.key(),
            true,
        )
    }

    /// Every record from the offset on, page by page as polled, with the
    /// checks of [`into_pages`](Self::into_pages).
    pub fn into_stream(self) -> BoxStream<'static, Result<T>> {
        self.into_pages()
            .map_ok(|page| futures::stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

/// Maps and decodes one row.
///
/// # Errors
///
/// [`Error::Decode`] naming the record kind.
pub(crate) fn decode<T: Record>(fields: &FieldMap, row: Row) -> Result<T> {
    serde_json::from_value(Value::Object(fields.apply(row, T::FIELDS))).map_err(|source| {
        Error::Decode {
            context: format!("{} row", T::KIND),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Row {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn defaults_are_valid_browse_ids() {
        for config in [
            ReadConfig::default_customers(),
            ReadConfig::default_items(),
            ReadConfig::default_sales_orders(),
            ReadConfig::default_sales_order_lines(),
            ReadConfig::mfg_customers(),
            ReadConfig::mfg_items(),
        ] {
            let id = config.browse_id().as_str();
            assert_eq!(BrowseId::parse(id).as_ref(), Ok(config.browse_id()), "{id}");
        }
    }

    #[test]
    fn apply_reads_every_source_before_renaming() {
        // `a` is read from `b` and `c` from `a`: `c` gets the row's own `a`, not `b`'s value.
        let map = FieldMap::bare().map("a", "b").map("c", "a");
        let out = map.apply(row(json!({"a": 1, "b": 2, "d": 4})), &["a", "c"]);
        assert_eq!(Value::Object(out), json!({"a": 2, "c": 1, "d": 4}));
    }

    #[test]
    fn apply_prefers_explicit_then_prefix_then_unique_suffix() {
        let map = FieldMap::prefixed("customer").map("EMail", "contact.mail");
        let out = map.apply(
            row(json!({
                "customer.customerCode": "C1",
                "customerV2.city": "Oslo",
                "contact.mail": "a@b.c",
                "customer.customShort1": "x",
                "a.telephone": "1", "b.telephone": "2"
            })),
            &["customerCode", "city", "EMail", "telephone"],
        );
        assert_eq!(out["customerCode"], "C1");
        assert_eq!(out["city"], "Oslo");
        assert_eq!(out["EMail"], "a@b.c");
        // Ambiguous and unmapped keys stay as they were.
        assert_eq!(out["customer.customShort1"], "x");
        assert!(out.contains_key("a.telephone") && !out.contains_key("telephone"));
    }
}
