//! Turning QAD's answers into success or typed errors. QAD reports many
//! failures at HTTP 200, so the body is inspected whatever the status.

use serde::Deserialize;
use serde_json::Value;

use crate::client::Reply;
use crate::error::{Error, FieldError, Result};

/// Passes a successful reply through; maps everything else to an [`Error`].
///
/// - 2xx with `submitResult.success == false`, or a bare `{"errors":[…]}`
///   body with no `data` → [`Error::Rejected`] / [`Error::Duplicate`];
/// - any other status with such a body → the same, keeping the status;
/// - any other status without one → [`Error::Api`].
///
/// # Errors
///
/// As listed.
pub(crate) fn check(reply: Reply) -> Result<Reply> {
    let status = reply.status.as_u16();
    let errors = Envelope::read(&reply.body).and_then(Envelope::field_errors);
    match errors {
        Some(errors) => Err(Error::from_field_errors(status, errors)),
        None if reply.status.is_success() => Ok(reply),
        None => Err(Error::Api {
            status,
            message: reply.snippet(),
        }),
    }
}

/// The top level of a QAD answer, as far as success or failure goes: a browse page's `data` is
/// skipped, not built (the caller parses the body for it; building it here too cost as much as
/// the page's own parse).
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "submitResult", default)]
    submit_result: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    data: bool,
    #[serde(default)]
    errors: Option<Value>,
}

/// `true` for a key that is there, whatever its value (`null` included).
fn present<'de, D: serde::Deserializer<'de>>(value: D) -> std::result::Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(value).map(|_| true)
}

impl Envelope {
    /// The body's envelope; `None` when it is not a JSON object. A body the envelope cannot
    /// take (a key twice, say) is read as a whole instead.
    fn read(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(body).ok().or_else(|| {
            let value = serde_json::from_slice::<Value>(body).ok()?;
            let root = value.as_object()?;
            Some(Self {
                submit_result: root.get("submitResult").cloned(),
                data: root.contains_key("data"),
                errors: root.get("errors").cloned(),
            })
        })
    }

    /// The errors the body reports, if it reports failure.
    fn field_errors(self) -> Option<Vec<FieldError>> {
        if let Some(submit) = self.submit_result.as_ref().and_then(Value::as_object) {
            let success = match submit.get("success") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                _ => true,
            };
            return (!success).then(|| parse_list(submit.get("errors")));
        }
        if self.data {
            return None;
        }
        let errors = parse_list(self.errors.as_ref());
        (!errors.is_empty()).then_some(errors)
    }
}

fn parse_list(list: Option<&Value>) -> Vec<FieldError> {
    list.and_then(Value::as_array)
        .map(|items| items.iter().map(parse_one).collect())
        .unwrap_or_default()
}

fn parse_one(item: &Value) -> FieldError {
    let text = |key: &str| match item.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    };
    let mut error = match item {
        Value::String(message) => FieldError::new(message.clone()),
        _ => FieldError::new(text("message").unwrap_or_default()),
    };
    error.field_name = text("fieldName");
    error.code = text("code");
    error.severity = text("severity");
    error.value = text("value");
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use serde_json::json;

    fn reply(status: u16, body: &Value) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: serde_json::to_vec(body).unwrap(),
        }
    }

    #[test]
    fn submit_result_false_at_200_is_rejected_with_every_field_error() {
        let body = json!({"submitResult": {"success": false, "errors": [
            {"fieldName": "customerCode", "message": "Field is mandatory", "code": 4012, "severity": 3, "value": ""},
            {"fieldName": "currencyCode", "message": "Invalid currency", "code": "19", "severity": "3"}
        ]}});
        match check(reply(200, &body)).unwrap_err() {
            Error::Rejected {
                status: 200,
                errors,
            } => {
                assert_eq!(errors.len(), 2);
                assert_eq!(errors[0].field_name.as_deref(), Some("customerCode"));
                assert_eq!(errors[0].code.as_deref(), Some("4012"));
                assert_eq!(errors[0].value, None);
                assert_eq!(errors[1].severity.as_deref(), Some("3"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_data_key_passes_whatever_its_value_and_a_body_with_a_key_twice_is_read_whole() {
        for data in [json!(null), json!([]), json!({"x": [1, 2]})] {
            let body = json!({"data": data, "errors": [{"message": "warn"}]});
            assert!(check(reply(200, &body)).is_ok(), "{body}");
        }
        // The envelope refuses a key twice; read whole, the last one counts, as before.
        let raw = br#"{"errors":[{"message":"first"}],"errors":[{"message":"last"}]}"#;
        let twice = Reply {
            status: StatusCode::OK,
            headers: Default::default(),
            body: raw.to_vec(),
        };
        match check(twice).unwrap_err() {
            Error::Rejected { errors, .. } => assert_eq!(errors[0].message, "last"),
            other => panic!("{other:?}"),
        }
        // Not an object, not JSON: no field errors, the status decides.
        for body in [&b"[1, 2]"[..], b"<html>oops</html>"] {
            let reply = Reply {
                status: StatusCode::OK,
                headers: Default::default(),
                body: body.to_vec(),
            };
            assert!(check(reply).is_ok());
        }
    }

    #[test]
    fn submit_result_true_passes() {
        assert!(check(reply(
            200,
            &json!({"submitResult": {"success": true, "errors": []}})
        ))
        .is_ok());
        assert!(check(reply(
            201,
            &json!({"data": {"x": 1}, "errors": [{"message": "warn"}]})
        ))
        .is_ok());
    }

    #[test]
    fn bare_errors_keep_the_status() {
        let body = json!({"errors": [{"severity": 1, "code": "403", "message": "Access is denied", "fieldName": ""}]});
        match check(reply(403, &body)).unwrap_err() {
            Error::Rejected {
                status: 403,
                errors,
            } => {
                assert_eq!(errors[0].message, "Access is denied");
                assert_eq!(errors[0].field_name, None);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            check(reply(200, &body)),
            Err(Error::Rejected { status: 200, .. })
        ));
    }

    #[test]
    fn plain_failures_are_api_errors() {
        let r = Reply {
            status: StatusCode::NOT_FOUND,
            headers: Default::default(),
            body: b"<html>no such page</html>".to_vec(),
        };
        match check(r).unwrap_err() {
            Error::Api {
                status: 404,
                message,
            } => assert!(message.contains("no such page")),
            other => panic!("{other:?}"),
        }
    }
}
