//! Whether a host answers at all, and if not, why: said once, before any login or page request
//! piles up retries of a request that cannot succeed.

use std::time::Duration;

use serde::Serialize;

use crate::error::chain;

/// Why a host did not answer.
#[derive(Debug, Clone, Serialize)]
pub struct Unreachable {
    /// `connection_refused`, `dns`, `tls`, `timeout` or `connection_failed`.
    pub cause: &'static str,
    /// The cause in words, without the URL.
    pub detail: String,
}

impl Unreachable {
    /// The cause as a person reads it.
    #[must_use]
    pub fn describe(&self, timeout: Duration) -> String {
        match self.cause {
            "connection_refused" => {
                "connection refused (nothing listens at that host and port)".to_owned()
            }
            "dns" => format!("the host name does not resolve (DNS): {}", self.detail),
            "tls" => format!("the TLS handshake failed: {}", self.detail),
            "timeout" => format!(
                "no answer within {} (qad.timeout)",
                humantime::format_duration(timeout)
            ),
            _ => format!("the connection failed: {}", self.detail),
        }
    }
}

/// One unauthenticated GET of `url` (no redirects followed), within `timeout`. Any HTTP answer,
/// whatever its status, means the host is reachable.
///
/// # Errors
///
/// [`Unreachable`] with the cause when no HTTP answer came.
pub async fn check(url: &url::Url, timeout: Duration) -> Result<(), Unreachable> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| Unreachable {
            cause: "connection_failed",
            detail: without_url(&e),
        })?;
    match client.get(url.as_str()).send().await {
        Ok(_) => Ok(()),
        Err(e) => Err(classify(&e)),
    }
}

fn classify(err: &reqwest::Error) -> Unreachable {
    let detail = without_url(err);
    let mut refused = false;
    let mut timed_out = err.is_timeout();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
            timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
        }
        source = cause.source();
    }
    Unreachable {
        cause: cause_of(&detail, refused, timed_out),
        detail,
    }
}

/// The cause from what the error chain says (hyper and rustls name DNS and TLS failures only in
/// their text).
fn cause_of(detail: &str, refused: bool, timed_out: bool) -> &'static str {
    let lower = detail.to_ascii_lowercase();
    if refused || lower.contains("connection refused") {
        "connection_refused"
    } else if timed_out || lower.contains("timed out") {
        "timeout"
    } else if lower.contains("dns error") || lower.contains("lookup address") {
        "dns"
    } else if ["certificate", "tls", "ssl", "handshake"]
        .iter()
        .any(|w| lower.contains(w))
    {
        "tls"
    } else {
        "connection_failed"
    }
}

/// reqwest's error causes without its own message, which quotes the URL (it may hold
/// user-info).
fn without_url(err: &reqwest::Error) -> String {
    match std::error::Error::source(err) {
        Some(source) => chain(source),
        None if err.is_timeout() => "timed out".to_owned(),
        None => "request failed".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_told_apart() {
        assert_eq!(
            cause_of(
                "client error (Connect): tcp connect error: Connection refused (os error 111)",
                false,
                false
            ),
            "connection_refused"
        );
        assert_eq!(
            cause_of("client error (Connect): dns error: failed to lookup address information: Name or service not known", false, false),
            "dns"
        );
        assert_eq!(
            cause_of(
                "client error (Connect): invalid peer certificate: UnknownIssuer",
                false,
                false
            ),
            "tls"
        );
        assert_eq!(cause_of("operation timed out", false, false), "timeout");
        assert_eq!(cause_of("whatever", true, false), "connection_refused");
        assert_eq!(cause_of("whatever", false, false), "connection_failed");
    }

    #[test]
    fn a_timeout_names_the_setting() {
        let u = Unreachable {
            cause: "timeout",
            detail: String::new(),
        };
        assert_eq!(
            u.describe(Duration::from_secs(2)),
            "no answer within 2s (qad.timeout)"
        );
    }
}
