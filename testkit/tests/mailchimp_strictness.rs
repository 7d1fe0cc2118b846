//! The rules that make the fake as strict as Mailchimp is documented or reported to be (see the
//! table in docs/mailchimp.md), each through plain HTTP.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use mailchimp_support::{Api, Reply};
use serde_json::{json, Value};
use testkit::mailchimp::subscriber_hash;

fn member_path(list: &str, email: &str) -> String {
    format!("/lists/{list}/members/{}", subscriber_hash(email))
}

async fn put_member(api: &Api, email: &str, body: Value) -> Reply {
    let mut body = body;
    body["email_address"] = json!(email);
    api.put(&member_path(&api.list(), email), body).await
}

async fn with_store() -> Api {
    let api = Api::start().await;
    api.fake.seed_store("shop", &api.list(), "USD").unwrap();
    api
}

fn field_error(reply: &Reply) -> (String, String) {
    let doc = reply.problem(400, "Invalid Resource");
    (
        doc["errors"][0]["field"].as_str().unwrap().to_owned(),
        doc["errors"][0]["message"].as_str().unwrap().to_owned(),
    )
}

// 1. An e-commerce customer's email address cannot change.
#[tokio::test]
async fn a_customer_email_never_changes() {
    let api = with_store().await;
    let path = "/ecommerce/stores/shop/customers/C1";
    api.put(
        path,
        json!({"id": "C1", "opt_in_status": false, "email_address": "ada@northwind-mfg.com"}),
    )
    .await
    .ok();
    let refused = api
        .put(
            path,
            json!({"id": "C1", "opt_in_status": false, "email_address": "ada.new@northwind-mfg.com", "first_name": "Ada"}),
        )
        .await;
    let doc = refused.problem(400, "Invalid Resource");
    assert_eq!(
        doc["detail"],
        "An email address may not be changed once a customer is created."
    );
    assert_eq!(doc["errors"][0]["field"], "email_address");
    let snapshot = api.fake.snapshot();
    let customer = snapshot.customer("shop", "C1").unwrap();
    assert_eq!(customer["email_address"], "ada@northwind-mfg.com");
    assert_eq!(
        customer["first_name"], "",
        "a refused write changes nothing"
    );

    // The same address (any case) and other fields still update.
    api.put(
        path,
        json!({"id": "C1", "opt_in_status": false, "email_address": " Ada@Northwind-MFG.com", "first_name": "Ada"}),
    )
    .await
    .ok();
    // A customer created without an address (SMS-only) may gain one.
    api.put(
        "/ecommerce/stores/shop/customers/C2",
        json!({"id": "C2", "opt_in_status": false}),
    )
    .await
    .ok();
    api.patch(
        "/ecommerce/stores/shop/customers/C2",
        json!({"email_address": "sms@northwind-mfg.com"}),
    )
    .await
    .ok();
}

// 2. An address merge field must be complete.
#[tokio::test]
async fn incomplete_addresses_are_refused() {
    let api = Api::start().await;
    let full = json!({"addr1": "1 Main St", "addr2": "", "city": "Springfield", "state": "IL", "zip": "62701", "country": "US"});
    for missing in ["addr1", "city", "state", "zip"] {
        let mut address = full.clone();
        address[missing] = json!("");
        let reply = put_member(
            &api,
            "ann@northwind-mfg.com",
            json!({"status_if_new": "subscribed", "merge_fields": {"ADDRESS": address}}),
        )
        .await;
        assert_eq!(reply.body["detail"], "Your merge fields were invalid.");
        assert_eq!(
            field_error(&reply),
            (
                "merge_fields.ADDRESS".to_owned(),
                "Please enter a complete address".to_owned()
            ),
            "without {missing}"
        );
    }
    let mut no_country = full.clone();
    no_country["country"] = json!("");
    put_member(
        &api,
        "ann@northwind-mfg.com",
        json!({"status_if_new": "subscribed", "merge_fields": {"ADDRESS": no_country}}),
    )
    .await
    .ok();
    // A batch refuses that member alone.
    let mut partial = full.clone();
    partial["state"] = json!("");
    let reply = api
        .post(
            &format!("/lists/{}", api.list()),
            json!({"members": [
                {"email_address": "bob@northwind-mfg.com", "status": "subscribed", "merge_fields": {"ADDRESS": partial}},
                {"email_address": "cy@northwind-mfg.com", "status": "subscribed", "merge_fields": {"ADDRESS": full}},
            ]}),
        )
        .await;
    let body = reply.ok();
    assert_eq!(body["total_created"], 1);
    assert_eq!(body["errors"][0]["email_address"], "bob@northwind-mfg.com");
    assert_eq!(body["errors"][0]["field"], "merge_fields.ADDRESS");
}

// 3. Merge-field types, choices and required fields.
#[tokio::test]
async fn merge_fields_are_checked_against_their_definitions() {
    let api = Api::start().await;
    let list = api.list();
    let fields = format!("/lists/{list}/merge-fields");
    for body in [
        json!({"name": "Tier", "tag": "TIER", "type": "dropdown", "options": {"choices": ["Gold", "Silver"]}}),
        json!({"name": "Spend", "tag": "SPEND", "type": "number"}),
        json!({"name": "Since", "tag": "SINCE", "type": "date", "options": {"date_format": "MM/DD/YYYY"}}),
        json!({"name": "Code", "tag": "CODE", "type": "text", "required": true}),
    ] {
        api.post(&fields, body).await.ok();
    }
    let new = |merge: Value| json!({"status_if_new": "subscribed", "merge_fields": merge});
    let email = "ann@northwind-mfg.com";
    let cases = [
        (json!({"CODE": "C1", "TIER": "Bronze"}), "merge_fields.TIER"),
        (json!({"CODE": "C1", "SPEND": "lots"}), "merge_fields.SPEND"),
        (
            json!({"CODE": "C1", "SINCE": "2024-31-12"}),
            "merge_fields.SINCE",
        ),
        (
            json!({"CODE": "C1", "BIRTHDAY": "1990-01-02"}),
            "merge_fields.BIRTHDAY",
        ),
        (
            json!({"CODE": "C1", "FNAME": "x".repeat(256)}),
            "merge_fields.FNAME",
        ),
        (
            json!({"CODE": "C1", "PHONE": "call me"}),
            "merge_fields.PHONE",
        ),
        // A required field's error names the bare tag, as users report.
        (json!({"FNAME": "Ann"}), "CODE"),
        (json!({"CODE": ""}), "CODE"),
    ];
    for (merge, field) in cases {
        let reply = put_member(&api, email, new(merge.clone())).await;
        assert_eq!(field_error(&reply).0, field, "{merge}");
    }
    assert!(api.fake.snapshot().members[&list].is_empty());

    put_member(
        &api,
        email,
        new(json!({"CODE": "C1", "TIER": "Gold", "SPEND": 12.5, "SINCE": "12/31/2024", "BIRTHDAY": "01/02", "PHONE": "+1 555 123 4567"})),
    )
    .await
    .ok();
    // An update may leave a required field out, but not empty it.
    api.patch(
        &member_path(&list, email),
        json!({"merge_fields": {"FNAME": "Ann"}}),
    )
    .await
    .ok();
    let reply = api
        .patch(
            &member_path(&list, email),
            json!({"merge_fields": {"CODE": ""}}),
        )
        .await;
    assert_eq!(field_error(&reply).0, "CODE");
    // A field made required later: updating a member who lacks it fails.
    let lacking = "cy@northwind-mfg.com";
    put_member(
        &api,
        lacking,
        json!({"status_if_new": "subscribed", "merge_fields": {"CODE": "C9"}}),
    )
    .await
    .ok();
    let fields_now = api.get(&fields).await;
    let tier_id = fields_now.ok()["merge_fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["tag"] == "TIER")
        .unwrap()["merge_id"]
        .clone();
    api.patch(&format!("{fields}/{tier_id}"), json!({"required": true}))
        .await
        .ok();
    let reply = api
        .patch(
            &member_path(&list, lacking),
            json!({"merge_fields": {"FNAME": "Cy"}}),
        )
        .await;
    assert_eq!(field_error(&reply).0, "TIER");
    // skip_merge_validation skips the required check only.
    let other = "bo@northwind-mfg.com";
    let path = format!("{}?skip_merge_validation=true", member_path(&list, other));
    api.put(
        &path,
        json!({"email_address": other, "status_if_new": "subscribed"}),
    )
    .await
    .ok();
    let reply = api
        .put(
            &path,
            json!({"email_address": other, "merge_fields": {"TIER": "Bronze"}}),
        )
        .await;
    assert_eq!(field_error(&reply).0, "merge_fields.TIER");
}

// 4. Fake-looking addresses are refused.
#[tokio::test]
async fn fake_looking_addresses_are_refused_everywhere() {
    let api = with_store().await;
    let list = api.list();
    for email in [
        "ann@example.com",
        "ann@mail.example.org",
        "ann@example.net",
        "ann@shop.test",
        "ann@acme.example",
        "ann@host.invalid",
        "ann@mailinator.com",
    ] {
        let reply = put_member(&api, email, json!({"status_if_new": "subscribed"})).await;
        let doc = reply.problem(400, "Invalid Resource");
        assert_eq!(
            doc["detail"],
            format!("{email} looks fake or invalid, please enter a real email address.")
        );
        assert_eq!(doc["errors"][0]["field"], "email_address");
    }
    let reply = api
        .put(
            "/ecommerce/stores/shop/customers/C1",
            json!({"id": "C1", "opt_in_status": false, "email_address": "buyer@example.com"}),
        )
        .await;
    assert!(reply.problem(400, "Invalid Resource")["detail"]
        .as_str()
        .unwrap()
        .contains("looks fake or invalid"));
    let reply = api
        .post(
            &format!("/lists/{list}"),
            json!({"members": [
                {"email_address": "a@example.com", "status": "subscribed"},
                {"email_address": "a@northwind-mfg.com", "status": "subscribed"},
            ]}),
        )
        .await;
    let body = reply.ok();
    assert_eq!(body["total_created"], 1);
    assert!(body["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("looks fake or invalid"));
    // Moving a member onto one is refused too.
    put_member(
        &api,
        "ok@northwind-mfg.com",
        json!({"status_if_new": "subscribed"}),
    )
    .await
    .ok();
    api.patch(
        &member_path(&list, "ok@northwind-mfg.com"),
        json!({"email_address": "ok@example.com"}),
    )
    .await
    .problem(400, "Invalid Resource");
}

// 5. Signup throttling can be injected.
#[tokio::test]
async fn throttled_addresses_cannot_sign_up_until_released() {
    let api = Api::start().await;
    let list = api.list();
    let email = "busy@northwind-mfg.com";
    api.fake.throttle_signups(&list, email, true).unwrap();
    let reply = put_member(&api, email, json!({"status_if_new": "subscribed"})).await;
    assert_eq!(
        reply.problem(400, "Invalid Resource")["detail"],
        format!("{email} has signed up to a lot of lists very recently; we're not allowing more signups for now")
    );
    put_member(&api, email, json!({"status_if_new": "pending"}))
        .await
        .problem(400, "Invalid Resource");
    // Not a signup: a transactional contact is fine, and so is a later update without status.
    put_member(&api, email, json!({"status_if_new": "transactional"}))
        .await
        .ok();
    api.patch(&member_path(&list, email), json!({"status": "subscribed"}))
        .await
        .problem(400, "Invalid Resource");
    api.fake.throttle_signups(&list, email, false).unwrap();
    let reply = api
        .patch(&member_path(&list, email), json!({"status": "subscribed"}))
        .await;
    assert_eq!(reply.ok()["status"], "subscribed");
}

// 6. Two kinds of unsubscribed member.
#[tokio::test]
async fn self_unsubscribed_members_stay_out_api_unsubscribed_ones_may_return() {
    let api = Api::start().await;
    let list = api.list();
    let own = "left@northwind-mfg.com";
    api.fake.seed_member(&list, own, "unsubscribed").unwrap();
    for reply in [
        put_member(&api, own, json!({"status": "subscribed"})).await,
        api.patch(&member_path(&list, own), json!({"status": "subscribed"}))
            .await,
    ] {
        reply.problem(400, "Member In Compliance State");
    }
    // Archiving does not wash the unsubscribe away.
    assert_eq!(api.delete(&member_path(&list, own)).await.status, 204);
    put_member(&api, own, json!({"status_if_new": "subscribed"}))
        .await
        .problem(400, "Member In Compliance State");

    let by_api = "paused@northwind-mfg.com";
    put_member(&api, by_api, json!({"status_if_new": "subscribed"}))
        .await
        .ok();
    api.patch(
        &member_path(&list, by_api),
        json!({"status": "unsubscribed"}),
    )
    .await
    .ok();
    let back = put_member(&api, by_api, json!({"status": "subscribed"})).await;
    assert_eq!(back.ok()["status"], "subscribed");
}

// 7. E-commerce opt-in upgrades a member.
#[tokio::test]
async fn customer_opt_in_upgrades_transactional_and_pending_members_only() {
    let api = with_store().await;
    let list = api.list();
    let seeded = [
        ("tx@northwind-mfg.com", "transactional", "subscribed"),
        ("pend@northwind-mfg.com", "pending", "subscribed"),
        ("gone@northwind-mfg.com", "unsubscribed", "unsubscribed"),
        ("bounced@northwind-mfg.com", "cleaned", "cleaned"),
    ];
    for (n, (email, status, _)) in seeded.iter().enumerate() {
        api.fake.seed_member(&list, email, status).unwrap();
        let path = format!("/ecommerce/stores/shop/customers/C{n}");
        let body = |opt_in: bool| json!({"id": format!("C{n}"), "opt_in_status": opt_in, "email_address": email});
        api.put(&path, body(false)).await.ok();
        let snapshot = api.fake.snapshot();
        assert_eq!(snapshot.member(&list, email).unwrap()["status"], *status);
        api.put(&path, body(true)).await.ok();
    }
    let snapshot = api.fake.snapshot();
    for (email, _, after) in seeded {
        assert_eq!(
            snapshot.member(&list, email).unwrap()["status"],
            after,
            "{email}"
        );
    }
    // PATCH carrying opt_in_status upgrades as well.
    api.fake
        .seed_member(&list, "late@northwind-mfg.com", "transactional")
        .unwrap();
    api.put(
        "/ecommerce/stores/shop/customers/L",
        json!({"id": "L", "opt_in_status": false, "email_address": "late@northwind-mfg.com"}),
    )
    .await
    .ok();
    api.patch(
        "/ecommerce/stores/shop/customers/L",
        json!({"opt_in_status": true}),
    )
    .await
    .ok();
    let snapshot = api.fake.snapshot();
    assert_eq!(
        snapshot.member(&list, "late@northwind-mfg.com").unwrap()["status"],
        "subscribed"
    );
}

// 8. Member-exists conflicts.
#[tokio::test]
async fn moving_onto_a_held_address_is_a_conflict() {
    let api = Api::start().await;
    let list = api.list();
    for email in [
        "a@northwind-mfg.com",
        "b@northwind-mfg.com",
        "c@northwind-mfg.com",
    ] {
        put_member(&api, email, json!({"status_if_new": "subscribed"}))
            .await
            .ok();
    }
    assert_eq!(
        api.delete(&member_path(&list, "c@northwind-mfg.com"))
            .await
            .status,
        204
    );
    let onto_live = api
        .patch(
            &member_path(&list, "a@northwind-mfg.com"),
            json!({"email_address": "b@northwind-mfg.com"}),
        )
        .await;
    assert!(onto_live.problem(400, "Member Exists")["detail"]
        .as_str()
        .unwrap()
        .starts_with("b@northwind-mfg.com is already a list member"));
    let onto_archived = api
        .patch(
            &member_path(&list, "a@northwind-mfg.com"),
            json!({"email_address": "c@northwind-mfg.com"}),
        )
        .await;
    assert_eq!(
        onto_archived.problem(400, "Invalid Resource")["detail"],
        "\"c@northwind-mfg.com\" is already in this list with a status of \"archived\"."
    );
    // A PUT whose hash names one member and whose body names another.
    let mismatched = api
        .put(
            &member_path(&list, "a@northwind-mfg.com"),
            json!({"email_address": "b@northwind-mfg.com", "status_if_new": "subscribed"}),
        )
        .await;
    mismatched.problem(400, "Member Exists");
    let snapshot = api.fake.snapshot();
    assert!(snapshot.member(&list, "a@northwind-mfg.com").is_some());
    assert_eq!(snapshot.members[&list].len(), 3);
}
