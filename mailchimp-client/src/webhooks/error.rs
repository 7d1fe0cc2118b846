//! The error type of webhook verification and parsing.

/// Why a webhook delivery was rejected.
///
/// Deliveries come from the network, so every malformed input maps to one of
/// these variants; parsing and verification never panic. Keys quoted in a
/// variant are cut to a short excerpt so a hostile body cannot blow up logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The body is larger than the configured limit.
    #[error("webhook body is {size} bytes, over the {limit}-byte limit")]
    BodyTooLarge {
        /// Size of the body received, in bytes.
        size: usize,
        /// The limit in force, in bytes.
        limit: usize,
    },
    /// The body has more `key=value` fields than the configured limit.
    #[error("webhook body has more than {limit} fields")]
    TooManyFields {
        /// The limit in force.
        limit: usize,
    },
    /// A field has no `=` between its key and its value.
    #[error("webhook field at byte {offset} has no `=`")]
    MissingEquals {
        /// Byte offset of the field in the body.
        offset: usize,
    },
    /// A `%` is not followed by two hexadecimal digits.
    #[error("webhook body has a malformed percent escape at byte {offset}")]
    MalformedEscape {
        /// Byte offset of the `%` in the body.
        offset: usize,
    },
    /// A key or value is not valid UTF-8 once percent-decoded.
    #[error("webhook field at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Byte offset of the field in the body.
        offset: usize,
    },
    /// A key is not of the form `name` or `name[a][b]…`.
    #[error("webhook field key `{key}` is malformed")]
    MalformedKey {
        /// The key (an excerpt if long).
        key: String,
    },
    /// A key nests more brackets than the configured limit.
    #[error("webhook field key `{key}` nests deeper than {limit} levels")]
    TooDeep {
        /// The key (an excerpt if long).
        key: String,
        /// The limit in force.
        limit: usize,
    },
    /// The same key appears twice.
    #[error("webhook field `{key}` appears more than once")]
    DuplicateKey {
        /// The key (an excerpt if long).
        key: String,
    },
    /// A key is used both as a plain value and as a group of nested keys,
    /// such as `data[merges]=x` next to `data[merges][FNAME]=y`.
    #[error("webhook field `{key}` is both a value and a group")]
    ConflictingKey {
        /// The key (an excerpt if long).
        key: String,
    },
    /// A field the event type requires is absent.
    #[error("webhook field `{field}` is missing")]
    MissingField {
        /// The field, as Mailchimp names it (`type`, `data[email]`).
        field: String,
    },
    /// A field that must be a plain value is a group, or the reverse.
    #[error("webhook field `{field}` has the wrong shape")]
    WrongShape {
        /// The field, as Mailchimp names it.
        field: String,
    },
    /// `fired_at` is not `YYYY-MM-DD HH:MM:SS`.
    #[error("webhook fired_at `{value}` is not `YYYY-MM-DD HH:MM:SS`")]
    InvalidFiredAt {
        /// The value received (an excerpt if long).
        value: String,
    },
    /// A signing secret is configured but the delivery carries no
    /// `X-Mailchimp-Signature` header.
    #[error("webhook delivery has no X-Mailchimp-Signature header")]
    MissingSignature,
    /// The `X-Mailchimp-Signature` header is not `t=<unix>,v1=<hex>`.
    #[error("X-Mailchimp-Signature header is malformed: {reason}")]
    MalformedSignature {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signature's timestamp is further from now than the tolerance.
    #[error(
        "webhook signature timestamp {timestamp} is more than {tolerance_secs} s from now ({now})"
    )]
    StaleSignature {
        /// The header's `t`, in Unix seconds.
        timestamp: i64,
        /// The verifier's clock, in Unix seconds.
        now: i64,
        /// The tolerance in force, in seconds.
        tolerance_secs: u64,
    },
    /// No `v1` signature in the header matches the body and secret.
    #[error("webhook signature does not match the body")]
    SignatureMismatch,
}

/// At most this many characters of untrusted text are quoted in an error.
const EXCERPT_CHARS: usize = 64;

/// Cuts untrusted text to a short excerpt for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_long_text_and_keeps_short_text() {
        assert_eq!(excerpt("type"), "type");
        let long = "k".repeat(1000);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn error_is_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static>() {}
        assert_bounds::<WebhookError>();
    }
}
