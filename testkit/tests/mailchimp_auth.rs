//! Auth, OAuth metadata, ping and the API root, through plain reqwest.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use mailchimp_support::{read, Api};
use testkit::mailchimp::FakeMailchimp;

#[tokio::test]
async fn basic_auth_with_any_username_and_bearer_are_accepted() {
    let api = Api::start().await;
    for user in ["anystring", "someone-else", ""] {
        let reply = read(
            api.http
                .get(api.url("/ping"))
                .basic_auth(user, Some(api.fake.api_key()))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(reply.ok()["health_status"], "Everything's Chimpy!");
    }
    let reply = read(
        api.http
            .get(api.url("/ping"))
            .bearer_auth(api.fake.api_key())
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.ok();
}

#[tokio::test]
async fn unknown_or_missing_credentials_get_api_key_invalid() {
    let api = Api::start().await;
    let wrong = read(
        api.http
            .get(api.url("/ping"))
            .basic_auth("anystring", Some("0000-us1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    wrong.problem(401, "API Key Invalid");
    let missing = read(api.http.get(api.url("/lists")).send().await.unwrap()).await;
    missing.problem(401, "API Key Invalid");
    // The key as the username (and no password) is not how Mailchimp reads Basic auth.
    let swapped = read(
        api.http
            .get(api.url("/ping"))
            .basic_auth(api.fake.api_key(), None::<&str>)
            .send()
            .await
            .unwrap(),
    )
    .await;
    swapped.problem(401, "API Key Invalid");
}

#[tokio::test]
async fn several_configured_keys_and_tokens_all_work() {
    let fake = FakeMailchimp::builder()
        .api_key("first-us6")
        .api_key("second-us6")
        .oauth_token("token-a")
        .data_center("us6")
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    for secret in ["first-us6", "second-us6", "token-a"] {
        let reply = read(
            http.get(format!("{}/ping", fake.api_url()))
                .bearer_auth(secret)
                .send()
                .await
                .unwrap(),
        )
        .await;
        reply.ok();
    }
    assert_eq!(fake.api_key(), "first-us6");
    assert_eq!(fake.data_center(), "us6");
}

#[tokio::test]
async fn oauth_metadata_reports_the_dc_and_points_back_at_the_fake() {
    let fake = FakeMailchimp::builder()
        .oauth_token("tok-123")
        .data_center("us9")
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let reply = read(
        http.get(fake.metadata_url())
            .header("Authorization", "OAuth tok-123")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let meta = reply.ok();
    assert_eq!(meta["dc"], "us9");
    assert_eq!(meta["api_endpoint"], fake.base_url().as_str());
    for field in ["role", "accountname", "user_id", "login", "login_url"] {
        assert!(meta.get(field).is_some(), "metadata lacks {field}");
    }
    assert!(meta["login"].get("login_email").is_some());

    // The endpoint it reports serves the API with the same token as Bearer.
    let ping = read(
        http.get(format!(
            "{}/3.0/ping",
            meta["api_endpoint"].as_str().unwrap()
        ))
        .bearer_auth("tok-123")
        .send()
        .await
        .unwrap(),
    )
    .await;
    ping.ok();

    for header in ["OAuth wrong", "Bearer tok-123"] {
        let denied = read(
            http.get(fake.metadata_url())
                .header("Authorization", header)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(denied.status, 401, "{header}");
        assert_eq!(denied.body["error"], "invalid_token");
    }
}

#[tokio::test]
async fn api_root_describes_the_account() {
    let api = Api::start().await;
    let root = api.get("/").await;
    let root = root.ok();
    for field in [
        "account_id",
        "account_name",
        "login_id",
        "email",
        "role",
        "total_subscribers",
    ] {
        assert!(root.get(field).is_some(), "root lacks {field}");
    }
    // Without the trailing slash too.
    api.get("").await.ok();
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problem_documents() {
    let api = Api::start().await;
    api.get("/no-such-resource")
        .await
        .problem(404, "Resource Not Found");
    api.delete("/ping").await.problem(405, "Method Not Allowed");
}

#[tokio::test]
async fn debug_output_redacts_credentials() {
    let builder = FakeMailchimp::builder()
        .api_key("secret-key-us1")
        .oauth_token("secret-token");
    let shown = format!("{builder:?}");
    assert!(
        !shown.contains("secret-key") && !shown.contains("secret-token"),
        "{shown}"
    );
    let fake = builder.start().await.unwrap();
    let shown = format!("{fake:?}");
    assert!(
        !shown.contains("secret-key") && !shown.contains("secret-token"),
        "{shown}"
    );
    assert!(shown.contains(&fake.base_url()));
}

#[tokio::test]
async fn generated_credentials_follow_the_seed() {
    let a = FakeMailchimp::builder().seed(5).start().await.unwrap();
    let b = FakeMailchimp::builder().seed(5).start().await.unwrap();
    let c = FakeMailchimp::builder().seed(6).start().await.unwrap();
    assert_eq!(a.api_key(), b.api_key());
    assert_eq!(a.list_id(), b.list_id());
    assert_ne!(a.api_key(), c.api_key());
    assert!(a.api_key().ends_with("-us1"), "{}", a.api_key());
    assert_eq!(a.list_id().len(), 10);
}
