//! Credentials and data-center resolution.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{Error, Result};

/// How the client authenticates: an API key or an OAuth access token.
///
/// The secret stays a [`SecretString`] until the `Authorization` header is
/// built; `Debug` never shows it.
///
/// ```
/// use mailchimp_client::Credentials;
///
/// let creds = Credentials::api_key("0123456789abcdef-us6");
/// assert_eq!(format!("{creds:?}"), "Credentials::ApiKey(<redacted>)");
/// ```
#[derive(Clone)]
pub struct Credentials(Kind);

#[derive(Clone)]
enum Kind {
    ApiKey(SecretString),
    OAuthToken(SecretString),
}

impl Credentials {
    /// An API key such as `0123…cdef-us6`: sent as HTTP Basic
    /// (`anystring:KEY`); the data center is the part after the last `-`.
    ///
    /// The key is checked by [`ClientBuilder::build`](crate::ClientBuilder::build),
    /// before any request.
    pub fn api_key(key: impl Into<SecretString>) -> Self {
        Credentials(Kind::ApiKey(key.into()))
    }

    /// An OAuth 2 access token: sent as `Authorization: Bearer <token>`; the
    /// data center is looked up once, at build, from the OAuth metadata
    /// endpoint.
    pub fn oauth_token(token: impl Into<SecretString>) -> Self {
        Credentials(Kind::OAuthToken(token.into()))
    }

    /// Whether these are OAuth credentials.
    pub fn is_oauth(&self) -> bool {
        matches!(self.0, Kind::OAuthToken(_))
    }

    /// Checks the secret's form and returns the data center an API key
    /// names (`None` for OAuth tokens, whose data center is looked up).
    pub(crate) fn check(&self) -> Result<Option<DataCenter>> {
        match &self.0 {
            Kind::ApiKey(key) => DataCenter::from_api_key(key.expose_secret()).map(Some),
            Kind::OAuthToken(token) => {
                let token = token.expose_secret();
                if token.is_empty() {
                    Err(Error::Config("the OAuth token is empty"))
                } else if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    Err(Error::Config(
                        "the OAuth token contains whitespace or control characters",
                    ))
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// The OAuth token, for the metadata lookup header.
    pub(crate) fn oauth_secret(&self) -> Option<&SecretString> {
        match &self.0 {
            Kind::OAuthToken(token) => Some(token),
            Kind::ApiKey(_) => None,
        }
    }

    /// Adds the `Authorization` header; the only place the secret is exposed.
    pub(crate) fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.0 {
            Kind::ApiKey(key) => request.basic_auth("anystring", Some(key.expose_secret())),
            Kind::OAuthToken(token) => request.bearer_auth(token.expose_secret()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Kind::ApiKey(_) => f.write_str("Credentials::ApiKey(<redacted>)"),
            Kind::OAuthToken(_) => f.write_str("Credentials::OAuthToken(<redacted>)"),
        }
    }
}

/// A Mailchimp data center, such as `us6`: the host prefix of the API.
///
/// ```
/// use mailchimp_client::DataCenter;
///
/// let dc = DataCenter::from_api_key("0123456789abcdef-us6").unwrap();
/// assert_eq!(dc.as_str(), "us6");
/// assert_eq!(dc.api_root().as_str(), "https://us6.api.mailchimp.com/3.0");
///
/// assert!(DataCenter::from_api_key("no-suffix-").is_err());
/// assert!(DataCenter::from_api_key("0123456789abcdef").is_err());
/// assert!(DataCenter::from_api_key("0123-us6.evil.com").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataCenter {
    name: String,
    root: Url,
}

impl DataCenter {
    /// A data center by name; it must be non-empty ASCII letters and digits.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the name is empty or has other characters.
    pub fn new(name: &str) -> Result<Self> {
        if name.is_empty() {
            return Err(Error::Config("the data center is empty"));
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::Config(
                "the data center must be ASCII letters and digits only",
            ));
        }
        let name = name.to_ascii_lowercase();
        let root = Url::parse(&format!("https://{name}.api.mailchimp.com/3.0"))
            .map_err(|_| Error::Config("the data center does not form a valid host name"))?;
        Ok(DataCenter { name, root })
    }

    /// The data center named by an API key: the part after its last `-`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the key is empty, contains whitespace (often a
    /// trailing newline from a file), has no `-` suffix, or the suffix is
    /// empty or not alphanumeric. The message never quotes the key.
    pub fn from_api_key(key: &str) -> Result<Self> {
        if key.is_empty() {
            return Err(Error::Config("the API key is empty"));
        }
        if key.chars().any(char::is_whitespace) {
            return Err(Error::Config(
                "the API key contains whitespace (a trailing newline?)",
            ));
        }
        let Some((secret, dc)) = key.rsplit_once('-') else {
            return Err(Error::Config(
                "the API key has no data-center suffix (expected `<key>-<dc>`, e.g. `…-us6`)",
            ));
        };
        if secret.is_empty() {
            return Err(Error::Config(
                "the API key has nothing before its data-center suffix",
            ));
        }
        if dc.is_empty() {
            return Err(Error::Config("the API key's data-center suffix is empty"));
        }
        if !dc.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::Config(
                "the API key's data-center suffix must be ASCII letters and digits only",
            ));
        }
        DataCenter::new(dc)
    }

    /// The name, e.g. `us6`.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The API root of this data center: `https://{dc}.api.mailchimp.com/3.0`.
    pub fn api_root(&self) -> Url {
        self.root.clone()
    }
}

impl fmt::Display for DataCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_key_parses_or_fails_without_quoting_its_secret(secret in "[0-9a-f]{8,32}", tail in "\\PC{0,12}") {
            let key = format!("{secret}{tail}");
            match DataCenter::from_api_key(&key) {
                Ok(dc) => {
                    prop_assert!(dc.as_str().chars().all(|c| c.is_ascii_alphanumeric()));
                    prop_assert!(dc.api_root().as_str().ends_with(".api.mailchimp.com/3.0"));
                }
                Err(e) => prop_assert!(!e.to_string().contains(&secret)),
            }
        }
    }

    #[test]
    fn key_suffix_is_the_data_center() {
        assert_eq!(
            DataCenter::from_api_key("abc-def-US14").unwrap().as_str(),
            "us14"
        );
    }

    #[test]
    fn bad_keys_are_config_errors_that_hide_the_key() {
        for key in [
            "",
            "abc",
            "abc-",
            "-us6",
            "abc-us 6",
            "abc-us6\n",
            "abc-us_6",
            "abc-us6/x",
            "abc-üs6",
        ] {
            let err = DataCenter::from_api_key(key).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{key:?}: {err:?}");
            if !key.is_empty() {
                assert!(!err.to_string().contains(key), "{err}");
            }
        }
    }

    #[test]
    fn debug_redacts() {
        let key = "supersecretkey-us6";
        let a = format!("{:?}", Credentials::api_key(key));
        let b = format!("{:?}", Credentials::oauth_token(key));
        assert!(!a.contains("supersecret") && !b.contains("supersecret"));
    }
}
