//! How a tenant behaves where no public QAD documentation settles it: one
//! typed setting per inferred behaviour, today's guess as the default.
//!
//! Each setting has a stable name (`paging.mode`, …) and value names, shared
//! by `ml-connector.toml`, the fake's `--qad-quirk NAME=VALUE` and the
//! probe's report ([`Client::probe`](crate::Client::probe)). The
//! repository's `docs/qad-api.md` gives the evidence for and against each
//! value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value name that is not one of a setting's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} has no value {value:?}; expected one of: {expected}")]
pub struct UnknownValue {
    /// The setting, e.g. `paging.mode`.
    pub setting: &'static str,
    /// The value given.
    pub value: String,
    /// The accepted values, comma-separated.
    pub expected: &'static str,
}

/// Declares a setting enum with its value names, `Display`, `FromStr` and
/// serde as those names.
macro_rules! setting {
    (
        $(#[$meta:meta])*
        $name:ident = $setting:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The setting's name.
            pub const SETTING: &'static str = $setting;
            /// Every value, default first.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The value's name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s.trim() {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownValue {
                        setting: $setting,
                        value: other.to_owned(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

setting! {
    /// `paging.mode`: what `page=n&pageAction=next` means.
    ///
    /// ```
    /// use qad_client::PagingMode;
    /// assert_eq!("cursor".parse::<PagingMode>()?, PagingMode::Cursor);
    /// assert_eq!(PagingMode::default().as_str(), "page-number");
    /// # Ok::<(), qad_client::UnknownValue>(())
    /// ```
    PagingMode = "paging.mode" {
        /// `page=n&pageAction=next` returns page *n*, whatever came before
        /// (stateless). The reader may ask for any page.
        #[default]
        PageNumber = "page-number",
        /// `pageAction=next` returns the page after the last one served for
        /// the same `callId`; `page` is ignored. The reader asks for pages
        /// strictly in order with one `callId` per read, and never repeats one.
        Cursor = "cursor",
        /// Only the first page can be read (`page` and `pageAction=next`
        /// ignored). The reader asks for one page of
        /// [`FIRST_ONLY_PAGE_SIZE`](crate::FIRST_ONLY_PAGE_SIZE) rows and
        /// fails with [`Error::PagingExhausted`](crate::Error::PagingExhausted)
        /// if the tenant says more follow.
        FirstOnly = "first-only",
    }
}

setting! {
    /// `scope.domain`: how a request is limited to the configured domain.
    DomainScope = "scope.domain" {
        /// `domainCode=<domain>` query parameter on every request.
        #[default]
        Query = "query",
        /// A `filter=<prefix>.domainCode,eq,<domain>,literal` clause on browses.
        Filter = "filter",
        /// An `x-qad-workspace-id: <domain>` header (`<domain>_<entity>` with an entity).
        Header = "header",
        /// No scoping: rows of every domain come back, each with its
        /// `domainCode`; the reader drops rows of other domains.
        Rows = "rows",
    }
}

setting! {
    /// `filter.date`: how an incremental read filters on the modification date.
    DateFilter = "filter.date" {
        /// `<field>,ge,YYYY-MM-DD,literal`.
        #[default]
        Date = "date",
        /// `<field>,ge,YYYY-MM-DDT00:00:00.000Z,literal` (ISO-8601 date-time).
        DateTime = "date-time",
        /// The browse cannot filter on the field: every read is a full read,
        /// and content hashes skip what did not change.
        None = "none",
    }
}

setting! {
    /// `order.key`: the order pages come in.
    KeyOrder = "order.key" {
        /// Primary-key order: an interrupted read may resume after the last
        /// committed key.
        #[default]
        Key = "key",
        /// Any order: resume from the date watermark and let content hashes
        /// skip what was already written.
        Any = "any",
    }
}

setting! {
    /// `attribution.duplicate`: what a repeated attribution create answers.
    DuplicatePost = "attribution.duplicate" {
        /// Code `2041`, "already exists", or HTTP 409.
        #[default]
        Rejected = "rejected",
        /// A second record is created: the writer looks the key up first.
        Creates = "creates",
        /// HTTP 500 with a Progress-style "already exists" message, read as a
        /// duplicate.
        ServerError = "server-error",
    }
}

setting! {
    /// `validate.entity`: whether the attribution entity answers a GET.
    EntityCheck = "validate.entity" {
        /// `GET {path}?page=1&pageSize=1` answers for a valid document.
        #[default]
        Get = "get",
        /// GET is not supported on the document (405/404 though valid): the
        /// check is skipped and reported as such.
        None = "none",
    }
}

setting! {
    /// `count.endpoint`: whether the tenant answers how many rows a browse
    /// read will bring (`GET api/qracore/browses/totalCount/`).
    CountEndpoint = "count.endpoint" {
        /// Ask `totalCount` with the browse read's id, filters and domain
        /// scope; see [`Browse::total`](crate::Browse::total) for the shapes
        /// accepted. A 404/405 or another shape means no total.
        #[default]
        TotalCount = "total-count",
        /// Never ask: reads run without a known total.
        None = "none",
    }
}

/// `paging.page_size_cap`: how a tenant that serves fewer rows than asked
/// behaves.
///
/// `reported` (the default) trusts a short page with `HasMoreParams`
/// `"true"` as a cap, and reads on with the served size as the page size, so
/// page numbers stay right whichever size the tenant offsets by. A number
/// `n` says the tenant caps silently at `n` and offsets by the *requested*
/// size: the reader never asks for more than `n`.
///
/// ```
/// use qad_client::PageSizeCap;
/// assert_eq!("reported".parse::<PageSizeCap>()?, PageSizeCap::Reported);
/// assert_eq!("50".parse::<PageSizeCap>()?, PageSizeCap::Silent(50));
/// assert_eq!(PageSizeCap::Silent(50).to_string(), "50");
/// assert!("0".parse::<PageSizeCap>().is_err());
/// # Ok::<(), qad_client::UnknownValue>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PageSizeCap {
    /// A cap shows as a short page with `HasMoreParams` `"true"`.
    #[default]
    Reported,
    /// The tenant serves at most this many rows a page, silently.
    Silent(u32),
}

impl PageSizeCap {
    /// The setting's name.
    pub const SETTING: &'static str = "paging.page_size_cap";

    /// The page size to ask for instead of `count`.
    pub fn clamp(self, count: u32) -> u32 {
        match self {
            Self::Reported => count,
            Self::Silent(cap) => count.min(cap),
        }
    }
}

impl fmt::Display for PageSizeCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reported => f.write_str("reported"),
            Self::Silent(cap) => write!(f, "{cap}"),
        }
    }
}

impl FromStr for PageSizeCap {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        match s.trim() {
            "reported" => Ok(Self::Reported),
            other => other
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(Self::Silent)
                .ok_or_else(|| UnknownValue {
                    setting: Self::SETTING,
                    value: other.to_owned(),
                    expected: "reported, or a page size of at least 1",
                }),
        }
    }
}

impl Serialize for PageSizeCap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Reported => s.serialize_str("reported"),
            Self::Silent(cap) => s.serialize_u32(*cap),
        }
    }
}

impl<'de> Deserialize<'de> for PageSizeCap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Number(n) => n.to_string(),
            Raw::Text(t) => t,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Every inferred tenant behaviour, each with today's guess as the default.
///
/// Serialised with the settings' short names (`mode`, `page_size_cap`, …)
/// grouped as in `ml-connector.toml`'s `[qad.behaviour]` table, and settable
/// by full name with [`set`](Self::set):
///
/// ```
/// use qad_client::{Behaviour, DomainScope, PageSizeCap};
///
/// let mut behaviour = Behaviour::default();
/// behaviour.set("scope.domain", "header")?;
/// behaviour.set("paging.page_size_cap", "200")?;
/// assert_eq!(behaviour.domain_scope, DomainScope::Header);
/// assert_eq!(behaviour.page_size_cap, PageSizeCap::Silent(200));
/// assert!(behaviour.set("paging.speed", "fast").is_err());
/// assert_eq!(behaviour.get("scope.domain").as_deref(), Some("header"));
/// # Ok::<(), qad_client::UnknownValue>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Behaviour {
    /// `paging.mode`.
    pub paging_mode: PagingMode,
    /// `paging.page_size_cap`.
    pub page_size_cap: PageSizeCap,
    /// `scope.domain`.
    pub domain_scope: DomainScope,
    /// `filter.date`.
    pub date_filter: DateFilter,
    /// `order.key`.
    pub key_order: KeyOrder,
    /// `attribution.duplicate`.
    pub duplicate_post: DuplicatePost,
    /// `validate.entity`.
    pub entity_check: EntityCheck,
    /// `count.endpoint`.
    pub count_endpoint: CountEndpoint,
}

impl Behaviour {
    /// The setting names, in report order.
    pub const NAMES: &'static [&'static str] = &[
        PagingMode::SETTING,
        PageSizeCap::SETTING,
        DomainScope::SETTING,
        DateFilter::SETTING,
        KeyOrder::SETTING,
        DuplicatePost::SETTING,
        EntityCheck::SETTING,
        CountEndpoint::SETTING,
    ];

    /// Sets one behaviour by its full name (`paging.mode`) from a value name.
    ///
    /// # Errors
    ///
    /// [`UnknownValue`] for an unknown name or value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), UnknownValue> {
        match name.trim() {
            PagingMode::SETTING => self.paging_mode = value.parse()?,
            PageSizeCap::SETTING => self.page_size_cap = value.parse()?,
            DomainScope::SETTING => self.domain_scope = value.parse()?,
            DateFilter::SETTING => self.date_filter = value.parse()?,
            KeyOrder::SETTING => self.key_order = value.parse()?,
            DuplicatePost::SETTING => self.duplicate_post = value.parse()?,
            EntityCheck::SETTING => self.entity_check = value.parse()?,
            CountEndpoint::SETTING => self.count_endpoint = value.parse()?,
            other => {
                return Err(UnknownValue {
                    setting: "qad behaviour",
                    value: other.to_owned(),
                    expected: "paging.mode paging.page_size_cap scope.domain filter.date order.key attribution.duplicate validate.entity count.endpoint",
                })
            }
        }
        Ok(())
    }

    /// One behaviour's value name, by its full name.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name.trim() {
            PagingMode::SETTING => self.paging_mode.to_string(),
            PageSizeCap::SETTING => self.page_size_cap.to_string(),
            DomainScope::SETTING => self.domain_scope.to_string(),
            DateFilter::SETTING => self.date_filter.to_string(),
            KeyOrder::SETTING => self.key_order.to_string(),
            DuplicatePost::SETTING => self.duplicate_post.to_string(),
            EntityCheck::SETTING => self.entity_check.to_string(),
            CountEndpoint::SETTING => self.count_endpoint.to_string(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_by_name() {
        let mut behaviour = Behaviour::default();
        let values: &[(&str, &[&str])] = &[
            ("paging.mode", &["page-number", "cursor", "first-only"]),
            ("paging.page_size_cap", &["reported", "25"]),
            ("scope.domain", &["query", "filter", "header", "rows"]),
            ("filter.date", &["date", "date-time", "none"]),
            ("order.key", &["key", "any"]),
            (
                "attribution.duplicate",
                &["rejected", "creates", "server-error"],
            ),
            ("validate.entity", &["get", "none"]),
            ("count.endpoint", &["total-count", "none"]),
        ];
        assert_eq!(values.len(), Behaviour::NAMES.len());
        for (name, names) in values {
            for value in *names {
                behaviour.set(name, value).unwrap();
                assert_eq!(behaviour.get(name).as_deref(), Some(*value), "{name}");
            }
            assert!(behaviour.set(name, "bogus").is_err());
        }
    }

    #[test]
    fn defaults_are_todays_guesses_and_serde_uses_the_names() {
        let text = serde_json::to_value(Behaviour::default()).unwrap();
        assert_eq!(text["paging_mode"], "page-number");
        assert_eq!(text["page_size_cap"], "reported");
        let parsed: Behaviour =
            serde_json::from_value(serde_json::json!({"page_size_cap": 50, "key_order": "any"}))
                .unwrap();
        assert_eq!(parsed.page_size_cap, PageSizeCap::Silent(50));
        assert_eq!(parsed.key_order, KeyOrder::Any);
        assert_eq!(parsed.domain_scope, DomainScope::Query);
        assert!(serde_json::from_value::<Behaviour>(serde_json::json!({"speed": 1})).is_err());
    }
}
