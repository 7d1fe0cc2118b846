//! Reading QAD fields by name, and the small rules that turn them into target values.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A QAD record flattened to its field names (`addressName`, `EMail`, custom fields such as
/// `customShort1` from `extra`), as the mapping rules read it.
#[derive(Debug, Clone, Default)]
pub struct SourceFields {
    fields: Map<String, Value>,
    /// Whether some name carries its table (`customer.customShort1`): only then can a bare name
    /// miss in the map and still be there, so only then does [`Self::get`] scan the names (a scan
    /// per absent field was a few percent of the forward path's CPU).
    qualified: bool,
}

impl SourceFields {
    /// The fields of any serializable QAD record, under their QAD (serde) names, custom fields
    /// included.
    ///
    /// ```
    /// use sync_core::mapping::SourceFields;
    ///
    /// let row = serde_json::json!({"customerCode": "C1", "addressName": " Ada Lovelace ", "customShort1": 7});
    /// let customer: qad_client::Customer = serde_json::from_value(row).unwrap();
    /// let fields = SourceFields::of(&customer);
    /// assert_eq!(fields.text("addressName").as_deref(), Some("Ada Lovelace"));
    /// assert_eq!(fields.text("customShort1").as_deref(), Some("7"));
    /// assert_eq!(fields.text("fax"), None);
    /// ```
    #[must_use]
    pub fn of<T: Serialize>(record: &T) -> Self {
        match serde_json::to_value(record) {
            Ok(Value::Object(fields)) => Self {
                qualified: fields.keys().any(|name| name.contains('.')),
                fields,
            },
            _ => Self::default(),
        }
    }

    /// The field's raw value. QAD browse rows name custom fields with their table
    /// (`customer.customShort1`) where entity rows do not, so either form finds either: the
    /// name as given, then without its table, then any `table.name`.
    ///
    /// ```
    /// use sync_core::mapping::SourceFields;
    ///
    /// let browse = SourceFields::of(&serde_json::json!({"customer.customShort1": "EU"}));
    /// assert_eq!(browse.text("customShort1").as_deref(), Some("EU"));
    /// let entity = SourceFields::of(&serde_json::json!({"customShort1": "EU"}));
    /// assert_eq!(entity.text("customer.customShort1").as_deref(), Some("EU"));
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        if let Some(value) = self.fields.get(name) {
            return Some(value);
        }
        if let Some(value) = name
            .rsplit_once('.')
            .and_then(|(_, bare)| self.fields.get(bare))
        {
            return Some(value);
        }
        // A name with a dot never matches: the part after a key's last dot has none.
        if !self.qualified || name.contains('.') {
            return None;
        }
        // `table.name`: compared from the end, without splitting every key.
        self.fields
            .iter()
            .find(|(key, _)| {
                key.strip_suffix(name)
                    .is_some_and(|table| table.ends_with('.'))
            })
            .map(|(_, value)| value)
    }

    /// Whether the record has the field at all (null included), in either form ([`Self::get`]).
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The names of the record's fields.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// The field as trimmed text; `None` when absent, null or blank. Numbers and booleans are
    /// written as JSON writes them.
    #[must_use]
    pub fn text(&self, name: &str) -> Option<String> {
        let text = match self.get(name)? {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        (!text.is_empty()).then_some(text)
    }
}

/// Produces one text value from the QAD record.
///
/// In TOML: `{ field = "addressName" }`, `{ first_word = "addressName" }`,
/// `{ after_first_word = "addressName" }`.
///
/// ```
/// use sync_core::mapping::{SourceFields, TextRule};
///
/// let fields = SourceFields::of(&serde_json::json!({"addressName": "Ada King Lovelace"}));
/// assert_eq!(TextRule::FirstWord("addressName".into()).apply(&fields).as_deref(), Some("Ada"));
/// assert_eq!(TextRule::AfterFirstWord("addressName".into()).apply(&fields).as_deref(), Some("King Lovelace"));
/// assert_eq!(TextRule::Field("city".into()).apply(&fields), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextRule {
    /// The field's value.
    Field(String),
    /// The first whitespace-separated word of the field (a first name from a full name).
    FirstWord(String),
    /// Everything after the first word (a last name from a full name).
    AfterFirstWord(String),
}

impl TextRule {
    /// The field the rule reads.
    #[must_use]
    pub fn field(&self) -> &str {
        match self {
            Self::Field(name) | Self::FirstWord(name) | Self::AfterFirstWord(name) => name,
        }
    }

    /// The value for this record, `None` when blank.
    #[must_use]
    pub fn apply(&self, fields: &SourceFields) -> Option<String> {
        match self {
            Self::Field(name) => fields.text(name),
            Self::FirstWord(name) => fields
                .text(name)
                .and_then(|t| t.split_whitespace().next().map(str::to_owned)),
            Self::AfterFirstWord(name) => fields.text(name).and_then(|t| {
                let rest = t.split_whitespace().skip(1).collect::<Vec<_>>().join(" ");
                (!rest.is_empty()).then_some(rest)
            }),
        }
    }
}

/// Which QAD fields make up a postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AddressFields {
    /// First street line (default `street1`).
    pub street1: String,
    /// Second street line (default `street2`).
    pub street2: String,
    /// City (default `city`).
    pub city: String,
    /// State or province code (default `stateCode`).
    pub state: String,
    /// Postal code (default `zipCode`).
    pub zip: String,
    /// ISO country code (default `countryCode`).
    pub country: String,
}

impl AddressFields {
    /// The fields read, street to country.
    #[must_use]
    pub fn names(&self) -> [&str; 6] {
        [
            &self.street1,
            &self.street2,
            &self.city,
            &self.state,
            &self.zip,
            &self.country,
        ]
    }
}

impl Default for AddressFields {
    fn default() -> Self {
        Self {
            street1: "street1".into(),
            street2: "street2".into(),
            city: "city".into(),
            state: "stateCode".into(),
            zip: "zipCode".into(),
            country: "countryCode".into(),
        }
    }
}

/// An address read from the QAD record, every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressParts {
    /// First street line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street1: Option<String>,
    /// Second street line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street2: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// Country code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl AddressParts {
    /// Reads the parts named by `names`.
    #[must_use]
    pub fn read(fields: &SourceFields, names: &AddressFields) -> Self {
        Self {
            street1: fields.text(&names.street1),
            street2: fields.text(&names.street2),
            city: fields.text(&names.city),
            state: fields.text(&names.state),
            zip: fields.text(&names.zip),
            country: fields.text(&names.country),
        }
    }

    /// Whether no part is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Produces one merge-field value: text, or an address.
///
/// In TOML, under `[mapping.customer.merge_fields]`: `COMPANY = { field = "addressName" }`,
/// `ADDRESS = { address = {} }` (default field names) or `{ address = { zip = "postCode" } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeRule {
    /// The field's value.
    Field(String),
    /// The first word of the field.
    FirstWord(String),
    /// Everything after the first word of the field.
    AfterFirstWord(String),
    /// An address merge field (`addr1`, `addr2`, `city`, `state`, `zip`, `country`); left out
    /// (the rest of the member is still sent) when street, city, state or postal code is
    /// missing, since Mailchimp refuses an incomplete address ("Please enter a complete
    /// address", `state: ""` included). The country is optional.
    Address(AddressFields),
}

impl MergeRule {
    /// The fields the rule reads.
    #[must_use]
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Self::Field(name) | Self::FirstWord(name) | Self::AfterFirstWord(name) => vec![name],
            Self::Address(names) => names.names().to_vec(),
        }
    }

    /// The merge value for this record, `None` when blank or incomplete.
    #[must_use]
    pub fn apply(&self, fields: &SourceFields) -> Option<Value> {
        let text = |rule: TextRule| rule.apply(fields).map(Value::String);
        match self {
            Self::Field(name) => text(TextRule::Field(name.clone())),
            Self::FirstWord(name) => text(TextRule::FirstWord(name.clone())),
            Self::AfterFirstWord(name) => text(TextRule::AfterFirstWord(name.clone())),
            Self::Address(names) => {
                let parts = AddressParts::read(fields, names);
                let (Some(addr1), Some(city), Some(state), Some(zip)) =
                    (parts.street1, parts.city, parts.state, parts.zip)
                else {
                    return None;
                };
                Some(serde_json::json!({
                    "addr1": addr1,
                    "addr2": parts.street2.unwrap_or_default(),
                    "city": city,
                    "state": state,
                    "zip": zip,
                    "country": parts.country.unwrap_or_default(),
                }))
            }
        }
    }
}

/// Produces one tag from a field: `prefix` + the value, for example `type:RETAIL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagRule {
    /// The QAD field read.
    pub field: String,
    /// Text put before the value.
    #[serde(default)]
    pub prefix: String,
}

impl TagRule {
    /// A tag from `field` with `prefix`.
    #[must_use]
    pub fn new(field: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            prefix: prefix.into(),
        }
    }

    /// The tag for this record, `None` when the field is blank.
    #[must_use]
    pub fn apply(&self, fields: &SourceFields) -> Option<String> {
        fields
            .text(&self.field)
            .map(|v| format!("{}{v}", self.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bare_name_finds_its_qualified_form_and_nothing_else() {
        let fields = SourceFields::of(&json!({
            "customer.customShort1": "EU",
            "a.b.region": "north",
            "xregion": "not a table",
            "sub": 1
        }));
        assert_eq!(fields.text("customShort1").as_deref(), Some("EU"));
        // The part after the last dot is the name, whatever the table part holds.
        assert_eq!(fields.text("region").as_deref(), Some("north"));
        // A name with a dot is looked up as given and by its last part, never as a suffix.
        assert_eq!(fields.get("b.region"), None);
        assert_eq!(fields.get("other.sub"), Some(&json!(1)));
        assert_eq!(fields.get("fax"), None);
    }

    #[test]
    fn a_record_without_qualified_names_answers_absent_fields_at_once() {
        let fields = SourceFields::of(&json!({"addressName": "Ada", "city": "Oslo"}));
        assert!(!fields.qualified);
        assert_eq!(fields.get("street2"), None);
        assert_eq!(fields.text("city").as_deref(), Some("Oslo"));
        assert!(SourceFields::of(&json!({"customer.city": "Oslo"})).qualified);
    }
}
