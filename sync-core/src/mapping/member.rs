//! QAD customer → Mailchimp audience member.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::CustomerMapping;
use super::email::check_email;
use super::fields::SourceFields;
use super::Issue;

/// The status a member gets when the address is new to the audience. Existing members keep
/// theirs: the connector never changes a member's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StatusIfNew {
    /// Subscribed at once (the customer gave consent in QAD).
    #[default]
    Subscribed,
    /// Sent a double opt-in confirmation.
    Pending,
    /// Receives transactional mail only.
    Transactional,
}

impl StatusIfNew {
    /// The client's status value.
    #[must_use]
    pub fn to_client(self) -> mailchimp_client::MemberStatus {
        match self {
            Self::Subscribed => mailchimp_client::MemberStatus::Subscribed,
            Self::Pending => mailchimp_client::MemberStatus::Pending,
            Self::Transactional => mailchimp_client::MemberStatus::Transactional,
        }
    }
}

/// The member body sent for one customer: what is hashed, recorded and replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// The trimmed address (case kept; the subscriber hash lowercases it).
    pub email_address: String,
    /// The status if the address is new to the audience.
    pub status_if_new: StatusIfNew,
    /// Merge fields by tag; text values or an address object.
    pub merge_fields: BTreeMap<String, Value>,
}

impl MemberRecord {
    /// The normalized address: the member's key in the state store.
    #[must_use]
    pub fn key(&self) -> String {
        crate::normalize_email(&self.email_address)
    }
}

/// A customer mapped to a member: the body and, hashed separately (they are written through
/// another endpoint), its tags.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedMember {
    /// The member body.
    pub record: MemberRecord,
    /// The tags the member should carry.
    pub tags: BTreeSet<String>,
}

/// Maps a customer's fields to a member.
///
/// # Errors
///
/// [`Issue::Rejected`] when the email is missing or malformed.
pub fn map_member(fields: &SourceFields, mapping: &CustomerMapping) -> Result<MappedMember, Issue> {
    let raw = fields.text(&mapping.email_field).unwrap_or_default();
    let email_address = check_email(&raw).map_err(Issue::Rejected)?;
    let merge_fields = mapping
        .merge_fields
        .iter()
        .filter_map(|(tag, rule)| rule.apply(fields).map(|v| (tag.clone(), v)))
        .collect();
    let tags = mapping
        .tags
        .iter()
        .filter_map(|rule| rule.apply(fields))
        .collect();
    Ok(MappedMember {
        record: MemberRecord {
            email_address,
            status_if_new: mapping.status_if_new,
            merge_fields,
        },
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{MergeRule, TagRule};
    use serde_json::json;

    #[test]
    fn merge_fields_tags_and_partial_addresses() {
        let mut mapping = CustomerMapping {
            tags: vec![
                TagRule::new("customerTypeCode", "type:"),
                TagRule::new("currencyCode", ""),
            ],
            ..CustomerMapping::default()
        };
        mapping
            .merge_fields
            .insert("REGION".into(), MergeRule::Field("customShort1".into()));
        let f = SourceFields::of(&json!({
            "EMail": "ann@northwind-mfg.com", "addressName": "Ann", "customerTypeCode": "RETAIL",
            "currencyCode": "EUR", "customShort1": "North", "street1": "1 Main St", "city": "Oslo"
        }));
        let m = map_member(&f, &mapping).unwrap();
        assert_eq!(m.record.merge_fields["FNAME"], "Ann");
        assert!(
            !m.record.merge_fields.contains_key("LNAME"),
            "no last word, no LNAME"
        );
        assert!(
            !m.record.merge_fields.contains_key("ADDRESS"),
            "no zip: address left out"
        );
        assert_eq!(m.record.merge_fields["REGION"], "North");
        assert_eq!(m.tags.iter().collect::<Vec<_>>(), ["EUR", "type:RETAIL"]);
        assert_eq!(m.record.key(), "ann@northwind-mfg.com");
    }

    #[test]
    fn an_address_is_sent_only_when_complete_and_its_absence_keeps_the_member() {
        let mapping = CustomerMapping::default();
        let full = json!({
            "EMail": "ann@northwind-mfg.com", "addressName": "Ann Lee", "street1": "1 Main St",
            "city": "Springfield", "stateCode": "IL", "zipCode": "62701"
        });
        let m = map_member(&SourceFields::of(&full), &mapping).unwrap();
        assert_eq!(m.record.merge_fields["ADDRESS"]["state"], "IL");
        assert_eq!(
            m.record.merge_fields["ADDRESS"]["country"], "",
            "country optional"
        );
        for missing in ["street1", "city", "stateCode", "zipCode"] {
            let mut partial = full.clone();
            partial[missing] = json!(" ");
            let m = map_member(&SourceFields::of(&partial), &mapping).unwrap();
            assert!(
                !m.record.merge_fields.contains_key("ADDRESS"),
                "without {missing}"
            );
            assert_eq!(m.record.merge_fields["FNAME"], "Ann", "the rest is sent");
        }
    }

    #[test]
    fn equal_records_hash_equal_and_a_change_changes_the_hash() {
        let mapping = CustomerMapping::default();
        let a =
            SourceFields::of(&json!({"EMail": "a@northwind-mfg.com", "addressName": "Ann Lee"}));
        let b =
            SourceFields::of(&json!({"addressName": "Ann Lee", "EMail": " a@northwind-mfg.com"}));
        let c =
            SourceFields::of(&json!({"EMail": "a@northwind-mfg.com", "addressName": "Ann Leigh"}));
        let hash = |f| crate::hash::content_hash(&map_member(f, &mapping).unwrap().record).unwrap();
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(hash(&a), hash(&c));
    }
}
