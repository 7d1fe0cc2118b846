//! Signed deliveries: `X-Mailchimp-Signature: t=<unix>,v1=<hex>` over
//! `"{t}.{raw body}"`, and the explicit opt-in for unsigned ones.

// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use mailchimp_client::webhooks::{WebhookError, WebhookEvent, WebhookVerifier};
use sha2::Sha256;

const BODY: &str = include_str!("fixtures/webhooks/unsubscribe.txt");
const SECRET: &str = "whsec_4f9b2c1d8e7a6b5c";
const T: u64 = 1_714_557_600;

fn sign(secret: &str, t: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn header(secret: &str, t: u64, body: &[u8]) -> String {
    format!("t={t},v1={}", sign(secret, t, body))
}

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

#[test]
fn valid_signature_is_accepted_and_parsed() {
    let verifier = WebhookVerifier::signed(SECRET);
    let header = header(SECRET, T, BODY.as_bytes());
    let delivery = verifier
        .verify_and_parse_at(Some(&header), BODY.as_bytes(), at(T + 10))
        .unwrap();
    assert!(matches!(delivery.event(), WebhookEvent::Unsubscribe(_)));
}

#[test]
fn wrong_secret_is_a_mismatch() {
    let verifier = WebhookVerifier::signed(SECRET);
    let header = header("whsec_someone_else", T, BODY.as_bytes());
    assert_eq!(
        verifier.verify_at(Some(&header), BODY.as_bytes(), at(T)),
        Err(WebhookError::SignatureMismatch)
    );
}

#[test]
fn tampered_body_is_a_mismatch() {
    let verifier = WebhookVerifier::signed(SECRET);
    let header = header(SECRET, T, BODY.as_bytes());
    let tampered = BODY.replace("unsub", "delete");
    assert_eq!(
        verifier.verify_at(Some(&header), tampered.as_bytes(), at(T)),
        Err(WebhookError::SignatureMismatch)
    );
    // Moving the timestamp without re-signing fails too.
    let moved = header.replacen(&format!("t={T}"), &format!("t={}", T + 1), 1);
    assert_eq!(
        verifier.verify_at(Some(&moved), BODY.as_bytes(), at(T)),
        Err(WebhookError::SignatureMismatch)
    );
}

#[test]
fn stale_and_future_timestamps_are_rejected_at_the_window_edge() {
    let verifier = WebhookVerifier::signed(SECRET);
    let header = header(SECRET, T, BODY.as_bytes());
    let body = BODY.as_bytes();
    assert!(verifier.verify_at(Some(&header), body, at(T + 300)).is_ok());
    assert_eq!(
        verifier.verify_at(Some(&header), body, at(T + 301)),
        Err(WebhookError::StaleSignature {
            timestamp: T as i64,
            now: (T + 301) as i64,
            tolerance_secs: 300,
        })
    );
    assert!(verifier.verify_at(Some(&header), body, at(T - 300)).is_ok());
    assert!(matches!(
        verifier.verify_at(Some(&header), body, at(T - 301)),
        Err(WebhookError::StaleSignature { .. })
    ));
    let strict = WebhookVerifier::signed(SECRET).with_tolerance(Duration::from_secs(5));
    assert!(matches!(
        strict.verify_at(Some(&header), body, at(T + 6)),
        Err(WebhookError::StaleSignature {
            tolerance_secs: 5,
            ..
        })
    ));
}

#[test]
fn malformed_headers_are_typed_errors() {
    let verifier = WebhookVerifier::signed(SECRET);
    let body = BODY.as_bytes();
    let good = sign(SECRET, T, body);
    for header in [
        String::new(),
        "v1".to_owned(),
        format!("v1={good}"),
        format!("t={T}"),
        format!("t=yesterday,v1={good}"),
        format!("t={T},v1=not-hex"),
        format!("t={T},v1={}", &good[..10]),
        format!("t={T};v1={good}"),
    ] {
        assert!(
            matches!(
                verifier.verify_at(Some(&header), body, at(T)),
                Err(WebhookError::MalformedSignature { .. })
            ),
            "{header:?}"
        );
    }
}

#[test]
fn a_rotated_secret_matches_any_v1() {
    let verifier = WebhookVerifier::signed(SECRET);
    let body = BODY.as_bytes();
    let header = format!(
        "t={T},v1={},v1={}",
        sign("whsec_old", T, body),
        sign(SECRET, T, body)
    );
    assert!(verifier.verify_at(Some(&header), body, at(T)).is_ok());
}

#[test]
fn unsigned_deliveries_need_the_explicit_opt_in() {
    let body = BODY.as_bytes();
    assert_eq!(
        WebhookVerifier::signed(SECRET).verify_at(None, body, at(T)),
        Err(WebhookError::MissingSignature)
    );
    let unsigned = WebhookVerifier::accept_unsigned();
    assert!(!unsigned.requires_signature());
    assert!(unsigned.verify_and_parse_at(None, body, at(T)).is_ok());
}

#[test]
fn the_system_clock_is_used_by_default() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let verifier = WebhookVerifier::signed(SECRET);
    let fresh = header(SECRET, now, BODY.as_bytes());
    assert!(verifier.verify(Some(&fresh), BODY.as_bytes()).is_ok());
    let old = header(SECRET, now - 3600, BODY.as_bytes());
    assert!(matches!(
        verifier.verify_and_parse(Some(&old), BODY.as_bytes()),
        Err(WebhookError::StaleSignature { .. })
    ));
}

#[test]
fn request_headers_carry_the_signature() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-mailchimp-signature",
        header(SECRET, now, BODY.as_bytes()).parse().unwrap(),
    );
    let verifier = WebhookVerifier::signed(SECRET);
    let delivery = verifier
        .verify_and_parse_request(&headers, BODY.as_bytes())
        .unwrap();
    assert_eq!(delivery.event_type(), "unsubscribe");
    assert_eq!(
        WebhookVerifier::signed("other").verify_and_parse_request(&headers, BODY.as_bytes()),
        Err(WebhookError::SignatureMismatch)
    );
}

proptest::proptest! {
    #[test]
    fn random_headers_never_panic(header in ".{0,200}", body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
        let _ = WebhookVerifier::signed(SECRET).verify_at(Some(&header), &body, at(T));
    }

    #[test]
    fn any_signed_body_verifies_and_any_flipped_byte_does_not(
        secret in "[ -~]{1,40}",
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..256),
        index in proptest::prelude::any::<proptest::sample::Index>(),
    ) {
        let verifier = WebhookVerifier::signed(secret.clone());
        let header = header(&secret, T, &body);
        proptest::prop_assert!(verifier.verify_at(Some(&header), &body, at(T)).is_ok());
        let mut tampered = body.clone();
        let i = index.index(tampered.len());
        tampered[i] ^= 0x01;
        proptest::prop_assert_eq!(
            verifier.verify_at(Some(&header), &tampered, at(T)),
            Err(WebhookError::SignatureMismatch)
        );
    }
}
