//! The optional member fields every member write sends: the upsert and
//! update of one member, and each member of a batch subscribe.

use std::collections::BTreeMap;

use serde::Serialize;

use super::status::MemberStatus;
use super::write::MarketingPermission;

/// Optional member fields; unset ones are left out of the body, so
/// Mailchimp keeps their current values.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct MemberFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) email_type: Option<String>,
    /// Left unset by a batch member, which carries a required status of
    /// its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<MemberStatus>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) merge_fields: BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) interests: BTreeMap<String, bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vip: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) marketing_permissions: Vec<MarketingPermission>,
}

/// Setters for the profile fields every member write takes (email type,
/// merge fields, interests, language, VIP). The type must have a field
/// `fields: MemberFields`.
macro_rules! member_profile_setters {
    () => {
        /// `html` or `text`.
        pub fn email_type(mut self, email_type: impl Into<String>) -> Self {
            self.fields.email_type = Some(email_type.into());
            self
        }

        /// Sets one merge field, by tag (`FNAME`, `PHONE`, …). Values are
        /// strings or numbers; an address is an object
        /// (`serde_json::json!({"addr1": …, "city": …})`).
        pub fn merge_field(
            mut self,
            tag: impl Into<String>,
            value: impl Into<serde_json::Value>,
        ) -> Self {
            self.fields.merge_fields.insert(tag.into(), value.into());
            self
        }

        /// Puts the member in (`true`) or takes them out of an interest group.
        pub fn interest(mut self, interest_id: impl Into<String>, member: bool) -> Self {
            self.fields.interests.insert(interest_id.into(), member);
            self
        }

        /// The member's language code, e.g. `fr`.
        pub fn language(mut self, language: impl Into<String>) -> Self {
            self.fields.language = Some(language.into());
            self
        }

        /// Marks the member VIP or not.
        pub fn vip(mut self, vip: bool) -> Self {
            self.fields.vip = Some(vip);
            self
        }
    };
}
pub(crate) use member_profile_setters;
