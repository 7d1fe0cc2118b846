//! `PUT` (upsert) and `PATCH` (update) of one member.

use reqwest::Method;
use serde::Serialize;

use super::fields::{member_profile_setters, MemberFields};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::ids::{ListId, SubscriberHash};
use crate::members::{check_email, check_writable, Member, MemberStatus};
use crate::query::Query;

/// A GDPR marketing permission to grant or withdraw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarketingPermission {
    /// The permission's id (from the audience's settings).
    pub marketing_permission_id: String,
    /// Whether the member gave it.
    pub enabled: bool,
}

impl MarketingPermission {
    /// A permission `id`, granted or not.
    pub fn new(id: impl Into<String>, enabled: bool) -> Self {
        MarketingPermission {
            marketing_permission_id: id.into(),
            enabled,
        }
    }
}

/// Setters shared by the upsert and update builders (field `fields`).
macro_rules! member_field_setters {
    () => {
        /// Sets the status, also for an existing member.
        pub fn status(mut self, status: MemberStatus) -> Self {
            self.fields.status = Some(status);
            self
        }

        member_profile_setters!();

        /// Grants or withdraws a GDPR marketing permission.
        pub fn marketing_permission(mut self, permission: MarketingPermission) -> Self {
            self.fields.marketing_permissions.push(permission);
            self
        }

        /// Accept the member even if required merge fields are missing.
        pub fn skip_merge_validation(mut self, skip: bool) -> Self {
            self.skip_merge_validation = skip;
            self
        }
    };
}

fn write_query(skip_merge_validation: bool) -> Query {
    let mut query = Query::new();
    if skip_merge_validation {
        query.push("skip_merge_validation", true);
    }
    query
}

/// `PUT /lists/{list_id}/members/{subscriber_hash}`; made by
/// [`MembersHandler::upsert`](crate::MembersHandler::upsert).
#[derive(Debug, Clone)]
#[must_use = "call `.send()`"]
pub struct UpsertMemberRequest {
    client: Client,
    list: ListId,
    email_address: String,
    status_if_new: MemberStatus,
    fields: MemberFields,
    skip_merge_validation: bool,
}

#[derive(Serialize)]
struct UpsertBody<'a> {
    email_address: &'a str,
    status_if_new: &'a MemberStatus,
    #[serde(flatten)]
    fields: &'a MemberFields,
}

impl UpsertMemberRequest {
    pub(crate) fn new(
        client: Client,
        list: ListId,
        email_address: String,
        status_if_new: MemberStatus,
    ) -> Self {
        UpsertMemberRequest {
            client,
            list,
            email_address,
            status_if_new,
            fields: MemberFields::default(),
            skip_merge_validation: false,
        }
    }

    member_field_setters!();

    /// The subscriber hash this request addresses.
    pub fn subscriber_hash(&self) -> SubscriberHash {
        SubscriberHash::from_email(&self.email_address)
    }

    /// Adds or updates the member. A `PUT`, so retried per the client's
    /// policy.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidInput`] before any request when the email is blank
    ///   or not an address, or a status is `archived` or unknown.
    /// - [`Error::MemberInCompliance`] when the address unsubscribed or
    ///   bounced and cannot be subscribed again;
    ///   [`Error::ForgottenEmail`] when it was permanently deleted;
    ///   [`Error::InvalidResource`] with [`Error::field_errors`] for invalid
    ///   merge fields; otherwise the API and transport errors of [`Error`].
    pub async fn send(self) -> Result<Member> {
        check_email("email_address", &self.email_address)?;
        check_writable("status_if_new", &self.status_if_new)?;
        if let Some(status) = &self.fields.status {
            check_writable("status", status)?;
        }
        let email = self.email_address.trim();
        let hash = SubscriberHash::from_email(email);
        let body = UpsertBody {
            email_address: email,
            status_if_new: &self.status_if_new,
            fields: &self.fields,
        };
        self.client
            .send_json(
                Method::PUT,
                &["lists", self.list.as_str(), "members", hash.as_str()],
                &write_query(self.skip_merge_validation),
                &body,
            )
            .await
    }
}

/// `PATCH /lists/{list_id}/members/{subscriber_hash}`; made by
/// [`MembersHandler::update`](crate::MembersHandler::update).
#[derive(Debug, Clone)]
#[must_use = "call `.send()`"]
pub struct UpdateMemberRequest {
    client: Client,
    list: ListId,
    hash: SubscriberHash,
    email_address: Option<String>,
    fields: MemberFields,
    skip_merge_validation: bool,
}

#[derive(Serialize)]
struct UpdateBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    email_address: Option<&'a str>,
    #[serde(flatten)]
    fields: &'a MemberFields,
}

impl UpdateMemberRequest {
    pub(crate) fn new(client: Client, list: ListId, hash: SubscriberHash) -> Self {
        UpdateMemberRequest {
            client,
            list,
            hash,
            email_address: None,
            fields: MemberFields::default(),
            skip_merge_validation: false,
        }
    }

    /// Changes the member's email address.
    pub fn email_address(mut self, email: impl Into<String>) -> Self {
        self.email_address = Some(email.into());
        self
    }

    member_field_setters!();

    /// Applies the changes. A `PATCH`, so retried per the client's policy.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidInput`] before any request when nothing was set, a
    ///   new email is not an address, or the status is `transactional`,
    ///   `archived` or unknown (`PATCH` takes subscribed, unsubscribed,
    ///   cleaned and pending only).
    /// - [`Error::NotFound`] for an unknown member; the compliance and
    ///   validation errors of [`UpsertMemberRequest::send`]; otherwise the
    ///   API and transport errors of [`Error`].
    pub async fn send(self) -> Result<Member> {
        if let Some(email) = &self.email_address {
            check_email("email_address", email)?;
        }
        if let Some(status) = &self.fields.status {
            if *status == MemberStatus::Transactional {
                return Err(Error::invalid_input(
                    "status",
                    "`transactional` cannot be set by PATCH; use an upsert",
                ));
            }
            check_writable("status", status)?;
        }
        let body = UpdateBody {
            email_address: self.email_address.as_deref().map(str::trim),
            fields: &self.fields,
        };
        if serde_json::to_value(&body).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty())) {
            return Err(Error::invalid_input(
                "body",
                "nothing to update: set at least one field",
            ));
        }
        self.client
            .send_json(
                Method::PATCH,
                &["lists", self.list.as_str(), "members", self.hash.as_str()],
                &write_query(self.skip_merge_validation),
                &body,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_fields_are_left_out() {
        let fields = MemberFields {
            vip: Some(true),
            ..MemberFields::default()
        };
        let body = UpsertBody {
            email_address: "a@b.c",
            status_if_new: &MemberStatus::Pending,
            fields: &fields,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"email_address": "a@b.c", "status_if_new": "pending", "vip": true})
        );
    }
}
