//! Progress on stderr (a live line on a terminal, plain lines otherwise) and JSON on stdout.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::fmt::Write as _;

use sync_core::report::{RunReport, TargetCounts};

use crate::error::{AppError, AppResult};

/// Progress of one long step.
#[derive(Debug, Clone)]
pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
    started: Instant,
}

/// A live line while the total is unknown: what was read, the rate, the time so far.
const COUNTING: &str = "{spinner} {prefix:.bold} {human_pos} read ({per_sec}) {wide_msg} {elapsed}";
/// A bar once the total is known, with the rate and the time left.
const BAR: &str =
    "{prefix:.bold} [{bar:30}] {human_pos}/{human_len} ({per_sec}, {eta} left) {wide_msg}";

impl Progress {
    /// Starts showing progress of `label`: a live line on a terminal, plain lines otherwise.
    #[must_use]
    pub fn start(label: impl Into<String>) -> Self {
        let label = label.into();
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if bar.is_none() {
            eprintln!("{label}: started");
        }
        Self {
            label,
            bar,
            started: Instant::now(),
        }
    }

    /// Shows `message` as the step's current state.
    pub fn update(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_owned()),
            None => eprintln!("{}: {message}", self.label),
        }
    }

    /// Shows `done` records handled of `total` when known (a bar with the rate and time left on
    /// a terminal), with `message`; plain lines say the same in words.
    pub fn records(&self, done: u64, total: Option<u64>, message: &str) {
        match &self.bar {
            Some(bar) => {
                let template = match total {
                    Some(total) => {
                        bar.set_length(total.max(done));
                        BAR
                    }
                    None => COUNTING,
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_position(done);
                bar.set_message(message.to_owned());
            }
            None => eprintln!(
                "{}: {} — {message}",
                self.label,
                rate_text(done, total, self.started.elapsed())
            ),
        }
    }

    /// Ends the step with `message`.
    pub fn finish(&self, message: &str) {
        match &self.bar {
            Some(bar) => {
                if let Ok(style) =
                    ProgressStyle::with_template("{prefix:.bold} {wide_msg} {elapsed}")
                {
                    bar.set_style(style);
                }
                bar.finish_with_message(message.to_owned());
            }
            None => eprintln!("{}: {message}", self.label),
        }
    }

    /// A callback for [`sync_core::forward::RunOptions::on_progress`]: the records read of the
    /// total QAD counted before the read ([`RunReport::expected_total`]), when it counted.
    pub fn for_forward_run(&self) -> impl Fn(&RunReport) + Send + Sync + 'static {
        let progress = self.clone();
        move |report: &RunReport| {
            progress.records(report.read, report.expected_total, &page_detail(report))
        }
    }
}

/// `120 of 500 read (40/s, 9 s left)`, or without a total `120 read (40/s)`.
#[must_use]
pub fn rate_text(done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    match total {
        Some(total) if rate > 0.0 => {
            let left = total.saturating_sub(done) as f64 / rate;
            format!("{done} of {total} read ({rate:.0}/s, {left:.0} s left)")
        }
        Some(total) => format!("{done} of {total} read"),
        None => format!("{done} read ({rate:.0}/s)"),
    }
}

/// One line on a forward run so far: the writes of each target kind apart (a member and a
/// store customer are two different writes), as planned in a dry run.
#[must_use]
pub fn page_summary(report: &RunReport) -> String {
    format!("{} read in {}", report.read, page_detail(report))
}

/// [`page_summary`] without the records read (the progress line shows them itself).
#[must_use]
pub fn page_detail(report: &RunReport) -> String {
    let (create, update) = if report.dry_run {
        ("to create", "to update")
    } else {
        ("created", "updated")
    };
    let failed: u64 = report.targets.values().map(|t| t.failed).sum();
    let deferred: u64 = report.targets.values().map(|t| t.deferred).sum();
    let mut line = format!("{} page(s)", report.pages);
    let targets = report
        .targets
        .iter()
        .map(|(kind, c)| (kind.to_string(), c))
        .chain(report.tags.iter().map(|c| ("member tags".to_owned(), c)));
    for (kind, c) in targets.filter(|(_, c)| c.writes() > 0) {
        line.push_str(&format!(
            "; {kind}: {} {create}, {} {update}",
            c.created, c.updated
        ));
    }
    if failed > 0 {
        line.push_str(&format!("; {failed} failed"));
    }
    if deferred > 0 {
        line.push_str(&format!("; {deferred} deferred"));
    }
    if let Some(r) = &report.retries {
        line.push_str(&format!(
            "; queue: {} retried, {} resolved, {} dead",
            r.rows, r.resolved, r.dead
        ));
    }
    line
}

/// Records of a forward run whose write failed (every target, tags included).
#[must_use]
pub fn failed_records(report: &RunReport) -> u64 {
    report
        .targets
        .values()
        .chain(report.tags.as_ref())
        .map(|c| c.failed)
        .sum()
}

/// Prints `value` as one line of JSON on stdout.
///
/// # Errors
///
/// [`AppError::Io`] when it cannot be serialized or written.
pub fn print_json(value: &impl serde::Serialize) -> AppResult<()> {
    let text = serde_json::to_string(value).map_err(|e| AppError::Io {
        context: "cannot write the JSON output".into(),
        source: std::io::Error::other(e),
    })?;
    println!("{text}");
    Ok(())
}

/// A forward run for a person: status, counts per target, and the skip and reject reasons
/// grouped (the four most common of each), instead of one line per distinct reason.
#[must_use]
pub fn run_summary(run: &RunReport) -> String {
    let mut out = String::new();
    let mode = if run.dry_run {
        " (dry run: would be)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "  {}{mode} — {}, {} read in {} page(s), {:.1} s",
        run.object,
        run.status,
        run.read,
        run.pages,
        run.elapsed.as_secs_f64()
    );
    if let Some(error) = &run.error {
        let _ = writeln!(out, "    error: {error}");
    }
    for warning in &run.warnings {
        let _ = writeln!(out, "    warning: {warning}");
    }
    for (kind, c) in &run.targets {
        counts_line(&kind.to_string(), c, &mut out);
    }
    if let Some(tags) = &run.tags {
        counts_line("member tags", tags, &mut out);
    }
    if let Some(r) = &run.retries {
        let _ = writeln!(
            out,
            "    replay queue: {} row(s) of {} record(s) retried — {} resolved, {} queued again, {} dead",
            r.rows, r.records, r.resolved, r.again, r.dead
        );
        if r.dead > 0 {
            let _ = writeln!(
                out,
                "      dead rows are no longer retried automatically: `ml-connector audit --outcome failed` lists them, `ml-connector replay --all-failed` sends them"
            );
        }
    }
    out
}

/// A reason with its specifics (a quoted email, a customer code) replaced by `…`, so that
/// per-record reasons group.
pub(crate) fn generic(reason: &str) -> String {
    let mut unquoted = String::new();
    let mut quoted = false;
    for c in reason.chars() {
        if c == '"' {
            if !quoted {
                unquoted.push('…');
            }
            quoted = !quoted;
        } else if !quoted {
            unquoted.push(c);
        }
    }
    unquoted
        .split(' ')
        .map(|word| {
            if word.chars().any(|c| c.is_ascii_digit()) {
                "…"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn reasons(kind: &str, map: &BTreeMap<String, u64>, out: &mut String) {
    let mut grouped: BTreeMap<String, u64> = BTreeMap::new();
    for (reason, n) in map {
        *grouped.entry(generic(reason)).or_default() += n;
    }
    let mut sorted: Vec<_> = grouped.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (reason, n) in sorted.iter().take(4) {
        let _ = writeln!(out, "        {kind} {n:>5}  {reason}");
    }
    if sorted.len() > 4 {
        let rest: u64 = sorted[4..].iter().map(|(_, n)| n).sum();
        let _ = writeln!(out, "        {kind} {rest:>5}  (other reasons)");
    }
}

fn counts_line(label: &str, c: &TargetCounts, out: &mut String) {
    let _ = writeln!(
        out,
        "    {label:<20} {:>5} created {:>5} updated {:>5} unchanged {:>5} skipped {:>5} rejected {:>4} failed",
        c.created,
        c.updated,
        c.unchanged,
        c.skipped_total(),
        c.rejected_total(),
        c.failed
    );
    reasons("skipped ", &c.skipped, out);
    reasons("rejected", &c.rejected, out);
    // Deferred records are queued and retried by later runs.
    reasons("deferred", &c.deferred_reasons, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_records_are_listed_by_reason() {
        let mut c = TargetCounts::default();
        for reason in [
            "signup throttled by Mailchimp (temporary, retried later): a@northwind-mfg.com …",
            "signup throttled by Mailchimp (temporary, retried later): b@northwind-mfg.com …",
            "waits for its member, whose write did not succeed in this run",
        ] {
            c.add(sync_core::Outcome::Deferred, Some(reason));
        }
        let mut out = String::new();
        counts_line("members", &c, &mut out);
        assert!(
            out.contains(
                "deferred     2  signup throttled by Mailchimp (temporary, retried later)"
            ),
            "{out}"
        );
        assert!(
            out.contains("deferred     1  waits for its member"),
            "{out}"
        );
    }

    #[test]
    fn the_progress_line_keeps_each_kind_of_write_apart_and_a_dry_run_writes_nothing() {
        let mut report = RunReport::new(
            sync_core::RunId::new(),
            sync_core::ObjectKind::Customers,
            true,
        );
        report.read = 50;
        report.pages = 2;
        for _ in 0..3 {
            report
                .target(sync_core::ObjectKind::Members)
                .add(sync_core::Outcome::Created, None);
        }
        report
            .target(sync_core::ObjectKind::EcommerceCustomers)
            .add(sync_core::Outcome::Updated, None);
        let line = page_summary(&report);
        assert_eq!(
            line,
            "50 read in 2 page(s); members: 3 to create, 0 to update; ecommerce_customers: 0 to create, 1 to update"
        );
        assert!(!line.contains("written"), "{line}");
        report.dry_run = false;
        assert!(page_summary(&report).contains("members: 3 created, 0 updated"));
    }

    #[test]
    fn plain_progress_says_the_rate_and_with_a_total_the_time_left() {
        let ten_s = Duration::from_secs(10);
        assert_eq!(rate_text(400, None, ten_s), "400 read (40/s)");
        assert_eq!(
            rate_text(400, Some(1000), ten_s),
            "400 of 1000 read (40/s, 15 s left)"
        );
        assert_eq!(rate_text(0, Some(10), Duration::ZERO), "0 of 10 read");
    }

    #[test]
    fn reasons_group_without_their_specifics() {
        assert_eq!(
            generic("email address \"a b@x\" contains whitespace"),
            "email address … contains whitespace"
        );
        assert_eq!(generic("no email address"), "no email address");
        assert_eq!(
            generic("duplicate email: the member is written for customer C0000159"),
            "duplicate email: the member is written for customer …"
        );
        let mut out = String::new();
        let map = BTreeMap::from([
            ("email address \"a\" has no @".to_owned(), 1),
            ("email address \"b\" has no @".to_owned(), 2),
        ]);
        reasons("rejected", &map, &mut out);
        assert_eq!(out.trim(), "rejected     3  email address … has no @");
    }

    #[test]
    fn a_run_summary_groups_reasons_and_keeps_the_counts() {
        let mut report = RunReport::new(
            sync_core::RunId::new(),
            sync_core::ObjectKind::Customers,
            false,
        );
        for i in 0..6 {
            report.target(sync_core::ObjectKind::Members).add(
                sync_core::Outcome::Rejected,
                Some(&format!("email address \"x{i}\" has no @")),
            );
        }
        report
            .target(sync_core::ObjectKind::Members)
            .add(sync_core::Outcome::Created, None);
        let text = run_summary(&report);
        assert!(text.contains("    1 created"), "{text}");
        assert!(text.contains("    6 rejected"), "{text}");
        assert!(
            text.contains("rejected     6  email address … has no @"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}
