//! Property tests for the parsers that read what arrives from outside: the error-response
//! (problem document) decoder, the API-root policy and the webhook form. The fuzz targets under
//! `fuzz/` search the same code guided by coverage; these run on every `cargo test`.
//! (Random webhook bodies and signature headers are in `webhooks_deliveries.rs` and
//! `webhooks_signatures.rs`.)

// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use mailchimp_client::fuzzing::error_from_response;
use mailchimp_client::webhooks::{
    parse_delivery, parse_delivery_with_limits, FormValue, ParseLimits, WebhookError, WebhookEvent,
};
use mailchimp_client::{check_base_url, parse_api_root, ApiRootProblem, Error};
use proptest::prelude::*;

/// Modest case counts: the suite runs on every build.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(128)
}

fn host() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}[a-z0-9](\\.[a-z][a-z0-9]{0,8}){1,3}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_error_body_maps_to_an_error_that_keeps_the_status(
        status in 400u16..600,
        body in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let err = error_from_response(status, &body);
        prop_assert!(err.status().is_some());
        let _ = (err.to_string(), format!("{err:?}"), err.is_retryable());
        if let Error::Http { status: kept, excerpt } = &err {
            prop_assert_eq!(*kept, status);
            prop_assert!(excerpt.chars().count() <= 201, "{} chars", excerpt.chars().count());
        }
    }

    #[test]
    fn a_problem_document_round_trips(
        status in 400u16..600,
        title in "\\PC{1,40}",
        detail in "\\PC{0,80}",
        fields in proptest::collection::vec(("[a-z_.A-Z]{0,20}", "\\PC{0,30}"), 0..4),
    ) {
        let errors: Vec<_> = fields
            .iter()
            .map(|(field, message)| serde_json::json!({"field": field, "message": message}))
            .collect();
        let body = serde_json::json!({
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": title, "status": status, "detail": detail, "errors": errors,
        });
        let err = error_from_response(status, body.to_string().as_bytes());
        let problem = err.problem().expect("a problem document");
        prop_assert_eq!(&problem.title, &title);
        prop_assert_eq!(&problem.detail, &detail);
        prop_assert_eq!(problem.status, status);
        prop_assert_eq!(err.field_errors().len(), fields.len());
        for (got, (field, message)) in err.field_errors().iter().zip(&fields) {
            prop_assert_eq!(&got.field, field);
            prop_assert_eq!(&got.message, message);
        }
        prop_assert_eq!(err.is_not_found(), status == 404);
    }

    #[test]
    fn an_accepted_api_root_validates_to_itself(input in "\\PC{0,60}") {
        if let Ok(url) = check_base_url(&input) {
            prop_assert_eq!(check_base_url(url.as_str()), Ok(url.clone()));
            prop_assert!(url.username().is_empty() && url.password().is_none());
        }
        if let Ok(root) = parse_api_root(&input) {
            prop_assert_eq!(parse_api_root(root.as_str()), Ok(root.clone()));
            prop_assert!(root.path().ends_with("/3.0"));
        }
    }

    #[test]
    fn https_roots_gain_the_version_and_plain_http_needs_loopback(
        host in host(),
        slash in prop::bool::ANY,
        port in proptest::option::of(1u16..),
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let tail = if slash { "/" } else { "" };
        let root = parse_api_root(&format!("https://{host}{port}{tail}")).unwrap();
        prop_assert_eq!(root.path(), "/3.0");
        prop_assert_eq!(
            parse_api_root(&format!("http://{host}{port}/3.0")),
            Err(ApiRootProblem::PlainHttp)
        );
        let loopback = format!("http://127.0.0.1{port}/3.0");
        prop_assert!(parse_api_root(&loopback).is_ok(), "{}", loopback);
        prop_assert_eq!(
            check_base_url(&format!("https://user:pw@{host}{port}/3.0")),
            Err(ApiRootProblem::UserInfo)
        );
    }

    #[test]
    fn encoded_form_fields_decode_to_what_was_encoded(
        data in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,40}", 0..12),
    ) {
        let mut pairs = vec![
            ("type".to_owned(), "x_custom".to_owned()),
            ("fired_at".to_owned(), "2024-05-01 10:00:00".to_owned()),
        ];
        pairs.extend(data.iter().map(|(k, v)| (format!("data[{k}]"), v.clone())));
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        let delivery = parse_delivery(body.as_bytes()).unwrap();
        let WebhookEvent::Unknown { event_type, data: decoded } = delivery.event() else {
            panic!("{:?}", delivery.event());
        };
        prop_assert_eq!(event_type, "x_custom");
        let expected: BTreeMap<_, _> = data
            .into_iter()
            .map(|(k, v)| (k, FormValue::Text(v)))
            .collect();
        prop_assert_eq!(decoded, &expected);
    }

    #[test]
    fn a_body_over_the_limit_is_refused_before_parsing(
        limit in 1usize..512,
        extra in 1usize..64,
        byte in any::<u8>(),
    ) {
        let limits = ParseLimits::default().with_max_body_bytes(limit);
        let body = vec![byte; limit + extra];
        prop_assert!(
            matches!(
                parse_delivery_with_limits(&body, &limits),
                Err(WebhookError::BodyTooLarge { .. })
            ),
            "limit {}", limit
        );
    }

    #[test]
    fn nesting_past_the_depth_limit_is_refused(depth in 9usize..200) {
        let key = format!("data{}", "[a]".repeat(depth));
        let body = format!("type=x&fired_at=2024-05-01+10%3A00%3A00&{key}=1");
        let refused = parse_delivery(body.as_bytes());
        prop_assert!(matches!(refused, Err(WebhookError::TooDeep { .. })), "{:?}", refused);
    }
}
