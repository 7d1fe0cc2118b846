//! Fake QAD seeding over plain HTTP: determinism, the configured shares, and reset.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use testkit::qad::{FakeQad, Seeding};

/// Every row of a browse, paged through HTTP.
async fn all_rows(qad: &FakeQad, browse_id: &str) -> Vec<Value> {
    let http = Client::new();
    let mut rows = Vec::new();
    for page in 1.. {
        let body: Value = http
            .get(format!("{}/api/qracore/browses", qad.base_url()))
            .basic_auth(qad.username(), Some(qad.password()))
            .query(&[
                ("browseId", browse_id),
                ("page", &page.to_string()),
                ("pageSize", "25"),
                ("pageAction", if page == 1 { "first" } else { "next" }),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        rows.extend(body["data"].as_array().unwrap().iter().cloned());
        if body["auxillaryData"]["HasMoreParams"] == "false" {
            break;
        }
    }
    rows
}

async fn everything(qad: &FakeQad) -> Vec<Vec<Value>> {
    let ids = qad.browse_ids().clone();
    let mut all = Vec::new();
    for id in [
        &ids.customers,
        &ids.items,
        &ids.sales_orders,
        &ids.sales_order_lines,
    ] {
        all.push(all_rows(qad, id).await);
    }
    all
}

fn seeding(seed: u64) -> Seeding {
    Seeding::new(seed).customers(120).items(30).sales_orders(40)
}

#[tokio::test]
async fn the_same_seed_serves_the_same_data() {
    let a = FakeQad::builder()
        .seeding(seeding(11))
        .start()
        .await
        .unwrap();
    let b = FakeQad::builder()
        .seeding(seeding(11))
        .start()
        .await
        .unwrap();
    let c = FakeQad::builder()
        .seeding(seeding(12))
        .start()
        .await
        .unwrap();
    let from_a = everything(&a).await;
    assert_eq!(from_a[0].len(), 120);
    assert_eq!(from_a[1].len(), 30);
    assert_eq!(from_a[2].len(), 40);
    assert_eq!(from_a, everything(&b).await);
    assert_ne!(from_a, everything(&c).await);
}

fn valid(email: &str) -> bool {
    email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !local.contains(' ') && domain.contains('.') && !domain.contains('@')
    })
}

#[tokio::test]
async fn shares_of_awkward_customers_are_exact() {
    let qad = FakeQad::builder()
        .seeding(
            Seeding::new(21)
                .customers(200)
                .invalid_email_share(0.1)
                .duplicate_email_share(0.05)
                .unicode_name_share(0.2)
                .missing_field_share(0.0),
        )
        .start()
        .await
        .unwrap();
    let rows = all_rows(&qad, &qad.browse_ids().customers.clone()).await;
    let emails: Vec<&str> = rows
        .iter()
        .map(|r| r["customer.EMail"].as_str().unwrap())
        .collect();
    assert_eq!(emails.iter().filter(|e| !valid(e)).count(), 20);
    let mut seen = HashSet::new();
    let repeats = emails
        .iter()
        .filter(|e| valid(e))
        .filter(|e| !seen.insert(e.to_lowercase()))
        .count();
    assert_eq!(repeats, 10);
    let unicode = rows
        .iter()
        .filter(|r| !r["customer.addressName"].as_str().unwrap().is_ascii())
        .count();
    assert_eq!(unicode, 40);
}

#[tokio::test]
async fn some_orders_carry_a_customer_po() {
    let qad = FakeQad::builder()
        .seeding(Seeding::new(5).sales_orders(20).customer_po_share(0.25))
        .start()
        .await
        .unwrap();
    let rows = all_rows(&qad, &qad.browse_ids().sales_orders.clone()).await;
    let with_po = rows
        .iter()
        .filter(|r| r["salesOrder.customerPO"] != "")
        .count();
    assert_eq!(with_po, 5);
}

#[tokio::test]
async fn reset_restores_the_seeded_state() {
    let qad = FakeQad::builder()
        .seeding(seeding(3))
        .start()
        .await
        .unwrap();
    let before = everything(&qad).await;
    let seeded = qad.customers();

    qad.update_customer("C0000001", |c| c.city = Some("Elsewhere".into()));
    let posted = Client::new()
        .post(format!("{}/{}", qad.base_url(), qad.attribution_path()))
        .basic_auth(qad.username(), Some(qad.password()))
        .json(&json!([{"orderId": "1"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED);
    let login = Client::new()
        .post(format!("{}/oauth/token", qad.base_url()))
        .form(&[
            ("client_id", qad.client_id()),
            ("grant_type", "password"),
            ("username", qad.username()),
            ("password", qad.password()),
        ])
        .send()
        .await
        .unwrap();
    let token: Value = login.json().await.unwrap();
    assert_ne!(qad.customers(), seeded);

    qad.reset();
    assert_eq!(qad.customers(), seeded);
    assert!(qad.attributions().is_empty());
    assert_eq!(qad.logins().token_grants, 0);
    assert_eq!(qad.stats().total(), 0);
    // Tokens issued before the reset are gone.
    let refused = Client::new()
        .get(format!("{}/api/erp/items", qad.base_url()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(everything(&qad).await, before);
}
