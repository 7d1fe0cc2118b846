//! The axum endpoint: secret path, validator GET, body limit, verification, dedup, apply.
//! Refusals are counted ([`ReceiverStats`]), not stored.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use mailchimp_client::webhooks::{
    secret_path_matches, FormValue, WebhookDelivery, WebhookError, WebhookVerifier,
};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::apply::apply_event;
use super::config::ReceiverConfig;
use super::limits::with_limits;
use super::stats::{DeliveryResult, ReceiverStats, Rejection};
use crate::audit::{NewAuditRow, RunStart};
use crate::error::{Result, SyncError};
use crate::model::{ObjectKind, Outcome, RunId, RunStatus, RunTrigger};
use crate::state::{StateBatch, StateStore};

/// The source key of audit rows for signed deliveries whose body could not be decoded (the only
/// refusals that are audited: the signature proves they came from Mailchimp).
pub const REJECTED_KEY: &str = "rejected delivery";

#[derive(Debug)]
struct Receiver {
    config: ReceiverConfig,
    verifier: WebhookVerifier,
    state: Arc<dyn StateStore>,
    run: RunId,
    stats: ReceiverStats,
}

type Reply = (StatusCode, &'static str);

impl Receiver {
    /// Refuses a request without touching the state database: counted and logged (rate-limited).
    fn refuse(&self, reason: Rejection, status: StatusCode, detail: &str) -> Reply {
        self.stats.record(reason, detail);
        (status, "rejected")
    }

    /// Refuses a delivery whose signature was verified but whose body is not a delivery: it
    /// came from Mailchimp, so it is audited (the reason only; never the body, the token or the
    /// secret) as well as counted.
    async fn refuse_audited(&self, status: StatusCode, reason: &str, length: usize) -> Reply {
        let row = NewAuditRow::new(
            self.run,
            ObjectKind::WebhookEvents,
            REJECTED_KEY,
            Outcome::Rejected,
        )
        .error(reason)
        .payload(json!({"http_status": status.as_u16(), "body_bytes": length}));
        if let Err(e) = self.state.apply(StateBatch::new().audit(row)).await {
            tracing::warn!(error = %crate::orders::describe(&e), "cannot audit a rejected webhook delivery");
        }
        self.refuse(Rejection::Malformed, status, reason)
    }

    /// Why `delivery` is not for the configured audience, if it is not.
    fn other_audience(&self, delivery: &WebhookDelivery) -> Option<String> {
        let expected = self.config.expected_audience()?;
        let list = delivery
            .fields()
            .get("data")
            .and_then(FormValue::as_map)
            .and_then(|data| data.get("list_id"))
            .and_then(FormValue::as_text)?;
        (list != expected).then(|| {
            format!("delivery for audience {list}, not the configured {expected}: ignored")
        })
    }

    async fn deliver(&self, headers: &HeaderMap, body: Body) -> Reply {
        let limit = self.config.max_body_bytes;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if let Some(length) = declared.filter(|&n| n > limit) {
            let reason = format!("body of {length} bytes is over the {limit}-byte limit");
            return self.refuse(
                Rejection::BodyTooLarge,
                StatusCode::PAYLOAD_TOO_LARGE,
                &reason,
            );
        }
        let bytes = match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => bytes,
            Err(_) => {
                let reason = format!("body over the {limit}-byte limit, or cut short");
                return self.refuse(
                    Rejection::BodyTooLarge,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &reason,
                );
            }
        };
        // Through the request's headers, so a signature header sent twice is refused.
        let delivery = match self.verifier.verify_and_parse_request(headers, &bytes) {
            Ok(delivery) => delivery,
            Err(e) => {
                let reason = e.to_string();
                return match e {
                    WebhookError::MissingSignature
                    | WebhookError::MalformedSignature { .. }
                    | WebhookError::StaleSignature { .. }
                    | WebhookError::SignatureMismatch => self.refuse(
                        Rejection::Unauthenticated,
                        StatusCode::UNAUTHORIZED,
                        &reason,
                    ),
                    WebhookError::BodyTooLarge { .. } => self.refuse(
                        Rejection::BodyTooLarge,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &reason,
                    ),
                    // The signature checked out (it is verified before the body is parsed).
                    _ if self.config.requires_signature() => {
                        self.stats.delivered(DeliveryResult::Undecoded);
                        self.refuse_audited(StatusCode::BAD_REQUEST, &reason, bytes.len())
                            .await
                    }
                    _ => self.refuse(Rejection::Malformed, StatusCode::BAD_REQUEST, &reason),
                };
            }
        };
        let key = delivery.dedup_key().into_string();
        if let Some(reason) = self.other_audience(&delivery) {
            let row = NewAuditRow::new(self.run, ObjectKind::WebhookEvents, &key, Outcome::Skipped)
                .error(reason)
                .payload(json!({"type": delivery.event_type()}));
            if let Err(e) = self.state.apply(StateBatch::new().audit(row)).await {
                tracing::warn!(error = %crate::orders::describe(&e), "cannot audit an ignored webhook delivery");
            }
            self.stats.delivered(DeliveryResult::Ignored);
            return (StatusCode::OK, "ignored: another audience");
        }
        // The delivery key commits in the same transaction as the event's effects: a duplicate
        // changes nothing, and an event whose effects could not be stored is not remembered, so
        // Mailchimp's retry applies it.
        let applied = match apply_event(&delivery, &key, self.run, self.state.as_ref()).await {
            Ok(batch) => {
                self.state
                    .apply(batch.once_per_delivery(key.as_str(), Utc::now()))
                    .await
            }
            Err(e) => Err(e),
        };
        match applied {
            Ok(receipt) if receipt.duplicate_delivery => {
                let row = NewAuditRow::new(
                    self.run,
                    ObjectKind::WebhookEvents,
                    &key,
                    Outcome::Unchanged,
                )
                .error("duplicate delivery: already applied")
                .payload(json!({"type": delivery.event_type()}));
                if let Err(e) = self.state.apply(StateBatch::new().audit(row)).await {
                    tracing::warn!(error = %crate::orders::describe(&e), "cannot audit a duplicate webhook delivery");
                }
                self.stats.delivered(DeliveryResult::Duplicate);
                (StatusCode::OK, "duplicate")
            }
            Ok(_) => {
                self.stats.delivered(DeliveryResult::Applied);
                (StatusCode::OK, "ok")
            }
            Err(e) => {
                self.stats.delivered(DeliveryResult::Failed);
                tracing::warn!(error = %crate::orders::describe(&e), key, "cannot apply a webhook delivery");
                (StatusCode::INTERNAL_SERVER_ERROR, "state store unavailable")
            }
        }
    }
}

async fn validate(State(receiver): State<Arc<Receiver>>, Path(token): Path<String>) -> Reply {
    if secret_path_matches(&receiver.config.path_token, &token) {
        (StatusCode::OK, "ok")
    } else {
        receiver.refuse(
            Rejection::WrongPath,
            StatusCode::NOT_FOUND,
            "wrong secret path",
        )
    }
}

/// Any path outside the receiver's (only when [`serve`] owns the whole server).
async fn elsewhere(State(receiver): State<Arc<Receiver>>) -> Reply {
    receiver.refuse(Rejection::WrongPath, StatusCode::NOT_FOUND, "unknown path")
}

async fn deliver(
    State(receiver): State<Arc<Receiver>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    if !secret_path_matches(&receiver.config.path_token, &token) {
        return receiver.refuse(
            Rejection::WrongPath,
            StatusCode::NOT_FOUND,
            "wrong secret path",
        );
    }
    receiver.deliver(&headers, body).await
}

/// The receiver's routes, to serve with [`serve`] or to nest in your own axum application.
///
/// `GET {prefix}/{token}` answers Mailchimp's validator with 200; `POST {prefix}/{token}` takes
/// deliveries. Any other path, or a wrong token (compared in constant time), is a 404. Audit rows
/// are written under `run`. The refusals are counted in a [`ReceiverStats`] of its own: use
/// [`router_with_stats`] to read them.
pub fn router(config: ReceiverConfig, state: Arc<dyn StateStore>, run: RunId) -> Router {
    router_with_stats(config, state, run, ReceiverStats::new())
}

/// As [`router`], counting refusals in `stats`.
///
/// The per-source rate limit needs the peer address: serve the application with
/// `into_make_service_with_connect_info::<SocketAddr>()`; without it only the global concurrency
/// limit applies.
pub fn router_with_stats(
    config: ReceiverConfig,
    state: Arc<dyn StateStore>,
    run: RunId,
    stats: ReceiverStats,
) -> Router {
    routes(config, state, run, stats, false)
}

/// The routes behind the limits; `catch_all` also counts requests to any other path (a nested
/// router must leave the fallback to its application).
fn routes(
    config: ReceiverConfig,
    state: Arc<dyn StateStore>,
    run: RunId,
    stats: ReceiverStats,
    catch_all: bool,
) -> Router {
    let path = format!("{}/{{token}}", config.path_prefix);
    let receiver = Arc::new(Receiver {
        verifier: config.verifier(),
        config: config.clone(),
        state,
        run,
        stats: stats.clone(),
    });
    let mut router = Router::new().route(&path, get(validate).post(deliver));
    if catch_all {
        router = router.fallback(elsewhere);
    }
    with_limits(router.with_state(receiver), &config, &stats)
}

/// A running receiver, from [`serve`].
#[derive(Debug)]
pub struct ReceiverHandle {
    addr: SocketAddr,
    run: RunId,
    cancel: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    state: Arc<dyn StateStore>,
    stats: ReceiverStats,
}

impl ReceiverHandle {
    /// The address the receiver listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counters of the requests refused without touching the state database (shared: they
    /// keep counting while the receiver runs).
    #[must_use]
    pub fn stats(&self) -> ReceiverStats {
        self.stats.clone()
    }

    /// The run the receiver's audit rows belong to.
    #[must_use]
    pub fn run_id(&self) -> RunId {
        self.run
    }

    /// The token that stops the receiver when cancelled (connect it to Ctrl-C, or to the
    /// scheduler's shutdown).
    #[must_use]
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops accepting connections, lets deliveries in flight finish, and records the run as
    /// completed.
    ///
    /// # Errors
    ///
    /// [`SyncError::Receiver`] when the server failed; [`SyncError::State`] when the run cannot
    /// be recorded.
    pub async fn shutdown(self) -> Result<()> {
        self.cancel.cancel();
        let served = match self.task.await {
            Ok(result) => result.map_err(SyncError::Receiver),
            Err(join) => Err(SyncError::Receiver(std::io::Error::other(join.to_string()))),
        };
        let error = served.as_ref().err().map(|e| crate::orders::describe(e));
        let status = if error.is_some() {
            RunStatus::Aborted
        } else {
            RunStatus::Completed
        };
        self.state.finish_run(self.run, status, error).await?;
        served
    }
}

/// Serves the receiver on `listener` until [`ReceiverHandle::shutdown`] (or its cancellation
/// token) stops it gracefully. The receiver's audit rows belong to one run (object
/// `webhook_events`, trigger `manual`) recorded now and finished at shutdown.
///
/// ```no_run
/// # async fn run(state: std::sync::Arc<dyn sync_core::StateStore>) -> sync_core::Result<()> {
/// use sync_core::webhook_receiver::{generate_path_token, serve, ReceiverConfig};
///
/// let config = ReceiverConfig::signed(generate_path_token(), "whsec_from_mailchimp")?;
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.map_err(sync_core::SyncError::Receiver)?;
/// let receiver = serve(listener, config, state).await?;
/// tokio::signal::ctrl_c().await.ok();
/// receiver.shutdown().await?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`SyncError::Receiver`] when the listener's address cannot be read; [`SyncError::State`]
/// when the run cannot be recorded.
pub async fn serve(
    listener: TcpListener,
    config: ReceiverConfig,
    state: Arc<dyn StateStore>,
) -> Result<ReceiverHandle> {
    let addr = listener.local_addr().map_err(SyncError::Receiver)?;
    let start = RunStart::new(vec![ObjectKind::WebhookEvents], RunTrigger::Manual);
    state.start_run(&start).await?;
    let retention = config.retention();
    let stats = ReceiverStats::new();
    let app = routes(config, state.clone(), start.id, stats.clone(), true)
        .into_make_service_with_connect_info::<SocketAddr>();
    let cancel = CancellationToken::new();
    tokio::spawn(prune_deliveries(
        Arc::clone(&state),
        retention,
        cancel.clone(),
    ));
    let stop = cancel.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });
    Ok(ReceiverHandle {
        addr,
        run: start.id,
        cancel,
        task,
        state,
        stats,
    })
}

/// How often the receiver forgets delivery keys older than its retention.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// Forgets delivery keys older than `retention`, at start and then hourly, until `stop`: the
/// dedup table stays bounded by the deliveries of one retention period.
async fn prune_deliveries(
    state: Arc<dyn StateStore>,
    retention: Duration,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let Ok(age) = chrono::Duration::from_std(retention) else {
            return;
        };
        match state.prune_deliveries(Utc::now() - age).await {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "forgot old webhook delivery keys"),
            Err(e) => {
                tracing::warn!(error = %crate::orders::describe(&e), "cannot prune webhook delivery keys");
            }
        }
    }
}
