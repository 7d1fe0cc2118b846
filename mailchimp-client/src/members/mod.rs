//! List members: `/lists/{list_id}/members[/{subscriber_hash}[/tags]]`.

mod fields;
mod list;
mod model;
mod status;
mod tags;
mod write;

pub use list::ListMembersRequest;
pub use model::{Member, MemberLocation, MemberStats, Tag};
pub use status::MemberStatus;
pub use tags::MemberTagsRequest;
pub use write::{MarketingPermission, UpdateMemberRequest, UpsertMemberRequest};

pub(crate) use fields::{member_profile_setters, MemberFields};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ids::{ListId, SubscriberHash};
use crate::lists::ListHandler;
use crate::page::field_selection_methods;
use crate::query::{FieldSelection, Query};

impl ListHandler {
    /// The audience's members.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::{ListId, MemberStatus};
    ///
    /// let members = client.list(&ListId::from("a1b2c3")).members();
    /// let member = members
    ///     .upsert("ada@northwind-mfg.com", MemberStatus::Subscribed)
    ///     .merge_field("FNAME", "Ada")
    ///     .send()
    ///     .await?;
    /// println!("{:?}", member.status);
    /// # Ok(()) }
    /// ```
    pub fn members(&self) -> MembersHandler {
        MembersHandler {
            client: self.client().clone(),
            list: self.id().clone(),
        }
    }
}

/// The members of one audience; made by [`ListHandler::members`].
#[derive(Debug, Clone)]
pub struct MembersHandler {
    client: Client,
    list: ListId,
}

impl MembersHandler {
    /// `GET /lists/{list_id}/members/{subscriber_hash}`.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::{ListId, SubscriberHash};
    ///
    /// let hash = SubscriberHash::from_email("ada@northwind-mfg.com");
    /// let member = client
    ///     .list(&ListId::from("a1b2c3"))
    ///     .members()
    ///     .get(&hash)
    ///     .fields(["email_address", "status", "last_changed"])
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, hash: &SubscriberHash) -> GetMemberRequest {
        GetMemberRequest {
            client: self.client.clone(),
            list: self.list.clone(),
            hash: hash.clone(),
            fields: FieldSelection::All,
        }
    }

    /// `GET /lists/{list_id}/members`, with filters; page it with `.send()`
    /// or walk it all with `.into_stream()`.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use chrono::{TimeZone, Utc};
    /// use futures::TryStreamExt;
    /// use mailchimp_client::{ListId, MemberStatus};
    ///
    /// let since = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    /// let changed: Vec<_> = client
    ///     .list(&ListId::from("a1b2c3"))
    ///     .members()
    ///     .list()
    ///     .status(MemberStatus::Unsubscribed)
    ///     .since_last_changed(since)
    ///     .into_stream()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListMembersRequest {
        ListMembersRequest::new(&self.client, &self.list)
    }

    /// `PUT /lists/{list_id}/members/{subscriber_hash}`: adds the address
    /// with `status_if_new` if it is not on the list, else updates it
    /// (without changing its status unless [`status`](UpsertMemberRequest::status)
    /// is set). The hash is derived from `email`.
    pub fn upsert(
        &self,
        email: impl Into<String>,
        status_if_new: MemberStatus,
    ) -> UpsertMemberRequest {
        UpsertMemberRequest::new(
            self.client.clone(),
            self.list.clone(),
            email.into(),
            status_if_new,
        )
    }

    /// `PATCH /lists/{list_id}/members/{subscriber_hash}`: changes only the
    /// fields set on the returned builder.
    pub fn update(&self, hash: &SubscriberHash) -> UpdateMemberRequest {
        UpdateMemberRequest::new(self.client.clone(), self.list.clone(), hash.clone())
    }

    /// `DELETE /lists/{list_id}/members/{subscriber_hash}`: **archives** the
    /// member (Mailchimp's `DELETE` is not a permanent delete); a later
    /// upsert brings them back.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::{ListId, SubscriberHash};
    ///
    /// let members = client.list(&ListId::from("a1b2c3")).members();
    /// members.archive(&SubscriberHash::from_email("ada@northwind-mfg.com")).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the member does not exist; otherwise the
    /// API and transport errors of [`Error`].
    pub async fn archive(&self, hash: &SubscriberHash) -> Result<()> {
        self.client
            .delete(
                &["lists", self.list.as_str(), "members", hash.as_str()],
                &Query::new(),
            )
            .await
    }

    /// `POST /lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent`:
    /// erases the member and its history for good. Mailchimp then refuses to
    /// add the address again through the API ("Forgotten Email Not
    /// Subscribed"); prefer [`archive`](Self::archive) unless the contact
    /// asked to be forgotten.
    ///
    /// Retried like a `DELETE` (the member is gone either way): when an
    /// earlier attempt went through but its answer was lost, the retry gets
    /// [`Error::NotFound`].
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::{ListId, SubscriberHash};
    ///
    /// let members = client.list(&ListId::from("a1b2c3")).members();
    /// members
    ///     .delete_permanent(&SubscriberHash::from_email("forget.me@northwind-mfg.com"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the member does not exist; otherwise the
    /// API and transport errors of [`Error`].
    pub async fn delete_permanent(&self, hash: &SubscriberHash) -> Result<()> {
        self.client
            .post_action(&[
                "lists",
                self.list.as_str(),
                "members",
                hash.as_str(),
                "actions",
                "delete-permanent",
            ])
            .await
    }

    /// `POST /lists/{list_id}/members/{subscriber_hash}/tags`: activates or
    /// deactivates tags (an unknown active tag is created).
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::{ListId, SubscriberHash};
    ///
    /// client
    ///     .list(&ListId::from("a1b2c3"))
    ///     .members()
    ///     .tags(&SubscriberHash::from_email("ada@northwind-mfg.com"))
    ///     .activate("customer")
    ///     .deactivate("prospect")
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tags(&self, hash: &SubscriberHash) -> MemberTagsRequest {
        MemberTagsRequest::new(self.client.clone(), self.list.clone(), hash.clone())
    }
}

/// `GET /lists/{list_id}/members/{subscriber_hash}`; made by
/// [`MembersHandler::get`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()`"]
pub struct GetMemberRequest {
    client: Client,
    list: ListId,
    hash: SubscriberHash,
    fields: FieldSelection,
}

impl GetMemberRequest {
    field_selection_methods!();

    /// Fetches the member.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the address is not on the list; otherwise
    /// the API and transport errors of [`Error`].
    pub async fn send(self) -> Result<Member> {
        let mut query = Query::new();
        self.fields.apply(&mut query);
        self.client
            .get(
                &["lists", self.list.as_str(), "members", self.hash.as_str()],
                &query,
            )
            .await
    }
}

/// Checks an email address enough to catch mistakes before a request;
/// Mailchimp does the real validation.
pub(crate) fn check_email(field: &'static str, email: &str) -> Result<()> {
    let email = email.trim();
    if email.is_empty() {
        return Err(Error::invalid_input(field, "is empty"));
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !email.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(Error::invalid_input(field, "is not an email address")),
    }
}

/// Checks that `status` can be written (not `archived` or unknown).
pub(crate) fn check_writable(field: &'static str, status: &MemberStatus) -> Result<()> {
    if status.is_writable() {
        Ok(())
    } else {
        Err(Error::invalid_input(
            field,
            format!("`{status}` cannot be set; use subscribed, unsubscribed, cleaned, pending or transactional"),
        ))
    }
}
