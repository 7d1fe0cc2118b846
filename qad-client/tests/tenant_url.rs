//! The tenant URL validation table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qad_client::{Client, Credentials, Error, TenantUrl, UrlProblem};

#[test]
fn accepted_urls_are_normalised_and_keep_their_context_root() {
    let table = [
        (
            "https://acme.qad.com/clouderp",
            "https://acme.qad.com/clouderp",
        ),
        (
            "https://acme.qad.com/clouderp/",
            "https://acme.qad.com/clouderp",
        ),
        (
            "https://acme-nonprod.qad.com/clouderp/test/",
            "https://acme-nonprod.qad.com/clouderp/test",
        ),
        (
            "https://host:8443/qad-central",
            "https://host:8443/qad-central",
        ),
        ("https://acme.qad.com", "https://acme.qad.com"),
        ("https://acme.qad.com/", "https://acme.qad.com"),
        (
            "  https://acme.qad.com/clouderp  ",
            "https://acme.qad.com/clouderp",
        ),
        (
            "http://127.0.0.1:8080/clouderp",
            "http://127.0.0.1:8080/clouderp",
        ),
        ("http://localhost:9/x/", "http://localhost:9/x"),
        (
            "http://[::1]:9000/qad-central",
            "http://[::1]:9000/qad-central",
        ),
    ];
    for (input, expected) in table {
        let url = TenantUrl::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(url.as_str(), expected, "{input}");
        assert_eq!(url.to_string(), expected, "{input}");
    }
}

#[test]
fn rejected_urls_name_the_problem() {
    let table: &[(&str, UrlProblem)] = &[
        (
            "http://acme.qad.com/clouderp",
            UrlProblem::PlainHttp("acme.qad.com".into()),
        ),
        (
            "http://10.0.0.5/clouderp",
            UrlProblem::PlainHttp("10.0.0.5".into()),
        ),
        (
            "ftp://acme.qad.com/clouderp",
            UrlProblem::Scheme("ftp".into()),
        ),
        ("file:///etc/passwd", UrlProblem::EmptyHost),
        (
            "https://user:pw@acme.qad.com/clouderp",
            UrlProblem::UserInfo,
        ),
        ("https://user@acme.qad.com/clouderp", UrlProblem::UserInfo),
        ("https://acme.qad.com/clouderp?x=1", UrlProblem::Query),
        ("https://acme.qad.com/clouderp?", UrlProblem::Query),
        ("https://acme.qad.com/clouderp#top", UrlProblem::Fragment),
        ("https://acme.qad.com/clouderp#", UrlProblem::Fragment),
        ("https://", UrlProblem::EmptyHost),
        ("https:///clouderp", UrlProblem::EmptyHost),
        ("https://?x", UrlProblem::EmptyHost),
    ];
    for (input, expected) in table {
        assert_eq!(
            TenantUrl::parse(input).err().as_ref(),
            Some(expected),
            "{input}"
        );
    }
    // What WHATWG parsing would quietly rewrite is refused, with the reason.
    for (input, says) in [
        ("https://acme.qad.com/clouderp/../admin", "`..`"),
        ("https://acme.qad.com/clouderp/./api", "`.`"),
        ("https://acme.qad.com/clouderp/%2e%2e/admin", "%2e"),
        ("https://acme.qad.com/clouderp/%2E%2e", "%2e"),
        ("https://acme.qad.com/clouderp/.%2E/x", "%2e"),
        ("https://acme.qad.com\\clouderp", "backslash"),
        ("https:\\\\acme.qad.com/clouderp", "backslash"),
        ("https://acme.qad.com/cloud\terp", "tab"),
        ("https://acme.qad.com/cloud\nerp", "line break"),
        ("https://acme.qad.com/cloud erp", "percent-encoded"),
        ("https://acme.qad.com/clouderp\"x", "percent-encoded"),
        // Found by the `urls` fuzz target: without `//` the host was guessed (`3` became
        // `0.0.0.3`) and a later `://` was taken for the scheme's.
        ("https:3/mp.example:411S://0[", "`://`"),
        ("https:acme.qad.com/clouderp", "`://`"),
        ("HTTPS:/acme.qad.com/clouderp", "`://`"),
        ("http:localhost:8080/x", "`://`"),
    ] {
        let err = TenantUrl::parse(input).unwrap_err();
        assert!(
            matches!(err, UrlProblem::WouldRewrite(_)),
            "{input:?}: {err:?}"
        );
        assert!(err.to_string().contains(says), "{input:?}: {err}");
    }
    // Dots inside a segment are ordinary characters.
    assert_eq!(
        TenantUrl::parse("https://acme.qad.com/v1.2/..x")
            .unwrap()
            .as_str(),
        "https://acme.qad.com/v1.2/..x"
    );
    assert!(matches!(
        TenantUrl::parse("not a url"),
        Err(UrlProblem::Malformed(_))
    ));
}

#[test]
fn build_reports_the_problem_without_echoing_the_url() {
    let err = Client::builder()
        .tenant_url("https://admin:hunter2@acme.qad.com/clouderp")
        .credentials(Credentials::basic("u", "p"))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidTenantUrl(UrlProblem::UserInfo)));
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");

    let missing = Client::builder()
        .credentials(Credentials::basic("u", "p"))
        .build()
        .unwrap_err();
    assert!(matches!(missing, Error::Config(_)));
    let no_creds = Client::builder()
        .tenant_url("https://acme.qad.com")
        .build()
        .unwrap_err();
    assert!(matches!(no_creds, Error::Config(_)));
}
