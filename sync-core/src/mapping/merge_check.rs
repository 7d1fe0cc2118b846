//! Checking mapped members against the audience's merge-field definitions before writing, so a bad
//! value rejects its own record with the field named instead of failing at Mailchimp.
//!
//! The rules follow what Mailchimp enforces (see the table in `docs/mailchimp.md`): each type's
//! shape, dropdown and radio choices, text at most 255 characters, complete addresses, and
//! required fields. `testkit`'s fake enforces the same rules on its own, on purpose: a test of
//! this check against the fake would otherwise only compare the code with itself.

use std::fmt;

use mailchimp_client::{MergeField, MergeFieldType};
use serde_json::Value;

use super::config::CustomerMapping;
use super::member::MemberRecord;

/// The longest text value Mailchimp keeps in a merge field.
pub const MAX_MERGE_TEXT_CHARS: usize = 255;

/// Why a mapped member's merge field does not fit the audience: the record is rejected with it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergeFieldIssue {
    /// The merge field's tag, e.g. `ADDRESS`.
    pub tag: String,
    /// What is wrong, e.g. `an address needs addr1, city, state and zip`.
    pub reason: String,
}

impl fmt::Display for MergeFieldIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "merge field {}: {}", self.tag, self.reason)
    }
}

impl std::error::Error for MergeFieldIssue {}

/// The tags the mapping writes that the audience does not define: a configuration error, to be
/// reported at `connect` and before a run rather than record by record. Sorted.
///
/// ```
/// use sync_core::mapping::{missing_merge_tags, MappingConfig};
///
/// let fields: Vec<mailchimp_client::MergeField> = serde_json::from_value(serde_json::json!([
///     {"tag": "FNAME", "type": "text"}, {"tag": "LNAME", "type": "text"},
/// ])).unwrap();
/// // The default mapping also writes ADDRESS and PHONE.
/// assert_eq!(
///     missing_merge_tags(&MappingConfig::default().customer, &fields),
///     ["ADDRESS", "PHONE"],
/// );
/// ```
#[must_use]
pub fn missing_merge_tags(mapping: &CustomerMapping, fields: &[MergeField]) -> Vec<String> {
    let mut missing: Vec<String> = mapping
        .merge_fields
        .keys()
        .filter(|tag| !fields.iter().any(|f| f.tag.eq_ignore_ascii_case(tag)))
        .cloned()
        .collect();
    missing.sort();
    missing
}

/// Checks one mapped member against the audience's merge fields: every required field has a
/// value, and every value has its field's shape.
///
/// Tags the audience does not define are left to [`missing_merge_tags`].
///
/// # Errors
///
/// The first [`MergeFieldIssue`], naming the field.
///
/// ```
/// use std::collections::BTreeMap;
/// use sync_core::mapping::{check_member_merge_fields, MemberRecord, StatusIfNew};
///
/// let fields: Vec<mailchimp_client::MergeField> = serde_json::from_value(serde_json::json!([
///     {"tag": "TIER", "type": "dropdown", "options": {"choices": ["Gold", "Silver"]}},
/// ])).unwrap();
/// let mut record = MemberRecord {
///     email_address: "ann@northwind-mfg.com".into(),
///     status_if_new: StatusIfNew::Subscribed,
///     merge_fields: BTreeMap::from([("TIER".to_owned(), "Gold".into())]),
/// };
/// assert!(check_member_merge_fields(&record, &fields).is_ok());
/// record.merge_fields.insert("TIER".into(), "Bronze".into());
/// let issue = check_member_merge_fields(&record, &fields).unwrap_err();
/// assert_eq!(issue.tag, "TIER");
/// ```
pub fn check_member_merge_fields(
    record: &MemberRecord,
    fields: &[MergeField],
) -> Result<(), MergeFieldIssue> {
    for field in fields {
        let value = record
            .merge_fields
            .iter()
            .find(|(tag, _)| tag.eq_ignore_ascii_case(&field.tag))
            .map(|(_, v)| v)
            .filter(|v| !(v.is_null() || *v == ""));
        let issue = |reason: String| MergeFieldIssue {
            tag: field.tag.clone(),
            reason,
        };
        match value {
            None if field.required => {
                return Err(issue(
                    "required by the audience, but the mapping gives no value".into(),
                ))
            }
            None => {}
            Some(value) => check_value(field, value).map_err(issue)?,
        }
    }
    Ok(())
}

/// Whether `value` has the shape Mailchimp accepts for `field`; the message says why not.
fn check_value(field: &MergeField, value: &Value) -> Result<(), String> {
    let kind = field.kind.clone().unwrap_or(MergeFieldType::Text);
    if kind == MergeFieldType::Address {
        return check_address(value);
    }
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("expected text for a {kind} field, got {other}")),
    };
    let options = &field.options;
    let date_format = options.date_format.as_deref();
    let result = match kind {
        MergeFieldType::Number => text
            .parse::<f64>()
            .is_ok_and(f64::is_finite)
            .then_some(())
            .ok_or_else(|| format!("{text:?} is not a number")),
        MergeFieldType::Phone => is_phone(&text, options.phone_format.as_deref())
            .then_some(())
            .ok_or_else(|| format!("{text:?} is not a phone number")),
        MergeFieldType::Date | MergeFieldType::Birthday => {
            let birthday = kind == MergeFieldType::Birthday;
            is_date(&text, date_format, birthday)
                .then_some(())
                .ok_or_else(|| {
                    let wanted =
                        date_format.unwrap_or(if birthday { "MM/DD" } else { "YYYY-MM-DD" });
                    format!("{text:?} is not a date in the format {wanted}")
                })
        }
        MergeFieldType::Url | MergeFieldType::ImageUrl => {
            ((text.starts_with("http://") || text.starts_with("https://")) && !text.contains(' '))
                .then_some(())
                .ok_or_else(|| format!("{text:?} is not an http(s) URL"))
        }
        MergeFieldType::Zip => is_us_zip(&text)
            .then_some(())
            .ok_or_else(|| format!("{text:?} is not a US zip code")),
        MergeFieldType::Dropdown | MergeFieldType::Radio => options
            .choices
            .contains(&text)
            .then_some(())
            .ok_or_else(|| format!("{text:?} is not one of the choices {:?}", options.choices)),
        _ => (text.chars().count() <= MAX_MERGE_TEXT_CHARS)
            .then_some(())
            .ok_or_else(|| {
                format!(
                    "{} characters, more than the {MAX_MERGE_TEXT_CHARS} Mailchimp keeps",
                    text.chars().count()
                )
            }),
    };
    result
}

fn check_address(value: &Value) -> Result<(), String> {
    let complete = value.as_object().is_some_and(|address| {
        ["addr1", "city", "state", "zip"].into_iter().all(|key| {
            address
                .get(key)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.trim().is_empty())
        })
    });
    complete
        .then_some(())
        .ok_or_else(|| "an address needs addr1, city, state and zip".to_owned())
}

/// A US number (10 digits, or 11 starting with 1) for the `US` format; otherwise 6 to 20 digits
/// with the usual separators and an optional leading `+`.
fn is_phone(text: &str, format: Option<&str>) -> bool {
    let allowed = text
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || " -().".contains(c) || (c == '+' && i == 0));
    let digits = text.chars().filter(char::is_ascii_digit).count();
    if format.is_some_and(|f| f.eq_ignore_ascii_case("US")) {
        allowed && (digits == 10 || (digits == 11 && text.trim_start_matches('+').starts_with('1')))
    } else {
        allowed && (6..=20).contains(&digits)
    }
}

/// `YYYY-MM-DD` or the field's own format (`MM/DD/YYYY`, `DD/MM/YYYY`); a birthday is month and
/// day only (`MM/DD` or `DD/MM`).
fn is_date(text: &str, format: Option<&str>, birthday: bool) -> bool {
    let parts: Vec<&str> = text.split(['/', '-']).collect();
    let digits = |s: &str, len: usize| s.len() == len && s.chars().all(|c| c.is_ascii_digit());
    let valid = |month: &str, day: &str| {
        let month = month.parse::<u32>().unwrap_or(0);
        let day = day.parse::<u32>().unwrap_or(0);
        (1..=12).contains(&month) && (1..=31).contains(&day)
    };
    let day_first = format.is_some_and(|f| f.to_ascii_uppercase().starts_with("DD"));
    let ordered = |a: &str, b: &str| if day_first { valid(b, a) } else { valid(a, b) };
    match parts.as_slice() {
        [a, b] if birthday && digits(a, 2) && digits(b, 2) => ordered(a, b),
        [y, m, d] if !birthday && digits(y, 4) && digits(m, 2) && digits(d, 2) => valid(m, d),
        [a, b, y] if !birthday && digits(a, 2) && digits(b, 2) && digits(y, 4) => ordered(a, b),
        _ => false,
    }
}

fn is_us_zip(text: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    match text.split_once('-') {
        Some((five, four)) => digits(five, 5) && digits(four, 4),
        None => digits(text, 5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::StatusIfNew;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn fields(defs: Value) -> Vec<MergeField> {
        serde_json::from_value(defs).unwrap()
    }

    fn record(merge: Value) -> MemberRecord {
        let merge_fields: BTreeMap<String, Value> = serde_json::from_value(merge).unwrap();
        MemberRecord {
            email_address: "ann@northwind-mfg.com".into(),
            status_if_new: StatusIfNew::Subscribed,
            merge_fields,
        }
    }

    #[test]
    fn each_type_accepts_its_shape_and_names_the_field_otherwise() {
        let defs = fields(json!([
            {"tag": "SPEND", "type": "number"},
            {"tag": "PHONE", "type": "phone", "options": {"phone_format": "US"}},
            {"tag": "SINCE", "type": "date", "options": {"date_format": "DD/MM/YYYY"}},
            {"tag": "BDAY", "type": "birthday", "options": {"date_format": "MM/DD"}},
            {"tag": "SITE", "type": "url"},
            {"tag": "ZIP", "type": "zip"},
            {"tag": "TIER", "type": "radio", "options": {"choices": ["A", "B"]}},
            {"tag": "NOTE", "type": "text"},
            {"tag": "ADDRESS", "type": "address"},
        ]));
        let good = json!({
            "SPEND": "12.5", "PHONE": "(555) 123-4567", "SINCE": "31/12/2024", "BDAY": "02/29",
            "SITE": "https://northwind-mfg.com", "ZIP": "12345", "TIER": "A", "NOTE": "x".repeat(255),
            "ADDRESS": {"addr1": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701", "country": ""},
        });
        assert_eq!(
            check_member_merge_fields(&record(good.clone()), &defs),
            Ok(())
        );
        for (tag, bad) in [
            ("SPEND", json!("lots")),
            ("PHONE", json!("12345")),
            ("SINCE", json!("12/31/2024")),
            ("BDAY", json!("1990-02-01")),
            ("SITE", json!("northwind-mfg.com")),
            ("ZIP", json!("1234")),
            ("TIER", json!("C")),
            ("NOTE", json!("x".repeat(256))),
            (
                "ADDRESS",
                json!({"addr1": "1 Main St", "city": "Springfield", "state": "", "zip": "62701"}),
            ),
            ("ADDRESS", json!("1 Main St")),
        ] {
            let mut merge = good.clone();
            merge[tag] = bad.clone();
            let issue = check_member_merge_fields(&record(merge), &defs).unwrap_err();
            assert_eq!(issue.tag, tag, "{bad}");
            assert!(issue
                .to_string()
                .starts_with(&format!("merge field {tag}: ")));
        }
    }

    #[test]
    fn required_fields_need_a_value_and_empty_optional_ones_pass() {
        let defs = fields(json!([
            {"tag": "CODE", "type": "text", "required": true},
            {"tag": "SPEND", "type": "number"},
        ]));
        assert!(
            check_member_merge_fields(&record(json!({"CODE": "C1", "SPEND": ""})), &defs).is_ok()
        );
        for merge in [json!({}), json!({"CODE": ""}), json!({"CODE": null})] {
            let issue = check_member_merge_fields(&record(merge), &defs).unwrap_err();
            assert_eq!(issue.tag, "CODE");
        }
    }

    #[test]
    fn missing_tags_are_the_mapped_ones_the_audience_lacks() {
        let mapping = CustomerMapping::default();
        let all = fields(json!([
            {"tag": "fname"}, {"tag": "LNAME"}, {"tag": "ADDRESS"}, {"tag": "COMPANY"},
            {"tag": "PHONE"}, {"tag": "EXTRA"},
        ]));
        assert!(missing_merge_tags(&mapping, &all).is_empty());
        assert_eq!(
            missing_merge_tags(&mapping, &all[..2]),
            ["ADDRESS", "PHONE"]
        );
    }
}
