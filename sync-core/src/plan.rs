//! The plan of a dry run: which target records a real run would create or update and, for
//! updates, which fields change (old → new), grouped by target record kind, and what a backfill
//! costs the Mailchimp account.
//!
//! **Where the old values come from.** Content hashes say *that* a record changed, not how. The
//! audit trail already keeps the body of every write a run made (its `payload`), so the old
//! values of an update are the body of the last successful write of the same source key and
//! target ([`TargetRecord`]): one audit read per planned update, nothing new stored. When that
//! row is gone (the audit retention pruned it, or the hash came from a reconcile rather than a
//! write) the update is listed without old values and says so
//! ([`PlannedWrite::previous_known`]). The old values are what the connector last *wrote*,
//! not what Mailchimp holds now: a change made in Mailchimp since then is not shown (reconcile
//! shows those). Reading every updated record from Mailchimp would cost one call per update
//! and needs a field-by-field mapping of each resource's response shape; the audit read costs
//! none.
//!
//! ```
//! use serde_json::json;
//! use sync_core::plan::{diff_fields, FieldChange};
//!
//! let old = json!({"merge_fields": {"FNAME": "Ada", "COMPANY": "Northwind"}});
//! let new = json!({"merge_fields": {"FNAME": "Ada", "COMPANY": "Northwind Mfg"}});
//! assert_eq!(
//!     diff_fields(Some(&old), &new),
//!     vec![FieldChange {
//!         field: "merge_fields.COMPANY".into(),
//!         old: Some(json!("Northwind")),
//!         new: Some(json!("Northwind Mfg")),
//!     }]
//! );
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::TargetRecord;
use crate::operation::Operation;

/// What a dry run would write, by target record kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The planned writes of each target record kind (`member`, `member_tags`,
    /// `ecommerce_customer`, `product`).
    pub targets: BTreeMap<TargetRecord, PlanGroup>,
    /// Whether the run would be a backfill: the object has no completed run, so every record
    /// is read and written.
    pub backfill: bool,
    /// Whether the e-commerce store would be marked `is_syncing: true` for the run (a backfill
    /// with a store): Mailchimp then fires no automation (abandoned cart, first purchase) for
    /// what the run writes, and the run sets it back to false at its end.
    pub marks_store_syncing: bool,
    /// How many of the planned members' addresses are not in the audience yet: the contacts the
    /// run would add, which Mailchimp plans are priced and capped by. `None` when no member
    /// would be created.
    pub new_contacts: Option<u64>,
}

impl Plan {
    /// The group of `target`, created empty on first use.
    pub fn group(&mut self, target: TargetRecord) -> &mut PlanGroup {
        self.targets.entry(target).or_default()
    }

    /// Planned writes in all groups, listed or not.
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.targets
            .values()
            .map(|g| g.entries.len() as u64 + g.omitted)
            .sum()
    }
}

/// The planned writes of one target record kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanGroup {
    /// The writes listed, in the order the run met them.
    pub entries: Vec<PlannedWrite>,
    /// Further writes counted but not listed: the plan keeps at most
    /// [`RunOptions::plan_limit`](crate::forward::RunOptions::plan_limit) entries per kind.
    pub omitted: u64,
}

/// Whether a planned write creates or updates its target record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedAction {
    /// No hash is stored for the target: the connector never wrote it.
    Create,
    /// The target was written before and its content changed.
    Update,
}

/// One target record a real run would write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedWrite {
    /// The QAD record's key (customer code, item code).
    pub source_key: String,
    /// The target record's id (member address, store customer id, product id).
    pub target_id: String,
    /// Create or update.
    pub action: PlannedAction,
    /// For an update: whether the last written body was found in the audit trail (the old
    /// values below are then complete); always true for a create.
    pub previous_known: bool,
    /// The fields that would change: every field sent for a create, the changed ones (old →
    /// new) for an update whose previous body is known, every field sent (old unknown)
    /// otherwise.
    pub changes: Vec<FieldChange>,
}

/// One field of a planned write, by its dotted path in the body (`merge_fields.FNAME`,
/// `address.city`, `variant.price`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The dotted path.
    pub field: String,
    /// The value last written, `None` when there was none (or it is unknown).
    pub old: Option<Value>,
    /// The value to write, `None` when the field would be left out (cleared).
    pub new: Option<Value>,
}

/// The fields of `new` that differ from `old` (all of them when `old` is `None`), and the fields
/// `old` had that `new` no longer has, by dotted path in path order. Objects are compared field
/// by field; arrays and other values as a whole.
#[must_use]
pub fn diff_fields(old: Option<&Value>, new: &Value) -> Vec<FieldChange> {
    let mut old_leaves = BTreeMap::new();
    if let Some(old) = old {
        leaves("", old, &mut old_leaves);
    }
    let mut new_leaves = BTreeMap::new();
    leaves("", new, &mut new_leaves);
    let mut changes = Vec::new();
    for (field, value) in &new_leaves {
        let before = old_leaves.remove(field);
        if before != Some(*value) {
            changes.push(FieldChange {
                field: field.clone(),
                old: before.cloned(),
                new: Some((*value).clone()),
            });
        }
    }
    for (field, value) in old_leaves {
        changes.push(FieldChange {
            field,
            old: Some(value.clone()),
            new: None,
        });
    }
    changes.sort_by(|a, b| a.field.cmp(&b.field));
    changes
}

fn leaves<'a>(prefix: &str, value: &'a Value, out: &mut BTreeMap<String, &'a Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(&path, value, out);
            }
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_owned(), other);
        }
    }
}

/// The body of the record `op` writes, as compared between a planned write and the last one:
/// the member (without its list), the tag set, the store customer, the product.
#[must_use]
pub fn written_record(op: &Operation) -> Option<Value> {
    let value = match op {
        Operation::UpsertMember { member, .. }
        | Operation::SubscribeMember { member, .. }
        | Operation::ChangeMemberEmail { member, .. } => serde_json::to_value(member),
        Operation::SetMemberTags { active, .. } => {
            serde_json::to_value(serde_json::json!({ "tags": active }))
        }
        Operation::UpsertEcomCustomer { customer, .. } => serde_json::to_value(customer),
        Operation::UpsertProduct { product, .. } => serde_json::to_value(product),
        // A status restore and the lifecycle's removals send no record body to compare.
        Operation::RestoreMemberStatus { .. }
        | Operation::ArchiveMember { .. }
        | Operation::DeleteMemberPermanently { .. }
        | Operation::DeleteEcomCustomer { .. }
        | Operation::DeleteProduct { .. }
        | Operation::HideProduct { .. } => return None,
    };
    value.ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_create_lists_every_field_sent_and_an_update_only_what_changed() {
        let new = json!({"email_address": "a@b.io", "merge_fields": {"FNAME": "Ada", "ADDRESS": {"city": "Lyon"}}});
        let create = diff_fields(None, &new);
        let fields: Vec<&str> = create.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "email_address",
                "merge_fields.ADDRESS.city",
                "merge_fields.FNAME"
            ]
        );
        assert!(create.iter().all(|c| c.old.is_none()));

        let old = json!({"email_address": "a@b.io", "merge_fields": {"FNAME": "Ada", "LNAME": "King", "ADDRESS": {"city": "Paris"}}});
        let update = diff_fields(Some(&old), &new);
        assert_eq!(
            update,
            vec![
                FieldChange {
                    field: "merge_fields.ADDRESS.city".into(),
                    old: Some(json!("Paris")),
                    new: Some(json!("Lyon")),
                },
                FieldChange {
                    field: "merge_fields.LNAME".into(),
                    old: Some(json!("King")),
                    new: None,
                },
            ]
        );
        assert!(diff_fields(Some(&new), &new).is_empty());
    }

    #[test]
    fn a_tag_set_is_compared_as_a_whole() {
        let op = |tags: &[&str]| Operation::SetMemberTags {
            list_id: "l".into(),
            email_address: "a@b.io".into(),
            active: tags.iter().map(|t| (*t).to_owned()).collect(),
            inactive: Default::default(),
        };
        let old = written_record(&op(&["customer"]));
        let new = written_record(&op(&["customer", "vip"])).unwrap_or_default();
        let changes = diff_fields(old.as_ref(), &new);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].old, Some(json!(["customer"])));
        assert_eq!(changes[0].new, Some(json!(["customer", "vip"])));
    }
}
