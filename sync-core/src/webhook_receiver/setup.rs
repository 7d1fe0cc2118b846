//! Registering the receiver's URL as a webhook on the audience.

use mailchimp_client::webhooks::{
    NewWebhook, Webhook, WebhookEvents, WebhookSources, WebhookUpdate,
};
use mailchimp_client::ListId;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Result, SyncError};

/// The events the receiver uses.
pub const EVENTS: WebhookEvents = WebhookEvents {
    subscribe: true,
    unsubscribe: true,
    profile: true,
    cleaned: true,
    upemail: true,
    campaign: false,
};

/// Changes by members and by account users; never by the API, so the connector's own writes do
/// not echo back.
pub const SOURCES: WebhookSources = WebhookSources {
    user: true,
    admin: true,
    api: false,
};

/// What [`register_webhook`] found or created. `Debug` withholds the signing secret and the
/// delivery URL's secret path.
#[non_exhaustive]
pub struct Registration {
    /// The webhook.
    pub webhook: Webhook,
    /// The signing secret, shown by Mailchimp once, when the webhook was just created. Store it
    /// in the vault ([`WebhookSecrets`](crate::vault::WebhookSecrets)) at once.
    pub signing_secret: Option<SecretString>,
    /// Whether the webhook was created now (otherwise it existed, and its sources were set to
    /// leave out the API if they did not).
    pub created: bool,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("webhook", &self.webhook)
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "** redacted **"),
            )
            .field("created", &self.created)
            .finish()
    }
}

/// Ensures the audience `list` has a webhook posting to `url` (from
/// [`ReceiverConfig::webhook_url`](super::ReceiverConfig::webhook_url)) with the receiver's
/// [`EVENTS`] and `sources.api = false`.
///
/// An existing webhook with that URL is kept (its sources corrected if they include the API);
/// Mailchimp does not show its signing secret again, so keep the one stored when it was created.
/// Otherwise one is created: Mailchimp first checks the URL with a `GET`, so the receiver must
/// already be serving at it.
///
/// ```no_run
/// # async fn run(client: mailchimp_client::Client, config: sync_core::webhook_receiver::ReceiverConfig) -> sync_core::Result<()> {
/// use mailchimp_client::ListId;
/// use sync_core::webhook_receiver::register_webhook;
///
/// let url = config.webhook_url("https://sync.example.com")?;
/// let registration = register_webhook(&client, &ListId::from("a1b2c3"), &url).await?;
/// if let Some(secret) = registration.signing_secret {
///     // store it in the vault now: Mailchimp never shows it again
/// #   drop(secret);
/// }
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`SyncError::Client`] with Mailchimp's error when listing, creating or updating fails (for
/// example the validation `GET` could not reach the receiver).
pub async fn register_webhook(
    client: &mailchimp_client::Client,
    list: &ListId,
    url: &SecretString,
) -> Result<Registration> {
    let hooks = client.list(list).webhooks();
    let existing = hooks.list().await.map_err(SyncError::mailchimp)?;
    if let Some(found) = existing.into_iter().find(|w| w.url == url.expose_secret()) {
        let webhook = if found.sources.api {
            let mut update = WebhookUpdate::default();
            update.sources = Some(SOURCES);
            hooks
                .update(&found.id, &update)
                .await
                .map_err(SyncError::mailchimp)?
        } else {
            found
        };
        return Ok(Registration {
            webhook,
            signing_secret: None,
            created: false,
        });
    }
    let created = hooks
        .create(&NewWebhook::new(url.expose_secret(), EVENTS, SOURCES))
        .await
        .map_err(SyncError::mailchimp)?;
    Ok(Registration {
        webhook: created.webhook,
        signing_secret: created.signing_secret,
        created: true,
    })
}
