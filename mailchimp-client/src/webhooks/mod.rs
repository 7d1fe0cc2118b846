//! Audience webhooks: managing them ([`ListHandler::webhooks`]) and
//! receiving their deliveries (signature check, typed events,
//! de-duplication).
//!
//! [`ListHandler::webhooks`]: crate::ListHandler::webhooks
//!
//! Mailchimp POSTs each audience event as an
//! `application/x-www-form-urlencoded` body such as
//! `type=unsubscribe&fired_at=2009-03-26+21%3A40%3A57&data%5Bemail%5D=…`.
//! A receiver verifies it, decodes it, and dedupes it:
//!
//! ```
//! use mailchimp_client::webhooks::{WebhookEvent, WebhookVerifier};
//!
//! fn handle(signature: Option<&str>, body: &[u8], verifier: &WebhookVerifier)
//!     -> Result<(), mailchimp_client::webhooks::WebhookError>
//! {
//!     let delivery = verifier.verify_and_parse(signature, body)?;
//!     let key = delivery.dedup_key(); // store it; skip the delivery if seen
//!     match delivery.event() {
//!         WebhookEvent::Unsubscribe(event) => println!("{key}: {} left", event.member.email),
//!         WebhookEvent::Cleaned(event) => println!("{key}: {} cleaned", event.email),
//!         _ => {}
//!     }
//!     Ok(())
//! }
//!
//! // A webhook from before signing existed, behind a secret URL path.
//! let verifier = WebhookVerifier::accept_unsigned();
//! let body = b"type=unsubscribe&fired_at=2009-03-26+21%3A40%3A57&data%5Baction%5D=unsub\
//!     &data%5Bid%5D=8a25ff1d98&data%5Blist_id%5D=a6b5da1054\
//!     &data%5Bemail%5D=api%2Bunsub%40mailchimp.com";
//! handle(None, body, &verifier)?;
//! # Ok::<(), mailchimp_client::webhooks::WebhookError>(())
//! ```
//!
//! Answer Mailchimp's validation `GET` with 200, and each delivery within
//! 10 seconds; a 410 answer disables the webhook.

mod dedup;
mod error;
mod event;
mod form;
mod manage;
mod signature;

pub use dedup::DedupKey;
pub use error::WebhookError;
pub use event::{
    parse_delivery, parse_delivery_with_limits, CampaignEvent, CleanedEvent, CleanedReason,
    EmailChangedEvent, MemberEvent, UnsubscribeAction, UnsubscribeEvent, WebhookDelivery,
    WebhookEvent,
};
pub use form::{FormMap, FormValue, ParseLimits};
pub use manage::{
    redacted_url, CreatedWebhook, ListWebhooks, NewWebhook, Webhook, WebhookEvents, WebhookId,
    WebhookSources, WebhookUpdate,
};
pub use signature::{secret_path_matches, WebhookVerifier, DEFAULT_TOLERANCE, SIGNATURE_HEADER};
