//! The demo's report: one JSON object, or text for a person.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::Serialize;
use sync_core::orders::OrdersReport;
use sync_core::report::RunReport;
use sync_core::sales_orders::SalesOrdersReport;

use super::shop::ShopSummary;
use crate::commands::connect::ConnectReport;
use crate::commands::sync::orders_line;
use crate::output::{failed_records, run_summary};

/// Everything the demo did.
#[derive(Debug, Serialize)]
pub struct DemoReport {
    /// The data seed.
    pub seed: u64,
    /// QAD customers seeded.
    pub customers: usize,
    /// QAD items seeded.
    pub items: usize,
    /// Latency the fakes added to every request.
    pub latency_ms: u64,
    /// Members seeded as cleaned in Mailchimp before the first run.
    pub cleaned_in_mailchimp: u64,
    /// Customers whose QAD address Mailchimp refuses as fake-looking (a disposable domain).
    pub fake_looking_in_qad: u64,
    /// Addresses under Mailchimp's signup throttling (deferred, retried on later runs).
    pub throttled_in_mailchimp: u64,
    /// What `connect` found.
    pub connect: ConnectReport,
    /// The steps, in order.
    pub phases: Vec<Phase>,
    /// Sums over the phases.
    pub totals: Totals,
    /// What did not go as a correct sync must (empty when all is well).
    pub problems: Vec<String>,
}

/// One step of the demo.
#[derive(Debug, Default, Serialize)]
pub struct Phase {
    /// What the step is.
    pub name: String,
    /// Forward runs (customers, items).
    #[serde(serialize_with = "crate::json::serialize_runs")]
    pub runs: Vec<RunReport>,
    /// The orders run.
    pub orders: Option<OrdersReport>,
    /// The sales-history run (QAD sales orders → Mailchimp orders).
    pub sales_orders: Option<SalesOrdersReport>,
    /// The fake shop's orders.
    pub shop: Option<ShopSummary>,
    /// Records changed in QAD before the step's runs.
    pub qad_changes: Option<QadChanges>,
    /// The attribution records QAD holds after the step.
    pub qad_attributions: Option<QadAttributions>,
    /// Requests the fake Mailchimp answered.
    pub mailchimp_requests: u64,
    /// Of them, writes (POST, PUT, PATCH, DELETE).
    pub mailchimp_writes: u64,
    /// Requests the fake QAD answered.
    pub qad_requests: u64,
    /// Attribution records posted to QAD.
    pub qad_attribution_posts: u64,
    /// Wall time, in milliseconds.
    pub elapsed_ms: u64,
}

/// Changes made in the fake QAD.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct QadChanges {
    /// Customers edited.
    pub customers: u64,
    /// Items edited.
    pub items: u64,
    /// Sales orders edited (cancelled, a line partly returned).
    pub sales_orders: u64,
}

/// The attribution records the fake QAD holds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct QadAttributions {
    /// Records stored (one per order id).
    pub stored: u64,
    /// Of them, records matched to a QAD sales order.
    pub with_sales_order: u64,
}

/// Sums over all phases.
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    /// Requests the fake Mailchimp answered.
    pub mailchimp_requests: u64,
    /// Of them, writes.
    pub mailchimp_writes: u64,
    /// Requests the fake QAD answered.
    pub qad_requests: u64,
    /// Attribution records posted to QAD.
    pub qad_attribution_posts: u64,
    /// Calls the engines made, by kind.
    #[serde(serialize_with = "crate::json::serialize_calls")]
    pub calls: BTreeMap<String, u64>,
    /// Records whose write failed, in every run (the demo exits 2 when there are any).
    pub failed: u64,
    /// Wall time of the whole demo, in milliseconds.
    pub elapsed_ms: u64,
}

impl DemoReport {
    /// Adds the phases' figures into [`Totals`].
    pub fn sum(&mut self, elapsed_ms: u64) {
        let mut t = Totals {
            elapsed_ms,
            ..Totals::default()
        };
        for p in &self.phases {
            t.mailchimp_requests += p.mailchimp_requests;
            t.mailchimp_writes += p.mailchimp_writes;
            t.qad_requests += p.qad_requests;
            t.qad_attribution_posts += p.qad_attribution_posts;
            for run in &p.runs {
                for (kind, n) in &run.calls {
                    *t.calls.entry(kind.clone()).or_default() += n;
                }
                t.failed += failed_records(run);
            }
            t.failed += p.orders.as_ref().map_or(0, |o| o.counts.failed);
            t.failed += p.sales_orders.as_ref().map_or(0, |o| o.counts.failed);
        }
        self.totals = t;
    }
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nml-connector demo: {} QAD customers, {} items, {} ms latency on loopback fakes; \
             {} members already cleaned in Mailchimp, {} disposable addresses in QAD, {} addresses \
             under Mailchimp's signup throttling\n",
            self.customers,
            self.items,
            self.latency_ms,
            self.cleaned_in_mailchimp,
            self.fake_looking_in_qad,
            self.throttled_in_mailchimp
        );
        let m = &self.connect.mailchimp;
        let _ = writeln!(
            out,
            "connect: Mailchimp data center {}, audience {}, store {}; QAD login {}, {} of {} \
             browses and entity paths ok",
            m.data_center.as_deref().unwrap_or("?"),
            m.audience
                .as_ref()
                .map_or_else(|| "?".to_owned(), |a| format!("{:?} ({})", a.name, a.id)),
            m.store
                .as_ref()
                .map_or_else(|| "not created yet".to_owned(), |s| s.id.clone()),
            if self.connect.qad.logged_in {
                "ok"
            } else {
                "failed"
            },
            self.connect
                .qad
                .targets
                .iter()
                .filter(|t| t.status == "ok")
                .count(),
            self.connect.qad.targets.len()
        );
        for (i, p) in self.phases.iter().enumerate() {
            let _ = writeln!(
                out,
                "\n{}. {} ({:.1} s): Mailchimp {} requests ({} writes), QAD {} requests ({} attribution posts)",
                i + 1,
                p.name,
                p.elapsed_ms as f64 / 1000.0,
                p.mailchimp_requests,
                p.mailchimp_writes,
                p.qad_requests,
                p.qad_attribution_posts
            );
            if let Some(changes) = &p.qad_changes {
                let _ = writeln!(
                    out,
                    "    changed in QAD: {} customers, {} items, {} sales orders",
                    changes.customers, changes.items, changes.sales_orders
                );
            }
            if let Some(shop) = &p.shop {
                let _ = writeln!(
                    out,
                    "    the shop placed {} orders ({} carry a QAD sales order's customer PO)",
                    shop.placed, shop.matching_sales_orders
                );
            }
            for run in &p.runs {
                out.push_str(&run_summary(run));
            }
            if let Some(orders) = &p.orders {
                let _ = writeln!(out, "  {}", orders_line(orders));
            }
            if let Some(history) = &p.sales_orders {
                let _ = writeln!(out, "  {history}");
            }
            if let Some(records) = &p.qad_attributions {
                let _ = writeln!(
                    out,
                    "    QAD now holds {} attribution records, {} of them matched to a sales order by customer PO",
                    records.stored, records.with_sales_order
                );
            }
        }
        let t = &self.totals;
        let _ = writeln!(
            out,
            "\ntotal: {:.1} s; Mailchimp {} requests ({} writes), QAD {} requests ({} attribution posts)",
            t.elapsed_ms as f64 / 1000.0,
            t.mailchimp_requests,
            t.mailchimp_writes,
            t.qad_requests,
            t.qad_attribution_posts
        );
        let calls: Vec<String> = t.calls.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(out, "calls by kind: {}", calls.join(", "));
        if t.failed > 0 {
            let _ = writeln!(
                out,
                "{} record(s) failed to be written (see the runs above)",
                t.failed
            );
        }
        if self.problems.is_empty() {
            let _ = writeln!(
                out,
                "all checks passed: the second run wrote nothing, the QAD changes flowed through"
            );
        } else {
            for problem in &self.problems {
                let _ = writeln!(out, "PROBLEM: {problem}");
            }
        }
        f.write_str(&out)
    }
}
