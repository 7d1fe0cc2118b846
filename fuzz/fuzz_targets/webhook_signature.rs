//! The `X-Mailchimp-Signature` header and the request verifier: the first line of the input is
//! the header value, the rest the body. Whatever the header, verification never panics; a body
//! signed with the secret always verifies, and with one byte changed never does.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use mailchimp_client::webhooks::{WebhookError, WebhookVerifier, SIGNATURE_HEADER};
use sha2::Sha256;

const SECRET: &str = "whsec-fuzz";
const T: u64 = 1_714_557_600;

fn sign(timestamp: u64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (header, body) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let verifier = WebhookVerifier::signed(SECRET);
    let now = UNIX_EPOCH + Duration::from_secs(T);

    let _ = verifier.verify_at(Some(&String::from_utf8_lossy(header)), body, now);
    if let Ok(value) = http::HeaderValue::from_bytes(header) {
        let mut headers = http::HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, value.clone());
        let _ = verifier.verify_and_parse_request(&headers, body);
        headers.append(SIGNATURE_HEADER, value);
        assert!(matches!(
            verifier.verify_and_parse_request(&headers, body),
            Err(WebhookError::MalformedSignature { .. })
        ));
    }

    let signed = sign(T, body);
    assert_eq!(verifier.verify_at(Some(&signed), body, now), Ok(()));
    assert_eq!(
        verifier
            .verify_at(Some(&signed), body, SystemTime::UNIX_EPOCH)
            .is_ok(),
        false
    );
    if let Some(first) = body.first() {
        let mut tampered = body.to_vec();
        tampered[0] = first ^ 0x01;
        assert_eq!(
            verifier.verify_at(Some(&signed), &tampered, now),
            Err(WebhookError::SignatureMismatch)
        );
    }
});
