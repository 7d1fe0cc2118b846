//! URLs shown back to the operator: a password typed into a URL must not be printed again.

/// `text` with any `user:password@` removed from its authority; works on text that is not a
/// valid URL too, since that is exactly what error messages quote.
///
/// The authority is found as leniently as the WHATWG parser finds it, so nothing it would read
/// as user-info survives: it starts after the scheme's `:` and any slashes or backslashes
/// (`https:u:pw@h` and `https:\\u:pw@h` are URLs with a password too), and the last `@` before
/// the path, query or fragment ends the user-info.
pub fn without_user_info(text: &str) -> String {
    let Some(colon) = text.find(':') else {
        return text.to_owned();
    };
    // The parser drops leading spaces and control characters, and every tab and line break,
    // before reading the scheme.
    let scheme = text[..colon].trim_start_matches(|c: char| c <= ' ');
    let is_scheme = !scheme.is_empty()
        && scheme
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return text.to_owned();
    }
    let after_scheme = &text[colon + 1..];
    let rest = after_scheme.trim_start_matches(['/', '\\', '\t', '\n', '\r']);
    let authority_start = text.len() - rest.len();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &text[..authority_start], &rest[at + 1..]),
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
            // Found by the `urls` fuzz target: the WHATWG parser reads user-info here too.
            (
                "https:user:hunter22@evil.example/3.0",
                "https:evil.example/3.0",
            ),
            ("https:/u:pw@h.de", "https:/h.de"),
            ("https:\\\\u:pw@h.de/x", "https:\\\\h.de/x"),
            (" ht\ttps:u:pw@h.de", " ht\ttps:h.de"),
            ("Error: no", "Error: no"),
            ("\u{1}\0 https://u:secretpw@h.de", "\u{1}\0 https://h.de"),
        ] {
            assert_eq!(without_user_info(input), shown, "{input}");
        }
    }

    /// Whether `shown` still holds the password the WHATWG parser reads from `input`.
    fn leaks(input: &str, shown: &str) -> bool {
        let Ok(url) = url::Url::parse(input) else {
            return false;
        };
        let Some(password) = url.password().filter(|p| p.len() >= 4) else {
            return false;
        };
        // The user-info (`:password@` as typed) must be gone; the same text may occur in the
        // host or path, and a password the parser percent-encoded is not checked.
        let userinfo = format!(":{password}@");
        let typed = input.matches(userinfo.as_str()).count();
        typed > 0 && shown.matches(userinfo.as_str()).count() >= typed
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn no_password_the_url_parser_finds_is_shown(
            lead in "[\\x00-\\x20]{0,2}",
            scheme in "https?|HTTPS|ftp|ws",
            gap in "(:|:/|://|:\\\\|:/\\\\|\t://|:\n//)",
            user in "[a-z]{0,6}",
            password in "Pw[a-z0-9]{4,10}",
            host in "[a-z]{1,8}\\.[a-z]{2,4}",
            tail in "(/[a-z@]{0,6})?(\\?[a-z=@]{0,6})?",
        ) {
            let input = format!("{lead}{scheme}{gap}{user}:{password}@{host}{tail}");
            let shown = without_user_info(&input);
            proptest::prop_assert!(!leaks(&input, &shown), "{:?} shows the password", shown);
        }

        #[test]
        fn any_text_keeps_no_parsed_password(input in "\\PC{0,40}") {
            let shown = without_user_info(&input);
            proptest::prop_assert!(shown.len() <= input.len());
            proptest::prop_assert!(!leaks(&input, &shown), "{:?} shows the password", shown);
        }
    }
}
