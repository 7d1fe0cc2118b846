//! Mailchimp's error responses: `application/problem+json` documents.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{json, Value};

/// The `type` Mailchimp puts in every problem document.
pub(crate) const ERROR_TYPE: &str = "https://mailchimp.com/developer/marketing/docs/errors/";

/// A problem document on its way to the client.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
    errors: Vec<Value>,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            title,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// 400 "Invalid Resource" with one `errors[]` entry naming the field.
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "Invalid Resource",
            detail: "The resource submitted could not be validated. For field-specific details, see the 'errors' array.".to_owned(),
            errors: vec![json!({ "field": field, "message": message })],
        }
    }

    /// 400 "Invalid Resource" with its own detail and one `errors[]` entry.
    pub(crate) fn invalid_with_detail(
        detail: impl Into<String>,
        field: &str,
        message: impl Into<String>,
    ) -> Self {
        let mut problem = Self::invalid(field, message);
        problem.detail = detail.into();
        problem
    }

    /// The detail, followed by the first field error if any.
    pub(crate) fn detail_with_fields(&self) -> String {
        match self.field_error() {
            Some((field, message)) => format!("{} ({field}: {message})", self.detail),
            None => self.detail.clone(),
        }
    }

    /// The field and message of the first `errors[]` entry, if any.
    pub(crate) fn field_error(&self) -> Option<(String, String)> {
        let first = self.errors.first()?;
        Some((
            first["field"].as_str().unwrap_or_default().to_owned(),
            first["message"].as_str().unwrap_or_default().to_owned(),
        ))
    }

    /// 400 "Bad Request".
    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad Request", detail)
    }

    /// 404 "Resource Not Found".
    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Resource Not Found",
            "The requested resource could not be found.",
        )
    }

    /// 401 "API Key Invalid".
    pub(crate) fn api_key_invalid() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "API Key Invalid",
            "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        )
    }

    pub(crate) fn too_many_requests(limit: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            format!("You have exceeded the limit of {limit} simultaneous connections."),
        )
    }

    pub(crate) fn detail(&self) -> &str {
        &self.detail
    }

    /// The problem as a `serde_json::Value` (the body that would be sent).
    pub(crate) fn to_json(&self) -> Value {
        static INSTANCE: AtomicU64 = AtomicU64::new(1);
        let n = INSTANCE.fetch_add(1, Ordering::Relaxed);
        let mut doc = json!({
            "type": ERROR_TYPE,
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "instance": format!("00000000-0000-4000-8000-{n:012x}"),
        });
        if !self.errors.is_empty() {
            doc["errors"] = Value::Array(self.errors.clone());
        }
        doc
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (
            self.status,
            [(
                header::CONTENT_TYPE,
                "application/problem+json; charset=utf-8",
            )],
            self.to_json().to_string(),
        )
            .into_response()
    }
}

/// The body of an injected `429`, `500` or `503`, shaped as Mailchimp's.
pub(crate) fn fault_response(status: StatusCode) -> Response {
    let title = match status {
        StatusCode::TOO_MANY_REQUESTS => "Too Many Requests",
        StatusCode::SERVICE_UNAVAILABLE => "Service Unavailable",
        _ => "Internal Server Error",
    };
    Problem::new(status, title, "An injected fault (testkit).").into_response()
}
