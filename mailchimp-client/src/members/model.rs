//! The member resource as Mailchimp returns it.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use crate::ids::{ListId, SubscriberHash};
use crate::members::MemberStatus;

/// A list member (`List_Members` in the spec).
///
/// Every field is optional on the wire (a `fields` selection can drop any
/// of them), so absent values decode as empty or `None`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Member {
    /// The subscriber hash (MD5 of the lowercased email).
    pub id: Option<SubscriberHash>,
    /// The contact id (a newer, account-wide id).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub contact_id: String,
    /// The email address.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub email_address: String,
    /// An id for the address across lists.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub unique_email_id: String,
    /// `html` or `text`.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub email_type: String,
    /// The subscription status.
    pub status: Option<MemberStatus>,
    /// Merge-field values by tag (`FNAME`, `ADDRESS`, …); values are strings,
    /// numbers or, for addresses, objects.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub merge_fields: BTreeMap<String, serde_json::Value>,
    /// Interest (group) membership by interest id.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub interests: BTreeMap<String, bool>,
    /// Open and click rates.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub stats: MemberStats,
    /// The IP address the member signed up from.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub ip_signup: String,
    /// When the member signed up.
    #[serde(deserialize_with = "crate::serde_util::opt_datetime")]
    pub timestamp_signup: Option<DateTime<FixedOffset>>,
    /// The IP address the member confirmed opt-in from.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub ip_opt: String,
    /// When the member confirmed opt-in.
    #[serde(deserialize_with = "crate::serde_util::opt_datetime")]
    pub timestamp_opt: Option<DateTime<FixedOffset>>,
    /// Mailchimp's 1–5 star engagement rating.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub member_rating: u8,
    /// When the member's information last changed.
    #[serde(deserialize_with = "crate::serde_util::opt_datetime")]
    pub last_changed: Option<DateTime<FixedOffset>>,
    /// The member's language code, if known.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub language: String,
    /// Whether the member is a VIP.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub vip: bool,
    /// The email client Mailchimp last saw.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub email_client: String,
    /// Where the member is, as far as Mailchimp knows.
    pub location: Option<MemberLocation>,
    /// How many tags the member has.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub tags_count: u64,
    /// The member's tags (see [`MemberTagsRequest`](crate::MemberTagsRequest)
    /// to change them).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub tags: Vec<Tag>,
    /// The list the member belongs to.
    pub list_id: Option<ListId>,
}

/// A member's engagement rates.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MemberStats {
    /// Average open rate, 0–1.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub avg_open_rate: f64,
    /// Average click rate, 0–1.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub avg_click_rate: f64,
}

/// A member's approximate location.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MemberLocation {
    /// Latitude.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub latitude: f64,
    /// Longitude.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub longitude: f64,
    /// Offset from GMT, in hours (fractional for zones such as UTC+5:30).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub gmtoff: f64,
    /// Daylight-saving offset, in hours.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub dstoff: f64,
    /// ISO 3166 country code.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub country_code: String,
    /// Time-zone name.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub timezone: String,
}

/// A tag on a member.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Tag {
    /// The tag id.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub id: u64,
    /// The tag name.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_realistic_member_and_tolerates_gaps() {
        let body = r#"{
            "id": "62eeb292278cc15f5817cb78f7790b08", "email_address": "urist.mcvankab@freddiesjokes.com",
            "unique_email_id": "882e9bec19", "contact_id": null, "email_type": "html", "status": "archived",
            "merge_fields": {"FNAME": "Urist", "ADDRESS": {"addr1": "1 Main St", "city": "Atlanta"}, "AGE": 42},
            "interests": {"9143cf3bd1": true}, "stats": {"avg_open_rate": 0.5, "avg_click_rate": 0.25},
            "ip_signup": "", "timestamp_signup": "", "ip_opt": "198.2.191.34",
            "timestamp_opt": "2015-09-16T19:24:29+00:00", "member_rating": 2,
            "last_changed": "2015-09-16T19:24:29+00:00", "language": "", "vip": false, "email_client": "",
            "location": {"latitude": 0, "longitude": 0, "gmtoff": 5.5, "dstoff": 0, "country_code": "IN", "timezone": "Asia/Kolkata"},
            "tags_count": 1, "tags": [{"id": 7, "name": "vip"}], "list_id": "57afe96172",
            "brand_new_field": {"x": 1}, "_links": []
        }"#;
        let m: Member = serde_json::from_str(body).unwrap();
        assert_eq!(m.status, Some(MemberStatus::Archived));
        assert_eq!(m.merge_fields["FNAME"], "Urist");
        assert_eq!(m.merge_fields["ADDRESS"]["city"], "Atlanta");
        assert!(m.timestamp_signup.is_none());
        assert_eq!(m.tags[0].name, "vip");
        assert_eq!(m.contact_id, "");
        assert_eq!(m.location.unwrap().gmtoff, 5.5);
        let partial: Member = serde_json::from_str(r#"{"email_address":"a@b.c"}"#).unwrap();
        assert_eq!(partial.status, None);
        let nulls = r#"{"id": null, "email_address": "a@b.c", "status": null, "merge_fields": null, "interests": null,
            "stats": null, "member_rating": null, "vip": null, "location": null, "tags_count": null, "tags": null,
            "list_id": null, "language": null, "last_changed": null}"#;
        let m: Member = serde_json::from_str(nulls).unwrap();
        assert!(m.merge_fields.is_empty() && m.tags.is_empty() && !m.vip && m.id.is_none());
    }
}
