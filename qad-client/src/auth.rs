//! Credentials and the tenant session: login, renewal ahead of expiry, and a
//! single shared renewal when many callers see a 401 at once.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderValue, AUTHORIZATION, LOCATION};
use reqwest::{RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::client::{Reply, Transport};
use crate::error::{Error, Result};

/// How the client proves who it is to the tenant.
///
/// Passwords are [`SecretString`]s from here to the request; `Debug` shows
/// only the method and user name.
///
/// ```
/// use qad_client::Credentials;
///
/// let creds = Credentials::oauth_password("qad-client-id", "mfg@acme", "s3cret");
/// let shown = format!("{creds:?}");
/// assert!(shown.contains("mfg@acme"));
/// assert!(!shown.contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct Credentials(Method);

#[derive(Clone)]
enum Method {
    OAuthPassword {
        client_id: String,
        username: String,
        password: Arc<SecretString>,
    },
    FormLogin {
        username: String,
        password: Arc<SecretString>,
    },
    Basic {
        username: String,
        password: Arc<SecretString>,
    },
}

impl Credentials {
    /// OAuth2 password grant: `POST {tenant}/oauth/token` with the form fields
    /// `client_id`, `grant_type=password`, `username`, `password`; the
    /// `access_token` is then sent as `Authorization: Bearer`. This is what
    /// QAD recommends for cloud tenants.
    pub fn oauth_password(
        client_id: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        Self(Method::OAuthPassword {
            client_id: client_id.into(),
            username: username.into(),
            password: Arc::new(password.into()),
        })
    }

    /// On-premise Web UI form login: `POST {tenant}/j_spring_security_check`
    /// with `j_username` and `j_password` as form fields; the session cookie
    /// it sets is sent with every later request.
    pub fn form_login(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self(Method::FormLogin {
            username: username.into(),
            password: Arc::new(password.into()),
        })
    }

    /// HTTP Basic on every request. QAD supports it but calls it slower than
    /// OAuth2; there is no session to renew, so a 401 is final.
    pub fn basic(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        Self(Method::Basic {
            username: username.into(),
            password: Arc::new(password.into()),
        })
    }

    /// The user name.
    pub fn username(&self) -> &str {
        match &self.0 {
            Method::OAuthPassword { username, .. }
            | Method::FormLogin { username, .. }
            | Method::Basic { username, .. } => username,
        }
    }

    /// A short name of the method: `oauth2-password`, `form-login` or `basic`.
    pub fn method_name(&self) -> &'static str {
        match &self.0 {
            Method::OAuthPassword { .. } => "oauth2-password",
            Method::FormLogin { .. } => "form-login",
            Method::Basic { .. } => "basic",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Credentials");
        s.field("method", &self.method_name());
        if let Method::OAuthPassword { client_id, .. } = &self.0 {
            s.field("client_id", client_id);
        }
        s.field("username", &self.username())
            .field("password", &"** redacted **")
            .finish()
    }
}

/// What one request attaches to prove the session.
#[derive(Clone)]
pub(crate) struct Auth {
    generation: u64,
    header: AuthHeader,
}

#[derive(Clone)]
enum AuthHeader {
    Bearer(Arc<SecretString>),
    Basic(String, Arc<SecretString>),
    /// The session cookie lives in the HTTP client's cookie store.
    Cookie,
}

impl Auth {
    /// Attaches the credentials to a request.
    pub(crate) fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.header {
            AuthHeader::Bearer(token) => {
                match HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())) {
                    Ok(mut value) => {
                        value.set_sensitive(true);
                        request.header(AUTHORIZATION, value)
                    }
                    // A token with control characters cannot be sent; the
                    // request then fails with 401 and the session is renewed.
                    Err(_) => request,
                }
            }
            AuthHeader::Basic(user, password) => {
                request.basic_auth(user, Some(password.expose_secret()))
            }
            AuthHeader::Cookie => request,
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// The live session, shared by every clone of a client.
///
/// The mutex is held while logging in, so callers arriving during a login
/// wait for it instead of starting their own; the generation counter tells a
/// caller whose request failed with an old token that someone already renewed.
pub(crate) struct Session {
    credentials: Credentials,
    renew_before: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    generation: u64,
    active: Option<Active>,
    /// When a login with these credentials was refused: no login is tried
    /// again until [`Session::allow_login`], so repeated attempts cannot
    /// lock the QAD user.
    refused_at: Option<SystemTime>,
}

struct Active {
    header: AuthHeader,
    /// When to log in again before the tenant says 401; `None` when the
    /// lifetime is unknown.
    refresh_at: Option<Instant>,
}

impl Active {
    fn is_fresh(&self) -> bool {
        self.refresh_at.is_none_or(|at| Instant::now() < at)
    }
}

impl Session {
    pub(crate) fn new(credentials: Credentials, renew_before: Duration) -> Self {
        Self {
            credentials,
            renew_before,
            state: Mutex::new(State::default()),
        }
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Whether a 401 can be cured by logging in again (not for Basic).
    /// Remembers that the tenant refused these credentials (a Basic 401).
    pub(crate) async fn refuse(&self) {
        let mut state = self.state.lock().await;
        state.active = None;
        state.refused_at.get_or_insert_with(SystemTime::now);
    }

    /// Since when logins are blocked after a refusal, if they are.
    pub(crate) async fn refused_at(&self) -> Option<SystemTime> {
        self.state.lock().await.refused_at
    }

    /// Lets the next call log in again after a refusal.
    pub(crate) async fn allow_login(&self) {
        self.state.lock().await.refused_at = None;
    }

    pub(crate) fn renewable(&self) -> bool {
        !matches!(self.credentials.0, Method::Basic { .. })
    }

    /// Whether `reply` says the session is gone: a 401, or for a form-login
    /// session, a redirect to the login page.
    pub(crate) fn is_expired(&self, reply: &Reply) -> bool {
        if reply.status == StatusCode::UNAUTHORIZED {
            return true;
        }
        matches!(self.credentials.0, Method::FormLogin { .. })
            && reply.status.is_redirection()
            && redirect_target(reply).is_some_and(|l| l.to_ascii_lowercase().contains("login"))
    }

    /// The session to use now, logging in first when there is none or it is
    /// about to expire.
    ///
    /// # Errors
    ///
    /// [`Error::Auth`] when the login is refused; transport errors.
    pub(crate) async fn current(&self, transport: &Transport) -> Result<Auth> {
        let mut state = self.state.lock().await;
        if let Some(active) = state.active.as_ref().filter(|a| a.is_fresh()) {
            return Ok(Auth {
                generation: state.generation,
                header: active.header.clone(),
            });
        }
        self.login_locked(&mut state, transport).await
    }

    /// Replaces the session that `failed` was made with. If another caller
    /// already replaced it, that newer session is returned without a login.
    ///
    /// # Errors
    ///
    /// As [`Session::current`].
    pub(crate) async fn renew(&self, failed: &Auth, transport: &Transport) -> Result<Auth> {
        let mut state = self.state.lock().await;
        if state.generation != failed.generation {
            if let Some(active) = state.active.as_ref().filter(|a| a.is_fresh()) {
                return Ok(Auth {
                    generation: state.generation,
                    header: active.header.clone(),
                });
            }
        }
        self.login_locked(&mut state, transport).await
    }

    async fn login_locked(&self, state: &mut State, transport: &Transport) -> Result<Auth> {
        state.active = None;
        if state.refused_at.is_some() {
            return Err(Error::LoginBlocked);
        }
        let active = match self.login(transport).await {
            Err(e @ Error::Auth { .. }) => {
                state.refused_at = Some(SystemTime::now());
                tracing::warn!(
                    "qad refused the login; no further login is tried until the credentials \
                     change or a person runs `ml-connector connect`"
                );
                return Err(e);
            }
            other => other?,
        };
        state.generation += 1;
        let auth = Auth {
            generation: state.generation,
            header: active.header.clone(),
        };
        state.active = Some(active);
        Ok(auth)
    }

    async fn login(&self, transport: &Transport) -> Result<Active> {
        match &self.credentials.0 {
            Method::Basic { username, password } => Ok(Active {
                header: AuthHeader::Basic(username.clone(), Arc::clone(password)),
                refresh_at: None,
            }),
            Method::OAuthPassword {
                client_id,
                username,
                password,
            } => {
                let url = transport.base().join("oauth/token");
                let reply = transport
                    .send(|| {
                        transport.http().post(url.clone()).form(&[
                            ("client_id", client_id.as_str()),
                            ("grant_type", "password"),
                            ("username", username.as_str()),
                            ("password", password.expose_secret()),
                        ])
                    })
                    .await?;
                tracing::debug!(status = reply.status.as_u16(), "qad oauth token request");
                self.token_from(&reply)
            }
            Method::FormLogin { username, password } => {
                let url = transport.base().join("j_spring_security_check");
                let reply = transport
                    .send(|| {
                        transport.http().post(url.clone()).form(&[
                            ("j_username", username.as_str()),
                            ("j_password", password.expose_secret()),
                        ])
                    })
                    .await?;
                tracing::debug!(status = reply.status.as_u16(), "qad form login");
                let refused_redirect = reply.status.is_redirection()
                    && redirect_target(&reply)
                        .is_some_and(|l| l.to_ascii_lowercase().contains("error"));
                if reply.status.is_success() || (reply.status.is_redirection() && !refused_redirect)
                {
                    Ok(Active {
                        header: AuthHeader::Cookie,
                        refresh_at: None,
                    })
                } else {
                    Err(Error::Auth {
                        status: Some(reply.status.as_u16()),
                        message: if refused_redirect {
                            "form login refused (redirected to the login error page)".to_owned()
                        } else {
                            format!("form login refused: {}", reply.snippet())
                        },
                    })
                }
            }
        }
    }

    fn token_from(&self, reply: &Reply) -> Result<Active> {
        #[derive(Deserialize)]
        struct TokenResponse {
            access_token: Option<String>,
            #[serde(default, deserialize_with = "crate::de::opt")]
            expires_in: Option<i64>,
            error: Option<String>,
            error_description: Option<String>,
        }
        let status = reply.status.as_u16();
        let parsed: Option<TokenResponse> = serde_json::from_slice(&reply.body).ok();
        if !reply.status.is_success() {
            let message = parsed
                .and_then(|t| t.error_description.or(t.error))
                .unwrap_or_else(|| reply.snippet());
            return Err(Error::Auth {
                status: Some(status),
                message: format!("token request refused: {message}"),
            });
        }
        let token = parsed.and_then(|t| {
            t.access_token
                .filter(|a| !a.is_empty())
                .map(|a| (a, t.expires_in))
        });
        let Some((token, expires_in)) = token else {
            return Err(Error::Auth {
                status: Some(status),
                message: "token response has no access_token".to_owned(),
            });
        };
        let refresh_at = expires_in.map(|secs| {
            let lifetime = Duration::from_secs(secs.max(0).unsigned_abs());
            // Renew `renew_before` ahead, but never earlier than half-way.
            let margin = self.renew_before.min(lifetime / 2);
            Instant::now() + lifetime.saturating_sub(margin)
        });
        Ok(Active {
            header: AuthHeader::Bearer(Arc::new(SecretString::from(token))),
            refresh_at,
        })
    }
}

fn redirect_target(reply: &Reply) -> Option<&str> {
    reply.headers.get(LOCATION).and_then(|l| l.to_str().ok())
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("credentials", &self.credentials)
            .field("renew_before", &self.renew_before)
            .finish_non_exhaustive()
    }
}
