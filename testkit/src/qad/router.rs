//! The tenant's routes under its context root.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::Uri;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::documents::{self, Document};
use super::respond::not_found;
use super::state::Shared;
use super::{attribution, auth, browse};

/// Paths under the context root that the fake serves itself; the attribution
/// entity may not take one of them.
pub(crate) const RESERVED: &[&str] = &[
    "",
    "oauth/token",
    "j_spring_security_check",
    "login",
    "api/qracore/browses",
    "api/qracore/browses/totalCount",
    "api/erp/customerV2s",
    "api/erp/items",
    "api/erp/salesOrders",
];

fn document_route(document: Document) -> axum::routing::MethodRouter<Arc<Shared>> {
    get(
        move |state: State<Arc<Shared>>, query: Query<HashMap<String, String>>| {
            documents::read(document, state, query)
        },
    )
}

async fn fallback(uri: Uri) -> Response {
    not_found(uri.path())
}

/// Login routes are open; everything else, including the 404 fallback, sits
/// behind the authentication guard.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let tenant = &shared.tenant;
    let at = |path: &str| format!("{}/{path}", tenant.root);
    let mut open = Router::new().route(&at("oauth/token"), post(auth::token));
    if tenant.form_login {
        open = open
            .route(&at("j_spring_security_check"), post(auth::form_login))
            .route(&at(""), get(auth::page))
            .route(&at("login"), get(auth::page));
    }
    // Public code writes the count path with a trailing slash; both spellings answer.
    let mut api = Router::new()
        .route(&at("api/qracore/browses"), get(browse::browse))
        .route(&at(browse::COUNT_PATH), get(browse::total_count))
        .route(
            &at(&format!("{}/", browse::COUNT_PATH)),
            get(browse::total_count),
        );
    for document in [Document::Customers, Document::Items, Document::SalesOrders] {
        api = api.route(&at(document.path()), document_route(document));
    }
    let api = api
        .route(
            &at(&tenant.attribution_path),
            get(attribution::list).post(attribution::post),
        )
        .route(
            &at(attribution::CONSENT_PATH),
            get(attribution::list_consent).post(attribution::post_consent),
        )
        .fallback(fallback)
        .layer(from_fn_with_state(shared.clone(), auth::guard));
    open.merge(api).with_state(shared)
}
