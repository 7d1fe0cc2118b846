//! The hostile corpus for configuration files (issue 13 point 10): each malformed or dangerous
//! `ml-connector.toml` is refused before anything is contacted, with a message naming the key
//! (or the file), never echoing a password, and without a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{run, text};

const GOOD: &str = r#"[qad]
tenant_url = "https://acme.qad.com/clouderp"
username = "api"
client_id = "c"
domain = "10USA"

[sync]
list_id = "a1b2c3"

[schedule]
customers = "15m"
"#;

/// Runs `connect` on `config` and returns its stderr (file path replaced by `conf.toml`).
async fn refused(config: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conf.toml");
    std::fs::write(&path, config).unwrap();
    let out = run(&["--config", path.to_str().unwrap(), "connect"], &[]).await;
    let stderr = text(&out.stderr).replace(path.to_str().unwrap(), "conf.toml");
    assert!(!out.status.success(), "accepted: {stderr}");
    assert_ne!(out.status.code(), Some(101), "panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[tokio::test]
async fn hostile_configuration_files_are_refused_naming_the_key() {
    let with = |from: &str, to: &str| {
        assert!(GOOD.contains(from), "{from}");
        GOOD.replacen(from, to, 1).into_bytes()
    };
    let append = |extra: &str| format!("{GOOD}{extra}").into_bytes();
    // (file, what the message must name)
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "qad"),
        (b"\xff\xfe\x00garbage".to_vec(), "conf.toml"),
        (b"[qad\ntenant_url = 1".to_vec(), "conf.toml"),
        (with("\"api\"", "\"api\"\nusername = \"again\""), "username"),
        (with("list_id = \"a1b2c3\"", "list_id = 5"), "list_id"),
        (with("list_id = \"a1b2c3\"", "list_id = [\"a\"]"), "list_id"),
        (
            with(
                "https://acme.qad.com/clouderp",
                "https://ops:hunter2@acme.qad.com/clouderp",
            ),
            "tenant_url",
        ),
        (
            with(
                "https://acme.qad.com/clouderp",
                "http://acme.qad.com/clouderp",
            ),
            "tenant_url",
        ),
        (
            with("https://acme.qad.com/clouderp", "https:///clouderp"),
            "tenant_url",
        ),
        (
            with(
                "https://acme.qad.com/clouderp",
                "https://acme.qad.com/a/../clouderp",
            ),
            "tenant_url",
        ),
        (with("\"15m\"", "\"-5m\""), "customers"),
        (with("\"15m\"", "\"99999999999999999999y\""), "customers"),
        (with("\"15m\"", "15"), "customers"),
        (
            append("\n[mailchimp]\nbase_url = \"http://evil.example/3.0\"\n"),
            "base_url",
        ),
        (
            append("\n[mailchimp]\nbase_url = \"https://u:hunter2@us6.api.mailchimp.com/3.0\"\n"),
            "base_url",
        ),
        (
            append("\n[mailchimp]\nmax_concurrency = -1\n"),
            "max_concurrency",
        ),
        (
            append("\n[mailchimp]\nmax_concurrency = 99999999999999999999999\n"),
            "conf.toml",
        ),
        (
            with(
                "domain = \"10USA\"",
                "domain = \"10USA\"\nattribution_path = \"../../admin\"",
            ),
            "attribution_path",
        ),
        (
            append("\n[qad.browses]\ncustomers = \"urn:browse:../x\"\n"),
            "customers",
        ),
        (
            append("\n[webhook]\nlisten = \"0.0.0.0:8080\"\npublic_url = \"h.example/webhooks\"\n"),
            "public_url",
        ),
        (
            append("\n[webhook]\nlisten = \"not an address\"\n"),
            "listen",
        ),
        (append("\n[surprise]\nx = 1\n"), "surprise"),
    ];
    let count = cases.len();
    let mut wrong = Vec::new();
    for (i, (config, names)) in cases.into_iter().enumerate() {
        let stderr = refused(&config).await;
        assert!(!stderr.contains("hunter2"), "{stderr}");
        if !stderr.contains(names) {
            wrong.push(format!("case {i}: expected {names:?} in: {stderr}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(count, 22);
}
