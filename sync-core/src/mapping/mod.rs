//! Mapping QAD records to Mailchimp records, driven by [`MappingConfig`].
//!
//! Each mapped record is this crate's own serializable struct ([`MemberRecord`],
//! [`EcomCustomerRecord`], [`ProductRecord`]): it is what the content hash covers, what the audit
//! trail records and what a replay sends again. It becomes the client's request type only when
//! executed. A record that cannot be mapped yields an [`Issue`] for that record alone.
//!
//! ```
//! use sync_core::mapping::{map_member, MappingConfig, SourceFields, Issue};
//!
//! let config = MappingConfig::default();
//! let row = serde_json::json!({
//!     "customerCode": "C1", "addressName": "Zoë Dvořák", "EMail": " Zoe@Northwind-mfg.com ",
//!     "telephone": "+33 1 23", "street1": "1 rue X", "city": "Lyon", "stateCode": "ARA",
//!     "zipCode": "69001",
//! });
//! let customer: qad_client::Customer = serde_json::from_value(row).unwrap();
//! let member = map_member(&SourceFields::of(&customer), &config.customer).unwrap();
//! assert_eq!(member.record.email_address, "Zoe@Northwind-mfg.com");
//! assert_eq!(member.record.merge_fields["FNAME"], "Zoë");
//! assert_eq!(member.record.merge_fields["LNAME"], "Dvořák");
//! assert_eq!(member.record.merge_fields["ADDRESS"]["zip"], "69001");
//!
//! let bad: qad_client::Customer =
//!     serde_json::from_value(serde_json::json!({"customerCode": "C2", "EMail": "nobody"})).unwrap();
//! assert!(matches!(map_member(&SourceFields::of(&bad), &config.customer), Err(Issue::Rejected(_))));
//! ```

mod config;
mod customer;
mod email;
mod fields;
mod member;
mod merge_check;
mod product;

pub use config::{CustomerMapping, InactiveItems, ItemMapping, MappingConfig};
pub(crate) use customer::current_customer_id;
pub use customer::{
    customer_id_for_address, customer_id_stem, ecommerce_customer_id, map_ecommerce_customer,
    EcomCustomerRecord, MAX_CUSTOMER_ID_CHARS,
};
pub use email::check_email;
pub use fields::{AddressFields, AddressParts, MergeRule, SourceFields, TagRule, TextRule};
pub use member::{map_member, MappedMember, MemberRecord, StatusIfNew};
pub use merge_check::{
    check_member_merge_fields, missing_merge_tags, MergeFieldIssue, MAX_MERGE_TEXT_CHARS,
};
pub use product::{fill_template, is_inactive_item, map_product, ProductRecord, VariantRecord};

/// Why one source record yields no target record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// The record is invalid (for example a malformed email): recorded as rejected.
    Rejected(String),
    /// The record is deliberately not sent (for example an inactive item): recorded as skipped.
    Skipped(String),
}
