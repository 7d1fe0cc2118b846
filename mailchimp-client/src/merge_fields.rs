//! Merge fields: `GET` and `POST /lists/{list_id}/merge-fields`, and `GET`,
//! `PATCH` and `DELETE` of one field at `…/merge-fields/{merge_id}`.

use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ids::ListId;
use crate::lists::ListHandler;
use crate::page::{collection_methods, Collection};
use crate::query::Query;

/// A merge field's type. Open: unknown types decode as
/// [`MergeFieldType::Other`].
///
/// ```
/// use mailchimp_client::MergeFieldType;
/// assert_eq!(MergeFieldType::ImageUrl.as_str(), "imageurl");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // the names are the types
pub enum MergeFieldType {
    Text,
    Number,
    Address,
    Phone,
    Date,
    Url,
    ImageUrl,
    Radio,
    Dropdown,
    Birthday,
    Zip,
    /// A type this crate does not know, kept verbatim (cannot be created).
    Other(String),
}

const MERGE_FIELD_TYPES: [(MergeFieldType, &str); 11] = [
    (MergeFieldType::Text, "text"),
    (MergeFieldType::Number, "number"),
    (MergeFieldType::Address, "address"),
    (MergeFieldType::Phone, "phone"),
    (MergeFieldType::Date, "date"),
    (MergeFieldType::Url, "url"),
    (MergeFieldType::ImageUrl, "imageurl"),
    (MergeFieldType::Radio, "radio"),
    (MergeFieldType::Dropdown, "dropdown"),
    (MergeFieldType::Birthday, "birthday"),
    (MergeFieldType::Zip, "zip"),
];

impl MergeFieldType {
    /// The wire value, e.g. `text`.
    pub fn as_str(&self) -> &str {
        match self {
            MergeFieldType::Other(s) => s,
            known => MERGE_FIELD_TYPES
                .iter()
                .find(|(t, _)| t == known)
                .map_or("", |(_, s)| s),
        }
    }

    fn from_wire(s: &str) -> Self {
        MERGE_FIELD_TYPES
            .iter()
            .find(|(_, w)| *w == s)
            .map_or_else(|| MergeFieldType::Other(s.to_owned()), |(t, _)| t.clone())
    }
}

impl fmt::Display for MergeFieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MergeFieldType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MergeFieldType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Ok(MergeFieldType::from_wire(&String::deserialize(
            deserializer,
        )?))
    }
}

/// A merge field of an audience.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MergeField {
    /// The numeric id.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub merge_id: u64,
    /// The tag used in merge fields and campaigns, e.g. `FNAME`.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub tag: String,
    /// The label.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub name: String,
    /// The type.
    #[serde(rename = "type")]
    pub kind: Option<MergeFieldType>,
    /// Whether a value is required.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub required: bool,
    /// The default value.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub default_value: String,
    /// Whether the field shows on the signup form.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub public: bool,
    /// Position on the signup form.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub display_order: u32,
    /// Type-specific options.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub options: MergeFieldOptions,
    /// Help text on the signup form.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub help_text: String,
    /// The audience.
    pub list_id: Option<ListId>,
}

/// Type-specific merge field options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MergeFieldOptions {
    /// Address fields: the default country code (numeric).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_country: Option<u32>,
    /// Phone fields: `US` or `International`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_format: Option<String>,
    /// Date and birthday fields, e.g. `MM/DD/YYYY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    /// Radio and dropdown fields: the choices.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// Text fields: the input size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

impl MergeFieldOptions {
    /// Options with only these radio/dropdown choices.
    pub fn with_choices<I, S>(choices: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        MergeFieldOptions {
            choices: choices.into_iter().map(Into::into).collect(),
            ..MergeFieldOptions::default()
        }
    }
}

impl ListHandler {
    /// The audience's merge fields.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::{ListId, MergeFieldType};
    ///
    /// let fields = client.list(&ListId::from("a1b2c3")).merge_fields();
    /// let existing = fields.list().count(100).send().await?;
    /// if !existing.items.iter().any(|f| f.tag == "QADCODE") {
    ///     fields.create("QAD customer", MergeFieldType::Text).tag("QADCODE").send().await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn merge_fields(&self) -> MergeFieldsHandler {
        MergeFieldsHandler {
            client: self.client().clone(),
            list: self.id().clone(),
        }
    }
}

/// One audience's merge fields; made by [`ListHandler::merge_fields`].
#[derive(Debug, Clone)]
pub struct MergeFieldsHandler {
    client: Client,
    list: ListId,
}

impl MergeFieldsHandler {
    /// `GET /lists/{list_id}/merge-fields`.
    pub fn list(&self) -> ListMergeFieldsRequest {
        ListMergeFieldsRequest {
            inner: self.client.collection(
                &["lists", self.list.as_str(), "merge-fields"],
                "merge_fields",
            ),
        }
    }

    /// `GET /lists/{list_id}/merge-fields/{merge_id}`: one field.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ListId;
    ///
    /// let field = client.list(&ListId::from("a1b2c3")).merge_fields().get(3).await?;
    /// println!("{} is {:?}", field.tag, field.kind);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown field or audience; otherwise the
    /// API and transport errors of [`Error`].
    pub async fn get(&self, merge_id: u64) -> Result<MergeField> {
        let id = merge_id.to_string();
        self.client.get(&self.field_path(&id), &Query::new()).await
    }

    /// `PATCH /lists/{list_id}/merge-fields/{merge_id}`: changes the field.
    /// The spec requires `name` in every update; the tag and type cannot
    /// change here.
    pub fn update(&self, merge_id: u64, name: impl Into<String>) -> UpdateMergeFieldRequest {
        UpdateMergeFieldRequest {
            client: self.client.clone(),
            list: self.list.clone(),
            merge_id,
            body: UpdateBody {
                name: name.into(),
                required: None,
                default_value: None,
                public: None,
                display_order: None,
                options: None,
                help_text: None,
            },
        }
    }

    /// `DELETE /lists/{list_id}/merge-fields/{merge_id}`: removes the field
    /// and its values on every member (answered by `204`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown field or audience; otherwise the
    /// API and transport errors of [`Error`].
    pub async fn delete(&self, merge_id: u64) -> Result<()> {
        let id = merge_id.to_string();
        self.client
            .delete(&self.field_path(&id), &Query::new())
            .await
    }

    fn field_path<'a>(&'a self, id: &'a str) -> [&'a str; 4] {
        ["lists", self.list.as_str(), "merge-fields", id]
    }

    /// `POST /lists/{list_id}/merge-fields`: a new field labelled `name`.
    pub fn create(&self, name: impl Into<String>, kind: MergeFieldType) -> CreateMergeFieldRequest {
        CreateMergeFieldRequest {
            client: self.client.clone(),
            list: self.list.clone(),
            body: CreateBody {
                name: name.into(),
                kind,
                tag: None,
                required: None,
                default_value: None,
                public: None,
                display_order: None,
                options: None,
                help_text: None,
            },
        }
    }
}

/// `GET /lists/{list_id}/merge-fields`; made by [`MergeFieldsHandler::list`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct ListMergeFieldsRequest {
    inner: Collection,
}

impl ListMergeFieldsRequest {
    /// Only fields of this type.
    pub fn kind(mut self, kind: MergeFieldType) -> Self {
        self.inner.query.set("type", kind);
        self
    }

    /// Only required (`true`) or optional fields.
    pub fn required(mut self, required: bool) -> Self {
        self.inner.query.set("required", required);
        self
    }

    collection_methods!(MergeField);
}

/// `POST /lists/{list_id}/merge-fields`; made by [`MergeFieldsHandler::create`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()`"]
pub struct CreateMergeFieldRequest {
    client: Client,
    list: ListId,
    body: CreateBody,
}

#[derive(Debug, Clone, Serialize)]
struct CreateBody {
    name: String,
    #[serde(rename = "type")]
    kind: MergeFieldType,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_order: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<MergeFieldOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_text: Option<String>,
}

impl CreateMergeFieldRequest {
    /// The tag (e.g. `QADCODE`); Mailchimp picks one when unset.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.body.tag = Some(tag.into());
        self
    }

    /// Whether a value is required.
    pub fn required(mut self, required: bool) -> Self {
        self.body.required = Some(required);
        self
    }

    /// The default value.
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.body.default_value = Some(value.into());
        self
    }

    /// Whether the field shows on the signup form.
    pub fn public(mut self, public: bool) -> Self {
        self.body.public = Some(public);
        self
    }

    /// Position on the signup form.
    pub fn display_order(mut self, order: u32) -> Self {
        self.body.display_order = Some(order);
        self
    }

    /// Type-specific options (choices, formats, size).
    pub fn options(mut self, options: MergeFieldOptions) -> Self {
        self.body.options = Some(options);
        self
    }

    /// Help text on the signup form.
    pub fn help_text(mut self, text: impl Into<String>) -> Self {
        self.body.help_text = Some(text.into());
        self
    }

    /// Creates the field. Not retried: repeating a `POST` could create the
    /// field twice.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] before any request when the name is blank or
    /// the type is [`MergeFieldType::Other`]; [`Error::InvalidResource`]
    /// when Mailchimp rejects it (e.g. a duplicate tag); otherwise the API
    /// and transport errors of [`Error`].
    pub async fn send(self) -> Result<MergeField> {
        if self.body.name.trim().is_empty() {
            return Err(Error::invalid_input("name", "is empty"));
        }
        if let MergeFieldType::Other(kind) = &self.body.kind {
            return Err(Error::invalid_input(
                "type",
                format!("`{kind}` is not a type Mailchimp accepts"),
            ));
        }
        self.client
            .send_json(
                Method::POST,
                &["lists", self.list.as_str(), "merge-fields"],
                &Query::new(),
                &self.body,
            )
            .await
    }
}

/// `PATCH /lists/{list_id}/merge-fields/{merge_id}`; made by
/// [`MergeFieldsHandler::update`].
///
/// ```no_run
/// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
/// use mailchimp_client::ListId;
///
/// let field = client
///     .list(&ListId::from("a1b2c3"))
///     .merge_fields()
///     .update(5, "QAD customer code")
///     .required(false)
///     .help_text("Set by the ERP sync")
///     .send()
///     .await?;
/// assert_eq!(field.name, "QAD customer code");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "call `.send()`"]
pub struct UpdateMergeFieldRequest {
    client: Client,
    list: ListId,
    merge_id: u64,
    body: UpdateBody,
}

#[derive(Debug, Clone, Serialize)]
struct UpdateBody {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_order: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<MergeFieldOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_text: Option<String>,
}

impl UpdateMergeFieldRequest {
    /// Whether a value is required.
    pub fn required(mut self, required: bool) -> Self {
        self.body.required = Some(required);
        self
    }

    /// The default value.
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.body.default_value = Some(value.into());
        self
    }

    /// Whether the field shows on the signup form.
    pub fn public(mut self, public: bool) -> Self {
        self.body.public = Some(public);
        self
    }

    /// Position on the signup form.
    pub fn display_order(mut self, order: u32) -> Self {
        self.body.display_order = Some(order);
        self
    }

    /// Type-specific options (choices, formats, size).
    pub fn options(mut self, options: MergeFieldOptions) -> Self {
        self.body.options = Some(options);
        self
    }

    /// Help text on the signup form.
    pub fn help_text(mut self, text: impl Into<String>) -> Self {
        self.body.help_text = Some(text.into());
        self
    }

    /// Sends the update; retried (a `PATCH` of the same fields is
    /// idempotent).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] before any request when the name is blank;
    /// [`Error::NotFound`] for an unknown field or audience;
    /// [`Error::InvalidResource`] when Mailchimp rejects a value; otherwise
    /// the API and transport errors of [`Error`].
    pub async fn send(self) -> Result<MergeField> {
        if self.body.name.trim().is_empty() {
            return Err(Error::invalid_input("name", "is empty"));
        }
        let id = self.merge_id.to_string();
        self.client
            .send_json(
                Method::PATCH,
                &["lists", self.list.as_str(), "merge-fields", &id],
                &Query::new(),
                &self.body,
            )
            .await
    }
}
