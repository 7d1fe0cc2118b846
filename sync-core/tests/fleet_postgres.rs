//! The fleet on a real PostgreSQL: the pairs registry, account claims and their fencing, and
//! workers syncing fake tenants. Each test works in a schema of its own. Without
//! `ML_CONNECTOR_TEST_POSTGRES_URL` the tests say they were skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fleet_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use fleet_support::{credentials, in_fresh_schema, pair_config, url, Fleet};
use sync_core::fleet::{NewPair, PairRegistry, Worker, WorkerOptions};
use sync_core::state::LeaseHolder;
use sync_core::vault::VaultKey;
use sync_core::{Cursor, LeaseError, ObjectKind, StateBatch, StateStore, SyncError};
use testkit::FaultConfig;

async fn registry(test: &str) -> Option<(PairRegistry, String)> {
    let url = url(test)?;
    let url = in_fresh_schema(&url, test).await;
    Some((PairRegistry::connect(&url).await.unwrap(), url))
}

fn holder(name: &str) -> LeaseHolder {
    LeaseHolder::new(name, 4711)
}

fn options(name: &str, ttl: Duration) -> WorkerOptions {
    WorkerOptions::new()
        .holder(holder(name))
        .ttl(ttl)
        .poll_every(Duration::from_millis(200))
        .max_runs(16)
        .slice_pages(2)
}

fn page(object: ObjectKind) -> StateBatch {
    StateBatch::new().commit_cursor(Cursor::new(object, None, Some("K-1".into()), None))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_keeps_configuration_as_data_and_credentials_sealed() {
    let Some((registry, url)) =
        registry("the_registry_keeps_configuration_as_data_and_credentials_sealed").await
    else {
        return;
    };
    let fleet = Fleet::start(&registry, 1, 2, 3, 10).await;
    let pair = &fleet.pairs[0];
    let listed = registry.list().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, pair.id);
    assert_eq!(listed[0].account, fleet.accounts[0].name);
    assert_eq!(listed[0].config, pair_config(&pair.list, "store-0-0", 10));
    assert_eq!(listed[0].held_by, None);
    assert!(!format!("{listed:?}").contains(pair.qad.password()));
    assert_eq!(registry.state_of(&pair.id).unwrap().pair(), pair.id);

    // The stored row holds neither secret in the clear.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT config, credentials FROM fleet_pairs WHERE pair = $1",
            &[&pair.id],
        )
        .await
        .unwrap();
    let config: String = row.get(0);
    let sealed: Vec<u8> = row.get(1);
    let api_key = fleet.accounts[0].fake.api_key();
    for secret in [pair.qad.password(), api_key] {
        assert!(!config.contains(secret));
        assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }

    // Opened with the key, they come back; with another key, a clear error naming the pair.
    let opened = registry
        .pairs_of(&fleet.accounts[0].name, &fleet.key)
        .await
        .unwrap();
    assert_eq!(opened.len(), 2);
    assert_eq!(
        opened[0].credentials.qad.as_ref().unwrap().username,
        pair.qad.username()
    );
    let err = registry
        .pairs_of(&fleet.accounts[0].name, &VaultKey::generate())
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Config { .. }), "{err:?}");
    assert!(err.to_string().contains(&pair.id), "{err}");

    // A second registration of the id is refused; a bad configuration is refused.
    let again = NewPair {
        id: pair.id.clone(),
        account: fleet.accounts[0].name.clone(),
        config: pair_config(&pair.list, "store-x", 10),
        credentials: credentials(&fleet.accounts[0].fake, &pair.qad),
    };
    let err = registry.add(again.clone(), &fleet.key).await.unwrap_err();
    assert!(err.to_string().contains("already registered"), "{err}");
    let mut bad = again;
    bad.id = "another".into();
    bad.config.objects.clear();
    let err = registry.add(bad, &fleet.key).await.unwrap_err();
    assert!(err.to_string().contains("syncs no object"), "{err}");

    // Removal: the pair goes; its account goes with its last pair.
    assert!(registry.remove(&pair.id).await.unwrap());
    assert!(!registry.remove(&pair.id).await.unwrap());
    assert_eq!(registry.list().await.unwrap().len(), 1);
    assert!(registry.remove(&fleet.pairs[1].id).await.unwrap());
    let accounts: i64 = client
        .query_one("SELECT count(*) FROM fleet_accounts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(accounts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_hold_one_account_at_once() {
    let Some((registry, _)) = registry("two_workers_never_hold_one_account_at_once").await else {
        return;
    };
    let _fleet = Fleet::start(&registry, 20, 1, 1, 10).await;
    let ttl = Duration::from_secs(30);
    let (a, b) = (holder("gw-a"), holder("gw-b"));
    registry.join(&a, ttl).await.unwrap();
    registry.join(&b, ttl).await.unwrap();
    assert_eq!(registry.fair_share(&a).await.unwrap(), 10);

    // Both claim one account at a time, concurrently, until nothing is left.
    let claim_all = |who: LeaseHolder| {
        let registry = registry.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let claims = registry.claim(&who, ttl, 1).await.unwrap();
                if claims.is_empty() {
                    return got;
                }
                got.extend(claims);
            }
        })
    };
    let (got_a, got_b) = tokio::join!(claim_all(a.clone()), claim_all(b.clone()));
    let (got_a, got_b) = (got_a.unwrap(), got_b.unwrap());
    let names_a: HashSet<_> = got_a.iter().map(|c| c.account.clone()).collect();
    let names_b: HashSet<_> = got_b.iter().map(|c| c.account.clone()).collect();
    assert_eq!(names_a.len() + names_b.len(), 20);
    assert!(names_a.is_disjoint(&names_b), "{names_a:?} / {names_b:?}");

    // A live claim is never handed out again, and renewal keeps exactly each worker's own.
    assert!(registry
        .claim(&holder("gw-c"), ttl, 20)
        .await
        .unwrap()
        .is_empty());
    let renewed: HashSet<_> = registry
        .renew_all(&a, ttl)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.account)
        .collect();
    assert_eq!(renewed, names_a);

    // Released, an account is claimable at once, with a higher token.
    let first = &got_a[0];
    assert!(registry.release(first).await.unwrap());
    assert!(!registry.release(first).await.unwrap());
    let again = registry.claim(&b, ttl, 20).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].account, first.account);
    assert!(again[0].token > first.token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_claims_page_commit_is_refused() {
    let Some((registry, _)) = registry("an_expired_claims_page_commit_is_refused").await else {
        return;
    };
    let fleet = Fleet::start(&registry, 1, 1, 1, 10).await;
    let pair = &fleet.pairs[0].id;
    let ttl = Duration::from_secs(1);
    let paused = registry
        .claim(&holder("gw-paused"), ttl, 1)
        .await
        .unwrap()
        .remove(0);
    let store = registry.fenced_store(pair, &paused).unwrap();
    store.apply(page(ObjectKind::Customers)).await.unwrap();

    // The holder pauses past its time to live: its commit is refused even before anyone
    // takes the account over, and nothing of the page is written.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let refused = store
        .apply(StateBatch::new().commit_cursor(Cursor::new(
            ObjectKind::Items,
            None,
            Some("I-9".into()),
            None,
        )))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, SyncError::Lease(LeaseError::ClaimLost { current: None, token, .. }) if *token == paused.token),
        "{refused:?}"
    );
    assert_eq!(store.cursor(ObjectKind::Items).await.unwrap(), None);
    assert!(matches!(
        registry.check(&paused).await,
        Err(SyncError::Lease(LeaseError::ClaimLost { .. }))
    ));
    assert!(registry
        .renew_all(&paused.holder, ttl)
        .await
        .unwrap()
        .is_empty());

    // Another worker takes it over: the old holder stays refused (naming the new token), the
    // new holder commits.
    let new = registry
        .claim(&holder("gw-new"), Duration::from_secs(30), 1)
        .await
        .unwrap()
        .remove(0);
    assert!(new.token > paused.token);
    let err = store.apply(page(ObjectKind::Items)).await.unwrap_err();
    assert!(
        matches!(&err, SyncError::Lease(LeaseError::ClaimLost { current: Some(c), .. }) if *c == new.token),
        "{err:?}"
    );
    assert!(err.to_string().contains(pair), "{err}");
    let fresh = registry.fenced_store(pair, &new).unwrap();
    fresh.apply(page(ObjectKind::Items)).await.unwrap();

    // A removed pair's commits are refused too.
    registry.remove(pair).await.unwrap();
    assert!(matches!(
        fresh.apply(page(ObjectKind::Items)).await,
        Err(SyncError::Lease(LeaseError::ClaimLost { .. }))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_pairs_are_taken_over_after_expiry_and_the_end_state_is_exact() {
    let Some((registry, _)) = registry("killed_worker_taken_over").await else {
        return;
    };
    let fleet = Fleet::start(&registry, 2, 2, 60, 5).await;
    // Slow QAD, so the first worker is mid-run when it dies.
    for pair in &fleet.pairs {
        pair.qad
            .faults()
            .set_default(FaultConfig::none().latency(Duration::from_millis(60)))
            .unwrap();
    }
    let ttl = Duration::from_secs(3);
    let first = Worker::start(registry.clone(), fleet.key.clone(), options("gw-1", ttl))
        .await
        .unwrap();
    let start = Instant::now();
    while first.counts().records_read < 30 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{:?}",
            first.counts()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let at_kill = first.kill();
    assert_eq!(at_kill.accounts_held, 2);
    assert!(!fleet.all_synced(), "killed too late to be mid-run");
    let killed_at = Instant::now();

    let second = Worker::start(registry.clone(), fleet.key.clone(), options("gw-2", ttl))
        .await
        .unwrap();
    while second.counts().accounts_held < 2 {
        assert!(
            killed_at.elapsed() < ttl * 4,
            "not taken over: {:?}",
            second.counts()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let taken_after = killed_at.elapsed();
    eprintln!("taken over {taken_after:?} after the kill (claims live {ttl:?})");
    // Not before the dead worker's claims expired: they were live when it died.
    assert!(
        taken_after >= ttl / 3,
        "taken over while the claims were live"
    );
    fleet.wait_synced(Duration::from_secs(120)).await;
    fleet.assert_exact();
    let counts = second.shutdown().await;
    assert_eq!(counts.claims, 2);
    for account in &fleet.accounts {
        assert_eq!(account.fake.concurrency_rejections(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_sharing_an_account_stay_within_its_ten_connections() {
    let Some((registry, _)) = registry("pairs_sharing_an_account_stay_within").await else {
        return;
    };
    let fleet = Fleet::start(&registry, 1, 12, 20, 5).await;
    fleet.accounts[0]
        .fake
        .faults()
        .set_default(FaultConfig::none().latency(Duration::from_millis(20)))
        .unwrap();
    let ttl = Duration::from_secs(10);
    // Two workers each willing to run 16 at once: the account goes to one of them, whose
    // pairs share one limit of 10.
    let a = Worker::start(registry.clone(), fleet.key.clone(), options("gw-a", ttl))
        .await
        .unwrap();
    let b = Worker::start(registry.clone(), fleet.key.clone(), options("gw-b", ttl))
        .await
        .unwrap();
    fleet.wait_synced(Duration::from_secs(120)).await;
    fleet.assert_exact();
    let (ca, cb) = (a.counts(), b.counts());
    assert_eq!(ca.accounts_held + cb.accounts_held, 1, "{ca:?} {cb:?}");
    let peak = fleet.accounts[0].fake.peak_concurrency();
    eprintln!("peak connections of the shared account: {peak}");
    assert!(peak <= 10, "peak {peak}");
    assert!(peak > 1, "the pairs never ran in parallel (peak {peak})");
    assert_eq!(fleet.accounts[0].fake.concurrency_rejections(), 0);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_releases_claims_for_others_at_once() {
    let Some((registry, _)) = registry("graceful_shutdown_releases").await else {
        return;
    };
    let fleet = Fleet::start(&registry, 2, 1, 10, 5).await;
    let ttl = Duration::from_secs(60);
    let first = Worker::start(registry.clone(), fleet.key.clone(), options("gw-1", ttl))
        .await
        .unwrap();
    fleet.wait_synced(Duration::from_secs(60)).await;
    let start = Instant::now();
    while first.counts().runs < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?}",
            first.counts()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(first.counts().accounts_held, 2);
    let counts = first.shutdown().await;
    assert_eq!(counts.accounts_held, 0);
    assert!(registry
        .list()
        .await
        .unwrap()
        .iter()
        .all(|p| p.held_by.is_none()));

    // Far sooner than the 60 s time to live, another worker holds both.
    let second = Worker::start(registry.clone(), fleet.key.clone(), options("gw-2", ttl))
        .await
        .unwrap();
    let start = Instant::now();
    while second.counts().accounts_held < 2 {
        assert!(start.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_worker_gets_its_share_as_the_first_sheds_idle_accounts() {
    let Some((registry, _)) = registry("new_worker_gets_share").await else {
        return;
    };
    let fleet = Fleet::start(&registry, 4, 1, 5, 5).await;
    let ttl = Duration::from_secs(30);
    let first = Worker::start(registry.clone(), fleet.key.clone(), options("gw-1", ttl))
        .await
        .unwrap();
    fleet.wait_synced(Duration::from_secs(60)).await;
    assert_eq!(first.counts().accounts_held, 4);
    let second = Worker::start(registry.clone(), fleet.key.clone(), options("gw-2", ttl))
        .await
        .unwrap();
    let start = Instant::now();
    while second.counts().accounts_held < 2 || first.counts().accounts_held > 2 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{:?} / {:?}",
            first.counts(),
            second.counts()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_accounts_caps_a_worker_below_its_fair_share() {
    let Some((registry, _)) = registry("max_accounts_caps").await else {
        return;
    };
    let fleet = Fleet::start(&registry, 3, 1, 2, 5).await;
    let ttl = Duration::from_secs(30);
    let capped = Worker::start(
        registry.clone(),
        fleet.key.clone(),
        options("gw-capped", ttl).max_accounts(1),
    )
    .await
    .unwrap();
    let start = Instant::now();
    while capped.counts().accounts_held < 1 {
        assert!(start.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Several rebalancing rounds later it still holds one of the three.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(capped.counts().accounts_held, 1);
    let held = registry
        .list()
        .await
        .unwrap()
        .iter()
        .filter(|p| p.held_by.is_some())
        .count();
    assert_eq!(held, 1);
    capped.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_runs_a_pairs_whole_configuration_orders_and_custom_browses() {
    use mailchimp_client::ecommerce::{
        CustomerId, CustomerInput, Decimal, NewStore, OrderCustomer, OrderId, OrderInput,
        OrderLineInput, ProductId, ProductInput, StoreId, VariantId, VariantInput,
    };
    use sync_core::fleet::{ObjectCadence, PairConfig};
    use sync_core::orders::OrdersSettings;
    use testkit::mailchimp::FakeMailchimp;
    use testkit::qad::{BrowseIds, FakeQad};

    let test = "a_worker_runs_a_pairs_whole_configuration_orders_and_custom_browses";
    let Some((registry, _)) = registry(test).await else {
        return;
    };
    // A tenant answering only to its own browse ids and attribution entity.
    let browses = BrowseIds {
        customers: "urn:browse:acme:crm.customers".into(),
        items: "urn:browse:acme:crm.items".into(),
        sales_orders: "urn:browse:acme:sales.orders".into(),
        sales_order_lines: "urn:browse:acme:sales.orderLines".into(),
    };
    let qad = FakeQad::builder()
        .seeding(fleet_support::seeding(7, 6))
        .browse_ids(browses.clone())
        .attribution_entity("api/bdoc/acme/crm/OrderAttribution")
        .start()
        .await
        .unwrap();
    let mailchimp = FakeMailchimp::builder()
        .api_key(format!("{:032x}-us1", 77))
        .list("list-orders")
        .start()
        .await
        .unwrap();

    // The shop already holds an order of a QAD customer, placed before the worker starts.
    let client = mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(
        mailchimp.api_key(),
    ))
    .base_url(mailchimp.api_url())
    .build()
    .await
    .unwrap();
    let store_id = StoreId::from("store-orders");
    client
        .ecommerce()
        .ensure_store(&NewStore::new(
            store_id.clone(),
            "list-orders".into(),
            "Fleet store",
            "EUR",
        ))
        .await
        .unwrap();
    let code = qad.customers()[0].customer_code.clone();
    let store = client.ecommerce().store(&store_id);
    let mut customer = CustomerInput::new(CustomerId::from(code.as_str()), true);
    customer.email_address = Some("buyer@northwind-mfg.com".into());
    store.customers().upsert(&customer).await.unwrap();
    let variant = VariantInput::new(VariantId::from("ITEM-1"), "ITEM-1");
    store
        .products()
        .upsert(&ProductInput::new(
            ProductId::from("ITEM-1"),
            "ITEM-1",
            vec![variant],
        ))
        .await
        .unwrap();
    let mut order = OrderInput::new(
        OrderId::from("9001"),
        OrderCustomer::new(CustomerId::from(code.as_str())),
        "EUR",
        "19.99".parse::<Decimal>().unwrap(),
        vec![OrderLineInput::new(
            "1".into(),
            ProductId::from("ITEM-1"),
            VariantId::from("ITEM-1"),
            1,
            "19.99".parse::<Decimal>().unwrap(),
        )],
    );
    order.financial_status = Some("paid".into());
    order.processed_at_foreign = Some("2025-03-04T10:00:00+00:00".parse().unwrap());
    store.orders().upsert(&order).await.unwrap();

    let mut config: PairConfig = pair_config("list-orders", "store-orders", 10).with_object(
        ObjectCadence::new(ObjectKind::Orders, Duration::from_secs(3600)),
    );
    config.orders = Some(OrdersSettings::default());
    config.qad.browses.customers = Some(browses.customers.clone());
    config.qad.browses.items = Some(browses.items.clone());
    config.qad.browses.sales_orders = Some(browses.sales_orders.clone());
    config.qad.browses.sales_order_lines = Some(browses.sales_order_lines.clone());
    config.qad.attribution_path = Some(qad.attribution_path().to_owned());
    config.qad.timeout_secs = Some(5);
    config.sync.lifecycle = Some(sync_core::lifecycle::LifecycleConfig::default());
    let key = VaultKey::generate();
    registry
        .add(
            NewPair {
                id: "pair-orders".into(),
                account: format!("mc-orders-{}", uuid::Uuid::new_v4().simple()),
                config: config.clone(),
                credentials: credentials(&mailchimp, &qad),
            },
            &key,
        )
        .await
        .unwrap();
    assert_eq!(registry.list().await.unwrap()[0].config, config);

    let worker = Worker::start(
        registry.clone(),
        key,
        options("w1", Duration::from_secs(10)),
    )
    .await
    .unwrap();
    let start = Instant::now();
    let expected: HashSet<String> = qad
        .customers()
        .iter()
        .filter_map(|c| c.email.as_deref().map(str::to_lowercase))
        .collect();
    loop {
        let members: HashSet<String> = mailchimp
            .snapshot()
            .members
            .get("list-orders")
            .map(|m| {
                m.iter()
                    .filter_map(|v| v["email_address"].as_str().map(str::to_lowercase))
                    .collect()
            })
            .unwrap_or_default();
        // The shop's own customer (opted in) is a member too.
        // The lifecycle scan follows the first completed customers run. The orders run counts
        // its QAD write when it finishes, after the write reached the fake.
        let counts = worker.counts();
        if members.is_superset(&expected)
            && qad.attribution("9001").is_some()
            && counts.scans == 1
            && counts.qad_writes == 1
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not synced and attributed in 30 s: {} of {} members, attribution {:?}, {:?}",
            members.intersection(&expected).count(),
            expected.len(),
            qad.attribution("9001"),
            worker.counts()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let counts = worker.shutdown().await;
    assert_eq!(counts.qad_writes, 1, "{counts:?}");
    assert_eq!(counts.pairs_unusable, 0, "{counts:?}");
    assert_eq!(counts.scans_failed, 0, "{counts:?}");
    let record = qad.attribution("9001").unwrap();
    assert_eq!(record["customerCode"], code.as_str());
    assert_eq!(record["storeId"], "store-orders");
    // The tenant answers "Browse … not found" to qad-client's default ids, so the customers
    // above were read through the pair's own browse id.

    // The orders flow commits through the claim's fence: a holder whose claim expired has its
    // next order page refused, and its cursor stays where it was.
    let ttl = Duration::from_secs(1);
    let stale = registry
        .claim(&holder("orders-paused"), ttl, 1)
        .await
        .unwrap()
        .remove(0);
    let fenced = std::sync::Arc::new(registry.fenced_store("pair-orders", &stale).unwrap());
    let before = fenced.cursor(ObjectKind::Orders).await.unwrap();
    let qad_client = qad_client::Client::builder()
        .tenant_url(qad.base_url())
        .credentials(qad_client::Credentials::oauth_password(
            qad.client_id(),
            qad.username(),
            qad.password(),
        ))
        .domain(qad.domain())
        .build()
        .unwrap();
    let orders = sync_core::orders::OrdersSync::new(
        client.clone(),
        qad_client,
        fenced.clone() as std::sync::Arc<dyn StateStore>,
        sync_core::orders::OrdersConfig::new("store-orders", "EUR")
            .attribution_path(qad.attribution_path()),
    );
    order.order_total = "29.99".parse::<Decimal>().unwrap();
    order.updated_at_foreign = Some("2025-03-05T10:00:00+00:00".parse().unwrap());
    store.orders().upsert(&order).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let err = orders
        .run(
            sync_core::RunTrigger::Manual,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SyncError::Lease(LeaseError::ClaimLost { .. })),
        "{err:?}"
    );
    assert_eq!(fenced.cursor(ObjectKind::Orders).await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_writes_consent_back_after_the_customers_run_when_the_pair_has_it() {
    use sync_core::fleet::ConsentPairSettings;
    use testkit::mailchimp::FakeMailchimp;
    use testkit::qad::FakeQad;

    let test = "a_worker_writes_consent_back_after_the_customers_run_when_the_pair_has_it";
    let Some((registry, _)) = registry(test).await else {
        return;
    };
    let key = VaultKey::generate();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut pairs = Vec::new();
    // Two pairs in one account, the same tenant data: only the first writes consent back.
    let mailchimp = FakeMailchimp::builder()
        .api_key(format!("{:032x}-us1", 78))
        .list("list-consent-on")
        .list("list-consent-off")
        .start()
        .await
        .unwrap();
    for (list, enabled) in [("list-consent-on", true), ("list-consent-off", false)] {
        let qad = FakeQad::builder()
            .seeding(fleet_support::seeding(11, 12))
            .start()
            .await
            .unwrap();
        let emails: Vec<(String, String)> = qad
            .customers()
            .into_iter()
            .filter_map(|c| Some((c.customer_code, c.email?.to_lowercase())))
            .collect();
        // Already in the audience: the forward sync's audience read learns their statuses.
        mailchimp
            .seed_member(list, &emails[0].1, "unsubscribed")
            .unwrap();
        mailchimp
            .seed_member(list, &emails[1].1, "cleaned")
            .unwrap();
        let mut config = pair_config(list, &format!("store-{list}"), 5);
        config.sync.member_batch_threshold = 1;
        config.consent = ConsentPairSettings {
            enabled,
            ..ConsentPairSettings::default()
        };
        registry
            .add(
                NewPair {
                    id: format!("pair-{list}-{}", &tag[..8]),
                    account: format!("mc-consent-{}", &tag[..8]),
                    config,
                    credentials: credentials(&mailchimp, &qad),
                },
                &key,
            )
            .await
            .unwrap();
        pairs.push((qad, emails));
    }
    let worker = Worker::start(
        registry.clone(),
        key,
        options("consent", Duration::from_secs(10)),
    )
    .await
    .unwrap();
    let start = Instant::now();
    let (on, off) = (&pairs[0], &pairs[1]);
    while on.0.consents().len() < 2 || worker.counts().runs < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no consent written back in 30 s: {:?}, {:?}",
            on.0.consents(),
            worker.counts()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let counts = worker.shutdown().await;
    let status_of = |code: &str| {
        let records: Vec<_> =
            on.0.consents()
                .into_iter()
                .filter(|r| r["customerCode"] == code)
                .collect();
        assert_eq!(records.len(), 1, "{code}: exactly once: {records:?}");
        records[0]["marketingStatus"].as_str().unwrap().to_owned()
    };
    assert_eq!(status_of(&on.1[0].0), "unsubscribed");
    assert_eq!(status_of(&on.1[1].0), "cleaned");
    assert_eq!(on.0.consents().len(), 2, "{:?}", on.0.consents());
    assert!(off.0.consents().is_empty(), "the pair without [consent]");
    assert_eq!(counts.consent_writes, 2, "{counts:?}");
    assert_eq!(counts.consent_failed, 0, "{counts:?}");
    assert!(counts.consent_passes >= 1, "{counts:?}");
}
