//! Verification of signed deliveries (`X-Mailchimp-Signature`) and the
//! secret-URL opt-in for unsigned ones.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::error::WebhookError;
use super::event::{parse_delivery_with_limits, WebhookDelivery};
use super::form::ParseLimits;

/// The header that carries a delivery's signature.
pub const SIGNATURE_HEADER: &str = "X-Mailchimp-Signature";

/// How far a signature's timestamp may be from now by default: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Decides whether a delivery is authentic, then decodes it.
///
/// Mailchimp signs deliveries of webhooks that have `signing_enabled`:
/// `X-Mailchimp-Signature: t=<unix seconds>,v1=<hex>` where the hex is
/// HMAC-SHA256, keyed with the webhook's signing secret, over
/// `"{t}.{raw body}"`. [`WebhookVerifier::signed`] checks it in constant
/// time and rejects timestamps more than the tolerance away from now.
///
/// Webhooks created before signing existed are unsigned. They can only be
/// trusted through a secret URL path, so accepting them is an explicit
/// choice: [`WebhookVerifier::accept_unsigned`], together with
/// [`secret_path_matches`] in the receiver.
///
/// ```
/// use hmac::{Hmac, Mac};
/// use mailchimp_client::webhooks::{WebhookEvent, WebhookVerifier};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let body = b"type=cleaned&fired_at=2024-05-01+10%3A00%3A00\
///     &data[list_id]=a6b5da1054&data[reason]=hard&data[email]=gone%40northwind-mfg.com";
/// let t = 1_714_557_600u64;
/// let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"whsec-test").unwrap();
/// mac.update(format!("{t}.").as_bytes());
/// mac.update(body);
/// let header = format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()));
///
/// let verifier = WebhookVerifier::signed("whsec-test");
/// let now = UNIX_EPOCH + Duration::from_secs(t + 30);
/// let delivery = verifier.verify_and_parse_at(Some(&header), body, now)?;
/// assert!(matches!(delivery.event(), WebhookEvent::Cleaned(_)));
///
/// // The same body with another secret is refused.
/// assert!(WebhookVerifier::signed("other").verify_at(Some(&header), body, now).is_err());
/// # Ok::<(), mailchimp_client::webhooks::WebhookError>(())
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    secret: Option<SecretString>,
    tolerance: Duration,
    limits: ParseLimits,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secret", &self.secret.as_ref().map(|_| "** redacted **"))
            .field("tolerance", &self.tolerance)
            .field("limits", &self.limits)
            .finish()
    }
}

impl WebhookVerifier {
    /// Requires a valid signature made with `secret` (the webhook's
    /// one-time `signing_secret`) on every delivery.
    pub fn signed(secret: impl Into<SecretString>) -> Self {
        Self {
            secret: Some(secret.into()),
            tolerance: DEFAULT_TOLERANCE,
            limits: ParseLimits::default(),
        }
    }

    /// Accepts deliveries without checking any signature.
    ///
    /// Only for webhooks created before Mailchimp signed deliveries: the
    /// receiver must then authenticate the request by its secret URL path,
    /// with [`secret_path_matches`].
    pub fn accept_unsigned() -> Self {
        Self {
            secret: None,
            tolerance: DEFAULT_TOLERANCE,
            limits: ParseLimits::default(),
        }
    }

    /// Sets how far a signature's timestamp may be from now, either way
    /// (default [`DEFAULT_TOLERANCE`]).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Sets the limits used by [`verify_and_parse`](Self::verify_and_parse).
    #[must_use]
    pub fn with_limits(mut self, limits: ParseLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether this verifier requires signatures.
    pub fn requires_signature(&self) -> bool {
        self.secret.is_some()
    }

    /// Checks a delivery against the system clock.
    ///
    /// `signature` is the value of the [`SIGNATURE_HEADER`] header, if sent;
    /// `body` is the raw body, before any decoding.
    ///
    /// # Errors
    ///
    /// As [`verify_at`](Self::verify_at).
    pub fn verify(&self, signature: Option<&str>, body: &[u8]) -> Result<(), WebhookError> {
        self.verify_at(signature, body, SystemTime::now())
    }

    /// Checks a delivery against the clock reading `now`.
    ///
    /// # Errors
    ///
    /// For a signed verifier: [`WebhookError::MissingSignature`] without a
    /// header, [`WebhookError::MalformedSignature`] when it is not
    /// `t=<unix>,v1=<hex>`, [`WebhookError::StaleSignature`] when `t` is
    /// outside the tolerance, and [`WebhookError::SignatureMismatch`] when no
    /// `v1` matches. An unsigned verifier never fails.
    pub fn verify_at(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), WebhookError> {
        let Some(secret) = &self.secret else {
            return Ok(());
        };
        let header = parse_header(signature.ok_or(WebhookError::MissingSignature)?)?;
        let now = unix_seconds(now);
        if now.abs_diff(header.timestamp) > self.tolerance.as_secs() {
            return Err(WebhookError::StaleSignature {
                timestamp: header.timestamp,
                now,
                tolerance_secs: self.tolerance.as_secs(),
            });
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .map_err(|_| WebhookError::SignatureMismatch)?;
        mac.update(format!("{}.", header.timestamp).as_bytes());
        mac.update(body);
        let expected = mac.finalize().into_bytes();
        // Check every candidate so timing does not reveal which one matched.
        let matched = header
            .signatures
            .iter()
            .fold(subtle::Choice::from(0), |acc, candidate| {
                acc | candidate.as_slice().ct_eq(expected.as_slice())
            });
        if bool::from(matched) {
            Ok(())
        } else {
            Err(WebhookError::SignatureMismatch)
        }
    }

    /// Verifies a delivery against the system clock, then decodes it.
    ///
    /// # Errors
    ///
    /// As [`verify_at`](Self::verify_at), then as
    /// [`parse_delivery`](super::parse_delivery).
    pub fn verify_and_parse(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<WebhookDelivery, WebhookError> {
        self.verify_and_parse_at(signature, body, SystemTime::now())
    }

    /// Verifies a delivery against the clock reading `now`, then decodes it.
    ///
    /// # Errors
    ///
    /// As [`verify_and_parse`](Self::verify_and_parse).
    pub fn verify_and_parse_at(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<WebhookDelivery, WebhookError> {
        self.verify_at(signature, body, now)?;
        parse_delivery_with_limits(body, &self.limits)
    }
}

impl WebhookVerifier {
    /// Verifies a delivery from its HTTP request headers (as an axum or
    /// hyper handler has them) against the system clock, then decodes it.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use mailchimp_client::webhooks::{WebhookError, WebhookVerifier};
    ///
    /// let body = b"type=cleaned&fired_at=2024-05-01+10%3A00%3A00\
    ///     &data[list_id]=a1&data[reason]=hard&data[email]=gone%40northwind-mfg.com";
    /// let signed = WebhookVerifier::signed("whsec-test");
    /// assert_eq!(
    ///     signed.verify_and_parse_request(&HeaderMap::new(), body).unwrap_err(),
    ///     WebhookError::MissingSignature
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// [`WebhookError::MalformedSignature`] when [`SIGNATURE_HEADER`] is
    /// sent more than once or is not visible ASCII; otherwise as
    /// [`verify_and_parse`](Self::verify_and_parse).
    pub fn verify_and_parse_request(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<WebhookDelivery, WebhookError> {
        self.verify_and_parse(signature_from_headers(headers)?, body)
    }
}

/// The one `X-Mailchimp-Signature` value of a request, if sent.
fn signature_from_headers(headers: &http::HeaderMap) -> Result<Option<&str>, WebhookError> {
    let mut values = headers.get_all(SIGNATURE_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(WebhookError::MalformedSignature {
            reason: "the header is sent more than once",
        });
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| WebhookError::MalformedSignature {
            reason: "the header is not visible ASCII",
        })
}

/// Compares the secret part of a receiver's URL path in constant time.
///
/// ```
/// use mailchimp_client::webhooks::secret_path_matches;
/// use secrecy::SecretString;
///
/// let expected = SecretString::from("k3y-9f8e7d");
/// assert!(secret_path_matches(&expected, "k3y-9f8e7d"));
/// assert!(!secret_path_matches(&expected, "k3y-9f8e7e"));
/// assert!(!secret_path_matches(&expected, ""));
/// ```
pub fn secret_path_matches(expected: &SecretString, presented: &str) -> bool {
    expected
        .expose_secret()
        .as_bytes()
        .ct_eq(presented.as_bytes())
        .into()
}

/// The parts of an `X-Mailchimp-Signature` header.
struct SignatureHeader {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

/// The most `v1` values accepted in one header (secret rotation sends two).
const MAX_SIGNATURES: usize = 8;

fn parse_header(header: &str) -> Result<SignatureHeader, WebhookError> {
    let malformed = |reason| WebhookError::MalformedSignature { reason };
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or(malformed("a part is not `name=value`"))?;
        match name {
            "t" => {
                if timestamp.is_some() {
                    return Err(malformed("`t` appears twice"));
                }
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed("`t` is not a Unix timestamp"));
                }
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| malformed("`t` is not a Unix timestamp"))?,
                );
            }
            "v1" => {
                if signatures.len() == MAX_SIGNATURES {
                    return Err(malformed("too many `v1` signatures"));
                }
                let bytes = hex::decode(value).map_err(|_| malformed("`v1` is not hex"))?;
                if bytes.len() != 32 {
                    return Err(malformed("`v1` is not a SHA-256 digest"));
                }
                signatures.push(bytes);
            }
            // Other schemes (a future `v2`) are ignored, as Stripe-style
            // headers intend.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(malformed("`t` is missing"))?;
    if signatures.is_empty() {
        return Err(malformed("`v1` is missing"));
    }
    Ok(SignatureHeader {
        timestamp,
        signatures,
    })
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parsing_rejects_each_malformation() {
        let digest = "ab".repeat(32);
        for header in [
            "".to_owned(),
            "garbage".to_owned(),
            format!("v1={digest}"),
            "t=1".to_owned(),
            format!("t=abc,v1={digest}"),
            format!("t=-5,v1={digest}"),
            format!("t=1,t=2,v1={digest}"),
            "t=1,v1=zz".to_owned(),
            "t=1,v1=abcd".to_owned(),
            format!("t=99999999999999999999,v1={digest}"),
        ] {
            assert!(
                matches!(
                    parse_header(&header),
                    Err(WebhookError::MalformedSignature { .. })
                ),
                "{header}"
            );
        }
        let parsed = parse_header(&format!(" t=12 , v1={digest}, v0=ignored")).unwrap();
        assert_eq!(parsed.timestamp, 12);
        assert_eq!(parsed.signatures.len(), 1);
    }

    #[test]
    fn headers_give_at_most_one_ascii_signature() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(signature_from_headers(&headers), Ok(None));
        headers.insert(
            SIGNATURE_HEADER,
            http::HeaderValue::from_static("t=1,v1=ab"),
        );
        assert_eq!(signature_from_headers(&headers), Ok(Some("t=1,v1=ab")));
        headers.append(
            SIGNATURE_HEADER,
            http::HeaderValue::from_static("t=2,v1=cd"),
        );
        assert!(matches!(
            signature_from_headers(&headers),
            Err(WebhookError::MalformedSignature { .. })
        ));
        let mut headers = http::HeaderMap::new();
        headers.insert(
            SIGNATURE_HEADER,
            http::HeaderValue::from_bytes(b"t=1,v1=\xff").unwrap(),
        );
        assert!(matches!(
            signature_from_headers(&headers),
            Err(WebhookError::MalformedSignature { .. })
        ));
    }

    #[test]
    fn debug_redacts_the_secret() {
        let verifier = WebhookVerifier::signed("super-secret-value");
        let shown = format!("{verifier:?}");
        assert!(!shown.contains("super-secret-value"));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn unix_seconds_handles_times_before_the_epoch() {
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(10)), -10);
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_secs(10)), 10);
    }
}
