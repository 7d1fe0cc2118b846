//! The operator's commands: `runs` and `audit` over recorded runs, `credentials set|show`,
//! `connect` against an unreachable tenant, and `run --once`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use support::{run, text, write_setup, Fakes};
use sync_core::vault::{Vault, VaultKey};

fn json(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| panic!("{e}: {}", text(stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_lists_newest_first_and_audit_defaults_to_the_latest_run() {
    let fakes = Fakes::start(8, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();

    let first = run(&["--config", config, "sync", "--only", "customers"], &[]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    let second = run(&["--config", config, "sync", "--only", "items"], &[]).await;
    assert!(second.status.success(), "{}", text(&second.stderr));

    let out = run(&["--config", config, "runs", "--json"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let runs = json(&out.stdout)["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(
        runs[0]["objects"],
        serde_json::json!(["items"]),
        "newest first"
    );
    assert_eq!(runs[1]["objects"], serde_json::json!(["customers"]));
    assert_eq!(runs[1]["trigger"], "manual");
    assert!(runs[1]["counts"]["created"].as_u64().unwrap() > 0);
    assert!(runs[1]["duration_ms"].is_number());
    let customers_run = runs[1]["run_id"].as_str().unwrap().to_owned();
    let items_run = runs[0]["run_id"].as_str().unwrap().to_owned();

    let out = run(&["--config", config, "runs"], &[]).await;
    let listing = text(&out.stdout);
    assert!(
        listing.contains(&customers_run) && listing.contains("created"),
        "{listing}"
    );

    // Default: the latest run only, newest row first.
    let out = run(&["--config", config, "audit", "--json"], &[]).await;
    let audit = json(&out.stdout);
    assert_eq!(audit["scope"]["run_id"], items_run.as_str(), "{audit}");
    let rows = audit["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["run_id"] == items_run.as_str()));
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    // --run last with --object: the latest run of that object.
    let out = run(
        &[
            "--config",
            config,
            "audit",
            "--run",
            "last",
            "--object",
            "customers",
            "--json",
        ],
        &[],
    )
    .await;
    let audit = json(&out.stdout);
    assert_eq!(audit["scope"]["run_id"], customers_run.as_str(), "{audit}");
    let key = audit["rows"][0]["source_key"].as_str().unwrap().to_owned();

    // --run ID, and --key alone: the key's history over every run.
    let out = run(
        &[
            "--config",
            config,
            "audit",
            "--run",
            &customers_run,
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(json(&out.stdout)["scope"]["run_id"], customers_run.as_str());
    let out = run(&["--config", config, "audit", "--key", &key, "--json"], &[]).await;
    let audit = json(&out.stdout);
    assert_eq!(audit["scope"]["kind"], "all_runs", "{audit}");
    assert!(audit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["source_key"] == key.as_str()));

    // --outcome alone: every run (the failed rows still queued may come from any of them).
    let out = run(
        &[
            "--config",
            config,
            "audit",
            "--outcome",
            "created",
            "--limit",
            "100000",
            "--json",
        ],
        &[],
    )
    .await;
    let audit = json(&out.stdout);
    assert_eq!(audit["scope"]["kind"], "all_runs", "{audit}");
    let rows = audit["rows"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["run_id"] == customers_run.as_str()));
    assert!(rows.iter().any(|r| r["run_id"] == items_run.as_str()));

    // --since: every run started since then.
    let out = run(
        &["--config", config, "audit", "--since", "1h", "--json"],
        &[],
    )
    .await;
    let audit = json(&out.stdout);
    assert_eq!(audit["scope"]["runs"], 2, "{audit}");
    let out = run(
        &[
            "--config",
            config,
            "audit",
            "--since",
            "2000-01-01T00:00:00Z",
            "--limit",
            "100000",
        ],
        &[],
    )
    .await;
    let listing = text(&out.stdout);
    assert!(
        listing.contains(&customers_run) && listing.contains(&items_run),
        "{listing}"
    );
    let out = run(
        &[
            "--config",
            config,
            "audit",
            "--since",
            "2999-01-01T00:00:00Z",
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(json(&out.stdout)["rows"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_set_changes_only_the_vault_and_show_prints_no_secret() {
    let fakes = Fakes::start(3, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, "0123456789abcdef0123456789abcdef-us1");
    let config_text = std::fs::read(&config).unwrap();
    let config = config.to_str().unwrap();

    // The vault holds a wrong key: connect fails; rotating it fixes that.
    let out = run(&["--config", config, "connect"], &[]).await;
    assert!(!out.status.success());
    let out = run(
        &["--config", config, "credentials", "set", "mailchimp"],
        &[("ML_CONNECTOR_MAILCHIMP_API_KEY", fakes.mailchimp.api_key())],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("stored the Mailchimp credentials"));
    let out = run(&["--config", config, "connect"], &[]).await;
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    // The QAD password from standard input.
    let out = support_stdin(
        &["--config", config, "credentials", "set", "qad", "--stdin"],
        "not-the-password\n",
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let vault = Vault::new(
        dir.path().join("creds.vault"),
        VaultKey::from_file(dir.path().join("vault.key")).unwrap(),
    );
    let stored = vault.load().unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(
        stored.qad.unwrap().password.expose_secret(),
        "not-the-password"
    );
    assert_eq!(
        std::fs::read(config).unwrap(),
        config_text,
        "the configuration is untouched"
    );

    let out = run(&["--config", config, "credentials", "show"], &[]).await;
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("api key, data center us1"), "{shown}");
    assert!(shown.contains(fakes.qad.username()), "{shown}");
    assert!(shown.contains("last changed"), "{shown}");
    assert!(!shown.contains(fakes.mailchimp.api_key()) && !shown.contains("not-the-password"));

    // An empty stdin is refused, and the vault keeps what it had.
    let out = support_stdin(
        &["--config", config, "credentials", "set", "qad", "--stdin"],
        "",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("standard input"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs the binary with `input` on its standard input.
async fn support_stdin(args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let input = input.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ml-connector"))
            .args(&args)
            .env_remove("ML_CONNECTOR_VAULT_KEY")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_file_or_vault_says_what_to_do() {
    let fakes = Fakes::start(1, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();

    std::fs::rename(
        dir.path().join("creds.vault"),
        dir.path().join("elsewhere.vault"),
    )
    .unwrap();
    let out = run(&["--config", config, "connect"], &[]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("creds.vault") && err.contains("does not exist"),
        "{err}"
    );
    assert!(
        err.contains("ml-connector init") && err.contains("credentials set"),
        "{err}"
    );

    std::fs::remove_file(dir.path().join("vault.key")).unwrap();
    let out = run(
        &["--config", config, "sync"],
        &[("ML_CONNECTOR_VAULT_KEY", "00".repeat(32).as_str())],
    )
    .await;
    let err = text(&out.stderr);
    assert!(
        err.contains("vault.key") && err.contains("does not exist"),
        "{err}"
    );
    assert!(err.contains("ml-connector init"), "{err}");
    assert!(
        err.contains("ML_CONNECTOR_VAULT_KEY is ignored while a key file is set"),
        "{err}"
    );
}

/// A configuration whose QAD tenant is `tenant` (the vault bound to it too).
async fn setup_with_tenant(
    dir: &std::path::Path,
    fakes: &Fakes,
    tenant: &str,
    extra: &str,
) -> String {
    let config = write_setup(dir, fakes, fakes.mailchimp.api_key());
    let text_config = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&fakes.qad.base_url().to_string(), tenant)
        .replace("[qad]\n", &format!("[qad]\n{extra}"));
    std::fs::write(&config, text_config).unwrap();
    let vault = Vault::new(
        dir.join("creds.vault"),
        VaultKey::from_file(dir.join("vault.key")).unwrap(),
    );
    let mut creds = vault.load().unwrap();
    let qad = creds.qad.as_mut().unwrap();
    qad.tenant_url = tenant.parse().unwrap();
    vault.save(&creds).unwrap();
    config.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_says_once_that_qad_is_not_reachable_and_why() {
    let fakes = Fakes::start(1, 1).await;

    // Nothing listens: connection refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config =
        setup_with_tenant(dir.path(), &fakes, &format!("http://{closed}/clouderp"), "").await;
    let out = run(&["--config", &config, "connect"], &[]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr.matches("QAD is not reachable").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert!(!stdout.contains("login        ok"), "{stdout}");
    assert!(!stderr.contains("request to qad failed"), "{stderr}");

    // A listener that never answers: a timeout, after qad.timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = setup_with_tenant(
        dir.path(),
        &fakes,
        &format!("http://{addr}/clouderp"),
        "timeout = \"1s\"\n",
    )
    .await;
    let out = run(&["--config", &config, "connect", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out.stdout);
    assert_eq!(report["qad"]["unreachable"]["cause"], "timeout", "{report}");
    assert_eq!(report["qad"]["logged_in"], false);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0]
        .as_str()
        .unwrap()
        .contains("no answer within 1s (qad.timeout)"));
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_runs_every_object_and_exits_with_the_sync_codes() {
    // Few items: every failed write costs the client's attempts with backoff.
    let fakes = Fakes::start(6, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();

    // Products fail: exit 2, as `sync`.
    fakes
        .mailchimp
        .faults()
        .set_route(
            http::Method::PUT,
            "/3.0/ecommerce/stores/{store_id}/products/{product_id}",
            testkit::FaultConfig::none().server_error(1.0),
        )
        .unwrap();
    let out = run(&["--config", config, "run", "--once"], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("customers: completed"), "{stderr}");
    assert!(stderr.contains("items: completed"), "{stderr}");
    assert!(stderr.contains("orders: "), "{stderr}");
    assert!(stderr.contains("run --once: done (exit 2"), "{stderr}");

    fakes.mailchimp.faults().clear_routes();
    let out = run(&["--config", config, "run", "--once"], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("run --once: done (exit 0"), "{stderr}");

    // Through the scheduler's job: the runs are recorded as scheduled.
    let out = run(&["--config", config, "runs", "--json"], &[]).await;
    let runs = json(&out.stdout)["runs"].as_array().unwrap().clone();
    assert!(runs.len() >= 4, "{runs:?}");
    assert!(
        runs.iter()
            .filter(|r| r["trigger"] != "replay")
            .all(|r| r["trigger"] == "scheduled"),
        "{runs:?}"
    );
}
