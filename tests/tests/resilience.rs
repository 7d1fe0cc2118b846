//! The clients' resilience against the fakes' limits and seeded fault injection.
//!
//! Each test counts on the fake's side: the highest concurrency it saw, the 429s it sent for going
//! over its limit, the faults it injected and the requests each route received. Retries use
//! millisecond delays, and no assertion depends on timing.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use futures::future::join_all;
use mailchimp_client::{Error, ListId, MemberStatus, SubscriberHash};
use reqwest::Method;
use testkit::faults::{FaultKind, InjectedFault};
use testkit::qad::FakeQad;
use testkit::{FakeMailchimp, FaultConfig, Faults};

const PING: &str = "/3.0/ping";
const MEMBER: &str = "/3.0/lists/{list_id}/members/{subscriber_hash}";

fn kinds(injected: &[InjectedFault]) -> Vec<FaultKind> {
    let mut kinds: Vec<FaultKind> = injected.iter().map(|f| f.kind).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

// ----- Mailchimp: the per-credential concurrency limit -----

#[tokio::test]
async fn two_hundred_concurrent_calls_never_exceed_the_fakes_limit() {
    let fake = FakeMailchimp::start().await.unwrap();
    // Slow answers, so that calls pile up against the cap.
    fake.faults()
        .set_default(FaultConfig::none().latency(Duration::from_millis(5)))
        .unwrap();
    let client = common::mailchimp(&fake).await;
    assert_eq!(client.max_concurrency(), 10);

    let calls = (0..200).map(|_| {
        let client = client.clone();
        async move { client.ping().await }
    });
    let results = join_all(calls).await;

    assert!(results.iter().all(Result::is_ok));
    assert_eq!(fake.concurrency_rejections(), 0, "no 429 was ever sent");
    assert_eq!(fake.stats().requests("GET", PING), 200, "and none retried");
    let peak = fake.peak_concurrency_for(fake.api_key());
    assert!(
        (2..=10).contains(&peak),
        "peak {peak}: calls overlapped, never above the cap"
    );
}

#[tokio::test]
async fn a_client_capped_above_the_fakes_limit_is_caught_by_it() {
    // The control for the test above: the fake does notice a client that sends too much at once.
    let fake = FakeMailchimp::builder()
        .concurrency_limit(4)
        .start()
        .await
        .unwrap();
    fake.faults()
        .set_default(FaultConfig::none().latency(Duration::from_millis(20)))
        .unwrap();
    let client = common::mailchimp_builder(&fake)
        .max_concurrency(16)
        .build()
        .await
        .unwrap();

    let calls = (0..32).map(|_| {
        let client = client.clone();
        async move { client.ping().await }
    });
    join_all(calls).await;

    assert!(fake.peak_concurrency() > 4, "{}", fake.peak_concurrency());
    assert!(fake.concurrency_rejections() > 0);
}

// ----- Mailchimp: seeded fault injection -----

#[tokio::test]
async fn reads_and_idempotent_writes_succeed_through_seeded_faults() {
    let faults = FaultConfig::none()
        .too_many_requests(0.08)
        .service_unavailable(0.06)
        .server_error(0.04)
        .bare_forbidden(0.04)
        .dropped_connection(0.04);
    let fake = FakeMailchimp::builder().seed(7).start().await.unwrap();
    let client = common::mailchimp_builder(&fake)
        .retry(common::fast_retry().with_max_attempts(10))
        .build()
        .await
        .unwrap();
    let members = client
        .list(&ListId::from(fake.list_id().to_owned()))
        .members();
    fake.faults().set_default(faults).unwrap();

    // 60 PUTs then 60 GETs, one at a time so the seeded sequence repeats run after run.
    for n in 0..60 {
        members
            .upsert(
                format!("m{n:02}@northwind-mfg.com"),
                MemberStatus::Subscribed,
            )
            .merge_field("FNAME", format!("M{n}"))
            .send()
            .await
            .unwrap();
    }
    for n in 0..60 {
        let member = members
            .get(&SubscriberHash::from_email(&format!(
                "m{n:02}@northwind-mfg.com"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(member.merge_fields["FNAME"], format!("M{n}"));
    }

    let injected = fake.faults().injected();
    assert_eq!(
        kinds(&injected),
        [
            FaultKind::TooManyRequests,
            FaultKind::InternalServerError,
            FaultKind::ServiceUnavailable,
            FaultKind::BareForbidden,
            FaultKind::DroppedConnection,
        ],
        "every fault kind was exercised"
    );
    // Every injected fault cost exactly one extra request; nothing else was retried.
    let faulted = |method: &str| injected.iter().filter(|f| f.method == method).count() as u64;
    assert_eq!(fake.stats().requests("PUT", MEMBER), 60 + faulted("PUT"));
    assert_eq!(fake.stats().requests("GET", MEMBER), 60 + faulted("GET"));
    // Retried PUTs never duplicated anything.
    assert_eq!(fake.snapshot().members[fake.list_id()].len(), 60);
}

#[tokio::test]
async fn batch_subscribe_is_retried_as_idempotent_and_lands_once() {
    let fake = FakeMailchimp::start().await.unwrap();
    fake.faults()
        .set_route(
            Method::POST,
            "/3.0/lists/{list_id}",
            FaultConfig::none().service_unavailable(0.5),
        )
        .unwrap();
    let client = common::mailchimp_builder(&fake)
        .retry(common::fast_retry().with_max_attempts(20))
        .build()
        .await
        .unwrap();
    let batch = (0..1100)
        .map(|n| {
            mailchimp_client::BatchMember::new(
                format!("b{n:04}@northwind-mfg.com"),
                MemberStatus::Subscribed,
            )
        })
        .collect();
    let report = client
        .list(&ListId::from(fake.list_id().to_owned()))
        .batch_subscribe(batch)
        .send()
        .await
        .unwrap();

    assert_eq!(report.total_created + report.total_updated, 1100);
    let injected = fake.faults().injected().len() as u64;
    assert!(injected > 0, "the seed injected some 503s");
    assert_eq!(
        fake.stats().requests("POST", "/3.0/lists/{list_id}"),
        3 + injected
    );
    assert_eq!(fake.snapshot().members[fake.list_id()].len(), 1100);
}

#[tokio::test]
async fn a_plain_post_is_not_retried() {
    let fake = FakeMailchimp::start().await.unwrap();
    fake.faults()
        .set_route(
            Method::POST,
            "/3.0/lists/{list_id}/merge-fields",
            FaultConfig::none().service_unavailable(1.0),
        )
        .unwrap();
    let client = common::mailchimp(&fake).await;
    let err = client
        .list(&ListId::from(fake.list_id().to_owned()))
        .merge_fields()
        .create("Code", mailchimp_client::MergeFieldType::Text)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err:?}");
    assert_eq!(
        fake.stats()
            .requests("POST", "/3.0/lists/{list_id}/merge-fields"),
        1
    );
}

#[tokio::test]
async fn constant_429s_end_in_rate_limited_after_the_configured_attempts() {
    let fake = FakeMailchimp::start().await.unwrap();
    fake.faults()
        .set_default(FaultConfig::none().too_many_requests(1.0))
        .unwrap();
    let client = common::mailchimp_builder(&fake)
        .retry(common::fast_retry().with_max_attempts(4))
        .build()
        .await
        .unwrap();

    let err = client.ping().await.unwrap_err();
    match &err {
        Error::RateLimited { attempts, last } => {
            assert_eq!(*attempts, 4);
            assert_eq!(last.status(), Some(429));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.is_rate_limited() && err.is_retryable());
    assert_eq!(fake.stats().requests("GET", PING), 4);
}

#[tokio::test]
async fn constant_503s_and_bare_403s_end_in_their_error_after_the_configured_attempts() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp_builder(&fake)
        .retry(common::fast_retry().with_max_attempts(3))
        .build()
        .await
        .unwrap();

    fake.faults()
        .set_default(FaultConfig::none().service_unavailable(1.0))
        .unwrap();
    let err = client.ping().await.unwrap_err();
    assert_eq!(err.status(), Some(503), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(fake.stats().requests("GET", PING), 3);

    fake.reset_stats();
    fake.faults()
        .set_default(FaultConfig::none().bare_forbidden(1.0))
        .unwrap();
    let err = client.ping().await.unwrap_err();
    assert!(
        matches!(err, Error::Http { status: 403, .. }),
        "a 403 without a problem document: {err:?}"
    );
    assert_eq!(fake.stats().requests("GET", PING), 3);
}

#[tokio::test]
async fn constant_dropped_connections_end_in_a_transport_error_after_the_configured_attempts() {
    let fake = FakeMailchimp::start().await.unwrap();
    fake.faults()
        .set_default(FaultConfig::none().dropped_connection(1.0))
        .unwrap();
    let client = common::mailchimp_builder(&fake)
        .retry(common::fast_retry().with_max_attempts(3))
        .build()
        .await
        .unwrap();

    let err = client.ping().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(
        fake.stats().requests("GET", PING),
        3,
        "a connection dropped before any response is retried like any transport error"
    );
}

#[tokio::test]
async fn responses_slower_than_the_timeout_are_retried_then_reported_as_timeouts() {
    let fake = FakeMailchimp::start().await.unwrap();
    // Far beyond the client's timeout; the fake cuts the wait short when it is dropped.
    fake.faults()
        .set_default(FaultConfig::none().slow_response(1.0, Duration::from_secs(60)))
        .unwrap();
    let client = common::mailchimp_builder(&fake)
        .timeout(Duration::from_millis(200))
        .retry(common::fast_retry().with_max_attempts(2))
        .build()
        .await
        .unwrap();

    let err = client.ping().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(fake.stats().requests("GET", PING), 2);
}

#[tokio::test]
async fn store_setup_and_catalog_writes_succeed_through_faults_without_duplicates() {
    use mailchimp_client::ecommerce::{
        CustomerId, CustomerInput, NewStore, ProductId, ProductInput, StoreId, VariantId,
        VariantInput,
    };

    let fake = FakeMailchimp::builder().seed(3).start().await.unwrap();
    fake.faults()
        .set_default(
            FaultConfig::none()
                .service_unavailable(0.15)
                .too_many_requests(0.1)
                .dropped_connection(0.1),
        )
        .unwrap();
    let client = common::mailchimp_builder(&fake)
        .retry(common::fast_retry().with_max_attempts(12))
        .build()
        .await
        .unwrap();
    let shop = client.ecommerce();
    let spec = NewStore::new(
        StoreId::from("shop-eu"),
        ListId::from(fake.list_id().to_owned()),
        "Shop EU",
        "EUR",
    );
    shop.ensure_store(&spec).await.unwrap();
    let store = shop.store(&spec.id);
    for n in 0..20 {
        let mut customer = CustomerInput::new(CustomerId::from(format!("C-{n}")), true);
        customer.email_address = Some(format!("c{n}@northwind-mfg.com"));
        store.customers().upsert(&customer).await.unwrap();
        let variant = VariantInput::new(VariantId::from(format!("P-{n}")), "Default");
        store
            .products()
            .upsert(&ProductInput::new(
                ProductId::from(format!("P-{n}")),
                format!("Product {n}"),
                vec![variant],
            ))
            .await
            .unwrap();
    }

    assert!(!fake.faults().injected().is_empty());
    let snapshot = fake.snapshot();
    assert_eq!(snapshot.stores.len(), 1);
    assert_eq!(snapshot.customers["shop-eu"].len(), 20);
    assert_eq!(snapshot.products["shop-eu"].len(), 20);
}

// ----- QAD -----

async fn qad_with_faults(seed: u64, config: FaultConfig) -> FakeQad {
    FakeQad::builder()
        .faults(Faults::new(seed, config).unwrap())
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn qad_calls_in_flight_never_exceed_the_clients_cap() {
    let qad = qad_with_faults(0, FaultConfig::none().latency(Duration::from_millis(5))).await;
    let client = common::qad_builder(&qad)
        .max_concurrency(4)
        .build()
        .unwrap();
    let calls = (0..40).map(|n| {
        let client = client.clone();
        async move { client.items().offset(n % 5).count(1).send().await }
    });
    assert!(join_all(calls).await.iter().all(Result::is_ok));
    let peak = qad.stats().peak_concurrency();
    assert!((2..=4).contains(&peak), "peak {peak}");
    assert_eq!(qad.logins().token_grants, 1, "one login for 40 callers");
}

#[tokio::test]
async fn qad_paged_reads_succeed_through_seeded_faults() {
    let qad = qad_with_faults(
        11,
        FaultConfig::none()
            .too_many_requests(0.1)
            .service_unavailable(0.1)
            .dropped_connection(0.1),
    )
    .await;
    let client = common::qad_builder(&qad)
        .retry(common::fast_retry().with_max_attempts(10))
        .build()
        .unwrap();

    let mut read = 0;
    let mut stream = client.customers().count(3).into_stream();
    while let Some(customer) = futures::TryStreamExt::try_next(&mut stream).await.unwrap() {
        assert!(qad.customer(customer.customer_code.as_str()).is_some());
        read += 1;
    }
    assert_eq!(read, qad.customers().len());

    let injected = qad.faults().injected();
    assert_eq!(
        kinds(&injected),
        [
            FaultKind::TooManyRequests,
            FaultKind::ServiceUnavailable,
            FaultKind::DroppedConnection,
        ]
    );
    let browse = qad.route("api/qracore/browses");
    let faulted = injected.iter().filter(|f| f.route == browse).count() as u64;
    let requests = qad.stats().requests("GET", &browse);
    assert_eq!(
        qad.logins().token_grants,
        1,
        "faults on the token endpoint were retried, not re-logged in"
    );

    // The same read without faults: every injected fault cost exactly one extra request.
    qad.faults().set_default(FaultConfig::none()).unwrap();
    qad.stats().reset();
    let again: Vec<_> =
        futures::TryStreamExt::try_collect::<Vec<_>>(client.customers().count(3).into_stream())
            .await
            .unwrap();
    assert_eq!(again.len(), read);
    let clean = qad.stats().requests("GET", &browse);
    assert_eq!(requests, clean + faulted);
}

#[tokio::test]
async fn qad_constant_429_and_503_end_in_an_error_after_the_configured_attempts() {
    for (config, status) in [
        (FaultConfig::none().too_many_requests(1.0), 429),
        (FaultConfig::none().service_unavailable(1.0), 503),
    ] {
        let qad = FakeQad::start().await.unwrap();
        let client = common::qad_builder(&qad)
            .retry(common::fast_retry().with_max_attempts(3))
            .build()
            .unwrap();
        // Log in first, then break the browse route only.
        client.customers().count(1).send().await.unwrap();
        let browse = qad.route("api/qracore/browses");
        qad.faults()
            .set_route(Method::GET, &browse, config)
            .unwrap();
        qad.stats().reset();

        let err = client.customers().count(1).send().await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err:?}");
        assert_eq!(qad.stats().requests("GET", &browse), 3);
    }
}

#[tokio::test]
async fn qad_constant_dropped_connections_end_in_a_transport_error() {
    let qad = FakeQad::start().await.unwrap();
    let client = common::qad_builder(&qad)
        .retry(common::fast_retry().with_max_attempts(3))
        .build()
        .unwrap();
    client.items().count(1).send().await.unwrap();
    let browse = qad.route("api/qracore/browses");
    qad.faults()
        .set_route(
            Method::GET,
            &browse,
            FaultConfig::none().dropped_connection(1.0),
        )
        .unwrap();
    qad.stats().reset();

    let err = client.items().count(1).send().await.unwrap_err();
    assert!(matches!(err, qad_client::Error::Transport(_)), "{err:?}");
    assert_eq!(qad.stats().requests("GET", &browse), 3);
}

#[tokio::test]
async fn qad_attribution_posts_through_faults_land_exactly_once() {
    let qad = FakeQad::start().await.unwrap();
    let client = common::qad_builder(&qad)
        .retry(common::fast_retry().with_max_attempts(12))
        .build()
        .unwrap();
    let entity = qad.route(qad.attribution_path());
    qad.faults()
        .set_route(
            Method::POST,
            &entity,
            FaultConfig::none()
                .too_many_requests(0.15)
                .service_unavailable(0.15)
                .dropped_connection(0.1),
        )
        .unwrap();

    for n in 0..15 {
        let record = qad_client::AttributionRecord {
            order_id: format!("mc-{n}"),
            customer_code: "C0000001".into(),
            sales_order_number: None,
            order_total: rust_decimal::Decimal::new(1999, 2),
            currency_code: "EUR".into(),
            financial_status: "paid".into(),
            processed_date: "2025-03-04T10:00:00Z".parse().unwrap(),
            store_id: "shop-eu".into(),
            campaign_id: None,
            lines: Vec::new(),
        };
        client.attribution().post(&record).await.unwrap();
    }

    let injected = qad.faults().injected().len() as u64;
    assert!(injected > 0, "the seed injected faults on the entity");
    assert_eq!(qad.attributions().len(), 15, "no record lost or doubled");
    assert_eq!(qad.stats().requests("POST", &entity), 15 + injected);
}
