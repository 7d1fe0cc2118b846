//! `demo`: the whole cycle against fakes of both systems, on a fresh machine, with no
//! configuration: connect → store first → customers → products → the shop's orders → orders
//! back to QAD → a second run that writes nothing → a few QAD changes flowing through.
//!
//! The demo drives the same code as the real commands: it writes a configuration file, a key
//! and a vault into a temporary folder, as `init` would, and loads them back.

mod fakes;
mod report;
mod shop;

use std::collections::HashMap;
use std::time::Instant;

use sync_core::mapping::check_email;
use sync_core::sales_orders::{
    is_connector_order_id, order_id_for, SalesOrdersReport, SalesOrdersSync,
};
use sync_core::{normalize_email, ObjectKind, RunTrigger};
use tokio_util::sync::CancellationToken;

use crate::cli::DemoArgs;
use crate::commands::{connect, sync};
use crate::connection::Connection;
use crate::error::{AppError, AppResult};
use crate::exit::Exit;
use crate::output::print_json;
use fakes::World;
use report::{DemoReport, Phase, QadAttributions, QadChanges};

/// Request counters of both fakes at one moment.
#[derive(Clone, Copy)]
struct Counters {
    mailchimp_requests: u64,
    mailchimp_writes: u64,
    qad_requests: u64,
    attribution_posts: u64,
    at: Instant,
}

impl Counters {
    fn now(world: &World) -> Self {
        let mc = world.mailchimp.stats().snapshot();
        Self {
            mailchimp_requests: mc.total,
            mailchimp_writes: mc.writes,
            qad_requests: world.qad.stats().total(),
            attribution_posts: world.attribution_posts(),
            at: Instant::now(),
        }
    }

    /// A phase named `name` with the requests made since `self`.
    fn phase(self, world: &World, name: &str) -> Phase {
        let now = Self::now(world);
        Phase {
            name: name.to_owned(),
            mailchimp_requests: now.mailchimp_requests - self.mailchimp_requests,
            mailchimp_writes: now.mailchimp_writes - self.mailchimp_writes,
            qad_requests: now.qad_requests - self.qad_requests,
            qad_attribution_posts: now.attribution_posts - self.attribution_posts,
            elapsed_ms: u64::try_from(self.at.elapsed().as_millis()).unwrap_or(u64::MAX),
            ..Phase::default()
        }
    }
}

/// Runs the demo and prints its report.
///
/// # Errors
///
/// [`AppError`] when a step cannot run, or when the sync did not behave as it must (the report
/// is printed first, naming what went wrong). Records that failed to be written (none, with the
/// demo's fault-free fakes) make the exit status [`Exit::RecordsFailed`].
pub async fn run(args: &DemoArgs) -> AppResult<Exit> {
    if args.customers == 0 || args.items == 0 {
        return Err(AppError::Usage(
            "--customers and --items must be at least 1".into(),
        ));
    }
    let started = Instant::now();
    eprintln!(
        "starting fakes of Mailchimp and QAD on 127.0.0.1 ({} customers, {} items)",
        args.customers, args.items
    );
    let world = World::start(args).await?;
    let (_, creds) = world.setup.credentials()?;
    let connect = connect::check(&world.setup, &creds).await;
    if !connect.problems.is_empty() {
        return Err(AppError::Check(format!(
            "connect found problems with the fakes: {}",
            connect.problems.join("; ")
        )));
    }
    let conn = Connection::open(world.setup.clone()).await?;
    let forward = conn.forward()?;
    let orders = conn
        .orders()?
        .ok_or_else(|| AppError::Usage("the demo configuration has no orders flow".into()))?;
    let sales_orders = conn.sales_orders().ok_or_else(|| {
        AppError::Usage("the demo configuration has no sales-history flow".into())
    })?;
    let mut report = DemoReport {
        seed: args.seed,
        customers: args.customers,
        items: args.items,
        latency_ms: args.latency_ms,
        cleaned_in_mailchimp: world.quirks.cleaned,
        fake_looking_in_qad: world.quirks.fake_looking,
        throttled_in_mailchimp: world.quirks.throttled,
        connect,
        phases: Vec::new(),
        totals: report::Totals::default(),
        problems: Vec::new(),
    };

    // 1. Store first, then customers (members and e-commerce customers), then products.
    let mark = Counters::now(&world);
    let customers =
        sync::forward_run(&forward, ObjectKind::Customers, false, false, true, 0).await?;
    let items = sync::forward_run(&forward, ObjectKind::Items, false, false, true, 0).await?;
    let mut phase = mark.phase(&world, "first sync: store first, customers, products");
    phase.runs = vec![customers, items];
    report.phases.push(phase);

    // 1b. QAD's sales history into Mailchimp, once customers and products are there.
    let mark = Counters::now(&world);
    let history = sales_orders_run(&sales_orders).await?;
    let mut phase = mark.phase(
        &world,
        "QAD sales history into Mailchimp (backfill, store syncing)",
    );
    if history.total != Some(history.read) {
        report.problems.push(format!(
            "the sales-history backfill counted {:?} orders but read {}",
            history.total, history.read
        ));
    }
    phase.sales_orders = Some(history);
    report.phases.push(phase);

    // 2. The shop sells.
    let mark = Counters::now(&world);
    let store = &conn.sync_config().store;
    let store_id = store.as_ref().map_or(fakes::STORE_ID, |s| s.id.as_str());
    let shop = shop::place_orders(
        &conn.mailchimp,
        store_id,
        fakes::CURRENCY,
        &world.qad,
        args.orders,
    )
    .await?;
    let mut phase = mark.phase(&world, "the shop places orders in Mailchimp");
    phase.shop = Some(shop);
    report.phases.push(phase);

    // 3. Orders back to QAD.
    let mark = Counters::now(&world);
    let back = sync::orders_run(&orders, RunTrigger::Manual).await?;
    let mut phase = mark.phase(
        &world,
        "orders back to QAD as attribution records (the connector's own skipped)",
    );
    phase.orders = Some(back);
    let records = world.qad.attributions();
    if records
        .iter()
        .any(|r| r["orderId"].as_str().is_some_and(is_connector_order_id))
    {
        report.problems.push(
            "an order written from QAD's sales history came back to QAD as attribution".into(),
        );
    }
    phase.qad_attributions = Some(QadAttributions {
        stored: records.len() as u64,
        with_sales_order: records
            .iter()
            .filter(|r| {
                r["salesOrderNumber"]
                    .as_str()
                    .is_some_and(|n| !n.is_empty())
            })
            .count() as u64,
    });
    report.phases.push(phase);

    // 4. Nothing changed: nothing may be written.
    let mark = Counters::now(&world);
    let customers =
        sync::forward_run(&forward, ObjectKind::Customers, false, false, true, 0).await?;
    let items = sync::forward_run(&forward, ObjectKind::Items, false, false, true, 0).await?;
    let again = sync::orders_run(&orders, RunTrigger::Manual).await?;
    let history = sales_orders_run(&sales_orders).await?;
    let mut phase = mark.phase(&world, "second run, nothing changed");
    phase.runs = vec![customers, items];
    phase.orders = Some(again);
    phase.sales_orders = Some(history);
    if phase.mailchimp_writes != 0 || phase.qad_attribution_posts != 0 {
        report.problems.push(format!(
            "the second run wrote {} times to Mailchimp and posted {} attribution records; \
             it must write nothing",
            phase.mailchimp_writes, phase.qad_attribution_posts
        ));
    }
    report.phases.push(phase);

    // 5. A handful of QAD changes flow through.
    let changes = change_qad(&world);
    let mark = Counters::now(&world);
    let customers =
        sync::forward_run(&forward, ObjectKind::Customers, false, false, true, 0).await?;
    let items = sync::forward_run(&forward, ObjectKind::Items, false, false, true, 0).await?;
    let history = sales_orders_run(&sales_orders).await?;
    let mut phase = mark.phase(&world, "a few QAD changes flow through");
    if history.counts.updated < changes.sales_orders {
        report.problems.push(format!(
            "{} sales orders changed in QAD, but only {} orders were updated in Mailchimp",
            changes.sales_orders, history.counts.updated
        ));
    }
    phase.sales_orders = Some(history);
    let written: u64 = [&customers, &items]
        .iter()
        .flat_map(|r| r.targets.values())
        .map(|c| c.writes())
        .sum();
    if written < changes.customers.min(1) + changes.items.min(1) {
        report.problems.push(format!(
            "{} customers and {} items changed in QAD, but only {written} records were written",
            changes.customers, changes.items
        ));
    }
    phase.qad_changes = Some(changes);
    phase.runs = vec![customers, items];
    report.phases.push(phase);

    report.sum(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    if args.json {
        print_json(&report)?;
    } else {
        print!("{report}");
    }
    match report.problems.len() {
        0 => Ok(Exit::for_failed_records(report.totals.failed)),
        n => Err(AppError::Check(format!("the demo found {n} problem(s)"))),
    }
}

/// Edits a few customers with valid, unshared, not-cleaned emails and a complete address (a new
/// city; an incomplete address is left out of the member, so its city would change nothing there)
/// and a few items (a new price), as QAD users would.
fn change_qad(world: &World) -> QadChanges {
    let mut changes = QadChanges::default();
    let customers = world.qad.customers();
    let mut uses: HashMap<String, usize> = HashMap::new();
    for c in &customers {
        if let Some(email) = &c.email {
            *uses.entry(normalize_email(email)).or_default() += 1;
        }
    }
    let picked: Vec<String> = customers
        .iter()
        .filter(|c| {
            // Customers given a quirk (cleaned, fake-looking, throttled: see `fakes`) are left
            // alone.
            let filled =
                |part: &Option<String>| part.as_deref().is_some_and(|p| !p.trim().is_empty());
            !world.is_quirk(&c.customer_code)
                && [&c.street1, &c.city, &c.state_code, &c.zip_code]
                    .into_iter()
                    .all(filled)
                && c.email.as_deref().is_some_and(|e| {
                    check_email(e).is_ok() && uses.get(&normalize_email(e)) == Some(&1)
                })
        })
        .map(|c| c.customer_code.clone())
        .step_by(7)
        .take(3)
        .collect();
    for code in picked {
        let moved = world.qad.update_customer(&code, |c| {
            c.city = Some(format!("{} (moved)", c.city.as_deref().unwrap_or("Lyon")));
        });
        changes.customers += u64::from(moved);
    }
    let items: Vec<String> = world
        .qad
        .items()
        .iter()
        .filter(|i| i.item_status.eq_ignore_ascii_case("ACTIVE"))
        .take(2)
        .map(|i| i.item_code.clone())
        .collect();
    for code in items {
        changes.items += u64::from(world.qad.update_item(&code, |i| i.price_cents += 100));
    }
    // One invoiced order is cancelled, one has a line partly returned (among the orders written
    // to Mailchimp: the others wait for a customer that has no valid address).
    let written: Vec<String> = world
        .mailchimp
        .snapshot()
        .orders
        .values()
        .flatten()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect();
    let invoiced: Vec<String> = world
        .qad
        .sales_orders()
        .iter()
        .filter(|o| o.status == "invoiced" && o.lines.iter().any(|l| l.quantity_ordered > 1))
        .filter(|o| written.contains(&order_id_for(&o.sales_order_number).to_string()))
        .take(2)
        .map(|o| o.sales_order_number.clone())
        .collect();
    if let Some(number) = invoiced.first() {
        let cancelled = world
            .qad
            .update_sales_order(number, |o| o.status = "cancelled".into());
        changes.sales_orders += u64::from(cancelled);
    }
    if let Some(number) = invoiced.get(1) {
        let returned = world.qad.update_sales_order(number, |o| {
            if let Some(line) = o.lines.iter_mut().find(|l| l.quantity_ordered > 1) {
                line.quantity_ordered -= 1;
            }
        });
        changes.sales_orders += u64::from(returned);
    }
    changes
}

/// One sales-history run, its line on stderr.
async fn sales_orders_run(sales_orders: &SalesOrdersSync) -> AppResult<SalesOrdersReport> {
    let report = sales_orders
        .run(RunTrigger::Manual, &CancellationToken::new())
        .await
        .map_err(crate::error::sync_err("the sales orders run failed"))?;
    eprintln!("{report}");
    Ok(report)
}
