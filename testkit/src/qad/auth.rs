//! Logins (OAuth2 password grant, Spring form login, HTTP Basic) and the guard
//! that authenticates and authorises every API request.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::json;
use tokio::time::Instant;

use super::respond::{access_denied, oauth_error};
use super::state::{Shared, Tenant};

/// Query parameters, then form-body parameters (which win): QAD clients send
/// login fields either way.
fn params(uri: &axum::http::Uri, body: &[u8]) -> Vec<(String, String)> {
    let query = uri.query().unwrap_or_default().as_bytes();
    url::form_urlencoded::parse(query)
        .chain(url::form_urlencoded::parse(body))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether the login parameters carry the tenant's username and password under these names.
fn names_the_user(
    params: &[(String, String)],
    tenant: &Tenant,
    user: &str,
    password: &str,
) -> bool {
    param(params, user) == Some(tenant.username.as_str())
        && param(params, password) == Some(tenant.password.as_str())
}

/// What a locked user is told (`auth.lockout`), as QAD's Security Control
/// "maximum access failures" locks it.
const LOCKED: &str = "User account is locked";

/// `POST {root}/oauth/token`: the password grant.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let params = params(&uri, &body);
    let tenant = &shared.tenant;
    let mut live = shared.live();
    let grant = param(&params, "grant_type").unwrap_or_default();
    if grant != "password" {
        live.logins.rejected += 1;
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {grant}"),
        );
    }
    if param(&params, "client_id") != Some(tenant.client_id.as_str()) {
        live.logins.rejected += 1;
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    }
    if live.locked {
        live.logins.rejected += 1;
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", LOCKED);
    }
    if !names_the_user(&params, tenant, "username", "password") {
        live.login_failed(tenant.quirks.lockout_after);
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad credentials");
    }
    live.failed_in_row = 0;
    let token = live.new_secret();
    live.tokens
        .insert(token.clone(), Instant::now() + tenant.token_lifetime);
    live.logins.token_grants += 1;
    Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": tenant.token_lifetime.as_secs(),
    }))
    .into_response()
}

/// `POST {root}/j_spring_security_check`: Spring Security's form login.
/// Success and failure both redirect, as Spring does; only success sets a
/// `JSESSIONID` cookie.
pub(crate) async fn form_login(
    State(shared): State<Arc<Shared>>,
    uri: axum::http::Uri,
    body: Bytes,
) -> Response {
    let params = params(&uri, &body);
    let tenant = &shared.tenant;
    let mut live = shared.live();
    let home = format!("{}/", tenant.root);
    if live.locked || !names_the_user(&params, tenant, "j_username", "j_password") {
        if live.locked {
            live.logins.rejected += 1;
        } else {
            live.login_failed(tenant.quirks.lockout_after);
        }
        let failure = format!("{}/login?error", tenant.root);
        return (StatusCode::FOUND, [(header::LOCATION, failure)]).into_response();
    }
    live.failed_in_row = 0;
    let session = live.new_secret();
    live.sessions
        .insert(session.clone(), Instant::now() + tenant.token_lifetime);
    live.logins.form_logins += 1;
    let cookie = format!("JSESSIONID={session}; Path={home}; HttpOnly");
    (
        StatusCode::FOUND,
        [(header::LOCATION, home), (header::SET_COOKIE, cookie)],
    )
        .into_response()
}

/// `GET {root}/` and `GET {root}/login`: the pages the form login redirects to.
pub(crate) async fn page() -> Html<&'static str> {
    Html("<!doctype html><title>QAD</title><p>fake QAD tenant</p>")
}

/// Why a request is not authenticated.
enum Denied {
    /// No usable credentials at all.
    Missing,
    /// A token or session that has expired.
    Expired(&'static str),
    /// A token or session the tenant never issued, or wrong Basic credentials.
    Invalid(&'static str),
}

impl Denied {
    fn into_response(self) -> Response {
        match self {
            Self::Missing => oauth_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Full authentication is required to access this resource",
            ),
            Self::Expired(message) | Self::Invalid(message) => {
                oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", message)
            }
        }
    }
}

fn check_expiry(
    expiry: Option<&Instant>,
    expired: &'static str,
    unknown: &'static str,
) -> Result<(), Denied> {
    match expiry {
        Some(at) if Instant::now() < *at => Ok(()),
        Some(_) => Err(Denied::Expired(expired)),
        None => Err(Denied::Invalid(unknown)),
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("JSESSIONID="))
}

/// Accepts a live bearer token, HTTP Basic (when enabled) or a live form-login session.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<(), Denied> {
    let tenant = &shared.tenant;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(token) = authorization.and_then(|v| v.strip_prefix("Bearer ")) {
        let live = shared.live();
        return check_expiry(
            live.tokens.get(token.trim()),
            "Access token expired",
            "Invalid access token",
        );
    }
    if let Some(encoded) = authorization.and_then(|v| v.strip_prefix("Basic ")) {
        if !tenant.basic_auth {
            return Err(Denied::Missing);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let expected = format!("{}:{}", tenant.username, tenant.password);
        if shared.live().locked {
            return Err(Denied::Invalid(LOCKED));
        }
        return if decoded.as_deref() == Some(expected.as_str()) {
            Ok(())
        } else {
            Err(Denied::Invalid("Bad credentials"))
        };
    }
    if let Some(session) = session_cookie(headers) {
        let live = shared.live();
        return check_expiry(
            live.sessions.get(session),
            "Session expired",
            "Invalid session",
        );
    }
    Err(Denied::Missing)
}

/// Whether the request targets a forbidden path or browse id.
fn forbidden(shared: &Shared, request: &Request) -> bool {
    let tenant = &shared.tenant;
    let path = request.uri().path();
    let relative = path
        .strip_prefix(tenant.root.as_str())
        .unwrap_or(path)
        .trim_matches('/');
    if tenant.forbidden_paths.contains(relative) {
        return true;
    }
    let query = request.uri().query().unwrap_or_default().as_bytes();
    url::form_urlencoded::parse(query)
        .any(|(k, v)| k == "browseId" && tenant.forbidden_browses.contains(v.as_ref()))
}

/// Middleware on every API route and the fallback: 401 without valid
/// credentials, then 403 for forbidden paths, as QAD's security filter does.
pub(crate) async fn guard(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(denied) = authenticate(&shared, request.headers()) {
        return denied.into_response();
    }
    if forbidden(&shared, &request) {
        return access_denied();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::HeaderValue;

    use super::*;
    use crate::qad::FakeQad;

    async fn issue(qad: &FakeQad) -> String {
        let body = format!(
            "client_id={}&grant_type=password&username={}&password={}",
            qad.client_id(),
            qad.username(),
            qad.password()
        );
        let uri = axum::http::Uri::from_static("/clouderp/oauth/token");
        let response = token(State(qad.shared.clone()), uri, Bytes::from(body)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        json["access_token"].as_str().unwrap().to_owned()
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        headers.insert(header::AUTHORIZATION, value);
        headers
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_expire_after_their_lifetime_on_tokio_time() {
        let qad = FakeQad::builder()
            .token_lifetime(Duration::from_secs(60))
            .start()
            .await
            .unwrap();
        let token = issue(&qad).await;
        let headers = bearer(&token);

        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(authenticate(&qad.shared, &headers).is_ok());

        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(matches!(
            authenticate(&qad.shared, &headers),
            Err(Denied::Expired("Access token expired"))
        ));
        assert!(matches!(
            authenticate(&qad.shared, &bearer("forged")),
            Err(Denied::Invalid("Invalid access token"))
        ));
    }
}
