//! `lifecycle`, and the lifecycle scan and consent write-back of `run` and `sync`, as an
//! operator runs them: the binary against both fakes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::{run, text, write_setup, Fakes};

const LIFECYCLE: &str = "\n[sync.lifecycle]\nmembers = \"archive\"\n";
const CONSENT: &str = "\n[consent]\nenabled = true\n";

/// The setup with `extra` appended to the configuration; returns the configuration's path.
fn setup(dir: &Path, fakes: &Fakes, extra: &str) -> String {
    let config = write_setup(dir, fakes, fakes.mailchimp.api_key());
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(extra);
    std::fs::write(&config, text).unwrap();
    config.to_str().unwrap().to_owned()
}

fn norm(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The member status of `email`, archived members included.
fn member_status(fakes: &Fakes, email: &str) -> Option<String> {
    fakes.mailchimp.snapshot().members[fakes.mailchimp.list_id()]
        .iter()
        .find(|m| norm(m["email_address"].as_str().unwrap()) == norm(email))
        .map(|m| m["status"].as_str().unwrap().to_owned())
}

/// Customers that are subscribed members of their own address (no other customer shares it),
/// as (code, email).
fn members_of_one_customer(fakes: &Fakes) -> Vec<(String, String)> {
    let customers = fakes.qad.customers();
    customers
        .iter()
        .filter_map(|c| Some((c.customer_code.clone(), c.email.clone()?)))
        .filter(|(_, email)| {
            customers
                .iter()
                .filter(|o| o.email.as_deref().map(norm) == Some(norm(email)))
                .count()
                == 1
        })
        .filter(|(_, email)| member_status(fakes, email).as_deref() == Some("subscribed"))
        .collect()
}

async fn sync(config: &str) {
    let out = run(&["--config", config, "sync"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_removed_from_qad_is_listed_by_a_dry_run_and_archived_by_lifecycle() {
    let fakes = Fakes::start(12, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &fakes, LIFECYCLE);
    let config = config.as_str();
    sync(config).await;
    let (code, email) = members_of_one_customer(&fakes).remove(0);
    assert!(fakes.qad.remove_customer(&code));

    let writes = fakes.mailchimp.stats().writes();
    let out = run(&["--config", config, "lifecycle", "--dry-run"], &[]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!(
            "{code} {} (gone): archive member [planned]",
            norm(&email)
        )),
        "{stdout}"
    );
    assert!(stdout.contains("archive member: 1"), "{stdout}");
    assert!(stdout.contains("dry run: nothing was archived"), "{stdout}");
    assert_eq!(
        fakes.mailchimp.stats().writes(),
        writes,
        "a dry run writes nothing"
    );
    assert_eq!(member_status(&fakes, &email).as_deref(), Some("subscribed"));

    let out = run(
        &["--config", config, "lifecycle", "--dry-run", "--json"],
        &[],
    )
    .await;
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let customers = &plan["scans"][0];
    assert_eq!(customers["object"], "customers", "{plan}");
    assert_eq!(customers["removals"][0]["source_key"], code.as_str());
    assert_eq!(customers["removals"][0]["action"], "archive_member");
    assert_eq!(customers["removals"][0]["outcome"], Value::Null);
    assert_eq!(plan["scans"][1]["object"], "items", "{plan}");

    let out = run(&["--config", config, "lifecycle", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        done["scans"][0]["removals"][0]["outcome"], "updated",
        "{done}"
    );
    assert_eq!(member_status(&fakes, &email).as_deref(), Some("archived"));

    // Done once: the next scan finds nothing more to remove.
    let out = run(&["--config", config, "lifecycle"], &[]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout).contains("nothing to remove"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_removal_is_refused_without_the_flag() {
    let fakes = Fakes::start(40, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &fakes, LIFECYCLE);
    let config = config.as_str();
    sync(config).await;
    let departing: Vec<(String, String)> = members_of_one_customer(&fakes)
        .into_iter()
        .take(15)
        .collect();
    assert_eq!(departing.len(), 15);
    for (code, _) in &departing {
        assert!(fakes.qad.remove_customer(code));
    }

    let out = run(&["--config", config, "lifecycle"], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("15 of "), "{stderr}");
    assert!(stderr.contains("max_removal_percent = 20"), "{stderr}");
    assert!(stderr.contains("--allow-mass-removal"), "{stderr}");
    for (_, email) in &departing {
        assert_eq!(member_status(&fakes, email).as_deref(), Some("subscribed"));
    }
    let out = run(&["--config", config, "lifecycle", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let refused: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(refused["errors"][0]["object"], "customers", "{refused}");

    let out = run(
        &["--config", config, "lifecycle", "--allow-mass-removal"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("archive member: 15"),
        "{}",
        text(&out.stdout)
    );
    for (_, email) in &departing {
        assert_eq!(member_status(&fakes, email).as_deref(), Some("archived"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_lifecycle_settings_the_command_says_what_is_missing() {
    let fakes = Fakes::start(3, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &fakes, "");
    let out = run(&["--config", &config, "lifecycle", "--json"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no [sync.lifecycle] section"),
        "{}",
        text(&out.stderr)
    );
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["kind"], "usage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_writes_an_unsubscribe_back_to_qad_once() {
    let fakes = Fakes::start(8, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &fakes, CONSENT);
    let config = config.as_str();
    let customers = fakes.qad.customers();
    let (code, email) = customers
        .iter()
        .find_map(|c| Some((c.customer_code.clone(), c.email.clone()?)))
        .unwrap();
    // The member unsubscribed in Mailchimp: the customers run's audience read learns it.
    fakes
        .mailchimp
        .seed_member(fakes.mailchimp.list_id(), &email, "unsubscribed")
        .unwrap();

    let out = run(&["--config", config, "sync", "--dry-run", "--json"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(plan["consent"].is_object(), "{plan}");
    assert!(fakes.qad.consents().is_empty(), "a dry run writes nothing");

    let out = run(&["--config", config, "sync", "--json"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        first["consent"]["written"].as_u64().unwrap() >= 1,
        "{first}"
    );
    let records: Vec<Value> = fakes
        .qad
        .consents()
        .into_iter()
        .filter(|r| r["customerCode"] == code.as_str())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["marketingStatus"], "unsubscribed");

    let total = fakes.qad.consents().len();
    let out = run(&["--config", config, "sync", "--json"], &[]).await;
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["consent"]["written"], 0, "{again}");
    assert_eq!(fakes.qad.consents().len(), total, "written exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_scans_when_due_and_writes_consent_back() {
    let fakes = Fakes::start(10, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path(), &fakes, &format!("{LIFECYCLE}{CONSENT}"));
    let config = config.as_str();
    sync(config).await;
    let mut members = members_of_one_customer(&fakes);
    let (gone, gone_email) = members.remove(0);
    let (_, unsubscribed) = members.remove(0);
    assert!(fakes.qad.remove_customer(&gone));
    fakes
        .mailchimp
        .seed_member(fakes.mailchimp.list_id(), &unsubscribed, "unsubscribed")
        .unwrap();

    let out = run(&["--config", config, "run", "--once"], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("lifecycle customers: 9 read from QAD"),
        "{stderr}"
    );
    assert_eq!(
        member_status(&fakes, &gone_email).as_deref(),
        Some("archived")
    );
    assert!(stderr.contains("consent write-back"), "{stderr}");

    // Not due again within scan_interval_hours: the next cycle does not scan.
    let out = run(&["--config", config, "run", "--once"], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("lifecycle customers:"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_checks_the_consent_entity_when_enabled() {
    let fakes = Fakes::start(3, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let config = setup(
        dir.path(),
        &fakes,
        "\n[consent]\nenabled = true\nentity_path = \"api/bdoc/acme/crm/NoSuchConsent\"\n",
    );
    let out = run(&["--config", &config, "connect"], &[]).await;
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("NoSuchConsent"), "{stdout}");
    let all = format!("{stdout}{}", text(&out.stderr));
    assert!(all.contains("check consent.entity_path"), "{all}");
}
