//! The hostile corpus for the QAD client (issue 13 point 10): tenant URLs, entity paths and
//! browse ids, and QAD responses (an HTML login page instead of JSON, a truncated body, an error
//! envelope at HTTP 200, a very large page), each with its expected outcome: a typed error, a
//! documented normalisation, or accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::mem::discriminant;

use common::{browse_body, browse_path, client, mount_token, read_page};
use qad_client::{BrowseId, EntityPath, Error, PathProblem, TenantUrl, UrlProblem};
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A stand-in for `UrlProblem::Malformed(_)`, compared by variant only.
const MALFORMED: UrlProblem = UrlProblem::Malformed(url::ParseError::RelativeUrlWithoutBase);
const REWRITE: UrlProblem = UrlProblem::WouldRewrite("");

/// `Ok(normalised)` or the problem's variant.
type UrlExpect = Result<&'static str, UrlProblem>;

#[test]
fn tenant_urls() {
    let cases: &[(&str, UrlExpect)] = &[
        // Accepted, normalised: trailing slashes dropped, surrounding blanks trimmed, the
        // context root kept, the host lower-cased.
        (
            "https://acme.qad.com/clouderp",
            Ok("https://acme.qad.com/clouderp"),
        ),
        (
            "https://acme.qad.com/clouderp/",
            Ok("https://acme.qad.com/clouderp"),
        ),
        (
            "https://acme.qad.com/clouderp//",
            Ok("https://acme.qad.com/clouderp"),
        ),
        (
            "  https://acme.qad.com/clouderp  ",
            Ok("https://acme.qad.com/clouderp"),
        ),
        (
            "https://ACME.qad.com/clouderp",
            Ok("https://acme.qad.com/clouderp"),
        ),
        ("https://acme.qad.com", Ok("https://acme.qad.com")),
        (
            "https://acme.qad.com:8443/qad-central",
            Ok("https://acme.qad.com:8443/qad-central"),
        ),
        (
            "https://acme.qad.com:443/clouderp",
            Ok("https://acme.qad.com/clouderp"),
        ),
        (
            "http://127.0.0.1:8080/clouderp",
            Ok("http://127.0.0.1:8080/clouderp"),
        ),
        ("http://localhost/clouderp", Ok("http://localhost/clouderp")),
        ("http://[::1]:9/clouderp", Ok("http://[::1]:9/clouderp")),
        (
            "https://bücher.example/erp",
            Ok("https://xn--bcher-kva.example/erp"),
        ),
        // Refused.
        (
            "http://acme.qad.com/clouderp",
            Err(UrlProblem::PlainHttp(String::new())),
        ),
        (
            "http://10.0.0.1/clouderp",
            Err(UrlProblem::PlainHttp(String::new())),
        ),
        (
            "http://localhost.evil.example/x",
            Err(UrlProblem::PlainHttp(String::new())),
        ),
        (
            "ftp://acme.qad.com/clouderp",
            Err(UrlProblem::Scheme(String::new())),
        ),
        ("file:///etc/passwd", Err(UrlProblem::EmptyHost)),
        (
            "javascript://acme.qad.com/x",
            Err(UrlProblem::Scheme(String::new())),
        ),
        (
            "https://user:pw@acme.qad.com/clouderp",
            Err(UrlProblem::UserInfo),
        ),
        (
            "https://user@acme.qad.com/clouderp",
            Err(UrlProblem::UserInfo),
        ),
        ("https://acme.qad.com/clouderp?x=1", Err(UrlProblem::Query)),
        ("https://acme.qad.com/clouderp?", Err(UrlProblem::Query)),
        (
            "https://acme.qad.com/clouderp#top",
            Err(UrlProblem::Fragment),
        ),
        ("https://acme.qad.com/clouderp#", Err(UrlProblem::Fragment)),
        ("https:///clouderp", Err(UrlProblem::EmptyHost)),
        ("https://", Err(UrlProblem::EmptyHost)),
        ("https://acme.qad.com/../clouderp", Err(REWRITE)),
        ("https://acme.qad.com/a/%2e%2e/clouderp", Err(REWRITE)),
        ("https://acme.qad.com/a/%2E/clouderp", Err(REWRITE)),
        ("https://acme.qad.com/./clouderp", Err(REWRITE)),
        ("https://acme.qad.com\\clouderp", Err(REWRITE)),
        ("https://acme.qad.com/cloud\terp", Err(REWRITE)),
        ("https://acme.qad.com/cloud\nerp", Err(REWRITE)),
        ("https://acme.qad.com/cloud erp", Err(REWRITE)),
        ("https://acme.qad.com/clöud", Err(REWRITE)),
        ("https://acme.qad.com/cloud\"erp", Err(REWRITE)),
        ("acme.qad.com/clouderp", Err(MALFORMED)),
        ("", Err(MALFORMED)),
        ("https://acme.qad.com:99999/x", Err(MALFORMED)),
        ("https://[::1/x", Err(MALFORMED)),
    ];
    for (input, expected) in cases {
        let got = TenantUrl::parse(input);
        match (expected, &got) {
            (Ok(normal), Ok(url)) => assert_eq!(url.as_str(), *normal, "{input:?}"),
            (Err(want), Err(problem)) => {
                assert_eq!(
                    discriminant(want),
                    discriminant(problem),
                    "{input:?}: {problem}"
                );
                // The message never echoes a password.
                assert!(!problem.to_string().contains("pw"), "{input:?}: {problem}");
            }
            _ => panic!("{input:?}: expected {expected:?}, got {got:?}"),
        }
    }
    assert_eq!(cases.len(), 40);
}

#[test]
fn entity_paths_and_browse_ids() {
    let long = format!("api/{}", "a".repeat(600));
    let paths: Vec<(&str, Option<PathProblem>)> = vec![
        ("api/erp/customerV2s", None),
        ("api/bdoc/acme/crm/Attribution", None),
        ("api/erp/v1.2/items_x-y", None),
        ("a", None),
        ("", Some(PathProblem::Empty)),
        (&long, Some(PathProblem::TooLong)),
        ("api\\erp", Some(PathProblem::Backslash)),
        ("api/%2e%2e/erp", Some(PathProblem::PercentEncoded)),
        ("api/erp%2Fx", Some(PathProblem::PercentEncoded)),
        ("https://evil.example/api", Some(PathProblem::AbsoluteUrl)),
        ("//evil.example/api", Some(PathProblem::AbsoluteUrl)),
        ("api:erp", Some(PathProblem::AbsoluteUrl)),
        ("/api/erp", Some(PathProblem::Absolute)),
        ("api//erp", Some(PathProblem::EmptySegment)),
        ("api/erp/", Some(PathProblem::EmptySegment)),
        ("../etc/passwd", Some(PathProblem::DotSegment)),
        ("api/./erp", Some(PathProblem::DotSegment)),
        ("api/.../erp", Some(PathProblem::DotSegment)),
        ("api/erp?x=1", Some(PathProblem::InvalidCharacter('?'))),
        ("api/erp#x", Some(PathProblem::InvalidCharacter('#'))),
        ("api/e rp", Some(PathProblem::InvalidCharacter(' '))),
        ("api/kundé", Some(PathProblem::InvalidCharacter('é'))),
        ("api/erp\0", Some(PathProblem::InvalidCharacter('\0'))),
    ];
    for (input, expected) in &paths {
        let got = EntityPath::parse(input);
        match expected {
            None => assert_eq!(got.unwrap().as_str(), *input),
            Some(problem) => assert_eq!(got.unwrap_err(), *problem, "{input:?}"),
        }
    }
    // Through FromStr the error names the kind and the problem.
    let err = "../x".parse::<EntityPath>().unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidPath {
                kind: "entity path",
                ..
            }
        ),
        "{err}"
    );

    let ids: &[(&str, Option<PathProblem>)] = &[
        ("urn:browse:mfg:cm007", None),
        ("urn:browse:bebrowse:com.qad.erp.base.customers", None),
        ("browse:mfg:cm007", Some(PathProblem::NotUrn)),
        ("URN:browse:mfg", Some(PathProblem::NotUrn)),
        ("urn:browse:../x", Some(PathProblem::InvalidCharacter('/'))),
        ("urn:browse::x", Some(PathProblem::EmptySegment)),
        ("urn:browse:..", Some(PathProblem::DotSegment)),
        ("urn:browse:%2e", Some(PathProblem::PercentEncoded)),
        ("urn:browse:x y", Some(PathProblem::InvalidCharacter(' '))),
        ("", Some(PathProblem::Empty)),
    ];
    for (input, expected) in ids {
        let got = BrowseId::parse(input);
        match expected {
            None => assert_eq!(got.unwrap().as_str(), *input),
            Some(problem) => assert_eq!(got.unwrap_err(), *problem, "{input:?}"),
        }
    }
    assert_eq!(paths.len() + ids.len(), 33);
}

/// What a browse read must come to.
#[derive(Debug)]
enum Outcome {
    /// Decoded, with this many rows.
    Rows(usize),
    /// `Error::Decode`.
    Decode,
    /// `Error::Rejected` at this status, with a message containing the text.
    Rejected(u16, &'static str),
    /// `Error::Api` at this status.
    Api(u16),
}

#[tokio::test]
async fn qad_responses() {
    let html = "<!DOCTYPE html><html><head><title>QAD Login</title></head>\
                <body><form action=\"/clouderp/login\"><input name=\"j_password\"></form></body></html>";
    let big_rows: Vec<_> = (0..20_000)
        .map(|i| json!({"cm_mstr.cm_addr": format!("C{i:06}"), "cm_mstr.cm_sort": "x".repeat(100)}))
        .collect();
    let cases: Vec<(&str, ResponseTemplate, Outcome)> =
        vec![
        (
            "an HTML login page at 200",
            ResponseTemplate::new(200).set_body_raw(html, "text/html"),
            Outcome::Decode,
        ),
        (
            "an HTML error page at 502",
            ResponseTemplate::new(502).set_body_raw("<html>Bad Gateway</html>", "text/html"),
            Outcome::Api(502),
        ),
        (
            "a truncated body",
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"data":[{"cm_mstr.cm_addr":"C1"},{"cm_"#, "application/json"),
            Outcome::Decode,
        ),
        (
            "an empty body at 200",
            ResponseTemplate::new(200).set_body_raw("", "application/json"),
            Outcome::Decode,
        ),
        (
            "JSON null",
            ResponseTemplate::new(200).set_body_raw("null", "application/json"),
            Outcome::Decode,
        ),
        (
            "data is null in the envelope: an empty page",
            ResponseTemplate::new(200).set_body_json(json!({"data": null})),
            Outcome::Rows(0),
        ),
        (
            "data is not a list",
            ResponseTemplate::new(200).set_body_json(json!({"data": "oops"})),
            Outcome::Decode,
        ),
        (
            "an error envelope at 200",
            ResponseTemplate::new(200).set_body_json(json!({
                "submitResult": {"success": false,
                    "errors": [{"message": "Session expired", "code": 1001}]}
            })),
            Outcome::Rejected(200, "Session expired"),
        ),
        (
            "success as the string \"false\" at 200",
            ResponseTemplate::new(200).set_body_json(json!({
                "submitResult": {"success": "false", "errors": [{"message": "Domain not found"}]}
            })),
            Outcome::Rejected(200, "Domain not found"),
        ),
        (
            "a bare error list at 200",
            ResponseTemplate::new(200)
                .set_body_json(json!({"errors": [{"message": "Browse not found"}]})),
            Outcome::Rejected(200, "Browse not found"),
        ),
        (
            "an error list at 500",
            ResponseTemplate::new(500)
                .set_body_json(json!({"errors": [{"message": "Internal failure"}]})),
            Outcome::Rejected(500, "Internal failure"),
        ),
        (
            "an empty page",
            ResponseTemplate::new(200).set_body_json(browse_body(vec![], false)),
            Outcome::Rows(0),
        ),
        (
            "rows with unicode, quotes and nulls",
            ResponseTemplate::new(200).set_body_json(browse_body(
                vec![
                    json!({"cm_mstr.cm_addr": "C1", "cm_mstr.cm_sort": "Müller \"&\" Söhne 🏭"}),
                    json!({"cm_mstr.cm_addr": "C2", "cm_mstr.cm_sort": null}),
                ],
                false,
            )),
            Outcome::Rows(2),
        ),
        (
            "a very large page (20,000 rows, about 2.6 MB)",
            ResponseTemplate::new(200).set_body_json(browse_body(big_rows, false)),
            Outcome::Rows(20_000),
        ),
    ];
    let count = cases.len();
    for (name, response, expected) in cases {
        let server = MockServer::start().await;
        mount_token(&server, "tok", 1).await;
        Mock::given(path(browse_path()))
            .respond_with(response)
            .mount(&server)
            .await;
        let got = read_page(&client(&server)).await;
        match (&expected, &got) {
            (Outcome::Rows(n), Ok(page)) => assert_eq!(page.items.len(), *n, "{name}"),
            (Outcome::Decode, Err(Error::Decode { .. })) => {}
            (Outcome::Api(status), Err(Error::Api { status: got, .. })) => {
                assert_eq!(status, got, "{name}");
            }
            (Outcome::Rejected(status, text), Err(e @ Error::Rejected { status: got, .. })) => {
                assert_eq!(status, got, "{name}");
                assert!(e.to_string().contains(text), "{name}: {e}");
            }
            _ => panic!("{name}: expected {expected:?}, got {got:?}"),
        }
    }
    assert_eq!(count, 14);
}
