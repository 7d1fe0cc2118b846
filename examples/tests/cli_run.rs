//! `run`: schedules and the webhook receiver until Ctrl-C, then a graceful stop. On first use
//! with a public URL it registers the webhook (the fake checks the URL with Mailchimp's validator
//! GET) and keeps the signing secret in the vault; signed deliveries are then applied and audited.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use support::{run, text, write_setup, Fakes};
use sync_core::vault::{Vault, VaultKey, WebhookSecrets};
use sync_core::webhook_receiver::generate_path_token;
use testkit::mailchimp::{FakeMailchimp, WebhookEvent};
use testkit::qad::{FakeQad, Seeding};

/// Reads the child's stderr until a line contains every one of `wanted`; returns what it read.
fn read_until(reader: &mut impl BufRead, wanted: &[&str]) -> String {
    let mut seen = String::new();
    let mut line = String::new();
    while !wanted.iter().all(|w| seen.contains(w)) {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("ml-connector ended before printing {wanted:?}:\n{seen}");
        }
        seen.push_str(&line);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_registers_the_webhook_serves_and_stops_on_ctrl_c() {
    let fakes = Fakes {
        mailchimp: FakeMailchimp::builder()
            .validate_webhook_urls(true)
            .start()
            .await
            .unwrap(),
        qad: FakeQad::builder()
            .seeding(Seeding::new(7).customers(20).items(4).sales_orders(2))
            .start()
            .await
            .unwrap(),
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut text_config = std::fs::read_to_string(&config).unwrap();
    text_config.push_str(&format!(
        "\n[schedule]\njitter = \"0s\"\n\n[webhook]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n"
    ));
    std::fs::write(&config, text_config).unwrap();
    let vault = Vault::new(
        dir.path().join("creds.vault"),
        VaultKey::from_file(dir.path().join("vault.key")).unwrap(),
    );
    let mut creds = vault.load().unwrap();
    creds.webhook = Some(WebhookSecrets {
        path_token: generate_path_token(),
        signing_secret: None,
    });
    vault.save(&creds).unwrap();

    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .args(["--config", config.to_str().unwrap(), "run"])
        .env_remove("ML_CONNECTOR_VAULT_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (started, mut stderr) = tokio::task::spawn_blocking(move || {
        let seen = read_until(
            &mut stderr,
            &[
                "signatures required",
                "webhook public URL checked",
                "customers: completed",
                "items: completed",
                "customers: next run at",
                "items: next run at",
            ],
        );
        (seen, stderr)
    })
    .await
    .unwrap();
    assert!(started.contains("registered the webhook"), "{started}");
    // Each object's schedule at start, and its next run after each run.
    assert!(
        started.contains("customers: every 15m; first run now"),
        "{started}"
    );
    let stored = vault.load().unwrap().webhook.unwrap();
    assert!(
        stored.signing_secret.is_some(),
        "the signing secret is kept in the vault"
    );

    // A signed delivery reaches the receiver and is applied.
    let list = fakes.mailchimp.list_id().to_owned();
    let members = fakes.mailchimp.snapshot().members[&list].clone();
    let email = members[0]["email_address"].as_str().unwrap().to_owned();
    let deliveries = fakes
        .mailchimp
        .fire_webhook_event(&list, &WebhookEvent::unsubscribe(&list, &email, "manual"))
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(200), "{:?}", deliveries[0]);

    // Ctrl-C: a graceful stop.
    let signalled = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let (rest, status) = tokio::task::spawn_blocking(move || {
        let rest = read_until(&mut stderr, &["stopped"]);
        (rest, child.wait().unwrap())
    })
    .await
    .unwrap();
    assert!(status.success(), "{started}{rest}");
    assert!(
        !started.contains("run failed") && !rest.contains("run failed"),
        "{started}{rest}"
    );

    let out = run(
        &[
            "--config",
            config.to_str().unwrap(),
            "audit",
            "--object",
            "webhook_events",
            "--json",
            "--limit",
            "1000",
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let events: Vec<&serde_json::Value> = audit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["object"] == "webhook_events")
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_ne!(events[0]["outcome"], "rejected", "{:?}", events[0]);
}

/// A setup whose vault already holds the webhook's signing secret (so `run` registers nothing),
/// with `public_url` as given.
async fn setup_with_public_url(
    dir: &std::path::Path,
    public_url: &str,
) -> (Fakes, std::path::PathBuf) {
    let fakes = Fakes {
        mailchimp: FakeMailchimp::builder().start().await.unwrap(),
        qad: FakeQad::builder()
            .seeding(Seeding::new(7).customers(2).items(1).sales_orders(1))
            .start()
            .await
            .unwrap(),
    };
    let config = write_setup(dir, &fakes, fakes.mailchimp.api_key());
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut text_config = std::fs::read_to_string(&config).unwrap();
    text_config.push_str(&format!(
        "\n[schedule]\njitter = \"0s\"\n\n[webhook]\nlisten = \"{listen}\"\npublic_url = \"{public_url}\"\n"
    ));
    std::fs::write(&config, text_config).unwrap();
    let vault = Vault::new(
        dir.join("creds.vault"),
        VaultKey::from_file(dir.join("vault.key")).unwrap(),
    );
    let mut creds = vault.load().unwrap();
    creds.webhook = Some(WebhookSecrets {
        path_token: generate_path_token(),
        signing_secret: Some("whsec-northwind-0123456789".to_owned().into()),
    });
    vault.save(&creds).unwrap();
    (fakes, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_a_public_url_with_a_query() {
    let dir = tempfile::tempdir().unwrap();
    let (_fakes, config) =
        setup_with_public_url(dir.path(), "https://sync.northwind-mfg.com/?via=proxy").await;
    let out = run(&["--config", config.to_str().unwrap(), "run"], &[]).await;
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("public_url") && err.contains("query"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_says_when_the_public_url_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: Mailchimp's deliveries would never arrive.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (_fakes, config) = setup_with_public_url(dir.path(), &format!("http://{closed}")).await;
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .args(["--config", config.to_str().unwrap(), "run"])
        .env_remove("ML_CONNECTOR_VAULT_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let seen = tokio::task::spawn_blocking(move || {
        read_until(&mut stderr, &["webhook public URL does not answer"])
    })
    .await
    .unwrap();
    assert!(
        !seen.contains("/webhooks/mailchimp/"),
        "the secret path is printed: {seen}"
    );
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
}
