//! Entity path and browse id validation: tables and property tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use qad_client::{BrowseId, EntityPath, Error, PathProblem};

#[test]
fn entity_path_table() {
    let ok = [
        "api/bdoc/acme/crm/Attribution",
        "api/erp/customerV2s",
        "api/qracore/browses",
        "a",
        "v1.2/x_y-z",
        "api/bdoc/ns.app/Entity..v2",
    ];
    for input in ok {
        assert_eq!(
            EntityPath::parse(input).map(|p| p.as_str().to_owned()),
            Ok(input.to_owned())
        );
    }
    let bad: &[(&str, PathProblem)] = &[
        ("", PathProblem::Empty),
        ("..", PathProblem::DotSegment),
        ("../etc/passwd", PathProblem::DotSegment),
        ("api/../../admin", PathProblem::DotSegment),
        ("api/./erp", PathProblem::DotSegment),
        ("api/...", PathProblem::DotSegment),
        ("api/%2e%2e/admin", PathProblem::PercentEncoded),
        ("api/%2E%2E/admin", PathProblem::PercentEncoded),
        ("api%2fadmin", PathProblem::PercentEncoded),
        ("api%5cadmin", PathProblem::PercentEncoded),
        ("api\\admin", PathProblem::Backslash),
        ("api\\..\\admin", PathProblem::Backslash),
        ("/api/erp", PathProblem::Absolute),
        ("//evil.example/api", PathProblem::AbsoluteUrl),
        ("http://evil.example/api", PathProblem::AbsoluteUrl),
        ("http:api", PathProblem::AbsoluteUrl),
        ("javascript:alert(1)", PathProblem::AbsoluteUrl),
        ("api//erp", PathProblem::EmptySegment),
        ("api/erp/", PathProblem::EmptySegment),
        ("api/erp?x=1", PathProblem::InvalidCharacter('?')),
        ("api/erp#x", PathProblem::InvalidCharacter('#')),
        ("api/e rp", PathProblem::InvalidCharacter(' ')),
        ("api/ërp", PathProblem::InvalidCharacter('ë')),
    ];
    for (input, problem) in bad {
        assert_eq!(EntityPath::parse(input), Err(*problem), "{input:?}");
    }
    assert_eq!(
        EntityPath::parse(&"a".repeat(513)),
        Err(PathProblem::TooLong)
    );
}

#[test]
fn browse_id_table() {
    let ok = [
        "urn:browse:bebrowse:com.qad.erp.sales.salesOrders",
        "urn:browse:bebrowse:com.qad.erp.base.customers",
        "urn:browse:mfg:cm007",
        "urn:browse:mfg:so011",
    ];
    for input in ok {
        assert_eq!(
            BrowseId::parse(input).map(|p| p.to_string()),
            Ok(input.to_owned())
        );
    }
    let bad: &[(&str, PathProblem)] = &[
        ("", PathProblem::Empty),
        ("browse:mfg:cm007", PathProblem::NotUrn),
        ("URN:browse:mfg:cm007", PathProblem::NotUrn),
        ("urn:", PathProblem::EmptySegment),
        ("urn:browse::cm007", PathProblem::EmptySegment),
        ("urn:browse:..:cm007", PathProblem::DotSegment),
        (
            "urn:browse:mfg:cm007/../x",
            PathProblem::InvalidCharacter('/'),
        ),
        ("urn:browse:%2e%2e", PathProblem::PercentEncoded),
        ("urn:browse:a\\b", PathProblem::Backslash),
        ("http://evil/urn:x", PathProblem::InvalidCharacter('/')),
        (
            "urn:browse:mfg:cm007&pageSize=1",
            PathProblem::InvalidCharacter('&'),
        ),
    ];
    for (input, problem) in bad {
        assert_eq!(BrowseId::parse(input), Err(*problem), "{input:?}");
    }
}

#[test]
fn from_str_errors_name_the_kind_input_and_problem() {
    let err = "api/%2e%2e".parse::<EntityPath>().unwrap_err();
    match &err {
        Error::InvalidPath {
            kind,
            input,
            problem,
        } => {
            assert_eq!(
                (*kind, input.as_str(), *problem),
                ("entity path", "api/%2e%2e", PathProblem::PercentEncoded)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "invalid entity path \"api/%2e%2e\": it contains a percent-encoded sequence"
    );
    let err = "mfg:cm007".parse::<BrowseId>().unwrap_err();
    assert!(err.to_string().starts_with("invalid browse id"), "{err}");
}

#[test]
fn serde_validates_too() {
    let ok: EntityPath = serde_json::from_str("\"api/erp/items\"").unwrap();
    assert_eq!(serde_json::to_string(&ok).unwrap(), "\"api/erp/items\"");
    assert!(serde_json::from_str::<EntityPath>("\"../x\"").is_err());
    assert!(serde_json::from_str::<BrowseId>("\"urn:a:..\"").is_err());
}

fn segment() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._-]{1,12}".prop_filter("dot-only segments are traversal", |s| {
        !s.chars().all(|c| c == '.')
    })
}

proptest! {
    #[test]
    fn safe_paths_round_trip(segments in prop::collection::vec(segment(), 1..6)) {
        let input = segments.join("/");
        let path = EntityPath::parse(&input).unwrap();
        prop_assert_eq!(path.as_str(), input.as_str());
        let id = BrowseId::parse(&format!("urn:{}", segments.join(":"))).unwrap();
        prop_assert!(id.as_str().starts_with("urn:"));
    }

    #[test]
    fn any_accepted_path_is_free_of_traversal(input in any::<String>()) {
        if let Ok(path) = EntityPath::parse(&input) {
            let s = path.as_str();
            prop_assert!(!s.starts_with('/'));
            prop_assert!(!s.contains(['\\', '%', ':', '?', '#']));
            prop_assert!(s.split('/').all(|seg| !seg.is_empty() && !seg.chars().all(|c| c == '.')));
        }
    }

    #[test]
    fn injected_traversal_is_always_rejected(
        before in prop::collection::vec(segment(), 0..3),
        after in prop::collection::vec(segment(), 0..3),
        evil in prop::sample::select(vec![
            "..", ".", "%2e%2e", "%2E%2e", "%2f", "%2F", "%5c", "%5C", "a\\b", "http:", "https:", "", "..%2f",
        ]),
    ) {
        let mut parts = before.clone();
        parts.push(evil.to_owned());
        parts.extend(after.clone());
        let input = parts.join("/");
        prop_assert!(EntityPath::parse(&input).is_err(), "{}", input);
        let absolute = format!("/{}", before.join("/"));
        prop_assert!(EntityPath::parse(&absolute).is_err(), "{}", absolute);
        let urn = format!("urn:{}", parts.join(":"));
        prop_assert!(BrowseId::parse(&urn).is_err(), "{}", urn);
    }
}
