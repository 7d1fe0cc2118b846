//! Decoding audience webhook deliveries: one fixture per event type, as
//! Mailchimp sends them, and hostile bodies that must fail cleanly.

// Helpers outside `#[test]` functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mailchimp_client::webhooks::{
    parse_delivery, CleanedReason, FormValue, UnsubscribeAction, WebhookError, WebhookEvent,
};
use proptest::prelude::*;

const SUBSCRIBE: &str = include_str!("fixtures/webhooks/subscribe.txt");
const UNSUBSCRIBE: &str = include_str!("fixtures/webhooks/unsubscribe.txt");
const PROFILE: &str = include_str!("fixtures/webhooks/profile.txt");
const UPEMAIL: &str = include_str!("fixtures/webhooks/upemail.txt");
const CLEANED: &str = include_str!("fixtures/webhooks/cleaned.txt");
const CAMPAIGN: &str = include_str!("fixtures/webhooks/campaign.txt");
const UNKNOWN: &str = include_str!("fixtures/webhooks/unknown.txt");

#[test]
fn subscribe() {
    let delivery = parse_delivery(SUBSCRIBE.as_bytes()).unwrap();
    assert_eq!(delivery.event_type(), "subscribe");
    assert_eq!(delivery.fired_at().to_string(), "2009-03-26 21:35:57");
    let WebhookEvent::Subscribe(member) = delivery.event() else {
        panic!("{:?}", delivery.event());
    };
    assert_eq!(member.id, "8a25ff1d98");
    assert_eq!(member.list_id.as_str(), "a6b5da1054");
    assert_eq!(member.email, "api@mailchimp.com");
    assert_eq!(member.email_type.as_deref(), Some("html"));
    assert_eq!(member.ip_signup.as_deref(), Some("10.20.10.30"));
    assert_eq!(member.merge("FNAME"), Some("Mailchimp"));
    assert_eq!(member.merge("INTERESTS"), Some("Group1,Group2"));
}

#[test]
fn unsubscribe() {
    let delivery = parse_delivery(UNSUBSCRIBE.as_bytes()).unwrap();
    let WebhookEvent::Unsubscribe(event) = delivery.event() else {
        panic!("{:?}", delivery.event());
    };
    assert_eq!(event.action, UnsubscribeAction::Unsubscribe);
    assert_eq!(event.reason.as_deref(), Some("manual"));
    assert_eq!(event.campaign_id.as_deref(), Some("cb398d21d2"));
    assert_eq!(event.member.email, "api+unsub@mailchimp.com");
}

#[test]
fn profile_with_nested_address_and_groupings() {
    let delivery = parse_delivery(PROFILE.as_bytes()).unwrap();
    let WebhookEvent::Profile(member) = delivery.event() else {
        panic!("{:?}", delivery.event());
    };
    assert_eq!(member.merge("FNAME"), Some("Zoë"));
    assert_eq!(member.merge("LNAME"), Some("Müller-Łukasz"));
    assert_eq!(member.merge("PHONE"), Some("+33 1 23 45 67 89"));
    assert_eq!(member.web_id.as_deref(), Some("123456789"));
    let address = member.merges["ADDRESS"].as_map().unwrap();
    assert_eq!(address["city"], FormValue::Text("São Paulo".into()));
    assert_eq!(address["addr2"], FormValue::Text(String::new()));
    let grouping = member.merges["GROUPINGS"].as_map().unwrap()["0"]
        .as_map()
        .unwrap();
    assert_eq!(grouping["name"].as_text(), Some("Interests & Hobbies"));
    assert_eq!(grouping["groups"].as_text(), Some("Cooking, Travel"));
    // `ADDRESS` is a group, not a plain merge value.
    assert_eq!(member.merge("ADDRESS"), None);
}

#[test]
fn upemail() {
    let delivery = parse_delivery(UPEMAIL.as_bytes()).unwrap();
    let WebhookEvent::EmailChanged(event) = delivery.event() else {
        panic!("{:?}", delivery.event());
    };
    assert_eq!(event.old_email, "api+old@mailchimp.com");
    assert_eq!(event.new_email, "api+new@mailchimp.com");
    assert_eq!(event.new_id, "51da8c3259");
    assert_eq!(event.list_id.as_str(), "a6b5da1054");
}

#[test]
fn cleaned() {
    let delivery = parse_delivery(CLEANED.as_bytes()).unwrap();
    let WebhookEvent::Cleaned(event) = delivery.event() else {
        panic!("{:?}", delivery.event());
    };
    assert_eq!(event.reason, CleanedReason::HardBounce);
    assert_eq!(event.email, "api+cleaned@mailchimp.com");
    assert_eq!(event.campaign_id.as_deref(), Some("4fjk2ma9xd"));
}

#[test]
fn campaign() {
    let delivery = parse_delivery(CAMPAIGN.as_bytes()).unwrap();
    let WebhookEvent::Campaign(event) = delivery.event() else {
        panic!("{:?}", delivery.event());
    };
    assert_eq!(event.id, "5aa2102003");
    assert_eq!(event.subject.as_deref(), Some("Test Campaign Subject"));
    assert_eq!(event.status.as_deref(), Some("sent"));
    assert_eq!(event.reason.as_deref(), Some(""));
}

#[test]
fn unknown_type_is_kept_with_raw_fields() {
    let delivery = parse_delivery(UNKNOWN.as_bytes()).unwrap();
    let WebhookEvent::Unknown { event_type, data } = delivery.event() else {
        panic!("{:?}", delivery.event());
    };
    assert_eq!(event_type, "batch_operation_completed");
    assert!(data["response_body_url"]
        .as_text()
        .unwrap()
        .ends_with("X-Amz-Expires=600&sig=a+b"));
}

#[test]
fn dedup_keys_match_for_retries_and_differ_across_events() {
    let fixtures = [
        SUBSCRIBE,
        UNSUBSCRIBE,
        PROFILE,
        UPEMAIL,
        CLEANED,
        CAMPAIGN,
        UNKNOWN,
    ];
    let keys: Vec<_> = fixtures
        .iter()
        .map(|body| parse_delivery(body.as_bytes()).unwrap().dedup_key())
        .collect();
    for (i, key) in keys.iter().enumerate() {
        // A redelivery of the same body has the same key…
        assert_eq!(
            &parse_delivery(fixtures[i].as_bytes()).unwrap().dedup_key(),
            key
        );
        // …and no two events share one.
        for other in &keys[i + 1..] {
            assert_ne!(key, other);
        }
    }
    assert_eq!(
        keys[4].as_str(),
        "7:cleaned|2009-03-26 22:01:00|api+cleaned@mailchimp.com"
    );
}

#[test]
fn same_member_same_second_different_type_differs() {
    let subscribe = parse_delivery(
        b"type=subscribe&fired_at=2024-01-01+00%3A00%3A00&data[id]=m1&data[list_id]=l&data[email]=a%40b.c",
    )
    .unwrap();
    let profile = parse_delivery(
        b"type=profile&fired_at=2024-01-01+00%3A00%3A00&data[id]=m1&data[list_id]=l&data[email]=a%40b.c",
    )
    .unwrap();
    assert_ne!(subscribe.dedup_key(), profile.dedup_key());
}

// ----- hostile bodies -----

#[test]
fn truncated_bodies_are_errors() {
    // Cut inside an escape, inside a key, and before required fields.
    let cut_escape = &PROFILE[..PROFILE.find("%40").unwrap() + 2];
    assert!(matches!(
        parse_delivery(cut_escape.as_bytes()),
        Err(WebhookError::MalformedEscape { .. })
    ));
    let cut_key = "type=subscribe&fired_at=2009-03-26+21%3A35%3A57&data[merges][FNA";
    assert!(matches!(
        parse_delivery(cut_key.as_bytes()),
        Err(WebhookError::MissingEquals { .. })
    ));
    let cut_key_with_eq = "type=subscribe&fired_at=2009-03-26+21%3A35%3A57&data[merges=x";
    assert!(matches!(
        parse_delivery(cut_key_with_eq.as_bytes()),
        Err(WebhookError::MalformedKey { .. })
    ));
    let cut_early = &UPEMAIL[..UPEMAIL.find("&data%5Bnew_email").unwrap()];
    assert_eq!(
        parse_delivery(cut_early.as_bytes()),
        Err(WebhookError::MissingField {
            field: "data[new_email]".into()
        })
    );
    let cut_date = "type=campaign&fired_at=2009-03-26+22%3A1";
    assert!(matches!(
        parse_delivery(cut_date.as_bytes()),
        Err(WebhookError::InvalidFiredAt { .. })
    ));
    assert_eq!(
        parse_delivery(b""),
        Err(WebhookError::MissingField {
            field: "type".into()
        })
    );
}

#[test]
fn every_prefix_of_every_fixture_parses_or_fails_cleanly() {
    for body in [SUBSCRIBE, UNSUBSCRIBE, PROFILE, UPEMAIL, CLEANED, CAMPAIGN] {
        let bytes = body.as_bytes();
        let mut failures = 0;
        for end in 0..bytes.len() {
            if parse_delivery(&bytes[..end]).is_err() {
                failures += 1;
            }
        }
        // The empty prefix and the ones cut before the required fields fail.
        assert!(failures > 0);
        assert!(parse_delivery(bytes).is_ok());
    }
}

#[test]
fn repeated_keys_are_errors() {
    let body = format!("{CLEANED}&data%5Breason%5D=abuse");
    assert!(matches!(
        parse_delivery(body.as_bytes()),
        Err(WebhookError::DuplicateKey { key }) if key == "data[reason]"
    ));
    let body = format!("{SUBSCRIBE}&type=unsubscribe");
    assert!(matches!(
        parse_delivery(body.as_bytes()),
        Err(WebhookError::DuplicateKey { .. })
    ));
}

#[test]
fn a_megabyte_of_keys_is_rejected_before_parsing() {
    let mut body = String::from("type=subscribe");
    let mut n = 0;
    while body.len() < 1024 * 1024 {
        body.push_str(&format!("&data[merges][K{n}]=v"));
        n += 1;
    }
    assert!(matches!(
        parse_delivery(body.as_bytes()),
        Err(WebhookError::BodyTooLarge { limit: 262_144, .. })
    ));
    // Under the size limit, a flood of small fields hits the field limit.
    let flood: String = (0..20_000).map(|i| format!("a{i}=1&")).collect();
    assert!(matches!(
        parse_delivery(flood.as_bytes()),
        Err(WebhookError::TooManyFields { limit: 1000 })
    ));
}

#[test]
fn invalid_utf8_is_an_error() {
    let escaped = "type=subscribe&fired_at=2009-03-26+21%3A35%3A57&data[email]=%C3%28";
    assert!(matches!(
        parse_delivery(escaped.as_bytes()),
        Err(WebhookError::InvalidUtf8 { .. })
    ));
    let mut raw = b"type=subscribe&data[email]=".to_vec();
    raw.extend_from_slice(&[0xF0, 0x28, 0x8C, 0xBC]);
    assert!(matches!(
        parse_delivery(&raw),
        Err(WebhookError::InvalidUtf8 { .. })
    ));
}

#[test]
fn deep_nesting_is_an_error() {
    let key: String = std::iter::once("data".to_owned())
        .chain((0..10_000).map(|i| format!("[{i}]")))
        .collect();
    let body = format!("type=x&fired_at=2009-03-26+21%3A35%3A57&{key}=1");
    assert!(matches!(
        parse_delivery(body.as_bytes()),
        Err(WebhookError::TooDeep { limit: 8, .. })
    ));
}

#[test]
fn errors_quote_only_an_excerpt_of_hostile_keys() {
    let key = "k".repeat(100_000);
    let body = format!("{key}[a]=1&{key}[a]=2");
    let err = parse_delivery(body.as_bytes()).unwrap_err();
    assert!(err.to_string().len() < 200, "{err}");
}

proptest! {
    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_delivery(&body);
    }

    #[test]
    fn random_form_like_text_never_panics(body in "[a-z\\[\\]=&%0-9A-F+]{0,256}") {
        let _ = parse_delivery(body.as_bytes());
    }

    #[test]
    fn mutated_fixtures_never_panic(
        index in 0usize..PROFILE.len(),
        byte in any::<u8>(),
    ) {
        let mut body = PROFILE.as_bytes().to_vec();
        body[index] = byte;
        let _ = parse_delivery(&body);
    }
}
