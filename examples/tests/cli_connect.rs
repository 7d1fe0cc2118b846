//! `connect` against both fakes: success, and a precise failure for a wrong API key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{run, text, write_setup, Fakes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_against_the_fakes_succeeds_and_names_what_it_found() {
    let fakes = Fakes::start(5, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());

    let out = run(&["--config", config.to_str().unwrap(), "connect"], &[]).await;
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        text(&out.stderr)
    );
    assert!(stdout.contains("(data center us1)"), "{stdout}");
    assert!(stdout.contains(fakes.mailchimp.list_id()), "{stdout}");
    assert!(
        stdout.contains("not created yet: the first sync creates it"),
        "{stdout}"
    );
    assert!(stdout.contains("login        ok"), "{stdout}");
    assert!(stdout.contains("everything is in order"), "{stdout}");
    assert!(
        stdout.contains("merge fields FNAME, LNAME, ADDRESS, PHONE"),
        "{stdout}"
    );
    // connect only reads.
    assert_eq!(fakes.mailchimp.stats().writes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_a_wrong_key_fails_and_says_so() {
    let fakes = Fakes::start(5, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let wrong = "0123456789abcdef0123456789abcdef-us1";
    assert_ne!(wrong, fakes.mailchimp.api_key());
    let config = write_setup(dir.path(), &fakes, wrong);

    let out = run(
        &["--config", config.to_str().unwrap(), "connect", "--json"],
        &[],
    )
    .await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Mailchimp refused the credentials in the vault"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(wrong),
        "the key must never be printed: {stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["problems"].as_array().unwrap().len(), 1, "{report}");
    // QAD was still checked, and is fine.
    assert_eq!(report["qad"]["logged_in"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_naming_another_tenant_is_refused_before_any_login() {
    let fakes = Fakes::start(5, 3).await;
    let elsewhere = testkit::qad::FakeQad::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    // Someone edits the tenant URL: the vault's password must not be sent there.
    let edited = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&fakes.qad.base_url(), &elsewhere.base_url());
    std::fs::write(&config, edited).unwrap();

    let out = run(&["--config", config.to_str().unwrap(), "connect"], &[]).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the configuration's qad.tenant_url is"),
        "{stderr}"
    );
    assert!(stderr.contains("run `ml-connector init` again"), "{stderr}");
    assert_eq!(
        elsewhere.stats().total(),
        0,
        "nothing, least of all the password, went there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_probe_against_a_quirk_free_fake_verifies_every_assumption() {
    let fakes = Fakes::start(12, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let args = ["--config", config.to_str().unwrap(), "connect", "--probe"];

    let out = run(&args, &[]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("paging.mode            verified: page-number"),
        "{stdout}"
    );

    let out = run(&[&args[..], &["--json", "--probe-writes"]].concat(), &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let assumptions = report["assumptions"].as_array().unwrap();
    assert_eq!(assumptions.len(), 8, "{report}");
    assert!(
        assumptions
            .iter()
            .any(|a| a["name"] == "count.endpoint" && a["value"] == "total-count"),
        "{report}"
    );
    for a in assumptions {
        assert_eq!(a["verdict"], "verified", "{a}");
        assert!(a["name"].is_string() && a["value"].is_string() && !a["evidence"].is_null());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_probe_names_a_contradiction_and_write_config_keeps_the_value_found() {
    let fakes =
        Fakes::with_quirks(12, 3, &[("scope.domain", "header"), ("order.key", "any")]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let args = ["--config", config.to_str().unwrap(), "connect", "--probe"];

    let out = run(&args, &[]).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("scope.domain, order.key"), "{stderr}");

    let out = run(&[&args[..], &["--write-config"]].concat(), &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains("scope.domain = \"header\""), "{written}");
    assert!(written.contains("order.key = \"any\""), "{written}");

    // Configured with the values found, everything is verified, and connect is in order.
    let out = run(&args, &[]).await;
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = run(&args[..3], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_names_a_mapped_merge_tag_the_audience_lacks() {
    let fakes = Fakes::start(5, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let mut text_ = std::fs::read_to_string(&config).unwrap();
    text_.push_str(
        "\n[sync.mapping.customer.merge_fields]\nFNAME = { first_word = \"addressName\" }\n\
         COMPANY = { field = \"addressName\" }\n",
    );
    std::fs::write(&config, text_).unwrap();

    let out = run(&["--config", config.to_str().unwrap(), "connect"], &[]).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("merge field(s) COMPANY that audience"),
        "{stderr}"
    );
    assert_eq!(fakes.mailchimp.stats().writes(), 0);
}
