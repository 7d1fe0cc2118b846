//! Parsing of the `Retry-After` response header (RFC 9110 §10.2.3).

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use http::HeaderMap;

/// The wait a response asks for in its `Retry-After` header, if any.
///
/// Accepts both forms: delay-seconds (`120`) and an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, measured against `now`). A date in the
/// past gives a zero wait; an unparsable value gives `None`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// let mut headers = http::HeaderMap::new();
/// headers.insert("retry-after", "7".parse().unwrap());
/// assert_eq!(
///     http_policy::parse_retry_after(&headers, SystemTime::now()),
///     Some(Duration::from_secs(7))
/// );
/// ```
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    let now: DateTime<Utc> = now.into();
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, v.parse().unwrap());
        h
    }

    #[test]
    fn seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after(&headers("0"), now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after(&headers(" 30 "), now),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn http_date() {
        let now: SystemTime = DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .unwrap()
            .with_timezone(&Utc)
            .into();
        assert_eq!(
            parse_retry_after(&headers("Wed, 21 Oct 2015 07:28:05 GMT"), now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after(&headers("Wed, 21 Oct 2015 07:27:00 GMT"), now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn absent_or_garbage() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
        assert_eq!(parse_retry_after(&headers("soon"), now), None);
        assert_eq!(parse_retry_after(&headers("-3"), now), None);
    }
}
