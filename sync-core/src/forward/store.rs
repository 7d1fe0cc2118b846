//! Store-first setup: the e-commerce store exists, is linked to the configured audience, and
//! says `is_syncing` while a backfill runs.

use mailchimp_client::ecommerce::{EnsureOutcome, NewStore, StoreId, StoreUpdate};
use mailchimp_client::ListId;

use crate::config::StoreConfig;
use crate::error::{Result, SyncError};
use crate::model::TargetSystem;
use crate::report::CallLog;

fn spec(store: &StoreConfig, list_id: &str, syncing: bool) -> NewStore {
    let mut spec = NewStore::new(
        StoreId::from(store.id.as_str()),
        ListId::from(list_id),
        store.name.clone(),
        store.currency_code.clone(),
    );
    spec.platform = Some(store.platform.clone());
    spec.domain.clone_from(&store.domain);
    spec.is_syncing = Some(syncing);
    spec
}

fn client_error(err: mailchimp_client::Error) -> SyncError {
    match err {
        mailchimp_client::Error::StoreLinkedToOtherAudience { .. } => SyncError::Config {
            what: err.to_string(),
        },
        other => SyncError::Client {
            system: TargetSystem::Mailchimp,
            source: Box::new(other),
        },
    }
}

/// Makes sure the store exists as configured, with `is_syncing` set to `syncing`: one `GET`, and
/// a create or patch only when something differs.
///
/// # Errors
///
/// [`SyncError::Config`] when the store is linked to another audience; [`SyncError::Client`]
/// when a call fails.
pub(crate) async fn ensure(
    client: &mailchimp_client::Client,
    store: &StoreConfig,
    list_id: &str,
    syncing: bool,
    calls: &CallLog,
) -> Result<()> {
    calls.count("mailchimp store get");
    let ensured = client
        .ecommerce()
        .ensure_store(&spec(store, list_id, syncing))
        .await
        .map_err(client_error)?;
    match ensured.outcome {
        EnsureOutcome::Created => calls.count("mailchimp store_create"),
        EnsureOutcome::Patched(_) => calls.count("mailchimp store_patch"),
        _ => {}
    }
    Ok(())
}

/// Checks the store in a dry run: read only. Returns whether it exists.
///
/// # Errors
///
/// As [`ensure`], without writing.
pub(crate) async fn check(
    client: &mailchimp_client::Client,
    store: &StoreConfig,
    list_id: &str,
    calls: &CallLog,
) -> Result<bool> {
    calls.count("mailchimp store get");
    match client
        .ecommerce()
        .store(&StoreId::from(store.id.as_str()))
        .get()
        .send()
        .await
    {
        Ok(found) if found.list_id.as_str() != list_id => Err(SyncError::Config {
            what: format!(
                "e-commerce store {} is linked to audience {}, not the configured {list_id}; a store's audience cannot change",
                store.id, found.list_id
            ),
        }),
        Ok(_) => Ok(true),
        Err(err) if err.is_not_found() => Ok(false),
        Err(err) => Err(client_error(err)),
    }
}

/// Ends a backfill: `is_syncing` back to false.
///
/// # Errors
///
/// [`SyncError::Client`] when the call fails.
pub(crate) async fn end_backfill(
    client: &mailchimp_client::Client,
    store: &StoreConfig,
    calls: &CallLog,
) -> Result<()> {
    calls.count("mailchimp store_patch");
    client
        .ecommerce()
        .store(&StoreId::from(store.id.as_str()))
        .update(&StoreUpdate::syncing(false))
        .await
        .map(|_| ())
        .map_err(client_error)
}
