//! The policy for a Mailchimp API root given by hand: the API key travels in
//! every request's `Authorization` header, so it must not go to just any URL.

use url::{Host, Url};

/// What is wrong with a Mailchimp API root (a base URL override).
///
/// The messages never repeat the URL, so they cannot echo a password in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiRootProblem {
    /// The text does not parse as an absolute URL that can take a path.
    #[error("not an absolute http(s) URL")]
    Malformed,
    /// The scheme is neither `https` nor `http`.
    #[error("the scheme must be https")]
    Scheme,
    /// Plain `http` towards a host that is not loopback.
    #[error("plain http is only allowed for 127.0.0.1, localhost or [::1]; use https")]
    PlainHttp,
    /// A user name or password inside the URL.
    #[error("user-info (user:password@) is not allowed in the URL")]
    UserInfo,
    /// A `?query`, even an empty one.
    #[error("a query string is not allowed in the URL")]
    Query,
    /// A `#fragment`, even an empty one.
    #[error("a fragment is not allowed in the URL")]
    Fragment,
    /// A path that does not end in Mailchimp's API version, `/3.0`.
    #[error(
        "the path must end in /3.0 (the API version), as in https://us6.api.mailchimp.com/3.0"
    )]
    MissingVersion,
}

impl ApiRootProblem {
    /// The message as a `'static` text, for [`Error::Config`](crate::Error::Config).
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::Malformed => "the base URL is not an absolute http(s) URL",
            Self::Scheme => "the base URL's scheme must be https",
            Self::PlainHttp => {
                "the base URL uses plain http towards a host that is not loopback; use https"
            }
            Self::UserInfo => "the base URL must not contain user-info (user:password@)",
            Self::Query => "the base URL must not contain a query string",
            Self::Fragment => "the base URL must not contain a fragment",
            Self::MissingVersion => "the base URL's path must end in /3.0",
        }
    }
}

/// Checks where requests carrying the credentials may go: `https` (plain
/// `http` only to a loopback host, for tests and local fakes), no user-info,
/// no query, no fragment. The path is left as given, so a mock server's root
/// is accepted; [`parse_api_root`] also insists on the `/3.0` version.
///
/// ```
/// use mailchimp_client::{check_base_url, ApiRootProblem};
///
/// assert!(check_base_url("https://us6.api.mailchimp.com/3.0").is_ok());
/// assert!(check_base_url("http://127.0.0.1:8080").is_ok());
/// assert_eq!(check_base_url("http://evil.example/3.0"), Err(ApiRootProblem::PlainHttp));
/// assert_eq!(check_base_url("https://u:p@h/3.0"), Err(ApiRootProblem::UserInfo));
/// ```
///
/// # Errors
///
/// The first [`ApiRootProblem`] found.
pub fn check_base_url(input: &str) -> Result<Url, ApiRootProblem> {
    let url = Url::parse(input.trim()).map_err(|_| ApiRootProblem::Malformed)?;
    if url.cannot_be_a_base() {
        return Err(ApiRootProblem::Malformed);
    }
    let loopback = match url.host() {
        None => return Err(ApiRootProblem::Malformed),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(ApiRootProblem::PlainHttp),
        _ => return Err(ApiRootProblem::Scheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiRootProblem::UserInfo);
    }
    if url.query().is_some() {
        return Err(ApiRootProblem::Query);
    }
    if url.fragment().is_some() {
        return Err(ApiRootProblem::Fragment);
    }
    Ok(url)
}

/// A Mailchimp API root as an operator types it: [`check_base_url`]'s policy,
/// then `/3.0` appended to a bare host, and any other path refused unless it
/// ends in `/3.0` (a missing version would otherwise read as "not found").
///
/// ```
/// use mailchimp_client::{parse_api_root, ApiRootProblem};
///
/// let root = parse_api_root("https://us6.api.mailchimp.com/")?;
/// assert_eq!(root.as_str(), "https://us6.api.mailchimp.com/3.0");
/// assert_eq!(
///     parse_api_root("https://proxy.acme-industrial.com/mailchimp"),
///     Err(ApiRootProblem::MissingVersion)
/// );
/// # Ok::<(), ApiRootProblem>(())
/// ```
///
/// # Errors
///
/// The first [`ApiRootProblem`] found.
pub fn parse_api_root(input: &str) -> Result<Url, ApiRootProblem> {
    let mut url = check_base_url(input)?;
    let path = url.path().trim_end_matches('/').to_owned();
    if path.is_empty() {
        url.set_path("/3.0");
    } else if path.ends_with("/3.0") {
        url.set_path(&path);
    } else {
        return Err(ApiRootProblem::MissingVersion);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_policy_refuses_what_would_leak_the_key() {
        for (input, problem) in [
            ("not a url", ApiRootProblem::Malformed),
            ("mailto:ops@northwind-mfg.com", ApiRootProblem::Malformed),
            ("ftp://us6.api.mailchimp.com/3.0", ApiRootProblem::Scheme),
            ("http://evil.example/3.0", ApiRootProblem::PlainHttp),
            ("http://10.0.0.1/3.0", ApiRootProblem::PlainHttp),
            (
                "https://user:pw@us6.api.mailchimp.com/3.0",
                ApiRootProblem::UserInfo,
            ),
            (
                "https://user@us6.api.mailchimp.com/3.0",
                ApiRootProblem::UserInfo,
            ),
            ("https://us6.api.mailchimp.com/3.0?", ApiRootProblem::Query),
            (
                "https://us6.api.mailchimp.com/3.0?x=1",
                ApiRootProblem::Query,
            ),
            (
                "https://us6.api.mailchimp.com/3.0#",
                ApiRootProblem::Fragment,
            ),
        ] {
            assert_eq!(check_base_url(input), Err(problem), "{input}");
            assert_eq!(parse_api_root(input), Err(problem), "{input}");
        }
    }

    #[test]
    fn loopback_may_use_plain_http() {
        for input in [
            "http://127.0.0.1:9/3.0",
            "http://localhost:8080/3.0",
            "http://[::1]:8080/3.0",
        ] {
            assert!(check_base_url(input).is_ok(), "{input}");
        }
    }

    #[test]
    fn the_version_is_appended_or_required() {
        for (input, root) in [
            (
                "https://us6.api.mailchimp.com",
                "https://us6.api.mailchimp.com/3.0",
            ),
            (
                "https://us6.api.mailchimp.com/",
                "https://us6.api.mailchimp.com/3.0",
            ),
            (
                "https://us6.api.mailchimp.com/3.0/",
                "https://us6.api.mailchimp.com/3.0",
            ),
            (
                "http://127.0.0.1:8080/mc/3.0",
                "http://127.0.0.1:8080/mc/3.0",
            ),
        ] {
            assert_eq!(parse_api_root(input).unwrap().as_str(), root, "{input}");
        }
        for input in [
            "https://us6.api.mailchimp.com/lists",
            "https://h.de/3.0/lists",
        ] {
            assert_eq!(
                parse_api_root(input),
                Err(ApiRootProblem::MissingVersion),
                "{input}"
            );
        }
    }

    #[test]
    fn messages_never_repeat_the_url() {
        let err = check_base_url("http://user:hunter2@evil.example/3.0").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        assert!(!err.message().contains("hunter2"));
    }
}
