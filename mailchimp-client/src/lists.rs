//! Audiences (lists): `GET /lists`, `GET /lists/{list_id}`, and the
//! per-list handler the member, merge-field and webhook calls hang off.

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use crate::client::Client;
use crate::error::Result;
use crate::ids::ListId;
use crate::page::{collection_methods, field_selection_methods, Collection};
use crate::query::{FieldSelection, Query};

/// An audience (Mailchimp's `list`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Audience {
    /// The list id.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub id: ListId,
    /// The id used in Mailchimp's web app URLs.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub web_id: u64,
    /// The audience's name.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub name: String,
    /// The postal contact shown in campaign footers.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub contact: AudienceContact,
    /// The reminder of how recipients joined.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub permission_reminder: String,
    /// Default sender and subject for campaigns.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub campaign_defaults: CampaignDefaults,
    /// Whether members may pick plain-text or HTML email.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub email_type_option: bool,
    /// Whether signups need confirmation (double opt-in).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub double_optin: bool,
    /// Whether GDPR marketing permissions are enabled.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub marketing_permissions: bool,
    /// `pub` or `prv`.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub visibility: String,
    /// When the audience was created.
    #[serde(deserialize_with = "crate::serde_util::opt_datetime")]
    pub date_created: Option<DateTime<FixedOffset>>,
    /// Mailchimp's 0–5 star rating of the audience.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub list_rating: u8,
    /// The signup form's short URL.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub subscribe_url_short: String,
    /// Member counts and dates.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub stats: AudienceStats,
}

/// An audience's postal contact.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
#[allow(missing_docs)] // self-explaining address fields
pub struct AudienceContact {
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub company: String,
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub address1: String,
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub address2: String,
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub city: String,
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub state: String,
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub zip: String,
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub country: String,
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub phone: String,
}

/// Campaign defaults of an audience.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CampaignDefaults {
    /// Default sender name.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub from_name: String,
    /// Default sender address.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub from_email: String,
    /// Default subject.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub subject: String,
    /// Default language code.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub language: String,
}

/// Counts and dates of an audience.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AudienceStats {
    /// Subscribed members.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub member_count: u64,
    /// All contacts (only with `include_total_contacts`).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub total_contacts: u64,
    /// Unsubscribed members.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub unsubscribe_count: u64,
    /// Cleaned (bounced) members.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub cleaned_count: u64,
    /// Campaigns sent to the audience.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub campaign_count: u64,
    /// Merge fields defined.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub merge_field_count: u64,
    /// When the last member subscribed.
    #[serde(deserialize_with = "crate::serde_util::opt_datetime")]
    pub last_sub_date: Option<DateTime<FixedOffset>>,
    /// When the last member unsubscribed.
    #[serde(deserialize_with = "crate::serde_util::opt_datetime")]
    pub last_unsub_date: Option<DateTime<FixedOffset>>,
}

impl Client {
    /// `GET /lists`: the account's audiences.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use futures::TryStreamExt;
    ///
    /// let mut lists = client.lists().fields(["lists.id", "lists.name"]).into_stream();
    /// while let Some(list) = lists.try_next().await? {
    ///     println!("{} {}", list.id, list.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn lists(&self) -> ListsRequest {
        ListsRequest {
            inner: self.collection(&["lists"], "lists"),
        }
    }

    /// The audience `id`: its details, members, merge fields and batch
    /// subscribe.
    pub fn list(&self, id: &ListId) -> ListHandler {
        ListHandler {
            client: self.clone(),
            id: id.clone(),
        }
    }
}

/// `GET /lists`; made by [`Client::lists`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct ListsRequest {
    inner: Collection,
}

impl ListsRequest {
    /// Only audiences that include this subscriber's email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.inner.query.set("email", email.into());
        self
    }

    /// Only audiences with (`true`) or without an e-commerce store.
    pub fn has_ecommerce_store(mut self, has: bool) -> Self {
        self.inner.query.set("has_ecommerce_store", has);
        self
    }

    /// Fill in `stats.total_contacts`.
    pub fn include_total_contacts(mut self, include: bool) -> Self {
        self.inner.query.set("include_total_contacts", include);
        self
    }

    collection_methods!(Audience);
}

/// One audience; made by [`Client::list`].
///
/// Holds a clone of the client, so it can be kept and moved freely.
#[derive(Debug, Clone)]
pub struct ListHandler {
    client: Client,
    id: ListId,
}

impl ListHandler {
    /// The audience id.
    pub fn id(&self) -> &ListId {
        &self.id
    }

    /// The client this handler sends through (for handlers in other
    /// modules, such as webhooks).
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// `GET /lists/{list_id}`.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ListId;
    ///
    /// let audience = client.list(&ListId::from("a1b2c3")).get().send().await?;
    /// println!("{} has {} members", audience.name, audience.stats.member_count);
    /// # Ok(()) }
    /// ```
    pub fn get(&self) -> GetListRequest {
        GetListRequest {
            client: self.client.clone(),
            id: self.id.clone(),
            fields: FieldSelection::All,
            include_total_contacts: None,
        }
    }
}

/// `GET /lists/{list_id}`; made by [`ListHandler::get`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()`"]
pub struct GetListRequest {
    client: Client,
    id: ListId,
    fields: FieldSelection,
    include_total_contacts: Option<bool>,
}

impl GetListRequest {
    /// Fill in `stats.total_contacts`.
    pub fn include_total_contacts(mut self, include: bool) -> Self {
        self.include_total_contacts = Some(include);
        self
    }

    field_selection_methods!();

    /// Fetches the audience.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown list id;
    /// otherwise the API and transport errors of [`Error`](crate::Error).
    pub async fn send(self) -> Result<Audience> {
        let mut query = Query::new();
        query.push_opt("include_total_contacts", self.include_total_contacts);
        self.fields.apply(&mut query);
        self.client.get(&["lists", self.id.as_str()], &query).await
    }
}
