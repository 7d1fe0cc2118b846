//! The crate's error type.

use std::fmt;

use crate::paths::PathProblem;
use crate::tenant::UrlProblem;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a QAD tenant.
///
/// Secrets never appear in an error: not in `Display`, not in `Debug`, not in
/// a source. Match on the variant; the fields name what was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The response body is larger than the client reads
    /// ([`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes));
    /// nothing of it was kept, and it is not retried.
    #[error("qad response larger than {limit} bytes: not read")]
    ResponseTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },

    /// The tenant URL given to the builder is not acceptable.
    ///
    /// The URL itself is not repeated: it may hold user-info with a password.
    #[error("invalid tenant url: {0}")]
    InvalidTenantUrl(#[source] UrlProblem),

    /// An entity path or browse id is not a safe relative reference.
    #[error("invalid {kind} {input:?}: {problem}")]
    InvalidPath {
        /// `"entity path"` or `"browse id"`.
        kind: &'static str,
        /// The rejected text.
        input: String,
        /// What is wrong with it.
        problem: PathProblem,
    },

    /// An offset/count page request that cannot map onto QAD's page numbers:
    /// `count` must be at least 1 and `offset` a multiple of `count`.
    #[error("invalid paging: offset {offset} with count {count} (count must be at least 1 and offset a multiple of count)")]
    InvalidPaging {
        /// The requested offset.
        offset: u64,
        /// The requested page size.
        count: u32,
    },

    /// A browse page repeated a row of the page before it: the tenant did
    /// not move on as the configured `paging.mode` expects.
    #[error(
        "browse {browse} page {page} repeats {key:?} from the page before (check paging.mode)"
    )]
    PageOverlap {
        /// The browse id.
        browse: String,
        /// The 1-based page number in this read.
        page: u64,
        /// The repeated key (or, for raw rows, the start of the row).
        key: String,
    },

    /// A browse page was shorter than asked while the tenant had reported
    /// more rows, in a way that can lose rows: no `HasMoreParams` after pages
    /// that had it, or a cap below the configured `paging.page_size_cap`.
    #[error("browse {browse} page {page} served {served} of {asked} rows: {problem} (check paging.page_size_cap)")]
    ShortPage {
        /// The browse id.
        browse: String,
        /// The 1-based page number in this read.
        page: u64,
        /// Rows served.
        served: usize,
        /// Rows asked for.
        asked: u32,
        /// Why this short page cannot be trusted.
        problem: &'static str,
    },

    /// With `paging.mode = "first-only"`, the one page that can be read
    /// did not hold every row.
    #[error("browse {browse} has more than the {served} rows of its only readable page (paging.mode first-only)")]
    PagingExhausted {
        /// The browse id.
        browse: String,
        /// Rows served on the page.
        served: usize,
    },

    /// A browse row belongs to another domain than the configured one.
    #[error(
        "browse {browse} returned a row of domain {found:?}, not {expected:?} (check scope.domain)"
    )]
    OtherDomain {
        /// The browse id.
        browse: String,
        /// The domain configured.
        expected: String,
        /// The domain the row carries.
        found: String,
    },

    /// A browse filter cannot be written in QAD's `field,op,value,literal` form.
    #[error("invalid browse filter on {field:?}: {problem}")]
    InvalidFilter {
        /// The filtered field.
        field: String,
        /// What is wrong.
        problem: &'static str,
    },

    /// The builder was given an incomplete or contradictory configuration.
    #[error("invalid client configuration: {0}")]
    Config(&'static str),

    /// Logging in failed, or the tenant still answered 401 after one renewal.
    #[error("qad authentication failed{}: {message}", http_status(*status))]
    Auth {
        /// The HTTP status of the failing response, when there was one.
        status: Option<u16>,
        /// What the tenant said (never a credential).
        message: String,
    },

    /// An earlier login with these credentials was refused, so none is tried
    /// again: QAD locks a user after repeated failed logins.
    #[error("qad login not tried: the tenant refused these credentials earlier, and repeated attempts would lock the user; change the credentials or run `ml-connector connect`")]
    LoginBlocked,

    /// QAD refused the request with field errors: `submitResult.success=false`
    /// (often at HTTP 200) or a bare `{"errors":[…]}` body.
    #[error("qad rejected the request (http {status}): {}", FieldErrors(errors))]
    Rejected {
        /// The HTTP status, which may well be 200.
        status: u16,
        /// Every error QAD reported, in order.
        errors: Vec<FieldError>,
    },

    /// QAD refused a create because the record already exists (error code
    /// `2041` or a message containing "already exists").
    #[error("qad reports a duplicate (http {status}): {}", FieldErrors(errors))]
    Duplicate {
        /// The HTTP status.
        status: u16,
        /// Every error QAD reported, in order.
        errors: Vec<FieldError>,
    },

    /// A non-success HTTP status without a QAD error body.
    #[error("qad returned http {status}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        message: String,
    },

    /// The request could not be sent or its response not read (after retries).
    #[error("request to qad failed")]
    Transport(#[source] reqwest::Error),

    /// The response was not the JSON shape expected.
    #[error("could not decode the qad response ({context})")]
    Decode {
        /// What was being decoded, e.g. `customer row`.
        context: String,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// The HTTP status behind this error, when there is one.
    ///
    /// ```
    /// let err = qad_client::Error::Api { status: 404, message: "not found".into() };
    /// assert_eq!(err.status(), Some(404));
    /// assert_eq!(qad_client::Error::Config("x").status(), None);
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Auth { status, .. } => *status,
            Self::Rejected { status, .. }
            | Self::Duplicate { status, .. }
            | Self::Api { status, .. } => Some(*status),
            Self::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// The field errors QAD reported (empty for other kinds of error).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Rejected { errors, .. } | Self::Duplicate { errors, .. } => errors,
            _ => &[],
        }
    }

    /// Builds the error for a QAD error list: [`Error::Duplicate`] when any
    /// entry says the record exists, [`Error::Rejected`] otherwise.
    pub(crate) fn from_field_errors(status: u16, errors: Vec<FieldError>) -> Self {
        if errors.iter().any(FieldError::is_duplicate) {
            Self::Duplicate { status, errors }
        } else {
            Self::Rejected { status, errors }
        }
    }
}

fn http_status(status: Option<u16>) -> String {
    status.map(|s| format!(" (http {s})")).unwrap_or_default()
}

/// One entry of QAD's `errors` list.
///
/// QAD writes `code` and `severity` sometimes as numbers, sometimes as
/// strings; both end up here as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FieldError {
    /// `fieldName`: the field at fault, when QAD names one.
    pub field_name: Option<String>,
    /// `message`: QAD's text.
    pub message: String,
    /// `code`, e.g. `"2041"` for a duplicate or `"403"`.
    pub code: Option<String>,
    /// `severity`, as QAD wrote it.
    pub severity: Option<String>,
    /// `value`: the offending value, when given.
    pub value: Option<String>,
}

impl FieldError {
    /// A field error with just a message.
    ///
    /// ```
    /// let e = qad_client::FieldError::new("Field is mandatory").with_field("customerCode");
    /// assert_eq!(e.field_name.as_deref(), Some("customerCode"));
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    /// Sets `fieldName`.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field_name = Some(field.into());
        self
    }

    /// Sets `code`.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Whether this error says the record already exists: code `2041`, or a
    /// message containing "already exists" (any case).
    ///
    /// ```
    /// use qad_client::FieldError;
    /// assert!(FieldError::new("x").with_code("2041").is_duplicate());
    /// assert!(FieldError::new("Sales order 10 Already Exists").is_duplicate());
    /// assert!(!FieldError::new("Field is mandatory").is_duplicate());
    /// ```
    pub fn is_duplicate(&self) -> bool {
        self.code.as_deref().map(str::trim) == Some("2041")
            || self.message.to_lowercase().contains("already exists")
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field_name {
            Some(field) => write!(f, "{field}: {}", self.message)?,
            None => f.write_str(&self.message)?,
        }
        if let Some(code) = &self.code {
            write!(f, " (code {code})")?;
        }
        Ok(())
    }
}

/// Display helper: the first error and how many more there are.
struct FieldErrors<'a>(&'a [FieldError]);

impl fmt::Display for FieldErrors<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("no error details"),
            [only] => write!(f, "{only}"),
            [first, rest @ ..] => write!(f, "{first} (and {} more)", rest.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }

    #[test]
    fn display_summarises_field_errors() {
        let err = Error::from_field_errors(
            200,
            vec![
                FieldError::new("Field is mandatory").with_field("customerCode"),
                FieldError::new("Invalid currency").with_field("currencyCode"),
            ],
        );
        assert!(matches!(err, Error::Rejected { .. }));
        assert_eq!(
            err.to_string(),
            "qad rejected the request (http 200): customerCode: Field is mandatory (and 1 more)"
        );
        assert_eq!(err.field_errors().len(), 2);
    }

    #[test]
    fn duplicates_get_their_own_variant() {
        let err = Error::from_field_errors(200, vec![FieldError::new("x").with_code("2041")]);
        assert!(matches!(err, Error::Duplicate { status: 200, .. }));
    }
}
