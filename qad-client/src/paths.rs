//! Entity paths and browse ids: per-tenant configuration that ends up in
//! request URLs, so only safe relative forms are accepted.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The longest entity path or browse id accepted.
pub const MAX_LEN: usize = 512;

/// Why an entity path or browse id was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathProblem {
    /// Nothing given.
    #[error("it is empty")]
    Empty,
    /// Longer than [`MAX_LEN`].
    #[error("it is longer than 512 characters")]
    TooLong,
    /// A `\`, which some servers treat as a separator.
    #[error("it contains a backslash")]
    Backslash,
    /// A `%`: percent-encoded dots, slashes or backslashes could smuggle traversal.
    #[error("it contains a percent-encoded sequence")]
    PercentEncoded,
    /// A `scheme:` or `//host` URL in an entity path.
    #[error("it is an absolute url; give a path relative to the tenant url")]
    AbsoluteUrl,
    /// A leading `/`.
    #[error("it starts with '/'; give a path relative to the tenant url")]
    Absolute,
    /// Two separators in a row, or one at the end.
    #[error("it has an empty segment")]
    EmptySegment,
    /// A segment made only of dots (`.`, `..`).
    #[error("it has a dot segment ('.' or '..')")]
    DotSegment,
    /// A character outside `A-Z a-z 0-9 . _ -` in a segment.
    #[error("it contains {0:?}; segments may only use A-Z a-z 0-9 . _ -")]
    InvalidCharacter(char),
    /// A browse id that does not start with `urn:`.
    #[error("a browse id must start with \"urn:\"")]
    NotUrn,
}

/// A path below the tenant URL, such as `api/bdoc/acme/crm/Attribution` or
/// `api/erp/customerV2s`.
///
/// Segments use only `A-Z a-z 0-9 . _ -`, separated by `/`; no dot segments,
/// no leading slash, no percent-encoding, no backslash, no scheme.
///
/// ```
/// use qad_client::EntityPath;
///
/// let path: EntityPath = "api/bdoc/acme/crm/Attribution".parse()?;
/// assert_eq!(path.as_str(), "api/bdoc/acme/crm/Attribution");
/// for bad in ["../etc", "api/%2e%2e/x", "/api/erp", "http://evil/x", "api\\erp", "api//erp"] {
///     assert!(bad.parse::<EntityPath>().is_err(), "{bad}");
/// }
/// # Ok::<(), qad_client::Error>(())
/// ```
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct EntityPath(String);

/// A browse id in its `urn:` form, such as
/// `urn:browse:bebrowse:com.qad.erp.base.customers` or `urn:browse:mfg:cm007`.
///
/// After `urn:`, segments are separated by `:` and use only
/// `A-Z a-z 0-9 . _ -`; no dot-only segment, no `/`, `\` or `%`.
///
/// ```
/// use qad_client::BrowseId;
///
/// let id: BrowseId = "urn:browse:mfg:cm007".parse()?;
/// assert_eq!(id.to_string(), "urn:browse:mfg:cm007");
/// assert!("browse:mfg:cm007".parse::<BrowseId>().is_err());
/// assert!("urn:browse:../x".parse::<BrowseId>().is_err());
/// # Ok::<(), qad_client::Error>(())
/// ```
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct BrowseId(String);

fn check_common(input: &str) -> Result<(), PathProblem> {
    if input.is_empty() {
        return Err(PathProblem::Empty);
    }
    if input.len() > MAX_LEN {
        return Err(PathProblem::TooLong);
    }
    if input.contains('\\') {
        return Err(PathProblem::Backslash);
    }
    if input.contains('%') {
        return Err(PathProblem::PercentEncoded);
    }
    Ok(())
}

fn check_segment(segment: &str) -> Result<(), PathProblem> {
    if segment.is_empty() {
        return Err(PathProblem::EmptySegment);
    }
    if segment.chars().all(|c| c == '.') {
        return Err(PathProblem::DotSegment);
    }
    match segment
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(c) => Err(PathProblem::InvalidCharacter(c)),
        None => Ok(()),
    }
}

impl EntityPath {
    /// Validates `input`.
    ///
    /// # Errors
    ///
    /// The [`PathProblem`] found first.
    pub fn parse(input: &str) -> Result<Self, PathProblem> {
        check_common(input)?;
        if input.contains(':') || input.starts_with("//") {
            return Err(PathProblem::AbsoluteUrl);
        }
        if input.starts_with('/') {
            return Err(PathProblem::Absolute);
        }
        input.split('/').try_for_each(check_segment)?;
        Ok(Self(input.to_owned()))
    }

    /// The path, without a leading slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A built-in default; unit tests check each one parses.
    pub(crate) fn known(path: &'static str) -> Self {
        Self(path.to_owned())
    }
}

impl BrowseId {
    /// Validates `input`.
    ///
    /// # Errors
    ///
    /// The [`PathProblem`] found first.
    pub fn parse(input: &str) -> Result<Self, PathProblem> {
        check_common(input)?;
        if input.contains('/') {
            return Err(PathProblem::InvalidCharacter('/'));
        }
        let rest = input.strip_prefix("urn:").ok_or(PathProblem::NotUrn)?;
        rest.split(':').try_for_each(check_segment)?;
        Ok(Self(input.to_owned()))
    }

    /// The id, `urn:` included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A built-in default; unit tests check each one parses.
    pub(crate) fn known(id: &'static str) -> Self {
        Self(id.to_owned())
    }
}

macro_rules! string_conversions {
    ($ty:ident, $kind:literal) => {
        impl FromStr for $ty {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                Self::parse(s).map_err(|problem| Error::InvalidPath {
                    kind: $kind,
                    input: s.to_owned(),
                    problem,
                })
            }
        }

        impl TryFrom<String> for $ty {
            type Error = Error;

            fn try_from(s: String) -> Result<Self, Error> {
                s.parse()
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = Error;

            fn try_from(s: &str) -> Result<Self, Error> {
                s.parse()
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_conversions!(EntityPath, "entity path");
string_conversions!(BrowseId, "browse id");
