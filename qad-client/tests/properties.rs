//! Property tests for the parsers that read what arrives from outside: the browse reply
//! decoders (error envelope, row-list envelopes, typed records) and the tenant URL. The fuzz
//! targets under `fuzz/` search the same code guided by coverage; these run on every
//! `cargo test`. (Entity paths and browse ids are in `paths.rs`.)

// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use qad_client::fuzzing::decode_browse_reply;
use qad_client::{Error, TenantUrl, UrlProblem};
use serde_json::{json, Value};

/// Modest case counts: the suite runs on every build.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(128)
}

/// Any JSON document, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("data".to_owned()),
                    Just("auxillaryData".to_owned()),
                    Just("HasMoreParams".to_owned()),
                    Just("submitResult".to_owned()),
                    Just("success".to_owned()),
                    Just("errors".to_owned()),
                    Just("customerCode".to_owned()),
                    Just("price".to_owned()),
                    "[a-zA-Z.]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A flat browse row: string, number, boolean and null values.
fn row() -> impl Strategy<Value = Value> {
    proptest::collection::btree_map(
        "[a-zA-Z][a-zA-Z.]{0,15}",
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            "\\PC{0,20}".prop_map(Value::String),
        ],
        0..8,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn host() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}[a-z0-9](\\.[a-z][a-z0-9]{0,8}){1,3}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_reply_bytes_decode_or_fail_with_a_typed_error(
        status in 100u16..600,
        body in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        match decode_browse_reply(status, &body) {
            Ok(decoded) => prop_assert!(decoded.customers <= decoded.rows),
            Err(err) => { let _ = (err.to_string(), format!("{err:?}")); }
        }
    }

    #[test]
    fn any_json_reply_decodes_or_fails_with_a_typed_error(
        status in prop::sample::select(vec![200u16, 201, 400, 404, 500]),
        body in any_json(),
    ) {
        let bytes = serde_json::to_vec(&body).unwrap();
        match decode_browse_reply(status, &bytes) {
            Ok(decoded) => {
                prop_assert!((200..300).contains(&status));
                prop_assert!(decoded.items <= decoded.rows);
            }
            Err(err) => { let _ = err.to_string(); }
        }
    }

    #[test]
    fn rows_survive_every_envelope(
        rows in proptest::collection::vec(row(), 0..8),
        more in proptest::option::of(any::<bool>()),
        name in "[a-z][a-zA-Z]{0,11}",
    ) {
        let aux = || more.map_or(json!({}), |m| json!({"HasMoreParams": m}));
        for (body, carries_more) in [
            (json!({"data": rows, "auxillaryData": aux()}), true),
            (json!({"data": {name.clone(): rows, "auxiliaryData": aux()}}), true),
            (json!({name.clone(): rows, "messages": []}), false),
            (json!(rows), false),
        ] {
            let decoded = decode_browse_reply(200, body.to_string().as_bytes()).unwrap();
            prop_assert_eq!(decoded.rows, rows.len(), "{}", body);
            if carries_more {
                prop_assert_eq!(decoded.more, more, "{}", body);
            }
        }
    }

    #[test]
    fn a_failed_submit_is_an_error_at_any_status(
        status in prop::sample::select(vec![200u16, 201, 400, 409, 422, 500]),
        messages in proptest::collection::vec("\\PC{1,30}", 0..4),
        rows in proptest::collection::vec(row(), 0..3),
    ) {
        let errors: Vec<_> = messages.iter().map(|m| json!({"message": m})).collect();
        let body = json!({"submitResult": {"success": false, "errors": errors}, "data": rows});
        let err = decode_browse_reply(status, body.to_string().as_bytes()).unwrap_err();
        let (Error::Rejected { errors: reported, .. } | Error::Duplicate { errors: reported, .. }) =
            &err
        else {
            return Err(TestCaseError::fail(format!("not a rejection: {err:?}")));
        };
        let reported: Vec<_> = reported.iter().map(|e| e.message.as_str()).collect();
        prop_assert_eq!(reported, messages.iter().map(String::as_str).collect::<Vec<_>>());
        if let Some(first) = messages.first() {
            prop_assert!(err.to_string().contains(first.as_str()), "{}", err);
        }
    }

    #[test]
    fn an_accepted_tenant_url_validates_to_itself(input in "\\PC{0,60}") {
        if let Ok(url) = TenantUrl::parse(&input) {
            prop_assert_eq!(TenantUrl::parse(url.as_str()), Ok(url.clone()));
            prop_assert!(!url.as_str().ends_with('/'));
        }
    }

    #[test]
    fn a_plain_tenant_url_is_kept_as_typed(
        host in host(),
        port in proptest::option::of(1u16..),
        root in proptest::collection::vec("[a-z][a-z0-9_-]{0,10}", 0..3),
        slash in prop::bool::ANY,
    ) {
        let port = port.filter(|p| *p != 443).map(|p| format!(":{p}")).unwrap_or_default();
        let path: String = root.iter().map(|s| format!("/{s}")).collect();
        let typed = format!("https://{host}{port}{path}");
        let input = if slash { format!("{typed}/") } else { typed.clone() };
        let parsed = TenantUrl::parse(&input).unwrap();
        prop_assert_eq!(parsed.as_str(), typed.as_str());
        prop_assert_eq!(
            TenantUrl::parse(&format!("https://api:pw@{host}{port}{path}")),
            Err(UrlProblem::UserInfo)
        );
        prop_assert_eq!(
            TenantUrl::parse(&format!("{typed}?a=1")),
            Err(UrlProblem::Query)
        );
        let plain = TenantUrl::parse(&format!("http://{host}{port}{path}"));
        prop_assert!(matches!(plain, Err(UrlProblem::PlainHttp(_))), "{:?}", plain);
    }
}
