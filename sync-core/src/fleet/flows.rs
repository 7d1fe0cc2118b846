//! The flows a worker runs for one held pair, built from its stored configuration the way
//! `ml-connector run` builds them from the file: the forward sync with its lifecycle scan and
//! consent write-back, orders (Mailchimp → QAD attribution) and sales orders (QAD → the Mailchimp store). Every
//! flow is handed the same claim-fenced state store, so each of their page commits checks the
//! worker's claim on the pair's account.

use std::sync::Arc;

use mailchimp_client::ConcurrencyLimit;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use super::pair::RegisteredPair;
use crate::consent::ConsentWriteBack;
use crate::error::{Result, SyncError};
use crate::forward::{ForwardSync, RunOptions};
use crate::lifecycle::{LifecycleOptions, LifecycleSync};
use crate::model::{ObjectKind, RunStatus, RunTrigger};
use crate::orders::OrdersSync;
use crate::sales_orders::{SalesOrdersConfig, SalesOrdersSync};
use crate::state::{LeasePolicy, StateStore};
use crate::vault::{MailchimpAuth, QadAuthKind};

/// One pair's engines. Flows the configuration does not schedule are not built.
#[derive(Debug)]
pub(super) struct PairFlows {
    forward: ForwardSync,
    lifecycle: Option<LifecycleSync>,
    /// The consent write-back, run after each completed customers run when enabled.
    consent: Option<ConsentWriteBack>,
    orders: Option<OrdersSync>,
    sales_orders: Option<SalesOrdersSync>,
}

/// What one slice of a flow did, as the worker books it.
#[derive(Debug)]
pub(super) struct Slice {
    /// Completed, cancelled (work left: the slice ended or the worker stops) or aborted.
    pub status: RunStatus,
    /// Records read (QAD records, or Mailchimp orders).
    pub read: u64,
    /// Mailchimp writes made.
    pub mailchimp_writes: u64,
    /// Orders attributed in QAD.
    pub qad_writes: u64,
    /// The lifecycle scan run after a completed forward run: `Some(true)` when it completed.
    pub scan: Option<bool>,
    /// The consent write-back pass run after a completed customers run: `Some(true)` when it
    /// completed with no failed write.
    pub consent: Option<bool>,
    /// Consent records the pass wrote to QAD.
    pub consent_writes: u64,
}

impl Slice {
    fn new(status: RunStatus, read: u64) -> Self {
        Self {
            status,
            read,
            mailchimp_writes: 0,
            qad_writes: 0,
            scan: None,
            consent: None,
            consent_writes: 0,
        }
    }
}

impl PairFlows {
    /// Builds the pair's clients (Mailchimp's sharing the account's `limit`) and the flows its
    /// objects name, all over `state` and holding their leases under `lease`.
    pub(super) async fn new(
        pair: &RegisteredPair,
        limit: &ConcurrencyLimit,
        state: &Arc<dyn StateStore>,
        lease: &LeasePolicy,
    ) -> Result<Self> {
        let config = &pair.config;
        config.validate()?;
        let mailchimp = mailchimp(pair, limit).await?;
        let qad = qad(pair)?;
        let runs = |object| config.objects.iter().any(|o| o.object == object);
        let forward = ForwardSync::new(
            config.sync.clone(),
            mailchimp.clone(),
            qad.clone(),
            Arc::clone(state),
        )?
        .with_lease_policy(lease.clone());
        let lifecycle = match &config.sync.lifecycle {
            Some(_) => Some(
                LifecycleSync::new(
                    config.sync.clone(),
                    mailchimp.clone(),
                    qad.clone(),
                    Arc::clone(state),
                )?
                .with_lease_policy(lease.clone()),
            ),
            None => None,
        };
        let consent = (config.consent.enabled && runs(ObjectKind::Customers)).then(|| {
            ConsentWriteBack::new(config.consent.settings(), qad.clone(), Arc::clone(state))
        });
        let orders = if runs(ObjectKind::Orders) {
            Some(
                OrdersSync::new(
                    mailchimp.clone(),
                    qad.clone(),
                    Arc::clone(state),
                    config.orders_config()?,
                )
                .with_lease_policy(lease.clone()),
            )
        } else {
            None
        };
        let sales_orders = match (&config.sync.store, runs(ObjectKind::SalesOrders)) {
            (Some(store), true) => Some(
                SalesOrdersSync::new(
                    mailchimp,
                    qad,
                    Arc::clone(state),
                    SalesOrdersConfig::from_settings(store.id.as_str(), &config.sales_orders),
                )
                .with_lease_policy(lease.clone()),
            ),
            _ => None,
        };
        Ok(Self {
            forward,
            lifecycle,
            consent,
            orders,
            sales_orders,
        })
    }

    /// Runs one slice of `object`: at most `max_pages` pages of a forward run (then the
    /// lifecycle scan when it completed and the scan is due), or a whole orders or sales-orders
    /// run; all stop at their next page boundary when `cancel` fires.
    pub(super) async fn run(
        &self,
        object: ObjectKind,
        max_pages: u64,
        cancel: CancellationToken,
    ) -> Result<Slice> {
        match object {
            ObjectKind::Orders => {
                let orders = self.orders.as_ref().ok_or_else(|| not_built(object))?;
                let report = orders.run(RunTrigger::Scheduled, &cancel).await?;
                Ok(Slice {
                    qad_writes: report.posted,
                    ..Slice::new(status(report.cancelled), report.read)
                })
            }
            ObjectKind::SalesOrders => {
                let sales = self
                    .sales_orders
                    .as_ref()
                    .ok_or_else(|| not_built(object))?;
                let report = sales.run(RunTrigger::Scheduled, &cancel).await?;
                Ok(Slice {
                    mailchimp_writes: report.counts.created + report.counts.updated,
                    ..Slice::new(status(report.cancelled), report.read)
                })
            }
            _ => {
                let options = RunOptions::new()
                    .trigger(RunTrigger::Scheduled)
                    .max_pages(max_pages)
                    .cancel(cancel.clone());
                let report = self.forward.run(object, options).await?;
                let mut slice = Slice {
                    mailchimp_writes: report.mailchimp_writes(),
                    ..Slice::new(report.status, report.read)
                };
                if report.status == RunStatus::Completed && !cancel.is_cancelled() {
                    slice.scan = self.scan_if_due(object).await;
                    if object == ObjectKind::Customers {
                        self.consent_pass(&mut slice).await;
                    }
                }
                Ok(slice)
            }
        }
    }

    /// The lifecycle scan of `object` when one is configured and due; its failure is logged
    /// (and audited by the scan itself), never the forward run's.
    async fn scan_if_due(&self, object: ObjectKind) -> Option<bool> {
        let lifecycle = self.lifecycle.as_ref()?;
        match lifecycle.is_due(object, chrono::Utc::now()).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(err) => {
                tracing::warn!(%object, "cannot tell whether the lifecycle scan is due: {err}");
                return Some(false);
            }
        }
        match lifecycle.run(object, LifecycleOptions::new()).await {
            Ok(report) => Some(report.failed == 0),
            Err(err) => {
                tracing::warn!(%object, "lifecycle scan failed: {err}");
                Some(false)
            }
        }
    }
}

impl PairFlows {
    /// One consent write-back pass when the pair has one; its failure is logged (failed writes are audited by the pass), never the forward run's.
    async fn consent_pass(&self, slice: &mut Slice) {
        let Some(consent) = &self.consent else {
            return;
        };
        match consent.run(false).await {
            Ok(report) => {
                slice.consent_writes = report.written;
                slice.consent = Some(report.failed == 0);
            }
            Err(err) => {
                tracing::warn!("consent write-back failed: {err}");
                slice.consent = Some(false);
            }
        }
    }
}

fn status(cancelled: bool) -> RunStatus {
    if cancelled {
        RunStatus::Cancelled
    } else {
        RunStatus::Completed
    }
}

fn not_built(object: ObjectKind) -> SyncError {
    SyncError::Config {
        what: format!("the pair's configuration does not run {object}"),
    }
}

/// The pair's Mailchimp client, sharing `limit` with the other pairs of its account.
async fn mailchimp(
    pair: &RegisteredPair,
    limit: &ConcurrencyLimit,
) -> Result<mailchimp_client::Client> {
    let creds = pair
        .credentials
        .mailchimp
        .as_ref()
        .ok_or_else(|| SyncError::Config {
            what: format!("tenant pair {:?} has no Mailchimp credentials", pair.id),
        })?;
    let credentials = match &creds.auth {
        MailchimpAuth::ApiKey(key) => mailchimp_client::Credentials::api_key(key.expose_secret()),
        MailchimpAuth::OAuthToken(token) => {
            mailchimp_client::Credentials::oauth_token(token.expose_secret())
        }
    };
    let mut builder = mailchimp_client::Client::builder(credentials).shared_limit(limit.clone());
    if let Some(url) = &creds.base_url {
        builder = builder.base_url(url.as_str().trim_end_matches('/'));
    }
    builder.build().await.map_err(SyncError::mailchimp)
}

/// The pair's QAD client, with its stored settings (browses, behaviour, timeout …).
fn qad(pair: &RegisteredPair) -> Result<qad_client::Client> {
    let creds = pair
        .credentials
        .qad
        .as_ref()
        .ok_or_else(|| SyncError::Config {
            what: format!("tenant pair {:?} has no QAD credentials", pair.id),
        })?;
    let password = creds.password.clone();
    let credentials = match creds.auth_kind {
        QadAuthKind::FormLogin => {
            qad_client::Credentials::form_login(creds.username.clone(), password)
        }
        QadAuthKind::OAuthPassword => {
            let client_id = creds.client_id.clone().ok_or_else(|| SyncError::Config {
                what: format!("tenant pair {:?}: QAD OAuth needs a client id", pair.id),
            })?;
            qad_client::Credentials::oauth_password(client_id, creds.username.clone(), password)
        }
    };
    let mut builder = qad_client::Client::builder()
        .tenant_url(creds.tenant_url.as_str())
        .credentials(credentials)
        .domain(creds.domain.as_str());
    if let Some(entity) = &creds.entity {
        builder = builder.entity(entity.as_str());
    }
    builder = pair.config.qad.apply(builder)?;
    builder = builder.consent(pair.config.consent.qad_config()?);
    builder.build().map_err(SyncError::qad)
}
