//! `qad-client` against `testkit::qad::FakeQad`: the three ways to log in, session renewal under
//! concurrency, browse paging, typed readers, incremental reads, attribution writes and entity checks.
//!
//! The two were written independently; assertions compare the client's view with the fake's own data,
//! login counters and request counters.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use chrono::Duration as Days;
use futures::{future::join_all, TryStreamExt};
use qad_client::{
    AttributionConfig, AttributionLine, AttributionRecord, BrowseId, Credentials, Dedup,
    EntityPath, EntityStatus, Error, OnDuplicate, SalesOrderNumber, Target, WriteOutcome,
};
use rust_decimal::Decimal;
use serde_json::json;
use testkit::qad::{DateStyle, FakeQad, Seeding};

const BROWSES: &str = "api/qracore/browses";

fn record(order_id: &str, customer: &str, total: Decimal) -> AttributionRecord {
    AttributionRecord {
        order_id: order_id.into(),
        customer_code: customer.into(),
        sales_order_number: None,
        order_total: total,
        currency_code: "EUR".into(),
        financial_status: "paid".into(),
        processed_date: "2025-03-04T10:00:00Z".parse().unwrap(),
        store_id: "shop-eu".into(),
        campaign_id: Some("camp0001".into()),
        lines: vec![AttributionLine {
            item_code: "10-1000".into(),
            quantity: Decimal::new(3, 0),
            price: Decimal::new(1999, 2),
            discount: Decimal::ZERO,
        }],
    }
}

// ----- sessions -----

#[tokio::test]
async fn oauth_password_grant_logs_in_once_and_renews_once_for_twenty_callers() {
    let qad = FakeQad::start().await.unwrap();
    let client = common::qad(&qad);
    client.customers().count(1).send().await.unwrap();
    assert_eq!(qad.logins().token_grants, 1);

    qad.expire_sessions();
    let calls = (0..20).map(|n| {
        let client = client.clone();
        async move { client.items().offset(n % 4).count(1).send().await }
    });
    let results = join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let logins = qad.logins();
    assert_eq!(
        logins.token_grants, 2,
        "20 callers met the expired token: exactly one re-login"
    );
    assert_eq!(logins.rejected, 0);
}

#[tokio::test]
async fn form_login_keeps_a_cookie_session_and_renews_it_once() {
    let qad = FakeQad::builder().form_login(true).start().await.unwrap();
    let client = common::qad_builder(&qad)
        .credentials(Credentials::form_login(
            qad.username(),
            qad.password().to_owned(),
        ))
        .build()
        .unwrap();

    let page = client.customers().count(5).send().await.unwrap();
    assert_eq!(page.items.len(), 5);
    client.items().count(5).send().await.unwrap();
    assert_eq!(qad.logins().form_logins, 1);
    assert_eq!(qad.logins().token_grants, 0);

    qad.expire_sessions();
    let calls = (0..20).map(|_| {
        let client = client.clone();
        async move { client.customers().count(1).send().await }
    });
    assert!(join_all(calls).await.iter().all(Result::is_ok));
    assert_eq!(qad.logins().form_logins, 2);
}

#[tokio::test]
async fn basic_auth_needs_no_login_and_a_wrong_password_is_an_auth_error() {
    let qad = FakeQad::builder().basic_auth(true).start().await.unwrap();
    let client = common::qad_builder(&qad)
        .credentials(Credentials::basic(
            qad.username(),
            qad.password().to_owned(),
        ))
        .build()
        .unwrap();
    client.customers().count(2).send().await.unwrap();
    let logins = qad.logins();
    assert_eq!((logins.token_grants, logins.form_logins), (0, 0));

    let wrong = common::qad_builder(&qad)
        .credentials(Credentials::basic(qad.username(), "not-the-password"))
        .build()
        .unwrap();
    let err = wrong.customers().count(2).send().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                status: Some(401),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!format!("{err:?} {err}").contains("not-the-password"));

    let oauth_wrong = common::qad_builder(&qad)
        .credentials(Credentials::oauth_password(
            qad.client_id(),
            qad.username(),
            "not-the-password",
        ))
        .build()
        .unwrap();
    let err = oauth_wrong.customers().count(2).send().await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert_eq!(qad.logins().rejected, 1);
}

// ----- reads -----

#[tokio::test]
async fn browse_pages_map_offsets_to_page_numbers_and_stop_at_the_end() {
    let qad = FakeQad::builder()
        .seeding(Seeding::new(5).customers(23))
        .start()
        .await
        .unwrap();
    let client = common::qad(&qad);
    let browse = client.browse(&BrowseId::parse(&qad.browse_ids().customers).unwrap());

    let first = browse.clone().count(10).send().await.unwrap();
    assert_eq!(first.items.len(), 10);
    assert!(first.has_more);
    assert_eq!(first.next_offset(), Some(10));
    let last = browse.clone().offset(20).count(10).send().await.unwrap();
    assert_eq!(last.items.len(), 3);
    assert!(!last.has_more);
    assert_eq!(last.next_offset(), None);
    let codes = |rows: &[qad_client::Row]| -> Vec<String> {
        rows.iter()
            .map(|r| r["customer.customerCode"].as_str().unwrap().to_owned())
            .collect()
    };
    let expected: Vec<String> = qad
        .customers()
        .iter()
        .map(|c| c.customer_code.clone())
        .collect();
    assert_eq!(codes(&first.items), expected[..10]);
    assert_eq!(codes(&last.items), expected[20..]);

    // A stream over pages of 4 yields each row once and stops on the short page.
    qad.stats().reset();
    let rows: Vec<_> = browse.count(4).into_stream().try_collect().await.unwrap();
    assert_eq!(codes(&rows), expected);
    assert_eq!(qad.stats().requests("GET", &qad.route(BROWSES)), 6);

    // Offsets that are not a multiple of the page size cannot map onto QAD's page numbers.
    let err = client
        .customers()
        .offset(3)
        .count(10)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPaging { .. }), "{err:?}");
}

#[tokio::test]
async fn a_tenant_that_caps_the_page_size_still_yields_every_row_once() {
    // Tenants may serve fewer rows than `pageSize` asks for (the fake caps at 10 here; qad-facts.md
    // says a server maximum is unknown). The client follows `HasMoreParams`, not the page length.
    let qad = FakeQad::builder()
        .seeding(Seeding::new(6).customers(35))
        .max_page_size(10)
        .start()
        .await
        .unwrap();
    let client = common::qad(&qad);
    let read: Vec<_> = client
        .customers()
        .count(25)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let got: Vec<&str> = read.iter().map(|c| c.customer_code.as_str()).collect();
    let expected: Vec<String> = qad
        .customers()
        .into_iter()
        .map(|c| c.customer_code)
        .collect();
    assert_eq!(
        got, expected,
        "a page shorter than requested but with HasMoreParams=true is not the end"
    );
}

#[tokio::test]
async fn typed_customers_see_the_fakes_values_and_keep_custom_fields() {
    for style in [DateStyle::IsoMidnight, DateStyle::Plain] {
        let qad = FakeQad::builder()
            .seeding(Seeding::new(42).customers(60).missing_field_share(0.3))
            .date_style(style)
            .start()
            .await
            .unwrap();
        let client = common::qad(&qad);
        let read: Vec<_> = client
            .customers()
            .count(25)
            .into_stream()
            .try_collect()
            .await
            .unwrap();
        let expected = qad.customers();
        assert_eq!(read.len(), expected.len());
        let mut custom_fields_seen = 0;
        for (got, want) in read.iter().zip(&expected) {
            let code = &want.customer_code;
            assert_eq!(got.customer_code.as_str(), code);
            assert_eq!(
                got.email.as_deref(),
                want.email.as_deref().filter(|e| !e.is_empty()),
                "{code} email"
            );
            assert_eq!(got.city, want.city, "{code} city");
            assert_eq!(got.country_code, want.country_code, "{code} country");
            assert_eq!(got.address_name, want.address_name, "{code} name");
            assert_eq!(
                got.currency_code.as_deref(),
                Some(want.currency_code.as_str())
            );
            assert_eq!(got.is_active, Some(want.is_active), "{code} isActive");
            assert_eq!(
                got.last_modified_date,
                Some(want.last_modified_date),
                "{code} date ({style:?})"
            );
            assert_eq!(
                got.last_modified_time,
                Some(i64::from(want.last_modified_time))
            );
            for (name, value) in &want.custom {
                assert_eq!(
                    got.extra.get(&format!("customer.{name}")),
                    Some(value),
                    "{code}: custom field {name} survives in extra"
                );
                custom_fields_seen += 1;
            }
        }
        assert!(custom_fields_seen > 0, "the seed has custom fields");
    }
}

#[tokio::test]
async fn typed_items_and_sales_orders_with_lines_see_the_fakes_values() {
    let qad = FakeQad::builder()
        .seeding(
            Seeding::new(9)
                .items(12)
                .sales_orders(8)
                .customer_po_share(0.5),
        )
        .start()
        .await
        .unwrap();
    let client = common::qad(&qad);

    let items: Vec<_> = client
        .items()
        .count(5)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let expected = qad.items();
    assert_eq!(items.len(), expected.len());
    for (got, want) in items.iter().zip(&expected) {
        assert_eq!(got.item_code.as_str(), want.item_code);
        assert_eq!(got.description.as_deref(), Some(want.description.as_str()));
        assert_eq!(
            got.unit_of_measure.as_deref(),
            Some(want.unit_of_measure.as_str())
        );
        assert_eq!(
            got.price,
            Some(Decimal::new(want.price_cents, 2)),
            "{}",
            want.item_code
        );
        assert_eq!(got.last_modified_date, Some(want.last_modified_date));
    }

    let headers: Vec<_> = client
        .sales_orders()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let expected = qad.sales_orders();
    assert_eq!(headers.len(), expected.len());
    for (got, want) in headers.iter().zip(&expected) {
        assert_eq!(got.sales_order_number.as_str(), want.sales_order_number);
        assert_eq!(
            got.sold_to_customer_code.as_ref().map(|c| c.as_str()),
            Some(want.sold_to_customer_code.as_str())
        );
        assert_eq!(
            got.currency_code.as_deref(),
            Some(want.currency_code.as_str())
        );
        assert_eq!(got.order_date, Some(want.order_date));
        assert_eq!(got.due_date, Some(want.due_date));
        assert_eq!(
            got.customer_po, want.customer_po,
            "{}",
            want.sales_order_number
        );
    }

    // One order with its lines: the header browse plus the line browse filtered by order.
    let want = &expected[3];
    let order = client
        .sales_order(&SalesOrderNumber::from(want.sales_order_number.as_str()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.lines.len(), want.lines.len());
    for (got, line) in order.lines.iter().zip(&want.lines) {
        assert_eq!(got.sales_order_line, Some(i64::from(line.line)));
        assert_eq!(
            got.item_code.as_ref().map(|c| c.as_str()),
            Some(line.item_code.as_str())
        );
        assert_eq!(
            got.quantity_ordered,
            Some(Decimal::from(line.quantity_ordered))
        );
        assert_eq!(got.list_price, Some(Decimal::new(line.list_price_cents, 2)));
        assert_eq!(got.net_price, Some(Decimal::new(line.net_price_cents, 2)));
        assert_eq!(got.discount, Some(Decimal::from(line.discount_percent)));
        assert_eq!(got.due_date, Some(line.due_date));
    }
    assert!(client
        .sales_order(&SalesOrderNumber::from("NO-SUCH-ORDER"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn incremental_reads_return_what_changed_within_the_overlap_window() {
    let qad = FakeQad::builder()
        .seeding(Seeding::new(3).customers(40))
        .start()
        .await
        .unwrap();
    let client = common::qad(&qad);
    let newest = qad
        .customers()
        .iter()
        .map(|c| c.last_modified_date)
        .max()
        .unwrap();
    // Nothing in the seed is newer than five days after its newest record.
    let since = newest + Days::days(5);
    let changed: Vec<_> = client
        .customers()
        .modified_since(since)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(changed.is_empty(), "{changed:?}");

    // Three changes, a week after the newest seeded record.
    let later = newest + Days::days(7);
    qad.set_today(later);
    let codes: Vec<String> = qad
        .customers()
        .iter()
        .step_by(13)
        .map(|c| c.customer_code.clone())
        .collect();
    for code in &codes {
        assert!(qad.update_customer(code, |c| c.city = Some("Leuven".into())));
    }
    let changed: Vec<_> = client
        .customers()
        .modified_since(later)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let got: BTreeSet<&str> = changed.iter().map(|c| c.customer_code.as_str()).collect();
    let want: BTreeSet<&str> = codes.iter().map(String::as_str).collect();
    assert_eq!(got, want);
    assert!(changed.iter().all(|c| c.city.as_deref() == Some("Leuven")));

    // Read again with the overlap: the caller's dedup drops what it has already seen.
    let mut dedup = Dedup::new();
    for c in &changed {
        assert!(dedup.observe_record(c));
    }
    let again: Vec<_> = client
        .customers()
        .modified_since(later)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(again.iter().all(|c| !dedup.observe_record(c)));
}

#[tokio::test]
async fn the_overlap_window_reaches_back_a_day_and_filters_match_the_fakes_semantics() {
    let qad = FakeQad::builder()
        .seeding(Seeding::new(8).customers(60))
        .start()
        .await
        .unwrap();
    let client = common::qad(&qad);
    let all = qad.customers();
    let newest = all.iter().map(|c| c.last_modified_date).max().unwrap();

    // One change the day before `since`, one on it: the default one-day overlap reads both.
    let since = newest + Days::days(10);
    qad.set_today(since - Days::days(1));
    assert!(qad.update_customer(&all[0].customer_code, |c| c.fax = "1".into()));
    qad.set_today(since);
    assert!(qad.update_customer(&all[1].customer_code, |c| c.fax = "2".into()));
    let read: Vec<_> = client
        .customers()
        .modified_since(since)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let codes: Vec<&str> = read.iter().map(|c| c.customer_code.as_str()).collect();
    assert_eq!(
        codes,
        [all[0].customer_code.as_str(), all[1].customer_code.as_str()]
    );

    // Typed-field filters go out under the browse's row keys and mean what the fake means.
    let german: Vec<_> = client
        .customers()
        .filter("countryCode", qad_client::FilterOp::Eq, "DE")
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let want: Vec<String> = qad
        .customers()
        .into_iter()
        .filter(|c| c.country_code.as_deref() == Some("DE"))
        .map(|c| c.customer_code)
        .collect();
    let got: Vec<String> = german
        .iter()
        .map(|c| c.customer_code.as_str().to_owned())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);

    let (from, to) = (&all[10].customer_code, &all[19].customer_code);
    let range: Vec<_> = client
        .customers()
        .filter_raw(qad_client::Filter::range(
            "customer.customerCode",
            from.as_str(),
            to.as_str(),
        ))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(range.len(), 10);
    assert_eq!(range[0].customer_code.as_str(), from);
    assert_eq!(range[9].customer_code.as_str(), to);
}

// ----- writes -----

#[tokio::test]
async fn attribution_create_then_duplicate_updates_and_never_adds_a_record() {
    let qad = FakeQad::start().await.unwrap();
    let client = common::qad(&qad);

    let first = record("mc-1001", "C0000010", Decimal::new(5997, 2));
    assert_eq!(
        client.attribution().post(&first).await.unwrap(),
        WriteOutcome::Created
    );
    let stored = qad.attribution("mc-1001").unwrap();
    assert_eq!(stored["orderId"], "mc-1001");
    assert_eq!(stored["customerCode"], "C0000010");
    assert_eq!(stored["orderTotal"], json!("59.97"));
    assert_eq!(stored["currencyCode"], "EUR");
    assert_eq!(stored["lines"][0]["itemCode"], "10-1000");
    assert_eq!(stored["lines"][0]["price"], json!("19.99"));
    assert_eq!(stored["salesOrderNumber"], "");

    // The same order again, changed: QAD says 2041 "already exists"; the client updates.
    let mut changed = first.clone();
    changed.financial_status = "refunded".into();
    changed.sales_order_number = Some("SO10045".into());
    assert_eq!(
        client.attribution().post(&changed).await.unwrap(),
        WriteOutcome::Updated
    );
    assert_eq!(qad.attributions().len(), 1, "never a second record");
    let stored = qad.attribution("mc-1001").unwrap();
    assert_eq!(stored["financialStatus"], "refunded");
    assert_eq!(stored["salesOrderNumber"], "SO10045");
    assert!(stored.get("dataOperation").is_none());

    // Configured to skip duplicates: nothing is written.
    let skipping = common::qad_builder(&qad)
        .attribution(AttributionConfig::default().with_on_duplicate(OnDuplicate::Skip))
        .build()
        .unwrap();
    let mut third = changed.clone();
    third.financial_status = "paid".into();
    assert_eq!(
        skipping.attribution().post(&third).await.unwrap(),
        WriteOutcome::Unchanged
    );
    assert_eq!(qad.attributions().len(), 1);
    assert_eq!(
        qad.attribution("mc-1001").unwrap()["financialStatus"],
        "refunded"
    );

    // The record round-trips through the client's own decoding.
    let back: AttributionRecord =
        serde_json::from_value(qad.attribution("mc-1001").unwrap()).unwrap();
    assert_eq!(back, changed);
}

#[tokio::test]
async fn submit_result_errors_at_http_200_are_typed_with_their_field_errors() {
    let qad = FakeQad::start().await.unwrap();
    let client = common::qad(&qad);

    let err = client
        .attribution()
        .post(&record("", "C0000010", Decimal::ONE))
        .await
        .unwrap_err();
    match &err {
        Error::Rejected { status, errors } => {
            assert_eq!(*status, 200, "QAD rejects at HTTP 200");
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].field_name.as_deref(), Some("orderId"));
            assert_eq!(errors[0].code.as_deref(), Some("1001"));
            assert_eq!(errors[0].message, "Field is mandatory");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(err.field_errors().len(), 1);
    assert!(qad.attributions().is_empty());
}

#[tokio::test]
async fn validate_entities_reports_ok_not_found_and_forbidden_per_path() {
    let qad = FakeQad::builder()
        .forbid_path("api/bdoc/mlconnector/secret/Hidden")
        .forbid_browse("urn:browse:mfg:cm007")
        .start()
        .await
        .unwrap();
    let client = common::qad(&qad);

    let configured = client
        .validate_entities(client.configured_targets())
        .await
        .unwrap();
    assert_eq!(configured.len(), 5);
    for check in &configured {
        assert_eq!(check.status, EntityStatus::Ok, "{}", check.target);
    }

    let entity = |p: &str| Target::Entity(EntityPath::parse(p).unwrap());
    let browse = |b: &str| Target::Browse(BrowseId::parse(b).unwrap());
    let checks = client
        .validate_entities([
            entity("api/erp/customerV2s"),
            entity("api/bdoc/mlconnector/attribution/Missing"),
            entity("api/bdoc/mlconnector/secret/Hidden"),
            browse("urn:browse:mfg:cm007"),
            browse("urn:browse:mfg:nosuch"),
        ])
        .await
        .unwrap();
    let statuses: Vec<&EntityStatus> = checks.iter().map(|c| &c.status).collect();
    assert_eq!(
        statuses,
        [
            &EntityStatus::Ok,
            &EntityStatus::NotFound,
            &EntityStatus::Forbidden,
            &EntityStatus::Forbidden,
            &EntityStatus::NotFound,
        ],
        "{checks:#?}"
    );

    // Both business-document envelopes are readable.
    qad.set_envelope(testkit::qad::Envelope::Bare);
    let checks = client
        .validate_entities([entity("api/erp/customerV2s")])
        .await
        .unwrap();
    assert_eq!(checks[0].status, EntityStatus::Ok);
}
