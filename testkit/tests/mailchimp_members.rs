//! Audiences and members: upsert semantics, compliance rules, archive, delete, tags, merge fields.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use mailchimp_support::{Api, Reply};
use serde_json::json;
use testkit::mailchimp::subscriber_hash;

fn member_path(list: &str, email: &str) -> String {
    format!("/lists/{list}/members/{}", subscriber_hash(email))
}

#[tokio::test]
async fn put_creates_with_status_if_new_and_never_applies_it_to_existing_members() {
    let api = Api::start().await;
    let list = api.list();
    let path = member_path(&list, "Ann@Northwind-mfg.com");
    let created = api
        .put(
            &path,
            json!({"email_address": "Ann@Northwind-mfg.com", "status_if_new": "pending", "merge_fields": {"FNAME": "Ann"}}),
        )
        .await;
    let member = created.ok();
    assert_eq!(member["status"], "pending");
    assert_eq!(member["id"], subscriber_hash("ann@northwind-mfg.com"));
    assert_eq!(member["list_id"], list.as_str());
    assert_eq!(member["merge_fields"]["FNAME"], "Ann");
    assert_eq!(member["full_name"], "Ann");

    // status_if_new is ignored for an existing member; other fields update, untouched ones stay.
    let updated = api
        .put(
            &path,
            json!({"email_address": "ann@northwind-mfg.com", "status_if_new": "subscribed", "merge_fields": {"LNAME": "Lee"}}),
        )
        .await;
    let member = updated.ok();
    assert_eq!(member["status"], "pending");
    assert_eq!(member["merge_fields"]["FNAME"], "Ann");
    assert_eq!(member["merge_fields"]["LNAME"], "Lee");

    // status applies to existing members.
    let subscribed = api.put(&path, json!({"status": "subscribed"})).await;
    assert_eq!(subscribed.ok()["status"], "subscribed");
    let snapshot = api.fake.snapshot();
    assert_eq!(snapshot.members[&list].len(), 1);
}

#[tokio::test]
async fn put_of_a_new_member_needs_email_and_status() {
    let api = Api::start().await;
    let list = api.list();
    let path = member_path(&list, "new@northwind-mfg.com");
    let reply = api.put(&path, json!({"status_if_new": "subscribed"})).await;
    let doc = reply.problem(400, "Invalid Resource");
    assert_eq!(doc["errors"][0]["field"], "email_address");
    let reply = api
        .put(&path, json!({"email_address": "new@northwind-mfg.com"}))
        .await;
    let doc = reply.problem(400, "Invalid Resource");
    assert_eq!(doc["errors"][0]["field"], "status_if_new");
    let reply = api
        .put(
            &path,
            json!({"email_address": "other@northwind-mfg.com", "status_if_new": "subscribed"}),
        )
        .await;
    reply.problem(400, "Invalid Resource");
    let reply = api
        .put(
            &path,
            json!({"email_address": "new@northwind-mfg.com", "status_if_new": "archived"}),
        )
        .await;
    assert_eq!(
        reply.problem(400, "Invalid Resource")["errors"][0]["field"],
        "status_if_new"
    );
}

#[tokio::test]
async fn the_path_accepts_an_email_instead_of_the_hash() {
    let api = Api::start().await;
    let list = api.list();
    api.put(
        &format!("/lists/{list}/members/Bob@northwind-mfg.com"),
        json!({"email_address": "bob@northwind-mfg.com", "status_if_new": "subscribed"}),
    )
    .await
    .ok();
    let by_hash = api.get(&member_path(&list, "bob@northwind-mfg.com")).await;
    assert_eq!(by_hash.ok()["email_address"], "bob@northwind-mfg.com");
}

#[tokio::test]
async fn invalid_emails_are_invalid_resource_with_errors() {
    let api = Api::start().await;
    let list = api.list();
    for email in ["not-an-email", "a@b", "spaces in@northwind-mfg.com"] {
        let reply = api
            .post(
                &format!("/lists/{list}/members"),
                json!({"email_address": email, "status": "subscribed"}),
            )
            .await;
        let doc = reply.problem(400, "Invalid Resource");
        assert_eq!(doc["errors"][0]["field"], "email_address", "{email}");
        assert!(doc["errors"][0]["message"].is_string());
    }
    assert!(api.fake.snapshot().members[&list].is_empty());
}

#[tokio::test]
async fn a_cleaned_member_cannot_be_resubscribed() {
    let api = Api::start().await;
    let list = api.list();
    api.fake
        .seed_member(&list, "bounced@northwind-mfg.com", "cleaned")
        .unwrap();
    let path = member_path(&list, "bounced@northwind-mfg.com");
    for status in ["subscribed", "pending"] {
        let put = api
            .put(&path, json!({"email_address": "bounced@northwind-mfg.com", "status": status, "status_if_new": status}))
            .await;
        let doc = put.problem(400, "Member In Compliance State");
        assert!(doc["detail"]
            .as_str()
            .unwrap()
            .contains("bounced@northwind-mfg.com"));
        api.patch(&path, json!({"status": status}))
            .await
            .problem(400, "Member In Compliance State");
    }
    // status_if_new alone does not touch an existing cleaned member: allowed, stays cleaned.
    let put = api
        .put(
            &path,
            json!({"email_address": "bounced@northwind-mfg.com", "status_if_new": "subscribed"}),
        )
        .await;
    assert_eq!(put.ok()["status"], "cleaned");
    // Unsubscribing is allowed.
    let patch = api.patch(&path, json!({"status": "unsubscribed"})).await;
    assert_eq!(patch.ok()["status"], "unsubscribed");
}

#[tokio::test]
async fn forgotten_emails_cannot_be_re_added() {
    let api = Api::start().await;
    let list = api.list();
    api.fake
        .forget_email(&list, "gone@northwind-mfg.com")
        .unwrap();
    let reply = api
        .put(
            &member_path(&list, "gone@northwind-mfg.com"),
            json!({"email_address": "gone@northwind-mfg.com", "status_if_new": "subscribed"}),
        )
        .await;
    reply.problem(400, "Forgotten Email Not Subscribed");
    let reply = api
        .post(
            &format!("/lists/{list}/members"),
            json!({"email_address": "gone@northwind-mfg.com", "status": "subscribed"}),
        )
        .await;
    reply.problem(400, "Forgotten Email Not Subscribed");
}

#[tokio::test]
async fn delete_permanent_forgets_the_email() {
    let api = Api::start().await;
    let list = api.list();
    let path = member_path(&list, "temp@northwind-mfg.com");
    api.put(
        &path,
        json!({"email_address": "temp@northwind-mfg.com", "status_if_new": "subscribed"}),
    )
    .await
    .ok();
    let deleted = api
        .post(&format!("{path}/actions/delete-permanent"), json!({}))
        .await;
    assert_eq!(deleted.status, 204);
    api.get(&path).await.problem(404, "Resource Not Found");
    assert_eq!(
        api.fake.snapshot().forgotten[&list],
        vec![subscriber_hash("temp@northwind-mfg.com")]
    );
    api.put(
        &path,
        json!({"email_address": "temp@northwind-mfg.com", "status_if_new": "subscribed"}),
    )
    .await
    .problem(400, "Forgotten Email Not Subscribed");
}

#[tokio::test]
async fn post_creates_once_then_says_member_exists() {
    let api = Api::start().await;
    let list = api.list();
    let body = json!({"email_address": "dup@northwind-mfg.com", "status": "subscribed", "tags": ["vip", "wholesale"]});
    let created = api
        .post(&format!("/lists/{list}/members"), body.clone())
        .await;
    let member = created.ok();
    assert_eq!(member["tags_count"], 2);
    assert_eq!(member["tags"][0]["name"], "vip");
    let again = api.post(&format!("/lists/{list}/members"), body).await;
    again.problem(400, "Member Exists");
    api.post(
        &format!("/lists/{list}/members"),
        json!({"email_address": "x@northwind-mfg.com"}),
    )
    .await
    .problem(400, "Invalid Resource");
}

#[tokio::test]
async fn patch_updates_existing_members_only_and_can_change_the_email() {
    let api = Api::start().await;
    let list = api.list();
    api.patch(
        &member_path(&list, "nobody@northwind-mfg.com"),
        json!({"status": "subscribed"}),
    )
    .await
    .problem(404, "Resource Not Found");
    let path = member_path(&list, "old@northwind-mfg.com");
    api.put(
        &path,
        json!({"email_address": "old@northwind-mfg.com", "status_if_new": "subscribed"}),
    )
    .await
    .ok();
    api.patch(&path, json!({"status": "transactional"}))
        .await
        .problem(400, "Invalid Resource");
    let moved = api
        .patch(
            &path,
            json!({"email_address": "new@northwind-mfg.com", "vip": true}),
        )
        .await;
    let member = moved.ok();
    assert_eq!(member["id"], subscriber_hash("new@northwind-mfg.com"));
    assert_eq!(member["vip"], true);
    api.get(&path).await.problem(404, "Resource Not Found");
    api.get(&member_path(&list, "new@northwind-mfg.com"))
        .await
        .ok();
}

#[tokio::test]
async fn delete_archives_and_put_brings_the_member_back() {
    let api = Api::start().await;
    let list = api.list();
    let path = member_path(&list, "arch@northwind-mfg.com");
    let first = api
        .put(
            &path,
            json!({"email_address": "arch@northwind-mfg.com", "status_if_new": "subscribed"}),
        )
        .await;
    let unique_id = first.ok()["unique_email_id"].clone();
    assert_eq!(api.delete(&path).await.status, 204);
    assert_eq!(api.get(&path).await.ok()["status"], "archived");
    let listed = api.get(&format!("/lists/{list}/members")).await;
    assert_eq!(listed.ok()["total_items"], 0);
    let archived = api
        .get(&format!("/lists/{list}/members?status=archived"))
        .await;
    assert_eq!(archived.ok()["total_items"], 1);
    api.delete(&path).await.problem(404, "Resource Not Found");

    // An archived member is re-added by PUT: status_if_new applies, ids are kept.
    let back = api
        .put(
            &path,
            json!({"email_address": "arch@northwind-mfg.com", "status_if_new": "pending"}),
        )
        .await;
    assert_eq!(back.ok()["status"], "pending");
    assert_eq!(back.ok()["unique_email_id"], unique_id);
}

#[tokio::test]
async fn tags_are_added_removed_and_listed() {
    let api = Api::start().await;
    let list = api.list();
    let path = member_path(&list, "tagged@northwind-mfg.com");
    api.put(
        &path,
        json!({"email_address": "tagged@northwind-mfg.com", "status_if_new": "subscribed"}),
    )
    .await
    .ok();
    let added = api
        .post(
            &format!("{path}/tags"),
            json!({"tags": [{"name": "a", "status": "active"}, {"name": "b", "status": "active"}]}),
        )
        .await;
    assert_eq!(added.status, 204);
    let removed = api
        .post(
            &format!("{path}/tags"),
            json!({"tags": [{"name": "a", "status": "inactive"}]}),
        )
        .await;
    assert_eq!(removed.status, 204);
    let tags = api.get(&format!("{path}/tags")).await;
    let tags = tags.ok();
    assert_eq!(tags["total_items"], 1);
    assert_eq!(tags["tags"][0]["name"], "b");
    assert!(tags["tags"][0]["date_added"].as_str().unwrap().len() > 10);
    assert_eq!(api.get(&path).await.ok()["tags_count"], 1);
    api.post(
        &format!("{path}/tags"),
        json!({"tags": [{"name": "c", "status": "maybe"}]}),
    )
    .await
    .problem(400, "Invalid Resource");
}

#[tokio::test]
async fn required_merge_fields_are_enforced_unless_skipped() {
    let api = Api::start().await;
    let list = api.list();
    let field = api
        .post(
            &format!("/lists/{list}/merge-fields"),
            json!({"name": "Customer code", "type": "text", "tag": "CCODE", "required": true}),
        )
        .await;
    let field = field.ok().clone();
    assert_eq!(field["tag"], "CCODE");
    let merge_id = field["merge_id"].as_u64().unwrap();
    api.post(
        &format!("/lists/{list}/merge-fields"),
        json!({"name": "Dup", "type": "text", "tag": "CCODE"}),
    )
    .await
    .problem(400, "Invalid Resource");
    api.post(
        &format!("/lists/{list}/merge-fields"),
        json!({"name": "Bad", "type": "colour"}),
    )
    .await
    .problem(400, "Invalid Resource");

    let path = member_path(&list, "m@northwind-mfg.com");
    let missing = api
        .put(
            &path,
            json!({"email_address": "m@northwind-mfg.com", "status_if_new": "subscribed"}),
        )
        .await;
    // A missing required field is named by its bare tag, as users report.
    assert_eq!(
        missing.problem(400, "Invalid Resource")["errors"][0]["field"],
        "CCODE"
    );
    api.put(
        &format!("{path}?skip_merge_validation=true"),
        json!({"email_address": "m@northwind-mfg.com", "status_if_new": "subscribed"}),
    )
    .await
    .ok();

    let fields = api.get(&format!("/lists/{list}/merge-fields")).await;
    assert_eq!(fields.ok()["total_items"], 6, "5 defaults plus CCODE");
    let patched = api
        .patch(
            &format!("/lists/{list}/merge-fields/{merge_id}"),
            json!({"required": false}),
        )
        .await;
    assert_eq!(patched.ok()["required"], false);
    assert_eq!(
        api.delete(&format!("/lists/{list}/merge-fields/{merge_id}"))
            .await
            .status,
        204
    );
    api.get(&format!("/lists/{list}/merge-fields/{merge_id}"))
        .await
        .problem(404, "Resource Not Found");
}

#[tokio::test]
async fn member_lists_filter_by_status_and_last_changed() {
    let api = Api::start().await;
    let list = api.list();
    for (email, status) in [
        ("a@northwind-mfg.com", "subscribed"),
        ("b@northwind-mfg.com", "unsubscribed"),
        ("c@northwind-mfg.com", "subscribed"),
    ] {
        api.fake.seed_member(&list, email, status).unwrap();
    }
    let subscribed = api
        .get(&format!("/lists/{list}/members?status=subscribed"))
        .await;
    let emails: Vec<_> = subscribed.ok()["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email_address"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(emails, ["a@northwind-mfg.com", "c@northwind-mfg.com"]);
    let future = api
        .get(&format!(
            "/lists/{list}/members?since_last_changed=2999-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!(future.ok()["total_items"], 0);
    let past = api
        .get(&format!(
            "/lists/{list}/members?since_last_changed=2000-01-01T00:00:00%2B00:00"
        ))
        .await;
    assert_eq!(past.ok()["total_items"], 3);
    api.get(&format!(
        "/lists/{list}/members?since_last_changed=yesterday"
    ))
    .await
    .problem(400, "Invalid Resource");
}

#[tokio::test]
async fn lists_report_member_stats_and_unknown_lists_are_404() {
    let api = Api::start().await;
    let list = api.list();
    api.fake
        .seed_member(&list, "s@northwind-mfg.com", "subscribed")
        .unwrap();
    api.fake
        .seed_member(&list, "c@northwind-mfg.com", "cleaned")
        .unwrap();
    let reply = api.get(&format!("/lists/{list}")).await;
    let stats = &reply.ok()["stats"];
    assert_eq!(stats["member_count"], 1);
    assert_eq!(stats["cleaned_count"], 1);
    let all = api.get("/lists").await;
    assert_eq!(all.ok()["total_items"], 1);
    assert_eq!(all.ok()["lists"][0]["id"], list.as_str());
    api.get("/lists/nope")
        .await
        .problem(404, "Resource Not Found");
    api.put(
        "/lists/nope/members/x@northwind-mfg.com",
        json!({"email_address": "x@northwind-mfg.com", "status_if_new": "subscribed"}),
    )
    .await
    .problem(404, "Resource Not Found");
}

#[tokio::test]
async fn lists_can_be_created_and_configured_lists_exist_at_start() {
    let fake = testkit::FakeMailchimp::builder()
        .list("aaaaaaaaaa")
        .list("bbbbbbbbbb")
        .start()
        .await
        .unwrap();
    let api = Api::with(fake);
    assert_eq!(api.list(), "aaaaaaaaaa");
    assert_eq!(api.get("/lists").await.ok()["total_items"], 2);
    api.post("/lists", json!({"name": "incomplete"}))
        .await
        .problem(400, "Invalid Resource");
    let created = api
        .post(
            "/lists",
            json!({
                "name": "New audience",
                "contact": {"company": "c", "address1": "a", "city": "x", "country": "US"},
                "permission_reminder": "you asked",
                "campaign_defaults": {"from_name": "f", "from_email": "f@northwind-mfg.com", "subject": "", "language": "en"},
                "email_type_option": false
            }),
        )
        .await;
    let id = created.ok()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        api.get(&format!("/lists/{id}")).await.ok()["name"],
        "New audience"
    );
    api.post("/lists/bbbbbbbbbb", json!("not an object"))
        .await
        .problem(400, "JSON Parse Exception");
}

/// Member reads bounded by `last_changed` come from an index: they must still see every
/// change (an update moves a member in time, not in order), keep insertion order, page with
/// `offset`/`count`, and judge a `last_changed` the index cannot hold (written raw) one by one.
#[tokio::test]
async fn last_changed_bounds_follow_updates_removals_and_odd_stamps() {
    let api = Api::start().await;
    let list = api.list();
    let stamps = [
        (
            "m1@northwind-mfg.com",
            "subscribed",
            "2026-01-01T10:00:00+00:00",
        ),
        (
            "m2@northwind-mfg.com",
            "cleaned",
            "2026-01-02T10:00:00+00:00",
        ),
        (
            "m3@northwind-mfg.com",
            "subscribed",
            "2026-01-03T10:00:00+00:00",
        ),
        (
            "m4@northwind-mfg.com",
            "subscribed",
            "2026-01-04T10:00:00+00:00",
        ),
        (
            "m5@northwind-mfg.com",
            "archived",
            "2026-01-05T10:00:00+00:00",
        ),
    ];
    for (email, status, stamp) in stamps {
        api.fake.seed_member(&list, email, status).unwrap();
        api.fake
            .set_member_raw_field(&list, email, "last_changed", stamp)
            .unwrap();
    }
    let emails = |reply: &Reply| -> Vec<String> {
        reply.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["email_address"].as_str().unwrap().to_owned())
            .collect()
    };
    let read = |query: &str| {
        let path = format!("/lists/{list}/members?{query}");
        let api = &api;
        async move { api.get(&path).await }
    };

    let since = read("since_last_changed=2026-01-02T10:00:00Z").await;
    assert_eq!(
        emails(&since),
        [
            "m2@northwind-mfg.com",
            "m3@northwind-mfg.com",
            "m4@northwind-mfg.com"
        ]
    );
    assert_eq!(since.body["total_items"], 3);
    // A fractional bound excludes the whole second before it; offsets with a `before` bound.
    let window = read(
        "since_last_changed=2026-01-02T10:00:00.5%2B00:00&before_last_changed=2026-01-05T10:00:00Z&offset=1&count=1",
    )
    .await;
    assert_eq!(emails(&window), ["m4@northwind-mfg.com"]);
    assert_eq!(window.body["total_items"], 2);
    let archived = read("since_last_changed=2026-01-01T00:00:00Z&status=archived").await;
    assert_eq!(emails(&archived), ["m5@northwind-mfg.com"]);

    // An update moves m1 to now: it is found by a recent bound, still first in order.
    api.patch(
        &format!(
            "/lists/{list}/members/{}",
            subscriber_hash("m1@northwind-mfg.com")
        ),
        json!({ "merge_fields": { "FNAME": "Una" } }),
    )
    .await
    .ok();
    let recent = read("since_last_changed=2026-01-03T00:00:00Z").await;
    assert_eq!(
        emails(&recent),
        [
            "m1@northwind-mfg.com",
            "m3@northwind-mfg.com",
            "m4@northwind-mfg.com"
        ]
    );
    // A stamp in another format is judged as written: after the bound here, not before.
    api.fake
        .set_member_raw_field(
            &list,
            "m3@northwind-mfg.com",
            "last_changed",
            "2026-02-01T00:00:00.250Z",
        )
        .unwrap();
    let february = read("since_last_changed=2026-01-31T00:00:00Z").await;
    assert_eq!(
        emails(&february),
        ["m1@northwind-mfg.com", "m3@northwind-mfg.com"]
    );
    let january = read("before_last_changed=2026-01-31T00:00:00Z").await;
    assert_eq!(
        emails(&january),
        ["m2@northwind-mfg.com", "m4@northwind-mfg.com"]
    );

    // A permanently deleted member is gone from bounded reads; the others keep their order.
    api.post(
        &format!(
            "/lists/{list}/members/{}/actions/delete-permanent",
            subscriber_hash("m2@northwind-mfg.com")
        ),
        json!({}),
    )
    .await;
    let all = read("since_last_changed=2000-01-01T00:00:00Z").await;
    assert_eq!(
        emails(&all),
        [
            "m1@northwind-mfg.com",
            "m3@northwind-mfg.com",
            "m4@northwind-mfg.com"
        ]
    );
    let sorted =
        read("since_last_changed=2000-01-01T00:00:00Z&sort_field=last_changed&sort_dir=DESC").await;
    assert_eq!(
        emails(&sorted),
        [
            "m1@northwind-mfg.com",
            "m3@northwind-mfg.com",
            "m4@northwind-mfg.com"
        ]
    );
}
