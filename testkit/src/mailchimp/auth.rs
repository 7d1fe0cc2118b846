//! Authentication, the per-account concurrency limit and the OAuth metadata endpoint.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use serde_json::json;

use super::{problem::Problem, request::json, App};

/// The credential a request authenticated with, put in the request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct Credential(pub(crate) String);

/// The secret carried by `Authorization: Basic base64(any:SECRET)` or `Authorization: Bearer SECRET`.
fn presented_secret(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        // Any username: the password is the key.
        let (_, secret) = decoded.split_once(':')?;
        return Some(secret.to_owned());
    }
    None
}

/// Lets through requests carrying a configured API key or OAuth token; else 401 "API Key Invalid".
pub(crate) async fn authenticate(
    State(app): State<App>,
    mut request: Request,
    next: Next,
) -> Response {
    match presented_secret(request.headers()) {
        Some(secret) if app.accepts(&secret) => {
            request.extensions_mut().insert(Credential(secret));
            next.run(request).await
        }
        _ => Problem::api_key_invalid().into_response(),
    }
}

/// Refuses the request with 429 when its account already has `limit` requests in flight (all credentials).
pub(crate) async fn limit_concurrency(
    State(app): State<App>,
    request: Request,
    next: Next,
) -> Response {
    let Some(Credential(secret)) = request.extensions().get::<Credential>().cloned() else {
        return next.run(request).await;
    };
    match app.limiter.enter(&secret) {
        Some(_slot) => next.run(request).await,
        None => Problem::too_many_requests(app.limiter.limit()).into_response(),
    }
}

/// `GET /oauth2/metadata` with `Authorization: OAuth <token>`: the account's data center and API endpoint,
/// which points back at this fake.
pub(crate) async fn metadata(State(app): State<App>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("oauth"))
        .map(|(_, token)| token.trim().to_owned());
    match token {
        Some(token) if app.oauth_tokens.contains(&token) => {
            let endpoint = self_url(&headers, &app);
            json(
                StatusCode::OK,
                json!({
                    "dc": app.data_center,
                    "role": "owner",
                    "accountname": "Testkit Fake Account",
                    "user_id": 1_000_001,
                    "login": {
                        "email": "owner@northwind-mfg.com",
                        "avatar": null,
                        "login_id": 1_000_001,
                        "login_name": "testkit",
                        "login_email": "owner@northwind-mfg.com",
                    },
                    "login_url": endpoint,
                    "api_endpoint": endpoint,
                }),
            )
        }
        _ => json(
            StatusCode::UNAUTHORIZED,
            json!({ "error": "invalid_token", "error_description": "The access token is invalid or has been revoked." }),
        ),
    }
}

/// This server's root URL as the client addressed it.
fn self_url(headers: &HeaderMap, app: &App) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| app.base_url(), |host| format!("http://{host}"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn basic_with_any_username_and_bearer_carry_the_key() {
        let basic = base64::engine::general_purpose::STANDARD.encode("anystring:key-us1");
        assert_eq!(
            presented_secret(&with_auth(&format!("Basic {basic}"))).as_deref(),
            Some("key-us1")
        );
        assert_eq!(
            presented_secret(&with_auth("bearer key-us1")).as_deref(),
            Some("key-us1")
        );
        assert_eq!(presented_secret(&with_auth("OAuth key-us1")), None);
        assert_eq!(presented_secret(&HeaderMap::new()), None);
    }
}
