//! The open member-status enum.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A list member's status.
///
/// Open: a value Mailchimp adds later decodes as [`MemberStatus::Other`]
/// instead of failing the whole response.
///
/// ```
/// use mailchimp_client::MemberStatus;
///
/// let s: MemberStatus = "cleaned".parse().unwrap();
/// assert_eq!(s, MemberStatus::Cleaned);
/// assert_eq!(MemberStatus::Subscribed.as_str(), "subscribed");
/// let new: MemberStatus = "snoozed".parse().unwrap();
/// assert_eq!(new, MemberStatus::Other("snoozed".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemberStatus {
    /// Receives campaigns.
    Subscribed,
    /// Opted out.
    Unsubscribed,
    /// Bounced or marked invalid; never re-subscribe.
    Cleaned,
    /// Waiting for double opt-in confirmation.
    Pending,
    /// Gets transactional email only (e.g. an e-commerce customer who did
    /// not opt in).
    Transactional,
    /// Archived (a `GET` filter and a status Mailchimp reports).
    Archived,
    /// A status this crate does not know yet, kept verbatim.
    Other(String),
}

impl MemberStatus {
    /// The wire value, e.g. `subscribed`.
    pub fn as_str(&self) -> &str {
        match self {
            MemberStatus::Subscribed => "subscribed",
            MemberStatus::Unsubscribed => "unsubscribed",
            MemberStatus::Cleaned => "cleaned",
            MemberStatus::Pending => "pending",
            MemberStatus::Transactional => "transactional",
            MemberStatus::Archived => "archived",
            MemberStatus::Other(s) => s,
        }
    }

    /// Whether Mailchimp accepts this status in a `PUT`/`POST` body
    /// (`status`, `status_if_new`, batch members).
    pub(crate) fn is_writable(&self) -> bool {
        matches!(
            self,
            MemberStatus::Subscribed
                | MemberStatus::Unsubscribed
                | MemberStatus::Cleaned
                | MemberStatus::Pending
                | MemberStatus::Transactional
        )
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MemberStatus {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(MemberStatus::from_wire(s))
    }
}

impl MemberStatus {
    fn from_wire(s: &str) -> Self {
        match s {
            "subscribed" => MemberStatus::Subscribed,
            "unsubscribed" => MemberStatus::Unsubscribed,
            "cleaned" => MemberStatus::Cleaned,
            "pending" => MemberStatus::Pending,
            "transactional" => MemberStatus::Transactional,
            "archived" => MemberStatus::Archived,
            other => MemberStatus::Other(other.to_owned()),
        }
    }
}

impl Serialize for MemberStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MemberStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(MemberStatus::from_wire(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_and_unknown() {
        for s in [
            "subscribed",
            "unsubscribed",
            "cleaned",
            "pending",
            "transactional",
            "archived",
            "new-thing",
        ] {
            let parsed: MemberStatus = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert_eq!(serde_json::to_string(&parsed).unwrap(), format!("\"{s}\""));
        }
        assert!(!MemberStatus::Archived.is_writable());
        assert!(MemberStatus::Transactional.is_writable());
    }
}
