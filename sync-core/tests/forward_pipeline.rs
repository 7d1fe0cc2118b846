//! Pages overlap (issue #19, point 1): while one page's e-commerce `PUT`s are under way, the next
//! page's members are already written, so the connection window does not empty at a page end;
//! cursors still commit in page order, only after all of a page's writes answered.
#![allow(clippy::unwrap_used)]

mod forward_support;

use std::time::Duration;

use forward_support::{config, Harness, STORE};
use axum::http::Method;
use sync_core::forward::RunOptions;
use sync_core::{ObjectKind, RunStatus, StateStore};
use testkit::qad::Seeding;
use testkit::FaultConfig;

const CUSTOMER_PUT: &str = "/3.0/ecommerce/stores/{store_id}/customers/{customer_id}";

fn seeding() -> Seeding {
    Seeding::new(23)
        .customers(10)
        .items(0)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
        .missing_field_share(0.0)
}

/// Pages of 5 customers, each member by its own `PUT`, and every store customer `PUT` held 2 s
/// by the fake: one page's requests alone never put more than 5 in flight.
async fn slow_store_customers() -> (Harness, sync_core::forward::ForwardSync) {
    let h = Harness::start(seeding()).await;
    let mut cfg = config(h.mailchimp.list_id());
    cfg.page_size = 5;
    cfg.member_batch_threshold = 100;
    let sync = h.sync(cfg);
    h.mailchimp
        .faults()
        .set_route(
            Method::PUT,
            CUSTOMER_PUT,
            FaultConfig::none().slow_response(1.0, Duration::from_secs(2)),
        )
        .unwrap();
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
    // pages overlapping, the second page's members and store customers join the first page's
    // held store customers.
    assert!(
        h.mailchimp.peak_concurrency() > 5,
        "peak {} requests in flight: pages did not overlap",
        h.mailchimp.peak_concurrency()
    );
    // The second page's member writes went out before the first page's store customers
    // answered: in the order requests reached the fake, a member PUT follows a customer PUT.
    let log = h.log.entries();
    let first_customer = log
        .iter()
        .position(|e| e.starts_with("PUT") && e.contains("/customers/"))
        .unwrap();
    assert!(
        log[first_customer..]
            .iter()
            .any(|e| e.starts_with("PUT") && e.contains("/members/")),
        "{log:#?}"
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
    let cursor = h.state.cursor(ObjectKind::Customers).await.unwrap().unwrap();
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
