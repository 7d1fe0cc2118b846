//! `init` writes a commented configuration and a vault that holds no plaintext secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{run, text};

const API_KEY: &str = "5e1f0c9a7b3d2e4f6a8b0c1d2e3f4a5b-us6";
const PASSWORD: &str = "correct horse battery staple";

fn init_args(config: &str) -> Vec<&str> {
    vec![
        "--config",
        config,
        "init",
        "--list-id",
        "a1b2c3",
        "--store-id",
        "acme",
        "--qad-url",
        "https://acme.qad.com/clouderp",
        "--qad-user",
        "api-user",
        "--qad-client-id",
        "qad-client",
        "--qad-domain",
        "10USA",
    ]
}

#[tokio::test]
async fn init_stores_secrets_from_the_environment_encrypted_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ml-connector.toml");
    let config = config.to_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let config_home = home.path().join("config");
    let env = [
        ("ML_CONNECTOR_MAILCHIMP_API_KEY", API_KEY),
        ("ML_CONNECTOR_QAD_PASSWORD", PASSWORD),
        ("XDG_CONFIG_HOME", config_home.to_str().unwrap()),
    ];
    let out = run(&init_args(config), &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The key goes to the user's configuration directory, not beside the vault, and init says so.
    let key_file = config_home.join("ml-connector").join("vault.key");
    assert!(key_file.exists());
    assert!(!dir.path().join("ml-connector.key").exists());
    assert!(
        text(&out.stderr).contains(&key_file.display().to_string()),
        "{}",
        text(&out.stderr)
    );

    let vault = std::fs::read(dir.path().join("ml-connector.vault")).unwrap();
    assert!(!vault.is_empty());
    for secret in [API_KEY, PASSWORD, "5e1f0c9a7b3d2e4f"] {
        assert!(
            !vault.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the vault holds {secret:?} in plain text"
        );
    }
    let written = std::fs::read_to_string(config).unwrap();
    assert!(!written.contains(API_KEY) && !written.contains(PASSWORD));
    assert!(written.contains("list_id = \"a1b2c3\""), "{written}");
    assert!(
        written.contains("# "),
        "the file explains itself with comments"
    );
    assert!(!text(&out.stdout).contains(API_KEY) && !text(&out.stderr).contains(API_KEY));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in [dir.path().join("ml-connector.vault"), key_file.clone()] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
    }

    // A second init does not silently replace the file.
    let again = run(&init_args(config), &env).await;
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("pass --force"),
        "{}",
        text(&again.stderr)
    );
}

#[tokio::test]
async fn init_without_a_secret_names_the_variable_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ml-connector.toml");
    let out = run(
        &init_args(config.to_str().unwrap()),
        &[("ML_CONNECTOR_MAILCHIMP_API_KEY", API_KEY)],
    )
    .await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ML_CONNECTOR_QAD_PASSWORD"), "{stderr}");
    assert!(
        !config.exists(),
        "nothing is written when a secret is missing"
    );
}

#[tokio::test]
async fn init_refuses_unsafe_urls_without_echoing_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ml-connector.toml");
    let config = config.to_str().unwrap();
    let config_home = dir.path().join("config");
    let env = [
        ("ML_CONNECTOR_MAILCHIMP_API_KEY", API_KEY),
        ("ML_CONNECTOR_QAD_PASSWORD", PASSWORD),
        ("XDG_CONFIG_HOME", config_home.to_str().unwrap()),
    ];
    for (url, says) in [
        ("http://evil.northwind-mfg.com/3.0", "plain http"),
        ("https://ops:hunter2@us6.api.mailchimp.com/3.0", "user-info"),
        ("https://us6.api.mailchimp.com/3.0?x=1", "query"),
        ("https://us6.api.mailchimp.com/lists", "/3.0"),
    ] {
        let mut args = init_args(config);
        args.extend(["--mailchimp-base-url", url]);
        let out = run(&args, &env).await;
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{url} accepted");
        assert!(err.contains(says), "{url}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(!std::path::Path::new(config).exists());
    }

    let mut args = init_args(config);
    let at = args.iter().position(|a| *a == "--qad-url").unwrap();
    args[at + 1] = "https://ops:hunter2@acme.qad.com/clouderp";
    let out = run(&args, &env).await;
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("acme.qad.com/clouderp"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    // A bare Mailchimp host gets its API version.
    let mut args = init_args(config);
    args.extend(["--mailchimp-base-url", "https://us6.api.mailchimp.com"]);
    let out = run(&args, &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(config).unwrap();
    assert!(
        written.contains("\"https://us6.api.mailchimp.com/3.0\""),
        "{written}"
    );
}

#[tokio::test]
async fn init_refuses_a_malformed_api_key_before_storing_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ml-connector.toml");
    let config_home = dir.path().join("config");
    let out = run(
        &init_args(config.to_str().unwrap()),
        &[
            ("ML_CONNECTOR_MAILCHIMP_API_KEY", "not-a-key"),
            ("ML_CONNECTOR_QAD_PASSWORD", PASSWORD),
            ("XDG_CONFIG_HOME", config_home.to_str().unwrap()),
        ],
    )
    .await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("32 hex digits"), "{err}");
    assert!(!config.exists() && !dir.path().join("ml-connector.vault").exists());
}
