//! Merge-field values checked against the audience's merge-field definitions, as Mailchimp checks
//! them: each type's shape, dropdown and radio choices, complete addresses and required fields.
//!
//! An empty string clears a field and is always well-formed; `skip_merge_validation` skips only the
//! required-field check, as Mailchimp documents. The required check applies to the member as it
//! would be after the write, updates included: users report that once a field is made required,
//! updating a member who lacks it fails (brandonseydel/MailChimp.Net #312 and #500,
//! drewm/mailchimp-api #298), and that this error names the bare tag (`MMERGE3`), while a value of
//! the wrong shape names `merge_fields.TAG` (VingtCinq/python-mailchimp #146).

use serde_json::{Map, Value};

use crate::mailchimp::{problem::Problem, state::ListData};

/// The detail Mailchimp gives for any merge-field error; `errors[]` names the field.
pub(crate) const MERGE_DETAIL: &str = "Your merge fields were invalid.";

/// The longest text value Mailchimp keeps.
pub(crate) const MAX_TEXT_CHARS: usize = 255;

fn merge_error(tag: &str, message: impl Into<String>) -> Problem {
    Problem::invalid_with_detail(MERGE_DETAIL, &format!("merge_fields.{tag}"), message)
}

fn required_error(tag: &str) -> Problem {
    Problem::invalid_with_detail(MERGE_DETAIL, tag, "Please enter a value")
}

fn is_empty(value: &Value) -> bool {
    value.is_null() || value == ""
}

/// Checks the `merge_fields` of a member write against the list's definitions; `existing` is the
/// member being updated, if any, whose values count for the required check.
pub(crate) fn check_merge_fields(
    list: &ListData,
    body: &Map<String, Value>,
    existing: Option<&Value>,
    skip_required: bool,
) -> Result<(), Problem> {
    let given = body.get("merge_fields").and_then(Value::as_object);
    for field in list.merge_fields.values() {
        let tag = field["tag"].as_str().unwrap_or_default();
        let value = given.and_then(|m| m.get(tag));
        if field["required"] == true && !skip_required {
            let after = value.or_else(|| existing.map(|m| &m["merge_fields"][tag]));
            if after.is_none_or(is_empty) {
                return Err(required_error(tag));
            }
        }
        if let Some(value) = value.filter(|v| !is_empty(v)) {
            check_value(field, value).map_err(|message| merge_error(tag, message))?;
        }
    }
    Ok(())
}

/// Whether `value` fits the merge field `field`; the message says why not.
pub(crate) fn check_value(field: &Value, value: &Value) -> Result<(), String> {
    let kind = field["type"].as_str().unwrap_or("text");
    if kind == "address" {
        return check_address(value);
    }
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => {
            return Err(format!(
                "This value should be of type string for a {kind} field"
            ))
        }
    };
    let ok = match kind {
        "number" => text.parse::<f64>().is_ok_and(f64::is_finite),
        "phone" => is_phone(&text, field["options"]["phone_format"].as_str()),
        "date" => is_date(&text, field["options"]["date_format"].as_str(), false),
        "birthday" => is_date(&text, field["options"]["date_format"].as_str(), true),
        "url" | "imageurl" => {
            (text.starts_with("http://") || text.starts_with("https://")) && !text.contains(' ')
        }
        "zip" => is_us_zip(&text),
        "dropdown" | "radio" => field["options"]["choices"]
            .as_array()
            .is_some_and(|choices| choices.iter().any(|c| c == text.as_str())),
        _ => text.chars().count() <= MAX_TEXT_CHARS,
    };
    if ok {
        return Ok(());
    }
    Err(match kind {
        "number" => "Please enter a number".to_owned(),
        "phone" => "Please enter a valid phone number".to_owned(),
        "date" | "birthday" => format!(
            "Please enter the date in the format {}",
            field["options"]["date_format"]
                .as_str()
                .unwrap_or(if kind == "date" {
                    "YYYY-MM-DD"
                } else {
                    "MM/DD"
                })
        ),
        "url" | "imageurl" => "Please enter a valid URL".to_owned(),
        "zip" => "Please enter a valid zip code".to_owned(),
        "dropdown" | "radio" => format!("{text:?} is not one of the field's choices"),
        _ => format!("Please enter at most {MAX_TEXT_CHARS} characters"),
    })
}

/// An address needs `addr1`, `city`, `state` and `zip` (non-empty strings); `addr2` and `country`
/// are optional.
fn check_address(value: &Value) -> Result<(), String> {
    let Value::Object(address) = value else {
        return Err("Please enter a complete address".to_owned());
    };
    let filled = |key: &str| {
        address
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    };
    if ["addr1", "city", "state", "zip"].into_iter().all(filled) {
        Ok(())
    } else {
        Err("Please enter a complete address".to_owned())
    }
}

/// A US number (10 digits, optionally a leading 1) when the field's format is `US`; otherwise
/// 6 to 20 digits with the usual separators and an optional leading `+`.
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

/// `YYYY-MM-DD` (accepted for any date field) or the field's own format; a birthday is month and
/// day only (`MM/DD` or `DD/MM`).
fn is_date(text: &str, format: Option<&str>, birthday: bool) -> bool {
    let parts: Vec<&str> = text.split(['/', '-']).collect();
    let num = |s: &str, len: usize| s.len() == len && s.chars().all(|c| c.is_ascii_digit());
    let month_day = |m: &str, d: &str| {
        let (m, d) = (m.parse::<u32>().unwrap_or(0), d.parse::<u32>().unwrap_or(0));
        (1..=12).contains(&m) && (1..=31).contains(&d)
    };
    let format = format.unwrap_or("").to_ascii_uppercase();
    match parts.as_slice() {
        [a, b] if birthday && num(a, 2) && num(b, 2) => {
            if format.starts_with("DD") {
                month_day(b, a)
            } else {
                month_day(a, b)
            }
        }
        [y, m, d] if !birthday && num(y, 4) && num(m, 2) && num(d, 2) => month_day(m, d),
        [a, b, y] if !birthday && num(a, 2) && num(b, 2) && num(y, 4) => {
            if format.starts_with("DD") {
                month_day(b, a)
            } else {
                month_day(a, b)
            }
        }
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
    use serde_json::json;

    fn field(kind: &str, options: Value) -> Value {
        json!({"tag": "F", "type": kind, "required": false, "options": options})
    }

    #[test]
    fn each_type_accepts_its_shape_and_refuses_others() {
        let cases = [
            ("number", json!({}), json!("12.5"), json!("twelve")),
            (
                "phone",
                json!({"phone_format": "US"}),
                json!("(555) 123-4567"),
                json!("12345"),
            ),
            (
                "phone",
                json!({}),
                json!("+49 30 1234567"),
                json!("call me"),
            ),
            (
                "date",
                json!({"date_format": "MM/DD/YYYY"}),
                json!("12/31/2024"),
                json!("31/12/2024"),
            ),
            (
                "date",
                json!({"date_format": "DD/MM/YYYY"}),
                json!("2024-12-31"),
                json!("2024-13-01"),
            ),
            (
                "birthday",
                json!({"date_format": "MM/DD"}),
                json!("02/29"),
                json!("1990-02-01"),
            ),
            (
                "url",
                json!({}),
                json!("https://northwind-mfg.com/x"),
                json!("northwind-mfg.com"),
            ),
            ("zip", json!({}), json!("12345-6789"), json!("1234")),
            (
                "dropdown",
                json!({"choices": ["Gold", "Silver"]}),
                json!("Gold"),
                json!("Bronze"),
            ),
            ("radio", json!({"choices": ["A"]}), json!("A"), json!("B")),
            (
                "text",
                json!({}),
                json!("x".repeat(255)),
                json!("x".repeat(256)),
            ),
        ];
        for (kind, options, good, bad) in cases {
            let f = field(kind, options);
            assert_eq!(check_value(&f, &good), Ok(()), "{kind} {good}");
            assert!(check_value(&f, &bad).is_err(), "{kind} {bad}");
        }
    }

    #[test]
    fn addresses_need_street_city_state_and_zip() {
        let f = field("address", json!({}));
        let full =
            json!({"addr1": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701"});
        assert_eq!(check_value(&f, &full), Ok(()));
        let mut no_state = full.clone();
        no_state["state"] = json!("");
        assert_eq!(
            check_value(&f, &no_state),
            Err("Please enter a complete address".to_owned())
        );
        assert!(check_value(&f, &json!("1 Main St")).is_err());
    }
}
