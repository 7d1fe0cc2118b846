//! Pages overlap (issue #19, point 1): while one page's e-commerce `PUT`s are under way, the next
//! page's members are already written, so the connection window does not empty at a page end;
//! cursors still commit in page order, only after all of a page's writes answered. Pages take
//! turns sending their `PUT`s, and QAD is read while the audience and store are checked.
#![allow(clippy::unwrap_used)]

mod forward_support;

use std::time::Duration;

use axum::http::Method;
use forward_support::{config, Harness, STORE};
use sync_core::forward::RunOptions;
use sync_core::{ObjectKind, RunStatus, StateStore};
use testkit::qad::Seeding;
use testkit::FaultConfig;

const CUSTOMER_PUT: &str = "/3.0/ecommerce/stores/{store_id}/customers/{customer_id}";

fn seeding() -> Seeding {
    clean_customers(10)
}

fn clean_customers(n: usize) -> Seeding {
    Seeding::new(23)
        .customers(n)
        .items(0)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
        .missing_field_share(0.0)
}

/// Every store customer `PUT` to the fake delayed as `delay` says.
fn delay_store_customers(h: &Harness, delay: FaultConfig) {
    h.mailchimp
        .faults()
        .set_route(Method::PUT, CUSTOMER_PUT, delay)
        .unwrap();
}

/// Pages of 5 customers, each member by its own `PUT`, and every store customer `PUT` held 2 s
/// by the fake: one page's requests alone never put more than 5 in flight.
async fn slow_store_customers() -> (Harness, sync_core::forward::ForwardSync) {
    let h = Harness::start(seeding()).await;
    let mut cfg = config(h.mailchimp.list_id());
    cfg.page_size = 5;
    cfg.member_batch_threshold = 100;
    let sync = h.sync(cfg);
    delay_store_customers(
        &h,
        FaultConfig::none().slow_response(1.0, Duration::from_secs(2)),
    );
    (h, sync)
}

#[tokio::test]
async fn the_next_page_is_written_while_the_last_pages_store_customers_are_under_way() {
    let (h, sync) = slow_store_customers().await;
    let report = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");
    assert_eq!(report.targets[&ObjectKind::Members].created, 10, "{report}");
    assert_eq!(
        report.targets[&ObjectKind::EcommerceCustomers].created,
        10,
        "{report}"
    );
    // Page by page, at most one page's 5 store customers (or 5 members) are ever in flight; with
    // pages overlapping, the second page's requests join the first page's held store customers
    // (its members, or at the latest its own store customers, each held 2 s too).
    assert!(
        h.mailchimp.peak_concurrency() > 5,
        "peak {} requests in flight: pages did not overlap",
        h.mailchimp.peak_concurrency()
    );
    let snapshot = h.mailchimp.snapshot();
    assert_eq!(snapshot.customers[STORE].len(), 10);
    assert!(h
        .state
        .cursor(ObjectKind::Customers)
        .await
        .unwrap()
        .is_some_and(|c| c.last_key.is_none() && c.last_modified.is_some()));
}

#[tokio::test]
async fn a_run_stopped_after_one_page_commits_no_cursor_beyond_the_pages_it_finished() {
    let (h, sync) = slow_store_customers().await;
    let report = sync
        .run(ObjectKind::Customers, RunOptions::new().max_pages(1))
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Cancelled, "{report}");
    assert_eq!(report.pages, 1, "{report}");
    assert_eq!(
        report.targets[&ObjectKind::EcommerceCustomers].created,
        5,
        "the page in flight is finished: {report}"
    );
    let cursor = h
        .state
        .cursor(ObjectKind::Customers)
        .await
        .unwrap()
        .unwrap();
    let customers = h.qad.customers();
    let mut codes: Vec<&str> = customers.iter().map(|c| c.customer_code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(cursor.last_key.as_deref(), Some(codes[4]), "{cursor:?}");

    // The next run resumes after it and finishes the rest.
    let rest = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(rest.status, RunStatus::Completed, "{rest}");
    assert_eq!(
        rest.targets[&ObjectKind::EcommerceCustomers].created,
        5,
        "{rest}"
    );
    assert_eq!(h.mailchimp.snapshot().customers[STORE].len(), 10);
}

#[tokio::test]
async fn a_pages_store_customers_go_out_once_the_page_before_has_sent_its_own() {
    let h = Harness::start(clean_customers(24)).await;
    let mut cfg = config(h.mailchimp.list_id());
    cfg.page_size = 8;
    cfg.concurrency = 2;
    let sync = h.sync(cfg);
    // Slow enough that two pages' `PUT`s sent side by side would interleave throughout.
    delay_store_customers(&h, FaultConfig::none().latency(Duration::from_millis(30)));
    let report = sync
        .run(ObjectKind::Customers, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Completed, "{report}");

    let mut codes: Vec<String> = h
        .qad
        .customers()
        .into_iter()
        .map(|c| c.customer_code)
        .collect();
    codes.sort_unstable();
    let page_of = |code: &str| codes.iter().position(|c| c == code).unwrap() / 8;
    let prefix = format!("PUT /3.0/ecommerce/stores/{STORE}/customers/");
    let sent: Vec<usize> = h
        .log
        .entries()
        .iter()
        .filter_map(|e| e.strip_prefix(&prefix))
        .map(page_of)
        .collect();
    assert_eq!(sent.len(), 24, "{sent:?}");
    for page in 0..2 {
        let next_starts = sent.iter().position(|p| *p == page + 1).unwrap();
        let late = sent[next_starts..].iter().filter(|p| **p == page).count();
        // Only the page's last calls (at most one per connection it uses) may still be on their
        // way when the next page starts.
        assert!(
            late <= 2,
            "page {page} sent {late} `PUT`s after page {} began: {sent:?}",
            page + 1
        );
    }
}

#[tokio::test]
async fn qad_is_read_while_the_audience_and_the_store_are_checked() {
    let h = Harness::start(seeding()).await;
    let sync = h.sync(config(h.mailchimp.list_id()));
    // The audience's merge fields never answer (until the fake shuts down).
    h.mailchimp
        .faults()
        .set_route(
            Method::GET,
            "/3.0/lists/{list_id}/merge-fields",
            FaultConfig::none().latency(Duration::from_secs(3600)),
        )
        .unwrap();
    let run = tokio::spawn(async move { sync.run(ObjectKind::Customers, RunOptions::new()).await });
    let browse = h.qad.route("api/qracore/browses");
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        while h.qad.stats().requests("GET", &browse) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    run.abort();
    assert!(
        read.is_ok(),
        "QAD was not read while the merge fields were asked"
    );
    assert_eq!(
        h.mailchimp.stats().writes(),
        0,
        "nothing is written before the setup"
    );
}
