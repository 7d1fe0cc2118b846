//! The tenant URL: QAD has no shared API host, so each tenant is addressed by
//! its full URL including the context root (`/clouderp`, `/qad-central`).

use std::fmt;
use std::str::FromStr;

use url::{Host, Url};

use crate::error::Error;

/// What is wrong with a tenant URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlProblem {
    /// The text does not parse as a URL at all.
    #[error("not a url ({0})")]
    Malformed(url::ParseError),
    /// The scheme is neither `https` nor `http`.
    #[error("scheme {0:?} is not allowed; use https")]
    Scheme(String),
    /// Plain `http` towards a host that is not loopback.
    #[error("plain http is only allowed for 127.0.0.1, localhost or [::1], not {0:?}; use https")]
    PlainHttp(String),
    /// A user name or password inside the URL.
    #[error("user-info is not allowed in the tenant url; pass credentials to the builder")]
    UserInfo,
    /// A `?query`, even an empty one.
    #[error("a query string is not allowed in the tenant url")]
    Query,
    /// A `#fragment`, even an empty one.
    #[error("a fragment is not allowed in the tenant url")]
    Fragment,
    /// No host.
    #[error("the host is empty")]
    EmptyHost,
    /// URL parsing would silently rewrite the text (the reason says how), so
    /// the URL requested would not be the one written.
    #[error("{0}; write the URL exactly as it is meant")]
    WouldRewrite(&'static str),
}

/// A validated tenant base URL, without a trailing slash.
///
/// Accepts `https` URLs (plain `http` only for loopback hosts, for tests),
/// keeps the context root, and rejects user-info, a query, a fragment, an
/// empty host (`https:///clouderp`), and any text that URL parsing would
/// rewrite: backslashes, tabs and line breaks, `.`/`..` segments (also as
/// `%2e`), or path characters it would percent-encode.
///
/// ```
/// use qad_client::TenantUrl;
///
/// let url: TenantUrl = "https://acme.qad.com/clouderp/".parse()?;
/// assert_eq!(url.as_str(), "https://acme.qad.com/clouderp");
/// assert!("http://acme.qad.com/clouderp".parse::<TenantUrl>().is_err());
/// assert!("http://127.0.0.1:8080/qad-central".parse::<TenantUrl>().is_ok());
/// # Ok::<(), qad_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TenantUrl(Url);

impl TenantUrl {
    /// Validates `input`.
    ///
    /// # Errors
    ///
    /// [`UrlProblem`] naming the first problem found.
    pub fn parse(input: &str) -> Result<Self, UrlProblem> {
        let input = input.trim();
        refuse_rewrites(input)?;
        let mut url = Url::parse(input).map_err(|e| match e {
            url::ParseError::EmptyHost => UrlProblem::EmptyHost,
            other => UrlProblem::Malformed(other),
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlProblem::UserInfo);
        }
        let host = match url.host() {
            None => return Err(UrlProblem::EmptyHost),
            Some(Host::Domain("")) => return Err(UrlProblem::EmptyHost),
            Some(host) => host,
        };
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => return Err(UrlProblem::PlainHttp(host.to_string())),
            other => return Err(UrlProblem::Scheme(other.to_owned())),
        }
        if url.query().is_some() {
            return Err(UrlProblem::Query);
        }
        if url.fragment().is_some() {
            return Err(UrlProblem::Fragment);
        }
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
        Ok(Self(url))
    }

    /// The URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// The URL as a [`Url`].
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// `{base}/{relative}`; `relative` is a validated path without a leading slash.
    pub(crate) fn join(&self, relative: &str) -> Url {
        let mut url = self.0.clone();
        let path = format!("{}/{}", self.0.path().trim_end_matches('/'), relative);
        url.set_path(&path);
        url
    }
}

/// Refuses what the WHATWG parser would quietly change, before it does.
fn refuse_rewrites(input: &str) -> Result<(), UrlProblem> {
    if input.contains('\\') {
        return Err(UrlProblem::WouldRewrite(
            "a backslash would be read as a slash",
        ));
    }
    if input.chars().any(char::is_control) {
        return Err(UrlProblem::WouldRewrite(
            "a tab, line break or control character would be dropped",
        ));
    }
    let Some((scheme, rest)) = input.split_once(':') else {
        return Ok(()); // no scheme: the parser's own error says so
    };
    let Some(rest) = rest.strip_prefix("//") else {
        // `https:host/x` and `https:/host` parse as `https://host/x`, and a `://` further on
        // would be taken for the scheme's.
        if ["http", "https"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s))
        {
            return Err(UrlProblem::WouldRewrite(
                "the scheme must be followed by `://`, or the host would be guessed",
            ));
        }
        return Ok(()); // another scheme: refused as such after parsing
    };
    if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
        return Err(UrlProblem::EmptyHost);
    }
    let after_authority = rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]);
    let path = after_authority.split(['?', '#']).next().unwrap_or_default();
    for segment in path.split('/') {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return Err(UrlProblem::WouldRewrite(
                "a `.` or `..` segment (also `%2e`) would be resolved away",
            ));
        }
    }
    let kept = |c: char| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:@".contains(c);
    if !path.chars().all(kept) {
        return Err(UrlProblem::WouldRewrite(
            "a character in the path would be percent-encoded",
        ));
    }
    Ok(())
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

impl FromStr for TenantUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s).map_err(Error::InvalidTenantUrl)
    }
}

impl fmt::Display for TenantUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TenantUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TenantUrl").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_the_context_root() {
        let base = TenantUrl::parse("https://h:8443/qad-central/").unwrap();
        assert_eq!(
            base.join("api/qracore/browses").as_str(),
            "https://h:8443/qad-central/api/qracore/browses"
        );
        let bare = TenantUrl::parse("https://h").unwrap();
        assert_eq!(bare.as_str(), "https://h");
        assert_eq!(bare.join("oauth/token").as_str(), "https://h/oauth/token");
    }
}
