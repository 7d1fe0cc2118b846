//! `sync --dry-run` plans without a single write; a real `sync` then writes what was planned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{run, text, write_setup, Fakes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_makes_no_write_calls() {
    let fakes = Fakes::start(30, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();

    let out = run(&["--config", config, "sync", "--dry-run", "--json"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        fakes.mailchimp.stats().writes(),
        0,
        "no write may reach Mailchimp"
    );
    assert_eq!(
        fakes
            .qad
            .stats()
            .requests("POST", &fakes.qad.route(fakes.qad.attribution_path())),
        0
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    let customers = &plan["runs"][0];
    assert_eq!(customers["object"], "customers");
    assert_eq!(customers["read"], 30);
    let planned = customers["targets"]["members"]["created"].as_u64().unwrap();
    assert!(planned > 0, "{plan}");

    // The real run creates exactly what the plan said.
    let out = run(
        &["--config", config, "sync", "--only", "customers", "--json"],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        done["runs"][0]["targets"]["members"]["created"].as_u64(),
        Some(planned)
    );
    assert!(fakes.mailchimp.stats().writes() > 0);
}
