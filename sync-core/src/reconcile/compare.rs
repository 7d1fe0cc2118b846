//! Field-by-field comparison: both sides flattened to dot paths with normalized text values,
//! and only the fields the connector writes (those the mapped record sets) compared.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::report::FieldDiff;
use crate::mapping::StatusIfNew;
use crate::model::MemberStatus;

/// A record flattened: dot path → normalized text.
pub(crate) type Fields = BTreeMap<String, String>;

/// Flattens `value`: objects by key, arrays of objects with an `id` by that id (so a variant is
/// found whatever its position), other arrays by index. Numbers are normalized as exact
/// decimals (`12.50` and `12.5` are equal), `null` is empty.
pub(crate) fn flatten(value: &Value) -> Fields {
    let mut out = Fields::new();
    walk("", value, &mut out);
    out
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk(prefix: &str, value: &Value, out: &mut Fields) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                walk(&join(prefix, k), v, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let key = item
                    .get("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| i.to_string(), str::to_owned);
                walk(&join(prefix, &key), item, out);
            }
        }
        Value::Null => {
            out.insert(prefix.to_owned(), String::new());
        }
        Value::Bool(b) => {
            out.insert(prefix.to_owned(), b.to_string());
        }
        Value::Number(n) => {
            let text = n.to_string();
            let exact = Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .map_or(text, |d| d.normalize().to_string());
            out.insert(prefix.to_owned(), exact);
        }
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
    }
}

/// The fields of `expected` whose value in `actual` differs (an absent field counts as empty).
/// Fields `expected` does not set are Mailchimp's own and never compared.
pub(crate) fn diff(expected: &Fields, actual: &Fields) -> Vec<FieldDiff> {
    expected
        .iter()
        .filter_map(|(field, want)| {
            let have = actual.get(field).map_or("", String::as_str);
            (have != want).then(|| FieldDiff {
                field: field.clone(),
                mailchimp: have.to_owned(),
                qad: want.clone(),
            })
        })
        .collect()
}

/// Whether a member with status `actual` is left alone by the connector (not drift): its
/// status forbids writes, or someone archived it.
pub(crate) fn blocks(actual: MemberStatus) -> bool {
    actual.blocks_push() || actual == MemberStatus::Archived
}

/// Whether a member's `actual` status is not the one the connector intended with
/// `status_if_new`: a member meant to be subscribed that is transactional or still pending, or
/// one meant to be pending that is transactional. A person confirming (pending → subscribed) or
/// subscribing themselves (transactional → subscribed) is not a difference.
pub(crate) fn status_differs(intended: StatusIfNew, actual: MemberStatus) -> bool {
    match intended {
        StatusIfNew::Subscribed => {
            matches!(actual, MemberStatus::Transactional | MemberStatus::Pending)
        }
        StatusIfNew::Pending => actual == MemberStatus::Transactional,
        StatusIfNew::Transactional => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_as_exact_decimals_and_variants_by_id() {
        let a = flatten(&json!({"title": "W", "variants": [{"id": "W-1", "price": 12.5}]}));
        let b = flatten(
            &json!({"variants": [{"id": "X"}, {"id": "W-1", "price": 12.50}], "title": "W"}),
        );
        assert_eq!(a["variants.W-1.price"], "12.5");
        assert!(diff(&a, &b).is_empty());
        let c = flatten(&json!({"title": "W", "variants": [{"id": "W-1", "price": 13}]}));
        let d = diff(&a, &c);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "variants.W-1.price");
        assert_eq!((d[0].mailchimp.as_str(), d[0].qad.as_str()), ("13", "12.5"));
    }

    #[test]
    fn only_fields_the_connector_sets_are_compared_and_absent_is_empty() {
        let expected = flatten(&json!({"merge_fields": {"FNAME": "Ann", "LNAME": ""}}));
        let actual = flatten(&json!({"merge_fields": {"FNAME": "Ann", "BIRTHDAY": "01/02"}}));
        assert!(diff(&expected, &actual).is_empty());
        let edited = flatten(&json!({"merge_fields": {"FNAME": "Anne"}}));
        assert_eq!(diff(&expected, &edited)[0].mailchimp, "Anne");
        assert_eq!(diff(&expected, &Fields::new()).len(), 1, "FNAME missing");
    }

    #[test]
    fn statuses_the_connector_did_not_intend() {
        use MemberStatus as M;
        assert!(status_differs(StatusIfNew::Subscribed, M::Transactional));
        assert!(status_differs(StatusIfNew::Subscribed, M::Pending));
        assert!(!status_differs(StatusIfNew::Subscribed, M::Subscribed));
        assert!(!status_differs(StatusIfNew::Pending, M::Subscribed));
        assert!(status_differs(StatusIfNew::Pending, M::Transactional));
        assert!(!status_differs(StatusIfNew::Transactional, M::Subscribed));
        assert!(blocks(M::Cleaned) && blocks(M::Unsubscribed) && blocks(M::Archived));
        assert!(!blocks(M::Transactional));
    }
}
