//! Store-first setup: the e-commerce store exists, is linked to the configured audience, and
//! says `is_syncing` while a backfill runs.

use mailchimp_client::ecommerce::{EnsureOutcome, NewStore, StoreId, StoreUpdate};
use mailchimp_client::ListId;

use crate::config::StoreConfig;
use crate::error::{Result, SyncError};
use crate::report::CallLog;

fn spec(store: &StoreConfig, list_id: &str, tenant: &str, syncing: bool) -> NewStore {
    let mut spec = NewStore::new(
        StoreId::from(store.id.as_str()),
        ListId::from(list_id),
        store.name.clone(),
        store.currency_code.clone(),
    );
    spec.platform = Some(platform_label(&store.platform, tenant));
    spec.domain.clone_from(&store.domain);
    spec.is_syncing = Some(syncing);
    spec
}

/// The store's `platform`, naming the QAD tenant that feeds it: `QAD (https://acme.qad.example/clouderp)`.
/// Mailchimp keeps the field as written, so a connector of another tenant (a staging copy pointed
/// at the live store) can see that the store is not its own.
fn platform_label(platform: &str, tenant: &str) -> String {
    format!("{platform} ({})", tenant.trim_end_matches('/'))
}

/// The tenant a store's `platform` names, when it names one ([`platform_label`]).
fn named_tenant(platform: &str) -> Option<&str> {
    let (_, tenant) = platform.strip_suffix(')')?.rsplit_once(" (")?;
    tenant.starts_with("http").then_some(tenant)
}

/// Whether this connector (`tenant`) may write to the existing store whose `platform` is
/// `existing`: yes when it names this tenant, or when it is unmarked and says `store.platform`
/// (written by a build that did not mark the tenant) or nothing; otherwise only with
/// `store.take_over`.
fn may_write(store: &StoreConfig, tenant: &str, existing: Option<&str>) -> Result<(), String> {
    let ours = platform_label(&store.platform, tenant);
    let existing = existing.map(str::trim).unwrap_or_default();
    if store.take_over || existing == ours || existing.is_empty() || existing == store.platform {
        return Ok(());
    }
    let owner = match named_tenant(existing) {
        Some(other) => format!(
            "is fed by the QAD tenant {other}, not {}",
            tenant.trim_end_matches('/')
        ),
        None => format!("belongs to the platform \"{existing}\""),
    };
    Err(format!(
        "the store {owner} (a staging system pointed at the live store?); nothing is written to it. \
         Set `take_over = true` under the store's configuration to make this tenant its source"
    ))
}

fn client_error(err: mailchimp_client::Error) -> SyncError {
    match err {
        mailchimp_client::Error::StoreLinkedToOtherAudience { .. }
        | mailchimp_client::Error::StoreRefused { .. } => SyncError::Config {
            what: err.to_string(),
        },
        other => SyncError::mailchimp(other),
    }
}

/// Makes sure the store exists as configured, with `is_syncing` set to `syncing` and its
/// `platform` naming the QAD `tenant`: one `GET`, and a create or patch only when something
/// differs.
///
/// # Errors
///
/// [`SyncError::Config`] when the store is linked to another audience, or is fed by another
/// tenant or platform (unless `take_over`); [`SyncError::Client`] when a call fails.
pub(crate) async fn ensure(
    client: &mailchimp_client::Client,
    store: &StoreConfig,
    list_id: &str,
    tenant: &str,
    syncing: bool,
    calls: &CallLog,
) -> Result<()> {
    calls.count("mailchimp store get");
    let ensured = client
        .ecommerce()
        .ensure_store_checked(&spec(store, list_id, tenant, syncing), |found| {
            may_write(store, tenant, found.platform.as_deref())
        })
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
    tenant: &str,
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
        Ok(found) => may_write(store, tenant, found.platform.as_deref())
            .map(|()| true)
            .map_err(|reason| SyncError::Config {
                what: format!("e-commerce store {} was not written: {reason}", store.id),
            }),
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

#[cfg(test)]
mod tests {
    use super::{may_write, named_tenant, platform_label};
    use crate::config::StoreConfig;

    const OURS: &str = "https://acme.qad.example/clouderp/";
    const STAGING: &str = "https://acme-test.qad.example/clouderp";

    #[test]
    fn the_platform_names_the_tenant_and_only_its_own_or_an_unmarked_store_is_written() {
        let store = StoreConfig::new("acme-eu", "Acme EU", "EUR");
        let label = platform_label("QAD", OURS);
        assert_eq!(label, "QAD (https://acme.qad.example/clouderp)");
        assert_eq!(
            named_tenant(&label),
            Some("https://acme.qad.example/clouderp")
        );
        assert_eq!(named_tenant("QAD"), None);

        assert!(may_write(&store, OURS, Some(&label)).is_ok());
        assert!(
            may_write(&store, OURS, Some("QAD")).is_ok(),
            "an older build's label"
        );
        assert!(may_write(&store, OURS, None).is_ok());
        let other = may_write(&store, OURS, Some(&platform_label("QAD", STAGING))).unwrap_err();
        assert!(
            other.contains(STAGING) && other.contains("take_over"),
            "{other}"
        );
        let foreign = may_write(&store, OURS, Some("WooCommerce")).unwrap_err();
        assert!(foreign.contains("WooCommerce"), "{foreign}");

        let mut taking = store.clone();
        taking.take_over = true;
        assert!(may_write(&taking, OURS, Some(&platform_label("QAD", STAGING))).is_ok());
    }
}
