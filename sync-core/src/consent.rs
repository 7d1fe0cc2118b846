//! Consent and bounces back to QAD: each customer's marketing status as Mailchimp knows it
//! (subscribed, unsubscribed, cleaned, with the date it was learned) written to a configured QAD
//! entity ([`qad_client::ConsentConfig`], the same validated entity-path mechanism and
//! duplicate-becomes-update rule as order attribution).
//!
//! The statuses come from the state store's remembered member statuses, which the webhook
//! receiver keeps current (subscribe, unsubscribe, cleaned, email change) and the forward sync's
//! audience reads and refused writes add to (unsubscribed, cleaned, compliance state). A pass
//! ([`ConsentWriteBack::run`]) walks them a page at a time, finds the QAD customers of each
//! address in the id map (several when customers share it), and writes a record for each
//! customer whose status differs from the last one written (a content hash per customer, over
//! the address and status): so each change is written exactly once, a re-run writes nothing, and
//! a write that failed is written by the next pass. Every write leaves an audit row (object
//! [`ObjectKind::Consents`], target [`TargetRecord::Consent`]); a later success supersedes a
//! failed row of the same customer. QAD stays the source of everything else.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::audit::{Method, NewAuditRow, RunStart, TargetOperation};
use crate::error::{Result, SyncError};
use crate::hash::content_hash;
use crate::model::{
    MemberStatus, MemberStatusRecord, ObjectKind, Outcome, RunId, RunStatus, RunTrigger,
    TargetRecord, TargetSystem,
};
use crate::state::{StateBatch, StateStore};

/// Member statuses walked (and customers written) at a time.
const PAGE: u32 = 500;

/// The consent write-back settings (the entity is the QAD client's
/// [`ConsentConfig`](qad_client::ConsentConfig)).
///
/// ```
/// use sync_core::consent::ConsentSettings;
/// use sync_core::MemberStatus;
///
/// let settings: ConsentSettings = toml::from_str(r#"statuses = ["unsubscribed", "cleaned"]"#).unwrap();
/// assert!(!settings.statuses.contains(&MemberStatus::Subscribed));
/// assert_eq!(ConsentSettings::default().statuses.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsentSettings {
    /// The statuses written back (default subscribed, unsubscribed and cleaned).
    pub statuses: Vec<MemberStatus>,
}

impl Default for ConsentSettings {
    fn default() -> Self {
        Self {
            statuses: vec![
                MemberStatus::Subscribed,
                MemberStatus::Unsubscribed,
                MemberStatus::Cleaned,
            ],
        }
    }
}

/// The report of one write-back pass.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ConsentReport {
    /// The pass's run (trigger manual; none in a dry run).
    pub run_id: Option<RunId>,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Remembered statuses read.
    pub statuses: u64,
    /// Customer records written (or, in a dry run, to write).
    pub written: u64,
    /// Customer records already holding their status: no call.
    pub unchanged: u64,
    /// Writes that failed (written by the next pass) or that QAD refused (audited with QAD's
    /// field errors; not sent again until the status changes).
    pub failed: u64,
    /// Remembered addresses no QAD customer is mapped to.
    pub unmapped: u64,
}

impl fmt::Display for ConsentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.dry_run { " (dry run)" } else { "" };
        write!(
            f,
            "consent write-back{mode}: {} statuses, {} written, {} unchanged, {} failed, {} \
             addresses of no mapped customer",
            self.statuses, self.written, self.unchanged, self.failed, self.unmapped
        )
    }
}

/// Writes members' marketing statuses back to QAD (see the [module docs](self)).
///
/// ```no_run
/// # async fn run(qad: qad_client::Client, state: std::sync::Arc<dyn sync_core::StateStore>)
/// #              -> sync_core::Result<()> {
/// use sync_core::consent::{ConsentSettings, ConsentWriteBack};
///
/// let report = ConsentWriteBack::new(ConsentSettings::default(), qad, state).run(false).await?;
/// println!("{report}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ConsentWriteBack {
    settings: ConsentSettings,
    qad: qad_client::Client,
    state: Arc<dyn StateStore>,
}

impl fmt::Debug for ConsentWriteBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsentWriteBack")
            .field("settings", &self.settings)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// What a customer's record is compared by: the address and status, not the date (a status
/// learned again is not a change).
#[derive(Serialize)]
struct Compared<'a> {
    email: &'a str,
    status: MemberStatus,
}

impl ConsentWriteBack {
    /// A write-back through `qad` (its `ConsentConfig` names the entity) over `state`.
    #[must_use]
    pub fn new(
        settings: ConsentSettings,
        qad: qad_client::Client,
        state: Arc<dyn StateStore>,
    ) -> Self {
        Self {
            settings,
            qad,
            state,
        }
    }

    /// One pass over every remembered status; `dry_run` counts what would be written and
    /// writes and stores nothing.
    ///
    /// # Errors
    ///
    /// [`SyncError::State`] when the state store fails (pages committed before stay
    /// committed). A write QAD refuses, or that fails, is not an error: it is audited, counted
    /// and written by the next pass.
    pub async fn run(&self, dry_run: bool) -> Result<ConsentReport> {
        let mut report = ConsentReport {
            dry_run,
            ..ConsentReport::default()
        };
        let run_id = if dry_run {
            None
        } else {
            let start = RunStart::new(vec![ObjectKind::Consents], RunTrigger::Manual);
            self.state.start_run(&start).await?;
            Some(start.id)
        };
        report.run_id = run_id;
        let result = self.pass(run_id, &mut report).await;
        if let Some(id) = run_id {
            let (status, error) = match &result {
                Ok(()) => (RunStatus::Completed, None),
                Err(err) => (RunStatus::Aborted, Some(err.to_string())),
            };
            if let Err(err) = self.state.finish_run(id, status, error).await {
                tracing::warn!("could not record the end of the consent write-back: {err}");
            }
        }
        result.map(|()| report)
    }

    async fn pass(&self, run_id: Option<RunId>, report: &mut ConsentReport) -> Result<()> {
        let mut after: Option<String> = None;
        loop {
            let page = self
                .state
                .member_status_page(after.as_deref(), PAGE)
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.email.clone());
            report.statuses += page.len() as u64;
            let wanted: Vec<MemberStatusRecord> = page
                .into_iter()
                .filter(|r| self.settings.statuses.contains(&r.status))
                .collect();
            let emails: Vec<String> = wanted.iter().map(|r| r.email.clone()).collect();
            let customers = self.customers_of(&emails).await?;
            let mut due = Vec::new();
            for record in &wanted {
                let Some(keys) = customers.get(&record.email) else {
                    report.unmapped += 1;
                    continue;
                };
                let hash = content_hash(&Compared {
                    email: &record.email,
                    status: record.status,
                })?;
                due.extend(keys.iter().map(|key| (key.clone(), record, hash.clone())));
            }
            let keys: Vec<String> = due.iter().map(|(key, _, _)| key.clone()).collect();
            let stored = self.state.hashes(ObjectKind::Consents, &keys).await?;
            let changed: Vec<_> = due
                .into_iter()
                .filter(|(key, _, hash)| stored.get(key) != Some(hash))
                .collect();
            report.unchanged += (keys.len() - changed.len()) as u64;
            let Some(run_id) = run_id else {
                report.written += changed.len() as u64;
                continue;
            };
            let mut batch = StateBatch::new();
            for (key, record, hash) in changed {
                let (row, written) = self.write(run_id, &key, record).await?;
                if row.outcome.is_success() {
                    report.written += 1;
                } else {
                    report.failed += 1;
                }
                if written {
                    batch = batch.put_hash(ObjectKind::Consents, key, hash);
                }
                batch = batch.audit(row);
            }
            self.state.apply(batch).await?;
        }
    }

    /// The QAD customers of each address: those mapped to its member, and those whose member
    /// write was skipped for its status (linked by the forward sync under
    /// [`ObjectKind::Consents`], as they own no member), each once, in key order.
    async fn customers_of(&self, emails: &[String]) -> Result<HashMap<String, Vec<String>>> {
        let mut customers = self
            .state
            .source_keys_of(ObjectKind::Members, emails)
            .await?;
        let linked = self
            .state
            .source_keys_of(ObjectKind::Consents, emails)
            .await?;
        for (email, keys) in linked {
            let known = customers.entry(email).or_default();
            known.extend(keys);
            known.sort_unstable();
            known.dedup();
        }
        Ok(customers)
    }

    /// Writes one customer's record; the audit row and whether it was written.
    async fn write(
        &self,
        run_id: RunId,
        customer: &str,
        status: &MemberStatusRecord,
    ) -> Result<(NewAuditRow, bool)> {
        let record = qad_client::ConsentRecord {
            customer_code: customer.into(),
            email: status.email.clone(),
            marketing_status: status.status.as_str().to_owned(),
            status_date: status.recorded_at,
            source: status
                .reason
                .clone()
                .unwrap_or_else(|| "mailchimp".to_owned()),
        };
        let payload = serde_json::to_value(&record).map_err(|source| {
            SyncError::from(crate::StateError::Encode {
                what: "consent record",
                source,
            })
        })?;
        let entity = self.qad.consent().entity().as_str().to_owned();
        let started = Utc::now();
        let result = self.qad.consent().post(&record).await;
        let (outcome, error) = match result {
            Ok(qad_client::WriteOutcome::Created) => (Outcome::Created, None),
            Ok(_) => (Outcome::Updated, None),
            // QAD refused the content (a 5xx answer is the tenant failing, not a refusal).
            Err(qad_client::Error::Rejected { status, errors }) if status < 500 => (
                Outcome::Rejected,
                Some(
                    errors
                        .iter()
                        .map(|e| match &e.field_name {
                            Some(field) => format!("{field}: {}", e.message),
                            None => e.message.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ),
            Err(err) => (Outcome::Failed, Some(err.to_string())),
        };
        // A refused record is not sent again until the status changes (sending it again cannot
        // help, and each attempt would leave a row); a failed one is sent by the next pass.
        let written = outcome.is_success() || outcome == Outcome::Rejected;
        let mut row = NewAuditRow::new(run_id, ObjectKind::Consents, customer, outcome)
            .target(TargetRecord::Consent)
            .operation(TargetOperation::new(
                TargetSystem::Qad,
                Method::Post,
                entity,
            ))
            .payload(payload)
            .attempts(1)
            .times(started, Utc::now());
        if let Some(error) = error {
            row = row.error(error);
        }
        Ok((row, written))
    }
}
