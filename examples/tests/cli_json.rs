//! `--json` shapes for scripts: every command's object is snapshot-tested (paths and types,
//! not values) against `tests/snapshots/*.shape`, and every key is snake_case without spaces,
//! arrays hold objects or plain strings, never positional tuples. docs/cli-json.md documents
//! the shapes. `UPDATE_SNAPSHOTS=1 cargo test -p ml-connector --test cli_json` rewrites them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{run, text, write_setup, Fakes};

/// Keys whose members are data (call kinds, target kinds, lifecycle actions), shown as `*`.
const MAPS: &[&str] = &["calls", "kinds", "actions"];
/// Keys holding another system's document as sent (an audit row's payload, a planned field
/// change's values): not descended.
const OPAQUE: &[&str] = &["payload", "old", "new"];

fn opaque(path: &str) -> bool {
    OPAQUE.iter().any(|o| path.ends_with(&format!(".{o}")))
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every `path: type` of `v`; array elements share the path `[]`, map members `*`.
fn shape(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    out.insert(format!("{path}: {}", type_of(v)));
    if opaque(path) {
        return;
    }
    match v {
        Value::Object(map) => {
            let is_map = MAPS.iter().any(|m| path.ends_with(&format!(".{m}")));
            for (k, x) in map {
                let key = if is_map { "*" } else { k.as_str() };
                shape(x, &format!("{path}.{key}"), out);
            }
        }
        Value::Array(items) => {
            for x in items {
                shape(x, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

/// Keys are snake_case; arrays are lists of like things, never tuples.
fn assert_script_friendly(v: &Value, path: &str) {
    if opaque(path) {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                assert!(
                    !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "key {k:?} at {path} is not snake_case"
                );
                assert_ne!(
                    k, "elapsed",
                    "{path}: a duration needs its unit in its name"
                );
                assert_script_friendly(x, &format!("{path}.{k}"));
            }
        }
        Value::Array(items) => {
            let kinds: BTreeSet<&str> =
                items.iter().map(type_of).filter(|t| *t != "null").collect();
            assert!(
                kinds.len() <= 1,
                "{path} mixes {kinds:?}: a positional array"
            );
            for x in items {
                assert_script_friendly(x, &format!("{path}[]"));
            }
        }
        _ => {}
    }
}

/// Checks `stdout` as one JSON object against the snapshot `name`.
fn check(name: &str, stdout: &[u8]) -> Value {
    let value: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{name}: not one JSON object ({e}): {}", text(stdout)));
    assert_script_friendly(&value, name);
    let mut paths = BTreeSet::new();
    shape(&value, "", &mut paths);
    let got: String = paths.into_iter().map(|p| p + "\n").collect();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.shape"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&file, &got).unwrap();
    }
    let want = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(
        got,
        want,
        "the JSON shape of {name} changed; update docs/cli-json.md and rerun with UPDATE_SNAPSHOTS=1"
    );
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_prints_its_documented_json_shape() {
    let fakes = Fakes::start(12, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_setup(dir.path(), &fakes, fakes.mailchimp.api_key());
    let config = config.to_str().unwrap();
    let json = |args: &[&str]| {
        let mut all = vec!["--config", config];
        all.extend_from_slice(args);
        all.push("--json");
        all.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let go = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, &[]).await
    };

    let out = go(json(&["connect"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let connect = check("connect", &out.stdout);
    assert_eq!(
        connect["mailchimp"]["audience"]["id"],
        fakes.mailchimp.list_id()
    );
    assert!(connect["mailchimp"]["audience"]["member_count"].is_number());

    let out = go(json(&["sync", "--dry-run"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    check("sync_dry_run", &out.stdout);

    let out = go(json(&["sync"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sync = check("sync", &out.stdout);
    let run0 = &sync["runs"][0];
    assert!(run0["elapsed_ms"].is_number(), "{run0}");
    assert!(
        run0["calls"]["qad_browse_page"].as_u64().unwrap() >= 1,
        "{run0}"
    );

    let out = go(json(&["audit", "--object", "customers", "--limit", "3"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let audit = check("audit", &out.stdout);
    let rows = audit["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{audit}");
    assert!(
        rows[0]["id"].as_i64() > rows[1]["id"].as_i64(),
        "newest first"
    );
    assert_eq!(audit["truncated"], true);

    let out = go(json(&["runs"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    check("runs", &out.stdout);

    let out = go(json(&["reconcile"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    check("reconcile", &out.stdout);

    let out = go(json(&["replay", "--all-failed"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    check("replay", &out.stdout);

    // The lifecycle's dry run, with a customer gone from QAD so a removal is listed.
    let mut with_lifecycle = std::fs::read_to_string(config).unwrap();
    with_lifecycle.push_str("\n[sync.lifecycle]\n");
    std::fs::write(config, with_lifecycle).unwrap();
    let gone = fakes.qad.customers()[0].customer_code.clone();
    assert!(fakes.qad.remove_customer(&gone));
    let out = go(json(&["lifecycle", "--dry-run"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lifecycle = check("lifecycle_dry_run", &out.stdout);
    assert_eq!(
        lifecycle["scans"][0]["removals"][0]["source_key"],
        gone.as_str()
    );

    let out = go(json(&["credentials", "show"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = check("credentials_show", &out.stdout);
    assert!(!text(&out.stdout).contains(fakes.mailchimp.api_key()));
    assert!(!text(&out.stdout).contains(fakes.qad.password()));
    assert_eq!(shown["mailchimp"]["auth"], "api_key");

    // A failure: the error object on stdout, the same exit status as without --json.
    let out = go(json(&["audit", "--since", "yesterday-ish"])).await;
    assert_eq!(out.status.code(), Some(1));
    let error = check("error", &out.stdout);
    assert_eq!(error["error"]["kind"], "usage", "{error}");
    assert_eq!(error["exit_code"], 1);

    // A command line clap refuses: the same object, exit 1 (2 means failed records).
    let out = go(json(&["audit", "--outcome", "lost"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let error = check("error", &out.stdout);
    assert_eq!(error["error"]["kind"], "usage", "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("lost"), "{message}");
    assert!(
        text(&out.stderr).contains("possible values"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_its_documented_json_shape() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_ml-connector"))
                .args([
                    "demo",
                    "--json",
                    "--customers",
                    "40",
                    "--items",
                    "10",
                    "--orders",
                    "5",
                ])
                .current_dir(dir)
                .env_remove("RUST_LOG")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let demo = check("demo", &out.stdout);
    assert!(demo["totals"]["calls"]["mailchimp_store_get"].is_number());
}
