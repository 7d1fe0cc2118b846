//! A bad configuration file is reported with the file, the line and the key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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

async fn error_for(config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conf.toml");
    std::fs::write(&path, config).unwrap();
    let out = run(&["--config", path.to_str().unwrap(), "connect"], &[]).await;
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    text(&out.stderr).replace(path.to_str().unwrap(), "conf.toml")
}

#[tokio::test]
async fn each_kind_of_mistake_names_file_line_and_key() {
    let cases = [
        (
            GOOD.replace("list_id", "list_id = \"x\"\nlist_idd"),
            "conf.toml:9:",
            "sync.list_idd",
            "unknown field",
        ),
        (
            GOOD.replace("username = \"api\"\n", ""),
            "conf.toml:1:",
            "qad.username",
            "missing field `username`",
        ),
        (
            GOOD.replace("https://acme", "ftp://acme"),
            "conf.toml:2:",
            "qad.tenant_url",
            "invalid QAD tenant URL",
        ),
        (
            GOOD.replace("\"15m\"", "\"a quarter hour\""),
            "conf.toml:11:",
            "schedule.customers",
            "invalid duration",
        ),
    ];
    for (config, at, field, what) in cases {
        let stderr = error_for(&config).await;
        assert!(stderr.contains(at), "expected {at} in {stderr}");
        assert!(
            stderr.contains(&format!("field `{field}`")),
            "expected {field} in {stderr}"
        );
        assert!(stderr.contains(what), "expected {what:?} in {stderr}");
    }
}

#[tokio::test]
async fn a_missing_file_says_how_to_make_one() {
    let out = run(
        &["--config", "/nonexistent/ml-connector.toml", "connect"],
        &[],
    )
    .await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/ml-connector.toml not found"),
        "{stderr}"
    );
    assert!(stderr.contains("ml-connector init"), "{stderr}");
}
