//! `run`: every object on its cadence, and the webhook receiver, until Ctrl-C.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use mailchimp_client::ListId;
use secrecy::{ExposeSecret, SecretString};
use sync_core::consent::ConsentWriteBack;
use sync_core::forward::{ForwardSync, RunOptions};
use sync_core::lifecycle::LifecycleSync;
use sync_core::orders::OrdersSync;
use sync_core::sales_orders::SalesOrdersSync;
use sync_core::schedule::{Cadence, JobContext, Scheduler};
use sync_core::webhook_receiver::{register_webhook, serve, ReceiverConfig, ReceiverHandle};
use sync_core::{ObjectKind, RunStatus, RunTrigger};
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, RunArgs};
use crate::config::WebhookSection;
use crate::connection::{Connection, Setup};
use crate::error::{chain, sync_err, AppError, AppResult};
use crate::exit::{scheduled_hint, Exit};
use crate::ops_endpoints::{Ops, RunOutcome};
use crate::output::{failed_records, page_summary};

/// The engines a scheduled job dispatches to.
#[derive(Debug)]
struct Engines {
    forward: ForwardSync,
    orders: Option<OrdersSync>,
    sales_orders: Option<SalesOrdersSync>,
    /// The lifecycle scan, run after a forward run of its object when due.
    lifecycle: Option<LifecycleSync>,
    /// The consent write-back, run after each customers run.
    consent: Option<ConsentWriteBack>,
    qad: qad_client::Client,
    setup: Setup,
    /// What `/healthz` and `/metrics` report.
    ops: Ops,
}

/// How one run of one object ended, for `run --once`'s exit status.
#[derive(Debug, Clone, Copy, Default)]
struct RunEnd {
    /// Records whose write failed (queued for replay).
    failed: u64,
    /// Whether the run did not happen or did not finish (lockout, abort).
    incomplete: bool,
}

impl Engines {
    /// Runs one object and tells [`Ops`] how it went.
    async fn run(&self, ctx: JobContext) -> sync_core::Result<RunEnd> {
        let object = ctx.object;
        let end = self.run_object(ctx).await;
        if let Err(err) = &end {
            self.ops.run_ended(object, RunOutcome::of_error(err));
        }
        end
    }

    async fn run_object(&self, ctx: JobContext) -> sync_core::Result<RunEnd> {
        let object = ctx.object;
        if !crate::lockout::may_run(&self.setup, &self.qad, object.as_str()).await {
            self.ops.run_ended(
                object,
                RunOutcome::Refused(
                    "QAD refused the login; fix the credentials or run `ml-connector connect`"
                        .into(),
                ),
            );
            return Ok(RunEnd {
                failed: 0,
                incomplete: true,
            });
        }
        if object == ObjectKind::Orders {
            let Some(orders) = &self.orders else {
                return Ok(RunEnd::default());
            };
            let report = orders.run(ctx.trigger, &ctx.cancel).await?;
            self.ops.orders_report(&report);
            if report.store_missing {
                // On a fresh setup the orders may come round before the first customers
                // or items run has created the store.
                eprintln!("orders: the store does not exist yet; the first customers or items run creates it");
                return Ok(RunEnd::default());
            }
            tracing::info!(
                read = report.read,
                posted = report.posted,
                failed = report.counts.failed,
                "orders run done"
            );
            eprintln!("{}", crate::commands::sync::orders_line(&report));
            if report.counts.failed > 0 {
                eprintln!("orders: {}", scheduled_hint(report.counts.failed, 0));
            }
            return Ok(RunEnd {
                failed: report.counts.failed,
                incomplete: report.cancelled,
            });
        }
        if object == ObjectKind::SalesOrders {
            let Some(sales_orders) = &self.sales_orders else {
                return Ok(RunEnd::default());
            };
            let report = sales_orders.run(ctx.trigger, &ctx.cancel).await?;
            eprintln!("{report}");
            return Ok(RunEnd {
                failed: report.counts.failed,
                incomplete: report.cancelled,
            });
        }
        // Every cycle retries the object's replay queue first (backoff per row, then dead).
        let options = RunOptions::new()
            .trigger(ctx.trigger)
            .cancel(ctx.cancel.clone())
            .retry_failed(true);
        let report = self.forward.run(object, options).await?;
        self.ops.forward_report(&report);
        tracing::info!(%object, status = %report.status, read = report.read, "run done");
        eprintln!("{object}: {} — {}", report.status, page_summary(&report));
        let failed = failed_records(&report);
        let dead = report.retries.as_ref().map_or(0, |r| r.dead);
        if failed > 0 || dead > 0 {
            eprintln!("{object}: {}", scheduled_hint(failed, dead));
        }
        if let Some(error) = &report.error {
            // The run keeps what it committed and the next one resumes after it.
            eprintln!(
                "{object}: aborted: {error}; the next run resumes after the last committed page"
            );
        }
        let after = self.after_forward(object).await;
        Ok(RunEnd {
            failed: failed + after.failed,
            incomplete: report.status != RunStatus::Completed || after.incomplete,
        })
    }

    /// After a forward run of `object`: its lifecycle scan when due, and for customers the
    /// consent write-back. Their failures are printed and counted, never abort the cycle.
    async fn after_forward(&self, object: ObjectKind) -> RunEnd {
        use crate::commands::lifecycle::{consent_pass, scan_if_due};
        let mut end = RunEnd::default();
        if let Some(lifecycle) = &self.lifecycle {
            match scan_if_due(lifecycle, object).await {
                Ok(failed) => end.failed += failed,
                Err(err) => {
                    eprintln!("{object}: lifecycle scan: {}", chain(&err));
                    end.incomplete = true;
                }
            }
        }
        if let (ObjectKind::Customers, Some(consent)) = (object, &self.consent) {
            match consent_pass(consent, false).await {
                Ok(report) => {
                    eprintln!("{report}");
                    end.failed += report.failed;
                }
                Err(err) => {
                    eprintln!("consent: {}", chain(&err));
                    end.incomplete = true;
                }
            }
        }
        end
    }
}

/// The objects `run` schedules, with their cadences.
fn cadences(
    conn: &Connection,
    orders: bool,
    sales_orders: bool,
) -> AppResult<Vec<(ObjectKind, Cadence)>> {
    let config = &conn.setup.config;
    let cadence = |every: std::time::Duration| {
        Cadence::new(every)
            .and_then(|c| c.with_jitter(config.schedule.jitter.0))
            .map_err(|e| AppError::Usage(format!("[schedule]: {e}")))
    };
    let mut out = vec![(ObjectKind::Customers, cadence(config.schedule.customers.0)?)];
    if config.sync.store.is_some() {
        out.push((ObjectKind::Items, cadence(config.schedule.items.0)?));
    }
    if orders {
        out.push((ObjectKind::Orders, cadence(config.schedule.orders.0)?));
    }
    if sales_orders {
        out.push((
            ObjectKind::SalesOrders,
            cadence(config.schedule.sales_orders.0)?,
        ));
    }
    Ok(out)
}

/// `every 15m (± up to 30s)`.
fn cadence_text(cadence: &Cadence) -> String {
    let every = humantime::format_duration(cadence.every());
    if cadence.jitter().is_zero() {
        format!("every {every}")
    } else {
        format!(
            "every {every} (+ up to {} jitter)",
            humantime::format_duration(cadence.jitter())
        )
    }
}

/// When the scheduler starts `object`'s next run after one that started at `started` and ended
/// at `finished`: one cadence after the start, or after the end when the run took longer (the
/// scheduler's rule), plus up to the jitter.
fn next_run_text(cadence: &Cadence, started: DateTime<Utc>, finished: DateTime<Utc>) -> String {
    let every = chrono::Duration::from_std(cadence.every()).unwrap_or(chrono::Duration::MAX);
    let planned = started
        .checked_add_signed(every)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let next = if planned > finished {
        planned
    } else {
        finished
            .checked_add_signed(every)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    };
    let at = next.format("%Y-%m-%d %H:%M:%S UTC");
    if cadence.jitter().is_zero() {
        format!("next run at {at}")
    } else {
        format!(
            "next run at {at} (+ up to {} jitter)",
            humantime::format_duration(cadence.jitter())
        )
    }
}

/// The exit status of `run --once`: 1 when an object failed to run or did not finish, else 2
/// when records failed, else 0.
fn once_exit(ends: &[sync_core::Result<RunEnd>]) -> Exit {
    let mut failed = 0;
    for end in ends {
        match end {
            Ok(end) if !end.incomplete => failed += end.failed,
            _ => return Exit::Failed,
        }
    }
    Exit::for_failed_records(failed)
}

/// Runs `run`: with `--once` every object once, in order, through the scheduler's job, then
/// exits; otherwise every object on its cadence, and the webhook receiver, until Ctrl-C.
///
/// # Errors
///
/// [`AppError`] when the setup is unusable, a cadence is invalid, or the receiver cannot start.
pub async fn run(cli: &Cli, args: &RunArgs) -> AppResult<Exit> {
    let conn = Connection::open(Setup::load(cli)?).await?;
    let config = &conn.setup.config;
    let orders = conn.orders()?;
    let sales_orders = conn.sales_orders();
    let schedule = cadences(&conn, orders.is_some(), sales_orders.is_some())?;
    let ops_config = config.ops.clone().unwrap_or_default();
    let ops = Ops::new(
        &schedule
            .iter()
            .map(|(object, cadence)| (*object, cadence.every() + cadence.jitter()))
            .collect::<Vec<_>>(),
        ops_config.stall_after,
        conn.mailchimp.clone(),
        conn.state_dyn(),
    );
    let engines = Arc::new(Engines {
        forward: conn.forward()?,
        orders,
        sales_orders,
        lifecycle: conn.lifecycle()?,
        consent: conn.consent(),
        qad: conn.qad.clone(),
        setup: conn.setup.clone(),
        ops: ops.clone(),
    });
    if args.once {
        let mut ends = Vec::new();
        for (object, _) in &schedule {
            let ctx = JobContext::new(*object, RunTrigger::Scheduled, CancellationToken::new());
            let end = engines.run(ctx).await;
            if let Err(err) = &end {
                eprintln!("{object}: run failed: {}", chain(err));
            }
            ends.push(end);
        }
        let exit = once_exit(&ends);
        eprintln!("run --once: done ({})", exit_text(exit));
        return Ok(exit);
    }

    let mut builder = Scheduler::builder();
    for (object, cadence) in &schedule {
        builder = builder.schedule(*object, *cadence);
        eprintln!("{object}: {}; first run now", cadence_text(cadence));
    }

    // The history past its retention goes at start and hourly, in small transactions.
    let stop_pruning = tokio_util::sync::CancellationToken::new();
    let pruning = sync_core::state::retention::spawn(
        conn.state_dyn(),
        config.retention.policy(),
        stop_pruning.clone(),
    );
    let receiver = match &config.webhook {
        Some(webhook) => Some(start_receiver(&conn, webhook).await?),
        None => None,
    };
    if let Some(receiver) = &receiver {
        ops.watch_receiver(receiver.local_addr(), receiver.stats());
    }
    let stop_ops = CancellationToken::new();
    let ops_server = start_ops(config.ops.is_some(), &ops_config, &ops, &stop_ops).await?;
    let job_engines = Arc::clone(&engines);
    let job_cadences: Arc<BTreeMap<ObjectKind, Cadence>> =
        Arc::new(schedule.iter().copied().collect());
    let scheduler = builder.start(move |ctx: JobContext| {
        let engines = Arc::clone(&job_engines);
        let cadences = Arc::clone(&job_cadences);
        async move {
            let object = ctx.object;
            let started = Utc::now();
            let result = engines.run(ctx).await.map(|_| ());
            if let Err(err) = &result {
                // The scheduler keeps the cadence; say why this run failed.
                eprintln!("{object}: run failed: {}", chain(err));
            }
            if let Some(cadence) = cadences.get(&object) {
                eprintln!("{object}: {}", next_run_text(cadence, started, Utc::now()));
            }
            result
        }
    });
    ops.scheduler_running(true);
    let objects: Vec<String> = scheduler.objects().map(|o| o.to_string()).collect();
    eprintln!(
        "running {} on their schedules; Ctrl-C stops",
        objects.join(", ")
    );

    tokio::signal::ctrl_c()
        .await
        .map_err(|source| AppError::Io {
            context: "cannot wait for Ctrl-C".into(),
            source,
        })?;
    eprintln!("stopping: finishing the pages in flight");
    stop_pruning.cancel();
    let _ = pruning.await;
    scheduler.shutdown().await;
    ops.scheduler_running(false);
    stop_ops.cancel();
    if let Some(server) = ops_server {
        let _ = server.await;
    }
    if let Some(receiver) = receiver {
        receiver
            .shutdown()
            .await
            .map_err(sync_err("the webhook receiver did not stop cleanly"))?;
    }
    eprintln!("stopped");
    Ok(Exit::Success)
}

/// Serves `/healthz` and `/metrics` on `[ops] listen`. Without an `[ops]` section (`configured`
/// false) the default address is tried and a busy port only warns: the sync matters more.
async fn start_ops(
    configured: bool,
    section: &crate::config::OpsSection,
    ops: &Ops,
    stop: &CancellationToken,
) -> AppResult<Option<tokio::task::JoinHandle<()>>> {
    let listener = match tokio::net::TcpListener::bind(section.listen).await {
        Ok(listener) => listener,
        Err(source) if configured => {
            return Err(AppError::Io {
                context: format!("cannot listen on {} ([ops] listen)", section.listen),
                source,
            });
        }
        Err(e) => {
            eprintln!(
                "warning: /healthz and /metrics not served: cannot listen on {} ({e}); set \
                 [ops] listen to another address",
                section.listen
            );
            return Ok(None);
        }
    };
    let addr = listener.local_addr().map_err(|source| AppError::Io {
        context: "cannot read the ops listener's address".into(),
        source,
    })?;
    eprintln!("ops endpoints on http://{addr} (/healthz, /metrics)");
    Ok(Some(crate::ops_endpoints::serve(
        listener,
        ops.clone(),
        stop.clone(),
    )))
}

fn exit_text(exit: Exit) -> &'static str {
    match exit {
        Exit::Success => "exit 0: every object ran and nothing failed",
        Exit::RecordsFailed => "exit 2: some records failed and wait in the replay queue",
        Exit::Failed => "exit 1: an object could not run or did not finish",
        Exit::DriftFound => "exit 3",
    }
}

/// Starts the receiver; on first use with a public URL, registers the webhook and keeps its
/// signing secret in the vault.
async fn start_receiver(conn: &Connection, webhook: &WebhookSection) -> AppResult<ReceiverHandle> {
    let mut creds = conn.credentials.clone();
    let secrets = creds
        .webhook
        .clone()
        .ok_or_else(|| AppError::MissingCredentials {
            what: "webhook",
            path: conn.setup.paths.vault.clone(),
        })?;
    let bind = || async {
        tokio::net::TcpListener::bind(webhook.listen)
            .await
            .map_err(|source| AppError::Io {
                context: format!("cannot listen on {} (webhook.listen)", webhook.listen),
                source,
            })
    };
    let public_url = |config: &ReceiverConfig| {
        webhook
            .public_url
            .as_ref()
            .map(|public| {
                config
                    .webhook_url(public.0.as_str())
                    .map_err(|e| AppError::Usage(format!("[webhook] public_url: {}", chain(&e))))
            })
            .transpose()
    };
    if let (Some(_), None) = (&webhook.public_url, &secrets.signing_secret) {
        // Mailchimp checks the URL with a GET before it creates the webhook: serve it first.
        let unsigned = ReceiverConfig::unsigned_secret_url(secrets.path_token.clone())
            .map_err(sync_err("the webhook secrets in the vault are not usable"))?;
        let temporary = serve(bind().await?, unsigned.clone(), conn.state_dyn())
            .await
            .map_err(sync_err("cannot start the webhook receiver"))?;
        let url = public_url(&unsigned)?
            .ok_or_else(|| AppError::Usage("[webhook] public_url is not set".into()))?;
        let list = ListId::from(conn.sync_config().list_id.as_str());
        let registered = register_webhook(&conn.mailchimp, &list, &url).await;
        temporary
            .shutdown()
            .await
            .map_err(sync_err("the webhook receiver did not stop cleanly"))?;
        let registration =
            registered.map_err(sync_err("cannot register the webhook on the audience"))?;
        if let Some(secret) = registration.signing_secret {
            let mut stored = secrets.clone();
            stored.signing_secret = Some(secret);
            creds.webhook = Some(stored);
            conn.setup
                .vault()?
                .save(&creds)
                .map_err(|source| AppError::Vault {
                    path: conn.setup.paths.vault.clone(),
                    source,
                })?;
            eprintln!("registered the webhook; its signing secret is now in the vault");
        }
    }
    let secrets = creds.webhook.clone().unwrap_or(secrets);
    let mut receiver_config = ReceiverConfig::from_secrets(&secrets, webhook.allow_unsigned)
        .map_err(|e| AppError::Usage(format!("[webhook]: {}", chain(&e))))?
        .audience(conn.sync_config().list_id.clone());
    if let Some(tolerance) = &webhook.signature_tolerance {
        receiver_config = receiver_config.signature_tolerance(tolerance.0);
    }
    let receiver_config = webhook.limits(receiver_config);
    let delivery_url = public_url(&receiver_config)?;
    let handle = serve(bind().await?, receiver_config, conn.state_dyn())
        .await
        .map_err(sync_err("cannot start the webhook receiver"))?;
    eprintln!(
        "webhook receiver listening on {} (at its secret path; signatures {})",
        handle.local_addr(),
        if secrets.signing_secret.is_some() {
            "required"
        } else {
            "not required"
        }
    );
    if let Some(url) = delivery_url {
        check_public_url(&url).await;
    }
    Ok(handle)
}

/// Mailchimp reaches the receiver only through the public URL, and a wrong one fails silently
/// (every delivery misses): try it once, as Mailchimp's validator does, and say what happened.
/// The URL holds the secret path token, so it is never printed.
async fn check_public_url(url: &SecretString) {
    let answer = match reqwest::Client::builder()
        .timeout(PUBLIC_URL_CHECK_TIMEOUT)
        .build()
    {
        Ok(client) => client
            .get(url.expose_secret())
            .send()
            .await
            .map(|r| r.status()),
        Err(e) => Err(e),
    };
    match answer {
        Ok(status) if status.is_success() => {
            eprintln!("webhook public URL checked: the receiver answers Mailchimp's validator GET");
        }
        Ok(status) => eprintln!(
            "warning: the webhook public URL answered the validator GET with HTTP {status}, not \
             this receiver's 200: Mailchimp's deliveries will not arrive; check [webhook] \
             public_url and the proxy in front of it"
        ),
        Err(e) => eprintln!(
            "warning: the webhook public URL does not answer the validator GET ({}): Mailchimp's \
             deliveries will not arrive; check [webhook] public_url, DNS and the proxy in front \
             of it",
            without_url(&e)
        ),
    }
}

/// How long the start-up check of the public URL waits.
const PUBLIC_URL_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// reqwest's error text without the URL it quotes (the URL holds the secret token).
fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    match std::error::Error::source(err) {
        Some(source) => format!("{kind}: {}", chain(source)),
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn the_next_run_is_a_cadence_after_the_start_or_after_a_long_run() {
        let cadence =
            Cadence::new(std::time::Duration::from_secs(900)).unwrap_or_else(|_| unreachable!());
        assert_eq!(
            next_run_text(
                &cadence,
                at("2026-05-01T08:00:00Z"),
                at("2026-05-01T08:01:00Z")
            ),
            "next run at 2026-05-01 08:15:00 UTC"
        );
        assert_eq!(
            next_run_text(
                &cadence,
                at("2026-05-01T08:00:00Z"),
                at("2026-05-01T08:20:00Z")
            ),
            "next run at 2026-05-01 08:35:00 UTC"
        );
        let jittered = cadence
            .with_jitter(std::time::Duration::from_secs(30))
            .unwrap_or(cadence);
        assert_eq!(cadence_text(&jittered), "every 15m (+ up to 30s jitter)");
    }

    #[test]
    fn once_exits_like_sync() {
        let ok = |failed| {
            Ok(RunEnd {
                failed,
                incomplete: false,
            })
        };
        assert_eq!(once_exit(&[ok(0), ok(0)]), Exit::Success);
        assert_eq!(once_exit(&[ok(0), ok(3)]), Exit::RecordsFailed);
        let incomplete = Ok(RunEnd {
            failed: 0,
            incomplete: true,
        });
        assert_eq!(once_exit(&[ok(3), incomplete]), Exit::Failed);
    }
}
