//! The receiver's configuration: the secret path, how deliveries are authenticated, limits.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Result, SyncError};
use crate::vault::WebhookSecrets;

/// The shortest accepted path token: 32 characters of `[A-Za-z0-9_-]` carry at least 128 bits
/// when generated at random (hex: 4 bits each).
pub const MIN_TOKEN_CHARS: usize = 32;

/// The default body limit: 64 KiB, far above any Mailchimp delivery.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// How far a delivery's signature timestamp may be from now by default: 24 hours.
///
/// Mailchimp retries a failed delivery "for a while" and does not document whether a retry is
/// re-signed, so a retry may carry its original timestamp, hours old. A tight tolerance (the
/// verifier's own default is 5 minutes) would refuse those retries with 401 and lose the event
/// after an outage of the receiver. Replays are stopped by the delivery-key dedup in the state
/// store instead, which does not depend on the timestamp. The trade-off: a captured signed
/// delivery stays acceptable for this long, so it is applied at most once and only while its key
/// is not yet remembered; keep delivery keys at least this long, and shorten the tolerance
/// (`[webhook] signature_tolerance`) where the receiver is never down for long.
pub const DEFAULT_SIGNATURE_TOLERANCE: Duration = Duration::from_secs(24 * 60 * 60);

/// How long delivery keys are remembered by default: 7 days. Mailchimp's retries of one delivery
/// end well within that, and a signed delivery is refused after its
/// [tolerance](ReceiverConfig::signature_tolerance) anyway; the receiver keeps keys for at least
/// the tolerance plus a day whatever is configured, so the dedup always outlives it.
pub const DEFAULT_DELIVERY_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The default per-source-address rate limit: 100 requests a second, in bursts of up to 1,000.
///
/// Mailchimp sends deliveries from a handful of addresses, one request per event; a bulk action
/// in its interface can fire a thousand at once, which the burst lets through (the receiver
/// applies several thousand signed deliveries a second). A request over the limit is answered
/// 429 (which Mailchimp retries later) without reading its body or touching the state database.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit::new(100, 1000);

/// The default global limit of requests handled at once: 64. A request beyond it is answered 503
/// at once (load shedding) instead of waiting.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;

/// A per-source-address rate limit: `per_second` requests a second sustained, with bursts of up to
/// `burst` (a token bucket per address; IPv6 addresses are grouped by their /64 network, which one
/// host usually holds whole).
///
/// ```
/// use sync_core::webhook_receiver::RateLimit;
///
/// let limit = RateLimit::new(10, 0);
/// assert_eq!((limit.per_second(), limit.burst()), (10, 1), "values below 1 count as 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    per_second: u32,
    burst: u32,
}

impl RateLimit {
    /// `per_second` requests a second, bursts of up to `burst`; each at least 1.
    #[must_use]
    pub const fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: if per_second == 0 { 1 } else { per_second },
            burst: if burst == 0 { 1 } else { burst },
        }
    }

    /// The sustained rate, in requests a second.
    #[must_use]
    pub const fn per_second(&self) -> u32 {
        self.per_second
    }

    /// The largest burst.
    #[must_use]
    pub const fn burst(&self) -> u32 {
        self.burst
    }
}

/// The default path prefix; the receiver answers at `{prefix}/{token}`.
pub const DEFAULT_PATH_PREFIX: &str = "/webhooks/mailchimp";

/// A fresh random path token: 32 random bytes as 64 hex digits (256 bits).
///
/// ```
/// use secrecy::ExposeSecret;
///
/// let a = sync_core::webhook_receiver::generate_path_token();
/// let b = sync_core::webhook_receiver::generate_path_token();
/// assert_eq!(a.expose_secret().len(), 64);
/// assert_ne!(a.expose_secret(), b.expose_secret());
/// ```
#[must_use]
pub fn generate_path_token() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    SecretString::from(hex::encode(bytes))
}

/// How deliveries are authenticated, besides the secret path.
#[derive(Clone)]
enum Authentication {
    /// Every delivery must carry a valid `X-Mailchimp-Signature`.
    Signed(SecretString),
    /// Unsigned deliveries are accepted: the secret path is the only proof (webhooks created
    /// before Mailchimp signed deliveries).
    SecretUrlOnly,
}

/// Configuration of the webhook receiver.
///
/// Build it with [`signed`](Self::signed) (the normal case: the webhook's signing secret is
/// known) or, explicitly, [`unsigned_secret_url`](Self::unsigned_secret_url). `Debug` never shows
/// the token or the secret.
///
/// ```
/// use sync_core::webhook_receiver::{generate_path_token, ReceiverConfig};
///
/// let config = ReceiverConfig::signed(generate_path_token(), "whsec_from_mailchimp")?
///     .max_body_bytes(32 * 1024);
/// assert!(config.requires_signature());
/// assert!(!format!("{config:?}").contains("whsec_from_mailchimp"));
/// assert!(ReceiverConfig::signed("short", "s").is_err());
/// # Ok::<(), sync_core::SyncError>(())
/// ```
#[derive(Clone)]
pub struct ReceiverConfig {
    pub(crate) path_token: SecretString,
    auth: Authentication,
    pub(crate) max_body_bytes: usize,
    pub(crate) path_prefix: String,
    signature_tolerance: Duration,
    delivery_retention: Duration,
    audience: Option<String>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) max_concurrent: usize,
}

impl fmt::Debug for ReceiverConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverConfig")
            .field("path_token", &crate::audit::REDACTED)
            .field(
                "signing_secret",
                &match self.auth {
                    Authentication::Signed(_) => Some(crate::audit::REDACTED),
                    Authentication::SecretUrlOnly => None,
                },
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field("path_prefix", &self.path_prefix)
            .field("signature_tolerance", &self.signature_tolerance)
            .field("delivery_retention", &self.delivery_retention)
            .field("audience", &self.audience)
            .field("rate_limit", &self.rate_limit)
            .field("max_concurrent", &self.max_concurrent)
            .finish()
    }
}

fn check_token(token: &SecretString) -> Result<()> {
    let text = token.expose_secret();
    let ok = text.len() >= MIN_TOKEN_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(SyncError::Config {
            what: format!(
                "webhook path token must be at least {MIN_TOKEN_CHARS} characters of \
                 [A-Za-z0-9_-] (use generate_path_token)"
            ),
        })
    }
}

impl ReceiverConfig {
    /// A receiver at the secret path `token` that requires every delivery to be signed with
    /// `signing_secret` (the one-time secret of the webhook's create response).
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] when the token is shorter than [`MIN_TOKEN_CHARS`] or holds
    /// characters other than `[A-Za-z0-9_-]`.
    pub fn signed(
        token: impl Into<SecretString>,
        signing_secret: impl Into<SecretString>,
    ) -> Result<Self> {
        Self::build(token.into(), Authentication::Signed(signing_secret.into()))
    }

    /// A receiver at the secret path `token` that accepts unsigned deliveries: the path is the
    /// only proof a delivery comes from Mailchimp. Only for webhooks without a signing secret.
    ///
    /// # Errors
    ///
    /// As [`signed`](Self::signed).
    pub fn unsigned_secret_url(token: impl Into<SecretString>) -> Result<Self> {
        Self::build(token.into(), Authentication::SecretUrlOnly)
    }

    /// From the vault's webhook secrets: signed when a signing secret is stored; unsigned only
    /// when `allow_unsigned` says so.
    ///
    /// # Errors
    ///
    /// As [`signed`](Self::signed), and [`SyncError::Config`] when no signing secret is stored
    /// and `allow_unsigned` is false.
    pub fn from_secrets(secrets: &WebhookSecrets, allow_unsigned: bool) -> Result<Self> {
        match (&secrets.signing_secret, allow_unsigned) {
            (Some(secret), _) => Self::signed(secrets.path_token.clone(), secret.clone()),
            (None, true) => Self::unsigned_secret_url(secrets.path_token.clone()),
            (None, false) => Err(SyncError::Config {
                what: "no webhook signing secret is stored; register the webhook again or \
                       allow unsigned deliveries on the secret URL explicitly"
                    .to_owned(),
            }),
        }
    }

    fn build(path_token: SecretString, auth: Authentication) -> Result<Self> {
        check_token(&path_token)?;
        Ok(Self {
            path_token,
            auth,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            path_prefix: DEFAULT_PATH_PREFIX.to_owned(),
            signature_tolerance: DEFAULT_SIGNATURE_TOLERANCE,
            delivery_retention: DEFAULT_DELIVERY_RETENTION,
            audience: None,
            rate_limit: Some(DEFAULT_RATE_LIMIT),
            max_concurrent: DEFAULT_MAX_CONCURRENT_REQUESTS,
        })
    }

    /// Sets the per-source-address rate limit (default [`DEFAULT_RATE_LIMIT`]), or removes it
    /// with `None` (when a reverse proxy in front limits instead). Requests over it get 429
    /// and are only counted. The source is the TCP peer: behind a proxy every request shares the
    /// proxy's address, so size the limit for all of Mailchimp's traffic, or limit at the proxy.
    ///
    /// ```
    /// use sync_core::webhook_receiver::{RateLimit, ReceiverConfig, DEFAULT_RATE_LIMIT};
    ///
    /// let config = ReceiverConfig::signed("0123456789abcdef0123456789abcdef", "whsec")?;
    /// assert_eq!(config.per_source_rate_limit(), Some(DEFAULT_RATE_LIMIT));
    /// let config = config.rate_limit(Some(RateLimit::new(5, 20)));
    /// assert_eq!(config.per_source_rate_limit(), Some(RateLimit::new(5, 20)));
    /// assert_eq!(config.rate_limit(None).per_source_rate_limit(), None);
    /// # Ok::<(), sync_core::SyncError>(())
    /// ```
    #[must_use]
    pub fn rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }

    /// The per-source-address rate limit in force, if any.
    #[must_use]
    pub fn per_source_rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// Sets how many requests are handled at once (default
    /// [`DEFAULT_MAX_CONCURRENT_REQUESTS`], at least 1); one more is answered 503 at once and
    /// only counted.
    ///
    /// ```
    /// use sync_core::webhook_receiver::ReceiverConfig;
    ///
    /// let config = ReceiverConfig::signed("0123456789abcdef0123456789abcdef", "whsec")?
    ///     .max_concurrent_requests(0);
    /// assert_eq!(config.concurrency_limit(), 1);
    /// # Ok::<(), sync_core::SyncError>(())
    /// ```
    #[must_use]
    pub fn max_concurrent_requests(mut self, limit: usize) -> Self {
        self.max_concurrent = limit.max(1);
        self
    }

    /// The global concurrency limit in force.
    #[must_use]
    pub fn concurrency_limit(&self) -> usize {
        self.max_concurrent
    }

    /// Applies only deliveries about audience `list_id`: one for another audience (a webhook
    /// of another list pointed at this URL by mistake) is answered 200, so Mailchimp does not
    /// retry it, audited as skipped, and changes nothing.
    ///
    /// ```
    /// use sync_core::webhook_receiver::ReceiverConfig;
    ///
    /// let config = ReceiverConfig::signed("0123456789abcdef0123456789abcdef", "whsec")?
    ///     .audience("a1b2c3d4e5");
    /// assert_eq!(config.expected_audience(), Some("a1b2c3d4e5"));
    /// # Ok::<(), sync_core::SyncError>(())
    /// ```
    #[must_use]
    pub fn audience(mut self, list_id: impl Into<String>) -> Self {
        self.audience = Some(list_id.into());
        self
    }

    /// The audience whose deliveries are applied, when one is set.
    #[must_use]
    pub fn expected_audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// Sets how long delivery keys are remembered for the dedup (default
    /// [`DEFAULT_DELIVERY_RETENTION`]); older ones are pruned hourly while the receiver runs, so
    /// the table is bounded by the deliveries of that period. Never shorter than the signature
    /// tolerance plus a day.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sync_core::webhook_receiver::ReceiverConfig;
    ///
    /// let config = ReceiverConfig::signed("0123456789abcdef0123456789abcdef", "whsec")?
    ///     .signature_tolerance(Duration::from_secs(3600))
    ///     .delivery_retention(Duration::from_secs(60));
    /// assert_eq!(config.retention(), Duration::from_secs(3600 + 24 * 3600));
    /// # Ok::<(), sync_core::SyncError>(())
    /// ```
    #[must_use]
    pub fn delivery_retention(mut self, retention: Duration) -> Self {
        self.delivery_retention = retention;
        self
    }

    /// How long delivery keys are remembered: the configured retention, at least the signature
    /// tolerance plus a day.
    #[must_use]
    pub fn retention(&self) -> Duration {
        self.delivery_retention
            .max(self.signature_tolerance + Duration::from_secs(24 * 60 * 60))
    }

    /// Sets how far a signature's timestamp may be from now, either way (default
    /// [`DEFAULT_SIGNATURE_TOLERANCE`], 24 hours, so Mailchimp's retries of a delivery the
    /// receiver missed are not refused; see there for the trade-off). Deliveries outside it get
    /// 401 and an audit row. Ignored for unsigned deliveries.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sync_core::webhook_receiver::{ReceiverConfig, DEFAULT_SIGNATURE_TOLERANCE};
    ///
    /// let token = "0123456789abcdef0123456789abcdef";
    /// let config = ReceiverConfig::signed(token, "whsec")?;
    /// assert_eq!(config.tolerance(), DEFAULT_SIGNATURE_TOLERANCE);
    /// let strict = config.signature_tolerance(Duration::from_secs(300));
    /// assert_eq!(strict.tolerance(), Duration::from_secs(300));
    /// # Ok::<(), sync_core::SyncError>(())
    /// ```
    #[must_use]
    pub fn signature_tolerance(mut self, tolerance: Duration) -> Self {
        self.signature_tolerance = tolerance;
        self
    }

    /// The signature timestamp tolerance in force.
    #[must_use]
    pub fn tolerance(&self) -> Duration {
        self.signature_tolerance
    }

    /// Sets the largest body accepted (default [`DEFAULT_MAX_BODY_BYTES`]); larger ones get 413.
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes.max(1);
        self
    }

    /// Sets the path prefix (default [`DEFAULT_PATH_PREFIX`]); it must start with `/`.
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] when it does not start with `/`, ends with `/`, or holds `{`/`}`.
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Result<Self> {
        let prefix = prefix.into();
        if !prefix.starts_with('/') || prefix.ends_with('/') || prefix.contains(['{', '}']) {
            return Err(SyncError::Config {
                what: format!(
                    "webhook path prefix {prefix:?} must start with / and not end with /"
                ),
            });
        }
        self.path_prefix = prefix;
        Ok(self)
    }

    /// Whether deliveries must be signed.
    #[must_use]
    pub fn requires_signature(&self) -> bool {
        matches!(self.auth, Authentication::Signed(_))
    }

    /// The full delivery URL under `public_base` (for example `https://sync.example.com`):
    /// `{public_base}{prefix}/{token}`, built by URL path joining (a base with a path such as
    /// `https://h/mc/` keeps it). It holds the token, so it is a secret too.
    ///
    /// ```
    /// use secrecy::ExposeSecret;
    /// use sync_core::webhook_receiver::ReceiverConfig;
    ///
    /// let config = ReceiverConfig::unsigned_secret_url("0123456789abcdef0123456789abcdef")?;
    /// let url = config.webhook_url("https://sync.example.com/")?;
    /// assert_eq!(
    ///     url.expose_secret(),
    ///     "https://sync.example.com/webhooks/mailchimp/0123456789abcdef0123456789abcdef"
    /// );
    /// # Ok::<(), sync_core::SyncError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SyncError::Config`] when `public_base` is not an absolute http(s) URL or holds
    /// user-info, a query or a fragment (the secret path would land after it and every delivery
    /// would miss the receiver); the message does not repeat the URL.
    pub fn webhook_url(&self, public_base: &str) -> Result<SecretString> {
        let refused = |why: &str| SyncError::Config {
            what: format!("the webhook public URL {why}"),
        };
        let mut url = url::Url::parse(public_base.trim())
            .map_err(|e| refused(&format!("is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refused("must use https (or http)"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refused("must not contain user-info (user:password@)"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refused(
                "must not have a query string or fragment: the secret path would land after it",
            ));
        }
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| refused("cannot take a path"))?;
            segments.pop_if_empty();
            segments.extend(self.path_prefix.split('/').filter(|s| !s.is_empty()));
            segments.push(self.path_token.expose_secret());
        }
        Ok(SecretString::from(String::from(url)))
    }

    pub(crate) fn verifier(&self) -> mailchimp_client::webhooks::WebhookVerifier {
        use mailchimp_client::webhooks::{ParseLimits, WebhookVerifier};
        let verifier = match &self.auth {
            Authentication::Signed(secret) => WebhookVerifier::signed(secret.clone()),
            Authentication::SecretUrlOnly => WebhookVerifier::accept_unsigned(),
        };
        verifier
            .with_tolerance(self.signature_tolerance)
            .with_limits(ParseLimits::default().with_max_body_bytes(self.max_body_bytes))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn the_delivery_url_is_joined_onto_the_public_base() {
        let config = ReceiverConfig::unsigned_secret_url(TOKEN).unwrap();
        for (base, url) in [
            (
                "https://sync.acme-industrial.com",
                "https://sync.acme-industrial.com/webhooks/mailchimp/",
            ),
            (
                "https://sync.acme-industrial.com/",
                "https://sync.acme-industrial.com/webhooks/mailchimp/",
            ),
            ("https://h.de/mc/", "https://h.de/mc/webhooks/mailchimp/"),
            ("https://h.de/mc", "https://h.de/mc/webhooks/mailchimp/"),
        ] {
            let joined = config.webhook_url(base).unwrap();
            assert_eq!(joined.expose_secret(), format!("{url}{TOKEN}"), "{base}");
        }
    }

    #[test]
    fn a_query_fragment_or_password_in_the_public_base_is_refused() {
        let config = ReceiverConfig::unsigned_secret_url(TOKEN).unwrap();
        for (base, says) in [
            ("https://sync.acme-industrial.com/?via=proxy", "query"),
            ("https://sync.acme-industrial.com/?", "query"),
            ("https://sync.acme-industrial.com/#hook", "fragment"),
            ("https://ops:hunter2@sync.acme-industrial.com", "user-info"),
            ("ftp://sync.acme-industrial.com", "https"),
            ("sync.acme-industrial.com", "not a URL"),
        ] {
            let err = config.webhook_url(base).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(says), "{base}: {shown}");
            assert!(
                !shown.contains("hunter2") && !shown.contains(TOKEN),
                "{shown}"
            );
        }
    }
}
