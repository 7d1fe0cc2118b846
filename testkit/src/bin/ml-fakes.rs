//! `ml-fakes`: starts the fake Mailchimp and the fake QAD tenant on loopback, prints one line of JSON with
//! their base URLs and credentials, and serves until killed (Ctrl-C or SIGTERM).
//!
//! ```text
//! cargo run -p ml-connector-testkit --features ml-fakes --bin ml-fakes -- --customers 10000 --items 500 --latency-ms 20
//! ```

#[path = "ml-fakes/fill.rs"]
mod fill;

use std::{process::ExitCode, time::Duration};

use clap::Parser;
use serde_json::json;
use testkit::{
    faults::{FaultConfig, Faults},
    mailchimp::FakeMailchimp,
    qad::{FakeQad, Quirks, Seeding},
};

/// Fakes of Mailchimp and QAD on 127.0.0.1, for demos, benchmarks and tools outside this workspace.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// QAD customers to generate.
    #[arg(long, default_value_t = 50)]
    customers: usize,
    /// QAD items to generate.
    #[arg(long, default_value_t = 20)]
    items: usize,
    /// QAD sales orders to generate.
    #[arg(long, default_value_t = 30)]
    sales_orders: usize,
    /// Seed for generated data, credentials and faults.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Fixed latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Extra random latency, up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Probability of a 429 answer.
    #[arg(long, default_value_t = 0.0)]
    p429: f64,
    /// Probability of a 500 answer.
    #[arg(long, default_value_t = 0.0)]
    p500: f64,
    /// Probability of a 503 answer.
    #[arg(long, default_value_t = 0.0)]
    p503: f64,
    /// Probability of a bare 403 (no body).
    #[arg(long, default_value_t = 0.0)]
    p403: f64,
    /// Probability of closing the connection without an answer.
    #[arg(long, default_value_t = 0.0)]
    pdrop: f64,
    /// Mailchimp API key to accept (default: generated from the seed, ending in `-us1`).
    #[arg(long)]
    api_key: Option<String>,
    /// Mailchimp OAuth token to accept (default: generated from the seed).
    #[arg(long)]
    oauth_token: Option<String>,
    /// Mailchimp audience id (default: generated from the seed).
    #[arg(long)]
    list_id: Option<String>,
    /// Create an e-commerce store with this id, linked to the audience.
    #[arg(long)]
    store_id: Option<String>,
    /// Currency of the store created by `--store-id`.
    #[arg(long, default_value = "USD")]
    store_currency: String,
    /// Simultaneous Mailchimp requests allowed per account (all keys and tokens together).
    #[arg(long, default_value_t = testkit::mailchimp::DEFAULT_CONCURRENCY_LIMIT)]
    concurrency_limit: usize,
    /// Loopback port for the fake Mailchimp (default: chosen by the OS).
    #[arg(long, default_value_t = 0)]
    mailchimp_port: u16,
    /// QAD context root.
    #[arg(long, default_value = "/clouderp")]
    context_root: String,
    /// Start only the fake Mailchimp.
    #[arg(long)]
    no_qad: bool,
    /// A QAD behaviour other than today's guess, `NAME=VALUE` (repeatable):
    /// paging.mode=page-number|cursor|first-only, paging.page_size_cap=reported|N,
    /// scope.domain=query|filter|header|rows,
    /// filter.date=date|date-time|rejected|ignored|empty, order.key=key|any,
    /// attribution.duplicate=rejected|creates|server-error, validate.entity=get|none,
    /// count.endpoint=bare|object|absent, auth.lockout=N|off.
    #[arg(long = "qad-quirk", value_name = "NAME=VALUE")]
    qad_quirk: Vec<String>,
    /// Before serving, write every QAD customer into the audience and the store (needs
    /// `--store-id`) as a connector's first customers run does: batch subscribes of 500, then
    /// one e-commerce customer `PUT` each, through the HTTP API and before any latency or
    /// fault applies. The JSON line then reports `fill`: what was written and the resident
    /// memory before and after (bytes per customer).
    #[arg(long, requires = "store_id")]
    fill_mailchimp: bool,
}

impl Args {
    fn faults(&self) -> FaultConfig {
        FaultConfig::none()
            .latency(Duration::from_millis(self.latency_ms))
            .jitter(Duration::from_millis(self.jitter_ms))
            .too_many_requests(self.p429)
            .server_error(self.p500)
            .service_unavailable(self.p503)
            .bare_forbidden(self.p403)
            .dropped_connection(self.pdrop)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = format!("ml-fakes: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(args: Args) -> Result<(), BoxError> {
    // With a fill, latency and faults apply once the fill is done.
    let mut builder = FakeMailchimp::builder()
        .seed(args.seed)
        .faults(if args.fill_mailchimp {
            FaultConfig::none()
        } else {
            args.faults()
        })
        .concurrency_limit(args.concurrency_limit)
        .port(args.mailchimp_port);
    if let Some(key) = &args.api_key {
        builder = builder.api_key(key);
    }
    if let Some(token) = &args.oauth_token {
        builder = builder.oauth_token(token);
    }
    if let Some(list) = &args.list_id {
        builder = builder.list(list);
    }
    let mailchimp = builder.start().await?;
    if let Some(store) = &args.store_id {
        mailchimp.seed_store(store, mailchimp.list_id(), &args.store_currency)?;
    }

    let seeding = Seeding::new(args.seed)
        .customers(args.customers)
        .items(args.items)
        .sales_orders(args.sales_orders);
    let qad = if args.no_qad {
        None
    } else {
        let mut quirks = Quirks::default();
        for pair in &args.qad_quirk {
            quirks.set_pair(pair)?;
        }
        Some(
            FakeQad::builder()
                .context_root(&args.context_root)
                .seeding(seeding.clone())
                .quirks(quirks)
                .faults(Faults::new(args.seed, args.faults())?)
                .start()
                .await?,
        )
    };

    let filled = match (&args.store_id, args.fill_mailchimp) {
        (Some(store_id), true) => {
            let api_url = mailchimp.api_url();
            let target = fill::Target {
                api_url: &api_url,
                api_key: mailchimp.api_key(),
                list_id: mailchimp.list_id(),
                store_id,
            };
            let filled = fill::fill(&target, &seeding).await?;
            mailchimp.reset_stats();
            mailchimp.faults().set_default(args.faults())?;
            eprintln!("ml-fakes: filled {filled:?}");
            Some(filled.to_json())
        }
        _ => None,
    };
    let line = json!({
        "mailchimp": {
            "base_url": mailchimp.base_url(),
            "api_url": mailchimp.api_url(),
            "metadata_url": mailchimp.metadata_url(),
            "api_key": mailchimp.api_key(),
            "oauth_token": mailchimp.oauth_token(),
            "data_center": mailchimp.data_center(),
            "list_id": mailchimp.list_id(),
            "store_id": args.store_id,
        },
        "qad": qad.as_ref().map(|qad| json!({
            "base_url": qad.base_url(),
            "username": qad.username(),
            "password": qad.password(),
            "client_id": qad.client_id(),
            "domain": qad.domain(),
            "attribution_path": qad.attribution_path(),
            "browse_ids": {
                "customers": qad.browse_ids().customers,
                "items": qad.browse_ids().items,
                "sales_orders": qad.browse_ids().sales_orders,
                "sales_order_lines": qad.browse_ids().sales_order_lines,
            },
            "customers": qad.customer_count(),
            "items": qad.items().len(),
            "sales_orders": qad.sales_orders().len(),
        })),
        "seed": args.seed,
        "fill": filled,
        "rss_bytes": fill::rss_bytes(),
    });
    // Listen before announcing: a tool may send SIGTERM as soon as it has read the line.
    let stop = stop_signal()?;
    // The one line tools read; everything else goes to stderr.
    println!("{line}");
    eprintln!("ml-fakes: serving until Ctrl-C or SIGTERM");

    stop.await?;
    mailchimp.shutdown().await?;
    if let Some(qad) = qad {
        qad.shutdown().await?;
    }
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM; both handlers are installed before it returns.
#[cfg(unix)]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = std::io::Result<()>>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => Ok(()),
            _ = term.recv() => Ok(()),
        }
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = std::io::Result<()>>> {
    Ok(tokio::signal::ctrl_c())
}
