//! Strict decoding of `application/x-www-form-urlencoded` bodies with
//! PHP-style bracketed keys (`data[merges][ADDRESS][city]`) into a tree.
//!
//! The usual form decoders are lenient: they pass malformed `%` escapes
//! through and replace invalid UTF-8. Webhook bodies are untrusted input, so
//! this decoder rejects both, along with duplicate and conflicting keys, with
//! size, field-count and depth limits checked before any allocation grows.

use std::collections::BTreeMap;

use super::error::{excerpt, WebhookError};

/// A decoded form: field names to values, nested by bracket.
pub type FormMap = BTreeMap<String, FormValue>;

/// One node of a decoded webhook form.
///
/// `data[merges][FNAME]=Ann` decodes to
/// `{"data": Map{"merges": Map{"FNAME": Text("Ann")}}}`. Indexed keys such as
/// `data[merges][GROUPINGS][0][name]` keep their index as a map key (`"0"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormValue {
    /// A plain value.
    Text(String),
    /// A group of nested keys.
    Map(FormMap),
}

impl FormValue {
    /// The value, if this is a plain value.
    ///
    /// ```
    /// use mailchimp_client::webhooks::FormValue;
    /// assert_eq!(FormValue::Text("Ann".into()).as_text(), Some("Ann"));
    /// assert_eq!(FormValue::Map(Default::default()).as_text(), None);
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Map(_) => None,
        }
    }

    /// The nested keys, if this is a group.
    pub fn as_map(&self) -> Option<&FormMap> {
        match self {
            Self::Text(_) => None,
            Self::Map(map) => Some(map),
        }
    }
}

/// Limits applied while decoding a delivery body.
///
/// The defaults are far above what Mailchimp sends (a profile update with
/// every merge field and interest grouping is a few kilobytes) and low enough
/// that a hostile body is rejected cheaply.
///
/// ```
/// use mailchimp_client::webhooks::ParseLimits;
/// let limits = ParseLimits::default().with_max_body_bytes(16 * 1024);
/// assert_eq!(limits.max_body_bytes(), 16 * 1024);
/// assert_eq!(limits.max_fields(), 1000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    max_body_bytes: usize,
    max_fields: usize,
    max_depth: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            max_fields: 1000,
            max_depth: 8,
        }
    }
}

impl ParseLimits {
    /// Sets the largest body accepted, in bytes (default 256 KiB).
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets the most `key=value` fields accepted (default 1000).
    #[must_use]
    pub fn with_max_fields(mut self, fields: usize) -> Self {
        self.max_fields = fields;
        self
    }

    /// Sets the most key segments accepted, counting the leading name
    /// (default 8; `data[merges][ADDRESS][city]` has 4).
    #[must_use]
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// The largest body accepted, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The most fields accepted.
    pub fn max_fields(&self) -> usize {
        self.max_fields
    }

    /// The most key segments accepted.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }
}

/// Decodes a form body into a tree of fields.
pub(crate) fn parse_form(body: &[u8], limits: &ParseLimits) -> Result<FormMap, WebhookError> {
    if body.len() > limits.max_body_bytes {
        return Err(WebhookError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let mut root = FormMap::new();
    let mut fields = 0usize;
    let mut offset = 0usize;
    for pair in body.split(|&byte| byte == b'&') {
        let start = offset;
        offset += pair.len() + 1;
        if pair.is_empty() {
            continue;
        }
        fields += 1;
        if fields > limits.max_fields {
            return Err(WebhookError::TooManyFields {
                limit: limits.max_fields,
            });
        }
        let eq = pair
            .iter()
            .position(|&byte| byte == b'=')
            .ok_or(WebhookError::MissingEquals { offset: start })?;
        let key = decode_component(&pair[..eq], start)?;
        let value = decode_component(&pair[eq + 1..], start + eq + 1)?;
        let segments = split_key(&key)?;
        if segments.len() > limits.max_depth {
            return Err(WebhookError::TooDeep {
                key: excerpt(&key),
                limit: limits.max_depth,
            });
        }
        insert(&mut root, &segments, value, &key)?;
    }
    Ok(root)
}

/// Percent-decodes one key or value (`+` is a space), rejecting malformed
/// escapes and invalid UTF-8.
fn decode_component(raw: &[u8], offset: usize) -> Result<String, WebhookError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut index = 0;
    while let Some(&byte) = raw.get(index) {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = raw.get(index + 1).and_then(|&b| hex_digit(b));
                let low = raw.get(index + 2).and_then(|&b| hex_digit(b));
                match (high, low) {
                    (Some(high), Some(low)) => bytes.push(high << 4 | low),
                    _ => {
                        return Err(WebhookError::MalformedEscape {
                            offset: offset + index,
                        })
                    }
                }
                index += 2;
            }
            other => bytes.push(other),
        }
        index += 1;
    }
    String::from_utf8(bytes).map_err(|_| WebhookError::InvalidUtf8 { offset })
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// Splits `name[a][b]` into `["name", "a", "b"]`.
fn split_key(key: &str) -> Result<Vec<&str>, WebhookError> {
    let malformed = || WebhookError::MalformedKey { key: excerpt(key) };
    let (name, mut rest) = match key.find('[') {
        Some(open) => key.split_at(open),
        None => (key, ""),
    };
    if name.is_empty() || name.contains(']') {
        return Err(malformed());
    }
    let mut segments = vec![name];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').ok_or_else(malformed)?;
        let close = inner.find(']').ok_or_else(malformed)?;
        let segment = &inner[..close];
        if segment.is_empty() || segment.contains('[') {
            return Err(malformed());
        }
        segments.push(segment);
        rest = &inner[close + 1..];
    }
    Ok(segments)
}

/// Inserts a value at a key path, refusing to overwrite anything.
fn insert(
    map: &mut FormMap,
    segments: &[&str],
    value: String,
    key: &str,
) -> Result<(), WebhookError> {
    let Some((first, rest)) = segments.split_first() else {
        return Err(WebhookError::MalformedKey { key: excerpt(key) });
    };
    if rest.is_empty() {
        return match map.get(*first) {
            None => {
                map.insert((*first).to_owned(), FormValue::Text(value));
                Ok(())
            }
            Some(FormValue::Text(_)) => Err(WebhookError::DuplicateKey { key: excerpt(key) }),
            Some(FormValue::Map(_)) => Err(WebhookError::ConflictingKey { key: excerpt(key) }),
        };
    }
    let child = map
        .entry((*first).to_owned())
        .or_insert_with(|| FormValue::Map(FormMap::new()));
    match child {
        FormValue::Map(child) => insert(child, rest, value, key),
        FormValue::Text(_) => Err(WebhookError::ConflictingKey { key: excerpt(key) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<FormMap, WebhookError> {
        parse_form(body.as_bytes(), &ParseLimits::default())
    }

    fn text(map: &FormMap, path: &[&str]) -> Option<String> {
        let (last, parents) = path.split_last()?;
        let mut current = map;
        for segment in parents {
            current = current.get(*segment)?.as_map()?;
        }
        current.get(*last)?.as_text().map(str::to_owned)
    }

    #[test]
    fn decodes_nested_keys_and_escapes() {
        let map = parse("type=profile&data%5Bmerges%5D%5BADDRESS%5D%5Bcity%5D=S%C3%A3o+Paulo&data[email]=a%2Bb%40northwind-mfg.com").unwrap();
        assert_eq!(text(&map, &["type"]).as_deref(), Some("profile"));
        assert_eq!(
            text(&map, &["data", "merges", "ADDRESS", "city"]).as_deref(),
            Some("São Paulo")
        );
        assert_eq!(
            text(&map, &["data", "email"]).as_deref(),
            Some("a+b@northwind-mfg.com")
        );
    }

    #[test]
    fn empty_values_and_stray_ampersands_are_fine() {
        let map = parse("&type=campaign&&data[reason]=&").unwrap();
        assert_eq!(text(&map, &["data", "reason"]).as_deref(), Some(""));
    }

    #[test]
    fn rejects_malformed_escapes() {
        assert_eq!(
            parse("type=a%2"),
            Err(WebhookError::MalformedEscape { offset: 6 })
        );
        assert!(matches!(
            parse("type=%zz"),
            Err(WebhookError::MalformedEscape { .. })
        ));
    }

    #[test]
    fn rejects_invalid_utf8_escaped_or_raw() {
        assert!(matches!(
            parse("type=%FF%FE"),
            Err(WebhookError::InvalidUtf8 { .. })
        ));
        assert!(matches!(
            parse_form(b"type=\xff", &ParseLimits::default()),
            Err(WebhookError::InvalidUtf8 { .. })
        ));
    }

    #[test]
    fn rejects_duplicates_and_conflicts() {
        assert!(matches!(
            parse("type=a&type=b"),
            Err(WebhookError::DuplicateKey { .. })
        ));
        assert!(matches!(
            parse("data[merges]=x&data[merges][FNAME]=y"),
            Err(WebhookError::ConflictingKey { .. })
        ));
        assert!(matches!(
            parse("data[merges][FNAME]=y&data[merges]=x"),
            Err(WebhookError::ConflictingKey { .. })
        ));
    }

    #[test]
    fn rejects_malformed_keys() {
        for body in [
            "=x",
            "data[=x",
            "data[a]b=x",
            "data[]=x",
            "[a]=x",
            "a]=x",
            "data[a[b]]=x",
        ] {
            assert!(
                matches!(parse(body), Err(WebhookError::MalformedKey { .. })),
                "{body}"
            );
        }
        assert_eq!(
            parse("type"),
            Err(WebhookError::MissingEquals { offset: 0 })
        );
    }

    #[test]
    fn enforces_limits() {
        let limits = ParseLimits::default()
            .with_max_body_bytes(10)
            .with_max_fields(2)
            .with_max_depth(2);
        assert!(matches!(
            parse_form(b"type=subscribe", &limits),
            Err(WebhookError::BodyTooLarge {
                size: 14,
                limit: 10
            })
        ));
        assert!(matches!(
            parse_form(b"a=1&b=2&c=3", &limits.with_max_body_bytes(100)),
            Err(WebhookError::TooManyFields { limit: 2 })
        ));
        assert!(matches!(
            parse_form(b"a[b][c]=1", &limits),
            Err(WebhookError::TooDeep { limit: 2, .. })
        ));
        assert!(parse_form(b"a[b]=1", &limits).is_ok());
    }
}
