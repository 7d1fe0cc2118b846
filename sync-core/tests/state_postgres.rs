//! What only the PostgreSQL store has: tenant pairs sharing one database, its migrations, and
//! its connection settings. Everything the two stores share is in the conformance suite
//! (`state_conformance`). Tests that need the server read `ML_CONNECTOR_TEST_POSTGRES_URL` and
//! say they were skipped without it.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chrono::Utc;
use sync_core::audit::{AuditQuery, NewAuditRow, ReplayFilter, RunStart};
use sync_core::state::{LeaseHolder, PostgresOptions, PostgresStateStore};
use sync_core::{
    ContentHash, Cursor, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind, Outcome, RunId,
    RunTrigger, StateBatch, StateError, StateStore, SyncError,
};

const URL_VAR: &str = "ML_CONNECTOR_TEST_POSTGRES_URL";

fn url(test: &str) -> Option<String> {
    let url = std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty());
    if url.is_none() {
        eprintln!("skipped {test}: {URL_VAR} unset");
    }
    url
}

fn fresh_pair(test: &str) -> String {
    format!("test-{test}-{}", uuid::Uuid::new_v4().simple())
}

/// `url` with the connection's search path set to a new, empty schema.
async fn in_fresh_schema(url: &str, test: &str) -> String {
    let schema = format!("t_{}_{}", test, uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    drop(client);
    driver.await.unwrap().unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

fn hash(text: &str) -> ContentHash {
    ContentHash::of_bytes(text.as_bytes())
}

#[tokio::test]
async fn two_pairs_in_one_database_never_see_each_other() {
    let Some(url) = url("two_pairs_in_one_database_never_see_each_other") else {
        return;
    };
    let acme = PostgresStateStore::connect(&url, &fresh_pair("acme"))
        .await
        .unwrap();
    let globex = acme.for_pair(&fresh_pair("globex")).unwrap();
    assert_ne!(acme.pair(), globex.pair());

    let run = RunId::new();
    let failed = NewAuditRow::new(run, ObjectKind::Customers, "C-1", Outcome::Failed);
    let ids = acme
        .apply(
            StateBatch::new()
                .map_id(IdMapping::new(ObjectKind::Members, "C-1", "a@acme.test"))
                .put_hash(ObjectKind::Members, "a@acme.test", hash("a"))
                .remember_member_status(MemberStatusRecord::new(
                    "a@acme.test",
                    MemberStatus::Cleaned,
                    None,
                ))
                .intend_member_status("a@acme.test", MemberStatus::Subscribed)
                .audit(failed)
                .commit_cursor(Cursor::new(
                    ObjectKind::Customers,
                    None,
                    Some("C-1".into()),
                    Some(run),
                ))
                .once_per_delivery("d-1", Utc::now()),
        )
        .await
        .unwrap()
        .audit_ids;
    acme.start_run(&RunStart::new(
        vec![ObjectKind::Customers],
        RunTrigger::Manual,
    ))
    .await
    .unwrap();
    let lease = acme
        .acquire_lease(
            ObjectKind::Customers,
            &LeaseHolder::this_process(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();

    // The other pair sees none of it.
    assert_eq!(
        globex.target_id(ObjectKind::Members, "C-1").await.unwrap(),
        None
    );
    assert!(globex
        .hashes(ObjectKind::Members, &["a@acme.test".into()])
        .await
        .unwrap()
        .is_empty());
    assert!(globex
        .member_statuses(&["a@acme.test".into()])
        .await
        .unwrap()
        .is_empty());
    assert!(globex
        .member_intents(&["a@acme.test".into()])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(globex.cursor(ObjectKind::Customers).await.unwrap(), None);
    assert!(globex
        .query_audit(&AuditQuery::new())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(globex.audit_row(ids[0]).await.unwrap(), None);
    assert!(globex
        .pending_replays(&ReplayFilter::All, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(globex.recent_runs(10).await.unwrap().is_empty());
    assert_eq!(globex.lease(ObjectKind::Customers).await.unwrap(), None);
    assert!(globex.record_delivery("d-1", Utc::now()).await.unwrap());

    // Nor can it touch it: its own lease on the same object has its own tokens, another pair's
    // fencing token fences nothing of it, and another pair's audit row is not there to replay.
    let own = globex
        .acquire_lease(
            ObjectKind::Customers,
            &LeaseHolder::this_process(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(own.token, lease.token);
    let foreign = NewAuditRow::new(RunId::new(), ObjectKind::Customers, "C-1", Outcome::Updated)
        .replay_of(ids[0]);
    assert!(matches!(
        globex.apply(StateBatch::new().audit(foreign)).await,
        Err(SyncError::State(StateError::NotFound { .. }))
    ));
    assert!(matches!(
        globex.mark_resolved(ids[0], ids[0]).await,
        Err(SyncError::State(StateError::NotFound { .. }))
    ));
    assert_eq!(
        acme.pending_replays(&ReplayFilter::All, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn workers_starting_together_migrate_once_to_the_current_version() {
    let Some(url) = url("workers_starting_together_migrate_once_to_the_current_version") else {
        return;
    };
    let url = in_fresh_schema(&url, "migrate").await;
    let starts = (0..6).map(|i| {
        let url = url.clone();
        tokio::spawn(async move {
            PostgresStateStore::connect_with(
                &url,
                &format!("worker-{i}"),
                PostgresOptions::new().max_connections(1),
            )
            .await
        })
    });
    for start in futures::future::join_all(starts).await {
        let store = start.unwrap().unwrap();
        assert_eq!(
            store.database_schema_version().await.unwrap(),
            PostgresStateStore::schema_version()
        );
    }
    // Connecting again changes nothing.
    let store = PostgresStateStore::connect(&url, "again").await.unwrap();
    store
        .apply(StateBatch::new().put_hash(ObjectKind::Members, "m", hash("v1")))
        .await
        .unwrap();
    assert_eq!(
        store.database_schema_version().await.unwrap(),
        PostgresStateStore::schema_version()
    );
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let Some(url) = url("a_database_from_a_newer_build_is_refused") else {
        return;
    };
    let url = in_fresh_schema(&url, "newer").await;
    drop(PostgresStateStore::connect(&url, "p").await.unwrap());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .execute(
            "INSERT INTO state_schema_migrations (version) VALUES ($1)",
            &[&(PostgresStateStore::schema_version() + 1)],
        )
        .await
        .unwrap();
    let err = PostgresStateStore::connect(&url, "p").await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::State(StateError::SchemaTooNew { found, supported })
                if found == PostgresStateStore::schema_version() + 1
                    && supported == PostgresStateStore::schema_version()
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_bad_pair_id_or_url_is_a_configuration_error() {
    for pair in ["", "a\nb", &"p".repeat(201)] {
        let err = PostgresStateStore::connect("postgres://u@127.0.0.1/db", pair)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SyncError::Config { what } if what.contains("tenant pair id")),
            "{err:?}"
        );
    }
    let err = PostgresStateStore::connect("postgres://u@127.0.0.1/db?bogus=1", "p")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SyncError::Config { what } if what.contains("state database URL")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreachable_server_fails_with_a_pool_error_that_names_no_password() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    let err = PostgresStateStore::connect_with(
        "postgres://sync:s3cret-pw@127.0.0.1:9/state",
        "p",
        PostgresOptions::new().connect_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, SyncError::State(StateError::Pool(_))),
        "{err:?}"
    );
    let mut chain = format!("{err:?}");
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    while let Some(e) = source {
        chain.push_str(&e.to_string());
        source = e.source();
    }
    assert!(!chain.contains("s3cret-pw"), "{chain}");
}

#[tokio::test]
async fn debug_shows_the_server_and_pair_but_not_the_credentials() {
    let Some(url) = url("debug_shows_the_server_and_pair_but_not_the_credentials") else {
        return;
    };
    // The test server trusts its clients, so a password in the URL is sent but not needed.
    let mut with_password = url::Url::parse(&url).unwrap();
    with_password.set_password(Some("s3cret-pw")).unwrap();
    let store = PostgresStateStore::connect(with_password.as_str(), "debug-pair")
        .await
        .unwrap();
    let shown = format!("{store:?}");
    assert!(shown.contains("debug-pair"), "{shown}");
    assert!(
        shown.contains(with_password.host_str().unwrap_or_default()),
        "{shown}"
    );
    assert!(!shown.contains("s3cret-pw"), "{shown}");
}

#[tokio::test]
async fn a_url_that_requires_tls_fails_rather_than_connecting_in_clear() {
    let Some(url) = url("a_url_that_requires_tls_fails_rather_than_connecting_in_clear") else {
        return;
    };
    let mut url = url::Url::parse(&url).unwrap();
    url.query_pairs_mut().append_pair("sslmode", "require");
    let err = PostgresStateStore::connect(url.as_str(), "tls")
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::State(StateError::Pool(_))),
        "{err:?}"
    );
}
