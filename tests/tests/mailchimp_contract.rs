//! `mailchimp-client` against `testkit::FakeMailchimp`: account, audiences, members, merge fields,
//! batch subscribe, typed errors and OAuth data-center resolution.
//!
//! The two were written independently; every test asserts on the fake's own record of what happened
//! (its state snapshot and request counters), not only on what the client returns.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration as TimeDelta, Utc};
use futures::TryStreamExt;
use mailchimp_client::{
    BatchErrorCode, BatchMember, Client, Credentials, Error, ListId, MemberStatus, MergeFieldType,
    SubscriberHash,
};
use serde_json::json;
use testkit::FakeMailchimp;

const MEMBER: &str = "/3.0/lists/{list_id}/members/{subscriber_hash}";
const BATCH: &str = "/3.0/lists/{list_id}";

fn list_of(fake: &FakeMailchimp) -> ListId {
    ListId::from(fake.list_id().to_owned())
}

#[tokio::test]
async fn ping_and_account_decode_the_fakes_answers() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;

    assert_eq!(
        client.ping().await.unwrap().health_status,
        "Everything's Chimpy!"
    );
    let account = client.account().await.unwrap();
    assert_eq!(account.account_id, "testkitaccount");
    assert_eq!(account.email, "owner@northwind-mfg.com");
    assert!(account.member_since.is_some(), "member_since decodes");

    let stats = fake.stats();
    assert_eq!(stats.requests("GET", "/3.0/ping"), 1);
    assert_eq!(
        stats.requests("GET", "/3.0/") + stats.requests("GET", "/3.0"),
        1,
        "the account root is one GET of the API root"
    );
}

#[tokio::test]
async fn lists_and_list_get_see_the_fakes_audiences() {
    let fake = FakeMailchimp::builder()
        .list("aud0000001")
        .list("aud0000002")
        .start()
        .await
        .unwrap();
    let client = common::mailchimp(&fake).await;

    let page = client.lists().send().await.unwrap();
    assert_eq!(page.total_items, 2);
    let ids: Vec<&str> = page.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["aud0000001", "aud0000002"]);

    let audience = client
        .list(&ListId::from("aud0000002"))
        .get()
        .send()
        .await
        .unwrap();
    let snapshot = fake.snapshot();
    let expected = snapshot
        .lists
        .iter()
        .find(|l| l["id"] == "aud0000002")
        .unwrap();
    assert_eq!(audience.name, expected["name"].as_str().unwrap());
    assert_eq!(audience.web_id, expected["web_id"].as_u64().unwrap());

    // The spec's filters on GET /lists.
    fake.seed_store("shop-2", "aud0000002", "EUR").unwrap();
    fake.seed_member("aud0000001", "ada@northwind-mfg.com", "subscribed")
        .unwrap();
    let with_store = client
        .lists()
        .has_ecommerce_store(true)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = with_store.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["aud0000002"]);
    let with_ada = client
        .lists()
        .email("ada@northwind-mfg.com")
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = with_ada.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["aud0000001"]);

    let missing = client
        .list(&ListId::from("nosuchlist"))
        .get()
        .send()
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
    assert_eq!(missing.status(), Some(404));
}

#[tokio::test]
async fn member_upsert_get_patch_tags_and_archive_change_the_fakes_state() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let list = list_of(&fake);
    let members = client.list(&list).members();

    // PUT a new member: status_if_new applies.
    let created = members
        .upsert(
            "  Ada.Lovelace@Northwind-mfg.com ",
            MemberStatus::Subscribed,
        )
        .merge_field("FNAME", "Ada")
        .language("en")
        .vip(true)
        .send()
        .await
        .unwrap();
    let hash = SubscriberHash::from_email("ada.lovelace@northwind-mfg.com");
    assert_eq!(created.id.as_ref(), Some(&hash));
    assert_eq!(created.status, Some(MemberStatus::Subscribed));
    let snapshot = fake.snapshot();
    let stored = snapshot
        .member(fake.list_id(), "ada.lovelace@northwind-mfg.com")
        .unwrap();
    assert_eq!(stored["id"], hash.as_str(), "both sides hash the same way");
    assert_eq!(stored["status"], "subscribed");
    assert_eq!(stored["merge_fields"]["FNAME"], "Ada");
    assert_eq!(stored["language"], "en");
    assert_eq!(stored["vip"], true);
    assert_eq!(fake.stats().requests("PUT", MEMBER), 1);

    // PUT again with another status_if_new: an existing member keeps its status.
    let again = members
        .upsert("ada.lovelace@northwind-mfg.com", MemberStatus::Unsubscribed)
        .merge_field("LNAME", "Lovelace")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status, Some(MemberStatus::Subscribed));
    let snapshot = fake.snapshot();
    let stored = snapshot
        .member(fake.list_id(), "ada.lovelace@northwind-mfg.com")
        .unwrap();
    assert_eq!(stored["status"], "subscribed");
    assert_eq!(stored["merge_fields"]["LNAME"], "Lovelace");
    assert_eq!(snapshot.members[fake.list_id()].len(), 1, "no duplicate");

    // GET decodes what the fake stores.
    let got = members.get(&hash).send().await.unwrap();
    assert_eq!(got.email_address, "Ada.Lovelace@Northwind-mfg.com");
    assert_eq!(got.merge_fields["FNAME"], json!("Ada"));
    assert!(got.vip);
    assert_eq!(got.list_id.as_ref(), Some(&list));

    // PATCH changes only what is set.
    let patched = members
        .update(&hash)
        .status(MemberStatus::Unsubscribed)
        .vip(false)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status, Some(MemberStatus::Unsubscribed));
    let snapshot = fake.snapshot();
    let stored = snapshot
        .member(fake.list_id(), "ada.lovelace@northwind-mfg.com")
        .unwrap();
    assert_eq!(stored["status"], "unsubscribed");
    assert_eq!(stored["vip"], false);
    assert_eq!(stored["merge_fields"]["FNAME"], "Ada", "PATCH kept FNAME");
    assert_eq!(fake.stats().requests("PATCH", MEMBER), 1);

    // Tags: activate two, then deactivate one.
    members
        .tags(&hash)
        .activate("customer")
        .activate("qad")
        .send()
        .await
        .unwrap();
    members.tags(&hash).deactivate("qad").send().await.unwrap();
    let snapshot = fake.snapshot();
    let stored = snapshot
        .member(fake.list_id(), "ada.lovelace@northwind-mfg.com")
        .unwrap();
    let tags: Vec<&str> = stored["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["customer"]);
    assert_eq!(
        fake.stats().requests(
            "POST",
            "/3.0/lists/{list_id}/members/{subscriber_hash}/tags"
        ),
        2
    );

    // DELETE archives, it does not remove.
    members.archive(&hash).await.unwrap();
    let snapshot = fake.snapshot();
    let stored = snapshot
        .member(fake.list_id(), "ada.lovelace@northwind-mfg.com")
        .unwrap();
    assert_eq!(stored["status"], "archived");
    assert_eq!(fake.stats().requests("DELETE", MEMBER), 1);

    // Archiving someone who is not there is a typed not-found.
    let err = members
        .archive(&SubscriberHash::from_email("nobody@northwind-mfg.com"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn member_list_filters_and_streams_match_the_fake() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let list = list_of(&fake);
    for n in 0..25 {
        let status = if n % 5 == 0 {
            "unsubscribed"
        } else {
            "subscribed"
        };
        fake.seed_member(
            fake.list_id(),
            &format!("m{n:02}@northwind-mfg.com"),
            status,
        )
        .unwrap();
    }
    fake.seed_member(fake.list_id(), "bounced@northwind-mfg.com", "cleaned")
        .unwrap();

    let unsubscribed = client
        .list(&list)
        .members()
        .list()
        .status(MemberStatus::Unsubscribed)
        .send()
        .await
        .unwrap();
    assert_eq!(unsubscribed.total_items, 5);
    assert!(unsubscribed
        .items
        .iter()
        .all(|m| m.status == Some(MemberStatus::Unsubscribed)));

    // A stream over pages of 7 yields every member once, in the fake's order.
    let all: Vec<_> = client
        .list(&list)
        .members()
        .list()
        .count(7)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let snapshot = fake.snapshot();
    let expected: Vec<&str> = snapshot.members[fake.list_id()]
        .iter()
        .map(|m| m["email_address"].as_str().unwrap())
        .collect();
    let got: Vec<&str> = all.iter().map(|m| m.email_address.as_str()).collect();
    assert_eq!(got, expected);
    assert_eq!(
        fake.stats().requests("GET", "/3.0/lists/{list_id}/members"),
        1 + 4,
        "26 members in pages of 7"
    );

    // since_last_changed is sent in a form the fake parses, and filters.
    let future = client
        .list(&list)
        .members()
        .list()
        .since_last_changed(Utc::now() + TimeDelta::days(1))
        .send()
        .await
        .unwrap();
    assert_eq!(future.total_items, 0);
    let past = client
        .list(&list)
        .members()
        .list()
        .since_last_changed(Utc::now() - TimeDelta::days(1))
        .send()
        .await
        .unwrap();
    assert_eq!(past.total_items, 26);
}

#[tokio::test]
async fn merge_fields_create_and_list() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let list = list_of(&fake);

    let created = client
        .list(&list)
        .merge_fields()
        .create("Customer code", MergeFieldType::Text)
        .tag("QADCODE")
        .help_text("QAD customer code")
        .send()
        .await
        .unwrap();
    assert_eq!(created.tag, "QADCODE");
    assert_eq!(created.kind, Some(MergeFieldType::Text));

    let page = client
        .list(&list)
        .merge_fields()
        .list()
        .send()
        .await
        .unwrap();
    let found = page.items.iter().find(|f| f.tag == "QADCODE").unwrap();
    assert_eq!(found.merge_id, created.merge_id);
    assert_eq!(found.name, "Customer code");
    assert_eq!(
        fake.stats()
            .requests("POST", "/3.0/lists/{list_id}/merge-fields"),
        1
    );

    // The spec's filters on the merge field list.
    client
        .list(&list)
        .merge_fields()
        .create("Birthday", MergeFieldType::Birthday)
        .tag("BDAY")
        .required(true)
        .send()
        .await
        .unwrap();
    let birthdays = client
        .list(&list)
        .merge_fields()
        .list()
        .kind(MergeFieldType::Birthday)
        .send()
        .await
        .unwrap();
    assert!(birthdays
        .items
        .iter()
        .all(|f| f.kind == Some(MergeFieldType::Birthday)));
    assert!(birthdays.items.iter().any(|f| f.tag == "BDAY"));
    assert!(!birthdays.items.iter().any(|f| f.tag == "QADCODE"));
    let required = client
        .list(&list)
        .merge_fields()
        .list()
        .required(true)
        .send()
        .await
        .unwrap();
    assert!(required.items.iter().all(|f| f.required));
    assert!(required.items.iter().any(|f| f.tag == "BDAY"));
    assert!(!required.items.iter().any(|f| f.tag == "QADCODE"));

    // A new member gets the new merge field, as Mailchimp adds it to every member.
    client
        .list(&list)
        .members()
        .upsert("grace@northwind-mfg.com", MemberStatus::Subscribed)
        .merge_field("QADCODE", "C-1")
        .merge_field("BDAY", "12/10")
        .send()
        .await
        .unwrap();
    let snapshot = fake.snapshot();
    assert_eq!(
        snapshot
            .member(fake.list_id(), "grace@northwind-mfg.com")
            .unwrap()["merge_fields"]["QADCODE"],
        "C-1"
    );
}

#[tokio::test]
async fn batch_subscribe_splits_over_500_and_reports_per_member_errors() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let list = list_of(&fake);
    fake.seed_member(fake.list_id(), "bounced@northwind-mfg.com", "cleaned")
        .unwrap();
    // Transactional: a seeded unsubscribe is the member's own, which Mailchimp never lets the
    // API undo.
    fake.seed_member(
        fake.list_id(),
        "existing@northwind-mfg.com",
        "transactional",
    )
    .unwrap();
    fake.forget_email(fake.list_id(), "forgotten@northwind-mfg.com")
        .unwrap();

    let mut batch: Vec<BatchMember> = (0..1200)
        .map(|n| {
            BatchMember::new(
                format!("bulk{n:04}@northwind-mfg.com"),
                MemberStatus::Subscribed,
            )
            .merge_field("FNAME", format!("Bulk {n}"))
        })
        .collect();
    batch.push(BatchMember::new(
        "bounced@northwind-mfg.com",
        MemberStatus::Subscribed,
    ));
    batch.push(BatchMember::new(
        "forgotten@northwind-mfg.com",
        MemberStatus::Subscribed,
    ));
    batch.push(BatchMember::new(
        "existing@northwind-mfg.com",
        MemberStatus::Subscribed,
    ));
    // Passes the client's syntax check, fails the server's validation.
    batch.push(BatchMember::new(
        "nodot@localhost",
        MemberStatus::Subscribed,
    ));

    let report = client
        .list(&list)
        .batch_subscribe(batch)
        .send()
        .await
        .unwrap();

    // 1204 members: calls of 500, 500 and 204, never one the fake refuses for size.
    assert_eq!(fake.stats().requests("POST", BATCH), 3);
    assert_eq!(report.total_created, 1200);
    assert_eq!(report.total_updated, 1);
    assert_eq!(report.error_count, 3);
    assert_eq!(report.new_members.len(), 1200);
    let mut rejected: Vec<&str> = report
        .errors
        .iter()
        .map(|e| e.email_address.as_str())
        .collect();
    rejected.sort_unstable();
    assert_eq!(
        rejected,
        [
            "bounced@northwind-mfg.com",
            "forgotten@northwind-mfg.com",
            "nodot@localhost"
        ]
    );
    let invalid = report
        .errors
        .iter()
        .find(|e| e.email_address == "nodot@localhost")
        .unwrap();
    assert_eq!(invalid.field, "email_address");
    assert!(!invalid.error.is_empty());

    let snapshot = fake.snapshot();
    assert_eq!(
        snapshot
            .member(fake.list_id(), "bulk1199@northwind-mfg.com")
            .unwrap()["merge_fields"]["FNAME"],
        "Bulk 1199"
    );
    assert_eq!(
        snapshot
            .member(fake.list_id(), "bounced@northwind-mfg.com")
            .unwrap()["status"],
        "cleaned",
        "a cleaned member is never re-subscribed"
    );
    assert_eq!(
        snapshot
            .member(fake.list_id(), "existing@northwind-mfg.com")
            .unwrap()["status"],
        "subscribed"
    );
    assert!(snapshot
        .member(fake.list_id(), "forgotten@northwind-mfg.com")
        .is_none());
    // 1200 new + cleaned + existing.
    assert_eq!(snapshot.members[fake.list_id()].len(), 1202);
}

#[tokio::test]
async fn compliance_and_validation_errors_map_to_their_variants() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let members = client.list(&list_of(&fake)).members();
    fake.seed_member(fake.list_id(), "bounced@northwind-mfg.com", "cleaned")
        .unwrap();
    fake.forget_email(fake.list_id(), "forgotten@northwind-mfg.com")
        .unwrap();

    let err = members
        .upsert("bounced@northwind-mfg.com", MemberStatus::Subscribed)
        .status(MemberStatus::Subscribed)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::MemberInCompliance(_)),
        "cleaned → subscribed: {err:?}"
    );
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_retryable());

    let err = members
        .upsert("forgotten@northwind-mfg.com", MemberStatus::Subscribed)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ForgottenEmail(_)),
        "forgotten email: {err:?}"
    );

    let err = members
        .upsert("nodot@localhost", MemberStatus::Subscribed)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidResource(_)),
        "invalid email: {err:?}"
    );
    assert_eq!(err.field_errors().len(), 1);
    assert_eq!(err.field_errors()[0].field, "email_address");

    // A required merge field left out: Invalid Resource naming the merge field by its bare tag,
    // as users report Mailchimp does.
    client
        .list(&list_of(&fake))
        .merge_fields()
        .create("Customer code", MergeFieldType::Text)
        .tag("QADCODE")
        .required(true)
        .send()
        .await
        .unwrap();
    let err = members
        .upsert("new@northwind-mfg.com", MemberStatus::Subscribed)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_invalid_resource(), "{err:?}");
    assert_eq!(err.field_errors()[0].field, "QADCODE");

    // Nothing of the above reached the fake's data; none of it was retried.
    let snapshot = fake.snapshot();
    assert_eq!(
        snapshot
            .member(fake.list_id(), "bounced@northwind-mfg.com")
            .unwrap()["status"],
        "cleaned"
    );
    assert!(snapshot
        .member(fake.list_id(), "new@northwind-mfg.com")
        .is_none());
    assert_eq!(fake.stats().requests("PUT", MEMBER), 4);
}

#[tokio::test]
async fn a_wrong_api_key_is_unauthorized_and_not_retried() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = Client::builder(Credentials::api_key("00000000000000000000000000000000-us1"))
        .base_url(fake.api_url())
        .retry(common::fast_retry())
        .build()
        .await
        .unwrap();

    let err = client.ping().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert_eq!(err.problem().unwrap().title, "API Key Invalid");
    assert!(!format!("{err:?} {err}").contains("00000000000000000000000000000000"));
    assert_eq!(fake.stats().requests("GET", "/3.0/ping"), 1);
}

#[tokio::test]
async fn an_oauth_token_resolves_the_data_center_through_the_fakes_metadata() {
    let fake = FakeMailchimp::builder()
        .data_center("us19")
        .start()
        .await
        .unwrap();
    let client = Client::builder(Credentials::oauth_token(fake.oauth_token().to_owned()))
        .metadata_url(fake.metadata_url())
        .retry(common::fast_retry())
        .build()
        .await
        .unwrap();

    // The fake's `api_endpoint` points at itself: the client now talks to it, with Bearer auth.
    assert_eq!(
        client.base_url().as_str().trim_end_matches('/'),
        fake.api_url()
    );
    assert_eq!(fake.stats().requests("GET", "/oauth2/metadata"), 1);
    client.ping().await.unwrap();
    assert_eq!(fake.stats().requests("GET", "/3.0/ping"), 1);
    assert_eq!(
        fake.peak_concurrency_for(fake.oauth_token()),
        1,
        "the ping was made with the token"
    );

    // A token the fake does not know: a typed lookup error, no client.
    let err = Client::builder(Credentials::oauth_token("not-a-real-token"))
        .metadata_url(fake.metadata_url())
        .retry(common::fast_retry())
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DataCenterLookup { .. }), "{err:?}");
}

#[tokio::test]
async fn partial_responses_from_fields_and_exclude_fields_still_decode_and_page() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    let list = list_of(&fake);
    for n in 0..12 {
        fake.seed_member(
            fake.list_id(),
            &format!("p{n:02}@northwind-mfg.com"),
            "subscribed",
        )
        .unwrap();
    }
    let members = client.list(&list).members();

    // Only the email: every other field of the model is optional.
    let member = members
        .get(&SubscriberHash::from_email("p03@northwind-mfg.com"))
        .fields(["email_address"])
        .send()
        .await
        .unwrap();
    assert_eq!(member.email_address, "p03@northwind-mfg.com");
    assert_eq!(member.status, None);

    // A stream with a field selection still learns total_items, so it stops on time.
    let emails: Vec<String> = members
        .list()
        .fields(["members.email_address"])
        .count(5)
        .into_stream()
        .map_ok(|m| m.email_address)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(emails.len(), 12);
    assert_eq!(emails[11], "p11@northwind-mfg.com");
    assert_eq!(
        fake.stats().requests("GET", "/3.0/lists/{list_id}/members"),
        3,
        "pages at offsets 0, 5 and 10, no extra empty page"
    );

    // Excluding total_items is undone by the client, which needs it to page.
    let page = members
        .list()
        .exclude_fields(["total_items", "members.merge_fields"])
        .send()
        .await
        .unwrap();
    assert_eq!(page.total_items, 12);
    assert!(page.items[0].merge_fields.is_empty());

    let audience = client
        .list(&list)
        .get()
        .fields(["id", "name"])
        .send()
        .await
        .unwrap();
    assert_eq!(audience.id, list);
}

#[tokio::test]
async fn batch_subscribe_without_update_existing_reports_contact_exists() {
    let fake = FakeMailchimp::start().await.unwrap();
    let client = common::mailchimp(&fake).await;
    fake.seed_member(fake.list_id(), "existing@northwind-mfg.com", "unsubscribed")
        .unwrap();

    let report = client
        .list(&list_of(&fake))
        .batch_subscribe(vec![
            BatchMember::new("existing@northwind-mfg.com", MemberStatus::Subscribed),
            BatchMember::new("fresh@northwind-mfg.com", MemberStatus::Pending),
        ])
        .update_existing(false)
        .send()
        .await
        .unwrap();
    assert_eq!((report.total_created, report.total_updated), (1, 0));
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].email_address, "existing@northwind-mfg.com");
    assert_eq!(report.errors[0].error_code, BatchErrorCode::ContactExists);
    let snapshot = fake.snapshot();
    assert_eq!(
        snapshot
            .member(fake.list_id(), "existing@northwind-mfg.com")
            .unwrap()["status"],
        "unsubscribed",
        "left alone"
    );
    assert_eq!(
        snapshot
            .member(fake.list_id(), "fresh@northwind-mfg.com")
            .unwrap()["status"],
        "pending"
    );
}

#[tokio::test]
async fn the_oauth_metadata_lookup_is_retried_through_faults() {
    let fake = FakeMailchimp::builder().seed(1).start().await.unwrap();
    fake.faults()
        .set_route(
            reqwest::Method::GET,
            "/oauth2/metadata",
            testkit::FaultConfig::none().service_unavailable(0.5),
        )
        .unwrap();
    let mut built = 0;
    for _ in 0..10 {
        let client = Client::builder(Credentials::oauth_token(fake.oauth_token().to_owned()))
            .metadata_url(fake.metadata_url())
            .retry(common::fast_retry().with_max_attempts(10))
            .build()
            .await
            .unwrap();
        assert_eq!(
            client.base_url().as_str().trim_end_matches('/'),
            fake.api_url()
        );
        built += 1;
    }
    let injected = fake.faults().injected().len() as u64;
    assert!(injected > 0);
    assert_eq!(
        fake.stats().requests("GET", "/oauth2/metadata"),
        built + injected
    );
}

#[tokio::test]
async fn a_stream_with_the_default_page_size_reads_2100_members_in_three_requests() {
    let fake = FakeMailchimp::start().await.unwrap();
    for n in 0..2100 {
        fake.seed_member(
            fake.list_id(),
            &format!("s{n:04}@northwind-mfg.com"),
            "subscribed",
        )
        .unwrap();
    }
    let client = common::mailchimp(&fake).await;
    let members: Vec<_> = client
        .list(&list_of(&fake))
        .members()
        .list()
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members.len(), 2100);
    let mut hashes: Vec<_> = members.iter().filter_map(|m| m.id.clone()).collect();
    hashes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    hashes.dedup();
    assert_eq!(hashes.len(), 2100, "each member exactly once");
    assert_eq!(
        fake.stats().requests("GET", "/3.0/lists/{list_id}/members"),
        3,
        "count 1000, the most the API allows"
    );
}
