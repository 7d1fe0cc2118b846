//! `reconcile`: exit 0 when Mailchimp equals QAD's mapping, 3 when drift is found and not
//! fixed, 0 again after `--fix`, 1 on an error (with a JSON error object under `--json`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{run, text, write_setup, Fakes, STORE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_follow_the_drift() {
    let fakes = Fakes::start(20, 8).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();
    let out = run(&["--config", config, "sync", "--only", "customers"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["--config", config, "sync", "--only", "items"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = run(&["--config", config, "reconcile", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let clean: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(clean["kinds"]["members"]["missing"]["count"], 0, "{clean}");
    assert!(
        clean["kinds"]["products"]["equal"].as_u64().unwrap() > 0,
        "{clean}"
    );

    let list = fakes.mailchimp.list_id().to_owned();
    let snapshot = fakes.mailchimp.snapshot();
    let email = snapshot.members[&list][0]["email_address"]
        .as_str()
        .unwrap()
        .to_owned();
    let product = snapshot.products[STORE][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    fakes.mailchimp.delete_member(&list, &email).unwrap();
    fakes
        .mailchimp
        .set_variant_price(STORE, &product, &product, 0.01)
        .unwrap();

    let out = run(&["--config", config, "reconcile"], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("2 drifted records"), "{report}");
    assert!(report.contains(&email.to_lowercase()), "{report}");
    assert!(report.contains("price"), "{report}");

    let out = run(
        &[
            "--config",
            config,
            "reconcile",
            "--object",
            "items",
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(items["kinds"].get("members").is_none(), "{items}");
    assert_eq!(items["kinds"]["products"]["different"]["count"], 1);

    let out = run(&["--config", config, "reconcile", "--fix", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let fixed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(fixed["run_id"].is_string(), "{fixed}");
    assert_eq!(fixed["kinds"]["members"]["fixed"], 1, "{fixed}");
    assert_eq!(fixed["kinds"]["products"]["fixed"], 1, "{fixed}");

    let out = run(&["--config", config, "reconcile"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("no drift"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_exits_1_with_a_json_error_object() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.toml");
    let out = run(
        &["--config", missing.to_str().unwrap(), "reconcile", "--json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("absent.toml"),
        "{error}"
    );
}
