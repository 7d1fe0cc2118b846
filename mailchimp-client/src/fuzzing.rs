//! Entry points for the fuzz targets under `fuzz/` (and the property tests): the error-response
//! decoder the client runs on every failed call, reachable without a server. Hidden from the
//! documentation; not part of the supported API.

use crate::error::Error;

/// The [`Error`] the client returns for an error response of `status` with `body`: the
/// problem document (RFC 7807) decoded into the matching variant, or [`Error::Http`] with an
/// excerpt when the body is not one.
///
/// ```
/// use mailchimp_client::fuzzing::error_from_response;
///
/// let err = error_from_response(404, br#"{"title":"Resource Not Found","status":404}"#);
/// assert!(err.is_not_found());
/// assert_eq!(error_from_response(502, b"<html>Bad gateway</html>").status(), Some(502));
/// ```
#[must_use]
pub fn error_from_response(status: u16, body: &[u8]) -> Error {
    Error::from_response(status, body)
}
