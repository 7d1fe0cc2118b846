//! `ml-connector pairs` and `ml-connector worker` on a real PostgreSQL: a pair is registered
//! from a configuration and vault, a worker *process* is killed with SIGKILL mid-run, a second
//! worker process takes the pair over once the first one's claim expired, and the end state
//! equals that of an uninterrupted `sync` of the same data, with nothing duplicated. SIGTERM
//! then stops the second worker gracefully, releasing its claim. Skipped (saying so) without
//! `ML_CONNECTOR_TEST_POSTGRES_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{text, write_key, write_setup, Fakes, STORE};
use sync_core::vault::VaultKey;
use testkit::compare::without_generated;
use testkit::FaultConfig;

const CUSTOMERS: usize = 200;
const ECOM_CUSTOMER_PUT: &str = "/3.0/ecommerce/stores/{store_id}/customers/{customer_id}";
const TTL: Duration = Duration::from_secs(3);

async fn fresh_schema(url: &str) -> String {
    let schema = format!("cli_fleet_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

/// Members and e-commerce customers, normalised for generated ids and times, with their counts
/// (a duplicate would collapse in the map but not in the count).
fn end_state(fakes: &Fakes) -> BTreeMap<&'static str, (usize, BTreeMap<String, Value>)> {
    let snapshot = fakes.mailchimp.snapshot();
    let keyed = |records: Vec<Value>, key: &str| {
        let count = records.len();
        let map = records
            .into_iter()
            .map(|r| {
                (
                    r[key].as_str().unwrap().to_lowercase(),
                    without_generated(r),
                )
            })
            .collect::<BTreeMap<_, _>>();
        (count, map)
    };
    let of =
        |map: &BTreeMap<String, Vec<Value>>, id: &str| map.get(id).cloned().unwrap_or_default();
    BTreeMap::from([
        (
            "members",
            keyed(
                of(&snapshot.members, fakes.mailchimp.list_id()),
                "email_address",
            ),
        ),
        ("customers", keyed(of(&snapshot.customers, STORE), "id")),
    ])
}

fn spawn_worker(state: &str, key: &Path, dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ml-connector"))
        .args([
            "--state",
            state,
            "worker",
            "--lease-ttl",
            "3s",
            "--slice-pages",
            "1",
        ])
        .arg("--fleet-key-file")
        .arg(key)
        .current_dir(dir)
        .env_remove("ML_CONNECTOR_FLEET_KEY")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn slow_fakes() -> Fakes {
    let fakes = Fakes::start(CUSTOMERS, 5).await;
    let latency = FaultConfig::none().latency(Duration::from_millis(3));
    fakes
        .mailchimp
        .faults()
        .set_default(latency.clone())
        .unwrap();
    fakes.qad.faults().set_default(latency).unwrap();
    fakes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_worker_loses_its_pair_to_another_and_the_end_state_is_exact() {
    let Some(url) = std::env::var("ML_CONNECTOR_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        eprintln!("skipped: ML_CONNECTOR_TEST_POSTGRES_URL unset");
        return;
    };

    // The reference: the same data synced by one uninterrupted `sync`.
    let reference = slow_fakes().await;
    let ref_dir = tempfile::tempdir().unwrap();
    let ref_config = write_setup(ref_dir.path(), &reference, reference.mailchimp.api_key());
    let out = support::run(&["--config", ref_config.to_str().unwrap(), "sync"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expected = end_state(&reference);
    assert_eq!(expected["members"].0, expected["members"].1.len());

    // The fleet: one pair registered from its configuration and vault.
    let fakes = slow_fakes().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();
    let fleet_key = dir.path().join("fleet.key");
    write_key(&fleet_key, &VaultKey::generate());
    let state = fresh_schema(&url).await;
    let key_arg = fleet_key.to_str().unwrap();
    let out = support::run(
        &[
            "--config",
            config,
            "--state",
            &state,
            "pairs",
            "add",
            "acme",
            "--account",
            "mc-acme",
            "--objects",
            "customers",
            "--fleet-key-file",
            key_arg,
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = support::run(&["--state", &state, "pairs", "list", "--json"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["pairs"][0]["id"], "acme");
    assert_eq!(listed["pairs"][0]["account"], "mc-acme");
    assert!(!text(&out.stdout).contains(fakes.qad.password()));
    assert!(!text(&out.stdout).contains(fakes.mailchimp.api_key()));

    // The first worker is killed mid-run.
    let mut first = spawn_worker(&state, &fleet_key, dir.path());
    let start = Instant::now();
    loop {
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the first worker ended ({status}) before the kill point");
        }
        if fakes.mailchimp.stats().requests("PUT", ECOM_CUSTOMER_PUT) >= 60 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the first worker never got going"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    first.kill().unwrap(); // SIGKILL on Unix
    first.wait().unwrap();
    let killed = Instant::now();
    assert_ne!(end_state(&fakes), expected, "killed too late to be mid-run");

    // A second worker takes the pair over once the claim expired, and finishes it.
    let mut second = spawn_worker(&state, &fleet_key, dir.path());
    while end_state(&fakes) != expected {
        if let Some(status) = second.try_wait().unwrap() {
            panic!("the second worker ended ({status})");
        }
        assert!(
            killed.elapsed() < Duration::from_secs(90),
            "not finished by the second worker: {:?} members of {:?}",
            end_state(&fakes)["members"].0,
            expected["members"].0
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "finished {:?} after the kill (claims live {TTL:?})",
        killed.elapsed()
    );
    assert!(
        killed.elapsed() >= TTL / 3,
        "taken over while the dead worker's claim was live"
    );

    // SIGTERM: a graceful stop that releases the claim.
    let pid = second.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    let out = second.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("worker stopped"),
        "{}",
        text(&out.stderr)
    );
    let out = support::run(&["--state", &state, "pairs", "list", "--json"], &[]).await;
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["pairs"][0]["held_by"], Value::Null);
    assert_eq!(end_state(&fakes), expected);

    let out = support::run(&["--state", &state, "pairs", "remove", "acme"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[tokio::test]
async fn the_fleet_commands_refuse_a_state_that_is_not_postgresql() {
    let out = support::run(&["--state", "state.db", "pairs", "list"], &[]).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--state postgres://"),
        "{}",
        text(&out.stderr)
    );
}
