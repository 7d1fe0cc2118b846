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
    let progress = text(&out.stderr);
    assert!(progress.contains("orders (dry run): "), "{progress}");
    assert!(!progress.contains("orders: orders:"), "{progress}");
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
    assert_eq!(customers["expected_total"], 30, "QAD's count of the read");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_lists_the_planned_writes_and_what_the_backfill_costs() {
    let fakes = Fakes::start(30, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();

    let out = run(
        &[
            "--config",
            config,
            "sync",
            "--only",
            "customers",
            "--dry-run",
            "--limit",
            "2",
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(stdout.contains("marked is_syncing"), "{stdout}");
    assert!(
        stdout.contains("contacts new to the audience: "),
        "{stdout}"
    );
    assert!(stdout.contains("member: "), "{stdout}");
    let creates = stdout.matches("      create ").count();
    assert!(creates >= 2, "two listed per kind:\n{stdout}");
    assert!(
        stdout.contains("more (raise --limit, or --json for the whole plan)"),
        "{stdout}"
    );
    assert!(stdout.contains("merge_fields.FNAME"), "{stdout}");
    // The progress of a dry run says what it would write, never "written".
    assert!(stderr.contains("to create"), "{stderr}");
    // Piped: plain lines with the records read of the total QAD counted, and the rate.
    assert!(
        stderr.contains("customers (dry run): 30 of 30 read ("),
        "{stderr}"
    );
    assert!(stderr.contains(" s left) — "), "{stderr}");
    assert!(!stderr.contains("written"), "{stderr}");

    let out = run(
        &[
            "--config",
            config,
            "sync",
            "--only",
            "customers",
            "--dry-run",
            "--limit",
            "2",
            "--json",
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run0 = &json["runs"][0];
    let plan = &run0["plan"];
    let members = &plan["targets"]["member"];
    assert_eq!(
        members["entries"].as_array().unwrap().len() as u64,
        run0["targets"]["members"]["created"].as_u64().unwrap(),
        "--json has the whole plan: {plan}"
    );
    assert_eq!(members["omitted"], 0);
    assert_eq!(plan["backfill"], true);
    assert!(plan["new_contacts"].as_u64().unwrap() > 0, "{plan}");
    assert_eq!(members["entries"][0]["action"], "create");
}
