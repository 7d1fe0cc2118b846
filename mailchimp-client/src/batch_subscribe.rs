//! Batch subscribe: `POST /lists/{list_id}` with up to 500 members a call.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ids::ListId;
use crate::lists::ListHandler;
use crate::members::{
    check_email, check_writable, member_profile_setters, Member, MemberFields, MemberStatus,
};
use crate::query::Query;

/// Members per call: Mailchimp takes at most 500.
pub const BATCH_SUBSCRIBE_LIMIT: usize = 500;

/// One member of a batch subscribe (`Add_List_Members` in the spec).
///
/// ```
/// use mailchimp_client::{BatchMember, MemberStatus};
///
/// let m = BatchMember::new("ada@northwind-mfg.com", MemberStatus::Subscribed)
///     .merge_field("FNAME", "Ada")
///     .language("en");
/// assert_eq!(m.email_address(), "ada@northwind-mfg.com");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchMember {
    email_address: String,
    status: MemberStatus,
    /// The profile fields only: `status` above is required here, and batch
    /// members take no marketing permissions.
    #[serde(flatten)]
    fields: MemberFields,
}

impl BatchMember {
    /// A member to add with `status` (or, with `update_existing`, to set to
    /// `status`).
    pub fn new(email: impl Into<String>, status: MemberStatus) -> Self {
        BatchMember {
            email_address: email.into(),
            status,
            fields: MemberFields::default(),
        }
    }

    /// The email address.
    pub fn email_address(&self) -> &str {
        &self.email_address
    }

    member_profile_setters!();
}

impl ListHandler {
    /// `POST /lists/{list_id}`: adds or updates many members. Inputs over
    /// 500 are sent 500 per call and the reports merged.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::{BatchMember, ListId, MemberStatus};
    ///
    /// let members: Vec<_> = ["ada@northwind-mfg.com", "alan@northwind-mfg.com"]
    ///     .into_iter()
    ///     .map(|email| BatchMember::new(email, MemberStatus::Subscribed))
    ///     .collect();
    /// let report = client.list(&ListId::from("a1b2c3")).batch_subscribe(members).send().await?;
    /// for e in &report.errors {
    ///     eprintln!("{}: {} ({:?})", e.email_address, e.error, e.error_code);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn batch_subscribe(&self, members: Vec<BatchMember>) -> BatchSubscribeRequest {
        BatchSubscribeRequest {
            client: self.client().clone(),
            list: self.id().clone(),
            members,
            update_existing: true,
            skip_merge_validation: false,
            skip_duplicate_check: false,
        }
    }
}

/// `POST /lists/{list_id}`; made by [`ListHandler::batch_subscribe`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()`"]
pub struct BatchSubscribeRequest {
    client: Client,
    list: ListId,
    members: Vec<BatchMember>,
    update_existing: bool,
    skip_merge_validation: bool,
    skip_duplicate_check: bool,
}

#[derive(Serialize)]
struct BatchBody<'a> {
    members: &'a [BatchMember],
    update_existing: bool,
}

impl BatchSubscribeRequest {
    /// Update members already on the list (default `true`). With `false`,
    /// existing addresses come back as `ERROR_CONTACT_EXISTS` errors, and
    /// calls are no longer retried.
    pub fn update_existing(mut self, update: bool) -> Self {
        self.update_existing = update;
        self
    }

    /// Accept members even if required merge fields are missing.
    pub fn skip_merge_validation(mut self, skip: bool) -> Self {
        self.skip_merge_validation = skip;
        self
    }

    /// Do not reject a batch that names the same address twice.
    pub fn skip_duplicate_check(mut self, skip: bool) -> Self {
        self.skip_duplicate_check = skip;
        self
    }

    /// Sends the members, [`BATCH_SUBSCRIBE_LIMIT`] per call, one call after
    /// another, and merges the reports.
    ///
    /// Each call is retried through the client's policy although it is a
    /// `POST`, because re-sending it is safe in both modes: with
    /// `update_existing` (the default) re-sending the same members sets the
    /// same state; without it, a member the lost first attempt did add comes
    /// back as [`BatchErrorCode::ContactExists`] instead of being added twice,
    /// and the caller handles that address as an existing member.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidInput`] before any request when an email is blank
    ///   or not an address, or a status is `archived` or unknown (the field
    ///   names the member's index).
    /// - The API and transport errors of [`Error`] for a call that still
    ///   failed after its retries. Calls before it were applied; re-running
    ///   the whole batch is safe (see above).
    ///
    /// Per-member rejections are not errors: they are in
    /// [`BatchReport::errors`].
    pub async fn send(self) -> Result<BatchReport> {
        self.send_as().await
    }

    /// [`send`](Self::send), decoding the members of the answer as `M`: a struct of the fields
    /// wanted instead of whole [`Member`]s (the answer names up to 500 members a call, each with
    /// every field, and decoding them all is most of the cost of reading it).
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::{BatchMember, ListId, MemberStatus};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Written {
    ///     email_address: String,
    ///     status: Option<MemberStatus>,
    /// }
    ///
    /// let members = vec![BatchMember::new("ada@northwind-mfg.com", MemberStatus::Subscribed)];
    /// let report = client
    ///     .list(&ListId::from("a1b2c3"))
    ///     .batch_subscribe(members)
    ///     .send_as::<Written>()
    ///     .await?;
    /// for member in &report.new_members {
    ///     println!("{} is {:?}", member.email_address, member.status);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`send`](Self::send); [`Error::Decode`] when a member of the answer does not
    /// decode as `M`.
    pub async fn send_as<M: DeserializeOwned>(self) -> Result<BatchReport<M>> {
        for (i, member) in self.members.iter().enumerate() {
            check_email_at(i, &member.email_address)?;
            check_writable("status", &member.status).map_err(|e| at_index(i, e))?;
        }
        let mut query = Query::new();
        if self.skip_merge_validation {
            query.push("skip_merge_validation", true);
        }
        if self.skip_duplicate_check {
            query.push("skip_duplicate_check", true);
        }
        let path = ["lists", self.list.as_str()];
        let mut report = BatchReport::<M>::default();
        for chunk in self.members.chunks(BATCH_SUBSCRIBE_LIMIT) {
            let body = BatchBody {
                members: chunk,
                update_existing: self.update_existing,
            };
            let part: BatchReport<M> = self.client.post_idempotent(&path, &query, &body).await?;
            report.merge(part);
        }
        Ok(report)
    }
}

fn check_email_at(index: usize, email: &str) -> Result<()> {
    check_email("email_address", email).map_err(|e| at_index(index, e))
}

/// Renames an input error's field to `members[i].field`.
fn at_index(index: usize, error: Error) -> Error {
    match error {
        Error::InvalidInput { field, reason } => {
            Error::invalid_input(format!("members[{index}].{field}"), reason)
        }
        other => other,
    }
}

/// What a batch subscribe did, merged over all its calls. Its members are whole [`Member`]s
/// unless the request was sent with
/// [`send_as`](BatchSubscribeRequest::send_as).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, bound(deserialize = "M: DeserializeOwned"))]
#[non_exhaustive]
pub struct BatchReport<M = Member> {
    /// Members added.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub new_members: Vec<M>,
    /// Members updated.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub updated_members: Vec<M>,
    /// Members Mailchimp rejected, with why.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub errors: Vec<BatchMemberError>,
    /// How many were added.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub total_created: u64,
    /// How many were updated.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub total_updated: u64,
    /// How many were rejected.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub error_count: u64,
}

// By hand: the derive would ask for `M: Default`, which the empty lists do not need.
impl<M> Default for BatchReport<M> {
    fn default() -> Self {
        Self {
            new_members: Vec::new(),
            updated_members: Vec::new(),
            errors: Vec::new(),
            total_created: 0,
            total_updated: 0,
            error_count: 0,
        }
    }
}

impl<M> BatchReport<M> {
    fn merge(&mut self, other: BatchReport<M>) {
        self.new_members.extend(other.new_members);
        self.updated_members.extend(other.updated_members);
        self.errors.extend(other.errors);
        self.total_created += other.total_created;
        self.total_updated += other.total_updated;
        self.error_count += other.error_count;
    }
}

/// One member a batch subscribe rejected.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BatchMemberError {
    /// The rejected address.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub email_address: String,
    /// Mailchimp's message, e.g. `… is already a list member`.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub error: String,
    /// The machine-readable reason.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub error_code: BatchErrorCode,
    /// The field in error, if one.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub field: String,
    /// What is wrong with that field.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub field_message: String,
}

/// Why a batch member was rejected. Open: unknown codes are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BatchErrorCode {
    /// `ERROR_CONTACT_EXISTS`: already on the list (and `update_existing`
    /// was off).
    ContactExists,
    /// `ERROR_GENERIC`: anything else; see the message.
    #[default]
    Generic,
    /// A code this crate does not know, kept verbatim.
    Other(String),
}

impl<'de> Deserialize<'de> for BatchErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let code = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        Ok(match code.as_str() {
            "ERROR_CONTACT_EXISTS" => BatchErrorCode::ContactExists,
            "ERROR_GENERIC" | "" => BatchErrorCode::Generic,
            _ => BatchErrorCode::Other(code),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_merge_and_codes_decode() {
        let a: BatchReport = serde_json::from_str(
            r#"{"new_members":[{"email_address":"a@x.io"}],"updated_members":[],"errors":[
                {"email_address":"b@x.io","error":"b@x.io is already a list member","error_code":"ERROR_CONTACT_EXISTS"},
                {"email_address":"c@x","error":"bad","error_code":"ERROR_NEW_THING","field":null}],
                "total_created":1,"total_updated":0,"error_count":2,"_links":[]}"#,
        )
        .unwrap();
        assert_eq!(a.errors[0].error_code, BatchErrorCode::ContactExists);
        assert_eq!(
            a.errors[1].error_code,
            BatchErrorCode::Other("ERROR_NEW_THING".into())
        );
        let mut total = a.clone();
        total.merge(a);
        assert_eq!(
            (total.total_created, total.error_count, total.errors.len()),
            (2, 4, 4)
        );
    }

    #[test]
    fn a_batch_member_sends_its_status_once_and_only_the_fields_set() {
        let bare = BatchMember::new("a@x.io", MemberStatus::Pending);
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            serde_json::json!({"email_address": "a@x.io", "status": "pending"})
        );
        let full = bare
            .email_type("text")
            .merge_field("FNAME", "Ada")
            .interest("i1", true)
            .language("fr")
            .vip(true);
        assert_eq!(
            serde_json::to_string(&full).unwrap(),
            r#"{"email_address":"a@x.io","status":"pending","email_type":"text","merge_fields":{"FNAME":"Ada"},"interests":{"i1":true},"language":"fr","vip":true}"#
        );
    }
}
