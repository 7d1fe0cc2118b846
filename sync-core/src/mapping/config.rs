//! The mapping configuration: which QAD fields feed which Mailchimp fields.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::fields::{AddressFields, MergeRule, TagRule, TextRule};
use super::member::StatusIfNew;

/// How QAD records map to Mailchimp records. Every part has a default; a TOML file overrides
/// only what it names (unknown keys are errors), and a table it names (`merge_fields`) replaces
/// the default table whole.
///
/// A field is named as QAD names it, with or without its table: browse rows carry custom fields
/// as `customer.customShort1`, entity rows as `customShort1`, and either name finds either
/// ([`SourceFields::get`](super::SourceFields::get)). A run warns (`RunReport::warnings`) of a
/// field the configuration adds that no record of a page has, naming the fields that exist.
///
/// ```
/// use sync_core::mapping::{MappingConfig, MergeRule, StatusIfNew};
///
/// let config: MappingConfig = toml::from_str(r#"
///     [customer]
///     status_if_new = "pending"
///     tags = [{ field = "customerTypeCode", prefix = "type:" }]
///     [customer.merge_fields]
///     FNAME = { first_word = "addressName" }
///     REGION = { field = "customShort1" }
///     [item]
///     url_template = "https://shop.example/p/{item_code}"
/// "#).unwrap();
/// assert_eq!(config.customer.status_if_new, StatusIfNew::Pending);
/// assert_eq!(config.customer.merge_fields["REGION"], MergeRule::Field("customShort1".into()));
/// assert_eq!(config.customer.email_field, "EMail"); // default kept
/// assert!(toml::from_str::<MappingConfig>("[customer]\nemail = \"x\"").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MappingConfig {
    /// Customers → members and e-commerce customers.
    pub customer: CustomerMapping,
    /// Items → products.
    pub item: ItemMapping,
}

/// Customers → members and e-commerce customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerMapping {
    /// The field holding the email (default `EMail`).
    pub email_field: String,
    /// The status of members new to the audience (default `subscribed`).
    pub status_if_new: StatusIfNew,
    /// Merge fields by tag. Default: `FNAME` and `LNAME` split from `addressName`, `ADDRESS` from
    /// the street, city, state, zip and country fields, `PHONE` from `telephone`: the fields
    /// Mailchimp creates with every audience (the company goes to the e-commerce customer; an
    /// audience with a `COMPANY` field can map it with `COMPANY = { field = "addressName" }`).
    /// Every tag must exist in the audience. Replacing the table replaces all of them.
    pub merge_fields: BTreeMap<String, MergeRule>,
    /// Tags put on the member (default none: each tagged member costs one call when its tags
    /// change, since Mailchimp takes tags on no bulk endpoint).
    pub tags: Vec<TagRule>,
    /// E-commerce customer first name (default: first word of `addressName`).
    pub first_name: Option<TextRule>,
    /// E-commerce customer last name (default: the rest of `addressName`).
    pub last_name: Option<TextRule>,
    /// E-commerce customer company (default `addressName`).
    pub company: Option<TextRule>,
    /// E-commerce customer address fields.
    pub address: AddressFields,
    /// The e-commerce customers' `opt_in_status` (default `false`: it never downgrades an
    /// existing member, and a new member without consent becomes transactional). When `true`,
    /// the forward sync still sends `false` for a customer whose member is transactional,
    /// pending, unsubscribed or of unknown status, since Mailchimp would subscribe it.
    pub ecommerce_opt_in: bool,
}

impl CustomerMapping {
    /// Every QAD field the mapping reads, so a run can say which of them a source lacks.
    #[must_use]
    pub fn source_fields(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = BTreeSet::from([self.email_field.clone()]);
        names.extend(
            self.merge_fields
                .values()
                .flat_map(|r| r.fields())
                .map(str::to_owned),
        );
        names.extend(self.tags.iter().map(|t| t.field.clone()));
        let texts = [&self.first_name, &self.last_name, &self.company];
        names.extend(texts.into_iter().flatten().map(|r| r.field().to_owned()));
        names.extend(self.address.names().into_iter().map(str::to_owned));
        names
    }
}

impl Default for CustomerMapping {
    fn default() -> Self {
        let name = || "addressName".to_owned();
        let merge_fields = BTreeMap::from([
            ("FNAME".to_owned(), MergeRule::FirstWord(name())),
            ("LNAME".to_owned(), MergeRule::AfterFirstWord(name())),
            (
                "ADDRESS".to_owned(),
                MergeRule::Address(AddressFields::default()),
            ),
            ("PHONE".to_owned(), MergeRule::Field("telephone".into())),
        ]);
        Self {
            email_field: "EMail".into(),
            status_if_new: StatusIfNew::default(),
            merge_fields,
            tags: Vec::new(),
            first_name: Some(TextRule::FirstWord(name())),
            last_name: Some(TextRule::AfterFirstWord(name())),
            company: Some(TextRule::Field(name())),
            address: AddressFields::default(),
            ecommerce_opt_in: false,
        }
    }
}

/// What happens to items whose status is inactive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InactiveItems {
    /// Not sent; recorded as skipped.
    #[default]
    Skip,
    /// Sent with the variant `visibility: hidden` and inventory 0.
    Hide,
}

/// Items → products with one default variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ItemMapping {
    /// Title (default `description`; the item code when blank).
    pub title: TextRule,
    /// Description (default `description2`).
    pub description: Option<TextRule>,
    /// Product type (default `productLine`).
    pub product_type: Option<TextRule>,
    /// Vendor (default none).
    pub vendor: Option<TextRule>,
    /// SKU (default none: the item code).
    pub sku: Option<TextRule>,
    /// The price field (default `price`).
    pub price_field: Option<String>,
    /// A stock field, when the item browse has one (default none).
    pub inventory_field: Option<String>,
    /// Product URL, `{item_code}` replaced by the percent-encoded code (default none).
    pub url_template: Option<String>,
    /// Image URL template, like `url_template` (default none).
    pub image_url_template: Option<String>,
    /// The status field (default `itemStatus`).
    pub status_field: String,
    /// Status values meaning inactive, compared without case (default `INACTIVE`).
    pub inactive_statuses: Vec<String>,
    /// What to do with inactive items (default skip).
    pub inactive: InactiveItems,
}

impl ItemMapping {
    /// Every QAD field the mapping reads, so a run can say which of them a source lacks.
    #[must_use]
    pub fn source_fields(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = BTreeSet::from([self.title.field().to_owned()]);
        let texts = [
            &self.description,
            &self.product_type,
            &self.vendor,
            &self.sku,
        ];
        names.extend(texts.into_iter().flatten().map(|r| r.field().to_owned()));
        names.extend(
            [&self.price_field, &self.inventory_field]
                .into_iter()
                .flatten()
                .cloned(),
        );
        names.insert(self.status_field.clone());
        names
    }
}

impl Default for ItemMapping {
    fn default() -> Self {
        Self {
            title: TextRule::Field("description".into()),
            description: Some(TextRule::Field("description2".into())),
            product_type: Some(TextRule::Field("productLine".into())),
            vendor: None,
            sku: None,
            price_field: Some("price".into()),
            inventory_field: None,
            url_template: None,
            image_url_template: None,
            status_field: "itemStatus".into(),
            inactive_statuses: vec!["INACTIVE".into()],
            inactive: InactiveItems::default(),
        }
    }
}
