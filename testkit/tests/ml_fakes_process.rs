//! The `ml-fakes` binary as a process: one JSON line, then both fakes answer until it is killed.
#![allow(clippy::unwrap_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

use serde_json::Value;

/// Kills the child when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Running, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ml-fakes"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    (running, serde_json::from_str(&line).unwrap())
}

#[tokio::test]
async fn prints_one_json_line_and_serves_both_fakes() {
    let (_running, info) = start(&[
        "--customers",
        "7",
        "--items",
        "4",
        "--seed",
        "9",
        "--store-id",
        "shop",
    ]);
    let mc = &info["mailchimp"];
    let http = reqwest::Client::new();

    // A tool would call the API as it calls Mailchimp: Basic auth, any username.
    let ping: Value = http
        .get(format!("{}/ping", mc["api_url"].as_str().unwrap()))
        .basic_auth("python-client", Some(mc["api_key"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ping["health_status"], "Everything's Chimpy!");

    let meta: Value = http
        .get(mc["metadata_url"].as_str().unwrap())
        .header(
            "Authorization",
            format!("OAuth {}", mc["oauth_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["api_endpoint"], mc["base_url"]);

    let store: Value = http
        .get(format!(
            "{}/ecommerce/stores/shop",
            mc["api_url"].as_str().unwrap()
        ))
        .bearer_auth(mc["api_key"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(store["list_id"], mc["list_id"]);

    let qad = &info["qad"];
    assert_eq!(qad["customers"], 7);
    assert_eq!(qad["items"], 4);
    let token = http
        .post(format!("{}/oauth/token", qad["base_url"].as_str().unwrap()))
        .form(&[
            ("client_id", qad["client_id"].as_str().unwrap()),
            ("grant_type", "password"),
            ("username", qad["username"].as_str().unwrap()),
            ("password", qad["password"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status().as_u16(), 200);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_credentials_and_no_qad_skips_qad() {
    let (_a, first) = start(&["--seed", "5", "--no-qad"]);
    let (_b, second) = start(&["--seed", "5", "--no-qad"]);
    assert!(first["qad"].is_null());
    assert_eq!(
        first["mailchimp"]["api_key"],
        second["mailchimp"]["api_key"]
    );
    assert_eq!(
        first["mailchimp"]["list_id"],
        second["mailchimp"]["list_id"]
    );
    assert_ne!(
        first["mailchimp"]["base_url"],
        second["mailchimp"]["base_url"]
    );
    assert!(first["mailchimp"]["store_id"].is_null());
}

#[tokio::test]
async fn given_credentials_are_used_and_bad_options_fail_clearly() {
    let (_running, info) = start(&[
        "--no-qad",
        "--api-key",
        "abc123-us6",
        "--list-id",
        "0123456789",
    ]);
    assert_eq!(info["mailchimp"]["api_key"], "abc123-us6");
    assert_eq!(info["mailchimp"]["list_id"], "0123456789");

    let output = Command::new(env!("CARGO_BIN_EXE_ml-fakes"))
        .args(["--no-qad", "--p429", "1.5"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("outside [0, 1]"), "{stderr}");
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_it_cleanly() {
    let (mut running, info) = start(&["--no-qad"]);
    assert!(info["mailchimp"]["api_url"].is_string());
    let pid = running.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let status = running.0.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn qad_quirks_are_taken_by_name_and_unknown_ones_refused() {
    let (_running, info) = start(&[
        "--customers",
        "5",
        "--qad-quirk",
        "order.key=any",
        "--qad-quirk",
        "scope.domain=rows",
    ]);
    let qad = &info["qad"];
    let body: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/qracore/browses",
            qad["base_url"].as_str().unwrap()
        ))
        .basic_auth(qad["username"].as_str().unwrap(), qad["password"].as_str())
        .query(&[
            ("browseId", qad["browse_ids"]["customers"].as_str().unwrap()),
            ("page", "1"),
            ("pageSize", "50"),
            ("pageAction", "first"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = body["data"].as_array().unwrap();
    // Five customers plus three of another domain, in descending key order.
    assert_eq!(rows.len(), 8, "{body}");
    let first = rows[0]["customer.customerCode"].as_str().unwrap();
    let last = rows[7]["customer.customerCode"].as_str().unwrap();
    assert!(first > last, "{first} {last}");

    let output = Command::new(env!("CARGO_BIN_EXE_ml-fakes"))
        .args(["--qad-quirk", "paging.mode=sideways"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("paging.mode=sideways"), "{stderr}");
}

#[tokio::test]
async fn fill_mailchimp_writes_every_valid_customer_and_reports_memory() {
    let (_running, info) = start(&[
        "--customers",
        "40",
        "--seed",
        "3",
        "--store-id",
        "shop",
        "--fill-mailchimp",
    ]);
    let fill = &info["fill"];
    let customers = fill["customers"].as_u64().unwrap();
    // 5 % invalid addresses and some missing ones are refused or skipped; duplicates update.
    assert!((30..40).contains(&customers), "{fill}");
    assert_eq!(fill["members"], customers);
    assert!(fill["rss_bytes_after"].as_u64().unwrap() > 0);
    assert!(fill["rss_bytes_per_customer"].is_u64());

    let mc = &info["mailchimp"];
    let http = reqwest::Client::new();
    let read = |path: String| {
        http.get(format!("{}{path}", mc["api_url"].as_str().unwrap()))
            .basic_auth("any", Some(mc["api_key"].as_str().unwrap()))
            .send()
    };
    let store: Value = read("/ecommerce/stores/shop/customers?count=1".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(store["total_items"], customers);
    let list = mc["list_id"].as_str().unwrap();
    let members: Value = read(format!("/lists/{list}/members?count=1000"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Duplicate addresses share one member.
    let distinct = members["total_items"].as_u64().unwrap();
    assert!(distinct > 0 && distinct <= customers, "{distinct}");
    assert!(members["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["status"] == "subscribed" && m["merge_fields"]["FNAME"] != ""));
    // The fill is not counted: the stats start at the first request of a client.
    assert!(info["rss_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn fill_mailchimp_needs_a_store() {
    let output = Command::new(env!("CARGO_BIN_EXE_ml-fakes"))
        .args(["--fill-mailchimp", "--customers", "3"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--store-id"));
}
