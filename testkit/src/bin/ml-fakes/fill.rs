//! `--fill-mailchimp`: before serving, the audience and the store get every QAD customer the
//! way a connector's first customers run leaves them (a member and an e-commerce customer
//! each), written through the fake's own HTTP API, so the memory the fakes need for N
//! customers can be measured without running a sync first.

use futures::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Map, Value};
use testkit::qad::{Customer, Seeding};

/// What the fill wrote, and the process's resident memory around it.
#[derive(Debug)]
pub(crate) struct Filled {
    pub(crate) members: usize,
    pub(crate) customers: usize,
    pub(crate) rss_before: Option<u64>,
    pub(crate) rss_after: Option<u64>,
}

impl Filled {
    pub(crate) fn to_json(&self) -> Value {
        let per_customer = match (self.rss_before, self.rss_after) {
            (Some(before), Some(after)) if self.customers > 0 => {
                Some(after.saturating_sub(before) / self.customers as u64)
            }
            _ => None,
        };
        json!({
            "members": self.members,
            "customers": self.customers,
            "rss_bytes_before": self.rss_before,
            "rss_bytes_after": self.rss_after,
            "rss_bytes_per_customer": per_customer,
        })
    }
}

/// The resident set size of this process, from `/proc/self/status` (Linux).
pub(crate) fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Where to write: the fake Mailchimp's API and ids.
pub(crate) struct Target<'a> {
    pub(crate) api_url: &'a str,
    pub(crate) api_key: &'a str,
    pub(crate) list_id: &'a str,
    pub(crate) store_id: &'a str,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Batch-subscribes the customers 500 at a time, then `PUT`s the e-commerce customer of each
/// member written, 10 at a time (Mailchimp's connection limit).
pub(crate) async fn fill(target: &Target<'_>, seeding: &Seeding) -> Result<Filled, BoxError> {
    let rss_before = rss_bytes();
    let http = reqwest::Client::new();
    let (mut members, mut customers) = (0, 0);
    let total = seeding.customer_count();
    for start in (0..total).step_by(500) {
        let page: Vec<Customer> = (start..(start + 500).min(total))
            .filter_map(|i| seeding.customer(i))
            .filter(|c| c.email.as_deref().is_some_and(|e| !e.trim().is_empty()))
            .collect();
        let body = json!({
            "members": page.iter().map(member).collect::<Vec<_>>(),
            "update_existing": true,
        });
        let answer: Value = http
            .post(format!("{}/lists/{}", target.api_url, target.list_id))
            .basic_auth("fill", Some(target.api_key))
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let refused: Vec<String> = answer["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["email_address"].as_str().map(str::to_lowercase))
            .collect();
        let written: Vec<&Customer> = page
            .iter()
            .filter(|c| !refused.contains(&email(c).to_lowercase()))
            .collect();
        members += written.len();
        customers += stream::iter(written.into_iter().map(|c| {
            let http = http.clone();
            async move {
                let response = http
                    .put(format!(
                        "{}/ecommerce/stores/{}/customers/{}",
                        target.api_url, target.store_id, c.customer_code
                    ))
                    .basic_auth("fill", Some(target.api_key))
                    .json(&ecommerce_customer(c))
                    .send()
                    .await?;
                // A refused customer (a duplicate address under another id, say) is skipped,
                // as the connector records and skips it.
                Ok::<usize, reqwest::Error>(usize::from(response.status().is_success()))
            }
        }))
        .buffer_unordered(10)
        .try_fold(0, |n, ok| async move { Ok(n + ok) })
        .await?;
    }
    Ok(Filled {
        members,
        customers,
        rss_before,
        rss_after: rss_bytes(),
    })
}

fn email(customer: &Customer) -> String {
    customer.email.clone().unwrap_or_default().trim().to_owned()
}

fn names(customer: &Customer) -> (String, String) {
    let name = customer.address_name.clone().unwrap_or_default();
    match name.trim().split_once(' ') {
        Some((first, last)) => (first.to_owned(), last.trim().to_owned()),
        None => (name.trim().to_owned(), String::new()),
    }
}

/// The batch-subscribe member of the connector's default mapping: `FNAME`/`LNAME` from the
/// name, `ADDRESS` when complete, `PHONE`.
fn member(customer: &Customer) -> Value {
    let (first, last) = names(customer);
    let mut merge = Map::new();
    merge.insert("FNAME".into(), json!(first));
    if !last.is_empty() {
        merge.insert("LNAME".into(), json!(last));
    }
    if let (Some(addr1), Some(city), Some(state), Some(zip)) = (
        &customer.street1,
        &customer.city,
        &customer.state_code,
        &customer.zip_code,
    ) {
        merge.insert(
            "ADDRESS".into(),
            json!({
                "addr1": addr1, "city": city, "state": state, "zip": zip,
                "country": customer.country_code.clone().unwrap_or_default(),
            }),
        );
    }
    if let Some(phone) = &customer.telephone {
        merge.insert("PHONE".into(), json!(phone));
    }
    json!({ "email_address": email(customer), "status": "subscribed", "merge_fields": merge })
}

/// The e-commerce customer of the connector's default mapping.
fn ecommerce_customer(customer: &Customer) -> Value {
    let (first, last) = names(customer);
    json!({
        "id": customer.customer_code,
        "email_address": email(customer),
        "opt_in_status": false,
        "company": customer.address_name,
        "first_name": first,
        "last_name": last,
        "address": {
            "address1": customer.street1,
            "city": customer.city,
            "province_code": customer.state_code,
            "postal_code": customer.zip_code,
            "country_code": customer.country_code,
        },
    })
}
