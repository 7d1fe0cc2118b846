//! Interest categories and interests through plain HTTP: create, list (paged, filtered), get, and the
//! errors Mailchimp gives.
#![allow(clippy::unwrap_used)]

mod mailchimp_support;

use mailchimp_support::Api;
use serde_json::json;

#[tokio::test]
async fn categories_and_interests_are_created_listed_and_read() {
    let api = Api::start().await;
    let list = api.list();
    let base = format!("/lists/{list}/interest-categories");
    let lines = api
        .post(
            &base,
            json!({"title": "Product lines", "type": "checkboxes"}),
        )
        .await;
    let lines = lines.ok().clone();
    assert_eq!(lines["list_id"], list.as_str());
    let id = lines["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 10);
    api.post(&base, json!({"title": "Region", "type": "dropdown"}))
        .await
        .ok();

    let all = api.get(&base).await;
    assert_eq!(all.ok()["total_items"], 2);
    assert_eq!(all.ok()["categories"][0]["title"], "Product lines");
    let filtered = api.get(&format!("{base}?type=dropdown")).await;
    assert_eq!(filtered.ok()["total_items"], 1);
    assert_eq!(filtered.ok()["categories"][0]["title"], "Region");
    let one = api.get(&format!("{base}/{id}")).await;
    assert_eq!(one.ok()["type"], "checkboxes");

    let interests = format!("{base}/{id}/interests");
    let pumps = api.post(&interests, json!({"name": "Pumps"})).await;
    let pumps_id = pumps.ok()["id"].as_str().unwrap().to_owned();
    assert_eq!(pumps.ok()["category_id"], id.as_str());
    assert_eq!(pumps.ok()["subscriber_count"], "0");
    api.post(&interests, json!({"name": "Valves"})).await.ok();
    let page = api.get(&format!("{interests}?count=1&offset=1")).await;
    assert_eq!(page.ok()["total_items"], 2);
    assert_eq!(page.ok()["interests"][0]["name"], "Valves");
    let read = api.get(&format!("{interests}/{pumps_id}")).await;
    assert_eq!(read.ok()["name"], "Pumps");

    // `reset` forgets them.
    api.fake.reset();
    assert_eq!(api.get(&base).await.ok()["total_items"], 0);
}

#[tokio::test]
async fn bad_input_and_unknown_ids_are_refused() {
    let api = Api::start().await;
    let list = api.list();
    let base = format!("/lists/{list}/interest-categories");
    api.post(&base, json!({"title": "Lines", "type": "grid"}))
        .await
        .problem(400, "Invalid Resource");
    api.post(&base, json!({"type": "radio"}))
        .await
        .problem(400, "Invalid Resource");
    api.get(&format!("{base}/0000000000"))
        .await
        .problem(404, "Resource Not Found");
    api.get("/lists/nolist/interest-categories")
        .await
        .problem(404, "Resource Not Found");
    let id = api
        .post(&base, json!({"title": "Lines", "type": "radio"}))
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let interests = format!("{base}/{id}/interests");
    api.post(&interests, json!({"name": "Pumps"})).await.ok();
    api.post(&interests, json!({"name": "Pumps"}))
        .await
        .problem(400, "Invalid Resource");
    api.get(&format!("{interests}/0000000000"))
        .await
        .problem(404, "Resource Not Found");
    api.get(&format!("{base}/0000000000/interests"))
        .await
        .problem(404, "Resource Not Found");
}
