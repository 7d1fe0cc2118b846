//! `run`'s operations endpoints, on a listener of their own (loopback by default, `[ops]
//! listen`): `/healthz` for a supervisor and `/metrics` in the Prometheus text format.
//!
//! `/healthz` answers 200 when the scheduler runs, the webhook receiver (when configured)
//! accepts connections, and every object completed a run within `[ops] stall_after` times its
//! cadence (counted from `run`'s start until its first run); otherwise 503 with one line per
//! problem: an object *refused* (Mailchimp rejected the credentials, or QAD's login is
//! blocked — these do not heal on their own), *failing* (its last run failed and none completed
//! within the window), *stalled* (no run completed within the window), a stopped scheduler or
//! a receiver that does not answer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sync_core::audit::ReplayFilter;
use sync_core::orders::OrdersReport;
use sync_core::report::{RunReport, TargetCounts};
use sync_core::webhook_receiver::{DeliveryResult, ReceiverStats, Rejection};
use sync_core::{ObjectKind, RunStatus, StateStore};
use tokio_util::sync::CancellationToken;

/// Replay-queue rows counted at most per scrape: the gauge reads this value when the queue is
/// at least that deep (a scrape stays one bounded read).
pub const REPLAY_DEPTH_CAP: u32 = 10_000;

/// How an object's run ended, as `/metrics` and `/healthz` see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The run read everything it had to (records may have failed: they are queued).
    Completed,
    /// Stopped by shutdown.
    Cancelled,
    /// Aborted part-way, or could not start.
    Failed(String),
    /// Refused by a system: Mailchimp rejected the credentials, or QAD's login is blocked.
    Refused(String),
}

impl RunOutcome {
    fn label(&self) -> &'static str {
        match self {
            RunOutcome::Completed => "completed",
            RunOutcome::Cancelled => "cancelled",
            RunOutcome::Failed(_) => "failed",
            RunOutcome::Refused(_) => "refused",
        }
    }

    /// The outcome of a run that returned `err`: refused when Mailchimp rejected the
    /// credentials somewhere in its causes.
    #[must_use]
    pub fn of_error(err: &(dyn std::error::Error + 'static)) -> Self {
        let text = crate::error::chain(err);
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(cause) = source {
            if cause
                .downcast_ref::<mailchimp_client::Error>()
                .is_some_and(mailchimp_client::Error::is_unauthorized)
            {
                return RunOutcome::Refused(text);
            }
            source = cause.source();
        }
        RunOutcome::Failed(text)
    }
}

/// What `/healthz` knows about one object.
#[derive(Debug, Clone)]
struct ObjectHealth {
    cadence: Duration,
    last_completed: Option<Instant>,
    /// The last run's outcome when it did not complete, since the last completed one.
    last_problem: Option<RunOutcome>,
}

#[derive(Debug, Default)]
struct Metrics {
    runs: Family<Vec<(String, String)>, Counter>,
    records: Family<Vec<(String, String)>, Counter>,
    calls: Family<Vec<(String, String)>, Counter>,
    replay_retries: Family<Vec<(String, String)>, Counter>,
    last_success: Family<Vec<(String, String)>, Gauge>,
    responses: Family<Vec<(String, String)>, Counter>,
    rate_limited: Counter,
    retries: Counter,
    transport_errors: Counter,
    replay_depth: Gauge,
    deliveries: Family<Vec<(String, String)>, Counter>,
    refused_requests: Family<Vec<(String, String)>, Counter>,
}

/// The counts already exported from sources that only grow (the client, the receiver), so a
/// scrape adds what is new.
#[derive(Debug, Default)]
struct Exported {
    responses: BTreeMap<u16, u64>,
    retries: u64,
    transport_errors: u64,
    deliveries: BTreeMap<&'static str, u64>,
    refused: BTreeMap<&'static str, u64>,
}

/// The operations state of a `run` process: fed by the scheduled jobs, read by the endpoints.
#[derive(Debug, Clone)]
pub struct Ops {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    started: Instant,
    stall_after: u32,
    objects: Mutex<BTreeMap<ObjectKind, ObjectHealth>>,
    registry: Registry,
    metrics: Arc<Metrics>,
    exported: Mutex<Exported>,
    mailchimp: mailchimp_client::Client,
    state: Arc<dyn StateStore>,
    receiver: Mutex<Option<(SocketAddr, ReceiverStats)>>,
    scheduler_alive: AtomicBool,
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Ops {
    /// The state for `objects` (with their cadences); an object is stalled when no run
    /// completed within `stall_after` cadences.
    #[must_use]
    pub fn new(
        objects: &[(ObjectKind, Duration)],
        stall_after: u32,
        mailchimp: mailchimp_client::Client,
        state: Arc<dyn StateStore>,
    ) -> Self {
        let metrics = Arc::new(Metrics::default());
        let mut registry = Registry::with_prefix("ml_connector");
        let m = &metrics;
        registry.register(
            "runs",
            "Runs by object and outcome (completed, cancelled, failed, refused)",
            m.runs.clone(),
        );
        registry.register(
            "records",
            "Records handled by object, target kind and outcome",
            m.records.clone(),
        );
        registry.register(
            "calls",
            "Calls made by the runs, by kind (client-level retries of one call count once)",
            m.calls.clone(),
        );
        registry.register(
            "replay_retries",
            "Replay-queue rows retried by the runs, by result (resolved, again, dead)",
            m.replay_retries.clone(),
        );
        registry.register(
            "last_success_timestamp_seconds",
            "When each object's last completed run ended (Unix time)",
            m.last_success.clone(),
        );
        registry.register(
            "mailchimp_responses",
            "Mailchimp responses by HTTP status (every attempt counts)",
            m.responses.clone(),
        );
        registry.register(
            "mailchimp_rate_limited",
            "Mailchimp 429 answers",
            m.rate_limited.clone(),
        );
        registry.register(
            "mailchimp_retries",
            "Mailchimp attempts after the first of a request",
            m.retries.clone(),
        );
        registry.register(
            "mailchimp_transport_errors",
            "Mailchimp attempts that got no response (connection, timeout, TLS)",
            m.transport_errors.clone(),
        );
        registry.register(
            "replay_queue_depth",
            "Failed and deferred rows waiting in the replay queue (read at most 10000)",
            m.replay_depth.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries taken, by result",
            m.deliveries.clone(),
        );
        registry.register(
            "webhook_refused_requests",
            "Requests the webhook receiver refused, by reason",
            m.refused_requests.clone(),
        );
        let objects = objects
            .iter()
            .map(|(object, cadence)| {
                (
                    *object,
                    ObjectHealth {
                        cadence: *cadence,
                        last_completed: None,
                        last_problem: None,
                    },
                )
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                started: Instant::now(),
                stall_after: stall_after.max(1),
                objects: Mutex::new(objects),
                registry,
                metrics,
                exported: Mutex::new(Exported::default()),
                mailchimp,
                state,
                receiver: Mutex::new(None),
                scheduler_alive: AtomicBool::new(false),
            }),
        }
    }

    /// The receiver to check and count, once it listens.
    pub fn watch_receiver(&self, addr: SocketAddr, stats: ReceiverStats) {
        // Every result and reason shows, at 0 until it happens.
        for result in DeliveryResult::ALL {
            self.inner
                .metrics
                .deliveries
                .get_or_create(&labels(&[("result", result.as_str())]))
                .inc_by(0);
        }
        for reason in Rejection::ALL {
            self.inner
                .metrics
                .refused_requests
                .get_or_create(&labels(&[("reason", reason.as_str())]))
                .inc_by(0);
        }
        if let Ok(mut receiver) = self.inner.receiver.lock() {
            *receiver = Some((addr, stats));
        }
    }

    /// Whether the scheduler is running.
    pub fn scheduler_running(&self, running: bool) {
        self.inner.scheduler_alive.store(running, Ordering::Relaxed);
    }

    /// Records how a run of `object` ended.
    pub fn run_ended(&self, object: ObjectKind, outcome: RunOutcome) {
        self.inner
            .metrics
            .runs
            .get_or_create(&labels(&[
                ("object", object.as_str()),
                ("outcome", outcome.label()),
            ]))
            .inc();
        let Ok(mut objects) = self.inner.objects.lock() else {
            return;
        };
        let Some(health) = objects.get_mut(&object) else {
            return;
        };
        match outcome {
            RunOutcome::Completed => {
                health.last_completed = Some(Instant::now());
                health.last_problem = None;
                self.inner
                    .metrics
                    .last_success
                    .get_or_create(&labels(&[("object", object.as_str())]))
                    .set(Utc::now().timestamp());
            }
            RunOutcome::Cancelled => {}
            problem => health.last_problem = Some(problem),
        }
    }

    /// Records a forward run's report: its records, calls and replay retries, and how it ended.
    pub fn forward_report(&self, report: &RunReport) {
        let object = report.object;
        for (target, counts) in &report.targets {
            self.records(object, target.as_str(), &by_outcome(counts));
        }
        if let Some(tags) = &report.tags {
            self.records(object, "member_tags", &by_outcome(tags));
        }
        self.calls(&report.calls);
        if let Some(r) = &report.retries {
            for (result, n) in [
                ("resolved", r.resolved),
                ("again", r.again),
                ("dead", r.dead),
            ] {
                self.inner
                    .metrics
                    .replay_retries
                    .get_or_create(&labels(&[("object", object.as_str()), ("result", result)]))
                    .inc_by(n);
            }
        }
        let outcome = match report.status {
            RunStatus::Completed => RunOutcome::Completed,
            RunStatus::Cancelled => RunOutcome::Cancelled,
            _ => {
                let error = report.error.clone().unwrap_or_else(|| "aborted".into());
                // An aborted report keeps its error as text; Mailchimp's 401 reads so
                // (`mailchimp_client::Error::Unauthorized`).
                if error.contains("rejected the credentials") {
                    RunOutcome::Refused(error)
                } else {
                    RunOutcome::Failed(error)
                }
            }
        };
        self.run_ended(object, outcome);
    }

    /// Records an orders run's report.
    pub fn orders_report(&self, report: &OrdersReport) {
        let c = &report.counts;
        self.records(
            ObjectKind::Orders,
            "attributions",
            &[
                ("created", c.created),
                ("updated", c.updated),
                ("unchanged", c.unchanged),
                ("skipped", c.skipped),
                ("rejected", c.rejected),
                ("failed", c.failed),
                ("deferred", c.deferred),
            ],
        );
        self.run_ended(
            ObjectKind::Orders,
            if report.cancelled {
                RunOutcome::Cancelled
            } else {
                RunOutcome::Completed
            },
        );
    }

    fn records(&self, object: ObjectKind, target: &str, counts: &[(&str, u64)]) {
        for &(outcome, n) in counts {
            if n > 0 {
                self.inner
                    .metrics
                    .records
                    .get_or_create(&labels(&[
                        ("object", object.as_str()),
                        ("target", target),
                        ("outcome", outcome),
                    ]))
                    .inc_by(n);
            }
        }
    }

    fn calls(&self, calls: &BTreeMap<String, u64>) {
        for (kind, n) in calls {
            self.inner
                .metrics
                .calls
                .get_or_create(&labels(&[("kind", &crate::json::call_key(kind))]))
                .inc_by(*n);
        }
    }

    /// The problems `/healthz` reports, one line each; empty when healthy.
    pub async fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.inner.scheduler_alive.load(Ordering::Relaxed) {
            problems.push("scheduler: not running".to_owned());
        }
        let receiver = self.inner.receiver.lock().ok().and_then(|r| r.clone());
        if let Some((addr, _)) = receiver {
            let connect = tokio::net::TcpStream::connect(addr);
            match tokio::time::timeout(Duration::from_secs(2), connect).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    problems.push(format!("webhook receiver: not answering on {addr}: {e}"))
                }
                Err(_) => problems.push(format!(
                    "webhook receiver: not answering on {addr} within 2 s"
                )),
            }
        }
        let objects = self
            .inner
            .objects
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default();
        for (object, health) in objects {
            let window = health.cadence.saturating_mul(self.inner.stall_after);
            let since = health.last_completed.unwrap_or(self.inner.started);
            let late = since.elapsed() > window;
            let window_text = humantime::format_duration(Duration::from_secs(window.as_secs()));
            match &health.last_problem {
                Some(RunOutcome::Refused(why)) => {
                    problems.push(format!("{object}: refused: {why}"));
                }
                Some(RunOutcome::Failed(why)) if late => problems.push(format!(
                    "{object}: failing: no run completed within {window_text}; last error: {why}"
                )),
                _ if late => problems.push(format!(
                    "{object}: stalled: no run completed within {window_text} ({} × its cadence)",
                    self.inner.stall_after
                )),
                _ => {}
            }
        }
        problems
    }

    /// The metrics in the Prometheus text format, after reading the gauges and counters that
    /// live elsewhere (the client, the receiver, the replay queue).
    pub async fn metrics_text(&self) -> String {
        let depth = self
            .inner
            .state
            .pending_replays(&ReplayFilter::All, REPLAY_DEPTH_CAP)
            .await
            .map(|rows| rows.len())
            .unwrap_or(0);
        self.inner
            .metrics
            .replay_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
        self.export_grown();
        let mut text = String::new();
        if encode(&mut text, &self.inner.registry).is_err() {
            let _ = writeln!(text, "# the metrics could not be encoded");
        }
        text
    }

    /// Adds to the counters what the client and the receiver counted since the last scrape.
    fn export_grown(&self) {
        let Ok(mut done) = self.inner.exported.lock() else {
            return;
        };
        let m = &self.inner.metrics;
        let counts = self.inner.mailchimp.response_counts();
        for (status, n) in &counts.by_status {
            let before = done.responses.insert(*status, *n).unwrap_or(0);
            let grown = n.saturating_sub(before);
            m.responses
                .get_or_create(&labels(&[("status", &status.to_string())]))
                .inc_by(grown);
            if *status == 429 {
                m.rate_limited.inc_by(grown);
            }
        }
        m.retries
            .inc_by(counts.retries.saturating_sub(done.retries));
        done.retries = counts.retries;
        m.transport_errors.inc_by(
            counts
                .transport_errors
                .saturating_sub(done.transport_errors),
        );
        done.transport_errors = counts.transport_errors;
        let receiver = self.inner.receiver.lock().ok().and_then(|r| r.clone());
        if let Some((_, stats)) = receiver {
            for result in DeliveryResult::ALL {
                let n = stats.deliveries(result);
                let before = done.deliveries.insert(result.as_str(), n).unwrap_or(0);
                m.deliveries
                    .get_or_create(&labels(&[("result", result.as_str())]))
                    .inc_by(n.saturating_sub(before));
            }
            for reason in Rejection::ALL {
                let n = stats.count(reason);
                let before = done.refused.insert(reason.as_str(), n).unwrap_or(0);
                m.refused_requests
                    .get_or_create(&labels(&[("reason", reason.as_str())]))
                    .inc_by(n.saturating_sub(before));
            }
        }
    }
}

/// A target kind's counts by outcome name.
fn by_outcome(counts: &TargetCounts) -> [(&'static str, u64); 7] {
    [
        ("created", counts.created),
        ("updated", counts.updated),
        ("unchanged", counts.unchanged),
        ("skipped", counts.skipped_total()),
        ("rejected", counts.rejected_total()),
        ("failed", counts.failed),
        ("deferred", counts.deferred),
    ]
}

/// The ops endpoints' routes.
pub fn router(ops: Ops) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

async fn healthz(State(ops): State<Ops>) -> impl IntoResponse {
    let problems = ops.problems().await;
    let content = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    if problems.is_empty() {
        (StatusCode::OK, content, "ok\n".to_owned())
    } else {
        let mut body = problems.join("\n");
        body.push('\n');
        (StatusCode::SERVICE_UNAVAILABLE, content, body)
    }
}

async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ops.metrics_text().await,
    )
}

/// Serves the endpoints on `listener` until `stop` is cancelled.
pub fn serve(
    listener: tokio::net::TcpListener,
    ops: Ops,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let served = axum::serve(listener, router(ops))
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!("the ops endpoints stopped: {e}");
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ops(cadence: Duration, stall_after: u32) -> Ops {
        let client = mailchimp_client::Client::builder(mailchimp_client::Credentials::api_key(
            "0123456789abcdef0123456789abcdef-us6",
        ))
        .build()
        .await
        .unwrap_or_else(|_| unreachable!());
        let state = sync_core::SqliteStateStore::open_in_memory()
            .await
            .unwrap_or_else(|_| unreachable!());
        Ops::new(
            &[(ObjectKind::Customers, cadence)],
            stall_after,
            client,
            Arc::new(state),
        )
    }

    #[tokio::test]
    async fn health_names_a_refusal_at_once_and_a_failure_only_past_the_window() {
        let ops = ops(Duration::from_secs(3600), 3).await;
        ops.scheduler_running(true);
        assert!(ops.problems().await.is_empty());
        ops.run_ended(
            ObjectKind::Customers,
            RunOutcome::Failed("QAD timed out".into()),
        );
        assert!(ops.problems().await.is_empty(), "within the window");
        ops.run_ended(
            ObjectKind::Customers,
            RunOutcome::Refused("mailchimp rejected the credentials: API Key Invalid".into()),
        );
        let problems = ops.problems().await;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("customers: refused: mailchimp rejected the credentials"));
        ops.run_ended(ObjectKind::Customers, RunOutcome::Completed);
        assert!(ops.problems().await.is_empty());
        ops.scheduler_running(false);
        assert_eq!(ops.problems().await, ["scheduler: not running"]);
    }

    #[tokio::test]
    async fn an_object_without_a_completed_run_in_the_window_is_stalled_or_failing() {
        let ops = ops(Duration::ZERO, 3).await;
        ops.scheduler_running(true);
        let problems = ops.problems().await;
        assert!(
            problems[0].starts_with("customers: stalled: "),
            "{problems:?}"
        );
        ops.run_ended(
            ObjectKind::Customers,
            RunOutcome::Failed("QAD timed out".into()),
        );
        let problems = ops.problems().await;
        assert!(
            problems[0].starts_with("customers: failing: ")
                && problems[0].ends_with("QAD timed out"),
            "{problems:?}"
        );
    }

    #[tokio::test]
    async fn the_metrics_count_runs_records_and_the_replay_queue() {
        let ops = ops(Duration::from_secs(60), 3).await;
        let mut report = RunReport::new(sync_core::RunId::new(), ObjectKind::Customers, false);
        report.status = RunStatus::Completed;
        report
            .target(ObjectKind::Members)
            .add(sync_core::Outcome::Created, None);
        report.calls.insert("mailchimp member put".into(), 1);
        ops.forward_report(&report);
        let text = ops.metrics_text().await;
        for line in [
            "ml_connector_runs_total{object=\"customers\",outcome=\"completed\"} 1",
            "ml_connector_records_total{object=\"customers\",target=\"members\",outcome=\"created\"} 1",
            "ml_connector_calls_total{kind=\"mailchimp_member_put\"} 1",
            "ml_connector_replay_queue_depth 0",
            "ml_connector_last_success_timestamp_seconds{object=\"customers\"} ",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
