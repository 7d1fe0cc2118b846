//! `sync` retries the replay queue first (`--retry-failed`, the default); `--no-retry-failed`
//! leaves it alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::Method;
use support::{run, text, write_setup, Fakes, STORE};
use testkit::FaultConfig;

const PRODUCT_PUT: &str = "/3.0/ecommerce/stores/{store_id}/products/{product_id}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_retries_failed_rows_unless_told_not_to() {
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
    let sync = |extra: &'static [&'static str]| {
        let mut args = vec!["--config", config, "sync", "--only", "items", "--json"];
        args.extend_from_slice(extra);
        async move {
            let out = run(&args, &[]).await;
            assert!(out.status.success(), "{}", text(&out.stderr));
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
        }
    };
    let first = sync(&[]).await;
    let failed = first["runs"][0]["targets"]["products"]["failed"]
        .as_u64()
        .unwrap();
    assert!(failed > 0, "{first}");

    // Still failing, and told not to retry: the queue is left alone.
    let skipped = sync(&["--no-retry-failed"]).await;
    assert!(skipped["runs"][0]["retries"].is_null(), "{skipped}");

    // The fault clears; the default retries the queue first and resolves every row.
    fakes.mailchimp.faults().clear_routes();
    let healed = sync(&["--no-retry-failed", "--retry-failed"]).await;
    let retries = &healed["runs"][0]["retries"];
    // A row whose record the previous run re-read (QAD's overlap window) and failed again waits
    // for its backoff; this run's own read writes that one.
    assert!(retries["resolved"].as_u64().unwrap() >= 1, "{healed}");
    assert_eq!(retries["dead"].as_u64(), Some(0), "{healed}");
    assert_eq!(
        healed["runs"][0]["targets"]["products"]["failed"].as_u64(),
        Some(0),
        "{healed}"
    );
    assert_eq!(
        fakes.mailchimp.snapshot().products[STORE].len() as u64,
        failed
    );
}
