//! The hostile corpus for the webhook endpoint (issue 13 point 10): raw HTTP requests with odd
//! methods, paths, headers and bodies against a signed receiver, each with its expected status,
//! the refusal it is counted as, and the audit rows it may leave (only signed deliveries leave
//! any).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use secrecy::ExposeSecret;
use sync_core::audit::AuditQuery;
use sync_core::webhook_receiver::{generate_path_token, serve, ReceiverConfig, Rejection};
use sync_core::{SqliteStateStore, StateStore};
use testkit::mailchimp::signature_header;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "whsec-hostile-corpus";
const LIST: &str = "a6b5da1054";

fn cleaned(email: &str) -> String {
    format!(
        "type=cleaned&fired_at=2026-03-02+08%3A00%3A00&data[list_id]={LIST}&data[reason]=hard\
         &data[email]={email}"
    )
}

fn signed(body: &str) -> String {
    format!(
        "X-Mailchimp-Signature: {}\r\n",
        signature_header(SECRET, chrono::Utc::now().timestamp(), body)
    )
}

/// One raw HTTP/1.1 request: the status code of its answer.
async fn send(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    // The server may answer (and close) before reading the whole body.
    let _ = stream.read_to_end(&mut answer).await;
    let line = String::from_utf8_lossy(&answer);
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

struct Case {
    name: &'static str,
    method: &'static str,
    /// Appended to the receiver's secret path; `None`: a path of its own.
    path: Result<&'static str, String>,
    headers: String,
    body: Vec<u8>,
    /// Whether to send `Content-Length` for the body (else `Transfer-Encoding: chunked`).
    length: bool,
    status: u16,
    counted: Option<Rejection>,
    /// Audit rows the request adds.
    rows: usize,
}

fn case(name: &'static str, headers: String, body: &str, status: u16) -> Case {
    Case {
        name,
        method: "POST",
        path: Ok(""),
        headers,
        body: body.as_bytes().to_vec(),
        length: true,
        status,
        counted: None,
        rows: 0,
    }
}

#[tokio::test]
async fn hostile_requests_to_the_webhook_endpoint() {
    let state = Arc::new(SqliteStateStore::open_in_memory().await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = ReceiverConfig::signed(generate_path_token(), SECRET)
        .unwrap()
        .audience(LIST)
        .rate_limit(None);
    let url = config.webhook_url("http://h").unwrap();
    let secret_path = url
        .expose_secret()
        .trim_start_matches("http://h")
        .to_owned();
    let receiver = serve(listener, config, state.clone()).await.unwrap();
    let addr = receiver.local_addr();

    let good = cleaned("gone%40acme.example");
    let other = good.replace(LIST, "ffffffffff");
    let nul = cleaned("nul%00%40acme.example");
    let bad_date = good.replace("2026-03-02+08%3A00%3A00", "yesterday");
    let json_body = r#"{"type":"cleaned","data":{"email":"x@acme.example"}}"#;
    let big = format!("{good}&data[merges][NOTE]={}", "x".repeat(70_000));
    let cases = vec![
        Case {
            rows: 1,
            ..case("a signed delivery", signed(&good), &good, 200)
        },
        Case {
            rows: 1,
            ..case("the same delivery again", signed(&good), &good, 200)
        },
        Case {
            rows: 1,
            ..case(
                "a signed delivery for another audience",
                signed(&other),
                &other,
                200,
            )
        },
        Case {
            counted: Some(Rejection::Unauthenticated),
            ..case("unsigned", String::new(), &good, 401)
        },
        Case {
            counted: Some(Rejection::Unauthenticated),
            ..case(
                "signed with another secret",
                format!(
                    "X-Mailchimp-Signature: {}\r\n",
                    signature_header("not-the-secret", chrono::Utc::now().timestamp(), &good)
                ),
                &good,
                401,
            )
        },
        Case {
            counted: Some(Rejection::Unauthenticated),
            ..case(
                "the signature header twice",
                format!("{}{}", signed(&good), signed(&good)),
                &good,
                401,
            )
        },
        Case {
            counted: Some(Rejection::Unauthenticated),
            ..case("signed for another body", signed(&good), &other, 401)
        },
        Case {
            counted: Some(Rejection::Unauthenticated),
            ..case("an empty unsigned body", String::new(), "", 401)
        },
        Case {
            counted: Some(Rejection::Malformed),
            rows: 1,
            ..case(
                "signed, fired_at not a date",
                signed(&bad_date),
                &bad_date,
                400,
            )
        },
        Case {
            counted: Some(Rejection::Malformed),
            rows: 1,
            ..case(
                "signed JSON instead of a form",
                format!("Content-Type: application/json\r\n{}", signed(json_body)),
                json_body,
                400,
            )
        },
        // Accepted: a signed delivery is Mailchimp's word; the address is stored as sent
        // (normalised) and matches no QAD record.
        Case {
            rows: 1,
            ..case("signed, an email with a NUL byte", signed(&nul), &nul, 200)
        },
        Case {
            counted: Some(Rejection::BodyTooLarge),
            ..case("over 64 KiB, declared", signed(&big), &big, 413)
        },
        Case {
            counted: Some(Rejection::BodyTooLarge),
            length: false,
            ..case(
                "over 64 KiB, chunked without a length",
                signed(&big),
                &big,
                413,
            )
        },
        Case {
            counted: Some(Rejection::BodyTooLarge),
            ..case(
                "a declared length of 10 MB",
                "Content-Length: 10000000\r\n".into(),
                "",
                413,
            )
        },
        Case {
            counted: Some(Rejection::WrongPath),
            path: Ok("x"),
            ..case(
                "the token with one more character",
                signed(&good),
                &good,
                404,
            )
        },
        Case {
            counted: Some(Rejection::WrongPath),
            path: Err(format!("/webhooks/mailchimp/{}", "f".repeat(10_000))),
            ..case("a 10,000-character token", signed(&good), &good, 404)
        },
        Case {
            counted: Some(Rejection::WrongPath),
            path: Err("/webhooks/mailchimp/../mailchimp".into()),
            ..case("a traversal in the path", signed(&good), &good, 404)
        },
        Case {
            counted: Some(Rejection::WrongPath),
            path: Err("/".into()),
            ..case("the root", String::new(), "", 404)
        },
        Case {
            method: "PUT",
            ..case("PUT on the secret path", signed(&good), &good, 405)
        },
        Case {
            method: "GET",
            ..case("the validator GET with a body", String::new(), "x", 200)
        },
        Case {
            ..case(
                "a Content-Length that is not a number",
                "Content-Length: ten\r\n".into(),
                "",
                400,
            )
        },
    ];
    let count = cases.len();
    let mut rows_before = 0;
    for case in cases {
        let stats = receiver.stats();
        let before: Vec<u64> = Rejection::ALL.iter().map(|&r| stats.count(r)).collect();
        let path = match &case.path {
            Ok(suffix) => format!("{secret_path}{suffix}"),
            Err(own) => own.clone(),
        };
        let framing = if case.headers.contains("Content-Length") {
            String::new()
        } else if case.length {
            format!("Content-Length: {}\r\n", case.body.len())
        } else {
            "Transfer-Encoding: chunked\r\n".to_owned()
        };
        let head = format!(
            "{} {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n{}{framing}\r\n",
            case.method, case.headers
        );
        let body = if case.length || case.headers.contains("Content-Length") {
            case.body.clone()
        } else {
            let mut chunked = format!("{:x}\r\n", case.body.len()).into_bytes();
            chunked.extend_from_slice(&case.body);
            chunked.extend_from_slice(b"\r\n0\r\n\r\n");
            chunked
        };
        let status = send(addr, &head, &body).await;
        assert_eq!(status, case.status, "{}", case.name);
        for (i, reason) in Rejection::ALL.iter().enumerate() {
            let grew = stats.count(*reason) - before[i];
            let expected = u64::from(case.counted == Some(*reason));
            assert_eq!(grew, expected, "{}: counter {reason}", case.name);
        }
        let rows = state.query_audit(&AuditQuery::new()).await.unwrap().len();
        assert_eq!(rows - rows_before, case.rows, "{}: audit rows", case.name);
        rows_before = rows;
    }
    assert_eq!(count, 21);
    receiver.shutdown().await.unwrap();
}
