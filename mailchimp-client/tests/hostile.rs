//! The hostile corpus for the Mailchimp client (issue 13 point 10): API roots, responses
//! (malformed JSON, wrong types, a huge page, an HTML error page from a proxy) through wiremock,
//! and webhook bodies and headers, each with its expected outcome: a typed error, a documented
//! normalisation, or accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::mem::discriminant;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use mailchimp_client::webhooks::{WebhookError, WebhookVerifier, SIGNATURE_HEADER};
use mailchimp_client::{parse_api_root, ApiRootProblem, Error};
use serde_json::json;
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn api_roots() {
    use ApiRootProblem::*;
    let cases: &[(&str, Result<&str, ApiRootProblem>)] = &[
        // Accepted; a bare host gets `/3.0`, a trailing slash is dropped.
        (
            "https://us6.api.mailchimp.com/3.0",
            Ok("https://us6.api.mailchimp.com/3.0"),
        ),
        (
            "https://us6.api.mailchimp.com/3.0/",
            Ok("https://us6.api.mailchimp.com/3.0"),
        ),
        (
            "https://us6.api.mailchimp.com",
            Ok("https://us6.api.mailchimp.com/3.0"),
        ),
        (
            "https://us6.api.mailchimp.com/",
            Ok("https://us6.api.mailchimp.com/3.0"),
        ),
        (
            " https://US6.api.mailchimp.com/3.0 ",
            Ok("https://us6.api.mailchimp.com/3.0"),
        ),
        (
            "https://proxy.acme.example/mc/3.0",
            Ok("https://proxy.acme.example/mc/3.0"),
        ),
        ("http://127.0.0.1:9/3.0", Ok("http://127.0.0.1:9/3.0")),
        ("http://localhost:9", Ok("http://localhost:9/3.0")),
        ("http://[::1]:9/3.0", Ok("http://[::1]:9/3.0")),
        // Refused: the API key must not travel in clear or to a rewritten place.
        ("http://evil.example/3.0", Err(PlainHttp)),
        ("http://192.168.1.10/3.0", Err(PlainHttp)),
        ("ftp://us6.api.mailchimp.com/3.0", Err(Scheme)),
        (
            "https://anystring:key@us6.api.mailchimp.com/3.0",
            Err(UserInfo),
        ),
        ("https://u@us6.api.mailchimp.com/3.0", Err(UserInfo)),
        ("https://us6.api.mailchimp.com/3.0?dc=us6", Err(Query)),
        ("https://us6.api.mailchimp.com/3.0#x", Err(Fragment)),
        ("https://us6.api.mailchimp.com/2.0", Err(MissingVersion)),
        (
            "https://us6.api.mailchimp.com/3.0/lists",
            Err(MissingVersion),
        ),
        ("https://proxy.acme.example/mailchimp", Err(MissingVersion)),
        ("us6.api.mailchimp.com/3.0", Err(Malformed)),
        ("mailto:ops@acme.example", Err(Malformed)),
        ("", Err(Malformed)),
    ];
    for (input, expected) in cases {
        let got = parse_api_root(input);
        match (expected, &got) {
            (Ok(normal), Ok(url)) => assert_eq!(url.as_str(), *normal, "{input:?}"),
            (Err(want), Err(problem)) => {
                assert_eq!(want, problem, "{input:?}");
                assert!(!problem.to_string().contains("key@"), "{problem}");
            }
            _ => panic!("{input:?}: expected {expected:?}, got {got:?}"),
        }
    }
    assert_eq!(cases.len(), 22);
}

/// What a call must come to.
#[derive(Debug)]
enum Outcome {
    /// Decoded.
    Ok,
    /// `Error::Decode`, at this status.
    Decode(u16),
    /// `Error::Http` (no problem document), at this status.
    Http(u16),
    /// `Error::NotFound`.
    NotFound,
    /// `Error::Unauthorized`.
    Unauthorized,
    /// `Error::Api`.
    Api,
}

fn check(name: &str, expected: &Outcome, got: &mailchimp_client::Result<()>) {
    let ok = match (expected, got) {
        (Outcome::Ok, Ok(())) => true,
        (
            Outcome::Decode(s),
            Err(Error::Decode {
                status, excerpt, ..
            }),
        ) => {
            assert!(
                excerpt.len() <= 1024,
                "{name}: excerpt of {} bytes",
                excerpt.len()
            );
            s == status
        }
        (Outcome::Http(s), Err(Error::Http { status, .. })) => s == status,
        (Outcome::NotFound, Err(Error::NotFound(_)))
        | (Outcome::Unauthorized, Err(Error::Unauthorized(_)))
        | (Outcome::Api, Err(Error::Api(_))) => true,
        _ => false,
    };
    assert!(ok, "{name}: expected {expected:?}, got {got:?}");
}

fn html(status: u16, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        format!("<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>"),
        "text/html",
    )
}

fn problem(status: u16, title: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        json!({"type": "https://mailchimp.com/developer/marketing/docs/errors/",
               "title": title, "status": status, "detail": "d", "instance": "i"})
        .to_string(),
        "application/problem+json",
    )
}

#[tokio::test]
async fn mailchimp_responses_to_ping() {
    let cases: Vec<(&str, ResponseTemplate, Outcome)> = vec![
        (
            "well-formed",
            ResponseTemplate::new(200)
                .set_body_json(json!({"health_status": "Everything's Chimpy!"})),
            Outcome::Ok,
        ),
        (
            "an HTML error page from a proxy at 502",
            html(502, "502 Bad Gateway"),
            Outcome::Http(502),
        ),
        (
            "an HTML page at 200 (a captive portal)",
            html(200, "Sign in to the network"),
            Outcome::Decode(200),
        ),
        (
            "malformed JSON",
            ResponseTemplate::new(200).set_body_raw("{\"health_status\": ", "application/json"),
            Outcome::Decode(200),
        ),
        (
            "an empty body",
            ResponseTemplate::new(200).set_body_raw("", "application/json"),
            Outcome::Decode(200),
        ),
        (
            "a wrong type",
            ResponseTemplate::new(200).set_body_json(json!({"health_status": 42})),
            Outcome::Decode(200),
        ),
        (
            // Accepted: serde reads a struct from a sequence of its fields in order.
            "a list of the fields instead of an object",
            ResponseTemplate::new(200).set_body_json(json!(["Everything's Chimpy!"])),
            Outcome::Ok,
        ),
        (
            "a bare string",
            ResponseTemplate::new(200).set_body_json(json!("Everything's Chimpy!")),
            Outcome::Decode(200),
        ),
        (
            "a huge HTML body at 503",
            html(503, &"overloaded ".repeat(100_000)),
            Outcome::Http(503),
        ),
        (
            "a problem document at 404",
            problem(404, "Resource Not Found"),
            Outcome::NotFound,
        ),
        (
            "a problem document at 401",
            problem(401, "API Key Invalid"),
            Outcome::Unauthorized,
        ),
        (
            "a problem document at 400",
            problem(400, "Bad Request"),
            Outcome::Api,
        ),
    ];
    let count = cases.len();
    for (name, response, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/ping"))
            .respond_with(response)
            .mount(&server)
            .await;
        let got = common::client(&server).await.ping().await.map(|_| ());
        check(name, &expected, &got);
    }
    assert_eq!(count, 12);
}

/// `(items, undecoded items)`, or the error.
type PageExpect = Result<(usize, usize), Outcome>;

#[tokio::test]
async fn mailchimp_list_pages() {
    let audience = |i: usize| json!({"id": format!("l{i:05}"), "name": format!("Audience {i}")});
    let huge: Vec<_> = (0..1000).map(audience).collect();
    let cases: Vec<(&str, serde_json::Value, PageExpect)> = vec![
        (
            "a huge page of 1,000 items",
            json!({"lists": huge, "total_items": 1000}),
            Ok((1000, 0)),
        ),
        (
            "one item of the wrong type is set aside, the others decode",
            json!({"lists": [audience(1), {"id": 7, "name": "x"}, audience(3)], "total_items": 3}),
            Ok((2, 1)),
        ),
        (
            "total_items as a string",
            json!({"lists": [audience(1)], "total_items": "lots"}),
            Err(Outcome::Decode(200)),
        ),
        (
            // Accepted as an empty page: a `fields=` filter may leave the list out; the
            // total is kept, so a caller walking the collection sees the shortfall.
            "the item list missing",
            json!({"total_items": 3}),
            Ok((0, 0)),
        ),
        (
            "total_items missing",
            json!({"lists": [audience(1)]}),
            Err(Outcome::Decode(200)),
        ),
        (
            "the item list as an object",
            json!({"lists": {"id": "a"}, "total_items": 1}),
            Err(Outcome::Decode(200)),
        ),
    ];
    let count = cases.len();
    for (name, body, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/lists"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
        let got = common::client(&server).await.lists().send().await;
        match (expected, got) {
            (Ok((items, undecoded)), Ok(page)) => {
                assert_eq!(
                    (page.items.len(), page.undecoded.len()),
                    (items, undecoded),
                    "{name}"
                );
            }
            (Err(outcome), Err(e)) => check(name, &outcome, &Err(e)),
            (expected, got) => panic!("{name}: expected {expected:?}, got {got:?}"),
        }
    }
    assert_eq!(count, 6);
}

const SECRET: &str = "whsec_hostile_corpus";
const NOW: u64 = 1_714_557_600;

fn signature(t: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// What a webhook request must come to: the event type, or the error's variant.
type WebhookExpect = Result<&'static str, WebhookError>;

fn missing(field: &str) -> WebhookError {
    WebhookError::MissingField {
        field: field.into(),
    }
}

#[test]
fn webhook_bodies() {
    const OK: &str = "type=unsubscribe&fired_at=2024-05-01+10%3A00%3A00&data[action]=unsub\
        &data[reason]=manual&data[id]=8a25ff1d98&data[list_id]=a6b5da1054\
        &data[email]=api%40mailchimp.com&data[email_type]=html";
    let deep = format!(
        "type=profile&fired_at=2024-05-01+10%3A00%3A00&data{}=x",
        "[a]".repeat(40)
    );
    let many = format!(
        "type=profile&fired_at=2024-05-01+10%3A00%3A00{}",
        (0..2000)
            .map(|i| format!("&data[f{i}]=x"))
            .collect::<String>()
    );
    let long_email = format!(
        "type=cleaned&fired_at=2024-05-01+10%3A00%3A00&data[list_id]=a1&data[reason]=hard\
         &data[email]={}%40acme.example",
        "a".repeat(300)
    );
    let huge = format!("{OK}&data[merges][NOTE]={}", "x".repeat(300_000));
    let offset = WebhookError::MissingEquals { offset: 0 };
    let key = WebhookError::MalformedKey { key: String::new() };
    let cases: Vec<(String, WebhookExpect)> = vec![
        (OK.into(), Ok("unsubscribe")),
        (
            format!("{OK}&data[merges][FNAME]=Zo%C3%AB+%F0%9F%8F%AD"),
            Ok("unsubscribe"),
        ),
        (
            format!("{OK}&data[merges][LNAME]=O%27Brien+%22Jr%22"),
            Ok("unsubscribe"),
        ),
        (format!("{OK}&data[merges][NOTE]=%00"), Ok("unsubscribe")),
        (format!("{OK}&data[unknown][nested]=1"), Ok("unsubscribe")),
        (
            OK.replace("type=unsubscribe", "type=campaign"),
            Ok("campaign"),
        ),
        (long_email, Ok("cleaned")),
        (String::new(), Err(missing("type"))),
        ("hello".into(), Err(offset.clone())),
        ("type=subscribe&fired_at".into(), Err(offset)),
        (OK.replace("type=unsubscribe&", ""), Err(missing("type"))),
        (
            OK.replace("fired_at=2024-05-01+10%3A00%3A00&", ""),
            Err(missing("fired_at")),
        ),
        (
            OK.replace("2024-05-01+10%3A00%3A00", "yesterday"),
            Err(WebhookError::InvalidFiredAt {
                value: String::new(),
            }),
        ),
        (
            OK.replace("2024-05-01+10%3A00%3A00", "2024-02-30+10%3A00%3A00"),
            Err(WebhookError::InvalidFiredAt {
                value: String::new(),
            }),
        ),
        (
            OK.replace("&data[email]=api%40mailchimp.com", ""),
            Err(missing("data[email]")),
        ),
        (
            format!("{OK}&type=subscribe"),
            Err(WebhookError::DuplicateKey { key: String::new() }),
        ),
        (
            format!("{OK}&data[email][x]=1"),
            Err(WebhookError::ConflictingKey { key: String::new() }),
        ),
        (format!("{OK}&data[x=1"), Err(key.clone())),
        (format!("{OK}&data]x[=1"), Err(key.clone())),
        (format!("{OK}&[x]=1"), Err(key)),
        (
            format!("{OK}&x=%zz"),
            Err(WebhookError::MalformedEscape { offset: 0 }),
        ),
        (
            format!("{OK}&x=%"),
            Err(WebhookError::MalformedEscape { offset: 0 }),
        ),
        (
            format!("{OK}&x=%FF%FE"),
            Err(WebhookError::InvalidUtf8 { offset: 0 }),
        ),
        (
            deep,
            Err(WebhookError::TooDeep {
                key: String::new(),
                limit: 0,
            }),
        ),
        (many, Err(WebhookError::TooManyFields { limit: 0 })),
        (huge, Err(WebhookError::BodyTooLarge { size: 0, limit: 0 })),
    ];
    let verifier = WebhookVerifier::signed(SECRET);
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    for (body, expected) in &cases {
        // Signed correctly, so every outcome is the parser's.
        let header = signature(NOW, body.as_bytes());
        let got = verifier.verify_and_parse_at(Some(&header), body.as_bytes(), now);
        let shown = &body[..body.len().min(80)];
        match (expected, &got) {
            (Ok(kind), Ok(delivery)) => assert_eq!(delivery.event_type(), *kind, "{shown}"),
            (Err(want), Err(e)) => assert_eq!(discriminant(want), discriminant(e), "{shown}: {e}"),
            _ => {
                let got = format!("{got:?}");
                panic!(
                    "{shown}: expected {expected:?}, got {}",
                    &got[..got.len().min(300)]
                );
            }
        }
        if let Err(e) = &got {
            assert!(
                e.to_string().chars().count() < 200,
                "errors quote excerpts only: {e}"
            );
        }
    }
    assert_eq!(cases.len(), 26);
}

#[test]
fn webhook_signature_headers() {
    // Through the request headers, against the system clock.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    const BODY: &[u8] = b"type=cleaned&fired_at=2024-05-01+10%3A00%3A00\
        &data[list_id]=a1&data[reason]=hard&data[email]=gone%40acme.example";
    let good = signature(now, BODY);
    let v1 = good.split_once(",v1=").unwrap().1.to_owned();
    let malformed = WebhookError::MalformedSignature { reason: "" };
    let cases: Vec<(&str, Vec<Vec<u8>>, WebhookExpect)> = vec![
        ("valid", vec![good.clone().into_bytes()], Ok("cleaned")),
        (
            "a second, wrong v1 next to the right one",
            vec![format!("t={now},v1={},v1={v1}", "0".repeat(64)).into_bytes()],
            Ok("cleaned"),
        ),
        ("absent", vec![], Err(WebhookError::MissingSignature)),
        (
            "sent twice",
            vec![good.clone().into_bytes(), good.clone().into_bytes()],
            Err(malformed.clone()),
        ),
        ("empty", vec![b"".to_vec()], Err(malformed.clone())),
        (
            "no timestamp",
            vec![format!("v1={v1}").into_bytes()],
            Err(malformed.clone()),
        ),
        (
            "no v1",
            vec![format!("t={now}").into_bytes()],
            Err(malformed.clone()),
        ),
        (
            "a timestamp that is not a number",
            vec![format!("t=soon,v1={v1}").into_bytes()],
            Err(malformed.clone()),
        ),
        (
            "a non-ASCII value",
            vec![format!("t={now},v1=é{v1}").into_bytes()],
            Err(malformed.clone()),
        ),
        (
            "v1 not hex",
            vec![format!("t={now},v1={}", "z".repeat(64)).into_bytes()],
            Err(malformed.clone()),
        ),
        (
            "the signature of another body",
            vec![signature(now, b"type=subscribe").into_bytes()],
            Err(WebhookError::SignatureMismatch),
        ),
        (
            "a day and a second old",
            vec![signature(now - 86_401, BODY).into_bytes()],
            Err(WebhookError::StaleSignature {
                timestamp: 0,
                now: 0,
                tolerance_secs: 0,
            }),
        ),
        (
            "from the far future",
            vec![signature(now + 10 * 86_400, BODY).into_bytes()],
            Err(WebhookError::StaleSignature {
                timestamp: 0,
                now: 0,
                tolerance_secs: 0,
            }),
        ),
    ];
    let verifier = WebhookVerifier::signed(SECRET).with_tolerance(Duration::from_secs(86_400));
    for (name, values, expected) in &cases {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(SIGNATURE_HEADER, HeaderValue::from_bytes(value).unwrap());
        }
        let got = verifier.verify_and_parse_request(&headers, BODY);
        match (expected, &got) {
            (Ok(kind), Ok(delivery)) => assert_eq!(delivery.event_type(), *kind, "{name}"),
            (Err(want), Err(e)) => assert_eq!(discriminant(want), discriminant(e), "{name}: {e}"),
            _ => panic!("{name}: expected {expected:?}, got {got:?}"),
        }
    }
    assert_eq!(cases.len(), 13);
}
