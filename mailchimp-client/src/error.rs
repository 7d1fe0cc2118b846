//! The crate's one error type and Mailchimp's problem documents.

use std::time::Duration;

use serde::Deserialize;

/// The result type of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to Mailchimp.
///
/// Match on the variant for the cases Mailchimp documents separately, or use
/// the predicates ([`Error::is_not_found`], [`Error::is_retryable`], …) and
/// [`Error::problem`] for the problem document behind an API error.
///
/// ```no_run
/// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
/// match client.ping().await {
///     Ok(health) => println!("{}", health.health_status),
///     Err(e) if e.is_unauthorized() => println!("check the API key"),
///     Err(e) if e.is_retryable() => println!("try again later: {e}"),
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `404 Resource Not Found`.
    #[error("mailchimp resource not found: {}", .0.detail)]
    NotFound(Box<Problem>),

    /// `400 Invalid Resource`: the request body failed validation;
    /// [`Problem::errors`] names the offending fields.
    #[error("mailchimp rejected the resource: {}", .0.detail)]
    InvalidResource(Box<Problem>),

    /// `400 Member In Compliance State`: the address unsubscribed, bounced
    /// or is under compliance review and cannot be subscribed again through
    /// the API (a `pending` status, which sends a confirmation, may work).
    #[error("member is in compliance state and cannot be subscribed: {}", .0.detail)]
    MemberInCompliance(Box<Problem>),

    /// `400 Forgotten Email Not Subscribed`: the contact was permanently
    /// deleted and cannot be re-imported.
    #[error("member was permanently deleted and cannot be re-imported: {}", .0.detail)]
    ForgottenEmail(Box<Problem>),

    /// `401 API Key Invalid` (or a revoked OAuth token).
    #[error("mailchimp rejected the credentials: {}", .0.detail)]
    Unauthorized(Box<Problem>),

    /// Any other problem document Mailchimp returned.
    #[error("mailchimp returned {} {}: {}", .0.status, .0.title, .0.detail)]
    Api(Box<Problem>),

    /// An error status without a problem document (a bare `403` under load,
    /// a CDN's HTML `502`, …).
    #[error("mailchimp returned HTTP {status} without a problem document")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, for diagnostics.
        excerpt: String,
    },

    /// Mailchimp kept answering `429 Too Many Requests` until the retry
    /// policy gave up.
    #[error("mailchimp rate limit still hit after {attempts} attempt(s)")]
    RateLimited {
        /// Attempts made, including the first.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<Error>,
    },

    /// The request could not be sent or the response not received
    /// (connection refused, TLS, timeout, …).
    #[error("request to mailchimp failed")]
    Transport(#[source] reqwest::Error),

    /// A successful response's body did not have the expected shape.
    #[error("could not decode mailchimp response (HTTP {status}, body starts {excerpt:?})")]
    Decode {
        /// The HTTP status code of the response.
        status: u16,
        /// The start of the response body.
        excerpt: String,
        /// What serde found wrong.
        #[source]
        source: serde_json::Error,
    },

    /// One item of a list page did not decode (an out-of-range number, an
    /// unexpected `null`, a value this crate does not know). The page's
    /// other items were decoded: [`Page::undecoded`](crate::Page::undecoded)
    /// lists the odd ones, and streams yield this error in their place and
    /// go on with the next item.
    #[error("{0}")]
    UndecodedItem(Box<crate::page::UndecodedItem>),

    /// A batch showed no progress (same status, same `finished_operations`)
    /// for the wait's stall timeout; the last state read is inside.
    #[error("batch {} made no progress ({} of {} operations, status {:?})", .0.id, .0.finished_operations, .0.total_operations, .0.status)]
    BatchStalled(Box<crate::batches::Batch>),

    /// A batch's results archive could not be read.
    #[error("could not read the batch results: {reason}")]
    BatchResults {
        /// What was wrong, naming the file when one was.
        reason: String,
    },

    /// The client configuration is invalid (for example an API key without
    /// a data-center suffix). Raised by [`ClientBuilder::build`](crate::ClientBuilder::build)
    /// before any request is sent.
    #[error("invalid client configuration: {0}")]
    Config(&'static str),

    /// The OAuth metadata lookup that resolves the data center failed.
    #[error("could not resolve the mailchimp data center from the OAuth metadata: {reason}")]
    DataCenterLookup {
        /// What went wrong.
        reason: &'static str,
        /// The underlying request error, if the lookup request itself failed.
        #[source]
        source: Option<Box<Error>>,
    },

    /// A caller-supplied value was rejected before any request was sent.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending field or argument, e.g. `email_address`.
        field: String,
        /// Why it was rejected.
        reason: String,
    },

    /// An e-commerce store exists but is linked to another audience than the
    /// one configured. A store's `list_id` can never change: use another
    /// store id, or delete the store (and its data) and create it again.
    #[error("e-commerce store {store_id} is linked to audience {actual_list_id}, not the configured {expected_list_id}; a store's audience cannot change")]
    StoreLinkedToOtherAudience {
        /// The store.
        store_id: crate::ecommerce::StoreId,
        /// The audience the caller configured.
        expected_list_id: crate::ListId,
        /// The audience the store is linked to.
        actual_list_id: crate::ListId,
    },

    /// The response body is larger than the client reads
    /// ([`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes));
    /// nothing of it was kept. Not retried: the same request gets the same answer.
    #[error("mailchimp response larger than {limit} bytes: not read")]
    ResponseTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },

    /// The store exists but the caller's check of it refused to write to it (for example, it
    /// names another source system); nothing was written. See
    /// [`Ecommerce::ensure_store_checked`](crate::ecommerce::Ecommerce::ensure_store_checked).
    #[error("e-commerce store {store_id} was not written: {reason}")]
    StoreRefused {
        /// The store.
        store_id: crate::ecommerce::StoreId,
        /// Why the caller refused it.
        reason: String,
    },
}

impl Error {
    /// A caller-input error naming `field`; used for checks before a request.
    pub(crate) fn invalid_input(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The problem document behind this error, if Mailchimp sent one.
    ///
    /// For [`Error::RateLimited`] this is the last `429`'s document.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::NotFound(p)
            | Error::InvalidResource(p)
            | Error::MemberInCompliance(p)
            | Error::ForgottenEmail(p)
            | Error::Unauthorized(p)
            | Error::Api(p) => Some(p),
            Error::RateLimited { last, .. } => last.problem(),
            _ => None,
        }
    }

    /// The HTTP status Mailchimp answered with, if a response was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::RateLimited { last, .. } => last.status(),
            Error::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => self.problem().map(|p| p.status),
        }
    }

    /// The per-field validation errors of an `Invalid Resource` response
    /// (empty for every other error).
    pub fn field_errors(&self) -> &[FieldError] {
        self.problem().map_or(&[], |p| p.errors.as_slice())
    }

    /// The list item that did not decode, when this error is one
    /// ([`Error::UndecodedItem`]).
    pub fn undecoded_item(&self) -> Option<&crate::page::UndecodedItem> {
        match self {
            Error::UndecodedItem(item) => Some(item),
            _ => None,
        }
    }

    /// `404 Resource Not Found`.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound(_))
    }

    /// `400 Invalid Resource`.
    pub fn is_invalid_resource(&self) -> bool {
        matches!(self, Error::InvalidResource(_))
    }

    /// `400 Member In Compliance State`.
    pub fn is_member_in_compliance(&self) -> bool {
        matches!(self, Error::MemberInCompliance(_))
    }

    /// `400 Forgotten Email Not Subscribed`.
    pub fn is_forgotten_email(&self) -> bool {
        matches!(self, Error::ForgottenEmail(_))
    }

    /// `401`: the API key or OAuth token was rejected.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Error::Unauthorized(_))
    }

    /// Rate limiting: retries were exhausted on `429`, or a single `429`
    /// (when retries are off) is reported.
    pub fn is_rate_limited(&self) -> bool {
        match self {
            Error::RateLimited { .. } => true,
            _ => self.status() == Some(429),
        }
    }

    /// The request timed out (see [`ClientBuilder::timeout`](crate::ClientBuilder::timeout)).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_timeout())
    }

    /// Whether trying the same request again may succeed: `429`, `5xx`, a
    /// `403` without a problem document (Mailchimp's overload answer), and
    /// transport failures: connect, timeout, and a connection dropped while
    /// sending or before the response was read in full.
    ///
    /// The client already retries these (see [`RetryConfig`](crate::RetryConfig));
    /// this tells callers whether a failure that survived the retries is
    /// worth scheduling again later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. } => true,
            Error::Transport(e) => {
                e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()
            }
            Error::Http { status, .. } => *status == 403 || *status == 429 || *status >= 500,
            Error::Api(p) => p.status == 429 || p.status >= 500,
            _ => false,
        }
    }

    /// Maps an error response to the matching variant.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        let Some(problem) = Problem::parse(status, body) else {
            return Error::Http {
                status,
                excerpt: excerpt(body),
            };
        };
        let title = problem.title.trim();
        let variant: fn(Box<Problem>) -> Error = if status == 404 {
            Error::NotFound
        } else if status == 401 {
            Error::Unauthorized
        } else if title.eq_ignore_ascii_case("Member In Compliance State") {
            Error::MemberInCompliance
        } else if title.eq_ignore_ascii_case("Forgotten Email Not Subscribed") {
            Error::ForgottenEmail
        } else if title.eq_ignore_ascii_case("Invalid Resource") {
            Error::InvalidResource
        } else {
            Error::Api
        };
        variant(Box::new(problem))
    }

    /// A results archive that could not be read.
    pub(crate) fn batch_results(reason: impl Into<String>) -> Self {
        Error::BatchResults {
            reason: reason.into(),
        }
    }

    /// A decode failure of a successful response.
    pub(crate) fn decode(status: u16, body: &[u8], source: serde_json::Error) -> Self {
        Error::Decode {
            status,
            excerpt: excerpt(body),
            source,
        }
    }
}

/// Mailchimp's problem document (RFC 7807), sent with every error status.
///
/// Every field is kept; fields Mailchimp leaves out decode as empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Problem {
    /// A URL naming the error type, e.g.
    /// `https://mailchimp.com/developer/marketing/docs/errors/`.
    #[serde(rename = "type")]
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub kind: String,
    /// The error title, e.g. `Resource Not Found`.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub title: String,
    /// The HTTP status code.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub status: u16,
    /// A human-readable explanation specific to this occurrence.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub detail: String,
    /// An id for this occurrence; quote it to Mailchimp support.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub instance: String,
    /// Per-field errors of an `Invalid Resource` response.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// Parses a problem document; `None` when the body is not one.
    fn parse(status: u16, body: &[u8]) -> Option<Self> {
        let mut problem: Problem = serde_json::from_slice(body).ok()?;
        if problem.title.is_empty() && problem.detail.is_empty() {
            return None;
        }
        // The response's own status is the truth: a body copied from elsewhere, or a proxy's
        // 502 wrapping an upstream's 400 document, must not make a server error look final
        // (or the reverse) to `is_retryable` and the variant mapping.
        problem.status = status;
        Some(problem)
    }
}

/// One entry of a problem document's `errors` array.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FieldError {
    /// The field in error, e.g. `merge_fields.FNAME`; may be empty.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub field: String,
    /// What is wrong with it.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub message: String,
}

/// How much of a response body errors quote.
const EXCERPT_CHARS: usize = 200;

/// The start of a body, lossily decoded, for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// The wait a retryable failure asked for, carried next to the error through
/// the retry loop.
#[derive(Debug)]
pub(crate) struct AttemptError {
    pub(crate) error: Error,
    pub(crate) retry_after: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_body(status: u16, title: &str) -> Vec<u8> {
        serde_json::json!({
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": title,
            "status": status,
            "detail": "details here",
            "instance": "abc-123",
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn titles_map_to_variants() {
        let e = Error::from_response(400, &problem_body(400, "Member In Compliance State"));
        assert!(e.is_member_in_compliance());
        let e = Error::from_response(400, &problem_body(400, "Forgotten Email Not Subscribed"));
        assert!(e.is_forgotten_email());
        let e = Error::from_response(404, &problem_body(404, "Resource Not Found"));
        assert!(e.is_not_found());
        assert_eq!(e.problem().unwrap().instance, "abc-123");
        let e = Error::from_response(401, &problem_body(401, "API Key Invalid"));
        assert!(e.is_unauthorized());
        let e = Error::from_response(400, &problem_body(400, "Invalid Resource"));
        assert!(e.is_invalid_resource());
        let e = Error::from_response(400, &problem_body(400, "Bad Request"));
        assert!(matches!(e, Error::Api(_)));
        assert!(!e.is_retryable());
    }

    #[test]
    fn the_response_status_wins_over_the_body_status() {
        // A gateway's 503 carrying an upstream's 400 document is still worth retrying.
        let e = Error::from_response(503, &problem_body(400, "Bad Request"));
        assert_eq!(e.problem().unwrap().status, 503);
        assert!(e.is_retryable());
        // And a 400 whose body claims 500 is final.
        let e = Error::from_response(400, &problem_body(500, "Internal Server Error"));
        assert_eq!(e.problem().unwrap().status, 400);
        assert!(!e.is_retryable());
    }

    #[test]
    fn non_problem_bodies_keep_an_excerpt() {
        let html = "<html>".repeat(100);
        let e = Error::from_response(502, html.as_bytes());
        match &e {
            Error::Http { status, excerpt } => {
                assert_eq!(*status, 502);
                assert_eq!(excerpt.chars().count(), EXCERPT_CHARS + 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(e.is_retryable());
        assert!(Error::from_response(403, b"").is_retryable());
        assert!(!Error::from_response(403, &problem_body(403, "Forbidden")).is_retryable());
    }

    #[test]
    fn field_errors_are_decoded() {
        let body = br#"{"type":"t","title":"Invalid Resource","status":400,"detail":"d","instance":"",
            "errors":[{"field":"merge_fields.FNAME","message":"required"},{"field":"","message":"x"}]}"#;
        let e = Error::from_response(400, body);
        assert_eq!(e.field_errors().len(), 2);
        assert_eq!(e.field_errors()[0].field, "merge_fields.FNAME");
    }

    #[test]
    fn error_is_send_sync_static() {
        fn assert<T: Send + Sync + 'static>() {}
        assert::<Error>();
    }
}
