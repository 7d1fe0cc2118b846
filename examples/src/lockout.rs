//! Lockout safety across processes. QAD locks an API user after repeated failed logins, so
//! after one refusal the QAD client of `run` tries no login at all; a person lifts that by
//! fixing the credentials (a restart) or by running `connect`, which leaves a marker file next
//! to the state database that the scheduler looks at before each run.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::connection::Setup;

/// The marker `connect` touches: `<state database>.qad-login-checked`. One small file,
/// overwritten each time.
fn marker(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".qad-login-checked");
    PathBuf::from(name)
}

/// Records that a person ran `connect` now. Best effort: a failure to write only means the
/// scheduler waits for a restart instead.
pub fn record_connect(setup: &Setup) {
    write_marker(&setup.paths.state);
}

fn write_marker(state: &Path) {
    let path = marker(state);
    if let Err(err) = std::fs::write(&path, "ml-connector connect checked the QAD login\n") {
        tracing::warn!(path = %path.display(), %err, "cannot write the QAD login marker");
    }
}

/// Whether a person ran `connect` after `since`.
fn connect_ran_since(state: &Path, since: SystemTime) -> bool {
    std::fs::metadata(marker(state))
        .and_then(|m| m.modified())
        .is_ok_and(|at| at > since)
}

/// What the scheduler does before a run: `true` to go ahead. When logins are blocked and no
/// one has run `connect` since, it says so and skips the run.
pub async fn may_run(setup: &Setup, qad: &qad_client::Client, object: &str) -> bool {
    let Some(since) = qad.login_blocked_since().await else {
        return true;
    };
    if connect_ran_since(&setup.paths.state, since) {
        qad.allow_login().await;
        eprintln!("{object}: `ml-connector connect` ran since QAD refused the login; trying again");
        return true;
    }
    eprintln!(
        "{object}: skipped: QAD refused the login, and another attempt could lock the user; \
         fix the credentials (`ml-connector init`, then restart) or run `ml-connector connect`"
    );
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_sits_beside_the_state_database_and_counts_only_when_newer() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("ml-connector.db");
        assert_eq!(
            marker(&state),
            dir.path().join("ml-connector.db.qad-login-checked")
        );
        let before = SystemTime::now() - std::time::Duration::from_secs(60);
        assert!(!connect_ran_since(&state, before));
        write_marker(&state);
        assert!(connect_ran_since(&state, before));
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(!connect_ran_since(&state, later));
    }
}
