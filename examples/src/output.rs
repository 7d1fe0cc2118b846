//! Progress on stderr (a live line on a terminal, plain lines otherwise) and JSON on stdout.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sync_core::report::RunReport;

use crate::error::{AppError, AppResult};

/// Progress of one long step.
#[derive(Debug, Clone)]
pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts showing progress of `label`.
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
        Self { label, bar }
    }

    /// Shows `message` as the step's current state.
    pub fn update(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_owned()),
            None => eprintln!("{}: {message}", self.label),
        }
    }

    /// Ends the step with `message`.
    pub fn finish(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(message.to_owned()),
            None => eprintln!("{}: {message}", self.label),
        }
    }

    /// A callback for [`sync_core::forward::RunOptions::on_progress`].
    pub fn for_forward_run(&self) -> impl Fn(&RunReport) + Send + Sync + 'static {
        let progress = self.clone();
        move |report: &RunReport| progress.update(&page_summary(report))
    }
}

/// One line on a forward run so far.
#[must_use]
pub fn page_summary(report: &RunReport) -> String {
    let writes: u64 = report.targets.values().map(|t| t.writes()).sum();
    let failed: u64 = report.targets.values().map(|t| t.failed).sum();
    format!(
        "{} read in {} page(s), {writes} written, {failed} failed",
        report.read, report.pages
    )
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
