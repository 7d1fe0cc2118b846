//! Values checked while the file is parsed, so that a bad one is reported at its own line.

use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// Declares a newtype read from a TOML string through `parse`.
macro_rules! parsed_value {
    ($(#[$doc:meta])* $name:ident($inner:ty), $what:literal, $parse:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub $inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                let parse = $parse;
                parse(text.as_str()).map(Self).map_err(|problem| {
                    let shown = crate::url_text::without_user_info(&text);
                    D::Error::custom(format!(concat!("invalid ", $what, " {:?}: {}"), shown, problem))
                })
            }
        }
    };
}

parsed_value!(
    /// A QAD tenant URL (https, or http on loopback; no query, fragment or user info).
    TenantUrlValue(qad_client::TenantUrl),
    "QAD tenant URL",
    qad_client::TenantUrl::parse
);

parsed_value!(
    /// A QAD browse id (`urn:browse:…`).
    BrowseIdValue(qad_client::BrowseId),
    "QAD browse id",
    qad_client::BrowseId::parse
);

parsed_value!(
    /// A QAD entity path, relative to the tenant URL.
    EntityPathValue(qad_client::EntityPath),
    "QAD entity path",
    qad_client::EntityPath::parse
);

parsed_value!(
    /// A duration such as `15m` or `1h 30m`.
    DurationValue(Duration),
    "duration",
    parse_duration
);

/// sync-core's duration syntax; the error's own text repeats the input, so keep only its cause.
fn parse_duration(text: &str) -> Result<Duration, String> {
    sync_core::schedule::parse_duration(text).map_err(|e| {
        std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string)
    })
}

parsed_value!(
    /// An absolute http or https URL.
    UrlValue(url::Url),
    "URL",
    parse_http_url
);

parsed_value!(
    /// A Mailchimp API root: https (http on loopback), no user-info, query or fragment,
    /// ending in `/3.0` (appended to a bare host).
    MailchimpRootValue(url::Url),
    "Mailchimp base URL",
    mailchimp_client::parse_api_root
);

fn parse_http_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("the scheme must be http or https, not {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Probe {
        every: DurationValue,
        url: UrlValue,
    }

    #[test]
    fn good_values_parse() {
        let probe: Probe =
            toml::from_str("every = \"1h 30m\"\nurl = \"https://x.example/a\"").unwrap();
        assert_eq!(probe.every.0, Duration::from_secs(5400));
        assert_eq!(probe.url.0.as_str(), "https://x.example/a");
    }

    #[test]
    fn bad_values_name_what_is_wrong() {
        let err = toml::from_str::<Probe>("every = \"soon\"\nurl = \"https://x\"").unwrap_err();
        assert!(err.message().contains("invalid duration \"soon\""), "{err}");
        let err = toml::from_str::<Probe>("every = \"1m\"\nurl = \"ftp://x\"").unwrap_err();
        assert!(
            err.message().contains("scheme must be http or https"),
            "{err}"
        );
        let err =
            toml::from_str::<Probe>("every = \"1m\"\nurl = \"ftp://u:hunter2@x\"").unwrap_err();
        assert!(!err.message().contains("hunter2"), "{err}");
    }

    #[test]
    fn the_mailchimp_root_follows_the_api_root_policy() {
        #[derive(Debug, Deserialize)]
        struct Root {
            url: MailchimpRootValue,
        }
        let root: Root = toml::from_str("url = \"https://us6.api.mailchimp.com\"").unwrap();
        assert_eq!(root.url.0.as_str(), "https://us6.api.mailchimp.com/3.0");
        for (bad, says) in [
            ("http://evil.northwind-mfg.com/3.0", "plain http"),
            ("https://u:hunter2@us6.api.mailchimp.com/3.0", "user-info"),
            ("https://us6.api.mailchimp.com/v3", "/3.0"),
        ] {
            let err = toml::from_str::<Root>(&format!("url = \"{bad}\"")).unwrap_err();
            assert!(err.message().contains(says), "{bad}: {err}");
            assert!(!err.message().contains("hunter2"), "{err}");
        }
    }
}
