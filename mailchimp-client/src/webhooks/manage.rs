//! Managing an audience's webhooks: `GET/POST /lists/{list_id}/webhooks`
//! and `GET/PATCH/DELETE /lists/{list_id}/webhooks/{webhook_id}`.

use std::fmt;

use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ids::{id_type, ListId};
use crate::lists::ListHandler;
use crate::query::Query;

id_type!(
    /// A webhook id, unique within its audience.
    WebhookId
);

/// An audience webhook, as Mailchimp returns it. Its `Debug` shows only the
/// URL's origin (see [`redacted_url`]).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Webhook {
    /// The webhook id.
    pub id: WebhookId,
    /// Where Mailchimp POSTs deliveries.
    #[serde(default)]
    pub url: String,
    /// Which events are sent.
    #[serde(default)]
    pub events: WebhookEvents,
    /// Which sources of change trigger a delivery.
    #[serde(default)]
    pub sources: WebhookSources,
    /// The audience.
    pub list_id: ListId,
    /// Whether deliveries are signed (`X-Mailchimp-Signature`); absent on
    /// older API versions. Webhooks created before signing existed are not.
    #[serde(default)]
    pub signing_enabled: Option<bool>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &redacted_url(&self.url))
            .field("events", &self.events)
            .field("sources", &self.sources)
            .field("list_id", &self.list_id)
            .field("signing_enabled", &self.signing_enabled)
            .finish()
    }
}

/// Which audience events a webhook sends. Unset events are off.
///
/// ```
/// use mailchimp_client::webhooks::WebhookEvents;
///
/// let events = WebhookEvents { unsubscribe: true, cleaned: true, upemail: true, ..Default::default() };
/// assert!(!events.subscribe);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookEvents {
    /// Members joining.
    pub subscribe: bool,
    /// Members leaving or deleted.
    pub unsubscribe: bool,
    /// Profile updates.
    pub profile: bool,
    /// Cleaned addresses.
    pub cleaned: bool,
    /// Email address changes.
    pub upemail: bool,
    /// Campaigns sent or cancelled.
    pub campaign: bool,
}

/// Which sources of change trigger a delivery.
///
/// Mailchimp advises leaving `api` off, so the caller's own API writes do
/// not echo back as events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookSources {
    /// Changes made by subscribers themselves.
    pub user: bool,
    /// Changes made by account users in Mailchimp.
    pub admin: bool,
    /// Changes made through the API.
    pub api: bool,
}

/// A webhook to create. Its `Debug` shows only the URL's origin: the path of
/// a receiver's URL is usually its secret.
///
/// ```
/// use mailchimp_client::webhooks::{NewWebhook, WebhookEvents, WebhookSources};
///
/// let hook = NewWebhook::new(
///     "https://sync.example.com/hooks/mailchimp/9f8e7d",
///     WebhookEvents { unsubscribe: true, cleaned: true, upemail: true, profile: true, ..Default::default() },
///     WebhookSources { user: true, admin: true, api: false },
/// );
/// assert_eq!(serde_json::to_value(&hook).unwrap()["sources"]["api"], false);
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NewWebhook {
    /// Where Mailchimp POSTs deliveries (`http` or `https`).
    pub url: String,
    /// Which events to send.
    pub events: WebhookEvents,
    /// Which sources of change trigger a delivery.
    pub sources: WebhookSources,
}

impl NewWebhook {
    /// A webhook for `url` with these events and sources.
    pub fn new(url: impl Into<String>, events: WebhookEvents, sources: WebhookSources) -> Self {
        NewWebhook {
            url: url.into(),
            events,
            sources,
        }
    }
}

impl fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewWebhook")
            .field("url", &redacted_url(&self.url))
            .field("events", &self.events)
            .field("sources", &self.sources)
            .finish()
    }
}

/// A webhook URL for `Debug`: its origin, with the path, query and fragment
/// (where a receiver keeps its secret token) withheld.
///
/// ```
/// use mailchimp_client::webhooks::redacted_url;
///
/// assert_eq!(
///     redacted_url("https://sync.acme-industrial.com/webhooks/mailchimp/9f8e7d"),
///     "https://sync.acme-industrial.com/** redacted **"
/// );
/// ```
pub fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if parsed.has_host() => {
            format!("{}/** redacted **", parsed.origin().ascii_serialization())
        }
        _ => "** redacted **".to_owned(),
    }
}

/// A decode error of a webhooks response, whose body may hold the signing
/// secret and the secret delivery URL: the excerpt and serde's message
/// (which can quote a value) are withheld; the position is kept.
fn withhold_body(err: Error) -> Error {
    match err {
        Error::Decode { status, source, .. } => {
            let message = format!(
                "{:?} error at line {} column {} (message withheld: the body holds secrets)",
                source.classify(),
                source.line(),
                source.column()
            );
            Error::Decode {
                status,
                excerpt: "** withheld: webhook responses hold secrets **".to_owned(),
                source: <serde_json::Error as serde::de::Error>::custom(message),
            }
        }
        other => other,
    }
}

/// The changes to a webhook (`PATCH`); unset fields are untouched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WebhookUpdate {
    /// A new delivery URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// New event settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<WebhookEvents>,
    /// New source settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<WebhookSources>,
}

/// A webhook just created, with the signing secret Mailchimp shows only
/// once. Store the secret (encrypted) and verify deliveries with
/// [`WebhookVerifier::signed`](super::WebhookVerifier::signed).
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct CreatedWebhook {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The one-time signing secret; `None` when Mailchimp did not send one.
    #[serde(default)]
    pub signing_secret: Option<SecretString>,
}

impl fmt::Debug for CreatedWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedWebhook")
            .field("webhook", &self.webhook)
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// The response of `GET /lists/{list_id}/webhooks`.
#[derive(Deserialize)]
struct WebhookList {
    #[serde(default)]
    webhooks: Vec<Webhook>,
}

impl ListHandler {
    /// The audience's webhooks.
    pub fn webhooks(&self) -> ListWebhooks {
        ListWebhooks {
            client: self.client().clone(),
            list: self.id().clone(),
        }
    }
}

/// One audience's webhooks; made by [`ListHandler::webhooks`].
#[derive(Debug, Clone)]
pub struct ListWebhooks {
    client: Client,
    list: ListId,
}

impl ListWebhooks {
    /// `POST /lists/{list_id}/webhooks`: creates a webhook. Mailchimp
    /// first validates the URL with a `GET`, which must answer 200. Not
    /// retried (a `POST`).
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::webhooks::{NewWebhook, WebhookEvents, WebhookSources};
    /// use mailchimp_client::ListId;
    ///
    /// let hook = NewWebhook::new(
    ///     "https://sync.example.com/hooks/mailchimp/9f8e7d",
    ///     WebhookEvents { unsubscribe: true, cleaned: true, ..Default::default() },
    ///     WebhookSources { user: true, admin: true, api: false },
    /// );
    /// let created = client.list(&ListId::from("a1b2c3")).webhooks().create(&hook).await?;
    /// if let Some(secret) = created.signing_secret {
    ///     // keep it: Mailchimp never shows it again
    /// #   drop(secret);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when `url` is not an absolute `http(s)` URL
    /// (no request is sent); [`Error::InvalidResource`] when Mailchimp
    /// rejects it (for example, its validation `GET` failed); otherwise the
    /// API and transport errors of [`Error`].
    pub async fn create(&self, webhook: &NewWebhook) -> Result<CreatedWebhook> {
        check_url(&webhook.url)?;
        self.client
            .send_json(Method::POST, &self.path(None), &Query::new(), webhook)
            .await
            .map_err(withhold_body)
    }

    /// `GET /lists/{list_id}/webhooks`: every webhook of the audience (the
    /// endpoint is not paginated).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown audience; otherwise the API and
    /// transport errors of [`Error`].
    pub async fn list(&self) -> Result<Vec<Webhook>> {
        let list: WebhookList = self
            .client
            .get(&self.path(None), &Query::new())
            .await
            .map_err(withhold_body)?;
        Ok(list.webhooks)
    }

    /// `GET /lists/{list_id}/webhooks/{webhook_id}`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown webhook; otherwise the API and
    /// transport errors of [`Error`].
    pub async fn get(&self, id: &WebhookId) -> Result<Webhook> {
        self.client
            .get(&self.path(Some(id)), &Query::new())
            .await
            .map_err(withhold_body)
    }

    /// `PATCH /lists/{list_id}/webhooks/{webhook_id}`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a new `url` that is not an absolute
    /// `http(s)` URL; [`Error::NotFound`] for an unknown webhook; otherwise
    /// the API and transport errors of [`Error`].
    pub async fn update(&self, id: &WebhookId, update: &WebhookUpdate) -> Result<Webhook> {
        if let Some(url) = &update.url {
            check_url(url)?;
        }
        self.client
            .send_json(Method::PATCH, &self.path(Some(id)), &Query::new(), update)
            .await
            .map_err(withhold_body)
    }

    /// `DELETE /lists/{list_id}/webhooks/{webhook_id}`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown webhook; otherwise the API and
    /// transport errors of [`Error`].
    pub async fn delete(&self, id: &WebhookId) -> Result<()> {
        self.client
            .delete(&self.path(Some(id)), &Query::new())
            .await
    }

    fn path<'a>(&'a self, id: Option<&'a WebhookId>) -> Vec<&'a str> {
        let mut path = vec!["lists", self.list.as_str(), "webhooks"];
        path.extend(id.map(WebhookId::as_str));
        path
    }
}

fn check_url(url: &str) -> Result<()> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        _ => Err(Error::invalid_input(
            "webhook.url",
            "must be an absolute http or https URL",
        )),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn created_webhook_keeps_and_hides_the_secret() {
        let created: CreatedWebhook = serde_json::from_str(
            r#"{"id":"w1","url":"https://h.example/x","list_id":"l1","signing_enabled":true,
                "signing_secret":"whsec_topsecret","events":{"unsubscribe":true},"_links":[]}"#,
        )
        .unwrap();
        assert_eq!(
            created.signing_secret.as_ref().unwrap().expose_secret(),
            "whsec_topsecret"
        );
        assert!(created.webhook.events.unsubscribe);
        assert!(!created.webhook.events.subscribe);
        let shown = format!("{created:?}");
        assert!(!shown.contains("whsec_topsecret"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn new_webhook_debug_shows_only_the_origin() {
        let hook = NewWebhook::new(
            "https://sync.acme-industrial.com/webhooks/mailchimp/0123456789abcdef",
            WebhookEvents::default(),
            WebhookSources::default(),
        );
        let shown = format!("{hook:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("https://sync.acme-industrial.com/** redacted **"));
        assert_eq!(redacted_url("not a url/secret"), "** redacted **");
    }

    #[test]
    fn decode_errors_of_webhook_bodies_quote_nothing() {
        let body = br#"{"id":"w1","signing_secret":"whsec_topsecret","signing_enabled":"whsec_topsecret"}"#;
        let source = serde_json::from_slice::<CreatedWebhook>(body).unwrap_err();
        assert!(
            source.to_string().contains("whsec_topsecret"),
            "serde quotes it"
        );
        let err = withhold_body(Error::decode(200, body, source));
        let shown = format!("{err} {err:?} {:?}", std::error::Error::source(&err));
        assert!(!shown.contains("whsec_topsecret"), "{shown}");
        assert!(shown.contains("line 1"), "{shown}");
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://h.example/hook").is_ok());
        for bad in ["", "h.example/hook", "ftp://h.example/", "mailto:a@b.c"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
