//! Browse filters: `field,op,value,literal` and `field,rg,from,literal,to,literal`.

use std::cmp::Ordering;

use chrono::NaiveDate;
use serde_json::Value;

/// A comparison operator of the browse API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    StartsWith,
    EndsWith,
    Contains,
    Gt,
    Ge,
    Lt,
    Le,
}

/// One parsed `filter` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Filter {
    Compare {
        field: String,
        op: Op,
        value: String,
    },
    Range {
        field: String,
        from: String,
        to: String,
    },
}

/// Why a `filter` parameter was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FilterError {
    #[error("malformed filter `{0}`: expected field,op,value,literal or field,rg,from,literal,to,literal")]
    Malformed(String),
    #[error("unknown filter operator `{0}`")]
    UnknownOp(String),
    #[error("unknown filter field `{0}`")]
    UnknownField(String),
}

impl Filter {
    /// Parses one `filter` value.
    pub(crate) fn parse(raw: &str) -> Result<Self, FilterError> {
        let parts: Vec<&str> = raw.split(',').collect();
        let malformed = || FilterError::Malformed(raw.to_owned());
        match parts.as_slice() {
            [field, "rg", from, "literal", to, "literal"] if !field.is_empty() => Ok(Self::Range {
                field: (*field).to_owned(),
                from: (*from).to_owned(),
                to: (*to).to_owned(),
            }),
            [_, "rg", ..] => Err(malformed()),
            [field, op, value, "literal"] if !field.is_empty() => {
                let op = match *op {
                    "eq" => Op::Eq,
                    "sw" => Op::StartsWith,
                    "ew" => Op::EndsWith,
                    "cn" => Op::Contains,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    other => return Err(FilterError::UnknownOp(other.to_owned())),
                };
                Ok(Self::Compare {
                    field: (*field).to_owned(),
                    op,
                    value: (*value).to_owned(),
                })
            }
            _ => Err(malformed()),
        }
    }

    pub(crate) fn field(&self) -> &str {
        match self {
            Self::Compare { field, .. } | Self::Range { field, .. } => field,
        }
    }

    /// The literal values compared against.
    pub(crate) fn values(&self) -> Vec<&str> {
        match self {
            Self::Compare { value, .. } => vec![value],
            Self::Range { from, to, .. } => vec![from, to],
        }
    }

    /// The domain of a `domainCode,eq,<d>` clause (`<prefix>.domainCode` too).
    pub(crate) fn domain_eq(&self) -> Option<String> {
        match self {
            Self::Compare {
                field,
                op: Op::Eq,
                value,
            } if field == "domainCode" || field.ends_with(".domainCode") => Some(value.clone()),
            _ => None,
        }
    }

    /// Finds the row value this filter names: the full dotted key
    /// (`customer.city`) or the part after the prefix (`city`).
    fn lookup<'a>(&self, row: &'a serde_json::Map<String, Value>) -> Option<&'a Value> {
        let field = self.field();
        row.get(field).or_else(|| {
            row.iter()
                .find(|(key, _)| key.rsplit_once('.').is_some_and(|(_, tail)| tail == field))
                .map(|(_, value)| value)
        })
    }

    /// Whether `row` passes. Errors when the row has no such field.
    pub(crate) fn matches(
        &self,
        row: &serde_json::Map<String, Value>,
    ) -> Result<bool, FilterError> {
        let value = self
            .lookup(row)
            .ok_or_else(|| FilterError::UnknownField(self.field().to_owned()))?;
        Ok(match self {
            Self::Compare {
                op, value: wanted, ..
            } => {
                let text = as_text(value).to_lowercase();
                let wanted_lower = wanted.to_lowercase();
                match op {
                    Op::StartsWith => text.starts_with(&wanted_lower),
                    Op::EndsWith => text.ends_with(&wanted_lower),
                    Op::Contains => text.contains(&wanted_lower),
                    Op::Eq => compare(value, wanted) == Ordering::Equal,
                    Op::Gt => compare(value, wanted) == Ordering::Greater,
                    Op::Ge => compare(value, wanted) != Ordering::Less,
                    Op::Lt => compare(value, wanted) == Ordering::Less,
                    Op::Le => compare(value, wanted) != Ordering::Greater,
                }
            }
            Self::Range { from, to, .. } => {
                compare(value, from) != Ordering::Less && compare(value, to) != Ordering::Greater
            }
        })
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The date part of `YYYY-MM-DD…`, so that `2025-01-05T13:00:00Z` compares as
/// the day 2025-01-05: QAD dates have no time, which makes date filters day granular.
fn as_date(text: &str) -> Option<NaiveDate> {
    let day = text.get(..10)?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

/// Orders a row value against a filter literal: as dates when both are
/// dates, as numbers when the row value is a number, otherwise as
/// case-insensitive text (Progress compares character fields case-insensitively).
fn compare(value: &Value, literal: &str) -> Ordering {
    if let Value::Number(n) = value {
        if let (Some(left), Ok(right)) = (n.as_f64(), literal.trim().parse::<f64>()) {
            return left.partial_cmp(&right).unwrap_or(Ordering::Equal);
        }
    }
    let text = as_text(value);
    if let (Some(left), Some(right)) = (as_date(&text), as_date(literal)) {
        return left.cmp(&right);
    }
    text.to_lowercase().cmp(&literal.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row() -> serde_json::Map<String, Value> {
        match json!({
            "customer.customerCode": "C0000010",
            "customer.city": "München",
            "customer.lastModifiedDate": "2025-03-04T00:00:00.000Z",
            "customer.lastModifiedTime": 3600,
        }) {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn check(raw: &str) -> bool {
        Filter::parse(raw).unwrap().matches(&row()).unwrap()
    }

    #[test]
    fn text_operators_are_case_insensitive() {
        assert!(check("city,eq,münchen,literal"));
        assert!(check("customer.city,sw,MÜN,literal"));
        assert!(check("city,ew,chen,literal"));
        assert!(check("city,cn,nch,literal"));
        assert!(!check("city,cn,berlin,literal"));
    }

    #[test]
    fn dates_compare_by_day() {
        assert!(check("lastModifiedDate,ge,2025-03-04,literal"));
        // A timestamp later the same day still matches: QAD dates have no time.
        assert!(check("lastModifiedDate,ge,2025-03-04T23:59:59Z,literal"));
        assert!(!check("lastModifiedDate,gt,2025-03-04,literal"));
        assert!(!check("lastModifiedDate,ge,2025-03-05,literal"));
        assert!(check(
            "lastModifiedDate,rg,2025-03-01,literal,2025-03-04,literal"
        ));
        assert!(!check(
            "lastModifiedDate,rg,2025-03-05,literal,2025-03-09,literal"
        ));
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(check("lastModifiedTime,gt,900,literal"));
        assert!(check("lastModifiedTime,le,3600,literal"));
        assert!(!check("lastModifiedTime,lt,3600,literal"));
    }

    #[test]
    fn bad_filters_are_named() {
        assert_eq!(
            Filter::parse("city,like,x,literal"),
            Err(FilterError::UnknownOp("like".into()))
        );
        assert!(matches!(
            Filter::parse("city,eq,x"),
            Err(FilterError::Malformed(_))
        ));
        assert!(matches!(
            Filter::parse("d,rg,1,literal,2"),
            Err(FilterError::Malformed(_))
        ));
        let unknown = Filter::parse("nope,eq,x,literal").unwrap().matches(&row());
        assert_eq!(unknown, Err(FilterError::UnknownField("nope".into())));
    }
}
