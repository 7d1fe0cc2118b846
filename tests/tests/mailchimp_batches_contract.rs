//! The Mailchimp client's newer endpoints against the fake: batch operations end to end (start, wait
//! bounded by progress, results from the archive), interest categories, one merge field, and the
//! permanent member delete.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use mailchimp_client::{
    BatchOperation, BatchStatus, BatchWait, Error, InterestCategoryId, ListId, MergeFieldType,
    SubscriberHash,
};
use serde_json::json;
use testkit::FakeMailchimp;

#[tokio::test]
async fn a_batch_runs_and_its_results_come_back_typed() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let list = fake.list_id();
    let emails = ["one@northwind-mfg.com", "two@acme-industrial.com"];
    let mut ops: Vec<BatchOperation> = emails
        .iter()
        .map(|email| {
            BatchOperation::put(format!(
                "/lists/{list}/members/{}",
                SubscriberHash::from_email(email)
            ))
            .json_body(&json!({"email_address": email, "status_if_new": "subscribed"}))
            .unwrap()
            .operation_id(*email)
        })
        .collect();
    ops.push(BatchOperation::get("/lists/not-an-audience").operation_id("missing"));
    let batches = client.batches();
    let started = batches.start(ops).await.unwrap();
    assert_eq!(started.total_operations, 3);
    let done = batches
        .wait(
            &started.id,
            BatchWait::new()
                .poll_interval(Duration::from_millis(10))
                .stall_timeout(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    assert_eq!(done.status, BatchStatus::Finished);
    assert_eq!((done.finished_operations, done.errored_operations), (3, 1));
    let mut results = batches.results(&done.id).await.unwrap();
    results.sort_by(|a, b| a.operation_id.cmp(&b.operation_id));
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].operation_id.as_deref(), Some("missing"));
    assert_eq!(results[0].status_code, 404);
    assert_eq!(results[0].response["title"], "Resource Not Found");
    assert!(results[1..].iter().all(|r| r.is_success()));
    assert_eq!(results[1].response["email_address"], emails[0]);
    for email in emails {
        assert_eq!(
            fake.snapshot().member(list, email).unwrap()["status"],
            "subscribed"
        );
    }
    batches.delete(&done.id).await.unwrap();
    assert!(batches.get(&done.id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn interests_merge_fields_and_permanent_delete_against_the_fake() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let list = ListId::from(fake.list_id());
    let http = reqwest::Client::new();
    let category: serde_json::Value = http
        .post(format!(
            "{}/lists/{list}/interest-categories",
            fake.api_url()
        ))
        .basic_auth("x", Some(fake.api_key()))
        .json(&json!({"title": "Product lines", "type": "checkboxes"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let category_id = InterestCategoryId::from(category["id"].as_str().unwrap());
    http.post(format!(
        "{}/lists/{list}/interest-categories/{category_id}/interests",
        fake.api_url()
    ))
    .basic_auth("x", Some(fake.api_key()))
    .json(&json!({"name": "Pumps"}))
    .send()
    .await
    .unwrap();

    let categories = client.list(&list).interest_categories();
    let page = categories.list().send().await.unwrap();
    assert_eq!(page.items[0].title, "Product lines");
    assert_eq!(
        categories.get(&category_id).await.unwrap().kind,
        "checkboxes"
    );
    let interests = categories
        .interests(&category_id)
        .list()
        .send()
        .await
        .unwrap();
    assert_eq!(interests.items[0].name, "Pumps");
    let one = categories
        .interests(&category_id)
        .get(&interests.items[0].id)
        .await
        .unwrap();
    assert_eq!(one.category_id, Some(category_id));

    let fields = client.list(&list).merge_fields();
    let field = fields
        .create("Plant", MergeFieldType::Text)
        .tag("PLANT")
        .send()
        .await
        .unwrap();
    let updated = fields
        .update(field.merge_id, "Plant code")
        .help_text("From QAD")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.name, "Plant code");
    assert_eq!(
        fields.get(field.merge_id).await.unwrap().help_text,
        "From QAD"
    );
    fields.delete(field.merge_id).await.unwrap();
    assert!(fields.get(field.merge_id).await.unwrap_err().is_not_found());

    let email = "forget.me@contoso-parts.de";
    let members = client.list(&list).members();
    members
        .upsert(email, mailchimp_client::MemberStatus::Subscribed)
        .send()
        .await
        .unwrap();
    members
        .delete_permanent(&SubscriberHash::from_email(email))
        .await
        .unwrap();
    let again = members
        .upsert(email, mailchimp_client::MemberStatus::Subscribed)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(again, Error::ForgottenEmail(_)), "{again:?}");
}
