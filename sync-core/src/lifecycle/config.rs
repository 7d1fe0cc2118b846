//! What the lifecycle does with records that leave QAD, and how QAD marks a customer that is no
//! longer active.

use serde::{Deserialize, Serialize};

use crate::mapping::SourceFields;

/// What happens to the member of a QAD customer that is gone, inactive, blocked or anonymised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRemoval {
    /// Nothing is sent; the member stays as it is, and the connector stops writing it.
    Leave,
    /// `DELETE /lists/{id}/members/{hash}`: archived, reversible (the default).
    #[default]
    Archive,
    /// `POST …/actions/delete-permanent`: GDPR erasure, **irreversible**. Mailchimp then refuses
    /// the address through the API for good ("Forgotten Email Not Subscribed").
    DeletePermanent,
}

/// What happens to the e-commerce customer of such a QAD customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EcomCustomerRemoval {
    /// Kept (the default): its orders and the id map entry that traces orders back stay.
    #[default]
    Keep,
    /// `DELETE …/customers/{id}`.
    Delete,
}

/// What happens to the product of an item that is gone from QAD (or inactive, with `Delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductRemoval {
    /// Hidden (the default): every variant `visibility: hidden`, no stock. Inactive items are
    /// left to the mapping's `item.inactive` setting.
    #[default]
    Hide,
    /// `DELETE …/products/{id}`, for items gone and items inactive alike (needs
    /// `item.inactive = "skip"`, so the forward sync does not write them back).
    Delete,
}

/// One way a QAD field marks a state: the field (as the mapping names fields) holds one of
/// `values`, compared trimmed and without case; `""` matches a blank or missing field.
///
/// ```
/// use sync_core::lifecycle::FieldRule;
/// use sync_core::mapping::SourceFields;
///
/// let rule = FieldRule::new("isActive", ["false", "no"]);
/// assert!(rule.matches(&SourceFields::of(&serde_json::json!({"isActive": false}))));
/// assert!(!rule.matches(&SourceFields::of(&serde_json::json!({"isActive": "yes"}))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// The QAD field.
    pub field: String,
    /// The values that mark the state.
    pub values: Vec<String>,
}

impl FieldRule {
    /// A rule matching `field` holding one of `values`.
    #[must_use]
    pub fn new<I, S>(field: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            field: field.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the record's field holds one of the rule's values.
    #[must_use]
    pub fn matches(&self, fields: &SourceFields) -> bool {
        let value = fields.text(&self.field).unwrap_or_default();
        self.values
            .iter()
            .any(|v| v.trim().eq_ignore_ascii_case(&value))
    }
}

/// Where a QAD record stands for the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Standing {
    /// Synced as usual.
    Active,
    /// Marked inactive.
    Inactive,
    /// Marked blocked.
    Blocked,
    /// Anonymised (GDPR erasure in QAD).
    Anonymised,
    /// No longer in the browse.
    Gone,
}

impl Standing {
    /// The name stored and reported.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Blocked => "blocked",
            Self::Anonymised => "anonymised",
            Self::Gone => "gone",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [
            Self::Active,
            Self::Inactive,
            Self::Blocked,
            Self::Anonymised,
            Self::Gone,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How QAD marks a customer that is inactive, blocked or anonymised. No public QAD document
/// settles it, so each is a list of [`FieldRule`]s (any one matching marks the state; an empty
/// list marks nothing). Default: inactive when `isActive` is false (a field of the
/// `customerV2s` entity); nothing marks blocked or anonymised until configured.
/// `docs/qad-api.md` lists the alternatives seen in tenants.
///
/// ```
/// use sync_core::lifecycle::{CustomerStates, FieldRule, Standing};
/// use sync_core::mapping::SourceFields;
///
/// let mut states = CustomerStates::default();
/// states.anonymised = vec![FieldRule::new("addressName", ["ANONYMISED"])];
/// let row = |v| SourceFields::of(&v);
/// assert_eq!(states.standing(&row(serde_json::json!({"isActive": true}))), Standing::Active);
/// assert_eq!(states.standing(&row(serde_json::json!({"isActive": false}))), Standing::Inactive);
/// let erased = serde_json::json!({"isActive": false, "addressName": "anonymised"});
/// assert_eq!(states.standing(&row(erased)), Standing::Anonymised);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerStates {
    /// Rules marking an inactive customer (default `isActive` = false / no).
    pub inactive: Vec<FieldRule>,
    /// Rules marking a blocked customer (default none).
    pub blocked: Vec<FieldRule>,
    /// Rules marking an anonymised customer (default none).
    pub anonymised: Vec<FieldRule>,
}

impl Default for CustomerStates {
    fn default() -> Self {
        Self {
            inactive: vec![FieldRule::new("isActive", ["false", "no"])],
            blocked: Vec::new(),
            anonymised: Vec::new(),
        }
    }
}

impl CustomerStates {
    /// The record's standing; when several states match, the strongest wins (anonymised, then
    /// blocked, then inactive).
    #[must_use]
    pub fn standing(&self, fields: &SourceFields) -> Standing {
        let any = |rules: &[FieldRule]| rules.iter().any(|r| r.matches(fields));
        if any(&self.anonymised) {
            Standing::Anonymised
        } else if any(&self.blocked) {
            Standing::Blocked
        } else if any(&self.inactive) {
            Standing::Inactive
        } else {
            Standing::Active
        }
    }

    fn rules(&self) -> impl Iterator<Item = &FieldRule> {
        self.inactive
            .iter()
            .chain(&self.blocked)
            .chain(&self.anonymised)
    }
}

/// Which of several QAD customers sharing one email owns the member (its fields are the ones
/// written; the others are secondary: skipped as duplicates, and heirs when the owner departs).
/// E-commerce customers stay one per QAD customer whatever the rule.
///
/// Ties (and customers the rule cannot rank: no flag, no date, a type not listed) go to the
/// lowest customer code. The forward sync applies the rule whenever it meets a second customer
/// for an owned address (reading the owner again from QAD when it is not on the page), and
/// each lifecycle scan moves any member no run met to the rule's owner.
///
/// ```
/// use sync_core::lifecycle::OwnerRule;
///
/// let rule: OwnerRule = toml::from_str(r#"
///     rule = "type_priority"
///     field = "customerTypeCode"
///     order = ["BILL-TO", "SHIP-TO"]
/// "#).unwrap();
/// let rank = |t: &str| rule.rank(&sync_core::mapping::SourceFields::of(
///     &serde_json::json!({"customerTypeCode": t})));
/// assert!(rank("BILL-TO") < rank("SHIP-TO"));
/// assert!(rank("SHIP-TO") < rank("CONTACT"));
/// assert_eq!(OwnerRule::default(), OwnerRule::LowestKey);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum OwnerRule {
    /// The lowest customer code (the default; the order QAD browses read in).
    #[default]
    LowestKey,
    /// The customer whose `field` holds one of `values` (a primary-contact flag).
    Flag {
        /// The flag field.
        field: String,
        /// The values meaning "primary", compared trimmed and without case.
        values: Vec<String>,
    },
    /// The customer with the earliest date in `field` (for example a creation date).
    Oldest {
        /// A date field (`YYYY-MM-DD…`).
        field: String,
    },
    /// The customer with the latest date in `field`.
    Newest {
        /// A date field (`YYYY-MM-DD…`).
        field: String,
    },
    /// The customer whose `field` comes first in `order` (for example bill-to before ship-to).
    TypePriority {
        /// The field holding the type (for example `customerTypeCode`).
        field: String,
        /// The types, first wins; compared trimmed and without case.
        order: Vec<String>,
    },
}

impl OwnerRule {
    /// The record's rank under the rule: the lowest rank owns (ties by customer code).
    #[must_use]
    pub fn rank(&self, fields: &SourceFields) -> String {
        // Sorts after every rank a value gives.
        const UNRANKED: &str = "~";
        match self {
            Self::LowestKey => String::new(),
            Self::Flag { field, values } => {
                let flagged = FieldRule::new(field.clone(), values.iter().cloned()).matches(fields);
                if flagged { "0" } else { "1" }.to_owned()
            }
            Self::Oldest { field } => date_of(fields, field).unwrap_or_else(|| UNRANKED.into()),
            // Digits inverted, so the latest date sorts first.
            Self::Newest { field } => date_of(fields, field).map_or_else(
                || UNRANKED.into(),
                |date| {
                    date.chars()
                        .map(|c| match c.to_digit(10) {
                            Some(d) => char::from_digit(9 - d, 10).unwrap_or(c),
                            None => c,
                        })
                        .collect()
                },
            ),
            Self::TypePriority { field, order } => {
                let value = fields.text(field).unwrap_or_default();
                order
                    .iter()
                    .position(|t| t.trim().eq_ignore_ascii_case(&value))
                    .map_or_else(|| UNRANKED.into(), |i| format!("{i:06}"))
            }
        }
    }

    /// The rule's name, as configured.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::LowestKey => "lowest_key",
            Self::Flag { .. } => "flag",
            Self::Oldest { .. } => "oldest",
            Self::Newest { .. } => "newest",
            Self::TypePriority { .. } => "type_priority",
        }
    }

    fn check(&self) -> Result<(), String> {
        let bad = |what: &str| Err(format!("lifecycle.shared_email_owner: {what}"));
        match self {
            Self::LowestKey => Ok(()),
            Self::Flag { field, values } if field.trim().is_empty() || values.is_empty() => {
                bad("the flag rule needs a field and at least one value")
            }
            Self::Oldest { field } | Self::Newest { field } if field.trim().is_empty() => {
                bad("the date rule needs a field")
            }
            Self::TypePriority { field, order } if field.trim().is_empty() || order.is_empty() => {
                bad("the type_priority rule needs a field and an order")
            }
            _ => Ok(()),
        }
    }
}

/// The date at the start of a field (`2024-03-01`, `2024-03-01T10:00:00Z`), if it has one.
fn date_of(fields: &SourceFields, field: &str) -> Option<String> {
    let text = fields.text(field)?;
    let date = text.get(..10)?;
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .map(|_| date.to_owned())
}

/// The lifecycle settings (`[sync.lifecycle]` in the configuration file). Without them the forward
/// sync writes every customer as before and nothing is ever removed.
///
/// ```
/// use sync_core::lifecycle::{EcomCustomerRemoval, LifecycleConfig, MemberRemoval};
///
/// let config: LifecycleConfig = toml::from_str(r#"
///     members = "delete_permanent"
///     ecommerce_customers = "delete"
///     scan_interval_hours = 6
///     [customer_states]
///     blocked = [{ field = "customer.creditHold", values = ["yes", "true"] }]
/// "#).unwrap();
/// assert_eq!(config.members, MemberRemoval::DeletePermanent);
/// assert_eq!(config.ecommerce_customers, EcomCustomerRemoval::Delete);
/// assert_eq!(config.customer_states.inactive.len(), 1); // the default kept
/// assert_eq!(config.max_removal_percent, 20);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleConfig {
    /// Members of departed customers (default archive).
    pub members: MemberRemoval,
    /// E-commerce customers of departed customers (default keep).
    pub ecommerce_customers: EcomCustomerRemoval,
    /// Products of departed items (default hide).
    pub products: ProductRemoval,
    /// How QAD marks customers inactive, blocked or anonymised.
    pub customer_states: CustomerStates,
    /// Which customer owns a member several customers share (default the lowest code).
    pub shared_email_owner: OwnerRule,
    /// How often the full key scan runs, in hours (default 24): it reads every key of the
    /// object, so it is not part of every incremental run.
    pub scan_interval_hours: u32,
    /// A scan that would remove more than this share of the mapped records (and more than
    /// [`MASS_REMOVAL_FLOOR`](super::MASS_REMOVAL_FLOOR) of them) removes nothing and fails:
    /// a browse that silently returns too little (a wrong domain, a filter) must not empty the
    /// audience. Default 20; a run can override it once
    /// ([`LifecycleOptions::allow_mass_removal`](super::LifecycleOptions::allow_mass_removal)).
    pub max_removal_percent: u8,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            members: MemberRemoval::default(),
            ecommerce_customers: EcomCustomerRemoval::default(),
            products: ProductRemoval::default(),
            customer_states: CustomerStates::default(),
            shared_email_owner: OwnerRule::default(),
            scan_interval_hours: 24,
            max_removal_percent: 20,
        }
    }
}

impl LifecycleConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// A message naming the setting: a zero interval, a percentage outside 1–100, a rule with
    /// no field or no values.
    pub fn validate(&self) -> Result<(), String> {
        if self.scan_interval_hours == 0 {
            return Err("lifecycle.scan_interval_hours must be at least 1".into());
        }
        if !(1..=100).contains(&self.max_removal_percent) {
            return Err("lifecycle.max_removal_percent must be between 1 and 100".into());
        }
        self.shared_email_owner.check()?;
        if let Some(rule) = self
            .customer_states
            .rules()
            .find(|r| r.field.trim().is_empty() || r.values.is_empty())
        {
            return Err(format!(
                "lifecycle.customer_states: a rule needs a field and at least one value ({rule:?})"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SyncConfig;

    #[test]
    fn the_operations_guide_example_parses_as_part_of_the_sync_section() {
        let text = r#"
            list_id = "a1b2c3d4e5"
            [lifecycle]
            members = "archive"
            ecommerce_customers = "keep"
            products = "hide"
            scan_interval_hours = 24
            max_removal_percent = 20
            [lifecycle.customer_states]
            inactive = [{ field = "isActive", values = ["false", "no"] }]
            blocked = [{ field = "customShort1", values = ["BLOCKED"] }]
            anonymised = [{ field = "addressName", values = ["ANONYMISED"] }]
            [lifecycle.shared_email_owner]
            rule = "flag"
            field = "customShort2"
            values = ["PRIMARY"]
        "#;
        let config: SyncConfig = toml::from_str(text).unwrap();
        let lifecycle = config.lifecycle.clone().unwrap();
        assert_eq!(lifecycle.customer_states.blocked.len(), 1);
        assert_eq!(lifecycle.shared_email_owner.name(), "flag");
        assert!(config.validate().is_ok());
        assert!(toml::from_str::<LifecycleConfig>("members = \"erase\"").is_err());
        let bad = LifecycleConfig {
            max_removal_percent: 0,
            ..LifecycleConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("max_removal_percent"));
        let bad = LifecycleConfig {
            shared_email_owner: OwnerRule::Flag {
                field: String::new(),
                values: vec![],
            },
            ..LifecycleConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("shared_email_owner"));
    }

    #[test]
    fn newest_ranks_the_latest_date_first_and_undated_last() {
        let rule = OwnerRule::Newest {
            field: "created".into(),
        };
        let rank = |v: serde_json::Value| rule.rank(&SourceFields::of(&v));
        let late = rank(serde_json::json!({"created": "2024-12-31"}));
        let early = rank(serde_json::json!({"created": "2019-01-01T08:00:00Z"}));
        let none = rank(serde_json::json!({"created": "not a date"}));
        assert!(late < early && early < none);
    }
}
