//! Request parsing and response helpers shared by the fake's handlers.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value};

use super::problem::Problem;

/// Query parameters, as Mailchimp reads them.
pub(crate) type Query = HashMap<String, String>;

/// What a handler returns.
pub(crate) type Reply = Result<Response, Problem>;

/// Parses a JSON object body, or answers 400 "JSON Parse Exception" as Mailchimp does.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Problem> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(json_parse_exception("the body must be a JSON object")),
        Err(e) => Err(json_parse_exception(&e.to_string())),
    }
}

/// A request body that must be a JSON object: the last extractor of every handler that reads a body.
/// Anything else is refused as [`parse_object`] refuses it.
#[derive(Debug)]
pub(crate) struct ObjectBody(pub(crate) Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for ObjectBody {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_object(&bytes)
            .map(Self)
            .map_err(IntoResponse::into_response)
    }
}

fn json_parse_exception(why: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "JSON Parse Exception",
        format!("We encountered an unspecified JSON parsing error: {why}"),
    )
}

/// A `200` JSON answer (`fields`/`exclude_fields` applied).
pub(crate) fn ok(query: &Query, value: Value) -> Reply {
    Ok(json(StatusCode::OK, select_fields(query, value)?))
}

/// A JSON answer with the given status.
pub(crate) fn json(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

/// `204 No Content`.
pub(crate) fn no_content() -> Reply {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The current time in Mailchimp's format (`2024-05-01T12:00:00+00:00`).
pub(crate) fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// Mailchimp's offset pagination.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    offset: usize,
    count: usize,
}

/// The largest `count` Mailchimp accepts.
pub(crate) const MAX_COUNT: usize = 1000;

impl Page {
    /// Reads `offset` (default 0) and `count` (default 10, at most 1000).
    pub(crate) fn from_query(query: &Query) -> Result<Self, Problem> {
        let number = |name: &str, default: usize| match query.get(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse::<usize>().map_err(|_| {
                Problem::invalid(
                    name,
                    format!("{name} must be a non-negative integer, got {raw:?}"),
                )
            }),
        };
        let count = number("count", 10)?;
        if count > MAX_COUNT {
            return Err(Problem::invalid(
                "count",
                format!("count must be at most {MAX_COUNT}, got {count}"),
            ));
        }
        Ok(Self {
            offset: number("offset", 0)?,
            count,
        })
    }

    /// The page's items, and the total before paging. Pass references and clone or render only the
    /// page: collections can be large.
    pub(crate) fn slice<T, I>(self, items: I) -> (Vec<T>, usize)
    where
        I: IntoIterator<Item = T>,
    {
        let mut total = 0;
        let mut page = Vec::new();
        for item in items {
            if total >= self.offset && page.len() < self.count {
                page.push(item);
            }
            total += 1;
        }
        (page, total)
    }
}

/// Reads an optional string field.
pub(crate) fn str_field<'a>(
    body: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, Problem> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Problem::invalid(field, format!("{field} must be a string"))),
    }
}

/// Reads a required string field.
pub(crate) fn required_str<'a>(
    body: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a str, Problem> {
    match str_field(body, field)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(Problem::invalid(field, "This value should not be blank.")),
    }
}

/// Merges `patch` into `target`: keys present in `patch` replace those in `target`; objects merge one
/// level deep (so `merge_fields: {FNAME}` keeps `LNAME`).
pub(crate) fn merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match (target.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(new)) => {
                for (k, v) in new {
                    existing.insert(k.clone(), v.clone());
                }
            }
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Applies `fields` / `exclude_fields` (comma-separated, dot notation into objects and arrays).
fn select_fields(query: &Query, value: Value) -> Result<Value, Problem> {
    let split = |raw: &String| -> Vec<Vec<String>> {
        raw.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.split('.').map(str::to_owned).collect())
            .collect()
    };
    match (query.get("fields"), query.get("exclude_fields")) {
        (Some(_), Some(_)) => Err(Problem::bad_request(
            "fields and exclude_fields are mutually exclusive.",
        )),
        (Some(fields), None) => Ok(keep(&value, &split(fields))),
        (None, Some(fields)) => {
            let mut value = value;
            for path in split(fields) {
                drop_path(&mut value, &path);
            }
            Ok(value)
        }
        (None, None) => Ok(value),
    }
}

fn keep(value: &Value, paths: &[Vec<String>]) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| keep(v, paths)).collect()),
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                let rest: Vec<Vec<String>> = paths
                    .iter()
                    .filter(|p| p.first() == Some(key))
                    .map(|p| p[1..].to_vec())
                    .collect();
                if rest.is_empty() {
                    continue;
                }
                if rest.iter().any(Vec::is_empty) {
                    out.insert(key.clone(), child.clone());
                } else {
                    out.insert(key.clone(), keep(child, &rest));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn drop_path(value: &mut Value, path: &[String]) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| drop_path(v, path)),
        Value::Object(map) => match path {
            [] => {}
            [last] => {
                map.remove(last);
            }
            [first, rest @ ..] => {
                if let Some(child) = map.get_mut(first) {
                    drop_path(child, rest);
                }
            }
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Query {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn fields_keep_dotted_paths_through_arrays() {
        let value =
            json!({"lists": [{"id": "a", "name": "n", "stats": {"x": 1}}], "total_items": 1});
        let kept = select_fields(&query(&[("fields", "lists.id,total_items")]), value).unwrap();
        assert_eq!(kept, json!({"lists": [{"id": "a"}], "total_items": 1}));
    }

    #[test]
    fn exclude_fields_drop_dotted_paths() {
        let value = json!({"lists": [{"id": "a", "stats": {"x": 1, "y": 2}}]});
        let kept = select_fields(&query(&[("exclude_fields", "lists.stats.x")]), value).unwrap();
        assert_eq!(kept, json!({"lists": [{"id": "a", "stats": {"y": 2}}]}));
    }

    #[test]
    fn page_slices_and_counts_and_rejects_oversized_counts() {
        let page = Page::from_query(&query(&[("offset", "2"), ("count", "2")])).unwrap();
        let (items, total) = page.slice((0..5).map(|i| json!(i)));
        assert_eq!(items, vec![json!(2), json!(3)]);
        assert_eq!(total, 5);
        assert!(Page::from_query(&query(&[("count", "1001")])).is_err());
        assert!(Page::from_query(&query(&[("offset", "-1")])).is_err());
    }

    #[test]
    fn merge_keeps_untouched_nested_keys() {
        let mut target = json!({"merge_fields": {"FNAME": "a", "LNAME": "b"}, "vip": false});
        let patch = json!({"merge_fields": {"FNAME": "c"}, "vip": true});
        merge(target.as_object_mut().unwrap(), patch.as_object().unwrap());
        assert_eq!(
            target,
            json!({"merge_fields": {"FNAME": "c", "LNAME": "b"}, "vip": true})
        );
    }
}
