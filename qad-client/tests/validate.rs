//! Checking configured browses and entities against the instance.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use qad_client::{EntityStatus, Error, Target};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn each_target_gets_its_own_verdict() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    let browse = |id: &str, response: ResponseTemplate| {
        Mock::given(method("GET"))
            .and(path(browse_path()))
            .and(query_param("browseId", id.to_owned()))
            .and(query_param("page", "1"))
            .and(query_param("pageSize", "1"))
            .and(query_param("pageAction", "first"))
            .respond_with(response)
            .expect(1)
    };
    browse(
        "urn:browse:bebrowse:com.qad.erp.base.customers",
        ResponseTemplate::new(200).set_body_json(browse_body(vec![], false)),
    )
    .mount(&server)
    .await;
    browse(
        "urn:browse:bebrowse:com.qad.erp.base.items",
        ResponseTemplate::new(404),
    )
    .mount(&server)
    .await;
    browse(
        "urn:browse:bebrowse:com.qad.erp.sales.salesOrders",
        ResponseTemplate::new(200)
            .set_body_json(json!({"errors": [{"code": "403", "message": "Access is denied"}]})),
    )
    .mount(&server)
    .await;
    browse(
        "urn:browse:bebrowse:com.qad.erp.sales.salesOrderLines",
        ResponseTemplate::new(500).set_body_string("Browse not found: salesOrderLines"),
    )
    .mount(&server)
    .await;
    Mock::given(method("GET"))
        .and(path(
            "/clouderp/api/bdoc/mlconnector/attribution/OrderAttribution",
        ))
        .and(query_param("pageSize", "1"))
        .respond_with(ResponseTemplate::new(403))
        .expect(1)
        .mount(&server)
        .await;
    mount_catch_all(&server).await;

    let client = client(&server);
    let results = client
        .validate_entities(client.configured_targets())
        .await
        .unwrap();
    let verdicts: Vec<_> = results
        .iter()
        .map(|v| (v.target.to_string(), v.status.clone()))
        .collect();
    assert_eq!(verdicts.len(), 5);
    assert_eq!(verdicts[0].1, EntityStatus::Ok);
    assert_eq!(verdicts[1].1, EntityStatus::NotFound);
    assert_eq!(verdicts[2].1, EntityStatus::Forbidden);
    match &verdicts[3].1 {
        EntityStatus::Other(Some(500), message) => {
            assert!(message.contains("Browse not found"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        verdicts[4],
        (
            "entity api/bdoc/mlconnector/attribution/OrderAttribution".to_owned(),
            EntityStatus::Forbidden
        )
    );
    assert!(matches!(results[0].target, Target::Browse(_)));
}

#[tokio::test]
async fn a_failed_login_fails_the_whole_validation() {
    let server = MockServer::start().await;
    Mock::given(path(token_path()))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    let client = client(&server);
    let err = client
        .validate_entities(client.configured_targets())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Auth {
                status: Some(401),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_entity_without_get_is_reported_unchecked_without_a_request() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 0).await;
    mount_catch_all(&server).await;
    let mut behaviour = qad_client::Behaviour::default();
    behaviour.set("validate.entity", "none").unwrap();
    let client = builder(&server, oauth())
        .behaviour(behaviour)
        .build()
        .unwrap();
    let entity: qad_client::EntityPath = "api/bdoc/mlconnector/attribution/OrderAttribution"
        .parse()
        .unwrap();
    let checks = client
        .validate_entities([qad_client::Target::Entity(entity)])
        .await
        .unwrap();
    assert_eq!(checks[0].status, EntityStatus::Unchecked);
    assert!(server.received_requests().await.unwrap().is_empty());
}
