//! QAD's response shapes: bare `errors`, `submitResult` and OAuth errors.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// One field error as QAD writes it inside `errors` arrays.
pub(crate) fn field_error(field: &str, message: &str, code: &str, value: &str) -> Value {
    json!({
        "fieldName": field,
        "message": message,
        "code": code,
        "severity": 1,
        "value": value,
    })
}

/// A gateway-style failure: `{"errors":[{"severity":1,"code":"<status>","message":…,"fieldName":…}]}`.
pub(crate) fn bare_errors(status: StatusCode, message: &str, field: &str) -> Response {
    let body = json!({
        "errors": [{
            "severity": 1,
            "code": status.as_u16().to_string(),
            "message": message,
            "fieldName": field,
        }]
    });
    (status, Json(body)).into_response()
}

/// `403` with QAD's "Access is denied".
pub(crate) fn access_denied() -> Response {
    bare_errors(StatusCode::FORBIDDEN, "Access is denied", "")
}

/// `404` naming the path.
pub(crate) fn not_found(path: &str) -> Response {
    bare_errors(
        StatusCode::NOT_FOUND,
        &format!("No resource found at {path}"),
        "",
    )
}

/// `400` for a malformed request.
pub(crate) fn bad_request(message: &str, field: &str) -> Response {
    bare_errors(StatusCode::BAD_REQUEST, message, field)
}

/// `{"submitResult":{"success":…,"errors":[…]}}` plus any extra top-level members.
pub(crate) fn submit_result(
    status: StatusCode,
    errors: Vec<Value>,
    data: Option<Value>,
) -> Response {
    let mut body = json!({
        "submitResult": {
            "success": errors.is_empty(),
            "errors": errors,
        }
    });
    if let (Some(data), Value::Object(map)) = (data, &mut body) {
        map.insert("data".to_owned(), data);
    }
    (status, Json(body)).into_response()
}

/// A Spring Security OAuth2 error: `{"error":…,"error_description":…}`.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    if status == StatusCode::UNAUTHORIZED {
        let challenge = format!("Bearer error=\"{error}\", error_description=\"{description}\"");
        (status, [(header::WWW_AUTHENTICATE, challenge)], Json(body)).into_response()
    } else {
        (status, Json(body)).into_response()
    }
}

/// Bodies for injected `429`/`500`/`503` answers, in the bare-`errors` shape
/// QAD's gateway uses (plugged into [`Faults`](crate::faults::Faults)).
pub(crate) fn injected_fault(status: StatusCode) -> Response {
    bare_errors(status, status.canonical_reason().unwrap_or("Error"), "")
}
