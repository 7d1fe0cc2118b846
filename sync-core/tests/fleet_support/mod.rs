//! Shared setup of the fleet tests: a fresh PostgreSQL schema, fake Mailchimp accounts with
//! one audience per pair, one fake QAD tenant per pair, and the pairs registered.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use sync_core::config::{StoreConfig, SyncConfig};
use sync_core::fleet::{NewPair, ObjectCadence, PairConfig, PairRegistry};
use sync_core::vault::{Credentials, MailchimpCredentials, QadAuthKind, QadCredentials, VaultKey};
use sync_core::ObjectKind;
use testkit::mailchimp::FakeMailchimp;
use testkit::qad::{FakeQad, Seeding};

pub const URL_VAR: &str = "ML_CONNECTOR_TEST_POSTGRES_URL";

pub fn url(test: &str) -> Option<String> {
    let url = std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty());
    if url.is_none() {
        eprintln!("skipped {test}: {URL_VAR} unset");
    }
    url
}

/// `url` with the connection's search path set to a new, empty schema.
pub async fn in_fresh_schema(url: &str, test: &str) -> String {
    // PostgreSQL cuts names at 63 bytes: keep the test's part short.
    let short: String = test.chars().take(24).collect();
    let schema = format!("f_{short}_{}", uuid::Uuid::new_v4().simple());
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

/// One fake Mailchimp account holding the audiences of several pairs.
pub struct Account {
    pub name: String,
    pub fake: FakeMailchimp,
}

/// One tenant pair: its QAD fake and its audience in its account.
pub struct Pair {
    pub id: String,
    pub account: usize,
    pub list: String,
    pub qad: FakeQad,
}

pub struct Fleet {
    pub accounts: Vec<Account>,
    pub pairs: Vec<Pair>,
    pub key: VaultKey,
}

pub fn seeding(seed: u64, customers: usize) -> Seeding {
    Seeding::new(seed)
        .customers(customers)
        .items(0)
        .sales_orders(0)
        .invalid_email_share(0.0)
        .duplicate_email_share(0.0)
        .missing_field_share(0.0)
}

pub fn pair_config(list: &str, store: &str, page_size: u32) -> PairConfig {
    let mut sync = SyncConfig::new(list).with_store(StoreConfig::new(store, "Fleet store", "EUR"));
    sync.page_size = page_size;
    PairConfig::new(sync).with_object(ObjectCadence::new(
        ObjectKind::Customers,
        Duration::from_secs(3600),
    ))
}

pub fn credentials(account: &FakeMailchimp, qad: &FakeQad) -> Credentials {
    Credentials {
        mailchimp: Some(
            MailchimpCredentials::api_key(account.api_key())
                .with_base_url(url::Url::parse(&account.api_url()).unwrap()),
        ),
        qad: Some(
            QadCredentials::new(
                url::Url::parse(&qad.base_url()).unwrap(),
                QadAuthKind::OAuthPassword,
                qad.username(),
                qad.password(),
                qad.domain(),
            )
            .with_client_id(qad.client_id()),
        ),
        webhook: None,
    }
}

impl Fleet {
    /// `accounts` fake accounts with `pairs_per_account` pairs each, every pair with
    /// `customers` customers, registered in `registry`.
    pub async fn start(
        registry: &PairRegistry,
        accounts: usize,
        pairs_per_account: usize,
        customers: usize,
        page_size: u32,
    ) -> Self {
        let key = VaultKey::generate();
        let mut fleet = Fleet {
            accounts: Vec::new(),
            pairs: Vec::new(),
            key,
        };
        let tag = uuid::Uuid::new_v4().simple().to_string();
        for a in 0..accounts {
            let mut builder = FakeMailchimp::builder().api_key(format!("{:032x}-us1", a + 1));
            let lists: Vec<String> = (0..pairs_per_account)
                .map(|p| format!("list-{a}-{p}"))
                .collect();
            for list in &lists {
                builder = builder.list(list.clone());
            }
            let fake = builder.start().await.unwrap();
            let name = format!("mc-{}-{a}", &tag[..8]);
            for (p, list) in lists.into_iter().enumerate() {
                let qad = FakeQad::builder()
                    .seeding(seeding((a * 100 + p) as u64, customers))
                    .start()
                    .await
                    .unwrap();
                let id = format!("pair-{}-{a}-{p}", &tag[..8]);
                registry
                    .add(
                        NewPair {
                            id: id.clone(),
                            account: name.clone(),
                            config: pair_config(&list, &format!("store-{a}-{p}"), page_size),
                            credentials: credentials(&fake, &qad),
                        },
                        &fleet.key,
                    )
                    .await
                    .unwrap();
                fleet.pairs.push(Pair {
                    id,
                    account: a,
                    list,
                    qad,
                });
            }
            fleet.accounts.push(Account { name, fake });
        }
        fleet
    }

    /// Whether every pair's audience holds exactly its QAD customers' emails.
    pub fn all_synced(&self) -> bool {
        self.pairs.iter().all(|p| self.pair_synced(p))
    }

    pub fn pair_synced(&self, pair: &Pair) -> bool {
        let snapshot = self.accounts[pair.account].fake.snapshot();
        let members: Vec<String> = snapshot
            .members
            .get(&pair.list)
            .map(|m| {
                m.iter()
                    .filter_map(|v| v["email_address"].as_str().map(str::to_lowercase))
                    .collect()
            })
            .unwrap_or_default();
        // The store's customers too: a page's customers are written after its members, so the
        // members alone can be complete while the last customers are still in flight.
        let store = format!("store-{}", pair.list.trim_start_matches("list-"));
        let customers = snapshot.customers.get(&store).map_or(0, Vec::len);
        members.len() == pair.qad.customers().len()
            && expected_emails(pair) == set(&members)
            && customers == pair.qad.customers().len()
    }

    /// Waits until every pair is synced, up to `timeout`.
    pub async fn wait_synced(&self, timeout: Duration) -> Duration {
        let start = Instant::now();
        while !self.all_synced() {
            assert!(
                start.elapsed() < timeout,
                "not every pair synced within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        start.elapsed()
    }

    /// The exact end state: every audience holds each QAD customer's email exactly once,
    /// and each store holds each customer exactly once.
    pub fn assert_exact(&self) {
        for pair in &self.pairs {
            let snapshot = self.accounts[pair.account].fake.snapshot();
            let members: Vec<String> = snapshot.members[&pair.list]
                .iter()
                .map(|v| v["email_address"].as_str().unwrap().to_lowercase())
                .collect();
            assert_eq!(
                members.len(),
                set(&members).len(),
                "{}: duplicate members",
                pair.id
            );
            assert_eq!(set(&members), expected_emails(pair), "{}: members", pair.id);
            let store = format!("store-{}", pair.list.trim_start_matches("list-"));
            let customers: Vec<String> = snapshot.customers[&store]
                .iter()
                .map(|v| v["id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                customers.len(),
                set(&customers).len(),
                "{}: duplicate customers",
                pair.id
            );
            assert_eq!(
                customers.len(),
                pair.qad.customers().len(),
                "{}: customers",
                pair.id
            );
        }
    }
}

fn expected_emails(pair: &Pair) -> BTreeSet<String> {
    pair.qad
        .customers()
        .iter()
        .filter_map(|c| c.email.as_deref().map(str::to_lowercase))
        .collect()
}

fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}
