//! The de-duplication key of a webhook delivery.

use std::fmt;

use chrono::NaiveDateTime;

/// Identifies one webhook event across Mailchimp's retries.
///
/// Mailchimp delivers at least once and sends no delivery id, so a receiver
/// dedupes on `type` + `data[id]` + `fired_at`. For `upemail` and `cleaned`,
/// which carry no `data[id]`, the new member id and the cleaned address take
/// its place. The key is text, safe to store in a unique column; the `type`
/// is length-prefixed so no choice of values can make two keys collide.
///
/// ```
/// use mailchimp_client::webhooks::parse_delivery;
///
/// let body = b"type=subscribe&fired_at=2009-03-26+21%3A35%3A57\
///     &data[id]=8a25ff1d98&data[list_id]=a6b5da1054&data[email]=api%40mailchimp.com";
/// let first = parse_delivery(body)?.dedup_key();
/// let retry = parse_delivery(body)?.dedup_key();
/// assert_eq!(first, retry);
/// assert_eq!(first.as_str(), "9:subscribe|2009-03-26 21:35:57|8a25ff1d98");
/// # Ok::<(), mailchimp_client::webhooks::WebhookError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupKey(String);

impl DedupKey {
    pub(crate) fn new(event_type: &str, id: &str, fired_at: NaiveDateTime) -> Self {
        Self(format!(
            "{}:{event_type}|{}|{id}",
            event_type.len(),
            fired_at.format("%Y-%m-%d %H:%M:%S")
        ))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the key, returning its text.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn parts_cannot_be_shifted_between_fields() {
        let t = at("2024-01-01 00:00:00");
        assert_ne!(DedupKey::new("a|b", "c", t), DedupKey::new("a", "b|c", t));
        assert_ne!(
            DedupKey::new("subscribe", "x", t),
            DedupKey::new("subscribe", "x", at("2024-01-01 00:00:01"))
        );
    }
}
