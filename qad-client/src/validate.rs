//! Checking configured entity paths and browse ids against the instance, so
//! a connect step can say exactly which one is wrong.

use futures::future::join_all;

use crate::behaviour::EntityCheck;
use crate::browse::BROWSE_PATH;
use crate::client::{Call, Client};
use crate::error::{Error, Result};
use crate::paths::{BrowseId, EntityPath};

/// Something configured that the instance must know.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A browse, checked with a one-row page request.
    Browse(BrowseId),
    /// An entity path, checked with `GET <path>?page=1&pageSize=1`.
    Entity(EntityPath),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Browse(id) => write!(f, "browse {id}"),
            Self::Entity(path) => write!(f, "entity {path}"),
        }
    }
}

/// How the instance answered for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntityStatus {
    /// Reachable and readable.
    Ok,
    /// HTTP 404, or an error with code 404.
    NotFound,
    /// HTTP 403, or an error with code 403 ("Access is denied").
    Forbidden,
    /// Not checked: `validate.entity = "none"` says the tenant answers no
    /// GET on the entity, valid or not.
    Unchecked,
    /// Anything else: the status (if any) and QAD's message.
    Other(Option<u16>, String),
}

/// The result for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// What was checked.
    pub target: Target,
    /// How the instance answered.
    pub status: EntityStatus,
}

impl Client {
    /// The browse ids and entity paths this client is configured to use.
    pub fn configured_targets(&self) -> Vec<Target> {
        let s = self.settings();
        vec![
            Target::Browse(s.customers.browse_id().clone()),
            Target::Browse(s.items.browse_id().clone()),
            Target::Browse(s.sales_orders.browse_id().clone()),
            Target::Browse(s.sales_order_lines.browse_id().clone()),
            Target::Entity(s.attribution.entity().clone()),
        ]
    }

    /// Checks each target with a minimal page request and reports per target.
    ///
    /// Requests run concurrently within the client's concurrency cap.
    ///
    /// ```no_run
    /// # async fn run(client: qad_client::Client) -> qad_client::Result<()> {
    /// for v in client.validate_entities(client.configured_targets()).await? {
    ///     println!("{}: {:?}", v.target, v.status);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Auth`] when the client cannot log in at all: that is not a
    /// problem of any one path.
    pub async fn validate_entities(
        &self,
        targets: impl IntoIterator<Item = Target>,
    ) -> Result<Vec<Validation>> {
        let entity_get = self.behaviour().entity_check == EntityCheck::Get;
        let checks = targets.into_iter().map(|target| async move {
            if matches!(target, Target::Entity(_)) && !entity_get {
                return (target, None);
            }
            let call = match &target {
                Target::Browse(id) => Call::get(BROWSE_PATH)
                    .query("browseId", id.as_str())
                    .query("page", "1")
                    .query("pageSize", "1")
                    .query("pageAction", "first"),
                Target::Entity(path) => Call::get(path.as_str())
                    .query("page", "1")
                    .query("pageSize", "1"),
            };
            let outcome = self.call(&call).await;
            (target, Some(outcome))
        });
        join_all(checks)
            .await
            .into_iter()
            .map(|(target, outcome)| {
                let status = match outcome {
                    None => EntityStatus::Unchecked,
                    Some(Ok(_)) => EntityStatus::Ok,
                    Some(Err(e @ (Error::Auth { .. } | Error::LoginBlocked))) => return Err(e),
                    Some(Err(e)) => classify(&e),
                };
                Ok(Validation { target, status })
            })
            .collect()
    }
}

fn classify(error: &Error) -> EntityStatus {
    let has_code = |code: &str| {
        error
            .field_errors()
            .iter()
            .any(|f| f.code.as_deref() == Some(code))
    };
    match error.status() {
        Some(404) => EntityStatus::NotFound,
        Some(403) => EntityStatus::Forbidden,
        _ if has_code("404") => EntityStatus::NotFound,
        _ if has_code("403") => EntityStatus::Forbidden,
        status => EntityStatus::Other(status, error.to_string()),
    }
}
