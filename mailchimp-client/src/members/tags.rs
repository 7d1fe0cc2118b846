//! `POST /lists/{list_id}/members/{subscriber_hash}/tags`.

use serde::Serialize;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ids::{ListId, SubscriberHash};
use crate::query::Query;

/// Activates and deactivates a member's tags; made by
/// [`MembersHandler::tags`](crate::MembersHandler::tags).
#[derive(Debug, Clone)]
#[must_use = "call `.send()`"]
pub struct MemberTagsRequest {
    client: Client,
    list: ListId,
    hash: SubscriberHash,
    body: TagsBody,
}

#[derive(Debug, Clone, Serialize)]
struct TagsBody {
    tags: Vec<TagChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_syncing: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
struct TagChange {
    name: String,
    status: &'static str,
}

impl MemberTagsRequest {
    pub(crate) fn new(client: Client, list: ListId, hash: SubscriberHash) -> Self {
        MemberTagsRequest {
            client,
            list,
            hash,
            body: TagsBody {
                tags: Vec::new(),
                is_syncing: None,
            },
        }
    }

    /// Puts the tag on the member (creating the tag if it is new).
    pub fn activate(mut self, name: impl Into<String>) -> Self {
        self.body.tags.push(TagChange {
            name: name.into(),
            status: "active",
        });
        self
    }

    /// Takes the tag off the member.
    pub fn deactivate(mut self, name: impl Into<String>) -> Self {
        self.body.tags.push(TagChange {
            name: name.into(),
            status: "inactive",
        });
        self
    }

    /// When `true`, automations based on these tags do not fire (for
    /// imports and syncs).
    pub fn is_syncing(mut self, syncing: bool) -> Self {
        self.body.is_syncing = Some(syncing);
        self
    }

    /// Sends the changes. Retried like a `PUT` although it is a `POST`:
    /// setting a tag active or inactive twice leaves the same state, so the
    /// call is idempotent in effect.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when no tag was given or a name is blank,
    /// before any request; [`Error::NotFound`] for an unknown member;
    /// otherwise the API and transport errors of [`Error`].
    pub async fn send(self) -> Result<()> {
        if self.body.tags.is_empty() {
            return Err(Error::invalid_input(
                "tags",
                "at least one tag to add or remove is required",
            ));
        }
        if self.body.tags.iter().any(|t| t.name.trim().is_empty()) {
            return Err(Error::invalid_input("tags", "a tag name is blank"));
        }
        self.client
            .post_idempotent_no_content(
                &[
                    "lists",
                    self.list.as_str(),
                    "members",
                    self.hash.as_str(),
                    "tags",
                ],
                &Query::new(),
                &self.body,
            )
            .await
    }
}
