//! How many rows a browse read will bring: `GET api/qracore/browses/totalCount/`.
//!
//! The endpoint was seen in public code; the shape of its answer was not
//! (`docs/qad-api.md`, "Inferred behaviours"). A total is a nicety for
//! progress displays, so a tenant without the endpoint, or with an answer
//! of another shape, gives no total instead of an error.

use serde_json::Value;

use crate::behaviour::CountEndpoint;
use crate::browse::Browse;
use crate::client::Call;
use crate::error::Result;
use crate::read::{Reader, Record};

/// The count endpoint below the tenant URL, trailing slash as public code
/// writes it.
pub const COUNT_PATH: &str = "api/qracore/browses/totalCount/";

/// Members of a count object read as the count, in this order.
const COUNT_MEMBERS: &[&str] = &["totalCount", "count", "total", "data"];

impl Browse {
    /// How many rows this read will bring, asked of the tenant once with the
    /// same browse id, filters and domain scope as the read (paging aside).
    ///
    /// `Ok(None)` when `count.endpoint = "none"`, when the tenant answers
    /// 404 or 405, or when the answer has no recognised shape; the reason is
    /// logged once per client. Recognised shapes (see [`parse_count`]): a
    /// bare integer, or an object holding one.
    ///
    /// # Errors
    ///
    /// The call's other errors (authentication, 5xx after retries,
    /// transport, a body that is not JSON): a caller that only wants the
    /// total for display can treat them as "no total".
    pub async fn total(&self) -> Result<Option<u64>> {
        if self.client().behaviour().count_endpoint == CountEndpoint::None {
            return Ok(None);
        }
        let mut call = Call::get(COUNT_PATH).query("browseId", self.id().as_str());
        for filter in self.scoped_filters()? {
            call = call.query("filter", filter);
        }
        let reply = match self.client().call(&call).await {
            Ok(reply) => reply,
            Err(e) if matches!(e.status(), Some(404 | 405)) => {
                self.no_total(&format!("the tenant answers {e}"));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let context = format!("total count of browse {}", self.id());
        let body = reply.json(&context)?;
        let count = parse_count(&body);
        if count.is_none() {
            self.no_total(&format!("unrecognised answer {}", snippet(&body)));
        }
        Ok(count)
    }

    fn no_total(&self, why: &str) {
        if self.client().first_missing_count() {
            tracing::info!(
                browse = %self.id(),
                "qad gives no browse total ({why}); progress shows counts without a total. \
                 Set [qad.behaviour] count.endpoint = \"none\" to stop asking"
            );
        }
    }
}

impl<T: Record> Reader<T> {
    /// How many records this read will bring, as [`Browse::total`] says.
    ///
    /// # Errors
    ///
    /// As [`Browse::total`].
    pub async fn total(&self) -> Result<Option<u64>> {
        self.browse().total().await
    }
}

/// The count in a `totalCount` answer, or `None` for a shape not known:
///
/// - a bare non-negative integer: `42`;
/// - an object whose `totalCount`, `count`, `total` or `data` member (looked
///   at in that order) is one, or is an object that holds one this way:
///   `{"totalCount":42}`, `{"data":{"totalCount":42}}`;
/// - an object whose single member is one: `{"rows":42}`.
///
/// An integer written as a string of digits (`"42"`) counts as one, since
/// QAD writes other numbers and flags as strings (`HasMoreParams: "true"`).
///
/// ```
/// use qad_client::parse_count;
/// use serde_json::json;
///
/// assert_eq!(parse_count(&json!(42)), Some(42));
/// assert_eq!(parse_count(&json!({"data": {"totalCount": "7"}})), Some(7));
/// assert_eq!(parse_count(&json!({"rows": 3})), Some(3));
/// assert_eq!(parse_count(&json!({"a": 1, "b": 2})), None);
/// assert_eq!(parse_count(&json!(-1)), None);
/// ```
pub fn parse_count(body: &Value) -> Option<u64> {
    parse_at(body, 0)
}

fn parse_at(body: &Value, depth: u8) -> Option<u64> {
    match body {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        Value::Object(map) if depth < 2 => COUNT_MEMBERS
            .iter()
            .find_map(|name| map.get(*name))
            .or_else(|| match map.len() {
                1 => map.values().next(),
                _ => None,
            })
            .and_then(|inner| parse_at(inner, depth + 1)),
        _ => None,
    }
}

/// The start of an unrecognised answer, for the log.
fn snippet(body: &Value) -> String {
    const MAX: usize = 120;
    let text = body.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        assert_eq!(parse_count(&json!(0)), Some(0));
        assert_eq!(parse_count(&json!({"count": 5})), Some(5));
        assert_eq!(parse_count(&json!({"total": 6, "other": "x"})), Some(6));
        assert_eq!(parse_count(&json!({"data": 8})), Some(8));
        assert_eq!(
            parse_count(&json!({"data": {"rows": {"n": 1}}})),
            None,
            "too deep"
        );
        assert_eq!(parse_count(&json!(1.5)), None);
        assert_eq!(parse_count(&json!("12a")), None);
        assert_eq!(parse_count(&json!([3])), None);
        assert_eq!(parse_count(&json!(null)), None);
    }
}
