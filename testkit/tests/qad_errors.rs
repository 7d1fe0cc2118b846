//! Fake QAD error shapes over plain HTTP: 404 for unknown paths, 403 for forbidden ones,
//! the context root, and start-up configuration errors.
// Helpers outside `#[test]` functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use testkit::qad::{Error, FakeQad, Seeding};

async fn get(qad: &FakeQad, path: &str, authenticated: bool) -> (StatusCode, Value) {
    let mut request = Client::new().get(format!("{}/{path}", qad.base_url()));
    if authenticated {
        request = request.basic_auth(qad.username(), Some(qad.password()));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn unknown_paths_are_404_with_bare_errors_after_authentication() {
    let qad = FakeQad::start().await.unwrap();
    let (status, body) = get(&qad, "api/erp/suppliers", true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errors"][0]["code"], "404");
    assert_eq!(body["errors"][0]["severity"], 1);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("/clouderp/api/erp/suppliers"));

    let (status, _) = get(&qad, "api/bdoc/other/app/Entity", false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forbidden_paths_and_browses_are_403_access_denied() {
    let qad = FakeQad::builder()
        .forbid_path("/api/erp/items")
        .forbid_path("api/bdoc/mlconnector/attribution/OrderAttribution")
        .forbid_browse("urn:browse:bebrowse:com.qad.erp.sales.salesOrders")
        .start()
        .await
        .unwrap();
    let denied = json!({
        "errors": [{"severity": 1, "code": "403", "message": "Access is denied", "fieldName": ""}]
    });
    let (status, body) = get(&qad, "api/erp/items?itemCode=ITEM-00001", true).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, denied);

    let (status, body) = get(
        &qad,
        "api/bdoc/mlconnector/attribution/OrderAttribution",
        true,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, denied);

    let path = "api/qracore/browses?browseId=urn:browse:bebrowse:com.qad.erp.sales.salesOrders&page=1&pageAction=first";
    let (status, body) = get(&qad, path, true).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, denied);

    // Other entities stay reachable; authentication still comes first.
    let (status, _) = get(&qad, "api/erp/customerV2s?customerCode=C0000001", true).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&qad, "api/erp/items", false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_context_root_is_configurable() {
    let qad = FakeQad::builder()
        .context_root("qad-central/")
        .start()
        .await
        .unwrap();
    assert_eq!(qad.context_root(), "/qad-central");
    assert!(qad.base_url().starts_with("http://127.0.0.1:"));
    assert!(
        qad.base_url().ends_with("/qad-central"),
        "{}",
        qad.base_url()
    );
    let (status, _) = get(&qad, "api/erp/customerV2s", true).await;
    assert_eq!(status, StatusCode::OK);

    let origin = qad.base_url().trim_end_matches("/qad-central").to_owned();
    let response = Client::new()
        .get(format!("{origin}/clouderp/api/erp/customerV2s"))
        .basic_auth(qad.username(), Some(qad.password()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_configuration_is_a_typed_error() {
    for root in ["/a/../b", "/clouderp/{x}", "/with space"] {
        let err = FakeQad::builder()
            .context_root(root)
            .start()
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidPath {
                    what: "context root",
                    ..
                }
            ),
            "{root}: {err}"
        );
    }
    let err = FakeQad::builder()
        .attribution_entity("api/erp/items")
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ReservedPath(ref p) if p == "api/erp/items"),
        "{err}"
    );
    let err = FakeQad::builder()
        .forbid_path("api/%2e%2e")
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidPath {
                what: "forbidden path",
                ..
            }
        ),
        "{err}"
    );
    let err = FakeQad::builder()
        .attribution_key("")
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmptyKeyField));
    let err = FakeQad::builder()
        .seeding(Seeding::new(1).invalid_email_share(2.0))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Seed(_)), "{err}");
}
