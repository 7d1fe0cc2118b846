//! `run`'s operations endpoints, scraped over HTTP from a running process: `/healthz` is 200
//! while every object completes its runs and 503 naming the object Mailchimp refuses (a wrong or
//! revoked API key); `/metrics` is the Prometheus text format with runs, records, calls,
//! Mailchimp responses, the replay queue and the last successful run per object.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};

use support::{write_setup, Fakes};
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

/// Starts `run` on `config` with the ops endpoints on a free loopback port; returns the child,
/// its stderr and what it printed until `wanted`.
async fn start(
    config: &std::path::Path,
    extra: &str,
    wanted: &'static [&'static str],
) -> (Child, BufReader<ChildStderr>, String) {
    let mut text = std::fs::read_to_string(config).unwrap();
    text.push_str("\n[schedule]\njitter = \"0s\"\n\n[ops]\nlisten = \"127.0.0.1:0\"\n");
    text.push_str(extra);
    std::fs::write(config, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .args(["--config", config.to_str().unwrap(), "run"])
        .env_remove("ML_CONNECTOR_VAULT_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (seen, stderr) = tokio::task::spawn_blocking(move || {
        let seen = read_until(&mut stderr, wanted);
        (seen, stderr)
    })
    .await
    .unwrap();
    (child, stderr, seen)
}

/// The base URL `run` printed for its ops endpoints.
fn ops_url(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("ops endpoints on "))
        .unwrap();
    line["ops endpoints on ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn stop(mut child: Child, mut stderr: BufReader<ChildStderr>) {
    let signalled = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    read_until(&mut stderr, &["stopped"]);
    assert!(child.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_ok_and_metrics_count_the_runs_while_every_object_completes() {
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
    // The webhook receiver too, so its deliveries are counted.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
    let webhook = format!(
        "\n[webhook]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n"
    );
    let (child, stderr, seen) = start(
        &config,
        &webhook,
        &[
            "signatures required",
            "ops endpoints on http://127.0.0.1:",
            "customers: next run at",
            "items: next run at",
            "orders: next run at",
        ],
    )
    .await;
    assert!(!seen.contains("run failed"), "{seen}");
    let base = ops_url(&seen);

    let (status, body) = get(&format!("{base}/healthz")).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"), "{seen}");

    let list = fakes.mailchimp.list_id().to_owned();
    let members = fakes.mailchimp.snapshot().members[&list].clone();
    let email = members[0]["email_address"].as_str().unwrap().to_owned();
    let deliveries = fakes
        .mailchimp
        .fire_webhook_event(&list, &WebhookEvent::unsubscribe(&list, &email, "manual"))
        .await
        .unwrap();
    assert_eq!(deliveries[0].status, Some(200), "{:?}", deliveries[0]);

    let (status, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    for line in [
        "ml_connector_runs_total{object=\"customers\",outcome=\"completed\"} 1",
        "ml_connector_runs_total{object=\"items\",outcome=\"completed\"} 1",
        "ml_connector_runs_total{object=\"orders\",outcome=\"completed\"} 1",
        "ml_connector_records_total{object=\"customers\",target=\"members\",outcome=\"created\"} ",
        "ml_connector_records_total{object=\"items\",target=\"products\",outcome=\"created\"} ",
        "ml_connector_calls_total{kind=\"qad_browse_page\"} ",
        "ml_connector_mailchimp_responses_total{status=\"200\"} ",
        "ml_connector_mailchimp_rate_limited_total 0",
        "ml_connector_mailchimp_retries_total 0",
        "ml_connector_replay_queue_depth 0",
        "ml_connector_last_success_timestamp_seconds{object=\"customers\"} ",
        "ml_connector_webhook_deliveries_total{result=\"applied\"} 1",
        "ml_connector_webhook_deliveries_total{result=\"failed\"} 0",
        "ml_connector_webhook_refused_requests_total{reason=\"unauthenticated\"} 0",
    ] {
        assert!(metrics.contains(line), "{line:?} missing from\n{metrics}");
    }
    stop(child, stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_names_the_objects_mailchimp_refuses() {
    let fakes = Fakes::start(5, 2).await;
    let dir = tempfile::tempdir().unwrap();
    // A key Mailchimp does not know: every Mailchimp call answers 401, as for a revoked key.
    let config = write_setup(dir.path(), &fakes, "0123456789abcdef0123456789abcdef-us1");
    let (child, stderr, seen) = start(
        &config,
        "",
        &[
            "ops endpoints on http://127.0.0.1:",
            "customers: next run at",
        ],
    )
    .await;
    let base = ops_url(&seen);
    let (status, body) = get(&format!("{base}/healthz")).await;
    assert_eq!(status, 503, "{body}\n{seen}");
    assert!(
        body.lines()
            .any(|l| l.starts_with("customers: refused: ") && l.contains("credentials")),
        "{body}"
    );
    let (_, metrics) = get(&format!("{base}/metrics")).await;
    assert!(
        metrics.contains("ml_connector_runs_total{object=\"customers\",outcome=\"refused\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ml_connector_mailchimp_responses_total{status=\"401\"} "),
        "{metrics}"
    );
    stop(child, stderr);
}
