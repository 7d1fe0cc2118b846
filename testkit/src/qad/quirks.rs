//! How the fake departs from today's guesses: one quirk per inferred QAD
//! behaviour, named as `qad_client::Behaviour`'s settings are
//! (`paging.mode`, …), so every alternative the evidence leaves open can be
//! served. The default is today's guess for each.

/// A quirk name or value the fake does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown qad quirk {name}={value}; known: {known}")]
pub struct QuirkError {
    /// The quirk's name.
    pub name: String,
    /// The value given.
    pub value: String,
    /// The accepted names and values.
    pub known: &'static str,
}

/// `paging.mode`: what `page=n&pageAction=next` serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PagingQuirk {
    /// `page-number`: page *n*, whatever came before.
    #[default]
    PageNumber,
    /// `cursor`: `pageAction=next` serves the page after the last one served
    /// for the same `callId` (and browse); `page` is ignored; `first` resets.
    Cursor,
    /// `first-only`: `page` and `pageAction` are ignored; every request gets
    /// the first page.
    FirstOnly,
}

/// `paging.page_size_cap`: how a page size above the tenant's cap is served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapQuirk {
    /// `reported`: no cap beyond [`FakeQadBuilder::max_page_size`](super::FakeQadBuilder::max_page_size),
    /// which offsets by the served size and says `HasMoreParams`.
    #[default]
    Reported,
    /// `<n>`: serves at most `n` rows a page but offsets pages by the
    /// *requested* size, so rows between pages are never served.
    Silent(usize),
}

/// `scope.domain`: which mechanism limits a browse to one domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DomainQuirk {
    /// `query`: the `domainCode` parameter (rows carry no `domainCode`).
    #[default]
    Query,
    /// `filter`: a `filter=<prefix>.domainCode,eq,<d>,literal` clause.
    Filter,
    /// `header`: `x-qad-workspace-id: <domain>[_<entity>]`.
    Header,
    /// `rows`: nothing scopes; rows of every domain come back.
    Rows,
}

/// `filter.date`: how a filter on `lastModifiedDate` is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DateQuirk {
    /// `date`: `YYYY-MM-DD` (a time part is accepted and compared by day).
    #[default]
    Date,
    /// `date-time`: a value without a time part is a `400`.
    DateTime,
    /// `rejected` (or `none`): the field cannot be filtered, `400`.
    Rejected,
    /// `ignored`: the filter is silently dropped; every row comes back.
    Ignored,
    /// `empty`: the filter silently matches nothing.
    Empty,
}

/// `order.key`: the order rows come in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrderQuirk {
    /// `key`: primary-key order.
    #[default]
    Key,
    /// `any`: descending key order.
    Any,
}

/// `attribution.duplicate`: what a repeated create of the same key does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DuplicateQuirk {
    /// `rejected`: `200` with `submitResult` error code `2041`.
    #[default]
    Rejected,
    /// `creates`: a second record with the same key is stored.
    Creates,
    /// `server-error`: `500` with a Progress-style "already exists" text.
    ServerError,
}

/// `validate.entity`: whether the attribution entity answers a GET.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntityQuirk {
    /// `get`: `GET {entity}` lists records.
    #[default]
    Get,
    /// `none`: `GET {entity}` without the key parameter is a `405`.
    None,
}

/// `count.endpoint`: how `GET api/qracore/browses/totalCount/` answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CountQuirk {
    /// `bare`: the count as a bare JSON integer, e.g. `42`.
    #[default]
    Bare,
    /// `object`: `{"data":{"totalCount":42}}`.
    Object,
    /// `absent`: the endpoint does not exist (`404`).
    Absent,
}

/// Every quirk, each defaulting to today's guess.
///
/// ```
/// use testkit::qad::{DomainQuirk, Quirks};
///
/// let mut quirks = Quirks::default();
/// quirks.set("scope.domain", "header")?;
/// quirks.set("auth.lockout", "3")?;
/// assert_eq!(quirks.domain, DomainQuirk::Header);
/// assert_eq!(quirks.lockout_after, Some(3));
/// assert!(quirks.set("paging.mode", "sideways").is_err());
/// # Ok::<(), testkit::qad::QuirkError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quirks {
    /// `paging.mode`.
    pub paging: PagingQuirk,
    /// `paging.page_size_cap`.
    pub cap: CapQuirk,
    /// `scope.domain`.
    pub domain: DomainQuirk,
    /// `filter.date`.
    pub date: DateQuirk,
    /// `order.key`.
    pub order: OrderQuirk,
    /// `attribution.duplicate`.
    pub duplicate: DuplicateQuirk,
    /// `validate.entity`.
    pub entity: EntityQuirk,
    /// `count.endpoint`.
    pub count: CountQuirk,
    /// `auth.lockout`: after this many failed logins in a row the user is
    /// locked, and even the right password is refused until
    /// [`FakeQad::unlock`](super::FakeQad::unlock). `None`: never.
    pub lockout_after: Option<u32>,
}

const KNOWN: &str =
    "paging.mode=page-number|cursor|first-only, paging.page_size_cap=reported|<n>, \
scope.domain=query|filter|header|rows, filter.date=date|date-time|rejected|none|ignored|empty, \
order.key=key|any, attribution.duplicate=rejected|creates|server-error, validate.entity=get|none, \
count.endpoint=bare|object|absent, auth.lockout=<n>|off";

impl Quirks {
    /// Sets one quirk by name from a value name.
    ///
    /// # Errors
    ///
    /// [`QuirkError`] for an unknown name or value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), QuirkError> {
        let bad = || QuirkError {
            name: name.to_owned(),
            value: value.to_owned(),
            known: KNOWN,
        };
        let value = value.trim();
        match name.trim() {
            "paging.mode" => {
                self.paging = match value {
                    "page-number" => PagingQuirk::PageNumber,
                    "cursor" => PagingQuirk::Cursor,
                    "first-only" => PagingQuirk::FirstOnly,
                    _ => return Err(bad()),
                }
            }
            "paging.page_size_cap" => {
                self.cap = match value {
                    "reported" => CapQuirk::Reported,
                    n => CapQuirk::Silent(
                        n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(bad)?,
                    ),
                }
            }
            "scope.domain" => {
                self.domain = match value {
                    "query" => DomainQuirk::Query,
                    "filter" => DomainQuirk::Filter,
                    "header" => DomainQuirk::Header,
                    "rows" => DomainQuirk::Rows,
                    _ => return Err(bad()),
                }
            }
            "filter.date" => {
                self.date = match value {
                    "date" => DateQuirk::Date,
                    "date-time" => DateQuirk::DateTime,
                    "rejected" | "none" => DateQuirk::Rejected,
                    "ignored" => DateQuirk::Ignored,
                    "empty" => DateQuirk::Empty,
                    _ => return Err(bad()),
                }
            }
            "order.key" => {
                self.order = match value {
                    "key" => OrderQuirk::Key,
                    "any" => OrderQuirk::Any,
                    _ => return Err(bad()),
                }
            }
            "attribution.duplicate" => {
                self.duplicate = match value {
                    "rejected" => DuplicateQuirk::Rejected,
                    "creates" => DuplicateQuirk::Creates,
                    "server-error" => DuplicateQuirk::ServerError,
                    _ => return Err(bad()),
                }
            }
            "validate.entity" => {
                self.entity = match value {
                    "get" => EntityQuirk::Get,
                    "none" => EntityQuirk::None,
                    _ => return Err(bad()),
                }
            }
            "count.endpoint" => {
                self.count = match value {
                    "bare" => CountQuirk::Bare,
                    "object" => CountQuirk::Object,
                    "absent" => CountQuirk::Absent,
                    _ => return Err(bad()),
                }
            }
            "auth.lockout" => {
                self.lockout_after = match value {
                    "off" => None,
                    n => Some(n.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(bad)?),
                }
            }
            _ => return Err(bad()),
        }
        Ok(())
    }

    /// Parses `NAME=VALUE`, as `ml-fakes --qad-quirk` takes it.
    ///
    /// # Errors
    ///
    /// [`QuirkError`] for a missing `=` or an unknown name or value.
    pub fn set_pair(&mut self, pair: &str) -> Result<(), QuirkError> {
        match pair.split_once('=') {
            Some((name, value)) => self.set(name, value),
            None => Err(QuirkError {
                name: pair.to_owned(),
                value: String::new(),
                known: KNOWN,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_value_parses_and_bad_ones_are_named() {
        let mut quirks = Quirks::default();
        for pair in KNOWN.split(", ") {
            let (name, values) = pair.split_once('=').unwrap();
            for value in values.split('|') {
                let value = if value == "<n>" { "7" } else { value };
                quirks.set(name, value).unwrap();
            }
        }
        assert_eq!(quirks.lockout_after, None);
        let err = quirks.set_pair("order.key=sideways").unwrap_err();
        assert!(err.to_string().contains("order.key=sideways"), "{err}");
        assert!(quirks.set_pair("order.key").is_err());
        assert!(quirks.set("paging.page_size_cap", "0").is_err());
    }
}
