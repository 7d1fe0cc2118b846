//! Interest categories ("groups" in Mailchimp's app) and their interests:
//! `GET /lists/{list_id}/interest-categories[/{interest_category_id}]` and
//! `GET …/interest-categories/{interest_category_id}/interests[/{interest_id}]`.

use serde::Deserialize;

use crate::client::Client;
use crate::error::Result;
use crate::ids::{id_type, ListId};
use crate::lists::ListHandler;
use crate::page::{collection_methods, Collection};
use crate::query::Query;

id_type!(
    /// An interest category id, such as `7a1b9c3e2d`.
    ///
    /// ```
    /// use mailchimp_client::InterestCategoryId;
    /// assert_eq!(InterestCategoryId::from("7a1b9c3e2d").as_str(), "7a1b9c3e2d");
    /// ```
    InterestCategoryId
);

id_type!(
    /// An interest id: the key of a member's `interests` map.
    InterestId
);

/// An interest category of an audience: a question on the signup form whose
/// answers are its [`Interest`]s.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InterestCategory {
    /// The category id.
    pub id: InterestCategoryId,
    /// The audience.
    pub list_id: Option<ListId>,
    /// The text shown on signup forms.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub title: String,
    /// Position on the form (lower first).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub display_order: i64,
    /// How the form shows it: `checkboxes`, `dropdown`, `radio` or `hidden`
    /// (kept as text, so a new display type still decodes).
    #[serde(
        rename = "type",
        deserialize_with = "crate::serde_util::null_as_default"
    )]
    pub kind: String,
}

/// One interest (a "group name") of a category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Interest {
    /// The interest id.
    pub id: InterestId,
    /// The category it belongs to.
    pub category_id: Option<InterestCategoryId>,
    /// The audience.
    pub list_id: Option<ListId>,
    /// The name shown on signup forms.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub name: String,
    /// Members with this interest. The spec types it as a string, so it is
    /// kept as sent.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub subscriber_count: String,
    /// Position in the category (lower first).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub display_order: i64,
}

impl ListHandler {
    /// The audience's interest categories.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use futures::TryStreamExt;
    /// use mailchimp_client::ListId;
    ///
    /// let categories = client.list(&ListId::from("a1b2c3")).interest_categories();
    /// let mut stream = categories.list().into_stream();
    /// while let Some(category) = stream.try_next().await? {
    ///     let interests = categories.interests(&category.id).list().send().await?;
    ///     println!("{}: {} interests", category.title, interests.total_items);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn interest_categories(&self) -> InterestCategoriesHandler {
        InterestCategoriesHandler {
            client: self.client().clone(),
            list: self.id().clone(),
        }
    }
}

/// One audience's interest categories; made by
/// [`ListHandler::interest_categories`].
#[derive(Debug, Clone)]
pub struct InterestCategoriesHandler {
    client: Client,
    list: ListId,
}

impl InterestCategoriesHandler {
    /// `GET /lists/{list_id}/interest-categories`.
    pub fn list(&self) -> ListInterestCategoriesRequest {
        ListInterestCategoriesRequest {
            inner: self.client.collection(
                &["lists", self.list.as_str(), "interest-categories"],
                "categories",
            ),
        }
    }

    /// `GET /lists/{list_id}/interest-categories/{interest_category_id}`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown category
    /// or audience; otherwise the API and transport errors of
    /// [`Error`](crate::Error).
    pub async fn get(&self, id: &InterestCategoryId) -> Result<InterestCategory> {
        self.client
            .get(
                &[
                    "lists",
                    self.list.as_str(),
                    "interest-categories",
                    id.as_str(),
                ],
                &Query::new(),
            )
            .await
    }

    /// The interests of category `id`.
    pub fn interests(&self, id: &InterestCategoryId) -> InterestsHandler {
        InterestsHandler {
            client: self.client.clone(),
            list: self.list.clone(),
            category: id.clone(),
        }
    }
}

/// `GET /lists/{list_id}/interest-categories`; made by
/// [`InterestCategoriesHandler::list`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct ListInterestCategoriesRequest {
    inner: Collection,
}

impl ListInterestCategoriesRequest {
    /// Only categories of this display type (`checkboxes`, `dropdown`,
    /// `radio`, `hidden`).
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.inner.query.set("type", kind.into());
        self
    }

    collection_methods!(InterestCategory);
}

/// One category's interests; made by [`InterestCategoriesHandler::interests`].
#[derive(Debug, Clone)]
pub struct InterestsHandler {
    client: Client,
    list: ListId,
    category: InterestCategoryId,
}

impl InterestsHandler {
    /// `GET …/interest-categories/{interest_category_id}/interests`.
    pub fn list(&self) -> ListInterestsRequest {
        ListInterestsRequest {
            inner: self.client.collection(
                &[
                    "lists",
                    self.list.as_str(),
                    "interest-categories",
                    self.category.as_str(),
                    "interests",
                ],
                "interests",
            ),
        }
    }

    /// `GET …/interest-categories/{interest_category_id}/interests/{interest_id}`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown interest,
    /// category or audience; otherwise the API and transport errors of
    /// [`Error`](crate::Error).
    pub async fn get(&self, id: &InterestId) -> Result<Interest> {
        self.client
            .get(
                &[
                    "lists",
                    self.list.as_str(),
                    "interest-categories",
                    self.category.as_str(),
                    "interests",
                    id.as_str(),
                ],
                &Query::new(),
            )
            .await
    }
}

/// `GET …/interest-categories/{interest_category_id}/interests`; made by
/// [`InterestsHandler::list`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct ListInterestsRequest {
    inner: Collection,
}

impl ListInterestsRequest {
    collection_methods!(Interest);
}
