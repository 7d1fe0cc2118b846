//! The credentials kept in the vault, as held in memory: every secret a [`SecretString`].

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;
use zeroize::Zeroize;

const REDACTED: &str = "** redacted **";

/// Everything the connector needs to reach both systems, stored together in one vault file.
///
/// A set may be absent while `init` is still collecting it. `Debug` never shows a secret:
///
/// ```
/// use sync_core::vault::{Credentials, MailchimpCredentials};
///
/// let creds = Credentials {
///     mailchimp: Some(MailchimpCredentials::api_key("0123456789abcdef-us6")),
///     ..Credentials::default()
/// };
/// let shown = format!("{creds:?}");
/// assert!(!shown.contains("0123456789abcdef"));
/// assert!(shown.contains("redacted"));
/// ```
#[derive(Clone, Default)]
pub struct Credentials {
    /// The Mailchimp account.
    pub mailchimp: Option<MailchimpCredentials>,
    /// The QAD tenant.
    pub qad: Option<QadCredentials>,
    /// The webhook receiver's secrets.
    pub webhook: Option<WebhookSecrets>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("mailchimp", &self.mailchimp)
            .field("qad", &self.qad)
            .field("webhook", &self.webhook)
            .finish()
    }
}

/// How the connector authenticates to Mailchimp.
#[derive(Clone)]
pub enum MailchimpAuth {
    /// An API key (`…-us6`); the data center is its suffix.
    ApiKey(SecretString),
    /// An OAuth access token; the data center comes from the metadata endpoint.
    OAuthToken(SecretString),
}

impl fmt::Debug for MailchimpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiKey(_) => f.debug_tuple("ApiKey").field(&REDACTED).finish(),
            Self::OAuthToken(_) => f.debug_tuple("OAuthToken").field(&REDACTED).finish(),
        }
    }
}

/// The Mailchimp credential set.
#[derive(Clone)]
pub struct MailchimpCredentials {
    /// The key or token.
    pub auth: MailchimpAuth,
    /// An API base URL overriding the data-center one (proxies, tests).
    pub base_url: Option<Url>,
}

impl MailchimpCredentials {
    /// Credentials from an API key.
    #[must_use]
    pub fn api_key(key: impl Into<String>) -> Self {
        Self {
            auth: MailchimpAuth::ApiKey(SecretString::from(key.into())),
            base_url: None,
        }
    }

    /// Credentials from an OAuth access token.
    #[must_use]
    pub fn oauth_token(token: impl Into<String>) -> Self {
        Self {
            auth: MailchimpAuth::OAuthToken(SecretString::from(token.into())),
            base_url: None,
        }
    }

    /// Sets the base URL override.
    #[must_use]
    pub fn with_base_url(mut self, base_url: Url) -> Self {
        self.base_url = Some(base_url);
        self
    }
}

impl fmt::Debug for MailchimpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailchimpCredentials")
            .field("auth", &self.auth)
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .finish()
    }
}

/// How the connector signs in to QAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum QadAuthKind {
    /// OAuth2 password grant at `{base}/oauth/token`, then a bearer token.
    #[serde(rename = "oauth_password")]
    OAuthPassword,
    /// On-premises form login with a cookie session.
    FormLogin,
}

/// The QAD credential set.
#[derive(Clone)]
pub struct QadCredentials {
    /// The tenant URL with its context root, for example `https://acme.qad.com/clouderp`.
    pub tenant_url: Url,
    /// How to sign in.
    pub auth_kind: QadAuthKind,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: SecretString,
    /// The OAuth client id, for [`QadAuthKind::OAuthPassword`].
    pub client_id: Option<String>,
    /// The QAD domain code, for example `10USA`.
    pub domain: String,
    /// The Financials entity code, for example `10USACO`.
    pub entity: Option<String>,
}

impl QadCredentials {
    /// A credential set without client id or entity.
    #[must_use]
    pub fn new(
        tenant_url: Url,
        auth_kind: QadAuthKind,
        username: impl Into<String>,
        password: impl Into<String>,
        domain: impl Into<String>,
    ) -> Self {
        Self {
            tenant_url,
            auth_kind,
            username: username.into(),
            password: SecretString::from(password.into()),
            client_id: None,
            domain: domain.into(),
            entity: None,
        }
    }

    /// Sets the OAuth client id.
    #[must_use]
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets the Financials entity.
    #[must_use]
    pub fn with_entity(mut self, entity: impl Into<String>) -> Self {
        self.entity = Some(entity.into());
        self
    }
}

impl fmt::Debug for QadCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QadCredentials")
            .field("tenant_url", &self.tenant_url.as_str())
            .field("auth_kind", &self.auth_kind)
            .field("username", &self.username)
            .field("password", &REDACTED)
            .field("client_id", &self.client_id)
            .field("domain", &self.domain)
            .field("entity", &self.entity)
            .finish()
    }
}

/// The webhook receiver's secrets.
#[derive(Clone)]
pub struct WebhookSecrets {
    /// The random token in the receiver's URL path.
    pub path_token: SecretString,
    /// The key Mailchimp signs deliveries with, when configured.
    pub signing_secret: Option<SecretString>,
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("path_token", &REDACTED)
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| REDACTED),
            )
            .finish()
    }
}

/// The plaintext document inside the vault. It exists only while sealing or opening, and wipes
/// its secrets when dropped.
#[derive(Serialize, Deserialize)]
pub(super) struct Document {
    #[serde(default)]
    mailchimp: Option<MailchimpDoc>,
    #[serde(default)]
    qad: Option<QadDoc>,
    #[serde(default)]
    webhook: Option<WebhookDoc>,
}

#[derive(Serialize, Deserialize)]
struct MailchimpDoc {
    kind: MailchimpAuthKind,
    secret: String,
    base_url: Option<Url>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MailchimpAuthKind {
    ApiKey,
    OauthToken,
}

#[derive(Serialize, Deserialize)]
struct QadDoc {
    tenant_url: Url,
    auth_kind: QadAuthKind,
    username: String,
    password: String,
    client_id: Option<String>,
    domain: String,
    entity: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WebhookDoc {
    path_token: String,
    signing_secret: Option<String>,
}

impl Drop for MailchimpDoc {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl Drop for QadDoc {
    fn drop(&mut self) {
        self.password.zeroize();
    }
}

impl Drop for WebhookDoc {
    fn drop(&mut self) {
        self.path_token.zeroize();
        self.signing_secret.zeroize();
    }
}

fn reveal(secret: &SecretString) -> String {
    secret.expose_secret().to_owned()
}

impl Document {
    pub(super) fn from_credentials(creds: &Credentials) -> Self {
        Self {
            mailchimp: creds.mailchimp.as_ref().map(|m| {
                let (kind, secret) = match &m.auth {
                    MailchimpAuth::ApiKey(s) => (MailchimpAuthKind::ApiKey, reveal(s)),
                    MailchimpAuth::OAuthToken(s) => (MailchimpAuthKind::OauthToken, reveal(s)),
                };
                MailchimpDoc {
                    kind,
                    secret,
                    base_url: m.base_url.clone(),
                }
            }),
            qad: creds.qad.as_ref().map(|q| QadDoc {
                tenant_url: q.tenant_url.clone(),
                auth_kind: q.auth_kind,
                username: q.username.clone(),
                password: reveal(&q.password),
                client_id: q.client_id.clone(),
                domain: q.domain.clone(),
                entity: q.entity.clone(),
            }),
            webhook: creds.webhook.as_ref().map(|w| WebhookDoc {
                path_token: reveal(&w.path_token),
                signing_secret: w.signing_secret.as_ref().map(reveal),
            }),
        }
    }

    /// Moves the secrets into [`SecretString`]s (`take` leaves empty strings behind, so nothing
    /// is left for `Drop` to wipe but the copies are never made).
    pub(super) fn into_credentials(mut self) -> Credentials {
        Credentials {
            mailchimp: self.mailchimp.take().map(|mut m| {
                let secret = SecretString::from(std::mem::take(&mut m.secret));
                MailchimpCredentials {
                    auth: match m.kind {
                        MailchimpAuthKind::ApiKey => MailchimpAuth::ApiKey(secret),
                        MailchimpAuthKind::OauthToken => MailchimpAuth::OAuthToken(secret),
                    },
                    base_url: m.base_url.take(),
                }
            }),
            qad: self.qad.take().map(|mut q| QadCredentials {
                tenant_url: q.tenant_url.clone(),
                auth_kind: q.auth_kind,
                username: std::mem::take(&mut q.username),
                password: SecretString::from(std::mem::take(&mut q.password)),
                client_id: q.client_id.take(),
                domain: std::mem::take(&mut q.domain),
                entity: q.entity.take(),
            }),
            webhook: self.webhook.take().map(|mut w| WebhookSecrets {
                path_token: SecretString::from(std::mem::take(&mut w.path_token)),
                signing_secret: w.signing_secret.take().map(SecretString::from),
            }),
        }
    }
}
