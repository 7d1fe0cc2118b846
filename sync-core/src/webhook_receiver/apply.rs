//! What each audience event changes in the sync state.

use mailchimp_client::webhooks::{
    CleanedReason, FormMap, FormValue, UnsubscribeAction, WebhookDelivery, WebhookEvent,
};
use serde_json::{json, Map, Value};

use crate::audit::NewAuditRow;
use crate::error::Result;
use crate::model::{
    normalize_email, IdMapping, MemberStatus, MemberStatusRecord, ObjectKind, Outcome, RunId,
};
use crate::state::{StateBatch, StateStore};

/// A decoded form as JSON, for the audit payload.
fn form_json(map: &FormMap) -> Value {
    Value::Object(
        map.iter()
            .map(|(key, value)| {
                let value = match value {
                    FormValue::Text(text) => Value::String(text.clone()),
                    FormValue::Map(inner) => form_json(inner),
                };
                (key.clone(), value)
            })
            .collect::<Map<String, Value>>(),
    )
}

fn remember(batch: StateBatch, email: &str, status: MemberStatus, reason: String) -> StateBatch {
    batch.remember_member_status(MemberStatusRecord::new(email, status, Some(reason)))
}

/// The state changes and the audit row of one new (not duplicate) delivery.
///
/// - `subscribe` remembers the member as subscribed (a member who came back may be pushed again);
/// - `unsubscribe` remembers it as unsubscribed (also when an admin deleted it), so it is not
///   pushed again;
/// - `cleaned` remembers it as cleaned;
/// - `upemail` moves the member id-map entries of the old address to the new one and carries the
///   remembered status over;
/// - `profile` is recorded in the audit trail only (QAD stays the source of profile data);
/// - other types are recorded as skipped.
pub(crate) async fn apply_event(
    delivery: &WebhookDelivery,
    key: &str,
    run: RunId,
    state: &dyn StateStore,
) -> Result<StateBatch> {
    let mut batch = StateBatch::new();
    let data = delivery
        .fields()
        .get("data")
        .and_then(FormValue::as_map)
        .map(form_json)
        .unwrap_or(Value::Null);
    let mut payload = json!({
        "type": delivery.event_type(),
        "fired_at": delivery.fired_at().format("%Y-%m-%d %H:%M:%S").to_string(),
        "data": data,
    });
    let (outcome, note) = match delivery.event() {
        WebhookEvent::Subscribe(member) => {
            batch = remember(
                batch,
                &member.email,
                MemberStatus::Subscribed,
                "subscribe webhook".into(),
            );
            (Outcome::Updated, None)
        }
        WebhookEvent::Unsubscribe(event) => {
            let reason = match &event.action {
                UnsubscribeAction::Delete => "deleted in Mailchimp".to_owned(),
                _ => format!(
                    "unsubscribed ({})",
                    event.reason.as_deref().unwrap_or("no reason given")
                ),
            };
            batch = remember(
                batch,
                &event.member.email,
                MemberStatus::Unsubscribed,
                reason,
            );
            (Outcome::Updated, None)
        }
        WebhookEvent::Cleaned(event) => {
            let reason = match &event.reason {
                CleanedReason::HardBounce => "cleaned: hard bounce".to_owned(),
                CleanedReason::Abuse => "cleaned: abuse report".to_owned(),
                CleanedReason::Other(other) => format!("cleaned: {other}"),
                _ => "cleaned".to_owned(),
            };
            batch = remember(batch, &event.email, MemberStatus::Cleaned, reason);
            (Outcome::Updated, None)
        }
        WebhookEvent::EmailChanged(event) => {
            let old = normalize_email(&event.old_email);
            let new = normalize_email(&event.new_email);
            let mut keys = state.source_keys(ObjectKind::Members, &old).await?;
            if event.old_email != old {
                keys.extend(
                    state
                        .source_keys(ObjectKind::Members, &event.old_email)
                        .await?,
                );
            }
            keys.sort();
            keys.dedup();
            for source_key in &keys {
                batch = batch.map_id(IdMapping::new(ObjectKind::Members, source_key, &new));
            }
            if let Some(known) = state
                .member_statuses(std::slice::from_ref(&old))
                .await?
                .remove(&old)
            {
                batch = batch.remember_member_status(MemberStatusRecord::new(
                    &new,
                    known.status,
                    Some(format!("carried over from {old} by upemail webhook")),
                ));
            }
            payload["remapped_source_keys"] = json!(keys);
            let outcome = if keys.is_empty() {
                Outcome::Unchanged
            } else {
                Outcome::Updated
            };
            (
                outcome,
                keys.is_empty()
                    .then(|| "no member id-map entry for the old address".to_owned()),
            )
        }
        WebhookEvent::Profile(_) => (
            Outcome::Skipped,
            Some("profile change recorded; QAD remains the source of profile data".to_owned()),
        ),
        _ => (
            Outcome::Skipped,
            Some(format!(
                "event type {} is not used by the connector",
                delivery.event_type()
            )),
        ),
    };
    let mut row = NewAuditRow::new(run, ObjectKind::WebhookEvents, key, outcome).payload(payload);
    if let Some(note) = note {
        row = row.error(note);
    }
    Ok(batch.audit(row))
}
