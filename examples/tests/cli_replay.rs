//! `replay`: failed Mailchimp writes, once the fault is cleared, are sent again, audited as
//! replays, and leave the queue; replaying again sends nothing. A row whose record the mapping
//! now rejects is listed with its reason and is not a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::Method;
use support::{run, text, write_setup, Fakes, STORE};
use testkit::FaultConfig;

const PRODUCT_PUT: &str = "/3.0/ecommerce/stores/{store_id}/products/{product_id}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_product_writes_are_replayed_once_the_fault_clears() {
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

    let out = run(
        &["--config", config, "sync", "--only", "items", "--json"],
        &[],
    )
    .await;
    // Failed records: exit 2.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let sync: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let products = &sync["runs"][0]["targets"]["products"];
    let failed = products["failed"].as_u64().unwrap();
    assert!(failed > 0, "{products}");
    let snapshot = fakes.mailchimp.snapshot();
    assert!(snapshot.products.get(STORE).is_none_or(Vec::is_empty));

    let out = run(
        &["--config", config, "audit", "--outcome", "failed", "--json"],
        &[],
    )
    .await;
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(audit["rows"].as_array().unwrap().len() as u64, failed);

    fakes.mailchimp.faults().clear_routes();
    let out = run(
        &["--config", config, "replay", "--all-failed", "--json"],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let replay: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replay["attempted"].as_u64(), Some(failed), "{replay}");
    assert_eq!(replay["resolved"].as_u64(), Some(failed), "{replay}");
    assert_eq!(
        fakes.mailchimp.snapshot().products[STORE].len() as u64,
        failed
    );

    // The originals are resolved: a second replay has nothing to send.
    let writes = fakes.mailchimp.stats().writes();
    let out = run(
        &["--config", config, "replay", "--all-failed", "--json"],
        &[],
    )
    .await;
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["attempted"].as_u64(), Some(0), "{again}");
    assert_eq!(fakes.mailchimp.stats().writes(), writes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_whose_record_is_now_rejected_is_listed_with_its_reason_not_failed() {
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
    let out = run(
        &["--config", config, "audit", "--outcome", "failed", "--json"],
        &[],
    )
    .await;
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = audit["rows"].as_array().unwrap();
    let failed = rows.len();
    assert!(failed >= 2, "{audit}");
    let code = rows[0]["source_key"].as_str().unwrap().to_owned();
    let row_id = rows[0]["id"].as_u64().unwrap();

    // Since the failure, QAD's item got a price the mapping refuses; the fault clears.
    assert!(fakes.qad.update_item(&code, |item| item.price_cents = -500));
    fakes.mailchimp.faults().clear_routes();
    let out = run(&["--config", config, "replay", "--all-failed"], &[]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // A rejected attempt is not a failure: exit 0, and the row is named with its reason.
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "replayed {failed} row(s): {} resolved, 0 failed again, 1 not written",
            failed - 1
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("skipped row {row_id} (items {code}): rejected — ")),
        "{stdout}"
    );
    assert!(stdout.contains("is negative"), "{stdout}");
    // Progress goes to stderr when it is not a terminal, never to stdout.
    assert!(stderr.contains("replay: started"), "{stderr}");
    assert!(
        stderr.contains(&format!("replay: {failed} attempted: ")),
        "{stderr}"
    );
    assert!(!stdout.contains("replay: "), "{stdout}");
    assert!(fakes.mailchimp.snapshot().product(STORE, &code).is_none());
}
