//! Failures are loud: `sync` exits 2 when records failed and says how to replay them, exits 1
//! when an object could not start (its lease is held by another process) while still printing
//! the reports of the objects that ran, and a `--json` command that fails prints a JSON error
//! object. `replay` shows progress, says which rows it skipped and why, and exits 2 when rows
//! failed again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use http::Method;
use support::{run, text, write_setup, Fakes};
use sync_core::state::LeaseHolder;
use sync_core::{ObjectKind, SqliteStateStore, StateStore};
use testkit::FaultConfig;

const PRODUCT_PUT: &str = "/3.0/ecommerce/stores/{store_id}/products/{product_id}";

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", text(bytes)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_records_exit_two_and_name_the_replay_command() {
    // Few items: every failed write costs the client's five attempts with backoff.
    let fakes = Fakes::start(3, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();
    fakes
        .mailchimp
        .faults()
        .set_route(
            Method::PUT,
            PRODUCT_PUT,
            FaultConfig::none().server_error(1.0),
        )
        .unwrap();

    let out = run(&["--config", config, "sync", "--only", "items"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let failed = stdout
        .lines()
        .find_map(|l| l.strip_suffix(" failed — ml-connector replay --all-failed"))
        .unwrap_or_else(|| panic!("no replay hint in:\n{stdout}"));
    let failed: u64 = failed.trim().parse().unwrap();
    assert!(failed > 0, "{stdout}");

    let out = run(
        &[
            "--config", config, "sync", "--only", "items", "--full", "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let sync = json(&out.stdout);
    assert_eq!(sync["status"], "records_failed", "{sync}");
    assert_eq!(sync["exit_code"], 2, "{sync}");
    assert_eq!(sync["failed"].as_u64(), Some(failed), "{sync}");
    assert_eq!(
        sync["runs"][0]["targets"]["products"]["failed"].as_u64(),
        Some(failed)
    );
    assert_eq!(
        sync["next_step"],
        format!("{failed} failed — ml-connector replay --all-failed")
    );

    // Replay the queue while the fault lasts (the second run's failures point at the queued rows
    // of the first, one entry per target): progress on stderr, rows failed again, exit 2.
    let out = run(&["--config", config, "replay", "--all-failed"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("replay: started"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "replay: {failed} attempted: 0 resolved, {failed} failed again"
        )),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("{failed} failed again")),
        "{stdout}"
    );

    // Once the fault clears, everything resolves: exit 0; --json prints no progress.
    fakes.mailchimp.faults().clear_routes();
    let out = run(
        &["--config", config, "replay", "--all-failed", "--json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("replay:"),
        "{}",
        text(&out.stderr)
    );
    let replay = json(&out.stdout);
    assert_eq!(replay["status"], "success");
    // One queue entry per target: the later failures of a target point at its queued row.
    assert_eq!(replay["resolved"].as_u64(), Some(failed), "{replay}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_held_by_another_process_exits_one_and_the_others_still_report() {
    let fakes = Fakes::start(12, 4).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();
    // Another process is working the items.
    let state = SqliteStateStore::open(dir.path().join("state.db"))
        .await
        .unwrap();
    let other = LeaseHolder::new("erp-gw-9", 4242);
    let lease = state
        .acquire_lease(ObjectKind::Items, &other, Duration::from_secs(600))
        .await
        .unwrap();

    let out = run(&["--config", config, "sync"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error: the items run could not start: items is being worked by another ml-connector: host erp-gw-9, pid 4242"),
        "{stderr}"
    );
    assert!(stderr.contains(other.id()), "{stderr}");
    // The customers and orders ran, and their reports are printed.
    let stdout = text(&out.stdout);
    assert!(stdout.contains("  customers — completed"), "{stdout}");
    assert!(stdout.contains("orders: "), "{stdout}");
    assert!(fakes.mailchimp.stats().writes() > 0);

    let out = run(&["--config", config, "sync", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let sync = json(&out.stdout);
    assert_eq!(sync["status"], "failed", "{sync}");
    assert_eq!(sync["exit_code"], 1);
    assert_eq!(sync["runs"].as_array().unwrap().len(), 1, "{sync}");
    assert_eq!(sync["runs"][0]["object"], "customers");
    assert!(sync["orders"].is_object(), "{sync}");
    assert_eq!(sync["errors"][0]["object"], "items", "{sync}");
    let error = sync["errors"][0]["error"].as_str().unwrap();
    assert!(error.contains("host erp-gw-9, pid 4242"), "{error}");

    // Released: the items run.
    assert!(state.release_lease(&lease).await.unwrap());
    let out = run(
        &["--config", config, "sync", "--only", "items", "--json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out.stdout)["status"], "success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_leaves_rows_of_an_object_another_process_holds_and_says_so() {
    let fakes = Fakes::start(3, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();
    fakes
        .mailchimp
        .faults()
        .set_route(
            Method::PUT,
            PRODUCT_PUT,
            FaultConfig::none().server_error(1.0),
        )
        .unwrap();
    let out = run(&["--config", config, "sync", "--only", "items"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    fakes.mailchimp.faults().clear_routes();

    let state = SqliteStateStore::open(dir.path().join("state.db"))
        .await
        .unwrap();
    let lease = state
        .acquire_lease(
            ObjectKind::Items,
            &LeaseHolder::new("erp-gw-9", 4242),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    let writes = fakes.mailchimp.stats().writes();
    let out = run(&["--config", config, "replay", "--all-failed"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(fakes.mailchimp.stats().writes(), writes, "nothing is sent");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("not attempted — items is being worked by another ml-connector: host erp-gw-9, pid 4242"),
        "{stdout}"
    );
    assert!(
        stdout.contains("left in the queue: another process"),
        "{stdout}"
    );

    assert!(state.release_lease(&lease).await.unwrap());
    let out = run(
        &["--config", config, "replay", "--all-failed", "--json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let replay = json(&out.stdout);
    assert_eq!(replay["busy"], 0, "{replay}");
    assert!(replay["resolved"].as_u64().unwrap() > 0, "{replay}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_command_that_fails_prints_a_json_error_object() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.toml");
    let out = run(
        &["--config", missing.to_str().unwrap(), "sync", "--json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let error = json(&out.stdout);
    assert_eq!(error["status"], "error", "{error}");
    assert_eq!(error["exit_code"], 1);
    assert_eq!(error["error"]["kind"], "config", "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("nowhere.toml"), "{message}");
    // The person at a terminal still reads it on stderr.
    assert!(
        text(&out.stderr).starts_with("error: "),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_aborts_exits_one_with_its_report() {
    let fakes = Fakes::start(3, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();
    // QAD's browses fail, after the client's retries: the items run aborts while reading.
    fakes
        .qad
        .faults()
        .set_route(
            Method::GET,
            &fakes.qad.route("api/qracore/browses"),
            FaultConfig::none().server_error(1.0),
        )
        .unwrap();

    let out = run(
        &["--config", config, "sync", "--only", "items", "--json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let sync = json(&out.stdout);
    assert_eq!(sync["status"], "failed", "{sync}");
    assert_eq!(sync["runs"][0]["status"], "aborted", "{sync}");
    let error = sync["errors"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("the items run aborted: reading QAD failed"),
        "{error}"
    );
    assert!(error.contains("the next run resumes after it"), "{error}");
}
