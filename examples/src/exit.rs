//! Exit statuses: what a script calling `ml-connector` can rely on.
//!
//! - `0`: everything was written, found unchanged, or deliberately skipped (rejected and skipped
//!   records are reported, not failures);
//! - `1`: the command itself failed: a command line it cannot parse, bad setup, an object
//!   that could not start (its lease is held by another process, the store cannot be set up),
//!   or a run that aborted part-way;
//! - `2`: the command ran, but some records failed to be written and wait in the replay queue;
//! - `3`: `reconcile` found drift between Mailchimp and QAD and did not fix it (all of it).

use std::process::ExitCode;

use serde::Serialize;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// Exit 0.
    Success,
    /// Exit 1, after the command printed what it did and what failed.
    Failed,
    /// Exit 2: some records failed and wait in the replay queue.
    RecordsFailed,
    /// Exit 3: `reconcile` found drift that is still there.
    DriftFound,
}

impl Exit {
    /// The process exit code.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failed => 1,
            Self::RecordsFailed => 2,
            Self::DriftFound => 3,
        }
    }

    /// The status for `failed` records (and no failure of the command itself).
    #[must_use]
    pub fn for_failed_records(failed: u64) -> Self {
        if failed == 0 {
            Self::Success
        } else {
            Self::RecordsFailed
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// The line telling a person what to do about `failed` records.
#[must_use]
pub fn failed_hint(failed: u64) -> String {
    format!("{failed} failed — ml-connector replay --all-failed")
}

/// The line a scheduled `run` prints about `failed` records (it retries them itself, with
/// backoff) and rows that became `dead` (it no longer does).
#[must_use]
pub fn scheduled_hint(failed: u64, dead: u64) -> String {
    let mut line = format!(
        "{failed} failed — queued; the next cycles retry them with backoff \
         (ml-connector replay --all-failed retries them now)"
    );
    if dead > 0 {
        line.push_str(&format!(
            "; {dead} dead after their retries — see `ml-connector audit --outcome failed`, \
             fix the cause, then ml-connector replay --all-failed"
        ));
    }
    line
}

/// The JSON object printed on stdout when a `--json` command fails before it has a report:
/// `{"status": "error", "exit_code": 1, "error": {"kind": …, "message": …}}`.
#[derive(Debug, Serialize)]
pub struct JsonError {
    /// Always `error`.
    pub status: &'static str,
    /// The process exit code (the same as without `--json`).
    pub exit_code: u8,
    /// What failed.
    pub error: JsonErrorDetail,
}

/// The `error` member of [`JsonError`].
#[derive(Debug, Serialize)]
pub struct JsonErrorDetail {
    /// What kind of failure (see `AppError::kind`), for a script to branch on.
    pub kind: &'static str,
    /// The error and its causes, on one line, for a person.
    pub message: String,
}

impl JsonError {
    /// The object for a failure of `kind` described by `message`, exiting with `exit`.
    #[must_use]
    pub fn new(kind: &'static str, message: String, exit: Exit) -> Self {
        Self {
            status: "error",
            exit_code: exit.code(),
            error: JsonErrorDetail { kind, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduled_run_says_it_retries_and_names_dead_rows() {
        let line = scheduled_hint(3, 0);
        assert!(
            line.starts_with("3 failed — queued; the next cycles retry them"),
            "{line}"
        );
        assert!(!line.contains("dead"), "{line}");
        let line = scheduled_hint(3, 2);
        assert!(line.contains("; 2 dead after their retries"), "{line}");
    }

    #[test]
    fn failed_records_exit_two_and_name_the_replay_command() {
        assert_eq!(Exit::for_failed_records(0).code(), 0);
        assert_eq!(Exit::for_failed_records(3).code(), 2);
        assert_eq!(Exit::Failed.code(), 1);
        assert_eq!(
            failed_hint(3),
            "3 failed — ml-connector replay --all-failed"
        );
        let json = serde_json::to_value(JsonError::new("config", "no config".into(), Exit::Failed))
            .unwrap_or_default();
        assert_eq!(json["status"], "error");
        assert_eq!(json["exit_code"], 1);
        assert_eq!(json["error"]["kind"], "config");
        assert_eq!(json["error"]["message"], "no config");
    }
}
