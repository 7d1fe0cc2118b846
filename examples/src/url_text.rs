//! URLs shown back to the operator: a password typed into a URL must not be printed again.

/// `text` with any `user:password@` removed from its authority; works on text that is not a
/// valid URL too, since that is exactly what error messages quote.
pub fn without_user_info(text: &str) -> String {
    let Some(scheme_end) = text.find("://").map(|i| i + 3) else {
        return text.to_owned();
    };
    let rest = &text[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &text[..scheme_end], &rest[at + 1..]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_user_info;

    #[test]
    fn user_info_is_dropped_and_the_rest_kept() {
        for (input, shown) in [
            ("https://u:pw@h.de/a?b#c", "https://h.de/a?b#c"),
            ("https://u@h.de", "https://h.de"),
            ("https://a@b:pw@@h.de/x@y", "https://h.de/x@y"),
            ("http:// bad url:pw@h", "http://h"),
            ("https://h.de/p@q", "https://h.de/p@q"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(without_user_info(input), shown, "{input}");
        }
    }
}
