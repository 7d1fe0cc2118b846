//! The audience's merge fields, read once per run before the first member write (and by
//! `ml-connector connect`): a mapping that names a tag the audience lacks is a configuration
//! error found before anything is written, and each mapped member is then checked against the
//! fields ([`check_member_merge_fields`](crate::mapping::check_member_merge_fields)), so a bad
//! value rejects its own record with the field named instead of failing at Mailchimp.

use mailchimp_client::{ListId, MergeField};

use crate::error::{Result, SyncError};
use crate::mapping::{missing_merge_tags, CustomerMapping};
use crate::report::CallLog;

/// More than any audience has (Mailchimp allows 30 merge fields, 80 on its top plan), so one
/// page holds them all.
const PAGE: u32 = 1000;

/// Reads the merge fields of audience `list_id` (one call) and checks that `mapping` writes only
/// tags the audience defines.
///
/// # Errors
///
/// [`SyncError::UnknownMergeTags`] naming the mapped tags the audience lacks;
/// [`SyncError::Client`] when the read fails.
///
/// ```no_run
/// # async fn run(client: mailchimp_client::Client) -> sync_core::Result<()> {
/// use sync_core::mapping::MappingConfig;
///
/// let mapping = MappingConfig::default();
/// let fields = sync_core::forward::audience_merge_fields(&client, "a1b2c3", &mapping.customer).await?;
/// println!("{} merge fields", fields.len());
/// # Ok(()) }
/// ```
pub async fn audience_merge_fields(
    client: &mailchimp_client::Client,
    list_id: &str,
    mapping: &CustomerMapping,
) -> Result<Vec<MergeField>> {
    let fields = client
        .list(&ListId::from(list_id))
        .merge_fields()
        .list()
        .count(PAGE)
        .send()
        .await
        .map_err(SyncError::mailchimp)?
        .items;
    let tags = missing_merge_tags(mapping, &fields);
    if !tags.is_empty() {
        return Err(SyncError::UnknownMergeTags {
            list_id: list_id.to_owned(),
            tags,
        });
    }
    Ok(fields)
}

/// [`audience_merge_fields`] for a run, counted in its call log.
pub(crate) async fn for_run(
    client: &mailchimp_client::Client,
    list_id: &str,
    mapping: &CustomerMapping,
    calls: &CallLog,
) -> Result<Vec<MergeField>> {
    calls.count("mailchimp merge_fields get");
    audience_merge_fields(client, list_id, mapping).await
}
