//! The Mailchimp error-response decoder (problem documents, RFC 7807): the first two bytes are
//! the HTTP status, the rest the body. Any body maps to an error that keeps the status; a body
//! that is not a problem document is quoted only as an excerpt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailchimp_client::fuzzing::error_from_response;
use mailchimp_client::Error;

/// The excerpt's characters, plus the ellipsis.
const MAX_EXCERPT_CHARS: usize = 201;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [hi, lo, body @ ..] => (400 + u16::from_be_bytes([*hi, *lo]) % 200, body),
        _ => (500, data),
    };
    let err = error_from_response(status, body);
    let _ = (err.to_string(), format!("{err:?}"), err.is_retryable());
    let _ = (err.field_errors(), err.problem());
    assert!(err.status().is_some());
    if let Error::Http { excerpt, .. } = &err {
        assert!(excerpt.chars().count() <= MAX_EXCERPT_CHARS);
    }
});
